//! Which command-line operands are a password or a token (PL4001): `--password X`,
//! `-p X` where it is one, the options tools document for theirs (`gpg --passphrase`,
//! `openssl -pass pass:X`, `redis-cli -a`, `keytool -storepass`), long options named
//! like a credential (`--token`, `--api-key`), and the positional ones of `htpasswd -b`
//! and `aws configure set`.

use crate::shell::Word;

/// The programs whose `-p` takes the password (with `login` anywhere on the line too).
const PASSWORD_P: &[&str] = &[
    "sshpass",
    "mongosh",
    "mongo",
    "mongodump",
    "mongorestore",
    "twine",
];

/// The MySQL clients: the password only joined to its option (`-phunter2`,
/// `--password=hunter2`); `-p mydb` and `--password mydb` ask for it, and `mydb` is the
/// database.
const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlimport",
    "mysqlcheck",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
];

/// What an option named like a credential does to it when its name starts so
/// (`--reset-password alice`, `--generate-token name`): its value is no credential.
const ACTIONS_ON_A_CREDENTIAL: &[&str] = &[
    "reset", "generate", "create", "rotate", "revoke", "delete", "remove", "show", "print", "list",
    "forgot", "require", "no", "use", "with", "skip", "ask", "prompt", "read", "max", "min",
];

/// Options a program documents for its password or token (the word after them, or
/// after `=` for a long one).
const PROGRAM_OPTIONS: &[(&[&str], &[&str])] = &[
    (&["gpg", "gpg2"], &["--passphrase"]),
    (&["openssl"], &["-pass", "-passin", "-passout", "-k"]),
    (&["redis-cli"], &["-a", "--pass"]),
    (
        &["keytool", "jarsigner"],
        &[
            "-storepass",
            "-keypass",
            "-srcstorepass",
            "-deststorepass",
            "-srckeypass",
            "-destkeypass",
        ],
    ),
    (&["sqlcmd", "bcp"], &["-P"]),
    (
        &["ldapsearch", "ldapmodify", "ldapadd", "ldapdelete"],
        &["-w"],
    ),
    (&["curl"], &["--oauth2-bearer"]),
    (
        &["wget"],
        &["--http-password", "--ftp-password", "--proxy-password"],
    ),
];

/// Programs whose `--secret` names a secret rather than holding one: a build secret
/// (`docker build --secret id=npm,src=…`), or one a secret manager keeps (`gcloud
/// secrets versions access latest --secret=app-env`).
const SECRET_NAMING_PROGRAMS: &[&str] = &[
    "docker", "podman", "buildah", "buildctl", "nerdctl", "gcloud",
];

/// Words that, last in a long option's name, say it takes a credential (`--token`,
/// `--api-key`, `--client-secret`, `--http-password`); `--token-file` takes a path.
const CREDENTIAL_OPTION_ENDS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "api-key",
    "apikey",
    "secret-key",
    "access-key",
];

/// A password on the command line: the word holding it, the password's text in that
/// word, and the option (or the setting's key) that takes it.
pub struct PasswordOperand<'w> {
    pub word: &'w Word,
    pub text: &'w str,
    pub option: &'w str,
}

/// The operands of a command that are a password or a token.
pub fn password_operands<'w>(program: &str, args: &'w [Word]) -> Vec<PasswordOperand<'w>> {
    let login = args.iter().any(|a| a.text == "login");
    let mut out: Vec<PasswordOperand> = (0..args.len())
        .filter_map(|i| option_operand(program, args, i, login))
        .collect();
    out.extend(positional_operand(program, args));
    out
}

