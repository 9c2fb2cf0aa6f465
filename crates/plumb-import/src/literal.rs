//! How the importer spells a Plumb string literal, and text kept on one line (for a
//! comment): a leaf the condition translator, the writer and the comments all use.

/// Writes a Plumb string literal: `"`, `\`, newlines and tabs escaped, and `${` (Plumb's
/// interpolation) written `\${` so that the shell sees it as GitLab's file had it.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` on one line: each control character, and the Unicode line and paragraph
/// separators, made a space, but those in `keep`.
pub fn one_line_keeping(s: &str, keep: &[char]) -> String {
    s.chars()
        .map(|c| {
            let ends_a_line = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
            if ends_a_line && !keep.contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}
