//! Which variable names say they hold a credential, in one place for the importer (which
//! CI/CD variables a script reads as secrets) and PL4001 (which literals are
//! credentials), so the two never disagree about a name like `NPM_AUTH` or
//! `SECRET_DETECTION_DISABLED`.

/// What the name is asked about for: a literal the file assigns to it, or a variable a
/// script reads that the CI/CD settings provide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameUse {
    /// `DB_PASSWORD: hunter2`: any case (`db_password`, `adminPassword` as
    /// `ADMIN_PASSWORD`), and `*_CREDENTIALS` too (a literal blob is the credential).
    Literal,
    /// `echo "$DEPLOY_TOKEN"`: upper case only (shell locals are usually lower case) but
    /// for Terraform's `TF_VAR_` inputs and `TF_TOKEN_` host tokens; not `GOOGLE_APPLICATION_CREDENTIALS`, which
    /// Google's libraries read as a path. (`*_CREDENTIALS` is often a GitLab File
    /// variable, whose value is a path: given to an option that takes one, `--key-file
    /// "$GCP_CREDENTIALS"`, it passes no secret, which PL4004 knows.)
    Read,
}

/// Words that name a credential, alone or at the end of a word (`PGPASSWORD`,
/// `CLIENTSECRET`, `GITLABTOKEN`); not in the plural (`MAX_NEW_TOKENS` is a count).
const CREDENTIAL_WORDS: &[&str] = &[
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "APIKEY",
];

/// Words that name a credential only when the whole word is theirs (`CI_JOB_JWT`, not
/// `…JWTS…`; `SLACK_WEBHOOK`, whose URL's path is the credential;
/// `AZURE_SAS`, a shared access signature).
const WHOLE_WORDS: &[&str] = &["JWT", "WEBHOOK", "KEYSTORE", "SAS"];

/// Two words that together name a credential (`SENTRY_API_KEY`, `DOCKER_AUTH_CONFIG`,
/// `RAILS_MASTER_KEY`), where either alone does not (`KEY`, `CONFIG`). `SSH_KEY` is one:
/// when it is a File variable (its value a path), the uses of a path (`ssh-add "$SSH_KEY"`,
/// `ssh -i "$SSH_KEY"`, `--key-file`) pass no secret, which the checks know.
pub const CREDENTIAL_PAIRS: &[[&str; 2]] = &[
    ["SSH", "KEY"],
    // a private key's text (`ID_RSA`, `DEPLOY_ID_ED25519`)
    ["ID", "RSA"],
    ["ID", "ED25519"],
    ["ID", "ECDSA"],
    ["TLS", "KEY"],
    ["SSL", "KEY"],
    // an Azure storage account's key
    ["STORAGE", "KEY"],
    // a database's connection string holds its password
    ["CONNECTION", "STRING"],
    ["API", "KEY"],
    ["PRIVATE", "KEY"],
    ["SIGNING", "KEY"],
    ["MASTER", "KEY"],
    ["ENCRYPTION", "KEY"],
    ["LICENSE", "KEY"],
    ["AUTH", "KEY"],
    ["AUTH", "CONFIG"],
    // a service account's key (`GCP_SA_KEY`, `SERVICE_ACCOUNT_KEY`: its JSON)
    ["SA", "KEY"],
    ["ACCOUNT", "KEY"],
    ["COSIGN", "KEY"],
    // `GCLOUD_SERVICE_KEY`, GitLab's documented name for a service account's JSON
    ["SERVICE", "KEY"],
    // an SSH deploy key's text (not `GPG_KEY`, as often a key's id as its text)
    ["DEPLOY", "KEY"],
    // a kubeconfig's text (`echo "$KUBE_CONFIG" | base64 -d > ~/.kube/config`); not
    // `KUBECONFIG`, the path `kubectl` reads, which GitLab's agent sets
    ["KUBE", "CONFIG"],
    // a chat webhook's URL: its path is the credential (`SLACK_WEBHOOK_URL`)
    ["WEBHOOK", "URL"],
    // a service account's JSON key (`GOOGLE_PLAY_JSON_KEY`; not `CACHE_KEY_JSON`)
    ["JSON", "KEY"],
    // a database's password (not a lone `PWD`, the shell's folder)
    ["DB", "PWD"],
    ["DATABASE", "PWD"],
    ["ADMIN", "PWD"],
    ["ROOT", "PWD"],
    // a registry's, a database's or a mail or file server's password (not `BUILD_PWD`,
    // a folder; `DOCKER_PWD` is as often the folder a compose file runs in)
    ["REGISTRY", "PWD"],
    ["DOCKERHUB", "PWD"],
    ["HUB", "PWD"],
    ["NEXUS", "PWD"],
    ["HARBOR", "PWD"],
    ["ARTIFACTORY", "PWD"],
    ["SQL", "PWD"],
    ["PG", "PWD"],
    ["POSTGRES", "PWD"],
    ["MONGO", "PWD"],
    ["REDIS", "PWD"],
    ["LDAP", "PWD"],
    ["SMTP", "PWD"],
    ["FTP", "PWD"],
    ["SFTP", "PWD"],
    ["USER", "PWD"],
    // a service account's JSON key (`GCP_SERVICE_ACCOUNT_JSON`, `GCP_SA_JSON`)
    ["ACCOUNT", "JSON"],
    ["SA", "JSON"],
    // API keys named after their service
    ["OPENAI", "KEY"],
    ["ANTHROPIC", "KEY"],
    ["STRIPE", "KEY"],
    ["NUGET", "KEY"],
    ["SENDGRID", "KEY"],
    ["MAILGUN", "KEY"],
    ["TWILIO", "KEY"],
    ["DATADOG", "KEY"],
    ["DD", "KEY"],
    // a service's access key (`SAUCE_ACCESS_KEY`, `BROWSERSTACK_ACCESS_KEY`; not
    // `AWS_ACCESS_KEY_ID`, its public half), an admin's or an application's key
    // (`ALGOLIA_ADMIN_KEY`, `B2_APPLICATION_KEY`, Laravel's `APP_KEY`)
    ["ACCESS", "KEY"],
    ["ADMIN", "KEY"],
    ["APPLICATION", "KEY"],
    ["APP", "KEY"],
];

