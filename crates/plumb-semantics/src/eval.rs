//! Evaluation of expressions to values, with name resolution and type checks.

use crate::codes;
use crate::scope::{DefRef, FileScope};
use crate::symbols::{Symbol, SymbolKind};
use crate::types::{RecordSpec, Ty};
use crate::value::{format_duration, format_size};
use crate::value::{BranchTest, Cond, MapEntry, SecretRef, SecretSource, Value, ValueKind};
use crate::SourceDb;
use plumb_diagnostics::{closest, Diagnostic, Edit, FileId, FileRange, TextRange};
use plumb_syntax::ast::{
    Arg, BinOp, Expr, ExprKind, Field, Let, Name, SecretDecl, Segment, TypeExpr,
};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// What a value is, for the messages about it ("`timeout`", "`cpu` in `resources`",
/// "an element of `needs`"): written out only when a message is, since values are
/// checked far more often than they are wrong.
#[derive(Clone, Copy, Debug)]
pub enum What<'w> {
    /// As written: "the default of `x`".
    Text(&'w str),
    /// A name, shown in backquotes.
    Quoted(&'w str),
    /// "parameter `x`".
    Parameter(&'w str),
    /// "the default of `x`".
    DefaultOf(&'w str),
    ElementOf(&'w What<'w>),
    KeyIn(&'w str, &'w What<'w>),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Text(t) => f.write_str(t),
            What::Quoted(name) => write!(f, "`{name}`"),
            What::Parameter(name) => write!(f, "parameter `{name}`"),
            What::DefaultOf(name) => write!(f, "the default of `{name}`"),
            What::ElementOf(of) => write!(f, "an element of {of}"),
            What::KeyIn(key, of) => write!(f, "`{key}` in {of}"),
        }
    }
}

/// Names built into the language: those of conditions, and `runner_default`.
pub const CONDITION_NAMES: &[&str] = &[
    "branch",
    "tag",
    "merge_request",
    "manual",
    "changes",
    "source",
    "var",
    "exists",
    "runner_default",
];
/// The sources a `secret` can come from.
pub const SECRET_SOURCES: &[(&str, &[&str])] = &[
    ("ci_variable", &["name"]),
    ("vault", &["path", "field"]),
    ("k8s_secret", &["name", "key"]),
    ("id_token", &["audience"]),
];

/// Where a secret may go, for every finding of one put elsewhere.
const SECRET_PLACE_HELP: &str =
    "secrets can only be values of an `env` map, where they become environment variables at run time";
const SECRET_SOURCES_HELP: &str = "secrets come from ci_variable(NAME), vault(PATH, FIELD[, file = true]), k8s_secret(NAME, KEY) or id_token(AUDIENCE)";
/// The named options a secret source takes after its arguments: (source, option). All are
/// `Bool` literals. `vault(…, file = true)`: the variable holds the path of a file with the
/// value, as GitLab gives Vault secrets by default.
pub const SECRET_OPTIONS: &[(&str, &str)] = &[("vault", "file")];

/// Whether `a` is one of the named options of secret source `source`.
fn is_secret_option(source: &str, a: &Arg) -> bool {
    a.name
        .as_ref()
        .is_some_and(|n| SECRET_OPTIONS.contains(&(source, n.text.as_str())))
}

/// A `secret` declaration's positional arguments (its options left out).
fn secret_arguments(s: &SecretDecl) -> impl Iterator<Item = &Arg> {
    s.args
        .iter()
        .filter(|a| !is_secret_option(&s.source.text, a))
}

/// The value of a secret declaration's option `name` (`false` when not given).
fn secret_option(s: &SecretDecl, name: &str) -> bool {
    s.args.iter().any(|a| {
        is_secret_option(&s.source.text, a)
            && a.name.as_ref().is_some_and(|n| n.text == name)
            && matches!(a.value.kind, ExprKind::Bool(true))
    })
}

/// Where names are looked up: a file's scope, plus a pipeline's lets and a template's
/// parameters when inside one.
#[derive(Clone, Copy)]
pub struct Ctx<'c, 'a> {
    pub file: FileId,
    pub pipeline_lets: Option<&'c HashMap<&'a str, &'a Let>>,
    pub params: Option<&'c HashMap<String, Value>>,
}

impl<'c, 'a> Ctx<'c, 'a> {
    pub fn file(file: FileId) -> Self {
        Ctx {
            file,
            pipeline_lets: None,
            params: None,
        }
    }
    pub fn at(&self, range: TextRange) -> FileRange {
        FileRange {
            file: self.file,
            range,
        }
    }
}

pub enum Resolved<'a> {
    Def(DefRef<'a>),
    PipelineLet(&'a Let),
    Param(Value),
    Module(FileId),
    Builtin(&'static str),
}

/// Where the program's values stand against [`MAX_TOTAL_WEIGHT`] after a charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Within,
    /// This charge passed it: the one to report.
    JustPassed,
    /// An earlier one did, and was reported.
    PassedBefore,
}

pub struct Evaluator<'a> {
    pub db: &'a dyn SourceDb,
    scopes: HashMap<FileId, Rc<FileScope<'a>>>,
    let_values: HashMap<(FileId, TextRange), Value>,
    in_progress: HashSet<(FileId, TextRange)>,
    /// The lets being evaluated, innermost last: a value too large is named by its let.
    evaluating: Vec<&'a str>,
    /// The weight of every let value handed out so far (each use is a copy), bounded by
    /// [`MAX_TOTAL_WEIGHT`]: 40 lets of 1 MiB each, or one used by a thousand jobs,
    /// would exhaust memory though no value is too large.
    handed_out: usize,
    /// Set when a value over [`MAX_VALUE_WEIGHT`] was found inside a template body being
    /// instantiated: the arguments made it so, and the job's `from` is where it is said.
    pub too_large_in_template: bool,
    /// What was reported (through [`Evaluator::report`] and [`Evaluator::error`]).
    diags: Vec<Diagnostic>,
    /// Template bodies being instantiated: their own mistakes are reported once, where
    /// the template is checked, so what lands inside them is not reported again.
    reported_elsewhere: Vec<FileRange>,
    /// Above zero while a look-up is only tried (the template-cycle search): nothing
    /// it finds wrong is reported.
    trying: usize,
    /// Where what [`Evaluator::error`] builds goes when it is not reported.
    unreported: Diagnostic,
    /// Where the job being lowered can bind one more variable in `env`: the secret
    /// interpolation fix's second edit.
    pub env_binding_site: Option<EnvBindingSite>,
    /// Set while a job's fields are checked layer by layer: the keys a record must
    /// have are checked on the merged record ([`Evaluator::required_keys`]).
    pub defer_required_keys: bool,
    /// Every name resolved, where it is written and what it refers to: the one
    /// resolution that go-to-definition, references, rename and highlighting read.
    pub uses: Vec<Use>,
    /// Above zero while a template body is evaluated for an instantiation: its names
    /// were recorded when the template itself was checked, and a parameter resolves to
    /// an argument there, not to the parameter's definition.
    pub quiet_uses: usize,
}

/// Where a job's `env` can take one more binding, and what it binds already.
#[derive(Clone, Debug)]
pub struct EnvBindingSite {
    /// Just inside the braces of `env = { … }`, or before the job's first field.
    pub at: FileRange,
    /// Whether `env` must be written (the job has none).
    pub new_field: bool,
    /// The job's own `env`: each variable, with the name its value is written as.
    pub bound: Vec<(String, Option<String>)>,
}

impl EnvBindingSite {
    fn edit(&self, var: &str, secret: &str) -> Edit {
        let replacement = if self.new_field {
            format!("env = {{ {var} = {secret} }}, ")
        } else {
            format!(" {var} = {secret},")
        };
        Edit {
            at: self.at,
            replacement,
        }
    }

    /// The variable that carries `secret`: the one `env` binds it to already (and no
    /// binding to add), else `wanted`, or `wanted_2`, … when `wanted` holds another value.
    fn variable_for(&self, wanted: &str, secret: &str) -> (String, bool) {
        if let Some((var, _)) = self
            .bound
            .iter()
            .find(|(_, v)| v.as_deref() == Some(secret))
        {
            return (var.clone(), false);
        }
        let taken = |v: &str| self.bound.iter().any(|(b, _)| b == v);
        let free = std::iter::once(wanted.to_string())
            .chain((2..).map(|n| format!("{wanted}_{n}")))
            .find(|v| !taken(v))
            .unwrap_or_else(|| wanted.to_string());
        (free, true)
    }
}

/// What a name that resolved to nothing was looked up as: decides the suggestions
/// and the help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// A value (`let`, secret, parameter, builtin).
    Name,
    /// The template of a `from`.
    Template,
}

/// A name the checker resolved: where it is written, and its definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Use {
    pub at: FileRange,
    pub target: Symbol,
}

