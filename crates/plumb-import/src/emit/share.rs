//! Fields a job writes exactly as a template writes them: the job takes the template
//! when it holds all of them, else the shared fields become a template of their own,
//! which both are built on. A reader then sees one block once, as a team would write it
//! (a job that took a hidden job's keys through YAML merge keys and wrote some of its
//! own often lands here).

use super::{out_is_trigger, written_text, JobOut, TemplateOut};
use crate::compose::OwnPart;
use crate::value::{Origin, PVal};
use std::collections::{BTreeMap, HashMap};

/// Fewer shared fields are left where they are: a template of one or two fields costs
/// more lines than it saves.
const MIN_SHARED: usize = 3;
/// A field and value that this many templates write says little about which one a job
/// repeats: it is not looked up (keeps a file of thousands of alike templates fast).
const COMMON_VALUE: usize = 256;

/// Each job's fields that some used template writes alike (three or more) are taken
/// from a template: that template, or one holding only the shared fields, on which the
/// template is then built too. Only where no base of either already gives one of those
/// fields, so that which value wins stays the same.
pub(super) fn share_repeated_fields(templates: &mut Vec<TemplateOut>, jobs: &mut [JobOut]) {
    let mut index = WrittenIndex::new(templates);
    for job in jobs.iter_mut() {
        if out_is_trigger(job) {
            continue;
        }
        let Some((t, shared)) = index.most_shared(&job.fields, templates) else {
            continue;
        };
        let gives_one = |bases: &[usize], templates: &[TemplateOut]| {
            (bases.iter()).any(|&b| shared.iter().any(|k| templates[b].fields.contains_key(k)))
        };
        if gives_one(&job.bases, templates) || gives_one(&templates[t].bases, templates) {
            continue;
        }
        let base = if is_all_of(&templates[t], &shared) {
            t
        } else {
            let n = shared_template(templates, t, &shared);
            index.moved(&shared, t, n);
            n
        };
        for k in &shared {
            job.fields.remove(k);
        }
        job.bases.push(base);
    }
}

/// Fewer variables written alike in the same jobs stay where they are.
const MIN_SHARED_VARIABLES: usize = 3;

/// A block of variables that several jobs write alike (a YAML anchor merged into each
/// job's `variables:`, `<<: *sentry-variables`) becomes a template of that `env`, which
/// those jobs are built on, last: its values then win over their other bases', as the
/// jobs' own did. A block is the variables written by exactly the same jobs (each
/// variable with the same value in each), so two anchors give two templates, and a job
/// that changes one variable of the block keeps that one. `holders` are the hidden
/// anchor holders: a block one holds is named after it, and written where it is.
/// Secrets stay bound in each job, where a reader sees who gets them.
pub(super) fn share_repeated_variables(
    templates: &mut Vec<TemplateOut>,
    jobs: &mut [JobOut],
    holders: &[Holder],
) {
    let mut writers: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (j, job) in jobs.iter().enumerate() {
        if out_is_trigger(job) {
            continue;
        }
        for (k, v) in job.env.iter().filter(|(_, v)| !is_secret(v)) {
            writers
                .entry((k.clone(), written_text(v)))
                .or_default()
                .push(j);
        }
    }
    let mut blocks: BTreeMap<Vec<usize>, Vec<String>> = BTreeMap::new();
    for ((name, _), js) in writers.into_iter().filter(|(_, js)| js.len() >= 2) {
        blocks.entry(js).or_default().push(name);
    }
    let mut blocks: Vec<(Vec<usize>, Vec<String>)> = (blocks.into_iter())
        .filter(|(_, names)| names.len() >= MIN_SHARED_VARIABLES)
        .collect();
    // in the order of the first job that writes each block (then the file reads alike)
    blocks.sort_by_key(|(js, names)| (js[0], names.clone()));
    for (js, names) in blocks {
        let first = &jobs[js[0]];
        let env: Vec<(String, PVal)> = (first.env.iter())
            .filter(|(k, _)| names.contains(k))
            .cloned()
            .collect();
        let holder = (holders.iter())
            .filter(|h| names.iter().all(|n| h.keys.contains(n)))
            .min_by_key(|h| h.keys.len());
        let template = match holder {
            Some(h) => env_template(h.key, h.name.clone(), h.line, env),
            None => {
                let name = block_name(&js, jobs);
                env_template(first.key, name, first.line, env)
            }
        };
        templates.push(template);
        let t = templates.len() - 1;
        for &j in &js {
            jobs[j].env.retain(|(k, _)| !names.contains(k));
            jobs[j].bases.push(t);
        }
    }
}

fn is_secret(value: &PVal) -> bool {
    matches!(value.bare(), PVal::Name(_))
}

/// A hidden entry used by alias (see `is_anchor_holder`): its name, where, and keys.
pub(super) struct Holder {
    pub name: String,
    pub key: Origin,
    pub line: usize,
    pub keys: Vec<String>,
}

