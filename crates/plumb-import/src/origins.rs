//! Where a place in the program an import wrote for a check is in GitLab's YAML.
//!
//! For a check (`plumb check .gitlab-ci.yml`) the emitter frames each value it took
//! from the YAML, and each job and template, with markers that name the YAML bytes it
//! came from ([`crate::value::OPEN`]). [`strip`] takes the markers out, leaving the
//! program the checker reads and a tree of frames; [`OriginMap::locate`] maps a span
//! of a finding back: inside a string taken from a YAML scalar to the same text in
//! the scalar (the `$TOKEN` of a script line, the image of `image:`), else to the
//! innermost frame's YAML (the job's name for a finding about a whole job).

use crate::value::{Origin, CLOSE, OPEN, SEP};
use crate::yaml::ByteRange;
use std::ops::Range;
use std::sync::OnceLock;

/// A part of the program that came from one place of the YAML.
#[derive(Clone, Debug)]
struct Frame {
    start: u32,
    end: u32,
    origin: Origin,
    /// The frame this one is inside.
    parent: Option<usize>,
    /// Its string literal decoded, once: a block of thousands of script lines has a
    /// finding on each, and decoding it for each would take their square.
    decoded: OnceLock<Decoded>,
}

/// A Plumb string literal's value, and how it lines up with the YAML scalar it came from.
#[derive(Clone, Debug, Default)]
struct Decoded {
    value: String,
    /// (offset in the literal's body, offset in the value) for each character.
    offsets: Vec<(u32, u32)>,
    /// Where each line of the value starts.
    lines: Vec<usize>,
    /// Where each line of the scalar's text starts, for a literal block (`|`), whose
    /// line N is the value's line N, indented; `None` for other scalars.
    scalar_lines: Option<Vec<usize>>,
}

impl Decoded {
    fn new(body: &str, scalar: &str) -> Decoded {
        let (value, offsets) = decode(body);
        let lines = line_starts(&value);
        // a literal block's text starts below its `|` line
        let scalar_lines = scalar.starts_with('|').then(|| {
            let skip = scalar.find('\n').map_or(scalar.len(), |i| i + 1);
            line_starts(&scalar[skip..])
                .into_iter()
                .map(|l| l + skip)
                .collect::<Vec<_>>()
        });
        // the whole block (less a last line break): a string holding one of its lines
        // is found by the search below
        let scalar_lines =
            scalar_lines.filter(|s| s.len() == lines.len() || s.len() == lines.len() + 1);
        Decoded {
            value,
            offsets,
            lines,
            scalar_lines,
        }
    }

    /// Where the value's text `start..end` (on one line) is in `scalar`: the same
    /// occurrence on the same line of a literal block.
    fn on_its_line(&self, start: usize, end: usize, scalar: &str) -> Option<Range<u32>> {
        let scalar_lines = self.scalar_lines.as_ref()?;
        let needle = self.value.get(start..end)?;
        let line = self.lines.partition_point(|&l| l <= start).checked_sub(1)?;
        let line_end =
            |starts: &[usize], text: &str| starts.get(line + 1).map_or(text.len(), |&e| e);
        let value_line = self
            .value
            .get(self.lines[line]..line_end(&self.lines, &self.value))?;
        let scalar_line = scalar.get(scalar_lines[line]..line_end(scalar_lines, scalar))?;
        let nth = value_line[..start - self.lines[line]]
            .match_indices(needle)
            .count();
        let (at, _) = scalar_line.match_indices(needle).nth(nth)?;
        let at = scalar_lines[line] + at;
        Some(at as u32..(at + needle.len()) as u32)
    }
}

/// Where each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    let breaks = text.match_indices('\n').map(|(i, _)| i + 1);
    std::iter::once(0).chain(breaks).collect()
}

/// The frames of a program, in the order they start.
#[derive(Clone, Debug, Default)]
pub struct OriginMap {
    frames: Vec<Frame>,
}

/// A place in one of the YAML files (an index into the import's sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YamlSpot {
    pub file: usize,
    pub range: ByteRange,
    /// The spot is the value the span was about; `false` when it is only the job (or
    /// template) around it, because the value itself was added by the import.
    pub exact: bool,
    /// The span's text was found inside the value (`range` is that text), not only the
    /// value around it.
    pub within: bool,
    /// The whole YAML value (a scalar's token, quotes included) the span is in.
    pub value: ByteRange,
    /// Where that value is written in the program (a Plumb string literal, for a scalar).
    pub program: ByteRange,
}

