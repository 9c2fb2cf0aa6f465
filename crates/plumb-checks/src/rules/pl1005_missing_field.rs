//! PL1005 missing-field: A job lacks a required field (`image` or `run`), or its `run` is empty.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1005,
}
