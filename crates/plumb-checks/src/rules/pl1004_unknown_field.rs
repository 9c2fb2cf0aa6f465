//! PL1004 unknown-field: A field that jobs, pipelines, stages or records do not have.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1004,
}
