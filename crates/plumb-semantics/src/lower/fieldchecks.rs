//! Checks across a job's merged fields: combinations GitLab cannot express, and
//! values that are legal alone but not where they are.

use super::Lowering;
use crate::codes;
use crate::model::{FieldMap, FieldUse};
use crate::value::{MapEntry, Value, ValueKind};
use plumb_diagnostics::Diagnostic;

/// GitLab's most caches for one job.
const MAX_CACHES: usize = 4;

/// GitLab's longest `start_in`.
const MAX_DELAY_SECONDS: u64 = 7 * 86_400;

impl Lowering<'_, '_> {
    pub(super) fn check_field_combinations(&mut self, fields: &FieldMap) {
        let manual = fields
            .get("when")
            .and_then(|f| f.value.as_cond())
            .is_some_and(|c| c.mentions_manual());
        let after_failure = fields
            .get("if_previous")
            .filter(|f| matches!(f.value.as_str(), Some("failure" | "always")));
        if let Some(delay) = fields.get("delay") {
            if let ValueKind::Duration(secs) = delay.value.kind {
                if secs > MAX_DELAY_SECONDS {
                    self.combination_error(
                        delay,
                        "`delay` is at most one week in GitLab (`start_in`)",
                        "shorten it to `7d` or less",
                    );
                }
            }
            if let Some(prev) = after_failure {
                self.combination_error(prev, "a delayed job runs only after the stages before it succeeded: GitLab has one `when` per job, and `delay` takes it", "remove `delay`, or `if_previous`");
            }
            if manual {
                self.combination_error(
                    delay,
                    "a manual job cannot also be delayed: GitLab has one `when` per job",
                    "remove `delay`, or `manual`",
                );
            }
        }
        if let (Some(prev), true) = (after_failure, manual) {
            self.combination_error(prev, "a manual job cannot also wait for a failure: GitLab has one `when` per job, and `manual` takes it", "remove `if_previous`, or `manual`");
        }
        for image in services_images(fields) {
            if image.kind == ValueKind::RunnerDefault {
                self.ev.report(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        image.origin,
                        "a service needs its own image: `runner_default` is only for a job's image",
                    )
                    .with_label("not an image a service can run")
                    .with_help("name the service's image, pinned by digest"),
                );
            }
        }
    }

    /// `gitlab = { parallel = … }` (copies of one job, or a matrix of several entries)
    /// and `matrix` both write GitLab's `parallel:`: one of them, after merging, as a
    /// template may hold one and the job the other.
    pub(super) fn check_parallel_once(&mut self, fields: &FieldMap) {
        let (Some(matrix), Some(gitlab)) = (fields.get("matrix"), fields.get("gitlab")) else {
            return;
        };
        let Some(parallel) =
            (gitlab.value.as_map().unwrap_or(&[]).iter()).find(|e| e.key == "parallel")
        else {
            return;
        };
        self.ev.report(
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                parallel.key_at,
                "`parallel` is written by Plumb's `matrix` here, not through `gitlab`",
            )
            .with_label("GitLab's `parallel:` is set twice")
            .with_secondary(matrix.key_at, "the job's `matrix`")
            .with_help("keep one: `matrix` for one product of values, `gitlab = { parallel = … }` for copies or several matrix entries"),
        );
    }

    /// A job has at most four caches, and a cache's `key:` record holds exactly one of
    /// `files` (1 to 10 paths) and `files_commits` (1 or 2): GitLab refuses the pipeline
    /// otherwise, and its schema does not say so of the key. Checked after merging, as a template's key and a job's merge.
    pub(super) fn check_cache_key(&mut self, fields: &FieldMap) {
        let Some(cache) = fields.get("cache") else {
            return;
        };
        let caches: Vec<&[MapEntry]> = match &cache.value.kind {
            ValueKind::List(items) => items.iter().filter_map(Value::as_map).collect(),
            _ => cache.value.as_map().into_iter().collect(),
        };
        if caches.len() > MAX_CACHES {
            self.ev.report(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    cache.value.origin,
                    format!(
                        "a job has at most {MAX_CACHES} caches, found {}",
                        caches.len()
                    ),
                )
                .with_label("GitLab refuses the pipeline")
                .with_help("merge caches that are kept and restored together"),
            );
        }
        for key in caches
            .iter()
            .flat_map(|c| c.iter().find(|e| e.key == "key"))
        {
            self.check_one_cache_key(key);
        }
    }

    fn check_one_cache_key(&mut self, key: &MapEntry) {
        let Some(entries) = key.value.as_map() else {
            return;
        };
        let lists: Vec<&MapEntry> = entries
            .iter()
            .filter(|e| matches!(e.key.as_str(), "files" | "files_commits"))
            .collect();
        if let [first, second, ..] = lists.as_slice() {
            self.ev.report(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    second.key_at,
                    "a cache key has `files` or `files_commits`, not both",
                )
                .with_label("GitLab refuses a key with both")
                .with_secondary(first.key_at, "the other one")
                .with_help("keep one of them (a template's key and a job's merge key by key)"),
            );
            return;
        }
        let (message, at, label, help) = match lists.as_slice() {
            [] => (
                "a cache key record needs `files` or `files_commits`".to_string(),
                key.value.origin,
                "neither is here",
                "add `files = [\"Cargo.lock\"]` (the key changes with those files), or write the key as a string",
            ),
            [one] => {
                let (limit, range) = if one.key == "files" {
                    (10, "1 to 10")
                } else {
                    (2, "1 or 2")
                };
                let Some(n) = one.value.as_list().map(<[_]>::len) else {
                    return;
                };
                if (1..=limit).contains(&n) {
                    return;
                }
                (
                    format!("`{}` in a cache key holds {range} paths, found {n}", one.key),
                    one.value.origin,
                    "GitLab refuses this key",
                    "name the files whose changes should start a new cache",
                )
            }
            _ => return,
        };
        self.ev.report(
            Diagnostic::error(codes::TYPE_MISMATCH, at, message)
                .with_label(label)
                .with_help(help),
        );
    }

    fn combination_error(&mut self, f: &FieldUse, message: &str, help: &str) {
        self.ev.report(
            Diagnostic::error(codes::TYPE_MISMATCH, f.value.origin, message)
                .with_label("cannot be written to GitLab CI")
                .with_help(help),
        );
    }
}

