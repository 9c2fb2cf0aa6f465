//! PL3002 mutable-tag: An image tag that moves: `latest`, `main`, `stable`, `debug`, or any tag without a digit (`lts`, `alpine`, `bookworm`).

use crate::images::{image_diagnostic, inner_range, pinned_example, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

/// Tags that are re-pushed as a matter of course, though some hold a digit.
const MUTABLE_TAGS: &[&str] = &[
    "latest", "main", "master", "stable", "edge", "nightly", "debug",
];

/// Whether a tag moves: one of [`MUTABLE_TAGS`], or a tag without a digit (`lts`,
/// `alpine`, `bookworm`, `current`: names of lines of releases, not of one release).
/// A tag built from a variable is PL3007's.
pub fn is_mutable_tag(tag: &str) -> bool {
    !tag.contains('$')
        && (MUTABLE_TAGS.contains(&tag.to_ascii_lowercase().as_str())
            || !tag.chars().any(|c| c.is_ascii_digit())
            || moving_variant(tag))
}

/// Platform names, whose digits say nothing of a version.
const PLATFORMS: &[&str] = &[
    "x86", "x86_64", "amd64", "arm64", "arm64v8", "armv6", "armv7", "arm32v7", "armhf", "i386",
    "ppc64le", "s390x", "aarch64", "win64",
];

/// A moving tag with a platform or flavour after it: `latest-x86`, `stable-armv7`,
/// `edge-slim` (the digits of `x86` do not make `latest` a release).
fn moving_variant(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let Some((head, rest)) = lower.split_once('-') else {
        return false;
    };
    // the newest build of a line: `2022-latest`, `3.12-nightly`, `3-edge` (not
    // `v1.9.0-debug`, a release's flavour, nor `nightly-2024-01-01`, a day's build)
    let last = lower.rsplit('-').next().unwrap_or_default();
    if matches!(last, "latest" | "nightly" | "edge") {
        return true;
    }
    MUTABLE_TAGS.contains(&head)
        && rest
            .split('-')
            .all(|part| !part.chars().any(|c| c.is_ascii_digit()) || PLATFORMS.contains(&part))
}

declare_rule! {
    code: PL3002,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    // `$REGISTRY/alpine:latest`: whatever the variable holds, the tag moves
    let r = match &u.parsed {
        Ok(r) => r.clone(),
        Err(_) => crate::images::literal_tail(&u.text)?,
    };
    let r = &r;
    let tag = r.tag.as_deref()?;
    if r.digest.is_some() || !is_mutable_tag(tag) {
        return None;
    }
    let tag_start = u.text.rfind(':').map_or(0, |i| i + 1);
    let mut d = image_diagnostic(
        RULE.code,
        RULE.severity(),
        u,
        format!("image `{}` uses the mutable tag `{tag}`", u.text),
        "this tag is re-pushed",
    )
    .with_help(format!(
        "use a version tag pinned by digest: {}",
        // the moving tag gives way to a version
        pinned_example(
            &crate::image_ref::ImageRef {
                tag: None,
                ..r.clone()
            },
            &u.text[..tag_start.saturating_sub(1)]
        )
    ));
    d.primary.at = inner_range(cx.sources, u, tag_start, u.text.len());
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::is_mutable_tag;

    #[test]
    fn moving_tags_with_a_platform_are_still_moving() {
        for tag in [
            "latest",
            "latest-x86",
            "latest-armv7",
            "stable-slim",
            "edge-arm64",
            "lts",
            "2022-latest",
            "3.12-nightly",
            "3-edge",
        ] {
            assert!(is_mutable_tag(tag), "{tag}");
        }
        for tag in [
            "3.19",
            "v1.23.0-debug",
            "latest-2024-05-01",
            "20.11-alpine",
            "nightly-2024.05",
        ] {
            assert!(!is_mutable_tag(tag), "{tag}");
        }
    }
}
