//! Field values that are not plain expressions: job names (`needs`, `dependencies`,
//! `environment.on_stop`), constructor calls (`trigger = project(…)`, `include =
//! [component(…)]`), and the merge of records and maps when layers are applied.

use super::Lowering;
use crate::codes;
use crate::eval::Ctx;
use crate::model::{outside_need, JobModel, PipelineModel};
use crate::value::{MapEntry, Value, ValueKind};
use plumb_diagnostics::{closest, Code, Diagnostic, Edit, FileRange};
use plumb_syntax::ast::{Arg, Expr, ExprKind};

/// A constructor: its name (also the key its first argument is stored under), the named
/// arguments it takes, and those it needs.
pub(crate) struct Constructor {
    pub name: &'static str,
    pub named: &'static [&'static str],
    pub required: &'static [&'static str],
}

const fn ctor(
    name: &'static str,
    named: &'static [&'static str],
    required: &'static [&'static str],
) -> Constructor {
    Constructor {
        name,
        named,
        required,
    }
}

/// `trigger = project("group/name", branch = "main", depend = true)` or `child("x.yml")`,
/// with the `inputs` of the pipeline's `spec:inputs`.
pub(crate) const TRIGGERS: &[Constructor] = &[
    ctor("project", &["branch", "depend", "inputs"], &[]),
    ctor("child", &["depend", "inputs"], &[]),
];

/// The entries of a pipeline's `include` (§6.3).
pub(crate) const INCLUDES: &[Constructor] = &[
    ctor("component", &["inputs"], &[]),
    ctor("template", &[], &[]),
    ctor("project", &["file", "ref"], &["file"]),
    ctor("remote", &["sha256"], &[]),
    ctor("local", &[], &[]),
];

