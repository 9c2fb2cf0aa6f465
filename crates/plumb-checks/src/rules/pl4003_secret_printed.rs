//! PL4003 secret-printed: A secret variable printed to the job log.

use crate::creds::Leak;
#[allow(unused_imports)]
use crate::{FileCx, JobCx, PipelineCx, Rule, RuleMeta};
use plumb_diagnostics::{Diagnostic, Severity};

pub static RULE: RuleMeta = RuleMeta {
    code: "PL4003",
    name: "secret-printed",
    severity: Severity::Error,
    summary: r####"A secret variable printed to the job log."####,
    explanation: r####"Job logs are readable by everyone with access to the project, kept for months, and often copied into issues. Reported for `echo`/`printf` of a variable bound to a secret, `cat <<<` or a here-doc with it, `printenv` (with no argument or the variable's name), bare `env`, `set` or `export -p`, and `set -x`/`bash -x` while a secret is bound (the shell then prints every command with its expanded values). Output sent to a pipe or a file is not printed: `echo "$PW" | docker login --password-stdin` is the right way to hand a secret to a program."####,
    bad: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["echo $T", "./deploy"] } } }"####,
    good: r####"secret t = ci_variable("T")
pipeline p { on = branch == "main"
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { T = t }, run = ["echo \"$T\" | ./deploy --token-stdin"] } } }"####,
};

pub struct Check;

impl Rule for Check {
    fn meta(&self) -> &'static RuleMeta {
        &RULE
    }

    fn check_job(&self, cx: &JobCx, out: &mut Vec<Diagnostic>) {
        for f in cx.script_findings() {
            let (Leak::Printed { command } | Leak::Xtrace { command }) = &f.leak else {
                continue;
            };
            let mut d = Diagnostic::new(RULE.code, RULE.severity, f.at, format!("secret `{}` is printed to the job log by `{command}`", f.secret)).with_label(if matches!(f.leak, Leak::Xtrace { .. }) { "the shell echoes every command with its values" } else { "printed here" }).with_help("send it to the program through a pipe or a file instead (`echo \"$T\" | tool --password-stdin`), and never enable `set -x` in a job that holds secrets");
            if let Some(bound) = f.bound_at {
                d = d.with_secondary(bound, format!("secret `{}` is bound here", f.secret));
            }
            out.push(d);
        }
    }
}
