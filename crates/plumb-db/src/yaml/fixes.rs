//! Fixes of findings on GitLab CI YAML. A rule's fix edits the program the YAML was
//! read as (`"echo \"$CI_COMMIT_MESSAGE\""` in a Plumb string); it applies to the YAML
//! when every edit lands inside one YAML scalar and the scalar, so edited and read as
//! YAML, is the program's value so fixed. The inserted text is written as the scalar's
//! style needs (`\"` in a double-quoted scalar, `''` in a single-quoted one, as is in a
//! block or plain one); what cannot be written there (a line break in a plain scalar,
//! a `,` or `#` that would end it) drops the fix, never the finding.

use plumb_diagnostics::{Diagnostic, Edit, FileId, FileRange, Fix, TextRange};
use plumb_import::origins::{unescape, OriginMap, YamlSpot};
use plumb_import::yaml::{comment_line_for, ByteRange, Kind, Multiline};

/// What moving a fix to the YAML needs to know.
pub struct InYaml<'a> {
    pub origins: &'a OriginMap,
    /// The bytes of YAML and program the fixes may still read back to prove themselves.
    pub budget: &'a std::sync::atomic::AtomicUsize,
    /// The session's file of each YAML file the import read.
    pub sources: &'a [FileId],
    pub program: &'a str,
    pub program_file: FileId,
    /// The YAML texts, by their index in the import (empty: not known).
    pub texts: &'a [&'a str],
    /// Their multi-line scalars, by the same index.
    pub multiline: &'a [Vec<Multiline>],
}

/// The fix the database adds to every finding of the program (a `# plumb-allow`
/// comment in the program): the YAML gets its own.
pub fn is_allow_fix(fix: &Fix) -> bool {
    fix.edits
        .iter()
        .any(|e| e.replacement.contains("# plumb-allow:"))
}

impl InYaml<'_> {
    /// `fix` as edits of the YAML, when it applies there.
    pub fn fix(&self, fix: &Fix) -> Option<Fix> {
        let mut value: Option<YamlSpot> = None;
        let mut edits = Vec::new();
        for e in &fix.edits {
            if e.at.file != self.program_file {
                return None;
            }
            let (spot, at) = self.edit_spot(e.at.range)?;
            if value.is_some_and(|v| (v.file, v.value) != (spot.file, spot.value)) {
                return None;
            }
            value = Some(spot);
            edits.push((at, unescape(&e.replacement)));
        }
        let spot = value?;
        let token = self
            .texts
            .get(spot.file)?
            .get(spot.value.start as usize..spot.value.end as usize)?;
        self.spend(2 * (token.len() + (spot.program.end - spot.program.start) as usize))?;
        let written: Vec<(ByteRange, String)> = edits
            .into_iter()
            .map(|(at, text)| Some((at, in_style(token, &text)?)))
            .collect::<Option<_>>()?;
        self.reads_as_fixed(fix, &spot, token, &written)?;
        let file = *self.sources.get(spot.file)?;
        Some(Fix {
            title: fix.title.clone(),
            edits: written
                .into_iter()
                .map(|(at, replacement)| Edit {
                    at: FileRange {
                        file,
                        range: TextRange {
                            start: at.start,
                            end: at.end,
                        },
                    },
                    replacement,
                })
                .collect(),
        })
    }

    /// Takes `bytes` from the budget of reading back, or `None` (no fix) when it is
    /// spent.
    fn spend(&self, bytes: usize) -> Option<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let left = self.budget.load(Relaxed);
        let rest = left.checked_sub(bytes)?;
        self.budget.store(rest, Relaxed);
        Some(())
    }

    /// Where an edit of the program is in the YAML: inside a scalar's text, or nowhere.
    /// An insertion point is found as the character after it (or, at a value's end,
    /// the one before it).
    fn edit_spot(&self, range: TextRange) -> Option<(YamlSpot, ByteRange)> {
        let locate = |start: u32, end: u32| {
            self.origins
                .locate(self.program, start..end, self.texts)
                .filter(|s| s.exact && s.within)
        };
        if range.start < range.end {
            let spot = locate(range.start, range.end)?;
            return Some((spot, spot.range));
        }
        let point = |offset: u32| ByteRange {
            start: offset,
            end: offset,
        };
        if let Some(spot) = locate(range.start, range.start + 1) {
            return Some((spot, point(spot.range.start)));
        }
        let spot = locate(range.start.checked_sub(1)?, range.start)?;
        Some((spot, point(spot.range.end)))
    }

    /// `Some` when the scalar, edited, reads as the program's string, fixed (and the
    /// scalar as written reads as the string before the fix).
    fn reads_as_fixed(
        &self,
        fix: &Fix,
        spot: &YamlSpot,
        token: &str,
        written: &[(ByteRange, String)],
    ) -> Option<()> {
        let literal_at = spot.program.start;
        let literal = self
            .program
            .get(literal_at as usize..spot.program.end as usize)?;
        let program_edits: Vec<(ByteRange, String)> = fix
            .edits
            .iter()
            .map(|e| {
                let at = ByteRange {
                    start: e.at.range.start.checked_sub(literal_at)?,
                    end: e.at.range.end.checked_sub(literal_at)?,
                };
                Some((at, e.replacement.clone()))
            })
            .collect::<Option<_>>()?;
        let fixed_literal = apply(literal, 0, &program_edits)?;
        let value_of = |literal: &str| {
            literal
                .strip_prefix('"')
                .and_then(|l| l.strip_suffix('"'))
                .map(unescape)
        };
        let fixed_token = apply(token, spot.value.start, written)?;
        // the import drops a block's last line break (a script line does not need it)
        let same = |yaml: String, program: String| {
            yaml.trim_end_matches('\n') == program.trim_end_matches('\n')
        };
        (same(scalar_value(token)?, value_of(literal)?)
            && same(scalar_value(&fixed_token)?, value_of(&fixed_literal)?))
        .then_some(())
    }

    /// The YAML's own `# plumb-allow` fix: a comment line above the line the finding's
    /// value starts on (a comment inside a `script: |` block would be script, one inside
    /// a quoted string text), indented like it.
    pub fn allow_fix(&self, d: &Diagnostic) -> Option<Fix> {
        let index = self.sources.iter().position(|&f| f == d.file())?;
        let text = *self.texts.get(index)?;
        let multiline = self.multiline.get(index)?;
        let line_start = comment_line_for(text, multiline, d.primary.at.range.start as usize);
        let line = text.get(line_start..)?;
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        // the line's own ending (a look over the whole file per finding was quadratic)
        let crlf = line
            .find('\n')
            .is_some_and(|end| line[..end].ends_with('\r'));
        let newline = if crlf { "\r\n" } else { "\n" };
        Some(Fix {
            title: format!("silence {} here with `# plumb-allow`", d.code),
            edits: vec![Edit {
                at: FileRange {
                    file: d.file(),
                    range: TextRange::empty(line_start),
                },
                replacement: format!(
                    "{indent}# plumb-allow: {} <why this is safe>{newline}",
                    d.code
                ),
            }],
        })
    }
}

