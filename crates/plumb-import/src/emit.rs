//! Writes the Plumb program: lets for repeated images, secrets for credentials the file
//! uses but does not define, templates for hidden jobs that `extends` uses, one pipeline
//! with the stages in GitLab's order.

use crate::compose::{
    composed_field, drop_what_default_gives, leaves_out_default, long_form, own_part, Flat,
    JobNames, OwnPart,
};
use crate::cond::{Atom, Cond};
use crate::convert::{self, Ctx, Fields, Note, FIELD_ORDER};
use crate::gitlab::{self, Config};
use crate::names::{identifier, Scope};
use crate::value::{Origin, PVal, CLOSE};
use crate::Warning;
use plumb_semantics::credential_words::{credential_name, NameUse};
use plumb_semantics::{shell_variables_named, variables_named};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;

mod share;

pub use crate::literal::string_literal;

pub struct Program {
    pub text: String,
    /// Names the program gives differently from the YAML, as (program, YAML): a job
    /// renamed to be an identifier, a secret named after the variable it reads.
    pub renames: Vec<(String, String)>,
    pub jobs_imported: usize,
    pub jobs_left_out: usize,
    /// The YAML lines the notes quote, as (file, first line, last line).
    pub quoted: Vec<(usize, usize, usize)>,
}

struct JobOut {
    /// Where GitLab's job name is written.
    key: Origin,
    /// The job names no image, and what decides it is not in what was read: a template
    /// from a file not read, or the runner's own shell (`sudo` in the script).
    image_elsewhere: bool,
    /// For an import: a job with no image that a shell runner runs (by its tags, or a
    /// script that runs `sudo`), with why: given `runner_default` itself, its findings
    /// allowed (not the pipeline's `default`, which would allow them for every job,
    /// unless every job it reaches is such a job: [`runner_default_for_shell_runners`]).
    shell_runner: Option<&'static str>,
    name: String,
    gitlab_name: String,
    file: usize,
    line: usize,
    stage: String,
    /// Its stage is not written and it extends a template not read: GitLab's stage for
    /// it is not known (`stage` is the default only).
    stage_unknown: bool,
    /// The templates it instantiates, in order (`from a(), b()`).
    bases: Vec<usize>,
    fields: BTreeMap<String, PVal>,
    env: Vec<(String, PVal)>,
    needs: JobNames,
    /// Where each need is written (an import for a check only).
    needs_at: Vec<Option<Origin>>,
    needs_flags: Vec<convert::NeedFlags>,
    has_needs: bool,
    dependencies: Option<JobNames>,
    /// `environment: on_stop:` (a GitLab job name and its line), until resolved.
    on_stop: Option<(String, usize)>,
    notes: Vec<Note>,
}

#[derive(Clone)]
struct TemplateOut {
    key: Origin,
    /// The hidden job's GitLab name.
    hidden: String,
    name: String,
    file: usize,
    line: usize,
    /// What the hidden job is with its `extends` applied.
    fields: BTreeMap<String, PVal>,
    env: Vec<(String, PVal)>,
    needs: Option<JobNames>,
    dependencies: Option<JobNames>,
    /// The templates it is built on (its `extends`), and what it writes itself on top.
    bases: Vec<usize>,
    own: Option<OwnPart>,
    /// `needs` and `dependencies` with Plumb's job names, once the jobs are known.
    resolved_needs: Option<Vec<PVal>>,
    resolved_dependencies: Option<Vec<PVal>>,
    notes: Vec<Note>,
    used: bool,
    /// The template this one is, less one field (see `add_variants`).
    variant_of: Option<usize>,
    /// The template whose fields a job repeated, which this one holds (see
    /// [`share::share_repeated_fields`]).
    shared_of: Option<usize>,
}

impl TemplateOut {
    /// The fields it writes itself: what it adds to its bases, or all it is.
    fn written(&self) -> &BTreeMap<String, PVal> {
        self.own.as_ref().map_or(&self.fields, |own| &own.fields)
    }

    fn flat(&self) -> Flat<'_> {
        Flat {
            fields: &self.fields,
            env: &self.env,
            needs: self.needs.as_ref(),
            dependencies: self.dependencies.as_ref(),
        }
    }
}

impl JobOut {
    fn flat(&self) -> Flat<'_> {
        Flat {
            fields: &self.fields,
            env: &self.env,
            needs: self.has_needs.then_some(&self.needs),
            dependencies: self.dependencies.as_ref(),
        }
    }
}

/// Where a secret comes from.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Source {
    CiVariable(String),
    /// `vault(PATH, FIELD)`, with `file = true` when the variable holds a file's path.
    Vault(String, String, bool),
    /// `id_tokens: NAME: aud: AUDIENCE`.
    IdToken(String),
}

#[derive(Default)]
struct Secrets {
    by_source: HashMap<Source, String>,
    order: Vec<(String, Source)>,
    /// The variable each secret is given as, by the secret's name.
    variables: HashMap<String, String>,
}

impl Secrets {
    fn variable_of(&self, name: &str) -> String {
        self.variables
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    fn name(&mut self, source: Source, base: &str, scope: &mut Scope) -> String {
        if let Some(n) = self.by_source.get(&source) {
            return n.clone();
        }
        let name = scope.unique(identifier(&base.to_lowercase(), "secret"));
        self.variables.insert(name.clone(), base.to_string());
        self.by_source.insert(source.clone(), name.clone());
        self.order.push((name.clone(), source));
        name
    }
}

/// The top-level keys of a file that reach every job of the pipeline it is part of.
const GLOBAL_KEYS: [&str; 7] = [
    "default",
    "variables",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// Whether a job may be built on template `t`: one that `extends` (`extends`) is built
/// on what it extends (`extended`, or a variant of one; a job others extend, on its
/// own template), or on nothing, never on a template it only resembles (a relation
/// its YAML does not have).
fn may_build_on(templates: &[TemplateOut], extended: &[usize], extends: bool, t: usize) -> bool {
    !extends
        || extended.contains(&t)
        || (templates[t].variant_of).is_some_and(|v| extended.contains(&v))
}

/// A job, the templates its YAML builds it on when all are templates here, those of
/// them that are (see [`extended_templates`]), and whether it `extends` anything.
type JobAndBases = (JobOut, Option<Vec<usize>>, Vec<usize>, bool);

/// The templates job `j`'s YAML builds it on: its own, when other jobs extend it
/// (which is built on what it extends), else those it `extends` — all of them, when
/// each is a template here (not one of an include not read), and those that are.
fn extended_templates(
    j: &gitlab::Job,
    template_index: &HashMap<String, usize>,
) -> (Option<Vec<usize>>, Vec<usize>) {
    if let Some(&own) = template_index.get(&j.name) {
        return (Some(vec![own]), vec![own]);
    }
    let parents = (j.extends.iter())
        .map(|p| template_index.get(p).copied())
        .collect();
    let extended = (j.extends.iter())
        .filter_map(|p| template_index.get(p).copied())
        .collect();
    (parents, extended)
}

struct Emitter<'a> {
    config: &'a Config,
    /// Writing for a check: values and jobs framed with where they are in the YAML
    /// (`value::OPEN`), and no `let`s (each job keeps its image where it wrote it).
    origins: bool,
    file_names: Vec<String>,
    globals: Scope,
    secrets: Secrets,
    /// Variable names the file defines anywhere (those are not secrets it expects).
    defined: HashSet<String>,
    /// Credential-like variables the settings evidently provide (see [`settings_evidence`]):
    /// an empty value in the YAML is then a placeholder the settings' value overrides.
    from_settings: HashSet<String>,
    /// Where each line of each source starts (for quoting YAML in notes).
    line_starts: Vec<Vec<usize>>,
    /// The YAML lines quoted so far, as (file, first line, last line).
    quoted: std::sync::Mutex<Vec<(usize, usize, usize)>>,
    /// The notes written so far (file, line, message): a key of `default:` that every
    /// job takes is noted once, not again above the job that holds it.
    noted: std::sync::Mutex<HashSet<(usize, usize, String)>>,
    /// Which YAML nodes hold comments (not known for a check).
    inside: Option<&'a crate::comments::Inside>,
    /// [`Emitter::completion`] of each job of `config.jobs`, by index: found once, as the
    /// plan, the names and the warnings all ask it.
    completions: Vec<Option<Result<PVal, String>>>,
}

/// What the program will say, decided before a line is written.
struct Plan {
    top_vars: Vec<(String, String)>,
    /// Where each of `top_vars`' values is written (an import for a check only).
    top_vars_at: Vec<Option<Origin>>,
    default_fields: BTreeMap<String, PVal>,
    /// Why `default`'s `runner_default` has its findings allowed: every job it reaches
    /// is taken for a shell runner's ([`runner_default_for_shell_runners`]).
    default_allowance: Option<&'static str>,
    pipeline_notes: Vec<Note>,
    /// The pipeline's `gitlab = { … }`: `workflow: name` and `auto_cancel`, as written.
    pipeline_gitlab: Vec<(String, PVal)>,
    /// Jobs without a script that complete a job of an include not read, for the
    /// pipeline's `gitlab = { … }`: (GitLab name, file, line, keys as written).
    completions: Vec<(String, usize, usize, PVal)>,
    templates: Vec<TemplateOut>,
    jobs: Vec<JobOut>,
    /// (file, line, end line, why) of each job not imported.
    left_out: Vec<(usize, usize, usize, String)>,
    /// Images used twice or more, as (let name, image).
    lets: Vec<(String, String)>,
    /// Caches and services used twice or more, as (what it replaces, let name, value).
    named_lets: Vec<(PVal, String, PVal)>,
    /// Each job's `needs` as Plumb names.
    resolved_needs: Vec<Vec<PVal>>,
    stage_order: Vec<String>,
    on: Option<Cond>,
    /// A file of hidden jobs only: a library of templates that other files include.
    library: bool,
}

/// The Plumb fields that carry a key of GitLab's `default:`
/// ([`plumb_semantics::fields::GITLAB_DEFAULT_KEYS`]; `image:` is also `entrypoint`).
fn default_key_fields() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    let keys = plumb_semantics::fields::GITLAB_DEFAULT_KEYS.iter();
    keys.map(|(key, field)| match *key {
        "image" => (*key, &["image", "entrypoint"][..]),
        _ => (*key, std::slice::from_ref(field)),
    })
}

/// Whether the fields write `when = true`: only to hide a template's condition.
fn says_when_true(fields: &BTreeMap<String, PVal>) -> bool {
    fields.get("when").map(PVal::bare) == Some(&PVal::Cond(Cond::True))
}

/// Whether a job keeps hidden jobs of files not read (`gitlab = { extends = … }`).
fn keeps_extends(fields: &BTreeMap<String, PVal>) -> bool {
    match fields.get("gitlab").map(PVal::bare) {
        Some(PVal::Record(entries)) => entries.iter().any(|(k, _)| k == "extends"),
        _ => false,
    }
}

/// The names of hidden jobs of files not read, and whether every job whose `extends`
/// chain names one keeps it in `gitlab = { extends = … }`.
#[derive(Default)]
struct KeptExtends {
    by_name: HashMap<String, bool>,
    /// The jobs that keep some.
    keepers: HashSet<String>,
    /// Those GitLab merged after jobs of this file (named), whose keys the compiled
    /// jobs write themselves: those now win over the kept one where both set a key.
    late: HashMap<String, Vec<String>>,
}

impl KeptExtends {
    /// The warnings "`.x` is not defined here: not applied" about a name every job
    /// keeps, said as kept.
    fn reword(&self, warnings: &mut [Warning]) {
        for w in warnings.iter_mut() {
            let Some((kind, name, job)) = w.missing.as_mut() else {
                continue;
            };
            // said of a job that keeps it, or of a hidden job whose every job keeps it
            let keeper = self.keepers.contains(job.as_str());
            if *kind == crate::Missing::Extended
                && (keeper || self.by_name.get(name) == Some(&true))
            {
                *kind = crate::Missing::ExtendedKept;
                let whose = match keeper {
                    true => "its",
                    false => "the jobs whose `extends` reach it: their",
                };
                w.message = format!("`{job}` extends `{name}`, which is not defined here: kept in {whose} `gitlab = {{ extends = … }}` (GitLab merges it from that file, where no check sees what it gives)");
                let detail = self.merged_late(name);
                w.add_missing_detail(detail);
            }
        }
    }
}

impl KeptExtends {
    /// What a warning about `name` adds when GitLab merged it after jobs of this file.
    fn merged_late(&self, name: &str) -> String {
        let Some(befores) = self.late.get(name) else {
            return String::new();
        };
        let named: Vec<String> = befores.iter().map(|b| format!("`{b}`")).collect();
        format!(
            "; GitLab merged it after {}, whose keys the jobs now write themselves and which win where both set one",
            crate::first_and_count(&named, 3)
        )
    }
}

/// Each source's name as the program's `# FILE:LINE` comments write it.
/// A file's name alone, unless another file read has that name (`x/jobs.yml` and
/// `y/jobs.yml`): then its path as read, so that `# FILE:LINE` names one file.
pub fn file_names(config: &Config) -> Vec<String> {
    let base = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (p, _) in &config.sources {
        *seen.entry(base(p)).or_default() += 1;
    }
    config
        .sources
        .iter()
        .map(|(p, _)| {
            let name = base(p);
            if seen.get(&name).copied().unwrap_or(0) > 1 {
                // from the imported file's folder when it is under it
                // `ci.yml` has the folder `""`, which is `.`
                let main_folder = config
                    .sources
                    .first()
                    .and_then(|(m, _)| m.parent())
                    .map(|f| {
                        if f.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            f
                        }
                    });
                let absolute = |p: &Path| std::path::absolute(p).ok();
                let shown = main_folder
                    .and_then(absolute)
                    .zip(absolute(p))
                    .and_then(|(folder, p)| Some(p.strip_prefix(folder).ok()?.to_path_buf()))
                    .unwrap_or_else(|| p.to_path_buf());
                one_line(&shown.display().to_string())
            } else {
                one_line(&name)
            }
        })
        .collect()
}

/// The Plumb program for `config`; with `origins`, framed for a check (see
/// [`crate::origins`]). `inside` says which YAML nodes hold comments (their block is
/// kept where the comments go); without it every node is taken to hold some.
pub(crate) fn program(
    config: &Config,
    path: &Path,
    origins: bool,
    inside: Option<&crate::comments::Inside>,
    warnings: &mut Vec<Warning>,
) -> Program {
    let file_names = file_names(config);
    let (top_vars, top_vars_at) = top_variables(config, origins);
    // `API_TOKEN: $API_TOKEN` defines nothing: GitLab gives the settings' value; nor does
    // `API_TOKEN: ""`, a credential's placeholder (the settings' value overrides it)
    let from_settings = settings_evidence(config, &top_vars);
    let placeholder = |k: &str, v: &str| is_placeholder(k, v) && from_settings.contains(k);
    let defining = |(k, v): (String, String)| {
        (!is_self_reference(&v, &k) && !placeholder(&k, &v)).then_some(k)
    };
    // a job's own variables define a name for that job only (`test` overriding the
    // password for itself leaves `deploy` reading the settings' one): see `Emitter::env`
    let mut defined: HashSet<String> = top_vars.iter().cloned().filter_map(defining).collect();
    // an id token or vault secret a job asks for (`id_tokens: S3_JWT:`) is the file's
    // own, also where a top-level variable reads it (`'${S3_JWT}'`), not a setting
    defined.extend(config.jobs.iter().flat_map(tokens_asked_for));
    let line_starts = config
        .sources
        .iter()
        .map(|(_, text)| {
            // as the YAML reader counts lines (a lone `\r` ends one too)
            crate::comments::line_starts(text)
                .into_iter()
                .filter(|&i| i < text.len())
                .collect()
        })
        .collect();
    let mut em = Emitter {
        config,
        origins,
        inside,
        line_starts,
        quoted: Default::default(),
        noted: Default::default(),
        file_names,
        globals: Scope::default(),
        secrets: Secrets::default(),
        defined,
        from_settings,
        completions: Vec::new(),
    };
    em.completions = config.jobs.iter().map(|j| em.completion(j)).collect();
    // a let named like a built-in (`merge_request`, `branch`, `runner_default`, …) would
    // hide it from the conditions the import writes
    for name in plumb_semantics::eval::CONDITION_NAMES {
        em.globals.unique(name.to_string());
    }
    let mut plan = em.plan(top_vars, warnings);
    plan.top_vars_at = top_vars_at;
    em.write(&plan, path, warnings)
}

/// The top-level `variables:` with where each value is written (for a check), and the
/// `variables:` of `workflow: rules`, which GitLab gives every job of a pipeline the
/// rule lets run (over a top-level one of the same name): when every such rule sets
/// them alike; for a check, also when they differ (see [`crate::cond::any_rule_variables`]:
/// the import warns that they are not carried).
fn top_variables(config: &Config, origins: bool) -> (Vec<(String, String)>, Vec<Option<Origin>>) {
    let root = config.root.get("variables");
    let nodes = root.map(|v| convert::variable_nodes(v).collect::<Vec<_>>());
    let mut vars: Vec<(String, String)> = root.map(convert::variables).unwrap_or_default();
    let at = |n: &crate::yaml::Node| origins.then(|| Origin::of(n));
    let mut vars_at: Vec<Option<Origin>> = nodes.unwrap_or_default().into_iter().map(at).collect();
    let rules = config.root.get("workflow").and_then(|w| w.get("rules"));
    let from_rules = match rules.map(|r| (crate::cond::adding_rules_variables(r), r)) {
        Some((Some(alike), _)) => alike,
        Some((None, r)) if origins => crate::cond::any_rule_variables(r),
        _ => Vec::new(),
    };
    for (name, value, node) in from_rules {
        match vars.iter().position(|(n, _)| *n == name) {
            Some(i) => {
                vars[i].1 = value;
                vars_at[i] = at(node);
            }
            None => {
                vars.push((name, value));
                vars_at.push(at(node));
            }
        }
    }
    (vars, vars_at)
}

impl<'a> Emitter<'a> {
    fn plan(&mut self, top_vars: Vec<(String, String)>, warnings: &mut Vec<Warning>) -> Plan {
        let config = self.config;
        for (name, value) in &top_vars {
            for var in self.credentials_read_by(name, value) {
                self.settings_secret(&var);
            }
        }
        let holders = anchor_holders(config);
        let cx = conversion_context(config, &holders, &top_vars, self.origins);
        // `default:`
        let default = convert::job(&config.default, &[], &cx);
        let mut default_fields: BTreeMap<String, PVal> = default
            .fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "run" | "when"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut pipeline_notes = default.notes.clone();
        pipeline_notes.extend(config.default_refused.iter().map(refused_default_key));
        if let Some(variables) = config.root.get("variables") {
            pipeline_notes.extend(convert::variable_form_notes(variables));
        }
        let (mut templates, template_index) = self.templates(&cx);
        let (mut jobs, left_out, needs_runner_default) = self.jobs(
            &cx,
            &mut templates,
            &template_index,
            &mut default_fields,
            warnings,
        );
        self.keep_hidden_jobs_no_job_uses(&mut templates, &template_index, warnings);
        // the compiled file is one of several GitLab merges, whose jobs its `default:`
        // reaches too: it includes some, or its jobs keep hidden jobs of others
        // a job that only completes one of an include not read is that file's job
        let completed: HashSet<&str> = (config.jobs.iter().enumerate())
            .filter(|(i, _)| self.completion_of(*i).is_some())
            .map(|(_, j)| j.name.as_str())
            .collect();
        let of_other_files = need_of_other_files(config, self.origins, completed);
        let with_other_files = !config.includes.is_empty()
            || jobs.iter().any(|j| keeps_extends(&j.fields))
            || needs_jobs_of_other_files(config, &of_other_files);
        if with_other_files && !self.origins {
            let kept = |k: &String| default_fields.contains_key(k);
            let moved: Vec<&String> = (default.fields.keys())
                .filter(|k| !matches!(k.as_str(), "run" | "when") && !kept(k))
                .collect();
            pipeline_notes.extend(default_not_for_included_jobs(config, &moved));
        }
        if needs_runner_default {
            // GitLab runs them in the runner's configured image: say exactly that (it
            // compiles back to no `image:`), never a guess at which image it is
            default_fields.insert("image".into(), PVal::Name("runner_default".into()));
        }
        let default_allowance = match needs_runner_default || self.origins {
            true => None,
            false => runner_default_for_shell_runners(&mut default_fields, &mut jobs),
        };
        // an include not read may hold jobs that `default:` reaches too
        if !self.origins && !with_other_files {
            fold_default_into_a_lone_job(&mut default_fields, &mut jobs);
        }
        // a project's own `.gitlab-ci.yml` that includes every job it runs (a central
        // template project's, a component's) is its pipeline all the same: its
        // includes are checked (PL6004) and compiled
        let root_of_includes = (config.sources.first())
            .is_some_and(|(p, _)| p.file_name().is_some_and(|n| n == ".gitlab-ci.yml"))
            && !config.includes.is_empty()
            && templates.is_empty();
        let library = jobs.is_empty() && left_out.is_empty() && !root_of_includes;
        if library {
            for t in templates.iter_mut().filter(|t| t.variant_of.is_none()) {
                t.used = true;
            }
            self.note_library_stages(&mut templates);
        }
        build_templates_on_their_variants(&mut templates);
        mark_bases_used(&mut templates);
        let on = pipeline_on(
            config,
            with_other_files,
            &jobs,
            &templates,
            &mut pipeline_notes,
        );
        let pipeline_gitlab = (config.root.get("workflow")).map_or_else(Vec::new, |w| {
            workflow_passed_through(w, &mut pipeline_notes)
        });
        if on.is_none() && !with_other_files {
            note_merge_request_pipelines_lost(config, &mut jobs, &templates);
        }
        let mut completions: Vec<(String, usize, usize, PVal)> = (config.jobs.iter().enumerate())
            .filter_map(|(i, j)| {
                let keys = self.completion_of(i)?.clone();
                Some((j.name.clone(), j.full.file, j.line, keys))
            })
            .collect();
        let shared = (&mut default_fields, &mut templates, &mut jobs);
        self.say_once_what_repeats(on.as_ref(), shared);
        let (lets, named_lets) = match self.origins {
            true => (Vec::new(), Vec::new()),
            false => self.lets(&default_fields, &templates, &jobs),
        };
        self.name_templates(&mut templates);
        if !self.origins {
            warn_of_renamed_jobs(&jobs, warnings);
        }
        // one map from GitLab's job names to Plumb's, for `needs` and `dependencies`
        let names = plumb_names(&jobs);
        for (_, _, _, keys) in &mut completions {
            renamed_in_needs(keys, &names);
        }
        let resolved_needs = resolve_needs(&mut jobs, &names, &of_other_files, warnings);
        resolve_dependencies(&mut jobs, &names, &of_other_files, warnings);
        resolve_on_stop(&mut jobs, &names, warnings);
        resolve_template_names(&mut templates, &names, library, &of_other_files, warnings);
        let stage_order = stage_order(config, &jobs, warnings);
        let used: Vec<String> = (stage_order.iter())
            .filter(|s| jobs.iter().any(|j| j.stage == **s))
            .cloned()
            .collect();
        warn_of_renamed_stages(config, &used, warnings);
        Plan {
            top_vars,
            top_vars_at: Vec::new(),
            default_fields,
            default_allowance,
            pipeline_notes,
            pipeline_gitlab,
            completions,
            templates,
            jobs,
            left_out,
            lets,
            named_lets,
            resolved_needs,
            stage_order,
            on,
            library,
        }
    }

