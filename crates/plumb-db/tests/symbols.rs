//! The symbol index (what the language server navigates with), through the database.

mod common;

use plumb_config::Config;
use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;
use plumb_semantics::symbols::SymbolKind;
use std::path::Path;

const COMMON: &str = "let img = \"busybox:1.36.1\"\nsecret tok = ci_variable(\"TOK\")\ntemplate t(pkg: String) { image = img, run = [\"go ${pkg}\"] }\n";
const WEB: &str = "import \"common.plumb\"\npipeline p {\n  stage a { job x from t(pkg = \"./...\") { } }\n  stage b after a { job y { image = img, needs = [x], env = { T = tok }, run = [\"y\"] } }\n}\n";

fn setup() -> (Database, plumb_db::Workspace, Vec<plumb_db::SourceFile>) {
    let db = Database::default();
    let files = [("common.plumb", COMMON), ("web.plumb", WEB)];
    let (ws, files) = common::load(
        &db,
        Path::new("/ws"),
        &files,
        Origin::Disk,
        Config::default(),
    );
    (db, ws, files)
}

/// What the name at the `nth` occurrence of `needle` in web.plumb refers to.
fn target(needle: &str, nth: usize) -> Option<(SymbolKind, FileId, String)> {
    let (db, ws, files) = setup();
    let offset = WEB.match_indices(needle).nth(nth).expect("needle").0;
    let index = plumb_db::symbol_index(&db, ws, files[1]);
    index
        .at(offset)
        .map(|o| (o.symbol.kind, o.symbol.file, o.symbol.name.clone()))
}

#[test]
fn names_resolve_to_their_definitions_across_files() {
    assert_eq!(
        target("x]", 0),
        Some((SymbolKind::Job, FileId(1), "x".into()))
    );
    assert_eq!(
        target("a {", 1),
        Some((SymbolKind::Stage, FileId(1), "a".into())),
        "`after a`"
    );
    assert_eq!(
        target("a {", 0),
        Some((SymbolKind::Stage, FileId(1), "a".into()))
    );
    assert_eq!(
        target("t(", 0),
        Some((SymbolKind::Template, FileId(0), "t".into()))
    );
    assert_eq!(
        target("pkg =", 0),
        Some((SymbolKind::Param, FileId(0), "pkg".into()))
    );
    assert_eq!(
        target("img,", 0),
        Some((SymbolKind::Let, FileId(0), "img".into())),
        "from the imported file"
    );
    assert_eq!(
        target("tok }", 0),
        Some((SymbolKind::Secret, FileId(0), "tok".into()))
    );
    assert_eq!(
        target("\"common", 0).map(|t| (t.0, t.1)),
        Some((SymbolKind::File, FileId(0)))
    );
}

#[test]
fn references_of_a_template_parameter_include_its_uses_in_the_body() {
    let (db, ws, files) = setup();
    let index = plumb_db::symbol_index(&db, ws, files[0]);
    let offset = COMMON.find("pkg:").expect("param");
    let param = index.at(offset).expect("the parameter").symbol.clone();
    let uses: Vec<_> = index
        .references_to(&param)
        .filter(|o| !o.is_definition)
        .collect();
    assert_eq!(uses.len(), 1, "`${{pkg}}` in the template's run");
}

