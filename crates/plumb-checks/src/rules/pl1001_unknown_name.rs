//! PL1001 unknown-name: A name that is not defined: a let, secret, template, job, stage or type.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1001,
}
