//! The YAML's comments, carried into the imported program: each next to the Plumb line
//! that holds what it is about.
//!
//! Works on the formatted program, whose jobs and templates name the YAML key they came
//! from (`job x {  # FILE:LINE`). A comment inside a job's YAML goes above (or, written
//! after a value, at the end of) the line of the job's Plumb block that holds the value
//! it is about; one above a job goes above the job; the main file's opening comments
//! go under the import's header; what cannot be placed goes at the top of its job's
//! block, or of the pipeline. Comments the program already quotes (the YAML a
//! `# gitlab:` note shows) are not repeated.

use crate::gitlab::Config;
use crate::value::{key, string_literal};
use crate::yaml::{Kind, Node};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// One comment of a YAML file.
struct YamlComment {
    file: usize,
    /// 1-based.
    line: usize,
    /// The text after `#`, made one line.
    text: String,
    /// Written after a value on its line (else on a line of its own).
    trailing: bool,
    /// The line of the value it is about, when that is not the line it is written on
    /// (a multi-line scalar it ends).
    subject: Option<usize>,
}

/// Where a comment goes in the program.
enum Place {
    /// Under the import's header, before the program.
    Header,
    /// After the program: the main file's last words, after all its content.
    End,
    /// On a line of its own above this line (indented as it).
    Above(usize),
    /// At the end of this line (above it when the line has a comment already).
    After(usize),
    /// Above this line, away from what it is about: prefixed with the YAML key it was
    /// written under ([`aside_label`]).
    Aside(usize, String),
}

/// The program's lines and what the YAML's places are in it.
struct Layout<'a> {
    lines: Vec<&'a str>,
    /// `(file name, YAML line)` of a job or template: its first and last line.
    blocks: HashMap<(String, usize), (usize, usize)>,
    /// Earlier blocks that name the same place: a template of fields a job and the
    /// template of that place both write (`NAME-shared`), searched too.
    shared: HashMap<(String, usize), Vec<(usize, usize)>>,
    /// The same blocks by their YAML key: a job an included file defines and the main
    /// file extends is one job, whose block names the main file's line.
    by_key: HashMap<String, (usize, usize)>,
    /// The lines (in order) each string literal and each word is written on, and each
    /// line of a block string (after [`BLOCK_LINE`]).
    written_on: HashMap<Cow<'a, str>, Vec<usize>>,
    /// Each top-level `let`'s name: its first and last line.
    lets: HashMap<&'a str, (usize, usize)>,
    /// The first line of the `# gitlab:` notes above a block's first line.
    tops: HashMap<usize, usize>,
    /// The first lines of blocks that open their only field on them (`job x { run = [`):
    /// the line under them is inside the field's value.
    open_their_field: HashSet<usize>,
    /// Lines that end with a comment already (a block's `# FILE:LINE`).
    commented: Vec<bool>,
    /// The first line after the import's header comment.
    after_header: usize,
    /// For each line inside a block string (after its opening `"""`, up to its
    /// closing one), the line that opens it: a comment there would be text of the string.
    in_block: Vec<Option<usize>>,
    /// The lines that open a block string (nothing may follow their `"""`).
    opens_block: HashSet<usize>,
    /// The pipeline's head: from its `pipeline` line to its first stage.
    head: (usize, usize),
    /// Blocks inside the pipeline's head (a job of an include the pipeline's `gitlab`
    /// completes): a comment about the head is not placed in one.
    inner: Vec<(usize, usize)>,
}

/// Comments placed by looking for what they are about, at most; the rest go to the
/// top of their block (a file of a million comments is not searched a million times).
const MAX_SEARCHED: usize = 20_000;
/// How many YAML lines after a comment are looked at for the value it is about.
const LOOK_AHEAD: usize = 50;
/// GitLab keys the program writes under another name: a comment about the key is about
/// the field's line.
const RENAMED_KEYS: [(&str, &str); 5] = [
    ("variables", "env"),
    ("script", "run"),
    ("before_script", "before_run"),
    ("after_script", "after_run"),
    ("extends", "from"),
];
/// How many of a YAML line's values a comment is looked for by.
const CANDIDATES_PER_LINE: usize = 8;

/// What is known of one YAML file for placing its comments.
struct YamlFile<'t> {
    index: usize,
    /// The name the program's `# FILE:LINE` gives it.
    name: &'t str,
    lines: Vec<&'t str>,
    /// The 1-based lines of its top-level keys, in order.
    tops: Vec<usize>,
    /// For each line (0-based), the 1-based line of the first content after it.
    next_content: Vec<usize>,
}

/// What a comment on its own line, indented deeper than the content after it, ends.
#[derive(Clone, Copy)]
enum Ends {
    /// The value on this (1-based) line: written under it, or as an item of its list
    /// (a script's last command, commented out).
    Value(usize),
    /// Its block: written at a key's column after the block's last value (a key
    /// commented out, or a remark on the job).
    Block,
}

impl YamlFile<'_> {
    /// The indentation of a (1-based) line.
    fn indent_of(&self, line: usize) -> Option<usize> {
        self.lines.get(line.wrapping_sub(1)).map(|t| indent_of(t))
    }

    /// What a comment on its own `line` ends, when it is indented deeper than the next
    /// content (or than the file's end: column 0).
    fn content_ended_by(&self, line: usize) -> Option<Ends> {
        let indent = |l: usize| self.indent_of(l);
        let own = indent(line)?;
        // the comment's own line when no content follows it
        let next = self.next_content.get(line - 1).copied().unwrap_or(line);
        let next_indent = if next == line { Some(0) } else { indent(next) };
        if next_indent.is_none_or(|n| n >= own) {
            return None;
        }
        let is_content = |l: usize| {
            let t = self.lines.get(l - 1).map_or("", |t| t.trim());
            !t.is_empty() && !t.starts_with('#')
        };
        let above = (line.saturating_sub(LOOK_AHEAD).max(1)..line)
            .rev()
            .find(|&l| is_content(l))?;
        let above_indent = indent(above)?;
        let an_item = self.lines[above - 1].trim_start().starts_with('-');
        Some(if own > above_indent || (own == above_indent && an_item) {
            Ends::Value(above)
        } else {
            Ends::Block
        })
    }
}

/// What goes where: comments above lines, at their ends, and under the header.
#[derive(Default)]
struct Placed {
    header: Vec<String>,
    end: Vec<String>,
    above: HashMap<usize, Vec<String>>,
    after: HashMap<usize, String>,
    count: usize,
}

