//! PL3006 runner-default: The runner decides the job's image.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::ValueKind;

declare_rule! {
    code: PL3006,
    summary: r####"The runner decides the job's image."####,
    explanation: r####"`image = runner_default` writes no `image:` for GitLab, so the job runs in whatever image the runner is configured with: it can change without a commit, and nobody reviewing the pipeline can tell what runs. For Kubernetes it is `targets.k8s.default_image` from `plumb.toml` (PL5004 when that is not set). Name the image, pinned by digest, where you can."####,
    bad: r####"pipeline p { stage s { job j { image = runner_default, run = ["make"] } } }"####,
    good: r####"pipeline p { stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let Some(image) = cx.job.image() else { return };
    if image.kind != ValueKind::RunnerDefault {
        return;
    }
    let mut d = Diagnostic::new(
        RULE.code,
        RULE.severity(),
        image.origin,
        format!(
            "{} runs in whatever image the runner is configured with",
            cx.whom(image.origin)
        ),
    )
    .with_label("the runner decides")
    .with_help("name the image, pinned by digest (`name:tag@sha256:<digest>`)");
    if !image
        .origin
        .range
        .contains(cx.job.name_at.range.start as usize)
    {
        d = d.with_secondary(
            cx.job.name_at,
            format!("the image of job `{}`", cx.job.name),
        );
    }
    out.push(d);
}
