//! `--target gitlab`: one `.gitlab-ci.yml` (§8.1).

use crate::cond::{dnf, gitlab_expression, unrepresentable, Atom};
use crate::data::Data;
use crate::plan::PipelinePlan;
use crate::yaml::{header, write_yaml, OrderedMap};
use crate::{job_not_carried, warning, BuildError, OutputFile};
use plumb_diagnostics::Diagnostic;
use plumb_semantics::fields::GITLAB_DEFAULT_KEYS;
use plumb_semantics::{format_duration, BranchTest, Cond, JobModel, SecretSource, ValueKind};
use serde::Serialize;

#[derive(Serialize)]
struct File {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include: Vec<Data>,
    stages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<Workflow>,
    /// The pipeline's `env`, for the jobs of the files it includes too (its own jobs
    /// have it in theirs): written only when it includes any.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    variables: OrderedMap<String>,
    /// The pipeline's `default`, for the jobs of the files it includes (its own jobs
    /// have it in theirs): the keys GitLab's `default:` takes, written only then.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    default: OrderedMap<Data>,
    /// `gitlab = { sast = { … } }` on a pipeline: keys GitLab merges into a job of an
    /// included file, written after the pipeline's own jobs.
    #[serde(skip)]
    included_jobs: OrderedMap<Data>,
}

#[derive(Serialize, Default)]
struct Workflow {
    /// `gitlab = { workflow = { name, auto_cancel } }`, as written.
    #[serde(flatten)]
    passthrough: OrderedMap<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<Vec<Rule>>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    start_in: Option<String>,
    /// How the rule is wider than its alternative, settled once every rule is known
    /// ([`settle_widenings`]).
    #[serde(skip)]
    widened: Vec<Widened>,
}

/// A rule written wider than its alternative says: the warning, the error if the wider
/// rule would start the job where a later one waits for a person, and the help.
struct Widened {
    what: &'static str,
    refused: &'static str,
    help: &'static str,
}

#[derive(Serialize, Default)]
struct Job {
    stage: String,
    /// `None` for `runner_default` (the runner decides) and for trigger jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Data>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Names, or `{ job, optional, artifacts }` where a need says more.
    needs: Option<Vec<Data>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dependencies: Option<Vec<String>>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    variables: OrderedMap<String>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    secrets: OrderedMap<VaultSecret>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    id_tokens: OrderedMap<IdToken>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    before_script: Vec<String>,
    /// Empty only for trigger jobs, which have no script.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    script: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    after_script: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<Vec<Rule>>,
    /// `on_failure`, `always` or `delayed`, when the job has no `rules` (else each
    /// rule carries it).
    #[serde(skip_serializing_if = "Option::is_none")]
    when: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel: Option<Parallel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_failure: Option<Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interruptible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<Data>,
    /// `gitlab = { … }`: keys Plumb does not model, as written.
    #[serde(flatten)]
    passthrough: OrderedMap<Data>,
}

