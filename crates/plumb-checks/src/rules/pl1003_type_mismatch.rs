//! PL1003 type-mismatch: A value of the wrong type.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1003,
}
