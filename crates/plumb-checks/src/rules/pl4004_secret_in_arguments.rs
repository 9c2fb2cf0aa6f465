//! PL4004 secret-in-arguments: A secret variable passed as a command-line argument.

use crate::creds::{Leak, ScriptFinding};
use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL4004,
    job: check_job,
}

/// How to hand a secret on without leaking it, when the program has no way of its own.
const HELP: &str =
    "pass it on standard input or in a file, or let the program read the environment variable";

/// How `program` takes a secret without its command line: what the tool documents.
fn help_for(program: &str) -> &'static str {
    match crate::supply::base(program) {
        "docker" | "podman" | "nerdctl" | "buildah" | "skopeo" | "crane" | "oras" | "regctl" | "cosign" => {
            "log in with the password on standard input (`echo \"$T\" | docker login -u USER --password-stdin REGISTRY`); a build takes a secret with `--secret id=NAME,env=VAR`, never `--build-arg`"
        }
        "curl" => "give curl the credential from standard input or a file: a header with `-H @-` or `-H @FILE` (curl 7.55+), `-u`/`url` in a config read with `-K -`, or `--netrc-file`",
        "wget" => "put the credential in a `.netrc` file, or in a file read with `--config`",
        "git" => "give git the token through a credential helper or `GIT_ASKPASS`, not in the URL or a `-c` option",
        "helm" => "give helm the value in a file or on standard input (`--set-file KEY=FILE`, `-f -`), not with `--set`; `helm registry login` takes `--password-stdin`",
        "kubectl" | "oc" => "pass it through a file or standard input (`--from-file=KEY=/dev/stdin`, `--from-env-file`), or a kubeconfig file instead of `--token`",
        "mysql" | "mysqldump" | "mysqladmin" | "mariadb" | "mariadb-dump" => "set `MYSQL_PWD` for the command, or give the password in a file with `--defaults-extra-file`",
        "psql" | "pg_dump" | "pg_dumpall" | "pg_restore" | "createdb" | "dropdb" | "pg_isready" => "set `PGPASSWORD` for the command, or use a `.pgpass` file (also for a password inside a connection URL)",
        "sshpass" => "use `sshpass -e` (it reads `SSHPASS`) or `sshpass -f FILE`",
        "aws" => "let the CLI read its credentials from the environment (`AWS_SECRET_ACCESS_KEY`; for an ID token, `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`) instead of options",
        "vault" => "give `vault write` the value as `KEY=@FILE` or `KEY=-` (standard input), and `vault login` the token on standard input (`vault login -`)",
        "twine" => "set `TWINE_USERNAME` and `TWINE_PASSWORD` for the command",
        "terraform" | "tofu" => "set `TF_VAR_NAME` for a `-var`, or write the value to a `.tfvars` file; give `-backend-config` a file, or set the backend's own variable (`TF_HTTP_PASSWORD` for GitLab's state)",
        "gradle" | "gradlew" => "set `ORG_GRADLE_PROJECT_NAME` for a `-PNAME=…` property (Gradle reads it as the project property), not the value on the command line",
        "mvn" | "mvnw" => "read it in `settings.xml` as `${env.NAME}` (Maven expands the environment variable), not a `-D` property on the command line",
        "gh" => "log in with the token on standard input (`gh auth login --with-token < FILE`), or set `GH_TOKEN`",
        "glab" => "log in with the token on standard input (`glab auth login --stdin`), or set `GITLAB_TOKEN`",
        "npm" | "yarn" | "pnpm" => "write `//REGISTRY/:_authToken=${NPM_TOKEN}` into `.npmrc` (npm reads the variable itself), not the token on the command line",
        "sed" => "fill the template with `envsubst` (it reads the environment) or a sed script in a file (`sed -f FILE`)",
        "jq" | "yq" => "let jq read the environment (`env.NAME`, `$ENV.NAME`) or a file (`--rawfile NAME FILE`) instead of `--arg`",
        "ssh" => "send it on the remote command's standard input (`echo \"$T\" | ssh HOST 'tool --password-stdin'`), not in the remote command line",
        script if script.ends_with(".sh") || program.starts_with("./") => {
            "let the script read the environment variable (the job's variables reach it) instead of an argument"
        }
        _ => HELP,
    }
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let mut reported = Vec::new();
    for f in cx.script_findings() {
        let Leak::Argument { command } = &f.leak else {
            continue;
        };
        let help = match f.from_file {
            true => ScriptFinding::FILE_HELP,
            false => help_for(command),
        };
        let mut d = Diagnostic::new(
            RULE.code,
            RULE.severity(),
            f.at,
            format!(
                "{} is passed to `{command}` as a command-line argument",
                f.subject()
            ),
        )
        .with_label("visible in process listings")
        .with_help(help);
        if let Some(bound) = f.bound_at {
            d = d.with_secondary(bound, f.bound_label());
        }
        reported.push(f.at);
        out.push(d);
    }
    passwords_from_elsewhere(cx, &reported, out);
}

