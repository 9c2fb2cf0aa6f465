//! PL4001 hardcoded-credential: A credential written into the source.

use crate::rules::{locate_in_literal, secret_patterns};
#[allow(unused_imports)]
use crate::{FileCx, JobCx, PipelineCx, Rule, RuleMeta};
use plumb_diagnostics::{Diagnostic, Severity};
use plumb_semantics::ValueKind;

pub static RULE: RuleMeta = RuleMeta {
    code: "PL4001",
    name: "hardcoded-credential",
    severity: Severity::Error,
    summary: r####"A credential written into the source."####,
    explanation: r####"A credential in a `.plumb` file is in the repository's history for ever, and in every generated file and clone. Reported for literals that look like credentials (private key blocks, AWS `AKIA…` access keys, GitLab `glpat-…`, GitHub `ghp_…`/`github_pat_…` and Slack `xox…` tokens, `scheme://user:password@host` URLs) and for a non-empty literal bound to an environment variable whose name contains `TOKEN`, `PASSWORD`, `PASSWD`, `SECRET`, `API_KEY` or `PRIVATE_KEY` (a `$OTHER_VARIABLE` reference is not a literal). URLs without a password, image digests, commit SHAs and UUIDs are not reported. Rotate the credential, then declare it as a `secret`."####,
    bad: r####"pipeline web {
  stage deploy {
    job push { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { GITHUB_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }, run = ["./push.sh"] }
  }
}"####,
    good: r####"secret github_token = ci_variable("GITHUB_TOKEN")
pipeline web {
  on = branch == "main"
  stage deploy {
    job push { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", env = { GITHUB_TOKEN = github_token }, run = ["./push.sh"] }
  }
}"####,
};

pub struct Check;

impl Rule for Check {
    fn meta(&self) -> &'static RuleMeta {
        &RULE
    }

    fn check_file(&self, cx: &FileCx, out: &mut Vec<Diagnostic>) {
        let text = cx.text;
        for lit in crate::rules::string_literals(&cx.parse.tree) {
            for (kind, start, end) in secret_patterns::find(&lit.text) {
                let at = locate_in_literal(text, cx.file, lit.range, &lit.text[start..end]);
                out.push(
                    Diagnostic::new(RULE.code, RULE.severity, at, format!("hard-coded credential: this looks like {kind}"))
                        .with_label("a credential in the source")
                        .with_help("rotate it now, then declare it as a secret (`secret NAME = ci_variable(\"NAME\")`) and bind it in `env`"),
                );
            }
        }
        for p in &cx.model.pipelines {
            for b in p.env.iter().chain(p.jobs.iter().flat_map(|j| j.env.iter())) {
                let ValueKind::Str(value) = &b.value.kind else {
                    continue;
                };
                if b.value.origin.file != cx.file
                    || !secret_patterns::credential_name(&b.name)
                    || !secret_patterns::is_literal_credential(value)
                {
                    continue;
                }
                if !secret_patterns::find(value).is_empty() {
                    continue; // already reported above, with the kind
                }
                out.push(
                    Diagnostic::new(RULE.code, RULE.severity, b.value.origin, format!("hard-coded credential: `{}` is set to a literal value", b.name))
                        .with_label("a credential in the source")
                        .with_secondary(b.name_at, "the variable's name says it holds a credential")
                        .with_help(format!("declare a secret and bind it: `secret {} = ci_variable(\"{}\")`, then `{} = {}`",
                            b.name.to_lowercase(), b.name, b.name, b.name.to_lowercase())),
                );
            }
        }
    }
}
