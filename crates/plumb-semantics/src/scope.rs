//! Top-level names of a file: its own lets, secrets and templates, and those of the
//! files it imports.

use crate::codes;
use crate::SourceDb;
use plumb_diagnostics::{Diagnostic, FileId, FileRange, TextRange};
use plumb_syntax::ast::{Item, Let, Name, SecretDecl, Template};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug)]
pub enum DefRef<'a> {
    Let(FileId, &'a Let),
    Secret(FileId, &'a SecretDecl),
    Template(FileId, &'a Template),
}

impl<'a> DefRef<'a> {
    pub fn name(&self) -> &'a Name {
        match self {
            DefRef::Let(_, l) => &l.name,
            DefRef::Secret(_, s) => &s.name,
            DefRef::Template(_, t) => &t.name,
        }
    }
    pub fn file(&self) -> FileId {
        match self {
            DefRef::Let(f, _) | DefRef::Secret(f, _) | DefRef::Template(f, _) => *f,
        }
    }
    pub fn at(&self) -> FileRange {
        FileRange {
            file: self.file(),
            range: self.name().range,
        }
    }
    pub fn symbol_kind(&self) -> crate::symbols::SymbolKind {
        use crate::symbols::SymbolKind;
        match self {
            DefRef::Let(..) => SymbolKind::Let,
            DefRef::Secret(..) => SymbolKind::Secret,
            DefRef::Template(..) => SymbolKind::Template,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            DefRef::Let(..) => "let",
            DefRef::Secret(..) => "secret",
            DefRef::Template(..) => "template",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportedFile<'a> {
    pub alias: Option<&'a Name>,
    pub file: FileId,
    /// Where the import's path is written.
    pub path_at: TextRange,
}

#[derive(Clone, Debug, Default)]
pub struct FileScope<'a> {
    pub defs: HashMap<&'a str, DefRef<'a>>,
    pub imports: Vec<ImportedFile<'a>>,
}

impl<'a> FileScope<'a> {
    /// Builds the scope of `file`, reporting duplicates and import problems of that file.
    pub fn build(db: &'a dyn SourceDb, file: FileId, diags: &mut Vec<Diagnostic>) -> FileScope<'a> {
        let at = |range: TextRange| FileRange { file, range };
        let mut scope = FileScope::default();
        let mut pipelines: HashMap<&str, &Name> = HashMap::new();
        let mut aliases: HashMap<&str, &Name> = HashMap::new();
        let mut resolved = db.imports(file).iter();
        for item in &db.parse(file).tree.items {
            let def = match item {
                Item::Let(l) => DefRef::Let(file, l),
                Item::Secret(s) => DefRef::Secret(file, s),
                Item::Template(t) => DefRef::Template(file, t),
                Item::Pipeline(p) => {
                    if let Some(first) = pipelines.insert(&p.name.text, &p.name) {
                        diags.push(duplicate(
                            at(p.name.range),
                            at(first.range),
                            "pipeline",
                            &p.name.text,
                        ));
                    }
                    continue;
                }
                Item::Import(import) => {
                    if let Some(alias) = &import.alias {
                        if let Some(first) = aliases.insert(&alias.text, alias) {
                            diags.push(duplicate(
                                at(alias.range),
                                at(first.range),
                                "import alias",
                                &alias.text,
                            ));
                        }
                    }
                    let resolved_to = resolved.next().copied().flatten();
                    if !import.path.ends_with(".plumb") {
                        // never read: a file of another kind (`/etc/passwd`) would be
                        // quoted line by line in syntax errors
                        diags.push(
                            Diagnostic::error(
                                codes::IMPORT_NOT_FOUND,
                                at(import.path_range),
                                format!(
                                    "`{}` is not a Plumb file: an import names a `.plumb` file",
                                    import.path
                                ),
                            )
                            .with_label("not a `.plumb` file")
                            .with_help("import the `.plumb` file that defines what this file uses"),
                        );
                        continue;
                    }
                    match resolved_to {
                        Some(target) => {
                            let depth = import_depth(db, target, &mut HashMap::new(), &mut HashSet::new());
                            if depth >= MAX_IMPORT_DEPTH {
                                diags.push(
                                    Diagnostic::error(
                                        codes::IMPORT_TOO_DEEP,
                                        at(import.path_range),
                                        format!("imports nest more than {MAX_IMPORT_DEPTH} files deep through `{}`", import.path),
                                    )
                                    .with_label("the chain of imports starts here")
                                    .with_help("import the shared definitions directly instead of through long chains of files"),
                                );
                            }
                            if let Some(chain) = import_cycle(db, file, target) {
                                diags.push(
                                    Diagnostic::error(
                                        codes::IMPORT_CYCLE,
                                        at(import.path_range),
                                        format!("import cycle: {}", chain.join(" → ")),
                                    )
                                    .with_label("this import leads back to this file")
                                    .with_help("move what both files need into a third file that both import"),
                                );
                            }
                            scope.imports.push(ImportedFile {
                                alias: import.alias.as_ref(),
                                file: target,
                                path_at: import.path_range,
                            });
                        }
                        None => diags.push(
                            Diagnostic::error(
                                codes::IMPORT_NOT_FOUND,
                                at(import.path_range),
                                format!("cannot find imported file `{}`", import.path),
                            )
                            .with_label("no such file")
                            .with_help("import paths are relative to the importing file, e.g. `import \"common.plumb\"`"),
                        ),
                    }
                    continue;
                }
            };
            let name = def.name();
            if let Some(first) = scope.defs.get(name.text.as_str()) {
                diags.push(duplicate(
                    at(name.range),
                    first.at(),
                    def.kind(),
                    &name.text,
                ));
                continue;
            }
            scope.defs.insert(&name.text, def);
        }
        scope.check_against_imports(db, file, &aliases, diags);
        scope
    }

    /// An alias named like one of the file's definitions is a duplicate (`x.name` and
    /// `x` would mean two things); a definition named like one an unaliased import
    /// brings in shadows it (the file's own wins), which is a warning.
    fn check_against_imports(
        &self,
        db: &dyn SourceDb,
        file: FileId,
        aliases: &HashMap<&str, &Name>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let at = |range: TextRange| FileRange { file, range };
        let mut aliases: Vec<(&&str, &&Name)> = aliases.iter().collect();
        aliases.sort_by_key(|(_, alias)| alias.range.start);
        for (name, alias) in aliases {
            if let Some(def) = self.defs.get(*name) {
                let (again, first) = match def.at().range.start < alias.range.start {
                    true => (at(alias.range), def.at()),
                    false => (def.at(), at(alias.range)),
                };
                diags.push(duplicate(again, first, "name", name));
            }
        }
        // a name two unaliased imports both bring in: the first would win unseen
        let mut brought: HashMap<&str, FileRange> = HashMap::new();
        for imported in self.imports.iter().filter(|i| i.alias.is_none()) {
            for item in &db.parse(imported.file).tree.items {
                let outer = match item {
                    Item::Let(l) => &l.name,
                    Item::Secret(s) => &s.name,
                    Item::Template(t) => &t.name,
                    _ => continue,
                };
                let outer_at = FileRange {
                    file: imported.file,
                    range: outer.range,
                };
                let first = *brought.entry(&outer.text).or_insert(outer_at);
                if first.file != imported.file && !self.defs.contains_key(outer.text.as_str()) {
                    diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            at(imported.path_at),
                            format!(
                                "`{}` is defined both by `{}` and by `{}`, which this file imports",
                                outer.text,
                                db.file_name(first.file),
                                db.file_name(imported.file)
                            ),
                        )
                        .with_label(format!("brings in a second `{}`", outer.text))
                        .with_secondary(first, "defined here")
                        .with_secondary(outer_at, "and here")
                        .with_help("import one of the files `as` a name (`import \"b.plumb\" as b`, then `b.name`), or rename one definition"),
                    );
                }
                let Some(def) = self.defs.get(outer.text.as_str()) else {
                    continue;
                };
                diags.push(
                    Diagnostic::warning(
                        codes::SHADOWED,
                        def.at(),
                        format!(
                            "{} `{}` shadows the one `{}` defines",
                            def.kind(),
                            outer.text,
                            db.file_name(imported.file)
                        ),
                    )
                    .with_label("shadows an imported name")
                    .with_secondary(outer_at, "the imported definition")
                    .with_help(format!(
                        "rename one of the two, or import the file `as` a name to keep both (`x.{}`)",
                        outer.text
                    )),
                );
            }
        }
    }

    /// A name defined by this file itself.
    pub fn own(&self, name: &str) -> Option<DefRef<'a>> {
        self.defs.get(name).copied()
    }
}

