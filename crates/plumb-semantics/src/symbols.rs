//! Every name in a file, with the definition it refers to: what go-to-definition,
//! find-references, rename, hover and semantic highlighting read.
//!
//! Resolution follows the language's scopes (§4): template parameters, then a
//! pipeline's lets, then the file's lets, secrets and templates, then those of its
//! imports (`alias.name` for an aliased import). Stage names in `after` resolve among
//! the pipeline's stages; job names in `needs` among the pipeline's jobs.

use crate::SourceDb;
use plumb_diagnostics::{FileId, TextRange};
use plumb_syntax::ast::{
    Arg, Expr, ExprKind, Field, Instantiation, Item, Name, Pipeline, Segment, SourceFile, Template,
};

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

pub fn index(db: &dyn SourceDb, file: FileId) -> SymbolIndex {
    let tree = &db.parse(file).tree;
    let mut ix = Indexer {
        db,
        file,
        tree,
        out: Vec::new(),
    };
    ix.file_items();
    let mut occurrences = ix.out;
    occurrences.sort_by_key(|o| (o.range.start, o.range.end));
    occurrences.dedup();
    SymbolIndex { occurrences }
}

struct Indexer<'a> {
    db: &'a dyn SourceDb,
    file: FileId,
    tree: &'a SourceFile,
    out: Vec<Occurrence>,
}

/// Names visible inside a pipeline or template besides the file's.
#[derive(Default, Clone)]
struct Locals {
    names: Vec<Symbol>,
}

impl Locals {
    fn get(&self, name: &str) -> Option<&Symbol> {
        self.names.iter().rev().find(|s| s.name == name)
    }
}

fn top_level_symbol(file: FileId, item: &Item) -> Option<Symbol> {
    let (kind, name) = match item {
        Item::Let(l) => (SymbolKind::Let, &l.name),
        Item::Secret(s) => (SymbolKind::Secret, &s.name),
        Item::Template(t) => (SymbolKind::Template, &t.name),
        Item::Pipeline(p) => (SymbolKind::Pipeline, &p.name),
        Item::Import(_) => return None,
    };
    Some(symbol(kind, file, name))
}

fn symbol(kind: SymbolKind, file: FileId, name: &Name) -> Symbol {
    Symbol {
        kind,
        file,
        range: name.range,
        name: name.text.clone(),
    }
}

impl<'a> Indexer<'a> {
    fn def(&mut self, kind: SymbolKind, name: &Name) -> Symbol {
        let s = symbol(kind, self.file, name);
        self.out.push(Occurrence {
            range: name.range,
            symbol: s.clone(),
            is_definition: true,
        });
        s
    }

    fn reference(&mut self, range: TextRange, symbol: Symbol) {
        self.out.push(Occurrence {
            range,
            symbol,
            is_definition: false,
        });
    }