impl<'a> Lowering<'_, 'a> {
    /// A field's value: job names and constructor calls where the field takes them, else
    /// the expression evaluated.
    pub(super) fn eval_field_value(&mut self, key: &str, e: &'a Expr, ctx: Ctx<'_, 'a>) -> Value {
        match (key, &e.kind) {
            ("needs" | "dependencies", _) => self.eval_job_list(key, e, ctx),
            ("environment", ExprKind::Record(fields)) => Value {
                kind: ValueKind::Map(self.record_naming_a_job(fields, "on_stop", ctx)),
                origin: ctx.at(e.range),
            },
            ("trigger", kind) if !matches!(kind, ExprKind::Record(_) | ExprKind::Name(_)) => {
                self.eval_constructor(e, TRIGGERS, "`trigger`", ctx)
            }
            ("include", ExprKind::List(items)) => Value {
                kind: ValueKind::List(
                    items
                        .iter()
                        .map(|i| self.eval_constructor(i, INCLUDES, "an `include` entry", ctx))
                        .collect(),
                ),
                origin: ctx.at(e.range),
            },
            _ => self.ev.eval(e, ctx),
        }
    }

    /// A record whose `job_key` names a job (`environment`'s `on_stop`, a need's `job`):
    /// that name is a job reference, not a value; the other keys are evaluated.
    fn record_naming_a_job(
        &mut self,
        fields: &'a [plumb_syntax::ast::Field],
        job_key: &str,
        ctx: Ctx<'_, 'a>,
    ) -> Vec<MapEntry> {
        fields
            .iter()
            .map(|f| MapEntry {
                key: f.key.text.clone(),
                key_at: ctx.at(f.key.range),
                value: match &f.value.kind {
                    ExprKind::Name(n) if f.key.text == job_key => job_ref(&n.text, ctx.at(n.range)),
                    _ => self.ev.eval(&f.value, ctx),
                },
            })
            .collect()
    }

    /// `needs` and `dependencies` hold job names, which are not values: they are
    /// resolved against the pipeline's jobs once the job is placed.
    fn eval_job_list(&mut self, key: &str, e: &'a Expr, ctx: Ctx<'_, 'a>) -> Value {
        let origin = ctx.at(e.range);
        let ExprKind::List(items) = &e.kind else {
            if !matches!(e.kind, ExprKind::Error) {
                self.ev.report(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        origin,
                        format!("`{key}` expects a list of job names"),
                    )
                    .with_help(format!("write `{key} = [build, test]`")),
                );
            }
            return Value::unknown(origin);
        };
        let refs = items
            .iter()
            .filter_map(|item| self.job_name_in_list(key, item, ctx))
            .collect();
        Value {
            kind: ValueKind::List(refs),
            origin,
        }
    }

    fn job_name_in_list(&mut self, key: &str, item: &'a Expr, ctx: Ctx<'_, 'a>) -> Option<Value> {
        let at = ctx.at(item.range);
        match &item.kind {
            ExprKind::Name(n) => return Some(job_ref(&n.text, ctx.at(n.range))),
            // `{ job = lint, optional = true }`: GitLab's record form of a need
            ExprKind::Record(fields) if key == "needs" => {
                return Some(Value {
                    kind: ValueKind::Map(self.record_naming_a_job(fields, "job", ctx)),
                    origin: at,
                });
            }
            ExprKind::Str(s) if s.as_plain().is_some() => {
                let name = s.as_plain().unwrap_or_default();
                self.ev.report(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        at,
                        format!("`{key}` takes job names, found the string \"{name}\""),
                    )
                    .with_label("a string, not a job name")
                    .with_help(format!("write the name without quotes: `{name}`"))
                    .with_fix(
                        format!("write `{name}` without quotes"),
                        vec![Edit {
                            at,
                            replacement: name.clone(),
                        }],
                    ),
                );
            }
            ExprKind::Error => {}
            _ => self.ev.report(
                Diagnostic::error(codes::TYPE_MISMATCH, at, format!("`{key}` takes job names"))
                    .with_help(format!("write `{key} = [build, test]`")),
            ),
        }
        None
    }

    /// `name(first, key = value, …)` with `name` one of `ctors`: a record whose key
    /// `name` holds the first argument, then the named ones. Anything else is an error
    /// naming the constructors.
    fn eval_constructor(
        &mut self,
        e: &'a Expr,
        ctors: &[Constructor],
        what: &str,
        ctx: Ctx<'_, 'a>,
    ) -> Value {
        let origin = ctx.at(e.range);
        let known = || {
            ctors
                .iter()
                .map(|c| format!("`{}(…)`", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let found = match &e.kind {
            ExprKind::Call(callee, args) => match &callee.kind {
                ExprKind::Name(n) => ctors
                    .iter()
                    .find(|c| c.name == n.text)
                    .map(|c| (c, args, ctx.at(n.range))),
                _ => None,
            },
            ExprKind::Error => return Value::unknown(origin),
            _ => None,
        };
        let Some((c, args, name_at)) = found else {
            if let Some(d) = misspelled_constructor(e, ctors, ctx) {
                self.ev.report(d);
                return Value::unknown(origin);
            }
            self.ev.report(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("{what} is written as one of {}", known()),
                )
                .with_label("not one of these")
                .with_help(format!("write one of {}", known())),
            );
            return Value::unknown(origin);
        };
        let entries = self.constructor_args(c, args, name_at, origin, ctx);
        Value {
            kind: ValueKind::Map(entries),
            origin,
        }
    }

    fn constructor_args(
        &mut self,
        c: &Constructor,
        args: &'a [Arg],
        name_at: FileRange,
        origin: FileRange,
        ctx: Ctx<'_, 'a>,
    ) -> Vec<MapEntry> {
        let mut entries: Vec<MapEntry> = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let (key, key_at) = match (&arg.name, i) {
                (None, 0) => (c.name.to_string(), name_at),
                (Some(n), _) if c.named.contains(&n.text.as_str()) => {
                    (n.text.clone(), ctx.at(n.range))
                }
                (named, _) => {
                    let at = named
                        .as_ref()
                        .map_or(ctx.at(arg.value.range), |n| ctx.at(n.range));
                    self.bad_constructor_argument(c, at);
                    continue;
                }
            };
            if entries.iter().any(|e| e.key == key) {
                self.bad_constructor_argument(c, key_at);
                continue;
            }
            let value = self.ev.eval(&arg.value, ctx);
            entries.push(MapEntry { key, key_at, value });
        }
        for needed in std::iter::once(&c.name).chain(c.required) {
            if !entries.iter().any(|e| e.key == *needed) {
                let example = if *needed == c.name {
                    "\"…\"".to_string()
                } else {
                    format!("\"…\", {needed} = \"…\"")
                };
                self.ev.report(
                    Diagnostic::error(
                        codes::BAD_INSTANTIATION,
                        origin,
                        format!("`{}(…)` needs {}", c.name, describe_arg(c, needed)),
                    )
                    .with_help(format!("write `{}({example})`", c.name)),
                );
            }
        }
        entries
    }

    fn bad_constructor_argument(&mut self, c: &Constructor, at: FileRange) {
        let mut takes = vec!["one value first".to_string()];
        takes.extend(c.named.iter().map(|n| format!("`{n} = …`")));
        self.ev.report(
            Diagnostic::error(
                codes::BAD_INSTANTIATION,
                at,
                format!("`{}(…)` does not take this argument", c.name),
            )
            .with_label("unexpected argument")
            .with_help(format!("`{}` takes {}", c.name, takes.join(", "))),
        );
    }
}

