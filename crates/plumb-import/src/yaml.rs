//! Reads YAML as GitLab does (Psych, YAML 1.1): anchors and aliases expanded, merge keys
//! (`<<`) applied, `!reference` tags kept for the GitLab layer, every node with its line.
//!
//! This is the only YAML *reader* of Plumb (writing is `plumb-targets`' `yaml` module).

use granit_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// A node of the YAML tree, with the lines it spans (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub line: usize,
    pub end_line: usize,
    /// Which file the node was read from (an index the caller hands out).
    pub file: usize,
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
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y"
                | "Y" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
                | "N" => Some(false),
                _ => None,
            },
            _ => None,
        }
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
        }
    }
}

/// Parses the YAML documents of a file. GitLab reads the last one (a first document
/// holding only `spec:` declares a component's inputs).
pub fn parse(text: &str, file: usize) -> Result<Vec<Node>, YamlError> {
    let mut loader = Loader {
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            line: e.marker().line(),
            message: e.info(),
        })?;
        let line = span.start.line();
        let done = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentStart(..) | Event::DocumentEnd => None,
            Event::Comment(..) | Event::Anchor(..) => None,
            Event::Alias(id) => {
                let node = loader.anchors.get(&id).cloned().ok_or(YamlError {
                    line,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                loader.count(&node, line)?;
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
                let node = Node {
                    kind,
                    line,
                    end_line: end_line(&span),
                    file,
                };
                loader.nodes += 1;
                loader.remember(anchor, &node);
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
                    reference,
                });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                    anchor,
                    line,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    line,
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
                    };
                    loader.nodes += 1;
                    loader.remember(anchor, &node);
                    Some(node)
                }
                _ => return Err(unbalanced(line)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    merges,
                    anchor,
                    line,
                    ..
                }) => {
                    let node = Node::map(apply_merges(entries, merges), line, file);
                    loader.nodes += 1;
                    loader.remember(anchor, &node);
                    Some(node)
                }
                _ => return Err(unbalanced(line)),
            },
            // the enum is non-exhaustive: what a later parser adds is presentation
            _ => None,
        };
        if let Some(node) = done {
            if loader.nodes > MAX_NODES {
                return Err(YamlError {
                    line,
                    message: format!("more than {MAX_NODES} nodes once aliases are expanded"),
                });
            }
            match stack.last_mut() {
                None => docs.push(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    merges,
                    key,
                    ..
                }) => match key.take() {
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
                        *key = Some((text, node.line));
                    }
                    Some((k, key_line)) if k == "<<" => {
                        merges.push((entries.len(), node, key_line));
                    }
                    Some((k, key_line)) => {
                        // Psych: a repeated key's last value wins, at the first place
                        if let Some(e) = entries.iter_mut().find(|e| e.key == k) {
                            e.value = node;
                            e.key_line = key_line;
                        } else {
                            entries.push(Entry {
                                key: k,
                                key_line,
                                value: node,
                            });
                        }
                    }
                },
            }
        }
    }
    Ok(docs)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        line: usize,
        reference: bool,
    },
    Map {
        entries: Vec<Entry>,
        /// `<<` values, with the number of entries before them.
        merges: Vec<(usize, Node, usize)>,
        key: Option<(String, usize)>,
        anchor: usize,
        line: usize,
    },
}

struct Loader {
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl Loader {
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
    fn count(&mut self, node: &Node, line: usize) -> Result<(), YamlError> {
        self.nodes += size(node);
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                line,
                message: format!("more than {MAX_NODES} nodes once aliases are expanded"),
            });
        }
        Ok(())
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
fn apply_merges(mut entries: Vec<Entry>, merges: Vec<(usize, Node, usize)>) -> Vec<Entry> {
    let mut inserted = 0;
    for (at, value, _) in merges {
        let sources: Vec<Node> = match value.kind {
            Kind::Map(_) => vec![value],
            Kind::Seq(items) => items,
            _ => Vec::new(),
        };
        for source in sources {
            if let Kind::Map(merged) = source.kind {
                for e in merged {
                    if !entries.iter().any(|x| x.key == e.key) {
                        entries.insert((at + inserted).min(entries.len()), e);
                        inserted += 1;
                    }
                }
            }
        }
    }
    entries
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
    fn syntax_errors_carry_their_line() {
        let e = parse("a: [1, 2\nb: c\n", 0).expect_err("unclosed");
        assert!(e.line >= 1, "{e:?}");
    }
}
