//! What a hard-coded credential looks like (PL4001).

use plumb_semantics::credential_words::{self, NameUse};

/// Whether an environment variable's name says it holds a credential (the rule is
/// `plumb_semantics::credential_words`, shared with the importer).
pub fn credential_name(name: &str) -> bool {
    credential_words::credential_name(name, NameUse::Literal)
}

/// Whether `value`, bound to `name`, is a Kubernetes Secret's name rather than a
/// credential (`IMAGE_PULL_SECRET: regcred`, `TLS_SECRET: app-tls`): the name says it
/// may be one, and the value reads as one: lower-case words of letters joined by `-`
/// or `.` (`gitlab-registry`), or one short word (`regcred`), not a run of digits and
/// letters a generator makes (`s3cr3tpassw0rd2024`, hex).
pub fn names_a_secret_object(name: &str, value: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 24
            && w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.bytes().filter(u8::is_ascii_digit).count() <= 2
            && (w.bytes()).all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let words: Vec<&str> = value.split(['-', '.']).collect();
    // a Secret's name says what it holds (`regcred`, `app-tls`, `db-credentials`); a
    // password's words do not (`trustno1`, `correct-horse-battery-staple`)
    let says_what =
        |w: &&str| (OBJECT_NAME_WORDS.iter()).any(|o| w.starts_with(o) || w.ends_with(o));
    let object_name = value.len() <= 63
        && words.iter().all(|w| word(w))
        && words.iter().any(says_what)
        && (words.len() > 1 || value.len() <= 16);
    object_name && credential_words::names_a_secret_object(name)
}

/// Words a Kubernetes Secret's name is made of, saying what it holds.
const OBJECT_NAME_WORDS: &[&str] = &[
    "reg", "cred", "tls", "cert", "ssl", "secret", "pull", "docker", "gitlab", "ghcr", "ecr",
    "gcr", "acr", "quay", "harbor", "auth", "config", "token", "key", "ingress", "db", "database",
    "postgres", "mysql", "redis", "app", "api", "oauth", "oidc", "aws", "gcp", "azure", "vault",
    "webhook",
];

/// Whether a value bound to such a name is a literal credential rather than a
/// reference to another variable (`$CI_JOB_TOKEN`), a file path or a placeholder.
pub fn is_literal_credential(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || names_variables(v) {
        return false;
    }
    // `$$` is a plain `$` (as `expand: false` makes every `$`): a password that has one
    let escaped = v.starts_with("$$");
    let is_var_ref = !escaped
        && ((v.starts_with('$') && !v[1..].contains(|c: char| c.is_whitespace()))
            || v.starts_with("${") && v.ends_with('}'));
    // a base64 key may start with `/`: a path's parts are not keys
    let key_like = |part: &str| {
        part.len() >= 20
            && part.bytes().any(|c| c.is_ascii_uppercase())
            && part.bytes().any(|c| c.is_ascii_lowercase())
            && part.bytes().any(|c| c.is_ascii_digit())
    };
    let is_path = (v.starts_with('/') || v.starts_with("./") || v.starts_with("~/"))
        && !v.split('/').any(key_like);
    // a number of eight digits or fewer is a date, a port, a count or an id
    // (`LATEST_API_TOKEN=20270330`, an expiry), not a credential a service issues
    let short_number = v.len() <= 8 && v.bytes().all(|c| c.is_ascii_digit());
    // what `xargs -I{}`, `find -exec … {}` or a format fills in
    let filled_in = matches!(v, "{}" | "%" | "%s" | "{{}}");
    !(is_var_ref || is_path || is_well_known_dummy(v) || short_number || filled_in)
}

/// The well-known dummies that CI files give their own throwaway service containers
/// (`MYSQL_ROOT_PASSWORD: secret`, `postgres://postgres:postgres@db/test`): no one's
/// credential, and any scanner's first guess; and the switches a credential-like name
/// may hold (`MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`).
fn is_well_known_dummy(v: &str) -> bool {
    is_well_known_word(v) || says_it_is_no_secret(v)
}

/// Words that say a value stands in for a test (`django-insecure-ci-only`).
const STAND_IN_WORDS: &[&str] = &[
    "insecure",
    "fake",
    "dummy",
    "example",
    "placeholder",
    "changeme",
    "test",
    "tests",
    "testing",
    "dev",
    "local",
    "notasecret",
    "unsafe",
    "mock",
];

