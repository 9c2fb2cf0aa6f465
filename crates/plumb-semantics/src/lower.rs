//! Lowering a file: check its definitions, and turn its pipelines into the model, with
//! templates instantiated and defaults merged.

use crate::codes;
use crate::eval::{Ctx, EnvBindingSite, Evaluator, Resolved, What};
use crate::fields::{job_field, pipeline_field, JOB_FIELDS, PIPELINE_FIELDS};
use crate::model::*;
use crate::scope::{duplicate, DefRef};
use crate::symbols::{Symbol, SymbolKind};
use crate::types::Ty;
use crate::value::{Cond, MapEntry, SecretRef, SecretSource, Value, ValueKind};
use plumb_diagnostics::{closest, Diagnostic, FileId, FileRange, TextRange};
use plumb_syntax::ast::{ExprKind, Field, Instantiation, Item, Job, Let, Pipeline, Template};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

mod compose;
mod fieldchecks;
mod leaks;
pub(crate) mod values;

/// The fields a job with a `trigger` may have: GitLab's trigger ("bridge") jobs take
/// no script, image or runner settings.
pub const TRIGGER_JOB_FIELDS: &[&str] = &[
    "trigger",
    "needs",
    "env",
    "when",
    "if_previous",
    "allow_failure",
    "resource_group",
    "environment",
    "matrix",
    "interruptible",
    "gitlab",
];

/// A pipeline's jobs by name, and where each name is defined: what `needs`,
/// `dependencies` and `on_stop` resolve against.
struct JobNames {
    index: HashMap<String, usize>,
    name_at: Vec<FileRange>,
    /// The pipeline: a job name written inside it is recorded as a use.
    pipeline: FileRange,
}

pub struct Lowering<'e, 'a> {
    pub ev: &'e mut Evaluator<'a>,
    pub file: FileId,
    /// The templates being instantiated, innermost last: a template met again is a
    /// cycle (reported where the templates are checked), not an endless recursion.
    instantiating: Vec<(FileId, TextRange)>,
    /// What each template gave for each set of arguments: a base named twice, at any
    /// depth, is expanded once (`from t(), t()` in each of 40 templates is not 2^40).
    instances: HashMap<compose::InstanceKey, Vec<LayerField>>,
    /// Template instantiations so far, and whether a limit stopped one.
    expansions: usize,
    expansion_cut: Option<compose::ExpansionCut>,
    /// The `env` keys checked already (a template's reach many jobs: one finding).
    env_keys_checked: std::collections::HashSet<FileRange>,
}

/// A field value from one layer, before merging.
#[derive(Clone)]
struct LayerField {
    /// The field table's name once the field is known (see [`FieldMap`]).
    key: FieldName,
    key_at: FileRange,
    value: Value,
}

impl<'e, 'a> Lowering<'e, 'a> {
    pub fn new(ev: &'e mut Evaluator<'a>, file: FileId) -> Self {
        Lowering {
            ev,
            file,
            instantiating: Vec::new(),
            instances: HashMap::new(),
            expansions: 0,
            expansion_cut: None,
            env_keys_checked: std::collections::HashSet::new(),
        }
    }

    fn at(&self, range: TextRange) -> FileRange {
        FileRange {
            file: self.file,
            range,
        }
    }

    pub fn lower_file(&mut self) -> FileModel {
        let db = self.ev.db;
        self.ev.scope(self.file, true);
        let mut model = FileModel::default();
        // the file's project variables, found when its first pipeline needs them
        let mut project_vars: Option<Vec<SecretRef>> = None;
        for item in &db.parse(self.file).tree.items {
            match item {
                Item::Let(l) => {
                    let v = self.ev.let_value(self.file, l, None);
                    if let Some(ty) = l.ty.as_ref().and_then(|t| self.ev.type_of(t, self.file)) {
                        push_images(&mut model.declared_images, &v, &ty);
                    }
                }
                Item::Secret(s) => self.ev.check_secret_decl(self.file, s),
                Item::Template(t) => self.check_template(t, &mut model.declared_images),
                Item::Pipeline(p) => {
                    let mut pipeline = self.lower_pipeline(p);
                    let vars = project_vars.get_or_insert_with(|| self.project_variables());
                    for job in pipeline.jobs_and_included_default_mut() {
                        job.read_secrets = read_by_name(job, vars);
                    }
                    let vars = vars.clone();
                    for job in pipeline.jobs_and_included_default() {
                        self.check_secret_exposure(job, &vars);
                    }
                    model.pipelines.push(pipeline);
                }
                Item::Import(_) => {}
            }
        }
        let mut templates = self.lower_unused_templates();
        if !templates.is_empty() {
            let vars = project_vars.get_or_insert_with(|| self.project_variables());
            for template in &mut templates {
                template.read_secrets = read_by_name(template, vars);
            }
        }
        model.templates = templates;
        self.note_import_uses();
        model
    }

    // ----- templates no job is built on -----

    /// [`FileModel::templates`]: each template that takes no parameters and that no
    /// template of the file is built on, as a job of its own. In a library (a file with
    /// templates and no pipeline) it is checked as a job ([`JobKind::Template`]); in a
    /// file with pipelines, a template no job uses is most often a job switched off
    /// (GitLab's `.job:`), which runs nowhere: only what it says in the source counts
    /// ([`JobKind::SwitchedOff`]).
    fn lower_unused_templates(&mut self) -> Vec<JobModel> {
        let db = self.ev.db;
        let tree = &db.parse(self.file).tree;
        let with_pipelines = tree.items.iter().any(|i| matches!(i, Item::Pipeline(_)));
        let kind = match with_pipelines {
            true => JobKind::SwitchedOff,
            false => JobKind::Template,
        };
        let built_on = templates_built_on(tree);
        let mut out = Vec::new();
        for item in &tree.items {
            let Item::Template(t) = item else { continue };
            let name = t.name.text.as_str();
            let unused = !name.is_empty() && !built_on.contains(name);
            // switched off, one whose parameters all have defaults says what it holds
            // with them (a library's is checked as its users instantiate it)
            let defaults =
                kind == JobKind::SwitchedOff && t.params.iter().all(|p| p.default.is_some());
            if unused && (t.params.is_empty() || defaults) {
                out.extend(self.template_as_job(t, kind));
            }
        }
        out
    }

    /// Template `t` as a job made of it alone; `None` when a limit cut its expansion short
    /// (what it gives is then not all it says).
    fn template_as_job(&mut self, t: &'a Template, kind: JobKind) -> Option<JobModel> {
        self.expansions = 0;
        let layer = self.template_fields(self.file, t, &HashMap::new());
        let cut = self.expansion_cut.take().is_some();
        if std::mem::take(&mut self.ev.too_large_in_template) || cut {
            return None;
        }
        let mut fields = FieldMap::new();
        let mut env = JobEnv::inheriting(Arc::new(Vec::new()));
        apply_layer(Layer::Template, &layer, &mut fields, &mut env);
        let when = when_of(&fields);
        fields.shrink_to_fit();
        env.shrink_to_fit();
        Some(JobModel {
            name: t.name.text.clone(),
            name_at: self.at(t.name.range),
            range: self.at(t.range),
            stage: 0,
            fields,
            env,
            needs: Vec::new(),
            when,
            read_secrets: Vec::new(),
            kind,
        })
    }

