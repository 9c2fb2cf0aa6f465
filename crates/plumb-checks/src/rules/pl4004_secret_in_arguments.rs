//! PL4004 secret-in-arguments: A secret variable passed as a command-line argument.

use crate::creds::{Leak, ScriptFinding};
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4004,
    job: check_job,
}

/// How to hand a secret on without leaking it.
const HELP: &str = "pass it on standard input (e.g. `--password-stdin`) or in a file, or let the program read the environment variable";

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let Leak::Argument { command } = &f.leak else {
            continue;
        };
        let help = match f.from_file {
            true => ScriptFinding::FILE_HELP,
            false => HELP,
        };
        let mut d = Diagnostic::new(
            RULE.code,
            RULE.severity(),
            f.at,
            format!(
                "{} is passed to `{command}` as a command-line argument",
                f.subject()
            ),
        )
        .with_label("visible in process listings")
        .with_help(help);
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
