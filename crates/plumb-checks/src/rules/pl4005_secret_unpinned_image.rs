//! PL4005 secret-unpinned-image: A secret given to a job whose image is not pinned by digest.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4005,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    // the credentials GitLab makes for every job (`CI_JOB_TOKEN`, `CI_REGISTRY_PASSWORD`)
    // are in every image's environment, read or not: naming them gives the image
    // nothing more (PL3003 is about the image). An ID token is made for the jobs that
    // ask for one, and opens what its claims are trusted for
    let uses: Vec<crate::creds::SecretUse> = (cx.secret_uses().iter())
        .filter(|u| !crate::creds::every_jobs_credential(cx, u))
        .cloned()
        .collect();
    let uses = uses.as_slice();
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
            Err(_) => crate::images::valid_with_variables(&u.text) && !u.text.contains("@sha"),
        })
        .collect();
    if let Some(d) = runner_default(cx, uses) {
        out.push(d);
    }
    let Some(first) = unpinned.first() else {
        return;
    };
    let what = match first.role {
        "image" => "image",
        _ => "service image",
    };
    // one finding per unpinned image (the cause): the secrets and the jobs that get
    // them are its labels, and jobs that share the image join the same finding. An
    // image written in another file (an imported `let`) is a label: the finding stays
    // in the job's file, which is the one checked (and shown in the editor)
    let here = first.literal.file == cx.job.name_at.file;
    let primary = if here { first.literal } else { uses[0].at };
    let mut d = Diagnostic::new(
        RULE.code,
        RULE.severity(),
        primary,
        format!(
            "{} given to {}, whose {what} `{}` is not pinned by digest",
            secrets_phrase(uses),
            cx.whom(primary),
            first.text
        ),
    )
    .with_label(if here {
        "not pinned by digest"
    } else {
        uses[0].label()
    });
    if !here {
        d = d.with_secondary(first.literal, "not pinned by digest");
    }
    for image in unpinned.iter().skip(1) {
        d = d.with_secondary(
            image.literal,
            if image.role == "image" {
                "not pinned by digest".to_string()
            } else {
                "service not pinned by digest; it receives the job's variables".to_string()
            },
        );
    }
    for (k, u) in uses.iter().enumerate() {
        if here || k > 0 {
            d = d.with_secondary(u.at, u.label());
        }
        if let Some((declared, note)) = u.declaration_note() {
            d = d.with_secondary(declared, note);
        }
    }
    out.push(d
        .with_secondary(cx.job.name_at, cx.job.describe())
        .with_help("pin the image by digest (`name:tag@sha256:…`) so that only the reviewed image receives the secrets"));
}

/// "secret `a` is" / "secrets `a`, `b` are".
fn secrets_phrase(uses: &[crate::creds::SecretUse]) -> String {
    let mut names: Vec<String> = uses.iter().map(|u| format!("`{}`", u.secret)).collect();
    names.dedup();
    match names.as_slice() {
        [one] => format!("secret {one} is"),
        _ => format!("secrets {} are", names.join(", ")),
    }
}

/// A job with `image = runner_default` runs its secrets in whatever image the runner
/// is configured with: one finding at the `runner_default` (shared by every job that
/// inherits it), the secrets and jobs as labels.
fn runner_default(cx: &JobCx, uses: &[crate::creds::SecretUse]) -> Option<Diagnostic> {
    let image = cx.job.image()?;
    if image.kind != plumb_semantics::ValueKind::RunnerDefault || !cx.job.image_is_its_own() {
        return None;
    }
    let mut d = Diagnostic::new(
        RULE.code,
        RULE.severity(),
        image.origin,
        format!(
            "{} given to {}, whose image the runner decides (`runner_default`)",
            secrets_phrase(uses),
            cx.whom(image.origin)
        ),
    )
    .with_label("not pinned: the runner's configuration decides");
    for u in uses {
        d = d.with_secondary(u.at, u.label());
    }
    Some(d
        .with_secondary(cx.job.name_at, cx.job.describe())
        .with_help("name the image, pinned by digest (`name:tag@sha256:…`), so that only the reviewed image receives the secrets"))
}
