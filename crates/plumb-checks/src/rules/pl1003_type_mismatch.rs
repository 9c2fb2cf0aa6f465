//! PL1003 type-mismatch: A value of the wrong type.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1003,
    summary: r####"A value of the wrong type."####,
    explanation: r####"Every field, template parameter and annotated `let` has a type (§5 and §6 of the language): `timeout` is a `Duration` such as `15m`, `retry` an `Int` from 0 to 2, `resources.memory` a `Size` such as `256Mi`, `when` a `Condition`, `needs` a list of job names. The message names the expected and the found type; when the value came from a `let` or a default, a second label shows where it was written."####,
    bad: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make test"], timeout = "15 minutes" }
  }
}"####,
    good: r####"pipeline web {
  stage test {
    job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make test"], timeout = 15m }
  }
}"####,
}
