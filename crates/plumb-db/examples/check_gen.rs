//! One full check of a generated workspace, for profilers (callgrind, perf):
//! `cargo run --release -p plumb-db --example check_gen -- 5000 100`.

use plumb_config::Config;
use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let files: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let db = Database::default();
    let sources: Vec<_> = plumb_gen::workspace(jobs, files)
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            plumb_db::new_file(
                &db,
                FileId(i as u32),
                PathBuf::from("/gen").join(&f.path),
                f.text,
                Origin::Disk,
            )
        })
        .collect();
    let ws = plumb_db::new_workspace(&db, sources.clone(), Config::default());
    let findings: usize = sources
        .iter()
        .map(|f| plumb_db::check_file(&db, ws, *f).len())
        .sum();
    println!("{jobs} jobs in {files} files: {findings} findings");
}
