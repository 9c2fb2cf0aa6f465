//! PL5005 gitlab-schema: The compiled `.gitlab-ci.yml` would not pass GitLab's CI schema.
//!
//! Reported by `plumb build --target gitlab` (crate `plumb-targets`, module `schema`);
//! this module holds its documentation.

declare_rule! {
    code: PL5005,
    summary: r####"The compiled `.gitlab-ci.yml` would not pass GitLab's CI schema."####,
    explanation: r####"`plumb build --target gitlab` validates what it writes against GitLab's published CI schema (vendored in the repository with its version). Most of Plumb's fields are checked when the program is checked; `gitlab = { … }` carries keys Plumb does not model, as written, and so can only be checked against the schema. A violation is reported at the `.plumb` key that caused it, and nothing is written."####,
    bad: r####"# plumb build --target gitlab
pipeline p { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], gitlab = { relase = { tag_name = "v1" } } } } }"####,
    good: r####"# plumb build --target gitlab
pipeline p { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], gitlab = { release = { tag_name = "v1", description = "v1" } } } } }"####,
}
