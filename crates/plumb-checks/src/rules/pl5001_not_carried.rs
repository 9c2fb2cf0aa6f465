//! PL5001 not-carried: A job field that the build target cannot carry is left out.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5001,
}
