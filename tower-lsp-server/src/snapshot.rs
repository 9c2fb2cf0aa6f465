//! A read-only view of the database for one request: a clone of the salsa database
//! (cancelled when an edit arrives) and the workspace's files.

use crate::convert::Text;
use plumb_db::{Database, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::ls_types::{Location, Uri};

#[derive(Clone)]
pub struct Snapshot {
    pub db: Database,
    pub ws: Workspace,
    /// By `FileId`.
    pub files: Vec<(PathBuf, SourceFile)>,
    /// What each file is, by `FileId`.
    pub kinds: Vec<Kind>,
}

/// What a file of the workspace is.
#[derive(Clone)]
pub enum Kind {
    Plumb,
    /// An open GitLab CI file: its text, checked through the program it was read as.
    Yaml(Arc<YamlView>),
    /// The program a GitLab CI file was read as (never shown, never published).
    Program,
}

/// A GitLab CI file as the checker sees it.
pub struct YamlView {
    /// The file of the program it was read as.
    pub program: FileId,
    pub mapping: plumb_db::yaml::YamlProgram,
    /// Why the file could not be read (its line and message), when it could not.
    pub error: Option<(usize, String)>,
}

impl Snapshot {
    /// The Plumb sources (not the GitLab CI files open, nor the programs they are read
    /// as): what symbol searches and completion look through.
    pub fn plumb_files(&self) -> impl Iterator<Item = (FileId, SourceFile)> + '_ {
        self.files.iter().enumerate().filter_map(|(i, (_, f))| {
            matches!(self.kinds.get(i), None | Some(Kind::Plumb)).then_some((FileId(i as u32), *f))
        })
    }

    pub fn kind(&self, id: FileId) -> Kind {
        self.kinds
            .get(id.0 as usize)
            .cloned()
            .unwrap_or(Kind::Plumb)
    }
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
