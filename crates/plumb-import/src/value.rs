//! Plumb values as the importer builds them, and how they are written.

pub use crate::literal::string_literal;
use crate::yaml::{ByteRange, Node};
use std::fmt::Write;

/// Where a value was written in GitLab's YAML: the file (as [`Node::file`]) and bytes.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    pub file: usize,
    pub range: ByteRange,
}

/// Where a value came from never makes two values different: a job that sets what its
/// template sets still says the same thing.
impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

impl Origin {
    pub fn of(node: &Node) -> Origin {
        Origin {
            file: node.file,
            range: node.span,
        }
    }
}

/// The characters that frame an origin in text the emitter writes for the checker:
/// `OPEN file:start:end SEP` … `CLOSE` (Unicode private use; a file holding them is
/// checked without origins, see `crate::import_for_check`).
pub const OPEN: char = '\u{E000}';
pub const SEP: char = '\u{E001}';
pub const CLOSE: char = '\u{E002}';

/// Writes the opening marker of `origin`.
pub fn open_marker(out: &mut String, origin: &Origin) {
    let _ = write!(
        out,
        "{OPEN}{}:{}:{}{SEP}",
        origin.file, origin.range.start, origin.range.end
    );
}

/// The length of `s` as it will be printed, markers left out (lines are broken by it).
/// Written items between `brackets`: on one line when they fit, else one per line
/// (each followed by `sep`), the closing bracket under the opening line.
fn write_parts(out: &mut String, parts: &[String], indent: usize, brackets: [&str; 2], sep: &str) {
    let width: usize = parts.iter().map(|s| visible_len(s) + 2).sum();
    let [open, close] = brackets;
    if width + indent < 90 && parts.iter().all(|s| !s.contains('\n')) {
        let _ = write!(out, "{open}{}{close}", parts.join(", "));
    } else {
        let _ = writeln!(out, "{}", open.trim_end());
        for s in parts {
            let _ = writeln!(out, "{:w$}{s}{sep}", "", w = indent + 2);
        }
        let _ = write!(out, "{:w$}{}", "", close.trim_start(), w = indent);
    }
}

fn visible_len(s: &str) -> usize {
    if !s.contains(OPEN) && !s.contains(CLOSE) {
        return s.len();
    }
    let mut n = 0;
    let mut inside = false;
    for c in s.chars() {
        match c {
            OPEN => inside = true,
            SEP => inside = false,
            CLOSE => {}
            c if !inside => n += c.len_utf8(),
            _ => {}
        }
    }
    n
}

#[derive(Clone, Debug, PartialEq)]
pub enum PVal {
    /// A value with where it was written in the YAML (only when importing for a check).
    At(Origin, Box<PVal>),
    Str(String),
    /// A string that is an image reference (may become a `let`).
    Image(String),
    /// A name: a `let`, a secret, a job in `needs`.
    Name(String),
    Int(u64),
    Bool(bool),
    /// A duration literal such as `1h30m`.
    Duration(String),
    /// A condition (after unknown tests were approximated).
    Cond(crate::cond::Cond),
    List(Vec<PVal>),
    Record(Vec<(String, PVal)>),
    /// A value the YAML writes once under a name and uses by alias (an anchor holder:
    /// `.ruby-gems-cache: &ruby-gems-cache { key: …, paths: … }`, then
    /// `cache: [*ruby-gems-cache]`): a `let` of that name where it is used twice or
    /// more, the value itself otherwise.
    Named(String, Box<PVal>),
    /// A constructor call: `remote("https://…", sha256 = "…")`.
    Call {
        name: &'static str,
        args: Vec<PVal>,
        named: Vec<(String, PVal)>,
    },
}

