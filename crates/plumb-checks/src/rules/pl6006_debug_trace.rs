//! PL6006 debug-trace: Debug tracing in a job that can read a secret.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::ValueKind;

declare_rule! {
    code: PL6006,
    summary: r####"Debug tracing in a job that can read a secret."####,
    explanation: r####"With `CI_DEBUG_TRACE` (or `CI_DEBUG_SERVICES`) set to `"true"`, GitLab prints every variable of the job to its log, secrets included, masked or not. A job that binds a secret, or reads a project variable declared with `ci_variable`, must not turn it on. Debug such a job with the secret removed, or in a private fork."####,
    bad: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t, CI_DEBUG_TRACE = "true" }, run = ["./deploy"] } } }"####,
    good: r####"secret t = ci_variable("DEPLOY_TOKEN")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["./deploy"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let Some(secret) = cx.secret_uses().first() else {
        return;
    };
    for b in &cx.job.env {
        let on = matches!(&b.value.kind, ValueKind::Str(v) if v.eq_ignore_ascii_case("true") || v == "1");
        if !on || !matches!(b.name.as_str(), "CI_DEBUG_TRACE" | "CI_DEBUG_SERVICES") {
            continue;
        }
        // on the value that turns it on (a GitLab CI file names the variable as a key,
        // the value is where the finding is shown)
        let at = b.value.origin;
        let whose = cx.whom(at);
        let mut d = Diagnostic::new(
            RULE.code,
            RULE.severity(),
            at,
            format!(
                "`{}` makes GitLab print every variable of {whose}, secret `{}` included",
                b.name, secret.secret
            ),
        )
        .with_label("prints every variable to the job log")
        .with_help("remove it, or debug the job without its secrets");
        d = d.with_secondary(secret.at, secret.label());
        out.push(d);
    }
}
