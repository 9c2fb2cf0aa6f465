//! The syntax layer of Plumb: lexer, parser with error recovery, syntax tree.
//!
//! This crate knows nothing of names, types or checks. [`parse`] never panics and never
//! gives up: it returns a tree (possibly partial) plus every syntax error found, and
//! keeps comments for the formatter and for `# plumb-allow:` suppressions.

pub mod ast;
pub mod invisible;
pub mod lexer;
mod parser;
pub mod token;

pub use lexer::Comment;
pub use plumb_diagnostics::TextRange;

use plumb_diagnostics::{Diagnostic, FileId, FileRange};

/// The code of every syntax error.
pub const SYNTAX_ERROR: plumb_diagnostics::Code = plumb_diagnostics::Code::PL0001;

/// A syntax error, before it is placed in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    /// Other places that explain the error (the `{` that is not closed).
    pub secondary: Vec<(TextRange, String)>,
}

impl SyntaxError {
    pub fn new(range: TextRange, message: impl Into<String>) -> Self {
        SyntaxError {
            range,
            message: message.into(),
            label: String::new(),
            help: None,
            secondary: Vec::new(),
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
        for (range, message) in &self.secondary {
            d = d.with_secondary(
                FileRange {
                    file,
                    range: *range,
                },
                message.clone(),
            );
        }
        d
    }
}

/// Syntax errors reported per file, at most: after that many, more only hide the first.
pub const MAX_ERRORS: usize = 50;

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
    errors.extend(without_unterminated_string_echoes(
        parse_errors,
        &errors,
        &lexed.tokens,
    ));
    if let Some(err) = errors
        .iter_mut()
        .find(|e| e.range.start as usize >= text.len() && e.message.contains("`}`"))
    {
        if let Some(open) = unclosed_brace_hint(text, &lexed.tokens) {
            err.secondary.push((open, "this `{` may be the one that is not closed: its `}` is indented less than its line".to_string()));
            err.help = Some("add the missing `}`".to_string());
        }
    }
    errors.sort_by_key(|e| (e.range.start, e.range.end));
    errors.dedup_by(|a, b| a.range == b.range && a.message == b.message);
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        let last = errors.last().map_or(TextRange::empty(0), |e| e.range);
        errors.push(
            SyntaxError::new(last, format!("{more} more syntax errors are not shown"))
                .with_help("is this a Plumb file? Fix the first errors and check again"),
        );
    }
    Parse {
        tree,
        comments: lexed.comments,
        errors,
    }
}

/// The parser's errors less those at the token right after an unterminated string:
/// the string took the rest of its line (`["make", "test]` its `]`), which the lexer
/// reported; the parser missing that `]` or `,` is the same mistake.
fn without_unterminated_string_echoes(
    parse_errors: Vec<SyntaxError>,
    lex_errors: &[SyntaxError],
    tokens: &[token::Spanned<token::Token>],
) -> Vec<SyntaxError> {
    let echoes: Vec<u32> = (lex_errors.iter())
        .filter(|e| e.message == "unterminated string")
        .filter_map(|e| {
            let string = tokens.partition_point(|(_, r)| r.end <= e.range.start);
            Some(tokens.get(string + 1)?.1.start)
        })
        .collect();
    if echoes.is_empty() {
        return parse_errors;
    }
    (parse_errors.into_iter())
        .filter(|e| !echoes.contains(&e.range.start))
        .collect()
}

/// When braces are unbalanced, the `{` most likely left open: the first one whose
/// matching `}` (by count) sits at a smaller indentation than the line of the `{`.
fn unclosed_brace_hint(text: &str, tokens: &[token::Spanned<token::Token>]) -> Option<TextRange> {
    let indent_of = |offset: usize| {
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        text[line_start..]
            .bytes()
            .take_while(|b| *b == b' ' || *b == b'\t')
            .count()
    };
    let mut stack: Vec<TextRange> = Vec::new();
    let mut suspects: Vec<TextRange> = Vec::new();
    for (tok, range) in tokens {
        match tok {
            token::Token::LBrace => stack.push(*range),
            token::Token::RBrace => {
                if let Some(open) = stack.pop() {
                    let same_line = !text[open.start as usize..range.start as usize].contains('\n');
                    if !same_line
                        && indent_of(range.start as usize) < indent_of(open.start as usize)
                    {
                        suspects.push(open);
                    }
                }
            }
            _ => {}
        }
    }
    if stack.is_empty() {
        return None;
    }
    suspects.first().copied()
}
