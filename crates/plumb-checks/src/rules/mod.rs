//! One module per rule, and the helpers several rules share.

pub mod password_options;
pub mod pl0001_syntax_error;
pub mod pl1001_unknown_name;
pub mod pl1002_duplicate_definition;
pub mod pl1003_type_mismatch;
pub mod pl1004_unknown_field;
pub mod pl1005_missing_field;
pub mod pl1006_import_not_found;
pub mod pl1007_import_cycle;
pub mod pl1008_bad_instantiation;
pub mod pl1009_recursive_let;
pub mod pl1010_shadowed_name;
pub mod pl1011_matrix_too_large;
pub mod pl1012_import_too_deep;
pub mod pl1013_expired_allowance;
pub mod pl1014_value_too_large;
pub mod pl2001_job_cycle;
pub mod pl2002_stage_cycle;
pub mod pl2003_needs_later_stage;
pub mod pl2004_needs_itself;
pub mod pl2005_needs_removed_job;
pub mod pl3001_image_without_tag;
pub mod pl3002_mutable_tag;
pub mod pl3003_tag_without_digest;
pub mod pl3004_malformed_image;
pub mod pl3005_registry_not_allowed;
pub mod pl3006_runner_default;
pub mod pl3007_variable_image;
pub mod pl4001_hardcoded_credential;
pub mod pl4002_secret_misuse;
pub mod pl4003_secret_printed;
pub mod pl4004_secret_in_arguments;
pub mod pl4005_secret_unpinned_image;
pub mod pl4006_secret_in_merge_request;
pub mod pl4007_secret_in_artifacts;
pub mod pl5001_not_carried;
pub mod pl5002_condition_approximated;
pub mod pl5003_target_name_conflict;
pub mod pl5004_no_default_image;
pub mod pl5005_gitlab_schema;
pub mod pl6001_untrusted_input;
pub mod pl6002_download_and_execute;
pub mod pl6003_unpinned_install;
pub mod pl6004_unpinned_include;
pub mod pl6005_privileged_container;
pub mod pl6006_debug_trace;
pub mod pl6007_invisible_unicode;
pub mod secret_patterns;

use crate::graph::Edge;
use crate::RuleMeta;
use plumb_diagnostics::{Diagnostic, FileId, FileRange, TextRange};
use plumb_syntax::ast::*;

/// What a cycle runs through: jobs through `needs` (PL2001), or stages through `after`
/// (PL2002).
pub enum CycleOf {
    Jobs,
    Stages,
}

/// One diagnostic per cycle of the pipeline's job or stage graph.
pub fn report_cycles(
    of: CycleOf,
    rule: &RuleMeta,
    cx: &crate::PipelineCx,
    out: &mut Vec<Diagnostic>,
) {
    let p = cx.pipeline;
    let (g, what, verb, help) = match of {
        CycleOf::Jobs => (
            crate::graph::job_graph(p),
            "job dependency cycle",
            "needs",
            "each job waits for the next one, so none can start; remove one of these `needs`",
        ),
        CycleOf::Stages => (
            crate::graph::stage_graph(p),
            "stage cycle",
            "runs after",
            "each stage waits for the next one, so none can start; remove one of these `after`s",
        ),
    };
    let name = |i: usize| match of {
        CycleOf::Jobs => &p.jobs[i].name,
        CycleOf::Stages => &p.stages[i].name,
    };
    for cycle in crate::graph::cycles(&g) {
        out.push(cycle_diagnostic(rule, what, &cycle, name, verb, help));
    }
}

/// One diagnostic for a cycle: the path in a fixed order, a label on every edge.
fn cycle_diagnostic<'n>(
    rule: &RuleMeta,
    what: &str,
    cycle: &[(usize, usize, Edge)],
    name: impl Fn(usize) -> &'n String,
    verb: &str,
    help: &str,
) -> Diagnostic {
    let mut path: Vec<&str> = cycle
        .iter()
        .map(|(from, _, _)| name(*from).as_str())
        .collect();
    path.push(name(cycle[0].0));
    let first = &cycle[0];
    let mut d = Diagnostic::new(
        rule.code,
        rule.severity(),
        first.2.at,
        format!("{what}: {}", path.join(" → ")),
    )
    .with_label(edge_label(first, &name, verb))
    .with_help(help);
    for e in &cycle[1..] {
        d = d.with_secondary(e.2.at, edge_label(e, &name, verb));
    }
    d
}