/// What the jobs' names start with (`deploy-` for `deploy-a` and `deploy-b`), else
/// `shared`; then `-variables`.
fn block_name(js: &[usize], jobs: &[JobOut]) -> String {
    let first = &jobs[js[0]].name;
    let mut prefix = first.len();
    for &j in &js[1..] {
        let common = (first.chars().zip(jobs[j].name.chars()))
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum::<usize>();
        prefix = prefix.min(common);
    }
    let prefix = first[..prefix].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if prefix.len() >= 3 {
        format!("{prefix}-variables")
    } else {
        "shared-variables".into()
    }
}

/// A template that holds `env` only, written at `key`.
fn env_template(key: Origin, name: String, line: usize, env: Vec<(String, PVal)>) -> TemplateOut {
    made_template(key, name, (key.file, line), BTreeMap::new(), env)
}

/// A template the import makes (no YAML hidden job is it): these fields and variables,
/// written at `key` (`at`: its file and line), built on nothing, used.
fn made_template(
    key: Origin,
    hidden: String,
    (file, line): (usize, usize),
    fields: BTreeMap<String, PVal>,
    env: Vec<(String, PVal)>,
) -> TemplateOut {
    TemplateOut {
        key,
        hidden,
        name: String::new(),
        file,
        line,
        fields,
        env,
        needs: None,
        dependencies: None,
        bases: Vec::new(),
        own: None,
        resolved_needs: None,
        resolved_dependencies: None,
        notes: Vec::new(),
        used: true,
        variant_of: None,
        shared_of: None,
    }
}

/// Whether the shared fields are all a template gives (no bases, no variables, no
/// jobs named): a job can take it whole.
fn is_all_of(t: &TemplateOut, shared: &[String]) -> bool {
    t.bases.is_empty()
        && t.env.is_empty()
        && t.needs.is_none()
        && t.dependencies.is_none()
        && t.fields.len() == shared.len()
}