    /// Each import path refers to the file it names (when that file exists).
    fn note_import_uses(&mut self) {
        let db = self.ev.db;
        let paths = db
            .parse(self.file)
            .tree
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Import(imp) => Some(imp.path_range),
                _ => None,
            });
        for (path, target) in paths.zip(db.imports(self.file)) {
            if let Some(f) = *target {
                let symbol = Symbol {
                    kind: SymbolKind::File,
                    file: f,
                    range: TextRange::empty(0),
                    name: db.file_name(f),
                };
                self.ev.note_use(self.at(path), symbol);
            }
        }
    }

    /// Warns when `name` hides a top-level name of the file's scope.
    fn check_shadowing(&mut self, name: &plumb_syntax::ast::Name, what: &str) {
        let ctx = Ctx::file(self.file);
        if let Some(Resolved::Def(def)) = self.ev.resolve(&name.text, ctx) {
            let d = Diagnostic::warning(
                codes::SHADOWED,
                self.at(name.range),
                format!(
                    "{what} `{}` shadows the {} of the same name",
                    name.text,
                    def.kind()
                ),
            )
            .with_label("shadows an outer name")
            .with_secondary(def.at(), "the outer definition")
            .with_help(format!("rename the {what} if you meant a different value"));
            self.ev.report(d);
        }
    }

    // ----- templates -----

    fn check_template(&mut self, t: &'a Template, images: &mut Vec<Value>) {
        let mut params: HashMap<String, Value> = HashMap::new();
        let mut seen: HashMap<&str, TextRange> = HashMap::new();
        for p in &t.params {
            if let Some(first) = seen.insert(&p.name.text, p.name.range) {
                self.ev.report(duplicate(
                    self.at(p.name.range),
                    self.at(first),
                    "parameter",
                    &p.name.text,
                ));
                continue;
            }
            self.check_shadowing(&p.name, "parameter");
            let ty = self.ev.type_of(&p.ty, self.file);
            if let (Some(ty), Some(default)) = (&ty, &p.default) {
                let v = self.ev.eval(default, Ctx::file(self.file));
                let v =
                    self.ev
                        .expect(v, ty, self.at(default.range), What::DefaultOf(&p.name.text));
                push_images(images, &v, ty);
            }
            let kind = ty.map(ValueKind::Abstract).unwrap_or(ValueKind::Unknown);
            params.insert(
                p.name.text.clone(),
                Value {
                    kind,
                    origin: self.at(p.name.range),
                },
            );
        }
        let ctx = Ctx {
            file: self.file,
            pipeline_lets: None,
            params: Some(&params),
        };
        if self.report_template_cycle(t) {
            // the bases are not instantiated (that would go round the cycle), but
            // their names are resolved, for the editor and for a base that is no template
            for base in &t.bases {
                self.resolve_template(base, ctx);
            }
        } else {
            // the bases' arguments against their parameters, with this template's
            // parameters as abstract values
            self.instantiating.push((self.file, t.range));
            for base in &t.bases {
                self.instantiate(base, ctx);
            }
            self.instantiating.pop();
        }
        let fields = self.eval_job_fields(&t.body.fields, ctx);
        self.check_fields(fields, "template");
    }

    /// Binds a template's parameters to a job's arguments, reporting bad arguments.
    fn bind_arguments(
        &mut self,
        inst: &'a Instantiation,
        t: &'a Template,
        tfile: FileId,
        ctx: Ctx<'_, 'a>,
    ) -> HashMap<String, Value> {
        let mut bound: HashMap<String, Value> = HashMap::new();
        let mut named_seen = false;
        for (i, arg) in inst.args.iter().enumerate() {
            named_seen |= arg.name.is_some();
            let Some(param) = self.parameter_of(arg, i, named_seen, t, tfile, ctx) else {
                continue;
            };
            let arg_at = ctx.at(arg
                .name
                .as_ref()
                .map_or(arg.value.range, |n| n.range.cover(arg.value.range)));
            if bound.contains_key(&param.name.text) {
                self.ev.report(
                    Diagnostic::error(
                        codes::BAD_INSTANTIATION,
                        arg_at,
                        format!("argument `{}` is given twice", param.name.text),
                    )
                    .with_label("given again here")
                    .with_help("remove one of the two"),
                );
                continue;
            }
            let v = self.ev.eval(&arg.value, ctx);
            let v = match self.ev.type_of(&param.ty, tfile) {
                Some(ty) => self.ev.expect(
                    v,
                    &ty,
                    ctx.at(arg.value.range),
                    What::Parameter(&param.name.text),
                ),
                None => v,
            };
            bound.insert(param.name.text.clone(), v);
        }
        let mut missing = Vec::new();
        for p in &t.params {
            if bound.contains_key(&p.name.text) {
                continue;
            }
            match &p.default {
                Some(default) => {
                    let v = self.ev.eval(default, Ctx::file(tfile));
                    bound.insert(p.name.text.clone(), v);
                }
                None => missing.push(p),
            }
        }
        if !missing.is_empty() {
            self.missing_arguments(inst, t, tfile, &missing, ctx);
            for p in missing {
                bound.insert(
                    p.name.text.clone(),
                    Value::unknown(FileRange {
                        file: tfile,
                        range: p.name.range,
                    }),
                );
            }
        }
        bound
    }

    /// The parameter the `i`-th argument binds (by name, or by position before any
    /// named one), or `None` after reporting why it binds none.
    fn parameter_of(
        &mut self,
        arg: &'a plumb_syntax::ast::Arg,
        i: usize,
        named_seen: bool,
        t: &'a Template,
        tfile: FileId,
        ctx: Ctx<'_, 'a>,
    ) -> Option<&'a plumb_syntax::ast::Param> {
        let Some(n) = &arg.name else {
            if named_seen {
                self.ev.report(
                    Diagnostic::error(
                        codes::BAD_INSTANTIATION,
                        ctx.at(arg.value.range),
                        "a positional argument follows a named one",
                    )
                    .with_help("name every argument after the first named one: `name = value`"),
                );
                return None;
            }
            let param = t.params.get(i);
            if param.is_none() {
                self.ev.report(
                    Diagnostic::error(
                        codes::BAD_INSTANTIATION,
                        ctx.at(arg.value.range),
                        format!(
                            "template `{}` takes {} argument{}, found more",
                            t.name.text,
                            t.params.len(),
                            if t.params.len() == 1 { "" } else { "s" }
                        ),
                    )
                    .with_label("extra argument")
                    .with_help("remove the extra argument"),
                );
            }
            return param;
        };
        if let Some(p) = t.params.iter().find(|p| p.name.text == n.text) {
            let target = Symbol {
                kind: SymbolKind::Param,
                file: tfile,
                range: p.name.range,
                name: p.name.text.clone(),
            };
            self.ev.note_use(ctx.at(n.range), target);
            return Some(p);
        }
        let names: Vec<&str> = t.params.iter().map(|p| p.name.text.as_str()).collect();
        let suggestion = closest(&n.text, names.iter().copied());
        let d = Diagnostic::error(
            codes::BAD_INSTANTIATION,
            ctx.at(n.range),
            format!("template `{}` has no parameter `{}`", t.name.text, n.text),
        )
        .with_label("unknown argument")
        .with_secondary(
            FileRange {
                file: tfile,
                range: t.name.range,
            },
            "template defined here",
        )
        .with_help(match suggestion {
            Some(s) => format!(
                "did you mean `{s}`? The parameters are {}",
                names.join(", ")
            ),
            None if names.is_empty() => format!("`{}` takes no arguments", t.name.text),
            None => format!("the parameters are {}", names.join(", ")),
        });
        self.ev.report(d);
        None
    }

    fn missing_arguments(
        &mut self,
        inst: &'a Instantiation,
        t: &'a Template,
        tfile: FileId,
        missing: &[&'a plumb_syntax::ast::Param],
        ctx: Ctx<'_, 'a>,
    ) {
        let list: Vec<String> = missing
            .iter()
            .map(|p| format!("`{}`", p.name.text))
            .collect();
        let example: Vec<String> = missing
            .iter()
            .map(|p| format!("{} = …", p.name.text))
            .collect();
        self.ev.report(
            Diagnostic::error(
                codes::BAD_INSTANTIATION,
                ctx.at(inst.args_range),
                format!(
                    "missing argument{} {} for template `{}`",
                    if missing.len() == 1 { "" } else { "s" },
                    list.join(", "),
                    t.name.text
                ),
            )
            .with_label("arguments given here")
            .with_secondary(
                FileRange {
                    file: tfile,
                    range: t.name.range,
                },
                "template defined here",
            )
            .with_help(format!("pass {}", example.join(", "))),
        );
    }

    /// `alias.name` in `from alias.name(…)`: a top-level definition of the file imported
    /// as `alias` (`Some(None)` when it has none), or `None` after reporting an alias
    /// that is not an imported file.
    fn resolve_qualified(
        &mut self,
        alias: &'a plumb_syntax::ast::Name,
        name: &'a plumb_syntax::ast::Name,
        ctx: Ctx<'_, 'a>,
    ) -> Option<Option<Resolved<'a>>> {
        let Some(Resolved::Module(file)) = self.ev.resolve(&alias.text, ctx) else {
            self.ev.report(
                Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    ctx.at(alias.range),
                    format!("`{}` is not an imported file", alias.text),
                )
                .with_label("no `import … as` of this name")
                .with_help(format!(
                    "import the file that defines the template with `import \"….plumb\" as {}`",
                    alias.text
                )),
            );
            return None;
        };
        let def = self.ev.scope(file, false).own(&name.text);
        if def.is_none() {
            let templates: Vec<String> = self
                .ev
                .scope(file, false)
                .defs
                .iter()
                .filter(|(_, d)| matches!(d, DefRef::Template(..)))
                .map(|(n, _)| n.to_string())
                .collect();
            let mut templates = templates;
            templates.sort();
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NAME,
                ctx.at(name.range),
                format!("`{}` has no template `{}`", alias.text, name.text),
            )
            .with_label("no template of this name in the imported file");
            if let Some(s) = closest(&name.text, templates.iter().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{}.{s}`?", alias.text));
            }
            self.ev.report(d);
            return None;
        }
        if let Some(def) = def {
            let target = Symbol {
                kind: def.symbol_kind(),
                file: def.file(),
                range: def.name().range,
                name: name.text.clone(),
            };
            self.ev.note_use(ctx.at(name.range), target);
        }
        Some(def.map(Resolved::Def))
    }

    // ----- job fields -----

    /// Evaluates a body's fields (unchecked against the field table yet).
    fn eval_job_fields(&mut self, fields: &'a [Field], ctx: Ctx<'_, 'a>) -> Vec<LayerField> {
        let mut out: Vec<LayerField> = Vec::new();
        for f in fields {
            let key_at = ctx.at(f.key.range);
            if let Some(first) = out.iter().find(|o| o.key == f.key.text) {
                self.ev
                    .report(duplicate(key_at, first.key_at, "field", &f.key.text));
                continue;
            }
            let value = self.eval_field_value(&f.key.text, &f.value, ctx);
            out.push(LayerField {
                key: FieldName::Owned(f.key.text.clone()),
                key_at,
                value,
            });
        }
        out
    }

    /// Checks fields against the job field table; returns those that are known. The
    /// keys a record must have are checked once the layers are merged.
    fn conform_fields(&mut self, fields: Vec<LayerField>) -> Vec<LayerField> {
        let deferred = std::mem::replace(&mut self.ev.defer_required_keys, true);
        let out = self.conform_layer(fields);
        self.ev.defer_required_keys = deferred;
        out
    }

    fn conform_layer(&mut self, fields: Vec<LayerField>) -> Vec<LayerField> {
        let mut out = Vec::new();
        for f in fields {
            let Some(spec) = job_field(&f.key) else {
                let suggestion = closest(&f.key, JOB_FIELDS.iter().map(|s| s.name));
                let d = Diagnostic::error(
                    codes::UNKNOWN_FIELD,
                    f.key_at,
                    format!("unknown job field `{}`", f.key),
                )
                .with_label(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "not a job field".to_string(),
                });
                let d = match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                        format!("rename to `{s}`"),
                        vec![plumb_diagnostics::Edit {
                            at: f.key_at,
                            replacement: s.to_string(),
                        }],
                    ),
                    None => d.with_help(format!(
                        "the job fields are {}",
                        JOB_FIELDS
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.ev.report(d);
                continue;
            };
            let use_at = if f.value.origin.file == f.key_at.file {
                f.value.origin
            } else {
                f.key_at
            };
            let value = self
                .ev
                .expect(f.value, &spec.ty.ty(), use_at, What::Quoted(spec.name));
            let value = match spec.name {
                "retry" => self.check_retry(value, use_at),
                // a list of paths is `{ paths = […] }`, so a later layer's record merges
                // with it (`artifacts = ["x/"]`, then `artifacts = { expire_in = 1d }`)
                "artifacts" if matches!(value.kind, ValueKind::List(_)) => Value {
                    origin: value.origin,
                    kind: ValueKind::Map(vec![MapEntry {
                        key: "paths".to_string(),
                        key_at: f.key_at,
                        value,
                    }]),
                },
                "gitlab" => {
                    self.check_gitlab_keys(&value, true);
                    value
                }
                _ => value,
            };
            out.push(LayerField {
                key: FieldName::Borrowed(spec.name),
                value,
                ..f
            });
        }
        out
    }

    /// `retry` (or its `max`) is 0, 1 or 2: GitLab retries a job at most twice.
    fn check_retry(&mut self, value: Value, use_at: FileRange) -> Value {
        let (n, at) = match &value.kind {
            ValueKind::Int(n) => (*n, use_at),
            ValueKind::Map(entries) => match entries.iter().find(|e| e.key == "max") {
                Some(MapEntry {
                    value:
                        Value {
                            kind: ValueKind::Int(n),
                            origin,
                        },
                    ..
                }) => (*n, *origin),
                _ => return value,
            },
            _ => return value,
        };
        if n <= 2 {
            return value;
        }
        self.ev.report(
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                at,
                format!("`retry` must be 0, 1 or 2, found {n}"),
            )
            .with_label("out of range")
            .with_help("GitLab retries a job at most twice"),
        );
        Value::unknown(value.origin)
    }

    fn check_fields(&mut self, fields: Vec<LayerField>, _what: &str) {
        self.conform_fields(fields);
    }

    // ----- pipelines -----

    fn lower_pipeline(&mut self, p: &'a Pipeline) -> PipelineModel {
        let file = self.file;
        let mut lets: HashMap<&'a str, &'a Let> = HashMap::new();
        for l in &p.lets {
            if let Some(first) = lets.get(l.name.text.as_str()) {
                self.ev.report(duplicate(
                    self.at(l.name.range),
                    self.at(first.name.range),
                    "let",
                    &l.name.text,
                ));
                continue;
            }
            self.check_shadowing(&l.name, "let");
            lets.insert(&l.name.text, l);
        }
        let ctx = Ctx {
            file,
            pipeline_lets: Some(&lets),
            params: None,
        };
        for l in &p.lets {
            self.ev.let_value(file, l, Some(&lets));
        }

        let mut model = PipelineModel {
            name: p.name.text.clone(),
            name_at: self.at(p.name.range),
            on: Cond::Always,
            on_at: None,
            env: Vec::new(),
            fields: FieldMap::new(),
            stages: Vec::new(),
            jobs: Vec::new(),
            included_jobs_default: None,
        };
        let mut defaults: Vec<LayerField> = Vec::new();
        let mut default_field: Option<&'a Field> = None;
        let mut seen_fields: HashMap<&str, TextRange> = HashMap::new();
        for f in &p.fields {
            if let Some(first) = seen_fields.insert(&f.key.text, f.key.range) {
                self.ev.report(duplicate(
                    self.at(f.key.range),
                    self.at(first),
                    "field",
                    &f.key.text,
                ));
                continue;
            }
            let Some(spec) = pipeline_field(&f.key.text) else {
                self.unknown_pipeline_field(f);
                continue;
            };
            match spec.name {
                "on" => {
                    let v = self.ev.eval(&f.value, ctx);
                    let v = self.ev.expect(
                        v,
                        &Ty::Condition,
                        self.at(f.value.range),
                        What::Quoted("on"),
                    );
                    if let Some(c) = v.as_cond() {
                        model.on = c.clone();
                    }
                    model.on_at = Some(self.at(f.value.range));
                }
                "env" => {
                    let v = self.ev.eval(&f.value, ctx);
                    let v = self.ev.expect(
                        v,
                        &spec.ty.ty(),
                        self.at(f.value.range),
                        What::Quoted("env"),
                    );
                    model.env = env_bindings(&v, Layer::Pipeline);
                }
                "default" => {
                    defaults = self.eval_default(f, ctx);
                    default_field = Some(f);
                }
                _ => self.lower_pipeline_field(spec, f, ctx, &mut model),
            }
        }

        self.lower_stages(p, &mut model);
        let job_names = JobNames {
            index: model
                .jobs
                .iter()
                .enumerate()
                .map(|(i, j)| (j.name.clone(), i))
                .collect(),
            name_at: model.jobs.iter().map(|j| j.name_at).collect(),
            pipeline: self.at(p.range),
        };
        // every job starts from the pipeline's `env`, shared rather than copied
        let pipeline_env = Arc::new(model.env.clone());
        let mut job_index = 0;
        for stage in &p.stages {
            for job in &stage.jobs {
                if model
                    .jobs
                    .get(job_index)
                    .is_some_and(|j| j.name_at.range == job.name.range)
                {
                    let layers = (defaults.as_slice(), &pipeline_env);
                    let lowered = self.lower_job(job, ctx, layers, &job_names);
                    let stage_idx = model.jobs[job_index].stage;
                    model.jobs[job_index] = JobModel {
                        stage: stage_idx,
                        ..lowered
                    };
                    job_index += 1;
                }
            }
        }
        self.check_job_references(&model);
        self.check_included_job_keys(&model);
        self.check_included_bases(&model);
        self.check_outside_lists(&model);
        if let Some(f) = default_field.filter(|_| model.with_other_files()) {
            model.included_jobs_default = Some(Box::new(self.included_jobs_default(
                f,
                &defaults,
                &pipeline_env,
            )));
        }
        model
    }

    /// The pipeline's `default` as a job of its own: what GitLab's top-level `default:`
    /// gives the jobs of the included files (see [`PipelineModel::included_jobs_default`]).
    fn included_jobs_default(
        &self,
        f: &Field,
        defaults: &[LayerField],
        pipeline_env: &Arc<Vec<EnvBinding>>,
    ) -> JobModel {
        let mut fields = FieldMap::new();
        let mut env = JobEnv::inheriting(Arc::new(top_level_variables(pipeline_env)));
        // GitLab's `default:` has no `variables`: the included jobs get what the
        // top-level `variables:` holds of the pipeline's `env`, not the `default`'s; but
        // it has `id_tokens`, which the `default`'s `env` binds
        let gitlab_default: Vec<LayerField> = (defaults.iter())
            .filter(|f| f.key != "env")
            .cloned()
            .collect();
        apply_layer(Layer::Default, &gitlab_default, &mut fields, &mut env);
        let is_id_token = |b: &EnvBinding| matches!(&b.value.kind, ValueKind::Secret(s) if matches!(s.source, SecretSource::IdToken(_)));
        for f in defaults.iter().filter(|f| f.key == "env") {
            (env_bindings(&f.value, Layer::Default).into_iter())
                .filter(is_id_token)
                .for_each(|b| env.bind(b));
        }
        fields.shrink_to_fit();
        env.shrink_to_fit();
        JobModel {
            name: "default".to_string(),
            name_at: self.at(f.key.range),
            range: self.at(f.range),
            stage: 0,
            fields,
            env,
            needs: Vec::new(),
            when: Cond::Always,
            read_secrets: Vec::new(),
            kind: JobKind::IncludedJobsDefault,
        }
    }

    /// A pipeline field other than `on`, `env` and `default` (`include`, `gitlab`), into
    /// the model's fields.
    fn lower_pipeline_field(
        &mut self,
        spec: &crate::fields::FieldSpec,
        f: &'a Field,
        ctx: Ctx<'_, 'a>,
        model: &mut PipelineModel,
    ) {
        let v = self.eval_field_value(spec.name, &f.value, ctx);
        let value = self.ev.expect(
            v,
            &spec.ty.ty(),
            self.at(f.value.range),
            What::Quoted(spec.name),
        );
        if spec.name == "gitlab" {
            self.check_gitlab_keys(&value, false);
        }
        if spec.name == "include" {
            self.check_duplicate_includes(&value);
        }
        let key_at = self.at(f.key.range);
        let layer = Layer::Pipeline;
        model.fields.insert(
            spec.name,
            FieldUse {
                value,
                key_at,
                layer,
            },
        );
    }

    fn unknown_pipeline_field(&mut self, f: &Field) {
        let names: Vec<&str> = PIPELINE_FIELDS.iter().map(|s| s.name).collect();
        let suggestion = closest(&f.key.text, names.iter().copied());
        let is_job_field = job_field(&f.key.text).is_some();
        let help = match (suggestion, is_job_field) {
            (_, true) => format!(
                "`{}` is a job field; to give it to every job, put it in `default = {{ {} = … }}`",
                f.key.text, f.key.text
            ),
            (Some(s), _) => format!(
                "did you mean `{s}`? A pipeline's fields are {}",
                names.join(", ")
            ),
            (None, _) => format!("a pipeline's fields are {}", names.join(", ")),
        };
        self.ev.report(
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                self.at(f.key.range),
                format!("unknown pipeline field `{}`", f.key.text),
            )
            .with_label("not a pipeline field")
            .with_help(help),
        );
    }

    fn eval_default(&mut self, f: &'a Field, ctx: Ctx<'_, 'a>) -> Vec<LayerField> {
        match &f.value.kind {
            ExprKind::Record(fields) => {
                let fields = self.eval_job_fields(fields, ctx);
                self.conform_fields(fields)
            }
            ExprKind::Error => Vec::new(),
            _ => {
                let v = self.ev.eval(&f.value, ctx);
                let Some(entries) = v.as_map() else {
                    self.ev.report(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            self.at(f.value.range),
                            format!(
                                "`default` expects a record of job fields, found {}",
                                v.describe()
                            ),
                        )
                        .with_help("write `default = { image = …, timeout = 10m }`"),
                    );
                    return Vec::new();
                };
                let fields = entries
                    .iter()
                    .map(|e: &MapEntry| LayerField {
                        key: FieldName::Owned(e.key.clone()),
                        key_at: e.key_at,
                        value: e.value.clone(),
                    })
                    .collect();
                self.conform_fields(fields)
            }
        }
    }

    /// Stages, their `after` lists and placeholder jobs (names and stages only, so that
    /// `needs` can be resolved while the jobs are lowered).
    fn lower_stages(&mut self, p: &'a Pipeline, model: &mut PipelineModel) {
        let mut stage_index: HashMap<&str, usize> = HashMap::new();
        for s in &p.stages {
            if let Some(&first) = stage_index.get(s.name.text.as_str()) {
                let first_at = model.stages[first].name_at;
                self.ev.report(duplicate(
                    self.at(s.name.range),
                    first_at,
                    "stage",
                    &s.name.text,
                ));
            } else {
                stage_index.insert(&s.name.text, model.stages.len());
            }
            model.stages.push(StageModel {
                name: s.name.text.clone(),
                name_at: self.at(s.name.range),
                after: Vec::new(),
                explicit_after: !s.after.is_empty(),
            });
        }
        let stage_names: Vec<&str> = p.stages.iter().map(|s| s.name.text.as_str()).collect();
        let mut job_first: HashMap<&str, FileRange> = HashMap::new();
        model
            .jobs
            .reserve_exact(p.stages.iter().map(|s| s.jobs.len()).sum());
        for (si, s) in p.stages.iter().enumerate() {
            for a in &s.after {
                match stage_index.get(a.text.as_str()) {
                    Some(&target) => {
                        let stage = &model.stages[target];
                        let symbol = Symbol {
                            kind: SymbolKind::Stage,
                            file: self.file,
                            range: stage.name_at.range,
                            name: stage.name.clone(),
                        };
                        self.ev.note_use(self.at(a.range), symbol);
                        model.stages[si].after.push((target, self.at(a.range)))
                    }
                    None => self.unknown_in_list(&a.text, self.at(a.range), "stage", &stage_names),
                }
            }
            for f in &s.fields {
                self.ev.report(
                    Diagnostic::error(codes::UNKNOWN_FIELD, self.at(f.key.range), format!("stages have no fields; found `{}`", f.key.text))
                        .with_label("not allowed in a stage")
                        .with_help("put job fields inside a job, or in the pipeline's `default = { … }` to give them to every job"),
                );
            }
            for j in &s.jobs {
                let at = self.at(j.name.range);
                if let Some(first) = job_first.get(j.name.text.as_str()) {
                    self.ev.report(duplicate(at, *first, "job", &j.name.text));
                    continue;
                }
                job_first.insert(&j.name.text, at);
                model.jobs.push(JobModel {
                    name: j.name.text.clone(),
                    name_at: at,
                    range: self.at(j.range),
                    stage: si,
                    fields: FieldMap::new(),
                    env: JobEnv::default(),
                    needs: Vec::new(),
                    when: Cond::Always,
                    read_secrets: Vec::new(),
                    kind: JobKind::Job,
                });
            }
        }
    }

    fn unknown_in_list(&mut self, name: &str, at: FileRange, what: &str, known: &[&str]) {
        let suggestion = closest(name, known.iter().copied());
        let mut d = Diagnostic::error(codes::UNKNOWN_NAME, at, format!("unknown {what} `{name}`"));
        match suggestion {
            Some(s) => {
                d = d
                    .with_label(format!("did you mean `{s}`?"))
                    .with_help(format!("did you mean `{s}`?"))
                    .with_fix(
                        format!("replace with `{s}`"),
                        vec![plumb_diagnostics::Edit {
                            at,
                            replacement: s.to_string(),
                        }],
                    );
            }
            None => {
                d = d.with_label(format!("no {what} of this name in the pipeline"));
                d = d.with_help(if known.is_empty() {
                    format!("the pipeline has no {what}s")
                } else {
                    format!("the {what}s of this pipeline are {}", known.join(", "))
                });
            }
        }
        self.ev.report(d);
    }

    fn lower_job(
        &mut self,
        job: &'a Job,
        ctx: Ctx<'_, 'a>,
        (defaults, pipeline_env): (&[LayerField], &Arc<Vec<EnvBinding>>),
        job_names: &JobNames,
    ) -> JobModel {
        let mut fields = FieldMap::new();
        let mut env = JobEnv::inheriting(Arc::clone(pipeline_env));
        let mut complete = !job.body.recovered;
        let mut layers: Vec<(Layer, Vec<LayerField>)> = Vec::new();
        self.expansions = 0;
        for inst in &job.bases {
            if inst.template.text.is_empty() {
                // `from` without a name: a syntax error already; the job's own fields
                // are still checked, but not for being complete
                complete = false;
                continue;
            }
            match self.instantiate(inst, ctx) {
                Some(tf) => layers.push((Layer::Template, tf)),
                None => complete = false,
            }
            if let Some(cut) = self.expansion_cut.take() {
                self.report_expansion_cut(inst, cut, ctx);
                complete = false;
            }
        }
        self.ev.env_binding_site = env_binding_site(job, ctx);
        let own = self.eval_job_fields(&job.body.fields, ctx);
        self.ev.env_binding_site = None;
        layers.push((Layer::Job, self.conform_fields(own)));
        // a pipeline's `default` does not reach trigger jobs, as GitLab's `default:`
        let trigger = layers
            .iter()
            .any(|(_, l)| l.iter().any(|f| f.key == "trigger"));
        if !trigger {
            let inherited = inherited_defaults(defaults, &layers);
            apply_layer(Layer::Default, &inherited, &mut fields, &mut env);
        }
        for (layer, lf) in &layers {
            apply_layer(*layer, lf, &mut fields, &mut env);
        }
        inherit_variables(&fields, &mut env);
        self.check_matrix_size(&fields);

        if complete {
            self.check_required_fields(job, &fields, ctx);
        }
        self.check_field_combinations(&fields);
        self.check_parallel_once(&fields);
        self.check_cache_key(&fields);
        self.check_k8s_record(&fields);
        self.check_values(&fields);
        self.check_env_keys(&env);
        for (name, f) in &fields {
            if let Some(spec) = job_field(name) {
                let at = f.value.origin;
                self.ev
                    .required_keys(&f.value, &spec.ty.ty(), at, What::Quoted(name));
            }
        }
        let needs = self.resolve_job_refs(fields.get("needs"), job_names);
        self.resolve_job_refs(fields.get("dependencies"), job_names);
        if let Some(env) = fields.get("environment") {
            if let Some(on_stop) = env
                .value
                .as_map()
                .and_then(|m| m.iter().find(|e| e.key == "on_stop"))
            {
                let list = Value {
                    kind: ValueKind::List(vec![on_stop.value.clone()]),
                    origin: on_stop.value.origin,
                };
                let field = FieldUse {
                    value: list,
                    key_at: on_stop.key_at,
                    layer: env.layer,
                };
                self.resolve_job_refs(Some(&field), job_names);
            }
        }
        let when = when_of(&fields);
        // the model lives until the run ends: the room left by growing is freed now
        fields.shrink_to_fit();
        env.shrink_to_fit();
        JobModel {
            name: job.name.text.clone(),
            name_at: ctx.at(job.name.range),
            range: ctx.at(job.range),
            stage: 0,
            fields,
            env,
            needs,
            when,
            read_secrets: Vec::new(),
            kind: JobKind::Job,
        }
    }

    /// A job has `image` and `run`, or a `trigger` and neither of them (§6.2); one that
    /// `extends` hidden jobs of other files may have them there.
    fn check_required_fields(&mut self, job: &Job, fields: &FieldMap, ctx: Ctx<'_, 'a>) {
        if let Some(trigger) = fields.get("trigger") {
            for (name, f) in fields {
                if !TRIGGER_JOB_FIELDS.contains(&name) {
                    self.ev.report(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            f.key_at,
                            format!("job `{}` has both `trigger` and `{name}`", job.name.text),
                        )
                        .with_label("not a field of a trigger job")
                        .with_secondary(trigger.key_at, "the job starts another pipeline here")
                        .with_help(format!(
                            "remove `{name}`, or move it into a job of its own; a trigger job takes {}",
                            TRIGGER_JOB_FIELDS.join(", ")
                        )),
                    );
                }
            }
            return;
        }
        // a job that `extends` hidden jobs of other files may take them from there
        let extends_other_files = (fields.get("gitlab").and_then(|f| f.value.as_map()))
            .is_some_and(|m| m.iter().any(|e| e.key == "extends"));
        for spec in JOB_FIELDS.iter().filter(|s| s.required) {
            if fields.contains_key(spec.name) || extends_other_files {
                continue;
            }
            let example = if spec.name == "image" {
                "image = \"alpine:3.20@sha256:…\""
            } else {
                "run = [\"make test\"]"
            };
            self.ev.report(
                Diagnostic::error(
                    codes::MISSING_FIELD,
                    ctx.at(job.name.range),
                    format!("job `{}` has no `{}`", job.name.text, spec.name),
                )
                .with_label(format!("`{}` is required", spec.name))
                .with_help(format!(
                    "add `{example}` to the job, its template, or the pipeline's `default`"
                )),
            );
        }
        // GitLab refuses a job with no `script:` (and `script: []`): an empty `run` is
        // no run at all, unless hidden jobs of other files give the script
        let empty_run = fields
            .get("run")
            .filter(|f| f.value.as_list().is_some_and(<[_]>::is_empty));
        if let Some(run) = empty_run.filter(|_| !extends_other_files) {
            // at the job when the empty list is written in another file (an imported
            // template or let), whose own check does not see this job
            let job_at = ctx.at(job.name.range);
            let named = format!("job `{}`", job.name.text);
            let (at, other) = match run.value.origin.file == job_at.file {
                true => (run.value.origin, (job_at, named)),
                false => (job_at, (run.value.origin, "the empty list".to_string())),
            };
            self.ev.report(
                Diagnostic::error(
                    codes::MISSING_FIELD,
                    at,
                    format!("job `{}` has an empty `run`: it runs no command", job.name.text),
                )
                .with_label("no command")
                .with_secondary(other.0, other.1)
                .with_help("add a command, `run = [\"make test\"]`, or remove the job (GitLab refuses a job without a script)"),
            );
        }
    }

    /// The job names of a `needs`-like field, each resolved against the pipeline's
    /// jobs; an unknown name is reported with the closest.
    fn resolve_job_refs(&mut self, field: Option<&FieldUse>, job_names: &JobNames) -> Vec<Need> {
        let Some(list) = field.and_then(|f| f.value.as_list()) else {
            return Vec::new();
        };
        // kept in the model: room for the list's names, not the four a push makes
        let mut refs = Vec::with_capacity(list.len());
        for item in list {
            // `{ job = x, optional = true, artifacts = false }`
            let entry = |key: &str| item.as_map().and_then(|m| m.iter().find(|e| e.key == key));
            let flag = |key: &str, default: bool| match entry(key).map(|e| &e.value.kind) {
                Some(ValueKind::Bool(b)) => *b,
                _ => default,
            };
            let (optional, artifacts) = (flag("optional", false), flag("artifacts", true));
            let item = entry("job").map_or(item, |e| &e.value);
            if let ValueKind::JobRef(name) = &item.kind {
                let target = job_names.index.get(name).copied();
                if let Some(t) = target {
                    self.note_job_use(item.origin, name, job_names, t);
                }
                let job_names = &job_names.index;
                if target.is_none() {
                    // the candidates only when a name is unknown (sorting them for
                    // every job would cost the pipeline's size squared), in the
                    // pipeline's order, not the map's (which differs from run to run)
                    let mut ordered: Vec<(&String, &usize)> = job_names.iter().collect();
                    ordered.sort_by_key(|(_, i)| **i);
                    let names: Vec<&str> = ordered.iter().map(|(n, _)| n.as_str()).collect();
                    self.unknown_in_list(name, item.origin, "job", &names);
                }
                refs.push(Need {
                    job: name.clone(),
                    at: item.origin,
                    target,
                    optional,
                    artifacts,
                });
            }
        }
        refs
    }

    /// Records a job name written in the pipeline (not in a template, whose job names
    /// mean a job of whichever pipeline instantiates it).
    fn note_job_use(&mut self, at: FileRange, name: &str, jobs: &JobNames, target: usize) {
        let inside =
            at.file == jobs.pipeline.file && jobs.pipeline.range.contains(at.range.start as usize);
        if let (true, Some(def)) = (inside, jobs.name_at.get(target)) {
            let symbol = Symbol {
                kind: SymbolKind::Job,
                file: def.file,
                range: def.range,
                name: name.to_string(),
            };
            self.ev.note_use(at, symbol);
        }
    }

    /// The `ci_variable` secrets this file can name (its own and its imports'): the
    /// project variables a job may read by name.
    fn project_variables(&mut self) -> Vec<SecretRef> {
        let scope = self.ev.scope(self.file, false);
        let mut files = vec![self.file];
        files.extend(scope.imports.iter().map(|i| i.file));
        let mut out: Vec<SecretRef> = Vec::new();
        for file in files {
            let scope = self.ev.scope(file, false);
            let mut decls: Vec<_> = scope
                .defs
                .values()
                .filter_map(|d| match d {
                    DefRef::Secret(f, s) if *f == file => Some(*s),
                    _ => None,
                })
                .collect();
            decls.sort_by_key(|s| s.name.range.start);
            for decl in decls {
                let Some(r) = self.ev.secret_ref(file, decl) else {
                    continue;
                };
                if matches!(r.source, SecretSource::CiVariable(_)) && !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }
}

/// The project variables among `vars` that `job` names in a string and does not bind to
/// a secret of its own.
fn read_by_name(job: &JobModel, vars: &[SecretRef]) -> Vec<SecretRef> {
    let mut strings = Vec::new();
    for value in job
        .fields
        .values()
        .map(|f| &f.value)
        .chain(job.env.iter().map(|b| &b.value))
    {
        strings.extend(value.strings());
    }
    // every variable the strings name, found in one pass (a file may declare thousands)
    let named: std::collections::HashSet<&str> =
        (strings.iter()).flat_map(|(t, _)| names_in(t)).collect();
    let mut read = declared_read_by_name(job, vars, &strings, &named);
    read.extend(job_credentials_read(vars, &strings, &named));
    read
}

/// The variables a string names (`$X`, `${X}`) or a script in it reads by name.
fn names_in(text: &str) -> Vec<&str> {
    (crate::model::variables_named(text).chain(crate::model::shell_variables_named(text)))
        .chain(crate::model::variables_read_by_name(text))
        .collect()
}

/// GitLab's credentials for the job ([`crate::model::JOB_CREDENTIALS`]) that it reads
/// (`$CI_JOB_TOKEN`) and no `secret` declares: secrets all the same, declared where the
/// first string of the job that names one is.
fn job_credentials_read(
    vars: &[SecretRef],
    strings: &[(&str, FileRange)],
    named: &std::collections::HashSet<&str>,
) -> Vec<SecretRef> {
    let declared = |name: &str| {
        (vars.iter()).any(|s| matches!(&s.source, SecretSource::CiVariable(v) if v == name))
    };
    let implicit = crate::model::JOB_CREDENTIALS.iter();
    let implicit = implicit.filter(|name| named.contains(**name) && !declared(name));
    implicit
        .filter_map(|name| {
            let (_, at) = strings.iter().find(|(t, _)| names_in(t).contains(name))?;
            Some(SecretRef {
                name: name.to_string(),
                declared_at: *at,
                source: SecretSource::CiVariable(name.to_string()),
            })
        })
        .collect()
}

/// The project variables a job reads by name or dumps with its environment, of those
/// the program declares.
fn declared_read_by_name(
    job: &JobModel,
    vars: &[SecretRef],
    strings: &[(&str, FileRange)],
    named: &std::collections::HashSet<&str>,
) -> Vec<SecretRef> {
    let bound: std::collections::HashSet<&str> = (job.env.iter())
        .filter(|b| b.secret().is_some())
        .map(|b| b.name.as_str())
        .collect();
    // `env`, `printenv`, `export -p`: every variable of the job, each project variable too
    let dumps: Vec<crate::model::EnvDump> = (strings.iter())
        .flat_map(|(t, _)| crate::model::environment_dumps(t))
        .collect();
    vars.iter()
        .filter(|s| {
            let SecretSource::CiVariable(var) = &s.source else {
                return false;
            };
            // (a secret the job binds is printed under its binding's name)
            let dumped = dumps.iter().any(|d| d.lists(var))
                && !job.env.iter().any(|b| b.secret() == Some(s));
            !bound.contains(var.as_str()) && (dumped || named.contains(var.as_str()))
        })
        .cloned()
        .collect()
}

/// The image strings of a value declared with an image type.
fn push_images(out: &mut Vec<Value>, v: &Value, ty: &Ty) {
    match (ty, &v.kind) {
        (Ty::Image, ValueKind::Str(_)) => out.push(v.clone()),
        (Ty::List(inner), ValueKind::List(items)) if **inner == Ty::Image => out.extend(
            items
                .iter()
                .filter(|i| matches!(i.kind, ValueKind::Str(_)))
                .cloned(),
        ),
        _ => {}
    }
}

/// GitLab runs at most this many jobs from one `parallel: matrix`.
pub const MAX_MATRIX_JOBS: u64 = 200;

impl<'e, 'a> Lowering<'e, 'a> {
    /// A matrix that expands to more jobs than GitLab allows is an error, with the
    /// product spelled out.
    fn check_matrix_size(&mut self, fields: &FieldMap) {
        self.check_passthrough_matrix_size(fields);
        let Some(matrix) = fields.get("matrix") else {
            return;
        };
        let Some(entries) = matrix.value.as_map() else {
            return;
        };
        self.check_matrix_duplicates(entries);
        let sizes: Vec<u64> = entries
            .iter()
            .map(|e| e.value.as_list().map_or(1, |l| l.len() as u64).max(1))
            .collect();
        let total = sizes.iter().fold(1u64, |acc, n| acc.saturating_mul(*n));
        if total > MAX_MATRIX_JOBS {
            let product = sizes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" × ");
            self.ev.report(
                Diagnostic::error(
                    codes::MATRIX_TOO_LARGE,
                    matrix.key_at,
                    format!("the matrix expands to {product} = {total} jobs; GitLab runs at most {MAX_MATRIX_JOBS}"),
                )
                .with_label(format!("{total} combinations"))
                .with_help("split the job, or drop values: each variable multiplies the number of jobs"),
            );
        }
    }

    /// `gitlab = { parallel = { matrix = [ … ] } }` (entries an import could not write as
    /// one `matrix`): GitLab's limit holds for the sum of the entries' products too.
    fn check_passthrough_matrix_size(&mut self, fields: &FieldMap) {
        let entry = |v: &'_ Value, key: &str| {
            (v.as_map()?.iter())
                .find(|e| e.key == key)
                .map(|e| (e.key_at, e.value.clone()))
        };
        let Some((_, parallel)) = fields
            .get("gitlab")
            .and_then(|g| entry(&g.value, "parallel"))
        else {
            return;
        };
        let Some((at, matrix)) = entry(&parallel, "matrix") else {
            return;
        };
        let Some(entries) = matrix.as_list() else {
            return;
        };
        let product = |e: &Value| {
            (e.as_map().unwrap_or_default().iter())
                .map(|a| a.value.as_list().map_or(1, |l| l.len() as u64).max(1))
                .fold(1u64, u64::saturating_mul)
        };
        let total = entries.iter().map(product).fold(0u64, u64::saturating_add);
        if total > MAX_MATRIX_JOBS {
            self.ev.report(
                Diagnostic::error(
                    codes::MATRIX_TOO_LARGE,
                    at,
                    match entries.len() {
                        1 => format!("the matrix expands to {total} jobs; GitLab runs at most {MAX_MATRIX_JOBS}"),
                        n => format!("the matrix's {n} entries expand to {total} jobs together; GitLab runs at most {MAX_MATRIX_JOBS}"),
                    },
                )
                .with_label(format!("{total} combinations"))
                .with_help("split the job, or drop values: each variable multiplies the number of jobs"),
            );
        }
    }

    /// A value listed twice for one matrix variable would make two jobs of one name
    /// (one Kubernetes Job overwriting the other): an error at the second.
    fn check_matrix_duplicates(&mut self, entries: &[MapEntry]) {
        for e in entries {
            let Some(values) = e.value.as_list() else {
                continue;
            };
            // GitLab makes no job of `A: []`; a Kubernetes build would make one
            if values.is_empty() {
                self.ev.report(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        e.value.origin,
                        format!("matrix variable `{}` has no value", e.key),
                    )
                    .with_label("an empty list")
                    .with_help(
                        "give it at least one value, or remove the variable from the matrix",
                    ),
                );
            }
            let mut seen: HashMap<&str, FileRange> = HashMap::new();
            for v in values {
                let Some(text) = v.as_str() else { continue };
                if let Some(first) = seen.insert(text, v.origin) {
                    self.ev.report(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            v.origin,
                            format!("matrix variable `{}` lists `{text}` twice", e.key),
                        )
                        .with_label("listed again here")
                        .with_secondary(first, "first listed here")
                        .with_help("remove one: each value makes one job"),
                    );
                }
            }
        }
    }
}