fn describe_arg(c: &Constructor, arg: &str) -> String {
    if arg == c.name {
        "a first argument".to_string()
    } else {
        format!("`{arg} = …`")
    }
}

fn job_ref(name: &str, at: FileRange) -> Value {
    Value {
        kind: ValueKind::JobRef(name.to_string()),
        origin: at,
    }
}

/// Applies a later layer's value over an earlier one, as GitLab's `extends` does:
/// records and maps merge key by key, recursively, the later value winning; anything
/// else (lists included) is replaced.
pub(super) fn merge_values(earlier: &Value, later: &Value) -> Value {
    let (ValueKind::Map(old), ValueKind::Map(new)) = (&earlier.kind, &later.kind) else {
        return later.clone();
    };
    // sized once: a merged record is kept in the model of every job that has it
    let added = new.iter().filter(|e| !old.iter().any(|m| m.key == e.key));
    let mut merged: Vec<MapEntry> = Vec::with_capacity(old.len() + added.count());
    merged.extend_from_slice(old);
    for e in new {
        match merged.iter_mut().find(|m| m.key == e.key) {
            Some(slot) => {
                slot.value = merge_values(&slot.value, &e.value);
                slot.key_at = e.key_at;
            }
            None => merged.push(e.clone()),
        }
    }
    Value {
        kind: ValueKind::Map(merged),
        origin: later.origin,
    }
}

/// GitLab job keys that Plumb computes or that a Plumb field sets, with the field to
/// use: in `gitlab = { … }` they are PL1004.
const GITLAB_JOB_KEYS: &[(&str, &str)] = &[
    ("script", "`run`"),
    // GitLab's CI steps (`run:`) replace `script:`, which Plumb writes for `run`
    ("run", "Plumb's own `run` (written as `script:`)"),
    ("before_script", "`before_run`"),
    ("after_script", "`after_run`"),
    ("image", "`image` (and `entrypoint`)"),
    // `needs` on jobs of other files passes through (`check_outside_lists`)
    ("rules", "`when`"),
    ("only", "`when`"),
    ("except", "`when`"),
    ("when", "`when`, `if_previous` or `delay`"),
    ("start_in", "`delay`"),
    ("stage", "the `stage` block the job is in"),
    // a top-level key, which Plumb computes from the `stage` blocks (§6.3)
    ("stages", "the pipeline's `stage` blocks"),
    ("variables", "`env`"),
    ("secrets", "`env` with a `vault(…)` secret"),
    ("id_tokens", "`env` with an `id_token(…)` secret"),
    // `extends` of hidden jobs of included files passes through (`check_included_bases`)
    ("include", "the pipeline's `include`"),
    ("artifacts", "`artifacts`"),
    ("cache", "`cache`"),
    ("services", "`services`"),
    ("tags", "`tags`"),
    ("timeout", "`timeout`"),
    ("retry", "`retry`"),
    ("allow_failure", "`allow_failure`"),
    ("interruptible", "`interruptible`"),
    ("resource_group", "`resource_group`"),
    ("coverage", "`coverage`"),
    ("environment", "`environment`"),
    // `dependencies` on jobs of other files passes through (`check_outside_lists`)
    ("trigger", "`trigger`"),
    // `parallel` is not here: `parallel: 5`, and a matrix that is not one product,
    // go through `gitlab`; with `matrix` too it is refused after merging
    // (`check_parallel_once`)
];

