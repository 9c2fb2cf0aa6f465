//! Commands whose standard output is a secret they fetch or make: a registry password
//! (`aws ecr get-login-password`), a cloud access token (`gcloud auth print-access-token`),
//! a secret store's value (`vault kv get`, `aws secretsmanager get-secret-value`), a
//! decrypted file (`sops -d`). The script then holds a secret no `env` binding names;
//! [`crate::creds`] follows it like one (PL4003, PL4004, PL4007).

use crate::shell::Command;

/// One kind of fetch: the program, the words that name what it does (consecutive
/// among its arguments, a trailing `s` or `/NAME` allowed: `secrets/app`), options one of
/// which it needs to output the secret (none: always), and options that keep it from
/// printing it.
struct Fetcher {
    program: &'static str,
    action: &'static [&'static str],
    needs_one_of: &'static [&'static str],
    unless: &'static [&'static str],
}

const fn fetch(program: &'static str, action: &'static [&'static str]) -> Fetcher {
    Fetcher {
        program,
        action,
        needs_one_of: &[],
        unless: &[],
    }
}

/// `terraform output -raw NAME`, `terraform output NAME` (OpenTofu's `tofu` too): the
/// output's value itself, shown even when the output is marked sensitive (only the
/// list of every output, `terraform output`, hides those).
const fn output_of(program: &'static str) -> Fetcher {
    fetch(program, &["output"])
}

/// `sops -d`, `sops --decrypt`, `sops decrypt`: the plain text, to standard output
/// unless written back or to a file.
const fn sops_decrypt(action: &'static [&'static str]) -> Fetcher {
    Fetcher {
        unless: &["-i", "--in-place", "--output"],
        ..fetch("sops", action)
    }
}

/// `gpg --decrypt`, `gpg -d`: the plain text, to standard output unless to a file.
const fn gpg_decrypt(action: &'static [&'static str]) -> Fetcher {
    Fetcher {
        unless: &["-o", "--output"],
        ..fetch("gpg", action)
    }
}

/// `aws ssm get-parameter(s) --with-decryption`: a SecureString's plain value.
const fn ssm_decrypted(action: &'static [&'static str]) -> Fetcher {
    Fetcher {
        needs_one_of: &["--with-decryption"],
        ..fetch("aws", action)
    }
}

/// Options that send a command's output to a file instead of standard output.
const TO_A_FILE: &[&str] = &["--output-file", "--outfile", "--out-file"];

