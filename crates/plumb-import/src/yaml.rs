//! Reads YAML as GitLab does (Psych, YAML 1.1): anchors and aliases expanded, merge keys
//! (`<<`) applied, `!reference` tags kept for the GitLab layer, every node with its line.
//!
//! This is the only YAML *reader* of Plumb (writing is `plumb-targets`' `yaml` module).

use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};
use std::collections::HashMap;

/// A node of the YAML tree, with the lines it spans (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub line: usize,
    pub end_line: usize,
    /// Which file the node was read from (an index the caller hands out).
    pub file: usize,
    /// Where it is in that file's text: a scalar's token (quotes included), a
    /// collection from its first to its last character. Nodes made by merging (a job
    /// with its `extends`) have an empty span; their parts keep theirs.
    pub span: ByteRange,
}

/// A byte range in a YAML file's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub start: u32,
    pub end: u32,
}

impl ByteRange {
    fn of(span: &Span) -> ByteRange {
        let offset = |m: &granit_parser::Marker| m.byte_offset().unwrap_or(0) as u32;
        ByteRange {
            start: offset(&span.start),
            end: offset(&span.end).max(offset(&span.start)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    /// A scalar; `plain` when unquoted (only plain scalars can be YAML 1.1 booleans).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// `!reference [.job, key, …]`.
    Reference(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_line: usize,
    /// Where the key is written (for a merged-in key, where the merge wrote it).
    pub key_span: ByteRange,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// More nodes than this (aliases expand) is refused: a "billion laughs" file would
/// otherwise take all memory.
const MAX_NODES: usize = 2_000_000;

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }
    pub fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }
    /// The items of a list, those of a list inside it (a `!reference` resolved) in its
    /// place, as GitLab flattens `script`, `rules`, `needs` and `services`.
    pub fn flattened(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack: Vec<&Node> = self.items().iter().rev().collect();
        while let Some(n) = stack.pop() {
            match &n.kind {
                Kind::Seq(items) => stack.extend(items.iter().rev()),
                _ => out.push(n),
            }
        }
        out
    }
    pub fn is_seq(&self) -> bool {
        matches!(self.kind, Kind::Seq(_))
    }
    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
    /// The scalar's text (numbers and booleans as written).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
    /// A YAML 1.1 boolean (`true`, `yes`, `on`, … when unquoted).
    /// A plain scalar Ruby's Psych reads as a boolean (YAML 1.1 as Psych has it: `yes`,
    /// `on`, `true` in any case; `y` and `n` stay strings).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
    /// A scalar as GitLab passes it on as a variable's value: Ruby's Psych reads a plain
    /// scalar as YAML 1.1 (`True`, `on` and `yes` are `true`; `010` is 8; `1_000` is
    /// 1000; `1.50` is 1.5; `~` is empty) and GitLab writes that value back as text.
    pub fn as_gitlab_string(&self) -> Option<String> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => Some(psych_text(text)),
            Kind::Scalar { text, .. } => Some(text.clone()),
            Kind::Null => Some(String::new()),
            _ => None,
        }
    }
    pub fn is_plain_scalar(&self) -> bool {
        matches!(self.kind, Kind::Scalar { plain: true, .. })
    }
    pub fn as_u64(&self) -> Option<u64> {
        self.as_str().and_then(|s| s.parse().ok())
    }
    /// A scalar, or the scalars of a sequence (GitLab accepts both in many places).
    pub fn strings(&self) -> Vec<String> {
        match &self.kind {
            Kind::Scalar { text, .. } => vec![text.clone()],
            Kind::Seq(items) => items.iter().flat_map(Node::strings).collect(),
            _ => Vec::new(),
        }
    }
    /// A plain scalar made by the import (not read from a file).
    pub fn scalar(text: &str, line: usize, file: usize) -> Node {
        Node {
            kind: Kind::Scalar {
                text: text.to_string(),
                plain: false,
            },
            line,
            end_line: line,
            file,
            span: ByteRange::default(),
        }
    }
    pub fn seq(items: Vec<Node>, line: usize, file: usize) -> Node {
        Node {
            kind: Kind::Seq(items),
            line,
            end_line: line,
            file,
            span: ByteRange::default(),
        }
    }
    pub fn map(entries: Vec<Entry>, line: usize, file: usize) -> Node {
        let end_line = entries
            .iter()
            .filter(|e| e.value.file == file)
            .map(|e| e.value.end_line)
            .max()
            .unwrap_or(line)
            .max(line);
        Node {
            kind: Kind::Map(entries),
            line,
            end_line,
            file,
            span: ByteRange::default(),
        }
    }
}

