//! PL2002 stage-cycle: Stages follow each other through `after` in a cycle.

use crate::rules::{report_cycles, CycleOf};
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2002,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    report_cycles(CycleOf::Stages, &RULE, cx, out);
}
