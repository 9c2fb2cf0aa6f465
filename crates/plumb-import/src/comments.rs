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
use std::collections::HashMap;

/// One comment of a YAML file.
struct YamlComment {
    file: usize,
    /// 1-based.
    line: usize,
    /// The text after `#`, made one line.
    text: String,
    /// Written after a value on its line (else on a line of its own).
    trailing: bool,
}

/// Where a comment goes in the program.
enum Place {
    /// Under the import's header, before the program.
    Header,
    /// On a line of its own above this line (indented as it).
    Above(usize),
    /// At the end of this line (above it when the line has a comment already).
    After(usize),
}

/// The program's lines and what the YAML's places are in it.
struct Layout<'a> {
    lines: Vec<&'a str>,
    /// `(file name, YAML line)` of a job or template: its first and last line.
    blocks: HashMap<(String, usize), (usize, usize)>,
    /// The lines (in order) each string literal and each word is written on.
    written_on: HashMap<&'a str, Vec<usize>>,
    /// The first line of the `# gitlab:` notes above a block's first line.
    tops: HashMap<usize, usize>,
    /// Lines that end with a comment already (a block's `# FILE:LINE`).
    commented: Vec<bool>,
    /// The first line after the import's header comment.
    after_header: usize,
    /// The lines the program quotes from the YAML (a note's snippet), as written there.
    quoted: std::collections::HashSet<&'a str>,
    /// The pipeline's head: from its `pipeline` line to its first stage.
    head: (usize, usize),
}

/// Comments placed by looking for what they are about, at most; the rest go to the
/// top of their block (a file of a million comments is not searched a million times).
const MAX_SEARCHED: usize = 20_000;
/// How many YAML lines after a comment are looked at for the value it is about.
const LOOK_AHEAD: usize = 50;

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

/// What goes where: comments above lines, at their ends, and under the header.
#[derive(Default)]
struct Placed {
    header: Vec<String>,
    above: HashMap<usize, Vec<String>>,
    after: HashMap<usize, String>,
    count: usize,
}

/// The formatted program `plumb` with the comments of `config`'s files carried; `None`
/// when there are none, or when the program with them would not read as the same
/// program (it is then left without them).
pub fn carry(plumb: &str, config: &Config, file_names: &[String]) -> Option<String> {
    let layout = Layout::of(plumb);
    let scalars = scalars_by_line(config);
    let mut placed = Placed::default();
    let mut searched = 0usize;
    for (index, (_, text)) in config.sources.iter().enumerate() {
        let Some(name) = file_names.get(index) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let file = YamlFile {
            index,
            name,
            tops: top_level_lines(&lines),
            next_content: next_content_lines(&lines),
            lines,
        };
        for c in comments_of(index, text) {
            if file
                .lines
                .get(c.line - 1)
                .is_some_and(|l| layout.quoted.contains(one_line(l.trim_end()).as_str()))
            {
                continue;
            }
            searched += 1;
            let place = layout.place(&c, &file, &scalars, searched <= MAX_SEARCHED);
            placed.add(place, c.text, &layout);
        }
    }
    if placed.count == 0 {
        return None;
    }
    let with = layout.write(&placed);
    same_program(plumb, &with, placed.count).then_some(with)
}

impl Placed {
    fn add(&mut self, place: Place, text: String, layout: &Layout) {
        self.count += 1;
        let line = match place {
            Place::Header => return self.header.push(text),
            Place::After(l) if !layout.commented[l] && !self.after.contains_key(&l) => {
                self.after.insert(l, text);
                return;
            }
            Place::After(l) | Place::Above(l) => l,
        };
        self.above.entry(line).or_default().push(text);
    }
}

/// The comments of one YAML file, in order.
fn comments_of(file: usize, text: &str) -> Vec<YamlComment> {
    // the comments come in order: lines are counted from the last one on, not from the
    // file's top for each
    let (mut counted_to, mut line, mut line_start) = (0usize, 1usize, 0usize);
    crate::yaml::remarks(text)
        .comments
        .iter()
        .filter_map(|r| {
            let (start, end) = (r.start as usize, r.end as usize);
            let written = text.get(start..end)?;
            let between = text.get(counted_to..start)?;
            line += between.matches('\n').count();
            if let Some(i) = between.rfind('\n') {
                line_start = counted_to + i + 1;
            }
            counted_to = start;
            Some(YamlComment {
                file,
                line,
                text: one_line(written.strip_prefix('#').unwrap_or(written).trim_end()),
                trailing: !text[line_start..start].trim().is_empty(),
            })
        })
        .collect()
}

