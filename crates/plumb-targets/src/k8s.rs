//! `--target k8s`: `batch/v1` Jobs for one event (§8.2).

use crate::names::dns_label;
use crate::plan::{matrix_combinations, PipelinePlan};
use crate::yaml::{header, to_yaml_stream, OrderedMap};
use crate::{not_carried, warning, BuildError, OutputFile};
use plumb_config::Config;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::{Cond, Event, JobModel, SecretSource, ValueKind};
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
    security_context: PodSecurityContext,
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
    name: &'static str,
    image: String,
    command: Vec<String>,
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
    name: &'static str,
    mount_path: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: &'static str,
    empty_dir: OrderedMap<String>,
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
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<K8sJob> {
    let mut out = Vec::new();
    let mut claims = crate::names::NameClaims::default();
    for p in plans {
        if !p.model.on.admits(event).possible() {
            continue;
        }
        warn_changes(&p.model.on, p.model.on_at, warnings);
        for (job, depth) in p.jobs_with_depth() {
            if !job.when.admits(event).possible() || job.when.mentions_manual() {
                continue;
            }
            warn_changes(&job.when, job.field("when").map(|f| f.key_at), warnings);
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

pub fn compile(
    plans: &[PipelinePlan],
    event: &Event,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<OutputFile>, BuildError> {
    let jobs = jobs(plans, event, config, warnings);
    let source = plans
        .iter()
        .map(|p| p.source.as_str())
        .collect::<Vec<_>>()
        .join(", ");
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
            "PL5004",
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

fn warn_changes(
    cond: &Cond,
    at: Option<plumb_diagnostics::FileRange>,
    warnings: &mut Vec<Diagnostic>,
) {
    /// The first test only a running pipeline can answer: `changes(…)`, `exists(…)`,
    /// `var(…)`, and `source` (beyond "is it a merge request").
    fn runtime_test(c: &Cond) -> Option<&'static str> {
        match c {
            Cond::Changes(_) => Some("`changes(…)`"),
            Cond::Exists(_) => Some("`exists(…)`"),
            Cond::Var(..) => Some("`var(…)`"),
            Cond::Source(_) => Some("`source`"),
            Cond::And(a, b) | Cond::Or(a, b) => runtime_test(a).or_else(|| runtime_test(b)),
            Cond::Not(a) => runtime_test(a),
            _ => None,
        }
    }
    if let (Some(test), Some(at)) = (runtime_test(cond), at) {
        warnings.push(warning(
            "PL5002",
            at,
            format!(
                "{test} cannot be known when Kubernetes manifests are compiled; it counts as true"
            ),
            "the job is included as if the test passed",
        ));
    }
}

fn warn_not_carried(job: &JobModel, warnings: &mut Vec<Diagnostic>) {
    for (field, why) in [
        (
            "artifacts",
            "a Kubernetes Job keeps no artifacts; write results to a volume or an object store",
        ),
        ("cache", "a Kubernetes Job has no cache between runs"),
        (
            "services",
            "run service containers as sidecars or separate Deployments",
        ),
        (
            "tags",
            "runner tags select GitLab runners; use node selectors on Kubernetes",
        ),
    ] {
        if let Some(f) = job.field(field) {
            warnings.push(not_carried(field, "Kubernetes", f.key_at, why));
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
    let mut labels = OrderedMap::new();
    labels.insert("app.kubernetes.io/managed-by", "plumb".to_string());
    labels.insert("plumb.dev/pipeline", dns_label(&p.model.name));
    labels.insert("plumb.dev/stage", dns_label(p.stage_name(job)));
    labels.insert("plumb.dev/job", dns_label(&job.name));
    if let Some(env) = job.str_field("environment") {
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
    if let Some(allow) = job.bool_field("allow_failure") {
        annotations.insert("plumb.dev/allow-failure", allow.to_string());
    }
    let secret_name = config
        .targets
        .k8s
        .secret_name
        .clone()
        .unwrap_or_else(|| "pipeline-secrets".to_string());
    let mut env = Vec::new();
    for b in &job.env {
        let var = match &b.value.kind {
            ValueKind::Str(s) => EnvVar {
                name: b.name.clone(),
                value: Some(s.clone()),
                value_from: None,
            },
            ValueKind::Secret(secret) => {
                let (name, key) = match &secret.source {
                    SecretSource::CiVariable(n) => (secret_name.clone(), n.clone()),
                    SecretSource::K8sSecret { name, key } => (name.clone(), key.clone()),
                    SecretSource::Vault { .. } => {
                        (vault_secret_name(&p.model.name), secret.name.clone())
                    }
                };
                EnvVar {
                    name: b.name.clone(),
                    value: None,
                    value_from: Some(EnvSource {
                        secret_key_ref: SecretKeyRef { name, key },
                    }),
                }
            }
            _ => continue,
        };
        env.push(var);
    }
    for (var, value) in combo {
        env.retain(|e| e.name != *var);
        env.push(EnvVar {
            name: var.clone(),
            value: Some(value.clone()),
            value_from: None,
        });
    }
    let script: Vec<&str> = job.script().into_iter().map(|(s, _)| s).collect();
    let resources = resources(job);
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
            backoff_limit: job.int_field("retry").unwrap_or(0),
            active_deadline_seconds: job.duration_field("timeout"),
            ttl_seconds_after_finished: TTL_SECONDS,
            template: PodTemplate {
                metadata: PodMetadata { labels },
                spec: PodSpec {
                    restart_policy: "Never",
                    automount_service_account_token: false,
                    security_context: PodSecurityContext {
                        run_as_non_root: true,
                        run_as_user: NON_ROOT_UID,
                        run_as_group: NON_ROOT_UID,
                        fs_group: NON_ROOT_UID,
                        seccomp_profile: SeccompProfile {
                            type_: "RuntimeDefault",
                        },
                    },
                    containers: vec![Container {
                        name: "job",
                        image: image_of(job, config),
                        command: vec!["/bin/sh".to_string(), "-ec".to_string(), script.join("\n")],
                        working_dir: "/workspace",
                        env,
                        resources,
                        security_context: ContainerSecurityContext {
                            allow_privilege_escalation: false,
                            read_only_root_filesystem: true,
                            run_as_non_root: true,
                            capabilities: Capabilities { drop: vec!["ALL"] },
                        },
                        volume_mounts: vec![
                            VolumeMount {
                                name: "workspace",
                                mount_path: "/workspace",
                            },
                            VolumeMount {
                                name: "tmp",
                                mount_path: "/tmp",
                            },
                        ],
                    }],
                    volumes: vec![
                        Volume {
                            name: "workspace",
                            empty_dir: OrderedMap::new(),
                        },
                        Volume {
                            name: "tmp",
                            empty_dir: OrderedMap::new(),
                        },
                    ],
                },
            },
        },
    }
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