/// Top-level GitLab keys of a pipeline's `gitlab = { … }`: only `workflow` (without
/// `rules`) is not written by a Plumb field.
const GITLAB_TOP_KEYS: &[(&str, &str)] = &[
    ("stages", "`stage` blocks"),
    ("include", "the pipeline's `include`"),
    ("variables", "the pipeline's `env`"),
    ("default", "the pipeline's `default`"),
    ("image", "`default = { image = … }`"),
    ("services", "`default = { services = … }`"),
    ("cache", "`default = { cache = … }`"),
    ("before_script", "`default = { before_run = … }`"),
    ("after_script", "`default = { after_run = … }`"),
];

impl Lowering<'_, '_> {
    /// PL1002 for an `include` entry written twice: GitLab reads it once (its later
    /// copy only counts toward the limit of 150 includes).
    pub(super) fn check_duplicate_includes(&mut self, v: &Value) {
        let items = v.as_list().unwrap_or(&[]);
        for (i, item) in items.iter().enumerate() {
            let Some(first) = items[..i].iter().find(|e| same_include(e, item)) else {
                continue;
            };
            self.ev.report(
                Diagnostic::error(codes::DUPLICATE, item.origin, "this file is included twice")
                    .with_label("included again")
                    .with_secondary(first.origin, "first included here")
                    .with_help(
                        "remove one of the two entries: GitLab reads a file once however often it is included",
                    ),
            );
        }
    }

    /// PL1004 for the keys of `gitlab = { … }` that a Plumb field writes (`job` tells a
    /// job's or default's record from a pipeline's).
    pub(super) fn check_gitlab_keys(&mut self, v: &Value, job: bool) {
        let Some(entries) = v.as_map() else { return };
        for e in entries {
            let field = if job {
                self.check_inherit_default(e);
                GITLAB_JOB_KEYS
                    .iter()
                    .find(|(k, _)| *k == e.key)
                    .map(|(_, f)| *f)
            } else {
                match GITLAB_TOP_KEYS.iter().find(|(k, _)| *k == e.key) {
                    Some((_, f)) => Some(*f),
                    None if e.key == "workflow" => {
                        self.check_workflow_keys(&e.value, e.key_at);
                        None
                    }
                    None if crate::fields::NOT_INCLUDED_JOBS.contains(&e.key.as_str()) => {
                        self.ev.report(
                            Diagnostic::error(
                                codes::UNKNOWN_FIELD,
                                e.key_at,
                                format!("`{}` is a GitLab keyword, not a job an included file defines", e.key),
                            )
                            .with_label("not a top-level key Plumb passes through")
                            .with_help("a pipeline's `gitlab` carries `workflow` and the keys of included jobs; the rest has a Plumb field (`env`, `default`, `include`, `stage` blocks)"),
                        );
                        None
                    }
                    None if closest(&e.key, ["workflow"]).is_some() => {
                        self.ev.report(
                            Diagnostic::error(
                                codes::UNKNOWN_FIELD,
                                e.key_at,
                                format!("`{}` is not a top-level GitLab key Plumb passes through", e.key),
                            )
                            .with_label("did you mean `workflow`?")
                            .with_help("write `workflow = { name = … }`; any other record here completes a job of an included file"),
                        );
                        None
                    }
                    // keys GitLab merges into the job of that name from an include
                    None if e.value.as_map().is_some() => None,
                    None => {
                        self.ev.report(
                            Diagnostic::error(
                                codes::UNKNOWN_FIELD,
                                e.key_at,
                                format!(
                                    "a pipeline's `gitlab` carries `workflow` or the keys of an included job, not `{}` alone",
                                    e.key
                                ),
                            )
                            .with_label("not a top-level key Plumb passes through")
                            .with_help(format!("to change job `{}` of an included file, write its keys: `{} = {{ variables = {{ … }} }}`; this pipeline's jobs go in `stage` blocks", e.key, e.key)),
                        );
                        None
                    }
                }
            };
            if let Some(field) = field {
                self.plumb_writes_key(&e.key, e.key_at, field);
            }
        }
    }