/// What a YAML text says besides its values, as the parser finds it.
#[derive(Debug, Default, PartialEq)]
pub struct Remarks {
    /// The comments (`#` to the line's end): never a `#` inside a quoted or block scalar.
    pub comments: Vec<ByteRange>,
    /// The scalars written over several lines, in order: a comment about one goes above
    /// the line it starts on.
    pub multiline: Vec<Multiline>,
}

/// A scalar written over several lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Multiline {
    /// Its text, to its last character (a block scalar's: from its first line of text;
    /// its `|` line is the nearest line with content above).
    pub range: ByteRange,
    /// A block scalar (`|`, `>`).
    pub block: bool,
}

/// The comments and multi-line scalars of a YAML text. Stops at a syntax error.
pub fn remarks(text: &str) -> Remarks {
    let mut parser = Parser::new_from_str(text);
    let mut out = Remarks::default();
    while let Some(Ok((event, span))) = parser.next_event() {
        match event {
            Event::Comment(..) => out.comments.push(ByteRange::of(&span)),
            Event::Scalar(_, style, ..) => {
                let mut range = ByteRange::of(&span);
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                // to its last character (a block's span runs on to what follows it)
                let written = text
                    .get(range.start as usize..range.end as usize)
                    .unwrap_or_default()
                    .trim_end();
                range.end = range.start + written.len() as u32;
                if block || written.contains(['\n', '\r']) {
                    out.multiline.push(Multiline { range, block });
                }
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    out
}

/// Where a comment about the value at `at` goes: the start of the line the value starts
/// on (a block scalar's `|` line, a quoted scalar's first line), through every
/// multi-line scalar that line is inside of. A comment put there is a comment, never
/// text of a scalar.
pub fn comment_line_for(text: &str, multiline: &[Multiline], at: usize) -> usize {
    let mut at = at.min(text.len());
    // each step moves to an earlier line: at most one step per multi-line scalar
    for _ in 0..=multiline.len() {
        let line = line_start(text, at);
        let i = multiline.partition_point(|m| (m.range.end as usize) <= line);
        let inside = multiline.get(i).filter(|m| {
            let first_line = line_start(text, m.range.start as usize);
            if m.block {
                first_line <= line
            } else {
                first_line < line
            }
        });
        match inside {
            None => return line,
            Some(m) if m.block => at = header_line(text, m.range.start as usize),
            Some(m) => at = m.range.start as usize,
        }
    }
    line_start(text, at)
}

fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|before| before.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1)
}

/// The start of a block scalar's `|` line: the nearest line with content above its text.
fn header_line(text: &str, text_start: usize) -> usize {
    let before = text
        .get(..line_start(text, text_start))
        .unwrap_or_default()
        .trim_end();
    line_start(text, before.len())
}

/// Parses the YAML documents of a file. GitLab reads the last one (a first document
/// holding only `spec:` declares a component's inputs).
///
/// A large file is read in two halves on two threads when it can be cut between two
/// top-level keys (see [`parse_halves`]); the result is the same tree.
pub fn parse(text: &str, file: usize) -> Result<Vec<Node>, YamlError> {
    if text.len() >= HALVES_FROM {
        if let Some(docs) = split_point(text).and_then(|at| parse_halves(text, file, at)) {
            return Ok(docs);
        }
    }
    read(text, file, Shift::default(), 1)
}

/// From this size a file is read in halves (below, a thread costs more than it saves).
const HALVES_FROM: usize = 256 * 1024;

/// Where a part of a file starts in the whole: its line numbers and byte offsets are
/// shifted by this much.
#[derive(Clone, Copy, Default)]
struct Shift {
    lines: usize,
    bytes: u32,
}

/// Reads `text` (a part of a file starting at `shift`, one of `parts` read at once, which
/// share the limits) into its documents.
fn read(text: &str, file: usize, shift: Shift, parts: usize) -> Result<Vec<Node>, YamlError> {
    read_part(text, file, shift, parts).map(|(docs, _)| docs)
}

/// [`read`], and whether a document's root is a flow collection (`{…}`, `[…]`).
fn read_part(
    text: &str,
    file: usize,
    shift: Shift,
    parts: usize,
) -> Result<(Vec<Node>, bool), YamlError> {
    let mut flow_root = false;
    let mut loader = Loader {
        text,
        anchors: HashMap::new(),
        nodes: 0,
        alias_bytes: 0,
        shift,
        max_nodes: MAX_NODES / parts,
        max_alias_bytes: MAX_ALIAS_BYTES / parts,
    };
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            line: e.marker().line() + shift.lines,
            message: e.info(),
        })?;
        if matches!(event, Event::StreamEnd) {
            break;
        }
        let line = span.start.line() + shift.lines;
        if let Event::MappingStart(StructureStyle::Flow, ..)
        | Event::SequenceStart(StructureStyle::Flow, ..) = event
        {
            flow_root |= stack.is_empty();
        }
        if let Some(node) = loader.event(event, &span, &mut stack, file)? {
            if loader.nodes > loader.max_nodes {
                return Err(too_many_nodes(line));
            }
            attach(&mut stack, &mut docs, node)?;
        }
    }
    Ok((docs, flow_root))
}

