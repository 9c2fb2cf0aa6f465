//! PL1004 unknown-field: A field that jobs, pipelines, stages or records do not have.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1004,
    summary: r####"A field that jobs, pipelines, stages or records do not have."####,
    explanation: r####"Jobs have the fields of §6 (`image`, `run`, `needs`, `env`, `when`, `timeout`, `retry`, `artifacts`, `cache`, `matrix`, `resources`, `environment`, `allow_failure`, `services`, `tags`); pipelines have `on`, `env` and `default`; stages have none. A misspelt field would otherwise be ignored, and the job would silently run without it; the closest field name is suggested."####,
    bad: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make test"], timout = 15m }
  }
}"####,
    good: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make test"], timeout = 15m }
  }
}"####,
}