/// Two words that name a database's connection string, whose password is in it
/// (`DATABASE_URL`, `MONGODB_URI`): a secret when a script reads it from the CI/CD
/// settings, but not a literal credential (`postgres://postgres:postgres@postgres/test`
/// names the job's own database service).
const CONNECTION_URLS: &[[&str; 2]] = &[
    ["DATABASE", "URL"],
    ["DATABASE", "URI"],
    ["DB", "URL"],
    ["DB", "URI"],
    ["MONGODB", "URI"],
    ["MONGODB", "URL"],
    ["MONGO", "URI"],
    ["MONGO", "URL"],
    ["POSTGRES", "URL"],
    ["POSTGRESQL", "URL"],
    ["MYSQL", "URL"],
    // a cache's or a message broker's URL holds its password as well
    ["REDIS", "URL"],
    ["AMQP", "URL"],
    ["RABBITMQ", "URL"],
    ["BROKER", "URL"],
];

/// Names a tool documents for its credential, whatever their words say (`MYSQL_PWD` is
/// MySQL's password variable; `SONAR_LOGIN` holds SonarQube's token).
const KNOWN_NAMES: &[&str] = &["MYSQL_PWD", "SONAR_LOGIN"];

/// Words after the credential's word that make the name something else: a reference to
/// the credential (`TOKEN_URL`, `SECRET_NAME`, `VAULT_SECRET_PATH`), or a setting about
/// it (`TOKEN_TTL`, `SECRET_BACKEND`, `SECRET_DETECTION_DISABLED`, `PASSWORD_LENGTH`).
const NOT_THE_CREDENTIAL: &[&str] = &[
    "NAME",
    "NAMES",
    "ID",
    "IDS",
    "FILE",
    "FILES",
    "PATH",
    "PATHS",
    "DIR",
    "URL",
    "URLS",
    "URI",
    "ARN",
    "TYPE",
    "USER",
    "USERNAME",
    "CHECKSUM",
    "LENGTH",
    "LEN",
    "ENABLED",
    "DISABLED",
    "REF",
    "VERSION",
    "BACKEND",
    "PROVIDER",
    "ENGINE",
    "MOUNT",
    "ALGORITHM",
    "SCOPES",
    "SCOPE",
    "TTL",
    "HEADER",
    "POLICY",
    "ENDPOINT",
    "AUDIENCE",
    "AUD",
    "HELPER",
    "STORE",
    "NAMESPACE",
    "PREFIX",
    "SUFFIX",
    "OPTIONS",
    "REGION",
    "ISSUER",
    "ISS",
    "MODE",
    "SCRIPT",
    "COMMAND",
    "CMD",
    "DETECTION",
    "EXPIRY",
    "EXPIRES",
    "LIFETIME",
    "FORMAT",
    "LABEL",
    "KIND",
    "EXPIRATION",
    "LIMIT",
    "COUNT",
    "REQUIRED",
    "RESET",
    "TIMEOUT",
    "ALIAS",
    "PROMPT",
    "VAR",
    "MAX",
    "MIN",
    "SIZE",
    "HOST",
    "PORT",
    // a public key, or a key's fingerprint (`SSH_KEY_PUB`, `ID_RSA_PUBLIC`)
    "PUB",
    "PUBLIC",
    "FINGERPRINT",
    "COMMENT",
    // a setting about credentials (`TOKEN_PERMISSIONS`, `SESSION_SECRET_ROTATION`,
    // `PASSWORD_HASHER`, `CSRF_TOKEN_COOKIE`)
    "PERMISSIONS",
    "PERMISSION",
    "ROTATION",
    "HASHER",
    "COOKIE",
    // what finds or keeps credentials (`TOKEN_PATTERN`, `GITLEAKS_SECRET_REGEX`,
    // `SECRET_MANAGER: vault`)
    "REGEX",
    "REGEXP",
    "PATTERN",
    "PATTERNS",
    "MANAGER",
];

