//! PL1010 shadowed-name: A pipeline let or template parameter hides a top-level name.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1010,
    summary: r####"A pipeline let or template parameter hides a top-level name."####,
    explanation: r####"A `let` inside a pipeline, or a template parameter, with the same name as a top-level `let`, `secret` or `template` makes the outer one invisible there. That is legal, but often a mistake: the reader sees the outer definition first."####,
    bad: r####"let image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
pipeline web {
  let image = "alpine:3.20"
}"####,
    good: r####"let image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
pipeline web {
  let tools_image = "alpine:3.20"
}"####,
}
