//! A read-only view of the database for one request: a clone of the salsa database
//! (cancelled when an edit arrives) and the workspace's files.

use crate::convert::Text;
use plumb_db::{Database, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use std::path::PathBuf;
use tower_lsp_server::ls_types::{Location, Uri};

#[derive(Clone)]
pub struct Snapshot {
    pub db: Database,
    pub ws: Workspace,
    /// By `FileId`.
    pub files: Vec<(PathBuf, SourceFile)>,
}

impl Snapshot {
    pub fn source(&self, id: FileId) -> Option<SourceFile> {
        self.files.get(id.0 as usize).map(|(_, f)| *f)
    }
    pub fn uri(&self, id: FileId) -> Option<Uri> {
        self.files
            .get(id.0 as usize)
            .and_then(|(p, _)| Uri::from_file_path(p))
    }
    pub fn text(&self, file: SourceFile) -> Text<'_> {
        Text {
            text: file.text(&self.db),
            index: plumb_db::line_index(&self.db, file),
        }
    }
    pub fn location(&self, id: FileId, range: plumb_diagnostics::TextRange) -> Option<Location> {
        let file = self.source(id)?;
        Some(Location {
            uri: self.uri(id)?,
            range: self.text(file).range(range),
        })
    }
}