/// The program with the comments, and the YAML places of the `# plumb-allow:` comments
/// it carries as text.
pub struct Carried {
    /// `None` when the program with the comments would not read as the same program.
    pub text: Option<String>,
    /// How many comments the program holds (or would hold).
    pub count: usize,
    /// (file, line) of each allowance written as text: an allowance covers a YAML line,
    /// and the Plumb line a comment lands on is not always the one it was about, so it
    /// is never one there (it could silence another finding).
    pub allowances: Vec<(usize, usize)>,
}

/// The words an allowance starts with ([`plumb_checks`]' `# plumb-allow:`), and what a
/// carried one is written as instead.
const ALLOWANCE: &str = "plumb-allow:";
const DISARMED: &str = "from the YAML, not applied here:";

/// The comments of each of `config`'s files, read once: for the writer to ask which
/// nodes hold one ([`Inside`]), then to be carried.
pub(crate) struct Found(Vec<Vec<YamlComment>>);

impl Found {
    pub(crate) fn read(config: &Config) -> Found {
        Found(
            (config.sources.iter().enumerate())
                .map(|(i, (_, text))| comments_of(i, text))
                .collect(),
        )
    }
}

/// Which top-level YAML nodes hold a comment after their key's line: for each file,
/// the 1-based lines of its comments inside a node (after a value, or indented under
/// its key) and of the lines that end a node: its top-level keys, and its comments at
/// their column (about the next key, or a part commented out).
pub(crate) struct Inside {
    comments: Vec<Vec<usize>>,
    ends: Vec<Vec<usize>>,
}

impl Inside {
    pub(crate) fn of(found: &Found, config: &Config) -> Inside {
        let mut comments = Vec::new();
        let mut ends = Vec::new();
        for (file, (_, text)) in config.sources.iter().enumerate() {
            let lines = yaml_lines(text);
            let mut file_ends = top_level_lines(&lines);
            let indent = |line: usize| lines.get(line.wrapping_sub(1)).map_or(0, |l| indent_of(l));
            let key_indent = file_ends.first().map_or(0, |&t| indent(t));
            let (inside, at_key_column): (Vec<&YamlComment>, Vec<&YamlComment>) =
                (found.0.get(file).into_iter().flatten())
                    .partition(|c| c.trailing || indent(c.line) > key_indent);
            file_ends.extend(at_key_column.iter().map(|c| c.line));
            file_ends.sort_unstable();
            comments.push(inside.iter().map(|c| c.line).collect());
            ends.push(file_ends);
        }
        Inside { comments, ends }
    }

    /// Whether the node whose key is on `line` of `file` holds a comment.
    pub(crate) fn holds_a_comment(&self, file: usize, line: usize) -> bool {
        let (Some(comments), Some(ends)) = (self.comments.get(file), self.ends.get(file)) else {
            return false;
        };
        let end = ends
            .get(ends.partition_point(|&t| t <= line))
            .copied()
            .unwrap_or(usize::MAX);
        let first_after = comments.partition_point(|&c| c <= line);
        comments.get(first_after).is_some_and(|&c| c < end)
    }
}

/// The formatted program `plumb` with the comments `found` in `config`'s files carried;
/// `None` when there are none. `quoted` are the YAML lines the program
/// quotes in its notes, as (file, first line, last line): their comments are there.
pub(crate) fn carry(
    plumb: &str,
    config: &Config,
    found: Found,
    file_names: &[String],
    quoted: &[(usize, usize, usize)],
) -> Option<Carried> {
    let found = found.0;
    if found.iter().all(Vec::is_empty) {
        return None;
    }
    let mut layout = Layout::of(plumb);
    layout.key_blocks(config, file_names);
    let scalars = scalars_by_line(config);
    let mut placed = Placed::default();
    let mut searched = 0usize;
    let mut allowances = Vec::new();
    for (index, comments) in found.into_iter().enumerate() {
        let (Some(name), Some((_, text))) = (file_names.get(index), config.sources.get(index))
        else {
            continue;
        };
        let lines = yaml_lines(text);
        let file = YamlFile {
            index,
            name,
            tops: top_level_lines(&lines),
            next_content: next_content_lines(&lines),
            lines,
        };
        for mut c in comments {
            let in_note = |&(f, first, last): &(usize, usize, usize)| {
                f == index && (first..=last).contains(&c.line)
            };
            if quoted.iter().any(in_note) {
                continue;
            }
            if let Some(rest) = c.text.trim_start().strip_prefix(ALLOWANCE) {
                c.text = format!(" {DISARMED} {ALLOWANCE}{rest}");
                allowances.push((index, c.line));
            }
            searched += 1;
            let place = layout.place(&c, &file, &scalars, searched <= MAX_SEARCHED);
            placed.add(place, c.text, &layout);
        }
    }
    if placed.count == 0 {
        return None;
    }
    let text = layout.write(&placed);
    let read_the_same = same_program(plumb, &text, placed.count);
    Some(Carried {
        text: read_the_same.then_some(text),
        allowances,
        count: placed.count,
    })
}

impl Placed {
    fn add(&mut self, place: Place, text: String, layout: &Layout) {
        self.count += 1;
        let line = match layout.outside_block_strings(place) {
            Place::Header => return self.header.push(text),
            Place::End => return self.end.push(text),
            Place::After(l) if !layout.commented[l] && !self.after.contains_key(&l) => {
                self.after.insert(l, text);
                return;
            }
            Place::Aside(l, key) => {
                let text = format!(" {key}{text}");
                self.above.entry(l).or_default().push(text);
                return;
            }
            Place::After(l) | Place::Above(l) => l,
        };
        self.above.entry(line).or_default().push(text);
    }
}

impl Layout<'_> {
    /// `place`, or above the block string it would be written inside of.
    fn outside_block_strings(&self, place: Place) -> Place {
        let opening = |l: usize| match self.in_block.get(l).copied().flatten() {
            Some(open) => Some(open),
            None => self.opens_block.contains(&l).then_some(l),
        };
        match place {
            Place::Above(l) => Place::Above(self.in_block.get(l).copied().flatten().unwrap_or(l)),
            Place::Aside(l, key) => {
                Place::Aside(self.in_block.get(l).copied().flatten().unwrap_or(l), key)
            }
            Place::After(l) => opening(l).map_or(Place::After(l), Place::Above),
            other => other,
        }
    }
}