fn services_images(fields: &FieldMap) -> Vec<&crate::value::Value> {
    let Some(list) = fields.get("services").and_then(|f| f.value.as_list()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| match &v.kind {
            ValueKind::Map(entries) => entries.iter().find(|e| e.key == "image").map(|e| &e.value),
            _ => Some(v),
        })
        .collect()
}

/// Labels and annotations Plumb sets itself: a `k8s` record may not replace them.
const PLUMB_METADATA: &[&str] = &[
    "app.kubernetes.io/managed-by",
    "argocd.argoproj.io/sync-wave",
];

impl Lowering<'_, '_> {
    /// Values each of its type that GitLab or Kubernetes still refuse: a CPU that is no
    /// quantity, a matrix variable that is no variable name, an environment name GitLab
    /// refuses, a zero timeout.
    pub(super) fn check_values(&mut self, fields: &FieldMap) {
        let entry = |field: &str, key: &str| {
            let map = fields.get(field)?.value.as_map()?;
            map.iter().find(|e| e.key == key)
        };
        if let Some(cpu) = entry("resources", "cpu") {
            if cpu.value.as_str().is_some_and(|c| !is_cpu_quantity(c)) {
                self.value_error(
                    &cpu.value,
                    "is not a CPU quantity",
                    "the Kubernetes API would refuse it",
                    "write cores (`\"2\"`, `\"0.5\"`) or millicores (`\"500m\"`)",
                );
            }
        }
        if let Some(matrix) = fields.get("matrix").and_then(|f| f.value.as_map()) {
            for e in matrix.iter().filter(|e| !crate::is_variable_name(&e.key)) {
                let message = format!("`{}` is not a variable name", e.key.escape_debug());
                self.ev.report(
                    Diagnostic::error(codes::TYPE_MISMATCH, e.key_at, message)
                        .with_label("GitLab and Kubernetes refuse it")
                        .with_help(
                            "a variable name is letters, digits and `_`, not starting with a digit",
                        ),
                );
            }
        }
        let environment = (fields.get("environment").map(|f| &f.value)).and_then(|v| {
            v.as_str()
                .map(|_| v)
                .or_else(|| Some(&entry("environment", "name")?.value))
        });
        if let Some(name) =
            environment.filter(|v| v.as_str().is_some_and(|n| !is_environment_name(n)))
        {
            self.value_error(name, "is not an environment name GitLab accepts", "GitLab refuses the pipeline", "use letters, digits, spaces and `-`, `_`, `/`, `.`, `$`, `{`, `}`, not starting or ending with `/`");
        }
        if let Some(timeout) = fields
            .get("timeout")
            .filter(|f| matches!(f.value.kind, ValueKind::Duration(0)))
        {
            self.value_error(
                &timeout.value,
                "is no time at all",
                "the job would be stopped as it starts",
                "give the job the time it needs (`30m`), or leave `timeout` out",
            );
        }
    }