impl<'a> Evaluator<'a> {
    pub fn new(db: &'a dyn SourceDb) -> Self {
        Evaluator {
            db,
            scopes: HashMap::new(),
            let_values: HashMap::new(),
            in_progress: HashSet::new(),
            evaluating: Vec::new(),
            handed_out: 0,
            too_large_in_template: false,
            diags: Vec::new(),
            reported_elsewhere: Vec::new(),
            trying: 0,
            unreported: Diagnostic::error(
                codes::UNKNOWN_NAME,
                FileRange {
                    file: FileId(0),
                    range: TextRange::empty(0),
                },
                "",
            ),
            env_binding_site: None,
            defer_required_keys: false,
            uses: Vec::new(),
            quiet_uses: 0,
        }
    }

    /// Records that the name at `at` refers to `target`.
    pub fn note_use(&mut self, at: FileRange, target: Symbol) {
        if self.quiet_uses == 0 {
            self.uses.push(Use { at, target });
        }
    }

    /// Records what `name` resolved to, when it is a definition written somewhere.
    fn note_resolved(&mut self, name: &Name, resolved: &Resolved<'a>, ctx: Ctx<'_, 'a>) {
        let (kind, at) = match resolved {
            Resolved::Def(def) => (def.symbol_kind(), def.at()),
            Resolved::PipelineLet(l) => (SymbolKind::Let, ctx.at(l.name.range)),
            // outside an instantiation a parameter's value is its abstract value,
            // which stands where the parameter is declared
            Resolved::Param(v) => (SymbolKind::Param, v.origin),
            Resolved::Module(_) | Resolved::Builtin(_) => return,
        };
        let target = Symbol {
            kind,
            file: at.file,
            range: at.range,
            name: name.text.clone(),
        };
        self.note_use(ctx.at(name.range), target);
    }