/// Where the `|` or `>` (with its indicators) of a block scalar whose text starts at
/// `text_start` is: on the nearest line with content above, the last `|` or `>` followed
/// only by indicators and then nothing or a comment. `text_start` itself when there is
/// none (the span is then the text's).
fn block_header(text: &str, text_start: usize) -> u32 {
    let header_line = header_line(text, text_start);
    let line = text
        .get(header_line..line_start(text, text_start))
        .unwrap_or_default()
        .trim_end();
    let header = line.char_indices().rev().find(|&(i, c)| {
        let after = line[i + c.len_utf8()..]
            .trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        matches!(c, '|' | '>')
            && (after.is_empty()
                || (after.starts_with([' ', '\t']) && after.trim_start().starts_with('#')))
    });
    let at = header.map_or(text_start, |(i, _)| header_line + i);
    u32::try_from(at).unwrap_or(0)
}

fn too_many_nodes(line: usize) -> YamlError {
    YamlError {
        line,
        message: format!("more than {MAX_NODES} nodes once aliases are expanded"),
    }
}

impl Loader<'_> {
    fn range(&self, span: &Span) -> ByteRange {
        let r = ByteRange::of(span);
        ByteRange {
            start: r.start + self.shift.bytes,
            end: r.end + self.shift.bytes,
        }
    }

    /// The node an event finishes (a scalar, an alias, a closed collection), if any;
    /// a collection's start is pushed on `stack`.
    fn event(
        &mut self,
        event: Event<'_>,
        span: &Span,
        stack: &mut Vec<Frame>,
        file: usize,
    ) -> Result<Option<Node>, YamlError> {
        let line = span.start.line() + self.shift.lines;
        Ok(match event {
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or(YamlError {
                    line,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                self.count(&node, line)?;
                Some(node)
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError {
                    line,
                    message: format!("alias `*{name}` has no anchor"),
                })
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let kind = if plain && is_null(&text) && tag.is_none() {
                    Kind::Null
                } else {
                    Kind::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                let mut range = self.range(span);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    // a block scalar's span starts at its text: its value is from `|`
                    range.start = self.shift.bytes
                        + block_header(self.text, (range.start - self.shift.bytes) as usize);
                }
                let node = Node {
                    kind,
                    line,
                    end_line: end_line(span) + self.shift.lines,
                    file,
                    span: range,
                };
                self.nodes += 1;
                self.remember(anchor, &node);
                Some(node)
            }
            Event::SequenceStart(_, anchor, tag) => {
                let reference = tag
                    .as_ref()
                    .is_some_and(|t| t.handle() == "!" && t.suffix() == "reference");
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    line,
                    start: self.range(span).start,
                    reference,
                });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    index: HashMap::new(),
                    key: None,
                    anchor,
                    line,
                    start: self.range(span).start,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let end = self.range(span).end;
                Some(close(stack.pop(), self, file, line, end)?)
            }
            // comments, anchors and document marks carry nothing a node keeps; the enum is
            // non-exhaustive: what a later parser adds is presentation
            _ => None,
        })
    }
}

/// Where a large file can be cut in two, near its middle (see [`is_cut`]). `None` when
/// it cannot be (see [`one_plain_document`]) or has no such place.
fn split_point(text: &str) -> Option<usize> {
    if !one_plain_document(text) {
        return None;
    }
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if at >= text.len() / 2 && is_cut(text, at) {
            return Some(at);
        }
        at += line.len();
    }
    None
}

/// Whether a text is one document with no directive (`%TAG` changes what a tag in the
/// second half means; `---` or `...` starts another document) and only `\n` or `\r\n`
/// line breaks (a lone `\r` is a line break too, behind which either could hide).
fn one_plain_document(text: &str) -> bool {
    let lone_return = text
        .match_indices('\r')
        .any(|(i, _)| text.as_bytes().get(i + 1) != Some(&b'\n'));
    let marks = |line: &str| {
        let line = line.trim_start_matches('\u{feff}');
        line.starts_with("---") || line.starts_with("...") || line.starts_with('%')
    };
    !lone_return && !text.split('\n').any(marks)
}