/// Words a stand-in is made of besides [`STAND_IN_WORDS`]: what it is for, and filler
/// (`test-secret`, `local_dev_key`, `ci-only-do-not-use`).
const STAND_IN_FILLER: &[&str] = &[
    "ci",
    "only",
    "key",
    "secret",
    "password",
    "pass",
    "pw",
    "token",
    "app",
    "django",
    "rails",
    "flask",
    "laravel",
    "do",
    "not",
    "use",
    "in",
    "for",
    "the",
    "a",
    "change",
    "me",
    "default",
    "sample",
    "value",
    "my",
    "db",
    "database",
    "user",
    "admin",
    "api",
    "jwt",
    "signing",
    "session",
    "cookie",
    "demo",
    "base",
    "env",
    "environment",
    "build",
    "pipeline",
    "gitlab",
    "postgres",
    "mysql",
    "redis",
    "mongo",
    "root",
    "service",
    "server",
    "client",
    "access",
    "this",
    "is",
    "so",
    "it",
    "unit",
    "e2e",
    "integration",
];

/// Adjacent words that say a value is no secret (`ci-only-not-secret`,
/// Symfony's `ThisTokenIsNotSoSecretChangeIt`).
const STAND_IN_PHRASES: &[[&str; 2]] = &[
    ["not", "secret"],
    ["not", "real"],
    ["change", "me"],
    ["change", "it"],
];

/// A stand-in by its look: one character repeated (`x`, `00000000`), Stripe's test-mode
/// keys (`sk_test_…`), or plain lower-case words, all of them stand-in words or filler
/// and one a stand-in word ([`STAND_IN_WORDS`]): a passphrase of other words is a
/// password, whatever one of its words says.
fn says_it_is_no_secret(v: &str) -> bool {
    let repeated = v.chars().next().is_some_and(|c| v.chars().all(|d| d == c));
    let stripe_test = ["sk_test_", "pk_test_", "rk_test_"]
        .iter()
        .any(|p| v.starts_with(p));
    let Some(split) = stand_in_words(v) else {
        return repeated || stripe_test;
    };
    let words: Vec<&str> = split.iter().map(|(w, _)| w.as_str()).collect();
    let phrase = (words.windows(2)).any(|p| STAND_IN_PHRASES.contains(&[p[0], p[1]]));
    // words told apart by separators may be any stand-in words (`local-dev-key`); glued
    // or in camel case, a weak password's look (`localadmin`, `devpass`), only words
    // that say it is a test's (`testsecret`, `NotSoSecretChangeIt`)
    let says = |(w, glued): &(String, bool)| {
        STAND_IN_WORDS.contains(&w.as_str())
            && !(*glued && WEAK_STAND_IN_WORDS.contains(&w.as_str()))
    };
    // glued, the words beside the stand-in's say what it stands in for (`testsecret`),
    // not who logs in with it (`roottest`, `AdminTest`: a weak password)
    let glued_ok = (split.iter()).all(|(w, glued)| {
        let w = w.as_str();
        !glued
            || (STAND_IN_WORDS.contains(&w) && !WEAK_STAND_IN_WORDS.contains(&w))
            || GLUED_WITH_A_STAND_IN.contains(&w)
    });
    let stand_in = words.len() > 1 && glued_ok && (phrase || split.iter().any(says));
    repeated || stripe_test || stand_in
}

/// Stand-in words that a real, weak password is as often made of (`localadmin`,
/// `devpass`): they say a value is a stand-in only between separators.
const WEAK_STAND_IN_WORDS: &[&str] = &["dev", "local"];

/// Words a stand-in word may be glued to (`testsecret`, `dummykey`,
/// `ThisTokenIsNotSoSecretChangeIt`): what it stands in for, and the words of
/// [`STAND_IN_PHRASES`].
const GLUED_WITH_A_STAND_IN: &[&str] = &[
    "secret", "key", "token", "jwt", "api", "app", "signing", "session", "value", "this", "is",
    "not", "so", "change", "me", "it", "only", "for", "the", "base", "cookie", "do", "use",
];

