//! What an edit re-executes, counted with salsa's event log (not with timings).

use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const IMG: &str =
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

struct Fixture {
    db: Database,
    ws: Workspace,
    files: Vec<SourceFile>,
    log: Arc<Mutex<Vec<String>>>,
}

fn setup(sources: &[(&str, String)]) -> Fixture {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = log.clone();
    let db = Database::with_event_log(move |event| {
        if let salsa::EventKind::WillExecute { .. } = event.kind {
            sink.lock().expect("log").push(format!("{:?}", event.kind));
        }
    });
    let files: Vec<SourceFile> = sources
        .iter()
        .enumerate()
        .map(|(i, (name, text))| {
            plumb_db::new_file(
                &db,
                FileId(i as u32),
                PathBuf::from("/ws").join(name),
                text.clone(),
                Origin::OpenBuffer,
            )
        })
        .collect();
    let ws = plumb_db::new_workspace(&db, files.clone(), Config::default());
    Fixture { db, ws, files, log }
}

impl Fixture {
    fn check_all(&self) -> usize {
        self.files
            .iter()
            .map(|f| plumb_db::check_file(&self.db, self.ws, *f).len())
            .sum()
    }
    /// How often each query ran since the last call, by query name.
    fn executed(&self, query: &str) -> usize {
        let mut log = self.log.lock().expect("log");
        let n = log
            .iter()
            .filter(|e| e.contains(&format!("database_key: {query}(")))
            .count();
        log.clear();
        n
    }
    fn clear(&self) {
        self.log.lock().expect("log").clear();
    }
}

fn pipeline(name: &str, extra: &str) -> String {
    format!("pipeline {name} {{ stage s {{ job j {{ image = \"{IMG}\", run = [\"make\"]{extra} }} }} }}\n")
}

#[test]
fn editing_one_file_does_not_recheck_unrelated_files() {
    let mut fx = setup(&[
        ("a.plumb", pipeline("a", "")),
        ("b.plumb", pipeline("b", "")),
        ("c.plumb", pipeline("c", "")),
    ]);
    fx.check_all();
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        pipeline("a", ", timeout = 5m"),
        Origin::OpenBuffer,
    );
    fx.check_all();
    let log = fx.log.lock().expect("log").clone();
    let analyzed = log
        .iter()
        .filter(|e| e.contains("database_key: analyze("))
        .count();
    let parsed = log
        .iter()
        .filter(|e| e.contains("database_key: parse("))
        .count();
    assert_eq!(analyzed, 1, "{log:#?}");
    assert_eq!(parsed, 1, "{log:#?}");
}

#[test]
fn editing_an_imported_file_rechecks_its_importers() {
    let common = format!("let img = \"{IMG}\"\n");
    let web = "import \"common.plumb\"\npipeline web { stage s { job j { image = img, run = [\"make\"] } } }\n".to_string();
    let other = pipeline("other", "");
    let mut fx = setup(&[
        ("common.plumb", common),
        ("web.plumb", web),
        ("other.plumb", other),
    ]);
    assert_eq!(fx.check_all(), 0);
    fx.clear();
    // the imported image loses its digest: the importer must now report PL3003
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        "let img = \"busybox:1.36.1\"\n".to_string(),
        Origin::OpenBuffer,
    );
    let web_diags: Vec<&str> = plumb_db::check_file(&fx.db, fx.ws, fx.files[1])
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(web_diags, ["PL3003"]);
    plumb_db::check_file(&fx.db, fx.ws, fx.files[2]);
    // common.plumb and web.plumb are analysed again; other.plumb is not
    assert_eq!(
        fx.executed("analyze"),
        1,
        "only web.plumb's analysis re-ran in this pass"
    );
    plumb_db::check_file(&fx.db, fx.ws, fx.files[0]);
    assert_eq!(fx.executed("analyze"), 1);
}

#[test]
fn an_unchanged_workspace_runs_nothing() {
    let fx = setup(&[
        ("a.plumb", pipeline("a", "")),
        ("b.plumb", pipeline("b", "")),
    ]);
    fx.check_all();
    fx.clear();
    fx.check_all();
    assert!(fx.log.lock().expect("log").is_empty());
}
