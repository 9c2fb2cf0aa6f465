//! `plumb build` stays inside its output folder: for every program that checks without
//! errors, every target, split or not, each file it would write is a relative path of
//! plain components (no `..`, no root, no control character), no two files share a
//! path (case-insensitively, as on macOS or Windows), and no file is also a folder of
//! another. A path breaking one of these could write outside `-o` or over another file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plumb_config::{Config, Flavor};
use plumb_db::{Database, Origin};
use plumb_diagnostics::{FileId, Severity};
use plumb_semantics::Event;
use plumb_targets::{BuildOptions, OutputFile, Target};
use std::collections::BTreeSet;
use std::path::{Component, Path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let db = Database::default();
    let file = plumb_db::new_file(&db, FileId(0), "/fuzz/main.plumb".into(), text.to_string(), Origin::Disk);
    let ws = plumb_db::new_workspace(&db, vec![file], Config::default());
    if plumb_db::check_file(&db, ws, file).iter().any(|d| d.severity == Severity::Error) {
        return;
    }
    let analysis = plumb_db::analyze(&db, ws, file);
    let models: Vec<_> = analysis.model.pipelines.iter().map(|p| (p, "main.plumb".to_string())).collect();
    for config in configs() {
        for (target, split) in [(Target::Gitlab, false), (Target::Gitlab, true), (Target::K8s, false), (Target::Gitops, false)] {
            for event in [Event::Branch("main".into()), Event::Tag, Event::MergeRequest] {
                let vars = Default::default();
                let options = BuildOptions { target, split, event, vars: &vars, config: &config };
                if let Ok(build) = plumb_targets::build(&models, &options) {
                    assert_contained(&build.files);
                }
            }
        }
    }
});

fn configs() -> [Config; 2] {
    let mut flux = Config::default();
    flux.targets.gitops.flavor = Some(Flavor::Flux);
    flux.targets.k8s.namespace = Some("ci".into());
    flux.targets.gitops.environments = Some(vec!["staging".into(), "prod".into()]);
    [Config::default(), flux]
}

fn assert_contained(files: &[OutputFile]) {
    let mut seen = BTreeSet::new();
    for f in files {
        assert!(!f.path.is_empty(), "an output file without a path");
        assert!(!f.path.chars().any(char::is_control), "control character in output path {:?}", f.path);
        assert!(
            Path::new(&f.path).components().all(|c| matches!(c, Component::Normal(_))),
            "output path {:?} is not a plain relative path",
            f.path
        );
        assert!(seen.insert(f.path.to_lowercase()), "two output files at {:?}", f.path);
    }
    for f in files {
        let folder = format!("{}/", f.path.to_lowercase());
        assert!(
            !seen.iter().any(|p| p.starts_with(&folder)),
            "{:?} is both a file and a folder of the output",
            f.path
        );
    }
}
