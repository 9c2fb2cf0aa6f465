//! Every target on any program that checks without errors: output, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plumb_db::{Database, Origin};
use plumb_diagnostics::{FileId, Severity};
use plumb_targets::{BuildOptions, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let db = Database::default();
    let file = plumb_db::new_file(&db, FileId(0), "/fuzz/main.plumb".into(), text.to_string(), Origin::Disk);
    let config = plumb_config::Config::default();
    let ws = plumb_db::new_workspace(&db, vec![file], config.clone());
    if plumb_db::check_file(&db, ws, file).iter().any(|d| d.severity == Severity::Error) {
        return;
    }
    let analysis = plumb_db::analyze(&db, ws, file);
    let models: Vec<_> = analysis.model.pipelines.iter().map(|p| (p, "main.plumb".to_string())).collect();
    for target in [Target::Gitlab, Target::K8s, Target::Gitops] {
        let options = BuildOptions {
            target,
            split: false,
            event: plumb_semantics::Event::Branch("main".into()),
            vars: &Default::default(),
            config: &config,
        };
        let _ = plumb_targets::build(&models, &options);
    }
});
