//! Secrets that reach a place other than a job's script through the new job fields:
//! a `$VAR` naming a secret in a field GitLab expands and shows (an environment's URL,
//! a release's description through `gitlab = { … }`, an artifacts archive's name), and
//! any secret in a trigger job, whose variables GitLab passes to the pipeline it
//! starts. Both are PL4002: a secret used where only a plain value belongs.

use super::Lowering;
use crate::codes;
use crate::model::{shell_variables_named, variables_named, JobModel};
use crate::value::{SecretRef, SecretSource, Value, ValueKind};
use plumb_diagnostics::{Diagnostic, FileRange};
use std::collections::HashMap;

/// Fields whose strings are run as commands or become variables: checked by the
/// credential rules, not here.
/// (A service's `env` is the service's own environment: a secret may go there.)
const SCRIPT_FIELDS: &[&str] = &["before_run", "run", "after_run", "env", "when", "services"];

/// `gitlab = { hooks = { pre_get_sources_script } }`: lines run as the job's script is
/// (see [`JobModel::script`]).
const HOOK_SCRIPT: &str = "hooks.pre_get_sources_script";

impl Lowering<'_, '_> {
    pub(super) fn check_secret_exposure(&mut self, job: &JobModel, project_vars: &[SecretRef]) {
        // the variables that hold a secret in this job: bound ones, and project
        // variables (`ci_variable`) every job can read
        // (a variable bound in `env` is that binding's secret, whatever the project has)
        let mut secret_vars: SecretVars = HashMap::new();
        for (b, s) in job.secret_env() {
            secret_vars
                .entry(b.name.as_str())
                .or_insert(s.name.as_str());
        }
        for s in project_vars {
            if let SecretSource::CiVariable(var) = &s.source {
                secret_vars.entry(var.as_str()).or_insert(s.name.as_str());
            }
        }
        for (name, f) in &job.fields {
            if SCRIPT_FIELDS.contains(&name) {
                continue;
            }
            let mut strings = Vec::new();
            // `gitlab = { release = … }` holds GitLab's keys: named as the YAML names them
            let path = if name == "gitlab" { "" } else { name };
            strings_of(&f.value, path, &mut strings);
            for (text, at, place) in strings {
                // a hook's script runs in the job's shell: the script rules check it
                if place == HOOK_SCRIPT {
                    continue;
                }
                if let Some((var, secret)) = secret_named(text, &secret_vars) {
                    self.ev.report(expanded_secret(secret, var, &place, at));
                }
            }
        }
        if job.field("trigger").is_some() {
            self.check_trigger_secrets(job, &secret_vars);
        }
    }

    /// A trigger job's variables go to the pipeline it starts, in another project
    /// perhaps: no secret may be among them.
    fn check_trigger_secrets(&mut self, job: &JobModel, secret_vars: &SecretVars) {
        for b in &job.env {
            let secret = match &b.value.kind {
                ValueKind::Secret(s) => Some(s.name.as_str()),
                ValueKind::Str(text) => secret_named(text, secret_vars).map(|(_, s)| s),
                _ => None,
            };
            let Some(secret) = secret else { continue };
            self.ev.report(
                Diagnostic::error(
                    codes::SECRET_MISUSE,
                    // at the value: the binding's name, in a YAML file, is its key
                    b.value.origin,
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

/// The variables that hold a secret in a job: variable → secret.
type SecretVars<'j> = HashMap<&'j str, &'j str>;

/// The first variable `text` names that holds a secret, with the secret.
fn secret_named<'s>(text: &str, secret_vars: &SecretVars<'s>) -> Option<(&'s str, &'s str)> {
    (variables_named(text).chain(shell_variables_named(text)))
        .find_map(|v| secret_vars.get_key_value(v).map(|(v, s)| (*v, *s)))
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

/// Every string of a value, with where it is and the keys that lead to it
/// (`environment.url`).
fn strings_of<'v>(v: &'v Value, path: &str, out: &mut Vec<(&'v str, FileRange, String)>) {
    match &v.kind {
        ValueKind::Str(s) => out.push((s, v.origin, path.to_string())),
        ValueKind::List(items) => items.iter().for_each(|i| strings_of(i, path, out)),
        ValueKind::Map(entries) => entries.iter().for_each(|e| {
            let inner = match path {
                "" => e.key.clone(),
                _ => format!("{path}.{}", e.key),
            };
            strings_of(&e.value, &inner, out)
        }),
        _ => {}
    }
}
