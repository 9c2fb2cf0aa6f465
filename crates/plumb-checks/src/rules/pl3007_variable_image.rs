//! PL3007 variable-image: An image reference built from CI/CD variables.

use crate::images::{image_diagnostic, inner_range, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3007,
    summary: r####"An image reference built from CI/CD variables."####,
    explanation: r####"`$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA` is decided when the job starts: Plumb cannot check it for a tag, a digest or an allowed registry, and neither can a reviewer. Common for images a pipeline builds itself, and then usually fine; reported once per distinct reference (the jobs that use it as related places), as a warning, so that each one is looked at once. Write the reference out, pinned by digest, where it is not built by the pipeline; a reference no value of its variables can make valid (`$IMAGE::x`) is PL3004."####,
    bad: r####"pipeline web { stage test { job unit { image = "$CI_REGISTRY_IMAGE/builder:$CI_COMMIT_SHA", run = ["true"] } } }"####,
    good: r####"pipeline web { stage test { job unit { image = "registry.example.com/web/builder:1.4.2@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d", run = ["true"] } } }"####,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    u.parsed.as_ref().err()?;
    let (start, end) = crate::images::variables_in(u.text)?;
    if !crate::images::valid_with_variables(u.text) {
        return None; // PL3004's
    }
    let mut d = image_diagnostic(
        RULE.code,
        RULE.severity(),
        u,
        format!(
            "image `{}` is built from a CI/CD variable (`{}`) when the job starts: Plumb cannot check what it will be",
            u.text,
            &u.text[start..end]
        ),
        "decided when the job starts",
    )
    .with_help("where the pipeline does not build this image, write the reference out, pinned by digest (`name:tag@sha256:<digest>`)");
    d.primary.at = inner_range(cx.sources, u, start, end);
    Some(d)
}
