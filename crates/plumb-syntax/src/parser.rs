//! A hand-written recursive-descent parser: tokens to a [`SourceFile`], never failing.
//!
//! Recovery follows the structure of the language, as rust-analyzer's parser does with
//! its recovery sets. The keywords `import`, `let`, `secret`, `template`, `pipeline`,
//! `stage` and `job` can only start a construct, so wherever one appears it ends every
//! construct that cannot hold it: a job body missing its `}` ends at the next `job` or
//! `stage`, with one error, and the construct is parsed where it belongs. The other way
//! round, a construct found one level too far out (after a stray `}` closed its parent
//! early) is put back into the last parent before it, so a misplaced brace loses
//! nothing. A name followed by `{` where a job (or stage, or pipeline) can stand is that
//! construct with its keyword missing. Inside a construct, a token that cannot go on is
//! reported and skipped; a missing `=`, `,`, `]` or `)` is reported and assumed.
//! Nesting depth is bounded by the lexer, so recursion here is bounded too.

mod expr;
mod items;

use crate::ast::*;
use crate::token::{Spanned, Token};
use crate::SyntaxError;
use plumb_diagnostics::TextRange;

/// Parses a token list (from [`crate::lexer::lex`]) of a file of `len` bytes.
pub fn parse_tokens(tokens: &[Spanned<Token>], len: usize) -> (SourceFile, Vec<SyntaxError>) {
    let mut p = Parser::new(tokens, len as u32);
    let file = p.file();
    (file, p.errors)
}

/// Parses the tokens of one `${…}` interpolation, whose range is `at`.
fn parse_interpolation(tokens: &[Spanned<Token>], at: TextRange) -> (Expr, Vec<SyntaxError>) {
    let mut p = Parser::new(tokens, at.end.saturating_sub(1));
    let expr = p.expr();
    if p.peek().is_some() {
        p.expected("the end of the interpolation `}`");
    }
    (expr, p.errors)
}

pub(crate) struct Parser<'t> {
    toks: &'t [Spanned<Token>],
    pos: usize,
    /// Where the input ends: errors "found the end of the file" point here.
    end: u32,
    /// The end of the last token taken: where a node being built ends.
    last_end: u32,
    errors: Vec<SyntaxError>,
    /// Braces that do not balance are one mistake: after the first construct found
    /// outside its parent (or stray `}`), the others it causes are not reported again.
    imbalance_reported: bool,
    /// How many more `}` than `{` the input holds: while positive, a `}` where a name
    /// or value is expected is taken for a stray one and skipped, not as a closer.
    stray_closers: usize,
    /// How many more `{` than `}` the file has: a `{` in a body where no value may be
    /// is then one of them, and skipped alone (not with what it would enclose).
    stray_openers: usize,
    /// The `}` that closed the last stage or pipeline: when a job or stage turns up
    /// after it, it is the likely extra one.
    last_closer: Option<TextRange>,
    /// The closing brackets of the lists and argument lists being parsed, innermost
    /// last: a record inside one that meets its closer is missing its `}`.
    open_brackets: Vec<Token>,
}

impl<'t> Parser<'t> {
    fn new(toks: &'t [Spanned<Token>], end: u32) -> Self {
        Parser {
            toks,
            pos: 0,
            end,
            last_end: toks.first().map_or(end, |(_, r)| r.start),
            errors: Vec::new(),
            imbalance_reported: false,
            last_closer: None,
            open_brackets: Vec::new(),
            stray_closers: count(toks, &Token::RBrace).saturating_sub(count(toks, &Token::LBrace)),
            stray_openers: count(toks, &Token::LBrace).saturating_sub(count(toks, &Token::RBrace)),
        }
    }

    fn peek(&self) -> Option<&'t Token> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn peek_nth(&self, n: usize) -> Option<&'t Token> {
        self.toks.get(self.pos + n).map(|(t, _)| t)
    }

    fn at(&self, tok: &Token) -> bool {
        self.peek() == Some(tok)
    }

