//! The lexer: source text to tokens, comments kept aside.
//!
//! Strings are lexed completely here: escapes are processed, block strings are
//! dedented, and each `${…}` interpolation is lexed into its own token list, which the
//! parser turns into an expression. The lexer never fails: a bad character or an
//! unterminated string becomes a [`SyntaxError`] and lexing goes on.

use crate::token::{RawSegment, Spanned, StrToken, Token};
use crate::SyntaxError;
use plumb_diagnostics::TextRange;

/// Bracket nesting deeper than this is refused with one error: no real pipeline
/// needs it, and it keeps the recursive parser's stack use bounded.
pub const MAX_NESTING: usize = 64;
/// Interpolations nested inside interpolated strings, at most.
const MAX_INTERP_DEPTH: usize = 8;
/// A run of `!` longer than this is refused (each `!` is one level of recursion).
const MAX_BANG_RUN: usize = 32;

/// A `#` comment, kept for the formatter and for `# plumb-allow:`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Comment {
    pub range: TextRange,
    /// The text after `#`.
    pub text: String,
}

pub struct Lexed {
    pub tokens: Vec<Spanned<Token>>,
    pub comments: Vec<Comment>,
    pub errors: Vec<SyntaxError>,
}

/// The byte order mark a file may open with.
pub const BOM: char = '\u{feff}';