#[test]
fn a_qualified_template_resolves_through_its_import_alias() {
    let qualified = "import \"common.plumb\" as c\npipeline q { stage s { job x from c.t(pkg = \"./...\") { } } }\n";
    let db = Database::default();
    let (ws, files) = common::load(
        &db,
        Path::new("/ws"),
        &[("common.plumb", COMMON), ("q.plumb", qualified)],
        Origin::Disk,
        Config::default(),
    );
    let index = plumb_db::symbol_index(&db, ws, files[1]);
    let at = |needle: &str| {
        let offset = qualified.find(needle).expect("needle");
        index
            .at(offset)
            .map(|o| (o.symbol.kind, o.symbol.file, o.symbol.name.clone()))
    };
    assert_eq!(
        at("t("),
        Some((SymbolKind::Template, FileId(0), "t".into()))
    );
    assert_eq!(
        at("pkg ="),
        Some((SymbolKind::Param, FileId(0), "pkg".into()))
    );
    let errors: Vec<_> = plumb_db::check_file(&db, ws, files[1])
        .iter()
        .filter(|d| d.severity == plumb_diagnostics::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

// ----- one resolver: every name the checker resolved is what the editor navigates to -----

use plumb_syntax::ast::{Expr, ExprKind, Field, Instantiation, Item, Name, Segment};

/// A name written where it refers to something, and whether it is a job name inside
/// a template (which means a job of whichever pipeline instantiates the template).
struct Written {
    range: plumb_diagnostics::TextRange,
    text: String,
    in_template_job_list: bool,
    /// For an argument's name: the template's name, which must resolve first.
    template: Option<plumb_diagnostics::TextRange>,
    /// For a qualified template's name: the alias, which may be reported instead.
    qualifier: Option<plumb_diagnostics::TextRange>,
}

#[derive(Default)]
struct Names {
    out: Vec<Written>,
    in_template: bool,
}

impl Names {
    fn name(&mut self, n: &Name, job_list: bool) {
        self.out.push(Written {
            range: n.range,
            text: n.text.clone(),
            in_template_job_list: job_list && self.in_template,
            template: None,
            qualifier: None,
        });
    }
    fn expr(&mut self, e: &Expr, job_list: bool) {
        match &e.kind {
            ExprKind::Name(n) => self.name(n, job_list),
            ExprKind::Member(_, member) => self.name(member, false),
            ExprKind::Call(_, args) => args.iter().for_each(|a| self.expr(&a.value, false)),
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i, job_list)),
            ExprKind::Record(fields) => self.fields(fields),
            ExprKind::Binary(_, a, b) => {
                self.expr(a, false);
                self.expr(b, false);
            }
            ExprKind::Not(a) => self.expr(a, false),
            ExprKind::Str(s) => {
                for seg in &s.segments {
                    if let Segment::Interp(inner, _) = seg {
                        self.expr(inner, false);
                    }
                }
            }
            _ => {}
        }
    }
    fn fields(&mut self, fields: &[Field]) {
        for f in fields {
            let job_list = matches!(&f.key.text[..], "needs" | "dependencies" | "on_stop");
            self.expr(&f.value, job_list);
        }
    }
    fn bases(&mut self, bases: &[Instantiation]) {
        for b in bases {
            self.name(&b.template, false);
            if let Some(w) = self.out.last_mut() {
                w.qualifier = b.qualifier.as_ref().map(|q| q.range);
            }
            for a in &b.args {
                if let Some(n) = &a.name {
                    self.name(n, false);
                    if let Some(w) = self.out.last_mut() {
                        w.template = Some(b.template.range);
                    }
                }
                self.expr(&a.value, false);
            }
        }
    }
    fn items(&mut self, items: &[Item]) {
        for item in items {
            match item {
                Item::Import(_) => {}
                Item::Let(l) => self.expr(&l.value, false),
                Item::Secret(s) => s.args.iter().for_each(|a| self.expr(&a.value, false)),
                Item::Template(t) => {
                    self.in_template = true;
                    for p in &t.params {
                        if let Some(d) = &p.default {
                            self.expr(d, false);
                        }
                    }
                    self.bases(&t.bases);
                    self.fields(&t.body.fields);
                    self.in_template = false;
                }
                Item::Pipeline(p) => {
                    p.lets.iter().for_each(|l| self.expr(&l.value, false));
                    self.fields(&p.fields);
                    for stage in &p.stages {
                        stage.after.iter().for_each(|a| self.name(a, false));
                        self.fields(&stage.fields);
                        for job in &stage.jobs {
                            self.bases(&job.bases);
                            self.fields(&job.body.fields);
                        }
                    }
                }
            }
        }
    }
}

