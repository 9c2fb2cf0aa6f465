//! PL1008 bad-instantiation: A template or secret source is called with missing, unknown or duplicate arguments.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1008,
}