    fn value_error(&mut self, value: &Value, what: &str, label: &str, help: &str) {
        let shown = match &value.kind {
            ValueKind::Str(s) => format!("`\"{}\"`", s.escape_debug()),
            ValueKind::Int(n) => format!("`{n}`"),
            ValueKind::Duration(seconds) => format!("`{seconds}s`"),
            _ => "this value".to_string(),
        };
        self.ev.report(
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                value.origin,
                format!("{shown} {what}"),
            )
            .with_label(label)
            .with_help(help),
        );
    }

    /// `k8s = { … }`: names and label values as the Kubernetes API accepts them, and
    /// none of the labels and annotations Plumb writes.
    pub(super) fn check_k8s_record(&mut self, fields: &FieldMap) {
        let Some(record) = fields.get("k8s").and_then(|f| f.value.as_map()) else {
            return;
        };
        for e in record {
            let Some(map) = e.value.as_map() else {
                if e.key == "service_account" {
                    if let Some(name) = e.value.as_str() {
                        if !is_dns_subdomain(name) {
                            self.k8s_error(
                                e.value.origin,
                                format!("`{name}` is not a service account name"),
                                "a DNS subdomain: lowercase letters, digits, `-` and `.`",
                            );
                        }
                    }
                }
                continue;
            };
            for item in map {
                self.check_k8s_entry(&e.key, item);
            }
        }
    }

    fn check_k8s_entry(&mut self, what: &str, item: &crate::value::MapEntry) {
        if !is_qualified_name(&item.key) {
            self.k8s_error(item.key_at, format!("`{}` is not a Kubernetes key", item.key), "`[prefix/]name`: a DNS subdomain prefix, a name of at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit");
        } else if item.key.starts_with("plumb.dev/") || PLUMB_METADATA.contains(&item.key.as_str())
        {
            self.k8s_error(
                item.key_at,
                format!("`{}` is set by Plumb", item.key),
                "Plumb's labels and annotations order and track the Jobs; choose another key",
            );
        }
        if what == "annotations" {
            return;
        }
        if let Some(value) = item.value.as_str() {
            if !value.is_empty() && !is_name_part(value) {
                self.k8s_error(item.value.origin, format!("`{value}` is not a Kubernetes label value"), "at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit");
            }
        }
    }

    /// `env` keys are environment variable names: Kubernetes refuses a Job whose
    /// variable's name holds a space, a line break or another sign, or starts with a
    /// digit (`discovery.type` passes, though a shell cannot expand it).
    pub(super) fn check_env_keys(&mut self, env: &crate::model::JobEnv) {
        for b in env.iter() {
            if crate::is_env_variable_name(&b.name) || !self.env_keys_checked.insert(b.name_at) {
                continue;
            }
            self.ev.report(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    b.name_at,
                    format!("`{}` is not an environment variable name", b.name.escape_debug()),
                )
                .with_label("Kubernetes refuses it")
                .with_help(
                    "a variable name is letters, digits, `_`, `-` and `.`, not starting with a digit",
                ),
            );
        }
    }

    fn k8s_error(&mut self, at: plumb_diagnostics::FileRange, message: String, help: &str) {
        self.ev.report(
            Diagnostic::error(codes::TYPE_MISMATCH, at, message)
                .with_label("the Kubernetes API would refuse it")
                .with_help(help),
        );
    }
}

/// A Kubernetes quantity of CPU: cores or a fraction (`2`, `+0.5`, `.5`), with a
/// decimal suffix (`500m`, `1k`), a binary one (`1Ki`) or an exponent (`1e3`); not
/// negative. A CI/CD variable (`$CPU`) is taken as one.
fn is_cpu_quantity(s: &str) -> bool {
    // a CI/CD variable's value (`$CPU`) is known where the job runs
    if s.contains('$') {
        return true;
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    // a decimal exponent (`1e3`, `5E-1`)
    if let Some((mantissa, exponent)) = s.split_once(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let digits = !exponent.is_empty() && exponent.bytes().all(|b| b.is_ascii_digit());
        let plain = !mantissa.is_empty() && !mantissa.ends_with(char::is_alphabetic);
        if digits && plain && is_cpu_quantity(mantissa) {
            return true;
        }
    }
    const SUFFIXES: &[&str] = &[
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", "",
    ];
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let number = |n: &str| match n.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() || digits(whole))
                && (digits(fraction) || (fraction.is_empty() && digits(whole)))
        }
        None => digits(n),
    };
    SUFFIXES
        .iter()
        .any(|suffix| s.strip_suffix(suffix).is_some_and(number))
}

