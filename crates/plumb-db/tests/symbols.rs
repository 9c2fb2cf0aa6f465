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
