//! PL1012 import-too-deep: imports that nest more than 32 files deep.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1012,
}