/// A name GitLab accepts for an environment: letters, digits, spaces, `-`, `_`, `/`,
/// `.`, `$`, `{`, `}`, not starting or ending with `/`, not blank, at most 255 bytes.
fn is_environment_name(s: &str) -> bool {
    !s.trim().is_empty()
        && s.len() <= 255
        && !s.starts_with('/')
        && !s.ends_with('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_/.${}".contains(c))
}

/// A label name, or a label value: `[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?`, at most 63.
fn is_name_part(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !s.is_empty()
        && s.len() <= 63
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(plumb_diagnostics::is_dns_label)
}

/// A label or annotation key: `[prefix/]name`.
fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    }
}

impl Lowering<'_, '_> {
    /// `dependencies` and `environment.on_stop` name jobs GitLab accepts there: a
    /// dependency runs in an earlier stage (and is in `needs` when the job has
    /// `needs`); an `on_stop` job stops an environment.
    pub(super) fn check_job_references(&mut self, model: &crate::model::PipelineModel) {
        for job in &model.jobs {
            for (name, at) in job_refs(job.field("dependencies")) {
                let Some(dep) = model.jobs.iter().find(|j| j.name == name) else {
                    continue; // reported as unknown
                };
                if dep.name == job.name {
                    self.ev.report(
                        Diagnostic::error(
                            codes::NEEDS_ITSELF,
                            at,
                            format!("job `{name}` names itself in `dependencies`"),
                        )
                        .with_label("a job cannot download its own artifacts")
                        .with_help(format!("remove `{name}` from its own `dependencies`")),
                    );
                    continue;
                }
                let problem = if job.field("needs").is_some()
                    && !job.needs.iter().any(|n| n.job == name)
                {
                    Some((codes::TYPE_MISMATCH, format!("`{name}` is not in `needs`: with `needs`, GitLab downloads artifacts only from the jobs it names")))
                } else if job.field("needs").is_none()
                    && !stage_precedes(model, dep.stage, job.stage)
                {
                    Some((codes::DEPENDS_ON_LATER_STAGE, format!("`{name}` does not run in a stage before this job's: GitLab downloads artifacts only from earlier stages")))
                } else {
                    None
                };
                if let Some((code, message)) = problem {
                    self.ev.report(
                        Diagnostic::error(code, at, message)
                            .with_label("not a job whose artifacts this job can get")
                            .with_secondary(dep.name_at, format!("`{name}` is here"))
                            .with_help("name jobs of earlier stages (and of `needs`, when the job has `needs`)"),
                    );
                }
            }
            self.check_on_stop(model, job);
        }
    }

    fn check_on_stop(&mut self, model: &crate::model::PipelineModel, job: &crate::model::JobModel) {
        let record = job.record_field("environment");
        let Some(on_stop) = record.iter().find(|e| e.key == "on_stop") else {
            return;
        };
        let ValueKind::JobRef(name) = &on_stop.value.kind else {
            return;
        };
        let Some(stop) = model.jobs.iter().find(|j| &j.name == name) else {
            return;
        };
        let action = stop
            .record_field("environment")
            .iter()
            .find(|e| e.key == "action")
            .and_then(|e| e.value.as_str());
        if stop.name != job.name && action == Some("stop") {
            return;
        }
        self.ev.report(
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                on_stop.value.origin,
                format!("`on_stop` names `{name}`, which does not stop an environment"),
            )
            .with_label("not a stop job")
            .with_secondary(stop.name_at, format!("`{name}` is here"))
            .with_help("give the stop job `environment = { name = …, action = \"stop\" }` (usually `when = manual`)"),
        );
    }
}

fn job_refs(f: Option<&FieldUse>) -> Vec<(String, plumb_diagnostics::FileRange)> {
    f.and_then(|f| f.value.as_list())
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| match &v.kind {
            ValueKind::JobRef(n) => Some((n.clone(), v.origin)),
            _ => None,
        })
        .collect()
}

/// Whether stage `a` runs before stage `b`: `b` follows `a` through `after` (explicit,
/// or the stage declared just before, for a stage without `after`).
fn stage_precedes(model: &crate::model::PipelineModel, a: usize, b: usize) -> bool {
    let mut stack = vec![b];
    let mut seen = vec![false; model.stages.len()];
    while let Some(s) = stack.pop() {
        let Some(stage) = model.stages.get(s) else {
            continue;
        };
        let before: Vec<usize> = if stage.explicit_after {
            stage.after.iter().map(|(i, _)| *i).collect()
        } else {
            s.checked_sub(1).into_iter().collect()
        };
        for p in before {
            if p == a {
                return true;
            }
            if !seen[p] {
                seen[p] = true;
                stack.push(p);
            }
        }
    }
    false
}
