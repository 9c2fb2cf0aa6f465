//! `--target gitops`: a folder to commit to a deploy repository (§8.3).
//!
//! ```text
//! DIR/README.md
//! DIR/apps/<pipeline>/base/kustomization.yaml           every stage, and the secrets
//! DIR/apps/<pipeline>/base/<stage>/kustomization.yaml   one stage's Jobs
//! DIR/apps/<pipeline>/base/<stage>/<job>.yaml           one Job per file
//! DIR/apps/<pipeline>/secrets/kustomization.yaml        when secrets are used
//! DIR/apps/<pipeline>/secrets/external-secrets.yaml
//! DIR/apps/<pipeline>/overlays/<env>/kustomization.yaml the environment: namespace, label
//! DIR/apps/<pipeline>/stages/<env>/<stage>/kustomization.yaml   (flux: one stage's Jobs)
//! DIR/clusters/<env>/<pipeline>.yaml                   Argo CD Application or Flux Kustomizations
//! ```
//!
//! Every path component that comes from the source is a DNS label ([`path_component`]),
//! so no name can make a path leave DIR. A kustomization lists only what lies in or below
//! its own folder and never patches what another folder holds: each Flux stage folder
//! builds its stage from `base/<stage>` rather than deleting the other stages' Jobs from
//! the whole overlay (which broke as soon as the overlay set a namespace).

