//! PL4007 secret-in-artifacts: A secret written to a file that the job keeps as an artifact.

use crate::creds::Leak;
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4007,
    summary: r####"A secret written to a file that the job keeps as an artifact."####,
    explanation: r####"Artifacts are uploaded, kept and downloadable by anyone who can read the pipeline. Reported when a command that outputs a secret variable (`echo`, `printf`, `cat` of a here-doc, `printenv`, `env`, `tee`) writes into a path under one of the job's `artifacts`."####,
    bad: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, artifacts = ["out/"], run = ["echo $T > out/token.txt", "./build --out out/"] } } }"####,
    good: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, artifacts = ["out/"], run = ["echo $T > /tmp/token.txt", "./build --token-file /tmp/token.txt --out out/"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let Leak::Artifact { path, artifact } = &f.leak else {
            continue;
        };
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), f.at, format!("secret `{}` is written to `{path}`, which the artifact path `{artifact}` keeps", f.secret)).with_label("written into an artifact").with_help("write it outside the artifact paths (e.g. under /tmp), or remove the file before the job ends");
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
