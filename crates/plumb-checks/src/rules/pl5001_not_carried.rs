//! PL5001 not-carried: A job field that the build target cannot carry is left out.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5001,
    summary: r####"A job field that the build target cannot carry is left out."####,
    explanation: r####"Some fields mean nothing to some targets: a Kubernetes Job keeps no `artifacts` or `cache` and starts no `services`; GitLab ignores `resources`; GitLab cannot read a `k8s_secret`. `plumb build` never drops such a field silently: it reports it, with the span of the field, and leaves it out of that target's output. Silence it with `# plumb-allow: PL5001` where the difference is intended."####,
    bad: r####"# plumb build --target k8s
pipeline web { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], artifacts = ["dist/"] } } }"####,
    good: r####"# plumb build --target k8s: results go to object storage instead
pipeline web { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make", "./upload dist/"] } } }"####,
}