    /// `gitlab = { extends = … }` on a job: hidden jobs of other files (a name starting
    /// with `.`, which no Plumb job has), those the pipeline includes or, in a file
    /// that another one includes, those of the whole configuration; the job's own
    /// templates are `from`.
    pub(super) fn check_included_bases(&mut self, model: &PipelineModel) {
        // the pipeline's own `gitlab = { ".x" = … }` entries are not of another file
        let completed: Vec<&str> = (model.included_job_keys().iter())
            .map(|e| e.key.as_str())
            .collect();
        for job in &model.jobs {
            let Some((value, names)) = job.included_bases() else {
                continue;
            };
            let count = value.as_list().map_or(1, <[Value]>::len);
            let twice = (names.iter().enumerate()).any(|(i, n)| names[..i].contains(n));
            let why = if names.len() != count || names.is_empty() || twice {
                Some("`extends` takes the names of hidden jobs of other files, each once: a string or a list of strings")
            } else if !names.iter().all(|n| crate::fields::is_hidden_job_name(n)) {
                Some("`extends` here names hidden jobs of other files (`.name`); the pipeline's own templates are `from`")
            } else if names.iter().any(|n| completed.contains(n)) {
                Some("`extends` here names hidden jobs of other files, not an entry of this pipeline's `gitlab`, whose keys no check reads as a job's")
            } else if job.field("trigger").is_some() {
                Some("a trigger job takes no keys from hidden jobs of other files here: write its fields")
            } else {
                None
            };
            if let Some(why) = why {
                self.report_included_bases(job, value, why);
            }
        }
    }

    /// `gitlab = { needs = … }` on a job: jobs of other files (a name, or
    /// `{ job = …, artifacts = …, optional = … }`, or a job of another pipeline,
    /// `{ pipeline = …, job = … }` or `{ project = …, job = …, ref = … }`), which the
    /// compiled `needs:` lists after the job's own. The job must write its `needs` too:
    /// with `needs:` GitLab no longer waits for the earlier stages. And
    /// `gitlab = { dependencies = [names] }`: jobs of other files whose artifacts it
    /// downloads, which the compiled `dependencies:` lists after the job's own (without
    /// its own, only those: GitLab's `dependencies:` is one list).
    pub(super) fn check_outside_lists(&mut self, model: &PipelineModel) {
        type Refused =
            fn(&PipelineModel, &JobModel, &MapEntry) -> Option<(FileRange, String, Code)>;
        let lists: [(&str, &str, Refused); 2] = [
            ("needs", "a need", |model, job, e| {
                let (at, why) = outside_needs_refused(model, job, e)?;
                Some((at, why, codes::UNKNOWN_FIELD))
            }),
            ("dependencies", "a dependency", outside_dependencies_refused),
        ];
        for job in &model.jobs {
            let Some(gitlab) = job.field("gitlab").and_then(|f| f.value.as_map()) else {
                continue;
            };
            for (key, what, refused) in lists {
                let Some(e) = gitlab.iter().find(|e| e.key == key) else {
                    continue;
                };
                if let Some((at, why, code)) = refused(model, job, e) {
                    self.ev.report(
                        Diagnostic::error(code, at, why)
                            .with_label(format!("not {what} GitLab takes here"))
                            .with_secondary(job.name_at, format!("in {}", job.describe()))
                            .with_help(format!("list this pipeline's jobs in `{key}`, and those of other files in `gitlab = {{ {key} = [\"name\"] }}`")),
                    );
                }
            }
        }
    }

    /// PL1004 at a job's `gitlab = { extends = … }`, or at the job when that is written
    /// in a template of another file (whose own check does not see this pipeline).
    fn report_included_bases(&mut self, job: &JobModel, value: &Value, why: &str) {
        let mut d = Diagnostic::error(codes::UNKNOWN_FIELD, value.origin, why.to_string())
            .with_label("not a hidden job of another file")
            .with_help("write `job j from template() { … }` for a template of this program, or include the file that defines the hidden job");
        if value.origin.file != job.name_at.file {
            d.primary.at = job.name_at;
            d = d.with_secondary(value.origin, "the `extends` it takes from its template");
        }
        self.ev.report(d);
    }

