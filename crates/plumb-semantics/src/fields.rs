//! The fields of jobs and pipelines (§6), with their types, docs, and what each target
//! makes of them: the one table the checker, the editor, `plumb explain field` and
//! `docs/fields.md` read.

use crate::types::TyName;

pub struct FieldSpec {
    pub name: &'static str,
    pub ty: TyName,
    pub required: bool,
    /// What holds when the field is not written.
    pub default: &'static str,
    pub doc: &'static str,
    /// What the field becomes in a `.gitlab-ci.yml`.
    pub gitlab: &'static str,
    /// What the field becomes in a Kubernetes Job.
    pub k8s: &'static str,
    pub example: &'static str,
}

pub const JOB_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "image",
        ty: TyName::Image,
        required: true,
        default: "none: required (from the job, a template or `default`)",
        doc: "The container image the job runs in. Pin it by digest: `name:tag@sha256:…`; `runner_default` leaves it to the runner.",
        gitlab: "`image:`; `runner_default`: no `image:` key",
        k8s: "`containers[0].image`; `runner_default`: `targets.k8s.default_image`, else PL5004",
        example: "image = \"alpine:3.20@sha256:…\"",
    },
    FieldSpec {
        name: "entrypoint",
        ty: TyName::ListString,
        required: false,
        default: "the image's own entrypoint",
        doc: "Overrides the image's entrypoint, e.g. `[\"\"]`.",
        gitlab: "`image: { name, entrypoint }`",
        k8s: "not carried (PL5001)",
        example: "entrypoint = [\"\"]",
    },
    FieldSpec {
        name: "run",
        ty: TyName::Script,
        required: true,
        default: "none: required (from the job, a template or `default`)",
        doc: "The script: a string with one command per line, or a list of commands. Runs with `sh -e`. An empty list is PL1005 (GitLab refuses a job with no script), unless `gitlab = { extends }` names the hidden jobs that hold it.",
        gitlab: "`script:`",
        k8s: "`command: [\"/bin/sh\", \"-ec\", script]`",
        example: "run = [\"make test\"]",
    },
    FieldSpec {
        name: "before_run",
        ty: TyName::Script,
        required: false,
        default: "nothing runs before `run`",
        doc: "Commands run before `run`, in the same shell, stopping the job at their first failure: usually set once in the pipeline's `default` and replaced by a job that sets its own.",
        gitlab: "`before_script:`",
        k8s: "run before `run` in the same shell",
        example: "before_run = [\"source ./ci/env.sh\"]",
    },
    FieldSpec {
        name: "after_run",
        ty: TyName::Script,
        required: false,
        default: "nothing runs after the script",
        doc: "Commands run after `run`, whether it passed or failed; they stop at their first failure, and the job's status stays `run`'s.",
        gitlab: "`after_script:`",
        k8s: "run in the same shell by an exit trap",
        example: "after_run = [\"make clean\"]",
    },
    FieldSpec {
        name: "needs",
        ty: TyName::Needs,
        required: false,
        default: "the jobs of the earlier stages (stage order)",
        doc: "Jobs of the same pipeline that must finish first; `{ job = lint, optional = true }` needs a job only when it is in the pipeline, `artifacts = false` skips its artifacts.",
        gitlab: "`needs:`",
        k8s: "ordering (sync waves, `plumb.dev/needs`)",
        example: "needs = [build]",
    },
    FieldSpec {
        name: "dependencies",
        ty: TyName::ListJob,
        required: false,
        default: "the artifacts of every job of the earlier stages",
        doc: "The jobs whose artifacts this job downloads; `[]` downloads none.",
        gitlab: "`dependencies:`",
        k8s: "not carried (PL5001)",
        example: "dependencies = [build]",
    },
    FieldSpec {
        name: "env",
        ty: TyName::Env,
        required: false,
        default: "no variables",
        doc: "Environment variables; a value is a string or a secret.",
        gitlab: "`variables:`, `secrets:` (vault), `id_tokens:` (id_token)",
        k8s: "`env:` (secrets via `secretKeyRef`, id tokens as projected token files)",
        example: "env = { GOFLAGS = \"-mod=readonly\", TOKEN = deploy_token }",
    },
    FieldSpec {
        name: "when",
        ty: TyName::Condition,
        required: false,
        default: "`true`: the job runs whenever its pipeline does",
        doc: "When the job runs, e.g. `branch == \"main\"`, `tag`, `merge_request`, `manual`.",
        gitlab: "`rules:`",
        k8s: "decided at compile time for the event",
        example: "when = branch == \"main\"",
    },
    FieldSpec {
        name: "if_previous",
        ty: TyName::IfPrevious,
        required: false,
        default: "`\"success\"`",
        doc: "Whether the job runs after earlier stages succeeded (`\"success\"`, the default), after a failure (`\"failure\"`), or `\"always\"`.",
        gitlab: "`when: on_success / on_failure / always` (in each rule when the job has `rules:`)",
        k8s: "`\"success\"`; others are not carried (PL5001)",
        example: "if_previous = \"failure\"",
    },
    FieldSpec {
        name: "delay",
        ty: TyName::Duration,
        required: false,
        default: "none: the job starts when it may",
        doc: "Start the job this long after it could start.",
        gitlab: "`when: delayed`, `start_in:`",
        k8s: "not carried (PL5001)",
        example: "delay = 30m",
    },
    FieldSpec {
        name: "timeout",
        ty: TyName::Duration,
        required: false,
        default: "the project's or runner's timeout (GitLab: 1h)",
        doc: "How long the job may run, e.g. `15m`.",
        gitlab: "`timeout:`",
        k8s: "`activeDeadlineSeconds`",
        example: "timeout = 15m",
    },
    FieldSpec {
        name: "retry",
        ty: TyName::Retry,
        required: false,
        default: "`0`: not retried",
        doc: "How often a failed job is retried: 0, 1 or 2, or `{ max, when }` with the failures to retry.",
        gitlab: "`retry:`",
        k8s: "`backoffLimit` = max",
        example: "retry = { max = 2, when = [\"runner_system_failure\"] }",
    },
    FieldSpec {
        name: "allow_failure",
        ty: TyName::AllowFailure,
        required: false,
        default: "`false`",
        doc: "Whether the pipeline goes on when this job fails: `true`, or `{ exit_codes = [...] }`.",
        gitlab: "`allow_failure:`",
        k8s: "annotation `plumb.dev/allow-failure` (or `…-exit-codes`)",
        example: "allow_failure = { exit_codes = [137] }",
    },
    FieldSpec {
        name: "interruptible",
        ty: TyName::Bool,
        required: false,
        default: "`false`",
        doc: "Whether a newer pipeline may cancel this job.",
        gitlab: "`interruptible:`",
        k8s: "not carried (PL5001)",
        example: "interruptible = true",
    },
    FieldSpec {
        name: "resource_group",
        ty: TyName::String,
        required: false,
        default: "none",
        doc: "Jobs of one resource group never run at the same time.",
        gitlab: "`resource_group:`",
        k8s: "not carried (PL5001)",
        example: "resource_group = \"production\"",
    },
    FieldSpec {
        name: "coverage",
        ty: TyName::String,
        required: false,
        default: "none",
        doc: "A regular expression that finds the coverage in the job's log.",
        gitlab: "`coverage: /…/`",
        k8s: "not carried (PL5001)",
        example: "coverage = \"/total: (\\\\d+\\\\.\\\\d+)%/\"",
    },
    FieldSpec {
        name: "artifacts",
        ty: TyName::Artifacts,
        required: false,
        default: "none kept",
        doc: "Paths kept after the job, or `{ paths, exclude, name, when, expire_in, expose_as, untracked, access, reports }`.",
        gitlab: "`artifacts:` (`reports.coverage` as `coverage_report`)",
        k8s: "not carried (PL5001)",
        example: "artifacts = { paths = [\"build/\"], expire_in = 7d, reports = { junit = [\"report.xml\"] } }",
    },
    FieldSpec {
        name: "cache",
        ty: TyName::Cache,
        required: false,
        default: "none",
        doc: "A cache kept between pipelines: `{ key, paths, policy }`, or a list of up to four.",
        gitlab: "`cache:`",
        k8s: "not carried (PL5001)",
        example: "cache = { key = \"go\", paths = [\".cache/go\"], policy = \"pull\" }",
    },
    FieldSpec {
        name: "matrix",
        ty: TyName::Matrix,
        required: false,
        default: "one job",
        doc: "One job per combination of values (one product; copies of a job, `parallel: 5`, or several matrix entries go in `gitlab = { parallel = … }`).",
        gitlab: "`parallel: matrix:`",
        k8s: "one Job per combination",
        example: "matrix = { GO = [\"1.22\", \"1.23\"] }",
    },
    FieldSpec {
        name: "resources",
        ty: TyName::Resources,
        required: false,
        default: "the cluster's defaults (Kubernetes)",
        doc: "Requests and limits: `{ cpu, memory }`.",
        gitlab: "not carried (PL5001)",
        k8s: "`resources.requests` and `limits`",
        example: "resources = { cpu = \"500m\", memory = 256Mi }",
    },
    FieldSpec {
        name: "environment",
        ty: TyName::Environment,
        required: false,
        default: "none",
        doc: "The deployment environment: a name, or `{ name, url, action, on_stop, auto_stop_in, tier }`.",
        gitlab: "`environment:` (`tier` as `deployment_tier`)",
        k8s: "label `plumb.dev/environment`, annotation `plumb.dev/environment-url`",
        example: "environment = { name = \"production\", url = \"https://example.com\" }",
    },
    FieldSpec {
        name: "services",
        ty: TyName::Services,
        required: false,
        default: "none",
        doc: "Service containers started beside the job: images, or `{ image, alias, command, entrypoint, env }`.",
        gitlab: "`services:`",
        k8s: "native sidecars: `initContainers` with `restartPolicy: Always`",
        example: "services = [\"postgres:16.2@sha256:…\"]",
    },
    FieldSpec {
        name: "tags",
        ty: TyName::ListString,
        required: false,
        default: "any runner of the project",
        doc: "Runner tags that select where the job runs.",
        gitlab: "`tags:`",
        k8s: "not carried (PL5001)",
        example: "tags = [\"docker\"]",
    },
    FieldSpec {
        name: "trigger",
        ty: TyName::Trigger,
        required: false,
        default: "none: a job that runs a script",
        doc: "Starts another pipeline: `project(PATH, branch = …)` or `child(FILE)`, with `depend = true` to wait for it. Such a job has no `image` or `run`.",
        gitlab: "`trigger:` (`depend` as `strategy: depend`)",
        k8s: "not carried (PL5001); the job is left out",
        example: "trigger = project(\"group/deploy\", branch = \"main\", depend = true)",
    },
    FieldSpec {
        name: "gitlab",
        ty: TyName::GitlabKeys,
        required: false,
        default: "no other GitLab keys",
        doc: "GitLab job keys Plumb does not model, written into the job as they are (checked against GitLab's schema); `extends` names hidden jobs of other files (`.name`): those the pipeline includes, or, when the compiled file is one another includes, those of that configuration; GitLab merges them under the job's own keys (a secret given to such a job is PL4003); `needs` lists jobs of other files or pipelines (`\"name\"`, `{ job, artifacts, optional }`, `{ pipeline, job }`, `{ project, job, ref }`), written after the job's own `needs`, which it then must have; `dependencies` lists jobs of other files (names) whose artifacts it downloads, written after the job's own `dependencies`. GitLab's `needs:` and `dependencies:` are one list each: a layer writing the field or its `gitlab` key replaces both parts of its bases'.",
        gitlab: "merged into the job",
        k8s: "not carried (PL5001)",
        example: "gitlab = { release = { tag_name = \"$CI_COMMIT_TAG\", description = \"…\" } }",
    },
    FieldSpec {
        name: "k8s",
        ty: TyName::K8s,
        required: false,
        default: "the Job as Plumb writes it",
        doc: "The Kubernetes Job's pod: `{ service_account, node_selector, tolerations, labels, annotations }`.",
        gitlab: "not carried (PL5001)",
        k8s: "merged into the Job and its pod",
        example: "k8s = { service_account = \"deployer\" }",
    },
];

