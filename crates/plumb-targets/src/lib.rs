//! Compilation of checked pipelines (§8): GitLab CI YAML, Kubernetes Jobs, GitOps layouts.
//!
//! Input: the model of `plumb-semantics` (checked, templates instantiated). A
//! target-independent plan is computed once ([`plan`]); each target is one module
//! mapping it to its own serde types, serialized through the one YAML module
//! ([`yaml`]). Adding a target touches nothing else. Output is deterministic: the same
//! input gives the same bytes. No secret value is ever written: the source holds none,
//! only references.

pub mod cond;
pub mod data;
pub mod gitlab;
mod gitlab_schema;
pub mod gitops;
pub mod graph;
pub mod k8s;
pub mod names;
pub mod plan;
pub mod schema;
pub mod yaml;

use plumb_config::Config;
use plumb_diagnostics::{Diagnostic, FileRange};
use plumb_semantics::{Event, PipelineModel};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Gitlab,
    K8s,
    Gitops,
}

/// One generated file, with its path relative to the output location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub contents: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The program cannot be compiled for this target.
    Diagnostics(Vec<Diagnostic>),
    Yaml(yaml::YamlError),
}

impl From<yaml::YamlError> for BuildError {
    fn from(e: yaml::YamlError) -> Self {
        BuildError::Yaml(e)
    }
}

pub struct BuildOptions<'a> {
    pub target: Target,
    /// GitLab: one file per pipeline.
    pub split: bool,
    /// Kubernetes: the event the Jobs are for.
    pub event: Event,
    /// Kubernetes: the CI/CD variables `var("NAME")` reads (`--var NAME=VALUE`).
    pub vars: &'a std::collections::BTreeMap<String, String>,
    pub config: &'a Config,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    pub files: Vec<OutputFile>,
    /// Fields that cannot be carried to the target, and other compile-time warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Compiles pipelines (each with the name of the file it came from) for a target.
pub fn build(
    pipelines: &[(&PipelineModel, String)],
    options: &BuildOptions,
) -> Result<Build, BuildError> {
    let plans: Vec<plan::PipelinePlan> = pipelines
        .iter()
        // the one place a source path enters the output: escaped, so a file name
        // cannot add a line (a YAML document, a job) to any generated file
        .map(|(p, source)| plan::PipelinePlan::new(p, names::printable_path(source)))
        .collect();
    let mut warnings = Vec::new();
    let files = match options.target {
        Target::Gitlab => gitlab::compile(&plans, options.split, &mut warnings)?,
        Target::K8s => k8s::compile(
            &plans,
            &options.event,
            options.vars,
            options.config,
            &mut warnings,
        )?,
        Target::Gitops => gitops::compile(&plans, options.vars, options.config, &mut warnings)?,
    };
    let mut warnings = one_per_cause(warnings);
    warnings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // an error found while compiling (a name clash, a condition that cannot be written
    // exactly for a job with secrets) means nothing is written
    if warnings
        .iter()
        .any(|d| d.severity == plumb_diagnostics::Severity::Error)
    {
        return Err(BuildError::Diagnostics(warnings));
    }
    Ok(Build { files, warnings })
}

pub(crate) fn warning(
    code: plumb_diagnostics::Code,
    at: FileRange,
    message: String,
    help: &str,
) -> Diagnostic {
    Diagnostic::warning(code, at, message).with_help(help)
}

/// One finding per cause: diagnostics with the same code, place and message (a
/// template's field not carried, for every job that uses it) become one, with the
/// jobs as secondary labels (at most 8 shown).
fn one_per_cause(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    const SHOWN: usize = 8;
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    let mut left_out: Vec<usize> = Vec::with_capacity(diags.len());
    let mut index: std::collections::HashMap<(plumb_diagnostics::Code, FileRange, String), usize> =
        std::collections::HashMap::new();
    for d in diags {
        let key = (d.code, d.primary.at, d.message.clone());
        let Some(&i) = index.get(&key) else {
            index.insert(key, out.len());
            out.push(d);
            left_out.push(0);
            continue;
        };
        for s in d.secondary {
            let kept = &mut out[i];
            if kept.secondary.iter().any(|k| k.at == s.at) {
                continue;
            }
            if kept.secondary.len() < SHOWN {
                kept.secondary.push(s);
            } else {
                left_out[i] += 1;
            }
        }
    }
    for (d, n) in out.iter_mut().zip(left_out) {
        d.count_places_not_shown(n);
    }
    out
}

/// PL5001 for a job's field; when the field comes from a template or the pipeline's
/// `default`, the job is a secondary label (several jobs become one finding).
pub(crate) fn job_not_carried(
    job: &plumb_semantics::JobModel,
    field: &str,
    target: &str,
    why: &str,
) -> Option<Diagnostic> {
    let f = job.field(field)?;
    let d = not_carried(field, target, f.key_at, why);
    let inherited =
        f.key_at.file != job.range.file || !job.range.range.contains(f.key_at.range.start as usize);
    Some(if inherited {
        d.with_secondary(job.name_at, format!("job `{}` gets it", job.name))
    } else {
        d
    })
}

pub(crate) fn not_carried(field: &str, target: &str, at: FileRange, why: &str) -> Diagnostic {
    Diagnostic::warning(
        plumb_diagnostics::Code::PL5001,
        at,
        format!("`{field}` cannot be carried to {target}; it is left out"),
    )
    .with_label("not carried")
    .with_help(why)
}
