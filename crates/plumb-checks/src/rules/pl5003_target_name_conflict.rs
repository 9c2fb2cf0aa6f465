//! PL5003 target-name-conflict: A name that the build target reserves.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5003,
    summary: r####"A name that the build target reserves."####,
    explanation: r####"A job named like a top-level keyword of `.gitlab-ci.yml` (`image`, `services`, `stages`, `variables`, `cache`, `include`, `default`, `workflow`, …) would be read by GitLab as a setting, not a job. `plumb build --target gitlab` refuses it; rename the job.

Two source names that normalise to one target name are refused too, naming both: Kubernetes names are DNS labels, so jobs `a_b` and `a-b`, or matrix values `a/b`, `a.b` and `a_b`, would become one Job; Flux stage folders are DNS labels, so stages `s` and `S` would share one folder. One would silently overwrite the other; rename one of them."####,
    bad: r####"# plumb build --target gitlab
pipeline web { stage s { job variables { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["env"] } } }"####,
    good: r####"# plumb build --target gitlab
pipeline web { stage s { job show-variables { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["env"] } } }"####,
}