pub const PIPELINE_FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "on",
        ty: TyName::Condition,
        required: false,
        default: "always",
        doc: "When the pipeline runs at all; default: always.",
        gitlab: "`workflow: rules:`",
        k8s: "decided at compile time for the event",
        example: "on = merge_request || branch == \"main\"",
    },
    FieldSpec {
        name: "env",
        ty: TyName::Env,
        required: false,
        default: "no variables",
        doc: "Environment variables for every job of the pipeline.",
        gitlab: "each job's `variables:`",
        k8s: "each Job's `env:`",
        example: "env = { CGO_ENABLED = \"0\" }",
    },
    FieldSpec {
        name: "default",
        ty: TyName::JobFields,
        required: false,
        default: "nothing given to every job",
        doc: "Job fields every job of the pipeline inherits (not trigger jobs, as in GitLab). With an `include`, or a job's `gitlab = { extends }`, `gitlab = { needs }` on jobs of other files or `gitlab = { dependencies }`, the compiled file is one of several GitLab merges: the jobs of the other files get the keys GitLab's `default:` takes (not `env`, `when`, `allow_failure`, `matrix`, …), and it is checked as a job of its own.",
        gitlab: "each job's keys; with an `include`, also the top-level `default:` (the keys it takes), which jobs lacking one of them do not inherit (`inherit: default: false`)",
        k8s: "each Job",
        example: "default = { image = go, timeout = 15m }",
    },
    FieldSpec {
        name: "include",
        ty: TyName::Includes,
        required: false,
        default: "nothing included",
        doc: "External GitLab configuration: `component(…)`, `template(…)`, `project(…)`, `remote(…)`, `local(…)`.",
        gitlab: "`include:` (`remote` with `sha256` as `integrity:`)",
        k8s: "not carried (PL5001)",
        example: "include = [component(\"gitlab.example.com/g/p/name@1.4.2\")]",
    },
    FieldSpec {
        name: "gitlab",
        ty: TyName::GitlabKeys,
        required: false,
        default: "no other top-level GitLab keys",
        doc: "Top-level GitLab keys Plumb does not model: `workflow` (`name`, `auto_cancel`), and the keys of a job of an included file, which GitLab merges into it (`sast = { variables = { … } }`; the pipeline must `include` something, the name must not be one of its jobs, and `script`, `image`, `services` and `hooks` are refused there: they are checked only in a job of its own).",
        gitlab: "merged into the file's top level",
        k8s: "not carried (PL5001)",
        example: "gitlab = { workflow = { name = \"web\" } }",
    },
];