/// For each of the `count` lines of `plumb`, the line opening the block string it is
/// inside of (after the opening `"""`, up to the closing one); and the opening lines.
fn block_strings(plumb: &str, count: usize) -> (Vec<Option<usize>>, HashSet<usize>) {
    let mut inside = vec![None; count + 1];
    let mut opening = HashSet::new();
    if !plumb.contains("\"\"\"") {
        return (inside, opening);
    }
    let starts = line_starts(plumb);
    let line_of = |at: u32| {
        starts
            .partition_point(|&s| s <= at as usize)
            .saturating_sub(1)
    };
    for (token, range) in plumb_syntax::lexer::lex(plumb).tokens {
        match token {
            plumb_syntax::token::Token::Str(s) if s.block => {
                let open = line_of(range.start);
                opening.insert(open);
                let close = line_of(range.end.saturating_sub(1)).min(count);
                for slot in &mut inside[open + 1..=close.max(open)] {
                    *slot = Some(open);
                }
            }
            _ => {}
        }
    }
    (inside, opening)
}

/// The comments of one YAML file, in order.
fn comments_of(file: usize, text: &str) -> Vec<YamlComment> {
    let remarks = crate::yaml::remarks(text);
    if remarks.comments.is_empty() {
        return Vec::new();
    }
    let starts = line_starts(text);
    // 1-based, as the YAML reader counts: `\r\n`, `\n` and a lone `\r` end a line
    let line_of = |at: usize| starts.partition_point(|&s| s <= at).max(1);
    remarks
        .comments
        .iter()
        .filter_map(|r| {
            let (start, end) = (r.start as usize, r.end as usize);
            let written = text.get(start..end)?;
            let line = line_of(start);
            let before = text.get(starts[line - 1]..start)?;
            // after the last line of a scalar written over several lines, the comment is
            // about that scalar, which the tree knows by its first line
            let scalar =
                remarks.multiline.iter().rev().find(|m| {
                    (m.range.end as usize) <= start && line_of(m.range.end as usize) == line
                });
            Some(YamlComment {
                file,
                line,
                subject: scalar.map(|m| line_of(m.range.start as usize)),
                text: one_line(written.strip_prefix('#').unwrap_or(written).trim_end()),
                trailing: !before.trim().is_empty(),
            })
        })
        .collect()
}

/// Where each line of a YAML text starts, as the YAML reader breaks lines.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = vec![0];
    for (i, &c) in b.iter().enumerate() {
        let ends = c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n'));
        if ends {
            out.push(i + 1);
        }
    }
    out
}

/// The lines of a YAML text, as the YAML reader breaks them.
fn yaml_lines(text: &str) -> Vec<&str> {
    let starts = line_starts(text);
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            text.get(s..end)
                .unwrap_or("")
                .trim_end_matches(['\n', '\r'])
        })
        .collect()
}

/// `s` with what could end a comment's line made a space (a tab is kept: it ends nothing).
fn one_line(s: &str) -> String {
    crate::literal::one_line_keeping(s, &['\t'])
}

