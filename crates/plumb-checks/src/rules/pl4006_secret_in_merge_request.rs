//! PL4006 secret-in-merge-request: A secret given to a job that can run for a merge request.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::Event;

/// The label on where the script reads a bound secret (on GitLab CI YAML, where the
/// finding is drawn: the binding is the import's).
pub const READ_HERE: &str = "the job reads it here";

declare_rule! {
    code: PL4006,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let mr = Event::MergeRequest;
    // a template's jobs say when they run (`rules:`), and are checked themselves
    if cx.job.is_template()
        || !cx.pipeline_on.0.admits(&mr).possible()
        || !cx.job.when.admits(&mr).possible()
    {
        return;
    }
    let condition_at = cx
        .job
        .field("when")
        .map(|f| f.value.origin)
        .or(cx.pipeline_on.1);
    // a job token (`CI_JOB_TOKEN`, `CI_REGISTRY_PASSWORD`) reaches a merge request's
    // jobs whatever the file says: binding it gives them nothing more; an `id_token`
    // is made for the job, with claims naming its ref and pipeline source
    for u in cx.secret_uses().iter().filter(|u| !u.every_job_has_it) {
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), u.at, format!(
            "secret `{}` is given to {}, which can run for merge requests", u.secret, cx.whom(u.at)))
            .with_label(u.label())
            .with_secondary(cx.job.name_at, format!("{} runs for merge requests", cx.job.describe()))
            .with_help("merge requests run untrusted code: run the job only for protected branches or tags, or do not give it the secret");
        if let Some(read) = u.read_at {
            d = d.with_secondary(read, READ_HERE);
        }
        if let Some((declared, note)) = u.declaration_note() {
            d = d.with_secondary(declared, note);
        }
        if let Some(at) = condition_at {
            d = d.with_secondary(at, "this condition admits merge requests");
        }
        out.push(d);
    }
}
