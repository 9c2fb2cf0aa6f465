//! PL1002 duplicate-definition: The same name is defined twice in one scope.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1002,
}