/// For each (file, line), what the program may write for the YAML written there: each
/// scalar as a Plumb string, each key as a Plumb key.
fn scalars_by_line(config: &Config) -> HashMap<(usize, usize), Vec<String>> {
    fn walk(n: &Node, out: &mut HashMap<(usize, usize), Vec<String>>, depth: usize) {
        // the tree is as deep as the YAML, which the reader bounds; this walk bounds it too
        if depth > 64 {
            return;
        }
        let mut note = |file: usize, line: usize, written: String| {
            let known = out.entry((file, line)).or_default();
            // a `default:` merged into every job is the same scalar many times; a line
            // of a thousand values is found by its first few
            if known.len() < CANDIDATES_PER_LINE && !known.contains(&written) {
                known.push(written);
            }
        };
        match &n.kind {
            Kind::Scalar { text, .. } if !text.is_empty() => {
                note(n.file, n.line, string_literal(text));
                // a script line is written without the newline a `|` block ends with
                if let Some(command) = text.strip_suffix('\n') {
                    note(n.file, n.line, string_literal(command));
                }
                // a value of several lines is a block string: found by its first line,
                // as it is written there (see `BLOCK_LINE`)
                let first = text.lines().next().map(str::trim).unwrap_or("");
                if text.trim_end().contains('\n') && !first.is_empty() {
                    note(n.file, n.line, format!("{BLOCK_LINE}{first}"));
                }
            }
            Kind::Seq(items) => items.iter().for_each(|i| walk(i, out, depth + 1)),
            Kind::Map(entries) => {
                for e in entries {
                    // a key's own file is its value's (a merged job's keys come from
                    // several files)
                    let known = out.entry((e.value.file, e.key_line)).or_default();
                    if known.len() < CANDIDATES_PER_LINE {
                        known.insert(0, key(&e.key));
                        // the field the program writes for it, found after the key
                        let renamed = RENAMED_KEYS.iter().find(|(yaml, _)| **yaml == *e.key);
                        if let Some((_, field)) = renamed {
                            known.insert(1, (*field).to_string());
                        }
                    }
                    walk(&e.value, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    // the jobs were moved out of the top-level mapping, with what they extend applied
    let jobs = config.jobs.iter().chain(&config.hidden).map(|j| &j.full);
    for n in std::iter::once(&config.root).chain(jobs) {
        walk(n, &mut out, 0);
    }
    out
}

impl<'a> Layout<'a> {
    /// Fills `by_key`: the YAML key written at each block's `FILE:LINE`.
    fn key_blocks(&mut self, config: &Config, file_names: &[String]) {
        // each file's line starts, as the YAML reader counts lines, found once
        let files: HashMap<&str, (&str, Vec<usize>)> = file_names
            .iter()
            .zip(&config.sources)
            .map(|(name, (_, text))| (name.as_str(), (text.as_str(), line_starts(text))))
            .collect();
        for ((name, line), range) in &self.blocks {
            let Some((text, starts)) = files.get(name.as_str()) else {
                continue;
            };
            let Some(&at) = starts.get(line.wrapping_sub(1)) else {
                continue;
            };
            let written = text[at..].split(['\n', '\r']).next().unwrap_or("");
            self.by_key.insert(top_key(written).to_string(), *range);
        }
    }

    fn of(plumb: &'a str) -> Layout<'a> {
        let lines: Vec<&str> = plumb.lines().collect();
        let (in_block, opens_block) = block_strings(plumb, lines.len());
        let mut blocks = HashMap::new();
        let mut shared = HashMap::new();
        let mut tops = HashMap::new();
        let mut commented = vec![false; lines.len() + 1];
        let mut open_their_field = HashSet::new();
        for (i, l) in lines.iter().enumerate() {
            if in_block[i].is_some() {
                continue;
            }
            let Some((name, line, one_line)) = block_marker(l) else {
                continue;
            };
            commented[i] = true;
            let code = scan_line(l).comment.map_or(*l, |at| &l[..at]).trim_end();
            if !one_line && (code.ends_with('[') || code.ends_with("= {")) {
                open_their_field.insert(i);
            }
            let end = if one_line {
                i
            } else {
                let indent = indent_of(l);
                (i + 1..lines.len())
                    .find(|&j| closes_block(lines[j]) && indent_of(lines[j]) == indent)
                    .unwrap_or(i)
            };
            // a comment about the job goes above the notes written above it
            let mut top = i;
            while top > 0 && is_note_line(lines[top - 1], indent_of(l)) {
                top -= 1;
            }
            if let Some(earlier) = blocks.insert((name.clone(), line), (i, end)) {
                shared
                    .entry((name, line))
                    .or_insert_with(Vec::new)
                    .push(earlier);
            }
            tops.insert(i, top);
        }
        let after_header = lines
            .iter()
            .position(|l| !l.starts_with('#'))
            .unwrap_or(lines.len());
        let pipeline = lines.iter().position(|l| l.starts_with("pipeline "));
        let head = match pipeline {
            Some(p) => {
                let first_stage = (p + 1..lines.len())
                    .find(|&j| lines[j].trim_start().starts_with("stage "))
                    .unwrap_or(lines.len());
                (p, first_stage)
            }
            None => (after_header, after_header),
        };
        let written_on = written_on(&lines, &in_block);
        let inner = (blocks.values())
            .filter(|(start, _)| (head.0..head.1).contains(start))
            .copied()
            .collect();
        Layout {
            inner,
            in_block,
            opens_block,
            by_key: HashMap::new(),
            lets: lets_of(&lines),
            written_on,
            lines,
            tops,
            open_their_field,
            blocks,
            shared,
            commented,
            after_header,
            head,
        }
    }

    fn place(
        &self,
        c: &YamlComment,
        file: &YamlFile,
        scalars: &HashMap<(usize, usize), Vec<String>>,
        search: bool,
    ) -> Place {
        let tops = &file.tops;
        let first_key = tops.first().copied().unwrap_or(usize::MAX);
        // the main file's opening comments, unless they open a job (see `opens_a_block`)
        if c.file == 0 && c.line < first_key && !self.opens_a_block(c.line, first_key, file) {
            return Place::Header;
        }
        let last_words = file.next_content.get(c.line - 1) == Some(&c.line);
        if c.file == 0 && !c.trailing && last_words && file.indent_of(c.line) == Some(0) {
            return Place::End;
        }
        // a comment on its own line indented deeper than the next content ends the value
        // or the block above it (see `Ends`)
        let ends = (c.subject.is_none() && !c.trailing)
            .then(|| file.content_ended_by(c.line))
            .flatten();
        let ends_a_value = match ends {
            Some(Ends::Value(line)) => Some(line),
            _ => None,
        };
        let subject = if let Some(line) = c.subject.or(ends_a_value) {
            line
        } else if c.trailing || matches!(ends, Some(Ends::Block)) {
            c.line
        } else {
            file.next_content.get(c.line - 1).copied().unwrap_or(c.line)
        };
        // a comment on its own line right above a top-level key is about that key
        let above_key = tops.binary_search(&subject).is_ok();
        let block_line = if above_key {
            subject
        } else {
            let i = tops.partition_point(|&t| t <= c.line);
            i.checked_sub(1).map_or(first_key, |i| tops[i])
        };
        let block_end = tops
            .get(tops.partition_point(|&t| t <= block_line))
            .copied()
            .unwrap_or(usize::MAX);
        let key = file
            .lines
            .get(block_line.wrapping_sub(1))
            .map_or("", |l| top_key(l));
        // a job's or template's block, else the `let` of an anchor holder
        let region = self
            .blocks
            .get(&(file.name.to_string(), block_line))
            .or_else(|| self.by_key.get(key))
            .or_else(|| self.lets.get(key.trim_start_matches('.')))
            .copied();
        let above_the_block = |start: usize| self.tops.get(&start).copied().unwrap_or(start);
        match (region, ends) {
            (Some((start, _)), _) if subject == block_line => {
                return Place::Above(above_the_block(start));
            }
            // the block's last words: above its closing line, or above it when it has
            // none of its own (on one line, or closing its only field's value)
            (Some((start, end)), Some(Ends::Block)) => {
                let own_closing = start != end && !self.open_their_field.contains(&start);
                return Place::Above(if own_closing {
                    end
                } else {
                    above_the_block(start)
                });
            }
            _ => {}
        }
        let (start, end) = region.unwrap_or(self.head);
        let shared =
            (self.shared.get(&(file.name.to_string(), block_line))).map_or(&[][..], Vec::as_slice);
        // a key right under the job's (or `default:`'s) is a field, one deeper a value's
        let first_key = file.next_content.get(block_line - 1);
        let field_level = file.indent_of(subject) == first_key.and_then(|&l| file.indent_of(l));
        let found = if search {
            let lines =
                subject..node_end(&file.lines, subject, block_end.min(subject + LOOK_AHEAD));
            let find = |&(start, end): &(usize, usize)| {
                self.find(
                    scalars,
                    (file.index, lines.clone()),
                    (start, end),
                    field_level,
                )
            };
            std::iter::once(&(start, end)).chain(shared).find_map(find)
        } else {
            None
        };
        // a block on one line, or opening its field on its line: above it (and its notes)
        let top = if start == end || self.open_their_field.contains(&start) {
            above_the_block(start)
        } else {
            (start + 1).min(self.lines.len())
        };
        match found {
            Some(l) if c.trailing || ends_a_value.is_some() => Place::After(l),
            Some(l) => Place::Above(l),
            // inside the block, at its top
            None if region.is_some() => Place::Above(top),
            None => Place::Aside(top, one_line(&aside_label(key, c, file, block_line))),
        }
    }

    /// Whether the comment on `line`, before the file's first key, is about that key:
    /// no blank line between them, and the key is a job's or a template's (a file's
    /// description above its `stages:` is the file's).
    fn opens_a_block(&self, line: usize, first_key: usize, file: &YamlFile) -> bool {
        let touching =
            (line..first_key).all(|l| file.lines.get(l).is_some_and(|t| !t.trim().is_empty()));
        let key = file
            .lines
            .get(first_key.wrapping_sub(1))
            .map_or("", |l| top_key(l));
        touching
            && (self
                .blocks
                .contains_key(&(file.name.to_string(), first_key))
                || self.by_key.contains_key(key))
    }

    /// The program line in `start..=end` that holds what the first YAML line of
    /// `yaml_lines` the program writes holds: a line holding all of it (an `env` entry's
    /// key and value) before one holding a part (a value written in several entries).
    /// `field_level`: whether a key on the YAML line is a field's, written where it
    /// opens a line (`env = …`), rather than a value's (`[{ image = …, env = … }]`).
    fn find(
        &self,
        scalars: &HashMap<(usize, usize), Vec<String>>,
        (file, yaml_lines): (usize, std::ops::Range<usize>),
        (start, end): (usize, usize),
        field_level: bool,
    ) -> Option<usize> {
        let in_region = |s: &str| -> &[usize] {
            let Some(lines) = self.written_on.get(s) else {
                return &[];
            };
            let from = lines.partition_point(|&l| l < start);
            let to = lines.partition_point(|&l| l <= end);
            &lines[from..to.max(from)]
        };
        let head = (start, end) == self.head;
        let in_inner =
            |line: usize| head && self.inner.iter().any(|(s, e)| (*s..=*e).contains(&line));
        yaml_lines.into_iter().find_map(|l| {
            let written = scalars.get(&(file, l))?;
            let (first, rest) = written.split_first()?;
            let holding_all = in_region(first).iter().find(|&&line| {
                !in_inner(line)
                    && rest
                        .iter()
                        .all(|s| in_region(s).binary_search(&line).is_ok())
            });
            // a key whose value takes lines of its own (`variables:`) is about the field
            // it became (`env = …` opening a line), or a value's key (`{ env = … }`)
            let as_written = |s: &String| {
                let mut lines = in_region(s).iter().copied();
                lines.find(|&line| !in_inner(line) && self.opens_field(line, s) == field_level)
            };
            let anywhere = |s: &String| in_region(s).iter().copied().find(|&l| !in_inner(l));
            holding_all
                .copied()
                .or_else(|| written.iter().find_map(as_written))
                .or_else(|| written.iter().find_map(anywhere))
        })
    }

    /// Whether program line `line` opens with field `name`: `name = …`.
    fn opens_field(&self, line: usize, name: &str) -> bool {
        let rest = self
            .lines
            .get(line)
            .and_then(|l| l.trim_start().strip_prefix(name));
        rest.is_some_and(|r| r.trim_start().starts_with('='))
    }

    fn write(&self, placed: &Placed) -> String {
        let mut out = String::new();
        for i in 0..=self.lines.len() {
            let line = self.lines.get(i).copied();
            if i == self.after_header && !placed.header.is_empty() {
                // the YAML's opening comments, a paragraph of their own under the header
                out.push('\n');
                for t in &placed.header {
                    out.push('#');
                    out.push_str(t);
                    out.push('\n');
                }
            }
            if let Some(texts) = placed.above.get(&i) {
                let indent = line.map_or("", |l| &l[..l.len() - l.trim_start().len()]);
                for t in texts {
                    out.push_str(indent);
                    out.push('#');
                    out.push_str(t);
                    out.push('\n');
                }
            }
            let Some(line) = line else { break };
            out.push_str(line);
            if let Some(t) = placed.after.get(&i) {
                out.push_str("  #");
                out.push_str(t);
            }
            out.push('\n');
        }
        for t in &placed.end {
            out.push('#');
            out.push_str(t);
            out.push('\n');
        }
        out
    }
}

/// A program line read once: its string literals (quotes included) and words before
/// its comment (what [`scalars_by_line`] writes for a YAML value or key), and where its
/// comment starts (its first `#` outside a string).
struct ScannedLine<'a> {
    tokens: Vec<&'a str>,
    comment: Option<usize>,
}

fn scan_line(line: &str) -> ScannedLine<'_> {
    let b = line.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    // an escape's next byte is never the closing quote (ASCII), and
                    // slices are only cut at quotes, which are whole characters
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                tokens.push(&line[start..i]);
            }
            b'#' => {
                return ScannedLine {
                    tokens,
                    comment: Some(i),
                }
            }
            c if word(c) => {
                let start = i;
                while i < b.len() && word(b[i]) {
                    i += 1;
                }
                tokens.push(&line[start..i]);
            }
            _ => i += 1,
        }
    }
    ScannedLine {
        tokens,
        comment: None,
    }
}

/// What a line of a block string is known by in `written_on` (no token starts with it).
const BLOCK_LINE: &str = "\u{1}";

/// The lines each token of the program is written on; a line of a block string is
/// known by its text (after [`BLOCK_LINE`]), not by its words.
fn written_on<'a>(
    lines: &[&'a str],
    in_block: &[Option<usize>],
) -> HashMap<Cow<'a, str>, Vec<usize>> {
    let mut written_on: HashMap<Cow<'a, str>, Vec<usize>> = HashMap::new();
    let mut add = |token: Cow<'a, str>, i: usize| {
        let on = written_on.entry(token).or_default();
        if on.last() != Some(&i) {
            on.push(i);
        }
    };
    for (i, l) in lines.iter().enumerate() {
        if in_block[i].is_some() {
            if !l.trim().is_empty() {
                add(Cow::Owned(format!("{BLOCK_LINE}{}", l.trim())), i);
            }
            continue;
        }
        for token in scan_line(l).tokens {
            add(Cow::Borrowed(token), i);
        }
    }
    written_on
}

