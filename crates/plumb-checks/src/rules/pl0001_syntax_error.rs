//! PL0001 syntax-error: The source does not follow Plumb's grammar.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL0001,
    summary: r####"The source does not follow Plumb's grammar."####,
    explanation: r####"Reported by the parser when a token is not one the grammar allows at that place: the message names what was expected and what was found. The parser recovers at the next field, job, stage or `}`, so one mistake gives one error and the rest of the file is still checked.

Common causes: a missing `=` between a field and its value, a missing `}` or `]`, a string that is not closed on its line (use a block string `"""…"""` for several lines), a `-` used as an operator (a dash is part of a name: `unit-api`)."####,
    bad: r####"pipeline web {
  stage build {
    job compile { image "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] }
  }
}"####,
    good: r####"pipeline web {
  stage build {
    job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] }
  }
}"####,
}