/// `text` as it must be written inside the scalar `token` to read as itself.
fn in_style(token: &str, text: &str) -> Option<String> {
    match token.chars().next() {
        Some('"') => Some(
            text.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n"),
        ),
        Some('\'') => (!text.contains(['\n', '\r'])).then(|| text.replace('\'', "''")),
        // a block or plain scalar: as is, on one line; in a plain one, nothing that
        // reads as a comment, a key, or (in a `[…]` or `{…}`) the end of the item
        Some('|' | '>') => (!text.contains(['\n', '\r'])).then(|| text.to_string()),
        _ => (!text.contains(['\n', '\r', '#', ',', '[', ']', '{', '}']) && !text.contains(": "))
            .then(|| text.to_string()),
    }
}

/// `text` (starting at `base` in its file) with `edits` made; `None` when an edit is
/// outside it or edits overlap.
fn apply(text: &str, base: u32, edits: &[(ByteRange, String)]) -> Option<String> {
    let mut sorted: Vec<&(ByteRange, String)> = edits.iter().collect();
    sorted.sort_by_key(|(at, _)| (at.start, at.end));
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = 0usize;
    for (at, replacement) in sorted {
        let start = at.start.checked_sub(base)? as usize;
        let end = at.end.checked_sub(base)? as usize;
        if start < done || end < start {
            return None;
        }
        out.push_str(text.get(done..start)?);
        out.push_str(replacement);
        done = end;
    }
    out.push_str(text.get(done..)?);
    Some(out)
}

/// What a scalar as written reads as (the value of `x: TOKEN`).
fn scalar_value(token: &str) -> Option<String> {
    let doc = plumb_import::yaml::parse(&format!("x: {token}\n"), 0)
        .ok()?
        .pop()?;
    match &doc.get("x")?.kind {
        Kind::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_in_the_scalars_style() {
        assert_eq!(in_style("\"echo $X\"", "\"").as_deref(), Some("\\\""));
        assert_eq!(in_style("'echo $X'", "it's").as_deref(), Some("it''s"));
        assert_eq!(in_style("|\n  echo $X\n", "\"").as_deref(), Some("\""));
        assert_eq!(in_style("echo $X", "\"").as_deref(), Some("\""));
        assert_eq!(
            in_style("echo $X", "a # b"),
            None,
            "a comment in a plain scalar"
        );
        assert_eq!(in_style("echo $X", "a\nb"), None);
    }

    #[test]
    fn values_read_as_yaml_reads_them() {
        assert_eq!(scalar_value("echo \"$X\"").as_deref(), Some("echo \"$X\""));
        assert_eq!(
            scalar_value("\"echo \\\"$X\\\"\"").as_deref(),
            Some("echo \"$X\"")
        );
        assert_eq!(scalar_value("'it''s'").as_deref(), Some("it's"));
        assert_eq!(
            scalar_value("\"$X\" rest"),
            None,
            "a quoted start is not a plain scalar"
        );
    }
}
