//! PL1006 import-not-found: An imported file does not exist.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1006,
}
