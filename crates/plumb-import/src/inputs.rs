//! `spec: inputs`, filled in as GitLab fills them when it reads a file: each
//! `$[[ inputs.NAME ]]` in a key or a value of the file's last document becomes the input
//! the `include:` gives (`inputs:`), else the input's `default:`. A value that is one
//! interpolation block and nothing else takes the input's own type (a number, a
//! boolean, a list); inside a longer string the input is written as text.
//!
//! What cannot be filled in stays as written, with a warning: an input neither given nor
//! defaulted (GitLab refuses the pipeline), a function other than `expand_vars`,
//! `truncate(…)` and `posix_escape`, a list inside a longer string. The text filled in
//! is bounded ([`MAX_FILLED_BYTES`]): a long default used in many places cannot make the
//! import take all memory.

use crate::yaml::{Entry, Kind, Node};
use crate::Warning;
use std::collections::BTreeMap;

/// More than this filled in for one file (text bytes, and [`NODE_WEIGHT`] for each node
/// an input's value copies) stops the filling (a warning says so). A file may be read
/// again for each `include:` that gives it other inputs ([`crate::gitlab`] reads at most
/// 150 files), so this bounds a pipeline too.
const MAX_FILLED_BYTES: usize = 1024 * 1024;

/// What one node of a value copied counts towards [`MAX_FILLED_BYTES`].
const NODE_WEIGHT: usize = 16;

/// The inputs of one file as it is read: each declared input's value, when it has one.
pub struct Inputs {
    values: BTreeMap<String, Node>,
    /// The declared inputs with neither a value given nor a default.
    missing: Vec<String>,
    file: usize,
    filled_bytes: usize,
    /// Messages said once per file (the same missing input used twice is one warning),
    /// in order, and as a set (thousands of blocks must not be compared pairwise).
    said: Vec<(usize, String)>,
    said_set: std::collections::HashSet<(usize, String)>,
}

impl Inputs {
    /// The inputs `spec` (a file's first document) declares, filled from `given` (the
    /// `inputs:` of the `include:` that reads it; `None` for the pipeline's own file,
    /// whose inputs take their defaults). Warns of inputs given but not declared.
    pub fn declared(
        spec: &Node,
        given: Option<&Node>,
        file: usize,
        warnings: &mut Vec<Warning>,
    ) -> Inputs {
        let declared = spec.get("spec").and_then(|s| s.get("inputs"));
        let mut inputs = Inputs {
            values: BTreeMap::new(),
            missing: Vec::new(),
            file,
            filled_bytes: 0,
            said: Vec::new(),
            said_set: std::collections::HashSet::new(),
        };
        for e in declared.map(Node::entries).unwrap_or_default() {
            let given_value = given.and_then(|g| g.get(&e.key));
            match given_value.or_else(|| e.value.get("default")) {
                Some(v) => inputs.values.insert(e.key.clone(), v.clone()),
                None => {
                    inputs.missing.push(e.key.clone());
                    None
                }
            };
        }
        for e in given.map(Node::entries).unwrap_or_default() {
            if declared.and_then(|d| d.get(&e.key)).is_none() {
                warnings.push(Warning::at(
                    e.value.file,
                    e.key_line,
                    format!(
                        "input `{}` is not declared by the included file's `spec: inputs` (GitLab refuses it): left out",
                        crate::literal::one_line_keeping(&e.key, &[])
                    ),
                ));
            }
        }
        inputs
    }

    /// `doc` with its interpolation blocks filled in.
    pub fn fill(&mut self, doc: Node, warnings: &mut Vec<Warning>) -> Node {
        let filled = self.fill_node(doc);
        for (line, message) in std::mem::take(&mut self.said) {
            warnings.push(Warning::at(self.file, line, message));
        }
        filled
    }

    fn fill_node(&mut self, node: Node) -> Node {
        match node.kind {
            Kind::Scalar { ref text, .. } if text.contains("$[[") => self.fill_scalar(node),
            Kind::Seq(items) => Node {
                kind: Kind::Seq(items.into_iter().map(|i| self.fill_node(i)).collect()),
                ..node
            },
            Kind::Map(entries) => Node {
                kind: Kind::Map(entries.into_iter().map(|e| self.fill_entry(e)).collect()),
                ..node
            },
            _ => node,
        }
    }

    fn fill_entry(&mut self, e: Entry) -> Entry {
        let key = if e.key.contains("$[[") {
            self.fill_text(&e.key, e.key_line)
        } else {
            e.key
        };
        Entry {
            key,
            value: self.fill_node(e.value),
            ..e
        }
    }

