//! PL2001 job-cycle: Jobs wait for each other through `needs` in a cycle.

use crate::rules::{report_cycles, CycleOf};
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2001,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    report_cycles(CycleOf::Jobs, &RULE, cx, out);
}
