//! PL5005 gitlab-schema: The compiled `.gitlab-ci.yml` would not pass GitLab's CI schema.
//!
//! Reported by `plumb build --target gitlab` (crate `plumb-targets`, module `schema`);
//! this module holds its documentation.

declare_rule! {
    code: PL5005,
}