const FETCHERS: &[Fetcher] = &[
    fetch("aws", &["ecr", "get-login-password"]),
    fetch("aws", &["ecr", "get-authorization-token"]),
    fetch("aws", &["ecr-public", "get-login-password"]),
    fetch("aws", &["codeartifact", "get-authorization-token"]),
    fetch("aws", &["secretsmanager", "get-secret-value"]),
    fetch("aws", &["sts", "assume-role"]),
    fetch("aws", &["sts", "assume-role-with-web-identity"]),
    fetch("aws", &["sts", "get-session-token"]),
    fetch("aws", &["sts", "get-federation-token"]),
    ssm_decrypted(&["ssm", "get-parameter"]),
    ssm_decrypted(&["ssm", "get-parameters"]),
    fetch("gcloud", &["auth", "print-access-token"]),
    fetch("gcloud", &["auth", "print-identity-token"]),
    fetch(
        "gcloud",
        &["auth", "application-default", "print-access-token"],
    ),
    Fetcher {
        unless: &["--out-file"],
        ..fetch("gcloud", &["secrets", "versions", "access"])
    },
    fetch("az", &["account", "get-access-token"]),
    fetch("az", &["keyvault", "secret", "show"]),
    Fetcher {
        needs_one_of: &["--expose-token"],
        ..fetch("az", &["acr", "login"])
    },
    fetch("vault", &["kv", "get"]),
    fetch("vault", &["token", "create"]),
    fetch("az", &["storage", "account", "keys", "list"]),
    fetch("az", &["storage", "account", "show-connection-string"]),
    fetch("az", &["acr", "credential", "show"]),
    output_of("terraform"),
    output_of("tofu"),
    fetch("vault", &["read"]),
    Fetcher {
        needs_one_of: &["-field=token", "auth/"],
        ..fetch("vault", &["write"])
    },
    // `vault login` prints the token it gets unless told not to
    Fetcher {
        unless: &["-no-print", "-no-print=true", "--no-print"],
        ..fetch("vault", &["login"])
    },
    Fetcher {
        needs_one_of: &[
            "-o",
            "--output",
            "-ojson",
            "-oyaml",
            "-ojsonpath",
            "-ogo-template",
        ],
        ..fetch("kubectl", &["get", "secret"])
    },
    fetch("kubectl", &["create", "token"]),
    Fetcher {
        needs_one_of: &["--raw"],
        ..fetch("kubectl", &["config", "view"])
    },
    sops_decrypt(&["-d"]),
    sops_decrypt(&["--decrypt"]),
    sops_decrypt(&["decrypt"]),
    fetch("op", &["read"]),
    fetch("doppler", &["secrets", "get"]),
    fetch("gh", &["auth", "token"]),
    fetch("heroku", &["auth:token"]),
    // `--show-token`/`-t` print the token `gh`/`glab` are logged in with
    Fetcher {
        needs_one_of: &["-t", "--show-token"],
        ..fetch("gh", &["auth", "status"])
    },
    Fetcher {
        needs_one_of: &["-t", "--show-token"],
        ..fetch("glab", &["auth", "status"])
    },
    fetch("oc", &["whoami", "-t"]),
    fetch("oc", &["whoami", "--show-token"]),
    Fetcher {
        needs_one_of: &["-o", "--output", "-ojson", "-oyaml", "-ojsonpath"],
        ..fetch("oc", &["get", "secret"])
    },
    fetch("aws", &["eks", "get-token"]),
    fetch("aws", &["configure", "export-credentials"]),
    fetch("aws", &["iam", "create-access-key"]),
    ssm_decrypted(&["ssm", "get-parameters-by-path"]),
    fetch("gcloud", &["config", "config-helper"]),
    fetch("bw", &["get", "password"]),
    fetch("pass", &["show"]),
    // secret managers' exports: every secret, as `NAME=value` lines, unless to a file
    Fetcher {
        needs_one_of: &["--no-file"],
        ..fetch("doppler", &["secrets", "download"])
    },
    Fetcher {
        unless: &["--output-file"],
        ..fetch("infisical", &["export"])
    },
    Fetcher {
        unless: &["-o", "--out-file"],
        ..fetch("op", &["inject"])
    },
    Fetcher {
        unless: &["-o", "--output-file"],
        ..fetch("chamber", &["export"])
    },
    fetch("heroku", &["config"]),
    fetch("heroku", &["config:get"]),
    fetch("ansible-vault", &["view"]),
    Fetcher {
        needs_one_of: &["--output=-"],
        ..fetch("ansible-vault", &["decrypt"])
    },
    // a new service principal's password, printed once
    fetch("az", &["ad", "sp", "create-for-rbac"]),
    fetch("az", &["ad", "sp", "credential", "reset"]),
    gpg_decrypt(&["--decrypt"]),
    gpg_decrypt(&["-d"]),
    // decrypting with a password (not `-d -base64`, a plain decoding)
    Fetcher {
        needs_one_of: &["-pass", "-k", "-K", "-kfile"],
        unless: &["-out"],
        ..fetch("openssl", &["enc"])
    },
];

/// The programs of [`FETCHERS`]: a script that names none fetches nothing (a job given
/// no secret is then not scanned).
pub fn may_fetch(script: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "aws",
        "gcloud",
        "az",
        "vault",
        "kubectl",
        "sops",
        "op",
        "doppler",
        "gh",
        "heroku",
        "glab",
        "oc",
        "bw",
        "pass",
        "terraform",
        "tofu",
        "infisical",
        "chamber",
        "ansible-vault",
        "gpg",
        "openssl",
    ];
    let word_at = |(at, p): (usize, &str)| {
        let before = script[..at].chars().next_back();
        let after = script[at + p.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
            && after.is_none_or(char::is_whitespace)
    };
    PROGRAMS
        .iter()
        .any(|p| script.match_indices(p).any(word_at))
}

