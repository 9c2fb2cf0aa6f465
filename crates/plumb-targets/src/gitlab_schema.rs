//! Where in the `.plumb` source a GitLab schema violation comes from: the key of
//! `gitlab = { … }` that carried it, else the Plumb field that wrote the GitLab key,
//! else the job (PL5005).

use crate::gitlab::job_key;
use crate::plan::PipelinePlan;
use crate::schema::Violation;
use plumb_diagnostics::{Diagnostic, FileRange};
use plumb_semantics::{FieldUse, JobModel, Value};

/// The Plumb field that writes each GitLab job key (where the names differ).
const WRITTEN_BY: &[(&str, &str)] = &[
    ("script", "run"),
    ("before_script", "before_run"),
    ("after_script", "after_run"),
    ("variables", "env"),
    ("secrets", "env"),
    ("id_tokens", "env"),
    ("rules", "when"),
    ("when", "if_previous"),
    ("start_in", "delay"),
    ("parallel", "matrix"),
];

pub(crate) fn diagnostic(v: &Violation, plans: &[PipelinePlan], several: bool) -> Diagnostic {
    let (at, what) = locate(v, plans, several);
    let passthrough = plans.iter().any(|p| {
        p.model.field("gitlab").is_some_and(|f| {
            f.value.origin.range.contains(at.range.start as usize) || f.key_at == at
        }) || p.jobs().any(|j| {
            j.field("gitlab").is_some_and(|f| {
                f.value.origin.range.contains(at.range.start as usize)
                    && f.value.origin.file == at.file
            })
        })
    });
    let help = if passthrough {
        "fix the value, or leave the key out of `gitlab = { … }`; nothing was written"
    } else {
        "write a value GitLab accepts here; nothing was written"
    };
    Diagnostic::error(
        plumb_diagnostics::Code::PL5005,
        at,
        format!("{what} would not pass GitLab's CI schema: {}", v.message),
    )
    .with_label("GitLab would refuse this")
    .with_help(help)
}

/// The source range to report a violation at, and what it is about.
fn locate(v: &Violation, plans: &[PipelinePlan], several: bool) -> (FileRange, String) {
    // (there is always a pipeline: building nothing is refused before)
    let fallback = plans.first().map_or(
        FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::empty(0),
        },
        |p| p.model.name_at,
    );
    let mut path: Vec<&str> = v.path.iter().map(String::as_str).collect();
    if let Some(key) = v.unexpected.first() {
        path.push(key);
    }
    let Some((first, rest)) = path.split_first() else {
        return (fallback, "the file".to_string());
    };
    if matches!(*first, "include" | "workflow") {
        let field = if *first == "include" {
            "include"
        } else {
            "gitlab"
        };
        let rest = if *first == "workflow" {
            &path[..]
        } else {
            rest
        };
        let at = plans
            .iter()
            .find_map(|p| p.model.field(field))
            .map_or(fallback, |f| deepest(f, rest));
        return (at, format!("`{first}`"));
    }
    for p in plans {
        if let Some(job) = p.jobs().find(|j| job_key(p, several, &j.name) == *first) {
            return (job_at(job, rest), format!("job `{}`", job.name));
        }
    }
    // keys completing a job of an included file, in the pipeline's `gitlab = { … }`
    let completing = plans.iter().find_map(|p| {
        p.model
            .field("gitlab")
            .filter(|f| (f.value.as_map().unwrap_or(&[]).iter()).any(|e| e.key == *first))
    });
    if let Some(f) = completing {
        return (deepest(f, &path), format!("included job `{first}`"));
    }
    (fallback, format!("`{first}`"))
}

/// A job's key: in its `gitlab = { … }` when it is there, else in the field that
/// writes it.
fn job_at(job: &JobModel, path: &[&str]) -> FileRange {
    let Some((key, rest)) = path.split_first() else {
        return job.name_at;
    };
    if let Some(gitlab) = job.field("gitlab") {
        if gitlab
            .value
            .as_map()
            .is_some_and(|m| m.iter().any(|e| e.key == *key))
        {
            return deepest(gitlab, path);
        }
    }
    let field = WRITTEN_BY
        .iter()
        .find(|(k, _)| k == key)
        .map_or(*key, |(_, f)| *f);
    match job.field(field) {
        Some(f) => deepest(f, rest),
        None => job.name_at,
    }
}

/// The key of the deepest record entry `path` reaches inside a field, else the
/// field's key.
fn deepest(f: &FieldUse, path: &[&str]) -> FileRange {
    let mut at = f.key_at;
    let mut value: &Value = &f.value;
    for step in path {
        let next = match value.as_map() {
            Some(entries) => entries
                .iter()
                .find(|e| e.key == *step)
                .map(|e| (e.key_at, &e.value)),
            None => value
                .as_list()
                .zip(step.parse::<usize>().ok())
                .and_then(|(items, i)| items.get(i))
                .map(|item| (item.origin, item)),
        };
        match next {
            Some((key_at, v)) => {
                at = key_at;
                value = v;
            }
            None => break,
        }
    }
    at
}
