//! Tokens produced by the lexer.

use plumb_diagnostics::TextRange;
use std::fmt;

/// A token with its byte range.
pub type Spanned<T> = (T, TextRange);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    Ident(String),
    // keywords
    Import,
    As,
    Let,
    Secret,
    Template,
    Pipeline,
    Stage,
    Job,
    After,
    From,
    True,
    False,
    // literals
    Int(u64),
    /// A duration in seconds.
    Duration(u64),
    /// A size in bytes.
    Size(u64),
    Str(Box<StrToken>),
    /// A literal the lexer already reported as malformed (`10d`); the parser takes it
    /// as a value so that one mistake gives one error.
    Invalid,
    // operators and punctuation
    Eq,
    EqEq,
    NotEq,
    Match,
    AndAnd,
    OrOr,
    Bang,
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    Lt,
    Gt,
}

/// A string literal as lexed: literal text (escapes already processed, block strings
/// already dedented) and interpolations, each with the tokens of its expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrToken {
    pub block: bool,
    pub segments: Vec<RawSegment>,
}

impl StrToken {
    /// The literal's text when it has no interpolation (as `ast::StrLit::as_plain`).
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                RawSegment::Text(t, _) => out.push_str(t),
                RawSegment::Interp(..) => return None,
            }
        }
        Some(out)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RawSegment {
    Text(String, TextRange),
    /// `${…}`: the tokens between the braces and the range of the whole `${…}`.
    Interp(Vec<Spanned<Token>>, TextRange),
}

/// The keywords (§2), each with its token: what the lexer reads and what the parser
/// and the editor print.
#[rustfmt::skip]
static KEYWORDS: [(&str, Token); 12] = [
    ("import", Token::Import), ("as", Token::As), ("let", Token::Let),
    ("secret", Token::Secret), ("template", Token::Template), ("pipeline", Token::Pipeline),
    ("stage", Token::Stage), ("job", Token::Job), ("after", Token::After),
    ("from", Token::From), ("true", Token::True), ("false", Token::False),
];

impl Token {
    /// The keyword spelled `word`, if it is one (a `match`: the lexer asks this of
    /// every name; [`KEYWORDS`] is the same list, a test holds them equal).
    pub fn keyword(word: &str) -> Option<Token> {
        Some(match word {
            "import" => Token::Import,
            "as" => Token::As,
            "let" => Token::Let,
            "secret" => Token::Secret,
            "template" => Token::Template,
            "pipeline" => Token::Pipeline,
            "stage" => Token::Stage,
            "job" => Token::Job,
            "after" => Token::After,
            "from" => Token::From,
            "true" => Token::True,
            "false" => Token::False,
            _ => return None,
        })
    }

    /// The text of a keyword token (`stage`), which can also be a record key
    /// (`{ stage = "test" }`).
    pub fn keyword_text(&self) -> Option<&'static str> {
        (KEYWORDS.iter())
            .find(|(_, token)| token == self)
            .map(|(spelled, _)| *spelled)
    }

    /// How the token is named in "expected …, found …" messages.
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("name `{name}`"),
            Token::Int(n) => format!("number `{n}`"),
            Token::Duration(_) => "a duration".to_string(),
            Token::Size(_) => "a size".to_string(),
            Token::Str(s) if s.block => "a block string".to_string(),
            Token::Str(_) => "a string".to_string(),
            other => format!("`{other}`"),
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::Ident(name) => return f.write_str(name),
            Token::Int(n) => return write!(f, "{n}"),
            Token::Duration(_) => "duration",
            Token::Size(_) => "size",
            Token::Str(_) => "string",
            Token::Invalid => "invalid literal",
            Token::Import => "import",
            Token::As => "as",
            Token::Let => "let",
            Token::Secret => "secret",
            Token::Template => "template",
            Token::Pipeline => "pipeline",
            Token::Stage => "stage",
            Token::Job => "job",
            Token::After => "after",
            Token::From => "from",
            Token::True => "true",
            Token::False => "false",
            Token::Eq => "=",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Match => "=~",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Bang => "!",
            Token::Dot => ".",
            Token::Comma => ",",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Colon => ":",
            Token::Lt => "<",
            Token::Gt => ">",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod keyword_tests {
    use super::*;

    /// The lexer's `match` and the table agree, both ways.
    #[test]
    fn every_keyword_reads_back_as_itself() {
        for (spelled, token) in &KEYWORDS {
            assert_eq!(Token::keyword(spelled).as_ref(), Some(token));
            assert_eq!(token.keyword_text(), Some(*spelled));
        }
        assert_eq!(Token::keyword("stages"), None);
        assert_eq!(Token::Ident("job".into()).keyword_text(), None);
    }
}