/// What `cmd` fetches, as its program and action (`aws ecr get-login-password`), when
/// its standard output is a secret.
pub fn fetched(cmd: &Command, name: &str) -> Option<String> {
    let program = crate::supply::base(name);
    let args: Vec<&str> = cmd.args().iter().map(|w| w.text.as_str()).collect();
    let joined = standard_output_joined(&args);
    let joined: Vec<&str> = joined.iter().map(String::as_str).collect();
    let f = FETCHERS
        .iter()
        .find(|f| f.program == program && fetches(f, &joined) && prints_the_secret(f, &args))?;
    Some(words_of(f))
}

/// The arguments with an option whose value is standard output joined to it: `--output
/// -` (or `/dev/stdout`) is `--output=-`, which writes no file.
fn standard_output_joined(args: &[&str]) -> Vec<String> {
    (0..args.len())
        .filter(|&i| !(i > 0 && is_stdout(args[i]) && args[i - 1].starts_with('-')))
        .map(|i| match option_at(args, i) {
            // `--output /dev/stdout`, `--output=/dev/stderr`
            Some((option, _, value)) if is_stdout(value) => format!("{option}=-"),
            _ => args[i].to_string(),
        })
        .collect()
}

/// The option at `args[i]` and its value, with the value's index: `--output=FILE` (the
/// value joined to it) or `--output FILE` (the next argument).
fn option_at<'a>(args: &[&'a str], i: usize) -> Option<(&'a str, usize, &'a str)> {
    let arg = args[i];
    if !arg.starts_with('-') {
        return None;
    }
    match arg.split_once('=') {
        Some((option, value)) => Some((option, i, value)),
        None => Some((arg, i + 1, *args.get(i + 1)?)),
    }
}

/// Options of [`FETCHERS`]' `unless` (and [`TO_A_FILE`]) whose value is the file the
/// secret is written to instead.
const FILE_OPTIONS: &[&str] = &[
    "-o",
    "--output",
    "-out",
    "--output-file",
    "--out-file",
    "--outfile",
];

/// What `cmd` fetches into a file instead of printing it (`gpg -d -o key.pem key.gpg`,
/// `sops -d --output .env enc.env`, `openssl enc -d … -out k`): the program and action,
/// the index of the argument that names the file, and the file's path.
pub fn fetched_into_file(cmd: &Command, name: &str) -> Option<(String, usize, String)> {
    let program = crate::supply::base(name);
    let args: Vec<&str> = cmd.args().iter().map(|w| w.text.as_str()).collect();
    let (option_at, value_at, path) = file_option(&args)?;
    let rest: Vec<&str> = (args.iter().enumerate())
        .filter(|(i, _)| *i != option_at && *i != value_at)
        .map(|(_, a)| *a)
        .collect();
    let option = args[option_at].split('=').next().unwrap_or_default();
    let f = FETCHERS.iter().find(|f| {
        f.program == program
            && (f.unless.contains(&option) || TO_A_FILE.contains(&option))
            && fetches(f, &rest)
            && prints_the_secret(f, &rest)
    })?;
    Some((words_of(f), value_at, path.to_string()))
}

/// The first output-file option (`-o FILE`, `--output=FILE`) with a file for its value
/// (not `-`): where it is, where its value is, and the value.
fn file_option<'a>(args: &[&'a str]) -> Option<(usize, usize, &'a str)> {
    (0..args.len()).find_map(|i| {
        let (option, at, path) = option_at(args, i)?;
        // `-o /dev/stderr` prints it: [`fetches`] reads it as standard output
        (FILE_OPTIONS.contains(&option) && !is_stdout(path) && !path.is_empty())
            .then_some((i, at, path))
    })
}

