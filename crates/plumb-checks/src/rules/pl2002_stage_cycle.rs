//! PL2002 stage-cycle: Stages follow each other through `after` in a cycle.

use crate::graph;
use crate::rules::cycle_diagnostic;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2002,
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