use crate::k8s::{self, vault_secret_name, K8sJob};
use crate::names::{dns_label, path_component};
use crate::plan::PipelinePlan;
use crate::yaml::{header, to_yaml, to_yaml_stream, OrderedMap};
use crate::{BuildError, OutputFile};
use plumb_config::{Config, Flavor};
use plumb_diagnostics::Diagnostic;
use plumb_semantics::{Event, SecretSource, ValueKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Used when `targets.gitops.repo_url` is not set (the README says to set it).
pub const PLACEHOLDER_REPO: &str = "https://git.example.com/CHANGE-ME/deploy.git";
const DEFAULT_STORE: &str = "vault-backend";

#[derive(Serialize)]
struct Kustomization {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<LabelSet>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelSet {
    pairs: OrderedMap<String>,
    include_selectors: bool,
    include_templates: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecret {
    api_version: &'static str,
    kind: &'static str,
    metadata: NameOnly,
    spec: ExternalSecretSpec,
}

#[derive(Serialize)]
struct NameOnly {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecretSpec {
    refresh_interval: &'static str,
    secret_store_ref: StoreRef,
    target: SecretTarget,
    data: Vec<SecretData>,
}

#[derive(Serialize)]
struct StoreRef {
    kind: &'static str,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretTarget {
    name: String,
    creation_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretData {
    secret_key: String,
    remote_ref: RemoteRef,
}

#[derive(Serialize)]
struct RemoteRef {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    property: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Application {
    api_version: &'static str,
    kind: &'static str,
    metadata: Namespaced,
    spec: ApplicationSpec,
}

#[derive(Serialize)]
struct Namespaced {
    name: String,
    namespace: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationSpec {
    project: &'static str,
    source: AppSource,
    destination: AppDestination,
    sync_policy: SyncPolicy,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppSource {
    #[serde(rename = "repoURL")]
    repo_url: String,
    target_revision: &'static str,
    path: String,
}

#[derive(Serialize)]
struct AppDestination {
    server: &'static str,
    namespace: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncPolicy {
    automated: Automated,
    sync_options: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Automated {
    prune: bool,
    self_heal: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FluxKustomization {
    api_version: &'static str,
    kind: &'static str,
    metadata: Namespaced,
    spec: FluxSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FluxSpec {
    interval: &'static str,
    path: String,
    prune: bool,
    wait: bool,
    timeout: &'static str,
    source_ref: FluxSourceRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<NameOnly>,
}

#[derive(Serialize)]
struct FluxSourceRef {
    kind: &'static str,
    name: &'static str,
}

/// The namespace an environment's overlay deploys to.
fn namespace(config: &Config, env: &str) -> String {
    match &config.targets.k8s.namespace {
        Some(ns) => dns_label(&format!("{ns}-{env}")),
        None => dns_label(env),
    }
}

pub fn compile(
    plans: &[PipelinePlan],
    vars: &BTreeMap<String, String>,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<OutputFile>, BuildError> {
    let flavor = config.targets.gitops.flavor.unwrap_or(Flavor::Argocd);
    let envs: Vec<String> = config
        .targets
        .gitops
        .environments
        .clone()
        .unwrap_or_else(|| vec!["production".to_string()]);
    let event = Event::Branch(config.default_branch().to_string());
    let mut files = Vec::new();
    let mut seen_pipelines: BTreeMap<String, String> = BTreeMap::new();
    // names are unique per kind: a Job and a Secret may share one
    let mut claims = crate::names::NameClaims::default();
    let mut secret_claims = crate::names::NameClaims::default();
    for p in plans {
        let dir = path_component(&p.model.name);
        if let Some(other) = seen_pipelines.insert(dir.clone(), p.model.name.clone()) {
            return Err(BuildError::Diagnostics(vec![Diagnostic::error(
                plumb_diagnostics::Code::PL5003,
                p.model.name_at,
                format!(
                    "pipelines `{other}` and `{}` would both be written to apps/{dir}",
                    p.model.name
                ),
            )
            .with_help("rename one of the pipelines")]));
        }
        // every pipeline deploys to the same namespaces: its Jobs and Secrets are
        // named apart from the others' (a clash is PL5003, never an overwrite)
        let config = &pipeline_config(p, config);
        claim_secret_names(p, config, &mut secret_claims, warnings);
        let plan = std::slice::from_ref(p);
        let jobs = k8s::claimed_jobs(plan, &event, vars, config, warnings, &mut claims);
        files.extend(pipeline_files(p, &dir, &jobs, &envs, flavor, config)?);
    }
    files.push(OutputFile {
        path: "README.md".to_string(),
        contents: readme(plans, &envs, flavor, config),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The configuration a pipeline is compiled with: its `ci_variable` secrets come from a
/// Secret of its own, `<pipeline>-<secret_name>`, which its ExternalSecret creates (one
/// Secret for every pipeline would be two Argo CD applications' object).
fn pipeline_config(p: &PipelinePlan, config: &Config) -> Config {
    let mut config = config.clone();
    let shared = (config.targets.k8s.secret_name.as_deref()).unwrap_or("pipeline-secrets");
    let own = dns_label(&format!("{}-{shared}", p.model.name));
    config.targets.k8s.secret_name = Some(own);
    config
}

/// Claims the names of the Secrets the pipeline's ExternalSecrets create.
fn claim_secret_names(
    p: &PipelinePlan,
    config: &Config,
    claims: &mut crate::names::NameClaims,
    warnings: &mut Vec<Diagnostic>,
) {
    let secrets = external_secrets(p, config);
    let count = secrets.len();
    for (i, secret) in secrets.iter().enumerate() {
        let name = &secret.metadata.name;
        // `external_secrets` writes the Vault one first
        let vault = (count == 2 && i == 0)
            || (count == 1 && *name == k8s::vault_secret_name(&p.model.name));
        let kind = match vault {
            true => "`vault` secrets",
            false => "`ci_variable` secrets",
        };
        let source = format!("the {kind} of pipeline `{}`", p.model.name);
        if let Some(clash) = claims.claim(name, source, p.model.name_at, "Secret") {
            warnings.push(clash);
        }
    }
}

fn kustomization(resources: Vec<String>) -> Kustomization {
    Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        namespace: None,
        resources,
        labels: Vec::new(),
    }
}

/// An environment's kustomization over `resources`: its namespace and label.
fn env_kustomization(config: &Config, env: &str, resources: Vec<String>) -> Kustomization {
    let mut pairs = OrderedMap::new();
    pairs.insert("plumb.dev/environment", dns_label(env));
    Kustomization {
        namespace: Some(namespace(config, env)),
        labels: vec![LabelSet {
            pairs,
            include_selectors: false,
            include_templates: true,
        }],
        ..kustomization(resources)
    }
}

/// The stages' folder names, in run order; two stages may not share one.
fn stage_dirs(p: &PipelinePlan) -> Result<Vec<(usize, String)>, BuildError> {
    let mut claims = crate::names::NameClaims::default();
    let mut out = Vec::new();
    for s in &p.stage_order {
        let stage = &p.model.stages[*s];
        let dir = path_component(&stage.name);
        let source = format!("stage `{}`", stage.name);
        if let Some(clash) = claims.claim(&dir, source, stage.name_at, "stage folder") {
            return Err(BuildError::Diagnostics(vec![clash]));
        }
        out.push((*s, dir));
    }
    Ok(out)
}

/// The base: one folder of Jobs per stage (`base/<stage>/`), the secrets in a folder of
/// their own (`secrets/`), and `base/kustomization.yaml` over all of them. Every
/// kustomization lists only files of its own folder, so any overlay of any subset
/// builds, with or without a namespace.
fn base_files(
    p: &PipelinePlan,
    dir: &str,
    jobs: &[K8sJob],
    stage_dirs: &[(usize, String)],
    config: &Config,
) -> Result<(Vec<OutputFile>, bool), BuildError> {
    let head = header(&p.source);
    let mut files = Vec::new();
    let mut base_resources = Vec::new();
    for (s, stage_dir) in stage_dirs {
        let label = dns_label(&p.model.stages[*s].name);
        let mut resources = Vec::new();
        for job in jobs.iter().filter(|j| j.stage_label() == label) {
            let file = format!("{}.yaml", job.name());
            files.push(OutputFile {
                path: format!("apps/{dir}/base/{stage_dir}/{file}"),
                contents: head.clone() + &to_yaml(job)?,
            });
            resources.push(file);
        }
        files.push(OutputFile {
            path: format!("apps/{dir}/base/{stage_dir}/kustomization.yaml"),
            contents: head.clone() + &to_yaml(&kustomization(resources))?,
        });
        base_resources.push(stage_dir.clone());
    }
    let secrets = external_secrets(p, config);
    let has_secrets = !secrets.is_empty();
    if has_secrets {
        files.push(OutputFile {
            path: format!("apps/{dir}/secrets/external-secrets.yaml"),
            contents: head.clone() + &to_yaml_stream(&secrets)?,
        });
        let k = kustomization(vec!["external-secrets.yaml".to_string()]);
        files.push(OutputFile {
            path: format!("apps/{dir}/secrets/kustomization.yaml"),
            contents: head.clone() + &to_yaml(&k)?,
        });
        base_resources.push("../secrets".to_string());
    }
    files.push(OutputFile {
        path: format!("apps/{dir}/base/kustomization.yaml"),
        contents: head + &to_yaml(&kustomization(base_resources))?,
    });
    Ok((files, has_secrets))
}

fn pipeline_files(
    p: &PipelinePlan,
    dir: &str,
    jobs: &[K8sJob],
    envs: &[String],
    flavor: Flavor,
    config: &Config,
) -> Result<Vec<OutputFile>, BuildError> {
    let head = header(&p.source);
    let stage_dirs = stage_dirs(p)?;
    let (mut files, has_secrets) = base_files(p, dir, jobs, &stage_dirs, config)?;
    for env in envs {
        let env_dir = path_component(env);
        let overlay = format!("apps/{dir}/overlays/{env_dir}");
        let k = env_kustomization(config, env, vec!["../../base".to_string()]);
        files.push(OutputFile {
            path: format!("{overlay}/kustomization.yaml"),
            contents: head.clone() + &to_yaml(&k)?,
        });
        let cluster_file = format!("clusters/{env_dir}/{dir}.yaml");
        let contents = match flavor {
            Flavor::Argocd => to_yaml(&application(dir, env, &overlay, config))?,
            Flavor::Flux => {
                let mut objects = Vec::new();
                for (i, (stage, stage_dir)) in stage_dirs.iter().enumerate() {
                    // one stage's Jobs in the environment; the secrets go with the first
                    // stage, which every other one waits for
                    let mut resources = vec![format!("../../../base/{stage_dir}")];
                    if has_secrets && i == 0 {
                        resources.push("../../../secrets".to_string());
                    }
                    let k = env_kustomization(config, env, resources);
                    files.push(OutputFile {
                        path: format!("apps/{dir}/stages/{env_dir}/{stage_dir}/kustomization.yaml"),
                        contents: head.clone() + &to_yaml(&k)?,
                    });
                    objects.push(flux_kustomization(p, dir, env, *stage));
                }
                to_yaml_stream(&objects)?
            }
        };
        files.push(OutputFile {
            path: cluster_file,
            contents: head.clone() + &contents,
        });
    }
    Ok(files)
}

fn application(dir: &str, env: &str, overlay: &str, config: &Config) -> Application {
    Application {
        api_version: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: Namespaced {
            name: dns_label(&format!("{dir}-{env}")),
            namespace: "argocd",
        },
        spec: ApplicationSpec {
            project: "default",
            source: AppSource {
                repo_url: config
                    .targets
                    .gitops
                    .repo_url
                    .clone()
                    .unwrap_or_else(|| PLACEHOLDER_REPO.to_string()),
                target_revision: "HEAD",
                path: overlay.to_string(),
            },
            destination: AppDestination {
                server: "https://kubernetes.default.svc",
                namespace: namespace(config, env),
            },
            sync_policy: SyncPolicy {
                automated: Automated {
                    prune: true,
                    self_heal: true,
                },
                sync_options: vec!["CreateNamespace=true"],
            },
        },
    }
}

fn flux_name(dir: &str, env: &str, stage: &str) -> String {
    dns_label(&format!("{dir}-{env}-{stage}"))
}

fn flux_kustomization(p: &PipelinePlan, dir: &str, env: &str, stage: usize) -> FluxKustomization {
    let s = &p.model.stages[stage];
    let waits_for: Vec<usize> = if s.explicit_after {
        s.after.iter().map(|(t, _)| *t).collect()
    } else {
        // a stage without `after` follows the one declared before it
        stage.checked_sub(1).into_iter().collect()
    };
    FluxKustomization {
        api_version: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: Namespaced {
            name: flux_name(dir, env, &s.name),
            namespace: "flux-system",
        },
        spec: FluxSpec {
            interval: "10m",
            path: format!(
                "./apps/{dir}/stages/{}/{}",
                path_component(env),
                path_component(&s.name)
            ),
            prune: true,
            wait: true,
            timeout: "30m",
            source_ref: FluxSourceRef {
                kind: "GitRepository",
                name: "flux-system",
            },
            depends_on: waits_for
                .into_iter()
                .map(|t| NameOnly {
                    name: flux_name(dir, env, &p.model.stages[t].name),
                })
                .collect(),
        },
    }
}

/// ExternalSecrets for the secrets the pipeline's jobs use: `vault` secrets into
/// `<pipeline>-vault`, `ci_variable` secrets into `targets.k8s.secret_name`.
/// `k8s_secret`s name Secrets that exist already.
fn external_secrets(p: &PipelinePlan, config: &Config) -> Vec<ExternalSecret> {
    let store = config
        .targets
        .gitops
        .secret_store
        .clone()
        .unwrap_or_else(|| DEFAULT_STORE.to_string());
    let ci_secret = config
        .targets
        .k8s
        .secret_name
        .clone()
        .unwrap_or_else(|| "pipeline-secrets".to_string());
    let mut vault: BTreeMap<String, SecretData> = BTreeMap::new();
    let mut ci: BTreeMap<String, SecretData> = BTreeMap::new();
    for job in p.jobs() {
        for b in &job.env {
            let ValueKind::Secret(s) = &b.value.kind else {
                continue;
            };
            match &s.source {
                SecretSource::Vault { path, field, .. } => {
                    let key = p.vault_key(&s.name, path, field);
                    vault.entry(key.clone()).or_insert_with(|| SecretData {
                        secret_key: key,
                        remote_ref: RemoteRef {
                            key: path.clone(),
                            property: Some(field.clone()),
                        },
                    });
                }
                SecretSource::CiVariable(n) => {
                    ci.entry(n.clone()).or_insert_with(|| SecretData {
                        secret_key: n.clone(),
                        remote_ref: RemoteRef {
                            key: n.clone(),
                            property: None,
                        },
                    });
                }
                SecretSource::K8sSecret { .. } | SecretSource::IdToken(_) => {}
            }
        }
    }
    let make = |name: String, data: BTreeMap<String, SecretData>| ExternalSecret {
        api_version: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: NameOnly { name: name.clone() },
        spec: ExternalSecretSpec {
            refresh_interval: "1h",
            secret_store_ref: StoreRef {
                kind: "ClusterSecretStore",
                name: store.clone(),
            },
            target: SecretTarget {
                name,
                creation_policy: "Owner",
            },
            data: data.into_values().collect(),
        },
    };
    let mut out = Vec::new();
    if !vault.is_empty() {
        out.push(make(vault_secret_name(&p.model.name), vault));
    }
    if !ci.is_empty() {
        out.push(make(dns_label(&ci_secret), ci));
    }
    out
}

fn readme(plans: &[PipelinePlan], envs: &[String], flavor: Flavor, config: &Config) -> String {
    let sources: Vec<&str> = plans.iter().map(|p| p.source.as_str()).collect();
    let mut s = String::new();
    // the sources are printable (escaped by the CLI); `--` would end the comment
    s.push_str(&format!(
        "<!-- generated by plumb from {}, do not edit; regenerate with `plumb build --target gitops` -->\n",
        crate::plan::sources_of(plans).replace("--", "-\\-")
    ));
    s.push_str("# Deploy repository layout\n\n");
    s.push_str(&format!(
        "Generated by `plumb build --target gitops` from {}.\n\n",
        sources.join(", ")
    ));
    s.push_str("- `apps/<pipeline>/base/<stage>/`: one Kubernetes Job per file (the jobs that run for a push to the\n  default branch), with a `kustomization.yaml`; `apps/<pipeline>/base/` holds every stage.\n");
    s.push_str(
        "- `apps/<pipeline>/secrets/`: `external-secrets.yaml` for the secrets the jobs use.\n",
    );
    s.push_str("- `apps/<pipeline>/overlays/<environment>/`: sets the namespace and the `plumb.dev/environment` label.\n");
    match flavor {
        Flavor::Argocd => s.push_str("- `clusters/<environment>/<pipeline>.yaml`: an Argo CD `Application` that syncs the overlay;\n  the Jobs' `argocd.argoproj.io/sync-wave` annotations order them.\n"),
        Flavor::Flux => s.push_str("- `apps/<pipeline>/stages/<environment>/<stage>/`: one stage's Jobs in the environment (the first\n  stage also applies the secrets).\n- `clusters/<environment>/<pipeline>.yaml`: one Flux `Kustomization` per stage, chained with\n  `dependsOn` and `wait: true`, so a stage starts when the stages it follows have finished.\n"),
    }
    s.push_str(&format!("\nEnvironments: {}.\n", envs.join(", ")));
    if config.targets.gitops.repo_url.is_none() && flavor == Flavor::Argocd {
        s.push_str(&format!("\n`targets.gitops.repo_url` is not set in plumb.toml: the Applications point at `{PLACEHOLDER_REPO}`.\n"));
    }
    s.push_str("\nPipelines:\n\n");
    for p in plans {
        s.push_str(&format!(
            "- `{}` ({} jobs)\n",
            p.model.name,
            p.model.jobs.len()
        ));
    }
    s
}