    /// A scalar: the input's own node when the scalar is one block, else the text with
    /// each block filled in (its span kept: a check finds a part of the text in the
    /// written scalar when it is there, else points at the whole scalar).
    fn fill_scalar(&mut self, node: Node) -> Node {
        let Kind::Scalar { text, plain } = &node.kind else {
            return node;
        };
        if let Some(value) = whole_block(text).and_then(|b| self.value_of(b, node.line)) {
            // a node's whole size: a default built of aliases is short text, many nodes
            let left = MAX_FILLED_BYTES.saturating_sub(self.filled_bytes);
            if self.spend(weight(&value, left.saturating_add(1))) {
                return value;
            }
            return node;
        }
        let filled = self.fill_text(text, node.line);
        if filled == *text {
            return node;
        }
        Node {
            kind: Kind::Scalar {
                text: filled,
                plain: *plain,
            },
            ..node
        }
    }

    /// `text` with each block filled in as text; one that cannot be is kept as written.
    fn fill_text(&mut self, text: &str, line: usize) -> String {
        replace_blocks(text, |inner| {
            let value = self.text_of(inner, line)?;
            self.spend(value.len()).then_some(value)
        })
    }

    /// The input a block names, as its node (functions applied make it a string).
    fn value_of(&mut self, block: &str, line: usize) -> Option<Node> {
        let (name, functions) = parse_block(block)?;
        if functions.is_empty() {
            return self.lookup(name, line).cloned();
        }
        let text = self.text_of(block, line)?;
        let at = self.lookup(name, line)?;
        Some(Node {
            kind: Kind::Scalar { text, plain: false },
            ..at.clone()
        })
    }

    /// The input a block names as text, its functions applied.
    fn text_of(&mut self, block: &str, line: usize) -> Option<String> {
        let (name, functions) = parse_block(block)?;
        let value = self.lookup(name, line)?;
        let Some(mut text) = scalar_text(value) else {
            self.say(
                line,
                format!(
                    "input `{name}` is a list or a mapping inside a longer string: kept as written"
                ),
            );
            return None;
        };
        for f in functions {
            match apply(f, &text) {
                Some(t) => text = t,
                None => {
                    self.say(line, format!("the function `{f}` of input `{name}` is not known here: kept as written"));
                    return None;
                }
            }
        }
        Some(text)
    }

    fn lookup(&mut self, name: &str, line: usize) -> Option<&Node> {
        if !self.values.contains_key(name) {
            let why = if self.missing.iter().any(|m| m == name) {
                "is neither given nor defaulted (GitLab refuses the pipeline)"
            } else {
                "is not declared in `spec: inputs` (GitLab refuses the pipeline)"
            };
            let name = crate::literal::one_line_keeping(name, &[]);
            self.say(
                line,
                format!("input `{name}` {why}: `$[[ inputs.{name} ]]` is kept as written"),
            );
        }
        self.values.get(name)
    }

    fn spend(&mut self, bytes: usize) -> bool {
        self.filled_bytes = self.filled_bytes.saturating_add(bytes);
        if self.filled_bytes > MAX_FILLED_BYTES {
            self.say(
                0,
                format!(
                    "the inputs filled in exceed {} MiB: the rest are kept as written",
                    MAX_FILLED_BYTES >> 20
                ),
            );
            return false;
        }
        true
    }

    fn say(&mut self, line: usize, message: String) {
        // the budget's warning is said once for the file, the others once per line
        let key = (
            if message.contains("MiB") {
                0
            } else {
                line.max(1)
            },
            message,
        );
        if self.said_set.insert(key.clone()) {
            self.said.push((line.max(1), key.1));
        }
    }
}

/// `text` with each `$[[ … ]]` block replaced by what `fill` gives for its inside (kept
/// as written when it gives nothing).
pub(crate) fn replace_blocks(text: &str, mut fill: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("$[[") {
        let Some(close) = rest[open..].find("]]").map(|i| open + i) else {
            break;
        };
        out.push_str(&rest[..open]);
        match fill(&rest[open + 3..close]) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..close + 2]),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// What copying `node` costs: its nodes and text, counted up to `limit` (a value of
/// aliases can be far larger than its text: it is not walked past what is left).
fn weight(node: &Node, limit: usize) -> usize {
    let mut total = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        total += NODE_WEIGHT;
        match &n.kind {
            Kind::Scalar { text, .. } => total += text.len(),
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => {
                for e in entries {
                    total += e.key.len();
                    stack.push(&e.value);
                }
            }
            Kind::Reference(parts) => total += parts.iter().map(String::len).sum::<usize>(),
            Kind::Null => {}
        }
        if total > limit {
            break;
        }
    }
    total
}

/// The inside of `$[[ … ]]` when `text` is that block and nothing else.
fn whole_block(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("$[[")?.strip_suffix("]]")?;
    (!inner.contains("]]")).then_some(inner)
}

/// `inputs.NAME | f | g(…)`: the name and the functions, or `None` for another block
/// (`$[[ matrix.… ]]`) or a malformed one.
fn parse_block(block: &str) -> Option<(&str, Vec<&str>)> {
    let mut parts = block.split('|').map(str::trim);
    let name = parts.next()?.strip_prefix("inputs.")?;
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (!name.is_empty() && name.chars().all(valid)).then(|| (name, parts.collect()))
}

