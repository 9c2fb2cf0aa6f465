//! PL2003 needs-later-stage: A job needs a job whose stage runs after its own.

use crate::graph;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2003,
    summary: r####"A job needs a job whose stage runs after its own."####,
    explanation: r####"A job can only need jobs of its own stage or of stages that run before it. Needing a job of a later stage is a contradiction (the later stage waits for this one) and GitLab rejects it. Move one of the two jobs, or change the stages' `after`."####,
    bad: r####"pipeline web {
  stage build { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [lint] } }
  stage test after build { job lint { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
}"####,
    good: r####"pipeline web {
  stage build { job lint { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
  stage test after build { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [lint] } }
}"####,
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
