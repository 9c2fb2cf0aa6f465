//! PL1005 missing-field: A job lacks a required field (`image` or `run`).
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1005,
    summary: r####"A job lacks a required field (`image` or `run`)."####,
    explanation: r####"Every job needs an `image` to run in and a `run` script. They may come from the job itself, from its template or from the pipeline's `default = { … }`. Checked after all three are merged."####,
    bad: r####"pipeline web {
  stage test {
    job unit { run = ["make test"] }
  }
}"####,
    good: r####"pipeline web {
  default = { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91" }
  stage test {
    job unit { run = ["make test"] }
  }
}"####,
}