    /// What `on` says leaves each condition; then, for an import, what every job and
    /// template repeats is said once (after the conditions lost what `on` says: a
    /// `when` left in every job and template is not a field they share).
    fn say_once_what_repeats(
        &self,
        on: Option<&Cond>,
        (default, templates, jobs): (
            &mut BTreeMap<String, PVal>,
            &mut Vec<TemplateOut>,
            &mut Vec<JobOut>,
        ),
    ) {
        if let Some(on) = on {
            drop_what_on_says(on, templates, jobs);
        }
        if !self.origins {
            drop_conditions_every_job_replaces(templates, jobs);
            self.share_what_repeats(templates, jobs);
            say_once_what_no_merge_request_runs(on, default, templates, jobs);
        }
    }

    /// Fields and variables several jobs and templates write alike become templates they
    /// are built on (variables an anchor holder gave, that holder's template).
    fn share_what_repeats(&self, templates: &mut Vec<TemplateOut>, jobs: &mut [JobOut]) {
        share::share_repeated_fields(templates, jobs);
        let holders: Vec<share::Holder> = (self.config.hidden.iter())
            .filter(|h| is_anchor_holder(&h.full))
            .map(|h| share::Holder {
                name: h.name.clone(),
                key: Origin {
                    file: h.full.file,
                    range: h.key_span,
                },
                line: h.line,
                keys: (h.full.entries().iter()).map(|e| e.key.clone()).collect(),
            })
            .collect();
        share::share_repeated_variables(templates, jobs, &holders);
    }

    /// The lets of an import: images used more than once, named before the templates
    /// (`let node` reads better than `let node-2`, and a template can be
    /// `node-template`), then caches and services used more than once.
    #[allow(clippy::type_complexity)]
    fn lets(
        &mut self,
        default_fields: &BTreeMap<String, PVal>,
        templates: &[TemplateOut],
        jobs: &[JobOut],
    ) -> (Vec<(String, String)>, Vec<(PVal, String, PVal)>) {
        let used: Vec<&TemplateOut> = templates.iter().filter(|t| t.used).collect();
        let images = image_lets(default_fields, &used, jobs, &mut self.globals);
        let values = value_lets(default_fields, templates, jobs, &mut self.globals);
        (images, values)
    }

    /// The jobs templates are made of: hidden jobs, and (not for a check, where
    /// findings stay at each job's YAML) the visible jobs others extend.
    fn template_sources(&self) -> impl Iterator<Item = &'a gitlab::Job> {
        let config: &'a Config = self.config;
        let visible = (!self.origins).then_some(&config.visible_bases);
        (config.hidden.iter()).chain(visible.into_iter().flatten())
    }

    /// Hidden jobs (and the visible jobs others extend: [`Emitter::template_sources`]),
    /// converted once, that can be templates, each built on the templates it `extends`
    /// when that composes to what it is. Not a template: a visible job whose `needs`
    /// are optional or take no artifacts (a template does not carry that), a job whose
    /// `trigger:` has no Plumb form, that never runs, or that names the job stopping its
    /// environment (and, for a check, one that names jobs: findings about them stay at
    /// each job). A trigger template is only written for a hidden job no job extends (a
    /// library's): a trigger job writes its fields itself.
    fn templates(&mut self, cx: &Ctx) -> (Vec<TemplateOut>, HashMap<String, usize>) {
        let mut templates: Vec<TemplateOut> = Vec::new();
        let mut template_index: HashMap<String, usize> = HashMap::new();
        let extended = self.extended_by_jobs();
        for h in self.template_sources() {
            // used by alias where it is used: nothing `extends` it (GitLab would refuse
            // its keys in a job)
            if is_anchor_holder(&h.full) {
                continue;
            }
            let mut f = convert::job(&h.full, &[], cx);
            let flagged_needs = convert::NeedFlags::any_said(&f.needs_flags);
            // a visible job keeps its `needs: optional`, written out (a template would
            // not carry it: a hidden job's jobs lose it either way)
            if flagged_needs && !h.name.starts_with('.') {
                continue;
            }
            if flagged_needs {
                f.notes.push(convert::Note {
                    file: h.full.file,
                    line: h.line,
                    end_line: h.line,
                    message: "a template's `needs: optional`/`artifacts` are not carried: its jobs need those jobs in every pipeline".into(),
                });
            }
            // for a check, findings about a used one's jobs stay at each job; one no
            // job uses (a library's) is checked as the template it is
            let names_jobs = f.needs.is_some() || f.dependencies.is_some();
            // (a `!reference` takes one key of it: the rest is checked here)
            let findings_at_jobs = names_jobs && self.origins && extended.contains(&h.name);
            let trigger_lost = f.trigger && !f.fields.contains_key("trigger");
            if f.on_stop.is_some() || trigger_lost || f.never || findings_at_jobs {
                continue;
            }
            let env = self.env(&f);
            template_index.insert(h.name.clone(), templates.len());
            templates.push(TemplateOut {
                name: String::new(),
                hidden: h.name.clone(),
                file: h.full.file,
                line: h.line,
                key: Origin {
                    file: h.full.file,
                    range: h.key_span,
                },
                fields: f.fields,
                env,
                needs: f.needs,
                dependencies: f.dependencies,
                bases: Vec::new(),
                own: None,
                resolved_needs: None,
                resolved_dependencies: None,
                notes: f.notes,
                used: false,
                variant_of: None,
                shared_of: None,
            });
        }
        if !self.origins {
            self.build_templates_on_their_bases(&mut templates, &template_index);
            add_variants(&mut templates);
        }
        (templates, template_index)
    }

    /// A template whose `extends` are all templates is written `from` them, with only
    /// what it adds, when Plumb's composition gives back what it is; one that extends
    /// nothing, from the earlier template whose fields it repeats (see `best_template`).
    fn build_templates_on_their_bases(
        &self,
        templates: &mut [TemplateOut],
        template_index: &HashMap<String, usize>,
    ) {
        let no_default = BTreeMap::new();
        let index = ValueIndex::new(templates);
        // each template's `extends` parents that are templates, found once
        let mut extends_of: Vec<Vec<usize>> = vec![Vec::new(); templates.len()];
        // and the YAML lines each is written on
        let mut spans: Vec<Option<(usize, usize, usize)>> = vec![None; templates.len()];
        for h in self.template_sources() {
            if let Some(&t) = template_index.get(&h.name) {
                let parents = h.extends.iter().filter_map(|p| template_index.get(p));
                extends_of[t] = parents.copied().collect();
                spans[t] = Some((h.full.file, h.line, h.full.end_line.max(h.line)));
            }
        }
        for h in self.template_sources() {
            let Some(&t) = template_index.get(&h.name) else {
                continue;
            };
            let chosen = if h.extends.is_empty() {
                // a YAML anchor merged into it (`<<: *base`): a template written before
                // it (anchors are) that holds a merged value, when that saves lines;
                // never one it only resembles (a relation the YAML does not have), nor
                // one that is built on this one (through `extends`, which may point
                // forward, or an anchor already chosen)
                let merged = merged_value_lines(h);
                let holds_a_merged_value = |b: usize| {
                    spans[b].is_some_and(|(file, first, last)| {
                        (merged.iter()).any(|&(f, l)| f == file && (first..=last).contains(&l))
                    })
                };
                let earlier = |b: usize| {
                    b < t && holds_a_merged_value(b) && !leads_to(templates, &extends_of, b, t)
                };
                best_template(
                    &templates[t].flat(),
                    templates,
                    &index,
                    &no_default,
                    &earlier,
                )
                .map(|(bases, own, _)| (bases, own))
            } else {
                let bases: Option<Vec<usize>> = (h.extends.iter())
                    // a name no file read defines gives a template nothing (warned "not
                    // applied"): the template is still built on the others
                    .filter(|p| self.config.root.get(p).is_some())
                    .map(|p| template_index.get(p).copied())
                    .collect();
                bases.and_then(|bases| {
                    let flats: Vec<Flat> = bases.iter().map(|&b| templates[b].flat()).collect();
                    let own = own_part(&templates[t].flat(), &flats, &no_default, false)?;
                    Some((bases, own))
                })
            };
            if let Some((bases, own)) = chosen {
                build_on(templates, t, bases, own);
            }
        }
    }

    /// The names jobs may take: those of completed jobs taken, and every job whose name
    /// needs no change keeps it (`test:unit` becomes `test-unit-2` beside a job already
    /// named `test-unit`, not the other way round).
    fn job_scope(&self) -> Scope {
        let mut job_scope = self.completed_job_names();
        for j in &self.config.jobs {
            if identifier(&j.name, "job") == j.name {
                job_scope.reserve(&j.name);
            }
        }
        job_scope
    }

    /// The jobs, each from the templates its YAML builds it on, the jobs left
    /// out with why, and whether some job names no image at all (but for those the
    /// import gives `runner_default` themselves: see [`JobOut::shell_runner`]).
    #[allow(clippy::type_complexity)]
    fn jobs(
        &mut self,
        cx: &Ctx,
        templates: &mut [TemplateOut],
        template_index: &HashMap<String, usize>,
        default_fields: &mut BTreeMap<String, PVal>,
        warnings: &mut Vec<Warning>,
    ) -> (Vec<JobOut>, Vec<(usize, usize, usize, String)>, bool) {
        let mut jobs: Vec<JobAndBases> = Vec::new();
        let mut left_out = Vec::new();
        let mut job_scope = self.job_scope();
        let mut needs_runner_default = false;
        let mut kept_extends = KeptExtends::default();
        let root = &self.config.root;
        let mut converted: Vec<(Fields, bool)> = (convert_all(&self.config.jobs, cx).into_iter())
            .zip(&self.config.jobs)
            .map(|(f, j)| {
                // its script may be in the hidden jobs of other files it keeps
                let elsewhere = !self.origins && keepable_unread_bases(root, j, &f).is_some();
                (f, elsewhere)
            })
            .collect();
        keep_defaults_every_job_has(default_fields, &mut converted);
        let default_fields = &*default_fields;
        let kept_turned_off = self.turned_off_job_to_keep(&converted);
        for (i, (j, (mut f, script_elsewhere))) in
            self.config.jobs.iter().zip(converted).enumerate()
        {
            if self.completion_of(i).is_some() {
                continue; // the pipeline's `gitlab = { … }` holds it
            }
            let completes = self.origins && self.completes_an_unread_job(j, &f);
            if completes {
                // `docker-build: { image: …, after_script: … }` beside an include: GitLab
                // merges these keys into the included job, whose script is there; its
                // own keys are checked, under a `run` that stands for that script (`:`,
                // which does nothing: an empty `run` is a job with no script, PL1005)
                f.fields
                    .insert("run".into(), PVal::List(vec![PVal::Str(":".into())]));
            }
            if kept_turned_off == Some(i) {
                f.never = false;
                f.fields.insert("when".into(), PVal::Cond(Cond::False));
            }
            if let Some(why) = not_imported(&f, script_elsewhere) {
                let why = match &self.completions[i] {
                    Some(Err(why)) => why.clone(),
                    _ => why.to_string(),
                };
                warnings.push(Warning::at(
                    j.full.file,
                    j.line,
                    format!("job `{}` is not imported: {why}", j.name),
                ));
                left_out.push((j.full.file, j.line, j.full.end_line, why.to_string()));
                continue;
            }
            self.prepare_job(j, &mut f, &mut kept_extends);
            // the included job it completes may name the image
            let from_includes =
                completes || gitlab::extends_undefined(&self.config.root, &j.extends);
            let (on_shell_runner, shell_runner) = shell_runner_hints(&f.fields);
            let opted_out = takes_no_default_image(&f);
            // (a shell runner's job is given `runner_default` with its findings allowed)
            if opted_out && !from_includes && !keeps_extends(&f.fields) && !on_shell_runner {
                (f.fields).insert("image".into(), PVal::Name("runner_default".into()));
            }
            let no_own_image = !f.trigger && !f.fields.contains_key("image");
            let default_image = default_fields.contains_key("image");
            let no_image = no_own_image && (opted_out || !default_image);
            let image_elsewhere = no_image && (from_includes || on_shell_runner);
            let shell_runner = shell_runner.filter(|_| no_image && !self.origins);
            // (a job keeping hidden jobs of other files may have its image there)
            needs_runner_default |= no_own_image
                && !default_image
                && shell_runner.is_none()
                && !keeps_extends(&f.fields);
            let env = self.env(&f);
            let stage_unknown =
                f.stage.is_none() && gitlab::extends_undefined(&self.config.root, &j.extends);
            let out = JobOut {
                name: job_scope.unique_for(
                    identifier(&j.name, "job"),
                    identifier(&j.name, "job") == j.name,
                ),
                gitlab_name: j.name.clone(),
                file: j.full.file,
                line: j.line,
                key: Origin {
                    file: j.full.file,
                    range: j.key_span,
                },
                image_elsewhere,
                shell_runner,
                stage: f.stage.unwrap_or_else(|| "test".into()),
                stage_unknown,
                bases: Vec::new(),
                has_needs: f.needs.is_some(),
                needs: f.needs.unwrap_or_default(),
                needs_at: f.needs_at,
                needs_flags: f.needs_flags,
                dependencies: f.dependencies,
                on_stop: f.on_stop,
                fields: f.fields,
                env,
                notes: f.notes,
            };
            let (parents, extended) = extended_templates(j, template_index);
            jobs.push((
                out,
                parents.filter(|p| !p.is_empty()),
                extended,
                !j.extends.is_empty(),
            ));
        }
        let index = ValueIndex::new(templates);
        let pays = self.variants_that_pay(&jobs, templates, &index, default_fields);
        let jobs = jobs
            .into_iter()
            .map(|(mut out, parents, extended, extends)| {
                let allowed = |t: usize| {
                    (templates[t].variant_of.is_none() || pays.contains(&t))
                        && may_build_on(templates, &extended, extends, t)
                };
                let chosen =
                    self.chosen_bases(&out, parents, templates, &index, default_fields, &allowed);
                if let Some((bases, own)) = chosen {
                    out.bases = bases.clone();
                    attach_templates(&mut out, templates, &bases, own);
                }
                // a job keeping hidden jobs of files not read keeps what it writes itself
                // (`default:` gave it the rest, and is left to give it)
                if keeps_extends(&out.fields) {
                    let default = default_fields;
                    self.leave_default_keys_to_default(&out.gitlab_name, &mut out.fields, default);
                } else if out.bases.is_empty() && !out_is_trigger(&out) {
                    drop_what_default_gives(&mut out.fields, default_fields, self.origins);
                }
                let bases_say_when = |out: &JobOut| {
                    (out.bases.iter()).any(|&b| templates[b].fields.contains_key("when"))
                };
                if says_when_true(&out.fields) && !bases_say_when(&out) {
                    out.fields.remove("when");
                }
                out
            })
            .collect();
        kept_extends.reword(warnings);
        (jobs, left_out, needs_runner_default)
    }

    /// What a converted job needs before it is placed: a note when its script reads
    /// a name Plumb changes, the hidden jobs of files not read it keeps, `when` for a
    /// job whose unread bases may have rules, and a trigger job's fields only.
    fn prepare_job(&self, j: &gitlab::Job, f: &mut Fields, kept: &mut KeptExtends) {
        let plumb_name = identifier(&j.name, "job");
        if plumb_name != j.name && reads_job_name(&j.full) {
            f.notes.push(Note {
                file: j.full.file,
                line: j.line,
                end_line: j.line,
                message: format!(
                    "named `{plumb_name}` in Plumb (a name is an identifier), while its script reads `$CI_JOB_NAME`, which will hold that name"
                ),
            });
        }
        // GitLab merges them from an include not read or, in a file with no `include:`,
        // from the configuration that includes this file
        if !self.origins {
            self.keep_unread_bases(j, f, kept);
        }
        if f.default_only && gitlab::extends_undefined(&self.config.root, &j.extends) {
            // a base in a file not read may have rules: assume the job runs in every
            // pipeline rather than guess GitLab's default; `when = true` until its
            // bases are known, so that a template's default does not show through
            let had_when = f.fields.contains_key("when");
            drop_from_when(&mut f.fields, &Cond::not(Cond::atom(Atom::MergeRequest)));
            if had_when && !f.fields.contains_key("when") {
                f.fields.insert("when".into(), PVal::Cond(Cond::True));
            }
        }
        if f.trigger {
            // a trigger job runs no script: no image, no runner settings (nor the
            // `default:` ones GitLab keeps from it, such as `hooks:`)
            f.fields
                .retain(|k, _| convert::TRIGGER_JOB_FIELDS.contains(&k.as_str()));
            if let Some(PVal::Record(keys)) = f.fields.get_mut("gitlab").map(PVal::bare_mut) {
                keys.retain(|(k, _)| BRIDGE_GITLAB_KEYS.contains(&k.as_str()));
                if keys.is_empty() {
                    f.fields.remove("gitlab");
                }
            }
        }
    }

    /// For an import: the hidden jobs of files not read that job `j` extends, in
    /// `gitlab = { extends = … }` ([`gitlab::unread_bases`]): GitLab then merges them
    /// into the compiled job, before its own keys. One GitLab merged after a job of this
    /// file now loses to that job's keys where both set one: a note says so.
    fn keep_unread_bases(&self, j: &gitlab::Job, f: &mut Fields, kept: &mut KeptExtends) {
        let chain = gitlab::unread_in_chain(&self.config.root, &j.extends);
        if chain.is_empty() {
            return;
        }
        let bases = keepable_unread_bases(&self.config.root, j, f);
        for name in &chain {
            let entry = kept.by_name.entry(name.clone()).or_insert(true);
            *entry &= bases.is_some();
        }
        let Some(bases) = bases else {
            return;
        };
        if f.stage.is_none() {
            // Plumb puts every job in a stage, which the compiled job writes
            let names: Vec<String> = bases.names.iter().map(|n| format!("`{n}`")).collect();
            f.notes.push(convert::Note {
                file: j.full.file,
                line: j.line,
                end_line: j.line,
                message: format!("its stage may be in {}, not read: it is put in `test` (GitLab's default), which the compiled job writes over that one; move it to its stage", crate::first_and_count(&names, 2)),
            });
        }
        // `before_script: []` (dropped as empty elsewhere) turns off the kept ones'
        let emptied = |n: &crate::yaml::Node| n.flattened().is_empty();
        if j.full.get("before_script").is_some_and(emptied) {
            f.fields
                .entry("before_run".into())
                .or_insert_with(|| PVal::List(Vec::new()));
        }
        kept.keepers.insert(j.name.clone());
        for (late, before) in bases.late {
            let befores = kept.late.entry(late).or_default();
            if !befores.contains(&before) {
                befores.push(before);
            }
        }
        let names = bases.names.into_iter().map(PVal::Str).collect();
        convert::gitlab_key(f, "extends", PVal::List(names));
    }

    /// A job that keeps hidden jobs of files not read: the keys it has from `default:`
    /// only (not written by it or a job of this file it extends) are taken out of it,
    /// so that the pipeline's `default`, which the compiled file writes as `default:`,
    /// gives them after those hidden jobs, as GitLab did.
    /// Only what the pipeline's `default` still gives as the job has it (a key not every
    /// job has is written in the jobs that have it instead: see
    /// `keep_defaults_every_job_has`).
    fn leave_default_keys_to_default(
        &self,
        gitlab_name: &str,
        own: &mut BTreeMap<String, PVal>,
        default: &BTreeMap<String, PVal>,
    ) {
        let Some(node) = self.config.root.get(gitlab_name) else {
            return;
        };
        for (key, fields) in default_key_fields() {
            if !gitlab::chain_writes(&self.config.root, node, key) {
                // (what the job writes otherwise, `after_run = []`, stays its own)
                for field in fields {
                    if default
                        .get(*field)
                        .is_some_and(|d| own.get(*field) == Some(d))
                    {
                        own.remove(*field);
                    }
                }
            }
        }
    }

    /// The variants of templates (see `add_variants`) worth writing: those that save the
    /// jobs taking them more lines than the variant itself takes.
    fn variants_that_pay(
        &self,
        jobs: &[JobAndBases],
        templates: &[TemplateOut],
        index: &ValueIndex,
        default: &BTreeMap<String, PVal>,
    ) -> HashSet<usize> {
        let mut saved: HashMap<usize, usize> = HashMap::new();
        let originals = |t: usize| templates[t].variant_of.is_none();
        for (out, parents, extended, extends) in jobs {
            let any = |t: usize| may_build_on(templates, extended, *extends, t);
            let Some((bases, own)) =
                self.chosen_bases(out, parents.clone(), templates, index, default, &any)
            else {
                continue;
            };
            if originals(bases[0]) {
                continue;
            }
            let job = out.flat();
            let without = best_template(&job, templates, index, default, &originals)
                .map_or_else(|| lines_alone(&job, default), |(_, _, cost)| cost);
            let with = written_lines(&own.fields, &own.env);
            *saved.entry(bases[0]).or_default() += without.saturating_sub(with);
        }
        let size = |v: usize| written_lines(&templates[v].fields, &templates[v].env) + 2;
        (saved.into_iter())
            .filter(|&(v, lines)| lines > size(v))
            .map(|(v, _)| v)
            .collect()
    }

    /// The templates a job is built on: those it `extends` (`parents`) when Plumb's
    /// composition of them gives what GitLab runs, else (not for a check, where
    /// findings stay where the job's YAML has them) the `allowed` template whose fields
    /// it repeats. A trigger job's fields are its own (a template would bring a script).
    fn chosen_bases(
        &self,
        out: &JobOut,
        parents: Option<Vec<usize>>,
        templates: &[TemplateOut],
        index: &ValueIndex,
        default: &BTreeMap<String, PVal>,
        allowed: &dyn Fn(usize) -> bool,
    ) -> Option<(Vec<usize>, OwnPart)> {
        if out_is_trigger(out) {
            return None;
        }
        let extended = parents.and_then(|parents| {
            let bases: Vec<Flat> = parents.iter().map(|&t| templates[t].flat()).collect();
            let own = own_part(&out.flat(), &bases, default, self.origins)?;
            Some((parents, own))
        });
        extended.or_else(|| {
            (!self.origins)
                .then(|| best_template(&out.flat(), templates, index, default, allowed))
                .flatten()
                .map(|(bases, own, _)| (bases, own))
        })
    }

    /// The `stage:` of a library's hidden jobs: a Plumb template has no stage (the job
    /// built on one is written in a stage of its pipeline), so it is not carried: said
    /// once per place, at the first template that has it.
    fn note_library_stages(&self, templates: &mut [TemplateOut]) {
        let mut said = HashSet::new();
        for t in templates.iter_mut().filter(|t| t.variant_of.is_none()) {
            let hidden = self.config.hidden.iter().find(|h| h.name == t.hidden);
            let Some(stage) = hidden.and_then(|h| h.full.get("stage")) else {
                continue;
            };
            if !said.insert((stage.file, stage.line)) {
                continue;
            }
            t.notes.push(Note {
                file: stage.file,
                line: stage.line,
                end_line: stage.end_line,
                message: format!(
                    "`stage: {}` is not carried: a template has no stage; write the jobs built on it in that stage",
                    crate::literal::one_line_keeping(stage.as_str().unwrap_or("…"), &[])
                ),
            });
        }
    }

    /// A hidden job no job reaches (through `extends`, or a `!reference` to it) is kept
    /// as a template, so nothing of the file vanishes; one that cannot be a template
    /// (see [`Self::templates`]) is a warning at its line.
    fn keep_hidden_jobs_no_job_uses(
        &self,
        templates: &mut [TemplateOut],
        template_index: &HashMap<String, usize>,
        warnings: &mut Vec<Warning>,
    ) {
        let extended = self.extended_by_jobs();
        for h in &self.config.hidden {
            // an anchor holder is where its aliases are, and is no template
            if extended.contains(&h.name) || self.referenced(&h.name) || is_anchor_holder(&h.full) {
                continue;
            }
            match template_index.get(&h.name) {
                Some(&t) => templates[t].used = true,
                None => warnings.push(Warning::at(
                    h.full.file,
                    h.line,
                    format!(
                        "hidden job `{}` is used by no job and cannot be a template (its `trigger:` has no Plumb form, it never runs, or it names the job that stops its environment): not imported",
                        h.name
                    ),
                )),
            }
        }
    }

    /// The hidden jobs some job reaches through `extends` (its own or a base's).
    fn extended_by_jobs(&self) -> HashSet<String> {
        let hidden: HashMap<&str, &gitlab::Job> = (self.config.hidden.iter())
            .map(|h| (h.name.as_str(), h))
            .collect();
        let mut reached: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = (self.config.jobs.iter())
            .flat_map(|j| j.extends.iter().map(String::as_str))
            .collect();
        while let Some(base) = todo.pop() {
            if reached.insert(base) {
                if let Some(h) = hidden.get(base) {
                    todo.extend(h.extends.iter().map(String::as_str));
                }
            }
        }
        reached.into_iter().map(str::to_string).collect()
    }

    /// Whether a `!reference [NAME, …]` in the files read names `name`.
    fn referenced(&self, name: &str) -> bool {
        self.config.sources.iter().any(|(_, text)| {
            text.match_indices("!reference").any(|(i, tag)| {
                let rest = text[i + tag.len()..].trim_start().trim_start_matches('[');
                let rest = rest.trim_start().trim_start_matches(['"', '\'']);
                rest.strip_prefix(name)
                    .is_some_and(|after| after.starts_with([',', ']', '"', '\'', ' ']))
            })
        })
    }

    /// Names the used templates (after the lets, which have the better claim to short
    /// names), in the order of their hidden jobs, then of the visible jobs others extend.
    fn name_templates(&mut self, templates: &mut [TemplateOut]) {
        for i in 0..templates.len() {
            if !templates[i].used {
                continue;
            }
            let base = identifier(&templates[i].hidden, "template");
            let base = match templates[i].variant_of {
                _ if templates[i].shared_of.is_some() => format!("{base}-shared"),
                Some(of) if templates[of].used => format!("{base}-base"),
                _ if self.globals.is_taken(&base) => format!("{base}-template"),
                _ => base,
            };
            templates[i].name = self.globals.unique(base);
        }
    }

    fn write(&mut self, plan: &Plan, path: &Path, warnings: &mut Vec<Warning>) -> Program {
        self.noted.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let mut text = String::new();
        let image_names = self.write_head(&mut text, plan);
        let mut used: Vec<&TemplateOut> = plan.templates.iter().filter(|t| t.used).collect();
        // a template of shared fields before the one built on it, which has its line
        used.sort_by_key(|t| (t.file, t.line, t.shared_of.is_none()));
        for t in &used {
            self.notes(
                &mut text,
                &t.notes,
                "",
                &format!("template `{}`", t.name),
                warnings,
            );
            self.write_template(&mut text, plan, t, &image_names);
        }
        if plan.library {
            if let Some(first) = self.config.includes.first() {
                // not "kept as an `include`": a library keeps none
                warnings.retain(|w| !w.message.contains("kept as an `include`"));
                warnings.push(Warning::at(
                    first.file,
                    first.line,
                    "the `include:` entries of a file with no jobs are not carried: include them where its templates are used",
                ));
            }
            // the file's keys that every job of an including file gets, as written
            let global: Vec<&crate::yaml::Entry> = (self.config.root.entries().iter())
                .filter(|e| GLOBAL_KEYS.contains(&e.key.as_str()))
                .collect();
            if !plan.pipeline_notes.is_empty()
                || !plan.default_fields.is_empty()
                || !plan.top_vars.is_empty()
                || !global.is_empty()
            {
                let keys: Vec<String> = global.iter().map(|e| format!("`{}:`", e.key)).collect();
                let apply = if keys.len() == 1 { "applies" } else { "apply" };
                let keys = match keys.is_empty() {
                    true => "`default:` and `variables:`".to_string(),
                    false => keys.join(", "),
                };
                let _ = writeln!(text, "# gitlab: this file has no jobs, only templates; its {keys} {apply} to the files that include it");
                let first = global.first();
                warnings.push(Warning::at(
                    first.map_or(0, |e| e.value.file),
                    first.map_or(1, |e| e.key_line),
                    format!("this file has no jobs: its {keys} {apply} to the files that include it, and {} not carried", if apply == "applies" { "is" } else { "are" }),
                ));
            }
            return Program {
                text,
                renames: self.renames(plan),
                jobs_imported: 0,
                jobs_left_out: 0,
                quoted: std::mem::take(&mut *self.quoted.lock().unwrap_or_else(|e| e.into_inner())),
            };
        }
        self.write_pipeline(&mut text, plan, path, &image_names, warnings);
        if !plan.left_out.is_empty() {
            text.push_str("\n# gitlab: jobs not imported\n");
            for (file, line, end, why) in &plan.left_out {
                let _ = writeln!(
                    text,
                    "# {}:{line}: {}",
                    self.file_names[*file],
                    one_line(why)
                );
                self.snippet(&mut text, *file, *line, *end, "");
            }
        }
        Program {
            text,
            renames: self.renames(plan),
            jobs_imported: plan.jobs.len(),
            jobs_left_out: plan.left_out.len(),
            quoted: std::mem::take(&mut *self.quoted.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// `template NAME() from BASES { what it writes itself }`, its hidden job named in a
    /// comment.
    fn write_template(&self, text: &mut String, plan: &Plan, t: &TemplateOut, image_names: &Lets) {
        let from = from_bases(&t.bases, &plan.templates);
        let (mut fields, env, inherits_needs, inherits_dependencies) = match &t.own {
            Some(own) => (
                own.fields.clone(),
                own.env.as_slice(),
                own.inherits_needs,
                own.inherits_dependencies,
            ),
            None => (t.fields.clone(), t.env.as_slice(), false, false),
        };
        if let Some(deps) = (t.resolved_dependencies.as_ref()).filter(|_| !inherits_dependencies) {
            fields.insert("dependencies".into(), PVal::List(deps.clone()));
        }
        let needs = t.resolved_needs.as_deref().filter(|_| !inherits_needs);
        let mut body = String::new();
        write_fields(&mut body, &fields, env, needs, image_names, "  ");
        let at = format!("{}:{}", self.file_names[t.file], t.line);
        if body.is_empty() && !self.origins {
            let _ = write!(text, "template {}(){from} {{}}  # {at}\n\n", t.name);
            return;
        }
        let head = format!("template {}(){from}", t.name);
        let small = !self.origins && !self.has_comments_inside(t.file, t.line);
        if let Some(line) = small.then(|| on_one_line(&head, &body, 0)).flatten() {
            let _ = write!(text, "{line}  # {at}\n\n");
            return;
        }
        self.open(text, &t.key);
        let _ = writeln!(text, "{head} {{  # {at}");
        text.push_str(&body);
        text.push('}');
        self.close(text);
        text.push_str("\n\n");
    }

    /// The header comment, the lets and the secrets; the lets' names by what they hold.
    fn write_head(&self, text: &mut String, plan: &Plan) -> Lets {
        let main = &self.file_names[0];
        let _ = writeln!(text, "# Imported from {main} by `plumb import`.");
        let _ = writeln!(
            text,
            "# `# FILE:LINE` after a job names the GitLab job it came from; `# gitlab:` comments"
        );
        let _ = writeln!(
            text,
            "# hold what Plumb does not carry (each was also reported as a warning)."
        );
        text.push('\n');
        let mut image_names = Lets::default();
        for (name, image) in &plan.lets {
            let _ = writeln!(text, "let {name} = {}", string_literal(image));
            image_names.images.insert(image.clone(), name.clone());
        }
        for (replaced, name, value) in &plan.named_lets {
            let mut s = String::new();
            with_lets(value.clone(), &image_names).write(&mut s, 0);
            let _ = writeln!(text, "let {name} = {s}");
            image_names
                .values
                .insert(written_text(replaced), name.clone());
        }
        if !plan.lets.is_empty() || !plan.named_lets.is_empty() {
            text.push('\n');
        }
        for (name, source) in &self.secrets.order {
            let _ = match source {
                Source::CiVariable(v) => {
                    writeln!(text, "secret {name} = ci_variable({})", string_literal(v))
                }
                Source::Vault(p, f, file) => writeln!(
                    text,
                    "secret {name} = vault({}, {}{})",
                    string_literal(p),
                    string_literal(f),
                    if *file { ", file = true" } else { "" }
                ),
                Source::IdToken(aud) => {
                    writeln!(text, "secret {name} = id_token({})", string_literal(aud))
                }
            };
        }
        if !self.secrets.order.is_empty() {
            text.push('\n');
        }
        image_names
    }

    /// The pipeline: `on`, `include`, `env`, `default`, then its stages and jobs.
    fn write_pipeline(
        &self,
        text: &mut String,
        plan: &Plan,
        path: &Path,
        image_names: &Lets,
        warnings: &mut Vec<Warning>,
    ) {
        let _ = writeln!(text, "pipeline {} {{", pipeline_name(path));
        if let Some(on) = &plan.on {
            let _ = writeln!(text, "  on = {}", on.to_plumb());
        }
        let mut kept = self.config.includes.clone();
        if self.origins {
            kept.extend(self.child_pipeline_includes());
        }
        let includes = crate::include::calls(&kept, self.origins, warnings);
        if !includes.is_empty() {
            let mut s = String::new();
            PVal::List(includes).write(&mut s, 2);
            let _ = writeln!(text, "  include = {s}");
        }
        if !plan.top_vars.is_empty() {
            let env: Vec<(String, PVal)> = plan
                .top_vars
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let at = plan.top_vars_at.get(i).copied().flatten();
                    (k.clone(), PVal::at(at, PVal::Str(v.clone())))
                })
                .collect();
            let mut s = String::new();
            PVal::Record(env).write(&mut s, 2);
            let _ = writeln!(text, "  env = {s}");
        }
        if !plan.default_fields.is_empty() {
            let record = ordered(&plan.default_fields)
                .into_iter()
                .map(|(k, v)| (k, with_lets(v, image_names)))
                .collect();
            let mut s = String::new();
            PVal::Record(record).write(&mut s, 2);
            if let Some(why) = plan.default_allowance {
                let _ = writeln!(text, "  # plumb-allow: PL3006, PL4005 {why}");
            }
            let _ = writeln!(text, "  default = {s}");
        }
        self.write_pipeline_gitlab(text, plan);
        self.notes(text, &plan.pipeline_notes, "  ", "the pipeline", warnings);
        let mut stage_scope = Scope::default();
        // the jobs of each stage, found once (a pipeline of 500 stages and 5,000 jobs
        // must not compare every job with every stage)
        let mut by_stage: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, j) in plan.jobs.iter().enumerate() {
            by_stage.entry(j.stage.as_str()).or_default().push(i);
        }
        // each job written on its own (on every core), put in its stage below; the notes
        // of a stage's only job go above the stage, which the formatter may then write
        // on the job's line (`stage NAME { job NAME {`)
        let indices: Vec<usize> = (0..plan.jobs.len()).collect();
        let mut written = on_every_core(&indices, &|&i| {
            let j = &plan.jobs[i];
            let lone = by_stage.get(j.stage.as_str()).is_some_and(|m| m.len() == 1);
            let (mut notes, mut job_text, mut job_warnings) =
                (String::new(), String::new(), Vec::new());
            let what = format!("job `{}`", j.gitlab_name);
            let indent = if lone { "  " } else { "    " };
            self.notes(&mut notes, &j.notes, indent, &what, &mut job_warnings);
            self.write_job(&mut job_text, plan, i, image_names);
            Some((notes, job_text, job_warnings))
        });
        for stage in &plan.stage_order {
            let Some(members) = by_stage.get(stage.as_str()) else {
                // the jobs of an include not read may be in it: the compiled `stages:`
                // must still list it (GitLab refuses a job whose stage it does not)
                // (not for a fragment that includes nothing: its jobs' stages are in
                // the `stages:` of the file including it, which wins over its own)
                if !self.config.includes.is_empty() && !matches!(stage.as_str(), ".pre" | ".post") {
                    let name = stage_scope.unique(identifier(stage, "stage"));
                    let _ = writeln!(text, "\n  stage {name} {{}}");
                }
                continue;
            };
            let name = stage_scope.unique(identifier(stage, "stage"));
            text.push('\n');
            if let [lone] = members.as_slice() {
                if let Some((notes, ..)) = &written[*lone] {
                    text.push_str(notes);
                }
            }
            let _ = writeln!(text, "  stage {name} {{");
            for (n, &i) in members.iter().enumerate() {
                if n > 0 {
                    text.push('\n');
                }
                if let Some((notes, job_text, job_warnings)) = written[i].take() {
                    if members.len() > 1 {
                        text.push_str(&notes);
                    }
                    text.push_str(&job_text);
                    warnings.extend(job_warnings);
                }
            }
            text.push_str("  }\n");
        }
        text.push_str("}\n");
    }

    fn write_job(&self, text: &mut String, plan: &Plan, i: usize, image_names: &Lets) {
        let j = &plan.jobs[i];
        let from = from_bases(&j.bases, &plan.templates);
        let renamed = if j.name != j.gitlab_name {
            format!(" (`{}`)", one_line(&j.gitlab_name))
        } else {
            String::new()
        };
        let marker = format!("# {}:{}{renamed}", self.file_names[j.file], j.line);
        // `needs: []` starts the job at once: a list that lost every name is left out,
        // so the stage order applies
        let resolved = plan.resolved_needs[i].as_slice();
        let lost_all = resolved.is_empty() && !j.needs.is_empty() && !has_outside_needs(&j.fields);
        let needs = (j.has_needs && !lost_all).then_some(resolved);
        let head = format!("job {}{from}", j.name);
        if !self.origins && j.shell_runner.is_none() && !self.has_comments_inside(j.file, j.line) {
            let mut body = String::new();
            write_fields(&mut body, &j.fields, &j.env, needs, image_names, "      ");
            if let Some(line) = on_one_line(&head, &body, 4) {
                let _ = writeln!(text, "    {line}  {marker}");
                return;
            }
        }
        self.open(text, &j.key);
        let _ = writeln!(text, "    {head} {{  {marker}");
        if (self.origins && j.image_elsewhere) || j.shell_runner.is_some() {
            // a check says nothing of an image it cannot see, and a shell runner runs
            // none: the job is given the runner's image on a line of its own, whose
            // findings are allowed
            let why = (j.shell_runner).unwrap_or("the image is set where this check does not see");
            let mut fields = j.fields.clone();
            fields.insert("image".into(), PVal::Name("runner_default".into()));
            let _ = writeln!(text, "      # plumb-allow: PL3006, PL4005 {why}");
            write_fields(text, &fields, &j.env, needs, image_names, "      ");
        } else {
            write_fields(text, &j.fields, &j.env, needs, image_names, "      ");
        }
        text.push_str("    }");
        self.close(text);
        text.push('\n');
    }

    /// [`Program::renames`].
    fn renames(&self, plan: &Plan) -> Vec<(String, String)> {
        let jobs = plan
            .jobs
            .iter()
            .filter(|j| j.name != j.gitlab_name)
            .map(|j| (j.name.clone(), j.gitlab_name.clone()));
        // a template is checked as a job when no job is built on it: named as GitLab does
        let templates = (plan.templates.iter())
            .filter(|t| t.used && !t.hidden.is_empty() && t.name != t.hidden)
            .map(|t| (t.name.clone(), t.hidden.clone()));
        let secrets = self.secrets.order.iter().map(|(name, source)| {
            let var = match source {
                Source::CiVariable(v) => v.clone(),
                Source::Vault(..) | Source::IdToken(_) => self.secrets.variable_of(name),
            };
            (name.clone(), format!("${var}"))
        });
        jobs.chain(templates).chain(secrets).collect()
    }

    /// Opens the frame of a job or template for the check (nothing when importing).
    fn open(&self, text: &mut String, key: &Origin) {
        if self.origins {
            crate::value::open_marker(text, key);
        }
    }

    fn close(&self, text: &mut String) {
        if self.origins {
            text.push(CLOSE);
        }
    }
}

