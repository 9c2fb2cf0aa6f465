//! How the importer spells a Plumb string literal: a leaf the condition translator
//! and the writer both use.

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
