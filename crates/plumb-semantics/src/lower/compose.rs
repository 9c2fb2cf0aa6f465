//! Template composition (§6.1): `from a(…), b(…)` on jobs and templates. Bases apply
//! left to right, then the body; records and maps merge key by key, like GitLab's
//! `extends`. A template that builds on itself, directly or not, is PL1009.

use super::{LayerField, Lowering};
use crate::codes;
use crate::eval::{weight, Budget, Ctx, Resolved, Unknown, MAX_TOTAL_WEIGHT};
use crate::scope::DefRef;
use plumb_diagnostics::{Diagnostic, FileId, FileRange};
use plumb_syntax::ast::{Instantiation, Template};

/// The templates a base search went through, from the one it started at.
type Chain<'a> = Vec<(FileId, &'a Template)>;

/// How deep bases may nest: deeper is an error, never recursed.
const MAX_BASE_DEPTH: usize = 64;
/// How many distinct instantiations one job may expand to.
const MAX_EXPANSIONS: usize = 10_000;

/// Why a job's templates were not expanded: one error at the job's `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ExpansionCut {
    TooDeep,
    TooMany,
    /// The arguments of all instantiations together pass the program's value budget.
    ArgumentsTooLarge,
    /// A value in a template body passes 1 MiB once the arguments are put in.
    ValueTooLarge,
}

impl ExpansionCut {
    fn why(self) -> &'static str {
        match self {
            ExpansionCut::TooDeep => "templates build on each other more than 64 deep",
            ExpansionCut::TooMany => "its templates expand to more than 10,000 instantiations",
            ExpansionCut::ArgumentsTooLarge => {
                "the program's template arguments copy more than 32 MiB of values"
            }
            ExpansionCut::ValueTooLarge => {
                "a value in it is larger than 1 MiB once the arguments are put in"
            }
        }
    }

    fn help(self) -> &'static str {
        match self {
            ExpansionCut::TooDeep | ExpansionCut::TooMany => {
                "flatten the templates: fewer levels of `from`, each base named once"
            }
            ExpansionCut::ArgumentsTooLarge | ExpansionCut::ValueTooLarge => {
                "arguments that repeat other arguments grow exponentially; build large text in the script instead"
            }
        }
    }
}

/// A template (file and range) and the values bound to its parameters, by name.
pub(super) type InstanceKey = (
    FileId,
    plumb_diagnostics::TextRange,
    Vec<(String, crate::value::Value)>,
);

