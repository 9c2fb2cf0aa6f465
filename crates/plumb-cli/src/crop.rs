//! Very long lines drawn around their labels. A diagnostic is drawn with the whole of
//! each line it labels; a finding on a line of 40 KB (a script of one line, a minified
//! value) drew all of it, and a thousand findings on it drew 40 MB. A diagnostic that
//! labels a line longer than [`LONG_LINE`] bytes is drawn from a text of its own: its
//! files from the first labelled line to the last, each long line cut to [`CONTEXT`]
//! bytes around each label's ends (`…` where text is left out), line numbers kept (the
//! lines before are empty). The drawing's location header counts columns in the cut
//! text: [`Cropped::fix_locations`] writes the file's own.

use crate::render::{floor_char_boundary, printable, same_width_printable};
use crate::workspace::Session;
use plumb_diagnostics::{Diagnostic, FileId, FileRange};
use std::collections::HashMap;
use std::ops::Range;

/// A line longer than this, in bytes, is cut around its labels (each cut drawing pays
/// for the lines above it: shorter lines are drawn whole, from the shared source).
const LONG_LINE: usize = 1000;
/// Bytes of a long line kept on each side of a label's start and end.
const CONTEXT: usize = 60;
/// What stands for the text left out of a long line.
const GAP: &str = "…";

/// The texts one diagnostic is drawn from, when it labels a long line.
pub struct Cropped {
    files: HashMap<FileId, CroppedFile>,
    /// The primary label's file (as drawn) and its line and column in the file.
    primary: (String, u32, u32),
    cache: ariadne::FnCache<String, Unknown, String>,
}

/// What the cache answers for a file it was not given (none: every label's file is).
type Unknown = fn(&String) -> Result<String, String>;

/// One file's part: where each kept piece of the file is in the cut text.
struct CroppedFile {
    text: String,
    /// (start in the file, end in the file, start in `text`), in order.
    pieces: Vec<(usize, usize, usize)>,
}

impl Cropped {
    /// The texts for `d`, or `None` when no line it labels is long.
    pub fn of(
        session: &Session,
        positions: &mut crate::render::Positions,
        d: &Diagnostic,
    ) -> Option<Cropped> {
        let labels: Vec<FileRange> = std::iter::once(&d.primary)
            .chain(&d.secondary)
            .map(|l| l.at)
            .collect();
        let long = labels.iter().any(|at| {
            let text = session.text(at.file);
            let (start, end) = line_around(text, at.range.start as usize);
            end - start > LONG_LINE
        });
        if !long {
            return None;
        }
        let mut by_file: HashMap<FileId, Vec<usize>> = HashMap::new();
        for at in &labels {
            let offsets = by_file.entry(at.file).or_default();
            offsets.extend([at.range.start as usize, at.range.end as usize]);
        }
        let mut files = HashMap::new();
        let mut sources = HashMap::new();
        for (file, offsets) in by_file {
            let first = offsets.iter().copied().min().unwrap_or(0);
            let at = FileRange {
                file,
                range: plumb_diagnostics::TextRange::new(first, first),
            };
            let lines_before = positions.span(at).0.saturating_sub(1) as usize;
            let cropped = crop_file(session.text(file), &offsets, lines_before);
            let source = ariadne::Source::from(same_width_printable(&cropped.text));
            sources.insert(printable(session.display(file)), source);
            files.insert(file, cropped);
        }
        let missing: Unknown = |name| Err(name.clone());
        let (line, col, _, _) = positions.span(d.primary.at);
        Some(Cropped {
            files,
            primary: (printable(session.display(d.primary.at.file)), line, col),
            cache: ariadne::FnCache::new(missing).with_sources(sources),
        })
    }