/// `docker login -p "$DOCKERHUB_PWD"`: a variable given where a program takes its password
/// holds one, whatever its name says. One the job's `env` sets or the script assigns is
/// PL4001's (a literal) or a secret the scan above follows; one from elsewhere (the CI/CD
/// settings) is a password on the command line all the same.
fn passwords_from_elsewhere(
    cx: &JobCx,
    reported: &[plumb_diagnostics::FileRange],
    out: &mut Vec<Diagnostic>,
) {
    let scripts = cx.scripts();
    // assigned, a loop's variable (`for P in …`), or read (`read -r P`)
    let set_by = |c: &'_ crate::shell::Command| -> Vec<String> {
        let mut names: Vec<String> = c
            .assigned_words()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let args = c.args();
        match c.name() {
            Some("for") => names.extend(args.first().map(|a| a.text.clone())),
            Some("read") => names.extend(
                args.iter()
                    .filter(|a| !a.text.starts_with('-'))
                    .map(|a| a.text.clone()),
            ),
            _ => {}
        }
        names
    };
    let assigned: std::collections::HashSet<String> = (scripts.iter())
        .flat_map(|s| s.commands.iter())
        .flat_map(set_by)
        .collect();
    let set_here = |name: &str| {
        assigned.contains(name)
            || cx.job.env.iter().any(|b| b.name == name)
            || (name.starts_with("CI_") || name.starts_with("GITLAB_"))
                && !crate::rules::secret_patterns::credential_name(name)
    };
    for script in scripts.iter() {
        let locate = crate::creds::Locator::new(cx.sources, script.text, script.origin);
        for cmd in &script.commands {
            // builtins, PowerShell's cmdlets and assignments run in the shell's process
            let Some((program, args)) = cmd
                .name()
                .and_then(|name| crate::creds::external_program(cmd, name))
            else {
                continue;
            };
            let program = crate::supply::base(program);
            for operand in crate::rules::password_options::password_operands(program, args) {
                let word = operand.word;
                let [var] = word.vars.as_slice() else {
                    continue;
                };
                let whole = [format!("${}", var.name), format!("${{{}}}", var.name)];
                let positional = var.name.chars().all(|c| c.is_ascii_digit());
                if !whole.iter().any(|w| w == operand.text) || set_here(&var.name) || positional {
                    continue;
                }
                let at = locate.range(word.start, word.end);
                if reported.iter().any(|r| {
                    r.file == at.file
                        && r.range.start < at.range.end
                        && at.range.start < r.range.end
                }) {
                    continue;
                }
                let option = operand.option;
                out.push(
                    Diagnostic::new(RULE.code, RULE.severity(), at, format!("`${}` is passed to `{program}` as its password (`{option}`) on the command line", var.name))
                        .with_label("visible in process listings")
                        .with_help(help_for(program)),
                );
            }
        }
    }
}