/// Every folder of fixtures and examples, each a workspace of its `.plumb` files.
fn workspaces() -> Vec<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut folders = vec![root.join("examples")];
    let mut out = Vec::new();
    while let Some(dir) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|x| x == "plumb") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string();
                files.push((name, text));
            }
        }
        files.sort();
        if !files.is_empty() {
            out.push(files);
        }
    }
    // a fixture is a file, or a folder with a main.plumb and the files it imports
    folders = vec![root.join("fixtures")];
    while let Some(dir) = folders.pop() {
        if dir.join("main.plumb").is_file() {
            out.push(plumb_files_under(&dir));
            continue;
        }
        for e in std::fs::read_dir(&dir).expect("fixtures").flatten() {
            let path = e.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|x| x == "plumb") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                let name = path.strip_prefix(&root).expect("under the root");
                out.push(vec![(name.to_string_lossy().to_string(), text)]);
            }
        }
    }
    out
}

/// The `.plumb` files under `dir`, named by their path from it.
fn plumb_files_under(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(d) = folders.pop() {
        for e in std::fs::read_dir(&d).expect("fixture folder").flatten() {
            let path = e.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|x| x == "plumb") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                let name = path.strip_prefix(dir).expect("under the folder");
                files.push((name.to_string_lossy().to_string(), text));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_name_the_checker_resolved_is_where_the_editor_navigates() {
    let builtins = plumb_semantics::eval::CONDITION_NAMES;
    let mut checked = 0;
    for files in workspaces() {
        let db = Database::default();
        let (ws, sources) = common::load(
            &db,
            Path::new("/ws"),
            &files,
            Origin::Disk,
            Config::default(),
        );
        let indexes: Vec<_> = sources
            .iter()
            .map(|f| plumb_db::symbol_index(&db, ws, *f).clone())
            .collect();
        for (n, file) in sources.iter().enumerate() {
            let index = &indexes[n];
            let diags = plumb_db::check_file(&db, ws, *file);
            let name = &files[n].0;
            // each reference has one target, and that target is a definition
            for o in index.occurrences.iter().filter(|o| !o.is_definition) {
                let at_same: Vec<_> = index
                    .occurrences
                    .iter()
                    .filter(|p| p.range == o.range && !p.is_definition)
                    .collect();
                assert_eq!(at_same.len(), 1, "{name}: two targets at {:?}", o.range);
                if o.symbol.kind == SymbolKind::File {
                    continue;
                }
                let target_index = &indexes[o.symbol.file.0 as usize];
                assert!(
                    target_index
                        .occurrences
                        .iter()
                        .any(|d| d.is_definition && d.symbol == o.symbol),
                    "{name}: the use at {:?} goes to {:?}, which is no definition",
                    o.range,
                    o.symbol
                );
            }
            // each written name is resolved, reported, or built in
            let mut names = Names::default();
            names.items(&plumb_db::parse(&db, *file).tree.items);
            let is_resolved = |range| {
                index
                    .occurrences
                    .iter()
                    .any(|o| o.range == range && !o.is_definition)
            };
            for w in names.out {
                let resolved = is_resolved(w.range);
                if w.template.is_some_and(|t| !is_resolved(t)) {
                    continue; // the argument of a template that is not one
                }
                if w.qualifier
                    .is_some_and(|q| diags.iter().any(|d| d.primary.at.range == q))
                {
                    continue; // `x.t` where `x` is no imported file
                }
                let reported = diags.iter().any(|d| {
                    d.primary.at.range.start <= w.range.start
                        && w.range.start <= d.primary.at.range.end.max(d.primary.at.range.start)
                        || d.secondary.iter().any(|s| s.at.range == w.range)
                });
                let builtin = builtins.contains(&w.text.as_str());
                assert!(
                    resolved || reported || builtin || w.in_template_job_list,
                    "{name}: `{}` at {:?} is neither resolved nor reported",
                    w.text,
                    w.range
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} names");
}
