//! PL2003 needs-later-stage: A job needs a job whose stage runs after its own.

use crate::graph;
use crate::PipelineCx;
use petgraph::graph::NodeIndex;
use plumb_diagnostics::{Diagnostic, FileRange};
use std::collections::HashMap;

declare_rule! {
    code: PL2003,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    let stages = graph::stage_graph(cx.pipeline);
    if !graph::cycles(&stages).is_empty() {
        return; // PL2002 says what is wrong with the stage order
    }
    let reach = graph::Reach::new(&stages);
    let p = cx.pipeline;
    let before = out.len();
    for job in &p.jobs {
        for need in &job.needs {
            let Some(target) = need.target.map(|t| &p.jobs[t]) else {
                continue;
            };
            if target.stage != job.stage && reach.waits_for(target.stage, job.stage) {
                out.push(
                    Diagnostic::new(RULE.code, RULE.severity(), need.at, format!(
                        "job `{}` needs `{}`, but `{}`'s stage `{}` runs after `{}`'s stage `{}`",
                        job.name, target.name, target.name, p.stages[target.stage].name, job.name, p.stages[job.stage].name))
                    .with_label(format!("`{}` runs in a later stage", target.name))
                    .with_secondary(target.name_at, format!("`{}` is in stage `{}`", target.name, p.stages[target.stage].name))
                    .with_help(format!("move `{}` to stage `{}` or earlier, or `{}` to a later stage", target.name, p.stages[job.stage].name, job.name)),
                );
            }
        }
    }
    if out.len() == before {
        unordered_needs(cx, stages, out);
    }
}

/// Needs between stages that `after` leaves unordered still order them on GitLab (a
/// needed job's stage must come first): needs that go both ways leave no order.
fn unordered_needs(
    cx: &PipelineCx,
    mut stages: petgraph::graph::DiGraph<usize, graph::Edge>,
    out: &mut Vec<Diagnostic>,
) {
    let p = cx.pipeline;
    // each need between two stages, once: (job, target) by the edge's place
    let mut needs: HashMap<FileRange, (usize, usize)> = HashMap::new();
    for (j, job) in p.jobs.iter().enumerate() {
        for need in &job.needs {
            let Some(t) = need.target.filter(|t| p.jobs[*t].stage != job.stage) else {
                continue;
            };
            let (from, to) = (NodeIndex::new(job.stage), NodeIndex::new(p.jobs[t].stage));
            if stages.find_edge(from, to).is_none() {
                let edge = graph::Edge {
                    at: need.at,
                    implicit: false,
                };
                stages.add_edge(from, to, edge);
                needs.insert(need.at, (j, t));
            }
        }
    }
    let Some(cycle) = graph::cycles(&stages).into_iter().next() else {
        return;
    };
    let mut through_needs = cycle
        .iter()
        .filter_map(|(_, _, e)| needs.get(&e.at).map(|n| (e.at, *n)));
    let Some((at, (j, t))) = through_needs.next() else {
        return;
    };
    let (job, target) = (&p.jobs[j], &p.jobs[t]);
    let stage = |i: usize| p.stages[i].name.as_str();
    let mut d = Diagnostic::new(RULE.code, RULE.severity(), at, format!(
        "job `{}` needs `{}` of stage `{}`, but other needs make stage `{}` wait for stage `{}`: no order of the stages runs every needed job first",
        job.name, target.name, stage(target.stage), stage(target.stage), stage(job.stage)))
    .with_label(format!("stage `{}` must come before `{}`", stage(target.stage), stage(job.stage)));
    for (other_at, (oj, ot)) in through_needs {
        d = d.with_secondary(
            other_at,
            format!(
                "`{}` needs `{}`: stage `{}` must come before `{}`",
                p.jobs[oj].name,
                p.jobs[ot].name,
                stage(p.jobs[ot].stage),
                stage(p.jobs[oj].stage)
            ),
        );
    }
    out.push(d.with_help(format!("order the stages with `after` and move the jobs so that each need points to an earlier stage, or put `{}` and `{}` in one stage", job.name, target.name)));
}