/// A new template of the `shared` fields of template `t`, which is then built on it
/// (last, so that those fields win over its other bases as its own did); its index.
fn shared_template(templates: &mut Vec<TemplateOut>, t: usize, shared: &[String]) -> usize {
    let source = &templates[t];
    let fields: BTreeMap<String, PVal> = (shared.iter())
        .filter_map(|k| source.fields.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let at = (source.file, source.line);
    let new = TemplateOut {
        shared_of: Some(t),
        ..made_template(source.key, source.hidden.clone(), at, fields, Vec::new())
    };
    templates.push(new);
    let n = templates.len() - 1;
    let t_out = &mut templates[t];
    let mut own = t_out.own.take().unwrap_or_else(|| OwnPart {
        fields: t_out.fields.clone(),
        env: t_out.env.clone(),
        inherits_needs: false,
        inherits_dependencies: false,
    });
    for k in shared {
        own.fields.remove(k);
    }
    t_out.own = Some(own);
    t_out.bases.push(n);
    n
}

/// The used templates by each field they write themselves (key and value as written),
/// and each template's written fields as text.
struct WrittenIndex {
    by_field: HashMap<String, Vec<usize>>,
    texts: Vec<BTreeMap<String, String>>,
}

impl WrittenIndex {
    fn new(templates: &[TemplateOut]) -> Self {
        let mut by_field: HashMap<String, Vec<usize>> = HashMap::new();
        let mut texts = vec![BTreeMap::new(); templates.len()];
        for (i, t) in templates.iter().enumerate().filter(|(_, t)| t.used) {
            for (k, v) in t.written() {
                let text = written_text(v);
                by_field.entry(field_key(k, &text)).or_default().push(i);
                texts[i].insert(k.clone(), text);
            }
        }
        WrittenIndex { by_field, texts }
    }

    /// The template that writes the most of `fields` alike, at least [`MIN_SHARED`] of
    /// them (the lowest index on a tie), and those fields' keys. Looked for among the
    /// templates sharing a field with the job that few templates write.
    fn most_shared(
        &self,
        fields: &BTreeMap<String, PVal>,
        templates: &[TemplateOut],
    ) -> Option<(usize, Vec<String>)> {
        let texts: Vec<(&String, String)> =
            fields.iter().map(|(k, v)| (k, written_text(v))).collect();
        let mut candidates: Vec<usize> = (texts.iter())
            .filter_map(|(k, text)| self.by_field.get(&field_key(k, text)))
            .filter(|holders| holders.len() <= COMMON_VALUE)
            .flatten()
            .copied()
            .filter(|&t| templates[t].used)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        (candidates.into_iter())
            .map(|t| {
                let own = &self.texts[t];
                let shared: Vec<String> = (texts.iter())
                    .filter(|(k, text)| own.get(*k) == Some(text))
                    .map(|(k, _)| (*k).clone())
                    .collect();
                (t, shared)
            })
            .filter(|(_, shared)| shared.len() >= MIN_SHARED)
            .max_by_key(|(t, shared)| (shared.len(), std::cmp::Reverse(*t)))
    }

    /// The `shared` fields moved from template `from` to the new template `to`.
    fn moved(&mut self, shared: &[String], from: usize, to: usize) {
        self.texts.resize(to + 1, BTreeMap::new());
        for k in shared {
            let Some(text) = self.texts[from].remove(k) else {
                continue;
            };
            let holders = self.by_field.entry(field_key(k, &text)).or_default();
            holders.retain(|&t| t != from);
            holders.push(to);
            self.texts[to].insert(k.clone(), text);
        }
    }
}

fn field_key(key: &str, text: &str) -> String {
    format!("{key}\u{0}{text}")
}

#[cfg(test)]
mod tests {
    use crate::test_support::imported;

    const TEMPLATE: &str = ".base:\n  image: alpine:3.20.1\n  tags: [docker]\n  retry: 2\n  timeout: 30m\n  script: [make]\n";

    #[test]
    fn fields_a_job_repeats_become_a_template_both_are_built_on() {
        let p = imported(&format!(
            "{TEMPLATE}a:\n  extends: .base\nb:\n  image: alpine:3.20.1\n  retry: 2\n  timeout: 30m\n  script: [make b]\n"
        ));
        assert!(p.contains("template base-shared() {"), "{p}");
        assert!(p.contains("template base() from base-shared() {"), "{p}");
        assert!(p.contains("job b from base-shared() {"), "{p}");
        assert_eq!(p.matches("timeout = 30m").count(), 1, "{p}");
    }

    #[test]
    fn two_fields_alike_stay_where_they_are() {
        let p = imported(&format!(
            "{TEMPLATE}a:\n  extends: .base\nb:\n  image: alpine:3.20.1\n  retry: 2\n  script: [make b]\n"
        ));
        assert!(!p.contains("-shared"), "{p}");
    }

    const SENTRY: &str = ".vars: &vars\n  URL: https://x.example/\n  ORG: gitlab\n  VERSION: '3.3'\nbackend:\n  image: alpine:3.20.1\n  variables:\n    <<: *vars\n    PROJECT: back\n  script: [make]\nfrontend:\n  image: alpine:3.20.1\n  variables:\n    <<: *vars\n    PROJECT: front\n  script: [make]\n";

    #[test]
    fn variables_an_anchor_gives_several_jobs_become_a_template_named_after_it() {
        let p = imported(SENTRY);
        assert!(p.contains("template vars() {"), "{p}");
        assert!(
            p.contains(r#"env = { URL = "https://x.example/", ORG = "gitlab", VERSION = "3.3" }"#),
            "{p}"
        );
        assert!(p.contains("job backend from vars() {"), "{p}");
        assert!(p.contains("job frontend from vars() {"), "{p}");
        assert_eq!(p.matches("ORG").count(), 1, "{p}");
        assert!(p.contains(r#"env   = { PROJECT = "back" }"#), "{p}");
    }

    #[test]
    fn a_variable_one_job_changes_stays_in_each_job() {
        let p = imported(&SENTRY.replace("PROJECT: front", "PROJECT: front\n    ORG: other"));
        assert!(!p.contains("template vars()"), "{p}");
        assert_eq!(p.matches("ORG").count(), 2, "{p}");
    }

    #[test]
    fn secrets_stay_bound_in_each_job() {
        let yaml = "a:\n  image: alpine:3.20.1\n  script: [echo $TOKEN $API_KEY $DB_PASSWORD]\nb:\n  image: alpine:3.20.1\n  script: [echo $TOKEN $API_KEY $DB_PASSWORD]\n";
        let p = imported(yaml);
        assert!(!p.contains("-variables()"), "{p}");
    }

    #[test]
    fn a_block_with_no_holder_is_named_after_what_its_jobs_share() {
        let yaml = "deploy-a:\n  image: alpine:3.20.1\n  variables: { A: '1', B: '2', C: '3' }\n  script: [make a]\ndeploy-b:\n  image: alpine:3.20.1\n  variables: { A: '1', B: '2', C: '3' }\n  script: [make b]\n";
        let p = imported(yaml);
        assert!(p.contains("template deploy-variables() {"), "{p}");
    }

    #[test]
    fn a_long_lone_command_is_a_string() {
        let long = "x".repeat(120);
        let p = imported(&format!("a:\n  image: alpine:3.20.1\n  script: [\"make {long}\"]\nb:\n  image: alpine:3.20.1\n  script: [make]\n"));
        assert!(p.contains(&format!("= \"make {long}\"")), "{p}");
        assert!(p.contains("run = [\"make\"]"), "{p}");
    }

    #[test]
    fn a_field_a_base_of_the_job_gives_too_keeps_the_fields_where_they_are() {
        // `b` extends `.other`, which sets `retry`: taking `retry` from a template after
        // it would still give 2, but which value wins is left as GitLab reads it
        let p = imported(&format!(
            "{TEMPLATE}.other:\n  retry: 1\n  variables: {{ X: '1' }}\na:\n  extends: .base\nb:\n  extends: .other\n  image: alpine:3.20.1\n  retry: 2\n  timeout: 30m\n  tags: [shell]\n  script: [make b]\n"
        ));
        assert!(!p.contains("-shared"), "{p}");
    }
}
