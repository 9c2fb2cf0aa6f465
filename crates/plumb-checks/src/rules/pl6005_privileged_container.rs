//! PL6005 privileged-container: A container is started with the powers of the runner's host.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6005,
    summary: r####"A container is started with the powers of the runner's host."####,
    explanation: r####"`docker run --privileged`, a mounted Docker socket (`-v /var/run/docker.sock:/var/run/docker.sock`), and the host's network or PID namespace (`--network host`, `--pid host`) let what runs in the container take over the machine the runner runs on, and every other job it runs. A Docker-in-Docker service (`docker:…-dind`) with TLS turned off (`DOCKER_TLS_CERTDIR = ""`) takes commands from anyone on the job's network. Run the container without them; build images with a rootless builder (BuildKit rootless, kaniko, buildah)."####,
    bad: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["docker run --privileged registry.example.com/tools/scan:1.2.0 ."] } } }"####,
    good: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["docker run --rm registry.example.com/tools/scan:1.2.0 ."] } } }"####,
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
