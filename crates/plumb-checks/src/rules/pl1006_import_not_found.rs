//! PL1006 import-not-found: An imported file does not exist.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1006,
    summary: r####"An imported file does not exist."####,
    explanation: r####"`import "path"` is resolved relative to the importing file's folder. The file must exist and be readable; its top-level lets, secrets and templates then come into scope (or, with `as NAME`, as `NAME.x`)."####,
    bad: r####"import "commons.plumb"
# common.plumb
let shared = "x""####,
    good: r####"import "common.plumb"
# common.plumb
let shared = "x""####,
}