/// The words of a value made only of stand-in words and filler, in lower case: split at
/// `-`, `_` and `.`, at a capital (`NotSoSecret`) and where words are glued together
/// (`testsecret`), each with whether it was glued to another (not alone between
/// separators); `None` when some part is no such word.
fn stand_in_words(v: &str) -> Option<Vec<(String, bool)>> {
    let known = |w: &str| STAND_IN_WORDS.contains(&w) || STAND_IN_FILLER.contains(&w);
    let mut words = Vec::new();
    for part in v.split(['-', '_', '.']) {
        let mut of_part = Vec::new();
        for camel in split_at_capitals(part) {
            of_part.extend(glued_words(&camel.to_ascii_lowercase(), &known)?);
        }
        let glued = of_part.len() > 1;
        words.extend(of_part.into_iter().map(|w| (w, glued)));
    }
    Some(words)
}

/// `ThisTokenIsNot` as `This`, `Token`, `Is`, `Not`.
fn split_at_capitals(part: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in part.char_indices().skip(1) {
        let before_lower = part[..i]
            .chars()
            .last()
            .is_some_and(|b| b.is_ascii_lowercase());
        if c.is_ascii_uppercase() && before_lower {
            out.push(&part[start..i]);
            start = i;
        }
    }
    out.push(&part[start..]);
    out
}

/// `testsecret` as `test`, `secret`: the fewest known words that make up `text`, if
/// any do (the longest values are measured no further: a stand-in is short).
fn glued_words(text: &str, known: &dyn Fn(&str) -> bool) -> Option<Vec<String>> {
    if text.len() > 64 || !text.is_ascii() {
        return None;
    }
    // best[i]: the fewest words that make up text[..i], and where the last one starts
    let mut best: Vec<Option<(usize, usize)>> = vec![None; text.len() + 1];
    best[0] = Some((0, 0));
    for end in 1..=text.len() {
        best[end] = (0..end)
            .filter(|&start| known(&text[start..end]))
            .filter_map(|start| best[start].map(|(n, _)| (n + 1, start)))
            .min();
    }
    let mut words = Vec::new();
    let mut end = text.len();
    while end > 0 {
        let (_, start) = best[end]?;
        words.push(text[start..end].to_string());
        end = start;
    }
    words.reverse();
    Some(words)
}

fn is_well_known_word(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        // a switch (`MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`)
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "none"
            | "null"
            | "changeme"
            // public defaults: the JDK's `cacerts`, MinIO's
            | "changeit"
            | "minioadmin"
            | "<redacted>"
            | "xxx"
            | "secret"
            | "password"
            | "passw0rd"
            | "pass"
            | "root"
            | "test"
            | "testing"
            | "example"
            | "dummy"
            | "postgres"
            | "mysql"
            | "admin"
            // NuGet's documented stand-ins: a credential provider or `NUGET_AUTH_TOKEN`
            // gives the real key (`dotnet nuget push --api-key az`)
            | "az"
            | "azuredevops"
    )
}

/// How far a token's characters are measured (see [`find`]).
const LONGEST_TOKEN: usize = 512;

/// The kind of a `scheme://user:password@host` match.
pub const URL_WITH_PASSWORD: &str = "a URL with a password";

