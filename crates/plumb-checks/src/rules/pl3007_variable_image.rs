//! PL3007 variable-image: An image reference built from CI/CD variables.

use crate::images::{image_diagnostic, inner_range, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3007,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    u.parsed.as_ref().err()?;
    let (start, end) = crate::images::variables_in(&u.text)?;
    if !crate::images::valid_with_variables(&u.text) {
        return None; // PL3004's
    }
    // `$CI_REGISTRY_IMAGE/builder:1.4@sha256:…`: the digest fixes what runs, wherever
    // the variables make it come from (a registry serves that content or none)
    if literal_digest(&u.text) {
        return None;
    }
    // `$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA` that a job of the pipeline pushes
    if crate::images::pushed_by_another_job(cx, u) {
        return None;
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
    .with_help("write the reference out, pinned by digest (`name:tag@sha256:<digest>`); an image a job of this pipeline pushes under this same name is not reported");
    d.primary.at = inner_range(cx.sources, u, start, end);
    Some(d)
}

/// Whether the reference ends in a digest written out (`@sha256:` and 64 hex digits).
fn literal_digest(text: &str) -> bool {
    text.rsplit_once("@sha256:")
        .is_some_and(|(_, hex)| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
