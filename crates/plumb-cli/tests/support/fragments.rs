//! A file that is part of a larger configuration (its `include:` files, the hidden jobs it
//! `extends` or the stages it uses are in files that are not here) is compared on what it
//! contains: what `gitlab-ci-local` reports missing is mended the way the importer reads
//! it (an `extends` of a hidden job not here applies nothing; an unknown stage comes last;
//! an include not here brings nothing), on the original's copy, and the comparison leaves
//! out what depends on the missing parts.
//!
//! The mending is textual (a line appended, a stage added, the `include:` block cut), so
//! that the YAML gitlab-ci-local reads is still the file's own: anchors, merge keys and
//! `!reference` are read by it, not by the importer's reader.

use plumb_import::yaml::{self, Node};
use std::collections::HashMap;
use std::path::Path;

/// What was mended.
#[derive(Debug, Default)]
pub struct Mended {
    /// The file as mended in place (includes cut, stages added, jobs cut), without the
    /// stubs, which [`Mended::write`] appends.
    text: Option<String>,
    /// Hidden jobs from other files that jobs here extend: given as [`hidden_job_stub`]s.
    pub stubs: Vec<String>,
    /// Jobs of other files that jobs here need or depend on: given as jobs of `.pre`,
    /// and left out of the comparison (the importer drops a need it cannot resolve).
    pub outside_jobs: Vec<String>,
    /// `!reference [NAME, KEY]` into another file: `NAME` given with an empty `KEY`.
    pub references: Vec<(String, String)>,
    /// Jobs here with no script, which add keys to a job of another file (GitLab
    /// merges them; the importer leaves them out): cut.
    pub cut_jobs: Vec<String>,
    /// Each cut job as the original writes it (anchors merged), to compare with what
    /// the compiled file writes for it, if anything.
    pub cut_written: Vec<(String, Node)>,
    /// The `include:` entries were cut (their files are not here).
    pub includes_cut: bool,
    /// Stages jobs use that `stages:` (in another file) lists: added last.
    pub stages: Vec<String>,
}

impl Mended {
    pub fn is_empty(&self) -> bool {
        self.text.is_none()
    }

    /// One line for the corpus report.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.includes_cut {
            parts.push("its includes left out".to_string());
        }
        let counted = [
            (
                self.stubs.len(),
                "hidden jobs of other files given as a script of `:`",
            ),
            (
                self.outside_jobs.len(),
                "jobs of other files it needs given as `.pre` jobs",
            ),
            (
                self.references.len(),
                "`!reference`s into other files empty",
            ),
            (
                self.cut_jobs.len(),
                "jobs with no script (parts of other files' jobs) left out",
            ),
        ];
        for (n, what) in counted {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if !self.stages.is_empty() {
            parts.push(format!("stages {:?} added", self.stages));
        }
        format!("a fragment ({})", parts.join(", "))
    }

    /// The mended text and the stubs, as one file.
    fn write(&self, path: &Path) {
        let mut text = self.text.clone().unwrap_or_default();
        text.push_str("\n# stubs for what is in other files (plumb's import test)\n");
        for name in &self.stubs {
            text.push_str(&hidden_job_stub(name));
        }
        for name in &self.outside_jobs {
            text.push_str(&outside_job_stub(name));
        }
        let mut holders: Vec<&String> = Vec::new();
        for (holder, _) in &self.references {
            if !holders.contains(&holder) {
                holders.push(holder);
            }
        }
        for holder in holders {
            let keys: Vec<String> = (self.references.iter())
                .filter(|(n, _)| n == holder)
                .map(|(_, key)| {
                    let empty = match key.as_str() {
                        "rules" => r#"[{"when": "on_success"}]"#,
                        "variables" => "{}",
                        _ => "[]",
                    };
                    format!("{}: {empty}", json_string(key))
                })
                .collect();
            text.push_str(&format!(
                "{}: {{{}}}\n",
                json_string(holder),
                keys.join(", ")
            ));
        }
        std::fs::write(path, text).expect("write the mended file");
    }
}

