//! `--target k8s`: `batch/v1` Jobs for one event (§8.2).

use crate::data::Data;
use crate::names::dns_label;
use crate::plan::{matrix_combinations, PipelinePlan};
use crate::yaml::{header, to_yaml_stream, OrderedMap};
use crate::{job_not_carried, not_carried, warning, BuildError, OutputFile};
use plumb_config::Config;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::{BranchTest, Cond, Event, JobModel, SecretSource, Truth, ValueKind};
use serde::Serialize;

/// How long a finished Job is kept before Kubernetes deletes it.
const TTL_SECONDS: u64 = 86_400;
/// The user the containers run as (the `nonroot` user of distroless images).
const NON_ROOT_UID: u64 = 65_532;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct K8sJob {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: JobSpec,
}

impl K8sJob {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
    /// The `plumb.dev/stage` label.
    pub fn stage_label(&self) -> &str {
        self.metadata
            .labels
            .0
            .iter()
            .find(|(k, _)| k == "plumb.dev/stage")
            .map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: OrderedMap<String>,
    annotations: OrderedMap<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobSpec {
    backoff_limit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_deadline_seconds: Option<u64>,
    ttl_seconds_after_finished: u64,
    template: PodTemplate,
}

#[derive(Serialize)]
struct PodTemplate {
    metadata: PodMetadata,
    spec: PodSpec,
}

#[derive(Serialize)]
struct PodMetadata {
    labels: OrderedMap<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    restart_policy: &'static str,
    automount_service_account_token: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_name: Option<String>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    node_selector: OrderedMap<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tolerations: Vec<Data>,
    security_context: PodSecurityContext,
    /// `services`: native sidecars (`restartPolicy: Always`), started before the job's
    /// container and stopped after it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSecurityContext {
    run_as_non_root: bool,
    run_as_user: u64,
    run_as_group: u64,
    fs_group: u64,
    seccomp_profile: SeccompProfile,
}

#[derive(Serialize)]
struct SeccompProfile {
    #[serde(rename = "type")]
    type_: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    /// `Always` for a sidecar.
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    working_dir: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources>,
    security_context: ContainerSecurityContext,
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_from: Option<EnvSource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    secret_key_ref: SecretKeyRef,
}

#[derive(Serialize)]
struct SecretKeyRef {
    name: String,
    key: String,
}

#[derive(Serialize)]
struct Resources {
    requests: OrderedMap<String>,
    limits: OrderedMap<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerSecurityContext {
    allow_privilege_escalation: bool,
    read_only_root_filesystem: bool,
    run_as_non_root: bool,
    capabilities: Capabilities,
}

#[derive(Serialize)]
struct Capabilities {
    drop: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    empty_dir: Option<OrderedMap<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projected: Option<Projected>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<SecretVolume>,
}

/// A `vault(…, file = true)` secret: one key of the pipeline's Vault Secret, as a file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolume {
    secret_name: String,
    items: Vec<KeyToPath>,
}

#[derive(Serialize)]
struct KeyToPath {
    key: String,
    path: &'static str,
}

/// An `id_token` secret: a service-account token for its audience, as a file.
#[derive(Serialize)]
struct Projected {
    sources: Vec<ProjectedSource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectedSource {
    service_account_token: ServiceAccountToken,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceAccountToken {
    audience: String,
    expiration_seconds: u64,
    path: &'static str,
}

/// The name of the Secret that `vault` secrets of a pipeline are synced into (by the
/// GitOps target's ExternalSecret).
pub fn vault_secret_name(pipeline: &str) -> String {
    dns_label(&format!("{pipeline}-vault"))
}

/// The Jobs of every pipeline for one event, in run order.
pub fn jobs(
    plans: &[PipelinePlan],
    event: &Event,
    vars: &std::collections::BTreeMap<String, String>,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<K8sJob> {
    let mut claims = crate::names::NameClaims::default();
    claimed_jobs(plans, event, vars, config, warnings, &mut claims)
}

/// [`jobs`] with the names other objects of the namespace hold already (GitOps writes
/// every pipeline's Jobs and Secrets into one namespace).
pub fn claimed_jobs(
    plans: &[PipelinePlan],
    event: &Event,
    vars: &std::collections::BTreeMap<String, String>,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
    claims: &mut crate::names::NameClaims,
) -> Vec<K8sJob> {
    let mut out = Vec::new();
    // `branch == var("CI_DEFAULT_BRANCH")`: the configured default branch, unless given
    let mut vars = vars.clone();
    vars.entry("CI_DEFAULT_BRANCH".to_string())
        .or_insert_with(|| config.default_branch().to_string());
    let vars = &vars;
    for p in plans {
        // a variable not given decides a condition as much as one given: say so first
        warn_untold_vars(&p.model.on, p.model.on_at, vars, warnings);
        let runs = p.model.on.decide(event, vars).possible();
        // `!changes(…)` is false: a pipeline or job left out by it is said so
        let decided_by_runtime_test =
            || p.model.on.decide_with(event, vars, Truth::Maybe).possible();
        if runs || decided_by_runtime_test() {
            warn_changes(&p.model.on, p.model.on_at, runs, warnings);
        }
        if !runs {
            continue;
        }
        for (field, why) in [
            ("include", "includes are GitLab configuration; Kubernetes Jobs are compiled from this program alone"),
            ("gitlab", "`gitlab = { … }` holds GitLab keys only"),
        ] {
            if let Some(f) = p.model.field(field) {
                warnings.push(not_carried(field, "Kubernetes", f.key_at, why));
            }
        }
        for (job, depth) in p.jobs_with_depth() {
            let when_at = job.field("when").map(|f| f.key_at);
            let before = warnings.len();
            warn_untold_vars(&job.when, when_at, vars, warnings);
            job.label_findings_outside(&mut warnings[before..]);
            if !job.when.decide(event, vars).possible() {
                // left out by `!changes(…)`, not by the branch or a variable
                if job.when.decide_with(event, vars, Truth::Maybe).possible() {
                    let before = warnings.len();
                    warn_changes(&job.when, when_at, false, warnings);
                    job.label_findings_outside(&mut warnings[before..]);
                }
                continue;
            }
            if job.when.mentions_manual() {
                continue;
            }
            if let Some(f) = job.field("trigger") {
                warnings.push(not_carried(
                    "trigger",
                    "Kubernetes",
                    f.key_at,
                    "a trigger job starts another GitLab pipeline; it is left out of the Kubernetes Jobs",
                ));
                continue;
            }
            if let Some(refused) = lacks_what_other_files_give(job) {
                warnings.push(refused);
                continue;
            }
            let before = warnings.len();
            warn_changes(&job.when, when_at, true, warnings);
            warn_needs_on_triggers(p, job, warnings);
            job.label_findings_outside(&mut warnings[before..]);
            warn_not_carried(job, warnings);
            check_runner_default(job, config, warnings);
            for combo in matrix_combinations(job) {
                let name = job_name(&p.model.name, &job.name, &combo);
                let source = describe_job(&p.model.name, &job.name, &combo);
                if let Some(clash) = claims.claim(&name, source, job.name_at, "Kubernetes Job") {
                    warnings.push(clash);
                    continue;
                }
                out.push(manifest(p, job, depth, &combo, config));
            }
        }
    }
    out
}

/// A job with no (or an empty) `run`, or no `image`, which only a job that `extends`
/// hidden jobs of other files (`gitlab = { extends }`) may be: GitLab takes them from there, a
/// Kubernetes Job has nothing to run (an error).
fn lacks_what_other_files_give(job: &JobModel) -> Option<Diagnostic> {
    let empty = |f: &str| {
        job.field(f)
            .is_none_or(|u| u.value.as_list().is_some_and(<[_]>::is_empty))
    };
    let lacking = ["run", "image"].into_iter().find(|f| empty(f))?;
    Some(
        Diagnostic::error(
            plumb_diagnostics::Code::PL5001,
            job.name_at,
            format!("job `{}` has no `{lacking}` for Kubernetes: GitLab takes it from the hidden jobs of other files the job extends", job.name),
        )
        .with_label(format!("no `{lacking}`"))
        .with_help(format!("write the job's `{lacking}` to build it for Kubernetes")),
    )
}

/// A need on a trigger job, which no Kubernetes Job stands for (PL2005): the job
/// would wait for a Job that never comes.
fn warn_needs_on_triggers(p: &PipelinePlan, job: &JobModel, warnings: &mut Vec<Diagnostic>) {
    // an optional need asks for the job only when it is there
    for need in job.needs.iter().filter(|n| !n.optional) {
        let Some(target) = need.target.map(|t| &p.model.jobs[t]) else {
            continue;
        };
        if target.field("trigger").is_none() {
            continue;
        }
        warnings.push(
            crate::warning(
                plumb_diagnostics::Code::PL2005,
                need.at,
                format!("job `{}` needs `{}`, a trigger job, which the Kubernetes target leaves out", job.name, target.name),
                "drop the need for Kubernetes, or run the downstream work as a job of this pipeline",
            )
            .with_label(format!("`{}` is no Kubernetes Job", target.name))
            .with_secondary(target.name_at, "a trigger job: it starts another GitLab pipeline"),
        );
    }
}

pub fn compile(
    plans: &[PipelinePlan],
    event: &Event,
    vars: &std::collections::BTreeMap<String, String>,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<OutputFile>, BuildError> {
    let jobs = jobs(plans, event, vars, config, warnings);
    let source = crate::plan::sources_of(plans);
    Ok(vec![OutputFile {
        path: "jobs.yaml".to_string(),
        contents: header(&source) + &to_yaml_stream(&jobs)?,
    }])
}

/// The job's image; for `runner_default`, `targets.k8s.default_image` (see
/// [`check_runner_default`] when it is unset).
fn image_of(job: &JobModel, config: &Config) -> String {
    match job.image() {
        Some(v) if v.kind == plumb_semantics::ValueKind::RunnerDefault => {
            config.targets.k8s.default_image.clone().unwrap_or_default()
        }
        Some(v) => v.as_str().unwrap_or_default().to_string(),
        None => String::new(),
    }
}

/// PL5004: `runner_default` with no `targets.k8s.default_image`: a Kubernetes Job has
/// no runner to decide its image.
fn check_runner_default(job: &JobModel, config: &Config, warnings: &mut Vec<Diagnostic>) {
    let Some(v) = job.image() else { return };
    if v.kind != plumb_semantics::ValueKind::RunnerDefault
        || config.targets.k8s.default_image.is_some()
    {
        return;
    }
    warnings.push(
        Diagnostic::error(
            plumb_diagnostics::Code::PL5004,
            v.origin,
            format!(
                "job `{}` leaves its image to the runner, and Kubernetes has none",
                job.name
            ),
        )
        .with_label("`runner_default`")
        .with_help("set `targets.k8s.default_image` in plumb.toml, or name the image"),
    );
}

/// PL5002 for a `var("NAME")` that `--var` does not give: it counts as empty.
fn warn_untold_vars(
    cond: &Cond,
    at: Option<plumb_diagnostics::FileRange>,
    vars: &std::collections::BTreeMap<String, String>,
    warnings: &mut Vec<Diagnostic>,
) {
    /// The first `var("NAME")` not given with `--var`.
    fn untold_var<'c>(
        c: &'c Cond,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> Option<&'c str> {
        match c {
            Cond::Var(name, _) if !vars.contains_key(name) => Some(name),
            Cond::Branch(t) | Cond::Source(t) | Cond::Var(_, t) => match t {
                BranchTest::EqVar(other) | BranchTest::NotEqVar(other)
                    if !vars.contains_key(other) =>
                {
                    Some(other)
                }
                _ => None,
            },
            Cond::And(a, b) | Cond::Or(a, b) => untold_var(a, vars).or_else(|| untold_var(b, vars)),
            Cond::Not(a) => untold_var(a, vars),
            _ => None,
        }
    }
    if let (Some(name), Some(at)) = (untold_var(cond, vars), at) {
        warnings.push(
            warning(
                plumb_diagnostics::Code::PL5002,
                at,
                format!(
                    "`var(\"{name}\")` is not given with `--var {name}=VALUE`; it counts as empty"
                ),
                "give the value the Jobs are for with `--var NAME=VALUE`",
            )
            .with_label("counts as empty"),
        );
    }
}

fn warn_changes(
    cond: &Cond,
    at: Option<plumb_diagnostics::FileRange>,
    kept: bool,
    warnings: &mut Vec<Diagnostic>,
) {
    /// The first test only a running pipeline can answer: `changes(…)` and
    /// `exists(…)` (`source` and `var(…)` are decided: see `Cond::decide`).
    fn runtime_test(c: &Cond) -> Option<&'static str> {
        match c {
            Cond::Changes(_) => Some("`changes(…)`"),
            Cond::Exists(_) => Some("`exists(…)`"),
            Cond::And(a, b) | Cond::Or(a, b) => runtime_test(a).or_else(|| runtime_test(b)),
            Cond::Not(a) => runtime_test(a),
            _ => None,
        }
    }
    if let (Some(test), Some(at)) = (runtime_test(cond), at) {
        warnings.push(
            warning(
                plumb_diagnostics::Code::PL5002,
                at,
                format!(
                "{test} cannot be known when Kubernetes manifests are compiled; it counts as true"
            ),
                match kept {
                    true => "the job is included as if the test passed",
                    false => "it is left out: the test counts as true, so its negation is false",
                },
            )
            .with_label("counts as true"),
        );
    }
}

/// What a Kubernetes Job cannot carry, and why (PL5001).
const NOT_CARRIED: &[(&str, &str)] = &[
    (
        "artifacts",
        "a Kubernetes Job keeps no artifacts; write results to a volume or an object store",
    ),
    ("cache", "a Kubernetes Job has no cache between runs"),
    (
        "tags",
        "runner tags select GitLab runners; use `k8s = { node_selector = { … } }` on Kubernetes",
    ),
    (
        "entrypoint",
        "a Kubernetes Job runs `/bin/sh -ec` with the script; the image's entrypoint is not used",
    ),
    (
        "delay",
        "a Kubernetes Job starts when it is applied; delay it with the tool that applies it",
    ),
    (
        "resource_group",
        "Kubernetes has no resource groups; serialize the Jobs with `needs`",
    ),
    ("dependencies", "a Kubernetes Job downloads no artifacts"),
    (
        "interruptible",
        "nothing cancels a Kubernetes Job when a newer pipeline starts",
    ),
    (
        "coverage",
        "nothing reads a Kubernetes Job's log for coverage",
    ),
    ("gitlab", "`gitlab = { … }` holds GitLab keys only"),
];

fn warn_not_carried(job: &JobModel, warnings: &mut Vec<Diagnostic>) {
    for (field, why) in NOT_CARRIED {
        warnings.extend(job_not_carried(job, field, "Kubernetes", why));
    }
    if let Some(f) = job.field("if_previous") {
        if f.value.as_str() != Some("success") {
            warnings.push(
                warning(
                    plumb_diagnostics::Code::PL5001,
                    f.key_at,
                    "`if_previous` cannot be carried to Kubernetes: a Job runs only after the Jobs before it succeeded".to_string(),
                    "run the cleanup in `after_run`, which runs whatever the script returned",
                )
                .with_label("not carried"),
            );
        }
    }
    for (b, secret) in job.secret_env() {
        if let SecretSource::IdToken(_) = secret.source {
            warnings.push(warning(
                plumb_diagnostics::Code::PL5001,
                b.name_at,
                format!("on Kubernetes, `{}` holds the path of a file with the token, not the token", b.name),
                "read the token with `$(cat \"$NAME\")`: a projected service-account token for the audience is mounted there",
            ));
        }
    }
}

/// How a Job is named in a PL5003 message: "job `p.j`" with its matrix values.
fn describe_job(pipeline: &str, job: &str, combo: &[(String, String)]) -> String {
    let values: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if values.is_empty() {
        format!("job `{pipeline}.{job}`")
    } else {
        format!("job `{pipeline}.{job}` ({})", values.join(", "))
    }
}

/// The name of a Job: pipeline, job and matrix values.
pub fn job_name(pipeline: &str, job: &str, combo: &[(String, String)]) -> String {
    let mut name = format!("{pipeline}-{job}");
    for (_, v) in combo {
        name.push('-');
        name.push_str(v);
    }
    dns_label(&name)
}

fn manifest(
    p: &PipelinePlan,
    job: &JobModel,
    depth: usize,
    combo: &[(String, String)],
    config: &Config,
) -> K8sJob {
    let (labels, annotations) = metadata_maps(p, job, depth);
    let mut volumes = vec![empty_dir("workspace"), empty_dir("tmp")];
    let mut mounts = vec![mount("workspace", "/workspace"), mount("tmp", "/tmp")];
    let env = env_vars(p, job, combo, config, (&mut volumes, &mut mounts));
    let container = Container {
        name: "job".to_string(),
        image: image_of(job, config),
        restart_policy: None,
        command: vec![
            "/bin/sh".to_string(),
            "-ec".to_string(),
            kubelet_literal(&shell_script(job)),
        ],
        args: Vec::new(),
        working_dir: "/workspace",
        env,
        resources: resources(job),
        security_context: restricted(),
        volume_mounts: mounts,
    };
    let k8s = |key: &str| {
        job.record_field("k8s")
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| Data::of(&e.value))
    };
    K8sJob {
        api_version: "batch/v1",
        kind: "Job",
        metadata: Metadata {
            name: job_name(&p.model.name, &job.name, combo),
            namespace: config.targets.k8s.namespace.clone(),
            labels: labels.clone(),
            annotations,
        },
        spec: JobSpec {
            backoff_limit: retry_max(job),
            active_deadline_seconds: job.duration_field("timeout"),
            ttl_seconds_after_finished: TTL_SECONDS,
            template: PodTemplate {
                metadata: PodMetadata { labels },
                spec: PodSpec {
                    restart_policy: "Never",
                    automount_service_account_token: false,
                    service_account_name: match k8s("service_account") {
                        Some(Data::Str(s)) => Some(s),
                        _ => None,
                    },
                    node_selector: string_map(k8s("node_selector")),
                    tolerations: match k8s("tolerations") {
                        Some(Data::List(items)) => items.into_iter().map(toleration).collect(),
                        _ => Vec::new(),
                    },
                    security_context: PodSecurityContext {
                        run_as_non_root: true,
                        run_as_user: NON_ROOT_UID,
                        run_as_group: NON_ROOT_UID,
                        fs_group: NON_ROOT_UID,
                        seccomp_profile: SeccompProfile {
                            type_: "RuntimeDefault",
                        },
                    },
                    init_containers: sidecars(job),
                    containers: vec![container],
                    volumes,
                },
            },
        },
    }
}

/// The Job's labels (also the pod's) and annotations: Plumb's, then `k8s.labels` and
/// `k8s.annotations`.
fn metadata_maps(
    p: &PipelinePlan,
    job: &JobModel,
    depth: usize,
) -> (OrderedMap<String>, OrderedMap<String>) {
    let mut labels = OrderedMap::new();
    labels.insert("app.kubernetes.io/managed-by", "plumb".to_string());
    labels.insert("plumb.dev/pipeline", dns_label(&p.model.name));
    labels.insert("plumb.dev/stage", dns_label(p.stage_name(job)));
    labels.insert("plumb.dev/job", dns_label(&job.name));
    let (env_name, env_url) = environment(job);
    if let Some(env) = env_name {
        labels.insert("plumb.dev/environment", dns_label(env));
    }
    let mut annotations = OrderedMap::new();
    let needs: Vec<&str> = job
        .needs
        .iter()
        .filter(|n| n.target.is_some())
        .map(|n| n.job.as_str())
        .collect();
    annotations.insert("plumb.dev/needs", needs.join(","));
    annotations.insert("argocd.argoproj.io/sync-wave", depth.to_string());
    annotations.insert("plumb.dev/source", p.source.clone());
    if let Some(url) = env_url {
        annotations.insert("plumb.dev/environment-url", url.to_string());
    }
    match job.field("allow_failure").map(|f| &f.value.kind) {
        Some(ValueKind::Bool(allow)) => {
            annotations.insert("plumb.dev/allow-failure", allow.to_string())
        }
        Some(ValueKind::Map(_)) => {
            let codes = job
                .record_field("allow_failure")
                .iter()
                .find(|e| e.key == "exit_codes");
            let codes: Vec<String> = codes
                .and_then(|e| e.value.as_list())
                .unwrap_or(&[])
                .iter()
                .filter_map(|v| match v.kind {
                    ValueKind::Int(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            annotations.insert("plumb.dev/allow-failure-exit-codes", codes.join(","));
        }
        _ => {}
    }
    let record = job.record_field("k8s");
    for (key, map) in [("labels", &mut labels), ("annotations", &mut annotations)] {
        let extra = record
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| Data::of(&e.value));
        for (k, v) in string_map(extra).0 {
            map.insert(k, v);
        }
    }
    (labels, annotations)
}

/// A toleration with Kubernetes' key names (`toleration_seconds` is
/// `tolerationSeconds`).
fn toleration(mut d: Data) -> Data {
    if let Some(m) = d.as_map_mut() {
        m.rename("toleration_seconds", "tolerationSeconds");
    }
    d
}

/// The environment's name and URL, from `environment = "name"` or its record.
fn environment(job: &JobModel) -> (Option<&str>, Option<&str>) {
    if let Some(name) = job.str_field("environment") {
        return (Some(name), None);
    }
    let record = job.record_field("environment");
    let get = |k: &str| {
        record
            .iter()
            .find(|e| e.key == k)
            .and_then(|e| e.value.as_str())
    };
    (get("name"), get("url"))
}

fn string_map(d: Option<Data>) -> OrderedMap<String> {
    let mut out = OrderedMap::new();
    if let Some(Data::Map(m)) = d {
        for (k, v) in m.0 {
            if let Data::Str(s) = v {
                out.insert(k, s);
            }
        }
    }
    out
}

/// `retry` or `retry.max`.
fn retry_max(job: &JobModel) -> u64 {
    job.int_field("retry").unwrap_or_else(|| {
        job.record_field("retry")
            .iter()
            .find(|e| e.key == "max")
            .and_then(|e| match e.value.kind {
                ValueKind::Int(n) => Some(n),
                _ => None,
            })
            .unwrap_or(0)
    })
}

/// The container's environment: plain values, secrets by `secretKeyRef`, `id_token`
/// secrets as the path of a projected token file, then the matrix values.
fn env_vars(
    p: &PipelinePlan,
    job: &JobModel,
    combo: &[(String, String)],
    config: &Config,
    (volumes, mounts): (&mut Vec<Volume>, &mut Vec<VolumeMount>),
) -> Vec<EnvVar> {
    let secret_name = config
        .targets
        .k8s
        .secret_name
        .clone()
        .unwrap_or_else(|| "pipeline-secrets".to_string());
    let mut env = Vec::new();
    for b in &job.env {
        let from_secret = |name: String, key: String| EnvVar {
            name: b.name.clone(),
            value: None,
            value_from: Some(EnvSource {
                secret_key_ref: SecretKeyRef { name, key },
            }),
        };
        let var = match &b.value.kind {
            ValueKind::Str(s) => plain_var(&b.name, s),
            ValueKind::Secret(secret) => match &secret.source {
                SecretSource::CiVariable(n) => from_secret(secret_name.clone(), n.clone()),
                SecretSource::K8sSecret { name, key } => from_secret(name.clone(), key.clone()),
                SecretSource::Vault {
                    path,
                    field,
                    file: false,
                } => from_secret(
                    vault_secret_name(&p.model.name),
                    p.vault_key(&secret.name, path, field),
                ),
                // as on GitLab, the variable holds the path of a file with the value
                SecretSource::Vault {
                    path,
                    field,
                    file: true,
                } => {
                    let n = volumes.iter().filter(|v| v.secret.is_some()).count();
                    let volume = format!("vault-file-{}", n + 1);
                    let dir = format!("/var/run/secrets/plumb/{volume}");
                    volumes.push(vault_file_volume(
                        &volume,
                        &vault_secret_name(&p.model.name),
                        &p.vault_key(&secret.name, path, field),
                    ));
                    mounts.push(VolumeMount {
                        read_only: true,
                        ..mount(&volume, &dir)
                    });
                    plain_var(&b.name, &format!("{dir}/value"))
                }
                SecretSource::IdToken(audience) => {
                    // numbered: variable names that differ only in case or `_`/`-`
                    // would give one DNS label
                    let n = volumes.iter().filter(|v| v.projected.is_some()).count();
                    let volume = format!("id-token-{}", n + 1);
                    let dir = format!("/var/run/secrets/plumb/{volume}");
                    volumes.push(token_volume(&volume, audience));
                    mounts.push(VolumeMount {
                        read_only: true,
                        ..mount(&volume, &dir)
                    });
                    plain_var(&b.name, &format!("{dir}/token"))
                }
            },
            _ => continue,
        };
        env.push(var);
    }
    for (var, value) in combo {
        env.retain(|e| e.name != *var);
        env.push(plain_var(var, value));
    }
    env
}

/// A variable with a plain value. The value is GitLab's first: its `$$` is a plain `$`
/// (as GitLab passes it), which [`kubelet_literal`] then writes so that the kubelet
/// passes it on.
fn plain_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(kubelet_literal(&value.replace("$$", "$"))),
        value_from: None,
    }
}

/// `text` written so that the kubelet passes it on as it is: in a container's
/// `command`, `args` and `env` values it replaces `$(NAME)` with the container's
/// variable `NAME` (a secret's, bound in `env`) and `$$` with `$`, before any shell
/// sees them. A `$` before `(` or `$` is doubled (`$$(` and `$$$$` read back as `$(`
/// and `$$`); others are left as they are, which the kubelet does too.
pub fn kubelet_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('(' | '$')) {
            out.push('$');
        }
    }
    out
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(OrderedMap::new()),
        projected: None,
        secret: None,
    }
}

