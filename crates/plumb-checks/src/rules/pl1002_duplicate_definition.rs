//! PL1002 duplicate-definition: The same name is defined twice in one scope.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1002,
    summary: r####"The same name is defined twice in one scope."####,
    explanation: r####"Top-level names of a file, pipelines of a file, stages and jobs of a pipeline (jobs across all its stages), lets of a pipeline, parameters of a template, fields of a body and keys of a map must be unique. Both places are shown. A later definition would silently replace the first, so one of them is a mistake."####,
    bad: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make unit"] }
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make integration"] }
  }
}"####,
    good: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make unit"] }
    job integration { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make integration"] }
  }
}"####,
}
