//! PL1001 unknown-name: A name that is not defined: a let, secret, template, job, stage or type.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1001,
    summary: r####"A name that is not defined: a let, secret, template, job, stage or type."####,
    explanation: r####"Every name must be defined before it can be used: top-level `let`, `secret` and `template` names of the file or of a file it imports, `let`s of the pipeline, template parameters inside the template, jobs of the same pipeline in `needs`, stages of the same pipeline in `after`. The message suggests the closest defined name when there is one within a few edits; the language server offers it as a quick fix.

To hand a shell variable to the script, write `$NAME` (Plumb leaves it alone) or escape the interpolation: `\${NAME}`."####,
    bad: r####"template npm(script: String) { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["npm run ${script}"] }
pipeline web { stage check { job lint from nmp(script = "lint") { } } }"####,
    good: r####"template npm(script: String) { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["npm run ${script}"] }
pipeline web { stage check { job lint from npm(script = "lint") { } } }"####,
}