pub fn lex(src: &str) -> Lexed {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        // a byte order mark some Windows editors write is not part of the program
        pos: if src.starts_with(BOM) {
            BOM.len_utf8()
        } else {
            0
        },
        end: src.len(),
        interp_depth: 0,
        comments: Vec::new(),
        errors: Vec::new(),
    };
    // about one token in eight bytes: reserved once rather than grown by copies
    let mut tokens = Vec::with_capacity(src.len() / 8);
    while let Some(tok) = lexer.next_token(false) {
        tokens.push(tok);
    }
    let tokens = limit_nesting(tokens, &mut lexer.errors);
    Lexed {
        tokens,
        comments: lexer.comments,
        errors: lexer.errors,
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Lexing stops here (the end of a block-string line for interpolations in it).
    end: usize,
    interp_depth: usize,
    comments: Vec<Comment>,
    errors: Vec<SyntaxError>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.bytes[self.pos])
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        (self.pos + n < self.end).then(|| self.bytes[self.pos + n])
    }

    fn error(&mut self, start: usize, end: usize, message: impl Into<String>) -> &mut SyntaxError {
        self.errors
            .push(SyntaxError::new(TextRange::new(start, end), message));
        self.errors.last_mut().expect("just pushed")
    }

    /// The next token, or `None` at the end. Inside an interpolation (`in_interp`),
    /// comments are not recognised, since the interpolation must close on its line.
    fn next_token(&mut self, in_interp: bool) -> Option<Spanned<Token>> {
        loop {
            let c = self.peek()?;
            let start = self.pos;
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' if !in_interp => self.comment(),
                b'"' => return Some(self.string()),
                b'0'..=b'9' => {
                    if let Some(tok) = self.number() {
                        return Some(tok);
                    }
                }
                c if is_ident_start(c) => {
                    while self.peek().is_some_and(is_ident_continue) {
                        self.pos += 1;
                    }
                    let word = &self.src[start..self.pos];
                    let tok =
                        Token::keyword(word).unwrap_or_else(|| Token::Ident(word.to_string()));
                    return Some((tok, TextRange::new(start, self.pos)));
                }
                _ => {
                    if let Some(tok) = self.punct() {
                        return Some(tok);
                    }
                }
            }
        }
    }

    fn comment(&mut self) {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != b'\n') {
            self.pos += 1;
        }
        self.comments.push(Comment {
            range: TextRange::new(start, self.pos),
            text: self.src[start + 1..self.pos].to_string(),
        });
    }

    fn punct(&mut self) -> Option<Spanned<Token>> {
        let start = self.pos;
        let two = |a: u8, b: u8| self.peek() == Some(a) && self.peek_at(1) == Some(b);
        let (tok, len) = if two(b'=', b'=') {
            (Token::EqEq, 2)
        } else if two(b'!', b'=') {
            (Token::NotEq, 2)
        } else if two(b'=', b'~') {
            (Token::Match, 2)
        } else if two(b'&', b'&') {
            (Token::AndAnd, 2)
        } else if two(b'|', b'|') {
            (Token::OrOr, 2)
        } else {
            let tok = match self.peek()? {
                b'=' => Token::Eq,
                b'!' => Token::Bang,
                b'.' => Token::Dot,
                b',' => Token::Comma,
                b'(' => Token::LParen,
                b')' => Token::RParen,
                b'[' => Token::LBracket,
                b']' => Token::RBracket,
                b'{' => Token::LBrace,
                b'}' => Token::RBrace,
                b':' => Token::Colon,
                b'<' => Token::Lt,
                b'>' => Token::Gt,
                _ => {
                    self.unexpected_char(start);
                    return None;
                }
            };
            (tok, 1)
        };
        self.pos += len;
        Some((tok, TextRange::new(start, self.pos)))
    }

    fn unexpected_char(&mut self, start: usize) {
        let ch = self.src[start..].chars().next().unwrap_or('\u{fffd}');
        self.pos += ch.len_utf8().max(1);
        // a run of stray characters is one error
        if let Some(last) = self.errors.last_mut() {
            if last.range.end as usize == start && last.message.starts_with("unexpected character")
            {
                last.range.end = self.pos as u32;
                last.message = "unexpected characters".to_string();
                last.help = Some("remove them, or put them inside a string".to_string());
                return;
            }
        }
        let (message, help) = match ch {
            '&' => (
                "unexpected character `&`".to_string(),
                "conditions are combined with `&&`",
            ),
            '|' => (
                "unexpected character `|`".to_string(),
                "conditions are combined with `||`",
            ),
            '\'' => (
                "unexpected character `'`".to_string(),
                "strings are written in double quotes: \"…\"",
            ),
            '-' | '+' | '*' | '/' => (
                format!("unexpected character `{ch}`"),
                "Plumb has no arithmetic; a `-` is only allowed inside a name such as `unit-api`",
            ),
            _ => (
                format!("unexpected character `{}`", ch.escape_debug()),
                "remove it, or put it inside a string",
            ),
        };
        self.error(start, self.pos, message).help = Some(help.to_string());
    }

    /// `[0-9]+` with an optional duration (`1h30m`) or size (`512Mi`) suffix.
    fn number(&mut self) -> Option<Spanned<Token>> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let range = TextRange::new(start, self.pos);
        let text = &self.src[start..self.pos];
        if text.bytes().all(|c| c.is_ascii_digit()) {
            return match text.parse::<u64>() {
                Ok(n) => Some((Token::Int(n), range)),
                Err(_) => {
                    self.error(start, self.pos, format!("number `{text}` is too large"));
                    Some((Token::Invalid, range))
                }
            };
        }
        if let Some(secs) = parse_duration(text) {
            if secs > MAX_DURATION_SECS {
                self.error(start, self.pos, format!("duration `{text}` is too long"))
                    .help = Some("a duration is at most 1000 years (`52000w`): Kubernetes counts seconds in a signed 64-bit number and GitLab's timeouts are far shorter".to_string());
                return Some((Token::Invalid, range));
            }
            return Some((Token::Duration(secs), range));
        }
        if let Some(bytes) = parse_size(text) {
            return Some((Token::Size(bytes), range));
        }
        self.error(start, self.pos, format!("`{text}` is not a number, duration or size"))
            .help = Some(
            "durations use the units w, d, h, m and s (`90s`, `1h30m`, `7d`, `2w`); sizes use Ki, Mi, Gi, Ti, K, M, G, T (`512Mi`)"
                .to_string(),
        );
        Some((Token::Invalid, range))
    }

    fn string(&mut self) -> Spanned<Token> {
        let start = self.pos;
        if self.src[self.pos..self.end].starts_with("\"\"\"") {
            self.block_string(start)
        } else {
            self.pos += 1;
            let mut segments = Vec::new();
            let closed = self.scan_segments(&mut segments, true);
            if !closed {
                self.error(start, start + 1, "unterminated string")
                    .help = Some("close the string with `\"` on the same line, or use a block string `\"\"\"…\"\"\"` for several lines".to_string());
            }
            let tok = Token::Str(Box::new(StrToken {
                block: false,
                segments,
            }));
            (tok, TextRange::new(start, self.pos))
        }
    }

    /// Scans string content from `self.pos` up to `self.end`, or up to an unescaped `"`
    /// when `quoted`. Returns whether the closing quote was found.
    fn scan_segments(&mut self, segments: &mut Vec<RawSegment>, quoted: bool) -> bool {
        let mut text = String::new();
        let mut text_start = self.pos;
        loop {
            // a `\` before a line break ends the line as much as the string: it escapes
            // nothing, and the line break stays to end a quoted string
            let Some(c) = self.peek().filter(|c| !matches!(c, b'\n' | b'\r')) else {
                push_text(segments, &mut text, text_start, self.pos);
                return !quoted;
            };
            match c {
                b'"' if quoted => {
                    push_text(segments, &mut text, text_start, self.pos);
                    self.pos += 1;
                    return true;
                }
                b'\n' if quoted => {
                    push_text(segments, &mut text, text_start, self.pos);
                    return false;
                }
                b'\\' => self.escape(&mut text),
                b'$' if self.peek_at(1) == Some(b'{') => {
                    push_text(segments, &mut text, text_start, self.pos);
                    let seg = self.interpolation();
                    segments.push(seg);
                    text_start = self.pos;
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    text.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    fn escape(&mut self, text: &mut String) {
        let start = self.pos;
        self.pos += 1;
        // the end of the string, or of a block string's line (each is scanned on its
        // own), or a line break (read on, as the string's next line)
        let Some(c) = self.peek().filter(|c| !matches!(c, b'\n' | b'\r')) else {
            let e = self.error(start, self.pos, "a `\\` ends the line or the string");
            e.label = "escapes nothing".to_string();
            e.help = Some(
                "write `\\\\` for a backslash (a shell's line continuation is `\\\\` in a Plumb string)"
                    .to_string(),
            );
            if let Some(c) = self.peek() {
                text.push(c as char);
                self.pos += 1;
            }
            return;
        };
        let ch = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
        self.pos += ch.len_utf8();
        match c {
            b'"' => text.push('"'),
            b'\\' => text.push('\\'),
            b'n' => text.push('\n'),
            b't' => text.push('\t'),
            b'r' => text.push('\r'),
            b'$' => text.push('$'),
            b'u' => self.unicode_escape(start, text),
            _ => {
                text.push(ch);
                self.error(
                    start,
                    self.pos,
                    format!("unknown escape `\\{}`", ch.escape_debug()),
                )
                .help = Some(
                    "the escapes are \\\" \\\\ \\n \\t \\r \\$ and \\u{1B}; write `\\\\` for a backslash"
                        .to_string(),
                );
            }
        }
    }

    /// `\u{1B}`: the character of one to six hex digits (a control character or an
    /// invisible one a program needs, written so that a reader sees it). After `\u`.
    fn unicode_escape(&mut self, start: usize, text: &mut String) {
        let rest = &self.src[self.pos..];
        let digits = rest.strip_prefix('{').and_then(|r| {
            let n = r.bytes().take(7).take_while(u8::is_ascii_hexdigit).count();
            (r[n..].starts_with('}') && (1..=6).contains(&n)).then(|| &r[..n])
        });
        let ch = digits
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .and_then(char::from_u32);
        match (digits, ch) {
            (Some(d), Some(ch)) => {
                text.push(ch);
                self.pos += d.len() + 2;
            }
            _ => {
                let end =
                    self.pos + usize::from(digits.is_some()) * (digits.map_or(0, str::len) + 2);
                self.error(
                    start,
                    end,
                    "`\\u` takes one to six hex digits of a Unicode character in braces",
                )
                .help = Some("write it as `\\u{1B}` (ESC) or `\\u{200B}`".to_string());
            }
        }
    }

    /// `${…}`: lexes the tokens up to the matching `}`.
    fn interpolation(&mut self) -> RawSegment {
        let start = self.pos;
        self.pos += 2;
        let mut tokens = Vec::new();
        if self.interp_depth >= MAX_INTERP_DEPTH {
            self.error(start, start + 2, "interpolations are nested too deeply");
            self.skip_to_interp_end();
            return RawSegment::Interp(tokens, TextRange::new(start, self.pos));
        }
        self.interp_depth += 1;
        let mut depth = 0usize;
        let mut closed = false;
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
                self.pos += 1;
            }
            // an interpolation never spans lines, and a `"` that cannot start a nested
            // string ends the enclosing one: a missing `}` then costs one error, not the
            // rest of the file
            match self.peek() {
                None | Some(b'\n') => break,
                Some(b'"') if !self.next_is_string_start(&tokens) => break,
                _ => {}
            }
            let Some(tok) = self.next_token(true) else {
                break;
            };
            match tok.0 {
                Token::LBrace => depth += 1,
                Token::RBrace if depth == 0 => {
                    closed = true;
                    break;
                }
                Token::RBrace => depth -= 1,
                _ => {}
            }
            tokens.push(tok);
        }
        self.interp_depth -= 1;
        if !closed {
            self.error(start, start + 2, "`${` is not closed by `}`")
                .help = Some(
                "write `\\${` for a literal `${`, or `$NAME` to leave a variable to the shell"
                    .to_string(),
            );
        } else if tokens.is_empty() {
            self.error(start, self.pos, "empty interpolation `${}`");
        }
        RawSegment::Interp(tokens, TextRange::new(start, self.pos))
    }

    /// Inside `${…}` a `"` either starts a nested string (after an operator or `(`)
    /// or ends the enclosing string because the `}` is missing.
    fn next_is_string_start(&self, tokens: &[Spanned<Token>]) -> bool {
        matches!(
            tokens.last().map(|t| &t.0),
            None | Some(
                Token::LParen
                    | Token::Comma
                    | Token::Eq
                    | Token::EqEq
                    | Token::NotEq
                    | Token::Match
                    | Token::LBracket
                    | Token::AndAnd
                    | Token::OrOr
                    | Token::Bang
            )
        )
    }

    fn skip_to_interp_end(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'}' {
                self.pos += 1;
                return;
            }
            if c == b'\n' || c == b'"' {
                return;
            }
            self.pos += 1;
        }
    }

    /// `"""…"""`: the first line is dropped if empty, so is the last if it holds only
    /// the indentation of the closing quotes, and the common indentation is removed.
    fn block_string(&mut self, start: usize) -> Spanned<Token> {
        let content_start = start + 3;
        let (content_end, close_end) = match find_block_end(self.bytes, content_start, self.end) {
            Some(end) => (end, end + 3),
            None => {
                self.error(start, start + 3, "unterminated block string")
                    .help = Some("close it with `\"\"\"`".to_string());
                (self.end, self.end)
            }
        };
        let lines = dedented_lines(self.bytes, content_start, content_end);
        let mut segments = Vec::new();
        let saved_end = self.end;
        for (i, (line_start, line_end)) in lines.iter().copied().enumerate() {
            if i > 0 {
                push_newline(&mut segments, line_start);
            }
            self.pos = line_start;
            self.end = line_end;
            self.scan_segments(&mut segments, false);
        }
        self.end = saved_end;
        self.pos = close_end;
        let tok = Token::Str(Box::new(StrToken {
            block: true,
            segments,
        }));
        (tok, TextRange::new(start, close_end))
    }
}

