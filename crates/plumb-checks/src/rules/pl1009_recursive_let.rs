//! PL1009 recursive-let: A `let` is defined in terms of itself.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1009,
}
