//! PL6002 download-and-execute: A downloaded script is run without a checksum or signature check.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6002,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    out.extend(
        crate::supply::download_and_execute(cx)
            .into_iter()
            .map(|hit| {
                hit.into_diagnostic(
                    &RULE,
                    "download to a file, verify it (`sha256sum -c`, `gpg --verify`), then run it",
                )
            }),
    );
}