/// Mends the `.gitlab-ci.yml` of `repo` for what `error` (gitlab-ci-local's last line)
/// says is missing; `false` when the error is not one of a fragment, or was mended
/// already (the file is then not readable offline).
pub fn mend(repo: &Path, error: &str, mended: &mut Mended) -> bool {
    let path = repo.join(".gitlab-ci.yml");
    let Ok(read) = std::fs::read_to_string(&path) else {
        return false;
    };
    let text = mended.text.get_or_insert(read);
    let done = if let Some(name) = error.strip_suffix(" extends").and_then(|e| {
        let (name, _) = e.split_once(" is unspecified, used by ")?;
        Some(name.trim().to_string())
    }) {
        push_new(&mut mended.stubs, name)
    } else if let Some(stage) = error
        .strip_prefix("stage:")
        .and_then(|e| e.split_once(" not found for "))
        .map(|(stage, _)| stage.trim().to_string())
    {
        *text = with_stage_added(text, &stage);
        push_new(&mut mended.stages, stage)
    } else if let Some(names) = missing_jobs(error) {
        let defined = top_level_keys(text);
        let new: Vec<String> = (names.into_iter())
            .filter(|n| !defined.contains(n) && !mended.outside_jobs.contains(n))
            .collect();
        let any = !new.is_empty();
        mended.outside_jobs.extend(new);
        any
    } else if let Some((holder, key)) = missing_reference(error) {
        push_new(&mut mended.references, (holder, key))
    } else if let Some(job) = error.strip_suffix(" must have script specified") {
        // gitlab-ci-local names a job of a matrix `name: [values]`
        let job = job.split(": [").next().unwrap_or(job).to_string();
        if let Some(node) = top_level_node(text, &job) {
            mended.cut_written.push((job.clone(), node));
        }
        let cut = without_top_level_key(text, &job);
        let changed = cut != *text;
        *text = cut;
        changed && push_new(&mut mended.cut_jobs, job)
    } else if error.contains("include file cannot be found")
        || error.contains("getaddrinfo")
        || error.starts_with("tar: ")
    {
        *text = without_top_level_key(text, "include");
        !std::mem::replace(&mut mended.includes_cut, true)
    } else {
        false
    };
    if done {
        mended.write(&path);
    }
    done
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    let new = !list.contains(&item);
    if new {
        list.push(item);
    }
    new
}

/// The job names of "needs: [a,b] for J could not be found" (or dependencies).
fn missing_jobs(error: &str) -> Option<Vec<String>> {
    let rest =
        (error.strip_prefix("needs: [")).or_else(|| error.strip_prefix("dependencies: ["))?;
    let (names, tail) = rest.split_once("] for ")?;
    tail.ends_with(" could not be found")
        .then(|| names.split(',').map(|n| n.trim().to_string()).collect())
}

/// `(NAME, KEY)` of "!reference [NAME, KEY] is undefined".
fn missing_reference(error: &str) -> Option<(String, String)> {
    let inner = error
        .strip_prefix("!reference [")?
        .strip_suffix("] is undefined")?;
    let (holder, key) = inner.split_once(',')?;
    Some((holder.trim().to_string(), key.trim().to_string()))
}

/// A library of hidden jobs (no job of its own) is compared on what it contains: each
/// hidden job that is a job template is run as a job `instance-of-NAME` that extends it
/// (with `script: [":"]` when nothing it extends gives one). The text with those jobs
/// appended, and their names; `None` when the file holds no job template.
pub fn library_instances(text: &str) -> Option<(String, Vec<String>)> {
    let docs = yaml::parse(text, 0).ok()?;
    let hidden: HashMap<&str, &Node> = (docs.iter())
        .flat_map(|d| d.entries())
        .filter(|e| e.key.starts_with('.'))
        .map(|e| (e.key.as_str(), &e.value))
        .collect();
    let mut names: Vec<&str> = (hidden.iter())
        .filter(|(_, job)| {
            !job.entries().is_empty()
                && (job.entries().iter())
                    .all(|e| plumb_import::gitlab::JOB_KEYWORDS.contains(&e.key.as_str()))
        })
        .map(|(name, _)| *name)
        .collect();
    names.sort_unstable();
    if names.is_empty() {
        return None;
    }
    let mut out = text.to_string();
    out.push_str("\n# each job template run as a job (plumb's import test)\n");
    let mut instances = Vec::new();
    for name in names {
        let instance = format!("instance-of-{}", name.trim_start_matches('.'));
        let runs = ["script", "trigger"]
            .iter()
            .any(|k| reaches(&hidden, name, k, 0));
        let script = if runs { "" } else { r#", "script": [":"]"# };
        out.push_str(&format!(
            "{}: {{\"extends\": [{}]{script}}}\n",
            json_string(&instance),
            json_string(name)
        ));
        instances.push(instance);
    }
    Some((out, instances))
}

/// Whether hidden job `name`, or one it extends (in this file), sets `key`.
fn reaches(hidden: &HashMap<&str, &Node>, name: &str, key: &str, depth: usize) -> bool {
    let Some(job) = hidden.get(name) else {
        return false;
    };
    // GitLab refuses more than 11 levels; a cycle stops here too
    depth <= 11
        && (job.get(key).is_some()
            || (job
                .get("extends")
                .map(Node::strings)
                .unwrap_or_default()
                .iter())
            .any(|base| reaches(hidden, base, key, depth + 1)))
}

/// The top-level keys of a YAML text (unquoted), as written at column 0.
fn top_level_keys(text: &str) -> Vec<String> {
    (text.lines())
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, _)| k.trim_matches(['"', '\'']).to_string())
        })
        .collect()
}