/// `(file name, line, written on one line)` of a job's or template's `{  # FILE:LINE`.
fn block_marker(line: &str) -> Option<(String, usize, bool)> {
    // the marker is the line's comment: text in a string that looks like one is not
    let (code, comment) = line.split_at(scan_line(line).comment?);
    let code = code.trim_end();
    // an empty block is `{}` as written, `{ }` once formatted; a small job or template
    // is written on one line, `job NAME { fields }`, a stage's lone small job on the
    // stage's (`stage NAME { job NAME { fields } }`)
    let opening = code.trim_start();
    let small = code.ends_with('}')
        && (["job ", "template "].iter().any(|k| opening.starts_with(k))
            || opening.starts_with("stage ") && opening.contains(" { job "));
    let one_line = code.ends_with("{}") || code.ends_with("{ }") || small;
    // a block of one field on several lines opens it on its line (`job x { run = [`)
    if !one_line && !code.ends_with('{') && !code.ends_with('[') {
        return None;
    }
    let marker = comment.strip_prefix("# ")?.split(" (`").next()?;
    let (name, number) = marker.rsplit_once(':')?;
    Some((name.to_string(), number.trim().parse().ok()?, one_line))
}

/// Whether a program line closes a block: `}`, or `} }` for a stage's lone job written
/// on the stage's line (`stage NAME { job NAME {`), or `] }` (`] } }`) for a job whose
/// only field opens on its line (`job NAME { run = [`).
fn closes_block(line: &str) -> bool {
    let code = match scan_line(line).comment {
        Some(at) => &line[..at],
        None => line,
    };
    let code = code.trim();
    code.ends_with('}') && code.split(' ').all(|part| part == "}" || part == "]")
}