impl<'a> Lowering<'_, 'a> {
    /// The fields a `from T(args)` contributes (T's bases, then its body), or `None`
    /// when `T` is not a template or is being instantiated already (a cycle).
    pub(super) fn instantiate(
        &mut self,
        inst: &'a Instantiation,
        ctx: Ctx<'_, 'a>,
    ) -> Option<Vec<LayerField>> {
        let (tfile, t) = self.resolve_template(inst, ctx)?;
        if self.instantiating.contains(&(tfile, t.range)) {
            return None;
        }
        if self.instantiating.len() >= MAX_BASE_DEPTH {
            self.expansion_cut = Some(ExpansionCut::TooDeep);
            return None;
        }
        let params = self.bind_arguments(inst, t, tfile, ctx);
        // each instantiation copies its arguments into the fields it gives: templates
        // that double an argument at each level would otherwise exhaust memory
        let copied = params.values().map(|v| weight(v, MAX_TOTAL_WEIGHT)).sum();
        match self.ev.charge_copies(copied) {
            Budget::Within => {}
            Budget::JustPassed => {
                self.expansion_cut
                    .get_or_insert(ExpansionCut::ArgumentsTooLarge);
                return None;
            }
            // reported once, where the budget was passed: the check fails there
            Budget::PassedBefore => return None,
        }
        let mut bound: Vec<(String, crate::value::Value)> = params.clone().into_iter().collect();
        bound.sort_by(|a, b| a.0.cmp(&b.0));
        let key = (tfile, t.range, bound);
        if let Some(fields) = self.instances.get(&key) {
            return Some(fields.clone());
        }
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            self.expansion_cut = Some(ExpansionCut::TooMany);
            return None;
        }
        let fields = self.template_fields(tfile, t, &params);
        if std::mem::take(&mut self.ev.too_large_in_template) {
            self.expansion_cut
                .get_or_insert(ExpansionCut::ValueTooLarge);
        }
        // a result a limit cut short is not kept: it is reported, and nothing reuses it
        if self.expansion_cut.is_none() {
            self.instances.insert(key, fields.clone());
        }
        Some(fields)
    }

    /// The fields template `t` of file `tfile` gives with its parameters bound to
    /// `params`: its bases' fields, then its own. Its own mistakes are not reported here
    /// but where the template is checked.
    pub(super) fn template_fields(
        &mut self,
        tfile: FileId,
        t: &'a Template,
        params: &std::collections::HashMap<String, crate::value::Value>,
    ) -> Vec<LayerField> {
        let tctx = Ctx {
            file: tfile,
            pipeline_lets: None,
            params: Some(params),
        };
        let body = FileRange {
            file: tfile,
            range: t.range,
        };
        self.ev.enter_reported_elsewhere(body);
        self.instantiating.push((tfile, t.range));
        self.ev.quiet_uses += 1;
        let mut fields: Vec<LayerField> = Vec::new();
        for base in &t.bases {
            if let Some(base_fields) = self.instantiate(base, tctx) {
                merge_layer(&mut fields, base_fields);
            }
        }
        let own = self.eval_job_fields(&t.body.fields, tctx);
        let own = self.conform_fields(own);
        merge_layer(&mut fields, own);
        self.ev.quiet_uses -= 1;
        self.instantiating.pop();
        self.ev.leave_reported_elsewhere();
        fields
    }

    /// A base that a limit stopped: one error at the job's `from`, whatever depth the
    /// limit was met at (inside a template it would be reported nowhere).
    pub(super) fn report_expansion_cut(
        &mut self,
        inst: &Instantiation,
        cut: ExpansionCut,
        ctx: Ctx<'_, 'a>,
    ) {
        self.ev.report(
            Diagnostic::error(
                codes::VALUE_TOO_LARGE,
                ctx.at(inst.template.range),
                format!(
                    "`{}` cannot be instantiated: {}",
                    inst.template.text,
                    cut.why()
                ),
            )
            .with_label("stopped here")
            .with_help(cut.help()),
        );
    }

    /// The template `from [alias.]T(…)` names, reporting a name that is not one.
    pub(super) fn resolve_template(
        &mut self,
        inst: &'a Instantiation,
        ctx: Ctx<'_, 'a>,
    ) -> Option<(FileId, &'a Template)> {
        let name = &inst.template;
        let resolved = match &inst.qualifier {
            Some(alias) => self.resolve_qualified(alias, name, ctx)?,
            None => self.ev.resolve_name(name, ctx),
        };
        match resolved {
            Some(Resolved::Def(DefRef::Template(f, t))) => Some((f, t)),
            Some(Resolved::Def(other)) => {
                self.ev.report(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        ctx.at(name.range),
                        format!("`{}` is a {}, not a template", name.text, other.kind()),
                    )
                    .with_secondary(other.at(), "defined here"),
                );
                None
            }
            _ => {
                self.ev.unknown(name, ctx, Unknown::Template);
                None
            }
        }
    }

    /// The template a base names, without reporting anything (for the cycle search).
    fn base_template(
        &mut self,
        inst: &'a Instantiation,
        file: FileId,
    ) -> Option<(FileId, &'a Template)> {
        self.ev.start_trying();
        let found = self.resolve_template(inst, Ctx::file(file));
        self.ev.stop_trying();
        found
    }

    /// PL1009 when `t` (of this file) builds on itself through its bases; whether so.
    pub(super) fn report_template_cycle(&mut self, t: &'a Template) -> bool {
        let start = (self.file, t.range);
        // depth-first over the bases, with the chain of templates that led here
        let mut stack: Vec<(FileId, &'a Template, Chain<'a>)> =
            vec![(self.file, t, vec![(self.file, t)])];
        let mut seen: Vec<(FileId, plumb_diagnostics::TextRange)> = Vec::new();
        while let Some((file, current, chain)) = stack.pop() {
            for base in &current.bases {
                let Some((bfile, b)) = self.base_template(base, file) else {
                    continue;
                };
                let mut next = chain.clone();
                next.push((bfile, b));
                if (bfile, b.range) == start {
                    // one finding per cycle: at its first template in this file
                    let first_here = next
                        .iter()
                        .filter(|(f, _)| *f == self.file)
                        .all(|(_, m)| m.range.start >= t.range.start);
                    if first_here {
                        let names: Vec<&str> =
                            next.iter().map(|(_, m)| m.name.text.as_str()).collect();
                        self.template_cycle(t, &names);
                    }
                    return true;
                }
                if next.len() > MAX_BASE_DEPTH || seen.contains(&(bfile, b.range)) {
                    continue;
                }
                seen.push((bfile, b.range));
                stack.push((bfile, b, next));
            }
        }
        false
    }

    fn template_cycle(&mut self, t: &Template, chain: &[&str]) {
        let Some(first) = t.bases.first() else { return };
        let at = self.at(first.template.range);
        self.ev.report(
            Diagnostic::error(
                codes::RECURSIVE_LET,
                at,
                format!(
                    "template `{}` builds on itself: {}",
                    t.name.text,
                    chain.join(" → ")
                ),
            )
            .with_label("this base leads back to the template")
            .with_help("remove one `from` of the cycle"),
        );
    }
}

/// GitLab's `needs:` and `dependencies:` are one list each, which Plumb writes from a
/// field (this pipeline's jobs) and `gitlab = { needs / dependencies }` (jobs of other
/// files): a layer that writes either part replaces both parts of the layers before it,
/// as a job's `needs:` replaces its `extends`' in GitLab.
pub(super) const ONE_LIST_KEYS: [&str; 2] = ["needs", "dependencies"];

/// Whether a layer writes a part of GitLab's list `key` (see [`ONE_LIST_KEYS`]).
pub(super) fn writes_part_of(layer: &[LayerField], key: &str) -> bool {
    layer.iter().any(|f| {
        f.key == key
            || (f.key == "gitlab"
                && f.value
                    .as_map()
                    .is_some_and(|m| m.iter().any(|e| e.key == key)))
    })
}

/// Applies a later layer's fields over an earlier one's (records and maps merge key by
/// key; a matrix, like any other value, is replaced; see [`ONE_LIST_KEYS`]).
pub(super) fn merge_layer(acc: &mut Vec<LayerField>, later: Vec<LayerField>) {
    for key in ONE_LIST_KEYS.iter().filter(|k| writes_part_of(&later, k)) {
        acc.retain(|a| a.key != *key);
        for a in acc.iter_mut().filter(|a| a.key == "gitlab") {
            if let crate::value::ValueKind::Map(entries) = &mut a.value.kind {
                entries.retain(|e| e.key != *key);
            }
        }
    }
    for f in later {
        match acc.iter_mut().find(|a| a.key == f.key) {
            Some(slot) if f.key != "matrix" => {
                slot.value = super::values::merge_values(&slot.value, &f.value);
                slot.key_at = f.key_at;
            }
            Some(slot) => *slot = f,
            None => acc.push(f),
        }
    }
}
