//! `# plumb-allow: CODE[, CODE…] [reason]` comments: they silence those codes on their
//! own line and on the next line that is not a comment.

use plumb_diagnostics::LineIndex;
use plumb_syntax::Comment;
use std::collections::HashMap;

/// The codes allowed on each 0-based line of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowances {
    lines: HashMap<usize, Vec<String>>,
}

impl Allowances {
    pub fn from_comments(text: &str, comments: &[Comment], index: &LineIndex) -> Allowances {
        let mut lines: HashMap<usize, Vec<String>> = HashMap::new();
        let comment_lines: std::collections::HashSet<usize> = comments
            .iter()
            .filter(|c| {
                let line = index.line_of(c.range.start as usize);
                text[index.line_start(line)..c.range.start as usize]
                    .trim()
                    .is_empty()
            })
            .map(|c| index.line_of(c.range.start as usize))
            .collect();
        for c in comments {
            let Some(codes) = parse_allow(&c.text) else {
                continue;
            };
            let line = index.line_of(c.range.start as usize);
            lines.entry(line).or_default().extend(codes.iter().cloned());
            // the next line that is not a comment-only or blank line
            let mut next = line + 1;
            while next < index.line_count()
                && (comment_lines.contains(&next) || line_text(text, index, next).trim().is_empty())
            {
                next += 1;
            }
            lines.entry(next).or_default().extend(codes);
        }
        Allowances { lines }
    }

    pub fn allows(&self, line: usize, code: &str) -> bool {
        // a syntax error means the rest was not checked: no comment hides it
        if code == "PL0001" {
            return false;
        }
        self.lines.get(&line).is_some_and(|codes| {
            codes
                .iter()
                .any(|c| c.eq_ignore_ascii_case(code) || c == "all")
        })
    }
}

fn line_text<'t>(text: &'t str, index: &LineIndex, line: usize) -> &'t str {
    let start = index.line_start(line);
    let end = if line + 1 < index.line_count() {
        index.line_start(line + 1)
    } else {
        text.len()
    };
    &text[start..end]
}

/// The codes of a `plumb-allow:` comment's text (after `#`).
pub fn parse_allow(comment: &str) -> Option<Vec<String>> {
    let rest = comment.trim_start().strip_prefix("plumb-allow:")?;
    let mut codes = Vec::new();
    for (i, part) in rest.split(',').enumerate() {
        let mut words = part.split_whitespace();
        let Some(code) = words.next() else { continue };
        if !(code.starts_with("PL")
            && code.len() == 6
            && code[2..].chars().all(|c| c.is_ascii_digit()))
        {
            if i == 0 {
                return None;
            }
            break;
        }
        codes.push(code.to_string());
        // anything after the code and before the next comma is the reason
        if words.next().is_some() {
            break;
        }
    }
    (!codes.is_empty()).then_some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reason() {
        assert_eq!(
            parse_allow(" plumb-allow: PL3003, PL4004 vendor image"),
            Some(vec!["PL3003".into(), "PL4004".into()])
        );
        assert_eq!(
            parse_allow(" plumb-allow: PL3003 pinned upstream"),
            Some(vec!["PL3003".into()])
        );
        assert_eq!(parse_allow(" just a comment"), None);
    }

    #[test]
    fn applies_to_own_and_next_code_line() {
        let text = "# plumb-allow: PL3001\n# another comment\n\nlet a = 1\nlet b = 2 # plumb-allow: PL3002\n";
        let parse = plumb_syntax::parse(text);
        let index = LineIndex::new(text);
        let a = Allowances::from_comments(text, &parse.comments, &index);
        assert!(a.allows(0, "PL3001"));
        assert!(a.allows(3, "PL3001"));
        assert!(!a.allows(4, "PL3001"));
        assert!(a.allows(4, "PL3002"));
    }
}