    /// The drawing with the primary file's location headers (`[ FILE:LINE:COL ]`, each
    /// the primary label's place) in the file's own columns.
    pub fn fix_locations(&self, drawn: &str) -> String {
        let (name, line, col) = &self.primary;
        // `[ NAME:L:C ]`, with colour codes between `[` and the name in a terminal
        let opening = format!(" {name}:");
        let mut out = String::with_capacity(drawn.len());
        let mut rest = drawn;
        while let Some(i) = rest.find(&opening) {
            let after = &rest[i + opening.len()..];
            let place = after.find(' ').map_or(after.len(), |e| e);
            let is_place = after[..place].split(':').count() == 2
                && after[..place]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ':');
            out.push_str(&rest[..i + opening.len()]);
            if is_place {
                out.push_str(&format!("{line}:{col}"));
                rest = &after[place..];
            } else {
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    /// A label's file name and character range in its cut text.
    pub fn span(&self, session: &Session, at: FileRange) -> (String, Range<usize>) {
        let name = printable(session.display(at.file));
        let Some(file) = self.files.get(&at.file) else {
            return (name, 0..0);
        };
        let start = file.chars_at(at.range.start as usize);
        let end = file.chars_at(at.range.end as usize);
        (name, start..end.max(start))
    }

    pub fn cache(&mut self) -> &mut impl ariadne::Cache<String> {
        &mut self.cache
    }
}

impl CroppedFile {
    /// The character offset in the cut text of a byte offset of the file.
    fn chars_at(&self, byte: usize) -> usize {
        let i = self.pieces.partition_point(|&(start, _, _)| start <= byte);
        let at = match i.checked_sub(1).map(|i| self.pieces[i]) {
            Some((start, end, to)) => to + byte.min(end) - start,
            None => 0,
        };
        let at = floor_char_boundary(&self.text, at.min(self.text.len()));
        self.text[..at].chars().count()
    }
}

/// The lines of `text` from the one holding the first offset to the one holding the
/// last, long lines cut around the offsets on them, after `lines_before` empty lines
/// (the lines before the first, which keep the line numbers).
fn crop_file(text: &str, offsets: &[usize], lines_before: usize) -> CroppedFile {
    let first = offsets.iter().copied().min().unwrap_or(0).min(text.len());
    let last = offsets.iter().copied().max().unwrap_or(0).min(text.len());
    let (from, _) = line_around(text, first);
    let (_, to) = line_around(text, last);
    let mut out = CroppedFile {
        text: "\n".repeat(lines_before),
        pieces: Vec::new(),
    };
    let mut line_start = from;
    while line_start <= to {
        let (_, line_end) = line_around(text, line_start);
        if line_end - line_start <= LONG_LINE {
            out.keep(text, line_start, line_end);
        } else {
            let on_line: Vec<usize> = offsets
                .iter()
                .copied()
                .filter(|o| (line_start..=line_end).contains(o))
                .collect();
            out.keep_around(text, line_start, line_end, &on_line);
        }
        out.text.push('\n');
        line_start = line_end + 1;
    }
    out
}

impl CroppedFile {
    fn keep(&mut self, text: &str, start: usize, end: usize) {
        self.pieces.push((start, end, self.text.len()));
        self.text.push_str(&text[start..end]);
    }

    /// A long line's windows around `offsets`, merged where they touch.
    fn keep_around(&mut self, text: &str, start: usize, end: usize, offsets: &[usize]) {
        let mut windows: Vec<(usize, usize)> = offsets
            .iter()
            .map(|&o| {
                let from = floor_char_boundary(text, o.saturating_sub(CONTEXT).max(start));
                let to = ceil_char_boundary(text, (o + CONTEXT).min(end));
                (from, to)
            })
            .collect();
        windows.sort_unstable();
        let mut at = start;
        for (from, to) in windows {
            if to <= at {
                continue;
            }
            if from > at {
                self.text.push_str(GAP);
            }
            self.keep(text, from.max(at), to);
            at = to;
        }
        if at < end {
            self.text.push_str(GAP);
        }
    }
}

/// The line holding byte `at`: its start and its end (the line break, or the end).
fn line_around(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let bytes = text.as_bytes();
    let start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i);
    (start, end)
}

fn ceil_char_boundary(text: &str, mut byte: usize) -> usize {
    while byte < text.len() && !text.is_char_boundary(byte) {
        byte += 1;
    }
    byte
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_around_its_labels_and_offsets_follow() {
        let long = format!("{}TOKEN{}", "a".repeat(1000), "b".repeat(1000));
        let text = format!("first\n{long}\nlast\n");
        let token = text.find("TOKEN").expect("token");
        let cropped = crop_file(&text, &[token, token + 5], 1);
        let shown = cropped
            .text
            .strip_prefix('\n')
            .expect("the line before, empty");
        assert!(shown.len() < 200, "{shown}");
        assert!(
            shown.starts_with('…') && shown.trim_end().ends_with('…'),
            "{shown}"
        );
        let at = cropped.chars_at(token);
        let tail: String = cropped.text.chars().skip(at).take(5).collect();
        assert_eq!(tail, "TOKEN");
    }

    #[test]
    fn short_lines_between_labels_are_kept_whole() {
        let text = "one\ntwo\nthree\n";
        let cropped = crop_file(text, &[0, 9], 0);
        assert_eq!(cropped.text, "one\ntwo\nthree\n");
        assert_eq!(cropped.chars_at(9), 9);
    }

    #[test]
    fn multi_byte_characters_are_never_split() {
        let long = "é".repeat(600);
        let text = format!("{long}X{long}");
        let x = text.find('X').expect("x");
        let cropped = crop_file(&text, &[x, x + 1], 0);
        let at = cropped.chars_at(x);
        assert_eq!(cropped.text.chars().nth(at), Some('X'));
    }
}