    /// [`Evaluator::resolve`] for a name written in the source, recording the use.
    pub fn resolve_name(&mut self, name: &Name, ctx: Ctx<'_, 'a>) -> Option<Resolved<'a>> {
        let resolved = self.resolve(&name.text, ctx)?;
        self.note_resolved(name, &resolved, ctx);
        Some(resolved)
    }

    /// Builds (once) and returns the scope of `file`. Diagnostics about the scope are
    /// reported only when `report` is set, so that each file reports its own.
    /// (Shared, so that looking a name up never copies a scope.)
    pub fn scope(&mut self, file: FileId, report: bool) -> Rc<FileScope<'a>> {
        if let Some(scope) = self.scopes.get(&file) {
            return scope.clone();
        }
        let mut diags = Vec::new();
        let scope = Rc::new(FileScope::build(self.db, file, &mut diags));
        if report {
            diags.into_iter().for_each(|d| self.report(d));
        }
        self.scopes.insert(file, scope.clone());
        scope
    }

    /// Whether a finding at `at` is to be reported now (not inside a template body
    /// being instantiated, not while a look-up is only tried).
    fn reports_at(&self, at: FileRange) -> bool {
        self.trying == 0
            && !self
                .reported_elsewhere
                .iter()
                .any(|body| body.file == at.file && body.range.contains(at.range.start as usize))
    }

    /// Reports `d`, unless it lies where it is reported elsewhere.
    pub fn report(&mut self, d: Diagnostic) {
        if self.reports_at(d.primary.at) {
            self.diags.push(d);
        }
    }

    /// An error to complete in place (message, help, fixes), reported as [`Self::report`] says.
    fn error(
        &mut self,
        code: plumb_diagnostics::Code,
        at: FileRange,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = Diagnostic::error(code, at, message);
        if !self.reports_at(at) {
            self.unreported = d;
            return &mut self.unreported;
        }
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    /// While `body` (a template's) is instantiated, its own mistakes are not reported.
    pub fn enter_reported_elsewhere(&mut self, body: FileRange) {
        self.reported_elsewhere.push(body);
    }
    pub fn leave_reported_elsewhere(&mut self) {
        self.reported_elsewhere.pop();
    }
    /// While a look-up is only tried, nothing is reported, and no use recorded.
    pub fn start_trying(&mut self) {
        self.trying += 1;
        self.quiet_uses += 1;
    }
    pub fn stop_trying(&mut self) {
        self.trying -= 1;
        self.quiet_uses -= 1;
    }

    /// What was reported, in order.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// All names visible in `ctx`, for "did you mean" suggestions.
    fn visible_names(&mut self, ctx: Ctx<'_, 'a>) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(params) = ctx.params {
            names.extend(params.keys().cloned());
        }
        if let Some(lets) = ctx.pipeline_lets {
            names.extend(lets.keys().map(|s| s.to_string()));
        }
        let scope = self.scope(ctx.file, false);
        names.extend(scope.defs.keys().map(|s| s.to_string()));
        for import in &scope.imports {
            match import.alias {
                Some(alias) => names.push(alias.text.clone()),
                None => {
                    let imported = self.scope(import.file, false);
                    names.extend(imported.defs.keys().map(|s| s.to_string()));
                }
            }
        }
        names.extend(CONDITION_NAMES.iter().map(|s| s.to_string()));
        // scopes are hash maps: sort, so that a tie in "did you mean" is decided the
        // same way on every run
        names.sort();
        names.dedup();
        names
    }

    pub fn resolve(&mut self, name: &str, ctx: Ctx<'_, 'a>) -> Option<Resolved<'a>> {
        if let Some(v) = ctx.params.and_then(|p| p.get(name)) {
            return Some(Resolved::Param(v.clone()));
        }
        if let Some(l) = ctx.pipeline_lets.and_then(|p| p.get(name)) {
            return Some(Resolved::PipelineLet(l));
        }
        let scope = self.scope(ctx.file, false);
        if let Some(def) = scope.own(name) {
            return Some(Resolved::Def(def));
        }
        for import in &scope.imports {
            match import.alias {
                Some(alias) if alias.text == name => return Some(Resolved::Module(import.file)),
                Some(_) => {}
                None => {
                    if let Some(def) = self.scope(import.file, false).own(name) {
                        return Some(Resolved::Def(def));
                    }
                }
            }
        }
        CONDITION_NAMES
            .iter()
            .find(|n| **n == name)
            .map(|n| Resolved::Builtin(n))
    }

    /// The templates visible in `ctx` (the file's and those of its imports without an
    /// alias), sorted: the suggestions for an unknown template.
    fn visible_templates(&mut self, ctx: Ctx<'_, 'a>) -> Vec<String> {
        let scope = self.scope(ctx.file, false);
        let mut files = vec![ctx.file];
        files.extend(
            scope
                .imports
                .iter()
                .filter(|i| i.alias.is_none())
                .map(|i| i.file),
        );
        let mut templates: Vec<String> = Vec::new();
        for file in files {
            let defs = &self.scope(file, false).defs;
            templates.extend(
                defs.iter()
                    .filter(|(_, d)| matches!(d, DefRef::Template(..)))
                    .map(|(n, _)| n.to_string()),
            );
        }
        // scopes are hash maps: sort, so messages are the same from run to run
        templates.sort();
        templates.dedup();
        templates
    }

    /// PL1001 for a name that resolved to nothing, with the closest name of its kind
    /// (and a fix to it), or what to do instead.
    pub fn unknown(&mut self, name: &Name, ctx: Ctx<'_, 'a>, kind: Unknown) {
        let candidates = match kind {
            Unknown::Name => self.visible_names(ctx),
            Unknown::Template => self.visible_templates(ctx),
        };
        let suggestion =
            closest(&name.text, candidates.iter().map(String::as_str)).map(str::to_string);
        let at = ctx.at(name.range);
        let noun = match kind {
            Unknown::Name => "name",
            Unknown::Template => "template",
        };
        let d = self.error(
            codes::UNKNOWN_NAME,
            at,
            format!("unknown {noun} `{}`", name.text),
        );
        let text = &name.text;
        let (label, help) = match (suggestion, kind) {
            (Some(s), _) => {
                d.fixes.push(plumb_diagnostics::Fix {
                    title: format!("replace with `{s}`"),
                    edits: vec![Edit {
                        at,
                        replacement: s.clone(),
                    }],
                });
                let help = match kind {
                    Unknown::Name => format!("did you mean `{s}`? Names are case-sensitive"),
                    Unknown::Template => format!(
                        "did you mean `{s}`? Templates are defined with `template {s}(…) {{ … }}`"
                    ),
                };
                (format!("did you mean `{s}`?"), help)
            }
            (None, Unknown::Name) if looks_like_env_var(text) => (
                "not defined in Plumb".to_string(),
                format!(
                    "`${{…}}` is Plumb interpolation; to let the shell expand the variable, write `\\${{{text}}}` or `${text}`"
                ),
            ),
            (None, Unknown::Name) => (
                "not defined".to_string(),
                format!("define it with `let {text} = …`, or import the file that defines it"),
            ),
            (None, Unknown::Template) if candidates.is_empty() => (
                "no template of this name".to_string(),
                "define it with `template NAME(params) { … }`, or import the file that defines it".to_string(),
            ),
            (None, Unknown::Template) => (
                "no template of this name".to_string(),
                format!("the templates in scope are {}", candidates.join(", ")),
            ),
        };
        d.primary.message = label;
        d.help = Some(help);
    }

    /// The value of a top-level or pipeline `let`, evaluated once.
    pub fn let_value(
        &mut self,
        file: FileId,
        l: &'a Let,
        pipeline_lets: Option<&HashMap<&'a str, &'a Let>>,
    ) -> Value {
        let key = (file, l.range);
        if let Some(w) = self
            .let_values
            .get(&key)
            .map(|v| weight(v, MAX_TOTAL_WEIGHT))
        {
            if !self.hand_out(w, file, l) {
                return Value::unknown(ctx_at(file, l));
            }
            return self
                .let_values
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Value::unknown(ctx_at(file, l)));
        }
        if !self.in_progress.insert(key) {
            self.error(
                codes::RECURSIVE_LET,
                FileRange {
                    file,
                    range: l.name.range,
                },
                format!("`{}` is defined in terms of itself", l.name.text),
            )
            .help =
                Some("a `let` cannot refer to itself, directly or through other lets".to_string());
            return Value::unknown(FileRange {
                file,
                range: l.value.range,
            });
        }
        let ctx = Ctx {
            file,
            pipeline_lets,
            params: None,
        };
        self.evaluating.push(&l.name.text);
        let mut value = self.eval(&l.value, ctx);
        self.evaluating.pop();
        if let Some(ty) = &l.ty {
            if let Some(ty) = self.type_of(ty, file) {
                value = self.expect(
                    value,
                    &ty,
                    ctx.at(l.value.range),
                    What::Quoted(&l.name.text),
                );
            }
        }
        self.in_progress.remove(&key);
        let w = weight(&value, MAX_TOTAL_WEIGHT);
        if !self.hand_out(w, file, l) {
            value = Value::unknown(ctx_at(file, l));
        }
        self.let_values.insert(key, value.clone());
        value
    }

    /// Counts copies of weight `w` made outside lets (template arguments, each
    /// instantiation's own) against [`MAX_TOTAL_WEIGHT`], which the program's values
    /// share; the caller reports the first time it is passed.
    pub fn charge_copies(&mut self, w: usize) -> Budget {
        let before = self.handed_out;
        self.handed_out = self.handed_out.saturating_add(w);
        match (
            before <= MAX_TOTAL_WEIGHT,
            self.handed_out <= MAX_TOTAL_WEIGHT,
        ) {
            (_, true) => Budget::Within,
            (true, false) => Budget::JustPassed,
            (false, false) => Budget::PassedBefore,
        }
    }

    /// Counts a let value of weight `w` handed out; false (reported once, at the let
    /// that went over) when the program's values together pass [`MAX_TOTAL_WEIGHT`].
    fn hand_out(&mut self, w: usize, file: FileId, l: &Let) -> bool {
        let before = self.handed_out;
        self.handed_out = self.handed_out.saturating_add(w);
        if self.handed_out <= MAX_TOTAL_WEIGHT {
            return true;
        }
        if before <= MAX_TOTAL_WEIGHT {
            let at = FileRange {
                file,
                range: l.name.range,
            };
            let message = format!(
                "the program's lets are copied into more than 32 MiB of values by `{}`",
                l.name.text
            );
            let d = self.error(codes::VALUE_TOO_LARGE, at, message);
            d.primary.message = "one use too many".to_string();
            d.help = Some(
                "each use of a let copies its value: share large text through a file in the repository, or use it in fewer places"
                    .to_string(),
            );
        }
        false
    }

    /// Resolves a written type.
    pub fn type_of(&mut self, ty: &TypeExpr, file: FileId) -> Option<Ty> {
        let arity = |n: usize| ty.args.len() == n;
        let simple = match ty.name.text.as_str() {
            "String" => Some(Ty::String),
            "Int" => Some(Ty::Int),
            "Bool" => Some(Ty::Bool),
            "Duration" => Some(Ty::Duration),
            "Size" => Some(Ty::Size),
            "Image" => Some(Ty::Image),
            "Secret" => Some(Ty::Secret),
            "Condition" => Some(Ty::Condition),
            "Script" => Some(Ty::Script),
            _ => None,
        };
        let at = FileRange {
            file,
            range: ty.range,
        };
        if let Some(t) = simple {
            if !arity(0) {
                self.error(
                    codes::TYPE_MISMATCH,
                    at,
                    format!("type `{}` takes no type arguments", ty.name.text),
                );
            }
            return Some(t);
        }
        match ty.name.text.as_str() {
            "List" | "Map" => {
                if !arity(1) {
                    self.error(
                        codes::TYPE_MISMATCH,
                        at,
                        format!(
                            "`{}` takes one type argument, e.g. `{}<String>`",
                            ty.name.text, ty.name.text
                        ),
                    );
                    return None;
                }
                let inner = self.type_of(&ty.args[0], file)?;
                Some(if ty.name.text == "List" {
                    Ty::List(Box::new(inner))
                } else {
                    Ty::Map(Box::new(inner))
                })
            }
            other => {
                let suggestion = closest(other, crate::types::TYPE_NAMES.iter().copied());
                let d = self.error(
                    codes::UNKNOWN_NAME,
                    FileRange {
                        file,
                        range: ty.name.range,
                    },
                    format!("unknown type `{other}`"),
                );
                d.help = Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the types are {}", crate::types::TYPE_NAMES.join(", ")),
                });
                None
            }
        }
    }

    /// Evaluates an expression. A value over [`MAX_VALUE_WEIGHT`] is reported (PL1014)
    /// and becomes unknown, so lets that double a value cannot exhaust memory.
    pub fn eval(&mut self, expr: &'a Expr, ctx: Ctx<'_, 'a>) -> Value {
        let v = self.eval_unbounded(expr, ctx);
        // lists are weighed while they are built (`eval_unbounded`)
        let compound = matches!(
            v.kind,
            ValueKind::Str(_) | ValueKind::Map(_) | ValueKind::Cond(_)
        );
        if compound && weight(&v, MAX_VALUE_WEIGHT) > MAX_VALUE_WEIGHT {
            return self.too_large(v.origin);
        }
        v
    }

    fn too_large(&mut self, origin: FileRange) -> Value {
        if self.trying == 0 && !self.reports_at(origin) {
            self.too_large_in_template = true;
        }
        let message = match self.evaluating.last() {
            Some(name) => format!("the value of `{name}` is larger than 1 MiB once evaluated"),
            None => "this value is larger than 1 MiB once evaluated".to_string(),
        };
        let d = self.error(codes::VALUE_TOO_LARGE, origin, message);
        d.primary.message = "over 1 MiB once its parts are put together".to_string();
        d.help = Some(
            "lets that repeat other lets grow exponentially; build large text in the script instead"
                .to_string(),
        );
        Value::unknown(origin)
    }

    fn eval_unbounded(&mut self, expr: &'a Expr, ctx: Ctx<'_, 'a>) -> Value {
        let origin = ctx.at(expr.range);
        let kind = match &expr.kind {
            ExprKind::Str(s) => return self.eval_string(&s.segments, origin, ctx),
            ExprKind::Int(n) => ValueKind::Int(*n),
            ExprKind::Duration(d) => ValueKind::Duration(*d),
            ExprKind::Size(s) => ValueKind::Size(*s),
            ExprKind::Bool(b) => ValueKind::Bool(*b),
            ExprKind::Name(name) => return self.eval_name(name, ctx),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut total = 1; // the list itself, as `weight` counts it
                for e in items {
                    let v = self.eval(e, ctx);
                    total += weight(&v, MAX_VALUE_WEIGHT);
                    if total > MAX_VALUE_WEIGHT {
                        return self.too_large(origin);
                    }
                    out.push(v);
                }
                ValueKind::List(out)
            }
            ExprKind::Record(fields) => ValueKind::Map(self.eval_record(fields, ctx)),
            ExprKind::Member(base, name) => return self.eval_member(base, name, ctx),
            ExprKind::Call(callee, args) => return self.eval_call(callee, args, origin, ctx),
            ExprKind::Binary(op, lhs, rhs) => return self.eval_binary(*op, lhs, rhs, origin, ctx),
            ExprKind::Not(inner) => {
                let v = self.eval(inner, ctx);
                match self.as_condition(v, ctx.at(inner.range)) {
                    Some(c) => ValueKind::Cond(Box::new(Cond::Not(Box::new(c)))),
                    None => ValueKind::Unknown,
                }
            }
            ExprKind::Error => ValueKind::Unknown,
        };
        Value { kind, origin }
    }

    pub fn eval_record(&mut self, fields: &'a [Field], ctx: Ctx<'_, 'a>) -> Vec<MapEntry> {
        // records live in the model: room for their keys, not the four a push makes
        let mut entries: Vec<MapEntry> = Vec::with_capacity(fields.len());
        for f in fields {
            let key_at = ctx.at(f.key.range);
            if let Some(first) = entries.iter().find(|e| e.key == f.key.text) {
                let first = first.key_at;
                self.report(crate::scope::duplicate(key_at, first, "key", &f.key.text));
                continue;
            }
            let value = self.eval(&f.value, ctx);
            entries.push(MapEntry {
                key: f.key.text.clone(),
                key_at,
                value,
            });
        }
        entries
    }

    fn eval_string(
        &mut self,
        segments: &'a [Segment],
        origin: FileRange,
        ctx: Ctx<'_, 'a>,
    ) -> Value {
        let mut out = String::new();
        let mut unknown = false;
        for seg in segments {
            if out.len() > MAX_VALUE_WEIGHT {
                return self.too_large(origin);
            }
            match seg {
                Segment::Text(t, _) => out.push_str(t),
                Segment::Interp(e, range) => {
                    let v = self.eval(e, ctx);
                    match &v.kind {
                        ValueKind::Str(s) => out.push_str(s),
                        ValueKind::Int(n) => out.push_str(&n.to_string()),
                        ValueKind::Bool(b) => out.push_str(&b.to_string()),
                        ValueKind::Duration(d) => out.push_str(&format_duration(*d)),
                        ValueKind::Size(s) => out.push_str(&format_size(*s)),
                        ValueKind::Abstract(Ty::Secret) | ValueKind::Secret(_) => {
                            self.secret_in_string(e, *range, ctx);
                            unknown = true;
                        }
                        ValueKind::Abstract(_) | ValueKind::Unknown => unknown = true,
                        ValueKind::CiVar(name)
                            if crate::OUTSIDER_VARIABLES.contains(&name.as_str()) =>
                        {
                            self.untrusted_in_string(name, ctx.at(e.range));
                            unknown = true;
                        }
                        _ => {
                            let found = v.describe();
                            self.error(
                                codes::TYPE_MISMATCH,
                                ctx.at(e.range),
                                format!("cannot interpolate {found} into a string"),
                            )
                            .help = Some(
                                "interpolation accepts String, Int, Bool, Duration and Size values"
                                    .to_string(),
                            );
                            unknown = true;
                        }
                    }
                }
            }
        }
        let kind = if unknown {
            ValueKind::Abstract(Ty::String)
        } else {
            ValueKind::Str(out)
        };
        Value { kind, origin }
    }

    /// PL6001 for `${var("CI_COMMIT_TITLE")}`: text an outsider writes becomes part of
    /// the string, and of the script when the string is one.
    fn untrusted_in_string(&mut self, name: &str, at: FileRange) {
        let d = self.error(
            codes::UNTRUSTED_INPUT,
            at,
            format!("`var(\"{name}\")` is interpolated into a string: its text, which anyone who opens a merge request or pushes a branch chooses, becomes part of the value (of the code, in a script)"),
        );
        d.primary.message = "text an outsider controls".to_string();
        d.help = Some(format!(
            "write `${name}` instead: a script reads it quoted (`\"${name}\"`) as data, and GitLab expands it in a variable"
        ));
    }

    /// PL4002 for a secret interpolated into a string, with the fix that binds it in
    /// the job's `env` (where the job has a place for it) and uses the variable.
    fn secret_in_string(&mut self, e: &Expr, interp: TextRange, ctx: Ctx<'_, 'a>) {
        // the secret as written (`tok`, `alias.tok`) and the variable named after it
        let written = match &e.kind {
            ExprKind::Name(n) => Some((n.text.clone(), &n.text)),
            ExprKind::Member(base, member) => match &base.kind {
                ExprKind::Name(alias) => {
                    Some((format!("{}.{}", alias.text, member.text), &member.text))
                }
                _ => None,
            },
            _ => None,
        };
        let at = ctx.at(interp);
        let site = self.env_binding_site.clone();
        let Some((secret, var_of)) = written else {
            let d = self.error(
                codes::SECRET_MISUSE,
                at,
                "a secret is interpolated into a string",
            );
            d.primary.message =
                "the secret's value would be written into the generated file and the job log"
                    .to_string();
            d.help = Some(
                "bind the secret to an environment variable in `env` and use `$VAR` in the script"
                    .to_string(),
            );
            return;
        };
        let wanted = var_of.to_uppercase().replace('-', "_");
        let d = self.error(
            codes::SECRET_MISUSE,
            at,
            format!("secret `{secret}` is interpolated into a string"),
        );
        d.primary.message =
            "the secret's value would be written into the generated file and the job log"
                .to_string();
        d.help = Some(format!(
            "bind it to an environment variable with `env = {{ {wanted} = {secret} }}` and use `${wanted}` in the script"
        ));
        // a fix only where the job's own `env` can take the binding (not in a template,
        // a `default`, a `let`, or an `env` written as something else than a record)
        let Some(site) = site else { return };
        let (var, bind) = site.variable_for(&wanted, &secret);
        let mut edits = vec![Edit {
            at,
            replacement: format!("${var}"),
        }];
        let title = if bind {
            edits.push(site.edit(&var, &secret));
            format!("bind {var} = {secret} in `env` and use `${var}`")
        } else {
            format!("use `${var}`, which `env` binds to `{secret}`")
        };
        d.fixes.push(plumb_diagnostics::Fix { title, edits });
    }

    fn eval_name(&mut self, name: &'a Name, ctx: Ctx<'_, 'a>) -> Value {
        let origin = ctx.at(name.range);
        match self.resolve_name(name, ctx) {
            None => {
                self.unknown(name, ctx, Unknown::Name);
                Value::unknown(origin)
            }
            Some(Resolved::PipelineLet(l)) => self.let_value(ctx.file, l, ctx.pipeline_lets),
            Some(resolved) => self.resolved_value(resolved, name, origin),
        }
    }

    fn resolved_value(&mut self, resolved: Resolved<'a>, name: &Name, origin: FileRange) -> Value {
        let kind = match resolved {
            Resolved::Param(v) => return v,
            Resolved::PipelineLet(l) => return self.let_value(origin.file, l, None),
            Resolved::Def(DefRef::Let(file, l)) => return self.let_value(file, l, None),
            Resolved::Def(DefRef::Secret(file, s)) => match self.secret_ref(file, s) {
                Some(r) => ValueKind::Secret(Box::new(r)),
                None => ValueKind::Unknown,
            },
            Resolved::Def(DefRef::Template(..)) => {
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("template `{}` is not a value", name.text),
                )
                .help = Some(format!(
                    "instantiate it in a job: `job NAME from {}(…) {{ }}`",
                    name.text
                ));
                ValueKind::Unknown
            }
            Resolved::Module(_) => {
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("`{}` is an imported file, not a value", name.text),
                )
                .help = Some(format!("refer to one of its names: `{}.NAME`", name.text));
                ValueKind::Unknown
            }
            Resolved::Builtin("branch") => ValueKind::BranchVar,
            Resolved::Builtin("source") => ValueKind::SourceVar,
            Resolved::Builtin("runner_default") => ValueKind::RunnerDefault,
            Resolved::Builtin("var") => {
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    "`var` must be called: `var(\"NAME\") == \"value\"`".to_string(),
                );
                ValueKind::Unknown
            }
            Resolved::Builtin("tag") => ValueKind::Cond(Box::new(Cond::Tag)),
            Resolved::Builtin("merge_request") => ValueKind::Cond(Box::new(Cond::MergeRequest)),
            Resolved::Builtin("manual") => ValueKind::Cond(Box::new(Cond::Manual)),
            Resolved::Builtin(other) => {
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("`{other}` must be called: `{other}([\"src/**\"])`"),
                );
                ValueKind::Unknown
            }
        };
        Value { kind, origin }
    }

    /// The reference a `secret` declaration makes; its errors are reported with the
    /// declaring file's diagnostics (see `check_secret_decl`).
    pub fn secret_ref(&mut self, file: FileId, s: &'a SecretDecl) -> Option<SecretRef> {
        let args: Vec<String> = secret_arguments(s)
            .filter_map(|a| match &a.value.kind {
                ExprKind::Str(lit) => lit.as_plain(),
                _ => None,
            })
            .collect();
        let source = match (s.source.text.as_str(), args.as_slice()) {
            ("ci_variable", [name]) => SecretSource::CiVariable(name.clone()),
            ("vault", [path, field]) => SecretSource::Vault {
                path: path.clone(),
                field: field.clone(),
                file: secret_option(s, "file"),
            },
            ("k8s_secret", [name, key]) => SecretSource::K8sSecret {
                name: name.clone(),
                key: key.clone(),
            },
            ("id_token", [audience]) => SecretSource::IdToken(audience.clone()),
            _ => return None,
        };
        Some(SecretRef {
            name: s.name.text.clone(),
            declared_at: FileRange {
                file,
                range: s.name.range,
            },
            source,
        })
    }

    /// Reports what is wrong with a `secret` declaration.
    pub fn check_secret_decl(&mut self, file: FileId, s: &'a SecretDecl) {
        let Some((_, params)) = SECRET_SOURCES.iter().find(|(n, _)| *n == s.source.text) else {
            let suggestion = closest(&s.source.text, SECRET_SOURCES.iter().map(|(n, _)| *n));
            let d = self.error(
                codes::UNKNOWN_NAME,
                FileRange {
                    file,
                    range: s.source.range,
                },
                format!("unknown secret source `{}`", s.source.text),
            );
            d.help = Some(match suggestion {
                Some(x) => format!("did you mean `{x}`? {}", capitalized(SECRET_SOURCES_HELP)),
                None => SECRET_SOURCES_HELP.to_string(),
            });
            return;
        };
        self.check_secret_options(file, s);
        let given = secret_arguments(s).count();
        if given != params.len() {
            let options: Vec<String> = SECRET_OPTIONS
                .iter()
                .filter(|(source, _)| *source == s.source.text)
                .map(|(_, option)| format!(" and `{option} = true|false`"))
                .collect();
            self.error(
                codes::BAD_INSTANTIATION,
                FileRange {
                    file,
                    range: s.args_range,
                },
                format!(
                    "`{}` takes {} argument{} ({}){}, found {given}",
                    s.source.text,
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    params.join(", "),
                    options.concat(),
                ),
            );
            return;
        }
        for (index, a) in secret_arguments(s).enumerate() {
            let ok = matches!(&a.value.kind, ExprKind::Str(lit) if lit.as_plain().is_some_and(|t| !t.is_empty()));
            if !ok {
                self.error(
                    codes::TYPE_MISMATCH,
                    FileRange { file, range: a.value.range },
                    format!("the arguments of `{}` must be non-empty string literals", s.source.text),
                )
                .help = Some("a secret's location is fixed when the pipeline is compiled: write it as a plain \"…\" string".to_string());
                continue;
            }
            let ExprKind::Str(lit) = &a.value.kind else {
                continue;
            };
            let text = lit.as_plain().unwrap_or_default();
            if let Some(why) = bad_secret_argument(&s.source.text, index, &text) {
                self.error(
                    codes::TYPE_MISMATCH,
                    FileRange { file, range: a.value.range },
                    format!("`{text}` cannot be used here: {why}"),
                )
                .help = Some("a secret's name becomes a variable name and a Kubernetes Secret key or name; write it with the characters those allow".to_string());
            }
        }
    }

    /// A secret's options (`file = true`) are `Bool` literals, each given once.
    fn check_secret_options(&mut self, file: FileId, s: &'a SecretDecl) {
        let mut seen: Vec<&str> = Vec::new();
        for a in s
            .args
            .iter()
            .filter(|a| is_secret_option(&s.source.text, a))
        {
            let Some(name) = &a.name else {
                continue;
            };
            if seen.contains(&name.text.as_str()) {
                self.error(
                    codes::BAD_INSTANTIATION,
                    FileRange {
                        file,
                        range: name.range,
                    },
                    format!("`{}` is given twice", name.text),
                );
            }
            seen.push(&name.text);
            if !matches!(a.value.kind, ExprKind::Bool(_)) {
                self.error(
                    codes::TYPE_MISMATCH,
                    FileRange {
                        file,
                        range: a.value.range,
                    },
                    format!(
                        "`{}` of `{}` is `true` or `false`",
                        name.text, s.source.text
                    ),
                )
                .help = Some(
                    "write the literal: a secret's source is fixed when the pipeline is compiled"
                        .to_string(),
                );
            }
        }
    }

    fn eval_member(&mut self, base: &'a Expr, name: &'a Name, ctx: Ctx<'_, 'a>) -> Value {
        let origin = ctx.at(name.range);
        if let ExprKind::Name(module) = &base.kind {
            if let Some(Resolved::Module(file)) = self.resolve(&module.text, ctx) {
                let def = self.scope(file, false).own(&name.text);
                return match def {
                    Some(def) => {
                        self.note_resolved(name, &Resolved::Def(def), ctx);
                        self.resolved_value(Resolved::Def(def), name, origin)
                    }
                    None => {
                        let candidates: Vec<String> = self
                            .scope(file, false)
                            .defs
                            .keys()
                            .map(|s| s.to_string())
                            .collect();
                        let suggestion = closest(&name.text, candidates.iter().map(String::as_str));
                        let d = self.error(
                            codes::UNKNOWN_NAME,
                            origin,
                            format!("`{}` has no name `{}`", module.text, name.text),
                        );
                        if let Some(s) = suggestion {
                            d.help = Some(format!("did you mean `{}.{s}`?", module.text));
                        }
                        Value::unknown(origin)
                    }
                };
            }
        }
        let v = self.eval(base, ctx);
        match &v.kind {
            ValueKind::Map(entries) => match entries.iter().find(|e| e.key == name.text) {
                Some(e) => e.value.clone(),
                None => {
                    self.error(
                        codes::UNKNOWN_FIELD,
                        origin,
                        format!("the record has no field `{}`", name.text),
                    );
                    Value::unknown(origin)
                }
            },
            ValueKind::Unknown | ValueKind::Abstract(_) => Value::unknown(origin),
            _ => {
                let found = v.describe();
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("{found} has no field `{}`", name.text),
                );
                Value::unknown(origin)
            }
        }
    }

    /// A call of a name that is nothing: a misspelled `changes`, `exists` or `var`.
    fn unknown_function(&mut self, name: &str, at: FileRange) {
        const FUNCTIONS: [&str; 3] = ["changes", "exists", "var"];
        let d = self.error(
            codes::UNKNOWN_NAME,
            at,
            format!("unknown function `{name}`"),
        );
        let suggestion = closest(name, FUNCTIONS);
        d.primary.message = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "no such function".to_string(),
        };
        const SECRETS: [&str; 4] = ["ci_variable", "vault", "k8s_secret", "id_token"];
        d.help = Some(match suggestion {
            // a secret made where it is used: it is declared once, at the top of a file
            _ if SECRETS.contains(&name) => format!(
                "a secret is declared as a top-level item (`secret my_secret = {name}(…)`) and bound by name in `env` (`NAME = my_secret`); a condition reads a CI/CD variable with `var(\"NAME\")`"
            ),
            Some(s) => format!("did you mean `{s}(…)`?"),
            None => {
                "the functions of a condition are `changes([…])`, `exists([…])` and `var(\"NAME\")`"
                    .to_string()
            }
        });
    }

    fn eval_call(
        &mut self,
        callee: &'a Expr,
        args: &'a [Arg],
        origin: FileRange,
        ctx: Ctx<'_, 'a>,
    ) -> Value {
        let builtin = match &callee.kind {
            ExprKind::Name(n) => match self.resolve(&n.text, ctx) {
                Some(Resolved::Builtin(b @ ("changes" | "exists" | "var"))) => Some(b),
                _ => None,
            },
            _ => None,
        };
        let Some(builtin) = builtin else {
            if let ExprKind::Name(n) = &callee.kind {
                if self.resolve(&n.text, ctx).is_none() {
                    self.unknown_function(&n.text, ctx.at(callee.range));
                    return Value::unknown(origin);
                }
            }
            self.error(
                codes::TYPE_MISMATCH,
                ctx.at(callee.range),
                "only `changes([…])`, `exists([…])` and `var(\"NAME\")` can be called in an expression",
            )
            .help =
                Some("templates are instantiated with `job NAME from TEMPLATE(…) { }`".to_string());
            return Value::unknown(origin);
        };
        let [arg] = args else {
            let what = if builtin == "var" {
                "a variable name"
            } else {
                "a list of path patterns"
            };
            self.error(
                codes::BAD_INSTANTIATION,
                origin,
                format!("`{builtin}` takes one argument: {what}"),
            );
            return Value::unknown(origin);
        };
        if builtin == "var" {
            return self.eval_var_call(arg, origin, ctx);
        }
        let v = self.eval(&arg.value, ctx);
        let v = self.expect(
            v,
            &Ty::List(Box::new(Ty::String)),
            ctx.at(arg.value.range),
            What::Quoted(builtin),
        );
        let paths = v
            .as_list()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let cond = if builtin == "exists" {
            Cond::Exists(paths)
        } else {
            Cond::Changes(paths)
        };
        Value {
            kind: ValueKind::Cond(Box::new(cond)),
            origin,
        }
    }

    /// `var("NAME")`: a CI/CD variable, compared in a condition.
    fn eval_var_call(&mut self, arg: &'a Arg, origin: FileRange, ctx: Ctx<'_, 'a>) -> Value {
        let v = self.eval(&arg.value, ctx);
        let v = self.expect(v, &Ty::String, ctx.at(arg.value.range), What::Quoted("var"));
        match v.as_str() {
            Some(name) if crate::is_variable_name(name) => Value {
                kind: ValueKind::CiVar(name.to_string()),
                origin,
            },
            Some(name) => {
                self.error(
                    codes::TYPE_MISMATCH,
                    ctx.at(arg.value.range),
                    format!("`{name}` is not a CI/CD variable name"),
                )
                .help = Some("variable names are letters, digits and `_`, not starting with a digit: `var(\"DEPLOY\")`".to_string());
                Value::unknown(origin)
            }
            None => Value::unknown(origin),
        }
    }

    fn eval_binary(
        &mut self,
        op: BinOp,
        lhs: &'a Expr,
        rhs: &'a Expr,
        origin: FileRange,
        ctx: Ctx<'_, 'a>,
    ) -> Value {
        // a chain `a || b || c …` is weighed once, at its top (`eval`): weighing each
        // link too would walk the chain once per link, quadratic in its length
        let logical = |e: &Expr| matches!(e.kind, ExprKind::Binary(BinOp::And | BinOp::Or, ..));
        let mut operand = |e: &'a Expr| {
            if matches!(op, BinOp::And | BinOp::Or) && logical(e) {
                self.eval_unbounded(e, ctx)
            } else {
                self.eval(e, ctx)
            }
        };
        let l = operand(lhs);
        let r = operand(rhs);
        let kind = match op {
            BinOp::And | BinOp::Or => {
                let a = self.as_condition(l, ctx.at(lhs.range));
                let b = self.as_condition(r, ctx.at(rhs.range));
                match (a, b) {
                    (Some(a), Some(b)) if op == BinOp::And => {
                        ValueKind::Cond(Box::new(Cond::And(Box::new(a), Box::new(b))))
                    }
                    (Some(a), Some(b)) => {
                        ValueKind::Cond(Box::new(Cond::Or(Box::new(a), Box::new(b))))
                    }
                    _ => ValueKind::Unknown,
                }
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Match if l.is_secret() || r.is_secret() => {
                let at = if l.is_secret() { lhs.range } else { rhs.range };
                let d = self.error(
                    codes::SECRET_MISUSE,
                    ctx.at(at),
                    "a secret is compared in a condition: the condition is written into the generated file, the secret's value with it",
                );
                d.primary.message = "a secret in a condition".to_string();
                d.help = Some("test the secret in the job's script (`[ -n \"$TOKEN\" ]`), where it stays a variable".to_string());
                ValueKind::Unknown
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Match => {
                if let Some(cond) = variable_comparison(op, &l.kind, &r.kind) {
                    return Value {
                        kind: ValueKind::Cond(Box::new(cond)),
                        origin,
                    };
                }
                let (var, text) = match (&l.kind, &r.kind) {
                    (
                        var @ (ValueKind::BranchVar | ValueKind::SourceVar | ValueKind::CiVar(_)),
                        ValueKind::Str(s),
                    )
                    | (
                        ValueKind::Str(s),
                        var @ (ValueKind::BranchVar | ValueKind::SourceVar | ValueKind::CiVar(_)),
                    ) => (Some(var.clone()), Some(s.clone())),
                    (ValueKind::Unknown, _) | (_, ValueKind::Unknown) => {
                        (Some(ValueKind::Unknown), None)
                    }
                    (ValueKind::Abstract(_), _) | (_, ValueKind::Abstract(_)) => {
                        (Some(ValueKind::Unknown), None)
                    }
                    _ => (None, None),
                };
                match (var, text) {
                    (Some(_), Some(_))
                        if op == BinOp::Match && !self.check_pattern(&l, &r, ctx.at(rhs.range)) =>
                    {
                        ValueKind::Unknown
                    }
                    (Some(var), Some(s)) => {
                        let test = match op {
                            BinOp::Eq => BranchTest::Eq(s),
                            BinOp::NotEq => BranchTest::NotEq(s),
                            _ => BranchTest::Matches(s),
                        };
                        ValueKind::Cond(Box::new(match var {
                            ValueKind::SourceVar => Cond::Source(test),
                            ValueKind::CiVar(name) => Cond::Var(name, test),
                            _ => Cond::Branch(test),
                        }))
                    }
                    (Some(_), None) => ValueKind::Unknown,
                    (None, _) => {
                        self.error(
                            codes::TYPE_MISMATCH,
                            origin,
                            format!("cannot compare {} with {} using `{}`", l.describe(), r.describe(), op.as_str()),
                        )
                        .help = Some("comparisons test the branch, the pipeline's source or a variable: `branch == \"main\"`, `branch =~ \"^release/\"`, `source == \"schedule\"`, `var(\"DEPLOY\") == \"true\"`".to_string());
                        ValueKind::Unknown
                    }
                }
            }
        };
        Value { kind, origin }
    }

    /// `X =~ "pattern"`: the pattern on the right (GitLab's `=~` reads it there), and one
    /// the regex engine accepts; reports what is wrong, at `pattern_at`.
    fn check_pattern(&mut self, l: &Value, r: &Value, pattern_at: FileRange) -> bool {
        let ValueKind::Str(pattern) = &r.kind else {
            let d = self.error(
                codes::TYPE_MISMATCH,
                l.origin,
                "the pattern of `=~` goes on its right, after the value it tests",
            );
            d.primary.message = "a pattern on the left".to_string();
            d.help = Some(
                "swap the two sides: `branch =~ \"^release/\"`, `var(\"X\") =~ \"^v[0-9]\"`"
                    .to_string(),
            );
            return false;
        };
        let Some(why) = crate::value::regex_error(pattern) else {
            return true;
        };
        let d = self.error(
            codes::TYPE_MISMATCH,
            pattern_at,
            format!("`{pattern}` is not a regular expression GitLab can read: {why}"),
        );
        d.primary.message = "not a regular expression".to_string();
        d.help = Some("GitLab reads `=~` patterns as RE2 regular expressions: escape `(`, `[`, `.` and `+` with `\\` to match them literally".to_string());
        false
    }

    /// A value as a condition (`true`/`false` are allowed).
    fn as_condition(&mut self, v: Value, at: FileRange) -> Option<Cond> {
        match v.kind {
            ValueKind::Cond(c) => Some(*c),
            ValueKind::Bool(true) => Some(Cond::Always),
            ValueKind::Bool(false) => Some(Cond::Never),
            ValueKind::Abstract(Ty::Condition) | ValueKind::Abstract(Ty::Bool) => {
                Some(Cond::Always)
            }
            ValueKind::Secret(s) => {
                self.secret_misuse(&s.name, &Ty::Condition, at, v.origin);
                None
            }
            // a template's `Secret` parameter
            ValueKind::Abstract(Ty::Secret) => {
                self.error(
                    codes::SECRET_MISUSE,
                    at,
                    "a `Secret` parameter is used where a Condition is expected",
                )
                .help = Some(SECRET_PLACE_HELP.to_string());
                None
            }
            ValueKind::Unknown | ValueKind::Abstract(_) => None,
            _ => {
                let found = if matches!(v.kind, ValueKind::BranchVar) {
                    "`branch` alone".to_string()
                } else {
                    v.describe().to_string()
                };
                self.error(
                    codes::TYPE_MISMATCH,
                    at,
                    format!("expected a Condition, found {found}"),
                )
                .help = Some(CONDITION_HELP.to_string());
                None
            }
        }
    }

    /// Checks `v` against `ty`, reporting a mismatch at `at` (the use), and returns the
    /// value converted where the language converts (a `Bool` to a `Condition`).
    pub fn expect(&mut self, v: Value, ty: &Ty, at: FileRange, what: What) -> Value {
        match self.conform(v, ty, at, what) {
            Ok(v) => v,
            Err(v) => v,
        }
    }

    fn conform(&mut self, v: Value, ty: &Ty, at: FileRange, what: What) -> Result<Value, Value> {
        let origin = v.origin;
        let ok = match (&v.kind, ty) {
            (ValueKind::Unknown, _) | (_, Ty::Any) => true,
            (ValueKind::Abstract(t), want) => abstract_fits(t, want),
            (ValueKind::Secret(_), Ty::Secret | Ty::EnvValue) => true,
            (ValueKind::Secret(s), _) => {
                let name = s.name.clone();
                self.secret_misuse(&name, ty, at, origin);
                return Err(Value::unknown(origin));
            }
            (ValueKind::Str(_), Ty::String | Ty::Image | Ty::Script | Ty::EnvValue) => true,
            (ValueKind::RunnerDefault, Ty::Image) => true,
            (ValueKind::Int(_), Ty::Int) | (ValueKind::Bool(_), Ty::Bool) => true,
            (ValueKind::Duration(_), Ty::Duration) | (ValueKind::Size(_), Ty::Size) => true,
            (ValueKind::Cond(_), Ty::Condition) => true,
            (ValueKind::Bool(b), Ty::Condition) => {
                let c = if *b { Cond::Always } else { Cond::Never };
                return Ok(Value {
                    kind: ValueKind::Cond(Box::new(c)),
                    origin,
                });
            }
            (ValueKind::List(_), Ty::Script) => return self.conform_list(v, &Ty::String, at, what),
            (ValueKind::List(_), Ty::List(inner)) => return self.conform_list(v, inner, at, what),
            (ValueKind::Map(_), Ty::Map(inner)) => return self.conform_map(v, inner, at, what),
            (ValueKind::Map(_), Ty::Record(spec)) if spec.open => {
                return Ok(self.conform_open(v, what))
            }
            (ValueKind::Map(_), Ty::Record(spec)) if !spec.keys.is_empty() => {
                return self.conform_record(v, spec, at, what)
            }
            (ValueKind::Map(_), Ty::Record(_)) => true,
            (ValueKind::JobRef(_), Ty::JobRef) => true,
            (ValueKind::Str(s), Ty::OneOf(choices)) => {
                if choices.contains(&s.as_str()) {
                    return Ok(v);
                }
                let s = s.clone();
                self.not_a_choice(&s, choices, origin, what);
                return Err(Value::unknown(origin));
            }
            (_, Ty::Either(a, b)) => {
                let (a, b) = (a.ty(), b.ty());
                if fits_shape(&v.kind, &a) {
                    return self.conform(v, &a, at, what);
                }
                if fits_shape(&v.kind, &b) {
                    return self.conform(v, &b, at, what);
                }
                false
            }
            _ => false,
        };
        if ok {
            return Ok(v);
        }
        let found = if matches!(v.kind, ValueKind::BranchVar) {
            "`branch` alone".to_string()
        } else {
            v.describe().to_string()
        };
        let d = self.error(
            codes::TYPE_MISMATCH,
            at,
            format!("{what} expects {}, found {found}", article(ty)),
        );
        d.primary.message = format!("expected {ty}");
        if origin != at {
            d.secondary.push(plumb_diagnostics::Label {
                at: origin,
                message: "the value comes from here".to_string(),
            });
        }
        d.help = type_help(ty);
        Err(Value::unknown(origin))
    }

    fn conform_list(
        &mut self,
        v: Value,
        inner: &Ty,
        at: FileRange,
        what: What,
    ) -> Result<Value, Value> {
        let origin = v.origin;
        let ValueKind::List(items) = v.kind else {
            unreachable!("checked by the caller")
        };
        let items = items
            .into_iter()
            .map(|item| {
                let item_at = element_at(item.origin, at);
                self.expect(item, inner, item_at, What::ElementOf(&what))
            })
            .collect();
        Ok(Value {
            kind: ValueKind::List(items),
            origin,
        })
    }

    fn conform_map(
        &mut self,
        v: Value,
        inner: &Ty,
        at: FileRange,
        what: What,
    ) -> Result<Value, Value> {
        let origin = v.origin;
        let ValueKind::Map(entries) = v.kind else {
            unreachable!("checked by the caller")
        };
        let entries = entries
            .into_iter()
            .map(|e| {
                let key = e.key.clone();
                let value_at = element_at(e.value.origin, at);
                MapEntry {
                    value: self.expect(e.value, inner, value_at, What::KeyIn(&key, &what)),
                    ..e
                }
            })
            .collect();
        Ok(Value {
            kind: ValueKind::Map(entries),
            origin,
        })
    }

    fn conform_record(
        &mut self,
        v: Value,
        spec: &'static RecordSpec,
        at: FileRange,
        what: What,
    ) -> Result<Value, Value> {
        let origin = v.origin;
        let ValueKind::Map(entries) = v.kind else {
            unreachable!("checked by the caller")
        };
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            match spec.key(&e.key) {
                Some(key) => {
                    let name = e.key.clone();
                    let value_at = if e.value.origin.file == e.key_at.file {
                        e.value.origin
                    } else {
                        e.key_at
                    };
                    let value =
                        self.expect(e.value, &key.ty.ty(), value_at, What::KeyIn(&name, &what));
                    out.push(MapEntry { value, ..e });
                }
                None => self.unknown_record_key(&e.key, e.key_at, spec, what),
            }
        }
        let value = Value {
            kind: ValueKind::Map(out),
            origin,
        };
        if !self.defer_required_keys {
            // the records inside were checked when they were conformed
            self.missing_keys(value.as_map().unwrap_or(&[]), spec, at, what);
        }
        Ok(value)
    }

    fn missing_keys(&mut self, entries: &[MapEntry], spec: &RecordSpec, at: FileRange, what: What) {
        for required in spec.required {
            if !entries.iter().any(|e| e.key == *required) {
                let d = self.error(
                    codes::MISSING_FIELD,
                    at,
                    format!("{what} has no `{required}`"),
                );
                d.primary.message = format!("`{required}` is required");
                d.help = Some(format!("add `{required} = …` to the record"));
            }
        }
    }

    /// PL1005 for the keys a record must have (`environment` needs `name`), in `v` and
    /// the records inside it. Job fields are checked once their layers are merged (a
    /// template may give `name`, the job `url`).
    pub fn required_keys(&mut self, v: &Value, ty: &Ty, at: FileRange, what: What) {
        match (&v.kind, ty) {
            (ValueKind::Map(entries), Ty::Record(spec)) => {
                self.missing_keys(entries, spec, at, what);
                for e in entries {
                    if let Some(key) = spec.key(&e.key) {
                        let inner = What::KeyIn(&e.key, &what);
                        self.required_keys(&e.value, &key.ty.ty(), e.value.origin, inner);
                    }
                }
            }
            (ValueKind::List(items), Ty::List(inner)) => {
                let inner_what = What::ElementOf(&what);
                for item in items {
                    self.required_keys(item, inner, item.origin, inner_what);
                }
            }
            (_, Ty::Either(a, b)) => {
                let alt = [a.ty(), b.ty()]
                    .into_iter()
                    .find(|t| fits_shape(&v.kind, t));
                if let Some(alt) = alt {
                    self.required_keys(v, &alt, at, what);
                }
            }
            _ => {}
        }
    }

    fn unknown_record_key(&mut self, key: &str, at: FileRange, spec: &RecordSpec, what: What) {
        let names = spec.key_names();
        let suggestion = closest(key, names.iter().copied());
        let d = self.error(
            codes::UNKNOWN_FIELD,
            at,
            format!("{what} has no key `{key}`"),
        );
        d.help = Some(match suggestion {
            Some(s) => format!("did you mean `{s}`? The keys are {}", names.join(", ")),
            None => format!("the keys are {}", names.join(", ")),
        });
        if let Some(s) = suggestion {
            d.primary.message = format!("did you mean `{s}`?");
            d.fixes.push(plumb_diagnostics::Fix {
                title: format!("rename to `{s}`"),
                edits: vec![Edit {
                    at,
                    replacement: s.to_string(),
                }],
            });
        }
    }

    /// A string that is not one of the allowed ones: the choices, and the closest.
    fn not_a_choice(&mut self, s: &str, choices: &[&str], at: FileRange, what: What) {
        let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
        let suggestion = closest(s, choices.iter().copied());
        let d = self.error(
            codes::TYPE_MISMATCH,
            at,
            format!("{what} is one of {}, found \"{s}\"", quoted.join(", ")),
        );
        d.primary.message = match suggestion {
            Some(c) => format!("did you mean \"{c}\"?"),
            None => "not an allowed value".to_string(),
        };
        d.help = Some(format!("write one of {}", quoted.join(", ")));
        if let Some(c) = suggestion {
            d.fixes.push(plumb_diagnostics::Fix {
                title: format!("write \"{c}\""),
                edits: vec![Edit {
                    at,
                    replacement: format!("\"{c}\""),
                }],
            });
        }
    }

    /// The value of a key Plumb does not model (`gitlab = { … }`): written out as it is,
    /// so only plain data is allowed: strings, numbers, booleans, lists and records.
    fn conform_open(&mut self, v: Value, what: What) -> Value {
        let origin = v.origin;
        match v.kind {
            ValueKind::Str(_)
            | ValueKind::Int(_)
            | ValueKind::Bool(_)
            | ValueKind::Duration(_)
            | ValueKind::Size(_)
            | ValueKind::Unknown => v,
            // a template parameter (or a string whose interpolation failed) of a
            // plain type
            ValueKind::Abstract(
                Ty::String
                | Ty::Int
                | Ty::Bool
                | Ty::Duration
                | Ty::Size
                | Ty::List(_)
                | Ty::Map(_),
            ) => v,
            ValueKind::List(items) => Value {
                kind: ValueKind::List(
                    items
                        .into_iter()
                        .map(|i| self.conform_open(i, what))
                        .collect(),
                ),
                origin,
            },
            ValueKind::Map(entries) => Value {
                kind: ValueKind::Map(
                    entries
                        .into_iter()
                        .map(|e| {
                            let key = e.key.clone();
                            MapEntry {
                                value: self.conform_open(e.value, What::KeyIn(&key, &what)),
                                ..e
                            }
                        })
                        .collect(),
                ),
                origin,
            },
            ValueKind::Secret(s) => {
                self.secret_misuse(&s.name, &Ty::String, origin, origin);
                Value::unknown(origin)
            }
            _ => {
                let found = v.describe();
                self.error(
                    codes::TYPE_MISMATCH,
                    origin,
                    format!("{what} is written to GitLab as it is, so it must be plain data; found {found}"),
                )
                .help = Some("use strings, numbers, booleans, lists and records; conditions, images and job names have their own Plumb fields".to_string());
                Value::unknown(origin)
            }
        }
    }

    fn secret_misuse(&mut self, name: &str, ty: &Ty, at: FileRange, origin: FileRange) {
        let d = self.error(
            codes::SECRET_MISUSE,
            at,
            format!("secret `{name}` is used where {} is expected", article(ty)),
        );
        d.primary.message = "a secret cannot be used here".to_string();
        if origin != at {
            d.secondary.push(plumb_diagnostics::Label {
                at: origin,
                message: "the secret comes from here".to_string(),
            });
        }
        d.help = Some(SECRET_PLACE_HELP.to_string());
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `CI_COMMIT_SHA`, `TOKEN`: the shape of an environment variable.
fn looks_like_env_var(name: &str) -> bool {
    name.len() > 1
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Where to report a problem with an element of a list or map used at `at`: the
/// element's own literal when it is written inside that use, else the use itself (the
/// value came through a `let` or a default).
fn element_at(origin: FileRange, at: FileRange) -> FileRange {
    if origin.file == at.file && at.range.contains(origin.range.start as usize) {
        origin
    } else {
        at
    }
}

/// Whether a value has the shape of `ty` (a record, a list, a string, …), to choose
/// between the two alternatives of an `Either`.
fn fits_shape(kind: &ValueKind, ty: &Ty) -> bool {
    match (kind, ty) {
        (ValueKind::Abstract(t), want) => abstract_fits(t, want),
        (ValueKind::Map(_), Ty::Record(_) | Ty::Map(_)) => true,
        (ValueKind::List(_), Ty::List(_) | Ty::Script) => true,
        (ValueKind::Str(_), Ty::String | Ty::Image | Ty::Script | Ty::OneOf(_) | Ty::EnvValue) => {
            true
        }
        (ValueKind::RunnerDefault, Ty::Image) | (ValueKind::Int(_), Ty::Int) => true,
        (ValueKind::Bool(_), Ty::Bool | Ty::Condition) => true,
        (ValueKind::Duration(_), Ty::Duration) | (ValueKind::Size(_), Ty::Size) => true,
        (ValueKind::Cond(_), Ty::Condition) | (ValueKind::JobRef(_), Ty::JobRef) => true,
        (ValueKind::Secret(_), Ty::Secret | Ty::EnvValue) => true,
        _ => false,
    }
}

fn abstract_fits(have: &Ty, want: &Ty) -> bool {
    match (have, want) {
        (a, b) if a == b => true,
        (Ty::String, Ty::Image | Ty::Script | Ty::EnvValue) | (Ty::Image, Ty::String) => true,
        (Ty::Secret, Ty::EnvValue) | (Ty::Bool, Ty::Condition) => true,
        (Ty::List(a), Ty::Script) => **a == Ty::String,
        (Ty::List(a), Ty::List(b)) | (Ty::Map(a), Ty::Map(b)) => abstract_fits(a, b),
        (Ty::String, Ty::OneOf(_)) => true,
        (have, Ty::Either(a, b)) => abstract_fits(have, &a.ty()) || abstract_fits(have, &b.ty()),
        _ => false,
    }
}

pub const CONDITION_HELP: &str = "a condition is `branch == \"main\"`, `branch =~ \"^release/\"`, `tag`, `merge_request`, `manual` or `changes([\"src/**\"])`, combined with `&&`, `||` and `!`";

/// "a String", "an Image", "a List<String>".
pub fn article(ty: &Ty) -> String {
    let s = ty.to_string();
    let vowel = s.starts_with(|c: char| "AEIOUaeiou".contains(c));
    match ty {
        Ty::Record(_) | Ty::JobRef | Ty::Any => s,
        _ if vowel => format!("an {s}"),
        _ => format!("a {s}"),
    }
}

fn type_help(ty: &Ty) -> Option<String> {
    match ty {
        Ty::Either(a, b) => {
            let helps: Vec<String> = [a.ty(), b.ty()].iter().filter_map(type_help).collect();
            return (!helps.is_empty()).then(|| helps.join("; or "));
        }
        Ty::Record(spec) if !spec.keys.is_empty() => {
            return Some(format!("write a record: {{ {} = … }}", spec.keys[0].name));
        }
        Ty::OneOf(choices) => {
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            return Some(format!("write one of {}", quoted.join(", ")));
        }
        _ => {}
    }
    Some(
        match ty {
            Ty::String => "write a string in double quotes: \"…\"",
            Ty::Image => "write the image as a string: \"registry/name:tag@sha256:…\"",
            Ty::Script => {
                "write the script as a string (one command per line) or a list of strings"
            }
            Ty::Duration => "write a duration such as `90s`, `15m` or `1h30m`",
            Ty::Size => "write a size such as `512Mi` or `2Gi`",
            Ty::Int => "write a whole number such as `1`",
            Ty::Bool => "write `true` or `false`",
            Ty::Condition => CONDITION_HELP,
            Ty::EnvValue => "an environment variable's value is a string or a secret",
            Ty::List(_) => "write a list in brackets: [\"a\", \"b\"]",
            Ty::Map(_) => "write a map in braces: { NAME = \"value\" }",
            _ => return None,
        }
        .to_string(),
    )
}

/// Why argument `index` of a secret source cannot be carried to GitLab and Kubernetes,
/// if so: a CI/CD variable name is `[A-Za-z0-9_]+` (it is also the key read from a
/// Kubernetes Secret), a Secret's name is a DNS subdomain, a Secret key `[-._A-Za-z0-9]+`.
fn bad_secret_argument(source: &str, index: usize, text: &str) -> Option<&'static str> {
    let key_chars = |t: &str| {
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    };
    match (source, index) {
        ("ci_variable", 0) if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some("a CI/CD variable name has only letters, digits and `_`")
        }
        ("k8s_secret", 0) if text.len() > 253 || !text.split('.').all(plumb_diagnostics::is_dns_label) => Some(
            "a Kubernetes Secret's name is a DNS subdomain: lowercase letters, digits, `-` and `.`",
        ),
        ("k8s_secret", 1) if text.len() > 253 || !key_chars(text) => {
            Some("a Kubernetes Secret key has only letters, digits, `-`, `_` and `.`")
        }
        _ => None,
    }
}

