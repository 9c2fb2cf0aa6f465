//! PL5003 target-name-conflict: A name that the build target reserves.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5003,
}