/// A place the file can be read from on its own: the start of a line that can only be a
/// key of the top-level mapping (at column 0, a plain or quoted name, a `:` after it).
/// What ends before it (a block scalar's blank lines, a comment) stays in the first half.
fn is_cut(text: &str, at: usize) -> bool {
    let at_line_start = at > 0 && text.as_bytes().get(at - 1) == Some(&b'\n');
    let line = text.get(at..).and_then(|t| t.split('\n').next());
    at_line_start
        && line.is_some_and(|line| {
            line.starts_with(|c: char| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | '"' | '\'')
            }) && line.contains(':')
        })
}

/// The line breaks of a text as YAML counts them: `\n`, `\r\n` and a lone `\r`.
fn line_breaks(text: &str) -> usize {
    let lone_returns = text
        .match_indices('\r')
        .filter(|(i, _)| text.as_bytes().get(i + 1) != Some(&b'\n'))
        .count();
    text.matches('\n').count() + lone_returns
}

/// The file read as two halves on two threads, cut at `at`, when both halves are one
/// top-level mapping each: the second half's keys are then set into the first's as the
/// whole file's reading would have (a repeated key's last value wins at its first place).
/// `None` (read the whole file instead) when a half does not read alone: a quoted or
/// flow value that goes on past the cut, an alias to an anchor of the other half, a
/// syntax error (whose message must come from the whole file), or the limits together.
pub fn parse_halves(text: &str, file: usize, at: usize) -> Option<Vec<Node>> {
    if !is_cut(text, at) || !one_plain_document(text) {
        return None;
    }
    let (first, second) = (text.get(..at)?, text.get(at..)?);
    let shift = Shift {
        lines: line_breaks(first),
        bytes: u32::try_from(at).ok()?,
    };
    let (a, b) = std::thread::scope(|scope| {
        // aliases of aliases nest deep: a stack as large as the importer's threads
        let b = std::thread::Builder::new()
            .stack_size(crate::LARGE_STACK)
            .spawn_scoped(scope, || read_part(second, file, shift, 2))
            .ok()?;
        let a = read_part(first, file, Shift::default(), 2);
        Some((a, b.join().ok()?))
    })?;
    // each half had half the limits: what needs more is refused by the whole file's reading
    let ((mut a_docs, a_flow), (mut b_docs, b_flow)) = (a.ok()?, b.ok()?);
    let (Some(a_root), Some(b_root)) = (a_docs.pop(), b_docs.pop()) else {
        return None;
    };
    // a `{…}` root ends with its `}`: the whole file has nothing after it (an error)
    if !a_docs.is_empty() || !b_docs.is_empty() || a_flow || b_flow {
        return None;
    }
    // the second half's keys are at column 0: so must the first's be (an indented
    // mapping would end where the second half starts, an error in the whole file)
    let at_column_0 =
        |offset: u32| offset == 0 || first.as_bytes().get(offset as usize - 1) == Some(&b'\n');
    if !at_column_0(a_root.span.start) {
        return None;
    }
    let (Kind::Map(mut entries), Kind::Map(more)) = (a_root.kind, b_root.kind) else {
        return None;
    };
    let mut index = HashMap::new();
    for e in more {
        set(
            &mut entries,
            &mut index,
            (e.key, e.key_line, e.key_span),
            e.value,
        );
    }
    let mut root = Node::map(entries, a_root.line, file);
    root.span = ByteRange {
        start: a_root.span.start,
        end: b_root.span.end,
    };
    Some(vec![root])
}

/// The node a sequence or mapping that just ended makes.
fn close(
    frame: Option<Frame>,
    loader: &mut Loader,
    file: usize,
    line: usize,
    end: u32,
) -> Result<Node, YamlError> {
    let (node, anchor) = match frame {
        Some(Frame::Seq {
            items,
            anchor,
            line,
            start,
            reference,
        }) => {
            let end_line = items.iter().map(|n| n.end_line).max().unwrap_or(line);
            let kind = if reference {
                Kind::Reference(items.iter().flat_map(Node::strings).collect())
            } else {
                Kind::Seq(items)
            };
            let node = Node {
                kind,
                line,
                end_line,
                file,
                span: ByteRange {
                    start,
                    end: end.max(start),
                },
            };
            (node, anchor)
        }
        Some(Frame::Map {
            entries,
            anchor,
            line,
            start,
            ..
        }) => {
            let mut node = Node::map(entries, line, file);
            node.span = ByteRange {
                start,
                end: end.max(start),
            };
            (node, anchor)
        }
        None => return Err(unbalanced(line)),
    };
    loader.nodes += 1;
    loader.remember(anchor, &node);
    Ok(node)
}