    /// The keys of a pipeline's `gitlab = { … }` that complete a job of an included
    /// file (`sast = { variables = { … } }`): GitLab merges them into that job, so the
    /// pipeline must include something, and the name must not be one of its own jobs
    /// (the two would be one GitLab job).
    pub(super) fn check_included_job_keys(&mut self, model: &PipelineModel) {
        for e in model.included_job_keys() {
            self.check_unchecked_job_keys(e);
            if let Some(job) = model.jobs.iter().find(|j| j.name == e.key) {
                self.ev.report(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        e.key_at,
                        format!("`{}` is a job of this pipeline, not of an included file", e.key),
                    )
                    .with_label("GitLab would merge these keys into that job")
                    .with_secondary(job.name_at, "the job")
                    .with_help("write the fields in the job itself (GitLab keys Plumb does not model in its `gitlab = { … }`)"),
                );
            } else if !model.includes_files() {
                self.ev.report(
                    Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        e.key_at,
                        format!("`{}` completes a job of an included file, but the pipeline includes none", e.key),
                    )
                    .with_label("GitLab would refuse a job with no script")
                    .with_help("add the file that defines the job to the pipeline's `include`, or write the job in a `stage` block"),
                );
            }
        }
    }

    /// What a job runs, and in which image, is checked only in a Plumb job: keys
    /// completing an included job may not set it (an unchecked script would run
    /// beside checked ones).
    fn check_unchecked_job_keys(&mut self, e: &MapEntry) {
        // `rules: [{ when = "never" }]` turns the included job off: what it would run
        // never runs (its script stays, as GitLab wants one in every job)
        if turned_off(&e.value) {
            return;
        }
        for key in e.value.as_map().unwrap_or(&[]) {
            if !crate::fields::INCLUDED_JOB_UNCHECKED.contains(&key.key.as_str()) {
                continue;
            }
            self.ev.report(
                Diagnostic::error(
                    codes::UNKNOWN_FIELD,
                    key.key_at,
                    format!("`{}` of included job `{}` would not be checked", key.key, e.key),
                )
                .with_label("scripts and images are checked only in a Plumb job")
                .with_help(format!("write job `{}` in a `stage` block (its `run`, `image`, `services`) instead of completing the included one", e.key)),
            );
        }
    }

    fn check_workflow_keys(&mut self, v: &Value, key_at: FileRange) {
        let Some(entries) = v.as_map() else {
            self.ev.report(
                Diagnostic::error(
                    codes::UNKNOWN_FIELD,
                    key_at,
                    "`workflow` is a record of GitLab's workflow keys",
                )
                .with_label("not a record")
                .with_help("write `workflow = { name = \"…\", auto_cancel = { … } }`"),
            );
            return;
        };
        for e in entries {
            if e.key == "rules" {
                self.plumb_writes_key("workflow.rules", e.key_at, "the pipeline's `on`");
            }
        }
    }

    /// `inherit = { default = true }` in a job's `gitlab`: Plumb merges the pipeline's
    /// `default` into each job (all of it, none with `false`, the keys named with a
    /// list), and writes `inherit: default: false` itself where the file has a
    /// top-level `default:` (with an `include`); `true` would ask GitLab for keys the
    /// job does not have, running scripts no check saw, with the job's secrets.
    fn check_inherit_default(&mut self, e: &MapEntry) {
        let Some(entries) = (e.key == "inherit").then(|| e.value.as_map()).flatten() else {
            return;
        };
        let everything = |d: &&MapEntry| matches!(d.value.kind, ValueKind::Bool(true));
        if let Some(d) = entries
            .iter()
            .find(|d| d.key == "default")
            .filter(everything)
        {
            self.plumb_writes_key(
                "inherit: default: true",
                d.key_at,
                "the pipeline's `default` (every job takes it unless told otherwise)",
            );
        }
    }

    fn plumb_writes_key(&mut self, key: &str, at: FileRange, field: &str) {
        self.ev.report(
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                at,
                format!("`{key}` is written by Plumb, not through `gitlab`; use {field}"),
            )
            .with_label("Plumb writes this key")
            .with_help(format!(
                "`gitlab = {{ … }}` carries only keys Plumb does not model; use {field}"
            )),
        );
    }
}

