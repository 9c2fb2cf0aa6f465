//! Table of the shell forms the credential rules must follow: each script runs in a job
//! with `env = { TOKEN = t }` (a pinned image, a pipeline that never runs for merge
//! requests), and the table says which PL4xxx codes it reports. Every leaking form was
//! verified to print the value with bash; every clean form does not.

mod common;

use plumb_config::Config;
use plumb_db::{Database, Origin};
use std::path::Path;

const IMAGE: &str =
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

/// The PL4xxx codes reported for a job running `script` (one script line per entry).
fn codes(script: &str, extra: &str) -> Vec<&'static str> {
    let run = plumb_string(script);
    let program = format!(
        "secret t = ci_variable(\"DEPLOY_TOKEN\")\n{extra}\npipeline p {{\n  on = branch == \"main\"\n  stage s {{\n    job j {{\n      image = \"{IMAGE}\"\n      env   = {{ TOKEN = t }}\n      artifacts = [\"out/\"]\n      run   = [{run}]\n    }}\n  }}\n}}\n"
    );
    let db = Database::default();
    let files = vec![("main.plumb".to_string(), program.clone())];
    let (ws, sources) = common::load(
        &db,
        Path::new("/t"),
        &files,
        Origin::Disk,
        Config::default(),
    );
    let mut codes: Vec<&'static str> = plumb_db::check_file(&db, ws, sources[0])
        .iter()
        .map(|d| d.code.as_str())
        .filter(|c| c.starts_with("PL") && !c.starts_with("PL3"))
        .collect();
    codes.sort();
    codes.dedup();
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("PL0") || c.starts_with("PL1")),
        "{program}: {codes:?}"
    );
    codes
}

/// `text` as a Plumb string literal (`${` escaped: it is shell, not interpolation).
fn plumb_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace("${", "\\${");
    format!("\"{escaped}\"")
}