/// Puts a finished node where it belongs: a document, a sequence item, a mapping key,
/// or the value of the key before it.
fn attach(stack: &mut [Frame], docs: &mut Vec<Node>, node: Node) -> Result<(), YamlError> {
    let Some(frame) = stack.last_mut() else {
        docs.push(node);
        return Ok(());
    };
    let (entries, index, key) = match frame {
        Frame::Seq { items, .. } => {
            items.push(node);
            return Ok(());
        }
        Frame::Map {
            entries,
            index,
            key,
            ..
        } => (entries, index, key),
    };
    match key.take() {
        None => {
            let text = match &node.kind {
                Kind::Scalar { text, .. } => text.clone(),
                Kind::Null => String::new(),
                _ => {
                    return Err(YamlError {
                        line: node.line,
                        message: "a mapping key must be a scalar".to_string(),
                    })
                }
            };
            *key = Some((text, node.line, node.span));
        }
        Some((k, _, _)) if k == "<<" => {
            for e in merged_entries(node) {
                set(entries, index, (e.key, e.key_line, e.key_span), e.value);
            }
        }
        Some(key) => set(entries, index, key, node),
    }
    Ok(())
}

/// From this many keys a mapping is indexed (below, a linear search is faster).
const INDEXED_FROM: usize = 16;

/// Psych's assignment of a key: a repeated key's last value wins, at the first place
/// (found through the index: a mapping of many keys must not cost their number squared).
fn set(
    entries: &mut Vec<Entry>,
    index: &mut HashMap<String, usize>,
    (key, key_line, key_span): (String, usize, ByteRange),
    value: Node,
) {
    // most mappings are small: searched in place; a large one gets an index
    let found = if entries.len() < INDEXED_FROM {
        entries.iter().position(|e| e.key == key)
    } else {
        if index.is_empty() {
            index.extend(entries.iter().enumerate().map(|(i, e)| (e.key.clone(), i)));
        }
        index.get(&key).copied()
    };
    match found {
        Some(i) => {
            entries[i].value = value;
            entries[i].key_line = key_line;
            entries[i].key_span = key_span;
        }
        None => {
            if !index.is_empty() {
                index.insert(key.clone(), entries.len());
            }
            entries.push(Entry {
                key,
                key_line,
                key_span,
                value,
            });
        }
    }
}

/// What a `<<` merges, as Psych reads it: a mapping's entries, or for a sequence of
/// mappings their union where the first mapping wins. Psych merges them in at the
/// `<<`, in order: a merge overrides the keys written before it, and keys written after
/// it override the merge.
fn merged_entries(node: Node) -> Vec<Entry> {
    match node.kind {
        Kind::Map(entries) => entries,
        Kind::Seq(items) => {
            let mut out = Vec::new();
            let mut index = HashMap::new();
            for item in items.into_iter().rev() {
                if let Kind::Map(entries) = item.kind {
                    for e in entries {
                        set(
                            &mut out,
                            &mut index,
                            (e.key, e.key_line, e.key_span),
                            e.value,
                        );
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        line: usize,
        start: u32,
        reference: bool,
    },
    Map {
        entries: Vec<Entry>,
        /// Where each key is in `entries`.
        index: HashMap<String, usize>,
        /// The key read, waiting for its value: text, line, where.
        key: Option<(String, usize, ByteRange)>,
        anchor: usize,
        line: usize,
        start: u32,
    },
}

struct Loader<'a> {
    /// The text read (a part of a file: see `shift`).
    text: &'a str,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    /// Bytes of scalar text that aliases have copied.
    alias_bytes: usize,
    /// Where the text read starts in its file.
    shift: Shift,
    /// The limits of this part of the file (a half has half of them).
    max_nodes: usize,
    max_alias_bytes: usize,
}

impl Loader<'_> {
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
    fn count(&mut self, node: &Node, line: usize) -> Result<(), YamlError> {
        self.nodes += size(node);
        // a few large strings aliased many times are as costly as many nodes
        self.alias_bytes += text_bytes(node);
        if self.alias_bytes > self.max_alias_bytes {
            return Err(YamlError {
                line,
                message: format!(
                    "aliases copy more than {} MiB of text",
                    MAX_ALIAS_BYTES >> 20
                ),
            });
        }
        if self.nodes > self.max_nodes {
            return Err(too_many_nodes(line));
        }
        Ok(())
    }
}

/// More text than this copied by aliases is refused (a 256 KiB string aliased 400
/// times took gigabytes once checked).
const MAX_ALIAS_BYTES: usize = 16 << 20;

fn text_bytes(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar { text, .. } => text.len(),
        Kind::Seq(items) => items.iter().map(text_bytes).sum(),
        Kind::Map(entries) => entries
            .iter()
            .map(|e| e.key.len() + text_bytes(&e.value))
            .sum(),
        Kind::Reference(parts) => parts.iter().map(String::len).sum(),
        Kind::Null => 0,
    }
}

fn size(node: &Node) -> usize {
    1 + match &node.kind {
        Kind::Seq(items) => items.iter().map(size).sum(),
        Kind::Map(entries) => entries.iter().map(|e| size(&e.value)).sum(),
        _ => 0,
    }
}

/// YAML 1.1 merge keys: keys written in the mapping win over merged ones; of several
/// merged mappings, the first that has a key gives it.
/// A plain scalar's text as Psych's value of it prints (see [`Node::as_gitlab_string`]).
fn psych_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "yes" | "on" => return "true".to_string(),
        "false" | "no" | "off" => return "false".to_string(),
        _ => {}
    }
    if let Some(n) = yaml11_int(text) {
        return n.to_string();
    }
    psych_float(text).unwrap_or_else(|| text.to_string())
}

