//! PL6005 privileged-container: A container is started with the powers of the runner's host.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6005,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let dind = crate::supply::insecure_dind(cx);
    out.extend(
        crate::supply::privileged_containers(cx)
            .into_iter()
            .chain(dind)
            .map(|hit| {
                hit.into_diagnostic(&RULE, "drop the flag; use a rootless builder for images")
            }),
    );
}
