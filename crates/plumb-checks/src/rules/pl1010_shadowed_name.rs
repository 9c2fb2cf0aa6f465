//! PL1010 shadowed-name: A pipeline let or template parameter hides a top-level name.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1010,
}
