//! PL2002 stage-cycle: Stages follow each other through `after` in a cycle.

use crate::graph;
use crate::rules::cycle_diagnostic;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2002,
    summary: r####"Stages follow each other through `after` in a cycle."####,
    explanation: r####"`stage b after a` makes `b` wait for `a`; a stage without `after` follows the stage declared just before it. When these form a cycle no stage order exists and the pipeline cannot be compiled. The whole cycle is shown, with a label on every `after` that closes it."####,
    bad: r####"pipeline web {
  stage build after test { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
  stage test after build { job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
}"####,
    good: r####"pipeline web {
  stage build { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
  stage test after build { job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
}"####,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    let g = graph::stage_graph(cx.pipeline);
    for cycle in graph::cycles(&g) {
        out.push(cycle_diagnostic(
            &RULE,
            "stage cycle",
            &cycle,
            |i| &cx.pipeline.stages[i].name,
            "runs after",
            "each stage waits for the next one, so none can start; remove one of these `after`s",
        ));
    }
}
