//! PL2003 needs-later-stage: A job needs a job whose stage runs after its own.

use crate::graph;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

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
}
