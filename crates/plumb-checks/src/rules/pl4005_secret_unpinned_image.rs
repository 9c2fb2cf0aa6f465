//! PL4005 secret-unpinned-image: A secret given to a job whose image is not pinned by digest.

use crate::image_ref;
#[allow(unused_imports)]
use crate::{FileCx, JobCx, PipelineCx, Rule, RuleMeta};
use plumb_diagnostics::{Diagnostic, Severity};
use plumb_semantics::ValueKind;

pub static RULE: RuleMeta = RuleMeta {
    code: "PL4005",
    name: "secret-unpinned-image",
    severity: Severity::Error,
    summary: r####"A secret given to a job whose image is not pinned by digest."####,
    explanation: r####"Whoever can push the image's tag can run code with the job's secrets. A job that receives a secret must run in an image pinned by digest (`@sha256:…`), so that exactly the reviewed image sees it."####,
    bad: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
    good: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2@sha256:6f7e2a8e1d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
};

pub struct Check;

impl Rule for Check {
    fn meta(&self) -> &'static RuleMeta {
        &RULE
    }

    fn check_job(&self, cx: &JobCx, out: &mut Vec<Diagnostic>) {
        let Some(image) = cx.job.image() else { return };
        let ValueKind::Str(text) = &image.kind else {
            return;
        };
        let Ok(r) = image_ref::parse(text) else {
            return;
        };
        if r.digest.is_some() {
            return;
        }
        for (binding, secret) in cx.job.secret_env() {
            out.push(
                Diagnostic::new(RULE.code, RULE.severity, binding.name_at, format!(
                    "secret `{}` is given to job `{}`, whose image `{text}` is not pinned by digest", secret.name, cx.job.name))
                .with_label("the secret is bound here")
                .with_secondary(image.origin, "not pinned by digest")
                .with_secondary(cx.job.name_at, format!("job `{}`", cx.job.name))
                .with_help("pin the image by digest (`name:tag@sha256:…`) so that only the reviewed image receives the secret"),
            );
        }
    }
}
