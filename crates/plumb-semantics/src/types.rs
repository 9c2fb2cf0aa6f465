//! The types of §5 of the language contract.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    String,
    Int,
    Bool,
    Duration,
    Size,
    /// A string literal that parses as an OCI image reference.
    Image,
    Secret,
    Condition,
    /// A `String` (one command per line) or a `List<String>`.
    Script,
    List(Box<Ty>),
    Map(Box<Ty>),
    /// A record with these fields (used for `cache`, `resources` and `default`).
    Record(&'static [(&'static str, TyName)]),
    /// `String | Secret`: what an `env` map holds.
    EnvValue,
    /// A job of the same pipeline, by name (in `needs`).
    JobRef,
    /// Accepts anything; given to what a parse error left.
    Any,
}

/// A type written as a constant, for tables of fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TyName {
    String,
    Int,
    Bool,
    Duration,
    Size,
    Image,
    Condition,
    Script,
    ListString,
    ListImage,
    ListJob,
    Env,
    Matrix,
    Cache,
    Resources,
    JobFields,
}

pub const CACHE_FIELDS: &[(&str, TyName)] =
    &[("key", TyName::String), ("paths", TyName::ListString)];
pub const RESOURCE_FIELDS: &[(&str, TyName)] = &[("cpu", TyName::String), ("memory", TyName::Size)];

impl TyName {
    pub fn ty(self) -> Ty {
        match self {
            TyName::String => Ty::String,
            TyName::Int => Ty::Int,
            TyName::Bool => Ty::Bool,
            TyName::Duration => Ty::Duration,
            TyName::Size => Ty::Size,
            TyName::Image => Ty::Image,
            TyName::Condition => Ty::Condition,
            TyName::Script => Ty::Script,
            TyName::ListString => Ty::List(Box::new(Ty::String)),
            TyName::ListImage => Ty::List(Box::new(Ty::Image)),
            TyName::ListJob => Ty::List(Box::new(Ty::JobRef)),
            TyName::Env => Ty::Map(Box::new(Ty::EnvValue)),
            TyName::Matrix => Ty::Map(Box::new(Ty::List(Box::new(Ty::String)))),
            TyName::Cache => Ty::Record(CACHE_FIELDS),
            TyName::Resources => Ty::Record(RESOURCE_FIELDS),
            TyName::JobFields => Ty::Record(&[]),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => f.write_str("String"),
            Ty::Int => f.write_str("Int"),
            Ty::Bool => f.write_str("Bool"),
            Ty::Duration => f.write_str("Duration"),
            Ty::Size => f.write_str("Size"),
            Ty::Image => f.write_str("Image"),
            Ty::Secret => f.write_str("Secret"),
            Ty::Condition => f.write_str("Condition"),
            Ty::Script => f.write_str("Script"),
            Ty::List(t) => write!(f, "List<{t}>"),
            Ty::Map(t) => write!(f, "Map<{t}>"),
            Ty::Record([]) => f.write_str("a record of job fields"),
            Ty::Record(fields) => {
                f.write_str("{ ")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {}", ty.ty())?;
                }
                f.write_str(" }")
            }
            Ty::EnvValue => f.write_str("String|Secret"),
            Ty::JobRef => f.write_str("job name"),
            Ty::Any => f.write_str("any value"),
        }
    }
}

/// The type names a `let` or a template parameter may be annotated with.
pub const TYPE_NAMES: &[&str] = &[
    "String",
    "Int",
    "Bool",
    "Duration",
    "Size",
    "Image",
    "Secret",
    "Condition",
    "Script",
    "List",
    "Map",
];