const CONVERT_STACK: usize = crate::LARGE_STACK;

/// `s` for a `#` comment: a line break (or any control character) written from the YAML
/// would end the comment, and what follows it would be program text (a job name
/// `"x\njob evil {…"` must not become a job, nor hide the jobs after it).
fn one_line(s: &str) -> String {
    crate::literal::one_line_keeping(s, &[])
}

/// `HEAD { fields }` when the formatter keeps it so at `indent` columns: `body` is the
/// block's fields as [`write_fields`] writes them, at most three, each on one line, and
/// the line is short (see [`plumb_fmt::SHORT_BODY`]). A small job or template then takes
/// one line, as it would if written by hand, with its `# FILE:LINE` after the `}`. The
/// formatter itself decides (a value it lays out on several lines, or a long line, keeps
/// the block form), so the marker stays on the line the block opens.
fn on_one_line(head: &str, body: &str, indent: usize) -> Option<String> {
    let fields: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if fields.len() > plumb_fmt::SHORT_BODY_FIELDS {
        return None;
    }
    let mut inline = Vec::with_capacity(fields.len());
    for f in &fields {
        // the writer aligns the `=` of a block's fields; one line has no alignment
        let (key, value) = f.split_once(" = ")?;
        inline.push(format!("{} = {value}", key.trim_end()));
    }
    // a job that is its template's, nothing added, is `job x from t() { }`
    let line = match inline.is_empty() {
        true => format!("{head} {{ }}"),
        false => format!("{head} {{ {} }}", inline.join(", ")),
    };
    if indent + line.len() > plumb_fmt::SHORT_BODY {
        return None;
    }
    // the same line as the formatter writes it, inside a pipeline and a stage for a job
    // (of two jobs: a lone one-line job would go on the stage's line)
    let (open, close) = match indent {
        0 => ("", ""),
        _ => ("pipeline p {\n  stage s {\n    ", "\n    job z { }\n  }\n}"),
    };
    let formatted = plumb_fmt::format(&format!("{open}{line}{close}\n")).ok()?;
    let pad = " ".repeat(indent);
    formatted
        .lines()
        .any(|l| l.strip_prefix(&pad) == Some(&line))
        .then_some(line)
}

/// Each job converted, on every core: a conversion reads only its job, and a file of
/// thousands of jobs spends most of its import here.
fn convert_all(jobs: &[gitlab::Job], cx: &Ctx) -> Vec<Fields> {
    on_every_core(jobs, &|j| convert::job(&j.full, &j.include_rules, cx))
}

/// `f` of each item, in order, on every core when there are many (each result depends
/// on its item only).
fn on_every_core<T: Sync, R: Send>(items: &[T], f: &(dyn Fn(&T) -> R + Sync)) -> Vec<R> {
    // a few items are done here (asking the system for its cores reads files)
    if items.len() < 256 {
        return items.iter().map(f).collect();
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if workers < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                // deeply nested YAML recurses: a stack as large as the caller's (only
                // what is touched is committed)
                std::thread::Builder::new()
                    .stack_size(CONVERT_STACK)
                    .spawn_scoped(scope, move || part.iter().map(f).collect::<Vec<_>>())
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for (h, part) in handles.into_iter().zip(items.chunks(chunk)) {
            // a worker that could not start or failed is redone here, on this thread
            match h.map(|h| h.join()) {
                Ok(Ok(done)) => out.extend(done),
                _ => out.extend(part.iter().map(f)),
            }
        }
        out
    })
}

/// Whether a job's tags or scripts hint at a shell runner, which runs no image (a check
/// of the YAML takes that and says nothing of the image), and why an import writes so:
/// a shell runner its tags name, or a script's `sudo` hints at, is written with its
/// findings allowed, as the check of the YAML is silent on it (a Windows or macOS tag
/// is a weaker hint, which only the check takes: GitLab's macOS runners take an image).
fn shell_runner_hints(fields: &BTreeMap<String, PVal>) -> (bool, Option<&'static str>) {
    // tags that pick a runner of containers (`docker`, `kubernetes`, GitLab's hosted
    // Linux runners) say the runner's image runs the script, `sudo` or not
    let runs_sudo = !container_runner_tags(fields.get("tags"))
        && (runs_sudo(fields.get("before_run")) || runs_sudo(fields.get("run")));
    let hinted = runs_sudo || shell_runner_tags(fields.get("tags"));
    let why = match () {
        _ if shell_tag(fields.get("tags")) => Some(SHELL_TAG),
        _ if runs_sudo => Some(SUDO),
        _ => None,
    };
    (hinted, why)
}

/// Why a job with no image is taken for a shell runner's: its tags.
const SHELL_TAG: &str = "its tags pick a shell runner, which runs no image";
/// Why a job with no image is taken for a shell runner's: its script.
const SUDO: &str = "its script runs `sudo`, as on a shell runner, which runs no image";

/// Whether a script runs `sudo`: a job on a shell runner (the host's own system), where
/// no image applies.
fn runs_sudo(run: Option<&PVal>) -> bool {
    let Some(PVal::List(lines)) = run else {
        return false;
    };
    lines.iter().any(|l| match l.bare() {
        PVal::Str(script) => script_runs_sudo(script),
        _ => false,
    })
}

/// Whether `sudo` starts a command of a script: at the start of a line or after an
/// unquoted `&&`, `||`, `|`, `;`, `&` or `(`; not a word in quotes, a comment or a
/// here-document's body (`echo "make && sudo make install"` runs no `sudo`).
fn script_runs_sudo(script: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut lines = script.lines();
    // a line that ends in `\` goes on on the next, in the middle of its command
    let mut continued = false;
    while let Some(line) = lines.next() {
        let mut heredocs = Vec::new();
        let at_command = quote.is_none() && !continued;
        if scan_command_words(line, at_command, &mut quote, &mut heredocs) {
            return true;
        }
        continued = quote.is_none() && line.trim_end().ends_with('\\');
        // the bodies of the here-documents the line opened, each up to its word
        for end in heredocs {
            for body in lines.by_ref() {
                if body.trim() == end {
                    break;
                }
            }
        }
    }
    false
}

