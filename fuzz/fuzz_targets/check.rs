//! Names, types and every check on any text: diagnostics, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let db = Database::default();
        let file = plumb_db::new_file(&db, FileId(0), "/fuzz/main.plumb".into(), text.to_string(), Origin::Disk);
        let ws = plumb_db::new_workspace(&db, vec![file], plumb_config::Config::default());
        let _ = plumb_db::check_file(&db, ws, file);
    }
});