/// Credential-shaped substrings of `text`: (kind, start, end).
pub fn find(text: &str) -> Vec<(&'static str, usize, usize)> {
    let mut found = private_key_blocks(text);
    let b = text.as_bytes();
    let word_start = |i: usize| i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    // a token is short: a run of token characters is measured to its first
    // [`LONGEST_TOKEN`] bytes (`glpat-glpat-…` would be measured again from each word)
    let run = |i: usize, ok: &dyn Fn(u8) -> bool| {
        (b[i..].iter().take(LONGEST_TOKEN))
            .take_while(|c| ok(**c))
            .count()
    };
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    for (i, _) in text.char_indices() {
        if !word_start(i) {
            continue;
        }
        let rest = &text[i..];
        if rest.starts_with("AKIA") || rest.starts_with("ASIA") {
            // `ASIA…`: a temporary key (with its session token)
            let n = run(i + 4, &|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if n == 16 {
                found.push(("an AWS access key", i, i + 20));
            }
        } else if rest.starts_with("glpat-") {
            let n = run(i + 6, &|c| alnum(c) || c == b'_' || c == b'-');
            if n >= 20 {
                found.push(("a GitLab personal access token", i, i + 6 + n));
            }
        } else if rest.starts_with("github_pat_") {
            let n = run(i + 11, &|c| alnum(c) || c == b'_');
            if n >= 22 {
                found.push(("a GitHub personal access token", i, i + 11 + n));
            }
        } else if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            let n = run(i + 4, &alnum);
            if n >= 36 {
                found.push(("a GitHub token", i, i + 4 + n));
            }
        } else if rest.len() > 5
            && rest.starts_with("xox")
            && b"baprs".contains(&b[i + 3])
            && b[i + 4] == b'-'
        {
            let n = run(i + 5, &|c| alnum(c) || c == b'-');
            if n >= 10 {
                found.push(("a Slack token", i, i + 5 + n));
            }
        } else if let Some((kind, end)) = prefixed_token(text, i) {
            found.push((kind, i, end));
        } else if let Some(end) = webhook_url(text, i) {
            found.push(("a webhook URL (its path is the credential)", i, end));
        } else if let Some(end) = url_with_password(text, i) {
            found.push((URL_WITH_PASSWORD, i, end));
        } else if let Some((start, end)) = header_credential(text, i) {
            found.push((HEADER_TOKEN, start, end));
        }
    }
    // a header's token of a kind known (`PRIVATE-TOKEN: glpat-…`) is reported as that
    let known: Vec<(usize, usize)> = (found.iter())
        .filter(|f| f.0 != HEADER_TOKEN)
        .map(|f| (f.1, f.2))
        .collect();
    found.retain(|f| f.0 != HEADER_TOKEN || !known.iter().any(|k| k.0 < f.2 && f.1 < k.1));
    found
}

/// The kind of a [`header_credential`] match.
const HEADER_TOKEN: &str = "a token written into an HTTP header";

/// HTTP headers that carry a credential, in lower case; `true` for those whose value
/// starts with a scheme (`Bearer`, `Basic`, `token`).
const CREDENTIAL_HEADERS: &[(&str, bool)] = &[
    ("authorization", true),
    ("proxy-authorization", true),
    ("private-token", false),
    ("x-api-key", false),
    ("x-auth-token", false),
    ("x-vault-token", false),
    ("x-jfrog-art-api", false),
    ("x-api-token", false),
    ("x-access-token", false),
    ("dd-api-key", false),
    ("dd-application-key", false),
    ("api-key", false),
];

/// Words of the placeholders documentation puts where a token goes (`YOUR_TOKEN_HERE`,
/// `REPLACE_ME`, `<token>`).
const PLACEHOLDER_WORDS: &[&str] = &[
    "your",
    "example",
    "replace",
    "redacted",
    "placeholder",
    "changeme",
    "dummy",
    "token",
    "here",
    "fake",
    "sample",
    "insert",
    "xxxx",
];

/// A credential header written with a literal token at `i` (`-H "Authorization: Bearer
/// 8f3a…"`, `--header "PRIVATE-TOKEN: glpat…"`): the token's start and end. A variable
/// (`Bearer $TOKEN`), a placeholder (`<token>`, `YOUR_TOKEN_HERE`), a word without a
/// digit or a short one is none. Blanks around the `:` and the scheme are read as a
/// server trims them (a check reads an interpolation as a line break, which ends it).
fn header_credential(text: &str, i: usize) -> Option<(usize, usize)> {
    let rest = &text[i..];
    let starts = |p: &str| {
        rest.get(..p.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(p))
    };
    // a header's name starts there (`api-key` is not read again inside `x-api-key`)
    if i > 0 && text.as_bytes()[i - 1] == b'-' {
        return None;
    }
    let &(name, schemed) = CREDENTIAL_HEADERS.iter().find(|(h, _)| starts(h))?;
    let skip_blanks = |at: usize| {
        at + text[at..]
            .bytes()
            .take_while(|c| matches!(c, b' ' | b'\t'))
            .count()
    };
    let colon = skip_blanks(i + name.len());
    if !text[colon..].starts_with(':') {
        return None;
    }
    let mut at = skip_blanks(colon + 1);
    if schemed {
        let scheme = (text[at..].bytes().take(16))
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let after = skip_blanks(at + scheme);
        if scheme == 0 || after == at + scheme {
            return None;
        }
        at = after;
    }
    let token_char = |c: &u8| c.is_ascii_alphanumeric() || b"._~+/=-".contains(c);
    let len = (text.as_bytes()[at..].iter().take(LONGEST_TOKEN))
        .take_while(|c| token_char(c))
        .count();
    let token = &text[at..at + len];
    let lower = token.to_ascii_lowercase();
    let distinct = token
        .bytes()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let mixed =
        token.bytes().any(|c| c.is_ascii_digit()) && token.bytes().any(|c| c.is_ascii_alphabetic());
    let placeholder = PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w));
    (len >= 12 && distinct > 4 && mixed && !placeholder && !is_well_known_dummy(token))
        .then_some((at, at + len))
}

