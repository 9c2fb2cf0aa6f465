//! PL1011 matrix-too-large: a matrix that expands to more than 200 jobs.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1011,
}
