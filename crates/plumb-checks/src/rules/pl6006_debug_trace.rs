//! PL6006 debug-trace: Debug tracing in a job, which can read the project's secrets.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::ValueKind;

declare_rule! {
    code: PL6006,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    // a trigger job passes its variables to the pipeline it starts, whose jobs hold
    // that project's secrets, which no check here sees
    let trigger = cx.job.field("trigger").is_some();
    // every GitLab job can read the project's CI/CD variables and holds its job token,
    // named in the script or not (`terraform` reads `TF_VAR_*`, the AWS CLI its keys)
    let uses = cx.secret_uses();
    let secret = uses.first();
    let env = cx.job.env.iter().map(|b| (b.name.as_str(), &b.value));
    // each value of a `matrix` is a job's variable too
    let matrix = cx.job.field("matrix").and_then(|f| f.value.as_map());
    let matrix = (matrix.into_iter().flatten())
        .flat_map(|e| (e.value.as_list().unwrap_or_default().iter()).map(|v| (e.key.as_str(), v)));
    // `CI_DEBUG_TRACE: $DEBUG`: the runner expands the value before it reads it
    let literals: std::collections::HashMap<&str, &str> = (cx.job.env.iter())
        .filter_map(|b| Some((b.name.as_str(), b.value.as_str()?)))
        .collect();
    let expanded = |v: &str| {
        let short = v.len() <= 64 && v.contains('$');
        short
            && runner_reads_true(&super::pl4001_hardcoded_credential::expand_variables(
                v, &literals,
            ))
    };
    for (name, value) in env.chain(matrix) {
        let on = matches!(&value.kind, ValueKind::Str(v) if runner_reads_true(v) || expanded(v));
        if !on || !matches!(name, "CI_DEBUG_TRACE" | "CI_DEBUG_SERVICES") {
            continue;
        }
        // `CI_DEBUG_SERVICES` copies the services' logs into the job's: a job without
        // services prints nothing more, one whose services get no secret nothing secret
        let services = name == "CI_DEBUG_SERVICES";
        if services && (cx.job.services().is_empty() || secret.is_none()) && !trigger {
            continue;
        }
        // on the value that turns it on (a GitLab CI file names the variable as a key,
        // the value is where the finding is shown)
        let at = value.origin;
        let message = match secret {
            Some(secret) if services && !trigger => format!(
                "`{name}` copies the logs of the services of {} into the job log, and they are given secret `{}`",
                cx.whom(at),
                secret.secret
            ),
            Some(secret) if !trigger => format!(
                "`{name}` makes GitLab print every variable of {}, secret `{}` included",
                cx.whom(at),
                secret.secret
            ),
            None if !trigger => format!(
                "`{name}` makes GitLab print every variable of {}, the project's CI/CD variables and the job's token included",
                cx.whom(at)
            ),
            _ if services => format!(
                "`{name}` is passed to the pipeline that trigger job `{}` starts: each of its jobs copies its services' logs, whose services get its project's secrets, into its log",
                cx.job.name
            ),
            _ => format!(
                "`{name}` is passed to the pipeline that trigger job `{}` starts: each of its jobs prints its variables, its project's secrets included",
                cx.job.name
            ),
        };
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), at, message)
            .with_label("prints every variable to the job log")
            .with_help("remove it, or debug the job without its secrets");
        if let Some(secret) = secret.filter(|_| !trigger) {
            d = d.with_secondary(secret.at, secret.label());
        }
        out.push(d);
    }
}

/// Whether GitLab Runner reads `value` as true: Go's `ParseBool` of it in lower case
/// (`1`, `t`, `true`), else its `ParseInt` equal to 1 (`01`, `+1`).
fn runner_reads_true(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "1" | "t" | "true")
        || value.parse::<i64>() == Ok(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_the_runner_reads_as_true() {
        for on in ["true", "TRUE", "True", "t", "T", "1", "01", "+1"] {
            assert!(super::runner_reads_true(on), "{on}");
        }
        for off in ["false", "yes", "on", "0", "2", " 1", "", "-1"] {
            assert!(!super::runner_reads_true(off), "{off}");
        }
    }
}