/// Tokens a service issues with a prefix of its own, and the least characters after it
/// (fewer is a name or an example, not a token): (prefix, characters, kind).
const PREFIXED_TOKENS: &[(&str, usize, &str)] = &[
    ("glrt-", 20, "a GitLab runner token"),
    ("gldt-", 20, "a GitLab deploy token"),
    ("glptt-", 20, "a GitLab pipeline trigger token"),
    ("glcbt-", 20, "a GitLab CI build token"),
    ("glagent-", 20, "a GitLab agent for Kubernetes token"),
    ("glft-", 20, "a GitLab feed token"),
    ("gloas-", 20, "a GitLab OAuth application secret"),
    ("glimt-", 20, "a GitLab incoming mail token"),
    ("glffct-", 20, "a GitLab feature flags client token"),
    ("glsoat-", 20, "a GitLab SCIM token"),
    ("GR1348941", 16, "a GitLab runner registration token"),
    ("xapp-", 20, "a Slack app token"),
    ("SG.", 22, "a SendGrid API key"),
    ("squ_", 40, "a SonarQube token"),
    ("sqp_", 40, "a SonarQube token"),
    ("sqa_", 40, "a SonarQube token"),
    ("npm_", 36, "an npm token"),
    ("pypi-AgEIcHlwaS5vcmc", 50, "a PyPI token"),
    ("sk_live_", 24, "a Stripe secret key"),
    ("AIza", 35, "a Google API key"),
    ("dop_v1_", 64, "a DigitalOcean token"),
    ("rk_live_", 24, "a Stripe restricted key"),
    ("hvs.", 24, "a HashiCorp Vault token"),
    ("sk-proj-", 40, "an OpenAI API key"),
    ("sk-ant-", 40, "an Anthropic API key"),
];

/// A [`PREFIXED_TOKENS`] token starting at `i`: its kind and end.
fn prefixed_token(text: &str, i: usize) -> Option<(&'static str, usize)> {
    let rest = &text[i..];
    let (prefix, least, kind) = PREFIXED_TOKENS.iter().find(|(p, ..)| rest.starts_with(p))?;
    let body = rest[prefix.len()..]
        .bytes()
        .take(LONGEST_TOKEN)
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        .count();
    (body >= *least).then_some((kind, i + prefix.len() + body))
}

/// The length of a webhook URL's fixed part at the start of `rest` (scheme and host in
/// any case, `http` too, Discord's versioned API and other hosts), and how many path
/// parts follow it, the last being the secret.
fn webhook_prefix(rest: &str) -> Option<(usize, usize)> {
    const HOOKS: &[(&str, &[&str], usize)] = &[
        (
            "hooks.slack.com/",
            &["services/", "workflows/", "triggers/"],
            3,
        ),
        ("discord.com/api/", &["webhooks/"], 2),
        ("discordapp.com/api/", &["webhooks/"], 2),
        ("canary.discord.com/api/", &["webhooks/"], 2),
        ("ptb.discord.com/api/", &["webhooks/"], 2),
    ];
    let starts = |text: &str, p: &str| {
        text.get(..p.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(p))
    };
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|p| starts(rest, p))?
        .len();
    let after = &rest[scheme..];
    let (host, paths, parts) = HOOKS.iter().find(|(h, ..)| starts(after, h))?;
    let mut path = &after[host.len()..];
    // `discord.com/api/v10/webhooks/…`
    if let Some(version) = path.strip_prefix('v') {
        let digits = version.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && version[digits..].starts_with('/') {
            path = &version[digits + 1..];
        }
    }
    let kind = paths.iter().find(|p| path.starts_with(*p))?;
    Some((rest.len() - path.len() + kind.len(), *parts))
}

