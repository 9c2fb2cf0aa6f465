//! PL3001 image-without-tag: An image with neither tag nor digest: it means `:latest`.

use crate::images::{image_diagnostic, pinned_example, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3001,
    summary: r####"An image with neither tag nor digest: it means `:latest`."####,
    explanation: r####"`image = "ubuntu"` is `ubuntu:latest`: whatever was pushed last, different from one run to the next and between a developer's machine and CI. Builds stop being reproducible and a compromised or broken upstream push reaches every pipeline at once. Name a version and pin it by digest."####,
    bad: r####"pipeline web { stage test { job unit { image = "ubuntu", run = ["make test"] } } }"####,
    good: r####"pipeline web { stage test { job unit { image = "ubuntu:24.04@sha256:2e863c44b718727c860746568e1d54afd13b2fa71b160f5cd9058fc436217b30", run = ["make test"] } } }"####,
    images: check,
}

fn check(_cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let r = u.parsed.as_ref().ok()?;
    if r.tag.is_some() || r.digest.is_some() {
        return None;
    }
    Some(
        image_diagnostic(
            RULE.code,
            RULE.severity(),
            u,
            format!(
                "image `{}` has no tag or digest, so it means `{}:latest`",
                u.text, u.text
            ),
            "no tag, no digest",
        )
        .with_help(format!(
            "pin a version by digest: {}",
            pinned_example(r, u.text)
        )),
    )
}
