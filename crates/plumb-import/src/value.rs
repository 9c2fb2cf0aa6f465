//! Plumb values as the importer builds them, and how they are written.

use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum PVal {
    Str(String),
    /// A string that is an image reference (may become a `let`).
    Image(String),
    /// A name: a `let`, a secret, a job in `needs`.
    Name(String),
    Int(u64),
    Bool(bool),
    /// A duration literal such as `1h30m`.
    Duration(String),
    /// A condition, already written in Plumb.
    Cond(String),
    List(Vec<PVal>),
    Record(Vec<(String, PVal)>),
    /// A constructor call: `remote("https://…", sha256 = "…")`.
    Call {
        name: &'static str,
        args: Vec<PVal>,
        named: Vec<(String, PVal)>,
    },
}

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

/// A record key or map key: bare when it is an identifier, quoted otherwise.
pub fn key(k: &str) -> String {
    if is_ident(k) && !crate::names::is_keyword(k) {
        k.to_string()
    } else {
        string_literal(k)
    }
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl PVal {
    pub fn call(name: &'static str, args: Vec<PVal>, named: Vec<(String, PVal)>) -> PVal {
        PVal::Call { name, args, named }
    }

    pub fn write(&self, out: &mut String, indent: usize) {
        match self {
            PVal::Call { name, args, named } => {
                let mut parts: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let mut s = String::new();
                        a.write(&mut s, indent);
                        s
                    })
                    .collect();
                for (k, v) in named {
                    let mut s = String::new();
                    v.write(&mut s, indent);
                    parts.push(format!("{k} = {s}"));
                }
                let _ = write!(out, "{name}({})", parts.join(", "));
            }
            PVal::Str(s) | PVal::Image(s) => out.push_str(&string_literal(s)),
            PVal::Name(n) | PVal::Duration(n) | PVal::Cond(n) => out.push_str(n),
            PVal::Int(n) => {
                let _ = write!(out, "{n}");
            }
            PVal::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            PVal::List(items) => {
                let one_line: Vec<String> = items
                    .iter()
                    .map(|i| {
                        let mut s = String::new();
                        i.write(&mut s, indent + 2);
                        s
                    })
                    .collect();
                let width: usize = one_line.iter().map(|s| s.len() + 2).sum();
                if width + indent < 90 && one_line.iter().all(|s| !s.contains('\n')) {
                    let _ = write!(out, "[{}]", one_line.join(", "));
                } else {
                    out.push_str("[\n");
                    for s in one_line {
                        let _ = writeln!(out, "{:w$}{s},", "", w = indent + 2);
                    }
                    let _ = write!(out, "{:w$}]", "", w = indent);
                }
            }
            PVal::Record(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| {
                        let mut s = String::new();
                        v.write(&mut s, indent + 2);
                        format!("{} = {s}", key(k))
                    })
                    .collect();
                let width: usize = parts.iter().map(|s| s.len() + 2).sum();
                if width + indent < 90 && parts.iter().all(|s| !s.contains('\n')) {
                    let _ = write!(out, "{{ {} }}", parts.join(", "));
                } else {
                    out.push_str("{\n");
                    for s in parts {
                        let _ = writeln!(out, "{:w$}{s}", "", w = indent + 2);
                    }
                    let _ = write!(out, "{:w$}}}", "", w = indent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_shell_text_as_written() {
        assert_eq!(
            string_literal("echo \"${CI_COMMIT_SHA}\" $HOME\\n"),
            r#""echo \"\${CI_COMMIT_SHA}\" $HOME\\n""#
        );
    }
}