fn token_volume(name: &str, audience: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: None,
        projected: Some(Projected {
            sources: vec![ProjectedSource {
                service_account_token: ServiceAccountToken {
                    audience: audience.to_string(),
                    expiration_seconds: 3600,
                    path: "token",
                },
            }],
        }),
        secret: None,
    }
}

fn vault_file_volume(name: &str, secret_name: &str, key: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: None,
        projected: None,
        secret: Some(SecretVolume {
            secret_name: secret_name.to_string(),
            items: vec![KeyToPath {
                key: key.to_string(),
                path: "value",
            }],
        }),
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: false,
    }
}

fn restricted() -> ContainerSecurityContext {
    ContainerSecurityContext {
        allow_privilege_escalation: false,
        read_only_root_filesystem: true,
        run_as_non_root: true,
        capabilities: Capabilities { drop: vec!["ALL"] },
    }
}

/// `before_run` and `run`, and `after_run` in an exit trap: it runs whatever `run`
/// returned, stops at its own first failure, and the Job's status stays `run`'s (as
/// GitLab's `after_script`).
pub fn shell_script(job: &JobModel) -> String {
    let lines = job.before_run_lines().into_iter().chain(job.run_lines());
    let run: Vec<&str> = lines.map(|(s, _)| s).collect();
    let run = run.join("\n");
    let after = match job.field("after_run").map(|f| &f.value.kind) {
        Some(ValueKind::Str(s)) => s.clone(),
        Some(ValueKind::List(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return run,
    };
    format!(
        "plumb_after_run() {{\nplumb_status=$?\ntrap - EXIT\nset +e\n(\nset -e\n{after}\n)\nexit \"$plumb_status\"\n}}\ntrap plumb_after_run EXIT\n{run}"
    )
}

/// `services` as native sidecars: init containers with `restartPolicy: Always`.
fn sidecars(job: &JobModel) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    for (i, v) in job.services().iter().enumerate() {
        let (image, record) = match &v.kind {
            ValueKind::Str(s) => (s.clone(), &[][..]),
            ValueKind::Map(entries) => {
                let image = entries.iter().find(|e| e.key == "image");
                let image = image.and_then(|e| e.value.as_str()).unwrap_or_default();
                (image.to_string(), entries.as_slice())
            }
            _ => continue,
        };
        let get = |k: &str| record.iter().find(|e| e.key == k).map(|e| &e.value);
        let strings = |k: &str| -> Vec<String> {
            get(k)
                .and_then(|v| v.as_list())
                .unwrap_or(&[])
                .iter()
                .filter_map(|v| v.as_str().map(kubelet_literal))
                .collect()
        };
        let base = get("alias")
            .and_then(|a| a.as_str())
            .map(dns_label)
            .unwrap_or_else(|| format!("service-{}", i + 1));
        // container names are unique in a pod, and `job` is the job's own
        let taken = |n: &str| n == "job" || out.iter().any(|c| c.name == n);
        let mut name = base.clone();
        let mut k = 2;
        while taken(&name) {
            name = dns_label(&format!("{base}-{k}"));
            k += 1;
        }
        let env = string_map(get("env").and_then(Data::of));
        out.push(Container {
            name,
            image,
            restart_policy: Some("Always"),
            command: strings("entrypoint"),
            args: strings("command"),
            working_dir: "/workspace",
            env: env.0.iter().map(|(k, v)| plain_var(k, v)).collect(),
            resources: None,
            security_context: restricted(),
            volume_mounts: vec![mount("tmp", "/tmp")],
        });
    }
    out
}

fn resources(job: &JobModel) -> Option<Resources> {
    let record = job.record_field("resources");
    if record.is_empty() {
        return None;
    }
    let mut amounts = OrderedMap::new();
    for e in record {
        match (&e.key[..], &e.value.kind) {
            ("cpu", ValueKind::Str(cpu)) => amounts.insert("cpu", cpu.clone()),
            ("memory", ValueKind::Size(bytes)) => {
                amounts.insert("memory", plumb_semantics::format_size(*bytes))
            }
            _ => {}
        }
    }
    Some(Resources {
        requests: amounts.clone(),
        limits: amounts,
    })
}

#[cfg(test)]
mod tests {
    use super::kubelet_literal;

    /// What the kubelet makes of a `command`, `args` or `env` value (Kubernetes'
    /// `third_party/forked/golang/expansion`): `$$` is `$`, `$(NAME)` the variable's
    /// value when it has one, anything else as written.
    fn kubelet(text: &str, vars: &[(&str, &str)]) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(more) = after.strip_prefix('$') {
                out.push('$');
                rest = more;
            } else if let Some((name, more)) =
                after.strip_prefix('(').and_then(|a| a.split_once(')'))
            {
                match vars.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&format!("$({name})")),
                }
                rest = more;
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn the_kubelet_passes_written_text_on_as_it_is() {
        let vars = [("TOKEN", "s3cr3t"), ("HOME", "/root")];
        for text in [
            "echo \"$(TOKEN)\"",
            "kill $$",
            "echo $$$(TOKEN)$",
            "$(HOME) $HOME ${HOME} $((1 + 2)) $",
            "price: 5$ (tax)",
            "$(git rev-parse HEAD)",
        ] {
            let written = kubelet_literal(text);
            assert_eq!(kubelet(&written, &vars), text, "{written}");
        }
        // what has no `$(` nor `$$` is written as it is
        assert_eq!(
            kubelet_literal("echo $HOME ${X:-$Y}"),
            "echo $HOME ${X:-$Y}"
        );
    }
}