/// Why a job's `gitlab = { needs = … }` (entry `e`) is refused, and where.
fn outside_needs_refused(
    model: &PipelineModel,
    job: &JobModel,
    e: &MapEntry,
) -> Option<(FileRange, String)> {
    let items = e.value.as_list().unwrap_or(&[]);
    if e.value.as_list().is_none() || items.is_empty() {
        return Some((
            e.value.origin,
            "`needs` here lists jobs of other files: a list of names or of `{ job = … }` records"
                .into(),
        ));
    }
    if let Some(bad) = items.iter().find(|i| outside_need(i).is_none()) {
        return Some((bad.origin, "a need on a job of another file is its name, or `{ job, artifacts, optional }`, `{ pipeline, job, artifacts }` or `{ project, job, ref, artifacts }` (names as strings, flags as booleans)".into()));
    }
    let needs: Vec<(&str, bool, FileRange)> = (items.iter())
        .filter_map(|i| outside_need(i).map(|(name, here)| (name, here, i.origin)))
        .collect();
    let refused = |name: &str| not_a_job_of_other_files(model, name, "needs");
    if let Some((why, at)) = (needs.iter())
        .filter(|(_, here, _)| *here)
        .find_map(|(n, _, at)| refused(n).map(|why| (why, *at)))
    {
        return Some((at, why));
    }
    let twice = |i: usize| {
        let (name, here, _) = needs[i];
        needs[..i].iter().any(|(n, h, _)| here && *h && *n == name)
    };
    if let Some(i) = (0..needs.len()).find(|i| twice(*i)) {
        return Some((
            needs[i].2,
            format!(
                "`{}` is needed twice: GitLab refuses a job's `needs:` naming a job twice",
                needs[i].0
            ),
        ));
    }
    let cross_pipeline = needs.iter().filter(|(_, here, _)| !here).count();
    let own = job
        .field("needs")
        .and_then(|f| f.value.as_list())
        .map_or(0, <[Value]>::len);
    if cross_pipeline > 5 {
        return Some((
            e.key_at,
            format!("{cross_pipeline} needs on jobs of other pipelines: GitLab allows 5"),
        ));
    }
    if own + needs.len() > 50 {
        return Some((
            e.key_at,
            format!(
                "{} needs in all: GitLab allows 50 in a job's `needs:`",
                own + needs.len()
            ),
        ));
    }
    if job.field("needs").is_none() {
        return Some((e.key_at, "with `needs:` GitLab starts the job without waiting for the earlier stages: write the job's own `needs` too (`needs = []` for none of this pipeline's jobs)".into()));
    }
    None
}

/// Whether a job with `needs` needs the job `dep` names (GitLab expands a need on a
/// matrix job into every instance: `build: [amd64]` is needed with `build`).
fn needed(job: &JobModel, outside_needs: &[&str], dep: &str) -> bool {
    let base = dep.split_once(": [").map_or(dep, |(job, _)| job);
    [dep, base]
        .iter()
        .any(|name| outside_needs.contains(name) || job.needs.iter().any(|n| n.job == *name))
}

/// Whether `name` is a job of this pipeline, by its name or the key the compiled file
/// writes for it (`image-job` for a GitLab keyword, `p:unit` with several pipelines).
/// A matrix instance (`build: [linux]`) is GitLab's to resolve.
fn is_job_of(model: &PipelineModel, name: &str) -> bool {
    let unscoped = (name.split_once(':'))
        .filter(|(pipeline, _)| *pipeline == model.name)
        .map_or(name, |(_, job)| job);
    model.jobs.iter().any(|j| {
        let keyword = crate::fields::is_reserved_job_key(&j.name);
        [name, unscoped]
            .iter()
            .any(|n| *n == j.name || (keyword && n.strip_suffix("-job") == Some(j.name.as_str())))
    })
}

/// Why a name of `gitlab = { needs / dependencies }` cannot be a job of another file:
/// a hidden job's (GitLab never runs those), or a job of this pipeline.
fn not_a_job_of_other_files(model: &PipelineModel, name: &str, field: &str) -> Option<String> {
    if crate::fields::is_hidden_job_name(name) {
        return Some(format!("`{name}` is a hidden job's name: GitLab never runs it, so no job can need or depend on it"));
    }
    is_job_of(model, name)
        .then(|| format!("`{name}` is a job of this pipeline: write it in the job's `{field}`"))
}