/// The password the option at `args[i]` takes, if it takes one.
fn option_operand<'w>(
    program: &str,
    args: &'w [Word],
    i: usize,
    login: bool,
) -> Option<PasswordOperand<'w>> {
    let arg = &args[i];
    let t = arg.text.as_str();
    let (option, joined) = match t.split_once('=') {
        Some((o, v)) if o.starts_with("--") => (o, Some(v)),
        _ => (t, None),
    };
    let mysql = MYSQL_CLIENTS.contains(&program);
    let p_is_password = login || PASSWORD_P.contains(&program);
    let documented = PROGRAM_OPTIONS
        .iter()
        .any(|(programs, options)| programs.contains(&program) && options.contains(&option));
    // `mysql --password mydb` asks for the password: `mydb` is the database
    let asks = mysql && joined.is_none() && matches!(option, "--password" | "--passwd");
    let named = credential_option(program, option);
    let takes = !asks
        && (matches!(option, "--password" | "--passwd")
            || (option == "-p" && p_is_password)
            || documented
            || named);
    if takes {
        let (word, text) = match joined {
            Some(v) => (arg, v),
            None => {
                let next = args.get(i + 1)?;
                (next, next.text.as_str())
            }
        };
        // an option only named like one may take where the credential is: a file
        // (`--api-key keys/ci.json`) or a build secret's spec (`--secret id=npm,src=…`)
        if named && !documented && (names_a_file(text) || text.contains("id=")) {
            return None;
        }
        return Some(PasswordOperand {
            word,
            text: openssl_literal(program, text)?,
            option,
        });
    }
    // `mysql -phunter2`, `docker login -phunter2`: the password joined to the flag
    let rest = t
        .strip_prefix("-p")
        .filter(|r| !r.is_empty() && (p_is_password || mysql))?;
    Some(PasswordOperand {
        word: arg,
        text: rest,
        option: "-p",
    })
}

/// `--token`, `--api-key`, `--client-secret`: a long option named like a credential, but
/// for a container builder's `--secret id=…`.
fn credential_option(program: &str, option: &str) -> bool {
    let Some(name) = option.strip_prefix("--") else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    let ends = CREDENTIAL_OPTION_ENDS
        .iter()
        .any(|end| name == *end || name.ends_with(&format!("-{end}")));
    let first = name.split('-').next().unwrap_or_default();
    let action = name.contains('-') && ACTIONS_ON_A_CREDENTIAL.contains(&first);
    ends && !action && !(name == "secret" && SECRET_NAMING_PROGRAMS.contains(&program))
}

/// Whether an option's value names a file rather than holding a credential: a path, or
/// a name with a key file's extension (`deploy.pem`, `sa.json`).
fn names_a_file(text: &str) -> bool {
    const FILES: &[&str] = &[
        ".pem", ".key", ".json", ".p12", ".pfx", ".jks", ".gpg", ".asc", ".txt", ".crt", ".env",
    ];
    text.contains('/') || FILES.iter().any(|e| text.to_ascii_lowercase().ends_with(e))
}

/// openssl's `pass:TEXT` is the password written out; `env:NAME`, `file:PATH`, `fd:N`
/// and `stdin` say where to read it (not a literal).
fn openssl_literal<'t>(program: &str, text: &'t str) -> Option<&'t str> {
    if program != "openssl" {
        return Some(text);
    }
    if let Some(password) = text.strip_prefix("pass:") {
        return Some(password);
    }
    let elsewhere = ["env:", "file:", "fd:"].iter().any(|p| text.starts_with(p));
    (!elsewhere && text != "stdin").then_some(text)
}

/// `htpasswd -b FILE USER PASSWORD` (`-nb USER PASSWORD`), `aws configure set
/// aws_secret_access_key X`, `npm config set //registry/:_authToken X`: a password given
/// as an operand, not after an option.
fn positional_operand<'w>(program: &str, args: &'w [Word]) -> Option<PasswordOperand<'w>> {
    let operands: Vec<&Word> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
    let options: Vec<&str> = (args.iter())
        .filter(|a| a.text.starts_with('-') && !a.text.starts_with("--"))
        .map(|a| a.text.as_str())
        .collect();
    match program {
        "htpasswd" if options.iter().any(|o| o.contains('b')) => {
            let no_file = options.iter().any(|o| o.contains('n'));
            let word = *operands.get(if no_file { 1 } else { 2 })?;
            Some(PasswordOperand {
                word,
                text: &word.text,
                option: "-b",
            })
        }
        "aws" | "npm" | "yarn" | "pnpm" => config_set_operand(args),
        _ => None,
    }
}

