//! Secrets that reach a place other than a job's script through the new job fields:
//! a `$VAR` naming a secret in a field GitLab expands and shows (an environment's URL,
//! a release's description through `gitlab = { … }`, an artifacts archive's name), and
//! any secret in a trigger job, whose variables GitLab passes to the pipeline it
//! starts. Both are PL4002: a secret used where only a plain value belongs.

use super::Lowering;
use crate::codes;
use crate::model::{names_variable, JobModel};
use crate::value::{SecretRef, SecretSource, Value, ValueKind};
use plumb_diagnostics::{Diagnostic, FileRange};

/// Fields whose strings are run as commands or become variables: checked by the
/// credential rules, not here.
/// (A service's `env` is the service's own environment: a secret may go there.)
const SCRIPT_FIELDS: &[&str] = &["before_run", "run", "after_run", "env", "when", "services"];

impl Lowering<'_, '_> {
    pub(super) fn check_secret_exposure(&mut self, job: &JobModel, project_vars: &[SecretRef]) {
        // the variables that hold a secret in this job: bound ones, and project
        // variables (`ci_variable`) every job can read
        let mut secret_vars: Vec<(&str, &str)> = job
            .secret_env()
            .map(|(b, s)| (b.name.as_str(), s.name.as_str()))
            .collect();
        for s in project_vars {
            if let SecretSource::CiVariable(var) = &s.source {
                secret_vars.push((var.as_str(), s.name.as_str()));
            }
        }
        for (name, f) in &job.fields {
            if SCRIPT_FIELDS.contains(&name) {
                continue;
            }
            let mut strings = Vec::new();
            strings_of(&f.value, &mut strings);
            for (text, at) in strings {
                if let Some((var, secret)) =
                    secret_vars.iter().find(|(v, _)| names_variable(text, v))
                {
                    self.ev.report(expanded_secret(secret, var, name, at));
                }
            }
        }
        if job.field("trigger").is_some() {
            self.check_trigger_secrets(job, &secret_vars);
        }
    }

    /// A trigger job's variables go to the pipeline it starts, in another project
    /// perhaps: no secret may be among them.
    fn check_trigger_secrets(&mut self, job: &JobModel, secret_vars: &[(&str, &str)]) {
        for b in &job.env {
            let secret = match &b.value.kind {
                ValueKind::Secret(s) => Some(s.name.as_str()),
                ValueKind::Str(text) => secret_vars
                    .iter()
                    .find(|(v, _)| names_variable(text, v))
                    .map(|(_, s)| *s),
                _ => None,
            };
            let Some(secret) = secret else { continue };
            self.ev.report(
                Diagnostic::error(
                    codes::SECRET_MISUSE,
                    b.name_at,
                    format!(
                        "secret `{secret}` is given to trigger job `{}`: GitLab passes a trigger job's variables to the pipeline it starts",
                        job.name
                    ),
                )
                .with_label("reaches the downstream pipeline")
                .with_help("let the downstream pipeline read its own secrets; pass only plain values to a trigger job"),
            );
        }
    }
}

fn expanded_secret(secret: &str, var: &str, field: &str, at: FileRange) -> Diagnostic {
    Diagnostic::error(
        codes::SECRET_MISUSE,
        at,
        format!("secret `{secret}` (`${var}`) is expanded in `{field}`, which GitLab shows or passes on"),
    )
    .with_label("a secret outside the script")
    .with_help("use secrets only in `before_run`, `run` and `after_run`, through the job's `env`")
}

fn strings_of<'v>(v: &'v Value, out: &mut Vec<(&'v str, FileRange)>) {
    match &v.kind {
        ValueKind::Str(s) => out.push((s, v.origin)),
        ValueKind::List(items) => items.iter().for_each(|i| strings_of(i, out)),
        ValueKind::Map(entries) => entries.iter().for_each(|e| strings_of(&e.value, out)),
        _ => {}
    }
}
