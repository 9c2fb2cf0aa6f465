//! PL3003 tag-without-digest: An image pinned by tag only, without a digest.

use crate::images::{image_diagnostic, pinned_example, ImageCx, ImageUse};
use crate::rules::pl3002_mutable_tag::is_mutable_tag;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3003,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let r = u.parsed.as_ref().ok()?;
    let tag = r.tag.as_deref()?;
    if r.digest.is_some() || is_mutable_tag(tag) || crate::images::pushed_by_another_job(cx, u) {
        return None;
    }
    Some(
        image_diagnostic(
            RULE.code,
            RULE.severity(),
            u,
            format!("image `{}` is pinned by tag only", u.text),
            "a tag can be moved to another image",
        )
        .with_help(format!(
            "add the digest: {} (`docker buildx imagetools inspect {}` shows it)",
            pinned_example(r, &u.text),
            u.text
        )),
    )
}
