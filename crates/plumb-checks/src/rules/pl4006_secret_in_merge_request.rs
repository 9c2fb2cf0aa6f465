//! PL4006 secret-in-merge-request: A secret given to a job that can run for a merge request.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::Event;

declare_rule! {
    code: PL4006,
    summary: r####"A secret given to a job that can run for a merge request."####,
    explanation: r####"Merge-request pipelines run the code of the merge request's branch, which anyone who can open a merge request controls (on public projects, anyone). A job that can run for a merge request — the pipeline's `on` and the job's `when` both admit a merge-request event — must not receive secrets. A project variable declared with `ci_variable("NAME")` that the job reads by name (`$NAME`) counts as received, bound or not. GitLab's per-job credentials (`CI_JOB_TOKEN`, `CI_REGISTRY_PASSWORD`, `CI_DEPENDENCY_PROXY_PASSWORD`) are not reported: every job has them, for itself only; nor is an `id_token(…)`, which GitLab makes for the job with claims that name its ref, whether it is protected, and the pipeline's source (the service it is for decides whether a merge request's token is good for anything). Restrict the job, e.g. `when = branch == "main"`."####,
    bad: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = merge_request || branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2@sha256:6f7e2a8e1d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
    good: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = merge_request || branch == "main"
  stage s { job deploy { image = "alpine/k8s:1.30.2@sha256:6f7e2a8e1d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2", when = branch == "main", env = { DEPLOY_TOKEN = t }, run = ["./deploy.sh"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let mr = Event::MergeRequest;
    if !cx.pipeline_on.0.admits(&mr).possible() || !cx.job.when.admits(&mr).possible() {
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
            .with_secondary(cx.job.name_at, format!("job `{}` runs for merge requests", cx.job.name))
            .with_help("merge requests run untrusted code; restrict the job, e.g. `when = branch == \"main\"`, or do not give it the secret");
        if let Some((declared, note)) = u.declaration_note() {
            d = d.with_secondary(declared, note);
        }
        if let Some(at) = condition_at {
            d = d.with_secondary(at, "this condition admits merge requests");
        }
        out.push(d);
    }
}
