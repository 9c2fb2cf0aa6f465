//! PL4003 secret-printed: A secret variable printed to the job log.

use crate::creds::{Leak, ScriptFinding};
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4003,
    job: check_job,
}

/// How to hand a secret on without leaking it.
const HELP: &str = "send it to the program through a pipe or a file instead (`echo \"$T\" | tool --password-stdin`), never build commands from it (`eval`, `sh -c`), and never enable `set -x` in a job that holds secrets";

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let (message, label) = match &f.leak {
            Leak::Printed { command } => (
                format!("{} is printed to the job log by `{command}`", f.subject()),
                "printed here",
            ),
            Leak::Xtrace { command } => (
                format!("secret `{}` is printed to the job log by `{command}`", f.secret),
                "the shell echoes every command with its values",
            ),
            Leak::Unfollowed { command } => (
                format!("secret `{}` is handed to `{command}`, which the checker cannot follow: it counts as printed", f.secret),
                "cannot be followed from here",
            ),
            _ => continue,
        };
        let help = match f.from_file {
            true => ScriptFinding::FILE_HELP,
            false => HELP,
        };
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), f.at, message)
            .with_label(label)
            .with_help(help);
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