fn edge_label<'n>(
    e: &(usize, usize, Edge),
    name: &impl Fn(usize) -> &'n String,
    verb: &str,
) -> String {
    if e.2.implicit {
        format!(
            "`{}` follows `{}`, declared just before it",
            name(e.0),
            name(e.1)
        )
    } else {
        format!("`{}` {verb} `{}`", name(e.0), name(e.1))
    }
}

/// A string literal's text (interpolations left out) and its range.
pub struct Literal {
    pub text: String,
    pub range: TextRange,
}

/// Every string literal of a file, in source order.
pub fn string_literals(file: &SourceFile) -> Vec<Literal> {
    let mut out = Vec::new();
    for item in &file.items {
        match item {
            Item::Import(_) => {}
            Item::Let(l) => expr_literals(&l.value, &mut out),
            Item::Secret(s) => s
                .args
                .iter()
                .for_each(|a| expr_literals(&a.value, &mut out)),
            Item::Template(t) => {
                for p in &t.params {
                    if let Some(d) = &p.default {
                        expr_literals(d, &mut out);
                    }
                }
                for inst in &t.bases {
                    inst.args
                        .iter()
                        .for_each(|a| expr_literals(&a.value, &mut out));
                }
                fields_literals(&t.body.fields, &mut out);
            }
            Item::Pipeline(p) => {
                fields_literals(&p.fields, &mut out);
                p.lets
                    .iter()
                    .for_each(|l| expr_literals(&l.value, &mut out));
                for s in &p.stages {
                    fields_literals(&s.fields, &mut out);
                    for j in &s.jobs {
                        for inst in &j.bases {
                            inst.args
                                .iter()
                                .for_each(|a| expr_literals(&a.value, &mut out));
                        }
                        fields_literals(&j.body.fields, &mut out);
                    }
                }
            }
        }
    }
    out
}

fn fields_literals(fields: &[Field], out: &mut Vec<Literal>) {
    fields.iter().for_each(|f| expr_literals(&f.value, out));
}

fn expr_literals(e: &Expr, out: &mut Vec<Literal>) {
    match &e.kind {
        ExprKind::Str(s) => {
            let mut text = String::new();
            for seg in &s.segments {
                match seg {
                    Segment::Text(t, _) => text.push_str(t),
                    Segment::Interp(inner, _) => {
                        // what no credential runs through (a token, a URL's userinfo,
                        // a header's value): the pieces around it are not one value
                        text.push('\n');
                        expr_literals(inner, out);
                    }
                }
            }
            out.push(Literal {
                text,
                range: e.range,
            });
        }
        ExprKind::List(items) => items.iter().for_each(|i| expr_literals(i, out)),
        ExprKind::Record(fields) => fields_literals(fields, out),
        ExprKind::Member(base, _) => expr_literals(base, out),
        ExprKind::Call(callee, args) => {
            expr_literals(callee, out);
            args.iter().for_each(|a| expr_literals(&a.value, out));
        }
        ExprKind::Binary(_, a, b) => {
            expr_literals(a, out);
            expr_literals(b, out);
        }
        ExprKind::Not(a) => expr_literals(a, out),
        _ => {}
    }
}

/// The exact range of `needle` inside the literal at `range`, or the whole literal.
pub fn locate_in_literal(text: &str, file: FileId, range: TextRange, needle: &str) -> FileRange {
    let written = text.get(range.as_range()).unwrap_or("");
    let range = match written.find(needle) {
        Some(i) if !needle.is_empty() => TextRange::new(
            range.start as usize + i,
            range.start as usize + i + needle.len(),
        ),
        _ => range,
    };
    FileRange { file, range }
}