/// The first 1-based line after the YAML node that starts on line `start` (the first
/// line with content indented no deeper; a list may sit at its key's indentation), at
/// most `limit`: a comment is about that node, not about what follows it.
fn node_end(lines: &[&str], start: usize, limit: usize) -> usize {
    let limit = limit.max(start + 1);
    let Some(first) = lines.get(start.wrapping_sub(1)) else {
        return limit;
    };
    let own = indent_of(first);
    let a_key = !first.trim_start().starts_with('-');
    (start + 1..limit)
        .find(|&l| {
            lines.get(l - 1).is_none_or(|t| {
                let content = t.trim_start();
                let item_of_key = a_key && content.starts_with('-') && indent_of(t) == own;
                !content.is_empty()
                    && !content.starts_with('#')
                    && indent_of(t) <= own
                    && !item_of_key
            })
        })
        .unwrap_or(limit)
}

/// Each top-level `let NAME = …`: its first and last line.
fn lets_of<'a>(lines: &[&'a str]) -> HashMap<&'a str, (usize, usize)> {
    let mut out = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((name, value)) = l.strip_prefix("let ").and_then(|r| r.split_once(" = ")) else {
            continue;
        };
        let end = if value.ends_with('{') || value.ends_with('[') {
            (i + 1..lines.len())
                .find(|&j| lines[j].starts_with(['}', ']']))
                .unwrap_or(i)
        } else {
            i
        };
        out.insert(name.trim(), (i, end));
    }
    out
}

/// What a comment placed away from what it is about starts with: the top-level key it
/// was written under (`stages:`), and the line it ended when that is not the key's own
/// (`stages: - build  #`: two such comments on two stages no job uses read apart).
fn aside_label(key: &str, c: &YamlComment, file: &YamlFile, key_line: usize) -> String {
    let line = file
        .lines
        .get(c.line.wrapping_sub(1))
        .copied()
        .unwrap_or("");
    let ended = (c.trailing && c.line != key_line)
        .then(|| line.rfind(&format!("#{}", c.text)))
        .flatten()
        .map(|at| line[..at].trim());
    match ended {
        Some(code) if !code.is_empty() => format!("{key}: {code}  #"),
        _ => format!("{key}:"),
    }
}

/// The key a top-level YAML line starts (`.base: &base` is `.base`).
fn top_key(line: &str) -> &str {
    let key = line.split(':').next().unwrap_or("").trim();
    key.trim_matches(['"', '\''])
}

