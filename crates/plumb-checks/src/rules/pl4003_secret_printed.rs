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
    out.extend(given_to_included_bases(cx));
    for f in cx.script_findings() {
        let (message, label) = match &f.leak {
            Leak::Printed { command } => (
                format!("{} is printed to the job log by `{command}`", f.subject()),
                "printed here",
            ),
            Leak::Xtrace { command } => (
                format!("{} is printed to the job log by `{command}`", f.subject()),
                "the shell echoes every command with its values",
            ),
            Leak::Unfollowed { command } => (
                format!("{} is handed to `{command}`, which the checker cannot follow: it counts as printed", f.subject()),
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

/// A job that `extends` hidden jobs of included files (`gitlab = { extends = … }`) runs
/// what they give it (`before_script`, `after_script`, services, hooks) where no check
/// sees, in an image they may name: a secret it is given there cannot be followed, and
/// counts as printed. The credentials GitLab makes for every job (`CI_JOB_TOKEN`) are
/// not counted; an ID token is.
fn given_to_included_bases(cx: &JobCx) -> Option<Diagnostic> {
    let (value, names) = cx.job.included_bases()?;
    let uses: Vec<crate::creds::SecretUse> = crate::creds::secret_uses(cx)
        .into_iter()
        .filter(|u| !crate::creds::every_jobs_credential(cx, u))
        .collect();
    if uses.is_empty() {
        return None;
    }
    let mut secrets: Vec<String> = Vec::new();
    for u in &uses {
        let named = format!("`{}`", u.secret);
        if !secrets.contains(&named) {
            secrets.push(named);
        }
    }
    let bases: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let message = format!(
        "{} given to {}, which extends {} of another file: what the keys it takes there do with {} cannot be followed, and counts as printed",
        match secrets.as_slice() {
            [one] => format!("secret {one} is"),
            many => format!("secrets {} are", many.join(", ")),
        },
        cx.job.describe(),
        bases.join(", "),
        if secrets.len() == 1 { "it" } else { "them" },
    );
    let mut d = Diagnostic::new(RULE.code, RULE.severity(), value.origin, message)
        .with_label("GitLab merges these into the job: their scripts, services and hooks run with its variables")
        .with_help("give the secret to a job of its own that extends nothing of another file, or write what the hidden job does in this job (`from` a template)");
    for u in &uses {
        d = d.with_secondary(u.at, format!("secret `{}` given here", u.secret));
    }
    Some(d)
}
