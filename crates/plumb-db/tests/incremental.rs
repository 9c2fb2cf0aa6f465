//! What an edit re-executes, counted with salsa's event log (not with timings).

mod common;

use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use std::path::Path;
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
    setup_as(sources, Origin::OpenBuffer)
}

fn setup_as(sources: &[(&str, String)], origin: Origin) -> Fixture {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = log.clone();
    let db = Database::with_event_log(move |event| {
        if let salsa::EventKind::WillExecute { .. } = event.kind {
            sink.lock().expect("log").push(format!("{:?}", event.kind));
        }
    });
    let (ws, files) = common::load(&db, Path::new("/ws"), sources, origin, Config::default());
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
        let n = count(&log, query);
        log.clear();
        n
    }
    fn clear(&self) {
        self.log.lock().expect("log").clear();
    }
}

/// How often a query ran, by name, in an event log.
fn count(log: &[String], query: &str) -> usize {
    log.iter()
        .filter(|e| e.contains(&format!("database_key: {query}(")))
        .count()
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
    assert_eq!(count(&log, "analyze"), 1, "{log:#?}");
    assert_eq!(count(&log, "parse"), 1, "{log:#?}");
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
        .map(|d| d.code.as_str())
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

/// Two pipelines of three jobs; jobs `a2` and `b2` come from template `t`.
fn two_pipelines(job_a1_run: &str, template_run: &str) -> String {
    format!(
        r#"template t(name: String) {{
  image = "{IMG}"
  run = ["{template_run} ${{name}}"]
}}

pipeline a {{
  stage s {{
    job a1 {{ image = "{IMG}", run = ["{job_a1_run}"] }}
    job a2 from t(name = "x") {{ }}
    job a3 {{ image = "busybox", run = ["make"] }}
  }}
}}

pipeline b {{
  stage s {{
    job b1 {{ image = "{IMG}", run = ["make"] }}
    job b2 from t(name = "y") {{ }}
    job b3 {{ image = "{IMG}", run = ["make"] }}
  }}
}}
"#
    )
}

fn job_diags(fx: &Fixture, file: usize) -> Vec<(&'static str, u32)> {
    plumb_db::check_file(&fx.db, fx.ws, fx.files[file])
        .iter()
        .map(|d| (d.code.as_str(), d.primary.at.range.start))
        .collect()
}

#[test]
fn editing_one_job_reruns_only_that_jobs_checks_and_its_pipelines() {
    let mut fx = setup(&[
        ("ab.plumb", two_pipelines("make", "build")),
        ("other.plumb", pipeline("other", "")),
    ]);
    fx.check_all();
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        two_pipelines("make all", "build"),
        Origin::OpenBuffer,
    );
    fx.check_all();
    let log = fx.log.lock().expect("log").clone();
    let ran = |q: &str| count(&log, q);
    assert_eq!(ran("job_checks"), 1, "only a1's checks: {log:#?}");
    // the edit moved the jobs after a1, so pipeline a's graph is checked again
    assert_eq!(
        ran("pipeline_checks"),
        1,
        "only pipeline a's graph checks: {log:#?}"
    );
    assert_eq!(ran("analyze"), 1, "other.plumb is not analysed again");
}

#[test]
fn editing_a_template_rechecks_exactly_its_instantiations() {
    let mut fx = setup(&[("ab.plumb", two_pipelines("make", "build"))]);
    fx.check_all();
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        two_pipelines("make", "build --release"),
        Origin::OpenBuffer,
    );
    fx.check_all();
    assert_eq!(
        fx.executed("job_checks"),
        2,
        "a2 and b2 come from the template"
    );
}

#[test]
fn moving_jobs_without_changing_them_reruns_no_check_and_moves_their_diagnostics() {
    let mut fx = setup(&[("ab.plumb", two_pipelines("make", "build"))]);
    let before = job_diags(&fx, 0);
    assert!(
        before.iter().any(|(code, _)| *code == "PL3001"),
        "{before:?}"
    );
    fx.clear();
    // below the template (spans above a job are kept as they are: see `relocate`)
    let shifted = two_pipelines("make", "build").replacen(
        "pipeline a",
        "# a comment above the pipelines\npipeline a",
        1,
    );
    plumb_db::set_text(&mut fx.db, fx.files[0], shifted, Origin::OpenBuffer);
    let after = job_diags(&fx, 0);
    assert_eq!(fx.executed("job_checks"), 0);
    let moved: Vec<(&str, u32)> = before.iter().map(|(c, at)| (*c, at + 32)).collect();
    assert_eq!(after, moved, "every diagnostic moved with its job");
}