/// A fetcher's program and action, as the findings name it (`aws ecr get-login-password`).
fn words_of(f: &Fetcher) -> String {
    std::iter::once(f.program)
        .chain(f.action.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `args` (with [`standard_output_joined`]) do what `f` names, printing it.
fn fetches(f: &Fetcher, args: &[&str]) -> bool {
    let option_given = |options: &[&str], a: &str| {
        options.iter().any(|o| {
            a == *o
                || a.starts_with(&format!("{o}="))
                // `auth/jwt/login`, `-ojsonpath=…`
                || (o.ends_with('/') || o.starts_with("-o") && o.len() > 2) && a.starts_with(o)
        })
    };
    let needed = f.needs_one_of.is_empty() || args.iter().any(|a| option_given(f.needs_one_of, a));
    let kept_back = (args.iter())
        .filter(|a| !a.ends_with("=-"))
        .any(|a| option_given(f.unless, a) || option_given(TO_A_FILE, a));
    needed && !kept_back && names_action(f.action, args)
}

/// `-` or `/dev/stdout` (`/dev/stderr`, `/dev/fd/1`, the job log all the same): an
/// output option's value that prints.
fn is_stdout(value: &str) -> bool {
    value == "-" || crate::shell::is_log_device(value)
}

/// What the command prints, where its options decide whether that is the secret: a
/// Kubernetes Secret's data (`-o yaml`, a jsonpath into `.data`; not `-o name`), an AWS
/// answer's secret fields (`--query SecretString`; not `--query proxyEndpoint`), Vault's
/// secrets and login tokens (not `sys/…` or an auth method's roles and config).
fn prints_the_secret(f: &Fetcher, args: &[&str]) -> bool {
    match (f.program, f.action.first().copied()) {
        // decrypting, not encrypting
        ("openssl", _) => args.contains(&"-d"),
        ("kubectl", Some("get")) => kubernetes_output_has_data(args),
        ("aws", _) => option_value(args, "--query").is_none_or(|q| {
            let q = q.to_ascii_lowercase();
            ["token", "secret", "credentials", "value", "password"]
                .iter()
                .any(|w| q.contains(w))
        }),
        // `-json` prints every output; a named one is a secret when its name says so
        ("terraform" | "tofu", _) => {
            // the output's name: the first operand after `output` (`-chdir=infra` before)
            let mut after_output = args.iter().skip_while(|a| **a != "output").skip(1);
            args.contains(&"-json")
                || (after_output)
                    .find(|a| !a.starts_with('-'))
                    .is_some_and(|name| {
                        plumb_semantics::credential_words::credential_name(
                            name,
                            plumb_semantics::credential_words::NameUse::Literal,
                        )
                    })
        }
        ("vault", Some("read")) => vault_path(args, "read")
            .is_some_and(|p| !p.starts_with("sys/") && !p.starts_with("auth/")),
        ("vault", Some("write")) => {
            args.contains(&"-field=token")
                || vault_path(args, "write")
                    .is_some_and(|p| p.starts_with("auth/") && p.ends_with("/login"))
        }
        _ => true,
    }
}

/// Whether `kubectl get secret … -o FORMAT` prints the Secret's data.
fn kubernetes_output_has_data(args: &[&str]) -> bool {
    let format = option_value(args, "-o")
        .or_else(|| option_value(args, "--output"))
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("-o").filter(|f| !f.is_empty()))
        })
        .unwrap_or("");
    let format = format.trim_start_matches('=');
    matches!(format, "json" | "yaml")
        || ["jsonpath", "go-template", "custom-columns", "template"]
            .iter()
            .any(|kind| format.starts_with(kind))
            && (format.contains(".data") || format.contains("stringData"))
}

/// The value of `--option VALUE` or `--option=VALUE`.
fn option_value<'a>(args: &[&'a str], option: &str) -> Option<&'a str> {
    (0..args.len()).find_map(|i| match option_at(args, i)? {
        (named, _, value) if named == option => Some(value),
        _ => None,
    })
}

