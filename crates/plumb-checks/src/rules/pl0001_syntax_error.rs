//! PL0001 syntax-error: The source does not follow Plumb's grammar.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL0001,
}