    /// The range of the next token, or the empty range at the end of the input.
    fn here(&self) -> TextRange {
        self.toks.get(self.pos).map_or(
            TextRange::new(self.end as usize, self.end as usize),
            |(_, r)| *r,
        )
    }

    /// Where the next node starts.
    fn start(&self) -> u32 {
        self.here().start
    }

    /// The range from `start` to the end of the last token taken.
    fn since(&self, start: u32) -> TextRange {
        TextRange::new(start as usize, self.last_end.max(start) as usize)
    }

    fn bump(&mut self) -> TextRange {
        let r = self.here();
        if self.pos < self.toks.len() {
            self.pos += 1;
            self.last_end = r.end;
        }
        r
    }

    fn eat(&mut self, tok: &Token) -> bool {
        let yes = self.at(tok);
        if yes {
            self.bump();
        }
        yes
    }

    /// Reports "expected `what`, found …" at the next token. Nothing else is consumed,
    /// but a `}` found there while the file has more `}` than `{` is taken for the stray
    /// one and skipped (returns true), so that one mistake is one error.
    fn expected(&mut self, what: &str) -> bool {
        let found = self
            .peek()
            .map_or_else(|| "the end of the file".to_string(), Token::describe);
        let mut err = SyntaxError::new(self.here(), format!("expected {what}, found {found}"));
        err.label = format!("expected {what}");
        err.help = syntax_help(what, &found);
        self.errors.push(err);
        if self.stray_closers > 0 && self.at(&Token::RBrace) && !what.contains("`}`") {
            self.stray_closers -= 1;
            self.bump();
            return true;
        }
        false
    }

    /// Whether the token just taken is `tok`.
    fn after(&self, tok: &Token) -> bool {
        self.pos > 0 && self.toks.get(self.pos - 1).is_some_and(|(t, _)| t == tok)
    }

    fn name(&mut self) -> Option<Name> {
        match self.peek() {
            Some(Token::Ident(text)) => {
                let range = self.bump();
                Some(Name {
                    text: text.clone(),
                    range,
                })
            }
            _ => None,
        }
    }

    /// A name, or an error and an empty name at the next token.
    fn name_or_report(&mut self) -> (Name, bool) {
        if let Some(n) = self.name() {
            return (n, true);
        }
        if self.expected("a name") {
            if let Some(n) = self.name() {
                return (n, true);
            }
        }
        let at = self.here();
        let empty = Name {
            text: String::new(),
            range: TextRange::new(at.start as usize, at.start as usize),
        };
        (empty, false)
    }

    /// A name followed by `=`: where a field (or a named argument) starts.
    fn at_field_start(&self) -> bool {
        self.peek().is_some_and(|t| {
            matches!(t, Token::Ident(_) | Token::Str(_)) || t.keyword_text().is_some()
        }) && self.peek_nth(1) == Some(&Token::Eq)
    }

    /// A keyword followed by `=` is a key (`{ stage = "test" }`): no construct starts
    /// with a keyword and `=`.
    fn at_keyword_key(&self) -> bool {
        self.peek().is_some_and(|t| t.keyword_text().is_some())
            && self.peek_nth(1) == Some(&Token::Eq)
    }

    /// Skips one token; an opening bracket is skipped with everything up to its match,
    /// but never past a keyword that starts a construct.
    fn skip_token(&mut self) {
        let Some(first) = self.peek() else { return };
        self.bump();
        let close = match first {
            Token::LParen => Token::RParen,
            Token::LBracket => Token::RBracket,
            Token::LBrace => Token::RBrace,
            _ => return,
        };
        let mut depth = 1usize;
        while let Some(t) = self.peek() {
            if starts_construct(t) {
                return;
            }
            if t == first {
                depth += 1;
            } else if *t == close {
                depth -= 1;
                if depth == 0 {
                    self.bump();
                    return;
                }
            }
            self.bump();
        }
    }

    /// A name; or one error, and the name after a stray `}`.
    fn expect_name(&mut self, what: &str) -> Option<Name> {
        if let Some(n) = self.name() {
            return Some(n);
        }
        if self.expected(what) {
            return self.name();
        }
        None
    }