#[test]
fn an_edit_in_a_job_above_leaves_later_jobs_alone_and_their_spans_right() {
    let mut fx = setup(&[("ab.plumb", two_pipelines("make", "build"))]);
    let before = job_diags(&fx, 0);
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        two_pipelines("make -j4", "build"),
        Origin::OpenBuffer,
    );
    let after = job_diags(&fx, 0);
    assert_eq!(fx.executed("job_checks"), 1);
    // a3's PL3001 (the only finding) sits after the edit: it moved by four bytes
    let expected: Vec<(&str, u32)> = before.iter().map(|(c, at)| (*c, at + 4)).collect();
    assert_eq!(after, expected);
}

#[test]
fn an_imported_edit_rechecks_only_the_jobs_that_use_it() {
    let common = format!("let img = \"{IMG}\"\n");
    let web = format!(
        "import \"common.plumb\"\npipeline web {{ stage s {{\n  job uses {{ image = img, run = [\"make\"] }}\n  job own {{ image = \"{IMG}\", run = [\"make\"] }}\n}} }}\n"
    );
    let mut fx = setup(&[("common.plumb", common), ("web.plumb", web)]);
    fx.check_all();
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        "let img = \"busybox:1.36.1\"\n".to_string(),
        Origin::OpenBuffer,
    );
    let codes: Vec<&str> = job_diags(&fx, 1).iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, ["PL3003"]);
    assert_eq!(fx.executed("job_checks"), 1, "only `uses` reads the import");
}

/// After edits, the incremental answer is the answer a fresh database gives: the
/// relative inputs and the moved diagnostics lose nothing, and an open buffer (checked
/// per job) and a file on disk (checked in one pass) get the same diagnostics.
#[test]
fn incremental_diagnostics_equal_a_fresh_check_on_every_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).expect("fixtures") {
        let dir = dir.expect("entry").path();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "plumb") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let mut fx = setup(&[("f.plumb", text.clone())]);
            fx.check_all();
            let lines: Vec<&str> = text.lines().collect();
            for at in [lines.len() / 3, lines.len() / 2, lines.len() * 2 / 3] {
                let mut edited = lines.clone();
                edited.insert(at, "# an inserted comment");
                let edited = edited.join("\n") + "\n";
                plumb_db::set_text(&mut fx.db, fx.files[0], edited.clone(), Origin::OpenBuffer);
                let incremental = plumb_db::check_file(&fx.db, fx.ws, fx.files[0]).clone();
                let fresh = setup_as(&[("f.plumb", edited)], Origin::Disk);
                let expected = plumb_db::check_file(&fresh.db, fresh.ws, fresh.files[0]).clone();
                assert_eq!(
                    incremental,
                    expected,
                    "{} after a line at {at}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} fixtures found");
}

#[test]
fn a_same_length_edit_in_a_script_does_not_recheck_the_graph() {
    let mut fx = setup(&[("ab.plumb", two_pipelines("make", "build"))]);
    fx.check_all();
    fx.clear();
    plumb_db::set_text(
        &mut fx.db,
        fx.files[0],
        two_pipelines("mako", "build"),
        Origin::OpenBuffer,
    );
    fx.check_all();
    let log = fx.log.lock().expect("log").clone();
    let ran = |q: &str| count(&log, q);
    assert_eq!(ran("job_checks"), 1);
    assert_eq!(ran("pipeline_checks"), 0, "{log:#?}");
}

fn request(fx: &Fixture, target: plumb_targets::Target) -> plumb_db::CompileRequest<'_> {
    let sources: Vec<_> = fx
        .files
        .iter()
        .map(|f| (*f, format!("{}", f.path(&fx.db).display())))
        .collect();
    let event = plumb_semantics::Event::Branch("main".to_string());
    plumb_db::CompileRequest::new(
        &fx.db,
        sources,
        target,
        false,
        event,
        std::collections::BTreeMap::<String, String>::new(),
    )
}

#[test]
fn compilation_is_a_query_per_target_rerun_only_when_a_source_changed() {
    let mut fx = setup(&[
        ("a.plumb", pipeline("a", "")),
        ("b.plumb", pipeline("b", "")),
    ]);
    let gitlab = |fx: &Fixture| {
        let r = request(fx, plumb_targets::Target::Gitlab);
        plumb_db::compile(&fx.db, fx.ws, r)
            .clone()
            .expect("compiles")
            .files[0]
            .contents
            .clone()
    };
    let first = gitlab(&fx);
    assert!(first.contains("make"));
    let k8s = request(&fx, plumb_targets::Target::K8s);
    plumb_db::compile(&fx.db, fx.ws, k8s)
        .clone()
        .expect("compiles");
    fx.clear();
    assert_eq!(gitlab(&fx), first);
    assert_eq!(fx.executed("compile"), 0, "nothing changed");
    plumb_db::set_text(
        &mut fx.db,
        fx.files[1],
        pipeline("b", ", timeout = 5m"),
        Origin::OpenBuffer,
    );
    let second = gitlab(&fx);
    assert_ne!(second, first);
    assert!(second.contains("timeout: 5m"), "{second}");
    assert_eq!(
        fx.executed("compile"),
        1,
        "only the GitLab compilation was asked again"
    );
}