pub fn job_field(name: &str) -> Option<&'static FieldSpec> {
    JOB_FIELDS.iter().find(|f| f.name == name)
}

pub fn pipeline_field(name: &str) -> Option<&'static FieldSpec> {
    PIPELINE_FIELDS.iter().find(|f| f.name == name)
}

/// A field's reference: type, whether it is required, doc, GitLab and Kubernetes
/// meaning, an example, and the keys of its record form.
pub fn field_reference(spec: &FieldSpec) -> String {
    let mut out = format!(
        "## `{}`: {}{}\n\n{}\n\n- Default: {}\n- GitLab CI: {}\n- Kubernetes: {}\n\n```plumb\n{}\n```\n",
        spec.name,
        spec.ty.ty(),
        if spec.required { " (required)" } else { "" },
        spec.doc,
        spec.default,
        spec.gitlab,
        spec.k8s,
        spec.example,
    );
    if let Some(record) = spec.ty.record() {
        out.push_str(&record_reference(record, 0));
    }
    out
}

fn record_reference(record: &crate::types::RecordSpec, depth: usize) -> String {
    let mut out = String::new();
    if record.keys.is_empty() {
        return out;
    }
    if depth == 0 {
        out.push('\n');
    }
    for key in record.keys {
        let required = if record.required.contains(&key.name) {
            " (required)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}- `{}`: {}{required}. {}\n",
            "  ".repeat(depth),
            key.name,
            key.ty.ty(),
            key.doc
        ));
        if let Some(inner) = key.ty.record() {
            out.push_str(&record_reference(inner, depth + 1));
        }
    }
    out
}

