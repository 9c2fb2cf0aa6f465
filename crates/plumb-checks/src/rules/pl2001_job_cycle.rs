//! PL2001 job-cycle: Jobs wait for each other through `needs` in a cycle.

use crate::graph;
use crate::rules::cycle_diagnostic;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2001,
    summary: r####"Jobs wait for each other through `needs` in a cycle."####,
    explanation: r####"`needs` makes a job wait for other jobs. When the waits form a cycle (`a` needs `b`, `b` needs `a`) none of the jobs can start, and GitLab rejects the pipeline. The whole cycle is shown in a fixed order, starting from the job declared first, with a label on every `needs` entry that closes it; every cycle of a group of jobs is reported, not only the first. Break it by removing one of the `needs`."####,
    bad: r####"pipeline web {
  stage ci {
    job fetch   { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [package] }
    job verify  { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [fetch] }
    job package { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [verify] }
  }
}"####,
    good: r####"pipeline web {
  stage ci {
    job fetch   { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] }
    job verify  { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [fetch] }
    job package { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [verify] }
  }
}"####,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    let g = graph::job_graph(cx.pipeline);
    for cycle in graph::cycles(&g) {
        out.push(cycle_diagnostic(
            &RULE,
            "job dependency cycle",
            &cycle,
            |i| &cx.pipeline.jobs[i].name,
            "needs",
            "each job waits for the next one, so none can start; remove one of these `needs`",
        ));
    }
}