/// Scans one line of a script: whether a command of it is `sudo`; `quote` carries a
/// quoted string on to the next line, `heredocs` gets the words that end the
/// here-documents it opens.
fn scan_command_words(
    line: &str,
    mut at_command: bool,
    quote: &mut Option<char>,
    heredocs: &mut Vec<String>,
) -> bool {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = *quote {
            match c {
                '\\' if q == '"' => i += 1,
                _ if c == q => *quote = None,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            _ if c.is_whitespace() => i += 1,
            '#' => break,
            '\'' | '"' => {
                *quote = Some(c);
                at_command = false;
                i += 1;
            }
            '\\' => {
                at_command = false;
                i += 2;
            }
            ';' | '&' | '|' | '(' => {
                at_command = true;
                i += 1;
            }
            '<' if chars[i..].starts_with(&['<', '<', '<']) => {
                at_command = false;
                i += 3;
            }
            '<' if chars.get(i + 1) == Some(&'<') => {
                let (word, next) = heredoc_word(&chars, i + 2);
                heredocs.extend(word);
                at_command = false;
                i = next;
            }
            _ => {
                let end = (i..chars.len())
                    .find(|&k| chars[k].is_whitespace() || ";&|()<>'\"".contains(chars[k]))
                    .unwrap_or(chars.len())
                    .max(i + 1);
                let word: String = chars[i..end].iter().collect();
                // `/usr/bin/sudo` too; not `sudo() { … }` (a function of that name, as
                // scripts written for root containers define) nor a `case` pattern `sudo)`
                let next = chars[end..].iter().find(|c| !c.is_whitespace());
                let defined = matches!(next, Some('(' | ')'));
                if at_command && !defined && word.rsplit('/').next() == Some("sudo") {
                    return true;
                }
                // `VAR=1 sudo …`, `if sudo …`, `then sudo …`: the command is still to come
                let before_command = (word.contains('=') && !word.starts_with('='))
                    || COMMAND_PREFIXES.contains(&word.as_str());
                at_command = at_command && before_command;
                i = end;
            }
        }
    }
    false
}

/// Words after which a command starts: the shell's reserved words, and commands that run
/// the command after them (`time`, `exec`, `nohup`, `command`, `env`, `xargs`).
const COMMAND_PREFIXES: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "exec", "nohup",
    "command", "env", "xargs",
];

/// The word ending a here-document whose `<<` ends before `from` (`<<-'EOF'` is
/// `EOF`), and where the line goes on.
fn heredoc_word(chars: &[char], from: usize) -> (Option<String>, usize) {
    let mut i = from;
    if chars.get(i) == Some(&'-') {
        i += 1;
    }
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    let start = i;
    while chars
        .get(i)
        .is_some_and(|c| !c.is_whitespace() && !";&|()<>".contains(*c))
    {
        i += 1;
    }
    let word: String = chars[start..i]
        .iter()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    ((!word.is_empty()).then_some(word), i)
}

/// Whether a job's tags pick a runner of containers: `docker`, `kubernetes`, `k8s`,
/// `podman`, or GitLab's hosted Linux runners (`saas-linux-…`).
fn container_runner_tags(tags: Option<&PVal>) -> bool {
    let Some(PVal::List(tags)) = tags else {
        return false;
    };
    tags.iter().any(|t| match t.bare() {
        PVal::Str(tag) => {
            let saas_linux = tag.to_ascii_lowercase().starts_with("saas-linux");
            saas_linux
                || tag_words(tag)
                    .any(|w| matches!(w.as_str(), "docker" | "kubernetes" | "k8s" | "podman"))
        }
        _ => false,
    })
}

/// Whether a job's tags name a `shell` runner, which runs no image.
fn shell_tag(tags: Option<&PVal>) -> bool {
    let Some(PVal::List(tags)) = tags else {
        return false;
    };
    (tags.iter())
        .any(|t| matches!(t.bare(), PVal::Str(tag) if tag_words(tag).any(|w| w == "shell")))
}

/// A tag's words: `saas-linux-small` is `saas`, `linux`, `small`.
fn tag_words(tag: &str) -> impl Iterator<Item = String> + '_ {
    (tag.split(['-', '_', ' ', ':', '.'])).map(str::to_ascii_lowercase)
}

/// Whether a job's tags pick a Windows or macOS runner, whose shell executor runs no
/// image.
fn shell_runner_tags(tags: Option<&PVal>) -> bool {
    let Some(PVal::List(tags)) = tags else {
        return false;
    };
    const SHELL_RUNNER_WORDS: [&str; 6] = ["windows", "win32", "win64", "macos", "osx", "shell"];
    tags.iter().any(|t| match t.bare() {
        PVal::Str(tag) => tag_words(tag).any(|w| SHELL_RUNNER_WORDS.contains(&w.as_str())),
        _ => false,
    })
}

fn out_is_trigger(j: &JobOut) -> bool {
    j.fields.contains_key("trigger")
}

/// The keys GitLab takes on a trigger job that Plumb writes in `gitlab = {…}`; any
/// other (`hooks:` from `default:`) makes GitLab refuse the file.
const BRIDGE_GITLAB_KEYS: &[&str] = &[
    "inherit",
    "extends",
    "parallel",
    "only",
    "except",
    "rules",
    "stage",
    "variables",
    "needs",
    "when",
    "allow_failure",
    "environment",
    "resource_group",
    "interruptible",
    "trigger",
];

/// Leaves in the pipeline's `default` only the fields every imported job has (GitLab
/// applied `default:` to each job already): a job without one (`cache: {}`,
/// `inherit: default: false`) would get it back from Plumb's `default`, so such a field
/// is written in the jobs that have it instead.
fn keep_defaults_every_job_has(
    default_fields: &mut BTreeMap<String, PVal>,
    jobs: &mut [(Fields, bool)],
) {
    // Plumb's `default`, like GitLab's, does not reach a trigger job (each job comes
    // with whether its script may be in hidden jobs of other files it keeps)
    let imported =
        |(f, elsewhere): &&(Fields, bool)| not_imported(f, *elsewhere).is_none() && !f.trigger;
    // and Plumb merges a default record into a job's own, where GitLab replaces it: a
    // job whose record lacks a key of the default's would gain it
    default_fields.retain(|key, default| {
        // (one that does not inherit it, `gitlab = { inherit = { default = … } }`, is
        // not given it)
        let keeps = |(f, _): &&(Fields, bool)| {
            leaves_out_default(&f.fields, key)
                || f.fields.get(key).is_some_and(|own| {
                    key == "matrix"
                        || composed_field(key, default, own).equivalent(&long_form(key, own))
                })
        };
        let (all, with) = (
            jobs.iter().filter(imported).count(),
            jobs.iter().filter(imported).filter(keeps).count(),
        );
        // a script (or cache) most jobs have stays the default; the others say
        // `before_run = []` (`cache = []`), unless a job's own value would change with
        // the default merged into it (a cache record, merged key by key, where a script
        // replaces): then each job says its own
        let emptied = EMPTIED_BY_A_JOB.contains(&key.as_str())
            && with >= 2
            && with * 2 > all
            && (jobs.iter().filter(imported)).all(|j| keeps(&j) || !j.0.fields.contains_key(key));
        with == all || emptied
    });
    for key in EMPTIED_BY_A_JOB
        .iter()
        .filter(|k| default_fields.contains_key(**k))
    {
        for (f, _) in jobs.iter_mut().filter(|f| imported(&&**f)) {
            if !leaves_out_default(&f.fields, key) {
                f.fields
                    .entry(key.to_string())
                    .or_insert_with(|| PVal::List(Vec::new()));
            }
        }
    }
}

/// Script fields a job clears with `before_script: []` (or `inherit: default: false`),
/// and the cache (`cache: []`): `default` can still hold them when the job writes its
/// empty list.
const EMPTIED_BY_A_JOB: &[&str] = &["before_run", "after_run", "cache"];

impl Emitter<'_> {
    /// When every job of the file is turned off (its rules never add it), the first:
    /// kept as `when = false`, for a pipeline of no job is no GitLab file (GitLab
    /// refuses one without a job; this one it reads, and never creates a pipeline).
    fn turned_off_job_to_keep(&self, converted: &[(Fields, bool)]) -> Option<usize> {
        let completed = (0..converted.len()).any(|i| self.completion_of(i).is_some());
        let imported = |(f, elsewhere): &(Fields, bool)| not_imported(f, *elsewhere).is_none();
        // (for a check, whose jobs completing included ones are given a `run` later, a
        // job that never runs is no job to check: nothing is built)
        if self.origins || completed || converted.iter().any(imported) {
            return None;
        }
        let kept_on = |f: &Fields, elsewhere| {
            let on = Fields {
                never: false,
                ..f.clone()
            };
            not_imported(&on, elsewhere).is_none()
        };
        (converted.iter()).position(|(f, elsewhere)| f.never && kept_on(f, *elsewhere))
    }
}

/// `rules:` whose every entry is `when: never` (a job turned off).
pub(crate) fn only_never_rules(rules: &crate::yaml::Node) -> bool {
    let never = |r: &crate::yaml::Node| r.get("when").and_then(|w| w.as_str()) == Some("never");
    rules.is_seq() && !rules.items().is_empty() && rules.items().iter().all(never)
}

/// Why a converted job cannot be a Plumb job, if it cannot; `script_elsewhere`: one
/// with no script keeps hidden jobs of other files, which may hold it.
fn not_imported(f: &Fields, script_elsewhere: bool) -> Option<&'static str> {
    if f.trigger && !f.fields.contains_key("trigger") {
        Some("its `trigger:` has no Plumb form")
    } else if f.never {
        Some("its rules never add it to a pipeline")
    } else if f.script_of_mappings {
        Some("each line of its `script` is a mapping, not a command (an unquoted `: `): GitLab refuses it; quote the lines")
    } else if !f.trigger && !f.fields.contains_key("run") && !script_elsewhere {
        Some("it has no `script`")
    } else {
        None
    }
}

/// For each template, the same less one field that GitLab's YAML merge keys replace
/// whole where Plumb merges (`env`, a record): a job that took the hidden job through
/// `<<: *anchor` and wrote its own `variables:` has none of the anchor's, so only such
/// a variant can be its base. Appended after the templates, unused until a job takes one.
fn add_variants(templates: &mut Vec<TemplateOut>) {
    for t in 0..templates.len() {
        let merged: Vec<String> = (templates[t].fields.iter())
            .filter(|(k, v)| matches!(long_form(k, v), PVal::Record(_)))
            .map(|(k, _)| k.clone())
            .collect();
        let mut variant = templates[t].clone();
        (variant.bases, variant.own, variant.used) = (Vec::new(), None, false);
        variant.variant_of = Some(t);
        if !variant.env.is_empty() {
            let mut v = variant.clone();
            v.env.clear();
            templates.push(v);
        }
        for key in merged {
            let mut v = variant.clone();
            v.fields.remove(&key);
            templates.push(v);
        }
    }
}

/// A used template whose variant some job took is written `from` that variant, with
/// the field the variant lacks; the variant takes the template's own bases.
fn build_templates_on_their_variants(templates: &mut [TemplateOut]) {
    let no_default = BTreeMap::new();
    for v in 0..templates.len() {
        let Some(t) = templates[v].variant_of.filter(|_| templates[v].used) else {
            continue;
        };
        if !templates[t].used {
            continue;
        }
        let Some(own) = own_part(
            &templates[t].flat(),
            &[templates[v].flat()],
            &no_default,
            false,
        ) else {
            continue;
        };
        let bases = templates[t].bases.clone();
        let flats: Vec<Flat> = bases.iter().map(|&b| templates[b].flat()).collect();
        let variant_own = own_part(&templates[v].flat(), &flats, &no_default, false);
        match variant_own {
            Some(variant_own) if !bases.is_empty() => build_on(templates, v, bases, variant_own),
            // the template keeps the bases the variant cannot take
            None if !bases.is_empty() => continue,
            _ => {}
        }
        build_on(templates, t, vec![v], own);
    }
}

/// With files not read included, the note naming the keys of `default:` that do not
/// reach their jobs from the compiled `default:`: those written in the jobs here that
/// have them (`moved`, Plumb's names: not every job does, `cache: {}`, `inherit: default:
/// false`).
fn default_not_for_included_jobs(config: &Config, moved: &[&String]) -> Option<Note> {
    let yaml_key = |field: &str| match field {
        "before_run" => "before_script".to_string(),
        "after_run" => "after_script".to_string(),
        "gitlab" => "hooks".to_string(),
        other => other.to_string(),
    };
    let keys: Vec<String> = (moved.iter())
        .filter(|k| k.as_str() != "env")
        .map(|k| yaml_key(k))
        .collect();
    let entries = config.default.entries();
    let first = entries.iter().find(|e| keys.contains(&e.key))?;
    let named: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    Some(Note {
        file: first.value.file,
        line: first.key_line,
        end_line: first.key_line,
        message: format!(
            "the jobs of other files get {} of `default:` from the YAML, not from the compiled file (written in the jobs here that have them, as not every job does)",
            named.join(", "),
        ),
    })
}

/// The note for a key under `default:` that it may not set: GitLab refuses the file
/// ("default config contains unknown keys"), so what it would mean is not guessed.
fn refused_default_key(e: &crate::yaml::Entry) -> Note {
    let message = match e.key.as_str() {
        "variables" => "`default:` cannot set `variables` (GitLab refuses the file; top-level `variables:` can): not carried".to_string(),
        key => format!("`default:` cannot set `{key}` (GitLab refuses the file): not carried"),
    };
    Note {
        file: e.value.file,
        line: e.key_line,
        end_line: e.value.end_line.max(e.key_line),
        message,
    }
}

/// Whether a job takes no image from `default:` (`inherit: default: false`, or a list
/// without `image`) and names none: it runs in the runner's, `runner_default`, which it
/// says itself even when `default:` names no image, as Plumb's `default` may be given
/// `runner_default` for other jobs.
fn takes_no_default_image(f: &convert::Fields) -> bool {
    !f.trigger && !f.fields.contains_key("image") && leaves_out_default(&f.fields, "image")
}

/// Jobs a shell runner runs, each given `runner_default` with its findings allowed, are
/// given it by the pipeline's `default` instead, under one allowance (a line per job
/// fewer), when they are two or more, `default` holds nothing else (the allowance is
/// for its image; [`say_once_what_no_merge_request_runs`] may add a `when` later, of no
/// finding it allows), no job keeps hidden jobs of other files (whose image may be
/// there, which `default` would replace), and none leaves out `default:`. Returns why.
fn runner_default_for_shell_runners(
    default: &mut BTreeMap<String, PVal>,
    jobs: &mut [JobOut],
) -> Option<&'static str> {
    let shell: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].shell_runner.is_some())
        .collect();
    // (a job that leaves out `default:` would not get it there)
    let leaves_out = |j: &JobOut| leaves_out_default(&j.fields, "image");
    if shell.len() < 2
        || !default.is_empty()
        || jobs
            .iter()
            .any(|j| keeps_extends(&j.fields) || leaves_out(j))
    {
        return None;
    }
    let first = jobs[shell[0]].shell_runner;
    let why = match shell.iter().all(|&i| jobs[i].shell_runner == first) {
        true if first == Some(SUDO) => {
            "its jobs' scripts run `sudo`, as on shell runners, which run no image"
        }
        true => "its jobs' tags pick shell runners, which run no image",
        false => "its jobs' tags or scripts (`sudo`) pick shell runners, which run no image",
    };
    for &i in &shell {
        jobs[i].shell_runner = None;
    }
    default.insert("image".into(), PVal::Name("runner_default".into()));
    Some(why)
}

/// A pipeline of one job (built on no template) has no use for `default`: its fields
/// are the job's (two lines fewer, and nothing to look up).
fn fold_default_into_a_lone_job(default: &mut BTreeMap<String, PVal>, jobs: &mut [JobOut]) {
    let [job] = jobs else {
        return;
    };
    if !job.bases.is_empty() || out_is_trigger(job) {
        return;
    }
    // the job's own keys replace default's (GitLab's `default:` is not merged)
    for (k, v) in std::mem::take(default) {
        job.fields.entry(k).or_insert(v);
    }
}

/// Template `t` is written `from` `bases`, with only `own`; what a base could not carry
/// is said at the base, not again at `t`.
fn build_on(templates: &mut [TemplateOut], t: usize, bases: Vec<usize>, own: OwnPart) {
    let mut notes = std::mem::take(&mut templates[t].notes);
    for &b in &bases {
        drop_notes_said_by(&mut notes, &templates[b].notes);
    }
    templates[t].notes = notes;
    templates[t].bases = bases;
    templates[t].own = Some(own);
}

/// ` from a(), b()` for a job or template built on `bases` (nothing without).
fn from_bases(bases: &[usize], templates: &[TemplateOut]) -> String {
    if bases.is_empty() {
        return String::new();
    }
    let names: Vec<String> = (bases.iter())
        .map(|&b| format!("{}()", templates[b].name))
        .collect();
    format!(" from {}", names.join(", "))
}

/// Whether template `from` is built on `to`, through `extends` (`extends_of`, by
/// template) or the bases chosen so far.
fn leads_to(templates: &[TemplateOut], extends_of: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut todo = vec![from];
    let mut seen = HashSet::new();
    while let Some(t) = todo.pop() {
        if t == to {
            return true;
        }
        if seen.insert(t) {
            todo.extend(templates[t].bases.iter().chain(&extends_of[t]).copied());
        }
    }
    false
}

/// Without `on` (an include not read, or the file including this one, may ask for
/// merge-request pipelines), each job GitLab runs in none says `when = !merge_request`:
/// `default` says it once instead (a line per job fewer). Only when every job `default`
/// reaches (not a trigger job) has a `when` of its own or from a template, so that no
/// job gets a condition it did not have, and none keeps hidden jobs of other files
/// (whose `rules:` are theirs, and would lose to the compiled `default`'s).
fn say_once_what_no_merge_request_runs(
    on: Option<&Cond>,
    default: &mut BTreeMap<String, PVal>,
    templates: &[TemplateOut],
    jobs: &mut [JobOut],
) {
    const FEWEST_JOBS: usize = 3;
    if on.is_some() {
        return;
    }
    let no_merge_request = Cond::not(Cond::atom(Atom::MergeRequest));
    let reached = || jobs.iter().enumerate().filter(|(_, j)| !out_is_trigger(j));
    let from_templates = |j: &JobOut| composed_when(&j.bases, templates).is_some();
    let unsaid = |j: &JobOut| !j.fields.contains_key("when") && !from_templates(j);
    if default.contains_key("when") || reached().any(|(_, j)| keeps_extends(&j.fields) || unsaid(j))
    {
        return;
    }
    // (a job whose template has a `when` keeps its own, or would get the template's)
    let saying: Vec<usize> = reached()
        .filter(|(_, j)| !from_templates(j))
        .filter(|(_, j)| j.fields.get("when").map(condition_of) == Some(&no_merge_request))
        .map(|(i, _)| i)
        .collect();
    if saying.len() < FEWEST_JOBS {
        return;
    }
    default.insert("when".into(), PVal::Cond(no_merge_request));
    for i in saying {
        jobs[i].fields.remove("when");
    }
}

/// Which templates some job is built on, directly or through other templates.
fn reached_by_jobs(templates: &[TemplateOut], jobs: &[JobOut]) -> Vec<bool> {
    let mut reached = vec![false; templates.len()];
    let mut stack: Vec<usize> = jobs.iter().flat_map(|j| j.bases.iter().copied()).collect();
    while let Some(t) = stack.pop() {
        if !std::mem::replace(&mut reached[t], true) {
            stack.extend(templates[t].bases.iter().copied());
        }
    }
    reached
}

/// The templates a used template is built on are used too.
fn mark_bases_used(templates: &mut [TemplateOut]) {
    let mut todo: Vec<usize> = (0..templates.len())
        .filter(|&t| templates[t].used)
        .collect();
    while let Some(t) = todo.pop() {
        for b in templates[t].bases.clone() {
            if !templates[b].used {
                templates[b].used = true;
                todo.push(b);
            }
        }
    }
}

/// A used template's `needs` and `dependencies` with Plumb's job names. A name not
/// imported is dropped with a warning at the template, and a list that loses every
/// name is left out (as at a job). In a library (a file of templates only) the jobs are
/// in the files that include it: each name is written as Plumb would name that job.
fn resolve_template_names(
    templates: &mut [TemplateOut],
    by_gitlab: &HashMap<String, String>,
    library: bool,
    of_other_files: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<Warning>,
) {
    for t in templates.iter_mut().filter(|t| t.used) {
        // needs and dependencies on jobs of other files, kept for GitLab as a job's are
        let mut resolve = |list: &JobNames, what: &str| -> (Option<Vec<PVal>>, Vec<PVal>) {
            let (mut names, mut outside) = (Vec::new(), Vec::new());
            for (name, line) in list {
                match by_gitlab.get(name) {
                    Some(n) => names.push(PVal::Name(n.clone())),
                    None if library => names.push(PVal::Name(identifier(name, "job"))),
                    None if of_other_files(name) => outside.push(PVal::Str(name.clone())),
                    None => warnings.push(Warning::at(
                        t.file,
                        *line,
                        format!(
                            "template `{}` {what} `{name}`, which is not imported: it is dropped",
                            t.hidden
                        ),
                    )),
                }
            }
            let kept = list.is_empty() || !names.is_empty();
            (kept.then_some(names), outside)
        };
        let (mut needs, outside_needs) = match &t.needs {
            Some(n) => resolve(n, "needs"),
            None => (None, Vec::new()),
        };
        let (dependencies, outside_dependencies) = match &t.dependencies {
            Some(d) => resolve(d, "depends on"),
            None => (None, Vec::new()),
        };
        if !outside_needs.is_empty() || has_outside_needs(&t.fields) {
            // `needs:` beside them: the job's own, none when all are elsewhere
            needs.get_or_insert_with(Vec::new);
        }
        keep_outside_lists(t, outside_needs, outside_dependencies);
        t.resolved_needs = needs;
        t.resolved_dependencies = dependencies;
    }
}

/// Needs and dependencies of a template on jobs of other files, in its `gitlab = { … }`,
/// and in the part it writes itself when it is built on templates (unless it takes
/// them from those).
fn keep_outside_lists(t: &mut TemplateOut, needs: Vec<PVal>, dependencies: Vec<PVal>) {
    if let Some(own) = t.own.as_mut() {
        if !own.inherits_needs {
            convert::add_outside(&mut own.fields, "needs", needs.clone());
        }
        if !own.inherits_dependencies {
            convert::add_outside(&mut own.fields, "dependencies", dependencies.clone());
        }
    }
    convert::add_outside(&mut t.fields, "needs", needs);
    convert::add_outside(&mut t.fields, "dependencies", dependencies);
}