/// The names of the templates that a job or a template of the file builds on with
/// `from NAME(…)` (a qualified `from lib.NAME(…)` names another file's).
fn templates_built_on(tree: &plumb_syntax::ast::SourceFile) -> HashSet<&str> {
    let jobs = tree.items.iter().flat_map(|item| match item {
        Item::Pipeline(p) => p
            .stages
            .iter()
            .flat_map(|s| &s.jobs)
            .map(|j| &j.bases)
            .collect(),
        _ => Vec::new(),
    });
    let templates = tree.items.iter().filter_map(|item| match item {
        Item::Template(t) => Some(&t.bases),
        _ => None,
    });
    (jobs.chain(templates))
        .flatten()
        .filter(|b| b.qualifier.is_none())
        .map(|b| b.template.text.as_str())
        .collect()
}

/// The fields of the pipeline's `default` a job takes: all, or as its `gitlab = {
/// inherit = { default = false | [KEYS] } }` says (GitLab's keys: `before_script` for
/// `before_run`); fields GitLab's `default:` does not hold (`env`) it always takes.
fn inherited_defaults<'d>(
    defaults: &'d [LayerField],
    layers: &[(Layer, Vec<LayerField>)],
) -> std::borrow::Cow<'d, [LayerField]> {
    // the last layer that says wins
    let said = (layers.iter().rev().flat_map(|(_, l)| l))
        .filter(|f| f.key == "gitlab")
        .filter_map(|f| f.value.as_map())
        .filter_map(|g| g.iter().find(|e| e.key == "inherit"))
        .filter_map(|e| e.value.as_map())
        .find_map(|i| i.iter().find(|e| e.key == "default"))
        .map(|e| &e.value.kind);
    if said.is_none() {
        return std::borrow::Cow::Borrowed(defaults);
    }
    let gitlab_key = |field: &str| {
        let field = if field == "entrypoint" {
            "image"
        } else {
            field
        };
        (crate::fields::GITLAB_DEFAULT_KEYS.iter())
            .find(|(_, f)| *f == field)
            .map(|(k, _)| *k)
    };
    let takes = |f: &&LayerField| match (gitlab_key(&f.key), said) {
        (None, _) | (_, None | Some(ValueKind::Bool(true))) => true,
        (Some(_), Some(ValueKind::Bool(false))) => false,
        (Some(key), Some(ValueKind::List(keys))) => keys.iter().any(|k| k.as_str() == Some(key)),
        (Some(_), Some(_)) => true,
    };
    std::borrow::Cow::Owned(defaults.iter().filter(takes).cloned().collect())
}