/// A chat webhook whose path is its credential (anyone holding it posts to the
/// channel): Slack's `hooks.slack.com/services/T…/B…/…` (and `workflows/`, `triggers/`),
/// Discord's `discord.com/api/webhooks/ID/TOKEN` (`api/v10/…`, `canary.`, `ptb.`). The
/// end of the URL's token.
fn webhook_url(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    let (prefix, parts) = webhook_prefix(rest)?;
    let path_len = rest[prefix..]
        .bytes()
        .take(LONGEST_TOKEN)
        .take_while(|c| c.is_ascii_alphanumeric() || b"_-/".contains(c))
        .count();
    let path = &rest[prefix..prefix + path_len];
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // the last part is the secret: long, not a placeholder (`XXXX`, `<token>`)
    let secret = segments.get(parts - 1)?;
    let distinct = secret
        .bytes()
        .collect::<std::collections::HashSet<_>>()
        .len();
    (segments.len() >= parts && secret.len() >= 16 && distinct > 4).then_some(i + prefix + path_len)
}

/// Every `-----BEGIN … PRIVATE KEY-----` armour line (RSA, EC, OPENSSH, ENCRYPTED, PGP
/// `PRIVATE KEY BLOCK`, …): (kind, start, end of the line).
fn private_key_blocks(text: &str) -> Vec<(&'static str, usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("-----BEGIN ") {
        let start = from + rel;
        let label_start = start + "-----BEGIN ".len();
        let Some(label_len) = text[label_start..].find("-----") else {
            break;
        };
        let label = &text[label_start..label_start + label_len];
        let end = label_start + label_len + "-----".len();
        // a real armour's label is capital words (`(RSA|EC) PRIVATE KEY` is a regex)
        let words_only = label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
        if label.contains("PRIVATE KEY") && words_only {
            found.push(("a private key", start, end));
        }
        from = end;
    }
    found
}

/// The longest URL scheme read (`git+ssh`, `postgresql`, `chrome-extension`).
const LONGEST_SCHEME: usize = 32;

/// `scheme://user:password@host…` starting at `i`: the end of the userinfo.
fn url_with_password(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    // the scheme is read as far as it can go (a scheme is short: `a-a-a-…` would be read
    // again from each word), then `://` must follow: looking for `://` anywhere after
    // each word would cost the text's length per word
    let scheme_len = rest
        .bytes()
        .take(LONGEST_SCHEME + 1)
        .position(|c| !(c.is_ascii_alphanumeric() || b"+.-".contains(&c)))
        .filter(|n| *n <= LONGEST_SCHEME)?;
    let scheme = &rest[..scheme_len];
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !rest[scheme_len..].starts_with("://")
    {
        return None;
    }
    let after = &rest[scheme_len + 3..];
    let authority_end = after
        .find(|c: char| {
            c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
        })
        .unwrap_or(after.len());
    let authority = &after[..authority_end];
    let at = authority.rfind('@')?;
    // `docker://alpine:3.19@sha256:…` names an image by tag and digest
    if authority[at + 1..].starts_with("sha256:") || authority[at + 1..].starts_with("sha512:") {
        return None;
    }
    let (_user, password) = authority[..at].split_once(':')?;
    let is_reference = password.starts_with('$')
        || password.starts_with("${")
        || password.starts_with('<')
        // a placeholder a program fills in (`printf "https://%s:%s@…"`, `{password}`)
        || password.starts_with(['%', '{'])
        || password == "*"
        || password.chars().all(|c| c == '*' || c == 'x')
        || is_well_known_dummy(password);
    // (no user is Redis's form: `redis://:password@host`)
    if password.is_empty() || is_reference || at + 1 >= authority.len() {
        return None;
    }
    Some(i + scheme_len + 3 + at)
}