/// Each job's `needs` with Plumb's job names; a need not imported is dropped, with a
/// warning.
fn resolve_needs(
    jobs: &mut [JobOut],
    by_gitlab: &HashMap<String, String>,
    of_other_files: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<Warning>,
) -> Vec<Vec<PVal>> {
    let mut resolved = Vec::new();
    for j in jobs {
        let mut names = Vec::new();
        let mut outside = Vec::new();
        for (k, (need, line)) in j.needs.iter().enumerate() {
            let flags = j.needs_flags.get(k).copied().unwrap_or_default();
            match by_gitlab.get(need) {
                Some(n) => {
                    let name =
                        PVal::at(j.needs_at.get(k).copied().flatten(), PVal::Name(n.clone()));
                    names.push(need_value(name, flags));
                }
                // a job of a file not read: GitLab resolves it there
                None if of_other_files(need) => {
                    outside.push(need_value(PVal::Str(need.clone()), flags));
                }
                None => warnings.push(Warning::missing(
                    j.file,
                    *line,
                    format!(
                        "job `{}` needs `{need}`, which is not imported: the need is dropped (the job no longer waits for it or gets its artifacts)",
                        j.gitlab_name
                    ),
                    (crate::Missing::Needed, need, &j.gitlab_name),
                )),
            }
        }
        convert::add_outside_needs(&mut j.fields, outside);
        resolved.push(names);
    }
    resolved
}

/// Whether a need names a job of another file: none of the files read defines it (an
/// include not read, or the configuration including this one has it), or only a job
/// completing one of an include not read (`completed`) does; for an import only (a
/// check drops it).
fn need_of_other_files<'c>(
    config: &'c Config,
    origins: bool,
    completed: HashSet<&'c str>,
) -> impl Fn(&str) -> bool + 'c {
    let here: HashSet<&str> = (config.jobs.iter())
        .map(|j| j.name.as_str())
        .filter(|name| !completed.contains(name))
        .collect();
    // not a hidden job (GitLab never runs one) nor an empty name; a matrix instance of a
    // job here (`build: [linux]`) is kept for GitLab too, which knows its instances
    move |need: &str| {
        !origins
            && !need.trim().is_empty()
            && !here.contains(need)
            && !plumb_semantics::fields::is_hidden_job_name(need)
    }
}

/// Whether a job (its `extends` applied) needs, or depends on, a job of another file.
fn needs_jobs_of_other_files(config: &Config, of_other_files: &dyn Fn(&str) -> bool) -> bool {
    let named = |n: &crate::yaml::Node| {
        let elsewhere = n.get("pipeline").is_some() || n.get("project").is_some();
        let name = n
            .as_str()
            .or_else(|| n.get("job").and_then(crate::yaml::Node::as_str));
        name.filter(|_| !elsewhere).is_some_and(of_other_files)
    };
    let needs = (config.jobs.iter()).filter_map(|j| j.full.get("needs"));
    let dependencies = (config.jobs.iter()).filter_map(|j| j.full.get("dependencies"));
    (needs.chain(dependencies)).any(|list| list.flattened().into_iter().any(named))
}

/// Whether a job's `gitlab = { needs }` lists jobs of other files or pipelines.
fn has_outside_needs(fields: &BTreeMap<String, PVal>) -> bool {
    match fields.get("gitlab").map(PVal::bare) {
        Some(PVal::Record(entries)) => entries.iter().any(|(k, _)| k == "needs"),
        _ => false,
    }
}

/// A need as Plumb writes it: the name, or `{ job = x, optional = true, artifacts =
/// false }` when the YAML's says more.
fn need_value(name: PVal, flags: convert::NeedFlags) -> PVal {
    if flags == convert::NeedFlags::default() {
        return name;
    }
    let mut record = vec![("job".to_string(), name)];
    if flags.optional {
        record.push(("optional".to_string(), PVal::Bool(true)));
    }
    if flags.no_artifacts {
        record.push(("artifacts".to_string(), PVal::Bool(false)));
    }
    PVal::Record(record)
}

/// The stages in GitLab's order (`.pre` first, `.post` last); a stage a job names that
/// `stages:` does not list is added last, with a warning.
fn stage_order(config: &Config, jobs: &[JobOut], warnings: &mut Vec<Warning>) -> Vec<String> {
    // a stage listed twice is one stage, at its first place (its jobs are written once)
    let mut order: Vec<String> = Vec::with_capacity(config.stages.len() + 2);
    for stage in &config.stages {
        if !order.contains(stage) {
            order.push(stage.clone());
        }
    }
    if !order.iter().any(|s| s == ".pre") {
        order.insert(0, ".pre".into());
    }
    if !order.iter().any(|s| s == ".post") {
        order.push(".post".into());
    }
    let listed = if config.root.get("stages").is_some() {
        "`stages:` does not list"
    } else {
        "is not one of GitLab's default stages, as the file has no `stages:`"
    };
    for j in jobs {
        if !order.contains(&j.stage) {
            warnings.push(Warning::at(
                j.file,
                j.line,
                format!("job `{}` is in stage `{}`, which {listed}, and GitLab refuses that: the stage is added last", j.gitlab_name, j.stage),
            ));
            let at = order.len() - 1;
            order.insert(at, j.stage.clone());
        }
    }
    order
}

/// Each condition of the templates and jobs without what the pipeline's `on` says.
fn drop_what_on_says(on: &Cond, templates: &mut [TemplateOut], jobs: &mut [JobOut]) {
    // what each job built on templates without a `when` of its own is to get from
    // them, less `on`
    let wanted_when: HashMap<String, Option<PVal>> = (jobs.iter())
        .filter(|j| !j.bases.is_empty() && !j.fields.contains_key("when"))
        .map(|j| {
            let mut fields = BTreeMap::new();
            if let Some(when) = composed_when(&j.bases, templates) {
                fields.insert("when".to_string(), when);
            }
            drop_from_when(&mut fields, on);
            (j.name.clone(), fields.remove("when"))
        })
        .collect();
    let bases_say: Vec<bool> = (templates.iter())
        .map(|t| (t.bases.iter()).any(|&b| templates[b].fields.contains_key("when")))
        .collect();
    for (t, bases_say) in templates.iter_mut().zip(bases_say) {
        drop_from_when(&mut t.fields, on);
        if let Some(own) = &mut t.own {
            // as at a job: a `when` now always true still hides its bases' own
            let had_when = own.fields.contains_key("when");
            drop_from_when(&mut own.fields, on);
            if had_when && bases_say && !own.fields.contains_key("when") {
                own.fields.insert("when".into(), PVal::Cond(Cond::True));
            }
        }
    }
    for j in jobs {
        let had_when = j.fields.contains_key("when");
        drop_from_when(&mut j.fields, on);
        // a job's own condition, now always true, still hides its bases' own
        let bases_say = |t: &TemplateOut| t.fields.contains_key("when");
        let bases_say = j.bases.iter().any(|&b| bases_say(&templates[b]));
        if had_when && !j.fields.contains_key("when") && bases_say {
            j.fields.insert("when".into(), PVal::Cond(Cond::True));
        }
        // and a later base's, now always true, no longer hides an earlier one's
        // (`from deploy(), notify()`: `deploy`'s `manual` would show through)
        if !j.fields.contains_key("when") {
            let composed = composed_when(&j.bases, templates);
            let wanted = wanted_when.get(&j.name).cloned().flatten();
            if composed != wanted {
                let when = wanted.unwrap_or(PVal::Cond(Cond::True));
                j.fields.insert("when".into(), when);
            }
        }
    }
}

/// The `when` a job built on `bases` gets from them: the last one's that has one.
fn composed_when(bases: &[usize], templates: &[TemplateOut]) -> Option<PVal> {
    (bases.iter().rev()).find_map(|&b| templates[b].fields.get("when").cloned())
}

/// A job's condition: its own `when`, else the one its bases give it.
fn job_condition<'j>(job: &'j JobOut, templates: &'j [TemplateOut]) -> Option<&'j Cond> {
    let from_bases = || (job.bases.iter().rev()).find_map(|&b| templates[b].fields.get("when"));
    (job.fields.get("when").or_else(from_bases)).map(condition_of)
}

/// When every job built on templates writes `when = true` (jobs keeping hidden jobs of
/// other files leave their rules to those), and every template is one some job is built
/// on, no template's condition reaches a job: the templates lose theirs, and the jobs
/// the `when = true` that only hid them (a line per job and template fewer, the same
/// jobs; a job with a condition of its own keeps its templates' for what they say).
fn drop_conditions_every_job_replaces(templates: &mut [TemplateOut], jobs: &mut [JobOut]) {
    let built_on_templates = || jobs.iter().filter(|j| !j.bases.is_empty());
    let always = |j: &JobOut| says_when_true(&j.fields);
    if built_on_templates().next().is_none() || !built_on_templates().all(always) {
        return;
    }
    // a template no job is built on is kept for what it says, its condition too
    let reached = reached_by_jobs(templates, jobs);
    if (templates.iter().zip(&reached)).any(|(t, reached)| t.used && !reached) {
        return;
    }
    for t in templates.iter_mut() {
        t.fields.remove("when");
        if let Some(own) = &mut t.own {
            own.fields.remove("when");
        }
    }
    for j in jobs.iter_mut() {
        if says_when_true(&j.fields) {
            j.fields.remove("when");
        }
    }
}

/// A `when` field's condition (framed with its origin for a check, or not).
fn condition_of(when: &PVal) -> &Cond {
    match when.bare() {
        PVal::Cond(c) => c,
        _ => &Cond::True,
    }
}

/// A job's `when` without the conjuncts the pipeline's `on` already holds (GitLab's
/// default `only:`, `!merge_request`, in a pipeline that runs for no merge request).
fn drop_from_when(fields: &mut BTreeMap<String, PVal>, on: &Cond) {
    let Some(PVal::Cond(c)) = fields.get_mut("when").map(PVal::bare_mut) else {
        return;
    };
    *c = std::mem::replace(c, Cond::True).without(on);
    if *c == Cond::True {
        fields.remove("when");
    }
}

/// The pipeline's `on`: `workflow: rules` as a condition, else `!merge_request` when
/// no job asks for merge requests (GitLab then creates no merge-request pipeline).
fn pipeline_on<'j>(
    config: &Config,
    with_other_files: bool,
    jobs: &'j [JobOut],
    templates: &'j [TemplateOut],
    pipeline_notes: &mut Vec<Note>,
) -> Option<Cond> {
    let included = included_workflow(config);
    let Some(workflow) = config.root.get("workflow").or(included.as_ref()) else {
        // an include not read (or the file including this one) may hold a `workflow:`,
        // or jobs whose rules ask for merge request pipelines: each job says that it
        // does not run in one (GitLab's default)
        if with_other_files {
            return None;
        }
        // without workflow rules GitLab creates a merge request's pipeline when some
        // job's rules can hold in one
        let when_of = |j: &'j JobOut| job_condition(j, templates);
        let any_mr =
            (jobs.iter().map(when_of)).any(|w| w.is_none_or(Cond::asks_for_merge_requests));
        // written only where some job's or template's condition says it (GitLab's
        // default `only:`): jobs that run for named branches (`branch == "main"`) need
        // no `on`
        let on = Cond::not(Cond::atom(Atom::MergeRequest));
        let conditions = (jobs.iter().filter_map(when_of)).chain(
            templates
                .iter()
                .filter_map(|t| t.fields.get("when").map(condition_of)),
        );
        let said = { conditions }.any(|c| c.clone().without(&on).asks_for_merge_requests());
        return (!any_mr && said).then_some(on);
    };
    workflow
        .get("rules")
        .and_then(|rules| workflow_on(rules, pipeline_notes))
}

/// Without `workflow:`, GitLab creates a merge-request pipeline when some job's rules can
/// hold in one; a job whose rules hold everywhere (`rules: [{when: on_success}]`) is
/// imported with no `when`, and `plumb build` creates merge-request pipelines only for a
/// job whose `when` asks for them. When none does, each such job says what is lost.
fn note_merge_request_pipelines_lost(
    config: &Config,
    jobs: &mut [JobOut],
    templates: &[TemplateOut],
) {
    let workflow_rules = (config.root.get("workflow")).and_then(|w| w.get("rules"));
    if workflow_rules.is_some() {
        return;
    }
    let when_of = |j: &JobOut| job_condition(j, templates).cloned();
    // (a template no job is built on creates no pipeline: kept for the files that
    // include this one, its `when` is theirs)
    let reached = reached_by_jobs(templates, jobs);
    let asked = (jobs.iter().filter_map(when_of))
        .chain(
            (templates.iter().zip(&reached))
                .filter(|(_, reached)| **reached)
                .filter_map(|(t, _)| t.fields.get("when").map(|w| condition_of(w).clone())),
        )
        .any(|c| c.asks_for_merge_requests());
    if asked {
        return;
    }
    let rules_line = |j: &JobOut| {
        let job = config.jobs.iter().find(|c| c.name == j.gitlab_name)?;
        let rules = job.full.get("rules")?;
        Some((rules.file, rules.line, rules.end_line))
    };
    for j in jobs.iter_mut() {
        // (rules that hold everywhere once a test Plumb cannot make is widened: that
        // note says so)
        let approximated =
            || (j.notes.iter()).any(|n| n.message.starts_with(convert::APPROXIMATED));
        if when_of(j).is_some() || approximated() {
            continue;
        }
        let Some((file, line, end_line)) = rules_line(j) else {
            continue;
        };
        j.notes.push(Note {
            file,
            line,
            end_line,
            message: "these `rules:` hold in every pipeline, so GitLab also creates a merge-request pipeline for the job; `plumb build` creates merge-request pipelines only for a job whose `when` names `merge_request`: give one such a `when` to keep them".to_string(),
        });
    }
}

/// The `workflow:` of GitLab's own workflow templates, when the file includes one and
/// writes none: `Workflows/MergeRequest-Pipelines` runs jobs without rules for merge
/// requests (whose untrusted code then gets the secrets).
fn included_workflow(config: &Config) -> Option<crate::yaml::Node> {
    const TEMPLATES: &[(&str, &str)] = &[
        (
            "Workflows/MergeRequest-Pipelines.gitlab-ci.yml",
            "workflow:\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n    - if: $CI_COMMIT_TAG\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n",
        ),
        (
            "Workflows/Branch-Pipelines.gitlab-ci.yml",
            "workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\n    - if: $CI_COMMIT_BRANCH\n",
        ),
    ];
    // the include that names one: its file is where the rules are read as written
    let (file, workflow) = config.includes.iter().find_map(|item| {
        let name = item.get("template").and_then(crate::yaml::Node::as_str)?;
        let (_, yaml) = TEMPLATES.iter().find(|(t, _)| *t == name)?;
        Some((item.file, *yaml))
    })?;
    let docs = crate::yaml::parse(workflow, file).ok()?;
    docs.into_iter().next()?.get("workflow").cloned()
}

/// `workflow:` keys other than `rules`: `name` and `auto_cancel` go to the pipeline's
/// `gitlab = { workflow = { … } }` as written; any other is a note.
fn workflow_passed_through(
    workflow: &crate::yaml::Node,
    pipeline_notes: &mut Vec<Note>,
) -> Vec<(String, PVal)> {
    const CARRIED: &[&str] = &["name", "auto_cancel"];
    // a rule's own `auto_cancel` (noted at the rule) would not be carried: the
    // pipeline's would then hold where the rule says otherwise
    let rules_override = (workflow
        .get("rules")
        .map(crate::yaml::Node::flattened)
        .unwrap_or_default())
    .into_iter()
    .any(|r| r.get("auto_cancel").is_some());
    let mut carried = Vec::new();
    for e in workflow.entries().iter().filter(|e| e.key != "rules") {
        let overridden = e.key == "auto_cancel" && rules_override;
        let value = (CARRIED.contains(&e.key.as_str()) && !overridden)
            .then(|| crate::value::of_yaml(&e.value))
            .flatten();
        match value {
            Some(v) => carried.push((e.key.clone(), v)),
            None => pipeline_notes.push(Note {
                file: e.value.file,
                line: e.key_line,
                end_line: e.value.end_line,
                message: format!("`workflow: {}` is not carried", e.key),
            }),
        }
    }
    if carried.is_empty() {
        return Vec::new();
    }
    vec![("workflow".to_string(), PVal::Record(carried))]
}

