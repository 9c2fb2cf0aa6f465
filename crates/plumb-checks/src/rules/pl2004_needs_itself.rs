//! PL2004 needs-itself: A job lists itself in `needs`.

use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL2004,
    summary: r####"A job lists itself in `needs`."####,
    explanation: r####"A job cannot wait for itself to finish: GitLab rejects the pipeline, and the job graph has a loop of one. This is usually a copy-paste mistake in `needs`, or a template whose `needs` names the job that instantiates it. It is reported on its own, not as a PL2001 cycle."####,
    bad: r####"pipeline web { stage ci { job build { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [build] } } }"####,
    good: r####"pipeline web { stage ci { job build { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } } }"####,
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
