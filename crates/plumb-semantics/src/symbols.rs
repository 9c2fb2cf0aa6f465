//! Every name in a file, with the definition it refers to: what go-to-definition,
//! find-references, rename, hover and semantic highlighting read.
//!
//! Names are resolved once, by the checker (`eval::Evaluator::resolve_name`, the
//! lowering's job, stage, parameter and import look-ups), which records each
//! resolution as a [`crate::eval::Use`]; this module adds the definitions and serves
//! look-ups by position.

use crate::SourceDb;
use plumb_diagnostics::{FileId, TextRange};
use plumb_syntax::ast::{Item, Name};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    Let,
    Secret,
    Template,
    Param,
    Pipeline,
    Stage,
    Job,
    /// An imported file (an import path refers to it).
    File,
}

impl SymbolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Let => "let",
            SymbolKind::Secret => "secret",
            SymbolKind::Template => "template",
            SymbolKind::Param => "parameter",
            SymbolKind::Pipeline => "pipeline",
            SymbolKind::Stage => "stage",
            SymbolKind::Job => "job",
            SymbolKind::File => "file",
        }
    }
}

/// A definition: where its name is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    pub kind: SymbolKind,
    pub file: FileId,
    /// The defining name (empty for a file).
    pub range: TextRange,
    pub name: String,
}

/// One written name and the symbol it defines or refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Occurrence {
    pub range: TextRange,
    pub symbol: Symbol,
    pub is_definition: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SymbolIndex {
    /// In source order.
    pub occurrences: Vec<Occurrence>,
}

impl SymbolIndex {
    /// The name at a byte offset (its end counts, so a cursor just after a name finds it).
    pub fn at(&self, offset: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .find(|o| (o.range.start as usize) <= offset && offset <= o.range.end as usize)
    }
    pub fn references_to<'a>(
        &'a self,
        symbol: &'a Symbol,
    ) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| &o.symbol == symbol)
    }
}

/// The symbol index of `file`: its definitions, read from the tree, and the uses the
/// checker recorded while it resolved the file's names (`FileAnalysis::uses`). There
/// is one resolver, the checker's: what an editor navigates to is what it checked.
pub fn index(db: &dyn SourceDb, file: FileId, uses: &[crate::eval::Use]) -> SymbolIndex {
    let tree = &db.parse(file).tree;
    let mut occurrences = Vec::new();
    let mut def = |kind: SymbolKind, name: &Name| {
        occurrences.push(Occurrence {
            range: name.range,
            symbol: symbol(kind, file, name),
            is_definition: true,
        })
    };
    for item in &tree.items {
        match item {
            Item::Import(_) => {}
            Item::Let(l) => def(SymbolKind::Let, &l.name),
            Item::Secret(s) => def(SymbolKind::Secret, &s.name),
            Item::Template(t) => {
                def(SymbolKind::Template, &t.name);
                t.params
                    .iter()
                    .for_each(|p| def(SymbolKind::Param, &p.name));
            }
            Item::Pipeline(p) => {
                def(SymbolKind::Pipeline, &p.name);
                p.lets.iter().for_each(|l| def(SymbolKind::Let, &l.name));
                for stage in &p.stages {
                    def(SymbolKind::Stage, &stage.name);
                    stage
                        .jobs
                        .iter()
                        .for_each(|j| def(SymbolKind::Job, &j.name));
                }
            }
        }
    }
    occurrences.extend(uses.iter().map(|u| Occurrence {
        range: u.at.range,
        symbol: u.target.clone(),
        is_definition: false,
    }));
    occurrences.sort_by_key(|o| (o.range.start, o.range.end));
    occurrences.dedup();
    SymbolIndex { occurrences }
}

fn symbol(kind: SymbolKind, file: FileId, name: &Name) -> Symbol {
    Symbol {
        kind,
        file,
        range: name.range,
        name: name.text.clone(),
    }
}

/// What the checker knows of a `let`: its type and, for a string, its value with
/// interpolations resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LetInfo {
    pub ty: String,
    pub text: Option<String>,
}

/// Evaluates the top-level or pipeline `let` whose name is at `name_range`.
pub fn let_info(db: &dyn SourceDb, file: FileId, name_range: TextRange) -> Option<LetInfo> {
    let tree = &db.parse(file).tree;
    let mut ev = crate::eval::Evaluator::new(db);
    let (l, pipeline) = tree.items.iter().find_map(|i| match i {
        Item::Let(l) if l.name.range == name_range => Some((l, None)),
        Item::Pipeline(p) => p
            .lets
            .iter()
            .find(|l| l.name.range == name_range)
            .map(|l| (l, Some(p))),
        _ => None,
    })?;
    let lets: Option<std::collections::HashMap<&str, &plumb_syntax::ast::Let>> =
        pipeline.map(|p| p.lets.iter().map(|l| (l.name.text.as_str(), l)).collect());
    let value = ev.let_value(file, l, lets.as_ref());
    let ty = match &l.ty {
        Some(t) => ev.type_of(t, file).map(|t| t.to_string()),
        None => None,
    }
    .unwrap_or_else(|| value_type(&value));
    let text = value.as_str().map(str::to_string);
    Some(LetInfo { ty, text })
}

/// The type of an evaluated value, as written in Plumb.
fn value_type(v: &crate::Value) -> String {
    use crate::ValueKind;
    match &v.kind {
        ValueKind::List(items) => match items.first() {
            Some(first) => format!("List<{}>", value_type(first)),
            None => "List".into(),
        },
        ValueKind::Map(entries) => match entries.first() {
            Some(first) => format!("Map<{}>", value_type(&first.value)),
            None => "Map".into(),
        },
        ValueKind::Unknown => "unknown (see the errors)".into(),
        _ => v.describe().to_string(),
    }
}