/// Whether a job reads its GitLab name (`$CI_JOB_NAME`, not its slug) anywhere: a
/// script, an artifact's name, a cache key, a variable.
fn reads_job_name(job: &crate::yaml::Node) -> bool {
    let mut stack = vec![job];
    while let Some(n) = stack.pop() {
        match &n.kind {
            crate::yaml::Kind::Scalar { text, .. } => {
                let mut at = text.match_indices("CI_JOB_NAME");
                if at.any(|(i, m)| !text[i + m.len()..].starts_with('_')) {
                    return true;
                }
            }
            crate::yaml::Kind::Seq(items) => stack.extend(items),
            crate::yaml::Kind::Map(entries) => stack.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    false
}

/// `workflow: rules` as the pipeline's `on` (`None` when they let every pipeline run).
fn workflow_on(rules: &crate::yaml::Node, pipeline_notes: &mut Vec<Note>) -> Option<Cond> {
    let decision = crate::cond::rules(rules, crate::cond::JobDefaults::default());
    let mut unknown = Vec::new();
    let c = decision.cond.approximate(&mut unknown);
    for (line, message) in decision.notes {
        pipeline_notes.push(Note {
            file: rules.file,
            line,
            end_line: line,
            message,
        });
    }
    if !unknown.is_empty() {
        pipeline_notes.push(Note {
            file: rules.file,
            line: rules.line,
            end_line: rules.end_line,
            message: format!(
                "workflow condition approximated: Plumb cannot test {}",
                unknown
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    match c {
        Cond::True => None,
        c => Some(c),
    }
}

impl Emitter<'_> {
    /// A job without a script that an include not read (or a base it extends that is
    /// not in the file) may complete: GitLab merges a job of one name from every file.
    fn completes_an_unread_job(&self, j: &gitlab::Job, f: &Fields) -> bool {
        !f.trigger
            && !f.never
            && !f.fields.contains_key("run")
            && (!self.config.includes.is_empty()
                || gitlab::extends_undefined(&self.config.root, &j.extends))
    }

    /// The pipeline's `gitlab = { … }`: `workflow`, then each job completing an
    /// included one as a block that names its YAML line, like a job's.
    fn write_pipeline_gitlab(&self, text: &mut String, plan: &Plan) {
        if plan.completions.is_empty() {
            if !plan.pipeline_gitlab.is_empty() {
                let mut s = String::new();
                PVal::Record(plan.pipeline_gitlab.clone()).write(&mut s, 2);
                let _ = writeln!(text, "  gitlab  = {s}");
            }
            return;
        }
        text.push_str("  gitlab  = {\n");
        let entry = |text: &mut String, k: &str, v: &PVal, indent: usize| {
            let mut s = String::new();
            v.write(&mut s, indent);
            let _ = writeln!(text, "{:indent$}{} = {s}", "", crate::value::key(k));
        };
        for (k, v) in &plan.pipeline_gitlab {
            entry(text, k, v, 4);
        }
        for (name, file, line, keys) in &plan.completions {
            let marker = format!("# {}:{line}", self.file_names[*file]);
            let _ = writeln!(text, "    {} = {{  {marker}", crate::value::key(name));
            if let PVal::Record(entries) = keys {
                for (k, v) in entries {
                    entry(text, k, v, 6);
                }
            }
            text.push_str("    }\n");
        }
        text.push_str("  }\n");
    }

    /// For an import: the keys of a job without a script that completes a job of an
    /// include not read (`sast: { variables: … }` beside `include: template: SAST…`),
    /// as written, for the pipeline's `gitlab = { sast = { … } }`: GitLab merges them
    /// into the included job. `None` when it is not such a job; `Err` why it cannot be
    /// carried (a script or an image is checked only in a job of its own).
    fn completion(&self, j: &gitlab::Job) -> Option<Result<PVal, String>> {
        if self.origins || self.config.includes.is_empty() {
            return None;
        }
        let written = j.written.as_ref()?;
        // a trigger job is whole without a script: it completes no included job
        if written.get("trigger").is_some() {
            return None;
        }
        // `rules: [{when: never}]` turns the included job of that name off, script or
        // not (one that names no included job never runs either)
        let turned_off = written.get("rules").is_some_and(only_never_rules);
        let unchecked = (written.entries().iter())
            .map(|e| e.key.as_str())
            .filter(|_| !turned_off)
            .find(|k| plumb_semantics::fields::INCLUDED_JOB_UNCHECKED.contains(k));
        if let Some(key) = unchecked {
            return Some(Err(format!("it has no `script`, and its `{key}:` (for the job of an included file) is checked only in a job of its own: write that job in Plumb")));
        }
        if plumb_semantics::fields::NOT_INCLUDED_JOBS.contains(&j.name.as_str()) {
            return None;
        }
        Some(match crate::value::of_yaml(written) {
            Some(keys) if !holds_nothing(written) => Ok(keys),
            _ => Err("it has no `script`, and it takes keys from a file not read (a `!reference`): GitLab's merge of it into the included job cannot be written".into()),
        })
    }

    /// The keys of job `i` of `config.jobs` for the pipeline's `gitlab`, when it
    /// completes a job of an include not read and they can be carried.
    fn completion_of(&self, i: usize) -> Option<&PVal> {
        self.completions.get(i)?.as_ref()?.as_ref().ok()
    }

    /// The names of included jobs the pipeline's `gitlab` completes: GitLab's, so no
    /// job renamed here may take one.
    fn completed_job_names(&self) -> Scope {
        let mut scope = Scope::default();
        for (i, j) in self.config.jobs.iter().enumerate() {
            if self.completion_of(i).is_some() {
                scope.unique(j.name.clone());
            }
        }
        scope
    }

    /// For a check: what the jobs' `trigger: include:` take from other projects, remote
    /// files, templates or components (a child pipeline's configuration), so that
    /// PL6004 asks of them what it asks of the file's own `include:`; never written
    /// into an import (the child pipeline is not this pipeline's configuration).
    fn child_pipeline_includes(&self) -> Vec<crate::yaml::Node> {
        let pinned_kinds = ["project", "remote", "template", "component"];
        // each child pipeline is a configuration of its own: one file included by two
        // triggers, or by a trigger and the file itself, is asked once (no PL1002)
        let key = |item: &crate::yaml::Node| {
            let (kind, target) = crate::gitlab::include_kind(item);
            let text = |k: &str| {
                item.get(k)
                    .map(crate::yaml::Node::strings)
                    .unwrap_or_default()
            };
            (kind, target, text("ref"), text("file"))
        };
        let mut seen: Vec<_> = self.config.includes.iter().map(key).collect();
        let mut out = Vec::new();
        let items = (self.config.jobs.iter())
            .filter_map(|j| j.full.get("trigger")?.get("include"))
            .flat_map(|include| match &include.kind {
                crate::yaml::Kind::Seq(items) => items.clone(),
                _ => vec![include.clone()],
            });
        for item in items {
            let k = key(&item);
            if pinned_kinds.contains(&k.0) && !seen.contains(&k) {
                seen.push(k);
                out.push(item);
            }
        }
        out
    }

    /// A job's environment: its variables, its Vault secrets, and a secret for each
    /// credential-like variable its script uses that the file does not define.
    fn env(&mut self, f: &Fields) -> Vec<(String, PVal)> {
        let mut env: Vec<(String, PVal)> = f
            .env
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let at = f.env_at.get(i).copied().flatten();
                (k.clone(), PVal::at(at, PVal::Str(v.clone())))
            })
            .collect();
        for v in &f.vault {
            let source = Source::Vault(v.path.clone(), v.field.clone(), v.file);
            let name = self.secrets.name(source, &v.variable, &mut self.globals);
            env.retain(|(k, _)| *k != v.variable);
            env.push((v.variable.clone(), PVal::Name(name)));
        }
        for (var, audience) in &f.id_tokens {
            let source = Source::IdToken(audience.clone());
            let name = self.secrets.name(source, var, &mut self.globals);
            env.retain(|(k, _)| k != var);
            env.push((var.clone(), PVal::Name(name)));
        }
        // every script reads the project's variables, `after_run` too; `after_run` runs
        // in a shell of its own, where what `run` assigned is gone
        let script_of = |keys: &[&str]| -> Vec<PVal> {
            (keys.iter())
                .filter_map(|k| match f.fields.get(*k) {
                    Some(PVal::List(lines)) => Some(lines.iter().cloned()),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        let (main, after) = (script_of(&["before_run", "run"]), script_of(&["after_run"]));
        let assigned = [assigned_in(&main), assigned_in(&after)];
        let lines: Vec<(usize, PVal)> = (main.into_iter().map(|l| (0, l)))
            .chain(after.into_iter().map(|l| (1, l)))
            .collect();
        // what the job's own variables define (not a placeholder, not `X: $X`), and the
        // variables of its `secrets:` Plumb does not carry
        let own: HashSet<&str> = (f.env.iter())
            .filter(|(k, v)| !is_self_reference(v, k) && !self.placeholder(k, v))
            .map(|(k, _)| k.as_str())
            .chain(f.secrets_not_carried.iter().map(String::as_str))
            .collect();
        for (shell, line) in &lines {
            let PVal::Str(line) = line.bare() else {
                continue;
            };
            // `sh -c "… \$T"` passes `$T` to the shell it runs: declared too (the
            // checker decides where it is read)
            let named = (shell_variables_named(line).chain(variables_named(line)))
                .chain(plumb_semantics::variables_read_by_name(line));
            for var in self.settings_credentials(named) {
                if assigned[*shell].contains(&var) || own.contains(var.as_str()) {
                    continue;
                }
                // declared, not bound: a `ci_variable` secret is one every job reads by
                // name (§7.4), and a binding would add a variable the YAML does not set.
                // `DEPLOY_TOKEN: ""` in the YAML is kept as written; the checker follows
                // the script's `$DEPLOY_TOKEN`
                match env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.bare()) {
                    None => {
                        self.settings_secret(&var);
                    }
                    Some(PVal::Str(value)) if self.placeholder(&var, value) => {
                        self.settings_secret(&var);
                    }
                    Some(_) => {}
                }
            }
        }
        // a variable set to `$DEPLOY_TOKEN` holds that secret: declared, it is in scope,
        // and the checker follows the variable (binding it here would change the YAML)
        for (name, value) in &f.env {
            for var in self.credentials_read_by(name, value) {
                if !own.contains(var.as_str()) {
                    self.settings_secret(&var);
                }
            }
        }
        // a service's own variables (`POSTGRES_PASSWORD: $DB_PASSWORD`), an environment's
        // URL, a release's description, `hooks:` scripts: GitLab expands them all
        let mut texts = Vec::new();
        for (key, value) in &f.fields {
            if !matches!(key.as_str(), "before_run" | "run" | "after_run") {
                strings_of(value, &mut texts);
            }
        }
        for text in texts {
            for var in self.settings_credentials(variables_named(text)) {
                if !own.contains(var.as_str()) {
                    self.settings_secret(&var);
                }
            }
        }
        env
    }

    /// `API_TOKEN: ""` for a variable the settings evidently provide.
    fn placeholder(&self, name: &str, value: &str) -> bool {
        is_placeholder(name, value) && self.from_settings.contains(name)
    }

    /// The credential-like variables `names` holds that the file does not define: the
    /// CI/CD settings provide them (each once).
    fn settings_credentials<'t>(&self, names: impl Iterator<Item = &'t str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for var in names {
            if looks_like_credential(var)
                && !self.defined.contains(var)
                && !out.iter().any(|o| o == var)
            {
                out.push(var.to_string());
            }
        }
        out
    }

    /// The settings' variables that hold a credential, read by the variable `name` set
    /// to `value`: credential-like ones (`KUBE_TOKEN: $DEPLOY_TOKEN`), and the one a
    /// credential-like variable is set to (`AWS_SECRET_ACCESS_KEY: $PROD_AWS_KEY`).
    fn credentials_read_by(&self, name: &str, value: &str) -> Vec<String> {
        let mut out = self.settings_credentials(variables_named(value));
        let whole =
            |v: &&str| [format!("${v}"), format!("${{{v}}}")].contains(&value.trim().to_string());
        let sole = variables_named(value).next().filter(whole);
        // a predefined variable (`$CI_COMMIT_SHORT_SHA`) is what GitLab says it is
        let predefined = |v: &str| v.starts_with("CI_") || v.starts_with("GITLAB_");
        let settings = |v: &&str| !self.defined.contains(*v) && !predefined(v);
        if let Some(var) = sole.filter(|v| looks_like_credential(name) && settings(v)) {
            if !out.iter().any(|o| o == var) {
                out.push(var.to_string());
            }
        }
        out
    }

    /// The `ci_variable` secret for a variable of the CI/CD settings, declared once.
    fn settings_secret(&mut self, var: &str) -> String {
        self.secrets
            .name(Source::CiVariable(var.to_string()), var, &mut self.globals)
    }

    /// Writes notes as `# gitlab:` comments with the YAML they are about, and reports
    /// each as a warning.
    fn notes(
        &self,
        text: &mut String,
        notes: &[Note],
        indent: &str,
        what: &str,
        warnings: &mut Vec<Warning>,
    ) {
        for n in notes {
            // one comment per YAML place and cause; every job it concerns goes to the
            // warnings, which name the first and count the others
            warnings.push(Warning::about(n.file, n.line, what, &n.message));
            let key = (n.file, n.line, n.message.clone());
            if !self
                .noted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key)
            {
                continue;
            }
            let _ = writeln!(
                text,
                "{indent}# gitlab: {} ({}:{})",
                one_line(&n.message),
                self.file_names[n.file],
                n.line
            );
            // the checker does not read comments: a check is spared the YAML quoted
            if !self.origins {
                self.snippet(text, n.file, n.line, n.end_line, indent);
            }
        }
    }

    /// Whether the YAML node of the top-level key on `line` holds a comment (which the
    /// import carries into the block): such a job or template keeps its block, where
    /// the comment goes next to what it is about. Unknown: it does.
    fn has_comments_inside(&self, file: usize, line: usize) -> bool {
        self.inside
            .is_none_or(|inside| inside.holds_a_comment(file, line))
    }

    /// The YAML lines `line..=end` of a file, as comments (at most 12).
    fn snippet(&self, text: &mut String, file: usize, line: usize, end: usize, indent: &str) {
        let (Some((_, source)), Some(starts)) =
            (self.config.sources.get(file), self.line_starts.get(file))
        else {
            return;
        };
        // found through the line starts: a walk from the file's top for each note would
        // cost the file's size per note
        let first = line.saturating_sub(1).min(starts.len());
        let last = end.max(line).min(starts.len());
        let lines: Vec<&str> = starts[first..last]
            .iter()
            .map(|&at| source[at..].split(['\n', '\r']).next().unwrap_or(""))
            .collect();
        for l in lines.iter().take(12) {
            let _ = writeln!(text, "{indent}#   {}", one_line(l.trim_end()));
        }
        let shown = lines.len().min(12);
        if shown > 0 {
            let mut quoted = self.quoted.lock().unwrap_or_else(|e| e.into_inner());
            quoted.push((file, first + 1, first + shown));
        }
        if lines.len() > 12 {
            // where the rest is, so that nothing the comment leaves out is lost
            let more = lines.len() - 12;
            let plural = if more == 1 { "" } else { "s" };
            let (from, to) = (first + 13, first + lines.len());
            let name = self.file_names.get(file).map_or("", String::as_str);
            let _ = writeln!(
                text,
                "{indent}#   … ({more} more line{plural}: {name}:{from}-{to})"
            );
        }
    }
}

/// The job instantiates the templates `bases`, writing only `own`; what a template
/// could not carry is said at the template, not again at the job.
fn attach_templates(
    out: &mut JobOut,
    templates: &mut [TemplateOut],
    bases: &[usize],
    own: OwnPart,
) {
    out.fields = own.fields;
    out.env = own.env;
    // needs that are optional or take no artifacts, or that go with needs kept for
    // GitLab (`gitlab = { needs }`, which PL1004 wants beside the job's own), are
    // written by the job: a template carries neither
    let flagged = convert::NeedFlags::any_said(&out.needs_flags);
    let kept_for_gitlab = (out.fields.get("gitlab").map(PVal::bare))
        .is_some_and(|g| matches!(g, PVal::Record(r) if r.iter().any(|(k, _)| k == "needs")));
    if own.inherits_needs && !flagged && !kept_for_gitlab {
        out.has_needs = false;
        out.needs.clear();
        out.needs_at.clear();
        out.needs_flags.clear();
    }
    if own.inherits_dependencies {
        out.dependencies = None;
    }
    for &t in bases {
        templates[t].used = true;
        drop_notes_said_by(&mut out.notes, &templates[t].notes);
    }
}

/// One warning for the jobs whose GitLab name is no Plumb name (`Run pylint` is
/// `Run-pylint`): GitLab runs them under the new names, which a `needs:` in another
/// pipeline, a trigger or a team's habits may still use.
fn warn_of_renamed_jobs(jobs: &[JobOut], warnings: &mut Vec<Warning>) {
    const LISTED: usize = 5;
    let renamed: Vec<&JobOut> = jobs.iter().filter(|j| j.name != j.gitlab_name).collect();
    let Some(first) = renamed.first() else {
        return;
    };
    let list: Vec<String> = (renamed.iter())
        .map(|j| format!("`{}` is `{}`", j.gitlab_name, j.name))
        .collect();
    let (count, them) = match renamed.len() {
        1 => ("1 job is".to_string(), "it under the new name"),
        n => (format!("{n} jobs are"), "them under the new names"),
    };
    warnings.push(Warning::at(
        first.file,
        first.line,
        format!(
            "{count} named anew, as a Plumb name is an identifier, not a keyword ({}): GitLab will run {them}, so update what names the old ones elsewhere (another pipeline's `needs:`, API calls)",
            crate::first_and_count(&list, LISTED)
        ),
    ));
}

/// Stages (that jobs are in) whose GitLab names are not Plumb identifiers: one
/// warning, at `stages:`.
fn warn_of_renamed_stages(config: &Config, stages: &[String], warnings: &mut Vec<Warning>) {
    const LISTED: usize = 5;
    let renamed: Vec<String> = (stages.iter())
        .filter(|s| identifier(s, "stage") != **s)
        .map(|s| format!("`{s}` is `{}`", identifier(s, "stage")))
        .collect();
    if renamed.is_empty() {
        return;
    }
    let special = (stages.iter()).any(|s| matches!(s.as_str(), ".pre" | ".post"));
    let list = crate::first_and_count(&renamed, LISTED);
    // at `stages:`, or without one, at the first job's `stage:` that names one renamed
    let stages_line = (config.root.entries().iter())
        .find(|e| e.key == "stages")
        .map(|e| (0, e.key_line));
    let first_stage_line = || {
        (config.jobs.iter())
            .filter_map(|j| j.full.get("stage"))
            .find(|s| s.as_str().is_some_and(|s| identifier(s, "stage") != s))
            .map(|s| (s.file, s.line))
    };
    let (file, line) = stages_line.or_else(first_stage_line).unwrap_or((0, 1));
    let aside = if special {
        "; `.pre` and `.post` become ordinary stages, first and last of `stages:` (an included file's stages may then come after `post`)"
    } else {
        ""
    };
    warnings.push(Warning::at(
        file,
        line,
        format!("stages are named anew, as a Plumb name is an identifier, not a keyword ({list}): GitLab shows them under the new names{aside}"),
    ));
}

/// The (file, line) of each value hidden job `h` took from a YAML anchor (`<<: *a`,
/// or the whole job an alias): written before the job, as anchors are.
fn merged_value_lines(h: &gitlab::Job) -> Vec<(usize, usize)> {
    (h.full.entries().iter())
        .filter(|e| e.value.file == h.full.file && e.value.line < h.line)
        .map(|e| (e.value.file, e.value.line))
        .collect()
}

/// `notes` without those `said` already has (same place, same words).
fn drop_notes_said_by(notes: &mut Vec<Note>, said: &[Note]) {
    notes.retain(|n| {
        !said
            .iter()
            .any(|s| (s.file, s.line, &s.message) == (n.file, n.line, &n.message))
    });
}

/// For a job that `extends` no template it can use (it took a hidden job through YAML
/// merge keys, `<<: *anchor`, or repeats one's fields): the `allowed` template that
/// leaves it the fewest lines of its own (and how many), when that saves two or more.
fn best_template(
    job: &Flat,
    templates: &[TemplateOut],
    index: &ValueIndex,
    default: &BTreeMap<String, PVal>,
    allowed: &dyn Fn(usize) -> bool,
) -> Option<(Vec<usize>, OwnPart, usize)> {
    let alone = lines_alone(job, default);
    (index.candidates(job).into_iter())
        .map(|i| (i, &templates[i]))
        .filter(|(i, t)| (!t.fields.is_empty() || !t.env.is_empty()) && allowed(*i))
        // a template gives every field it has: the job must have them all (a cheap
        // test before composing, which keeps thousands of hidden jobs fast)
        .filter(|(_, t)| t.fields.keys().all(|k| job.fields.contains_key(k)))
        .filter(|(_, t)| (t.env.iter()).all(|(k, _)| job.env.iter().any(|(jk, _)| jk == k)))
        .filter_map(|(i, t)| {
            let own = own_part(job, &[t.flat()], default, false)?;
            let cost = written_lines(&own.fields, &own.env);
            (cost + MIN_SAVED <= alone).then_some((cost, i, own))
        })
        .min_by_key(|(cost, i, _)| (*cost, *i))
        .map(|(cost, i, own)| {
            more_bases(
                job,
                (vec![i], own, cost),
                templates,
                index,
                default,
                allowed,
            )
        })
}

/// The lines a base must save a job to be taken.
const MIN_SAVED: usize = 2;

/// The best single base, with more bases after it while each saves lines: a job that
/// merges two anchors (`<<: *a` and `<<: *b`) is `from a(), b()`, not `from a()` with
/// `b`'s fields copied into it. Later bases win, as GitLab's later keys do; a
/// composition that does not give the job is never taken.
fn more_bases(
    job: &Flat,
    mut best: (Vec<usize>, OwnPart, usize),
    templates: &[TemplateOut],
    index: &ValueIndex,
    default: &BTreeMap<String, PVal>,
    allowed: &dyn Fn(usize) -> bool,
) -> (Vec<usize>, OwnPart, usize) {
    const MOST_BASES: usize = 3;
    // the job's own part on these bases, and its lines (a base more: one more)
    let compose = |bases: &[usize]| {
        let flats: Vec<Flat> = bases.iter().map(|&b| templates[b].flat()).collect();
        let own = own_part(job, &flats, default, false)?;
        let cost = written_lines(&own.fields, &own.env) + 1;
        Some((own, cost))
    };
    let candidates = index.candidates(job);
    while best.0.len() < MOST_BASES {
        let next = (candidates.iter().copied())
            .filter(|i| !best.0.contains(i) && allowed(*i))
            .filter(|&i| !templates[i].fields.is_empty() || !templates[i].env.is_empty())
            // at every place: a base whose value a later one replaces goes first
            // (`<<: *build` then `<<: *coverage` is `from build(), coverage()`)
            .flat_map(|i| (0..=best.0.len()).rev().map(move |at| (i, at)))
            .filter_map(|(i, at)| {
                let mut bases = best.0.clone();
                bases.insert(at, i);
                let (own, cost) = compose(&bases)?;
                (cost + MIN_SAVED <= best.2).then_some((bases, own, cost, i))
            })
            // a template as written before a variant of one (the part of it a job takes)
            .min_by_key(|(_, _, cost, i)| (*cost, templates[*i].variant_of.is_some(), *i))
            .map(|(bases, own, cost, _)| (bases, own, cost));
        match next {
            Some(found) => best = found,
            None => break,
        }
    }
    // in the file's order, when that composes the job as well
    let mut in_order = best.0.clone();
    in_order.sort_unstable();
    if in_order != best.0 {
        if let Some((own, cost)) = compose(&in_order).filter(|(_, cost)| *cost <= best.2) {
            best = (in_order, own, cost);
        }
    }
    best
}

/// Templates by the values they hold, so that a job is composed only with the few
/// templates it shares a value with, not with every template of the file.
struct ValueIndex {
    by_value: HashMap<String, Vec<usize>>,
}

impl ValueIndex {
    /// How many templates are composed with a job: those sharing the most values with it.
    const CANDIDATES: usize = 32;

    fn new(templates: &[TemplateOut]) -> Self {
        let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in templates.iter().enumerate() {
            for key in value_keys(&t.flat()) {
                by_value.entry(key).or_default().push(i);
            }
        }
        ValueIndex { by_value }
    }

    /// The templates that share the most values with `job`, in their order.
    fn candidates(&self, job: &Flat) -> Vec<usize> {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for t in value_keys(job)
            .filter_map(|key| self.by_value.get(&key))
            .flatten()
        {
            *shared.entry(*t).or_default() += 1;
        }
        let mut found: Vec<(usize, usize)> = shared.into_iter().collect();
        found.sort_unstable_by_key(|&(t, n)| (std::cmp::Reverse(n), t));
        found.truncate(Self::CANDIDATES);
        let mut found: Vec<usize> = found.into_iter().map(|(t, _)| t).collect();
        found.sort_unstable();
        found
    }
}

/// Each field and each variable of a job or template as one string: its name and value.
fn value_keys<'a>(flat: &'a Flat) -> impl Iterator<Item = String> + 'a {
    let text = |v: &PVal| {
        let mut s = String::new();
        v.write(&mut s, 0);
        s
    };
    let fields = (flat.fields.iter()).map(move |(k, v)| format!("{k}\u{0}{}", text(v)));
    let env = (flat.env.iter()).map(move |(k, v)| format!("env\u{0}{k}\u{0}{}", text(v)));
    fields.chain(env)
}

/// How many lines a job's fields take with no template.
fn lines_alone(job: &Flat, default: &BTreeMap<String, PVal>) -> usize {
    let mut own = job.fields.clone();
    drop_what_default_gives(&mut own, default, false);
    written_lines(&own, job.env)
}

/// How many lines these fields take in the program.
fn written_lines(fields: &BTreeMap<String, PVal>, env: &[(String, PVal)]) -> usize {
    let mut text = String::new();
    write_fields(&mut text, fields, env, None, &Lets::default(), "");
    text.lines().count()
}

fn ordered(fields: &BTreeMap<String, PVal>) -> Vec<(String, PVal)> {
    FIELD_ORDER
        .iter()
        .filter_map(|k| fields.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// The program's lets: images by their text, and the values (caches, services) each
/// let replaces.
#[derive(Default)]
struct Lets {
    images: HashMap<String, String>,
    /// By the value's text (see [`written_text`]).
    values: HashMap<String, String>,
}

fn with_lets(v: PVal, lets: &Lets) -> PVal {
    match v {
        PVal::At(origin, inner) => PVal::At(origin, Box::new(with_lets(*inner, lets))),
        PVal::Image(s) => match lets.images.get(&s) {
            Some(name) => PVal::Name(name.clone()),
            None => PVal::Str(s),
        },
        PVal::Named(_, inner) => with_lets(*inner, lets),
        PVal::Record(entries) if !lets.values.is_empty() => {
            let record = PVal::Record(entries);
            match lets.values.get(&written_text(&record)) {
                Some(name) => PVal::Name(name.clone()),
                None => lists_as_lets(record, lets),
            }
        }
        PVal::List(items) => PVal::List(items.into_iter().map(|i| with_lets(i, lets)).collect()),
        other => other,
    }
}

/// A record whose lists that are `let`s (see [`list_lets`]) are written by name.
fn lists_as_lets(value: PVal, lets: &Lets) -> PVal {
    match value {
        PVal::At(origin, inner) => PVal::At(origin, Box::new(lists_as_lets(*inner, lets))),
        PVal::Record(entries) => PVal::Record(
            (entries.into_iter())
                .map(|(k, v)| (k, lists_as_lets(v, lets)))
                .collect(),
        ),
        PVal::List(items) => {
            let list = PVal::List(items);
            match lets.values.get(&written_text(&list)) {
                Some(name) => PVal::Name(name.clone()),
                None => list,
            }
        }
        other => other,
    }
}

fn write_fields(
    text: &mut String,
    fields: &BTreeMap<String, PVal>,
    env: &[(String, PVal)],
    needs: Option<&[PVal]>,
    lets: &Lets,
    indent: &str,
) {
    for k in FIELD_ORDER {
        let value = match *k {
            "needs" => needs.map(|n| PVal::List(n.to_vec())),
            "env" if !env.is_empty() => Some(PVal::Record(env.to_vec())),
            _ => fields.get(*k).cloned(),
        };
        if let Some(v) = value {
            let v = with_lets(v, lets);
            let mut s = String::new();
            v.write(&mut s, indent.len());
            if let Some(command) = one_long_command(k, &v, &s, indent.len()) {
                s = command;
            }
            let _ = writeln!(text, "{indent}{k} = {s}");
        }
    }
}

/// A script of one command that would not fit on the field's line as a list (which
/// then takes three lines), written as a string, one command per line, as a `Script`
/// may be: `run = "make all"` compiles to the same `script:`. Room is kept for the `=`
/// the formatter aligns.
fn one_long_command(key: &str, value: &PVal, written: &str, indent: usize) -> Option<String> {
    const ALIGNED_KEY: usize = 16;
    let is_script = matches!(key, "run" | "before_run" | "after_run");
    let PVal::List(items) = value else {
        return None;
    };
    let [item] = items.as_slice() else {
        return None;
    };
    let PVal::Str(command) = item else {
        return None;
    };
    let too_long = indent + ALIGNED_KEY + written.len() > plumb_fmt::RECORD_WIDTH;
    (is_script && too_long && !command.contains('\n')).then(|| {
        let mut s = String::new();
        item.write(&mut s, indent);
        s
    })
}

/// Image references used twice or more, each with a `let` name.
fn image_lets(
    default: &BTreeMap<String, PVal>,
    templates: &[&TemplateOut],
    jobs: &[JobOut],
    scope: &mut Scope,
) -> Vec<(String, String)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut count = |v: &PVal| {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                PVal::Image(s) => match counts.iter_mut().find(|(x, _)| x == s) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((s.clone(), 1)),
                },
                PVal::List(items) => stack.extend(items.iter().rev()),
                PVal::At(_, inner) => stack.push(inner),
                _ => {}
            }
        }
    };
    default.values().for_each(&mut count);
    templates
        .iter()
        .flat_map(|t| t.fields.values())
        .for_each(&mut count);
    jobs.iter()
        .flat_map(|j| j.fields.values())
        .for_each(&mut count);
    let named: Vec<String> = (counts.into_iter())
        .filter(|(image, n)| *n >= 2 && !image.contains('$'))
        .map(|(image, _)| image)
        .collect();
    let mut lets = Vec::new();
    for image in &named {
        let base = image_base(image);
        // images of one name tell themselves apart by their tags (`docker-dind` and
        // `docker-git`, not `docker` and `docker-2`)
        let alike: Vec<&String> = named.iter().filter(|i| image_base(i) == base).collect();
        let word = image_tag_word(image);
        let word_alike = (alike.iter()).filter(|i| image_tag_word(i) == word).count();
        // a version alone keeps the name (`docker` beside `docker-dind`)
        let name = match (word, image_tag(image)) {
            _ if alike.len() < 2 => base,
            (Some(word), _) if word_alike < 2 => format!("{base}-{word}"),
            (None, _) if word_alike < 2 => base,
            (_, Some(tag)) => format!("{base}-{tag}"),
            _ => base,
        };
        lets.push((scope.unique(identifier(&name, "image")), image.clone()));
    }
    lets
}

fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').nth(1)
}

/// What an image's tag says besides its version (`19.03-dind` is `dind`), if anything.
fn image_tag_word(image: &str) -> Option<String> {
    let words: Vec<&str> = (image_tag(image)?.split(['-', '_', '.']))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .collect();
    (!words.is_empty()).then(|| words.join("-"))
}

/// The hidden entries that are anchor holders (see [`is_anchor_holder`]), by where
/// their mapping is written: their GitLab names.
/// The hidden jobs of files not read that job `j` can keep in `gitlab = { extends }`
/// ([`gitlab::unread_bases`]): not for a trigger job (which takes no script or image),
/// nor names no hidden job can have (`far`, `.`, `.a b`), which the checker refuses.
fn keepable_unread_bases(
    root: &crate::yaml::Node,
    j: &gitlab::Job,
    f: &Fields,
) -> Option<gitlab::UnreadBases> {
    let hidden = |n: &String| plumb_semantics::fields::is_hidden_job_name(n);
    gitlab::unread_bases(root, &j.extends).filter(|b| b.names.iter().all(hidden) && !f.trigger)
}

/// What converting a job of the file needs to know of the whole file.
fn conversion_context<'c>(
    config: &'c Config,
    holders: &'c HashMap<(usize, crate::yaml::ByteRange), String>,
    top_vars: &'c [(String, String)],
    origins: bool,
) -> Ctx<'c> {
    let root = &config.root;
    Ctx {
        holders,
        variables: top_vars,
        variables_node: root.get("variables"),
        origins,
        // the file's own, or those of a GitLab workflow template it includes
        workflow_rules: root
            .get("workflow")
            .is_some_and(|w| w.get("rules").is_some())
            || included_workflow(config).is_some(),
    }
}

fn anchor_holders(config: &Config) -> HashMap<(usize, crate::yaml::ByteRange), String> {
    (config.hidden.iter())
        .filter(|h| is_anchor_holder(&h.full))
        .map(|h| ((h.full.file, h.full.span), h.name.clone()))
        .collect()
}

/// Job keywords that a cache or a service also has.
const SHARED_WITH_RECORDS: &[&str] = &["when", "variables"];

/// A hidden entry written to be used by alias, not by `extends`: a cache, a service,
/// variables. It has a key no job has (`key`, `paths`, `alias`, a variable's name) and
/// no job keyword but those a cache or a service shares (`when`, `variables`). A job
/// template with a mistyped key (`image` and `scirpt`) is still a template.
fn is_anchor_holder(node: &crate::yaml::Node) -> bool {
    let is_job_key = |k: &str| crate::gitlab::JOB_KEYWORDS.contains(&k);
    let keys = || node.entries().iter().map(|e| e.key.as_str());
    keys().any(|k| !is_job_key(k))
        && keys().all(|k| !is_job_key(k) || SHARED_WITH_RECORDS.contains(&k))
}

/// The fields whose records (or lists of records) a `let` may hold.
const LET_FIELDS: &[&str] = &["cache", "services"];

/// Caches and services used twice or more (an anchor or a `!reference` the YAML uses in
/// several jobs), each as a `let` when it is named in the YAML (see [`PVal::Named`]) or
/// takes several lines: (what it replaces, let name, value). Before them, the long lists
/// (a service's `command`, a cache's `paths`) that several of the records written
/// would repeat: the same arguments given to `postgres` in four services are one `let`.
fn value_lets(
    default: &BTreeMap<String, PVal>,
    templates: &[TemplateOut],
    jobs: &[JobOut],
    scope: &mut Scope,
) -> Vec<(PVal, String, PVal)> {
    let template_fields = templates
        .iter()
        .filter(|t| t.used)
        .map(TemplateOut::written);
    // every cache and service record, as often as the program holds it
    let records: Vec<&PVal> = (default.iter())
        .chain(template_fields.flatten())
        .chain(jobs.iter().flat_map(|j| j.fields.iter()))
        .filter(|(k, _)| LET_FIELDS.contains(&k.as_str()))
        .flat_map(|(_, v)| match v.bare() {
            PVal::List(items) => items.iter().collect(),
            _ => vec![v],
        })
        .filter(|i| matches!(i.bare(), PVal::Record(_)))
        .collect();
    // each record's text, found once for both kinds of `let`
    let texts: Vec<String> = records.iter().map(|r| written_text(r.bare())).collect();
    let record_lets = record_lets(&records, &texts, scope);
    let mut lets = list_lets(&records, &texts, &record_lets, scope);
    lets.extend(record_lets);
    lets
}

/// The records of [`value_lets`] used twice or more (`texts`: each one's written text).
fn record_lets(
    records: &[&PVal],
    texts: &[String],
    scope: &mut Scope,
) -> Vec<(PVal, String, PVal)> {
    // (the value, how many uses, its name in the YAML), and where each is by its text
    let mut found: Vec<(PVal, usize, Option<String>)> = Vec::new();
    let mut by_text: HashMap<&str, usize> = HashMap::new();
    for (item, text) in records.iter().zip(texts) {
        let hint = match item {
            PVal::Named(hint, _) => Some(hint.clone()),
            _ => None,
        };
        let value = item.bare();
        match by_text.entry(text) {
            Entry::Occupied(at) => {
                let (_, n, name) = &mut found[*at.get()];
                *n += 1;
                if name.is_none() {
                    *name = hint;
                }
            }
            Entry::Vacant(at) => {
                at.insert(found.len());
                found.push((value.clone(), 1, hint));
            }
        }
    }
    (found.into_iter())
        .filter(|(value, n, hint)| *n >= 2 && (hint.is_some() || takes_lines(value)))
        .map(|(value, _, hint)| {
            // an anchor's name that holds no letter (`.--`, `.ñ`) names nothing, and one
            // taken (a built-in such as `merge_request`) is better left for its content's
            let base = hint
                .map(|h| identifier(&h, "value"))
                .filter(|h| !h.starts_with("value-") && !scope.is_taken(h))
                .unwrap_or_else(|| identifier(&value_name(&value), "value"));
            let name = scope.unique(base);
            (value.clone(), name, value)
        })
        .collect()
}

/// The lists of literals inside the records the program writes (a record that is a
/// `let` once, any other as often as it is used) that would be written twice or more
/// and take a line of their own: each a `let` named by its record and key
/// (`postgres-command`).
fn list_lets(
    records: &[&PVal],
    texts: &[String],
    record_lets: &[(PVal, String, PVal)],
    scope: &mut Scope,
) -> Vec<(PVal, String, PVal)> {
    let let_texts: HashSet<String> = record_lets.iter().map(|(v, ..)| written_text(v)).collect();
    let mut written_once = HashSet::new();
    // (the list, how many times written, its name), and where each is by its text
    let mut found: Vec<(PVal, usize, String)> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    for (record, text) in records.iter().map(|r| r.bare()).zip(texts) {
        if let_texts.contains(text) && !written_once.insert(text) {
            continue;
        }
        let mut lists = Vec::new();
        long_lists_in(record, &value_name(record), &mut lists);
        for (list, name) in lists {
            match by_text.entry(written_text(list)) {
                Entry::Occupied(at) => found[*at.get()].1 += 1,
                Entry::Vacant(at) => {
                    at.insert(found.len());
                    found.push((list.clone(), 1, name));
                }
            }
        }
    }
    (found.into_iter())
        .filter(|(_, n, _)| *n >= 2)
        .map(|(list, _, name)| {
            let name = scope.unique(identifier(&name, "value"));
            (list.clone(), name, list)
        })
        .collect()
}

/// The lists of literals in a record (and the records in it) that the formatter writes
/// on lines of their own, each with the name of a `let` for it (`RECORD-KEY`).
fn long_lists_in<'v>(record: &'v PVal, record_name: &str, out: &mut Vec<(&'v PVal, String)>) {
    let PVal::Record(entries) = record else {
        return;
    };
    for (key, value) in entries {
        match value.bare() {
            PVal::Record(_) => long_lists_in(value.bare(), record_name, out),
            PVal::List(items)
                if items.len() > 1
                    && items.iter().all(|i| matches!(i.bare(), PVal::Str(_)))
                    && written_text(value.bare()).len() + LIST_AFTER_THE_KEY > LIST_WIDTH =>
            {
                out.push((value.bare(), format!("{record_name}-{key}")));
            }
            _ => {}
        }
    }
}

/// A list longer than this once after its key (`      command = `, in a record in a
/// job's list, about 30 columns) is written on lines of its own (the formatter's width).
const LIST_WIDTH: usize = 100;
const LIST_AFTER_THE_KEY: usize = 30;

/// Whether the formatter writes a value over several lines where a job holds it (a let
/// of it then saves lines): a record of more fields than a short body holds, or one
/// longer than a record's line once after its key (`      services = [`, about 20
/// columns).
fn takes_lines(value: &PVal) -> bool {
    const AFTER_THE_KEY: usize = 20;
    let text = written_text(value);
    text.contains('\n')
        || text.len() + AFTER_THE_KEY > plumb_fmt::RECORD_WIDTH
        || matches!(value, PVal::Record(e) if e.len() > plumb_fmt::SHORT_BODY_FIELDS)
}

/// A value as the program writes it: equal texts, equal values.
fn written_text(value: &PVal) -> String {
    let mut s = String::new();
    value.write(&mut s, 0);
    s
}

/// A name for a service (its alias, or its image's name) or a cache (what its key
/// starts with).
fn value_name(value: &PVal) -> String {
    let PVal::Record(entries) = value else {
        return "value".into();
    };
    let text = |key: &str| value_name_text(value, key);
    if let Some(alias) = text("alias") {
        return alias
            .split(',')
            .next()
            .unwrap_or("service")
            .trim()
            .to_string();
    }
    if let Some(image) = text("image") {
        return image_base(&image);
    }
    // a key of files names the cache by its prefix: `key = { files = […], prefix = "gems-$OS" }`
    let key = (entries.iter())
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.bare());
    let key = match key {
        Some(PVal::Str(key)) => Some(key.clone()),
        Some(record @ PVal::Record(_)) => value_name_text(record, "prefix"),
        _ => None,
    };
    cache_name(key.as_deref().unwrap_or(""))
}

/// A record's string field (an image is one).
fn value_name_text(record: &PVal, key: &str) -> Option<String> {
    let PVal::Record(entries) = record else {
        return None;
    };
    (entries.iter())
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| match v.bare() {
            PVal::Str(s) | PVal::Image(s) => Some(s.clone()),
            _ => None,
        })
}

/// A cache's name: what its key starts with, up to the first variable.
fn cache_name(key: &str) -> String {
    let start = key
        .split('$')
        .next()
        .unwrap_or("")
        .trim_matches(['-', '_', '/']);
    if start.is_empty() {
        "cache".into()
    } else {
        format!("{start}-cache")
    }
}

/// Each imported job's Plumb name, by its GitLab name.
/// The jobs a completion of an included job `needs` or `dependencies` names, under the
/// names GitLab will know them by (a job renamed here: `test:unit` is `test-unit`).
fn renamed_in_needs(keys: &mut PVal, names: &HashMap<String, String>) {
    let PVal::Record(entries) = keys else {
        return;
    };
    let rename = |v: &mut PVal| {
        if let PVal::Str(name) = v {
            if let Some(new) = names.get(name.as_str()) {
                *name = new.clone();
            }
        }
    };
    for (key, value) in entries.iter_mut() {
        let PVal::List(items) = value else { continue };
        if !matches!(key.as_str(), "needs" | "dependencies") {
            continue;
        }
        for item in items {
            match item {
                PVal::Record(need) => (need.iter_mut())
                    .filter(|(k, _)| k == "job")
                    .for_each(|(_, v)| rename(v)),
                v => rename(v),
            }
        }
    }
}

fn plumb_names(jobs: &[JobOut]) -> HashMap<String, String> {
    jobs.iter()
        .map(|j| (j.gitlab_name.clone(), j.name.clone()))
        .collect()
}

/// `dependencies:` with Plumb's job names; a name not imported is dropped with a
/// warning, and a list that loses every name is left out (an empty list would mean
/// "no artifacts", not "the artifacts of every earlier job").
fn resolve_dependencies(
    jobs: &mut [JobOut],
    by_gitlab: &HashMap<String, String>,
    of_other_files: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<Warning>,
) {
    let stage_unknown: HashSet<String> = (jobs.iter())
        .filter(|j| j.stage_unknown)
        .map(|j| j.gitlab_name.clone())
        .collect();
    for j in jobs.iter_mut() {
        let Some(deps) = j.dependencies.take() else {
            continue;
        };
        let mut names = Vec::new();
        let mut outside = Vec::new();
        for (dep, line) in &deps {
            // a job of a file not read: GitLab resolves it there (Plumb checks no stage)
            if !by_gitlab.contains_key(dep) && of_other_files(dep) {
                outside.push(PVal::Str(dep.clone()));
                continue;
            }
            // whether the dependency runs in an earlier stage is not known: Plumb would
            // check it against the default stage
            if j.stage_unknown || stage_unknown.contains(dep) {
                let unknown = if j.stage_unknown { &j.gitlab_name } else { dep };
                warnings.push(Warning::at(
                    j.file,
                    *line,
                    format!(
                        "job `{}` depends on `{dep}`, but the stage of `{unknown}` comes from a template not read: the dependency is not carried",
                        j.gitlab_name
                    ),
                ));
                continue;
            }
            match by_gitlab.get(dep) {
                Some(n) => names.push(PVal::Name(n.clone())),
                None => warnings.push(Warning::at(
                    j.file,
                    *line,
                    format!(
                        "job `{}` depends on `{dep}`, which is not imported: the dependency is dropped",
                        j.gitlab_name
                    ),
                )),
            }
        }
        // (only jobs of other files: `gitlab = { dependencies }` alone is the list)
        if deps.is_empty() || !names.is_empty() {
            j.fields.insert("dependencies".into(), PVal::List(names));
        }
        convert::add_outside(&mut j.fields, "dependencies", outside);
    }
}

/// `environment: on_stop:` with Plumb's job name, in the job's `environment` record; a
/// job not imported is dropped with a warning.
fn resolve_on_stop(
    jobs: &mut [JobOut],
    by_gitlab: &HashMap<String, String>,
    warnings: &mut Vec<Warning>,
) {
    for j in jobs.iter_mut() {
        let Some((stop, line)) = j.on_stop.take() else {
            continue;
        };
        let Some(name) = by_gitlab.get(&stop) else {
            warnings.push(Warning::at(
                j.file,
                line,
                format!(
                    "job `{}` is stopped by `{stop}`, which is not imported: `on_stop` is dropped",
                    j.gitlab_name
                ),
            ));
            continue;
        };
        let on_stop = ("on_stop".to_string(), PVal::Name(name.clone()));
        let record = match j.fields.remove("environment") {
            Some(PVal::Record(mut entries)) => {
                entries.push(on_stop);
                PVal::Record(entries)
            }
            Some(PVal::Str(env)) => PVal::Record(vec![("name".into(), PVal::Str(env)), on_stop]),
            Some(other) => other,
            None => continue,
        };
        j.fields.insert("environment".into(), record);
    }
}

/// `registry.example.com/tools/node:18-alpine@sha256:…` → `node`.
fn image_base(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    let name = last.split(':').next().unwrap_or(last);
    let tag = last.split(':').nth(1);
    match tag {
        Some(tag) if name.len() < 3 => format!("{name}-{tag}"),
        _ => name.to_string(),
    }
}

/// Whether a value holds a `null` (what a `!reference` into a file not read leaves):
/// GitLab would not read it as the file means it.
fn holds_nothing(n: &crate::yaml::Node) -> bool {
    use crate::yaml::Kind;
    match &n.kind {
        Kind::Null => true,
        Kind::Seq(items) => items.iter().any(holds_nothing),
        Kind::Map(entries) => entries.iter().any(|e| holds_nothing(&e.value)),
        Kind::Scalar { .. } | Kind::Reference(_) => false,
    }
}

/// `.gitlab-ci.yml` → `gitlab-ci`.
fn pipeline_name(path: &Path) -> String {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem
        .trim_end_matches(".yml")
        .trim_end_matches(".yaml")
        .trim_start_matches('.');
    identifier(stem, "ci")
}

/// Whether a variable read by a script looks like a credential that the CI/CD settings
/// provide (the rule is `plumb_semantics::credential_words`, shared with PL4001).
pub fn looks_like_credential(name: &str) -> bool {
    credential_name(name, NameUse::Read)
}

/// `API_TOKEN: ""`: empty, for a credential-like name.
fn is_placeholder(name: &str, value: &str) -> bool {
    looks_like_credential(name) && value.trim().is_empty()
}

/// The credential-like variables the project's settings evidently provide: a top-level
/// one with a `description` (a value to fill in), or one a job's script reads that
/// neither the job nor the file's `variables:` sets. An empty value elsewhere is then a
/// placeholder the settings override (`POSTGRES_PASSWORD: ""` for a throwaway service
/// database, with no such evidence, is just empty).
fn settings_evidence(config: &Config, top_vars: &[(String, String)]) -> HashSet<String> {
    let mut out = HashSet::new();
    if let Some(vars) = config.root.get("variables") {
        for e in vars.entries() {
            if e.value.get("description").is_some() && looks_like_credential(&e.key) {
                out.insert(e.key.clone());
            }
        }
    }
    let top: HashSet<&str> = top_vars.iter().map(|(k, _)| k.as_str()).collect();
    for j in &config.jobs {
        let mut own: HashSet<String> = (j.full.get("variables").map(convert::variables))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        own.extend(tokens_asked_for(j));
        let texts = ["before_script", "script", "after_script"]
            .iter()
            .filter_map(|k| j.full.get(k))
            .flat_map(crate::yaml::Node::strings);
        for text in texts {
            for var in shell_variables_named(&text) {
                if looks_like_credential(var) && !own.contains(var) && !top.contains(var) {
                    out.insert(var.to_string());
                }
            }
        }
    }
    out
}

/// The variables a job's `id_tokens` and `secrets` fill: the job's own, never the CI/CD
/// settings'.
fn tokens_asked_for(job: &gitlab::Job) -> impl Iterator<Item = String> + '_ {
    ["id_tokens", "secrets"]
        .into_iter()
        .filter_map(|key| job.full.get(key))
        .flat_map(|m| m.entries().iter().map(|e| e.key.clone()))
}

/// Every string a value holds.
fn strings_of<'v>(v: &'v PVal, out: &mut Vec<&'v str>) {
    match v {
        PVal::Str(text) => out.push(text),
        PVal::At(_, inner) | PVal::Named(_, inner) => strings_of(inner, out),
        PVal::List(items) => items.iter().for_each(|i| strings_of(i, out)),
        PVal::Record(entries) => entries.iter().for_each(|(_, v)| strings_of(v, out)),
        _ => {}
    }
}

/// The variables the script assigns itself (`NAME=…`, `export NAME=…`, `read NAME`)
/// before it reads them: the CI/CD settings do not provide those. One read first
/// (`echo "$TOKEN"; TOKEN=$(cat t)`) is the settings' variable.
fn assigned_in(script: &[PVal]) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut read: HashSet<&str> = HashSet::new();
    for line in script {
        let PVal::Str(line) = line.bare() else {
            continue;
        };
        // where each variable is first read on the line (one scan: a block of thousands
        // of assignments is one line)
        let mut first_read: HashMap<&str, usize> = HashMap::new();
        for v in shell_variables_named(line) {
            let at = v.as_ptr() as usize - line.as_ptr() as usize;
            first_read.entry(v).or_insert(at);
        }
        for (at, name) in assignments_in_line(line) {
            // read before the assignment, or in the value it assigns (`T="Bearer $T"`)
            let value_end = at + name.len() + assigned_value_len(&line[at + name.len()..]);
            let read_before =
                read.contains(name) || first_read.get(name).is_some_and(|&r| r < value_end);
            if !read_before {
                names.insert(name.to_string());
            }
        }
        read.extend(first_read.into_keys());
    }
    names
}

/// The length of `=VALUE` (`rest` starts at the `=`): one shell word, quotes and `$(…)`
/// held whole; 0 for `read NAME`. A word longer than [`LONGEST_VALUE`] (or a quote or
/// `$(` that never closes) runs to the end: the scan stays short for a block of
/// thousands of them, and a read of the name after it counts as read in the value,
/// which keeps the name the settings' (declared, and checked as a secret).
fn assigned_value_len(rest: &str) -> usize {
    const LONGEST_VALUE: usize = 512;
    let Some(value) = rest.strip_prefix('=') else {
        return 0;
    };
    let (mut quote, mut depth) = (None, 0usize);
    let mut chars = value.char_indices();
    while let Some((i, c)) = chars.next() {
        if i > LONGEST_VALUE {
            break;
        }
        match (quote, c) {
            // a backslash is plain in single quotes
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            (_, '(') => depth += 1,
            (_, ')') => depth = depth.saturating_sub(1),
            (None, ' ' | '\t' | '\n' | ';' | '&' | '|') if depth == 0 => return 1 + i,
            _ => {}
        }
    }
    1 + value.len()
}

