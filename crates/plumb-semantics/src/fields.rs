//! The fields of jobs, pipelines and stages (§6), with their types and docs.

use crate::types::TyName;

pub struct FieldSpec {
    pub name: &'static str,
    pub ty: TyName,
    pub required: bool,
    pub doc: &'static str,
}

const fn field(name: &'static str, ty: TyName, required: bool, doc: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required,
        doc,
    }
}

pub const JOB_FIELDS: &[FieldSpec] = &[
    field(
        "image",
        TyName::Image,
        true,
        "The container image the job runs in. Pin it by digest: `name:tag@sha256:…`.",
    ),
    field(
        "run",
        TyName::Script,
        true,
        "The script: a string with one command per line, or a list of commands. Runs with `sh -e`.",
    ),
    field(
        "needs",
        TyName::ListJob,
        false,
        "Jobs of the same pipeline that must finish first.",
    ),
    field(
        "env",
        TyName::Env,
        false,
        "Environment variables; a value is a string or a secret.",
    ),
    field(
        "when",
        TyName::Condition,
        false,
        "When the job runs, e.g. `branch == \"main\"`, `tag`, `merge_request`, `manual`.",
    ),
    field(
        "timeout",
        TyName::Duration,
        false,
        "How long the job may run, e.g. `15m`.",
    ),
    field(
        "retry",
        TyName::Int,
        false,
        "How often a failed job is retried: 0, 1 or 2.",
    ),
    field(
        "artifacts",
        TyName::ListString,
        false,
        "Paths kept after the job for later jobs (GitLab only).",
    ),
    field(
        "cache",
        TyName::Cache,
        false,
        "`{ key = \"…\", paths = [\"…\"] }`: a cache kept between pipelines (GitLab only).",
    ),
    field(
        "matrix",
        TyName::Matrix,
        false,
        "`{ VAR = [\"a\", \"b\"] }`: one job per combination of values.",
    ),
    field(
        "resources",
        TyName::Resources,
        false,
        "`{ cpu = \"500m\", memory = 256Mi }`: requests and limits (Kubernetes only).",
    ),
    field(
        "environment",
        TyName::String,
        false,
        "The deployment environment the job targets.",
    ),
    field(
        "allow_failure",
        TyName::Bool,
        false,
        "Whether the pipeline goes on when this job fails.",
    ),
    field(
        "services",
        TyName::ListImage,
        false,
        "Service containers started beside the job (GitLab only).",
    ),
    field(
        "tags",
        TyName::ListString,
        false,
        "Runner tags that select where the job runs (GitLab only).",
    ),
];

pub const PIPELINE_FIELDS: &[FieldSpec] = &[
    field(
        "on",
        TyName::Condition,
        false,
        "When the pipeline runs at all; default: always.",
    ),
    field(
        "env",
        TyName::Env,
        false,
        "Environment variables for every job of the pipeline.",
    ),
    field(
        "default",
        TyName::JobFields,
        false,
        "Job fields every job of the pipeline inherits.",
    ),
];

pub fn job_field(name: &str) -> Option<&'static FieldSpec> {
    JOB_FIELDS.iter().find(|f| f.name == name)
}

pub fn pipeline_field(name: &str) -> Option<&'static FieldSpec> {
    PIPELINE_FIELDS.iter().find(|f| f.name == name)
}
