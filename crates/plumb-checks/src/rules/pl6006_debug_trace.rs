//! PL6006 debug-trace: Debug tracing in a job that can read a secret.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::ValueKind;

declare_rule! {
    code: PL6006,
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