/// `gitlab = { inherit = { variables = false | [NAMES] } }`: the job gets none of the
/// pipeline's `env`, or only the names listed (GitLab's top-level `variables:`).
fn inherit_variables(fields: &FieldMap, env: &mut JobEnv) {
    let Some(gitlab) = fields.get("gitlab").and_then(|f| f.value.as_map()) else {
        return;
    };
    let Some(inherit) = (gitlab.iter())
        .find(|e| e.key == "inherit")
        .and_then(|e| e.value.as_map())
    else {
        return;
    };
    let Some(variables) = inherit.iter().find(|e| e.key == "variables") else {
        return;
    };
    match &variables.value.kind {
        ValueKind::Bool(false) => env.inherit_only(|_| false),
        ValueKind::List(names) => {
            let names: Vec<&str> = names.iter().filter_map(|n| n.as_str()).collect();
            env.inherit_only(|name| names.contains(&name));
        }
        _ => {}
    }
}

/// What the top-level `variables:` of a pipeline that includes files gives their jobs:
/// its `env`'s plain values and `ci_variable` secrets; GitLab has no top-level
/// `secrets:` or `id_tokens:`, so a Vault secret or an ID token stays in the
/// pipeline's own jobs.
fn top_level_variables(pipeline_env: &[EnvBinding]) -> Vec<EnvBinding> {
    let reaches = |b: &&EnvBinding| match &b.value.kind {
        ValueKind::Secret(s) => matches!(s.source, SecretSource::CiVariable(_)),
        _ => true,
    };
    pipeline_env.iter().filter(reaches).cloned().collect()
}