/// `s` with what could end a comment's line made a space (a tab is kept: it ends nothing).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
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
            // a `default:` merged into every job is the same scalar many times
            if !known.contains(&written) {
                known.push(written);
            }
        };
        match &n.kind {
            Kind::Scalar { text, .. } if !text.is_empty() => {
                note(n.file, n.line, string_literal(text));
            }
            Kind::Seq(items) => items.iter().for_each(|i| walk(i, out, depth + 1)),
            Kind::Map(entries) => {
                for e in entries {
                    walk(&e.value, out, depth + 1);
                    let written = key(&e.key);
                    out.entry((n.file, e.key_line)).or_default().push(written);
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
    fn of(plumb: &'a str) -> Layout<'a> {
        let lines: Vec<&str> = plumb.lines().collect();
        let mut blocks = HashMap::new();
        let mut tops = HashMap::new();
        let mut commented = vec![false; lines.len() + 1];
        for (i, l) in lines.iter().enumerate() {
            let Some((name, line, one_line)) = block_marker(l) else {
                continue;
            };
            commented[i] = true;
            let end = if one_line {
                i
            } else {
                let indent = indent_of(l);
                (i + 1..lines.len())
                    .find(|&j| lines[j].trim() == "}" && indent_of(lines[j]) == indent)
                    .unwrap_or(i)
            };
            // a comment about the job goes above the notes written above it
            let mut top = i;
            while top > 0 && is_note_line(lines[top - 1], indent_of(l)) {
                top -= 1;
            }
            blocks.insert((name, line), (i, end));
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
        let mut written_on: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, l) in lines.iter().enumerate() {
            for token in strings_and_words(l) {
                let on = written_on.entry(token).or_default();
                if on.last() != Some(&i) {
                    on.push(i);
                }
            }
        }
        let quoted = lines
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix("#   "))
            .collect();
        Layout {
            written_on,
            quoted,
            lines,
            tops,
            blocks,
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
        if c.file == 0 && c.line < first_key {
            return Place::Header;
        }
        let subject = if c.trailing {
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
        let region = self
            .blocks
            .get(&(file.name.to_string(), block_line))
            .copied();
        if let (Some((start, _)), true) = (region, subject == block_line) {
            return Place::Above(self.tops.get(&start).copied().unwrap_or(start));
        }
        let (start, end) = region.unwrap_or(self.head);
        let found = if search {
            self.find(
                scalars,
                file.index,
                subject..block_end.min(subject + LOOK_AHEAD),
                start,
                end,
            )
        } else {
            None
        };
        match found {
            Some(l) if c.trailing => Place::After(l),
            Some(l) => Place::Above(l),
            // inside the block, at its top
            None => Place::Above((start + 1).min(self.lines.len())),
        }
    }

    /// The first program line in `start..=end` holding what the first YAML line of
    /// `yaml_lines` with a value writes.
    fn find(
        &self,
        scalars: &HashMap<(usize, usize), Vec<String>>,
        file: usize,
        yaml_lines: std::ops::Range<usize>,
        start: usize,
        end: usize,
    ) -> Option<usize> {
        let candidates = yaml_lines
            .into_iter()
            .find_map(|l| scalars.get(&(file, l)).filter(|s| !s.is_empty()))?;
        candidates.iter().find_map(|s| {
            let lines = self.written_on.get(s.as_str())?;
            let first = lines.partition_point(|&l| l < start);
            lines.get(first).copied().filter(|&l| l <= end)
        })
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
        out
    }
}

/// The string literals (quotes included) and words of a program line, before its
/// comment: what [`scalars_by_line`] writes for a YAML value or key.
fn strings_and_words(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut out = Vec::new();
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
                out.push(&line[start..i]);
            }
            b'#' => break,
            c if word(c) => {
                let start = i;
                while i < b.len() && word(b[i]) {
                    i += 1;
                }
                out.push(&line[start..i]);
            }
            _ => i += 1,
        }
    }
    out
}

/// `(file name, line, written on one line)` of a job's or template's `{  # FILE:LINE`.
fn block_marker(line: &str) -> Option<(String, usize, bool)> {
    let (one_line, at) = match (line.find("{}  # "), line.find("{  # ")) {
        (Some(i), _) => (true, i + "{}  # ".len()),
        (None, Some(i)) => (false, i + "{  # ".len()),
        _ => return None,
    };
    let marker = line[at..].split(" (`").next()?;
    let (name, number) = marker.rsplit_once(':')?;
    Some((name.to_string(), number.trim().parse().ok()?, one_line))
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
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let first = l.chars().next();
            first.is_some_and(|c| {
                !c.is_whitespace() && !matches!(c, '#' | '-' | '%' | '.' | ']' | '}')
            }) || (l.starts_with('.') && !l.starts_with("..."))
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
    use std::path::Path;

    struct NoFiles;
    impl crate::Files for NoFiles {
        fn read(&self, _: &Path) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    fn imported(yaml: &str) -> String {
        crate::import(Path::new(".gitlab-ci.yml"), yaml, &NoFiles)
            .map(|i| i.plumb)
            .unwrap_or_else(|e| panic!("{e}"))
    }

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
                "job test {  # .gitlab-ci.yml:7",
                "  image = \"python:3.12.4\"",
                "  # set up first",
                "  run   = [\"make setup\", \"make test\"]  # the suite",
            ]
            .map(|l| format!("    {l}"))
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
            program.contains("{  # .gitlab-ci.yml:1\n      # on_success is the default\n"),
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
