//! PL6002 download-and-execute: A downloaded script is run without a checksum or signature check.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6002,
    summary: r####"A downloaded script is run without a checksum or signature check."####,
    explanation: r####"`curl … | sh`, `wget -O- … | bash`, `bash <(curl …)`, `source <(…)`, `eval "$(curl …)"` and a downloaded file run with no `sha256sum -c`, `gpg --verify` or `cosign verify` before it all run whatever the server sends that day: a compromised host, a hijacked domain or a man in the middle runs code in the job, with its secrets. Download to a file, check it against a digest kept in the repository, then run it."####,
    bad: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["curl -fsSL https://get.example.com/install.sh | sh"] } } }"####,
    good: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["curl -fsSL -o install.sh https://get.example.com/install.sh", "echo \"4c2b…  install.sh\" | sha256sum -c -", "sh install.sh"] } } }"####,
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