/// A layer of fields (`default`, a template, the job's own) applied over the ones below.
fn apply_layer(layer: Layer, lf: &[LayerField], fields: &mut FieldMap, env: &mut JobEnv) {
    for key in compose::ONE_LIST_KEYS
        .iter()
        .filter(|k| compose::writes_part_of(lf, k))
    {
        fields.remove(key);
        if let Some(ValueKind::Map(entries)) = fields.get_mut("gitlab").map(|g| &mut g.value.kind) {
            entries.retain(|e| e.key != *key);
        }
    }
    for f in lf {
        if f.key == "env" {
            env_bindings(&f.value, layer)
                .into_iter()
                .for_each(|b| env.bind(b));
        }
        // records and maps merge key by key, like GitLab's `extends`; a matrix is
        // replaced whole (GitLab's `parallel: matrix:` is a list)
        let value = match fields.get(&f.key) {
            Some(earlier) if f.key != "matrix" => values::merge_values(&earlier.value, &f.value),
            _ => f.value.clone(),
        };
        fields.insert(
            f.key.clone(),
            FieldUse {
                value,
                key_at: f.key_at,
                layer,
            },
        );
    }
}

fn env_binding_site(job: &Job, ctx: Ctx<'_, '_>) -> Option<EnvBindingSite> {
    let env = job.body.fields.iter().find(|f| f.key.text == "env");
    match (env, job.body.fields.first()) {
        (Some(env), _) => match &env.value.kind {
            ExprKind::Record(entries) => Some(EnvBindingSite {
                at: ctx.at(TextRange::empty(env.value.range.start as usize + 1)),
                new_field: false,
                bound: entries
                    .iter()
                    .map(|e| (e.key.text.clone(), written_name(&e.value)))
                    .collect(),
            }),
            _ => None,
        },
        (None, Some(first)) => Some(EnvBindingSite {
            at: ctx.at(TextRange::empty(first.range.start as usize)),
            new_field: true,
            bound: Vec::new(),
        }),
        (None, None) => None,
    }
}

/// An expression written as a name (`tok`, `alias.tok`), as written.
fn written_name(e: &plumb_syntax::ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.text.clone()),
        ExprKind::Member(base, member) => match &base.kind {
            ExprKind::Name(alias) => Some(format!("{}.{}", alias.text, member.text)),
            _ => None,
        },
        _ => None,
    }
}

fn env_bindings(v: &Value, layer: Layer) -> Vec<EnvBinding> {
    v.as_map()
        .map(|entries| {
            entries
                .iter()
                .map(|e| EnvBinding {
                    name: e.key.clone(),
                    name_at: e.key_at,
                    value: e.value.clone(),
                    layer,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A job's `when` as lowered: its condition, or always.
fn when_of(fields: &FieldMap) -> Cond {
    (fields.get("when"))
        .and_then(|f| f.value.as_cond())
        .cloned()
        .unwrap_or(Cond::Always)
}
