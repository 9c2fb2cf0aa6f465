//! PL4002 secret-misuse: A secret interpolated into a string or used where a non-secret is expected.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL4002,
    summary: r####"A secret interpolated into a string or used where a non-secret is expected."####,
    explanation: r####"A `Secret` is opaque: Plumb never knows its value, and it can only become an environment variable through an `env` map. Interpolating it (`"--key=${token}"`) or passing it where a `String` is expected would write the secret's reference into places that are logged and stored in clear. Bind it in `env` and let the script read the variable."####,
    bad: r####"secret t = ci_variable("T")
pipeline p { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["deploy --key=${t}"] } } }"####,
    good: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["deploy --key-file=/dev/stdin <<< \"$T\""] } } }"####,
}
