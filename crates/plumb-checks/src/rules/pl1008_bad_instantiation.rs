//! PL1008 bad-instantiation: A template or secret source is called with missing, unknown or duplicate arguments.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1008,
    summary: r####"A template or secret source is called with missing, unknown or duplicate arguments."####,
    explanation: r####"`job NAME from T(args)` must give every parameter of `T` that has no default, exactly once, by position or by name (`pkg = "./api/..."`), and no parameter that `T` does not have. Secret sources take fixed arguments: `ci_variable(NAME)`, `vault(PATH, FIELD)`, `k8s_secret(NAME, KEY)`."####,
    bad: r####"template go_job(pkg: String) { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["go test ${pkg}"] }
pipeline web { stage test { job unit from go_job(package = "./...") { } } }"####,
    good: r####"template go_job(pkg: String) { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["go test ${pkg}"] }
pipeline web { stage test { job unit from go_job(pkg = "./...") { } } }"####,
}
