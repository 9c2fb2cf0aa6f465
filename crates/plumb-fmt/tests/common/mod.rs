//! What the formatter must keep, shared by its tests.

use plumb_syntax::token::{RawSegment, Token};

/// The program's tokens without commas (trailing commas are the formatter's choice),
/// literals compared by their source text; a block string by its value and the text of
/// its interpolations (the formatter moves its lines with the line it opens on, and the
/// lexer removes their common indentation).
pub fn tokens(src: &str) -> Vec<String> {
    plumb_syntax::lexer::lex(src)
        .tokens
        .into_iter()
        .filter(|(t, _)| *t != Token::Comma)
        .map(|(t, r)| match t {
            Token::Str(s) if s.block => {
                let parts: Vec<&str> = s
                    .segments
                    .iter()
                    .map(|part| match part {
                        RawSegment::Text(text, _) => text.as_str(),
                        RawSegment::Interp(_, at) => &src[at.as_range()],
                    })
                    .collect();
                format!("block {parts:?}")
            }
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