/// `branch == var("X")`, `var("A") != var("B")`, `source == var("X")`: a comparison of
/// two values only known when the pipeline runs (`=~` takes a literal pattern).
fn variable_comparison(op: BinOp, l: &ValueKind, r: &ValueKind) -> Option<Cond> {
    let (subject, other) = match (l, r) {
        (ValueKind::CiVar(_), ValueKind::BranchVar | ValueKind::SourceVar) => (r, l),
        (_, ValueKind::CiVar(_)) => (l, r),
        _ => return None,
    };
    let ValueKind::CiVar(other) = other else {
        return None;
    };
    let test = match op {
        BinOp::Eq => BranchTest::EqVar(other.clone()),
        BinOp::NotEq => BranchTest::NotEqVar(other.clone()),
        _ => return None,
    };
    match subject {
        ValueKind::BranchVar => Some(Cond::Branch(test)),
        ValueKind::SourceVar => Some(Cond::Source(test)),
        ValueKind::CiVar(name) => Some(Cond::Var(name.clone(), test)),
        _ => None,
    }
}

/// The most a value may weigh: string bytes, plus one per list item, record entry and
/// condition node.
pub const MAX_VALUE_WEIGHT: usize = 1 << 20;

/// The most the let values one evaluation hands out may weigh together.
pub const MAX_TOTAL_WEIGHT: usize = 32 << 20;

/// Where a let's value is written.
fn ctx_at(file: FileId, l: &Let) -> FileRange {
    FileRange {
        file,
        range: l.value.range,
    }
}

/// A value's weight, counted up to a little past `budget` (then it stops).
pub fn weight(v: &Value, budget: usize) -> usize {
    match &v.kind {
        ValueKind::Str(s) => s.len() + 1,
        ValueKind::List(items) => {
            let mut total = 1;
            for i in items {
                total += weight(i, budget);
                if total > budget {
                    break;
                }
            }
            total
        }
        ValueKind::Map(entries) => {
            let mut total = 1;
            for e in entries {
                total += e.key.len() + weight(&e.value, budget);
                if total > budget {
                    break;
                }
            }
            total
        }
        ValueKind::Cond(c) => cond_weight(c, budget),
        _ => 1,
    }
}

fn cond_weight(c: &Cond, budget: usize) -> usize {
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => {
            let left = cond_weight(a, budget);
            if left > budget {
                return left;
            }
            1 + left + cond_weight(b, budget)
        }
        Cond::Not(a) => 1 + cond_weight(a, budget),
        _ => 1,
    }
}