pub fn duplicate(at: FileRange, first: FileRange, kind: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        codes::DUPLICATE,
        at,
        format!("{kind} `{name}` is defined twice"),
    )
    .with_label("defined again here")
    .with_secondary(first, "first defined here")
    .with_help(format!(
        "rename one of the two definitions of `{name}`, or remove one"
    ))
}

/// Imports may nest this many files deep (a file importing a file importing …).
pub const MAX_IMPORT_DEPTH: usize = 32;

/// The length of the longest chain of imports that starts at `file` (cycles are cut,
/// and reported separately), counted up to the limit.
fn import_depth(
    db: &dyn SourceDb,
    file: FileId,
    memo: &mut HashMap<FileId, usize>,
    on_path: &mut HashSet<FileId>,
) -> usize {
    if let Some(d) = memo.get(&file) {
        return *d;
    }
    if !on_path.insert(file) || on_path.len() > MAX_IMPORT_DEPTH + 1 {
        return 0;
    }
    let deepest = db
        .imports(file)
        .iter()
        .flatten()
        .map(|next| import_depth(db, *next, memo, on_path))
        .max()
        .map_or(0, |d| d + 1);
    on_path.remove(&file);
    memo.insert(file, deepest);
    deepest
}

/// The chain of files from `file` through `first` back to `file`, if there is one.
fn import_cycle(db: &dyn SourceDb, file: FileId, first: FileId) -> Option<Vec<String>> {
    let mut path = vec![file, first];
    let mut visited = HashSet::new();
    if dfs(db, file, first, &mut path, &mut visited) {
        Some(path.iter().map(|f| db.file_name(*f)).collect())
    } else {
        None
    }
}

fn dfs(
    db: &dyn SourceDb,
    goal: FileId,
    at: FileId,
    path: &mut Vec<FileId>,
    visited: &mut HashSet<FileId>,
) -> bool {
    if at == goal {
        return true;
    }
    if !visited.insert(at) || path.len() > 64 {
        return false;
    }
    for next in db.imports(at).iter().flatten() {
        path.push(*next);
        if dfs(db, goal, *next, path, visited) {
            return true;
        }
        path.pop();
    }
    false
}
