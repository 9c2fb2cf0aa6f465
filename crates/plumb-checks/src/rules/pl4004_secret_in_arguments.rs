//! PL4004 secret-in-arguments: A secret variable passed as a command-line argument.

use crate::creds::Leak;
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4004,
    summary: r####"A secret variable passed as a command-line argument."####,
    explanation: r####"Command-line arguments are visible to every process on the machine (`ps`, `/proc/*/cmdline`) and often end up in error messages and audit logs. Reported when a variable bound to a secret is expanded in an argument of an external command: `curl -u user:$T`, `--password $T`, `-p $T`, `--token=$T`. Give it on standard input (`--password-stdin`) or in a file (`--password-file`, `curl --netrc-file`), or let the program read the environment variable itself."####,
    bad: r####"secret pw = ci_variable("REGISTRY_PASSWORD")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { PW = pw }, run = ["docker login -u ci -p $PW registry.example.com"] } } }"####,
    good: r####"secret pw = ci_variable("REGISTRY_PASSWORD")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { PW = pw }, run = ["echo \"$PW\" | docker login -u ci --password-stdin registry.example.com"] } } }"####,
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