#[derive(Serialize)]
struct IdToken {
    aud: String,
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
        // `a-b` and `A_B` both become `a-b.gitlab-ci.yml`: refused, never overwritten
        let mut claims = crate::names::NameClaims::default();
        let clashes: Vec<Diagnostic> = plans
            .iter()
            .filter_map(|p| {
                let path = split_file_name(&p.model.name);
                let source = format!("pipeline `{}`", p.model.name);
                claims.claim(&path, source, p.model.name_at, "file")
            })
            .collect();
        if !clashes.is_empty() {
            return Err(BuildError::Diagnostics(clashes));
        }
        plans
            .iter()
            .map(|p| {
                let text = file_text(std::slice::from_ref(p), warnings)?;
                Ok(OutputFile {
                    path: split_file_name(&p.model.name),
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

/// The file of one pipeline under `--split`.
fn split_file_name(pipeline: &str) -> String {
    format!("{}.gitlab-ci.yml", crate::names::path_component(pipeline))
}

fn file_text(plans: &[PipelinePlan], warnings: &mut Vec<Diagnostic>) -> Result<String, BuildError> {
    let several = plans.len() > 1;
    let prefix = |p: &PipelinePlan, name: &str| scoped_name(p, several, name);
    let mut file = File {
        include: Vec::new(),
        stages: Vec::new(),
        workflow: None,
        variables: OrderedMap(Vec::new()),
        default: OrderedMap(Vec::new()),
        included_jobs: OrderedMap(Vec::new()),
    };
    if several {
        refuse_shared_keys(plans, warnings);
    }
    let mut jobs: Vec<(&PipelinePlan, &JobModel)> = Vec::new();
    for p in plans {
        file.include.extend(includes(p));
        // the files GitLab merges with this one get its `variables:` and `default:`
        if !several && p.model.with_other_files() {
            file.variables = included_jobs_variables(p);
            file.default = included_jobs_default(p).unwrap_or_default();
        }
        if let Some(passthrough) = workflow_passthrough(p) {
            file.workflow
                .get_or_insert_with(Workflow::default)
                .passthrough = passthrough;
        }
        file.stages.extend(
            p.stage_order
                .iter()
                .map(|s| prefix(p, &p.model.stages[*s].name)),
        );
        if !several && p.model.on != Cond::Always {
            let holders: Vec<&JobModel> =
                p.model.jobs.iter().filter(|j| never_widened(j)).collect();
            let mut widen = Widening::new(p.model.on_at, &holders, warnings);
            file.workflow.get_or_insert_with(Workflow::default).rules =
                Some(rules(&p.model.on, true, &mut widen));
        }
        if !several {
            // `workflow:` sees the top-level `variables:`, not a job's
            for (name, value) in variables_the_workflow_reads(p, file.workflow.as_ref()).0 {
                if file.variables.get(&name).is_none() {
                    file.variables.insert(name, value);
                }
            }
        }
        check_renamed_keys(p, several)?;
        file.included_jobs.0.extend(included_job_keys(p, several)?);
        jobs.extend(p.jobs().map(|job| (p, job)));
    }
    let source = crate::plan::sources_of(plans);
    // GitLab's schema, on what is about to be written: `gitlab = { … }` carries keys
    // as written, and a violation is reported at the key that caused it
    let layout = Layout {
        several,
        merge_request_pipelines: merge_request_pipelines_without_workflow(plans, several),
        default_keys: DefaultKeys::of(&file.default),
    };
    let written = written_and_checked(header(&source), &file, &jobs, layout)
        .map_err(crate::yaml::YamlError)?;
    warnings.extend(written.warnings);
    warnings.extend(
        written
            .found
            .iter()
            .map(|v| crate::gitlab_schema::diagnostic(v, plans, several)),
    );
    Ok(written.text)
}

/// How the file is laid out, as each job is written.
#[derive(Clone, Copy)]
struct Layout {
    /// Several pipelines in one file: names prefixed, `on` in each job's rules.
    several: bool,
    /// GitLab may create merge request pipelines that no `workflow: rules` asked for.
    merge_request_pipelines: bool,
    /// The keys of the top-level `default:`, which a job lacking one must not inherit.
    default_keys: DefaultKeys,
}

/// The keys GitLab's top-level `default:` takes, in the order the file writes them: the
/// keys of [`GITLAB_DEFAULT_KEYS`] (a Plumb field's), then `hooks` (`gitlab = { hooks
/// }`) and `id_tokens` (the `id_token` secrets of the `default`'s `env`, whose other
/// bindings the included jobs get from the top-level `variables:`).
const DEFAULT_KEYS: [&str; 12] = [
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "artifacts",
    "retry",
    "timeout",
    "interruptible",
    "tags",
    "hooks",
    "id_tokens",
];

/// Which of [`DEFAULT_KEYS`] the top-level `default:` writes (bit `i` for key `i`).
#[derive(Clone, Copy, Default)]
struct DefaultKeys(u16);

impl DefaultKeys {
    fn of(default: &OrderedMap<Data>) -> DefaultKeys {
        let bits = (DEFAULT_KEYS.iter().enumerate())
            .filter(|(_, k)| default.get(k).is_some())
            .fold(0, |bits, (i, _)| bits | 1 << i);
        DefaultKeys(bits)
    }

    fn has(self, key: &str) -> bool {
        (DEFAULT_KEYS.iter().position(|k| *k == key)).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// Whether job `j` lacks one of these keys: GitLab would then give it the
    /// `default:`'s, which Plumb merged into the job already (or the job cleared).
    fn lacked_by(self, j: &Job) -> bool {
        (DEFAULT_KEYS.iter()).any(|key| self.has(key) && lacks(j, key))
    }
}

/// Leaves `key` (one of [`GITLAB_DEFAULT_KEYS`]) out of job `j`, to `default:`.
fn clear(j: &mut Job, key: &str) {
    match key {
        "image" => j.image = None,
        "services" => j.services.clear(),
        "before_script" => j.before_script.clear(),
        "after_script" => j.after_script.clear(),
        "cache" => j.cache = None,
        "artifacts" => j.artifacts = None,
        "retry" => j.retry = None,
        "timeout" => j.timeout = None,
        "interruptible" => j.interruptible = None,
        "tags" => j.tags.clear(),
        _ => {}
    }
}

/// Whether job `j` writes no `key` (one of [`DEFAULT_KEYS`]).
fn lacks(j: &Job, key: &str) -> bool {
    match key {
        "image" => j.image.is_none(),
        "services" => j.services.is_empty(),
        "before_script" => j.before_script.is_empty(),
        "after_script" => j.after_script.is_empty(),
        "cache" => j.cache.is_none(),
        "artifacts" => j.artifacts.is_none(),
        "retry" => j.retry.is_none(),
        "timeout" => j.timeout.is_none(),
        "interruptible" => j.interruptible.is_none(),
        "tags" => j.tags.is_empty(),
        "id_tokens" => j.id_tokens.is_empty(),
        other => j.passthrough.get(other).is_none(),
    }
}

/// A job that `extends` hidden jobs of included files: GitLab merges them first, then
/// the job's keys, then fills what is still missing from `default:`. The keys Plumb
/// merged into the job from the pipeline's `default` are left to the top-level
/// `default:` (written, as the file is one of several: see
/// [`plumb_semantics::PipelineModel::with_other_files`]), so that what the hidden jobs
/// give wins over them, as it did in GitLab; a key the job itself leaves out
/// (`image = runner_default`, `before_run = []`) it does not inherit (`inherit:
/// default: [the others]`).
fn leave_default_to_gitlab(job: &JobModel, j: &mut Job, keys: DefaultKeys) {
    // `gitlab = { inherit = { default = false } }`: the job takes nothing from it
    if let Some(Data::Map(inherit)) = j.passthrough.get("inherit") {
        if inherit.get("default").is_some() {
            return;
        }
    }
    let from_default = |gitlab: &str, field: &str| {
        keys.has(gitlab)
            && (job.field(field)).is_some_and(|f| f.layer == plumb_semantics::Layer::Default)
    };
    let left: Vec<&str> = (GITLAB_DEFAULT_KEYS.iter())
        .filter(|(gitlab, field)| from_default(gitlab, field))
        .map(|(gitlab, _)| *gitlab)
        .collect();
    let cleared = (DEFAULT_KEYS.iter()).any(|k| keys.has(k) && lacks(j, k) && !left.contains(k));
    for key in &left {
        clear(j, key);
    }
    if cleared {
        let inherited = left.iter().map(|k| Data::Str(k.to_string())).collect();
        inherit_default(j, Data::List(inherited));
    }
}

/// A job that `extends` hidden jobs of included files and empties a list of its own
/// (`before_run = []`): written as `before_script: []`, which GitLab keeps over theirs
/// (no key would let theirs through).
fn write_emptied_lists(job: &JobModel, j: &mut Job) {
    for (gitlab, field) in [
        ("before_script", "before_run"),
        ("after_script", "after_run"),
        ("services", "services"),
        ("tags", "tags"),
    ] {
        let own = job
            .field(field)
            .filter(|f| f.layer != plumb_semantics::Layer::Default);
        if own
            .and_then(|f| f.value.as_list())
            .is_some_and(<[_]>::is_empty)
        {
            j.passthrough.insert(gitlab, Data::List(Vec::new()));
        }
    }
}

/// A job's own `gitlab = { inherit = { default = [KEYS] } }`: Plumb merged what it
/// names into the job already. Where the file writes a top-level `default:`, the job
/// takes nothing more from it (`false`): a key the job cleared (`before_run = []`) is
/// not given back.
fn settle_inherit_default(j: &mut Job, keys: DefaultKeys) {
    if keys.0 == 0 {
        return;
    }
    let inherit = j.passthrough.0.iter_mut().find(|(k, _)| k == "inherit");
    if let Some((_, Data::Map(m))) = inherit {
        if matches!(m.get("default"), Some(Data::List(_))) {
            m.insert("default", Data::Bool(false));
        }
    }
}

/// `inherit: { default: false }` on a job (see [`inherit_default`]).
fn inherit_no_default(j: &mut Job) {
    inherit_default(j, Data::Bool(false));
}

/// `inherit: { default: VALUE }` on a job, beside what its `gitlab = { inherit = … }`
/// says (where it says `default = false` already, nothing changes).
fn inherit_default(j: &mut Job, value: Data) {
    match j.passthrough.0.iter_mut().find(|(k, _)| k == "inherit") {
        Some((_, Data::Map(m))) if m.get("default").is_none() => m.insert("default", value),
        Some(_) => {}
        None => {
            let mut m = OrderedMap::new();
            m.insert("default", value);
            j.passthrough.insert("inherit", Data::Map(m));
        }
    }
}

/// Whether, without `workflow: rules` (no pipeline's `on`, or several pipelines), some
/// job's rules can hold in a merge request pipeline: GitLab then creates one, and leaves
/// out of it every job without rules (their default is `only: [branches, tags]`), while
/// Plumb runs a job without `when` whenever its pipeline runs.
fn merge_request_pipelines_without_workflow(plans: &[PipelinePlan], several: bool) -> bool {
    let mr = plumb_semantics::Event::MergeRequest;
    // what `job_condition` gives, asked without building it (a clone of two conditions
    // per job): `and` with `Always` is the other side, and `admits` of an `and` is the
    // `and` of the two
    let may = |on: &Cond, when: &Cond| {
        !(*on == Cond::Always && *when == Cond::Always)
            && on.admits(&mr).and(when.admits(&mr)) != plumb_semantics::Truth::No
    };
    plans
        .iter()
        .filter(|p| several || p.model.on == Cond::Always)
        .flat_map(|p| p.model.jobs.iter().map(move |j| (p, j)))
        .any(|(p, j)| {
            let on = if several { &p.model.on } else { &Cond::Always };
            may(on, &j.when)
        })
}

/// When a job runs, as its `rules` say it: with several pipelines in one file (no
/// `workflow: rules`) its pipeline's `on` too.
fn job_condition(p: &PipelinePlan, job: &JobModel, several: bool) -> Cond {
    if several {
        Cond::and(p.model.on.clone(), job.when.clone())
    } else {
        job.when.clone()
    }
}

/// One job as the file writes it: its key (PL5003 when that is not its name) and its
/// definition, with `rules` from its condition.
fn job_entry(
    p: &PipelinePlan,
    job: &JobModel,
    layout: Layout,
    warnings: &mut Vec<Diagnostic>,
) -> (String, Job) {
    let several = layout.several;
    let name = job_key(p, several, &job.name);
    let scoped = scoped_name(p, several, &job.name);
    if name != scoped {
        warnings.push(
            Diagnostic::warning(
                plumb_diagnostics::Code::PL5003,
                job.name_at,
                format!(
                    "job `{}` is written as `{name}`: `{scoped}` is a GitLab CI keyword",
                    job.name
                ),
            )
            .with_label(format!("written as `{name}`, and `needs` follow"))
            .with_help(format!(
                "to keep one name in Plumb and GitLab, rename the job (e.g. `build-{}`)",
                job.name
            )),
        );
    }
    let cond = job_condition(p, job, several);
    let mut j = compile_job(p, job, several, warnings);
    settle_inherit_default(&mut j, layout.default_keys);
    if job.included_bases().is_some() {
        leave_default_to_gitlab(job, &mut j, layout.default_keys);
        write_emptied_lists(job, &mut j);
        if !several {
            leave_top_level_variables_to_gitlab(p, job, &mut j);
        }
    } else if layout.default_keys.lacked_by(&j) {
        inherit_no_default(&mut j);
    }
    let (when, start_in) = run_when(job);
    // a job with no `when` that extends hidden jobs of other files leaves its rules to
    // them (a rule here would replace theirs)
    let rules_left_to_bases = job.included_bases().is_some();
    if cond == Cond::Always && layout.merge_request_pipelines && !rules_left_to_bases {
        // a rule that always matches keeps the job in merge request pipelines
        j.rules = Some(vec![Rule {
            when: Some(when.unwrap_or("on_success")),
            start_in,
            ..Rule::default()
        }]);
    } else if cond != Cond::Always {
        let holders: Vec<&JobModel> = [job].into_iter().filter(|j| never_widened(j)).collect();
        let at = job.field("when").map(|f| f.key_at).or(p.model.on_at);
        let before = warnings.len();
        let mut widen = Widening::new(at, &holders, warnings);
        let mut rules = rules(&cond, false, &mut widen);
        job.label_findings_outside(&mut warnings[before..]);
        // with `rules`, GitLab reads `when` and `start_in` from each rule
        for r in rules
            .iter_mut()
            .filter(|r| matches!(r.when, None | Some("on_success")))
        {
            if when.is_some() {
                r.when = when;
                r.start_in = start_in.clone();
            }
        }
        j.rules = Some(rules);
    } else {
        (j.when, j.start_in) = (when, start_in);
    }
    (name, j)
}

/// From this many jobs, a file's jobs are compiled, written and checked on two threads.
const JOBS_ON_TWO_THREADS_FROM: usize = 256;

/// The jobs each thread takes at a time: small enough that the two threads finish
/// together (a fresh thread's first pages cost more than the reused ones of the thread
/// that read the workspace), large enough that the pieces are few.
const JOBS_PER_PIECE: usize = 128;

/// The stack of that thread: values nest as deep as the program writes them (reserved,
/// not committed: only what is used is).
const WRITE_STACK: usize = 256 * 1024 * 1024;

/// Jobs compiled and written: their text, what GitLab's schema refuses in them, the
/// compiler's warnings, and the jobs the file's schema checks (`pages`), as JSON.
#[derive(Default)]
struct Written {
    text: String,
    found: Vec<crate::schema::Violation>,
    warnings: Vec<Diagnostic>,
    with_the_file: Vec<(String, serde_json::Value)>,
}

/// The file as YAML after `head`, and what GitLab's schema refuses in it. The file's
/// own keys (and a job the schema names, `pages`) are checked with the file's schema;
/// each other job on its own with the job's definition, which is what the file's schema
/// applies to a key it does not name, so that a file of thousands of jobs is never one
/// JSON tree. Each job is compiled and written on its own after the file's keys (the
/// text the whole file is written as), in pieces two threads take in turn for a large
/// file, and dropped once written: the file's jobs are never all held at once.
fn written_and_checked(
    head: String,
    file: &File,
    jobs: &[(&PipelinePlan, &JobModel)],
    layout: Layout,
) -> Result<Written, String> {
    let mut text = head;
    // one buffer for the whole file (a job is about 450 bytes): the pieces are appended
    text.reserve(jobs.len() * 512);
    write_yaml(&mut text, file).map_err(|e| e.0)?;
    let mut out = Written {
        text,
        ..Written::default()
    };
    for piece in pieces_written(jobs, layout) {
        let piece = piece?;
        out.text.push_str(&piece.text);
        out.found.extend(piece.found);
        out.warnings.extend(piece.warnings);
        out.with_the_file.extend(piece.with_the_file);
    }
    if !file.included_jobs.0.is_empty() {
        write_yaml(&mut out.text, &file.included_jobs).map_err(|e| e.0)?;
    }
    let mut top = serde_json::Map::new();
    for (key, v) in [
        (
            "include",
            (!file.include.is_empty()).then(|| value(&file.include)),
        ),
        ("stages", Some(value(&file.stages))),
        ("workflow", file.workflow.as_ref().map(value)),
        (
            "variables",
            (!file.variables.is_empty()).then(|| value(&file.variables)),
        ),
        (
            "default",
            (!file.default.is_empty()).then(|| value(&file.default)),
        ),
    ] {
        if let Some(v) = v {
            top.insert(key.into(), v?);
        }
    }
    top.extend(std::mem::take(&mut out.with_the_file));
    for (key, keys) in &file.included_jobs.0 {
        top.insert(key.clone(), value(keys)?);
    }
    let mut found = crate::schema::violations(&serde_json::Value::Object(top))?;
    found.append(&mut out.found);
    out.found = found;
    Ok(out)
}

/// The jobs compiled, written and checked in pieces, in order: on this thread and, for a
/// large file, one more, each taking the next piece not yet taken.
fn pieces_written(
    jobs: &[(&PipelinePlan, &JobModel)],
    layout: Layout,
) -> Vec<Result<Written, String>> {
    let pieces: Vec<&[(&PipelinePlan, &JobModel)]> = jobs.chunks(JOBS_PER_PIECE).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_until_none_left = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(piece) = pieces.get(i) else {
                return done;
            };
            let buffer = String::with_capacity(piece.len() * 512);
            done.push((i, jobs_written_and_checked(buffer, piece, layout)));
        }
    };
    let mut done = std::thread::scope(|scope| {
        let helper = (jobs.len() >= JOBS_ON_TWO_THREADS_FROM)
            .then(|| {
                std::thread::Builder::new()
                    .stack_size(WRITE_STACK)
                    .spawn_scoped(scope, take_until_none_left)
                    .ok()
            })
            .flatten();
        // no second thread: this one takes every piece
        let mut done = take_until_none_left();
        if let Some(h) = helper {
            done.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, w)| w).collect()
}

fn value<T: Serialize>(v: &T) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// Jobs compiled and written as the top-level entries of a YAML file (after `text`), and
/// what the job's schema refuses in those the file's schema does not check.
fn jobs_written_and_checked(
    text: String,
    jobs: &[(&PipelinePlan, &JobModel)],
    layout: Layout,
) -> Result<Written, String> {
    let mut out = Written {
        text,
        ..Written::default()
    };
    for (p, job) in jobs {
        let (name, job) = job_entry(p, job, layout, &mut out.warnings);
        write_yaml(&mut out.text, &OrderedMap(vec![(name.clone(), &job)])).map_err(|e| e.0)?;
        if crate::schema::checked_with_the_file(&name) {
            out.with_the_file.push((name, value(&job)?));
        } else {
            out.found
                .extend(crate::schema::job_violations(&name, value(&job)?)?);
        }
    }
    Ok(out)
}

/// `include` and `gitlab = { workflow … }` belong to the whole file: with several
/// pipelines in one file they would apply to all of them, so that is an error.
fn refuse_shared_keys(plans: &[PipelinePlan], warnings: &mut Vec<Diagnostic>) {
    for p in plans {
        for field in ["include", "gitlab"] {
            if let Some(f) = p.model.field(field) {
                warnings.push(
                    Diagnostic::error(
                        plumb_diagnostics::Code::PL5001,
                        f.key_at,
                        format!(
                            "`{field}` of pipeline `{}` would apply to every pipeline of the file",
                            p.model.name
                        ),
                    )
                    .with_label("one `.gitlab-ci.yml` holds several pipelines")
                    .with_help("build with `--split -o DIR` (one file per pipeline), or move the pipeline to a file of its own"),
                );
            }
        }
    }
}

/// A pipeline's `include` entries as GitLab writes them: `remote` with `sha256` gets
/// `integrity: sha256-<base64>`, `component` its `inputs`.
fn includes(p: &PipelinePlan) -> Vec<Data> {
    let Some(list) = p.model.field("include").and_then(|f| f.value.as_list()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Data::of)
        .map(|mut d| {
            if let Some(m) = d.as_map_mut() {
                if let Some(Data::Str(hex)) = m.remove("sha256") {
                    m.insert("integrity", Data::Str(crate::data::sri_sha256(&hex)));
                }
            }
            d
        })
        .collect()
}

/// `gitlab = { workflow = { … } }` on a pipeline.
fn workflow_passthrough(p: &PipelinePlan) -> Option<OrderedMap<Data>> {
    let gitlab = p.model.field("gitlab")?;
    let Some(Data::Map(mut keys)) = Data::of(&gitlab.value) else {
        return None;
    };
    match keys.remove("workflow") {
        Some(Data::Map(w)) => Some(w),
        _ => None,
    }
}

/// The pipeline's `env` as top-level `variables:`, which GitLab gives the jobs of the
/// included files too: plain values, and `ci_variable` secrets bound under another
/// name (GitLab has no top-level `secrets:`; a Vault secret stays in its jobs).
fn included_jobs_variables(p: &PipelinePlan) -> OrderedMap<String> {
    let mut out = OrderedMap::new();
    for b in &p.model.env {
        match &b.value.kind {
            ValueKind::Str(s) => out.insert(b.name.clone(), s.clone()),
            ValueKind::Secret(secret) => match &secret.source {
                SecretSource::CiVariable(n) if *n != b.name => {
                    out.insert(b.name.clone(), format!("${n}"))
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

/// The pipeline's `env` bindings (as [`included_jobs_variables`] writes them) that the
/// workflow reads: `on`'s `var("X")`, a `$X` in `gitlab = { workflow = { name } }`.
/// GitLab decides `workflow:` with the top-level `variables:` only, so these go there
/// too (the jobs keep their own copies).
fn variables_the_workflow_reads(
    p: &PipelinePlan,
    workflow: Option<&Workflow>,
) -> OrderedMap<String> {
    let mut read = Vec::new();
    cond_variables(&p.model.on, &mut read);
    let mut texts = Vec::new();
    if let Some(w) = workflow {
        data_strings(&Data::Map(w.passthrough.clone()), &mut texts);
    }
    let named_in_text = |name: &str| {
        texts.iter().any(|t| {
            t.contains(&format!("${{{name}}}"))
                || t.match_indices(&format!("${name}")).any(|(at, m)| {
                    let next = t[at + m.len()..].chars().next();
                    !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        })
    };
    let mut out = OrderedMap::new();
    for (name, value) in included_jobs_variables(p).0 {
        if read.contains(&name) || named_in_text(&name) {
            out.insert(name, value);
        }
    }
    out
}

/// The CI/CD variables a condition reads (`var("X")`, `== var("X")`).
fn cond_variables(c: &Cond, out: &mut Vec<String>) {
    use plumb_semantics::value::BranchTest;
    let test_var = |t: &BranchTest| match t {
        BranchTest::EqVar(n) | BranchTest::NotEqVar(n) => Some(n.clone()),
        _ => None,
    };
    match c {
        Cond::Var(name, test) => {
            out.push(name.clone());
            out.extend(test_var(test));
        }
        Cond::Branch(test) | Cond::Source(test) => out.extend(test_var(test)),
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_variables(a, out);
            cond_variables(b, out);
        }
        Cond::Not(inner) => cond_variables(inner, out),
        _ => {}
    }
}

/// Every string in a value, keys too.
fn data_strings(d: &Data, out: &mut Vec<String>) {
    match d {
        Data::Str(s) => out.push(s.clone()),
        Data::List(items) => items.iter().for_each(|i| data_strings(i, out)),
        Data::Map(m) => {
            for (k, v) in &m.0 {
                out.push(k.clone());
                data_strings(v, out);
            }
        }
        Data::Int(_) | Data::Bool(_) => {}
    }
}

/// A job that `extends` hidden jobs of other files: the variables the top-level
/// `variables:` gives it as they are (the pipeline's `env`) are left to it, where the
/// hidden jobs' own variables win over them, as GitLab ranks them.
fn leave_top_level_variables_to_gitlab(p: &PipelinePlan, job: &JobModel, j: &mut Job) {
    let top = included_jobs_variables(p);
    // what the job, its templates or `default` bind stays the job's
    let from_pipeline = |name: &str| {
        (job.env.iter()).any(|b| b.name == name && b.layer == plumb_semantics::Layer::Pipeline)
    };
    j.variables
        .0
        .retain(|(name, value)| !(top.get(name) == Some(value) && from_pipeline(name)));
}

/// The pipeline's `default` as GitLab's top-level `default:`, which reaches the jobs of
/// the included files; `None` without a `default`. Its keys that `default:` does not
/// take (`env`, `when`, `allow_failure`) reach the pipeline's own jobs only.
fn included_jobs_default(p: &PipelinePlan) -> Option<OrderedMap<Data>> {
    let default = p.model.included_jobs_default.as_deref()?;
    // what a Kubernetes Secret would warn of is said where the jobs are compiled
    let j = compile_job(p, default, false, &mut Vec::new());
    let strings = |lines: Vec<String>| Data::List(lines.into_iter().map(Data::Str).collect());
    let hooks = j.passthrough.get("hooks").cloned();
    let keys = [
        j.image,
        (!j.services.is_empty()).then_some(Data::List(j.services)),
        (!j.before_script.is_empty()).then(|| strings(j.before_script)),
        (!j.after_script.is_empty()).then(|| strings(j.after_script)),
        j.cache,
        j.artifacts,
        j.retry,
        j.timeout.map(Data::Str),
        j.interruptible.map(Data::Bool),
        (!j.tags.is_empty()).then(|| strings(j.tags)),
        hooks,
        (!j.id_tokens.is_empty()).then(|| id_tokens_data(&j.id_tokens)),
    ];
    let mut out = OrderedMap::new();
    for (key, v) in DEFAULT_KEYS.iter().zip(keys) {
        if let Some(v) = v {
            out.push_new(*key, v);
        }
    }
    Some(out)
}

/// `id_tokens:` as data: each token's name and its `aud`.
fn id_tokens_data(tokens: &OrderedMap<IdToken>) -> Data {
    let mut out = OrderedMap::new();
    for (name, token) in &tokens.0 {
        let mut fields = OrderedMap::new();
        fields.push_new("aud", Data::Str(token.aud.clone()));
        out.push_new(name.clone(), Data::Map(fields));
    }
    Data::Map(out)
}

/// `gitlab = { sast = { … } }` on a pipeline: the keys that complete a job of an
/// included file, as written; refused (PL5003) when a job of the pipeline is written
/// under that name, as GitLab would merge the two.
fn included_job_keys(p: &PipelinePlan, several: bool) -> Result<Vec<(String, Data)>, BuildError> {
    let mut out = Vec::new();
    for e in p.model.included_job_keys() {
        if let Some(job) = p.jobs().find(|j| job_key(p, several, &j.name) == e.key) {
            let d = Diagnostic::error(
                plumb_diagnostics::Code::PL5003,
                e.key_at,
                format!("`{}` is also the GitLab name of job `{}`", e.key, job.name),
            )
            .with_label("GitLab would merge these keys into that job")
            .with_secondary(job.name_at, "the job")
            .with_help("write the keys in the job's own `gitlab = { … }`, or rename the job");
            return Err(BuildError::Diagnostics(vec![d]));
        }
        if let Some(keys) = Data::of(&e.value) {
            out.push((e.key.clone(), keys));
        }
    }
    Ok(out)
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
/// several, and `NAME-job` when that is a GitLab keyword (GitLab would read `image:` as
/// the default image, not as a job) or `pages:deploy` (pipeline `pages`, job `deploy`:
/// the name of the job GitLab adds to deploy Pages).
pub(crate) fn job_key(p: &PipelinePlan, several: bool, name: &str) -> String {
    let scoped = scoped_name(p, several, name);
    if is_reserved_key(&scoped) {
        format!("{scoped}-job")
    } else {
        scoped
    }
}

fn is_reserved_key(key: &str) -> bool {
    plumb_semantics::fields::is_reserved_job_key(key)
}

/// A job renamed `NAME-job` must not take the key of another job of the file.
fn check_renamed_keys(p: &PipelinePlan, several: bool) -> Result<(), BuildError> {
    // with several pipelines every job is renamed: a lookup, not a scan, per job
    let by_name: std::collections::HashMap<&str, &JobModel> =
        p.jobs().map(|j| (j.name.as_str(), j)).collect();
    for job in p.jobs() {
        let key = job_key(p, several, &job.name);
        if key == scoped_name(p, several, &job.name) {
            continue;
        }
        if let Some(other) = by_name.get(key.as_str()) {
            let d = Diagnostic::error(
                plumb_diagnostics::Code::PL5003,
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
    let strings = |name: &str| -> Vec<String> {
        job.string_list(name)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let mut j = Job {
        stage: scoped_name(p, several, p.stage_name(job)),
        image: image(job),
        services: job.services().iter().filter_map(service).collect(),
        before_script: script_lines(job.field("before_run").map(|f| &f.value)),
        script: job
            .run_lines()
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect(),
        after_script: script_lines(job.field("after_run").map(|f| &f.value)),
        timeout: job.duration_field("timeout").map(format_duration),
        retry: data(job, "retry"),
        environment: environment(job, |n| job_key(p, several, n)),
        allow_failure: data(job, "allow_failure"),
        interruptible: job.bool_field("interruptible"),
        resource_group: job.str_field("resource_group").map(str::to_string),
        coverage: job.str_field("coverage").map(coverage_regex),
        tags: strings("tags"),
        artifacts: artifacts(job),
        cache: cache(job),
        trigger: trigger(job),
        passthrough: match data(job, "gitlab") {
            Some(Data::Map(m)) => m,
            _ => OrderedMap::new(),
        },
        ..Job::default()
    };
    if job.field("needs").is_some() {
        let need = |n: &plumb_semantics::Need| {
            let name = Data::Str(job_key(p, several, &n.job));
            if !n.optional && n.artifacts {
                return name;
            }
            let mut m = OrderedMap::new();
            m.insert("job", name);
            if n.optional {
                m.insert("optional", Data::Bool(true));
            }
            if !n.artifacts {
                m.insert("artifacts", Data::Bool(false));
            }
            Data::Map(m)
        };
        j.needs = Some(
            job.needs
                .iter()
                .filter(|n| n.target.is_some())
                .map(need)
                .collect(),
        );
    }
    // `gitlab = { needs = … }`: jobs of other files, after the pipeline's own (the
    // checker asks for the job's `needs` beside them)
    if let Some(Data::List(outside)) = j.passthrough.remove("needs") {
        j.needs.get_or_insert_with(Vec::new).extend(outside);
    }
    if let Some(f) = job.field("dependencies") {
        let names = f.value.as_list().unwrap_or(&[]).iter();
        let names = names.filter_map(|v| match &v.kind {
            ValueKind::JobRef(n) if p.has_job(n) => Some(job_key(p, several, n)),
            _ => None,
        });
        j.dependencies = Some(names.collect());
    }
    // `gitlab = { dependencies = … }`: jobs of other files, after the pipeline's own
    if let Some(Data::List(outside)) = j.passthrough.remove("dependencies") {
        let names = outside.into_iter().filter_map(|d| match d {
            Data::Str(name) => Some(name),
            _ => None,
        });
        j.dependencies.get_or_insert_with(Vec::new).extend(names);
    }
    environment_variables(job, &mut j, warnings);
    if j.trigger.is_some() {
        // fields a trigger job cannot have: the checker refuses them on the job and
        // its templates, and the pipeline's `default` does not reach trigger jobs
        // (`interruptible` it can, since GitLab 16.8)
        j = Job {
            image: None,
            services: Vec::new(),
            before_script: Vec::new(),
            script: Vec::new(),
            after_script: Vec::new(),
            timeout: None,
            retry: None,
            artifacts: None,
            cache: None,
            coverage: None,
            tags: Vec::new(),
            dependencies: None,
            ..j
        };
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
    for (field, why) in [
        (
            "resources",
            "GitLab runners size jobs themselves; `resources` is used by the Kubernetes targets",
        ),
        (
            "k8s",
            "`k8s` sets the Kubernetes Job's pod; GitLab does not read it",
        ),
    ] {
        warnings.extend(job_not_carried(job, field, "GitLab", why));
    }
    j
}

/// `env`: plain values become `variables`, secrets `variables` references, Vault
/// `secrets` or `id_tokens`.
fn environment_variables(job: &JobModel, j: &mut Job, warnings: &mut Vec<Diagnostic>) {
    for b in &job.env {
        match &b.value.kind {
            ValueKind::Str(s) => j.variables.insert(b.name.clone(), s.clone()),
            ValueKind::Secret(secret) => match &secret.source {
                // project CI/CD variables reach every job; a binding under another name
                // is a reference that GitLab expands
                SecretSource::CiVariable(n) if *n == b.name => {}
                SecretSource::CiVariable(n) => j.variables.insert(b.name.clone(), format!("${n}")),
                SecretSource::Vault { path, field, file } => j.secrets.insert(
                    b.name.clone(),
                    VaultSecret {
                        vault: VaultRef {
                            engine: VaultEngine { name: "kv-v2", path: "secret" },
                            path: path.clone(),
                            field: field.clone(),
                        },
                        file: *file,
                    },
                ),
                SecretSource::IdToken(aud) => {
                    j.id_tokens.insert(b.name.clone(), IdToken { aud: aud.clone() })
                }
                SecretSource::K8sSecret { .. } => warnings.push(warning(
                    plumb_diagnostics::Code::PL5001,
                    b.name_at,
                    format!("`{}` comes from a Kubernetes Secret, which GitLab cannot read; it is left out of the GitLab job", b.name),
                    "bind a `ci_variable` or `vault` secret for GitLab jobs",
                )),
            },
            _ => {}
        }
    }
}

fn data(job: &JobModel, field: &str) -> Option<Data> {
    job.field(field).and_then(|f| Data::of(&f.value))
}

/// `image:`, or `image: { name, entrypoint }`; none for `runner_default`.
fn image(job: &JobModel) -> Option<Data> {
    let name = job.image()?.as_str()?.to_string();
    let Some(entrypoint) = data(job, "entrypoint") else {
        return Some(Data::Str(name));
    };
    let mut m = OrderedMap::new();
    m.insert("name", Data::Str(name));
    m.insert("entrypoint", entrypoint);
    Some(Data::Map(m))
}

/// A service: an image, or `{ name, alias, command, entrypoint, variables }`.
fn service(v: &plumb_semantics::Value) -> Option<Data> {
    let mut d = Data::of(v)?;
    if let Some(m) = d.as_map_mut() {
        m.rename("image", "name");
        m.rename("env", "variables");
    }
    Some(d)
}

fn script_lines(v: Option<&plumb_semantics::Value>) -> Vec<String> {
    match v.map(|v| &v.kind) {
        Some(ValueKind::Str(s)) => vec![s.clone()],
        Some(ValueKind::List(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// GitLab writes the coverage regex between slashes.
fn coverage_regex(re: &str) -> String {
    if re.len() >= 2 && re.starts_with('/') && re.ends_with('/') {
        re.to_string()
    } else {
        format!("/{re}/")
    }
}

/// `artifacts`: a list of paths, or the record, with `reports.coverage` written as
/// GitLab's `coverage_report: { coverage_format, path }`.
fn artifacts(job: &JobModel) -> Option<Data> {
    let mut d = data(job, "artifacts")?;
    if let Data::List(paths) = d {
        let mut m = OrderedMap::new();
        m.insert("paths", Data::List(paths));
        return Some(Data::Map(m));
    }
    let reports = d.as_map_mut().and_then(|m| {
        m.0.iter_mut()
            .find(|(k, _)| k == "reports")
            .and_then(|(_, r)| r.as_map_mut())
    });
    if let Some(reports) = reports {
        reports.rename("coverage", "coverage_report");
        if let Some(Data::Map(c)) = reports
            .0
            .iter_mut()
            .find(|(k, _)| k == "coverage_report")
            .map(|(_, v)| v)
        {
            c.rename("format", "coverage_format");
        }
    }
    Some(d)
}

/// `cache` (one or a list), with `key: default` where a record names none (GitLab's
/// own default).
fn cache(job: &JobModel) -> Option<Data> {
    let mut d = data(job, "cache")?;
    let records: Vec<&mut Data> = match &mut d {
        Data::List(items) => items.iter_mut().collect(),
        one => vec![one],
    };
    for m in records.into_iter().filter_map(Data::as_map_mut) {
        if m.get("key").is_none() {
            m.0.insert(0, ("key".to_string(), Data::Str("default".to_string())));
        }
    }
    Some(d)
}

/// `environment`: a name, or the record with `on_stop` as the job's key and `tier` as
/// `deployment_tier`.
fn environment(job: &JobModel, key: impl Fn(&str) -> String) -> Option<Data> {
    let f = job.field("environment")?;
    let mut d = Data::of(&f.value)?;
    if let Some(m) = d.as_map_mut() {
        let on_stop = f.value.as_map().and_then(|entries| {
            entries
                .iter()
                .find(|e| e.key == "on_stop")
                .and_then(|e| match &e.value.kind {
                    ValueKind::JobRef(n) => Some(key(n)),
                    _ => None,
                })
        });
        if let Some(stop) = on_stop {
            m.insert("on_stop", Data::Str(stop));
        }
        m.rename("tier", "deployment_tier");
    }
    Some(d)
}

/// `trigger: { project, branch, strategy, inputs }` or `trigger: { include, strategy }`
/// (with inputs, `include: [{ local, inputs }]`, where GitLab takes a child's inputs).
fn trigger(job: &JobModel) -> Option<Data> {
    let Data::Map(mut m) = data(job, "trigger")? else {
        return None;
    };
    if let Some(file) = m.get("child").cloned() {
        if let Some(inputs) = m.remove("inputs") {
            let mut include = OrderedMap::new();
            include.insert("local", file);
            include.insert("inputs", inputs);
            m.insert("child", Data::List(vec![Data::Map(include)]));
        }
    }
    let mut out = OrderedMap::new();
    for (k, v) in m.0 {
        match (k.as_str(), v) {
            ("child", v) => out.insert("include", v),
            ("depend", Data::Bool(true)) => out.insert("strategy", Data::Str("depend".to_string())),
            ("depend", _) => {}
            (_, v) => out.insert(k, v),
        }
    }
    Some(Data::Map(out))
}

/// The job-level `when` that `if_previous` and `delay` ask for, and `start_in`.
fn run_when(job: &JobModel) -> (Option<&'static str>, Option<String>) {
    if let Some(delay) = job.duration_field("delay") {
        return (Some("delayed"), Some(format_duration(delay)));
    }
    let when = match job.str_field("if_previous") {
        Some("failure") => Some("on_failure"),
        Some("always") => Some("always"),
        _ => None,
    };
    (when, None)
}

/// A job that binds a secret, or names a project variable it may read (not one of
/// GitLab's credentials for the job, which every job has).
fn holds_secrets(job: &JobModel) -> bool {
    let job_credential = |s: &plumb_semantics::SecretRef| {
        matches!(&s.source, plumb_semantics::SecretSource::CiVariable(v)
            if plumb_semantics::JOB_CREDENTIALS.contains(&v.as_str()))
    };
    job.secret_env().next().is_some() || !job.read_secrets.iter().all(job_credential)
}

/// Whether a job's condition is never widened: it holds secrets, or deploys to an
/// environment (widened, a production deploy would run from every branch).
fn never_widened(job: &JobModel) -> bool {
    holds_secrets(job) || job.field("environment").is_some()
}

/// Where a condition that cannot be written exactly is reported: a warning when it
/// governs no job with secrets or an environment, an error (nothing written) when it
/// does, since widening would run that job, with its secrets or to its environment,
/// where the condition says it must not run.
struct Widening<'w, 'j> {
    at: Option<plumb_diagnostics::FileRange>,
    holders: &'w [&'j JobModel],
    out: &'w mut Vec<Diagnostic>,
    /// How the rule being written is wider than its alternative.
    widened: Vec<Widened>,
}

impl<'w, 'j> Widening<'w, 'j> {
    fn new(
        at: Option<plumb_diagnostics::FileRange>,
        holders: &'w [&'j JobModel],
        out: &'w mut Vec<Diagnostic>,
    ) -> Self {
        Widening {
            at,
            holders,
            out,
            widened: Vec::new(),
        }
    }

    /// The rule being written is wider than its alternative: reported (or refused)
    /// once the rules around it are known.
    fn widen_rule(&mut self, widened: Widened) {
        self.widened.push(widened);
    }

    /// A literal GitLab cannot read back: always an error, whatever the job holds.
    fn refuse(&mut self, why: String) {
        let Some(at) = self.at else { return };
        self.out.push(
            Diagnostic::error(
                plumb_diagnostics::Code::PL5002,
                at,
                format!("{why}; nothing was written"),
            )
            .with_label("cannot be written as a GitLab expression")
            .with_help("change the literal, or test it with a pattern (`=~`)"),
        );
    }

    /// A widening that is never made (a job that waits for a person would run by
    /// itself): an error, whatever the job holds.
    fn refuse_widening(&mut self, what: &str, help: &str) {
        let Some(at) = self.at else { return };
        self.out.push(
            Diagnostic::error(
                plumb_diagnostics::Code::PL5002,
                at,
                format!("{what}; refused"),
            )
            .with_label("cannot be written exactly as GitLab rules")
            .with_help(help.to_string()),
        );
    }

    fn report(&mut self, what: &str, help: &str) {
        let Some(at) = self.at else { return };
        if self.holders.is_empty() {
            self.out.push(
                warning(plumb_diagnostics::Code::PL5002, at, what.to_string(), help)
                    .with_label("widened in the GitLab rules"),
            );
            return;
        }
        let secrets = self.holders.iter().any(|j| holds_secrets(j));
        let (holds, never) = match secrets {
            true => (
                "holds secrets",
                "a condition of a job with secrets is never widened",
            ),
            false => (
                "deploys",
                "a condition of a job with an `environment` is never widened",
            ),
        };
        let mut d = Diagnostic::error(
            plumb_diagnostics::Code::PL5002,
            at,
            format!("{what}; refused, because it would run a job that {holds} where the condition says it must not"),
        )
        .with_label("cannot be written exactly as GitLab rules")
        .with_help(format!("{help}; {never}"));
        for job in self.holders {
            let what = match holds_secrets(job) {
                true => "holds secrets".to_string(),
                false => "deploys to an environment".to_string(),
            };
            d = d.with_secondary(job.name_at, format!("job `{}` {what}", job.name));
        }
        self.out.push(d);
    }
}

/// `rules:` for a condition; `workflow` rules cannot be manual.
fn rules(cond: &Cond, workflow: bool, widen: &mut Widening) -> Vec<Rule> {
    let mut rules = unsettled_rules(cond, workflow, widen);
    settle_widenings(&mut rules, widen);
    rules
}

/// Each rule written wider than its alternative is a warning, or an error when it runs
/// by itself and a later rule waits for a person: GitLab takes the first rule that
/// matches, so the wider rule would start the job where it should wait (a deploy's
/// gate gone). A `when: never` rule made wider only runs the job less.
fn settle_widenings(rules: &mut [Rule], widen: &mut Widening) {
    for i in 0..rules.len() {
        let widened = std::mem::take(&mut rules[i].widened);
        let by_itself = !matches!(rules[i].when, Some("never" | "manual"));
        let waits_later = rules[i + 1..].iter().any(|r| r.when == Some("manual"));
        for w in widened {
            match by_itself && waits_later {
                true => widen.refuse_widening(w.refused, w.help),
                false => widen.report(w.what, w.help),
            }
        }
    }
}

/// [`rules`], before the widenings are settled.
fn unsettled_rules(cond: &Cond, workflow: bool, widen: &mut Widening) -> Vec<Rule> {
    // a list of alternatives that would not be exact (too many, or one too long for
    // an expression) may be the first-match list it was imported from
    let alternatives = dnf(cond);
    if !(alternatives.as_ref())
        .is_some_and(|clauses| clauses.iter().all(|c| fits_one_expression(c)))
    {
        if let Some(rules) = nested_first_match_rules(cond, workflow, widen, 0).and_then(exact) {
            return rules;
        }
    }
    let Some(clauses) = alternatives else {
        if let Some(rules) = first_match_rules(cond, workflow, widen) {
            return rules;
        }
        // too many alternatives to list, but one expression with parentheses says it
        if let Some(expression) = crate::cond::single_expression(cond) {
            return vec![Rule {
                if_: Some(expression),
                ..Rule::default()
            }];
        }
        if let Some(rule) = factored_rule(cond, workflow, widen) {
            return vec![rule];
        }
        if let Some(rules) = conjunct_never_rules(cond, workflow, widen) {
            return rules;
        }
        let what = "this condition is too large to write as GitLab rules; the job always runs";
        let help = "split the condition into simpler parts";
        if !workflow && waits_for_a_person(cond) {
            // widened, a job that waits for a person (a deploy's gate) would run by itself
            widen.refuse_widening(
                "this condition is too large to write as GitLab rules, and widening it would drop its `manual`",
                "split the condition into simpler parts, or write its tests as one expression beside `manual`",
            );
        } else {
            widen.report(what, help);
        }
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
    // `!changes(…)`/`!exists(…)` are no rule of their own, but a `when: never` rule of
    // `changes:`/`exists:` before the others says them (first match wins)
    if clauses.iter().any(|c| c.iter().any(is_file_exclusion)) {
        let rules = first_match_rules(cond, workflow, widen)
            .or_else(|| rules_with_one_exclusion(&clauses, workflow, widen));
        if let Some(rules) = rules {
            return rules;
        }
    }
    ordered_rules(&clauses, workflow, widen)
}

/// One rule for a condition too large to list as rules whose conjuncts are each a
/// `manual`, a `changes(…)` or an `exists(…)`, or a test GitLab's `if:` reads
/// (`manual && (branch == "main" || tag) && (var("A") == "1" || …)`): the tests as one
/// parenthesised `if:`, the others as the rule's `when: manual`, `changes:`, `exists:`.
fn factored_rule(cond: &Cond, workflow: bool, widen: &mut Widening) -> Option<Rule> {
    let mut parts = Vec::new();
    conjuncts(cond, false, &mut parts);
    let (tests, others): (Vec<Cond>, Vec<Cond>) = parts
        .into_iter()
        .partition(|c| !matches!(c, Cond::Manual | Cond::Changes(_) | Cond::Exists(_)));
    if tests.is_empty() {
        return None;
    }
    let expression = crate::cond::single_expression(&all_of(tests))?;
    let atoms: Vec<Atom> = (others.iter())
        .map(|c| match crate::cond::dnf(c).as_deref() {
            Some([clause]) => clause.first().cloned(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut rule = clause_rule(&atoms, workflow, widen);
    rule.if_ = Some(expression);
    if rule.when == Some("on_success") || rule.when == Some("always") {
        rule.when = None;
    }
    Some(rule)
}

/// A condition too large for one expression whose conjuncts are each small
/// (`branch == "main" && (var("A1") == "1" || var("B1") == "1") && …` of many groups),
/// written the way GitLab reads rules, first match first: for each conjunct that is a
/// test, `when: never` rules for its negation (one parenthesised `if:`, or one rule per
/// alternative), then one rule with the `manual`, `changes(…)` and `exists(…)`
/// conjuncts. Exact: the job runs when no conjunct fails. `None` when a negation holds
/// what an `if:` cannot say (`!changes(…)`), or there is one conjunct only.
fn conjunct_never_rules(cond: &Cond, workflow: bool, widen: &mut Widening) -> Option<Vec<Rule>> {
    let mut parts = Vec::new();
    conjuncts(cond, false, &mut parts);
    if parts.len() < 2 {
        return None;
    }
    let (tests, others): (Vec<Cond>, Vec<Cond>) = parts
        .into_iter()
        .partition(|c| !matches!(c, Cond::Manual | Cond::Changes(_) | Cond::Exists(_)));
    let mut rules = Vec::new();
    for test in &tests {
        let failed = Cond::Not(Box::new(test.clone()));
        if let Some(expression) = crate::cond::single_expression(&failed) {
            rules.push(Rule {
                if_: Some(expression),
                when: Some("never"),
                ..Rule::default()
            });
            continue;
        }
        let clauses = crate::cond::dnf(&failed)?;
        let expressible = |a: &Atom| gitlab_expression(a).is_some() && unrepresentable(a).is_none();
        if clauses
            .iter()
            .any(|c| c.is_empty() || !c.iter().all(expressible))
        {
            return None;
        }
        for clause in &clauses {
            let expression = (clause.iter().filter_map(gitlab_expression)).collect::<Vec<_>>();
            let expression = expression.join(" && ");
            if !crate::cond::within_token_limit(&expression) {
                return None;
            }
            rules.push(Rule {
                if_: Some(expression),
                when: Some("never"),
                ..Rule::default()
            });
        }
    }
    let atoms: Vec<Atom> = (others.iter())
        .map(|c| match crate::cond::dnf(c).as_deref() {
            Some([clause]) => clause.first().cloned(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    rules.push(clause_rule(&atoms, workflow, widen));
    Some(rules)
}

/// Whether some alternative of `c` waits for a person: `manual` anywhere but under a
/// `!` (widened to run always, that alternative would start by itself).
fn waits_for_a_person(c: &Cond) -> bool {
    match c {
        Cond::Manual => true,
        Cond::And(a, b) | Cond::Or(a, b) => waits_for_a_person(a) || waits_for_a_person(b),
        _ => false,
    }
}

/// One rule per clause, first match first: an alternative that needs no person comes
/// before one that waits for a person (`tag || manual` runs by itself on a tag, and
/// waits elsewhere), whichever order the condition wrote them in.
fn ordered_rules(clauses: &[Vec<Atom>], workflow: bool, widen: &mut Widening) -> Vec<Rule> {
    let (by_itself, waiting): (Vec<&Vec<Atom>>, Vec<&Vec<Atom>>) = clauses
        .iter()
        .partition(|clause| !clause.contains(&Atom::Manual(false)));
    by_itself
        .into_iter()
        .chain(waiting)
        .map(|clause| clause_rule(clause, workflow, widen))
        .collect()
}

/// `!changes(…)` or `!exists(…)`: what a rule can only say as `when: never`.
fn is_file_exclusion(a: &Atom) -> bool {
    matches!(a, Atom::Changes(_, true) | Atom::Exists(_, true))
}

/// Rules for clauses of which one excludes files (`B || (A && !changes(X))`): the
/// others' rules, then a `when: never` rule per exclusion, under the clause's other
/// tests (`if: A, changes: X, when: never`) unless an earlier rule already takes every
/// pipeline it would, then the clause's rule (`if: A`). GitLab takes the first match,
/// so the exclusion comes after every other alternative and blocks none of them:
/// `None` when that order would put a waiting alternative before one that runs by
/// itself where both hold (`changes(X) && manual || !changes(X)` never both hold),
/// or when several clauses exclude files. (A never rule of a clause that also needs
/// files changed holds only the excluded files: it comes right before the clause's.)
fn rules_with_one_exclusion(
    clauses: &[Vec<Atom>],
    workflow: bool,
    widen: &mut Widening,
) -> Option<Vec<Rule>> {
    let (excluding, others): (Vec<Vec<Atom>>, Vec<Vec<Atom>>) =
        (clauses.iter().cloned()).partition(|c| c.iter().any(is_file_exclusion));
    let [clause] = excluding.as_slice() else {
        return None;
    };
    let waits = |c: &Vec<Atom>| c.contains(&Atom::Manual(false));
    if !waits(clause)
        && others
            .iter()
            // (a waiting rule written inexactly, two `changes` merged into one, could
            // take pipelines the exclusion's rule should)
            .any(|o| waits(o) && !(excludes_each_other(o, clause) && writes_exactly(o)))
    {
        return None;
    }
    let tests: Vec<Atom> = (clause.iter())
        .filter(|a| !is_file_exclusion(a))
        .cloned()
        .collect();
    let mut rules = ordered_rules(&others, workflow, widen);
    for excluded in clause.iter().filter(|a| is_file_exclusion(a)) {
        let (included, twice) = match excluded {
            Atom::Changes(paths, _) => (
                Atom::Changes(paths.clone(), false),
                tests.iter().any(|a| matches!(a, Atom::Changes(..))),
            ),
            Atom::Exists(paths, _) => (
                Atom::Exists(paths.clone(), false),
                tests.iter().any(|a| matches!(a, Atom::Exists(..))),
            ),
            _ => continue,
        };
        // `manual` is no test: the never rule holds the clause's expressions, but for
        // a second `changes` (or `exists`) list: the rule comes right before the
        // clause's own, so the files alone keep out exactly what they should
        let mut never: Vec<Atom> = match twice {
            true => Vec::new(),
            false => (tests.iter())
                .filter(|a| !matches!(a, Atom::Manual(_)))
                .cloned()
                .collect(),
        };
        never.push(included);
        // `changes(X) && manual` before it already takes every pipeline that changed X
        let taken = |o: &Vec<Atom>| {
            (o.iter())
                .filter(|a| !matches!(a, Atom::Manual(_)))
                .all(|a| never.contains(a))
        };
        if others.iter().any(taken) {
            continue;
        }
        let mut rule = clause_rule(&never, workflow, widen);
        rule.when = Some("never");
        rules.push(rule);
    }
    rules.push(clause_rule(&tests, workflow, widen));
    Some(rules)
}

/// Whether one rule says the alternative exactly: at most one `changes` and one `exists`
/// list, no file exclusion, and every test one an `if:` can hold.
fn writes_exactly(clause: &[Atom]) -> bool {
    let count = |f: fn(&Atom) -> bool| clause.iter().filter(|a| f(a)).count();
    count(|a| matches!(a, Atom::Changes(_, false))) <= 1
        && count(|a| matches!(a, Atom::Exists(_, false))) <= 1
        && !clause.iter().any(is_file_exclusion)
        && clause.iter().all(|a| unrepresentable(a).is_none())
}

/// Whether two alternatives never hold together: one needs what the other excludes
/// (files changed, or to exist, that the other needs unchanged or missing; a branch
/// the other is not on).
fn excludes_each_other(a: &[Atom], b: &[Atom]) -> bool {
    let negates = |x: &Atom, y: &Atom| negation(&canonical(x)) == canonical(y);
    a.iter().any(|x| b.iter().any(|y| negates(x, y)))
}

/// A condition too large for one list of alternatives (imported `when: never` rules
/// multiply out), written the way GitLab reads rules, first match first: the negated
/// parts `!N` that every alternative has (`C && (A || B)` is `(C && A) || (C && B)`) as
/// `when: never` rules, one per alternative of `N`, then the rest. `None` when there
/// is no such part, or a part does not fit either.
fn first_match_rules(cond: &Cond, workflow: bool, widen: &mut Widening) -> Option<Vec<Rule>> {
    let mut alternatives: Vec<Vec<Cond>> = Vec::new();
    for alternative in cond.alternatives() {
        let mut parts = Vec::new();
        conjuncts(alternative, false, &mut parts);
        alternatives.push(parts);
    }
    let first = alternatives.first()?;
    let common: Vec<Cond> = (first.iter())
        .filter(|p| matches!(p, Cond::Not(_)))
        .filter(|p| alternatives.iter().all(|a| a.contains(p)))
        .cloned()
        .collect();
    if common.is_empty() {
        return None;
    }
    let mut rules = Vec::new();
    for part in &common {
        if let Cond::Not(excluded) = part {
            rules.extend(never_rules(excluded, workflow, widen)?);
        }
    }
    let rest = any_of(
        (alternatives.into_iter())
            .map(|parts| all_of(parts.into_iter().filter(|p| !common.contains(p)))),
    );
    let clauses = dnf(&rest)?;
    if clauses.is_empty() {
        rules.push(Rule {
            when: Some("never"),
            ..Rule::default()
        });
    }
    rules.extend(ordered_rules(&clauses, workflow, widen));
    Some(rules)
}

/// Whether one alternative's tests fit in one GitLab expression.
fn fits_one_expression(clause: &[Atom]) -> bool {
    let exprs: Vec<String> = clause.iter().filter_map(gitlab_expression).collect();
    crate::cond::within_token_limit(&exprs.join(" && "))
}

/// A condition nested the way a long list of first-match rules is imported
/// (`A || B || G && (C || …)`, where `G` is what earlier `when: never` rules left:
/// `branch != "x"`; `T && manual || !T && (…)` for manual rules), written back as
/// such a list: the alternatives before the last as their rules, then a `when: never`
/// rule for each way the last one's guards fail, then the rest of it the same way.
/// GitLab takes the first rule that matches, so each guard keeps out only what comes
/// after it; a `manual` guard makes the rest's rules wait, and a guard whose failing
/// no rule tests (`changes(X)`) is a test of the last rule when nothing is nested
/// under it. `None` when a part does not fit: an alternative that waits for a person
/// but is not the last before one that excludes it, such a guard above a nested
/// part, several nested parts, or too deep a nesting.
fn nested_first_match_rules(
    cond: &Cond,
    workflow: bool,
    widen: &mut Widening,
    depth: usize,
) -> Option<Vec<Rule>> {
    const DEEPEST: usize = 64;
    let alternatives = cond.alternatives();
    let (last, before) = alternatives.split_last()?;
    let mut parts = Vec::new();
    conjuncts(last, false, &mut parts);
    let mut rules = rules_before_last(before, &parts, workflow, widen)?;
    let (nested, guards): (Vec<Cond>, Vec<Cond>) =
        parts.into_iter().partition(|p| matches!(p, Cond::Or(..)));
    if nested.len() > 1 {
        return None;
    }
    if nested.is_empty() {
        match dnf(last) {
            Some(clauses) if clauses.iter().all(|c| fits_one_expression(c)) => {
                // (a condition not nested at all is no list of this kind)
                if depth == 0 {
                    return None;
                }
                rules.extend(ordered_rules(&clauses, workflow, widen));
                return Some(rules);
            }
            // (`first_match_rules` writes one that multiplies out)
            None if before.is_empty() && depth == 0 => return None,
            // too many to list, or too long for one expression (`T && manual || !T`,
            // thirty tests in `T`; `B && !A1 && … && !A25`): its guards' never rules,
            // then the rest
            _ => {}
        }
    }
    if depth > DEEPEST {
        return None;
    }
    let rest = match nested.first() {
        Some(nested) => Some(nested_first_match_rules(
            nested,
            workflow,
            widen,
            depth + 1,
        )?),
        None => None,
    };
    rules.extend(guarded_rules(&guards, rest, workflow, widen)?);
    Some(rules)
}

/// The rules of the alternatives before the last one of a first-match list, each
/// exactly where it is: one that waits for a person only as the last of them, when
/// the last alternative's `parts` exclude it.
fn rules_before_last(
    before: &[&Cond],
    parts: &[Cond],
    workflow: bool,
    widen: &mut Widening,
) -> Option<Vec<Rule>> {
    let mut rules = Vec::new();
    for (i, alternative) in before.iter().enumerate() {
        let clauses = dnf(alternative)?;
        if clauses.iter().any(|c| c.contains(&Atom::Manual(false)))
            && (i + 1 != before.len() || !excluded_by(alternative, parts))
        {
            return None;
        }
        // (an alternative's ways that run by themselves before its waiting ones:
        // `(manual || C) && D` waits only where `C` does not hold)
        rules.extend(ordered_rules(&clauses, workflow, widen));
    }
    Some(rules)
}

/// The last alternative of a first-match list, `G1 && … && Gn && (rest)`: a `when:
/// never` rule for each way a guard fails, then `rest`'s rules (the nested part's),
/// or when nothing is nested, one rule of the guards whose failing no rule tests
/// (`changes(X)`). A `manual` guard makes the rest's rules wait (no pipeline does:
/// `workflow: rules` take no `when: manual`).
fn guarded_rules(
    guards: &[Cond],
    rest: Option<Vec<Rule>>,
    workflow: bool,
    widen: &mut Widening,
) -> Option<Vec<Rule>> {
    let waits = guards.contains(&Cond::Manual);
    if waits && workflow {
        return None;
    }
    let mut rules = Vec::new();
    let mut tested = Vec::new();
    for guard in guards.iter().filter(|g| **g != Cond::Manual) {
        match never_rules(&Cond::Not(Box::new(guard.clone())), workflow, widen) {
            Some(never) => rules.extend(never),
            None => tested.push(guard.clone()),
        }
    }
    let rest = match rest {
        Some(_) if !tested.is_empty() => return None,
        Some(rest) => rest,
        // every other guard kept its pipelines out: the rest is the last alternative's
        None => vec![last_guards_rule(&tested, workflow, widen)?],
    };
    let waiting = |mut rule: Rule| {
        if waits && rule.when != Some("never") {
            rule.when = Some("manual");
        }
        rule
    };
    rules.extend(rest.into_iter().map(waiting));
    Some(rules)
}

/// `when: never` rules, one per way `excluded` holds; `None` when one cannot be a
/// rule: `manual` is not an expression, `!changes`/`!exists` are no rule of their own,
/// and a never rule without a test would keep out every later rule.
fn never_rules(excluded: &Cond, workflow: bool, widen: &mut Widening) -> Option<Vec<Rule>> {
    let inexpressible = |a: &Atom| {
        matches!(
            a,
            Atom::Manual(_) | Atom::Changes(_, true) | Atom::Exists(_, true)
        )
    };
    let clauses = dnf(excluded)?;
    if (clauses.iter()).any(|c| c.is_empty() || c.iter().any(inexpressible)) {
        return None;
    }
    let never = |clause: &Vec<Atom>| Rule {
        when: Some("never"),
        ..clause_rule(clause, workflow, widen)
    };
    Some(clauses.iter().map(never).collect())
}

/// The rule that adds a job where `guards` all hold, when they are one alternative
/// that fits one rule.
fn last_guards_rule(guards: &[Cond], workflow: bool, widen: &mut Widening) -> Option<Rule> {
    match dnf(&all_of(guards.iter().cloned()))?.as_slice() {
        [clause] if fits_one_expression(clause) => Some(clause_rule(clause, workflow, widen)),
        _ => None,
    }
}

/// Every one of `parts` (`Always` when there is none).
fn all_of(parts: impl IntoIterator<Item = Cond>) -> Cond {
    (parts.into_iter())
        .reduce(|a, b| Cond::And(Box::new(a), Box::new(b)))
        .unwrap_or(Cond::Always)
}

/// Any one of `alternatives` (`Never` when there is none).
fn any_of(alternatives: impl IntoIterator<Item = Cond>) -> Cond {
    (alternatives.into_iter())
        .reduce(|a, b| Cond::Or(Box::new(a), Box::new(b)))
        .unwrap_or(Cond::Never)
}

/// The rules, when none is wider than its alternative (else another way of writing
/// the condition may be exact).
fn exact(rules: Vec<Rule>) -> Option<Vec<Rule>> {
    rules.iter().all(|r| r.widened.is_empty()).then_some(rules)
}

/// Whether `parts` (of a later alternative) exclude every pipeline where `waiting`'s
/// tests hold (`T && manual || !T && …`): each way the tests hold makes one of the
/// parts fail (`var("X") == ""` against `var("X") != ""`).
fn excluded_by(waiting: &Cond, parts: &[Cond]) -> bool {
    let canonical_clauses = |clauses: Vec<Vec<Atom>>| -> Vec<Vec<Atom>> {
        (clauses.iter())
            .map(|c| c.iter().map(canonical).collect())
            .collect()
    };
    let Some(clauses) = dnf(waiting).map(canonical_clauses) else {
        return false;
    };
    // a part `!X` fails wherever one of `X`'s alternatives holds (`X` lists fewer
    // than `!X` multiplies out into); another part, where each of its alternatives
    // needs a test that the clause's contradicts
    let failing: Vec<(bool, Vec<Vec<Atom>>)> = (parts.iter())
        .filter_map(|part| match part {
            Cond::Not(x) => Some((true, canonical_clauses(dnf(x)?))),
            _ => Some((false, canonical_clauses(dnf(part)?))),
        })
        .collect();
    let holds_in = |alternative: &Vec<Atom>, clause: &Vec<Atom>| {
        alternative.iter().all(|a| clause.contains(a))
    };
    let contradicted_in = |alternative: &Vec<Atom>, clause: &Vec<Atom>| {
        alternative.iter().any(|a| clause.contains(&negation(a)))
    };
    let fails_where =
        |(negated, alternatives): &(bool, Vec<Vec<Atom>>), clause: &Vec<Atom>| match negated {
            true => alternatives.iter().any(|x| holds_in(x, clause)),
            false => alternatives.iter().all(|x| contradicted_in(x, clause)),
        };
    !clauses.is_empty() && (clauses.iter()).all(|c| failing.iter().any(|part| fails_where(part, c)))
}

/// The atom that holds exactly where `atom` does not.
fn negation(atom: &Atom) -> Atom {
    match atom.clone() {
        Atom::Branch(t, n) => Atom::Branch(t, !n),
        Atom::Tag(n) => Atom::Tag(!n),
        Atom::MergeRequest(n) => Atom::MergeRequest(!n),
        Atom::Manual(n) => Atom::Manual(!n),
        Atom::Changes(p, n) => Atom::Changes(p, !n),
        Atom::Source(t, n) => Atom::Source(t, !n),
        Atom::Var(name, t, n) => Atom::Var(name, t, !n),
        Atom::Exists(p, n) => Atom::Exists(p, !n),
    }
}

/// An atom with `!=` as the negation of `==` (`var("X") != ""` is `!(var("X") == "")`).
fn canonical(atom: &Atom) -> Atom {
    let flip = |t: &BranchTest, n: bool| match t {
        BranchTest::NotEq(v) => (BranchTest::Eq(v.clone()), !n),
        BranchTest::NotEqVar(v) => (BranchTest::EqVar(v.clone()), !n),
        other => (other.clone(), n),
    };
    match atom {
        Atom::Branch(t, n) => {
            let (t, n) = flip(t, *n);
            Atom::Branch(t, n)
        }
        Atom::Source(t, n) => {
            let (t, n) = flip(t, *n);
            Atom::Source(t, n)
        }
        Atom::Var(name, t, n) => {
            let (t, n) = flip(t, *n);
            Atom::Var(name.clone(), t, n)
        }
        other => other.clone(),
    }
}

/// The operands of a condition's top-level ANDs, with `!(a || b)` as `!a`, `!b` (so
/// that exclusions written together and apart compare equal).
fn conjuncts(cond: &Cond, negated: bool, out: &mut Vec<Cond>) {
    match (cond, negated) {
        (Cond::And(a, b), false) | (Cond::Or(a, b), true) => {
            conjuncts(a, negated, out);
            conjuncts(b, negated, out);
        }
        (Cond::Not(inner), n) => conjuncts(inner, !n, out),
        (other, false) => out.push(other.clone()),
        (other, true) => out.push(Cond::Not(Box::new(other.clone()))),
    }
}

/// One `rules:` entry: the AND of a clause's atoms.
fn clause_rule(clause: &[Atom], workflow: bool, widen: &mut Widening) -> Rule {
    for why in clause.iter().filter_map(unrepresentable) {
        widen.refuse(why);
    }
    let exprs: Vec<String> = clause.iter().filter_map(gitlab_expression).collect();
    let mut rule = Rule::default();
    let expression = exprs.join(" && ");
    if !crate::cond::within_token_limit(&expression) {
        // GitLab would refuse the whole file for it
        widen.widen_rule(Widened {
            what: "an alternative of this condition holds more than the 100 tokens of a GitLab expression; its tests are dropped",
            refused: "an alternative of this condition holds more than the 100 tokens of a GitLab expression, and dropping its tests would start the job by itself where it should wait for a person",
            help: "split the condition into simpler parts",
        });
    } else if !exprs.is_empty() {
        rule.if_ = Some(expression);
    }
    let mut changes: Vec<String> = Vec::new();
    for atom in clause {
        match atom {
            Atom::Changes(paths, false) => {
                if !changes.is_empty() {
                    widen.widen_rule(Widened {
                        what: "GitLab rules cannot require two `changes` lists at once; they are merged into one",
                        refused: "GitLab rules cannot require two `changes` lists at once, and merging them would start the job by itself where it should wait for a person",
                        help: "use one `changes([…])` per alternative",
                    });
                }
                changes.extend(paths.iter().cloned());
            }
            Atom::Changes(_, true) => widen.widen_rule(Widened {
                what: "GitLab rules cannot test that files did *not* change; `!changes(…)` is dropped",
                refused: "GitLab rules cannot test that files did *not* change, and dropping `!changes(…)` would start the job by itself where it should wait for a person",
                help: "express the condition without `!changes(…)`",
            }),
            Atom::Exists(paths, false) => {
                if rule.exists.is_some() {
                    widen.widen_rule(Widened {
                        what: "GitLab rules cannot require two `exists` lists at once; they are merged into one",
                        refused: "GitLab rules cannot require two `exists` lists at once, and merging them would start the job by itself where it should wait for a person",
                        help: "use one `exists([…])` per alternative",
                    });
                }
                rule.exists
                    .get_or_insert_with(Vec::new)
                    .extend(paths.iter().cloned());
            }
            Atom::Exists(_, true) => widen.widen_rule(Widened {
                what: "GitLab rules cannot test that files do *not* exist; `!exists(…)` is dropped",
                refused: "GitLab rules cannot test that files do *not* exist, and dropping `!exists(…)` would start the job by itself where it should wait for a person",
                help: "express the condition without `!exists(…)`",
            }),
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
    rule.widened = std::mem::take(&mut widen.widened);
    rule
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_semantics::BranchTest;

    fn var(name: &str, value: &str) -> Cond {
        Cond::Var(name.into(), BranchTest::Eq(value.into()))
    }

    fn and(a: Cond, b: Cond) -> Cond {
        Cond::And(Box::new(a), Box::new(b))
    }

    fn or(a: Cond, b: Cond) -> Cond {
        Cond::Or(Box::new(a), Box::new(b))
    }

    fn not(a: Cond) -> Cond {
        Cond::Not(Box::new(a))
    }

    fn written(rules: &[Rule]) -> Vec<String> {
        (rules.iter())
            .map(|r| {
                format!(
                    "{} {}",
                    r.if_.as_deref().unwrap_or("-"),
                    r.when.unwrap_or("-")
                )
            })
            .collect()
    }

    /// Eight exclusions of two tests each are 256 alternatives as one list; as GitLab
    /// reads rules (first match first) they are eight `when: never` rules, then the rest.
    #[test]
    fn exclusions_every_alternative_shares_are_written_first() {
        let excluded = (0..8)
            .map(|i| and(var(&format!("A{i}"), "1"), var(&format!("B{i}"), "1")))
            .reduce(or)
            .expect("eight");
        let cond = or(
            and(Cond::Tag, not(excluded.clone())),
            and(Cond::MergeRequest, not(excluded)),
        );
        assert!(dnf(&cond).is_none(), "too large for one list");
        let mut out = Vec::new();
        let rules = rules(&cond, false, &mut Widening::new(None, &[], &mut out));
        let written = written(&rules);
        assert_eq!(written.len(), 10, "{written:?}");
        assert_eq!(written[0], "$A0 == \"1\" && $B0 == \"1\" never");
        assert_eq!(written[8], "$CI_COMMIT_TAG -");
        assert_eq!(
            written[9],
            "$CI_PIPELINE_SOURCE == \"merge_request_event\" -"
        );
    }

    /// Without an exclusion that every alternative has, a condition too large to list is
    /// one expression with parentheses (2^8 alternatives multiplied out).
    #[test]
    fn a_large_condition_without_shared_exclusions_is_one_expression() {
        let many = (0..8)
            .map(|i| or(var(&format!("A{i}"), "1"), var(&format!("B{i}"), "1")))
            .reduce(and)
            .expect("eight");
        assert!(dnf(&many).is_none());
        let mut out = Vec::new();
        let rules = rules(&many, false, &mut Widening::new(None, &[], &mut out));
        let written = written(&rules);
        assert_eq!(written.len(), 1);
        assert!(
            written[0].starts_with("(($A0 == \"1\" || $B0 == \"1\") && ($A1 == "),
            "{written:?}"
        );
        assert!(out.is_empty(), "nothing widened");
        // a negation goes down to the tests: GitLab has no `!`
        let excluded = not(and(var("X", "1"), var("Y", "1")));
        let written = written_of(&rules_of(&and(many, excluded)));
        assert!(
            written.ends_with(" && ($X != \"1\" || $Y != \"1\")) -"),
            "{written}"
        );
    }

    /// One expression of more than GitLab's 100 tokens would be refused: each conjunct's
    /// failure is a `when: never` rule instead, exactly, with nothing widened.
    #[test]
    fn a_condition_over_gitlabs_token_limit_is_a_never_rule_per_conjunct() {
        let many = (0..12)
            .map(|i| or(var(&format!("A{i}"), "1"), var(&format!("B{i}"), "1")))
            .reduce(and)
            .expect("twelve");
        let mut out = Vec::new();
        let rules = rules(&many, false, &mut Widening::new(None, &[], &mut out));
        let written = written(&rules);
        assert_eq!(written.len(), 13, "{written:?}");
        assert_eq!(written[0], "($A0 != \"1\" && $B0 != \"1\") never");
        assert_eq!(written[12], "- on_success");
        assert!(out.is_empty(), "nothing widened");
        // a deploy's gate is the last rule's
        let gated = written_of(&rules_of(&and(many, Cond::Manual)));
        assert!(gated.ends_with("never | - manual"), "{gated}");
        // one alternative of 40 tests is over the limit: a never rule for each test,
        // then the rest (it was widened, the job run in every pipeline)
        let long = (0..40)
            .map(|i| var(&format!("A{i}"), "1"))
            .reduce(and)
            .expect("forty");
        let list = written_of(&rules_of(&long));
        assert!(
            list.starts_with("$A0 != \"1\" never | $A1 != \"1\" never"),
            "{list}"
        );
        assert!(
            list.ends_with("$A39 != \"1\" never | - on_success"),
            "{list}"
        );
    }

    /// What cannot be an expression (`changes`) is still widened, with PL5002.
    #[test]
    fn a_large_condition_with_changes_is_widened() {
        let many = (0..8)
            .map(|i| {
                or(
                    var(&format!("A{i}"), "1"),
                    Cond::Changes(vec![format!("d{i}/**")]),
                )
            })
            .reduce(and)
            .expect("eight");
        let mut out = Vec::new();
        let rules = rules(&many, false, &mut Widening::new(None, &[], &mut out));
        assert_eq!(written(&rules), ["- on_success"]);
    }

    /// `manual`, `changes` and `exists` beside tests too many to list are the rule's
    /// `when: manual`, `changes:` and `exists:`, the tests one expression: a deploy's
    /// gate is never widened away.
    #[test]
    fn a_large_condition_keeps_its_manual_and_files_beside_one_expression() {
        let many = (0..8)
            .map(|i| or(var(&format!("A{i}"), "1"), var(&format!("B{i}"), "1")))
            .reduce(and)
            .expect("eight");
        let gated = and(
            and(Cond::Manual, many.clone()),
            Cond::Changes(vec!["deploy/**".into()]),
        );
        assert!(dnf(&gated).is_none());
        let written = with_files(&rules_of(&gated));
        assert_eq!(written.len(), 1, "{written:?}");
        assert!(
            written[0].starts_with("(($A0 == \"1\" || $B0 == \"1\") && "),
            "{written:?}"
        );
        assert!(written[0].ends_with(" deploy/** - manual"), "{written:?}");
        // one that cannot be factored so is refused, never widened to run by itself,
        // wherever its `manual` is
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::new(0, 1),
        });
        let nested = or(and(many.clone(), Cond::Manual), Cond::Tag);
        let mixed = and(Cond::Manual, or(many, Cond::Changes(vec!["x".into()])));
        for cond in [nested, mixed] {
            let mut out = Vec::new();
            rules(&cond, false, &mut Widening::new(at, &[], &mut out));
            assert_eq!(out.len(), 1);
            assert_eq!(
                out[0].severity,
                plumb_diagnostics::Severity::Error,
                "{:?}",
                out[0]
            );
        }
    }

    /// An alternative too long for one GitLab expression is widened with a warning,
    /// but not when another alternative waits for a person: the widened rule, first,
    /// would start the job by itself wherever it should wait.
    #[test]
    fn a_widened_alternative_never_takes_a_manual_one_s_pipelines() {
        let long = (0..30)
            .map(|i| var(&format!("A{i}"), "1"))
            .reduce(and)
            .expect("thirty");
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::new(0, 1),
        });
        let severities = |cond: &Cond| {
            let mut out = Vec::new();
            rules(cond, false, &mut Widening::new(at, &[], &mut out));
            out.iter().map(|d| d.severity).collect::<Vec<_>>()
        };
        let alone = or(long.clone(), Cond::Tag);
        assert_eq!(severities(&alone), [plumb_diagnostics::Severity::Warning]);
        let beside_manual = or(long.clone(), and(Cond::Tag, Cond::Manual));
        assert_eq!(
            severities(&beside_manual),
            [plumb_diagnostics::Severity::Error]
        );
        // a `when: never` rule made wider runs the job less, and a wider rule after the
        // waiting ones takes none of their pipelines: warnings
        let files = |p: &str| Cond::Changes(vec![p.into()]);
        let never_merged = and(
            not(and(files("a/**"), files("b/**"))),
            or(Cond::Tag, Cond::Manual),
        );
        let after_waiting = or(
            and(long, not(files("x/**"))),
            and(files("x/**"), Cond::Manual),
        );
        for cond in [never_merged, after_waiting] {
            let mut out = Vec::new();
            let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
            let severities: Vec<_> = out.iter().map(|d| d.severity).collect();
            assert_eq!(
                severities,
                [plumb_diagnostics::Severity::Warning],
                "{:?}",
                with_files(&written)
            );
        }
    }

    /// A long list of first-match rules as an import nests it (`A0 || !N0 && (A1 ||
    /// !N1 && (…))`) is written back as that list, exactly: no alternative repeats every
    /// exclusion before it (which outgrows GitLab's 100 tokens, and was widened).
    #[test]
    fn a_nested_first_match_condition_is_written_as_its_list() {
        let levels = 40;
        let cond = (0..levels).rev().fold(Cond::Never, |later, i| {
            let adds = var(&format!("A{i}"), "1");
            let excludes = var(&format!("N{i}"), "1");
            or(adds, and(not(excludes), later))
        });
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::new(0, 1),
        });
        let mut out = Vec::new();
        let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert!(out.is_empty(), "{out:?}");
        let list = with_files(&written);
        assert_eq!(list.len(), 2 * levels - 1, "{list:?}");
        assert_eq!(list[0], "$A0 == \"1\" - - -");
        assert_eq!(list[1], "$N0 == \"1\" - - never");
        assert_eq!(list[2], "$A1 == \"1\" - - -");
        // a manual rule before the rest, which excludes its tests: written first
        let gated = or(
            and(var("M", "1"), Cond::Manual),
            and(not(var("M", "1")), cond),
        );
        let mut out = Vec::new();
        let written = rules(&gated, false, &mut Widening::new(at, &[], &mut out));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(with_files(&written)[0], "$M == \"1\" - - manual");
        // a list that ends in manual rules (`… && (M1 || M2) && manual`): their rules
        // wait (the `manual` guard was refused, as no never rule can test it)
        let waiting = or(var("M1", "1"), var("M2", "1"));
        let cond = (0..levels)
            .rev()
            .fold(and(waiting, Cond::Manual), |later, i| {
                let adds = var(&format!("A{i}"), "1");
                let excludes = var(&format!("N{i}"), "1");
                or(adds, and(not(excludes), later))
            });
        let mut out = Vec::new();
        let written = with_files(&rules(&cond, false, &mut Widening::new(at, &[], &mut out)));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(written.len(), 2 * levels + 2, "{written:?}");
        assert_eq!(written[2 * levels], "$M1 == \"1\" - - manual");
        assert_eq!(written[2 * levels + 1], "$M2 == \"1\" - - manual");
    }

    /// Thirty manual rules then `when: on_success`: `T && manual || !T`, where `!T`
    /// multiplies out into too many alternatives (it was refused: widening would drop
    /// the `manual`); written as the manual rules, a never rule each, then the rest.
    #[test]
    fn manual_rules_before_a_catch_all_are_written_as_their_list() {
        let tests = (0..30).fold(Cond::Never, |acc, i| {
            or(
                acc,
                and(var(&format!("S{i}"), "1"), var(&format!("J{i}"), "1")),
            )
        });
        let cond = or(and(tests.clone(), Cond::Manual), not(tests));
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::new(0, 1),
        });
        let mut out = Vec::new();
        let written = with_files(&rules(&cond, false, &mut Widening::new(at, &[], &mut out)));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(written.len(), 61, "{written:?}");
        assert_eq!(written[0], "$S0 == \"1\" && $J0 == \"1\" - - manual");
        assert_eq!(written[30], "$S0 == \"1\" && $J0 == \"1\" - - never");
        assert_eq!(written[60], "- - - on_success");
    }

    /// A manual rule, then `changes: [docs/**] when: never`, then `when: always`:
    /// `main && manual || !main && !changes(docs)`. The manual alternative never holds
    /// with the other (the branch test excludes it), so it may come first (it was
    /// refused: dropping `!changes` would start the job by itself).
    #[test]
    fn a_manual_rule_before_an_exclusion_it_never_meets_is_written_first() {
        let docs = || Cond::Changes(vec!["docs/**".into()]);
        let main = || Cond::Branch(BranchTest::Eq("main".into()));
        let cond = or(and(main(), Cond::Manual), and(not(main()), not(docs())));
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::empty(0),
        });
        let mut out = Vec::new();
        let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(
            with_files(&written),
            [
                "$CI_COMMIT_BRANCH == \"main\" - - manual",
                "$CI_COMMIT_BRANCH != \"main\" docs/** - never",
                "$CI_COMMIT_BRANCH != \"main\" - - -",
            ]
        );
    }

    /// The last alternative before a long guarded rest may both wait and run by
    /// itself (`(manual || C) && D`): its way that runs by itself comes first (written
    /// in DNF order, `$D manual` took the pipelines where `C` holds too).
    #[test]
    fn a_waiting_alternative_before_a_long_rest_writes_its_own_ways_first() {
        let long = (0..40)
            .map(|i| var(&format!("A{i}"), "1"))
            .fold(not(var("D", "1")), and);
        let waiting = and(or(Cond::Manual, var("C", "1")), var("D", "1"));
        let list = written_of(&rules_of(&or(waiting, long)));
        assert!(
            list.starts_with("$C == \"1\" && $D == \"1\" - | $D == \"1\" manual"),
            "{list}"
        );
        // a pipeline's `on` waits for nobody: no `when: manual` among workflow rules
        let on = (0..40)
            .map(|i| var(&format!("A{i}"), "1"))
            .fold(and(Cond::Manual, or(var("B", "1"), var("C", "1"))), and);
        let mut out = Vec::new();
        let written = rules(&on, true, &mut Widening::new(None, &[], &mut out));
        assert!(
            written.iter().all(|r| r.when != Some("manual")),
            "{}",
            written_of(&written)
        );
    }

    /// Each rule as `if changes exists when`, `-` for what it lacks.
    fn with_files(rules: &[Rule]) -> Vec<String> {
        let list = |l: &Option<Vec<String>>| l.as_ref().map_or("-".into(), |l| l.join(","));
        (rules.iter())
            .map(|r| {
                let test = r.if_.as_deref().unwrap_or("-");
                let when = r.when.unwrap_or("-");
                format!("{test} {} {} {when}", list(&r.changes), list(&r.exists))
            })
            .collect()
    }

    /// `!changes(…)` is a `when: never` rule of `changes:` before the job's own rule
    /// (it was dropped, with PL5002: the job ran on the pushes it excluded).
    #[test]
    fn excluded_files_are_never_rules_first() {
        let docs = || Cond::Changes(vec!["docs/**".into()]);
        let mut out = Vec::new();
        let at = Some(plumb_diagnostics::FileRange {
            file: plumb_diagnostics::FileId(0),
            range: plumb_diagnostics::TextRange::empty(0),
        });
        let cond = and(var("A", "1"), not(docs()));
        let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert_eq!(
            with_files(&written),
            ["- docs/** - never", "$A == \"1\" - - -"]
        );
        assert!(out.is_empty(), "nothing widened: {out:?}");
        // another alternative comes first: the exclusion is the clause's only
        let cond = or(
            Cond::Tag,
            and(var("A", "1"), not(Cond::Exists(vec!["x".into()]))),
        );
        let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert_eq!(
            with_files(&written),
            [
                "$CI_COMMIT_TAG - - -",
                "$A == \"1\" - x never",
                "$A == \"1\" - - -"
            ]
        );
        assert!(out.is_empty(), "nothing widened: {out:?}");
        // two clauses excluding files would block each other: widened, with PL5002
        let cond = or(
            and(var("A", "1"), not(docs())),
            and(var("B", "1"), not(Cond::Changes(vec!["src/**".into()]))),
        );
        rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert!(!out.is_empty(), "widened");
        // a waiting alternative would have to come first: widened
        out.clear();
        let cond = or(and(var("A", "1"), not(docs())), Cond::Manual);
        rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert!(!out.is_empty(), "widened");
        // unless the two never hold together: `changes: X, when: manual` then the
        // fallback (an imported rule list), first match first and nothing widened
        out.clear();
        let cond = or(and(docs(), Cond::Manual), not(docs()));
        let written = rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert_eq!(
            with_files(&written),
            ["- docs/** - manual", "- - - on_success"]
        );
        assert!(out.is_empty(), "nothing widened: {out:?}");
        // not when the waiting rule itself is widened (two `changes` lists merged)
        out.clear();
        let y = || Cond::Changes(vec!["y/**".into()]);
        let cond = or(and(and(docs(), y()), Cond::Manual), not(docs()));
        rules(&cond, false, &mut Widening::new(at, &[], &mut out));
        assert!(!out.is_empty(), "widened, and said so");
    }

    fn rules_of(cond: &Cond) -> Vec<Rule> {
        let mut out = Vec::new();
        rules(cond, false, &mut Widening::new(None, &[], &mut out))
    }

    fn written_of(rules: &[Rule]) -> String {
        written(rules).join(" | ")
    }
}
