//! Diagnostics for people (ariadne) and for machines (JSON, §9).

use crate::workspace::Session;
use ariadne::{Color, Config, IndexType, Label, Report, ReportKind};
use plumb_diagnostics::{Diagnostic, FileRange, LineIndex, Severity};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;

/// Line indexes of the files diagnostics point into, built once per file.
pub struct Positions<'s> {
    session: &'s Session,
    indexes: HashMap<u32, LineIndex>,
}

impl<'s> Positions<'s> {
    pub fn new(session: &'s Session) -> Self {
        Positions {
            session,
            indexes: HashMap::new(),
        }
    }

    /// 1-based (line, column) of the start and end of a range.
    pub fn span(&mut self, at: FileRange) -> (u32, u32, u32, u32) {
        let text = self.session.text(at.file);
        let index = self
            .indexes
            .entry(at.file.0)
            .or_insert_with(|| LineIndex::new(text));
        let s = index.line_col(text, at.range.start as usize);
        let e = index.line_col(text, at.range.end as usize);
        (s.line, s.col, e.line, e.col)
    }
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    file: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    help: std::borrow::Cow<'a, str>,
    label: &'a str,
    related: Vec<JsonLocation<'a>>,
    fixes: Vec<JsonFix<'a>>,
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    file: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    title: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    replacement: &'a str,
}

pub fn json(session: &Session, diags: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    let mut pos = Positions::new(session);
    let mut paths = crate::reports::ReportPaths::new();
    let mut items = Vec::with_capacity(diags.len());
    for d in diags {
        let (line, column, end_line, end_column) = pos.span(d.primary.at);
        let related = d
            .secondary
            .iter()
            .map(|l| {
                let (line, column, end_line, end_column) = pos.span(l.at);
                JsonLocation {
                    file: paths.of(session, l.at.file),
                    line,
                    column,
                    end_line,
                    end_column,
                    message: &l.message,
                }
            })
            .collect();
        let fixes = d
            .fixes
            .iter()
            .map(|f| JsonFix {
                title: &f.title,
                edits: f
                    .edits
                    .iter()
                    .map(|e| {
                        let (line, column, end_line, end_column) = pos.span(e.at);
                        JsonEdit {
                            file: paths.of(session, e.at.file),
                            line,
                            column,
                            end_line,
                            end_column,
                            replacement: &e.replacement,
                        }
                    })
                    .collect(),
            })
            .collect();
        items.push(JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity.as_str(),
            message: &d.message,
            file: paths.of(session, d.file()),
            line,
            column,
            end_line,
            end_column,
            help: d.help_text(),
            label: &d.primary.message,
            related,
            fixes,
        });
    }
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)
}

/// Draws each diagnostic with its source and labelled spans.
pub fn human(
    session: &Session,
    diags: &[Diagnostic],
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // only the files a diagnostic points into: copying and line-indexing every source
    // of a large clean workspace would cost more than checking it
    let shown: std::collections::HashSet<&str> = diags
        .iter()
        .flat_map(|d| std::iter::once(&d.primary).chain(&d.secondary))
        .map(|label| session.display(label.at.file))
        .collect();
    let mut cache = ariadne::sources(
        session
            .files
            .iter()
            .filter(|f| !matches!(f.role, crate::workspace::Role::ReadFromYaml(_)))
            .filter(|f| shown.contains(f.display.as_str()))
            .map(|f| {
                (
                    printable(&f.display),
                    same_width_printable(f.file.text(&session.db)),
                )
            }),
    );
    let mut chars = CharOffsets::default();
    let mut positions = Positions::new(session);
    for d in diags {
        if let Some(mut cropped) = crate::crop::Cropped::of(session, &mut positions, d) {
            // a label on a very long line: that line is drawn around its labels only
            // (each finding drawing a whole 40 KB line made thousands of them a hang)
            let drawn = report(session, d, color, &mut |at| cropped.span(session, at));
            let mut buffer = Vec::new();
            drawn.write(cropped.cache(), &mut buffer)?;
            let drawn = String::from_utf8_lossy(&buffer);
            out.write_all(cropped.fix_locations(&drawn).as_bytes())?;
            continue;
        }
        let mut span = |at: FileRange| {
            let text = session.text(at.file);
            let start = chars.of(text, at.file, at.range.start as usize);
            let end = chars.of(text, at.file, at.range.end as usize);
            (printable(session.display(at.file)), start..end.max(start))
        };
        report(session, d, color, &mut span).write(&mut cache, &mut *out)?;
    }
    Ok(())
}

/// Byte offsets of the checked files as character offsets, which the drawing counts in
/// (ariadne's byte mode reads a label in another file than the report's at a character
/// offset: inside a multi-byte character, it panicked).
#[derive(Default)]
struct CharOffsets {
    /// Per file: `None` for ASCII text (a byte is a character), else the character
    /// count at every [`CHECKPOINT`] bytes.
    by_file: std::collections::HashMap<plumb_diagnostics::FileId, Option<Vec<usize>>>,
}

