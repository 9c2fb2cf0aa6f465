//! PL3004 malformed-image: An image reference that does not follow the OCI reference grammar.

use crate::images::{image_diagnostic, inner_range, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3004,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let e = u.parsed.as_ref().err()?;
    // `$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA` is PL3007's when some value of its
    // variables makes it valid; what no value can repair is malformed
    if crate::images::variables_in(&u.text).is_some() {
        if crate::images::valid_with_variables(&u.text) {
            return None;
        }
        let mut d = image_diagnostic(
            RULE.code,
            RULE.severity(),
            u,
            format!(
                "malformed image reference `{}`: no value of its variables makes it valid",
                u.text
            ),
            "not a valid image reference, whatever the variables hold",
        )
        .with_help("write `[registry[:port]/]name[:tag][@sha256:<64 hex digits>]`, with variables only where a name, tag or digest goes");
        d.primary.at = inner_range(cx.sources, u, e.start, e.end);
        return Some(d);
    }
    let mut d = image_diagnostic(
        RULE.code,
        RULE.severity(),
        u,
        format!("malformed image reference `{}`: {}", u.text, e.message),
        "not a valid image reference",
    )
    .with_help("write `[registry[:port]/]name[:tag][@sha256:<64 hex digits>]`, e.g. \"registry.example.com/tools/kubectl:1.30.2@sha256:…\"");
    d.primary.at = inner_range(cx.sources, u, e.start, e.end);
    Some(d)
}
