//! PL4002 secret-misuse: A secret interpolated into a string or used where a non-secret is expected.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL4002,
}