/// Why a job's `gitlab = { dependencies = … }` (entry `e`) is refused, and where.
fn outside_dependencies_refused(
    model: &PipelineModel,
    job: &JobModel,
    e: &MapEntry,
) -> Option<(FileRange, String, Code)> {
    let items = e.value.as_list().unwrap_or(&[]);
    if e.value.as_list().is_none() || items.is_empty() {
        return Some((
            e.value.origin,
            "`dependencies` here lists jobs of other files: a list of their names".into(),
            codes::UNKNOWN_FIELD,
        ));
    }
    fn name(i: &Value) -> Option<&str> {
        i.as_str().filter(|n| !n.trim().is_empty())
    }
    if let Some(bad) = items.iter().find(|i| name(i).is_none()) {
        return Some((
            bad.origin,
            "a dependency on a job of another file is its name, a string".into(),
            codes::UNKNOWN_FIELD,
        ));
    }
    if job.field("trigger").is_some() {
        return Some((
            e.key_at,
            "a trigger job downloads no artifacts: GitLab refuses its `dependencies:`".into(),
            codes::TYPE_MISMATCH,
        ));
    }
    // with `needs:`, GitLab downloads artifacts only from the jobs it names
    let outside_needs: Vec<&str> = (job.field("gitlab").and_then(|f| f.value.as_map()))
        .and_then(|m| m.iter().find(|n| n.key == "needs"))
        .and_then(|n| n.value.as_list())
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| outside_need(i).filter(|(_, here)| *here).map(|(n, _)| n))
        .collect();
    for item in items {
        let dep = name(item)?;
        let why = if let Some(why) = not_a_job_of_other_files(model, dep, "dependencies") {
            (why, codes::UNKNOWN_FIELD)
        } else if job.field("needs").is_some() && !needed(job, &outside_needs, dep) {
            (format!("`{dep}` is not in `gitlab = {{ needs }}`: with `needs`, GitLab downloads artifacts only from the jobs it names"), codes::TYPE_MISMATCH)
        } else {
            continue;
        };
        return Some((item.origin, why.0, why.1));
    }
    None
}

/// Whether two `include` entries name the same file (every string argument but
/// `ref` and `sha256`). A component may be included again, with other inputs.
fn same_include(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_map(), b.as_map()) else {
        return false;
    };
    let key = |m: &[MapEntry]| -> Vec<(String, String)> {
        m.iter()
            .filter(|e| e.key != "sha256")
            .filter_map(|e| e.value.as_str().map(|s| (e.key.clone(), s.to_string())))
            .collect()
    };
    // a file included with `inputs` may be included again with others (a job per set)
    let configured = |m: &[MapEntry]| m.iter().any(|e| e.key == "component" || e.key == "inputs");
    let a_key = key(a);
    !a_key.is_empty() && a_key == key(b) && !configured(a) && !configured(b)
}

/// `componnt(…)` for `component(…)`: a constructor's name misspelled is an unknown name
/// (PL1001) with the one it is close to.
fn misspelled_constructor(e: &Expr, ctors: &[Constructor], ctx: Ctx<'_, '_>) -> Option<Diagnostic> {
    let ExprKind::Call(callee, _) = &e.kind else {
        return None;
    };
    let ExprKind::Name(n) = &callee.kind else {
        return None;
    };
    let close = closest(&n.text, ctors.iter().map(|c| c.name))?;
    Some(
        Diagnostic::error(
            codes::UNKNOWN_NAME,
            ctx.at(n.range),
            format!("unknown name `{}`", n.text),
        )
        .with_label(format!("did you mean `{close}`?"))
        .with_help(format!("did you mean `{close}(…)`?")),
    )
}

/// Whether a job's GitLab keys turn it off: `rules` whose every entry is `when: never`.
fn turned_off(job: &Value) -> bool {
    let rules = (job.as_map().unwrap_or(&[]).iter())
        .find(|k| k.key == "rules")
        .and_then(|k| k.value.as_list());
    let never = |rule: &Value| {
        (rule.as_map().unwrap_or(&[]).iter())
            .any(|k| k.key == "when" && k.value.as_str() == Some("never"))
    };
    rules.is_some_and(|rules| !rules.is_empty() && rules.iter().all(never))
}
