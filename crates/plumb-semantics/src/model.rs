//! The checked program: pipelines with their stages and jobs, templates instantiated,
//! defaults and environments merged, every value evaluated. Checks and compilers read
//! only this.

use crate::value::{Cond, MapEntry, SecretRef, Value, ValueKind};
use plumb_diagnostics::FileRange;
use std::sync::Arc;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileModel {
    pub pipelines: Vec<PipelineModel>,
    /// Values declared as images outside jobs: lets typed `Image` or `List<Image>` and
    /// template parameter defaults typed `Image`. Image checks run on them even when no
    /// job uses them.
    pub declared_images: Vec<Value>,
    /// The templates that no job or template of the file is built on and that take no
    /// parameters, each as a job of its own. In a file with no pipeline (a library of
    /// GitLab's hidden jobs that other files extend) each is checked as a job
    /// ([`JobKind::Template`]); in a file with pipelines each is a job switched off
    /// ([`JobKind::SwitchedOff`]), read only for what its source says. Never compiled.
    pub templates: Vec<JobModel>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineModel {
    pub name: String,
    pub name_at: FileRange,
    /// `on`; `Cond::Always` when absent.
    pub on: Cond,
    pub on_at: Option<FileRange>,
    pub env: Vec<EnvBinding>,
    /// The other fields: `include` and `gitlab`.
    pub fields: FieldMap,
    /// In declaration order.
    pub stages: Vec<StageModel>,
    /// In declaration order; `JobModel::stage` indexes `stages`.
    pub jobs: Vec<JobModel>,
    /// The pipeline's `default`, when it includes files: GitLab gives it to their jobs
    /// too (the top-level `default:`), so it is checked as a job of its own
    /// ([`JobKind::IncludedJobsDefault`]), whose `run` is theirs and unknown.
    pub included_jobs_default: Option<Box<JobModel>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StageModel {
    pub name: String,
    pub name_at: FileRange,
    /// Explicit `after` stages that exist, by index into `stages`, with the name's span.
    pub after: Vec<(usize, FileRange)>,
    /// Whether `after` was written (if not, the stage follows the one declared before).
    pub explicit_after: bool,
}

/// Which layer set a job field: later layers override earlier ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Pipeline,
    Default,
    Template,
    Job,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldUse {
    pub value: Value,
    /// The field's key where it was set.
    pub key_at: FileRange,
    pub layer: Layer,
}

/// Fields by name, sorted by name. A job has a handful: a sorted vector is a third of
/// the memory of a `BTreeMap` (whose first node has room for eleven) and as quick to
/// search, and the lowered model of 5,000 jobs is allocated, and paged in, once per run.
/// A name is the field table's own string when it is a known field (every field of a
/// lowered job is), so a job's names cost no allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldMap(Vec<(FieldName, FieldUse)>);

/// A field's name: borrowed from the field table, or owned.
pub type FieldName = std::borrow::Cow<'static, str>;

type FieldEntry<'a> = (&'a str, &'a FieldUse);

impl FieldMap {
    pub fn new() -> Self {
        FieldMap(Vec::new())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// A job has a dozen fields at most and is asked for each of them many times (every
    /// rule, every GitLab key): a scan that compares lengths first calls `memcmp` about
    /// once, where a binary search compared whole names three or four times.
    pub fn get(&self, key: &str) -> Option<&FieldUse> {
        if self.0.len() > 16 {
            return self.position(key).ok().map(|i| &self.0[i].1);
        }
        (self.0.iter())
            .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut FieldUse> {
        let i = self.position(key).ok()?;
        Some(&mut self.0[i].1)
    }

    /// Unsets `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<FieldUse> {
        let i = self.position(key).ok()?;
        Some(self.0.remove(i).1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: impl Into<FieldName>, value: FieldUse) -> Option<FieldUse> {
        let key = key.into();
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// In name order, as a `BTreeMap` would.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = FieldEntry<'_>> + Clone {
        self.into_iter()
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &FieldUse> + Clone {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut FieldUse> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives back the room that inserting one by one left over.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a FieldMap {
    type Item = FieldEntry<'a>;
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (FieldName, FieldUse)>,
        fn(&'a (FieldName, FieldUse)) -> FieldEntry<'a>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl<K: Into<FieldName>> FromIterator<(K, FieldUse)> for FieldMap {
    fn from_iter<I: IntoIterator<Item = (K, FieldUse)>>(items: I) -> Self {
        let mut map = FieldMap::new();
        for (k, v) in items {
            map.insert(k, v);
        }
        map
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnvBinding {
    pub name: String,
    pub name_at: FileRange,
    pub value: Value,
    pub layer: Layer,
}

impl EnvBinding {
    pub fn secret(&self) -> Option<&SecretRef> {
        match &self.value.kind {
            ValueKind::Secret(s) => Some(s),
            _ => None,
        }
    }
}

/// A job's merged environment: the pipeline's `env`, shared by every job of the
/// pipeline rather than copied into each (at 50,000 jobs the copies were megabytes),
/// and what `default.env`, the templates' and the job's own `env` bind. A later binding
/// of a name replaces the earlier one and moves to the end, as it always did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JobEnv {
    inherited: Arc<Vec<EnvBinding>>,
    own: Vec<EnvBinding>,
}

impl JobEnv {
    /// The environment before the job's layers: the pipeline's.
    pub fn inheriting(pipeline: Arc<Vec<EnvBinding>>) -> Self {
        JobEnv {
            inherited: pipeline,
            own: Vec::new(),
        }
    }

    /// Keeps of the pipeline's bindings only those `keep` names (GitLab's `inherit:
    /// variables: false` or `[NAMES]`).
    pub fn inherit_only(&mut self, keep: impl Fn(&str) -> bool) {
        let kept: Vec<EnvBinding> = (self.inherited.iter())
            .filter(|b| keep(&b.name))
            .cloned()
            .collect();
        self.inherited = Arc::new(kept);
    }

    /// Binds a name, replacing an earlier binding of it.
    pub fn bind(&mut self, binding: EnvBinding) {
        self.own.retain(|e| e.name != binding.name);
        self.own.push(binding);
    }

    /// The bindings in effect, in the order they were made (a rebound name last).
    pub fn iter(&self) -> EnvIter<'_> {
        EnvIter {
            inherited: self.inherited.iter(),
            own: &self.own,
            rest: self.own.iter(),
        }
    }

    pub fn shrink_to_fit(&mut self) {
        self.own.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a JobEnv {
    type Item = &'a EnvBinding;
    type IntoIter = EnvIter<'a>;
    fn into_iter(self) -> EnvIter<'a> {
        self.iter()
    }
}

/// [`JobEnv::iter`]: the inherited bindings the job did not rebind, then its own.
pub struct EnvIter<'a> {
    inherited: std::slice::Iter<'a, EnvBinding>,
    own: &'a [EnvBinding],
    rest: std::slice::Iter<'a, EnvBinding>,
}

impl<'a> Iterator for EnvIter<'a> {
    type Item = &'a EnvBinding;
    fn next(&mut self) -> Option<&'a EnvBinding> {
        let own = self.own;
        self.inherited
            .find(|b| !own.iter().any(|o| o.name == b.name))
            .or_else(|| self.rest.next())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Need {
    pub job: String,
    pub at: FileRange,
    /// Index into the pipeline's jobs, when the name exists.
    pub target: Option<usize>,
    /// `{ job = x, optional = true }`: needed only when `x` is in the pipeline.
    pub optional: bool,
    /// `{ job = x, artifacts = false }`: its artifacts are not downloaded.
    pub artifacts: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobModel {
    pub name: String,
    pub name_at: FileRange,
    /// The whole `job … { … }`.
    pub range: FileRange,
    pub stage: usize,
    /// Every field, after defaults, template and the job's own fields were merged.
    pub fields: FieldMap,
    /// The merged environment: pipeline `env`, `default.env`, template `env`, job `env`.
    pub env: JobEnv,
    pub needs: Vec<Need>,
    /// `when`; `Cond::Always` when absent.
    pub when: Cond,
    /// `ci_variable` secrets in scope that the job's strings name (`$NAME`, `${NAME}`)
    /// without binding them: on GitLab a project variable is readable by every job, so
    /// the job may use it. The credential checks decide whether a script really reads it.
    pub read_secrets: Vec<SecretRef>,
    /// What the model stands for: a job, or what is checked as one.
    pub kind: JobKind,
}

/// What a [`JobModel`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Job,
    /// A template checked as a job (see [`FileModel::templates`]): what jobs built on it
    /// add (`rules`, an image, `needs`) is unknown, so the rules about those skip it.
    Template,
    /// The pipeline's `default` as GitLab gives it to the jobs of the files the pipeline
    /// includes ([`PipelineModel::included_jobs_default`]): their scripts and rules are
    /// unknown; they may run in any pipeline its `on` admits.
    IncludedJobsDefault,
    /// A template that no job or template is built on, in a file with pipelines (see
    /// [`FileModel::templates`]): most often a job switched off (GitLab's `.job:`),
    /// which runs nowhere; only the rules about what the source says (a credential
    /// written into it) read it.
    SwitchedOff,
}

impl PipelineModel {
    pub fn field(&self, name: &str) -> Option<&FieldUse> {
        self.fields.get(name)
    }

    /// Whether the pipeline's `include` names at least one file.
    pub fn includes_files(&self) -> bool {
        (self.field("include").and_then(|f| f.value.as_list())).is_some_and(|l| !l.is_empty())
    }

    /// Whether the compiled file is one of those GitLab merges into one configuration:
    /// it includes files, or a job `extends` hidden jobs, needs or depends on jobs of
    /// other files (a file that another one includes). The top-level `default:` and `variables:` then reach the
    /// jobs of those files too.
    pub fn with_other_files(&self) -> bool {
        // (a need on another pipeline's job is no sign of other files: a child
        // pipeline's file is a configuration of its own)
        let of_this_configuration = |need: &Value| outside_need(need).is_some_and(|(_, here)| here);
        let gitlab_list = |j: &JobModel, key: &str| -> bool {
            (j.field("gitlab").and_then(|f| f.value.as_map()))
                .and_then(|m| m.iter().find(|e| e.key == key))
                .and_then(|e| e.value.as_list())
                .is_some_and(|l| key == "dependencies" || l.iter().any(of_this_configuration))
        };
        let outside = |j: &JobModel| {
            j.included_bases().is_some()
                || gitlab_list(j, "needs")
                || gitlab_list(j, "dependencies")
        };
        self.includes_files() || self.jobs.iter().any(outside)
    }

    /// The jobs, then [`PipelineModel::included_jobs_default`]: what the job rules check.
    pub fn jobs_and_included_default(&self) -> impl Iterator<Item = &JobModel> {
        self.jobs
            .iter()
            .chain(self.included_jobs_default.as_deref())
    }

    pub fn jobs_and_included_default_mut(&mut self) -> impl Iterator<Item = &mut JobModel> {
        (self.jobs.iter_mut()).chain(self.included_jobs_default.as_deref_mut())
    }

    /// The entries of the pipeline's `gitlab = { … }` that complete a job of an
    /// included file (`sast = { variables = { … } }`): records other than `workflow`
    /// (or a near spelling of it) and GitLab's top-level keywords.
    pub fn included_job_keys(&self) -> Vec<&MapEntry> {
        let entries = self.field("gitlab").and_then(|f| f.value.as_map());
        (entries.unwrap_or(&[]).iter())
            .filter(|e| e.key != "workflow" && e.value.as_map().is_some())
            .filter(|e| plumb_diagnostics::closest(&e.key, ["workflow"]).is_none())
            .filter(|e| !crate::fields::NOT_INCLUDED_JOBS.contains(&e.key.as_str()))
            .collect()
    }
}

impl JobModel {
    /// Whether `at` is written in the job itself (not in a template, `default` or `let`).
    pub fn contains(&self, at: FileRange) -> bool {
        at.file == self.range.file && self.range.range.contains(at.range.start as usize)
    }
    /// Labels `d` with the job's name, once: what a finding at a literal several jobs
    /// share shows for each of them when their findings merge into one.
    pub fn label(&self, d: &mut plumb_diagnostics::Diagnostic) {
        if !d.secondary.iter().any(|l| l.at == self.name_at) {
            d.secondary.push(plumb_diagnostics::Label {
                at: self.name_at,
                message: self.describe(),
            });
        }
    }
    /// Whether this is a template checked as a job (or read for what it says).
    pub fn is_template(&self) -> bool {
        matches!(self.kind, JobKind::Template | JobKind::SwitchedOff)
    }
    /// Whether its `runner_default` image is the one it runs in: not for the `default`
    /// of included jobs, which name their own image (GitLab's templates do) or take
    /// the runner's.
    pub fn image_is_its_own(&self) -> bool {
        self.kind != JobKind::IncludedJobsDefault && self.included_bases().is_none()
    }
    /// `gitlab = { extends = … }`: hidden jobs of included files that GitLab merges
    /// into the job (their keys first, the job's own over them), with the value's
    /// place; `None` without one.
    pub fn included_bases(&self) -> Option<(&Value, Vec<&str>)> {
        let gitlab = self.field("gitlab")?.value.as_map()?;
        let value = &gitlab.iter().find(|e| e.key == "extends")?.value;
        let names = match value.as_list() {
            Some(items) => items.iter().filter_map(Value::as_str).collect(),
            None => value.as_str().into_iter().collect(),
        };
        Some((value, names))
    }
    /// What a message calls it: "job `x`", "template `x`", or the pipeline's `default`.
    pub fn describe(&self) -> String {
        match self.kind {
            JobKind::Job => format!("job `{}`", self.name),
            JobKind::Template | JobKind::SwitchedOff => format!("template `{}`", self.name),
            JobKind::IncludedJobsDefault => "`default` (for the jobs of other files)".to_string(),
        }
    }
    /// [`JobModel::label`] on each finding written outside the job.
    pub fn label_findings_outside(&self, diags: &mut [plumb_diagnostics::Diagnostic]) {
        for d in diags.iter_mut().filter(|d| !self.contains(d.primary.at)) {
            self.label(d);
        }
    }
    pub fn field(&self, name: &str) -> Option<&FieldUse> {
        self.fields.get(name)
    }
    pub fn image(&self) -> Option<&Value> {
        self.field("image").map(|f| &f.value)
    }
    /// The `services` as written: images, or `{ image, alias, … }` records.
    pub fn services(&self) -> &[Value] {
        self.field("services")
            .and_then(|f| f.value.as_list())
            .unwrap_or(&[])
    }
    /// Every path GitLab keeps as an artifact: `artifacts` as a list, or its record's
    /// `paths` and report files (a `dotenv` report even reaches later jobs); `"."`
    /// when `untracked = true` keeps whatever Git does not track.
    pub fn artifact_paths(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.pages_folder().into_iter().collect();
        let Some(f) = self.field("artifacts") else {
            return out;
        };
        match &f.value.kind {
            ValueKind::List(items) => out.extend(items.iter().filter_map(Value::as_str)),
            ValueKind::Map(entries) => {
                for e in entries {
                    match (e.key.as_str(), &e.value.kind) {
                        ("paths", ValueKind::List(items)) => {
                            out.extend(items.iter().filter_map(Value::as_str))
                        }
                        ("untracked", ValueKind::Bool(true)) => out.push("."),
                        ("reports", ValueKind::Map(reports)) => {
                            for r in reports {
                                collect_paths(&r.value, &mut out);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        out
    }
    /// The folder GitLab publishes as the project's Pages site, which it adds to the
    /// job's artifacts: `gitlab = { pages = { publish = "dist" } }` (or the older
    /// job-level `publish = "dist"`), else `public`, for `pages = true`, a `pages`
    /// record or a job named `pages` (not with `pages = false`).
    pub fn pages_folder(&self) -> Option<&str> {
        fn published(entries: Option<&[MapEntry]>) -> Option<&str> {
            let publish = entries?.iter().find(|e| e.key == "publish")?;
            publish.value.as_str()
        }
        let gitlab = self.field("gitlab").and_then(|f| f.value.as_map());
        let pages = gitlab.and_then(|g| g.iter().find(|e| e.key == "pages"));
        let folder = published(gitlab).unwrap_or("public");
        match pages.map(|e| &e.value.kind) {
            Some(ValueKind::Bool(false)) => None,
            Some(ValueKind::Map(entries)) => Some(published(Some(entries)).unwrap_or(folder)),
            Some(_) => Some(folder),
            None => (self.name == "pages").then_some(folder),
        }
    }
    /// The paths of the job's `cache` (a record, or a list of them), which GitLab
    /// restores to later jobs; `"."` for `untracked = true`. (A cache only pulled is
    /// never uploaded.)
    pub fn cache_paths(&self) -> Vec<&str> {
        self.caches_but("pull")
    }
    /// The paths of the job's caches that GitLab restores before its script runs (a
    /// cache only pushed is not).
    pub fn restored_cache_paths(&self) -> Vec<&str> {
        self.caches_but("push")
    }
    /// The paths of the job's caches but those whose `policy` is `skipped`.
    fn caches_but(&self, skipped: &str) -> Vec<&str> {
        fn of<'v>(value: &'v Value, skipped: &str, out: &mut Vec<&'v str>) {
            match &value.kind {
                ValueKind::List(items) => items.iter().for_each(|c| of(c, skipped, out)),
                ValueKind::Map(entries)
                    if !(entries.iter())
                        .any(|e| e.key == "policy" && e.value.as_str() == Some(skipped)) =>
                {
                    for e in entries {
                        match (e.key.as_str(), &e.value.kind) {
                            ("paths", ValueKind::List(items)) => {
                                out.extend(items.iter().filter_map(Value::as_str))
                            }
                            ("untracked", ValueKind::Bool(true)) => out.push("."),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        if let Some(f) = self.field("cache") {
            of(&f.value, skipped, &mut out);
        }
        out
    }
    /// The files of `artifacts = { reports = { … } }`, which GitLab uploads on their own
    /// (`exclude` does not apply to them).
    pub fn artifact_report_paths(&self) -> Vec<&str> {
        let entries = self.field("artifacts").and_then(|f| f.value.as_map());
        let reports = entries.and_then(|e| e.iter().find(|e| e.key == "reports"));
        let mut out = Vec::new();
        if let Some(ValueKind::Map(reports)) = reports.map(|r| &r.value.kind) {
            reports
                .iter()
                .for_each(|r| collect_paths(&r.value, &mut out));
        }
        out
    }
    /// The patterns of `artifacts = { exclude = [...] }`: files under the paths that
    /// are not kept (reports are, whatever they say).
    pub fn artifact_excludes(&self) -> Vec<&str> {
        let entries = self.field("artifacts").and_then(|f| f.value.as_map());
        let exclude = entries.and_then(|e| e.iter().find(|e| e.key == "exclude"));
        match exclude.map(|e| &e.value.kind) {
            Some(ValueKind::List(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(ValueKind::Str(one)) => vec![one.as_str()],
            _ => Vec::new(),
        }
    }
    /// The image of every service, whichever form it was written in.
    pub fn service_images(&self) -> Vec<&Value> {
        self.services()
            .iter()
            .filter_map(|v| match &v.kind {
                ValueKind::Map(entries) => {
                    entries.iter().find(|e| e.key == "image").map(|e| &e.value)
                }
                _ => Some(v),
            })
            .collect()
    }
    /// The image and alias of every service as written (`"postgres:16"`, or `{ image,
    /// alias }`), whichever form it was written in; a service of no string image is left
    /// out.
    pub fn service_names(&self) -> Vec<(&str, Option<&str>)> {
        let mut out = Vec::new();
        for service in self.services() {
            let (image, alias) = match service.as_map() {
                Some(record) => {
                    let key = |k: &str| {
                        (record.iter())
                            .find(|e| e.key == k)
                            .and_then(|e| e.value.as_str())
                    };
                    (key("image"), key("alias"))
                }
                None => (service.as_str(), None),
            };
            out.extend(image.map(|image| (image, alias)));
        }
        out
    }
    /// The `env` of every service written as a record, with its image.
    pub fn service_env(&self) -> Vec<(&Value, &MapEntry)> {
        let mut out = Vec::new();
        for service in self.services() {
            let Some(entries) = service.as_map() else {
                continue;
            };
            let image = entries.iter().find(|e| e.key == "image").map(|e| &e.value);
            let env = entries
                .iter()
                .find(|e| e.key == "env")
                .and_then(|e| e.value.as_map());
            if let (Some(image), Some(env)) = (image, env) {
                out.extend(env.iter().map(|b| (image, b)));
            }
        }
        out
    }
    /// `run` alone, each command with the range of its literal (what the targets write
    /// as the script; `after_run` goes elsewhere).
    pub fn run_lines(&self) -> Vec<(&str, FileRange)> {
        script_lines(self.field("run").map(|f| &f.value))
    }
    /// `before_run` alone (GitLab's `before_script:`, run in `run`'s shell before it).
    pub fn before_run_lines(&self) -> Vec<(&str, FileRange)> {
        script_lines(self.field("before_run").map(|f| &f.value))
    }
    /// The commands the job runs: `before_run` and `run` (one shell), then `after_run`
    /// (which runs after them, in the same job, with the same variables), each with the
    /// range of its literal.
    /// GitLab's `hooks: pre_get_sources_script` (`gitlab = { hooks = { … } }`) come first:
    /// they run in the job too, with its variables.
    pub fn script(&self) -> Vec<(&str, FileRange)> {
        let mut out = self.hook_lines();
        out.extend(self.before_run_lines());
        out.extend(self.run_lines());
        out.extend(script_lines(self.field("after_run").map(|f| &f.value)));
        out
    }
    /// How many of [`JobModel::script`]'s lines are hooks, `before_run` and `run` (the
    /// rest are `after_run`, which GitLab runs in a new shell).
    pub fn run_script_count(&self) -> usize {
        self.hook_lines().len() + self.before_run_lines().len() + self.run_lines().len()
    }
    /// The lines of `gitlab = { hooks = { pre_get_sources_script = … } }`.
    pub fn hook_lines(&self) -> Vec<(&str, FileRange)> {
        let hooks = self
            .record_field("gitlab")
            .iter()
            .find(|e| e.key == "hooks");
        let script = hooks
            .and_then(|h| h.value.as_map())
            .and_then(|m| m.iter().find(|e| e.key == "pre_get_sources_script"));
        script_lines(script.map(|e| &e.value))
    }
    pub fn string_list(&self, name: &str) -> Vec<&str> {
        self.field(name)
            .and_then(|f| f.value.as_list())
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(|f| f.value.as_str())
    }
    pub fn int_field(&self, name: &str) -> Option<u64> {
        match self.field(name)?.value.kind {
            ValueKind::Int(n) => Some(n),
            _ => None,
        }
    }
    pub fn duration_field(&self, name: &str) -> Option<u64> {
        match self.field(name)?.value.kind {
            ValueKind::Duration(n) => Some(n),
            _ => None,
        }
    }
    pub fn bool_field(&self, name: &str) -> Option<bool> {
        match self.field(name)?.value.kind {
            ValueKind::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub fn record_field(&self, name: &str) -> &[MapEntry] {
        self.field(name)
            .and_then(|f| f.value.as_map())
            .unwrap_or(&[])
    }
    /// `matrix` as (variable, values), in source order.
    pub fn matrix(&self) -> Vec<(&str, Vec<&str>)> {
        self.record_field("matrix")
            .iter()
            .map(|e| {
                let values = e
                    .value
                    .as_list()
                    .map(|vs| vs.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                (e.key.as_str(), values)
            })
            .collect()
    }
    /// The secrets bound in the job's environment.
    pub fn secret_env(&self) -> impl Iterator<Item = (&EnvBinding, &SecretRef)> {
        self.env.iter().filter_map(|b| b.secret().map(|s| (b, s)))
    }
}

/// The strings of a report entry: a list of paths, or `coverage`'s `path`.
fn collect_paths<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match &v.kind {
        ValueKind::Str(s) => out.push(s),
        ValueKind::List(items) => items.iter().for_each(|i| collect_paths(i, out)),
        ValueKind::Map(entries) => entries
            .iter()
            .filter(|e| e.key == "path")
            .for_each(|e| collect_paths(&e.value, out)),
        _ => {}
    }
}

fn script_lines(v: Option<&Value>) -> Vec<(&str, FileRange)> {
    match v {
        Some(Value {
            kind: ValueKind::Str(s),
            origin,
        }) => vec![(s.as_str(), *origin)],
        Some(Value {
            kind: ValueKind::List(items),
            ..
        }) => items
            .iter()
            .filter_map(|v| v.as_str().map(|s| (s, v.origin)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Variables whose value an outsider controls: a merge request's title, description
/// and branch, a commit's message and author, branch and tag names.
pub const OUTSIDER_VARIABLES: &[&str] = &[
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_AUTHOR",
    "CI_COMMIT_TAG_MESSAGE",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
    // a tag's name is any a developer pushes (as a branch's: `v1;curl${IFS}…|sh`)
    "CI_COMMIT_TAG",
];

/// Whether `text` holds `$VAR` (not followed by another name character) or `${VAR`, as
/// GitLab expands a value or as a shell expands a script (`\$$VAR` reads VAR to a
/// shell, `\$VAR` to GitLab; either counts).
pub fn names_variable(text: &str, var: &str) -> bool {
    variables_named(text).any(|v| v == var) || shell_variables_named(text).any(|v| v == var)
}

/// How programs a script runs read an environment variable by its name, the name
/// following: Python, Node, Ruby, Go, Rust, .NET, Perl, awk, C.
const ENV_LOOKUPS: &[&str] = &[
    "environ[\"",
    "environ['",
    "environ.get(\"",
    "environ.get('",
    "getenv(\"",
    "getenv('",
    "Getenv(\"",
    "process.env.",
    "process.env[\"",
    "process.env['",
    "ENV[\"",
    "ENV['",
    "ENV.fetch(\"",
    "ENV.fetch('",
    "$ENV{",
    "ENVIRON[\"",
    "GetEnvironmentVariable(\"",
    "env::var(\"",
    // jq's `env.NAME`, `$ENV.NAME`; yq's `strenv(NAME)`, `env(NAME)`
    "$ENV.",
    "'env.",
    " env.",
    "(env.",
    "strenv(",
    "(env(",
    " env(",
    "'env(",
];

/// Predefined variables that hold a credential GitLab makes for each job and revokes
/// when it ends: every job of every pipeline has them, and a job that reads one is
/// checked as if the program declared it a `ci_variable` secret.
pub const JOB_CREDENTIALS: &[&str] = &[
    "CI_JOB_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPENDENCY_PROXY_PASSWORD",
];

/// The variables a script line reads by name, without `$`: `printenv NAME`, `declare -p
/// NAME`, and a program's lookup (`os.environ["NAME"]`, `process.env.NAME`, `ENV["NAME"]`,
/// `getenv("NAME")`): the job gets them as it gets `$NAME`.
pub fn variables_read_by_name(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let name_at = |at: usize| {
        let len = (line[at..].bytes())
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        let name = &line[at..at + len];
        (len > 0 && !name.as_bytes()[0].is_ascii_digit()).then_some(name)
    };
    let escaped_quotes = line.contains("\\\"");
    for lookup in ENV_LOOKUPS {
        out.extend(
            line.match_indices(lookup)
                .filter_map(|(at, m)| name_at(at + m.len())),
        );
        // inside a double-quoted shell word: `python3 -c "…environ[\"TOKEN\"]…"`
        if escaped_quotes && lookup.contains('"') {
            let escaped = lookup.replace('"', "\\\"");
            out.extend(
                line.match_indices(&escaped)
                    .filter_map(|(at, m)| name_at(at + m.len())),
            );
        }
    }
    // `printenv A B`, `declare -p A`: the words up to the command's end
    for command in line.split([';', '|', '&', '\n', '(', ')', '`']) {
        let mut words = command.split_whitespace();
        let reads = match (words.next(), words.clone().next()) {
            (Some("printenv"), _) => true,
            (Some("declare" | "typeset"), Some(flags)) => {
                flags.starts_with('-') && flags.contains('p')
            }
            _ => false,
        };
        let whole_name = |w: &str| {
            let w = w.trim_matches(['"', '\'']);
            let at = w.as_ptr() as usize - line.as_ptr() as usize;
            name_at(at).filter(|n| n.len() == w.len())
        };
        if reads {
            out.extend(words.filter(|w| !w.starts_with('-')).filter_map(whole_name));
        }
        out.extend(given_to_a_container(command).filter_map(whole_name));
    }
    out.extend(grepped_from_the_environment(line));
    out
}

/// `docker run -e NAME`, `--env NAME`, `--env=NAME` (podman's, nerdctl's): the job's
/// variables a container is given by name (not `-e NAME=value`).
fn given_to_a_container(command: &str) -> impl Iterator<Item = &str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let runner = matches!(words.first(), Some(&("docker" | "podman" | "nerdctl")));
    let given = (0..words.len()).filter_map(move |i| match words[i] {
        "-e" | "--env" if runner => words.get(i + 1).copied(),
        w if runner => w.strip_prefix("--env="),
        _ => None,
    });
    given.filter(|w| !w.contains('='))
}

/// Whether a script line lists every variable of the environment: `env`, `printenv`,
/// `set`, `export -p`, `declare -p`/`-x` with no name, `cat /proc/self/environ`,
/// PowerShell's `Get-ChildItem env:` (`gci`, `dir`, `ls`); after `then`, `do`, `!`,
/// `sudo`, `time`, in `$(…)`. A `grep` after it keeps the lines it matches: see
/// [`EnvDump::lists`].
pub fn dumps_the_environment(line: &str) -> bool {
    environment_dumps(line).next().is_some()
}

/// What a dump of the environment on a line lists: every variable, or those a `grep`
/// after it matches by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvDump {
    All,
    /// `env | grep -i token`: the variables whose names hold one of the patterns
    /// (`^` anchors one at the start).
    Grep {
        patterns: Vec<String>,
        ignore_case: bool,
    },
}

impl EnvDump {
    /// Whether the variable `name` is among the lines the dump prints.
    pub fn lists(&self, name: &str) -> bool {
        match self {
            EnvDump::All => true,
            EnvDump::Grep {
                patterns,
                ignore_case,
            } => patterns.iter().any(|p| {
                let (name, p) = match ignore_case {
                    true => (name.to_ascii_uppercase(), p.to_ascii_uppercase()),
                    false => (name.to_string(), p.clone()),
                };
                match p.strip_prefix('^') {
                    Some(start) => name.starts_with(start),
                    None => name.contains(&p),
                }
            }),
        }
    }
}

/// The dumps of the environment on a line (see [`dumps_the_environment`]).
pub fn environment_dumps(line: &str) -> impl Iterator<Item = EnvDump> + '_ {
    line.split([';', '&', '\n', '(', ')', '`'])
        .flat_map(|pipeline| {
            let commands = pipe_stages(pipeline);
            let mut found = Vec::new();
            for (i, command) in commands.iter().enumerate() {
                if !is_dump(command) {
                    continue;
                }
                let grep = commands.get(i + 1).and_then(|c| grep_filter(c));
                found.push(grep.unwrap_or(EnvDump::All));
            }
            found
        })
}

/// The commands of a pipeline: split at each `|` outside quotes (`grep -E "A|B"` is one).
fn pipe_stages(pipeline: &str) -> Vec<&str> {
    let mut stages = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in pipeline.char_indices() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            ('|', None) => {
                stages.push(&pipeline[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    stages.push(&pipeline[start..]);
    stages
}

/// Whether one command of a pipeline lists the environment.
fn is_dump(command: &str) -> bool {
    // (its redirections aside: `env > env.txt` lists them into the file)
    let redirect = |w: &&str| {
        w.trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with(['>', '<'])
    };
    let mut words: Vec<&str> = command
        .split_whitespace()
        .take_while(|w| !redirect(w))
        .collect();
    // `then env`, `! env`, `sudo -E env`, `time env`, `"$(env)"`
    let lead = |w: &str| {
        matches!(
            w,
            "then" | "do" | "else" | "{" | "!" | "time" | "sudo" | "command" | "exec"
        ) || w.starts_with('-')
            || w.starts_with('$')
            || w.starts_with("\"$")
    };
    while words.first().is_some_and(|w| lead(w)) {
        words.remove(0);
    }
    // `env -u HOME`, `env FOO=1`: still the environment; `env FOO=1 make` runs `make`,
    // `env -i` empties it first
    let options_or_settings = |rest: &[&str]| {
        let is_name =
            |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (0..rest.len()).all(|i| {
            let w = rest[i];
            let unset_value = i > 0 && matches!(rest[i - 1], "-u" | "--unset");
            let setting = w.split_once('=').is_some_and(|(n, _)| is_name(n));
            let option = w.starts_with('-') && !matches!(w, "-i" | "--ignore-environment" | "-");
            unset_value || setting || option
        })
    };
    if words.first().is_some_and(|w| is_dotnet_environment_call(w)) {
        return true;
    }
    match words.as_slice() {
        ["env", rest @ ..] => options_or_settings(rest),
        ["printenv", rest @ ..] => rest.iter().all(|w| w.starts_with('-')),
        // bare `export`, `declare` and `typeset` list the variables with their values
        ["set" | "export" | "declare" | "typeset"] | ["export", "-p"] => true,
        ["declare" | "typeset", "-p" | "-x" | "-px" | "-xp"] => true,
        ["cat" | "strings" | "tr", .., last] => last.ends_with("/environ"),
        [cmdlet, rest @ ..] => {
            is_powershell_lister(cmdlet)
                && rest.iter().any(|w| {
                    let w = w.to_ascii_lowercase();
                    let w = w.trim_end_matches(['*', '\\', '/']);
                    w == "env:" || w == "-path:env:"
                })
        }
        _ => false,
    }
}

/// Whether a PowerShell word calls .NET for the whole environment
/// (`[Environment]::GetEnvironmentVariables()`), which PowerShell then prints.
pub fn is_dotnet_environment_call(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    let w = w.strip_prefix("[system.").map_or(w.as_str(), |rest| rest);
    let w = w.strip_prefix('[').unwrap_or(w);
    // (the shell scanner may leave the `()` off, read as a function's)
    w.strip_prefix("environment]::getenvironmentvariables")
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Whether a command is PowerShell's `Get-ChildItem` or one of its aliases, which list
/// the environment given `env:`.
pub fn is_powershell_lister(command: &str) -> bool {
    ["get-childitem", "gci", "dir", "ls"].contains(&command.to_ascii_lowercase().as_str())
}

/// What a `grep` after a dump keeps: `None` when it is no grep, or one that keeps what
/// cannot be told from names (`-v`, a pattern with other regex syntax).
fn grep_filter(command: &str) -> Option<EnvDump> {
    let mut words = command.split_whitespace();
    if !matches!(words.next(), Some("grep" | "egrep" | "fgrep")) {
        return None;
    }
    let mut ignore_case = false;
    let mut patterns = Vec::new();
    let mut next_is_pattern = false;
    for w in words {
        let unquoted = w.trim_matches(['"', '\'']);
        if next_is_pattern {
            patterns.push(unquoted.to_string());
            next_is_pattern = false;
        } else if w == "-e" {
            next_is_pattern = true;
        } else if let Some(flags) = w.strip_prefix('-').filter(|f| !f.starts_with('-')) {
            if flags.contains('v') {
                return Some(EnvDump::All);
            }
            ignore_case |= flags.contains('i');
        } else if w == "--ignore-case" {
            ignore_case = true;
        } else if w == "--invert-match" {
            return Some(EnvDump::All);
        } else if patterns.is_empty() && !w.starts_with('-') {
            patterns.push(unquoted.to_string());
        }
    }
    let mut alternatives = Vec::new();
    for p in patterns {
        for alt in p.split('|') {
            let alt = alt.trim_matches(['(', ')']).trim_end_matches('=');
            let anchored = alt.starts_with('^');
            let body = alt.trim_start_matches('^');
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Some(EnvDump::All);
            }
            alternatives.push(if anchored {
                format!("^{body}")
            } else {
                body.to_string()
            });
        }
    }
    match alternatives.is_empty() {
        true => Some(EnvDump::All),
        false => Some(EnvDump::Grep {
            patterns: alternatives,
            ignore_case,
        }),
    }
}

/// `env | grep DEPLOY_TOKEN`, `printenv | grep -i ^AWS_SECRET`: the names a `grep`
/// picks out of a dump of the environment (whole names only, `^` and `=` aside).
fn grepped_from_the_environment(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for pipeline in line.split([';', '&', '\n', '(', ')', '`']) {
        let commands: Vec<&str> = pipeline.split('|').collect();
        for pair in commands.windows(2) {
            let dump: Vec<&str> = pair[0].split_whitespace().collect();
            let dumps = matches!(
                dump.as_slice(),
                ["env" | "printenv" | "set" | "export" | "declare" | "typeset"]
                    | ["export" | "declare" | "typeset", "-p" | "-x"]
            );
            let mut grep = pair[1].split_whitespace();
            if !dumps || !matches!(grep.next(), Some("grep" | "egrep" | "fgrep")) {
                continue;
            }
            let pattern = grep.find(|w| !w.starts_with('-'));
            let name = pattern.map(|w| {
                w.trim_matches(['"', '\''])
                    .trim_start_matches('^')
                    .trim_end_matches('=')
            });
            let whole = |n: &&str| {
                !n.is_empty()
                    && !n.starts_with(|c: char| c.is_ascii_digit())
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            };
            out.extend(name.filter(whole));
        }
    }
    out
}

/// The variables a value GitLab expands names: `$VAR` and `${VAR…}`, in order; `$$` is
/// GitLab's escape for a plain `$`, and a backslash is a plain character.
pub fn variables_named(text: &str) -> impl Iterator<Item = &str> {
    names(text, false)
}

/// The variables a shell line reads: `$VAR` and `${VAR…}`; `$$` is the process id, and a
/// backslash makes the next character plain (`\$T` is text, `\\$T` reads T).
pub fn shell_variables_named(text: &str) -> impl Iterator<Item = &str> {
    names(text, true)
}

fn names(text: &str, shell: bool) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            match (b[i], b.get(i + 1)) {
                (b'\\', Some(_)) if shell => i += 2,
                (b'$', Some(b'$')) => i += 2,
                (b'$', next) => {
                    let start = i + 1 + usize::from(next == Some(&b'{'));
                    let name_len = |from: usize| {
                        (b[from..].iter())
                            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                            .count()
                    };
                    let mut start = start;
                    let mut len = name_len(start);
                    // PowerShell's `$env:NAME` (a Windows runner's script) reads NAME
                    let powershell = shell
                        && text[start..start + len].eq_ignore_ascii_case("env")
                        && b.get(start + len) == Some(&b':')
                        && (b.get(start + len + 1))
                            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
                    if powershell {
                        start += len + 1;
                        len = name_len(start);
                    }
                    i = start + len;
                    if len > 0 && !b[start].is_ascii_digit() {
                        return Some(&text[start..start + len]);
                    }
                }
                _ => i += 1,
            }
        }
        None
    })
}

// Spans of the model, for the database's relative job and pipeline inputs.

use plumb_diagnostics::relocate::Ranges;

impl Ranges for Value {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.origin.each_range(f);
        match &mut self.kind {
            ValueKind::List(items) => items.each_range(f),
            ValueKind::Map(entries) => entries.each_range(f),
            ValueKind::Secret(s) => s.each_range(f),
            _ => {}
        }
    }
}

impl Ranges for JobEnv {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        // a job moved on its own gets its own copy of what it shared
        Arc::make_mut(&mut self.inherited).each_range(f);
        self.own.each_range(f);
    }
}

impl Ranges for MapEntry {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.key_at.each_range(f);
        self.value.each_range(f);
    }
}

impl Ranges for SecretRef {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.declared_at.each_range(f)
    }
}

impl Ranges for FieldUse {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.key_at.each_range(f);
        self.value.each_range(f);
    }
}

impl Ranges for EnvBinding {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.name_at.each_range(f);
        self.value.each_range(f);
    }
}

impl Ranges for Need {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.at.each_range(f)
    }
}

impl Ranges for JobModel {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.name_at.each_range(f);
        self.range.each_range(f);
        self.fields.values_mut().for_each(|u| u.each_range(f));
        self.env.each_range(f);
        self.needs.each_range(f);
        self.read_secrets.each_range(f);
    }
}

impl Ranges for StageModel {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.name_at.each_range(f);
        self.after.iter_mut().for_each(|(_, at)| at.each_range(f));
    }
}

impl Ranges for PipelineModel {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.name_at.each_range(f);
        self.on_at.each_range(f);
        self.env.each_range(f);
        self.fields.values_mut().for_each(|u| u.each_range(f));
        self.stages.each_range(f);
        self.jobs.each_range(f);
    }
}

/// A `gitlab = { needs = [...] }` entry: the job it names and whether that is a job of
/// this pipeline's configuration (not of another pipeline or project): a non-empty
/// string, or one of GitLab's records: `{ job, artifacts, optional }`, `{ pipeline,
/// job, artifacts }`, `{ project, job, ref, artifacts }` (names non-empty strings, flags
/// booleans); `None` otherwise.
pub(crate) fn outside_need(item: &Value) -> Option<(&str, bool)> {
    if let Some(name) = item.as_str() {
        return (!name.is_empty()).then_some((name, true));
    }
    let entries = item.as_map()?;
    let text = |key: &str| {
        (entries.iter().find(|e| e.key == key))
            .and_then(|e| e.value.as_str())
            .filter(|s| !s.is_empty())
    };
    let flag_ok = |key: &str| {
        (entries.iter().find(|e| e.key == key))
            .is_none_or(|e| matches!(e.value.kind, ValueKind::Bool(_)))
    };
    let has = |key: &str| entries.iter().any(|e| e.key == key);
    let job = text("job")?;
    let allowed: &[&str] = if has("pipeline") {
        &["pipeline", "job", "artifacts"]
    } else if has("project") {
        &["project", "job", "ref", "artifacts"]
    } else {
        &["job", "artifacts", "optional"]
    };
    let strings_ok = ["pipeline", "project", "ref"]
        .iter()
        .all(|k| !has(k) || text(k).is_some());
    let complete = !has("project") || has("ref");
    let known = entries.iter().all(|e| allowed.contains(&e.key.as_str()));
    (known && strings_ok && complete && flag_ok("artifacts") && flag_ok("optional"))
        .then_some((job, !has("pipeline") && !has("project")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_a_value_names() {
        let value = |t| variables_named(t).collect::<Vec<_>>();
        let shell = |t| shell_variables_named(t).collect::<Vec<_>>();
        assert_eq!(value("Bearer $T and ${U}x $9"), ["T", "U"]);
        // GitLab: `$$` is a plain `$`, a backslash is text
        assert_eq!(value("$$T"), Vec::<&str>::new());
        assert_eq!(value("x\\$T"), ["T"]);
        assert_eq!(value("\\$$T"), Vec::<&str>::new());
        // a shell: `\$` is text, `\\` a backslash, `$$` the process id
        assert_eq!(shell("\\$T"), Vec::<&str>::new());
        assert_eq!(shell("\\$$T"), ["T"]);
        assert_eq!(shell("\\\\$T"), ["T"]);
        assert_eq!(shell("$$T"), Vec::<&str>::new());
        // PowerShell's environment drive
        assert_eq!(
            shell("Write-Host $env:DEPLOY_TOKEN $Env:X"),
            ["DEPLOY_TOKEN", "X"]
        );
        assert_eq!(shell("echo $env: $env"), ["env", "env"]);
        assert!(names_variable("a ${TOKEN}b", "TOKEN"));
        assert!(names_variable("x\\$TOKEN", "TOKEN") && names_variable("\\$$TOKEN", "TOKEN"));
        assert!(!names_variable("$TOKENS", "TOKEN"));
    }

    #[test]
    fn lines_that_list_the_whole_environment() {
        for yes in [
            "env",
            "env | sort",
            "printenv",
            "make; export -p",
            "env > env.txt",
            "cat /proc/self/environ",
            "Get-ChildItem env:",
            "gci Env:",
            "env | grep -v TOKEN",
            "env | grep -i token",
            "if [ -n \"$DEBUG\" ]; then env; fi",
            "sudo -E env",
            "echo \"$(env)\"",
            "env -u HOME",
            "Get-ChildItem env: | Format-Table -AutoSize",
            "Get-ChildItem -Path Env:",
            "gci env:*",
        ] {
            assert!(dumps_the_environment(yes), "{yes}");
        }
        for no in [
            "env FOO=1 make",
            "env -i make",
            "printenv HOME",
            "set -e",
            "echo env",
            "declare -a LIST",
        ] {
            assert!(!dumps_the_environment(no), "{no}");
        }
    }

    #[test]
    fn a_grep_after_a_dump_keeps_the_names_it_matches() {
        let lists = |line: &str, name: &str| environment_dumps(line).any(|d| d.lists(name));
        assert!(lists("env | grep -i token", "DEPLOY_TOKEN"));
        assert!(lists("printenv | grep DEPLOY", "DEPLOY_TOKEN"));
        assert!(lists("env | grep -E \"TOKEN|KEY\"", "API_KEY"));
        assert!(!lists("env | grep CI_COMMIT", "DEPLOY_TOKEN"));
        assert!(!lists("env | grep ^CI_", "DEPLOY_TOKEN"));
        assert!(!lists("env | grep token", "DEPLOY_TOKEN"));
        assert!(lists("env | grep -v CI_", "DEPLOY_TOKEN"));
        assert!(lists("env | grep 'T.*N'", "DEPLOY_TOKEN"));
    }

    #[test]
    fn variables_a_line_reads_by_name() {
        let read = variables_read_by_name;
        assert_eq!(read("printenv DEPLOY_TOKEN HOME"), ["DEPLOY_TOKEN", "HOME"]);
        assert_eq!(read("make && declare -p API_KEY | sed s/x/y/"), ["API_KEY"]);
        assert_eq!(
            read("python3 -c 'import os; print(os.environ[\"T\"])'"),
            ["T"]
        );
        assert_eq!(
            read("node -e 'console.log(process.env.NPM_TOKEN)'"),
            ["NPM_TOKEN"]
        );
        assert_eq!(read("ruby -e 'puts ENV.fetch(\"R_KEY\")'"), ["R_KEY"]);
        // a word that is no name, or no lookup, is none
        assert!(read("printenv -0").is_empty());
        assert!(read("echo DEPLOY_TOKEN is set in the settings").is_empty());
        assert!(read("declare -a LIST").is_empty());
    }

    fn binding(name: &str, value: u64) -> EnvBinding {
        let at = FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::new(0, 0),
        };
        EnvBinding {
            name: name.to_string(),
            name_at: at,
            value: Value {
                kind: ValueKind::Int(value),
                origin: at,
            },
            layer: Layer::Job,
        }
    }

    /// A job's environment lists what a copied vector with "remove the name, push the
    /// binding" listed, whatever the job rebinds.
    #[test]
    fn a_shared_pipeline_env_reads_as_the_copied_one_did() {
        let pipeline = vec![binding("A", 1), binding("B", 2), binding("C", 3)];
        let sequences: [&[(&str, u64)]; 4] = [
            &[],
            &[("B", 20)],
            &[("B", 20), ("D", 40), ("A", 10)],
            &[("D", 40), ("C", 30), ("D", 41)],
        ];
        for later in sequences {
            let mut copied = pipeline.clone();
            let mut shared = JobEnv::inheriting(Arc::new(pipeline.clone()));
            for &(name, value) in later {
                copied.retain(|b| b.name != name);
                copied.push(binding(name, value));
                shared.bind(binding(name, value));
            }
            let listed: Vec<&EnvBinding> = shared.iter().collect();
            assert_eq!(listed, copied.iter().collect::<Vec<_>>(), "{later:?}");
        }
    }
}
