//! PL3003 tag-without-digest: An image pinned by tag only, without a digest.

use crate::images::{image_diagnostic, pinned_example, ImageCx, ImageUse};
use crate::rules::pl3002_mutable_tag::is_mutable_tag;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3003,
    summary: r####"An image pinned by tag only, without a digest."####,
    explanation: r####"A tag such as `1.36.1` is a name that the image's publisher can point at another image at any time; only a digest (`@sha256:…`) names exactly one image. A warning by default; an error when `plumb.toml` sets `[images] require_digest = true`. Find the digest with `docker buildx imagetools inspect NAME:TAG` or `crane digest NAME:TAG`."####,
    bad: r####"pipeline web { stage test { job unit { image = "busybox:1.36.1", run = ["true"] } } }"####,
    good: r####"pipeline web { stage test { job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["true"] } } }"####,
    images: check,
}

fn check(_cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let r = u.parsed.as_ref().ok()?;
    let tag = r.tag.as_deref()?;
    if r.digest.is_some() || is_mutable_tag(tag) {
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
            pinned_example(r, u.text),
            u.text
        )),
    )
}
