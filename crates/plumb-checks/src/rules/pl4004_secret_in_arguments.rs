//! PL4004 secret-in-arguments: A secret variable passed as a command-line argument.

use crate::creds::Leak;
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4004,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let Leak::Argument { command } = &f.leak else {
            continue;
        };
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), f.at, format!("secret `{}` is passed to `{command}` as a command-line argument", f.secret)).with_label("visible in process listings").with_help("pass it on standard input (e.g. `--password-stdin`) or in a file, or let the program read the environment variable");
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
