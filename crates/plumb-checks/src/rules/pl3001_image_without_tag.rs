//! PL3001 image-without-tag: An image with neither tag nor digest: it means `:latest`.

use crate::images::{image_diagnostic, job_images, pinned_example};
#[allow(unused_imports)]
use crate::{FileCx, JobCx, PipelineCx, Rule, RuleMeta};
use plumb_diagnostics::{Diagnostic, Severity};

pub static RULE: RuleMeta = RuleMeta {
    code: "PL3001",
    name: "image-without-tag",
    severity: Severity::Error,
    summary: r####"An image with neither tag nor digest: it means `:latest`."####,
    explanation: r####"`image = "ubuntu"` is `ubuntu:latest`: whatever was pushed last, different from one run to the next and between a developer's machine and CI. Builds stop being reproducible and a compromised or broken upstream push reaches every pipeline at once. Name a version and pin it by digest."####,
    bad: r####"pipeline web { stage test { job unit { image = "ubuntu", run = ["make test"] } } }"####,
    good: r####"pipeline web { stage test { job unit { image = "ubuntu:24.04@sha256:2e863c44b718727c860746568e1d54afd13b2fa71b160f5cd9058fc436217b30", run = ["make test"] } } }"####,
};

pub struct Check;

impl Rule for Check {
    fn meta(&self) -> &'static RuleMeta {
        &RULE
    }

    fn check_job(&self, cx: &JobCx, out: &mut Vec<Diagnostic>) {
        for u in job_images(cx) {
            let Ok(r) = &u.parsed else { continue };
            if r.tag.is_none() && r.digest.is_none() {
                let d = image_diagnostic(
                    cx,
                    RULE.code,
                    RULE.severity,
                    &u,
                    format!(
                        "image `{}` has no tag or digest, so it means `{}:latest`",
                        u.text, u.text
                    ),
                    "no tag, no digest",
                )
                .with_help(format!(
                    "pin a version by digest: {}",
                    pinned_example(r, u.text)
                ));
                out.push(d);
            }
        }
    }
}