    /// The imported files, with their alias, in import order.
    fn imports(&self) -> Vec<(Option<&'a Name>, Option<FileId>, TextRange)> {
        let resolved = self.db.imports(self.file);
        self.tree
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Import(imp) => Some((imp.alias.as_ref(), imp.path_range)),
                _ => None,
            })
            .enumerate()
            .map(|(n, (alias, range))| (alias, resolved.get(n).copied().flatten(), range))
            .collect()
    }

    /// A top-level name of this file, or of a file it imports without an alias.
    fn global(&self, name: &str) -> Option<Symbol> {
        let own = self.tree.items.iter().find_map(|i| {
            top_level_symbol(self.file, i)
                .filter(|s| s.name == name && s.kind != SymbolKind::Pipeline)
        });
        own.or_else(|| {
            self.imports()
                .into_iter()
                .filter(|(alias, _, _)| alias.is_none())
                .find_map(|(_, f, _)| f.and_then(|f| self.exported(f, name)))
        })
    }

    /// A top-level let, secret or template of another file.
    fn exported(&self, file: FileId, name: &str) -> Option<Symbol> {
        self.db.parse(file).tree.items.iter().find_map(|i| {
            top_level_symbol(file, i).filter(|s| s.name == name && s.kind != SymbolKind::Pipeline)
        })
    }

    /// The file imported as `alias`.
    fn aliased_file(&self, alias: &str) -> Option<FileId> {
        self.imports()
            .into_iter()
            .find(|(a, _, _)| a.is_some_and(|a| a.text == alias))
            .and_then(|(_, f, _)| f)
    }

    /// The template a `from [alias.]name(…)` names.
    fn instantiated(&self, from: &Instantiation) -> Option<Symbol> {
        let sym = match &from.qualifier {
            Some(alias) => self
                .aliased_file(&alias.text)
                .and_then(|f| self.exported(f, &from.template.text)),
            None => self.global(&from.template.text),
        }?;
        (sym.kind == SymbolKind::Template).then_some(sym)
    }

    fn template_def(&self, sym: &Symbol) -> Option<(FileId, &'a Template)> {
        if sym.kind != SymbolKind::Template {
            return None;
        }
        let tree: &'a SourceFile = if sym.file == self.file {
            self.tree
        } else {
            &self.db.parse(sym.file).tree
        };
        tree.items.iter().find_map(|i| match i {
            Item::Template(t) if t.name.range == sym.range => Some((sym.file, t)),
            _ => None,
        })
    }

    fn file_items(&mut self) {
        for (alias, target, range) in self.imports() {
            let _ = alias;
            if let Some(f) = target {
                self.reference(
                    range,
                    Symbol {
                        kind: SymbolKind::File,
                        file: f,
                        range: TextRange::empty(0),
                        name: self.db.file_name(f),
                    },
                );
            }
        }
        let tree = self.tree;
        for item in &tree.items {
            match item {
                Item::Import(_) => {}
                Item::Let(l) => {
                    self.def(SymbolKind::Let, &l.name);
                    self.expr(&l.value, &Locals::default());
                }
                Item::Secret(s) => {
                    self.def(SymbolKind::Secret, &s.name);
                    for a in &s.args {
                        self.expr(&a.value, &Locals::default());
                    }
                }
                Item::Template(t) => self.template(t),
                Item::Pipeline(p) => self.pipeline(p),
            }
        }
    }

    fn template(&mut self, t: &Template) {
        self.def(SymbolKind::Template, &t.name);
        let mut locals = Locals::default();
        for p in &t.params {
            let s = self.def(SymbolKind::Param, &p.name);
            if let Some(d) = &p.default {
                self.expr(d, &Locals::default());
            }
            locals.names.push(s);
        }
        self.bases(&t.bases, &locals);
        for f in &t.body.fields {
            // job names in a template belong to the pipelines that use it
            self.job_field(f, &[], &locals);
        }
    }

    /// `from a(…), x.b(…)`: each template, and the parameters its arguments name.
    fn bases(&mut self, bases: &[Instantiation], locals: &Locals) {
        for from in bases {
            let sym = self.instantiated(from);
            let template = sym.as_ref().and_then(|s| self.template_def(s));
            if let Some(sym) = sym {
                self.reference(from.template.range, sym);
            }
            for arg in &from.args {
                self.arg(arg, template, locals);
            }
        }
    }

    fn pipeline(&mut self, p: &Pipeline) {
        self.def(SymbolKind::Pipeline, &p.name);
        let mut locals = Locals::default();
        for l in &p.lets {
            let s = self.def(SymbolKind::Let, &l.name);
            self.expr(&l.value, &locals);
            locals.names.push(s);
        }
        for f in &p.fields {
            self.expr(&f.value, &locals);
        }
        let stages: Vec<Symbol> = p
            .stages
            .iter()
            .map(|s| self.def(SymbolKind::Stage, &s.name))
            .collect();
        let jobs: Vec<Symbol> = p
            .stages
            .iter()
            .flat_map(|s| s.jobs.iter())
            .map(|j| self.def(SymbolKind::Job, &j.name))
            .collect();
        for stage in &p.stages {
            for after in &stage.after {
                if let Some(s) = stages.iter().find(|s| s.name == after.text) {
                    self.reference(after.range, s.clone());
                }
            }
            for f in &stage.fields {
                self.expr(&f.value, &locals);
            }
            for job in &stage.jobs {
                self.bases(&job.bases, &locals);
                for f in &job.body.fields {
                    self.job_field(f, &jobs, &locals);
                }
            }
        }
    }

    fn arg(&mut self, arg: &Arg, template: Option<(FileId, &Template)>, locals: &Locals) {
        if let (Some(name), Some((file, t))) = (&arg.name, template) {
            if let Some(p) = t.params.iter().find(|p| p.name.text == name.text) {
                self.reference(name.range, symbol(SymbolKind::Param, file, &p.name));
            }
        }
        self.expr(&arg.value, locals);
    }

    /// A job field's names: job names where the field takes them (`needs`,
    /// `dependencies`, `environment.on_stop`), else values.
    fn job_field(&mut self, f: &Field, jobs: &[Symbol], locals: &Locals) {
        let job_name = |this: &mut Self, e: &Expr| {
            if let ExprKind::Name(n) = &e.kind {
                if let Some(j) = jobs.iter().find(|j| j.name == n.text) {
                    this.reference(n.range, j.clone());
                }
            }
        };
        match (&f.key.text[..], &f.value.kind) {
            ("needs" | "dependencies", ExprKind::List(items)) => {
                items.iter().for_each(|i| job_name(self, i));
            }
            ("needs" | "dependencies", _) => {}
            ("environment", ExprKind::Record(fields)) => {
                for f in fields {
                    if f.key.text == "on_stop" {
                        job_name(self, &f.value);
                    } else {
                        self.expr(&f.value, locals);
                    }
                }
            }
            _ => self.expr(&f.value, locals),
        }
    }

    fn expr(&mut self, e: &Expr, locals: &Locals) {
        match &e.kind {
            ExprKind::Name(n) => {
                let found = locals
                    .get(&n.text)
                    .cloned()
                    .or_else(|| self.global(&n.text));
                if let Some(s) = found {
                    self.reference(n.range, s);
                }
            }
            ExprKind::Member(base, member) => {
                if let ExprKind::Name(alias) = &base.kind {
                    let target = self.aliased_file(&alias.text);
                    if let Some(s) = target.and_then(|f| self.exported(f, &member.text)) {
                        self.reference(member.range, s);
                        return;
                    }
                }
                self.expr(base, locals);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee, locals);
                for a in args {
                    self.expr(&a.value, locals);
                }
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i, locals)),
            ExprKind::Record(fields) => fields.iter().for_each(|f| self.expr(&f.value, locals)),
            ExprKind::Binary(_, a, b) => {
                self.expr(a, locals);
                self.expr(b, locals);
            }
            ExprKind::Not(a) => self.expr(a, locals),
            ExprKind::Str(s) => {
                for seg in &s.segments {
                    if let Segment::Interp(inner, _) = seg {
                        self.expr(inner, locals);
                    }
                }
            }
            _ => {}
        }
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
