//! PL2004 needs-itself: A job lists itself in `needs` (or in `dependencies`).

use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2004,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    for (i, job) in cx.pipeline.jobs.iter().enumerate() {
        for need in job.needs.iter().filter(|n| n.target == Some(i)) {
            out.push(
                Diagnostic::new(
                    RULE.code,
                    RULE.severity(),
                    need.at,
                    format!("job `{}` needs itself", job.name),
                )
                .with_label("a job cannot wait for itself")
                .with_help(format!("remove `{}` from its own `needs`", job.name)),
            );
        }
    }
}
