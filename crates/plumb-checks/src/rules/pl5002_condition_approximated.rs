//! PL5002 condition-approximated: A condition that the build target can only approximate.
//!
//! Reported by `plumb build` (crate `plumb-targets`); this module holds its documentation.

declare_rule! {
    code: PL5002,
    summary: r####"A condition that the build target can only approximate."####,
    explanation: r####"Some conditions cannot be carried exactly: `changes(…)` is unknown when Kubernetes manifests are compiled (it counts as true), GitLab rules cannot say that files did *not* change, two `changes` lists in one alternative are merged, and a pipeline's `on` cannot be `manual`. `plumb build` says so, with the span of the condition, instead of changing what the pipeline does behind the user's back.

Widening is a warning only for jobs without secrets. When the job binds a secret or reads a project variable by name (or, for a pipeline's `on`, when any of its jobs does), a condition that cannot be written exactly is an error and nothing is written: widening it would run the job, with its secrets, for events the condition excludes (a merge request, say). A string GitLab's expression lexer cannot read back (a branch name holding both `"` and `'`; a pattern ending in a lone `\`) is an error too: GitLab's expressions have no escapes."####,
    bad: r####"# plumb build --target k8s
pipeline web { stage s { job docs { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make docs"], when = changes(["docs/**"]) } } }"####,
    good: r####"# plumb build --target k8s
pipeline web { stage s { job docs { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make docs"], when = branch == "main" } } }"####,
}