fn push_text(segments: &mut Vec<RawSegment>, text: &mut String, start: usize, end: usize) {
    if !text.is_empty() {
        segments.push(RawSegment::Text(
            std::mem::take(text),
            TextRange::new(start, end),
        ));
    }
}

/// Appends a line break between two block-string lines, to the previous text segment
/// when there is one.
fn push_newline(segments: &mut Vec<RawSegment>, at: usize) {
    if let Some(RawSegment::Text(text, _)) = segments.last_mut() {
        text.push('\n');
    } else {
        segments.push(RawSegment::Text("\n".to_string(), TextRange::empty(at)));
    }
}

fn find_block_end(bytes: &[u8], from: usize, end: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= end {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' if bytes[i + 1] == b'"' && bytes[i + 2] == b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The (start, end) byte ranges of the lines a block string keeps, with the common
/// indentation already cut from their starts.
fn dedented_lines(bytes: &[u8], start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut line_start = start;
    for i in start..end {
        if bytes[i] == b'\n' {
            lines.push((line_start, trim_cr(bytes, line_start, i)));
            line_start = i + 1;
        }
    }
    lines.push((line_start, end));
    let blank = |&(s, e): &(usize, usize)| bytes[s..e].iter().all(|c| *c == b' ' || *c == b'\t');
    if lines.len() > 1 && lines.first().is_some_and(blank) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(blank) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !blank(l))
        .map(|&(s, e)| {
            bytes[s..e]
                .iter()
                .take_while(|c| **c == b' ' || **c == b'\t')
                .count()
        })
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|(s, e)| ((s + indent).min(e), e))
        .collect()
}