/// `docs/fields.md`: every job and pipeline field. A test keeps the file equal to this.
pub fn fields_markdown() -> String {
    let mut out = String::from(
        "# Job and pipeline fields\n\n\
         Generated from the field table the checker uses (`crates/plumb-semantics/src/fields.rs`);\n\
         `plumb explain field NAME` prints one entry. Do not edit by hand.\n\n# Job fields\n\n",
    );
    for spec in JOB_FIELDS {
        out.push_str(&field_reference(spec));
        out.push('\n');
    }
    out.push_str("# Pipeline fields\n\n");
    for spec in PIPELINE_FIELDS {
        out.push_str(&field_reference(spec));
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The type and doc of a field or of a key inside its records: `["artifacts",
/// "reports", "junit"]`. `job` chooses job fields or pipeline fields for the first
/// name (a pipeline's `default` holds job fields).
pub fn key_at_path(path: &[&str], job: bool) -> Option<(TyName, &'static str)> {
    let (first, rest) = path.split_first()?;
    let spec = if job {
        job_field(first)?
    } else if *first == "default" && !rest.is_empty() {
        return key_at_path(rest, true);
    } else {
        pipeline_field(first)?
    };
    let (mut ty, mut doc) = (spec.ty, spec.doc);
    for key in rest {
        let k = ty.record()?.key(key)?;
        (ty, doc) = (k.ty, k.doc);
    }
    Some((ty, doc))
}

/// The constructors a field's value is built with (`trigger = project(…)`,
/// `include = [component(…), …]`), by name; none for other fields.
pub fn constructors(field: &str) -> Vec<&'static str> {
    use crate::lower::values::{INCLUDES, TRIGGERS};
    let table = match field {
        "trigger" => TRIGGERS,
        "include" => INCLUDES,
        _ => &[],
    };
    table.iter().map(|c| c.name).collect()
}

/// The GitLab CI keyword a record key is written as (`artifacts: reports: junit:`), for
/// hover; `None` for keys GitLab does not get (`k8s`, `resources`).
pub fn gitlab_keyword(path: &[&str]) -> Option<String> {
    let renamed: &[(&[&str], &str)] = &[
        (&["environment", "tier"], "deployment_tier"),
        (&["artifacts", "reports", "coverage"], "coverage_report"),
        (&["services", "env"], "variables"),
        (&["services", "image"], "name"),
    ];
    if matches!(path.first(), Some(&"k8s" | &"resources")) {
        return None;
    }
    let mut words: Vec<&str> = path.to_vec();
    for (from, to) in renamed {
        if path.ends_with(from) {
            let at = words.len() - 1;
            words[at] = to;
        }
    }
    Some(format!("`{}:`", words.join(": ")))
}

/// Keys that a pipeline's `gitlab = { JOB = { … } }` (completing a job of an included
/// file) may not hold: they run code or pick an image that no check would see.
pub const INCLUDED_JOB_UNCHECKED: &[&str] = &[
    "script",
    "before_script",
    "after_script",
    "image",
    "services",
    "hooks",
    "run",
    // a pipeline of its own, and secrets given to a job no check sees (`extends` may
    // name a job of the pipeline, whose `secrets:` GitLab would merge in)
    "extends",
    "trigger",
    "secrets",
    "id_tokens",
];

/// Keys of a `.gitlab-ci.yml` that cannot be job names: the GitLab compiler writes a
/// job so named as `NAME-job`.
const RESERVED_JOB_KEYS: &[&str] = &[
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "default",
    "workflow",
    "spec",
];

/// Whether a `.gitlab-ci.yml` reads `key` as something other than a job (a top-level
/// keyword, or `pages:deploy`, GitLab's Pages job).
pub fn is_reserved_job_key(key: &str) -> bool {
    RESERVED_JOB_KEYS.contains(&key) || key == "pages:deploy"
}

/// The keys of GitLab's `default:` that a Plumb field writes, with that field: the one
/// table the importer (a `default:` read into the pipeline's `default`) and the GitLab
/// compiler (the pipeline's `default` written to the top-level `default:`) share. A
/// job's own field replaces `default`'s, as a GitLab job's key replaces `default:`'s.
pub const GITLAB_DEFAULT_KEYS: &[(&str, &str)] = &[
    ("image", "image"),
    ("services", "services"),
    ("before_script", "before_run"),
    ("after_script", "after_run"),
    ("cache", "cache"),
    ("artifacts", "artifacts"),
    ("retry", "retry"),
    ("timeout", "timeout"),
    ("interruptible", "interruptible"),
    ("tags", "tags"),
];

/// Whether `name` can name a hidden job of another file in `gitlab = { extends }`: a
/// `.` and more, no whitespace (the checker refuses others; the import keeps no other).
pub fn is_hidden_job_name(name: &str) -> bool {
    name.len() > 1 && name.starts_with('.') && !name.contains(char::is_whitespace)
}

/// Names a pipeline's `gitlab = { NAME = { … } }` cannot complete: GitLab's top-level
/// keywords (`<<` would merge its keys into the top level), which are not jobs.
pub const NOT_INCLUDED_JOBS: &[&str] = &[
    "<<",
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];