/// A plain scalar Psych reads as a float, as Ruby's `Float#to_s` writes it: `1.50` is
/// `1.5`, `1.0e+3` is `1000.0`, `.inf` is `Infinity`, `.nan` is `NaN` (Psych's FLOAT:
/// digits, `_` and `,`, one `.`, and an exponent with a sign).
fn psych_float(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        ".inf" | "+.inf" => return Some("Infinity".into()),
        "-.inf" => return Some("-Infinity".into()),
        ".nan" => return Some("NaN".into()),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.')?;
    let whole_ok = whole.is_empty()
        || whole.starts_with(|c: char| c.is_ascii_digit())
            && whole
                .chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == ',');
    let exponent_ok = exponent.is_none_or(|e| {
        e.len() > 1 && e.starts_with(['-', '+']) && e[1..].chars().all(|c| c.is_ascii_digit())
    });
    let fraction_ok = fraction.chars().all(|c| c.is_ascii_digit());
    if !whole_ok || !exponent_ok || !fraction_ok || whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let number: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    let value = number.parse::<f64>().ok()?;
    Some(ruby_float_to_s(value))
}

/// Ruby's `Float#to_s`: the shortest digits that read back, in fixed notation from
/// 0.0001 to below 10^16 (`1000.0`, `0.001`), else exponential (`1.0e+16`, `1.5e-05`).
fn ruby_float_to_s(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value.is_nan() {
        return "NaN".into();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    // `{:e}` gives the shortest digits: `1.5e-5`, `1e20`
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = exponent.parse::<i32>().unwrap_or(0) + 1;
    let n = digits.len() as i32;
    let text = if (1..=16).contains(&point) {
        if n <= point {
            format!("{digits}{}.0", "0".repeat((point - n) as usize))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    } else if (-3..=0).contains(&point) {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        let e = point - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        format!("{}.{rest}e{e_sign}{:02}", &digits[..1], e.abs())
    };
    format!("{sign}{text}")
}

/// A YAML 1.1 integer: decimal with `_`, `0x…`, `0b…`, octal `0…`, sexagesimal `1:20`.
fn yaml11_int(text: &str) -> Option<i128> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    // Psych accepts `_` and `,` between digits (`1_000`, `1,000`)
    let digits = body.replace(['_', ','], "");
    if digits.is_empty() || body.starts_with('_') {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') && !digits.contains(':') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else if digits.contains(':') {
        // Psych weighs the parts by 60 to the power |position − 2|: `1:02:03` is 3723,
        // and `1:30` is 5400 (not 90)
        if !(2..=3).contains(&digits.split(':').count()) {
            return None;
        }
        let mut total: i128 = 0;
        for (e, part) in digits.split(':').enumerate() {
            let n: i128 = part.parse().ok()?;
            if e > 0 && (n >= 60 || part.len() > 2) {
                return None;
            }
            let weight = 60i128.checked_pow((e as i64 - 2).unsigned_abs() as u32)?;
            total = total.checked_add(n.checked_mul(weight)?)?;
        }
        total
    } else if digits.chars().all(|c| c.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    value.checked_mul(sign)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn end_line(span: &Span) -> usize {
    // a block scalar's span ends at the start of the line after it
    if span.end.col() == 0 && span.end.line() > span.start.line() {
        span.end.line() - 1
    } else {
        span.end.line()
    }
}

fn unbalanced(line: usize) -> YamlError {
    YamlError {
        line,
        message: "unbalanced YAML events".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse(text, 0).expect("parses").pop().expect("a document")
    }

    #[test]
    fn merge_keys_and_aliases_expand_as_in_yaml_1_1() {
        let n = doc("base: &b\n  image: a\n  tags: [x]\njob:\n  <<: *b\n  image: c\n");
        let job = n.get("job").expect("job");
        assert_eq!(job.get("image").and_then(Node::as_str), Some("c"));
        assert_eq!(
            job.get("tags").map(Node::strings),
            Some(vec!["x".to_string()])
        );
        assert_eq!(job.entry("image").map(|e| e.key_line), Some(6));
    }

    /// As Psych reads it: a `<<` merges in at its place (a sequence's first mapping
    /// winning), overriding the keys before it; later keys override it; a repeated key
    /// keeps its first place with its last value.
    #[test]
    fn merge_order_and_repeated_keys() {
        let n = doc(concat!(
            "a: &a {x: 1, y: 1}\n",
            "b: &b {y: 2, z: 2}\n",
            "m:\n  first: 0\n  <<: [*a, *b]\n  y: 3\n  first: 4\n  <<: {w: 5, x: 6}\n  last: 7\n",
        ));
        let m = n.get("m").expect("m");
        let keys: Vec<&str> = m.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["first", "y", "z", "x", "w", "last"]);
        let value = |k: &str| m.get(k).and_then(Node::as_str).map(str::to_string);
        assert_eq!(value("first").as_deref(), Some("4"));
        assert_eq!(value("x").as_deref(), Some("6"), "a later `<<` overrides");
        assert_eq!(value("y").as_deref(), Some("3"));
        assert_eq!(value("z").as_deref(), Some("2"));
    }

    #[test]
    fn variable_values_are_what_gitlab_passes() {
        let n = doc(concat!(
            "a: True\nb: off\nc: 'True'\nd: 010\ne: 1_000\nf: 0x1F\ng: 1.50\nh: 2.0\n",
            "i: 1:30\nj: ~\nk: v1.2\nl: 1.2.3\nm: 007abc\nn: -5\no: 1,000\np: 1:02:03\n",
            "q: 1.0e+3\nr: .inf\ns: -.Inf\nt: .NaN\nu: 1e3\nv: 1.5e-5\nw: 12345678901234567.0\n",
            "x: 0.0001\ny: 1.\nz: 1.0e3\n",
        ));
        let value = |k: &str| {
            n.get(k)
                .and_then(Node::as_gitlab_string)
                .unwrap_or_default()
        };
        for (key, expected) in [
            ("a", "true"),
            ("b", "false"),
            ("c", "True"),
            ("q", "1000.0"),
            ("r", "Infinity"),
            ("s", "-Infinity"),
            ("t", "NaN"),
            ("u", "1e3"),
            ("v", "1.5e-05"),
            ("w", "1.2345678901234568e+16"),
            ("x", "0.0001"),
            ("y", "1.0"),
            ("z", "1.0e3"),
            ("d", "8"),
            ("e", "1000"),
            ("f", "31"),
            ("g", "1.5"),
            ("h", "2.0"),
            ("i", "5400"),
            ("j", ""),
            ("k", "v1.2"),
            ("l", "1.2.3"),
            ("m", "007abc"),
            ("n", "-5"),
            ("o", "1000"),
            ("p", "3723"),
        ] {
            assert_eq!(value(key), expected, "{key}");
        }
    }

    #[test]
    fn references_booleans_and_nulls() {
        let n = doc("a: !reference [.x, script]\nb: yes\nc: 'yes'\nd: ~\n");
        assert_eq!(
            n.get("a").map(|a| a.kind.clone()),
            Some(Kind::Reference(vec![".x".into(), "script".into()]))
        );
        assert_eq!(n.get("b").and_then(Node::as_bool), Some(true));
        assert_eq!(n.get("c").and_then(Node::as_bool), None);
        assert!(n.get("d").is_some_and(Node::is_null));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text, 0).is_err());
    }

    #[test]
    fn large_strings_aliased_many_times_are_refused() {
        let big = "x".repeat(256 * 1024);
        let mut text = format!("a: &s \"{big}\"\njob:\n  script:\n");
        for _ in 0..100 {
            text.push_str("    - *s\n");
        }
        let e = parse(&text, 0).expect_err("too much text");
        assert!(e.message.contains("MiB"), "{e:?}");
    }

    /// Every cut at a line start reads as the whole file, or is refused.
    fn halves_agree(text: &str) -> usize {
        let whole = read(text, 0, Shift::default(), 1);
        let mut used = 0;
        for (at, _) in text.match_indices('\n') {
            if let Some(halves) = parse_halves(text, 0, at + 1) {
                assert_eq!(Ok(&halves), whole.as_ref(), "cut at {}: {text:?}", at + 1);
                used += 1;
            }
        }
        used
    }

    #[test]
    fn a_file_read_in_halves_is_the_file() {
        for text in [
            "a: \"x\ny: z\"\nb: 1\n",
            "a: 'x\ny: z'\nb: 1\n",
            "a: [1,\nb]\nc: 2\n",
            "a: {x: 1,\nb: 2}\nc: 2\n",
            "a: |\n  x\n\nb: 1\n",
            "a: |+\n  x\n\n\nb: 1\n",
            "a: >-\n  x\n  y\nb: 1\n",
            "a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
            "a: 1\nb: 2\na: 3\n",
            "<<: {x: 1}\nx: 2\ny: 3\n<<: {y: 4, z: 5}\n",
            "a: foo\nbar: baz\nc: d\n",
            "a:\n- 1\n- 2\nb: 3\n",
            "? a\n: b\nc: d\n",
            "a: b\n---\nc: d\n",
            "a: !reference [x, y]\nb: 1\n",
            "a: 1 # c: d\n# e: f\ng: 2\n",
            "a: x\n  y\nb: 1\n",
            "\"q\": 1\n'r': 2\n$s: 3\n",
            "a:\n  b: 1\nc: [\n]\nd: 2\n",
            "a: 1\nb: c: d\n",
            // a lone `\r` is a line break too (found by the fuzzer)
            "a:\n  b: x\r\r\r c\r\n  d: y\nv:\n  w: 1\n",
            "a: 1\r\nb: 2\r\nc: 3\r\n",
            // a top-level mapping that is indented ends at a key at column 0 (fuzzer)
            "# c\n  a: 1\n  b: 2\nc: 3\n",
            "\n\n  a: 1\nc: 3\n",
            // a document end or directive behind a lone `\r`, a flow root (attack review)
            "a: 1\r...\nb: 2\nc: 3\n",
            "# c\n%TAG ! tag:example.com,2000:\r---\na: !reference [x]\nb: 1\n",
            "\u{feff}%YAML 1.1\n---\na: 1\nb: 2\n",
            "{a: {b: 1}}\nc: 2\nd: 3\n",
            "{a: 1,\n b: 2}\nc: 2\n",
        ] {
            halves_agree(text);
        }
        assert!(
            halves_agree("a: 1\nb:\n  c: 2\nd: 3\n") >= 2,
            "plain files are cut"
        );
    }

    #[test]
    fn large_files_are_read_in_halves_where_they_can_be() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("job{i}:\n  script: [echo {i}]\n"));
        }
        let at = split_point(&text).expect("a cut");
        assert!(text[at..].starts_with("job"), "{}", &text[at..at + 10]);
        assert_eq!(parse(&text, 0), read(&text, 0, Shift::default(), 1));
        assert_eq!(split_point(&format!("{text}---\nx: 1\n")), None);
    }

    /// A block scalar's value starts at its `|` (or `>`), where a comment above it can
    /// be put; the text of it is found below that line.
    #[test]
    fn block_scalars_start_at_their_header() {
        let text =
            "a:\n  - |-  # note: a|b\n\n    echo 1\n    echo 2\n  - >\t# tab\n    x\nb: plain\n";
        let n = doc(text);
        let items = n.get("a").map(Node::items).unwrap_or_default();
        let starts: Vec<&str> = items
            .iter()
            .map(|i| &text[i.span.start as usize..])
            .collect();
        assert!(starts[0].starts_with("|-  # note"), "{:?}", starts[0]);
        assert!(starts[1].starts_with(">\t# tab"), "{:?}", starts[1]);
        let b = n.get("b").expect("b");
        assert_eq!(&text[b.span.start as usize..b.span.end as usize], "plain");
        let r = remarks(text);
        assert_eq!(r.comments.len(), 2);
        let multiline: Vec<(&str, bool)> = r
            .multiline
            .iter()
            .map(|m| (&text[m.range.start as usize..m.range.end as usize], m.block))
            .collect();
        assert_eq!(multiline, [("echo 1\n    echo 2", true), ("x", true)]);
        // a comment about a line of a block goes above the block's `|` line
        let at = |s: &str| text.find(s).expect("in text");
        assert_eq!(
            comment_line_for(text, &r.multiline, at("echo 2")),
            at("  - |-")
        );
        assert_eq!(
            comment_line_for(text, &r.multiline, at("x\nb")),
            at("  - >")
        );
        assert_eq!(
            comment_line_for(text, &r.multiline, at("plain")),
            at("b: plain")
        );
    }

    #[test]
    fn syntax_errors_carry_their_line() {
        let e = parse("a: [1, 2\nb: c\n", 0).expect_err("unclosed");
        assert!(e.line >= 1, "{e:?}");
    }
}
