//! PL4003 secret-printed: A secret variable printed to the job log.

use crate::creds::Leak;
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4003,
    summary: r####"A secret variable printed to the job log."####,
    explanation: r####"Job logs are readable by everyone with access to the project, kept for months, and often copied into issues. Reported for `echo`/`printf` of a variable bound to a secret, `cat <<<` or a here-doc with it, `printenv` (with no argument or the variable's name), bare `env`, `set` or `export -p`, `declare -p NAME`, `cat /proc/self/environ`, redirections to `/dev/stdout`, `/dev/stderr`, `/dev/fd/1|2` or `/dev/tty` (and `tee /dev/stderr`), filters that pass their input on (`rev`, `base64`, `sed`, …), and `set -x`/`bash -x`/`shopt -os xtrace` while a secret is bound (the shell then prints every command with its expanded values). Commands after `then`, `do`, `else`, `{`, `(`, `&&` and `||` on the same line are read like any other, and `read X <<< "$T"` makes `X` a copy of the secret.

A secret whose use the checker cannot follow counts as printed: handed to `eval`, to `sh -c`/`bash -c` or a `trap` string (single-quoted or not), to `xargs`, read by indirect expansion `${!name}`, or fed to a shell through a pipe or a here-doc. Rewrite such a script so the secret goes straight to the program that needs it.

The secrets followed are those bound in `env`, and the project variables declared with `ci_variable("NAME")` that the script reads by name (`$NAME`): on GitLab every job can read a project variable, bound or not.

Output sent to a pipe or a file is not printed: `echo "$PW" | docker login --password-stdin` is the right way to hand a secret to a program."####,
    bad: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["echo $T", "./deploy"] } } }"####,
    good: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["echo \"$T\" | ./deploy --token-stdin"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for f in cx.script_findings() {
        let (message, label) = match &f.leak {
            Leak::Printed { command } => (
                format!("secret `{}` is printed to the job log by `{command}`", f.secret),
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
        let mut d = Diagnostic::new(RULE.code, RULE.severity(), f.at, message).with_label(label).with_help("send it to the program through a pipe or a file instead (`echo \"$T\" | tool --password-stdin`), never build commands from it (`eval`, `sh -c`), and never enable `set -x` in a job that holds secrets");
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        out.push(d);
    }
}
