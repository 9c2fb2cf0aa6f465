//! PL3004 malformed-image: An image reference that does not follow the OCI reference grammar.

use crate::images::{
    check_declared_images, check_job_images, image_diagnostic, inner_range, ImageCx, ImageUse,
};
#[allow(unused_imports)]
use crate::{FileCx, JobCx, PipelineCx, Rule, RuleMeta};
use plumb_diagnostics::{Diagnostic, Severity};

pub static RULE: RuleMeta = RuleMeta {
    code: "PL3004",
    name: "malformed-image",
    severity: Severity::Error,
    summary: r####"An image reference that does not follow the OCI reference grammar."####,
    explanation: r####"Image references are `[registry[:port]/]path[:tag][@algorithm:hex]`: path components in lowercase letters, digits and separators, a tag of at most 128 letters, digits, `_`, `.` or `-`, and a digest whose hex part has the algorithm's exact length (`sha256`: 64 lowercase hex digits). A malformed reference fails only when the job starts; Plumb reports it now, pointing at the offending part. A reference built from CI/CD variables (`$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA`, frequent in pipelines brought in by `plumb import`) is reported too: what it resolves to cannot be checked for a tag, a digest or an allowed registry."####,
    bad: r####"pipeline web { stage test { job unit { image = "alpine:3.20@sha256:abc123", run = ["true"] } } }"####,
    good: r####"pipeline web { stage test { job unit { image = "alpine:3.20@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d", run = ["true"] } } }"####,
};

pub struct Check;

impl Rule for Check {
    fn meta(&self) -> &'static RuleMeta {
        &RULE
    }

    fn check_file(&self, cx: &FileCx, out: &mut Vec<Diagnostic>) {
        check_declared_images(cx, out, check);
    }

    fn check_job(&self, cx: &JobCx, out: &mut Vec<Diagnostic>) {
        check_job_images(cx, out, check);
    }
}

fn check(cx: &ImageCx, u: &ImageUse) -> Option<Diagnostic> {
    let e = u.parsed.as_ref().err()?;
    if let Some(at) = u.text.find('$') {
        // `$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA`: GitLab's variables, common in
        // imported pipelines; say so rather than "malformed"
        let name_end = u.text[at + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '{' || c == '}'))
            .map_or(u.text.len(), |i| at + 1 + i);
        let mut d = image_diagnostic(
            RULE.code,
            RULE.severity,
            u,
            format!(
                "image `{}` is built from a CI/CD variable (`{}`) when the job starts: Plumb cannot check what it will be",
                u.text,
                &u.text[at..name_end]
            ),
            "a variable in an image reference",
        )
        .with_help("write the reference out, pinned by digest (`name:tag@sha256:<digest>`), in a `let` the jobs share");
        d.primary.at = inner_range(cx.sources, u, at, name_end);
        return Some(d);
    }
    let mut d = image_diagnostic(
        RULE.code,
        RULE.severity,
        u,
        format!("malformed image reference `{}`: {}", u.text, e.message),
        "not a valid image reference",
    )
    .with_help("write `[registry[:port]/]name[:tag][@sha256:<64 hex digits>]`, e.g. \"registry.example.com/tools/kubectl:1.30.2@sha256:…\"");
    d.primary.at = inner_range(cx.sources, u, e.start, e.end);
    Some(d)
}
