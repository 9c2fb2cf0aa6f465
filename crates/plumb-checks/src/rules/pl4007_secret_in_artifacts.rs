//! PL4007 secret-in-artifacts: A secret written to a file that the job keeps as an artifact (or in its cache).

use crate::creds::Leak;
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4007,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let Leak::Artifact {
            path,
            artifact,
            cache,
        } = &f.leak
        else {
            continue;
        };
        let d = match cache {
            false => Diagnostic::new(RULE.code, RULE.severity(), f.at, format!("{} is written to `{path}`, which the artifact path `{artifact}` keeps", f.subject())).with_label("written into an artifact").with_help("write it outside the artifact paths (e.g. under /tmp), or remove the file before the job ends"),
            true => Diagnostic::new(RULE.code, RULE.severity(), f.at, format!("{} is written to `{path}`, which the cache path `{artifact}` keeps for later jobs", f.subject())).with_label("written into the cache").with_help("write it outside the cache paths (e.g. under /tmp), or remove the file before the job ends"),
        };
        let mut d = d;
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
