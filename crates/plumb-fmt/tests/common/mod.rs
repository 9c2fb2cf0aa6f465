//! What the formatter must keep, shared by its tests.

use plumb_syntax::token::Token;

/// The program's tokens without commas (trailing commas are the formatter's choice),
/// literals compared by their source text.
pub fn tokens(src: &str) -> Vec<String> {
    plumb_syntax::lexer::lex(src)
        .tokens
        .into_iter()
        .filter(|(t, _)| *t != Token::Comma)
        .map(|(t, r)| match t {
            Token::Str(_) | Token::Int(_) | Token::Duration(_) | Token::Size(_) => {
                src[r.as_range()].to_string()
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// The comments' texts, in order.
pub fn comments(src: &str) -> Vec<String> {
    plumb_syntax::lexer::lex(src)
        .comments
        .into_iter()
        .map(|c| c.text.trim_end().to_string())
        .collect()
}
