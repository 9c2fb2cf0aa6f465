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
        "The container image the job runs in. Pin it by digest: `name:tag@sha256:…`; `runner_default` leaves it to the runner.",
    ),
    field(
        "entrypoint",
        TyName::ListString,
        false,
        "Overrides the image's entrypoint, e.g. `[\"\"]` (GitLab `image: entrypoint:`).",
    ),
    field(
        "run",
        TyName::Script,
        true,
        "The script: a string with one command per line, or a list of commands. Runs with `sh -e`.",
    ),
    field(
        "after_run",
        TyName::Script,
        false,
        "Commands run after `run`, whether it passed or failed (GitLab `after_script:`). The job's status stays `run`'s.",
    ),
    field(
        "needs",
        TyName::ListJob,
        false,
        "Jobs of the same pipeline that must finish first.",
    ),
    field(
        "dependencies",
        TyName::ListJob,
        false,
        "The jobs whose artifacts this job downloads (GitLab `dependencies:`); `[]` downloads none.",
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
        "if_previous",
        TyName::IfPrevious,
        false,
        "Run when the earlier stages `\"success\"`-ed (default), had a `\"failure\"`, or `\"always\"` (GitLab `when: on_success / on_failure / always`).",
    ),
    field(
        "delay",
        TyName::Duration,
        false,
        "Start the job this long after it could start (GitLab `when: delayed`, `start_in:`).",
    ),
    field(
        "timeout",
        TyName::Duration,
        false,
        "How long the job may run, e.g. `15m`.",
    ),
    field(
        "retry",
        TyName::Retry,
        false,
        "How often a failed job is retried: 0, 1 or 2, or `{ max = 2, when = [\"runner_system_failure\"] }`.",
    ),
    field(
        "allow_failure",
        TyName::AllowFailure,
        false,
        "Whether the pipeline goes on when this job fails: `true`, or `{ exit_codes = [137] }`.",
    ),
    field(
        "interruptible",
        TyName::Bool,
        false,
        "Whether a newer pipeline may cancel this job (GitLab only).",
    ),
    field(
        "resource_group",
        TyName::String,
        false,
        "Jobs of one resource group never run at the same time (GitLab only).",
    ),
    field(
        "coverage",
        TyName::String,
        false,
        "A regular expression that finds the coverage in the job's log (GitLab `coverage: /…/`).",
    ),
    field(
        "artifacts",
        TyName::Artifacts,
        false,
        "Paths kept after the job, or `{ paths, exclude, name, when, expire_in, expose_as, untracked, reports }` (GitLab only).",
    ),
    field(
        "cache",
        TyName::Cache,
        false,
        "`{ key = \"…\", paths = [\"…\"], policy = \"pull\" }`: a cache kept between pipelines (GitLab only).",
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
        TyName::Environment,
        false,
        "The deployment environment: a name, or `{ name, url, action, on_stop, auto_stop_in, tier }`.",
    ),
    field(
        "services",
        TyName::Services,
        false,
        "Service containers started beside the job: images, or `{ image, alias, command, entrypoint, env }`.",
    ),
    field(
        "tags",
        TyName::ListString,
        false,
        "Runner tags that select where the job runs (GitLab only).",
    ),
    field(
        "trigger",
        TyName::Trigger,
        false,
        "Starts another pipeline: `project(\"group/name\", branch = \"main\")` or `child(\"ci/child.yml\")`, with `depend = true` to wait for it. Such a job has no `image` or `run`.",
    ),
    field(
        "gitlab",
        TyName::GitlabKeys,
        false,
        "GitLab job keys Plumb does not model, written into the job as they are.",
    ),
    field(
        "k8s",
        TyName::K8s,
        false,
        "`{ service_account, node_selector, tolerations, labels, annotations }` for the Kubernetes Job (Kubernetes only).",
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
    field(
        "include",
        TyName::Includes,
        false,
        "External GitLab configuration: `component(…)`, `template(…)`, `project(…)`, `remote(…)`, `local(…)` (GitLab only).",
    ),
    field(
        "gitlab",
        TyName::GitlabKeys,
        false,
        "Top-level GitLab keys Plumb does not model (e.g. `workflow = { name = \"…\" }`), written as they are.",
    ),
];

pub fn job_field(name: &str) -> Option<&'static FieldSpec> {
    JOB_FIELDS.iter().find(|f| f.name == name)
}

pub fn pipeline_field(name: &str) -> Option<&'static FieldSpec> {
    PIPELINE_FIELDS.iter().find(|f| f.name == name)
}
