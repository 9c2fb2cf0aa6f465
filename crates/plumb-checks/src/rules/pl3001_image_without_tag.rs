//! PL3001 image-without-tag: An image with neither tag nor digest: it means `:latest`.

use crate::images::{image_diagnostic, pinned_example, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3001,
    images: check,
}

fn check(_cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    // `${PROXY}alpine/curl`: whatever the variable holds, there is no tag
    let r = match &u.parsed {
        Ok(r) => r.clone(),
        Err(_) => crate::images::literal_tail(&u.text)?,
    };
    let r = &r;
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
            pinned_example(r, &u.text)
        )),
    )
}
