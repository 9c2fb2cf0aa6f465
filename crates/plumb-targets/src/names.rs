//! Names that Kubernetes and file systems accept, whatever the source says.

use plumb_diagnostics::{Diagnostic, FileRange};

/// A DNS-1123 label (Kubernetes object names, label values): lowercase letters, digits
/// and `-`, starting and ending with a letter or digit, at most 63 characters. Longer
/// names are cut and end in a hash of the whole name, so two long names stay distinct.
pub fn dns_label(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let mut out = if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    };
    if out.len() > 63 {
        let hash = format!("{:08x}", fnv1a(name) as u32);
        out.truncate(54);
        let base = out.trim_end_matches('-').to_string();
        out = format!("{base}-{hash}");
    }
    out
}

/// The names a target has handed out, each with the source name it came from: two
/// different source names that normalise to one target name (`a_b` and `a-b`, matrix
/// values `a/b` and `a.b`, stages `s` and `S`) are refused (PL5003) instead of one
/// silently overwriting the other.
#[derive(Default)]
pub struct NameClaims {
    seen: std::collections::HashMap<String, (String, FileRange)>,
}

impl NameClaims {
    /// Claims `target` for `source` (a description such as "job `a_b`"); the PL5003
    /// error when another source already holds it.
    pub fn claim(
        &mut self,
        target: &str,
        source: String,
        at: FileRange,
        kind: &str,
    ) -> Option<Diagnostic> {
        match self.seen.get(target) {
            Some((other, _)) if *other == source => None,
            Some((other, other_at)) => Some(
                Diagnostic::error(
                    plumb_diagnostics::Code::PL5003,
                    at,
                    format!("{source} and {other} would both be the {kind} `{target}`"),
                )
                .with_label(format!("becomes `{target}`"))
                .with_secondary(*other_at, format!("{other} also becomes `{target}`"))
                .with_help("rename one of them so that their names differ in letters or digits, not only in case or punctuation"),
            ),
            None => {
                self.seen.insert(target.to_string(), (source, at));
                None
            }
        }
    }
}

/// A single path component that cannot climb out of its folder: a DNS label, which has
/// no `/`, no `.` and no `..`.
pub fn path_component(name: &str) -> String {
    dns_label(name)
}

/// A source path as it may be written into any output: every character that could
/// start a new line in YAML 1.1, Markdown or a shell (`\n`, `\r`, NEL, the Unicode line
/// and paragraph separators) and every other control or bidirectional-override
/// character is escaped as `\u{…}`, and `\` itself as `\\`, so that no file name can
/// add a line (a YAML document, a job) to a generated file, nor hide text.
pub fn printable_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || ('\u{200b}'..='\u{200f}').contains(&c)
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_cannot_add_lines() {
        let hostile = "x\n---\nkind: Pod\r\u{85}\u{2028}\u{202e}.plumb";
        let shown = printable_path(hostile);
        assert!(!shown.chars().any(needs_escape), "{shown}");
        assert_eq!(
            shown,
            "x\\u{a}---\\u{a}kind: Pod\\u{d}\\u{85}\\u{2028}\\u{202e}.plumb"
        );
        assert_eq!(printable_path("dir\\a.plumb"), "dir\\\\a.plumb");
        assert_eq!(printable_path("ci/web.plumb"), "ci/web.plumb");
    }

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(dns_label("unit-api"), "unit-api");
        assert_eq!(dns_label("Unit_API"), "unit-api");
        assert_eq!(path_component("../../etc"), "etc");
        assert_eq!(path_component("a/b"), "a-b");
        assert_eq!(path_component("..."), "x");
        let long = "a".repeat(300);
        let other = format!("{}b", "a".repeat(299));
        assert!(dns_label(&long).len() <= 63);
        assert_ne!(dns_label(&long), dns_label(&other));
    }
}