fn trim_cr(bytes: &[u8], start: usize, end: usize) -> usize {
    if end > start && bytes[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// The longest duration a program may write: 1000 years of 365 days, far below what
/// Kubernetes' signed 64-bit seconds hold.
pub const MAX_DURATION_SECS: u64 = 1000 * 365 * 86_400;

pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    let mut seen_unit = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0).checked_mul(10)?.checked_add(d as u64)?);
        } else {
            let mult = match c {
                'w' => 604_800,
                'd' => 86_400,
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return None,
            };
            total = total.checked_add(num.take()?.checked_mul(mult)?)?;
            seen_unit = true;
        }
    }
    (seen_unit && num.is_none()).then_some(total)
}

pub fn parse_size(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = text[..digits].parse().ok()?;
    let mult: u64 = match &text[digits..] {
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Drops what lies deeper than [`MAX_NESTING`] brackets, and overlong runs of `!`,
/// with one error each, so that the parser's recursion stays bounded.
fn limit_nesting(
    mut tokens: Vec<Spanned<Token>>,
    errors: &mut Vec<SyntaxError>,
) -> Vec<Spanned<Token>> {
    let mut depth = 0usize;
    let mut reported_depth = false;
    let mut bang_run = 0usize;
    let mut reported_bang = false;
    // in place: the tokens of a large file are not copied to drop a few
    tokens.retain(|(tok, range)| {
        let range = *range;
        let opens = matches!(tok, Token::LParen | Token::LBracket | Token::LBrace);
        let closes = matches!(tok, Token::RParen | Token::RBracket | Token::RBrace);
        if opens {
            depth += 1;
        }
        let too_deep = depth > MAX_NESTING;
        if closes {
            depth = depth.saturating_sub(1);
        }
        if too_deep {
            if !reported_depth {
                reported_depth = true;
                errors.push(
                    SyntaxError::new(
                        range,
                        format!("brackets are nested more than {MAX_NESTING} levels deep"),
                    )
                    .with_help("flatten the structure; what is nested deeper is skipped"),
                );
            }
            return false;
        }
        if *tok == Token::Bang {
            bang_run += 1;
            if bang_run > MAX_BANG_RUN {
                if !reported_bang {
                    reported_bang = true;
                    errors.push(SyntaxError::new(
                        range,
                        format!("more than {MAX_BANG_RUN} `!` in a row"),
                    ));
                }
                return false;
            }
        } else {
            bang_run = 0;
        }
        true
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Token> {
        let lexed = lex(src);
        assert!(lexed.errors.is_empty(), "{:?}", lexed.errors);
        lexed.tokens.into_iter().map(|t| t.0).collect()
    }

    fn text_of(tok: &Token) -> String {
        match tok {
            Token::Str(s) => s
                .segments
                .iter()
                .map(|seg| match seg {
                    RawSegment::Text(t, _) => t.clone(),
                    RawSegment::Interp(..) => "{}".to_string(),
                })
                .collect(),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(
            toks("90s 1h30m 15m 512Mi 2G 7"),
            vec![
                Token::Duration(90),
                Token::Duration(5400),
                Token::Duration(900),
                Token::Size(512 << 20),
                Token::Size(2_000_000_000),
                Token::Int(7)
            ]
        );
    }

    #[test]
    fn bad_suffix_is_an_error() {
        let lexed = lex("10x");
        assert_eq!(lexed.tokens[0].0, Token::Invalid);
        assert_eq!(lexed.errors.len(), 1);
        assert!(lexed.errors[0].message.contains("10x"));
    }

    #[test]
    fn names_keep_dashes_and_keywords_are_recognised() {
        assert_eq!(
            toks("job unit-api from"),
            vec![Token::Job, Token::Ident("unit-api".into()), Token::From]
        );
    }

    #[test]
    fn escapes_and_shell_dollars() {
        let t = toks(r#""a\"b\\c\n\$ $HOME \${x}""#);
        assert_eq!(text_of(&t[0]), "a\"b\\c\n$ $HOME ${x}");
    }

    #[test]
    fn unicode_and_carriage_return_escapes() {
        let t = toks(r#""\u{1B}[0K\r\u{200b}x""#);
        assert_eq!(text_of(&t[0]), "\u{1b}[0K\r\u{200b}x");
        for bad in [
            r#""\u{}""#,
            r#""\u{1234567}""#,
            r#""\u{D800}""#,
            r#""\u1B""#,
            r#""\u{zz}""#,
        ] {
            assert_eq!(lex(bad).errors.len(), 1, "{bad}");
        }
    }

    #[test]
    fn interpolation_is_lexed_into_tokens() {
        let t = toks(r#""go test ${pkg}""#);
        let Token::Str(s) = &t[0] else { panic!() };
        assert!(
            matches!(&s.segments[1], RawSegment::Interp(inner, _) if inner[0].0 == Token::Ident("pkg".into()))
        );
    }

    #[test]
    fn block_string_is_dedented() {
        let src = "\"\"\"\n    go vet ./...\n      go build\n  \"\"\"";
        let t = toks(src);
        assert_eq!(text_of(&t[0]), "go vet ./...\n  go build");
    }

    #[test]
    fn comments_are_kept() {
        let lexed = lex("let a = 1 # plumb-allow: PL3001\n");
        assert_eq!(lexed.comments.len(), 1);
        assert_eq!(lexed.comments[0].text, " plumb-allow: PL3001");
    }

    #[test]
    fn unterminated_string_stops_at_line_end() {
        let lexed = lex("\"abc\nlet x = 1");
        assert_eq!(lexed.errors.len(), 1);
        assert!(lexed.tokens.iter().any(|t| t.0 == Token::Let));
    }

    #[test]
    fn deep_nesting_is_cut() {
        let src = "[".repeat(100_000) + &"]".repeat(100_000);
        let lexed = lex(&src);
        assert_eq!(lexed.errors.len(), 1);
        assert_eq!(lexed.tokens.len(), 2 * MAX_NESTING);
    }
}