/// Words before a last `SECRET` that make the name one a Kubernetes Secret's name is
/// often given (`IMAGE_PULL_SECRET: regcred`, `TLS_SECRET: app-tls`), though as often
/// the credential itself (OpenShift's pull secret): see [`names_a_secret_object`]. Not
/// `PASSWORD_SECRET`, Graylog's pepper.
const NAMES_A_SECRET_OBJECT: &[&str] = &["PULL", "TLS", "K8S", "KUBE", "KUBERNETES", "CERT"];

/// Words just before the credential's that make the name a count or a switch about one
/// (`NUM_TOKENS`, `USE_TOKEN`, `NO_PASSWORD`, `BYPASS_AUTH`).
const NOT_A_CREDENTIAL_AFTER: &[&str] = &[
    "SKIP", "NO", "USE", "WITH", "WITHOUT", "ENABLE", "ENABLED", "DISABLE", "DISABLED", "REQUIRE",
    "REQUIRED", "BYPASS", "MAX", "MIN", "NUM", "COUNT", "TOTAL",
];

/// Whether a name whose last word is `SECRET` says, by its word before, that its value
/// may be a Kubernetes Secret's name (`TLS_SECRET: app-tls`): a literal that is such a
/// name (lower-case, `-` and `.`) is then no credential. A project variable so named is
/// read as one all the same.
pub fn names_a_secret_object(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    matches!(words[..], [.., before, "SECRET"] if NAMES_A_SECRET_OBJECT.contains(&before))
}

