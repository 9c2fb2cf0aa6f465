//! PL3006 runner-default: The runner decides the job's image.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::ValueKind;

declare_rule! {
    code: PL3006,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let Some(image) = cx.job.image() else { return };
    if image.kind != ValueKind::RunnerDefault || !cx.job.image_is_its_own() {
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
            format!("the image of {}", cx.job.describe()),
        );
    }
    out.push(d);
}