/// A record key or map key: bare when it is an identifier, quoted otherwise.
pub fn key(k: &str) -> String {
    // a need's `{ job = x }`: the parser reads a keyword before `=` as a key
    if is_ident(k) && (!crate::names::is_keyword(k) || k == "job") {
        k.to_string()
    } else {
        string_literal(k)
    }
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl PVal {
    pub fn call(name: &'static str, args: Vec<PVal>, named: Vec<(String, PVal)>) -> PVal {
        PVal::Call { name, args, named }
    }

    /// `later` applied over `earlier` as Plumb composes a template and a job (and
    /// GitLab's `extends`): records merge key by key, recursively, the later value
    /// winning; anything else is replaced. (Plain values only: not for a check.)
    pub fn merged(earlier: &PVal, later: &PVal) -> PVal {
        let (PVal::Record(old), PVal::Record(new)) = (earlier.bare(), later.bare()) else {
            return later.clone();
        };
        let mut out = old.clone();
        for (k, v) in new {
            match out.iter_mut().find(|(ok, _)| ok == k) {
                Some((_, slot)) => *slot = PVal::merged(slot, v),
                None => out.push((k.clone(), v.clone())),
            }
        }
        PVal::Record(out)
    }

    /// Equal as values: records compared key by key whatever their order.
    pub fn equivalent(&self, other: &PVal) -> bool {
        match (self, other) {
            (PVal::Named(_, a), b) | (b, PVal::Named(_, a)) => a.equivalent(b),
            (PVal::Record(a), PVal::Record(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(bk, bv)| bk == k && v.equivalent(bv)))
            }
            (PVal::List(a), PVal::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equivalent(y))
            }
            _ => self == other,
        }
    }

    /// The value without its origin, to change.
    pub fn bare_mut(&mut self) -> &mut PVal {
        match self {
            PVal::At(_, inner) | PVal::Named(_, inner) => inner.bare_mut(),
            other => other,
        }
    }

    /// The value without its origin.
    pub fn bare(&self) -> &PVal {
        match self {
            PVal::At(_, inner) | PVal::Named(_, inner) => inner.bare(),
            other => other,
        }
    }

    /// Whether two equal values were also written at the same places of the YAML (for a
    /// check: a job that repeats its template's image wrote its own, and its findings
    /// and `# plumb-allow` comments are on its line).
    pub fn same_place(&self, other: &PVal) -> bool {
        match (self, other) {
            (PVal::At(a, x), PVal::At(b, y)) => {
                a.file == b.file && a.range == b.range && x.same_place(y)
            }
            (PVal::At(..), _) | (_, PVal::At(..)) => false,
            (PVal::List(a), PVal::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_place(y))
            }
            (PVal::Record(a), PVal::Record(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((_, x), (_, y))| x.same_place(y))
            }
            _ => true,
        }
    }

    /// Equal, and for a check (`strict`) written at the same places too.
    pub fn same(&self, other: &PVal, strict: bool) -> bool {
        self == other && (!strict || self.same_place(other))
    }

    /// `value` with `origin` when there is one.
    pub fn at(origin: Option<Origin>, value: PVal) -> PVal {
        match origin {
            Some(o) => PVal::At(o, Box::new(value)),
            None => value,
        }
    }

    pub fn write(&self, out: &mut String, indent: usize) {
        match self {
            PVal::At(origin, inner) => {
                open_marker(out, origin);
                inner.write(out, indent);
                out.push(CLOSE);
            }
            PVal::Named(_, inner) => inner.write(out, indent),
            PVal::Call { name, args, named } => {
                let mut parts: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let mut s = String::new();
                        a.write(&mut s, indent);
                        s
                    })
                    .collect();
                for (k, v) in named {
                    let mut s = String::new();
                    v.write(&mut s, indent);
                    parts.push(format!("{k} = {s}"));
                }
                let _ = write!(out, "{name}({})", parts.join(", "));
            }
            PVal::Str(s) | PVal::Image(s) => out.push_str(&string_literal(s)),
            PVal::Name(n) | PVal::Duration(n) => out.push_str(n),
            PVal::Cond(c) => out.push_str(&c.to_plumb()),
            PVal::Int(n) => {
                let _ = write!(out, "{n}");
            }
            PVal::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            PVal::List(items) => {
                let one_line: Vec<String> = items
                    .iter()
                    .map(|i| {
                        let mut s = String::new();
                        i.write(&mut s, indent + 2);
                        s
                    })
                    .collect();
                write_parts(out, &one_line, indent, ["[", "]"], ",");
            }
            PVal::Record(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| {
                        let mut s = String::new();
                        v.write(&mut s, indent + 2);
                        format!("{} = {s}", key(k))
                    })
                    .collect();
                write_parts(out, &parts, indent, ["{ ", " }"], "");
            }
        }
    }
}

/// A YAML value as Plumb writes it in `gitlab = { … }`: mappings as records, sequences
/// as lists, YAML 1.1 booleans and plain integers as themselves, other scalars as the
/// strings GitLab reads. `None` for what has no value yet (a `!reference`).
pub fn of_yaml(n: &crate::yaml::Node) -> Option<PVal> {
    of_yaml_marked(n, false)
}

/// [`of_yaml`], each string marked with where it is written when `origins` is set (a
/// check of the YAML reports a literal in `gitlab = { … }` at its own line).
pub fn of_yaml_marked(n: &crate::yaml::Node, origins: bool) -> Option<PVal> {
    use crate::yaml::Kind;
    Some(match &n.kind {
        Kind::Null => PVal::Str(String::new()),
        Kind::Scalar { plain, text } => match (n.as_bool(), text.parse::<u64>()) {
            (Some(b), _) if *plain => PVal::Bool(b),
            (_, Ok(i)) if *plain => PVal::Int(i),
            _ => PVal::at(
                origins.then(|| Origin::of(n)),
                PVal::Str(n.as_gitlab_string().unwrap_or_else(|| text.clone())),
            ),
        },
        Kind::Seq(items) => PVal::List(
            (items.iter())
                .map(|i| of_yaml_marked(i, origins))
                .collect::<Option<_>>()?,
        ),
        Kind::Map(entries) => PVal::Record(
            entries
                .iter()
                .map(|e| Some((e.key.clone(), of_yaml_marked(&e.value, origins)?)))
                .collect::<Option<_>>()?,
        ),
        Kind::Reference(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_shell_text_as_written() {
        assert_eq!(
            string_literal("echo \"${CI_COMMIT_SHA}\" $HOME\\n"),
            r#""echo \"\${CI_COMMIT_SHA}\" $HOME\\n""#
        );
    }
}
