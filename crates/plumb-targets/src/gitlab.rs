//! `--target gitlab`: one `.gitlab-ci.yml` (§8.1).

use crate::cond::{dnf, gitlab_expression, unrepresentable, Atom};
use crate::plan::PipelinePlan;
use crate::yaml::{header, to_yaml, OrderedMap};
use crate::{not_carried, warning, BuildError, OutputFile};
use plumb_diagnostics::Diagnostic;
use plumb_semantics::{Cond, JobModel, SecretSource, ValueKind};
use serde::Serialize;

/// Keys of a `.gitlab-ci.yml` that cannot be job names.
const RESERVED: &[&str] = &[
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

#[derive(Serialize)]
struct File {
    stages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<Workflow>,
    #[serde(flatten)]
    jobs: OrderedMap<Job>,
}

#[derive(Serialize)]
struct Workflow {
    rules: Vec<Rule>,
}

#[derive(Serialize, Default)]
struct Rule {
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    if_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exists: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    when: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Job {
    stage: String,
    /// Empty for `runner_default`: the runner decides.
    #[serde(skip_serializing_if = "String::is_empty")]
    image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    variables: OrderedMap<String>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    secrets: OrderedMap<VaultSecret>,
    script: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<Vec<Rule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Artifacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<Cache>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel: Option<Parallel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_failure: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

#[derive(Serialize)]
struct VaultSecret {
    vault: VaultRef,
    file: bool,
}

#[derive(Serialize)]
struct VaultRef {
    engine: VaultEngine,
    path: String,
    field: String,
}

#[derive(Serialize)]
struct VaultEngine {
    name: &'static str,
    path: &'static str,
}

#[derive(Serialize)]
struct Artifacts {
    paths: Vec<String>,
}

#[derive(Serialize)]
struct Cache {
    key: String,
    paths: Vec<String>,
}

#[derive(Serialize)]
struct Parallel {
    matrix: Vec<OrderedMap<Vec<String>>>,
}

/// Compiles pipelines into one `.gitlab-ci.yml` (`path`), or with `split` one file per
/// pipeline (`<pipeline>.gitlab-ci.yml`).
pub fn compile(
    plans: &[PipelinePlan],
    split: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<OutputFile>, BuildError> {
    if split {
        plans
            .iter()
            .map(|p| {
                let text = file_text(std::slice::from_ref(p), warnings)?;
                Ok(OutputFile {
                    path: format!(
                        "{}.gitlab-ci.yml",
                        crate::names::path_component(&p.model.name)
                    ),
                    contents: text,
                })
            })
            .collect()
    } else {
        Ok(vec![OutputFile {
            path: ".gitlab-ci.yml".to_string(),
            contents: file_text(plans, warnings)?,
        }])
    }
}

fn file_text(plans: &[PipelinePlan], warnings: &mut Vec<Diagnostic>) -> Result<String, BuildError> {
    let several = plans.len() > 1;
    let prefix = |p: &PipelinePlan, name: &str| scoped_name(p, several, name);
    let mut file = File {
        stages: Vec::new(),
        workflow: None,
        jobs: OrderedMap::new(),
    };
    for p in plans {
        file.stages.extend(
            p.stage_order
                .iter()
                .map(|s| prefix(p, &p.model.stages[*s].name)),
        );
        if !several && p.model.on != Cond::Always {
            let holders: Vec<&JobModel> =
                p.model.jobs.iter().filter(|j| holds_secrets(j)).collect();
            let mut widen = Widening::new(p.model.on_at, &holders, warnings);
            file.workflow = Some(Workflow {
                rules: rules(&p.model.on, true, &mut widen),
            });
        }
        check_renamed_keys(p, several)?;
        for job in p.jobs() {
            let name = job_key(p, several, &job.name);
            if name != prefix(p, &job.name) {
                warnings.push(
                    Diagnostic::warning(
                        "PL5003",
                        job.name_at,
                        format!(
                            "job `{}` is written as `{name}`: `{}` is a GitLab CI keyword",
                            job.name, job.name
                        ),
                    )
                    .with_label(format!("written as `{name}`, and `needs` follow"))
                    .with_help(format!(
                        "to keep one name in Plumb and GitLab, rename the job (e.g. `build-{}`)",
                        job.name
                    )),
                );
            }
            let cond = if several {
                Cond::and(p.model.on.clone(), job.when.clone())
            } else {
                job.when.clone()
            };
            let mut j = compile_job(p, job, several, warnings);
            if cond != Cond::Always {
                let holders: Vec<&JobModel> =
                    [job].into_iter().filter(|j| holds_secrets(j)).collect();
                let at = job.field("when").map(|f| f.key_at).or(p.model.on_at);
                let mut widen = Widening::new(at, &holders, warnings);
                j.rules = Some(rules(&cond, false, &mut widen));
            }
            // job names are unique within a pipeline, and prefixed when there are several
            file.jobs.push_new(name, j);
        }
    }
    let source = plans
        .iter()
        .map(|p| p.source.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(header(&source) + &to_yaml(&file)?)
}

/// A stage or job name, prefixed with its pipeline when the file holds several.
fn scoped_name(p: &PipelinePlan, several: bool, name: &str) -> String {
    if several {
        format!("{}:{name}", p.model.name)
    } else {
        name.to_string()
    }
}

/// A job's key in the GitLab file: prefixed with its pipeline when the file holds
/// several, and `NAME-job` when the name is a GitLab keyword (GitLab would read
/// `image:` as the default image, not as a job).
fn job_key(p: &PipelinePlan, several: bool, name: &str) -> String {
    if several {
        format!("{}:{name}", p.model.name)
    } else if RESERVED.contains(&name) {
        format!("{name}-job")
    } else {
        name.to_string()
    }
}

/// A job renamed `NAME-job` must not take the key of another job of the file.
fn check_renamed_keys(p: &PipelinePlan, several: bool) -> Result<(), BuildError> {
    for job in p.jobs() {
        let key = job_key(p, several, &job.name);
        if key == job.name {
            continue;
        }
        if let Some(other) = p.jobs().find(|o| o.name == key) {
            let d = Diagnostic::error(
                "PL5003",
                job.name_at,
                format!(
                    "job `{}` would be written as `{key}`, the name of another job",
                    job.name
                ),
            )
            .with_label(format!(
                "`{}` is a GitLab keyword, so this job gets a `-job` suffix",
                job.name
            ))
            .with_secondary(other.name_at, format!("job `{key}` is here"))
            .with_help("rename one of the two jobs");
            return Err(BuildError::Diagnostics(vec![d]));
        }
    }
    Ok(())
}

fn compile_job(
    p: &PipelinePlan,
    job: &JobModel,
    several: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Job {
    let prefix = |p: &PipelinePlan, name: &str| scoped_name(p, several, name);
    let mut j = Job {
        stage: prefix(p, p.stage_name(job)),
        image: job
            .image()
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        services: job
            .services()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        script: job
            .script()
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect(),
        timeout: job
            .duration_field("timeout")
            .map(plumb_semantics::format_duration),
        retry: job.int_field("retry"),
        environment: job.str_field("environment").map(str::to_string),
        allow_failure: job.bool_field("allow_failure"),
        tags: job
            .string_list("tags")
            .into_iter()
            .map(str::to_string)
            .collect(),
        ..Job::default()
    };
    if job.field("needs").is_some() {
        j.needs = Some(
            job.needs
                .iter()
                .filter(|n| n.target.is_some())
                .map(|n| job_key(p, several, &n.job))
                .collect(),
        );
    }
    for b in &job.env {
        match &b.value.kind {
            ValueKind::Str(s) => j.variables.insert(b.name.clone(), s.clone()),
            ValueKind::Secret(secret) => match &secret.source {
                // project CI/CD variables reach every job; a binding under another name
                // is a reference that GitLab expands
                SecretSource::CiVariable(n) if *n == b.name => {}
                SecretSource::CiVariable(n) => j.variables.insert(b.name.clone(), format!("${n}")),
                SecretSource::Vault { path, field } => j.secrets.insert(
                    b.name.clone(),
                    VaultSecret {
                        vault: VaultRef {
                            engine: VaultEngine { name: "kv-v2", path: "secret" },
                            path: path.clone(),
                            field: field.clone(),
                        },
                        file: false,
                    },
                ),
                SecretSource::K8sSecret { .. } => warnings.push(warning(
                    "PL5001",
                    b.name_at,
                    format!("`{}` comes from a Kubernetes Secret, which GitLab cannot read; it is left out of the GitLab job", b.name),
                    "bind a `ci_variable` or `vault` secret for GitLab jobs",
                )),
            },
            _ => {}
        }
    }
    let artifacts = job.string_list("artifacts");
    if !artifacts.is_empty() {
        j.artifacts = Some(Artifacts {
            paths: artifacts.into_iter().map(str::to_string).collect(),
        });
    }
    let cache = job.record_field("cache");
    if !cache.is_empty() {
        let key = cache
            .iter()
            .find(|e| e.key == "key")
            .and_then(|e| e.value.as_str())
            .unwrap_or("default");
        let paths = cache
            .iter()
            .find(|e| e.key == "paths")
            .and_then(|e| e.value.as_list())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        j.cache = Some(Cache {
            key: key.to_string(),
            paths,
        });
    }
    let matrix = job.matrix();
    if !matrix.is_empty() {
        let mut entry = OrderedMap::new();
        for (var, values) in matrix {
            entry.insert(var, values.into_iter().map(str::to_string).collect());
        }
        j.parallel = Some(Parallel {
            matrix: vec![entry],
        });
    }
    if let Some(f) = job.field("resources") {
        warnings.push(not_carried(
            "resources",
            "GitLab",
            f.key_at,
            "GitLab runners size jobs themselves; `resources` is used by the Kubernetes targets",
        ));
    }
    j
}

/// A job that binds a secret, or names a project variable it may read.
fn holds_secrets(job: &JobModel) -> bool {
    job.secret_env().next().is_some() || !job.read_secrets.is_empty()
}

/// Where a condition that cannot be written exactly is reported: a warning when it
/// governs no job with secrets, an error (nothing written) when it does, since widening
/// would run that job, with its secrets, where the condition says it must not run.
struct Widening<'w, 'j> {
    at: Option<plumb_diagnostics::FileRange>,
    holders: &'w [&'j JobModel],
    out: &'w mut Vec<Diagnostic>,
}

impl<'w, 'j> Widening<'w, 'j> {
    fn new(
        at: Option<plumb_diagnostics::FileRange>,
        holders: &'w [&'j JobModel],
        out: &'w mut Vec<Diagnostic>,
    ) -> Self {
        Widening { at, holders, out }
    }

    /// A literal GitLab cannot read back: always an error, whatever the job holds.
    fn refuse(&mut self, why: String) {
        let Some(at) = self.at else { return };
        self.out.push(
            Diagnostic::error("PL5002", at, format!("{why}; nothing was written"))
                .with_label("cannot be written as a GitLab expression")
                .with_help("change the literal, or test it with a pattern (`=~`)"),
        );
    }

    fn report(&mut self, what: &str, help: &str) {
        let Some(at) = self.at else { return };
        if self.holders.is_empty() {
            self.out.push(warning("PL5002", at, what.to_string(), help));
            return;
        }
        let mut d = Diagnostic::error(
            "PL5002",
            at,
            format!("{what}; refused, because it would run a job that holds secrets where the condition says it must not"),
        )
        .with_label("cannot be written exactly as GitLab rules")
        .with_help(format!("{help}; a condition of a job with secrets is never widened"));
        for job in self.holders {
            d = d.with_secondary(job.name_at, format!("job `{}` holds secrets", job.name));
        }
        self.out.push(d);
    }
}

/// `rules:` for a condition; `workflow` rules cannot be manual.
fn rules(cond: &Cond, workflow: bool, widen: &mut Widening) -> Vec<Rule> {
    let Some(clauses) = dnf(cond) else {
        widen.report(
            "this condition is too large to write as GitLab rules; the job always runs",
            "split the condition into simpler parts",
        );
        return vec![Rule {
            when: Some(if workflow { "always" } else { "on_success" }),
            ..Rule::default()
        }];
    };
    if clauses.is_empty() {
        return vec![Rule {
            when: Some("never"),
            ..Rule::default()
        }];
    }
    clauses
        .iter()
        .map(|clause| clause_rule(clause, workflow, widen))
        .collect()
}

/// One `rules:` entry: the AND of a clause's atoms.
fn clause_rule(clause: &[Atom], workflow: bool, widen: &mut Widening) -> Rule {
    for why in clause.iter().filter_map(unrepresentable) {
        widen.refuse(why);
    }
    let exprs: Vec<String> = clause.iter().filter_map(gitlab_expression).collect();
    let mut rule = Rule::default();
    if !exprs.is_empty() {
        rule.if_ = Some(exprs.join(" && "));
    }
    let mut changes: Vec<String> = Vec::new();
    for atom in clause {
        match atom {
            Atom::Changes(paths, false) => {
                if !changes.is_empty() {
                    widen.report(
                        "GitLab rules cannot require two `changes` lists at once; they are merged into one",
                        "use one `changes([…])` per alternative",
                    );
                }
                changes.extend(paths.iter().cloned());
            }
            Atom::Changes(_, true) => widen.report(
                "GitLab rules cannot test that files did *not* change; `!changes(…)` is dropped",
                "express the condition without `!changes(…)`",
            ),
            Atom::Exists(paths, false) => {
                if rule.exists.is_some() {
                    widen.report(
                        "GitLab rules cannot require two `exists` lists at once; they are merged into one",
                        "use one `exists([…])` per alternative",
                    );
                }
                rule.exists
                    .get_or_insert_with(Vec::new)
                    .extend(paths.iter().cloned());
            }
            Atom::Exists(_, true) => widen.report(
                "GitLab rules cannot test that files do *not* exist; `!exists(…)` is dropped",
                "express the condition without `!exists(…)`",
            ),
            Atom::Manual(false) if workflow => widen.report(
                "a pipeline's `on` cannot be `manual`; it is ignored",
                "put `manual` in a job's `when`",
            ),
            Atom::Manual(false) => rule.when = Some("manual"),
            _ => {}
        }
    }
    if !changes.is_empty() {
        rule.changes = Some(changes);
    }
    if rule.if_.is_none() && rule.changes.is_none() && rule.exists.is_none() && rule.when.is_none()
    {
        rule.when = Some(if workflow { "always" } else { "on_success" });
    }
    rule
}
