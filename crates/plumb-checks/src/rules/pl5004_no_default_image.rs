//! PL5004 no-default-image: `runner_default` with no `targets.k8s.default_image`.
//!
//! Reported by `plumb build --target k8s|gitops` (crate `plumb-targets`); this module
//! holds its documentation.

declare_rule! {
    code: PL5004,
}