/// `(offset, NAME)` of each `NAME=…` (not `NAME=$NAME`) and `read NAME` of a line.
fn assignments_in_line(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(is_word(bytes[i - 1]) || b"${".contains(&bytes[i - 1]));
        if !(boundary && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_')) {
            i += 1;
            continue;
        }
        let end = (i..bytes.len())
            .find(|&j| !is_word(bytes[j]))
            .unwrap_or(bytes.len());
        let name = &line[i..end];
        // `NAME=$NAME` (`docker run -e NAME=$NAME`) keeps the settings' value
        let sets = line[end..]
            .strip_prefix('=')
            .is_some_and(|v| !is_self_reference(v, name));
        if sets || line[..i].trim_end().ends_with("read") {
            out.push((i, name));
        }
        i = end;
    }
    out
}

/// Whether a value (or the start of a shell word) is the variable `name` itself:
/// `$NAME`, `${NAME}`, quoted or not.
fn is_self_reference(value: &str, name: &str) -> bool {
    let value = value.trim().trim_start_matches(['"', '\'']);
    let rest = value
        .strip_prefix('$')
        .map(|v| v.strip_prefix('{').unwrap_or(v))
        .and_then(|v| v.strip_prefix(name));
    rest.is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(yaml: &str) -> crate::Imported {
        crate::import(
            Path::new(".gitlab-ci.yml"),
            yaml,
            &crate::test_support::NoFiles,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A job of the file that turns off a job of an include not read (`rules: [{when:
    /// never}]`, with a script or not) is kept in the pipeline's `gitlab`: dropped as
    /// "never runs", the included job ran again.
    #[test]
    fn a_job_turning_off_an_included_one_is_kept() {
        let i = import(
            "include: [{template: Jobs/SAST.gitlab-ci.yml}]\n\
             semgrep-sast:\n  script: echo disabled\n  rules: [{when: never}]\n\
             build:\n  image: alpine:3.19\n  script: [make]\n",
        );
        assert!(i.plumb.contains("semgrep-sast = {"), "{}", i.plumb);
        assert!(
            i.plumb.contains("rules  = [{ when = \"never\" }]"),
            "{}",
            i.plumb
        );
        assert_eq!(i.jobs_left_out, 0, "{:#?}", i.warnings);
        // without an include, a job that never runs is left out, with a warning
        let i = import("off:\n  script: echo x\n  rules: [{when: never}]\nb:\n  image: alpine:3.19\n  script: [make]\n");
        assert_eq!(i.jobs_left_out, 1, "{}", i.plumb);
        // but when every job is turned off, the first is kept: a pipeline of no job
        // builds into no GitLab file (PL5005: `stages` empty)
        let i = import(
            "off:\n  image: alpine:3.19\n  script: echo x\n  rules: [{when: never}]\n\
                        off2:\n  script: echo y\n  rules: [{when: never}]\n",
        );
        assert!(i.plumb.contains("job off {"), "{}", i.plumb);
        assert!(i.plumb.contains("when = false"), "{}", i.plumb);
        assert_eq!(i.jobs_left_out, 1, "{}", i.plumb);
    }

    /// `default: cache` most jobs keep stays the pipeline's default; the job that clears
    /// it says `cache = []` instead of every other job repeating the cache.
    #[test]
    fn a_default_cache_one_job_clears_stays_the_default() {
        let i = import(
            "default:\n  image: alpine:3.19\n  cache: {key: k, paths: [x/]}\n\
             a: {script: [make]}\nb: {script: [make]}\nc: {script: [make], cache: []}\n",
        );
        assert!(
            i.plumb
                .contains("default = { image = \"alpine:3.19\", cache = {"),
            "{}",
            i.plumb
        );
        assert!(
            i.plumb.contains("job c { run = [\"make\"], cache = [] }"),
            "{}",
            i.plumb
        );
        assert_eq!(
            i.plumb.matches("paths = [\"x/\"]").count(),
            1,
            "{}",
            i.plumb
        );
    }

    /// A visible job others extend is a template they and it are built on, but not
    /// one whose `needs` are optional: a template does not carry that.
    #[test]
    fn a_visible_base_is_a_template_unless_its_needs_are_optional() {
        let i = import(
            "build:\n  image: alpine:3.19\n  variables: {A: \"1\", B: \"2\"}\n  tags: [docker]\n  script: [make]\n\
             docs:\n  extends: build\n  script: [make docs]\n",
        );
        assert!(
            i.plumb.contains("job build from build() { }"),
            "{}",
            i.plumb
        );
        assert!(
            i.plumb
                .contains("job docs from build() { run = [\"make docs\"] }"),
            "{}",
            i.plumb
        );
        let i = import(
            "prep:\n  image: alpine:3.19\n  script: [x]\n  rules: [{if: $CI_COMMIT_TAG}]\n\
             build:\n  image: alpine:3.19\n  script: [make]\n  needs: [{job: prep, optional: true}]\n\
             docs:\n  extends: build\n  script: [x]\n",
        );
        assert!(!i.plumb.contains("template"), "{}", i.plumb);
        assert_eq!(i.plumb.matches("optional = true").count(), 2, "{}", i.plumb);
        assert!(i.warnings.is_empty(), "{:#?}", i.warnings);
    }

    /// Found by trying the visible bases as an attacker: a later base's condition,
    /// dropped as the pipeline's `on`, no longer hid an earlier base's `manual`; a
    /// job's `artifacts: false` or its needs kept for GitLab were dropped with the
    /// needs it took from its base; a base with no script (a job of an include
    /// completed) took its jobs' pipeline with it.
    #[test]
    fn jobs_on_visible_bases_keep_their_own_condition_and_needs() {
        let i = import(
            "deploy: {image: alpine:3.19, script: [deploy], when: manual, allow_failure: true}\n\
             notify: {image: alpine:3.19, script: [notify]}\n\
             deploy-notify: {extends: [deploy, notify], when: on_success}\n",
        );
        assert!(
            i.plumb
                .contains("job deploy-notify from deploy(), notify() { when = true }"),
            "{}",
            i.plumb
        );
        let i = import(
            "prep: {image: alpine:3.19, script: [p]}\n\
             build: {image: alpine:3.19, script: [b], needs: [prep]}\n\
             child: {extends: build, needs: [{job: prep, artifacts: false}]}\n\
             kid: {extends: build, needs: [prep, {project: grp/o, job: b, ref: main}]}\n",
        );
        assert!(i.plumb.contains("artifacts = false"), "{}", i.plumb);
        let kid = i.plumb.split("job kid").nth(1).unwrap_or_default();
        assert!(kid.contains("needs  = [prep]"), "{}", i.plumb);
        let i = import(
            "include: [{template: Jobs/Build.gitlab-ci.yml}]\n\
             build: {variables: {X: \"\"}, tags: [docker]}\n\
             build-arm: {extends: build, tags: [arm]}\n\
             lint: {image: alpine:3.19, script: [x]}\n",
        );
        assert!(!i.plumb.contains("template build"), "{}", i.plumb);
        assert!(i.plumb.contains("job lint"), "{}", i.plumb);
        // jobs whose `extends` lead back to them (GitLab refuses the file) are no
        // templates built on themselves
        let i = import(
            "a: {image: alpine:3.19, script: [a], extends: b}\n\
             b: {image: alpine:3.19, script: [b], extends: a}\n\
             c: {image: alpine:3.19, script: [c], extends: c}\n",
        );
        assert!(!i.plumb.contains("template"), "{}", i.plumb);
    }

    /// No warning for what is carried: a rule's `variables:` the job's own already set,
    /// `trigger: forward` as GitLab's defaults have it.
    #[test]
    fn carried_rule_variables_and_default_forwarding_are_not_warned() {
        let i = import(
            "deploy:\n  image: alpine:3.19\n  variables: {NS: dev}\n  script: [./deploy]\n  rules:\n\
             \x20   - if: $CI_COMMIT_BRANCH == \"dev\"\n      variables: {NS: dev}\n\
             \x20   - if: $CI_COMMIT_BRANCH == \"main\"\n      variables: {NS: prod}\n\
             down:\n  trigger: {project: ops/d, forward: {yaml_variables: true}}\n",
        );
        let lines: Vec<usize> = i.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [9], "{:#?}", i.warnings);
        // a file's variable the job does not inherit is not the job's: the rule's is lost
        let i = import(
            "variables: {NS: dev}\n\
             deploy:\n  image: alpine:3.19\n  inherit: {variables: false}\n  script: [./deploy]\n  rules:\n\
             \x20   - if: $CI_COMMIT_BRANCH == \"dev\"\n      variables: {NS: dev}\n\
             \x20   - if: $CI_COMMIT_BRANCH == \"main\"\n",
        );
        let lines: Vec<usize> = i.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [8], "{:#?}", i.warnings);
    }

    /// A trigger job keeps its `interruptible` (GitLab takes it there), and gets none
    /// of `default:`'s keys GitLab refuses on it (`hooks:`): the file would not run.
    #[test]
    fn trigger_jobs_keep_interruptible_and_take_no_default_hooks() {
        let i = import(
            "default: {image: alpine:3.19, hooks: {pre_get_sources_script: [echo hi]}}\n\
             build: {script: [make]}\n\
             down: {trigger: ops/deployer, interruptible: false}\n",
        );
        let down = i.plumb.split("job down").nth(1).unwrap_or_default();
        assert!(!down.contains("hooks"), "{}", i.plumb);
        assert!(down.contains("interruptible = false"), "{}", i.plumb);
        assert!(i.warnings.is_empty(), "{:#?}", i.warnings);
    }

    /// A trigger's `inputs` (a child's on its include) are carried, not dropped
    /// silently; `image: ""` names no image: the runner's.
    #[test]
    fn trigger_inputs_and_an_empty_image_are_carried() {
        let i = import(
            "c:\n  trigger:\n    include:\n      - local: ci/child.yml\n        inputs: {env: prod}\n\
             d:\n  trigger: {project: g/p, inputs: {env: prod}}\n\
             a:\n  image: \"\"\n  script: [make]\n",
        );
        assert!(
            i.plumb
                .contains("child(\"ci/child.yml\", inputs = { env = \"prod\" })"),
            "{}",
            i.plumb
        );
        assert!(
            i.plumb
                .contains("project(\"g/p\", inputs = { env = \"prod\" })"),
            "{}",
            i.plumb
        );
        assert!(i.plumb.contains("image = runner_default"), "{}", i.plumb);
        assert!(i.warnings.is_empty(), "{:#?}", i.warnings);
    }

    /// A job that inherits nothing from `default:` (which names no image) says
    /// `runner_default` itself: another job without an image gives Plumb's `default`
    /// `runner_default`, which the first does not take (it had no image: PL1005).
    #[test]
    fn a_job_leaving_out_default_names_the_runner_s_image_itself() {
        let i = import(
            "default:\n  before_script: [echo hi]\n\
             a:\n  script: [echo a]\n\
             b:\n  inherit: {default: false}\n  script: [echo b]\n",
        );
        let job_b = i.plumb.split("job b").nth(1).unwrap_or_default();
        assert!(job_b.contains("image  = runner_default"), "{}", i.plumb);
        assert!(
            i.plumb.contains("default = { image = runner_default"),
            "{}",
            i.plumb
        );
        // a shell runner's job gets it with its findings allowed, as without `inherit:`
        let i = import(
            "default:\n  before_script: [echo hi]\n\
             a:\n  image: alpine:3.19\n  script: [echo a]\n\
             b:\n  inherit: {default: false}\n  tags: [shell]\n  script: [sudo make install]\n",
        );
        let job_b = i.plumb.split("job b").nth(1).unwrap_or_default();
        assert!(
            job_b.contains("# plumb-allow: PL3006, PL4005"),
            "{}",
            i.plumb
        );
        assert!(job_b.contains("runner_default"), "{}", i.plumb);
    }

    #[test]
    fn renamed_stages_without_a_stages_key_are_warned_at_the_first_stage_naming_one() {
        let i = import(
            "build:\n  image: alpine:3.19\n  script: [make]\n\
             tidy:\n  stage: .post\n  image: alpine:3.19\n  script: [make clean]\n",
        );
        let renamed: Vec<(usize, usize)> = (i.warnings.iter())
            .filter(|w| w.message.starts_with("stages are named anew"))
            .map(|w| (w.file, w.line))
            .collect();
        assert_eq!(renamed, [(0, 5)], "{:#?}", i.warnings);
    }

    #[test]
    fn rules_that_hold_everywhere_say_the_merge_request_pipelines_are_lost() {
        // GitLab creates a merge-request pipeline for `unit`; the build would not
        let i = import(
            "build:\n  image: alpine:3.19\n  script: [make]\n\
             unit:\n  image: alpine:3.19\n  script: [make test]\n  rules: [{when: on_success}]\n",
        );
        let lost = |w: &crate::Warning| w.message.contains("merge-request pipeline");
        let lines: Vec<usize> = i
            .warnings
            .iter()
            .filter(|w| lost(w))
            .map(|w| w.line)
            .collect();
        assert_eq!(lines, [7], "{:#?}", i.warnings);
        // a job that asks for merge requests keeps them: nothing is lost
        let i = import(
            "build:\n  image: alpine:3.19\n  script: [make]\n  rules: [{if: $CI_MERGE_REQUEST_IID}]\n\
             unit:\n  image: alpine:3.19\n  script: [make test]\n  rules: [{when: on_success}]\n",
        );
        assert!(!i.warnings.iter().any(lost), "{:#?}", i.warnings);
        // a hidden job no job extends creates no pipeline: its rules ask for nothing
        let i = import(
            ".mr:\n  rules: [{if: $CI_MERGE_REQUEST_IID}]\n\
             unit:\n  image: alpine:3.19\n  script: [make test]\n  rules: [{when: on_success}]\n",
        );
        let lines: Vec<usize> = i
            .warnings
            .iter()
            .filter(|w| lost(w))
            .map(|w| w.line)
            .collect();
        assert_eq!(lines, [6], "{}\n{:#?}", i.plumb, i.warnings);
    }

    /// Jobs that run in no merge-request pipeline of one that has some say so once, in
    /// `default`; not when a job without a `when` (its rules hold everywhere) would get it.
    #[test]
    fn the_condition_every_job_repeats_is_said_once_by_default() {
        let jobs = "a:\n  script: [a]\nb:\n  script: [b]\nc:\n  script: [c]\n\
             review:\n  script: [r]\n  rules: [{if: $CI_MERGE_REQUEST_IID}]\n";
        let i = import(&format!("default:\n  image: alpine:3.19\n{jobs}"));
        assert!(
            i.plumb
                .contains("default = { image = \"alpine:3.19\", when = !merge_request }"),
            "{}",
            i.plumb
        );
        assert_eq!(i.plumb.matches("!merge_request").count(), 1, "{}", i.plumb);
        let everywhere = "anywhere:\n  script: [x]\n  rules: [{when: on_success}]\n";
        let i = import(&format!(
            "default:\n  image: alpine:3.19\n{jobs}{everywhere}"
        ));
        assert_eq!(
            i.plumb.matches("when = !merge_request").count(),
            3,
            "{}",
            i.plumb
        );
    }

    /// `- !reference […]` into a file not read, then `- when: never`: the reference
    /// may add the job, which is kept (it was left out, and its findings with it).
    #[test]
    fn rules_of_files_not_read_before_when_never_keep_the_job() {
        let i = import(
            "include:\n  - project: g/ci\n    file: /rules.yml\n\
             deploy:\n  image: alpine:3.19\n  script: [./deploy]\n  rules:\n\
             \x20   - !reference [.deploy-rules, rules]\n    - when: never\n",
        );
        assert!(i.plumb.contains("job deploy"), "{}", i.plumb);
        assert!(i.jobs_left_out == 0, "{}", i.plumb);
        let at_rules = (i.warnings.iter()).filter(|w| w.line == 7).count();
        assert_eq!(at_rules, 1, "{:#?}", i.warnings);
    }

    /// A job named like an instance of a split job (`unit 1/2`, as older pipelines
    /// split by hand) is needed by that name: no "no job of this file".
    #[test]
    fn a_job_named_like_a_parallel_instance_is_needed_by_its_name() {
        let i = import(
            "\"unit 1/2\":\n  image: alpine:3.19\n  script: [echo 1]\n\
             after:\n  image: alpine:3.19\n  needs: [\"unit 1/2\"]\n  script: [echo 2]\n",
        );
        assert!(
            !i.warnings.iter().any(|w| w.message.contains("no job")),
            "{:#?}",
            i.warnings
        );
        assert!(i.plumb.contains("needs = [unit-1-2]"), "{}", i.plumb);
    }

    /// A `!reference` that leads back to itself (GitLab refuses it) is left empty once,
    /// with one warning: not copied once per level of the depth limit.
    #[test]
    fn a_reference_cycle_is_left_empty_once() {
        let i = import(
            "build:\n  image: alpine:3.19\n  script:\n    - echo 1\n    - !reference [build, script]\n",
        );
        assert_eq!(i.plumb.matches("echo 1").count(), 1, "{}", i.plumb);
        let cycles = (i.warnings.iter()).filter(|w| w.message.contains("leads back to itself"));
        assert_eq!(cycles.count(), 1, "{:#?}", i.warnings);
    }

    #[test]
    fn an_include_not_read_leaves_the_pipelines_on_unknown() {
        // the included template's jobs may ask for merge request pipelines: each job
        // says it does not run in one (GitLab's default), the pipeline says nothing
        let i = import(
            "include:\n  - template: Jobs/SAST.gitlab-ci.yml\nstages: [build, test]\n\
             build:\n  stage: build\n  image: alpine:3.19\n  script: [make]\n\
             build:linux:\n  image: alpine:3.19\n  script: [make linux]\n\
             sast:\n  needs: [\"build:linux\"]\n  variables:\n    SAST_EXCLUDED_PATHS: vendor\n",
        );
        assert!(!i.plumb.contains("on ="), "{}", i.plumb);
        assert!(i.plumb.contains("when = !merge_request"), "{}", i.plumb);
        // the completion needs the renamed job under the name GitLab will know
        assert!(
            i.plumb.contains(r#"needs     = ["build-linux"]"#),
            "{}",
            i.plumb
        );
    }

    #[test]
    fn renamed_stages_are_one_warning() {
        let i = import(
            "stages: [build, \"acceptance test\", .post]\n\
             a:\n  stage: acceptance test\n  image: alpine:3.19\n  script: [make]\n\
             b:\n  stage: .post\n  image: alpine:3.19\n  script: [make]\n",
        );
        let stages: Vec<&str> = (i.warnings.iter())
            .map(|w| w.message.as_str())
            .filter(|m| m.starts_with("stages are named anew"))
            .collect();
        assert_eq!(stages.len(), 1, "{:?}", i.warnings);
        assert!(
            stages[0].contains("`acceptance test` is `acceptance-test`, `.post` is `post`"),
            "{stages:?}"
        );
        assert!(
            stages[0].contains("`.pre` and `.post` become ordinary stages"),
            "{stages:?}"
        );
    }

    #[test]
    fn sudo_is_found_where_it_starts_a_command() {
        let runs = [
            "sudo apt-get install -y make",
            "make && sudo make install",
            "cd x; sudo make install",
            "DEBIAN_FRONTEND=noninteractive sudo apt-get install -y make",
            "if sudo true; then echo ok; fi",
            "cat <<EOF > f\nbody\nEOF\nsudo make install",
            "echo 'a\nb' && sudo make",
            "exec sudo make",
            "nohup sudo make &",
            "env FOO=1 sudo make",
            "/usr/bin/sudo make",
        ];
        for script in runs {
            assert!(super::script_runs_sudo(script), "{script}");
        }
        let not = [
            "echo \"then run make && sudo make install\"",
            "echo 'sudo make'",
            "cat > NOTES <<'TXT'\nsudo is not used here\nTXT",
            "cat <<-EOF\n\tsudo x\n\tEOF",
            "make # && sudo make install",
            "grep sudo /etc/group",
            "./deploy.sh <<< \"$TOKEN\"",
            "pseudo make",
            "echo installing \\\n  sudo make",
            "command -v sudo >/dev/null || sudo() { \"$@\"; }",
            "case \"$1\" in\n  sudo) echo no ;;\nesac",
        ];
        for script in not {
            assert!(!super::script_runs_sudo(script), "{script}");
        }
    }

    #[test]
    fn variables_a_script_assigns_are_its_own() {
        let script = vec![
            PVal::Str("export MY_TOKEN=$(cat t)".into()),
            PVal::Str("use $MY_TOKEN".into()),
            PVal::Str("docker run -e DB_TOKEN=$DB_TOKEN -e X=\"${X}\" img".into()),
            PVal::Str("read LINE_TOKEN".into()),
        ];
        let assigned = assigned_in(&script);
        assert!(assigned.contains("MY_TOKEN") && assigned.contains("LINE_TOKEN"));
        // `NAME=$NAME` keeps the settings' value
        assert!(!assigned.contains("DB_TOKEN") && !assigned.contains("X"));
        assert!(!assigned.contains("OTHER_TOKEN"));
    }

    #[test]
    fn a_variable_read_before_the_script_assigns_it_is_the_settings() {
        let script = vec![
            PVal::Str("echo \"$DEPLOY_TOKEN\" | login".into()),
            PVal::Str("DEPLOY_TOKEN=$(cat /run/secrets/t)".into()),
            PVal::Str("curl -H \"$API_TOKEN\"; API_TOKEN=x".into()),
            PVal::Str("OWN_TOKEN=$(cat t); use \"$OWN_TOKEN\"".into()),
        ];
        let assigned = assigned_in(&script);
        assert!(!assigned.contains("DEPLOY_TOKEN") && !assigned.contains("API_TOKEN"));
        assert!(assigned.contains("OWN_TOKEN"));
        // the value assigned reads the settings' variable first
        let script = vec![
            PVal::Str("MY_TOKEN=$(echo \"$MY_TOKEN\" | base64 -d)".into()),
            PVal::Str("export B_TOKEN=\"Bearer $B_TOKEN\"".into()),
            PVal::Str("C_TOKEN='x y'; use \"$C_TOKEN\"".into()),
            PVal::Str("K_TOKEN=`echo $K_TOKEN | base64 -d`".into()),
            PVal::Str("Q_TOKEN='a\\' ; use \"$Q_TOKEN\"".into()),
        ];
        let assigned = assigned_in(&script);
        assert!(!assigned.contains("MY_TOKEN") && !assigned.contains("B_TOKEN"));
        assert!(!assigned.contains("K_TOKEN"));
        // `'a\'` is the whole single-quoted value: the read comes after it
        assert!(assigned.contains("Q_TOKEN"));
        assert!(assigned.contains("C_TOKEN"));
        // a line break ends the value (a `|` block is one line of the script)
        let script = vec![PVal::Str("N_TOKEN=abc\ncurl -H \"$N_TOKEN\" x\n".into())];
        assert!(assigned_in(&script).contains("N_TOKEN"));
        // a `$(` that never closes runs to the end: a later read is in its value
        let long = format!("L_TOKEN=$(x {}\nuse \"$L_TOKEN\"", "y".repeat(600));
        assert!(!assigned_in(&[PVal::Str(long)]).contains("L_TOKEN"));
    }
}
