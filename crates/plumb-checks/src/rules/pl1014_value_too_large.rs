//! PL1014 value-too-large: a value that evaluates to more than a mebibyte.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1014,
}
