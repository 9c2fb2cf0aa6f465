//! Names, scopes, types and template instantiation.
//!
//! Input: parsed files (through [`SourceDb`]). Output: a [`FileModel`] per file — the
//! pipelines with their stages and jobs, every value evaluated, templates instantiated,
//! defaults and environments merged — and the PL1xxx diagnostics (plus PL4002, a type
//! error on secrets). This crate knows nothing of graphs, image policies, credentials
//! in scripts, or any output format.

pub mod codes;
pub mod credential_words;
pub mod eval;
pub mod fields;
pub mod item_tree;
mod lower;
pub mod model;
pub mod scope;
pub mod symbols;
pub mod types;
pub mod value;

pub use lower::TRIGGER_JOB_FIELDS;
pub use model::*;
pub use value::*;

use plumb_diagnostics::{Diagnostic, FileId};
use plumb_syntax::Parse;

/// What the semantic layer needs from the outside world.
pub trait SourceDb {
    fn parse(&self, file: FileId) -> &Parse;
    /// The file each import of `file` refers to (in the order of its item tree's
    /// imports), `None` where it does not exist.
    fn imports(&self, file: FileId) -> &[Option<FileId>];
    /// A short name for messages (`common.plumb`).
    fn file_name(&self, file: FileId) -> String;
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileAnalysis {
    pub model: FileModel,
    /// Name and type diagnostics located in this file.
    pub diagnostics: Vec<Diagnostic>,
    /// Every name of this file the checker resolved, in source order: what the
    /// symbol index (and so every editor feature that navigates) is built from.
    pub uses: Vec<eval::Use>,
}

/// Checks the names and types of one file and lowers its pipelines.
pub fn analyze_file(db: &dyn SourceDb, file: FileId) -> FileAnalysis {
    let mut ev = eval::Evaluator::new(db);
    let model = lower::Lowering::new(&mut ev, file).lower_file();
    let mut uses: Vec<eval::Use> = std::mem::take(&mut ev.uses)
        .into_iter()
        .filter(|u| u.at.file == file)
        .collect();
    // diagnostics about other files' definitions are reported when those files are checked
    let mut diagnostics: Vec<Diagnostic> = ev
        .into_diagnostics()
        .into_iter()
        .filter(|d| d.file() == file)
        .collect();
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
    uses.sort_by_key(|u| (u.at.range.start, u.at.range.end));
    uses.dedup();
    // collected in place, the filtered lists kept the room of everything evaluated
    uses.shrink_to_fit();
    diagnostics.shrink_to_fit();
    FileAnalysis {
        model,
        diagnostics,
        uses,
    }
}

/// A CI/CD variable name: letters, digits and `_`, not starting with a digit.
pub fn is_variable_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether GitLab and Kubernetes both pass `s` as an environment variable's name:
/// letters, digits, `_`, `-` and `.`, not starting with a digit (Kubernetes' rule;
/// GitLab takes any key, and Elasticsearch's `discovery.type` is a usual one).
pub fn is_env_variable_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && (s.chars()).all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