/// (script, codes it must report); an empty list means clean.
const FORMS: &[(&str, &[&str])] = &[
    // wrappers run the command after their options: the command is still the one
    ("sudo -E -u deploy docker login -p $TOKEN", &["PL4004"]),
    (
        "env HOME=/tmp timeout -s KILL 60 curl -H \"auth: $TOKEN\" x",
        &["PL4004"],
    ),
    ("nice -n 5 echo $TOKEN", &["PL4003"]),
    // compound commands: the command after the reserved word is read
    ("if true; then echo $TOKEN; fi", &["PL4003"]),
    ("if true; then :; else echo \"$TOKEN\"; fi", &["PL4003"]),
    // an assignment after a reserved word belongs to the command after it
    (
        "if true; then LANG=C curl -u \"ci:$TOKEN\" https://x; fi",
        &["PL4004"],
    ),
    (
        "for i in 1; do curl -u ci:$TOKEN https://x; done",
        &["PL4004"],
    ),
    ("while false; do :; done && echo $TOKEN", &["PL4003"]),
    ("true || echo $TOKEN", &["PL4003"]),
    ("{ echo $TOKEN; }", &["PL4003"]),
    ("( echo $TOKEN )", &["PL4003"]),
    ("! echo $TOKEN", &["PL4003"]),
    ("f() { echo $TOKEN; }; f", &["PL4003"]),
    ("case x in x) echo $TOKEN ;; esac", &["PL4003"]),
    ("until false; do echo $TOKEN; done", &["PL4003"]),
    // uses that cannot be followed count as printed
    ("eval 'echo $TOKEN'", &["PL4003"]),
    ("eval \"echo $TOKEN\"", &["PL4003"]),
    ("sh -c 'echo $TOKEN'", &["PL4003"]),
    ("bash -c \"curl -H token:$TOKEN x\"", &["PL4003", "PL4004"]),
    ("trap 'echo $TOKEN' EXIT", &["PL4003"]),
    ("echo $TOKEN | xargs -I{} curl -H {} x", &["PL4003"]),
    ("echo \"$TOKEN\" | sh", &["PL4003"]),
    ("cat <<'EOF' | sh\necho $TOKEN\nEOF", &["PL4003"]),
    ("sh <<EOF\necho $TOKEN\nEOF", &["PL4003"]),
    ("bash <<'EOF'\necho $TOKEN\nEOF", &["PL4003"]),
    ("name=TOKEN; echo ${!name}", &["PL4003"]),
    // printing in other ways
    ("declare -p TOKEN", &["PL4003"]),
    ("typeset -p TOKEN", &["PL4003"]),
    ("cat /proc/self/environ", &["PL4003"]),
    ("tr '\\0' '\\n' < /proc/self/environ", &["PL4003"]),
    ("echo $TOKEN > /dev/stderr", &["PL4003"]),
    ("echo $TOKEN >/dev/stdout", &["PL4003"]),
    ("echo $TOKEN > /dev/fd/1", &["PL4003"]),
    ("echo $TOKEN 1>/dev/fd/2", &["PL4003"]),
    ("echo $TOKEN > /dev/tty", &["PL4003"]),
    (
        "echo \"$TOKEN\" | tee /dev/stderr | docker login --password-stdin",
        &["PL4003"],
    ),
    ("read X <<< \"$TOKEN\"; echo $X", &["PL4003"]),
    ("echo \"$TOKEN\" | rev", &["PL4003"]),
    ("echo \"$TOKEN\" | base64", &["PL4003"]),
    ("printf '%s' \"$TOKEN\" | sed s/a/b/", &["PL4003"]),
    ("X=$TOKEN; echo $X", &["PL4003"]),
    ("export X=\"$TOKEN\"; printf '%s' \"$X\"", &["PL4003"]),
    ("echo $TOKEN > out/token.txt", &["PL4007"]),
    // process substitution: its reader is followed, and so is what it sends to stderr
    ("cat <(echo \"$TOKEN\")", &["PL4003"]),
    ("source <(echo \"export X=$TOKEN\")", &["PL4003"]),
    (
        "read -r X < <(printf '%s' \"$TOKEN\"); echo $X",
        &["PL4003"],
    ),
    ("./deploy <(echo \"$TOKEN\" >&2)", &["PL4003"]),
    ("echo \"$TOKEN\" | tee >(sha256sum)", &["PL4003"]),
    ("./deploy <(printf $'it\\'s'); echo $TOKEN", &["PL4003"]),
    ("/usr/bin/base64 <<< \"$TOKEN\"", &["PL4003"]),
    ("diff <(echo \"$TOKEN\") expected.txt", &["PL4003"]),
    ("cp <(echo \"$TOKEN\") out/token", &["PL4007"]),
    // command substitution: its commands run, their output is the word's text
    ("X=$(curl -u \"ci:$TOKEN\" https://x)", &["PL4004"]),
    ("[[ -n $(curl -u ci:$TOKEN https://x) ]]", &["PL4004"]),
    ("X=`curl -H token:$TOKEN https://x`", &["PL4004"]),
    ("X=$(echo $(curl -u ci:$TOKEN https://x))", &["PL4004"]),
    ("X=$(echo \"$TOKEN\" >&2)", &["PL4003"]),
    ("X=$(echo \"$TOKEN\" | base64); echo $X", &["PL4003"]),
    ("X=$(echo \"$TOKEN\" > out/token)", &["PL4007"]),
    // forms that print or hold the secret without naming it to a printer
    ("declare -x", &["PL4003"]),
    ("typeset -x", &["PL4003"]),
    ("declare", &["PL4003"]),
    ("declare -f", &[]),
    ("declare -x X=1; ./deploy", &[]),
    ("bash -o xtrace ./deploy.sh", &["PL4003"]),
    ("SHELLOPTS=xtrace bash ./deploy.sh", &["PL4003"]),
    ("env SHELLOPTS=xtrace bash ./deploy.sh", &["PL4003"]),
    ("arr=(\"$TOKEN\"); echo \"${arr[@]}\"", &["PL4003"]),
    ("arr=(\"$TOKEN\"); echo \"${#arr[@]}\"", &[]),
    ("set -- \"$TOKEN\"; echo \"$1\"", &["PL4003"]),
    ("set -- a \"$TOKEN\"; printf '%s' \"$@\"", &["PL4003"]),
    ("set -- a b; echo \"$1\"; echo \"$TOKEN\" | docker login --password-stdin r", &[]),
    ("echo \"$TOKEN\" > /tmp/t; cat /tmp/t", &["PL4003"]),
    ("printf %s \"$TOKEN\" > t.txt; base64 < t.txt", &["PL4003"]),
    ("echo \"$TOKEN\" > /tmp/t; docker login --password-stdin r < /tmp/t", &[]),
    ("for t in \"$TOKEN\"; do echo $t; done", &["PL4003"]),
    ("for t in a b; do echo $t; done", &[]),
    ("while read -r t; do echo $t; done <<< \"$TOKEN\"", &["PL4003"]),
    ("echo \"$TOKEN\" | while read -r t; do echo $t; done", &["PL4003"]),
    ("while read -r t; do ./use \"$t\"; done <<< \"$TOKEN\"", &["PL4004"]),
    ("jq -n env", &["PL4003"]),
    ("jq -n '$ENV.TOKEN'", &["PL4003"]),
    ("jq -r .env config.json", &[]),
    ("python3 -c 'import os; print(os.environ[\"TOKEN\"])'", &["PL4003"]),
    ("node -e 'console.log(process.env.TOKEN)'", &["PL4003"]),
    ("ruby -e 'puts ENV[\"TOKEN\"]'", &["PL4003"]),
    ("python3 -c 'import os; print(dict(os.environ))'", &["PL4003"]),
    ("python3 -c 'import os; print(os.environ.get(\"HOME\"))'", &[]),
    ("python3 -c 'import os, requests; requests.get(\"x\", auth=(\"u\", os.environ[\"TOKEN\"]))'", &[]),
    ("printf -v AUTH '%s' \"$TOKEN\"", &[]),
    ("printf -v AUTH 'Bearer %s' \"$TOKEN\"; echo \"$AUTH\"", &["PL4003"]),
    ("echo \"${TOKEN//?/*}\"", &[]),
    // `unset` is not followed (in a subshell or after `false &&` it unsets nothing)
    ("unset TOKEN; printenv", &["PL4003"]),
    ("( unset TOKEN ); printenv", &["PL4003"]),
    ("echo \"${TOKEN//?/&}\"", &["PL4003"]),
    ("set -- a \"$TOKEN\"; shift; echo \"$1\"", &["PL4003"]),
    ("set -- \"$TOKEN\"; for x; do echo \"$x\"; done", &["PL4003"]),
    ("echo \"$TOKEN\" > /tmp/t; echo hello > /tmp/t; cat /tmp/t", &[]),
    ("echo \"$TOKEN\" > /tmp/t; echo more >> /tmp/t; cat /tmp/t", &["PL4003"]),
    ("env -u TOKEN", &[]),
    ("env -u OTHER", &["PL4003"]),
    ("echo $TOKEN > //dev/stderr", &["PL4003"]),
    ("echo $TOKEN > /dev/./stderr", &["PL4003"]),
    ("echo $TOKEN > /proc/$$/fd/1", &["PL4003"]),
    ("echo $TOKEN > /proc/self/fd/3", &[]),
    ("echo \"$TOKEN\" |& cat", &["PL4003"]),
    ("echo \"$TOKEN\" | (cat)", &["PL4003"]),
    ("awk 'BEGIN { print ENVIRON[\"TOKEN\"] }'", &["PL4003"]),
    ("awk '{ print $1 }' file.txt", &[]),
    ("set -- \"$TOKEN\"; shift 18446744073709551615; echo \"$1\"", &[]),
    // safe forms
    ("X=$(echo \"$TOKEN\" | base64)", &[]),
    (
        "ID=$(printf '%s' \"$TOKEN\" | docker login -u ci --password-stdin r)",
        &[],
    ),
    ("N=$(( ${#TOKEN} + 1 )); echo $N", &[]),
    ("X=$(curl -s -H @/tmp/h https://x); echo $X", &[]),
    ("echo \"length $(printf %s \"$TOKEN\" | wc -c)\"", &[]),
    (
        "echo \"id $(printf %s \"$TOKEN\" | sha256sum | cut -c1-12)\"",
        &[],
    ),
    // a function's arguments are not followed into its body: a use that cannot be
    // followed counts as printed (it runs in the shell: no process's argument)
    (
        "login() { printf %s \"$1\" | docker login --password-stdin r; }; login \"$TOKEN\"",
        &["PL4003"],
    ),
    // what a command the scan does not follow outputs may hold the secret
    (
        "X=$(echo \"$TOKEN\" | openssl base64); echo \"$X\"",
        &["PL4003"],
    ),
    // a secret obtained with one, named as one, is one
    (
        "VAULT_TOKEN=$(curl -s https://v/login <<< \"$TOKEN\" | jq -r .token); echo $VAULT_TOKEN",
        &["PL4003"],
    ),
    ("echo ${!TOK*} ${!TOK@}", &[]),
    ("./deploy --token-file <(printf '%s' \"$TOKEN\")", &[]),
    ("grep -q x <<< \"$TOKEN\"", &[]),
    // the environment filtered by grep: only lines that can be a secret's count
    ("env | grep ^GO", &[]),
    ("env | sort | grep BASE_IMAGES_VERSION", &[]),
    ("printenv | grep -e CI_ -e GOPATH=", &[]),
    ("env | grep TOKEN", &["PL4003"]),
    ("env | grep -i token", &["PL4003"]),
    ("env | grep -v PATH", &["PL4003"]),
    ("env | grep 'A.*'", &["PL4003"]),
    ("env | grep \"$PATTERN\"", &["PL4003"]),
    ("env | egrep ^GO", &["PL4003"]),
    ("printenv TOKEN | grep x", &["PL4003"]),
    ("env | grep -m 1 TOKEN", &["PL4003"]),
    ("env | grep -E 'X=|TOKEN'", &["PL4003"]),
    ("env | grep 'X=\\|TOKEN'", &["PL4003"]),
    ("env | grep -C 50 HOME", &["PL4003"]),
    ("env | grep -z HOME", &["PL4003"]),
    ("env | grep -y token", &["PL4003"]),
    ("env | tr '\\n' ' ' | grep HOME", &["PL4003"]),
    ("cat /proc/self/environ | grep -a HOME", &["PL4003"]),
    ("env | grep -iw ^go", &[]),
    // `&&` and `||` inside `[[ … ]]` join tests: the test after them is no command
    (
        "if [[ -n \"$USER\" && -n \"${TOKEN}\" ]]; then echo ok; fi",
        &[],
    ),
    ("[[ -z $TOKEN || $TOKEN < x ]] && echo set", &[]),
    (
        "[[ -n $USER ]] && curl -u \"me:$TOKEN\" https://x",
        &["PL4004"],
    ),
    // a command after `||` inside `[[` runs where `[[` is no keyword (dash, busybox)
    (
        "[[ -n \"$USER\" || curl -u \"ci:$TOKEN\" https://x ]]",
        &["PL4004"],
    ),
    ("X=1 [[ -n \"$X\" || echo \"$TOKEN\" ]]", &["PL4003"]),
    (
        "echo \"$TOKEN\" | docker login -u ci --password-stdin registry",
        &[],
    ),
    ("echo '$TOKEN'", &[]),
    ("echo ${#TOKEN}", &[]),
    ("if [ -n \"$TOKEN\" ]; then ./deploy; fi", &[]),
    ("echo $TOKEN > /dev/null", &[]),
    (
        "echo $TOKEN > /tmp/token && ./deploy --token-file /tmp/token",
        &[],
    ),
    ("read X <<< \"$TOKEN\"; ./deploy", &[]),
    ("sh -c './deploy.sh'", &[]),
    ("eval \"$(ssh-agent -s)\"", &[]),
    ("# echo $TOKEN\n./deploy", &[]),
    ("X=$TOKEN; X=safe; echo $X", &[]),
    ("for i in 1 2; do echo $i; done", &[]),
];

#[test]
fn every_shell_form() {
    let mut wrong = Vec::new();
    for (script, expected) in FORMS {
        let got = codes(script, "");
        if got != *expected {
            wrong.push(format!("{script:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A `ci_variable("NAME")` is a project variable: a job that reads `$NAME` uses it, bound
/// or not.
#[test]
fn project_variables_read_by_name_are_followed() {
    let extra = "secret deploy = ci_variable(\"DEPLOY_KEY\")";
    assert_eq!(codes("echo $DEPLOY_KEY", extra), ["PL4003"]);
    assert_eq!(codes("curl -H \"k: ${DEPLOY_KEY}\" x", extra), ["PL4004"]);
    assert_eq!(codes("./deploy", extra), Vec::<&str>::new());
    assert_eq!(codes("echo '# $DEPLOY_KEYS'", extra), Vec::<&str>::new());
}
