//! PL4005 secret-unpinned-image: A secret given to a job whose image is not pinned by digest.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4005,
    summary: r####"A secret given to a job whose image is not pinned by digest."####,
    explanation: r####"Whoever can push the image's tag can run code with the job's secrets. A job that receives a secret must run in an image pinned by digest (`@sha256:…`), so that exactly the reviewed image sees it. Services receive the job's variables too, so their images must be pinned as well. A project variable declared with `ci_variable("NAME")` and read by name (`$NAME`) counts as given to the job, bound or not: on GitLab every job can read it."####,
    bad: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
    good: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2@sha256:6f7e2a8e1d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let uses = cx.secret_uses();
    if uses.is_empty() {
        return;
    }
    // services receive the job's variables too; a reference built from variables
    // without a digest is no more pinned than a tag
    let unpinned: Vec<_> = cx
        .images()
        .iter()
        .filter(|u| match &u.parsed {
            Ok(r) => r.digest.is_none(),
            Err(_) => crate::images::valid_with_variables(u.text) && !u.text.contains("@sha"),
        })
        .collect();
    if let Some(d) = runner_default(cx, uses) {
        out.extend(d);
    }
    let Some(first) = unpinned.first() else {
        return;
    };
    let what = match first.role {
        "image" => "image",
        _ => "service image",
    };
    for u in uses {
        let mut d = Diagnostic::new(
            RULE.code,
            RULE.severity(),
            u.at,
            format!(
                "secret `{}` is given to job `{}`, whose {what} `{}` is not pinned by digest",
                u.secret, cx.job.name, first.text
            ),
        )
        .with_label(u.label());
        for image in &unpinned {
            d = d.with_secondary(
                image.literal,
                if image.role == "image" {
                    "not pinned by digest".to_string()
                } else {
                    "service not pinned by digest; it receives the job's variables".to_string()
                },
            );
        }
        if let Some((declared, note)) = u.declaration_note() {
            d = d.with_secondary(declared, note);
        }
        out.push(d
            .with_secondary(cx.job.name_at, format!("job `{}`", cx.job.name))
            .with_help("pin the image by digest (`name:tag@sha256:…`) so that only the reviewed image receives the secret"));
    }
}

/// A job with `image = runner_default` runs its secrets in whatever image the runner
/// is configured with.
fn runner_default(cx: &JobCx, uses: &[crate::creds::SecretUse]) -> Option<Vec<Diagnostic>> {
    let image = cx.job.image()?;
    if image.kind != plumb_semantics::ValueKind::RunnerDefault {
        return None;
    }
    let out = uses
        .iter()
        .map(|u| {
            Diagnostic::new(
                RULE.code,
                RULE.severity(),
                u.at,
                format!(
                    "secret `{}` is given to job `{}`, whose image the runner decides (`runner_default`)",
                    u.secret, cx.job.name
                ),
            )
            .with_label(u.label())
            .with_secondary(image.origin, "not pinned: the runner's configuration decides")
            .with_help("name the image, pinned by digest (`name:tag@sha256:…`), so that only the reviewed image receives the secret")
        })
        .collect();
    Some(out)
}