/// A scalar input as GitLab writes it into a string.
fn scalar_text(value: &Node) -> Option<String> {
    match &value.kind {
        Kind::Scalar { text, .. } => Some(text.clone()),
        Kind::Null => Some(String::new()),
        _ => None,
    }
}

/// One of GitLab's interpolation functions; `None` for one not known here.
fn apply(function: &str, text: &str) -> Option<String> {
    match function {
        // the variables are expanded when the pipeline is created: a script or a
        // variable's value expands them at run time alike
        "expand_vars" => Some(text.to_string()),
        "posix_escape" => Some(posix_escape(text)),
        f => {
            let args = f.strip_prefix("truncate(")?.strip_suffix(')')?;
            let (offset, length) = args.split_once(',')?;
            let offset: usize = offset.trim().parse().ok()?;
            let length: usize = length.trim().parse().ok()?;
            Some(text.chars().skip(offset).take(length).collect())
        }
    }
}

/// The text as one shell word, as GitLab escapes it (Ruby's `Shellwords.escape`):
/// a backslash before each character but `A-Za-z0-9_-.,:+/@`, a line break quoted as
/// `'\n'`, and `''` for nothing.
fn posix_escape(text: &str) -> String {
    if text.is_empty() {
        return "''".to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("'\n'"),
            c if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(text: &str, given: Option<&str>) -> (Node, Vec<String>) {
        let mut docs = crate::yaml::parse(text, 0).expect("valid YAML");
        let doc = docs.pop().expect("a document");
        let given = given.map(|g| crate::yaml::parse(g, 1).expect("valid YAML").remove(0));
        let mut warnings = Vec::new();
        let mut inputs = Inputs::declared(&docs[0], given.as_ref(), 0, &mut warnings);
        let node = inputs.fill(doc, &mut warnings);
        (node, warnings.into_iter().map(|w| w.message).collect())
    }

    const SPEC: &str = "spec:\n  inputs:\n    env: {default: staging}\n    replicas: {type: number, default: 2}\n    token: {}\n---\n";

    #[test]
    fn inputs_are_given_or_defaulted_and_keep_their_type_when_alone() {
        let job = "deploy-$[[ inputs.env ]]:\n  script: scale --replicas=$[[ inputs.replicas ]]\n  parallel: $[[ inputs.replicas ]]\n";
        let (node, warnings) = filled(&format!("{SPEC}{job}"), Some("env: production"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let job = node.get("deploy-production").expect("the key filled in");
        assert_eq!(
            job.get("script").and_then(Node::as_str),
            Some("scale --replicas=2")
        );
        assert_eq!(job.get("parallel").and_then(Node::as_str), Some("2"));
    }

    #[test]
    fn what_cannot_be_filled_in_is_kept_with_one_warning() {
        let job = "a:\n  script: [\"login $[[ inputs.token ]]\", \"again $[[ inputs.token ]]\", \"$[[ inputs.env | upcase ]]\"]\n";
        let (node, warnings) = filled(&format!("{SPEC}{job}"), Some("nope: 1"));
        let lines: Vec<&str> = node
            .get("a")
            .and_then(|a| a.get("script"))
            .map(|s| s.items().iter().filter_map(Node::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            lines,
            [
                "login $[[ inputs.token ]]",
                "again $[[ inputs.token ]]",
                "$[[ inputs.env | upcase ]]"
            ]
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("`nope` is not declared"),
            "{warnings:?}"
        );
    }

    #[test]
    fn functions_known_are_applied() {
        let spec = "spec:\n  inputs:\n    sha: {default: \"0123456789abcdef\"}\n    msg: {default: \"it's $HOME\"}\n---\n";
        let job = "a:\n  script: [\"tag $[[ inputs.sha | truncate(0,8) ]]\", \"echo $[[ inputs.msg | posix_escape ]]\"]\n";
        let (node, warnings) = filled(&format!("{spec}{job}"), None);
        assert!(warnings.is_empty(), "{warnings:?}");
        let lines: Vec<&str> = node
            .get("a")
            .and_then(|a| a.get("script"))
            .map(|s| s.items().iter().filter_map(Node::as_str).collect())
            .unwrap_or_default();
        assert_eq!(lines, ["tag 01234567", "echo it\\'s\\ \\$HOME"]);
        assert_eq!(posix_escape(""), "''");
        assert_eq!(posix_escape("a\nb=c"), "a'\n'b\\=c");
    }

    #[test]
    fn a_long_default_used_many_times_is_bounded() {
        let big = "x".repeat(1 << 20);
        let uses: String = (0..40)
            .map(|i| format!("  v{i}: \"a$[[ inputs.big ]]\"\n"))
            .collect();
        let text = format!("spec:\n  inputs:\n    big: {{default: {big}}}\n---\na:\n  script: x\n  variables:\n{uses}");
        let (_, warnings) = filled(&text, None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("MiB"));
    }
}
