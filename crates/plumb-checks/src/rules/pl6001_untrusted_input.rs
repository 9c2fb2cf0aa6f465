//! PL6001 untrusted-input: Text an outsider controls reaches the shell as code or unquoted.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6001,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    out.extend(crate::supply::untrusted_input(cx).into_iter().map(|hit| {
        hit.into_diagnostic(
            &RULE,
            "quote the expansion (`\"$VAR\"`) and pass it as data, never as code (`eval`, `sh -c`)",
        )
    }));
}