/// The path Vault's `read`/`write` is given: the first operand after the action.
fn vault_path<'a>(args: &[&'a str], action: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| *a == action)?;
    let mut rest = args[at + 1..].iter();
    while let Some(a) = rest.next() {
        match a.starts_with('-') {
            // `-format json`: the option's value
            true if VALUE_OPTIONS.contains(a) => {
                rest.next();
            }
            true => {}
            false => return Some(a),
        }
    }
    None
}

/// Options that take the next word as their value, skipped when the action's words are
/// looked for (`kubectl get -n prod secret db`, `aws --region eu-west-1 ecr …`).
const VALUE_OPTIONS: &[&str] = &[
    "-format",
    "-n",
    "--namespace",
    "--context",
    "--kubeconfig",
    "--cluster",
    "--region",
    "--profile",
    "--output",
    "-o",
    // global options before the action: `aws --endpoint-url URL secretsmanager …`,
    // `gcloud --project P secrets …`, `az --subscription S keyvault …`, `kubectl
    // --server URL get secret …`
    "--endpoint-url",
    "--ca-bundle",
    "--query",
    "--cli-connect-timeout",
    "--cli-read-timeout",
    "--project",
    "--impersonate-service-account",
    "--account",
    "--configuration",
    "--billing-project",
    "--verbosity",
    "--format",
    "--subscription",
    "--server",
    "-s",
    "--as",
    "--as-group",
    "--token",
    "--user",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--request-timeout",
    "-address",
    "-namespace",
    "-ca-cert",
    "--cache-dir",
    "--log-file",
    "--log-dir",
    "--tls-server-name",
    "--username",
    "--password",
    "--as-uid",
    "--color",
    "--cli-binary-format",
    "--session",
];