/// Takes the markers out of `framed`: the program text, and where its parts came from.
pub fn strip(framed: &str) -> (String, OriginMap) {
    let mut text = String::with_capacity(framed.len());
    let mut map = OriginMap::default();
    let mut open: Vec<usize> = Vec::new();
    let mut rest = framed;
    while let Some(at) = rest.find([OPEN, CLOSE]) {
        text.push_str(&rest[..at]);
        let marker = rest[at..].chars().next().unwrap_or(CLOSE);
        rest = &rest[at + marker.len_utf8()..];
        if marker == CLOSE {
            if let Some(i) = open.pop() {
                map.frames[i].end = text.len() as u32;
            }
            continue;
        }
        let Some(sep) = rest.find(SEP) else { break };
        if let Some(origin) = parse_origin(&rest[..sep]) {
            map.frames.push(Frame {
                start: text.len() as u32,
                end: text.len() as u32,
                origin,
                parent: open.last().copied(),
                decoded: OnceLock::new(),
            });
            open.push(map.frames.len() - 1);
        }
        rest = &rest[sep + SEP.len_utf8()..];
    }
    text.push_str(rest);
    (text, map)
}

fn parse_origin(s: &str) -> Option<Origin> {
    let mut parts = s.split(':').map(str::parse::<u64>);
    let (file, start, end) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    Some(Origin {
        file: usize::try_from(file).ok()?,
        range: ByteRange {
            start: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
        },
    })
}

impl OriginMap {
    /// The innermost frame holding all of `range`, else the innermost holding its start.
    /// Frames nest, so those holding a point are the last frame that starts at or
    /// before it and that frame's ancestors.
    fn innermost(&self, range: &Range<u32>) -> Option<&Frame> {
        let last = self.frames.partition_point(|f| f.start <= range.start);
        let mut at = last.checked_sub(1);
        let mut holding_start = None;
        while let Some(i) = at {
            let f = &self.frames[i];
            if range.start < f.end {
                if range.end <= f.end {
                    return Some(f);
                }
                holding_start = holding_start.or(Some(f));
            }
            at = f.parent;
        }
        holding_start
    }

    /// Where `range` of `program` is in the YAML (`sources` are the files' texts).
    pub fn locate(&self, program: &str, range: Range<u32>, sources: &[&str]) -> Option<YamlSpot> {
        let frame = self.innermost(&range)?;
        let written = program.get(frame.start as usize..frame.end as usize)?;
        let head = written.trim_start();
        let exact = !(head.starts_with("job ") || head.starts_with("template "));
        let whole = YamlSpot {
            file: frame.origin.file,
            range: frame.origin.range,
            exact,
            within: false,
            value: frame.origin.range,
            program: ByteRange {
                start: frame.start,
                end: frame.end,
            },
        };
        // without the file's text (one the caller does not show), the whole value
        let Some(scalar) = sources.get(frame.origin.file).and_then(|yaml| {
            yaml.get(frame.origin.range.start as usize..frame.origin.range.end as usize)
        }) else {
            return Some(whole);
        };
        let inner = range.start.checked_sub(frame.start)?..range.end.saturating_sub(frame.start);
        Some(
            within_string(written, inner, scalar, &frame.decoded).map_or(whole, |r| YamlSpot {
                range: ByteRange {
                    start: frame.origin.range.start + r.start,
                    end: frame.origin.range.start + r.end,
                },
                within: true,
                ..whole
            }),
        )
    }
}

/// For a part of a Plumb string literal `written` (the bytes `inner` of it) that came
/// from the YAML scalar `scalar`: where the same text is in the scalar (the whole value
/// is found inside its quotes). `None` when the part is empty, or its text is not in the
/// scalar as written (an escape, a folded line).
fn within_string(
    written: &str,
    inner: Range<u32>,
    scalar: &str,
    decoded: &OnceLock<Decoded>,
) -> Option<Range<u32>> {
    let body = written.strip_prefix('"')?.strip_suffix('"')?;
    // a span over the quotes is the whole value
    let from = inner.start.saturating_sub(1);
    let to = inner.end.saturating_sub(1).min(body.len() as u32);
    if from >= to {
        return None;
    }
    let decoded = decoded.get_or_init(|| Decoded::new(body, scalar));
    let offsets = &decoded.offsets;
    let at = |gen: u32| offsets.partition_point(|&(g, _)| g < gen);
    let (a, b) = (at(from), at(to));
    let start = offsets
        .get(a)
        .map_or(decoded.value.len(), |&(_, d)| d as usize);
    let end = offsets
        .get(b)
        .map_or(decoded.value.len(), |&(_, d)| d as usize);
    let needle = decoded.value.get(start..end)?;
    if needle.is_empty() {
        return None;
    }
    if let Some(found) = decoded.on_its_line(start, end, scalar) {
        return Some(found);
    }
    // the how-manieth time this text is in the value, found as often in the scalar's
    // text (a block scalar's is below its `|` line)
    let skip = if scalar.starts_with(['|', '>']) {
        scalar.find('\n').map_or(scalar.len(), |i| i + 1)
    } else {
        0
    };
    let text = &scalar[skip..];
    let nth = decoded.value[..start].match_indices(needle).count();
    let found = text
        .match_indices(needle)
        .nth(nth)
        .or_else(|| text.match_indices(needle).next())?;
    let at = skip + found.0;
    Some(at as u32..(at + needle.len()) as u32)
}