/// Bytes between two remembered character counts.
const CHECKPOINT: usize = 4096;

impl CharOffsets {
    fn of(&mut self, text: &str, file: plumb_diagnostics::FileId, byte: usize) -> usize {
        let byte = floor_char_boundary(text, byte.min(text.len()));
        let table = self.by_file.entry(file).or_insert_with(|| {
            (!text.is_ascii()).then(|| {
                let mut counts = vec![0];
                let mut at = 0;
                while at + CHECKPOINT <= text.len() {
                    let end = floor_char_boundary(text, at + CHECKPOINT);
                    let before = counts.last().copied().unwrap_or(0);
                    counts.push(before + text[floor_char_boundary(text, at)..end].chars().count());
                    at += CHECKPOINT;
                }
                counts
            })
        });
        let Some(counts) = table else { return byte };
        let block = byte / CHECKPOINT;
        let start = floor_char_boundary(text, block * CHECKPOINT);
        counts.get(block).copied().unwrap_or(0) + text[start..byte].chars().count()
    }
}

/// The largest character boundary at or before `byte`.
pub(crate) fn floor_char_boundary(text: &str, mut byte: usize) -> usize {
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// One diagnostic drawn; `span` gives a label's file (its name made printable: a file's
/// name may hold control characters, a line break or an escape sequence that rewrites
/// the terminal or a CI log, shown escaped like a job's) and its character range in the
/// text the drawing is given.
fn report<'a>(
    _session: &'a Session,
    d: &Diagnostic,
    color: bool,
    span: &mut dyn FnMut(FileRange) -> (String, std::ops::Range<usize>),
) -> Report<'a, (String, std::ops::Range<usize>)> {
    let (kind, primary_color) = match d.severity {
        Severity::Error => (ReportKind::Error, Color::Red),
        Severity::Warning => (ReportKind::Warning, Color::Yellow),
        Severity::Note => (ReportKind::Advice, Color::Cyan),
    };
    let mut builder = Report::build(kind, span(d.primary.at))
        .with_config(
            Config::new()
                .with_index_type(IndexType::Char)
                .with_color(color),
        )
        .with_code(d.code)
        .with_message(printable(&d.message))
        .with_label(
            Label::new(span(d.primary.at))
                .with_message(printable(&d.primary.message))
                .with_color(primary_color)
                .with_priority(10),
        );
    for s in &d.secondary {
        builder = builder.with_label(
            Label::new(span(s.at))
                .with_message(printable(&s.message))
                .with_color(Color::Blue),
        );
    }
    builder = builder.with_help(printable(&d.help_text()));
    builder.finish()
}

/// Text from the files checked (job names, values) as a terminal shows it harmlessly:
/// control characters (an escape sequence that retitles the terminal or hides what
/// follows, a carriage return that rewrites the line, a line break that starts a line
/// a CI system reads as a command) are written as escapes, and so are invisible and
/// bidirectional characters (a right-to-left override reorders the rest of the line).
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || plumb_syntax::invisible::name(c).is_some() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A source's text for the drawing of its lines: each control character (but tabs and
/// line ends) replaced by one of the same length in bytes, so that spans stay put.
pub(crate) fn same_width_printable(text: &str) -> String {
    let mut chars = text.chars().peekable();
    let mut out = String::with_capacity(text.len());
    while let Some(c) = chars.next() {
        out.push(match c {
            '\t' | '\n' => c,
            // CR LF ends a line; a CR alone would rewrite it
            '\r' if chars.peek() == Some(&'\n') => c,
            c if (c as u32) < 0x20 || c == '\u{7f}' => '?',
            // the C1 controls are two bytes in UTF-8, as `·` is
            c if c.is_control() => '·',
            c => c,
        });
    }
    out
}

/// What the summary adds when notes were not printed: what was not read (a local
/// include that cannot be read, a template of a file not read) was not checked either.
pub fn notes_hint(notes: usize) -> String {
    match notes {
        0 => String::new(),
        1 => " (1 note on what Plumb did not read or carry: `--verbose` prints it)".into(),
        n => format!(" ({n} notes on what Plumb did not read or carry: `--verbose` prints them)"),
    }
}

/// "2 errors, 1 warning" for the last line of the human format.
pub fn summary(diags: &[Diagnostic], files: usize) -> String {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (e, w) = (count(Severity::Error), count(Severity::Warning));
    if e == 0 && w == 0 {
        format!("no problems found in {}", plural(files, "file"))
    } else {
        format!(
            "{}, {} in {}",
            plural(e, "error"),
            plural(w, "warning"),
            plural(files, "file")
        )
    }
}