    /// Whether `tok` is next (not taken); if not, one error, and whether it is next
    /// after a stray `}`.
    fn at_or_report(&mut self, tok: &Token) -> bool {
        self.at(tok) || (self.expected(&format!("`{tok}`")) && self.at(tok))
    }

    /// `tok`; or one error, and `tok` after a stray `}`.
    fn expect_token(&mut self, tok: Token) -> bool {
        if self.eat(&tok) {
            return true;
        }
        self.expected(&format!("`{tok}`")) && self.eat(&tok)
    }

    /// Reports a brace imbalance once per file, pointing at the `}` that likely caused it.
    fn report_imbalance(&mut self, mut err: SyntaxError) {
        if let Some(closer) = self.last_closer {
            err.secondary
                .push((closer, "this `}` may be the extra one".to_string()));
        }
        if !self.imbalance_reported {
            self.imbalance_reported = true;
            self.errors.push(err);
        }
    }
}

fn count(toks: &[Spanned<Token>], tok: &Token) -> usize {
    toks.iter().filter(|(t, _)| t == tok).count()
}

/// Keywords that start a construct of a file, pipeline or stage (never a value).
fn starts_construct(t: &Token) -> bool {
    matches!(
        t,
        Token::Import
            | Token::Let
            | Token::Secret
            | Token::Template
            | Token::Pipeline
            | Token::Stage
            | Token::Job
    )
}

impl Parser<'_> {
    /// Whether the keyword here is followed by what its construct needs next (`stage
    /// NAME {`, `job NAME from`, `let NAME =`, …): a construct the body's missing `}`
    /// let in, not a stray word (`stage` alone on a line of a job).
    fn at_construct_shape(&self) -> bool {
        let (second, third) = (self.peek_nth(1), self.peek_nth(2));
        let named = matches!(second, Some(Token::Ident(_)));
        match self.peek() {
            Some(Token::Stage) => named && matches!(third, Some(Token::LBrace | Token::After)),
            Some(Token::Job) => named && matches!(third, Some(Token::LBrace | Token::From)),
            Some(Token::Pipeline) => named && matches!(third, Some(Token::LBrace)),
            Some(Token::Template) => named && matches!(third, Some(Token::LParen)),
            Some(Token::Let | Token::Secret) => named && matches!(third, Some(Token::Eq)),
            Some(Token::Import) => matches!(second, Some(Token::Str(_))),
            _ => false,
        }
    }

    /// A keyword where a field should be, not starting its construct: one error, and
    /// the tokens up to the next field, `}` or construct are skipped.
    fn skip_stray_keyword(&mut self, what: &str) {
        self.expected(what);
        self.bump();
        while self.peek().is_some_and(|t| {
            !matches!(t, Token::RBrace) && !self.at_field_start() && !self.at_construct_shape()
        }) {
            self.skip_token();
        }
    }
}

/// Keywords that start an item of a file.
fn starts_item(t: &Token) -> bool {
    matches!(
        t,
        Token::Import | Token::Let | Token::Secret | Token::Template | Token::Pipeline
    )
}

/// A hint for the most common syntax mistakes.
fn syntax_help(expected: &str, found: &str) -> Option<String> {
    let help = if found == "the end of the file" {
        "a closing `}`, `]` or `)` may be missing"
    } else if expected == "`=`" {
        "a field is written `name = value`"
    } else if expected.contains("a value") {
        "a value is a string, a number, a duration (`15m`), a size (`256Mi`), `true`/`false`, a name, a list `[…]` or a record `{…}`"
    } else if expected.starts_with("an item") {
        "a file holds `import`, `let`, `secret`, `template` and `pipeline` items"
    } else if found == "`-`" || found.contains('-') && found.starts_with("name") {
        "a `-` can only be part of a name, such as `unit-api`"
    } else if expected.contains("`}`") {
        "fields are written `name = value`, one after the other; jobs go in stages, stages in pipelines"
    } else {
        return None;
    };
    Some(help.to_string())
}
