//! PL5002 condition-approximated: A condition that the build target can only approximate.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5002,
}