/// Whether a variable's name says it holds a credential.
pub fn credential_name(name: &str, usage: NameUse) -> bool {
    let terraform_input = name.starts_with("TF_VAR_") || name.starts_with("TF_TOKEN_");
    if usage == NameUse::Read && !terraform_input && name.bytes().any(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    // Terraform's token for a host (`TF_TOKEN_app_terraform_io`), whatever its case
    if KNOWN_NAMES.contains(&upper.as_str()) || upper.starts_with("TF_TOKEN_") {
        return true;
    }
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    // what a web framework builds into the pages it serves (`NEXT_PUBLIC_API_KEY`,
    // SvelteKit's `PUBLIC_…_KEY`): a browser's key, public by design (a password, a
    // token or a secret so named is still one, and worse for reaching every browser)
    let framework = matches!(words[..], ["NEXT" | "NUXT" | "EXPO", "PUBLIC", ..]);
    let public = framework || words.first() == Some(&"PUBLIC");
    if public && words.last() == Some(&"KEY") && !words.iter().any(|w| w.contains("SECRET")) {
        return false;
    }
    // the public half of a storage key pair (MinIO's and S3's access key is a user name)
    if let [.., owner, "ACCESS", "KEY"] = words[..] {
        if matches!(owner, "AWS" | "S3" | "MINIO" | "SPACES" | "R2" | "OSS") {
            return false;
        }
    }
    // Vault's AppRole login is a role id and a secret id: the secret id is the password
    let approle = words.iter().any(|w| matches!(*w, "VAULT" | "APPROLE"));
    if approle && words.ends_with(&["SECRET", "ID"]) {
        return true;
    }
    let connection_url =
        |w: &[&str]| w.len() >= 2 && CONNECTION_URLS.contains(&[w[w.len() - 2], w[w.len() - 1]]);
    if usage == NameUse::Read && connection_url(&words) {
        return true;
    }
    let Some(at) = last_credential_word(&words, usage) else {
        return false;
    };
    let switch = at
        .checked_sub(1)
        .is_some_and(|b| NOT_A_CREDENTIAL_AFTER.contains(&words[b]));
    !switch
        && !words[at + 1..]
            .iter()
            .any(|w| NOT_THE_CREDENTIAL.contains(w))
}

/// Where the last word that names a credential is in `words`.
fn last_credential_word(words: &[&str], usage: NameUse) -> Option<usize> {
    let names_one = |w: &&str| {
        CREDENTIAL_WORDS.iter().any(|c| w.ends_with(c))
            || WHOLE_WORDS.contains(w)
            || w.ends_with("CREDENTIAL")
            || w.ends_with("CREDENTIALS")
    };
    // Google's libraries read it as the path of a key file
    if usage == NameUse::Read && words.ends_with(&["APPLICATION", "CREDENTIALS"]) {
        return None;
    }
    let word = words.iter().rposition(names_one);
    let pair = (words.windows(2))
        .rposition(|p| CREDENTIAL_PAIRS.contains(&[p[0], p[1]]))
        .map(|i| i + 1);
    let short = ends_in_short_credential_word(words).then(|| words.len() - 1);
    [word, pair, short].into_iter().flatten().max()
}

/// Whether the last of a name's upper-case words is a short one that names a credential
/// only after a prefix: `MYSQL_PASS`, `NPM_AUTH`, `CI_DOCKER_AUTH`, `GH_PAT` (not
/// `PASS_USER`, a lone `AUTH`, `BYPASS`), and not after a word that makes the name a
/// switch (`SKIP_AUTH`, `USE_AUTH`; `BASIC_AUTH` holds `user:password` and is one).
/// Not `PWD`: `BUILD_PWD` is a folder, like the shell's own.
pub fn ends_in_short_credential_word(words: &[&str]) -> bool {
    let [.., before, last] = words else {
        return false;
    };
    // `FILE_PAT`, `GLOB_PAT`: a pattern
    let pattern = matches!(
        *before,
        "FILE"
            | "GLOB"
            | "PATH"
            | "MATCH"
            | "SEARCH"
            | "NAME"
            | "EXCLUDE"
            | "INCLUDE"
            | "IGNORE"
            | "REGEX"
            | "TEST"
            | "BRANCH"
            | "TAG"
    );
    *last == "PASS"
        || *last == "PW"
        || (*last == "PAT" && !pattern)
        || (*last == "AUTH" && !NOT_A_CREDENTIAL_AFTER.contains(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_secrets() {
        for yes in [
            "CI_JOB_TOKEN",
            "DEPLOY_TOKEN",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "SENTRY_API_KEY",
            "SSH_PRIVATE_KEY",
            "GPG_PASSPHRASE",
            "SECRET",
            "MYSQL_PASS",
            "NPM_AUTH",
            "CI_DOCKER_AUTH",
            "DOCKER_AUTH_CONFIG",
            "RAILS_MASTER_KEY",
            "APK_SIGNING_KEY",
            "CI_JOB_JWT_V2",
            "UNITY_LICENSE_KEY",
            "PGPASSWORD",
            "ANDROID_KEYSTORE_BASE64",
            "GOOGLE_PLAY_JSON_KEY",
            "VAULT_SECRET_ID",
            "DB_PWD",
            "OPENAI_KEY",
            "MYSQL_PWD",
            "GH_PAT",
            "SONAR_LOGIN",
            "TF_VAR_db_password",
            "DEPLOY_TOKEN_PROD",
            "GCP_SA_KEY",
            "GOOGLE_SERVICE_ACCOUNT_KEY",
            "COSIGN_KEY",
            "GCLOUD_SERVICE_KEY",
            "DEPLOY_KEY",
            "KUBE_CONFIG",
            "SLACK_WEBHOOK_URL",
            "DISCORD_WEBHOOK",
            "SSH_KEY",
            "DEPLOY_SSH_KEY",
            "ID_RSA",
            "TLS_KEY",
            "AZURE_STORAGE_KEY",
            "DB_CONNECTION_STRING",
            "REGISTRY_PW",
            "GCP_CREDENTIALS",
            "GOOGLE_CREDENTIALS",
            "GCP_CREDENTIAL",
            "NEXUS_PWD",
            "DOCKERHUB_PWD",
            "SQL_PWD",
            "GCP_SERVICE_ACCOUNT_JSON",
            "DATABASE_URL",
            "MONGODB_URI",
            "SQLALCHEMY_DATABASE_URI",
            "SAUCE_ACCESS_KEY",
            "TLS_SECRET",
            "PUBLIC_REGISTRY_PASSWORD",
            "NEXT_PUBLIC_API_TOKEN",
            "EXPO_PUBLIC_STRIPE_SECRET_KEY",
            "SECRET_ENV",
            "DB_PASSWORD_SECRET",
            "BROWSERSTACK_ACCESS_KEY",
            "ALGOLIA_ADMIN_KEY",
            "B2_APPLICATION_KEY",
            "APP_KEY",
            "AZURE_SAS",
            "TF_TOKEN_app_terraform_io",
            "REDIS_URL",
        ] {
            assert!(credential_name(yes, NameUse::Read), "{yes}");
        }
        for no in [
            "APPLICATION_SECRET_NAME",
            "secret_name",
            "db_password",
            "TOKEN_FILE",
            "HOME",
            "APPLICATION_SECRET_CHECKSUM",
            "KEY",
            "PWD",
            "DOCKER_PWD",
            "BUILD_PWD",
            "ANDROID_KEYSTORE_PATH",
            "KEYSTORE_ALIAS",
            "AWS_SECRET_ID",
            "VAULT_ROLE_ID",
            "BYPASS_CACHE",
            "PASS_USER",
            "COVERAGE_PASS_THRESHOLD",
            "SKIP_AUTH",
            "AUTH",
            "AUTH_MODE",
            "SIGNING_KEY_ID",
            "GPG_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SECRET_DETECTION_DISABLED",
            "SECRET_ARN",
            "OIDC_TOKEN_ENDPOINT",
            "TOKEN_TTL",
            "SECRET_STORE",
            "TOKEN_PATTERN",
            "GITLEAKS_SECRET_REGEX",
            "SECRET_MANAGER",
            "NEXT_PUBLIC_API_KEY",
            "PUBLIC_STRIPE_KEY",
            "OAUTH",
            "TOKENIZERS_PARALLELISM",
            "MAX_NEW_TOKENS",
            "NUM_TOKENS",
            "TOKEN_LIMIT",
            "TOKEN_COUNT",
            "SSH_KEY_PUB",
            "ID_RSA_PUBLIC",
            "SSH_KEY_FINGERPRINT",
            "PASSWORD_REQUIRED",
            "NO_PASSWORD",
            "USE_TOKEN",
            "BYPASS_AUTH",
            "JWT_EXPIRATION",
            "PASSWORD_RESET_TIMEOUT",
            "SIGNING_KEY_ALIAS",
            "FILE_PAT",
            "GLOB_PAT",
            "PASSPHRASE_PROMPT",
            "TOKEN_VAR",
            "WEBHOOK_ID",
            "GCP_SA_KEY_FILE",
            "WEBHOOKS",
            "KUBECONFIG",
            "SERVICE_KEY_PATH",
            "MINIO_ACCESS_KEY",
            "S3_ACCESS_KEY",
            "TOKEN_PERMISSIONS",
            "SESSION_SECRET_ROTATION",
            "PASSWORD_HASHER",
            "CSRF_TOKEN_COOKIE",
            "AWS_ACCESS_KEY_ID",
        ] {
            assert!(!credential_name(no, NameUse::Read), "{no}");
        }
    }

    #[test]
    fn names_of_literal_credentials() {
        for yes in [
            "DEPLOY_TOKEN",
            "GPG_PASSPHRASE",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AWS_SECRET_ACCESS_KEY",
            "db_password",
            "DB_PASS",
            "NPM_AUTH",
            "CI_JOB_JWT",
        ] {
            assert!(credential_name(yes, NameUse::Literal), "{yes}");
        }
        for no in [
            "TOKEN_URL",
            "SECRET_NAME",
            "VAULT_SECRET_PATH",
            "SECRET_PATHS",
            "API_KEY_ID",
            "CREDENTIALS_FILE",
            "IMAGE",
            "JWT_ISSUER",
            "AUTH_CONFIG_PATH",
            "S3_JWT_FILE_SCRIPT",
            "SECRET_DETECTION_EXCLUDED_PATHS",
            "DATABASE_URL",
        ] {
            assert!(!credential_name(no, NameUse::Literal), "{no}");
        }
    }

    #[test]
    fn short_words_after_a_prefix() {
        for yes in [
            &["MYSQL", "PASS"][..],
            &["NPM", "AUTH"],
            &["CI", "DOCKER", "AUTH"],
        ] {
            assert!(ends_in_short_credential_word(yes), "{yes:?}");
        }
        for no in [
            &["AUTH"][..],
            &["SKIP", "AUTH"],
            &["PASS", "USER"],
            &["BYPASS"],
        ] {
            assert!(!ends_in_short_credential_word(no), "{no:?}");
        }
    }
}
