//! Helpers shared by the database's tests.
#![allow(dead_code)]

use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use std::path::Path;

/// Adds named texts as the files of a new workspace (ids in order, paths under `root`).
pub fn load<N: AsRef<str>, S: AsRef<str>>(
    db: &Database,
    root: &Path,
    files: &[(N, S)],
    origin: Origin,
    config: Config,
) -> (Workspace, Vec<SourceFile>) {
    let sources: Vec<SourceFile> = files
        .iter()
        .enumerate()
        .map(|(i, (name, text))| {
            plumb_db::new_file(
                db,
                FileId(i as u32),
                root.join(name.as_ref()),
                text.as_ref().to_string(),
                origin,
            )
        })
        .collect();
    let ws = plumb_db::new_workspace(db, sources.clone(), config);
    (ws, sources)
}