/// The stub jobs are left out, and the jobs here lose the names of jobs that are not
/// here (stubs, or `optional: true` needs GitLab drops): a list left empty was a list of
/// outside jobs only, which the importer leaves out.
pub fn leave_out_outside_jobs<V>(
    view: &mut std::collections::BTreeMap<String, V>,
    outside: &[String],
    original: &Node,
    lists: impl Fn(&mut V) -> Vec<&mut Option<std::collections::BTreeSet<String>>>,
) {
    let outside: Vec<String> = (outside.iter())
        .map(|n| plumb_import::names::identifier(n, "job"))
        .collect();
    view.retain(|name, _| !outside.contains(name));
    // every job of the file, trigger jobs too (the views leave those out)
    let here: Vec<String> = (original.entries().iter())
        .filter(|e| !e.key.starts_with('.') && e.value.is_map())
        .map(|e| plumb_import::names::identifier(&e.key, "job"))
        .filter(|n| !outside.contains(n))
        .collect();
    for job in view.values_mut() {
        for list in lists(job) {
            if let Some(names) = list {
                let before = names.len();
                names.retain(|n| here.contains(n));
                if names.is_empty() && before > 0 {
                    *list = None;
                }
            }
        }
    }
}

/// The jobs of the mended file in `repo` that take something of another file: their
/// `extends` reach a stub (through the file's hidden jobs), or they `!reference` one.
pub fn jobs_taking_from_outside(repo: &Path, mended: &Mended) -> Vec<String> {
    if mended.stubs.is_empty() && mended.references.is_empty() {
        return Vec::new();
    }
    let text = std::fs::read_to_string(repo.join(".gitlab-ci.yml")).expect("read");
    let Some(root) = yaml::parse(&text, 0).ok().and_then(|mut d| d.pop()) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let by_name: HashMap<&str, &Node> = (root.entries().iter())
        .map(|e| (e.key.as_str(), &e.value))
        .collect();
    let parents =
        |job: &Node| -> Vec<String> { job.get("extends").map(Node::strings).unwrap_or_default() };
    let references_outside = |job: &Node| {
        let text = lines
            .get(job.line.saturating_sub(1)..job.end_line.min(lines.len()))
            .unwrap_or_default()
            .join("\n");
        (mended.references.iter()).any(|(holder, _)| text.contains(&format!("[{holder},")))
    };
    let takes_from_outside = |job: &Node| {
        let mut todo = vec![job];
        let mut seen: Vec<String> = Vec::new();
        while let Some(j) = todo.pop() {
            if references_outside(j) {
                return true;
            }
            for p in parents(j) {
                if mended.stubs.contains(&p) {
                    return true;
                }
                if !seen.contains(&p) {
                    todo.extend(by_name.get(p.as_str()).copied());
                    seen.push(p);
                }
            }
        }
        false
    };
    (root.entries().iter())
        .filter(|e| !e.key.starts_with('.') && e.value.is_map() && takes_from_outside(&e.value))
        .map(|e| e.key.clone())
        .collect()
}