/// Whether the action's words come one after another among the arguments (options and
/// their values left out).
fn names_action(action: &[&str], args: &[&str]) -> bool {
    let mut words = Vec::new();
    let mut skip = false;
    // `sops -d`: the action is an option
    let as_written = action.iter().any(|w| w.starts_with('-'));
    for a in args.iter().filter(|_| !as_written) {
        if std::mem::take(&mut skip) {
            continue;
        }
        if a.starts_with('-') {
            skip = VALUE_OPTIONS.contains(a);
            continue;
        }
        words.push(*a);
    }
    let args = if as_written { args } else { &words[..] };
    let matches = |word: &str, a: &str| {
        a == word
            || a.strip_prefix(word)
                .is_some_and(|rest| rest == "s" || rest.starts_with('/') || rest.starts_with("s/"))
    };
    let named = |w: &[&str]| w.iter().zip(action).all(|(a, word)| matches(word, a));
    if as_written {
        // an option among others (`gpg --batch --yes --decrypt`)
        return args.windows(action.len()).any(named);
    }
    // the action comes first (`vault policy read` is not `vault read`)
    args.get(..action.len()).is_some_and(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetches_in(script: &str) -> Option<String> {
        let commands = crate::shell::scan(script);
        let cmd = commands.first()?;
        fetched(cmd, cmd.name()?)
    }

    /// Global options with a value before the action hid the fetch.
    #[test]
    fn global_options_before_the_action_are_skipped() {
        for script in [
            "aws --endpoint-url https://x secretsmanager get-secret-value --secret-id p",
            "gcloud --project prod secrets versions access latest --secret db",
            "gcloud --impersonate-service-account sa@p.iam auth print-access-token",
            "az --subscription s keyvault secret show --name n --vault-name v",
            "kubectl --server https://k:6443 get secret app -o yaml",
        ] {
            assert!(fetches_in(script).is_some(), "{script}");
        }
        // `vault policy read` is still not `vault read`
        assert_eq!(fetches_in("vault -address https://v policy read p"), None);
    }

    #[test]
    fn fetches_are_known_by_program_and_action() {
        let cases = [
            (
                "aws --region eu-west-1 ecr get-login-password",
                Some("aws ecr get-login-password"),
            ),
            ("aws ecr describe-repositories", None),
            (
                "aws ssm get-parameter --name /x --with-decryption",
                Some("aws ssm get-parameter"),
            ),
            ("aws ssm get-parameter --name /x", None),
            (
                "vault kv get -field=password secret/db",
                Some("vault kv get"),
            ),
            ("vault kv put secret/db password=x", None),
            (
                "vault write -field=token auth/jwt/login role=ci jwt=x",
                Some("vault write"),
            ),
            ("vault write secret/db password=x", None),
            ("vault login -method=jwt role=ci", Some("vault login")),
            ("vault login -no-print -method=jwt role=ci", None),
            (
                "kubectl -n ci get secret app -o jsonpath='{.data.token}'",
                Some("kubectl get secret"),
            ),
            ("kubectl get secrets/app -ojson", Some("kubectl get secret")),
            ("kubectl get secrets", None),
            ("kubectl get secret app -o name", None),
            ("kubectl get secret app -o jsonpath='{.metadata.name}'", None),
            ("kubectl get -n prod secret db -o jsonpath='{.data.password}'", Some("kubectl get secret")),
            ("aws ecr get-authorization-token --query 'authorizationData[0].proxyEndpoint' --output text", None),
            ("aws secretsmanager get-secret-value --secret-id x --query SecretString --output text", Some("aws secretsmanager get-secret-value")),
            ("vault write auth/jwt/role/app role_type=jwt", None),
            ("vault write auth/jwt/login role=app jwt=x", Some("vault write")),
            ("vault read sys/health", None),
            ("vault read -field=pw secret/db", Some("vault read")),
            ("terraform output -raw db_password", Some("terraform output")),
            ("terraform output db_password", Some("terraform output")),
            ("terraform output -json", Some("terraform output")),
            ("terraform -chdir=infra output -raw db_password", Some("terraform output")),
            ("kubectl --cache-dir /tmp get secret x -o yaml", Some("kubectl get secret")),
            ("bw --session s get password x", Some("bw get password")),
            ("terraform output", None),
            ("terraform output -raw cluster_endpoint", None),
            ("vault policy read admin", None),
            ("vault read -format json sys/health", None),
            ("kubectl config view --raw", Some("kubectl config view")),
            ("gpg --batch --yes --decrypt s.gpg", Some("gpg --decrypt")),
            ("gpg --batch --decrypt -o s.env s.gpg", None),
            ("doppler secrets download", None),
            ("doppler secrets download --no-file --format env", Some("doppler secrets download")),
            ("op inject -i tpl.env", Some("op inject")),
            ("op inject -i tpl.env -o app.env", None),
            ("openssl enc -d -aes-256-cbc -pass env:K -in s.enc", Some("openssl enc")),
            ("openssl enc -aes-256-cbc -pass env:K -in s -out s.enc", None),
            ("openssl enc -d -base64 -in cert.b64", None),
            ("gpg -d --output - s.gpg", Some("gpg -d")),
            ("gpg -d -o /dev/stderr s.gpg", Some("gpg -d")),
            ("gpg --decrypt --output=/dev/fd/1 s.gpg", Some("gpg --decrypt")),
            ("sops -d --output /dev/stderr s.yaml", Some("sops -d")),
            ("ansible-vault decrypt --output - vault.yml", Some("ansible-vault decrypt")),
            ("ansible-vault decrypt --output plain.yml vault.yml", None),
            ("az ad sp create-for-rbac --name ci", Some("az ad sp create-for-rbac")),
            ("kubectl config view", None),
            ("sops -d secrets.enc.yaml", Some("sops -d")),
            ("sops -d -i secrets.enc.yaml", None),
            ("sops --decrypt --output plain.yaml secrets.enc.yaml", None),
            (
                "gcloud secrets versions access latest --secret=db",
                Some("gcloud secrets versions access"),
            ),
            (
                "gcloud secrets versions access latest --secret=db --out-file=x",
                None,
            ),
            (
                "/usr/local/bin/gcloud auth print-access-token",
                Some("gcloud auth print-access-token"),
            ),
            ("echo vault kv get", None),
        ];
        for (script, want) in cases {
            assert_eq!(fetches_in(script).as_deref(), want, "{script}");
        }
    }
}
