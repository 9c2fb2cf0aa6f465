//! PL2001 job-cycle: Jobs wait for each other through `needs` in a cycle.

use crate::graph;
use crate::rules::cycle_diagnostic;
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2001,
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