/// A list of variable names, or of `path=NAME` pairs (`VAULT_SECRETS: "kv/db=DB_PASS
/// kv/api=API_TOKEN"`): what to fetch and where to put it, no credential.
fn names_variables(v: &str) -> bool {
    let items: Vec<&str> = v
        .split([' ', ',', '\n', '\t'])
        .filter(|i| !i.is_empty())
        .collect();
    let is_name = |n: &str| {
        n.len() > 1
            && n.starts_with(|c: char| c.is_ascii_uppercase())
            && n.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && n.contains('_')
    };
    let item = |i: &&str| {
        let name = i.rsplit_once('=').map_or(*i, |(_, n)| n);
        let path = i.rsplit_once('=').map_or("", |(p, _)| p);
        is_name(name)
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    };
    items.len() > 1 && items.iter().all(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that say they stand in for a test are no credentials; a random-looking
    /// one is, whatever words it holds.
    #[test]
    fn stand_ins_for_tests_are_no_credentials() {
        for stand_in in [
            "django-insecure-ci-only",
            "test-secret",
            "local_dev_key",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "x",
            "00000000",
            "xxxxxxxxxxxx",
            "ci-only-not-secret",
            "ci_secret_key_base_for_tests_only",
            "testsecret",
            "ThisTokenIsNotSoSecretChangeIt",
            "changeit",
            "minioadmin",
        ] {
            assert!(!is_literal_credential(stand_in), "{stand_in}");
        }
        for credential in [
            "hunter2",
            "Test-9f8e7d6c5b4a",
            "s3cr3t-t0ken",
            "prod-secret-key",
            "ample-mock-sweater-rhythm",
            "dev_xqzvbnmlkjhgf",
            "dev:correcthorsebatterystaple",
            "rootpassword",
            "secretadminkey",
            "Xk9-not-2secret",
            "localadmin",
            "devpass",
            "adminlocal",
            "localadmin-",
            "_devpass",
            "roottest",
            "AdminTest",
            "mypasswordtest",
            "rootchangeit",
        ] {
            assert!(is_literal_credential(credential), "{credential}");
        }
    }

    #[test]
    fn finds_prefixed_tokens_and_webhooks() {
        let kinds = |t: &str| find(t).into_iter().map(|f| f.0).collect::<Vec<_>>();
        let sonar = format!("squ_{}", &"0123456789abcdef".repeat(3)[..40]);
        assert_eq!(
            kinds(&format!("-Dsonar.token={sonar}")),
            ["a SonarQube token"]
        );
        assert_eq!(
            kinds("glrt-AbCdEfGhIjKlMnOpQrSt12"),
            ["a GitLab runner token"]
        );
        let slack = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/aBcDeFgHiJkLmNoPqRsTuVwX";
        assert_eq!(
            kinds(&format!("curl -X POST {slack}")),
            ["a webhook URL (its path is the credential)"]
        );
        // names, examples and placeholders are none
        for text in [
            "squ_token",
            "npm_config_cache",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/$SLACK_PATH",
            "glrt-",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }

    #[test]
    fn kubernetes_secret_names_are_words_that_say_what_they_hold() {
        for (name, value) in [
            ("IMAGE_PULL_SECRET", "regcred"),
            ("IMAGE_PULL_SECRET", "gitlab-registry"),
            ("TLS_SECRET", "app-tls"),
        ] {
            assert!(names_a_secret_object(name, value), "{name}: {value}");
        }
        for (name, value) in [
            ("KUBE_SECRET", "s3cr3tpass"),
            ("TLS_SECRET", "p4ssw0rd"),
            ("K8S_SECRET", "qwerty"),
            ("KUBERNETES_SECRET", "trustno1"),
            ("PULL_SECRET", "correct-horse-battery-staple"),
            ("DB_PASSWORD_SECRET", "db-credentials"),
            ("TLS_SECRET", "s3cr3tpassw0rd2024"),
        ] {
            assert!(!names_a_secret_object(name, value), "{name}: {value}");
        }
    }

    #[test]
    fn finds_common_tokens() {
        let kinds = |t: &str| find(t).into_iter().map(|f| f.0).collect::<Vec<_>>();
        assert_eq!(
            kinds("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            ["a GitHub token"]
        );
        assert_eq!(kinds("key AKIAIOSFODNN7EXAMPLE"), ["an AWS access key"]);
        assert_eq!(
            kinds("glpat-xxxxxxxxxxxxxxxxxxxx"),
            ["a GitLab personal access token"]
        );
        assert_eq!(kinds("xoxb-1234567890-abc"), ["a Slack token"]);
        assert_eq!(
            kinds("https://deploy:hunter2@git.example.com/x.git"),
            ["a URL with a password"]
        );
        assert_eq!(
            kinds("-----BEGIN OPENSSH PRIVATE KEY-----\nabc"),
            ["a private key"]
        );
    }

    #[test]
    fn credential_headers_with_literal_tokens() {
        let header = HEADER_TOKEN;
        for text in [
            r#"curl -H "Authorization: Bearer 8f3a9c2e1b7d4f6a0e5c3b2a1d9f8e7c" https://api"#,
            "curl -H 'authorization: Basic YWRtaW46aHVudGVyMg==' https://api",
            r#"curl --header "PRIVATE-TOKEN: 8f3a9c2e1b7d4f6a0e5c" https://gitlab"#,
            r#"curl -H "X-API-Key: 8f3a9c2e1b7d4f6a0e5c" https://api"#,
            r#"git config http.extraHeader "Authorization: token abcDEF1234567890""#,
            // blanks a server trims
            "curl -H 'Authorization:  Bearer\tabcdef0123456789abcdef'",
            "curl -H 'PRIVATE-TOKEN : 8f3a9c2e1b7d4f6a0e5c'",
        ] {
            let found = find(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            let (kind, start, end) = found[0];
            assert_eq!(kind, header, "{text}");
            assert!(!text[start..end].contains(' '), "the token only: {text}");
        }
        for text in [
            r#"curl -H "Authorization: Bearer $TOKEN" https://api"#,
            r#"curl -H "Authorization: Bearer ${CI_JOB_TOKEN}" https://api"#,
            r#"curl -H "Authorization: Bearer $(cat /run/token)" https://api"#,
            r#"curl -H "PRIVATE-TOKEN: <your_access_token>" https://gitlab"#,
            r#"curl -H "X-API-Key: xxxxxxxxxxxxxxxx" https://api"#,
            r#"curl -H "Authorization: Bearer abc" https://api"#,
            "echo 'Authorization: Bearer'",
            // an interpolation, read as a line break: only part of the value is written
            "curl -H 'PRIVATE-TOKEN: \nabcdefghij0123456789'",
            r#"curl -H "Authorization: Bearer YOUR_TOKEN_HERE""#,
            r#"curl -H "PRIVATE-TOKEN: YOUR_ACCESS_TOKEN""#,
            r#"curl -H "X-API-Key: REPLACE_ME_WITH_KEY""#,
            r#"curl -H "Authorization: Bearer your-api-token""#,
            r#"curl -H "Authorization: Bearer EXAMPLE_TOKEN_1234567""#,
            r#"curl -H "Authorization-Mode: abcdef0123456789""#,
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }

    #[test]
    fn every_private_key_armour() {
        for label in [
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
            "PRIVATE KEY",
            "PGP PRIVATE KEY BLOCK",
            "DSA PRIVATE KEY",
        ] {
            let text = format!("x\n-----BEGIN {label}-----\nabc\n-----END {label}-----\n");
            let f = find(&text);
            assert_eq!(f.len(), 1, "{label}");
            assert_eq!(&text[f[0].1..f[0].2], format!("-----BEGIN {label}-----"));
        }
        assert!(find("-----BEGIN PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----").is_empty());
        assert!(find("-----BEGIN PGP PUBLIC KEY BLOCK-----").is_empty());
        // a pattern that finds keys is none
        assert!(find("grep -E '-----BEGIN (RSA|EC) PRIVATE KEY-----'").is_empty());
        assert!(find("printf 'https://%s:%s@gitlab.com'").is_empty());
        // a throwaway service container's well-known dummy
        assert!(find("postgres://postgres:postgres@db:5432/postgres").is_empty());
        assert!(find("mysql://root:changeme@mysql/test").is_empty());
    }

    #[test]
    fn ordinary_values_are_not_credentials() {
        for t in [
            "https://git.example.com/x.git",
            "https://user@git.example.com",
            "https://user:$TOKEN@git.example.com",
            "sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91",
            "3f2b1c9d8e7a6f5b4c3d2e1f0a9b8c7d6e5f4a3b",
            "123e4567-e89b-12d3-a456-426614174000",
            "postgres://localhost:5432/db",
            "ghp_short",
        ] {
            assert!(find(t).is_empty(), "{t}");
        }
        assert!(!is_literal_credential("$CI_JOB_TOKEN"));
        assert!(!is_literal_credential("${CI_JOB_TOKEN}"));
        assert!(is_literal_credential("s3cr3t-value"));
        // a date or a port is no credential; a long number may be one
        assert!(!is_literal_credential("20270330"));
        assert!(!is_literal_credential("5432"));
        assert!(is_literal_credential("839201746512"));
    }
}
