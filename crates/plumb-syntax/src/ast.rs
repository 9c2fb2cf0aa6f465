//! The syntax tree. Every node carries the byte range it came from.

use plumb_diagnostics::TextRange;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    pub text: String,
    pub range: TextRange,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SourceFile {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    Import(Import),
    Let(Let),
    Secret(SecretDecl),
    Template(Template),
    Pipeline(Pipeline),
}

impl Item {
    pub fn range(&self) -> TextRange {
        match self {
            Item::Import(i) => i.range,
            Item::Let(l) => l.range,
            Item::Secret(s) => s.range,
            Item::Template(t) => t.range,
            Item::Pipeline(p) => p.range,
        }
    }
}

/// `import "path" [as alias]`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Import {
    pub path: String,
    pub path_range: TextRange,
    pub alias: Option<Name>,
    pub range: TextRange,
}

/// `let name [: type] = value`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Let {
    pub name: Name,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub range: TextRange,
}

/// `secret name = source(args)`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretDecl {
    pub name: Name,
    pub source: Name,
    pub args: Vec<Arg>,
    pub args_range: TextRange,
    pub range: TextRange,
}

/// `template name(params) [from base, …] { fields }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Template {
    pub name: Name,
    pub params: Vec<Param>,
    /// The templates it builds on, applied left to right before its body.
    pub bases: Vec<Instantiation>,
    pub body: Body,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: Name,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub range: TextRange,
}

/// `pipeline name { fields, lets, stages }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pipeline {
    pub name: Name,
    pub fields: Vec<Field>,
    pub lets: Vec<Let>,
    pub stages: Vec<Stage>,
    pub range: TextRange,
}

/// `stage name [after a, b] { fields, jobs }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stage {
    pub name: Name,
    pub after: Vec<Name>,
    pub fields: Vec<Field>,
    pub jobs: Vec<Job>,
    pub range: TextRange,
}

/// `job name [from [alias.]template(args), …] { fields }`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Job {
    pub name: Name,
    /// The templates it instantiates, applied left to right before its body.
    pub bases: Vec<Instantiation>,
    pub body: Body,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instantiation {
    /// `alias` in `from alias.name(…)`: the template comes from `import "…" as alias`.
    pub qualifier: Option<Name>,
    pub template: Name,
    pub args: Vec<Arg>,
    /// The parenthesised argument list, for "missing argument" diagnostics.
    pub args_range: TextRange,
}

/// A `{ … }` holding fields. `recovered` is set when its contents could not be parsed
/// and were skipped; checks that need every field (missing fields) stay quiet then.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Body {
    pub fields: Vec<Field>,
    pub range: TextRange,
    pub recovered: bool,
}

/// `key = value`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub key: Name,
    pub value: Expr,
    pub range: TextRange,
}

/// `[name =] value` in an argument list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arg {
    pub name: Option<Name>,
    pub value: Expr,
}

/// `Name` or `Name<T, …>`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeExpr {
    pub name: Name,
    pub args: Vec<TypeExpr>,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    pub kind: ExprKind,
    pub range: TextRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Or,
    And,
    Eq,
    NotEq,
    Match,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            BinOp::Match => "=~",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Str(StrLit),
    Int(u64),
    /// Seconds.
    Duration(u64),
    /// Bytes.
    Size(u64),
    Bool(bool),
    Name(Name),
    List(Vec<Expr>),
    Record(Vec<Field>),
    /// `base.name`
    Member(Box<Expr>, Name),
    /// `callee(args)`
    Call(Box<Expr>, Vec<Arg>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// What a parse error left; every type accepts it, so it causes no further errors.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrLit {
    pub block: bool,
    pub segments: Vec<Segment>,
}

impl StrLit {
    /// The literal's text when it has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Text(t, _) => out.push_str(t),
                Segment::Interp(..) => return None,
            }
        }
        Some(out)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    Text(String, TextRange),
    /// `${expr}`, with the range of the whole `${…}`.
    Interp(Expr, TextRange),
}

impl Expr {
    pub fn error(range: TextRange) -> Expr {
        Expr {
            kind: ExprKind::Error,
            range,
        }
    }
}
