//! Diagnostics as plain data.
//!
//! Every layer of Plumb reports problems as [`Diagnostic`] values: a stable code, a
//! severity, a primary label on the exact token, optional secondary labels, a help text
//! and optional machine-applicable fixes. Rendering (terminal, JSON, ...) happens in the
//! CLI; this crate only holds the data and the one place where byte offsets become
//! lines and columns ([`LineIndex`]).

mod codes;
mod line_index;
pub mod relocate;

pub use codes::Code;
pub use line_index::{LineCol, LineIndex};

use std::fmt;

/// Identifies one source file inside a workspace. The database hands these out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range inside one file. Offsets are `u32`: Plumb refuses files over 4 GiB
/// long before this matters (see the file size limit in the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TextRange {
    pub start: u32,
    pub end: u32,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        TextRange {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn empty(at: usize) -> Self {
        Self::new(at, at)
    }
    pub fn cover(self, other: TextRange) -> TextRange {
        TextRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
    pub fn as_range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn contains(self, offset: usize) -> bool {
        (self.start as usize) <= offset && offset < self.end as usize
    }
}

/// A range in a given file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileRange {
    pub file: FileId,
    pub range: TextRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message attached to a place in the source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub at: FileRange,
    pub message: String,
}

/// One text replacement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Edit {
    pub at: FileRange,
    pub replacement: String,
}

/// A mechanical fix: what it does, and the edits that do it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

/// A problem found in a Plumb program.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable code such as `PL1001`.
    pub code: Code,
    pub severity: Severity,
    /// One line: what is wrong.
    pub message: String,
    /// The exact token the problem is about, with a short label.
    pub primary: Label,
    /// Other places that explain the problem (the first definition, the edges of a cycle).
    pub secondary: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// How to fix it in a `.gitlab-ci.yml` checked directly, where `help` shows Plumb
    /// source (`secret x = ci_variable(…)`) that has no place in the YAML.
    pub yaml_help: Option<String>,
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    /// How to fix it: the diagnostic's own help, else where the rule is documented
    /// (every diagnostic shown has a help text).
    pub fn help_text(&self) -> std::borrow::Cow<'_, str> {
        match &self.help {
            Some(help) => std::borrow::Cow::Borrowed(help),
            None => std::borrow::Cow::Owned(format!(
                "`plumb explain {}` says what the rule checks, with a failing and a fixed example",
                self.code.as_str()
            )),
        }
    }

    pub fn new(code: Code, severity: Severity, at: FileRange, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            primary: Label {
                at,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            yaml_help: None,
            fixes: Vec::new(),
        }
    }
    pub fn error(code: Code, at: FileRange, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, at, message)
    }
    pub fn warning(code: Code, at: FileRange, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, at, message)
    }
    /// The short text shown under the primary span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.primary.message = label.into();
        self
    }
    pub fn with_secondary(mut self, at: FileRange, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            at,
            message: message.into(),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// The help in a YAML author's words, when [`Diagnostic::help`] shows Plumb source.
    pub fn with_yaml_help(mut self, help: impl Into<String>) -> Self {
        self.yaml_help = Some(help.into());
        self
    }
    /// Says in the help how many more places a merged finding has than it draws (one
    /// finding per cause counts what it does not show, never drops it silently).
    pub fn count_places_not_shown(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let more = format!("{n} more place{} not shown", if n == 1 { "" } else { "s" });
        self.help = Some(match self.help.take() {
            Some(h) => format!("{h} ({more})"),
            None => more,
        });
    }
    pub fn with_fix(mut self, title: impl Into<String>, edits: Vec<Edit>) -> Self {
        self.fixes.push(Fix {
            title: title.into(),
            edits,
        });
        self
    }
    pub fn file(&self) -> FileId {
        self.primary.at.file
    }
    /// Sort key that gives a stable, reading-order output.
    pub fn sort_key(&self) -> (FileId, u32, u32, Code, &str) {
        (
            self.primary.at.file,
            self.primary.at.range.start,
            self.primary.at.range.end,
            self.code,
            self.message.as_str(),
        )
    }
}

/// A sink that phases push diagnostics into.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(ds);
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a
/// plausible typo. Used for every "did you mean" in Plumb.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        if cand == name {
            continue;
        }
        let d = edit_distance(&name.to_lowercase(), &cand.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && cand < bc)) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus transpositions, so that
/// `nmp` is one edit from `npm`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// A DNS-1123 label, the form of Kubernetes object names: lowercase letters, digits and
/// `-`, not at either end, at most 63 characters. Here because the configuration and
/// the semantic layer both validate names with it.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposition_is_one_edit() {
        assert_eq!(edit_distance("nmp", "npm"), 1);
        assert_eq!(closest("nmp", ["npm", "go_job"]), Some("npm"));
    }

    #[test]
    fn far_names_are_not_suggested() {
        assert_eq!(closest("deploy", ["compile", "lint"]), None);
    }
}
