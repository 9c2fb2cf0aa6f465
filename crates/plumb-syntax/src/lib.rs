//! The syntax layer of Plumb: lexer, parser with error recovery, syntax tree.
//!
//! This crate knows nothing of names, types or checks. [`parse`] never panics and never
//! gives up: it returns a tree (possibly partial) plus every syntax error found, and
//! keeps comments for the formatter and for `# plumb-allow:` suppressions.

pub mod ast;
pub mod lexer;
mod parser;
pub mod token;

pub use lexer::Comment;
pub use plumb_diagnostics::TextRange;

use plumb_diagnostics::{Diagnostic, FileId, FileRange};

/// The code of every syntax error.
pub const SYNTAX_ERROR: &str = "PL0001";

/// A syntax error, before it is placed in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl SyntaxError {
    pub fn new(range: TextRange, message: impl Into<String>) -> Self {
        SyntaxError {
            range,
            message: message.into(),
            label: String::new(),
            help: None,
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn to_diagnostic(&self, file: FileId) -> Diagnostic {
        let mut d = Diagnostic::error(
            SYNTAX_ERROR,
            FileRange {
                file,
                range: self.range,
            },
            self.message.clone(),
        )
        .with_label(self.label.clone());
        d.help = self.help.clone();
        d
    }
}

/// The result of parsing one file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Parse {
    pub tree: ast::SourceFile,
    pub comments: Vec<Comment>,
    pub errors: Vec<SyntaxError>,
}

/// Lexes and parses one file.
pub fn parse(text: &str) -> Parse {
    let lexed = lexer::lex(text);
    let (tree, parse_errors) = parser::parse_tokens(&lexed.tokens, text.len());
    let mut errors = lexed.errors;
    errors.extend(parse_errors);
    errors.sort_by_key(|e| (e.range.start, e.range.end));
    errors.dedup_by(|a, b| a.range == b.range && a.message == b.message);
    Parse {
        tree,
        comments: lexed.comments,
        errors,
    }
}