/// A line of a `# gitlab:` note (or the YAML it quotes) at this indentation.
fn is_note_line(line: &str, indent: usize) -> bool {
    indent_of(line) == indent && {
        let t = line.trim_start();
        t.starts_with("# gitlab: ") || t.starts_with("#   ")
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The 1-based lines of the YAML's top-level keys.
fn top_level_lines(lines: &[&str]) -> Vec<usize> {
    // a document may be indented as a whole: its keys are at its first key's column
    let is_content = |l: &&&str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with(['#', '%']) && !t.starts_with("---")
    };
    let Some(column) = lines.iter().find(is_content).map(|l| indent_of(l)) else {
        return Vec::new();
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            is_content(l)
                && indent_of(l) == column
                && !l.trim_start().starts_with(['-', ']', '}'])
                && !l.trim_start().starts_with("...")
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// For each line (0-based), the 1-based line of the first line after it that is neither
/// blank nor only a comment (itself when there is none).
fn next_content_lines(lines: &[&str]) -> Vec<usize> {
    let mut out = vec![0; lines.len()];
    let mut next = None;
    for i in (0..lines.len()).rev() {
        out[i] = next.unwrap_or(i + 1);
        let t = lines[i].trim_start();
        if !t.is_empty() && !t.starts_with('#') {
            next = Some(i + 1);
        }
    }
    out
}

/// The program with the comments reads as the one without: the same tokens, no error,
/// and `added` comments more (a comment put inside a string would be text, not one).
fn same_program(without: &str, with: &str, added: usize) -> bool {
    let (a, b) = (plumb_syntax::parse(without), plumb_syntax::parse(with));
    let (ta, tb) = (
        plumb_syntax::lexer::lex(without).tokens.len(),
        plumb_syntax::lexer::lex(with).tokens.len(),
    );
    b.errors.is_empty() && ta == tb && b.comments.len() == a.comments.len() + added
}

#[cfg(test)]
mod tests {
    use crate::test_support::imported;

    /// The program's lines with their indentation, from the first with `from` on.
    fn lines_from(program: &str, from: &str) -> Vec<String> {
        let at = program
            .find(from)
            .unwrap_or_else(|| panic!("{from} in {program}"));
        let start = program[..at].rfind('\n').map_or(0, |i| i + 1);
        program[start..].lines().map(str::to_string).collect()
    }

    #[test]
    fn each_comment_goes_next_to_what_it_is_about() {
        let program = imported(
            "# The project's pipeline.\n\
             \n\
             variables:\n  \
               MODE: fast # how fast\n\
             \n\
             # runs the tests\n\
             test:\n  \
               image: python:3.12.4\n  \
               script:\n    \
                 # set up first\n    \
                 - make setup\n    \
                 - make test # the suite\n",
        );
        let header_end = program.find("\n\n").unwrap_or(0);
        assert!(
            program[header_end..].starts_with("\n\n# The project's pipeline.\n\n"),
            "{program}"
        );
        assert!(
            program.contains("env = { MODE = \"fast\" }  # how fast\n"),
            "{program}"
        );
        assert_eq!(
            lines_from(&program, "# runs the tests")[..5],
            [
                "# runs the tests",
                "stage test { job test {  # .gitlab-ci.yml:7",
                "  image = \"python:3.12.4\"",
                "  # set up first",
                "  run   = [\"make setup\", \"make test\"]  # the suite",
            ]
            .map(|l| format!("  {l}"))
        );
    }

    #[test]
    fn a_comment_about_nothing_carried_goes_to_the_top_of_its_job() {
        let program = imported(
            "test:\n  \
               script: [make]\n  \
               # on_success is the default\n  \
               when: on_success\n",
        );
        assert!(
            program.contains("{  # .gitlab-ci.yml:1\n    # on_success is the default\n"),
            "{program}"
        );
    }

    #[test]
    fn comments_that_would_be_code_or_break_a_line_stay_comments() {
        // a comment's text is written after `#`: a `}` or a quote in it is never code,
        // and a control character that would end the line is a space
        let program = imported(
            "test:\n  \
               script:\n    \
                 - make # }\"job evil { run = [\"x\"] }\u{85}x\n",
        );
        let parse = plumb_syntax::parse(&program);
        assert!(parse.errors.is_empty(), "{program}");
        assert!(!program.contains("job evil {\n"), "{program}");
        assert!(
            program.contains("[\"make\"]  # }\"job evil { run = [\"x\"] }"),
            "{program}"
        );
    }

    #[test]
    fn many_comments_are_placed_in_time() {
        // a comment above each of many lines: a search per comment over the whole
        // program, or a walk per comment over the file, would be quadratic
        let mut yaml = String::from("test:\n  script:\n");
        for i in 0..30_000 {
            yaml.push_str(&format!("    # note {i}\n    - make {i}\n"));
        }
        let program = imported(&yaml);
        assert!(program.contains("# note 29999\n"), "comments carried");
    }
}

#[cfg(test)]
mod attack_tests {
    use std::path::{Path, PathBuf};

    struct TwoFiles;
    impl crate::Files for TwoFiles {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            let name = path.to_string_lossy();
            if name.ends_with("x/jobs.yml") {
                Ok("a:\n  # about a (from x)\n  script: [make a]\n".into())
            } else if name.ends_with("y/jobs.yml") {
                Ok("b:\n  # about b (from y)\n  script: [make b]\n".into())
            } else {
                Err(std::io::ErrorKind::NotFound.into())
            }
        }
        fn repository_root(&self) -> Option<&Path> {
            Some(Path::new("/repo"))
        }
    }

    fn imported(yaml: &str) -> crate::Imported {
        crate::import(
            Path::new(".gitlab-ci.yml"),
            yaml,
            &crate::test_support::NoFiles,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The program holds each of `parts`, in this order.
    fn assert_in_order(program: &str, parts: &[&str]) {
        let at: Vec<usize> = parts
            .iter()
            .map(|p| {
                program
                    .find(p)
                    .unwrap_or_else(|| panic!("{p} in {program}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{parts:?} in {program}");
    }

    #[test]
    fn an_allowance_is_carried_as_text_never_as_an_allowance() {
        // about the variable, but placed by text: it must not silence the image line
        let i = imported(
            "a:\n  \
               image: alpine:3.19\n  \
               variables:\n    \
                 LABEL: alpine:3.19 # plumb-allow: PL3003 only a label\n  \
               script: [make]\n",
        );
        let parse = plumb_syntax::parse(&i.plumb);
        assert!(
            parse
                .comments
                .iter()
                .all(|c| !c.text.trim_start().starts_with("plumb-allow")),
            "{}",
            i.plumb
        );
        assert!(i
            .plumb
            .contains("from the YAML, not applied here: plumb-allow: PL3003 only a label"));
        assert!(i
            .warnings
            .iter()
            .any(|w| w.line == 4 && w.message.contains("plumb-allow")));
    }

    #[test]
    fn files_of_one_name_keep_their_comments_apart() {
        let yaml = "include:\n  - local: x/jobs.yml\n  - local: y/jobs.yml\n";
        let i = crate::import(&PathBuf::from("/repo/.gitlab-ci.yml"), yaml, &TwoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_in_order(
            &i.plumb,
            &[
                "job a {",
                "# about a (from x)",
                "job b {",
                "# about b (from y)",
            ],
        );
        assert!(i.plumb.contains("# x/jobs.yml:1"), "{}", i.plumb);
    }

    #[test]
    fn a_string_that_looks_like_a_job_header_is_not_one() {
        let i = imported(
            "a:\n  \
               # about a's script\n  \
               script: [make]\n\
             b:\n  \
               script: ['{  # .gitlab-ci.yml:1 (`', make test]\n",
        );
        assert_in_order(&i.plumb, &["# about a's script", "job b {"]);
    }

    #[test]
    fn lone_carriage_returns_end_lines_as_the_yaml_reader_says() {
        let i = imported("a:\r  script:\r    - make a\nb: {script: [make b]}\n# about c\nc: {script: [make c]}\n");
        assert_in_order(&i.plumb, &["job b {", "# about c", "job c {"]);
    }

    #[test]
    fn a_comment_after_a_multi_line_scalar_is_about_it() {
        let i = imported(
            "a:\n  \
               script:\n    \
                 - plain\n      \
                   continuation # about the command\n  \
               after_script: [x] # after\n",
        );
        assert!(
            i.plumb
                .contains("\"plain continuation\"]  # about the command"),
            "{}",
            i.plumb
        );
        assert!(
            i.plumb.contains("after_run = [\"x\"]  # after"),
            "{}",
            i.plumb
        );
    }

    #[test]
    fn an_indented_document_has_its_keys_where_its_first_key_is() {
        let i = imported("  a:\n    # about a's script\n    script: [make a]\n  # about b\n  b:\n    script: [make b]\n");
        assert_in_order(&i.plumb, &["job a {", "# about b", "job b {"]);
    }

    #[test]
    fn a_comment_another_jobs_note_quotes_is_still_carried() {
        let i = imported(
            "a:\n  \
               script: [make]\n  \
               rules:\n    \
                 - if: $CI_COMMIT_BRANCH == \"main\" # main only\n      \
                   when: always\n\
             b:\n  \
               script: [make]\n  \
               rules:\n    \
                 - if: $CI_COMMIT_BRANCH == \"main\" # main only\n",
        );
        let b = i.plumb.find("job b {").unwrap_or(usize::MAX);
        assert!(i.plumb[b..].contains("# main only"), "{}", i.plumb);
    }

    #[test]
    fn a_comment_about_an_empty_template_goes_above_it() {
        let i = imported(
            "stages: [build]\n\n# kept for older pipelines\n.on-success:\n  when: on_success\n\n\
             build: {stage: build, image: alpine:3.19, script: [make]}\n",
        );
        assert_in_order(
            &i.plumb,
            &["# kept for older pipelines\ntemplate on-success() { }"],
        );
    }

    #[test]
    fn a_comment_above_a_script_line_of_several_lines_stays_above_it() {
        let i = imported(
            "build:\n  image: alpine:3.19\n  script:\n    - echo one\n    # between one and two\n    - |\n      echo two\n      echo three\n    - echo four\n",
        );
        assert_in_order(
            &i.plumb,
            &["\"echo one\",\n      # between one and two\n      \"\"\"\n        echo two"],
        );
    }

    #[test]
    fn a_note_quotes_the_line_the_yaml_reader_means_with_lone_carriage_returns() {
        let i = imported(
            "# header\r# more\r\rstages: [test]\na:\n  image: alpine:3.19\n  script: [make]\n  \
             start_in: 1 hour # later\n",
        );
        assert!(
            i.plumb.contains("#     start_in: 1 hour # later\n"),
            "{}",
            i.plumb
        );
    }

    #[test]
    fn a_small_job_takes_one_line_and_its_comments_go_above_it() {
        let i =
            imported("stages: [test]\n# the unit tests\nunit: # quick\n  script: [make check]\n");
        assert_in_order(
            &i.plumb,
            &[
                "  # the unit tests\n",
                "  # quick\n",
                "  stage test { job unit { image = runner_default, run = [\"make check\"] } }  # .gitlab-ci.yml:3\n",
            ],
        );
    }

    #[test]
    fn a_small_job_with_a_comment_inside_keeps_its_block() {
        let i = imported("stages: [test]\nunit:\n  # all of them\n  script: [make check]\n");
        assert_in_order(
            &i.plumb,
            &[
                "  stage test { job unit {  # .gitlab-ci.yml:2\n",
                "    # all of them\n",
                "    run   = [\"make check\"]\n",
            ],
        );
    }

    #[test]
    fn a_hash_in_a_value_or_a_comment_about_the_next_job_keeps_a_job_on_one_line() {
        // the YAML reader's comments, not a `#` in a string, nor the comment at the
        // key's column that opens the next job
        let i = imported(
            "stages: [test]\nunit:\n  script: [\"make check # all\"]\n# the next one\nlint:\n  script: [make lint]\n",
        );
        assert_in_order(
            &i.plumb,
            &[
                "    job unit { run = [\"make check # all\"] }  # .gitlab-ci.yml:2\n",
                "    # the next one\n",
                "    job lint { run = [\"make lint\"] }  # .gitlab-ci.yml:5\n",
            ],
        );
    }

    #[test]
    fn a_marker_after_a_one_line_block_is_read_and_a_comment_about_a_value_is_not() {
        let at = |l| crate::comments::block_marker(l).map(|(_, n, one)| (n, one));
        assert_eq!(
            at("    job a { run = [\"x\"] }  # ci.yml:4"),
            Some((4, true))
        );
        assert_eq!(
            at("template t() { tags = [\"a\"] }  # ci.yml:9"),
            Some((9, true))
        );
        assert_eq!(at("      env = { A = \"1\" }  # see ci.yml:4"), None);
    }

    #[test]
    fn comments_touching_the_first_key_are_about_it() {
        let i = imported("# the file\n\n# builds the binary\nbuild:\n  script: [make]\n");
        assert_in_order(
            &i.plumb,
            &[
                "# the file\n\n",
                "# builds the binary\n  stage test { job build {",
            ],
        );
    }

    #[test]
    fn a_comment_indented_under_a_jobs_last_value_stays_in_the_job() {
        let i = imported(
            "build:\n  image: alpine:3.19\n  script:\n    - make\n    # - make docs (disabled)\n\n\
             test:\n  image: alpine:3.19\n  script: [make test]\n    # at the end\n",
        );
        let p = &i.plumb;
        assert!(
            p.contains("run   = [\"make\"]  # - make docs (disabled)"),
            "{p}"
        );
        assert!(p.contains("\"make test\"]  # at the end"), "{p}");
    }

    #[test]
    fn a_comment_about_a_shared_field_goes_where_the_field_went() {
        let i = imported(
            ".docker:\n  # the image every docker job runs\n  image: docker:27.0.3\n  \
             services: [docker:27.0.3-dind]\n  interruptible: true\n  tags: [docker]\n\
             build:\n  extends: .docker\n  script: [docker build .]\n\
             scan:\n  image: docker:27.0.3\n  services: [docker:27.0.3-dind]\n  \
             interruptible: true\n  script: [trivy]\n",
        );
        let p = &i.plumb;
        let shared = p.find("template docker-shared()").expect(p);
        let comment = p.find("# the image every docker job runs").expect(p);
        let own = p.find("template docker-template()").expect(p);
        assert!(shared < comment && comment < own, "{p}");
    }

    #[test]
    fn a_job_of_one_script_opens_it_on_its_line_and_keeps_its_comments_in_it() {
        let i = imported(
            "default:\n  image: alpine:3.19\nlint:\n  script:\n    - make lint LINTERS=\"golangci-lint staticcheck\"\n    \
             # - make vet\n    - make fmt-check GOFLAGS=-mod=mod\n    - make tidy-check GOFLAGS=-mod=mod\ntest:\n  script: [make test]\n\
             .vault:\n  # for jobs that read the vault\n  variables:\n    A: \"1\"\n    B: \"2\"\n",
        );
        let p = &i.plumb;
        assert_in_order(
            p,
            &[
                "template vault() {  # .gitlab-ci.yml:11\n  # for jobs that read the vault\n",
                "job lint { run = [  # .gitlab-ci.yml:3\n",
                "\"make lint LINTERS=\\\"golangci-lint staticcheck\\\"\",\n      # - make vet\n",
                "\"make tidy-check GOFLAGS=-mod=mod\",\n    ] }\n",
            ],
        );
    }

    #[test]
    fn a_comment_at_a_keys_column_after_a_jobs_last_value_closes_the_job() {
        let i = imported(
            "build:\n  image: alpine:3.19\n  script:\n    - make\n    - make install\n  \
             # when: manual\n\ntest:\n  image: alpine:3.19\n  script: [make test]\n",
        );
        let p = &i.plumb;
        assert_in_order(
            p,
            &[
                "job build {",
                "\"make install\"",
                "# when: manual\n",
                "}\n",
                "job test",
            ],
        );
        assert!(!p.contains("]  # when: manual"), "{p}");
    }

    #[test]
    fn only_closing_braces_close_a_block() {
        use crate::comments::closes_block;
        assert!(closes_block("  } }"));
        assert!(closes_block("  ] } }  # end"));
        assert!(!closes_block("  ]"));
        assert!(!closes_block("  } x"));
    }

    #[test]
    fn last_words_keep_their_order_and_their_place() {
        let i = imported(
            "a:\n  image: alpine:3.19\n  variables: # vars\n    A: \"1\" # after A\n    B: \"2\"\n    \
             C: \"3\"\n    D: \"4\"\n  script:\n    - echo 1 AAAA\n    - echo 2\n    # after last\n  \
             # end of a\nb:\n  image: alpine:3.19\n  script: [make]\n# end of file\n"
                .replace("AAAA", &"a".repeat(80))
                .as_str(),
        );
        let p = &i.plumb;
        assert_in_order(
            p,
            &[
                "env   = {  # vars\n",
                "A = \"1\"  # after A\n",
                "\"echo 2\",  # after last\n",
                "# end of a\n",
                "job b",
                "}\n# end of file\n",
            ],
        );
    }
}
