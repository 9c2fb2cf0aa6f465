//! PL1007 import-cycle: Files import each other in a cycle.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1007,
}