/// The same cut on the compiled side (the importer carries an include it could not read).
/// Cuts from the compiled file what was cut from the original: its includes, and the
/// jobs with no script (given back as the compiled file writes them, when it does); gives
/// it the same stubs.
pub fn mend_compiled(repo: &Path, mended: &Mended) -> Vec<(String, Node)> {
    let path = repo.join(".gitlab-ci.yml");
    let mut text = std::fs::read_to_string(&path).expect("read the compiled file");
    if mended.includes_cut {
        text = without_top_level_key(&text, "include");
    }
    let mut cut = Vec::new();
    for (job, _) in &mended.cut_written {
        if let Some(node) = top_level_node(&text, job) {
            cut.push((job.clone(), node));
            text = without_top_level_key(&text, job);
        }
    }
    // the hidden jobs of other files that jobs keep in `gitlab = { extends = … }`: as
    // in the original
    let defined = top_level_keys(&text);
    let stubs: Vec<&String> = (mended.stubs.iter())
        .filter(|n| !defined.contains(n))
        .collect();
    // and the jobs of other files that jobs need (kept in `gitlab = { needs = … }`)
    let outside: Vec<&String> = (mended.outside_jobs.iter())
        .filter(|n| !defined.contains(n))
        .collect();
    if !stubs.is_empty() || !outside.is_empty() {
        text.push_str("\n# stubs for what is in other files (plumb's import test)\n");
        for name in stubs {
            text.push_str(&hidden_job_stub(name));
        }
        for name in outside {
            text.push_str(&outside_job_stub(name));
        }
    }
    std::fs::write(&path, text).expect("write");
    cut
}

/// A job of another file that jobs here need, as both sides get it: in `.pre`.
fn outside_job_stub(name: &str) -> String {
    let stub = r#"{"stage": ".pre", "script": ["true"]}"#;
    format!("{}: {stub}\n", json_string(name))
}

/// A hidden job of another file, as both sides get it: a script of `:`, which a job
/// with none of its own takes (GitLab would take the real one from there), and which
/// any script the job or a later base writes replaces.
fn hidden_job_stub(name: &str) -> String {
    format!("{}: {{\"script\": [\":\"]}}\n", json_string(name))
}

/// The value of a top-level key of a YAML file, as the importer's reader reads it.
fn top_level_node(text: &str, key: &str) -> Option<Node> {
    yaml::parse(text, 0).ok()?.pop()?.get(key).cloned()
}

/// A double-quoted YAML (and JSON) string.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` with `stage` last in its top-level `stages:` (flow or block), or with GitLab's
/// default stages and `stage` when it has none.
fn with_stage_added(text: &str, stage: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("stages:")) else {
        return format!(
            "{text}\nstages: [build, test, deploy, {}]\n",
            json_string(stage)
        );
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let rest = lines[at]["stages:".len()..].trim();
    if let Some(close) = rest.rfind(']').filter(|_| rest.starts_with('[')) {
        let inner = rest[1..close].trim();
        let sep = if inner.is_empty() { "" } else { ", " };
        out[at] = format!("stages: [{inner}{sep}{}]", json_string(stage));
    } else {
        // the block's items: lines after `stages:` that are items, blank or comments
        let mut last = at;
        let mut indent = String::new();
        for (i, l) in lines.iter().enumerate().skip(at + 1) {
            let t = l.trim_start();
            if t.starts_with('-') {
                last = i;
                indent = l[..l.len() - t.len()].to_string();
            } else if !(t.is_empty() || t.starts_with('#')) {
                break;
            }
        }
        out.insert(last + 1, format!("{indent}- {}", json_string(stage)));
    }
    out.join("\n") + "\n"
}

/// `text` without the top-level mapping key `key` and its value (the lines below it
/// that are indented, sequence items, blank or comments).
fn without_top_level_key(text: &str, key: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let starts_key = line
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        if starts_key {
            skipping = true;
            continue;
        }
        if skipping {
            let continues = line.is_empty()
                || line.starts_with([' ', '\t', '-', '#'])
                || line.trim().is_empty();
            if continues {
                continue;
            }
            skipping = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_added_last_in_either_form() {
        assert_eq!(
            with_stage_added("stages: [a, b]\nx: 1\n", "c"),
            "stages: [a, b, \"c\"]\nx: 1\n"
        );
        assert_eq!(
            with_stage_added("stages:\n  - a\n  # b\n  - b\n\nx: 1\n", "c"),
            "stages:\n  - a\n  # b\n  - b\n  - \"c\"\n\nx: 1\n"
        );
    }

    #[test]
    fn an_include_block_is_cut_whole() {
        let text = "include:\n- local: a.yml\n  # x\n- project: p\n    file: f\nstages: [a]\n";
        assert_eq!(without_top_level_key(text, "include"), "stages: [a]\n");
        assert_eq!(
            without_top_level_key("include: a.yml\njob: {}\n", "include"),
            "job: {}\n"
        );
    }
}