/// The value of a Plumb string literal's body (`\"` is `"`, `\n` a line break).
pub fn unescape(body: &str) -> String {
    decode(body).0
}

/// A Plumb string literal's body decoded, with (offset in the body, offset in the
/// value) for each character.
fn decode(body: &str) -> (String, Vec<(u32, u32)>) {
    let mut value = String::with_capacity(body.len());
    let mut offsets = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        offsets.push((i as u32, value.len() as u32));
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next().map(|(_, e)| e) {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some(other) => value.push(other),
            None => value.push('\\'),
        }
    }
    (value, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::open_marker;

    fn framed(parts: &[(&str, Option<(u32, u32)>)]) -> String {
        let mut s = String::new();
        for (text, origin) in parts {
            if let Some((start, end)) = origin {
                let o = Origin {
                    file: 0,
                    range: ByteRange {
                        start: *start,
                        end: *end,
                    },
                };
                open_marker(&mut s, &o);
                s.push_str(text);
                s.push(CLOSE);
            } else {
                s.push_str(text);
            }
        }
        s
    }

    #[test]
    fn a_variable_in_a_script_line_is_found_in_the_scalar() {
        let yaml = "job:\n  script:\n    - echo \"$TOKEN\" $TOKEN\n";
        let start = yaml.find("echo").expect("line") as u32;
        let end = yaml.len() as u32 - 1;
        let text = framed(&[
            ("run = [", None),
            (r#""echo \"$TOKEN\" $TOKEN""#, Some((start, end))),
            ("]", None),
        ]);
        let (program, map) = strip(&text);
        assert!(!program.contains(OPEN));
        let second = program.rfind("$TOKEN").expect("second") as u32;
        let spot = map
            .locate(&program, second..second + 6, &[yaml])
            .expect("found");
        assert_eq!(
            &yaml[spot.range.start as usize..spot.range.end as usize],
            "$TOKEN"
        );
        assert_eq!(
            spot.range.start as usize,
            yaml.rfind("$TOKEN").expect("in yaml")
        );
        let first = program.find("$TOKEN").expect("first") as u32;
        let spot = map
            .locate(&program, first..first + 6, &[yaml])
            .expect("found");
        assert_eq!(
            spot.range.start as usize,
            yaml.find("$TOKEN").expect("in yaml")
        );
    }

    #[test]
    fn a_whole_value_and_a_job_map_to_their_yaml() {
        let yaml = "build:\n  image: node:latest\n";
        let image = yaml.find("node").expect("image") as u32;
        let mut text = String::new();
        let at = |start, end| Origin {
            file: 0,
            range: ByteRange { start, end },
        };
        open_marker(&mut text, &at(0, 5));
        text.push_str("job build {\n  image = ");
        open_marker(&mut text, &at(image, image + 11));
        text.push_str("\"node:latest\"");
        text.push(CLOSE);
        text.push_str("\n}");
        text.push(CLOSE);
        let (program, map) = strip(&text);
        assert_eq!(program, "job build {\n  image = \"node:latest\"\n}");
        let quote = program.find('"').expect("literal") as u32;
        let spot = map
            .locate(&program, quote..quote + 13, &[yaml])
            .expect("image");
        assert_eq!(spot.range, at(image, image + 11).range);
        let spot = map
            .locate(&program, quote + 1..quote + 5, &[yaml])
            .expect("name");
        assert_eq!(
            &yaml[spot.range.start as usize..spot.range.end as usize],
            "node"
        );
        let spot = map.locate(&program, 0..3, &[yaml]).expect("job");
        assert_eq!(spot.range, at(0, 5).range);
    }
}