/// `aws configure set KEY VALUE`, `npm config set KEY VALUE` (or `KEY=VALUE`) where the
/// key is named like a credential (`aws_secret_access_key`, `//host/:_authToken`).
fn config_set_operand(args: &[Word]) -> Option<PasswordOperand<'_>> {
    let at = args
        .windows(2)
        .position(|w| matches!(w[0].text.as_str(), "configure" | "config") && w[1].text == "set")?;
    let key_word = args.get(at + 2)?;
    let (key, word, text) = match key_word.text.split_once('=') {
        Some((k, v)) => (k, key_word, v),
        None => {
            let value = args.get(at + 3)?;
            (key_word.text.as_str(), value, value.text.as_str())
        }
    };
    let last = key.rsplit([':', '.', '/']).next().unwrap_or(key);
    let name = last.trim_start_matches('_');
    credential_key(name).then_some(PasswordOperand {
        word,
        text,
        option: key,
    })
}

/// `aws_secret_access_key`, `_authToken`, `_password`: a setting's key named like a
/// credential (camel case read as words).
fn credential_key(key: &str) -> bool {
    plumb_semantics::credential_words::credential_name(
        &super::pl4001_hardcoded_credential::snake_case(key),
        plumb_semantics::credential_words::NameUse::Literal,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords(line: &str) -> Vec<String> {
        let commands = crate::shell::scan(line);
        let cmd = &commands[0];
        let program = cmd.name().map(crate::supply::base).unwrap_or("");
        (password_operands(program, cmd.args()).iter())
            .map(|p| format!("{} {}", p.option, p.text))
            .collect()
    }

    #[test]
    fn documented_and_named_options() {
        for (line, want) in [
            (
                "gpg --batch --passphrase hunter2 -d f",
                "--passphrase hunter2",
            ),
            ("gpg --passphrase=hunter2 -d f", "--passphrase hunter2"),
            ("openssl enc -d -pass pass:hunter2 -in f", "-pass hunter2"),
            ("redis-cli -h r -a hunter2 ping", "-a hunter2"),
            ("keytool -list -storepass hunter2", "-storepass hunter2"),
            ("docker login -phunter2 r.io", "-p hunter2"),
            ("mysql -u root -phunter2 db", "-p hunter2"),
            ("mysql --password=hunter2 db", "--password hunter2"),
            ("tool --new-password hunter2", "--new-password hunter2"),
            ("kubectl --token=abc123 get pods", "--token abc123"),
            ("glab auth login --token abc123", "--token abc123"),
            ("wget --http-password=hunter2 u", "--http-password hunter2"),
            ("sqlcmd -S db -U sa -P hunter2", "-P hunter2"),
            ("tool --api-key abc123", "--api-key abc123"),
            ("htpasswd -b .htpasswd admin hunter2", "-b hunter2"),
            ("htpasswd -nb admin hunter2", "-b hunter2"),
            (
                "aws configure set aws_secret_access_key abc123",
                "aws_secret_access_key abc123",
            ),
            (
                "npm config set //r.io/:_authToken=abc123",
                "//r.io/:_authToken abc123",
            ),
        ] {
            assert_eq!(passwords(line), vec![want.to_string()], "{line}");
        }
    }

    #[test]
    fn options_that_take_no_password() {
        for line in [
            "openssl enc -pass env:PASS -in f",
            "openssl enc -pass file:/run/p -in f",
            "docker build --secret id=npm,src=.npmrc .",
            "tool --token-file /run/t",
            "docker login --password-stdin r.io",
            "mkdir -p dir",
            "htpasswd -c .htpasswd admin",
            "aws configure set region eu-west-1",
            "ssh -p 2222 host",
            "mysql -u root -p mydb",
            "mysqladmin -u root -p status",
            "mysql --password mydb",
            "tool --reset-password alice",
            "tool --generate-token name",
            "ansible-playbook site.yml --private-key=ci/keys/deploy.pem",
            "tool --api-key keys/ci.json",
            "depot build --secret id=npmrc,src=.npmrc .",
        ] {
            assert!(passwords(line).is_empty(), "{line}: {:?}", passwords(line));
        }
    }
}
