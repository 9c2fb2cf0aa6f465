//! PL5004 no-default-image: `runner_default` with no `targets.k8s.default_image`.
//!
//! Reported by `plumb build --target k8s|gitops` (crate `plumb-targets`); this module
//! holds its documentation.

declare_rule! {
    code: PL5004,
    summary: r####"`runner_default` with no `targets.k8s.default_image`."####,
    explanation: r####"A Kubernetes Job must name its image; there is no runner to decide it. A job with `image = runner_default` runs in `targets.k8s.default_image` from `plumb.toml`; without it, `plumb build --target k8s` (and `gitops`) stops with this error and writes nothing."####,
    bad: r####"# plumb build --target k8s, no plumb.toml
pipeline p { stage s { job j { image = runner_default, run = ["make"] } } }"####,
    good: r####"# plumb build --target k8s
pipeline p { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } } }"####,
}
