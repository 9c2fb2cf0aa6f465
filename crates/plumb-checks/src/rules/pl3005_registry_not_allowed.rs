//! PL3005 registry-not-allowed: An image from a registry that `images.allowed_registries` does not list.

use crate::images::{image_diagnostic, inner_range, ImageCx, ImageUse};
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL3005,
    images: check,
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let allowed = cx.config.images.allowed_registries.as_ref()?;
    let r = u.parsed.as_ref().ok()?;
    let registry = r.registry_or_default();
    // host names are case-insensitive (`Registry.Example.com` is `registry.example.com`)
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(registry)) {
        return None;
    }
    let end = r.registry.as_ref().map_or(0, |s| s.len());
    let mut d = image_diagnostic(
        RULE.code,
        RULE.severity(),
        u,
        format!(
            "image `{}` comes from `{registry}`, which is not an allowed registry",
            u.text
        ),
        "registry not allowed",
    )
    .with_help(format!(
        "use an image from {} (set in plumb.toml, `[images] allowed_registries`)",
        allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    d.primary.at = inner_range(cx.sources, u, 0, end);
    Some(d)
}
