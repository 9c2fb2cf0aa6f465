//! Following secrets through a job's script (PL4003, PL4004, PL4007).
//!
//! The variables a job's secrets are bound to (`env = { T = token }`) are tainted;
//! plain assignments (`X=$T`, `export X="$T"`) taint their targets. Each simple command
//! of the script is then read for the three ways a tainted value leaks: printed to the
//! job log, passed as a command-line argument, or written into an artifact.

use crate::shell::{self, Command, VarRef};
use crate::{JobCx, ScannedScript};
use plumb_diagnostics::{FileRange, TextRange};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leak {
    /// Printed to the job log by this command (`echo`, `printenv`, …).
    Printed { command: String },
    /// `set -x` or `sh -x` while secrets are bound: every command is echoed.
    Xtrace { command: String },
    /// Handed to something whose use of it cannot be followed (`eval`, `sh -c`,
    /// `xargs`, `trap`, `${!x}`, a script fed to a shell): counts as printed.
    Unfollowed { command: String },
    /// Passed as an argument of this command.
    Argument { command: String },
    /// Written to this file, which an `artifacts` path (or a `cache` path: `cache`)
    /// keeps.
    Artifact {
        path: String,
        artifact: String,
        cache: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFinding {
    pub leak: Leak,
    /// The environment variable that holds the secret (empty for `set -x`, `env`).
    pub variable: String,
    /// The secret's name in the Plumb source.
    pub secret: String,
    /// The exact token in the source, as far as it can be found.
    pub at: FileRange,
    /// Where the secret is bound to the variable (or declared, when read by name).
    pub bound_at: Option<FileRange>,
    /// How the job holds the secret.
    pub held: Held,
    /// The secret was read from the file whose path the variable holds (`cat "$F"`).
    pub from_file: bool,
}

impl ScriptFinding {
    /// The help for a secret file read where it leaks: the path is what to hand on.
    pub const FILE_HELP: &'static str = "hand the program the file's path (`--password-file \"$F\"`) or its content on standard input (`tool --password-stdin < \"$F\"`)";

    /// "secret `X`", said of the secret file's content when that is what leaks, and of
    /// a command's output when the script fetches the secret.
    pub fn subject(&self) -> String {
        match (self.held, self.from_file) {
            (Held::Fetched, _) => format!("the secret from `{}`", self.secret),
            (_, true) => format!("secret `{}`, read from its file,", self.secret),
            (_, false) => format!("secret `{}`", self.secret),
        }
    }
    /// The secondary label at `bound_at`.
    pub fn bound_label(&self) -> String {
        match self.held {
            // (read with no declaration: the secret is named after the variable)
            Held::ByName
                if self.secret == self.variable
                    && JOB_CREDENTIALS.contains(&self.variable.as_str()) =>
            {
                format!(
                    "`{}` is a credential GitLab makes for each job, which every job has; read here",
                    self.variable
                )
            }
            Held::ByName if JOB_CREDENTIALS.contains(&self.variable.as_str()) => format!(
                "secret `{}` is `{}`, a credential GitLab makes for each job, which every job has",
                self.secret, self.variable
            ),
            Held::ByName => format!(
                "secret `{}` is the project variable `{}`, which every job can read by name",
                self.secret, self.variable
            ),
            Held::Bound => format!("secret `{}` is bound here", self.secret),
            Held::Fetched => "the script fetches the secret here".to_string(),
        }
    }
}

/// How a job holds a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Bound to a variable in `env`.
    Bound,
    /// A project variable read by name, not bound in `env`.
    ByName,
    /// Output by a command of the script that fetches or makes it
    /// (`aws ecr get-login-password`, `vault kv get`): see [`crate::fetchers`].
    Fetched,
}

/// Builtins and commands whose arguments never reach a process listing.
const BUILTINS: &[&str] = &[
    "export",
    "local",
    "declare",
    "readonly",
    "typeset",
    "test",
    "[",
    "[[",
    ":",
    "true",
    "false",
    "read",
    "cd",
    "set",
    "unset",
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "while",
    "until",
    "do",
    "done",
    "for",
    "case",
    "esac",
    "return",
    "exit",
    "shift",
    "eval",
    "source",
    ".",
    "trap",
    "wait",
    "echo",
    "printf",
    "mapfile",
    "readarray",
    "let",
    "shopt",
    // PowerShell's own commands run in its process
    "Write-Host",
    "Write-Output",
    "write-host",
    "write-output",
];

/// Commands that print their arguments (PowerShell's too, as Windows runners' scripts
/// write them).
const PRINTERS: &[&str] = &["echo", "printf"];

/// PowerShell's cmdlets that print their arguments to the job log (any case).
const PRINTING_CMDLETS: &[&str] = &[
    "write-host",
    "write-output",
    "write-warning",
    "write-error",
    "write-information",
    "out-host",
];

/// Whether a command prints its arguments (`echo`, `printf`, `Write-Host`).
fn prints_arguments(name: &str) -> bool {
    PRINTERS.contains(&name) || PRINTING_CMDLETS.contains(&name.to_ascii_lowercase().as_str())
}
/// Commands that copy their standard input (or a here-doc) to their output, changed or not.
const FILTERS: &[&str] = &[
    "cat", "tee", "grep", "egrep", "fgrep", "sort", "head", "tail", "awk", "gawk", "sed", "cut",
    "uniq", "less", "more", "tr", "base64", "base32", "basenc", "xxd", "od", "hexdump", "rev",
    "fold", "paste", "nl", "column", "jq", "yq", "envsubst", "fmt", "expand", "unexpand",
    "strings", "iconv", "tac", "diff", "comm", "join", "gzip", "bzip2", "xz", "zstd", "lz4",
];
/// PowerShell cmdlets that show what is piped into them (`Get-ChildItem env: |
/// Format-Table`), compared without case.
const FILTERING_CMDLETS: &[&str] = &[
    "format-table",
    "ft",
    "format-list",
    "fl",
    "sort-object",
    "select-object",
    "select",
    "out-string",
    "where-object",
    "where",
];

/// Whether a command copies its input to its output ([`FILTERS`], PowerShell's too).
fn is_filter(name: &str) -> bool {
    FILTERS.contains(&name) || FILTERING_CMDLETS.contains(&name.to_ascii_lowercase().as_str())
}

/// The POSIX-like shells a script can start (`bash -c`, `sh -s`).
pub(crate) const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "busybox"];

/// (secret name, where bound or declared, read by name)
type Source = (String, Option<FileRange>, Held);

struct Taint {
    /// variable → the secret it holds
    vars: HashMap<String, Source>,
    /// variable → the secret in the file whose path it holds (`vault(…, file = true)`,
    /// GitLab's `file: true`): printing the path leaks nothing, reading the file does.
    files: HashMap<String, Source>,
    /// A secret file's content read into the script (`$(cat "$F")`, `read X < "$F"`):
    /// from then on a trace (`set -x`) shows it.
    content_read: Option<(String, Source)>,
    /// What each `<(…)` outputs that holds a secret, by where it is written: the
    /// command that reads it (`cat <(echo "$T")`) reads the secret.
    substituted: HashMap<usize, Flow>,
    /// Whether what each command substitution outputs holds a secret, by where it is
    /// written (its commands come before the command whose word it is in).
    captured: HashMap<usize, bool>,
    /// The secret each command substitution outputs that no expansion of its word
    /// names (`$(printenv TOKEN)`, `$(cat /tmp/t)` after `echo "$T" > /tmp/t`), by
    /// where it is written: its word holds that secret.
    captured_secret: HashMap<usize, (String, Source)>,
    /// Files the script wrote a secret to, by the path as written (`echo "$T" > /tmp/t`):
    /// a command that later reads one (`cat /tmp/t`) outputs the secret.
    written: HashMap<String, (String, Source)>,
}

impl Taint {
    /// Records that the file at `path` (as written) now holds `flow`'s secret.
    fn remember_written(&mut self, path: &str, flow: &Flow) {
        let held = (flow.var.clone(), flow.source.clone());
        self.written.insert(path.to_string(), held);
    }
    /// The secret `v` expands to: a variable that holds one, or a secret file's path
    /// inside a command substitution (`$(cat "$F")` is the file's content).
    fn get(&self, v: &VarRef) -> Option<&Source> {
        // `X=$(curl -u "$T" x)`: X holds the response, not the secret
        let output_clean = v.within.and_then(|at| self.captured.get(&at)) == Some(&false);
        if v.indirect || output_clean {
            return None;
        }
        let read = v.substitution_reads_content();
        let file = || read.then(|| self.files.get(&v.name)).flatten();
        self.vars.get(&v.name).or_else(file)
    }
    /// The secret a command substitution written in `w` outputs that no expansion
    /// names (`"user:$(printenv TOKEN)"`).
    fn captured_in(&self, w: &shell::Word) -> Option<&(String, Source)> {
        (self.captured_secret.iter())
            .filter(|(at, _)| (w.start..w.end).contains(*at))
            .min_by_key(|(at, _)| **at)
            .map(|(_, secret)| secret)
    }
    /// The secret file whose path `v` expands to (outside a command substitution).
    fn file(&self, v: &VarRef) -> Option<&Source> {
        if v.indirect || v.substituted {
            return None;
        }
        self.files.get(&v.name)
    }
    fn any_bound(&self) -> Option<(&String, &Source)> {
        self.vars.iter().min_by_key(|(k, _)| k.as_str())
    }
    /// The first tainted variable among these expansions.
    fn first<'v>(
        &self,
        vars: impl IntoIterator<Item = &'v VarRef>,
    ) -> Option<(&'v VarRef, Source)> {
        vars.into_iter()
            .find_map(|v| self.get(v).map(|s| (v, s.clone())))
    }
    /// The first expansion of a secret file's path among these.
    fn first_file<'v>(
        &self,
        vars: impl IntoIterator<Item = &'v VarRef>,
    ) -> Option<(&'v VarRef, Source)> {
        vars.into_iter()
            .find_map(|v| self.file(v).map(|s| (v, s.clone())))
    }
    /// The first expansion of a secret or of a secret file's path: for text a shell
    /// runs later (`sh -c "cat $F"`), where either can leak.
    fn first_any<'v>(
        &self,
        vars: impl IntoIterator<Item = &'v VarRef> + Clone,
    ) -> Option<(&'v VarRef, Source)> {
        self.first(vars.clone()).or_else(|| self.first_file(vars))
    }
    /// Whether `v`'s secret comes from reading a secret file (`$(cat "$F")`).
    fn reads_file(&self, v: &VarRef) -> bool {
        v.substitution_reads_content()
            && !self.vars.contains_key(&v.name)
            && self.files.contains_key(&v.name)
    }
    /// Records that the script reads a secret file's content, when `v` does; whether
    /// it does.
    fn note_content_read(&mut self, v: &VarRef) -> bool {
        if !self.reads_file(v) {
            return false;
        }
        if self.content_read.is_none() {
            if let Some(source) = self.files.get(&v.name) {
                self.content_read = Some((v.name.clone(), source.clone()));
            }
        }
        true
    }

    /// The job's secrets: those bound in `env`, and the project variables its strings
    /// name (on GitLab every job can read them).
    fn of_job(cx: &JobCx) -> Taint {
        let mut vars = HashMap::new();
        let mut files = HashMap::new();
        let paths = used_as_paths(cx);
        for s in &cx.job.read_secrets {
            if let plumb_semantics::SecretSource::CiVariable(var) = &s.source {
                let source = (s.name.clone(), Some(s.declared_at), Held::ByName);
                // `chmod 600 "$SSH_KEY"`: a File variable, whose value is the file's path
                match paths.contains(var.as_str()) {
                    true => files.insert(var.clone(), source),
                    false => vars.insert(var.clone(), source),
                };
            }
        }
        for (binding, secret) in cx.job.secret_env() {
            let source = (secret.name.clone(), Some(binding.name_at), Held::Bound);
            match secret.source.is_file() {
                true => files.insert(binding.name.clone(), source),
                false => vars.insert(binding.name.clone(), source),
            };
        }
        Taint {
            vars: with_env_copies(cx, vars),
            files: with_env_copies(cx, files),
            ..Taint::empty()
        }
    }
    fn is_empty(&self) -> bool {
        self.vars.is_empty() && self.files.is_empty()
    }
    /// No secret anywhere.
    fn empty() -> Taint {
        Taint {
            vars: HashMap::new(),
            files: HashMap::new(),
            content_read: None,
            substituted: HashMap::new(),
            captured: HashMap::new(),
            captured_secret: HashMap::new(),
            written: HashMap::new(),
        }
    }
}

/// The variables the job's scripts use as a file's path, and only so: given alone to a
/// program that takes files (`chmod 600 "$SSH_KEY"`, `ssh-add "$KEY"`), after an option
/// that takes a path (`--key-file "$GCP_KEY"`, [`program_path_option`]: `ssh -i`,
/// `keytool -srckeystore`), as a file operand ([`is_file_operand`]: `gpg --import`),
/// or in an ssh command within a word (`rsync -e "ssh -i $KEY"`). A project variable so
/// used is a GitLab File variable: its value is the path, the file holds the secret.
/// One also used otherwise (`echo "$KEY"`) is a value: a decoy `cp "$T" /dev/null`
/// does not make a token a path.
fn used_as_paths<'c>(cx: &'c JobCx) -> HashSet<&'c str> {
    let mut as_path: HashMap<&str, usize> = HashMap::new();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    // used in a way only a value is: never a path, whatever else it is given to
    let mut valued: HashSet<&str> = HashSet::new();
    for cmd in cx.scripts().iter().flat_map(|s| s.commands.iter()) {
        for v in all_vars(cmd) {
            *uses.entry(v.name.as_str()).or_default() += 1;
        }
        let Some(name) = cmd.name().map(crate::supply::base) else {
            continue;
        };
        let args = cmd.args();
        for (i, w) in args.iter().enumerate() {
            let [v] = w.vars.as_slice() else {
                continue;
            };
            let after = |p: usize| {
                option_takes_a_path(&args[p].text) || program_path_option(name, &args[p].text)
            };
            // `[ -f "$KEY" ]` tests a file; `[ -n "$TOKEN" ]` tests a value
            let file_test = matches!(name, "test" | "[" | "[[")
                && i.checked_sub(1).is_some_and(|p| {
                    matches!(args[p].text.as_str(), "-f" | "-e" | "-r" | "-s" | "-d")
                });
            let path = (PATHS_ONLY.contains(&name)
                || file_test
                || i.checked_sub(1).is_some_and(after)
                || is_jq_input_file(name, args, i)
                || is_file_operand(name, args, i))
                && is_one_expansion(w);
            // `--key-file="$KEY"`, `-var-file=$KEY`
            let option_value = (w.text.split_once('=')).is_some_and(|(o, value)| {
                o.starts_with('-')
                    && (option_takes_a_path(o) || program_path_option(name, o))
                    && [format!("${}", v.name), format!("${{{}}}", v.name)]
                        .contains(&value.to_string())
            });
            if path || option_value || ssh_identity_within(w, &v.name) {
                *as_path.entry(v.name.as_str()).or_default() += 1;
            } else if (!is_one_expansion(w) && !matches!(name, "echo" | "printf"))
                || printed_into_a_pipe(cmd, name)
            {
                // `-H "X-Api-Key: $KEY"`, `echo "$KEY" | ssh-add -`: its value (`echo
                // "using key $KEY"` may show a path)
                valued.insert(v.name.as_str());
            }
        }
        for v in cmd.here_string.iter().flat_map(|w| w.vars.iter()) {
            valued.insert(v.name.as_str());
        }
    }
    // a name GitLab's File variables often have (`SSH_KEY`, `KUBECONFIG`) is one where
    // it is used as a path at all; any other (`DEPLOY_TOKEN`), where it is used only so
    (as_path.into_iter())
        .filter(|(name, _)| !valued.contains(name))
        .filter(|(name, n)| file_like_name(name) || uses.get(name) == Some(n))
        .map(|(name, _)| name)
        .collect()
}

/// `echo "$KEY" | ssh-add -`, `printf '%s' "$KEY" | base64 -d`: what is piped on is
/// the variable's text, the key itself (a path would be piped to nothing that wants it).
fn printed_into_a_pipe(cmd: &Command, name: &str) -> bool {
    cmd.piped_out && matches!(name, "echo" | "printf")
}

/// Whether argument `at` of `jq`/`yq` is an input file: an operand after the filter
/// (`jq -r .token "$KEY_FILE"`), not an option's value (`--arg NAME VALUE`).
fn is_jq_input_file(name: &str, args: &[shell::Word], at: usize) -> bool {
    if !matches!(name, "jq" | "gojq" | "yq") {
        return false;
    }
    let mut filter_seen = false;
    let mut i = 0;
    while i < at {
        let t = args[i].text.as_str();
        i += match t {
            "--arg" | "--argjson" | "--slurpfile" | "--rawfile" => 3,
            "--indent" | "-L" => 2,
            // the filter comes from a file: every operand is an input
            "-f" | "--from-file" => {
                filter_seen = true;
                2
            }
            _ if t.starts_with('-') && t.len() > 1 => 1,
            _ => {
                filter_seen = true;
                1
            }
        };
    }
    i == at && filter_seen && !args[at].text.starts_with('-')
}

/// Options of one program that take a path (`ssh -i KEY`, `keytool -srckeystore
/// STORE`, `cosign sign --key KEY`, `age -d -i KEY`, `helm -f VALUES`): a File variable's path given to
/// them passes no secret on the command line (a key store keytool writes is a file of
/// its own). Not `openssl -in` nor `gpg --decrypt`, whose operand may as well be the
/// value, and which write the key or the plaintext out.
fn program_path_option(program: &str, option: &str) -> bool {
    match program {
        "ssh" | "scp" | "sftp" | "age" | "rage" => matches!(option, "-i" | "--identity"),
        "keytool" => matches!(
            option,
            "-keystore" | "-srckeystore" | "-destkeystore" | "-file"
        ),
        "cosign" => matches!(option, "--key" | "-key"),
        // a client certificate and its key (mutual TLS), a CA bundle: files
        "curl" => matches!(
            option,
            "--cert" | "-E" | "--key" | "--cacert" | "--proxy-cert" | "--proxy-key"
        ),
        "wget" => matches!(
            option,
            "--certificate" | "--private-key" | "--ca-certificate"
        ),
        // (not `-key`: `openssl ca -key` is the key's password)
        "openssl" => matches!(
            option,
            "-inkey" | "-sign" | "-signkey" | "-cert" | "-keyfile"
        ),
        "docker" | "podman" => matches!(option, "--tlskey" | "--tlscert" | "--tlscacert"),
        "ansible" | "ansible-playbook" => option == "--private-key",
        "jarsigner" | "apksigner" => matches!(option, "-keystore" | "--ks"),
        "minisign" => option == "-s",
        "xcrun" => option == "--key",
        // `helm upgrade -f "$SECRET_VALUES"`, `kubectl apply -f "$MANIFEST"`: files
        "helm" => matches!(option, "-f" | "--values"),
        "kubectl" | "oc" => matches!(
            option,
            "-f" | "--filename"
                | "--client-key"
                | "--client-certificate"
                | "--certificate-authority"
        ),
        // `fastlane supply --json_key FILE` (`--json_key_data` is the content), also
        // as `bundle exec fastlane`
        "fastlane" | "bundle" => option == "--json_key",
        _ => false,
    }
}

/// Whether argument `at` is a file operand of a program that takes it into a store,
/// writing nothing out: `gpg --import "$KEY"`, `security import "$CERT"`. (Not `grep
/// PATTERN "$X"`: which operand is the pattern depends on options a scan cannot
/// weigh, and a guard `grep -q "$TOKEN" src/` reads the secret's value.)
fn is_file_operand(program: &str, args: &[shell::Word], at: usize) -> bool {
    // gpg's options that take a value (`--passphrase "$PW"` is the passphrase itself)
    const GPG_VALUE_OPTIONS: &[&str] = &[
        "--passphrase",
        "--passphrase-fd",
        "--passphrase-file",
        "-u",
        "--local-user",
        "-r",
        "--recipient",
        "--homedir",
        "--keyserver",
        "--pinentry-mode",
        "--trust-model",
        "-o",
        "--output",
        "--import-options",
    ];
    let after_import = (args[..at].iter()).any(|a| a.text == "--import");
    let an_option_s_value = at
        .checked_sub(1)
        .is_some_and(|p| GPG_VALUE_OPTIONS.contains(&args[p].text.as_str()));
    match program {
        "gpg" | "gpg2" => after_import && !an_option_s_value && !args[at].text.starts_with('-'),
        "security" => args.first().is_some_and(|a| a.text == "import") && at == 1,
        _ => false,
    }
}

/// `rsync -e "ssh -i $DEPLOY_KEY"`, `git -c core.sshCommand="ssh -i $KEY"`: an ssh
/// command within one word, whose `-i` takes the key's path.
fn ssh_identity_within(w: &shell::Word, var: &str) -> bool {
    let t = w.text.as_str();
    let ssh = t.starts_with("ssh ") || t.contains("=ssh ") || t.contains(" ssh ");
    ssh && [
        format!("-i ${var}"),
        format!("-i ${{{var}}}"),
        format!("-i \"${var}\""),
    ]
    .iter()
    .any(|p| t.contains(p.as_str()))
}

/// Whether a variable's name says it holds a file's path or content a File variable
/// gives (`SSH_PRIVATE_KEY`, `KUBECONFIG`, `TLS_CERT`, `GCP_CREDENTIALS`), not a token
/// or a password.
fn file_like_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let value_like = ["TOKEN", "PASSWORD", "PASSWD", "PASS", "SECRET"]
        .iter()
        .any(|w| upper.contains(w));
    let file_like = [
        "KEY",
        "KUBECONFIG",
        "CERT",
        "CREDENTIAL",
        "PEM",
        "KEYSTORE",
        "CONFIG",
    ]
    .iter()
    .any(|w| upper.contains(w));
    file_like && !value_like
}

/// Programs whose operands can only be paths (a token given to one would be an error),
/// so a variable given alone to one is a File variable's path: `cat "$KUBECONFIG"`
/// then prints the file (PL4003), `cp "$KEY" dist/` copies it (PL4007).
const PATHS_ONLY: &[&str] = &[
    "chmod", "chown", "chgrp", "ssh-add", "cat", "head", "tail", "less", "more", "cp", "mv",
    "install", "rsync", "scp", "source", ".", "base64",
];

/// `TOKEN = "$DEPLOY_TOKEN"`: GitLab expands a variable's value, so `TOKEN` holds the
/// secret too (or the secret file's path), and so does a variable set from `TOKEN`:
/// followed from each secret variable to the values that read it (each value read once).
fn with_env_copies(cx: &JobCx, mut vars: HashMap<String, Source>) -> HashMap<String, Source> {
    if vars.is_empty() {
        return vars;
    }
    let mut readers: HashMap<&str, Vec<&plumb_semantics::EnvBinding>> = HashMap::new();
    for b in &cx.job.env {
        let Some(text) = b.value.as_str() else {
            continue;
        };
        for var in plumb_semantics::variables_named(text) {
            readers.entry(var).or_default().push(b);
        }
    }
    let mut queue: Vec<String> = vars.keys().cloned().collect();
    queue.sort_unstable_by(|a, b| b.cmp(a));
    while let Some(var) = queue.pop() {
        let Some(secret) = vars.get(&var).map(|s| s.0.clone()) else {
            continue;
        };
        for b in readers.get(var.as_str()).into_iter().flatten() {
            if !vars.contains_key(&b.name) {
                vars.insert(
                    b.name.clone(),
                    (secret.clone(), Some(b.name_at), Held::Bound),
                );
                queue.push(b.name.clone());
            }
        }
    }
    vars
}

/// A tainted value leaving a command: (variable, secret, where in the script).
#[derive(Clone)]
struct Flow {
    var: String,
    source: Source,
    start: usize,
    end: usize,
    /// The text `$VAR`, not its value (a quoted here-doc): harmless unless a shell runs it.
    literal: bool,
    /// Read from the secret file whose path `var` holds.
    from_file: bool,
    /// The whole environment (`env`, `printenv`), of which `var` is one line: a filter
    /// that keeps only other lines (`env | grep ^GO`) prints no secret.
    environment: bool,
    /// The command that dumped the environment (`env` of `env | sort`), where the flow
    /// is reported: what prints the secret, whatever filters the lines.
    dumper: Option<String>,
}

impl Flow {
    fn new(var: &str, source: &Source, start: usize, end: usize) -> Flow {
        Flow {
            var: var.to_string(),
            source: source.clone(),
            start,
            end,
            literal: false,
            from_file: false,
            environment: false,
            dumper: None,
        }
    }
    /// Marks the flow as read from the secret file `var` names.
    fn read_from_file(self, from_file: bool) -> Flow {
        Flow { from_file, ..self }
    }
    /// The secret in expansion `v`, reported at `v`.
    fn of(v: &VarRef, source: &Source) -> Flow {
        Flow::new(&v.name, source, v.start, v.end)
    }
    /// The same secret, reported at `w` instead.
    fn at(self, w: &shell::Word) -> Flow {
        Flow {
            start: w.start,
            end: w.end,
            dumper: None,
            ..self
        }
    }
}

/// What the scan of one job collects, and where the script being scanned was written.
struct Scan<'s> {
    findings: &'s mut Vec<ScriptFinding>,
    xtrace: &'s mut Xtrace,
    /// `set -x` is on in the shell being scanned.
    tracing: &'s mut bool,
    artifacts: &'s Artifacts,
    locate: Locator<'s>,
    /// The folder the shell is in, as `cd` moves it.
    cwd: &'s mut Cwd,
    /// The files written into an artifact, by finding, and those removed after.
    kept_files: &'s mut KeptFiles,
    /// The shell being scanned runs `after_run` (GitLab's `after_script`).
    after_script: bool,
    /// The script holds a condition, a `case` or a function (`[ … ] && rm -f x`): a
    /// removal in it may not run.
    conditional_script: bool,
    /// The shell functions the job's scripts define (`log() { … }`): they run in the
    /// shell, where the scan does not follow what they do with their arguments.
    functions: &'s HashSet<String>,
    /// The job's variables of plain values (`OUT: out`): a path written `$OUT/token`
    /// is `out/token`.
    plain_env: &'s HashMap<&'s str, &'s str>,
}

impl Scan<'_> {
    /// Where a path a command names is, from the project's folder (see
    /// [`Cwd::resolve`]), the job's plain variables put in first.
    fn kept_path(&mut self, cmd: &Command, path: &str) -> Option<String> {
        if !path.contains('$') || self.plain_env.is_empty() {
            return self.cwd.resolve(cmd, path);
        }
        let expanded =
            crate::rules::pl4001_hardcoded_credential::expand_variables(path, self.plain_env);
        self.cwd.resolve(cmd, &expanded)
    }
}

/// Files a secret was written to that an artifact path keeps (by the finding that says
/// so), and the files the job removes later (`rm -f out/token`): one removed before the
/// upload leaks nothing.
#[derive(Default)]
struct KeptFiles {
    /// (finding, file, kept by the cache)
    written: Vec<(usize, String, bool)>,
    removed: Vec<Removal>,
}

/// Whether the artifacts, and the cache, are uploaded only when the job succeeds.
#[derive(Clone, Copy)]
struct Kept {
    artifacts: bool,
    cache: bool,
}

struct Removal {
    /// The findings before it: the writes it can undo.
    after_findings: usize,
    path: String,
    recursive: bool,
    after_script: bool,
}

impl KeptFiles {
    /// The findings whose file a later removal takes away before GitLab uploads the
    /// artifacts: one in `after_script` (which runs before the upload, whatever
    /// happened), or in the script itself when artifacts are kept only on success (a
    /// failure before the removal uploads nothing).
    fn undone(&self, on_success_only: Kept) -> std::collections::HashSet<usize> {
        let mut out = std::collections::HashSet::new();
        for (finding, path, cache) in &self.written {
            let on_success_only = match cache {
                true => on_success_only.cache,
                false => on_success_only.artifacts,
            };
            let removed = self.removed.iter().any(|r| {
                let below = || {
                    (path.strip_prefix(r.path.as_str()))
                        .is_some_and(|rest| r.path.is_empty() || rest.starts_with('/'))
                };
                *finding < r.after_findings
                    && (r.after_script || on_success_only)
                    && (r.path == *path || r.recursive && below())
            });
            if removed {
                out.insert(*finding);
            }
        }
        out
    }
}

/// A folder a script is in: below the project's (where GitLab starts each script and
/// reads the artifact paths from), elsewhere, or not known (`cd "$DIR"`, `cd -`).
#[derive(Clone, Debug, PartialEq)]
enum Dir {
    Project(String),
    Outside,
    Unknown,
}

/// The folder of each subshell the scan is in (`(cd /tmp && …)` leaves the script's
/// own where it was): index 0 is the script's shell.
struct Cwd {
    /// Per depth: the folder, and which subshell it is ([`Command::subshell_at`]).
    by_depth: Vec<(Dir, usize)>,
}

impl Cwd {
    fn new() -> Cwd {
        Cwd {
            by_depth: vec![(Dir::Project(String::new()), 0)],
        }
    }

    /// The folder of a command's shell: subshells closed since are left, new ones
    /// start where their parent is. A command substitution's commands are in the
    /// folder of the command they are written in.
    fn of(&mut self, cmd: &Command) -> &mut Dir {
        let (depth, id) = if cmd.substitution.is_some() {
            let last = self.by_depth.len() - 1;
            (last, self.by_depth[last].1)
        } else {
            (cmd.subshell, cmd.subshell_at)
        };
        self.by_depth.truncate(depth + 1);
        // another subshell at this depth starts where its parent is
        if depth > 0 && self.by_depth.get(depth).is_some_and(|(_, at)| *at != id) {
            self.by_depth.truncate(depth);
        }
        while self.by_depth.len() < depth + 1 {
            let parent = self
                .by_depth
                .last()
                .map_or(Dir::Unknown, |(d, _)| d.clone());
            self.by_depth.push((parent, id));
        }
        &mut self.by_depth[depth].0
    }

    /// Follows `cd DIR` (`pushd`, `popd`) where the scan can.
    fn follow(&mut self, cmd: &Command, name: &str) {
        // a `cd` in a pipeline runs in a subshell of its own (`cd out | true`)
        let own_shell = cmd.substitution.is_some() || cmd.piped_in || cmd.piped_out;
        if !matches!(name, "cd" | "pushd" | "popd") || own_shell {
            return;
        }
        let operand =
            (cmd.args().iter()).find(|a| !matches!(a.text.as_str(), "-P" | "-L" | "-e" | "--"));
        let dir = self.of(cmd);
        let next = match (name, operand) {
            ("popd", _) => Dir::Unknown,
            // `cd` alone goes home
            (_, None) => Dir::Outside,
            (_, Some(w)) => moved(dir, w),
        };
        *dir = next;
    }

    /// Where a path a command names is, from the project's folder; `None` outside it.
    fn resolve(&mut self, cmd: &Command, path: &str) -> Option<String> {
        let normal = normalize_path(path);
        if normal.starts_with(['/', '~']) {
            return None;
        }
        if path.starts_with("$CI_PROJECT_DIR") || path.starts_with("${CI_PROJECT_DIR}") {
            return joined("", &normal);
        }
        match self.of(cmd) {
            Dir::Project(base) => joined(base, &normal),
            Dir::Outside => None,
            Dir::Unknown => Some(normal),
        }
    }
}

/// The longest folder path `cd` is followed to.
const MAX_FOLDER_PATH: usize = 1024;

/// A written path as a finding names it: with the folder `cd` moved to when that is
/// not where the script started (`out/token.txt` for `token.txt` after `cd out`).
fn shown_path(written: &str, kept: Option<&str>) -> String {
    match kept {
        Some(k) if normalize_path(written) != k => k.to_string(),
        _ => written.to_string(),
    }
}

/// The folder `cd WORD` goes to from `from`.
fn moved(from: &Dir, word: &shell::Word) -> Dir {
    let text = word.text.as_str();
    let in_project = ["$CI_PROJECT_DIR", "${CI_PROJECT_DIR}"]
        .iter()
        .find_map(|p| text.strip_prefix(p));
    if let Some(rest) = in_project.filter(|r| r.is_empty() || r.starts_with('/')) {
        if word.vars.len() == 1 {
            return joined("", rest.trim_start_matches('/')).map_or(Dir::Outside, Dir::Project);
        }
    }
    if !word.vars.is_empty() || text == "-" || text.contains('`') || text.contains("$(") {
        return Dir::Unknown;
    }
    if text.starts_with(['/', '~']) {
        return Dir::Outside;
    }
    match from {
        // a folder this deep is not one a script means (`cd a` thousands of times):
        // each join would copy it again
        Dir::Project(base) if base.len() > MAX_FOLDER_PATH => Dir::Unknown,
        Dir::Project(base) => joined(base, text).map_or(Dir::Outside, Dir::Project),
        other => other.clone(),
    }
}

/// `path` below the project's folder `base`, its `.` and `..` parts read; `None` when
/// it climbs out of the project.
fn joined(base: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// What a job's artifacts keep: its paths (report files too), less the `exclude`
/// patterns, which leave out no report (GitLab uploads those on their own).
struct Artifacts {
    paths: Vec<String>,
    reports: Vec<String>,
    excluded: Vec<String>,
    /// The `cache` paths: restored to later jobs, kept in the runner's cache storage.
    cache: Vec<String>,
}

/// `set -x` in a job, reported once.
#[derive(Default)]
enum Xtrace {
    #[default]
    NotSeen,
    Reported,
    /// Seen while the job only held secret files' paths: a finding if the script reads
    /// one of the files while it traces (the trace shows the content).
    Pending {
        command: String,
        at: FileRange,
        /// The shells the script starts trace too (`export SHELLOPTS=xtrace`).
        children: bool,
    },
}

impl Scan<'_> {
    /// A finding about a file an artifact path keeps (`kept`, from the project's folder).
    fn push_kept(&mut self, kept: Option<&str>, leak: Leak, flow: &Flow) {
        let cache = matches!(leak, Leak::Artifact { cache: true, .. });
        if let Some(kept) = kept {
            (self.kept_files.written).push((self.findings.len(), kept.to_string(), cache));
        }
        self.push(leak, flow);
    }
    fn push(&mut self, leak: Leak, flow: &Flow) {
        let (secret, bound_at, held) = flow.source.clone();
        let at = self.locate.range(flow.start, flow.end);
        // `vault kv get secret/app` prints what it fetches, `-p "$(aws ecr …)"` passes
        // it: one place to point at
        let within = |b: &FileRange| {
            b.file == at.file && at.range.start <= b.range.start && b.range.end <= at.range.end
        };
        let bound_at = bound_at.filter(|b| !within(b));
        self.findings.push(ScriptFinding {
            leak,
            variable: flow.var.clone(),
            secret,
            at,
            bound_at,
            held,
            from_file: flow.from_file,
        });
    }
}

pub fn scan_job(cx: &JobCx) -> Vec<ScriptFinding> {
    let mut taint = Taint::of_job(cx);
    // a job given no secret may fetch one (`aws ecr get-login-password`)
    if taint.is_empty()
        && !cx
            .scripts()
            .iter()
            .any(|s| crate::fetchers::may_fetch(s.text))
    {
        return Vec::new();
    }
    let artifacts = Artifacts {
        paths: (cx.job.artifact_paths().iter())
            .map(|s| normalize_path(s))
            .collect(),
        reports: (cx.job.artifact_report_paths().iter())
            .map(|s| normalize_path(s))
            .collect(),
        excluded: (cx.job.artifact_excludes().iter())
            .map(|s| normalize_path(s))
            .collect(),
        cache: (cx.job.cache_paths().iter())
            .map(|s| normalize_path(s))
            .collect(),
    };
    let mut findings = Vec::new();
    let mut xtrace = Xtrace::NotSeen;
    let mut tracing = false;
    let mut cwd = Cwd::new();
    let mut kept_files = KeptFiles::default();
    let in_first_shell = cx.job.run_script_count();
    let functions = defined_functions(cx.scripts(), in_first_shell);
    // (a secret's variable is no plain value: only what the job's `env` writes out)
    let plain_env: HashMap<&str, &str> = (cx.job.env.iter())
        .filter(|b| !taint.vars.contains_key(&b.name))
        .filter_map(|b| Some((b.name.as_str(), b.value.as_str()?)))
        .collect();
    for (i, script) in cx.scripts().iter().enumerate() {
        // `after_run` runs in a new shell, without the `set -x` of the script
        // a script's subshells end with it (the shell's own folder goes on)
        cwd.by_depth.truncate(1);
        if i == in_first_shell {
            tracing = false;
            cwd = Cwd::new();
        }
        let mut scan = Scan {
            findings: &mut findings,
            xtrace: &mut xtrace,
            tracing: &mut tracing,
            artifacts: &artifacts,
            locate: Locator::new(cx.sources, script.text, script.origin),
            cwd: &mut cwd,
            kept_files: &mut kept_files,
            after_script: i >= in_first_shell,
            conditional_script: ["if ", "&&", "||", "case ", "()", "function "]
                .iter()
                .any(|t| script.text.contains(t)),
            functions: &functions,
            plain_env: &plain_env,
        };
        scan_script(script, &mut taint, &mut scan);
    }
    let undone = kept_files.undone(Kept {
        artifacts: uploaded_on_success_only(cx, "artifacts"),
        cache: uploaded_on_success_only(cx, "cache"),
    });
    (findings.into_iter().enumerate())
        .filter(|(i, _)| !undone.contains(i))
        .map(|(_, f)| f)
        .collect()
}

/// The names of the shell functions the job's shell defines (`before_run` and `run`:
/// `after_run` runs in another): `log() {`, `log () (`, `function log {`. `NAME()` is
/// read from the text where the scanner has a command of that one unquoted word (it
/// reads `()` as a subshell). A shell, `eval`, `trap`, `xargs`, `su`, `ssh` or a
/// container runner is never one: what they run is followed as theirs.
fn defined_functions(scripts: &[ScannedScript], in_first_shell: usize) -> HashSet<String> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "_-:.".contains(c);
    let mut out = HashSet::new();
    for script in scripts.iter().take(in_first_shell) {
        let text = script.text;
        let lone_words: HashSet<&str> = (script.commands.iter())
            .filter_map(|c| match c.words.as_slice() {
                [w] if !w.quoted => Some(w.text.as_str()),
                _ => None,
            })
            .collect();
        for (at, _) in text.match_indices("()") {
            let before = text[..at].trim_end_matches([' ', '\t']);
            let name_start = (before.char_indices().rev())
                .find(|(_, c)| !name_char(*c))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let name = &before[name_start..];
            let body = text[at + 2..].trim_start().starts_with(['{', '(']);
            if body && lone_words.contains(name) {
                out.insert(name.to_string());
            }
        }
        for cmd in &script.commands {
            let mut words = (cmd.words.iter().filter(|w| !w.quoted)).map(|w| w.text.as_str());
            if words.next() == Some("function") {
                out.extend(words.next().map(|n| n.trim_end_matches("()").to_string()));
            }
        }
    }
    out.retain(|name| !runs_code_it_is_given(name));
    out
}

/// Commands whose arguments or input are code they run (see [`defined_functions`]).
fn runs_code_it_is_given(name: &str) -> bool {
    SHELLS.contains(&name)
        || matches!(
            name,
            "eval"
                | "trap"
                | "xargs"
                | "su"
                | "sudo"
                | "ssh"
                | "source"
                | "."
                | "exec"
                | "env"
                | "docker"
                | "podman"
                | "nerdctl"
                | "kubectl"
                | "oc"
        )
}

/// Whether GitLab uploads the job's `artifacts` (or `cache`: each of a list) only when
/// it succeeds (`when` left out or `"on_success"`).
fn uploaded_on_success_only(cx: &JobCx, field: &str) -> bool {
    let on_success = |v: &plumb_semantics::Value| {
        let entries = v.as_map().unwrap_or_default();
        let when = entries.iter().find(|e| e.key == "when");
        when.and_then(|w| w.value.as_str())
            .is_none_or(|w| w == "on_success")
    };
    let Some(f) = cx.job.field(field) else {
        return true;
    };
    match f.value.as_list() {
        Some(items) => items.iter().all(on_success),
        None => on_success(&f.value),
    }
}

/// `rm -f out/token`, `rm -rf out`, `unlink out/token`, `shred -u out/token`: a file the
/// job removes, from the project's folder.
fn note_removal(cmd: &Command, name: &str, scan: &mut Scan) {
    let program = crate::supply::base(name);
    // `if …; then rm -f out/token; fi`: removed only sometimes
    let conditional = (cmd.words.first())
        .is_some_and(|w| matches!(w.text.as_str(), "then" | "else" | "elif" | "do"))
        || scan.conditional_script;
    if !matches!(program, "rm" | "unlink" | "shred") || conditional {
        return;
    }
    let args = cmd.args();
    let option = |a: &&shell::Word| a.text.starts_with('-');
    // `shred` removes only with `-u`
    if program == "shred" && !args.iter().filter(option).any(|a| a.text.contains('u')) {
        return;
    }
    let recursive = args.iter().filter(option).any(|a| {
        a.text == "--recursive" || !a.text.starts_with("--") && a.text.contains(['r', 'R'])
    });
    // (a path of the job's plain variables, `rm -f $OUT/token`, is the path they make)
    let plain =
        |a: &&shell::Word| (a.vars.iter()).all(|v| scan.plain_env.contains_key(v.name.as_str()));
    for operand in args.iter().filter(|a| !option(a) && plain(a)) {
        if operand.text.contains(['*', '?', '[']) {
            continue;
        }
        if let Some(path) = scan.kept_path(cmd, &operand.text) {
            scan.kept_files.removed.push(Removal {
                after_findings: scan.findings.len(),
                path,
                recursive,
                after_script: scan.after_script,
            });
        }
    }
}

fn scan_script(script: &ScannedScript, taint: &mut Taint, scan: &mut Scan) {
    // the secret flowing out of the previous command into a pipe, for the script and
    // for each process substitution (whose commands come before the one that reads it)
    let mut pipes: HashMap<Option<usize>, Flow> = HashMap::new();
    // substitutions are known by where they are written in this script
    taint.substituted.clear();
    taint.captured.clear();
    taint.captured_secret.clear();
    let loop_feeds = loop_feeds(&script.commands);
    for (i, cmd) in script.commands.iter().enumerate() {
        let slot = cmd.substitution.map(|s| s.at);
        let pipe = pipes.remove(&slot);
        let incoming = if cmd.piped_in { pipe } else { None };
        let mut read_content = false;
        for v in all_vars(cmd) {
            read_content |= taint.note_content_read(v);
        }
        propagate_assignments(cmd, taint);
        propagate_positional(cmd, taint);
        propagate_printf_and_unset(cmd, taint);
        propagate_loop_variable(cmd, taint);
        let feed = loop_feeds.get(&i).map(|&done| &script.commands[done]);
        propagate_read(cmd, incoming.as_ref(), feed, taint);
        indirect_expansions(cmd, script.text, taint, scan);
        let Some(name) = cmd.name_word() else {
            // `PGPASSWORD="$DB_PASSWORD"` alone: the trace shows the assignment's value
            // (`PW=$(vault kv get …)`: what it read or fetched)
            traced_expansion(cmd, "", taint, scan);
            traced_read(cmd, read_content, taint, scan);
            continue;
        };
        let name = name.text.as_str();
        xtrace(cmd, name, script.text, taint, scan);
        traced_expansion(cmd, name, taint, scan);
        // what this command read or fetched into a variable (`X=$(cat "$F")`,
        // `export PW=$(vault kv get …)`) shows in the trace
        traced_read(cmd, read_content, taint, scan);
        unfollowed(cmd, name, incoming.as_ref(), taint, scan);
        registry_login(cmd, name, incoming.as_ref(), taint);
        git_remote_with_secret(cmd, name, taint);
        let output =
            tainted_output(cmd, name, incoming, taint).or_else(|| fetched_output(cmd, name, scan));
        note_captured(cmd, output.as_ref(), taint);
        match &output {
            Some(flow) => note_written(cmd, name, flow, taint),
            // `echo hello > /tmp/t` replaces what the file held
            None => cmd.truncated.iter().for_each(|f| {
                taint.written.remove(f);
            }),
        }
        if let Some(flow) = output {
            keep_substituted(cmd, &flow, taint);
            if let Some(flow) = route_output(cmd, name, flow, scan) {
                pipes.insert(slot, flow);
            }
        } else if cmd.piped_out {
            if let Some(flow) = quoted_heredoc(cmd, taint) {
                pipes.insert(slot, flow);
            }
        }
        if !scan.functions.contains(name) {
            verbose_curl_request(cmd, name, taint, scan);
            fetched_into_file(cmd, name, taint, scan);
        }
        arguments(cmd, name, taint, scan);
        copied_secret_file(cmd, name, taint, scan);
        archived_secret_file(cmd, name, taint, scan);
        note_removal(cmd, name, scan);
        scan.cwd.follow(cmd, name);
    }
}

/// The secret a command outputs that it fetches or makes (`vault kv get …`), reported
/// at the command's words.
fn fetched_output(cmd: &Command, name: &str, scan: &Scan) -> Option<Flow> {
    let words = crate::fetchers::fetched(cmd, name)?;
    let first = cmd.name_word()?;
    let end = cmd.args().last().map_or(first.end, |w| w.end);
    let fetched_at = scan.locate.range(first.start, end);
    let source = (words, Some(fetched_at), Held::Fetched);
    Some(Flow::new("", &source, first.start, end))
}

/// The secret a command fetches into a file (`gpg -d -o key.pem key.gpg`): the file
/// holds it from then on, and an artifact that keeps it keeps the secret (PL4007).
fn fetched_into_file(cmd: &Command, name: &str, taint: &mut Taint, scan: &mut Scan) {
    let Some((words, file_at, path)) = crate::fetchers::fetched_into_file(cmd, name) else {
        return;
    };
    let (Some(first), Some(file)) = (cmd.name_word(), cmd.args().get(file_at)) else {
        return;
    };
    let end = cmd.args().last().map_or(first.end, |w| w.end);
    let source = (
        words,
        Some(scan.locate.range(first.start, end)),
        Held::Fetched,
    );
    let flow = Flow::new("", &source, file.start, file.end);
    push_written_path(cmd, &path, file, &flow, scan);
    taint.remember_written(&path, &flow);
}

/// Whether a command of a command substitution sends a secret into it (not to a pipe,
/// a file or the log).
fn note_captured(cmd: &Command, output: Option<&Flow>, taint: &mut Taint) {
    let Some(s) = cmd.substitution.filter(|s| s.command) else {
        return;
    };
    let into_word =
        cmd.output_substituted() && !cmd.piped_out && cmd.files_written().next().is_none();
    let output_tainted = output.is_some();
    if let Some(flow) = output.filter(|f| into_word && !f.literal) {
        (taint.captured_secret).insert(s.at, (flow.var.clone(), flow.source.clone()));
    }
    // what a command this scan does not follow outputs may be its input (`openssl
    // base64`), or a secret of its own it was given one for (`vault write … jwt=-`)
    let followed = cmd
        .name()
        .map(crate::supply::base)
        .is_some_and(|n| prints_arguments(n) || is_filter(n) || OUTPUT_IS_NOT_INPUT.contains(&n));
    *taint.captured.entry(s.at).or_default() |= into_word && (output_tainted || !followed);
}

/// Commands whose output holds none of what they are given: a server's response, a
/// count, a digest, facts about the system.
const OUTPUT_IS_NOT_INPUT: &[&str] = &[
    "curl",
    "wget",
    "http",
    "wc",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "md5sum",
    "cksum",
    "b2sum",
    "date",
    "id",
    "whoami",
    "hostname",
    "uname",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "stat",
    "test",
    "[",
    "true",
    "false",
];

/// The last command of a `<(…)` whose output holds a secret: remembered for the
/// command that reads the substitution.
fn keep_substituted(cmd: &Command, flow: &Flow, taint: &mut Taint) {
    let Some(s) = cmd.substitution else {
        return;
    };
    // a command substitution's output is its word, whose expansions already say so
    if s.input && !s.command && cmd.output_substituted() && !cmd.piped_out {
        taint.substituted.insert(s.at, flow.clone());
    }
}

/// The secret a `<(…)` among these words outputs (`cat <(echo "$T")`).
fn substituted_input<'w>(
    words: impl IntoIterator<Item = &'w shell::Word>,
    taint: &Taint,
) -> Option<Flow> {
    words.into_iter().find_map(|w| {
        let flow = taint.substituted.get(&w.start)?;
        Some(Flow {
            start: w.start,
            end: w.end,
            ..flow.clone()
        })
    })
}

/// A command that, while `set -x` traces the shell, reads a secret file's content
/// (`read_content`) or sets a variable to a secret (`export PW=$(vault kv get …)`,
/// `X=$(cat "$F")`): the trace shows the value.
fn traced_read(cmd: &Command, read_content: bool, taint: &Taint, scan: &mut Scan) {
    if !*scan.tracing {
        return;
    }
    if !matches!(scan.xtrace, Xtrace::Pending { .. }) {
        return;
    }
    let read = (taint.content_read.as_ref())
        .filter(|_| read_content)
        .map(|(k, s)| (k, s));
    let assigned = || {
        let exported = cmd
            .args()
            .iter()
            .filter_map(|a| a.text.split_once('='))
            .map(|(n, _)| n);
        (cmd.assignments.iter().map(|(n, _)| n.as_str()))
            .chain(exported)
            .find_map(|n| taint.vars.get_key_value(n))
    };
    if let Some((var, source)) = read.or_else(assigned) {
        report_trace(scan, var, source);
    }
}

/// `set -x`, `sh -x`, `shopt -os xtrace`: every later command is echoed with its
/// expansions. Reported once per job.
fn xtrace(cmd: &Command, name: &str, script: &str, taint: &Taint, scan: &mut Scan) {
    let args = cmd.args();
    let flag = |a: &shell::Word| is_xtrace_flag(&a.text) || a.text == "xtrace";
    // `set +x`, `set +o xtrace`, `shopt -uo xtrace`: reads after it are not traced
    let off = matches!(name, "set" | "shopt")
        && (args
            .iter()
            .any(|a| a.text.starts_with('+') && a.text[1..].contains('x') || a.text == "-uo")
            || args
                .windows(2)
                .any(|w| w[0].text == "+o" && w[1].text == "xtrace"));
    let option_xtrace = || {
        args.windows(2)
            .any(|w| w[0].text == "-o" && w[1].text == "xtrace")
    };
    let on = match name {
        "set" | "shopt" => !off && args.iter().any(flag),
        n if SHELLS.contains(&n) => args.iter().any(|a| is_xtrace_flag(&a.text)) || option_xtrace(),
        // `eval "set -x"` runs `set -x` in this shell
        "eval" => {
            let text: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
            shell::scan(&text.join(" ")).iter().any(|inner| {
                matches!(inner.name(), Some("set" | "shopt"))
                    && inner
                        .args()
                        .iter()
                        .any(|a| is_xtrace_flag(&a.text) || a.text == "xtrace")
                    && !inner.args().iter().any(|a| a.text.starts_with('+'))
            })
        }
        _ => false,
    };
    // `SHELLOPTS=xtrace bash x.sh`, `export SHELLOPTS=xtrace`: every bash started traces
    let on = on || sets_shellopts_xtrace(cmd);
    if off {
        *scan.tracing = false;
    }
    if on {
        *scan.tracing = true;
    }
    // reported once: at once while a secret is bound in the job's `env` (§7.4: what the
    // job was given may reach any traced command); else at the `set -x` in force when
    // a traced command shows a secret (`traced_expansion`, `traced_read`), as tracing
    // prints only what commands expand, not a project variable no command reads
    if !on || matches!(scan.xtrace, Xtrace::Reported) {
        return;
    }
    let Some(word) = cmd.name_word() else {
        return;
    };
    let end = match name {
        "eval" => args.last().map_or(word.end, |a| a.end),
        _ => (args.iter())
            .find(|a| flag(a) || a.text.starts_with("SHELLOPTS="))
            .map_or(word.end, |a| a.end),
    };
    let command = script[word.start..end].to_string();
    let bound = (taint.vars.iter())
        .filter(|(_, (_, _, held))| *held == Held::Bound)
        .min_by_key(|(k, _)| k.as_str());
    match bound {
        Some((var, source)) => {
            *scan.xtrace = Xtrace::Reported;
            let flow = Flow::new(var, source, word.start, end);
            scan.push(Leak::Xtrace { command }, &flow);
        }
        None => {
            let at = scan.locate.range(word.start, end);
            let children = sets_shellopts_xtrace(cmd);
            *scan.xtrace = Xtrace::Pending {
                command,
                at,
                children,
            };
        }
    }
}

/// A command run while `set -x` traces the shell: the trace shows it with its values,
/// so a secret it expands is printed (inside a `$(…)` too, whose commands are traced);
/// so may be one a function of the script or a sourced file expands, whose commands
/// are traced as well and not followed here.
fn traced_expansion(cmd: &Command, name: &str, taint: &Taint, scan: &mut Scan) {
    if !*scan.tracing {
        return;
    }
    let Xtrace::Pending { children, .. } = *scan.xtrace else {
        return;
    };
    let expanded = all_vars(cmd)
        .filter(|v| !v.indirect)
        .find_map(|v| taint.vars.get_key_value(&v.name));
    // a script run by a traced shell: `bash -x deploy.sh`, or any once SHELLOPTS says so
    let shell = SHELLS.contains(&name);
    let script = shell || name.starts_with("./") || name.ends_with(".sh");
    let traced_shell = shell && cmd.args().iter().any(|a| is_xtrace_flag(&a.text));
    let runs_unfollowed = scan.functions.contains(name)
        || matches!(name, "source" | ".")
        || traced_shell
        || children && script;
    let shown = expanded.or_else(|| runs_unfollowed.then(|| taint.any_bound()).flatten());
    if let Some((var, source)) = shown {
        report_trace(scan, var, source);
    }
}

/// Reports the `set -x` in force (`Pending`) as printing `var`'s secret: once a job.
fn report_trace(scan: &mut Scan, var: &str, (secret, bound_at, held): &Source) {
    let Xtrace::Pending { command, at, .. } = &*scan.xtrace else {
        return;
    };
    scan.findings.push(ScriptFinding {
        leak: Leak::Xtrace {
            command: command.clone(),
        },
        variable: var.to_string(),
        secret: secret.clone(),
        at: *at,
        bound_at: *bound_at,
        held: *held,
        from_file: false,
    });
    *scan.xtrace = Xtrace::Reported;
}

/// `${!name}` reads a variable whose name is only known at run time: a leak unless
/// `name` only walks names written in the script, none of them a secret's.
fn indirect_expansions(cmd: &Command, text: &str, taint: &Taint, scan: &mut Scan) {
    let Some((var, source)) = taint.any_bound() else {
        return;
    };
    if let Some(v) = all_vars(cmd).find(|v| v.indirect) {
        let walks = loop_names(text, &v.name);
        if walks.is_some_and(|names| !names.iter().any(|n| taint.vars.contains_key(n))) {
            return;
        }
        scan.push(
            Leak::Unfollowed {
                command: format!("${{!{}}}", v.name),
            },
            &Flow::new(var, source, v.start, v.end),
        );
    }
}

/// The names `for NAME in WORDS` gives `NAME`, when its one loop walks words written in
/// the script (names, or `"${ARRAY[@]}"` of an array of names written once) and nothing
/// else sets `NAME`; `None` when the names may come from elsewhere.
fn loop_names(text: &str, name: &str) -> Option<Vec<String>> {
    let head = format!("for {name} in ");
    let mut loops = text.match_indices(&head);
    let (at, _) = loops.next()?;
    let set_elsewhere = [
        format!("{name}="),
        format!("read {name}"),
        format!("read -r {name}"),
    ];
    if loops.next().is_some() || set_elsewhere.iter().any(|s| text.contains(s.as_str())) {
        return None;
    }
    let rest = &text[at + head.len()..];
    let words = &rest[..rest.find([';', '\n']).unwrap_or(rest.len())];
    let mut names = Vec::new();
    for word in words.split_whitespace().map(|w| w.trim_matches('"')) {
        match word.strip_prefix("${").and_then(|w| w.strip_suffix("[@]}")) {
            Some(array) => names.extend(array_names(text, array)?),
            None if plumb_semantics::is_variable_name(word) => names.push(word.to_string()),
            None => return None,
        }
    }
    Some(names)
}

/// The names of `ARRAY=( NAME … )`, written once in the script with nothing but names.
fn array_names(text: &str, array: &str) -> Option<Vec<String>> {
    let head = format!("{array}=(");
    let mut assignments = text.match_indices(&head);
    let (at, _) = assignments.next()?;
    if assignments.next().is_some() {
        return None;
    }
    let rest = &text[at + head.len()..];
    let body = &rest[..rest.find(')')?];
    let words = body.split_whitespace().map(|w| w.trim_matches(['"', '\'']));
    words
        .map(|w| plumb_semantics::is_variable_name(w).then(|| w.to_string()))
        .collect()
}

/// Every expansion of a command: words, assignments, here-strings and here-docs.
fn all_vars(cmd: &Command) -> impl Iterator<Item = &VarRef> {
    cmd.words
        .iter()
        .chain(cmd.assignments.iter().map(|(_, w)| w))
        .chain(cmd.here_string.iter())
        .chain(cmd.redirects.iter().map(|r| &r.target))
        .flat_map(|w| w.vars.iter())
        .chain(cmd.heredoc_vars.iter())
}

/// The arguments a command runs as shell text: all of `eval` and `trap`, what follows
/// `-c` for a shell or `su`.
fn script_arguments<'c>(cmd: &'c Command, name: &str) -> &'c [shell::Word] {
    let args = cmd.args();
    match name {
        "eval" | "trap" => args,
        "su" | "runuser" => after_flag(args, "-c"),
        // `bash -c`, `bash -xc`, `sh -eo pipefail -c`
        n if SHELLS.contains(&n) => match crate::supply::code_option_end(n, args, 0) {
            Some(at) => args.get(at..).unwrap_or(&[]),
            None => &[],
        },
        // `docker exec C sh -c "echo $T"`: the container's shell runs it; `flock F -c`,
        // `find -exec sh -c`: their own shell does
        _ => match (crate::supply::container_shell_code(name, args))
            .or_else(|| crate::supply::wrapped_shell_code(name, args))
        {
            Some(at) => args.get(at..).unwrap_or(&[]),
            None => &[],
        },
    }
}

/// Whether a container runner is given variables of the job (`-e T`, `--env=T`,
/// `--env-file`).
fn passes_environment(args: &[shell::Word]) -> bool {
    // the runner's options: before `--` and before the shell the container runs
    let runner_options = args
        .iter()
        .take_while(|a| a.text != "--" && !SHELLS.contains(&crate::supply::base(&a.text)));
    runner_options.into_iter().any(|a| {
        let t = a.text.as_str();
        // `-e T`, `-eT`, `-eT=v`, bundled `-ite T`
        let short_e = t.strip_prefix('-').is_some_and(|f| {
            !f.starts_with('-')
                && (f.starts_with('e')
                    || f.ends_with('e') && f.chars().all(|c| c.is_ascii_alphabetic()))
        });
        short_e
            || matches!(t, "--env" | "--env-file")
            || t.starts_with("--env=")
            || t.starts_with("--env-file=")
    })
}

/// A secret handed to a command that runs text as a script or as arguments it builds
/// itself (`eval`, `sh -c`, `trap`, `xargs`, a shell reading a pipe or a here-doc): the
/// scanner cannot follow it there, so it counts as printed.
fn unfollowed(cmd: &Command, name: &str, incoming: Option<&Flow>, taint: &Taint, scan: &mut Scan) {
    // `log "token: $T"` to `log() { echo "$*"; }`: the function's use is not followed
    let function = scan.functions.contains(name);
    let script_args = match function {
        true => cmd.args(),
        false => script_arguments(cmd, name),
    };
    let in_container = crate::supply::container_shell_code(name, cmd.args()).is_some();
    // `ssh HOST <<EOF`: the remote shell runs what this one expanded (not a quoted
    // here-doc's `$T`: the remote host has no such variable)
    let remote = crate::supply::base(name) == "ssh" && crate::supply::ssh_runs_stdin(cmd.args());
    let runs_stdin = SHELLS.contains(&name) && script_args.is_empty() || name == "xargs" || remote;
    let flow = script_args
        .iter()
        .find_map(|w| {
            // a function is handed values (a secret file's path is none); a shell, text
            // where the path too can leak: `sh -c "cat $F"`
            let handed = match function {
                true => taint.first(w.vars.iter()),
                false => taint.first_any(w.vars.iter()),
            };
            if let Some((v, s)) = handed {
                return Some(Flow::of(v, &s));
            }
            // single-quoted: the inner shell expands what the outer one left alone; a
            // container's has only what `-e`/`--env`/`--env-file` passed it
            if function || in_container && !passes_environment(cmd.args()) {
                return None;
            }
            let inner = shell::expansions(&w.text);
            taint
                .first_any(inner.iter())
                .map(|(v, s)| Flow::new(&v.name, &s, w.start, w.end))
        })
        .or_else(|| {
            runs_stdin
                .then(|| shell_input(cmd, incoming, taint, remote))
                .flatten()
        })
        .or_else(|| {
            // `bash <(echo "$T")`, `source <(…)`: the substitution's output runs as code
            let runs_files = SHELLS.contains(&name) || matches!(name, "source" | ".");
            let read = cmd.args().iter().chain(cmd.redirects_read());
            runs_files.then(|| substituted_input(read, taint)).flatten()
        });
    if let Some(flow) = flow {
        let command = if script_args.is_empty() || function || name == "eval" || name == "trap" {
            name.to_string()
        } else if SHELLS.contains(&name) || name == "su" {
            format!("{name} -c")
        } else {
            // a container's shell
            format!("{name} … sh -c")
        };
        scan.push(Leak::Unfollowed { command }, &flow);
    }
}

/// The arguments after `flag` (`sh -c 'script'`), or none.
fn after_flag<'w>(args: &'w [shell::Word], flag: &str) -> &'w [shell::Word] {
    match args.iter().position(|a| a.text == flag) {
        Some(i) => &args[i + 1..],
        None => &[],
    }
}

/// A secret reaching a shell (or `xargs`) on its standard input: through the pipe, a
/// here-string, or a here-doc (whose `$VAR`s the shell itself expands, quoted or not).
fn shell_input(
    cmd: &Command,
    incoming: Option<&Flow>,
    taint: &Taint,
    remote: bool,
) -> Option<Flow> {
    let word = cmd.name_word()?;
    // text `$T` (not its value) means nothing to `xargs` or a remote host's shell, which
    // has no such variable
    let expands_text = !remote && word.text != "xargs";
    if let Some(f) = incoming.filter(|f| !f.literal || expands_text) {
        return Some(Flow::new(&f.var, &f.source, word.start, word.end));
    }
    if let Some((v, s)) = taint.first_any(cmd.stdin_vars()) {
        return Some(Flow::of(v, &s));
    }
    // `sh < "$F"` runs the secret file's content
    let read = cmd.redirects_read().flat_map(|w| w.vars.iter());
    if let Some((v, s)) = taint.first_file(read) {
        return Some(Flow::of(v, &s).read_from_file(true));
    }
    if remote {
        let (v, s) = taint.first_any(cmd.heredoc_vars.iter())?;
        return Some(Flow::of(v, &s));
    }
    let body = shell::expansions(&cmd.heredoc_text);
    let (v, s) = taint.first_any(body.iter())?;
    Some(Flow::new(&v.name, &s, word.start, word.end))
}

/// `cat <<'EOF' | sh`: the here-doc's `$VAR`s are passed on as text, for a shell to expand.
fn quoted_heredoc(cmd: &Command, taint: &Taint) -> Option<Flow> {
    let body = shell::expansions(&cmd.heredoc_text);
    let (v, source) = taint.first(body.iter())?;
    let w = cmd.name_word()?;
    Some(Flow {
        literal: true,
        ..Flow::new(&v.name, &source, w.start, w.end)
    })
}

/// What the command writes to its standard output that holds a secret.
fn tainted_output(
    cmd: &Command,
    name: &str,
    incoming: Option<Flow>,
    taint: &Taint,
) -> Option<Flow> {
    let args = cmd.args();
    // `/usr/bin/base64` is `base64`, `busybox cat` is `cat`
    let (name, args) = match crate::supply::base(name) {
        "busybox" if !args.is_empty() => (crate::supply::base(&args[0].text), &args[1..]),
        base => (base, args),
    };
    // `printf -v NAME …` sets NAME (followed as an assignment) and prints nothing
    let to_variable = name == "printf" && args.first().is_some_and(|a| a.text == "-v");
    if prints_arguments(name) && !to_variable {
        if let Some((v, s)) = taint.first(args.iter().flat_map(|w| w.vars.iter())) {
            return Some(Flow::of(v, &s).read_from_file(taint.reads_file(v)));
        }
        if let Some(flow) = printed_as_text(cmd, args, taint) {
            return Some(flow);
        }
    }
    if name == "envsubst" {
        if let Some(flow) = envsubst_output(cmd, incoming.as_ref(), taint) {
            return Some(flow);
        }
    }
    // `sed "s/__T__/$T/" tpl`, `jq -n --arg t "$T" '{t: $t}'`: a template filled in
    let filled = filled_in_values(name, args);
    if let Some((v, s)) = taint.first(filled.iter().flat_map(|w| w.vars.iter())) {
        return Some(Flow::of(v, &s).read_from_file(taint.reads_file(v)));
    }
    // `openssl base64`, `openssl enc -base64`: an encoding GitLab's masking misses
    let encodes = name == "openssl" && openssl_encodes(args);
    if (is_filter(name) || encodes) && !prints_nothing(name, args) {
        if let Some((v, s)) = taint.first(cmd.stdin_vars()) {
            return Some(Flow::of(v, &s));
        }
        // `cat "$F"`, `base64 < "$F"`: the secret file's content; `cat <(echo "$T")`:
        // what the substitution outputs
        let operands = || args.iter().chain(cmd.redirects_read());
        if let Some((v, s)) = taint.first_file(operands().flat_map(|w| w.vars.iter())) {
            return Some(Flow::of(v, &s).read_from_file(true));
        }
        if let Some(flow) = substituted_input(operands(), taint) {
            return Some(flow);
        }
        // `cat /tmp/t` after `echo "$T" > /tmp/t` (`tee`'s operands are written, not read)
        let read = operands().filter(|_| name != "tee");
        if let Some(flow) = read.into_iter().find_map(|w| written_secret(w, taint)) {
            return Some(flow);
        }
        if let (Some(f), Some(w)) = (incoming, cmd.name_word()) {
            let keeps = !f.environment || name != "grep" || grep_may_keep_secrets(args, taint);
            // lines stay `NAME=value` through these only (`tr '\n' ' '` makes one line)
            let lines_kept = matches!(name, "sort" | "uniq" | "head" | "tail" | "cat" | "tee");
            let environment = f.environment && lines_kept;
            // the environment is printed by what dumped it (`env | sort`: `env`)
            let flow = match f.dumper {
                Some(_) => f.clone(),
                None => f.clone().at(w),
            };
            return keeps.then_some(Flow {
                environment,
                ..flow
            });
        }
    }
    dumped_environment(cmd, name, taint)
        .or_else(|| git_prints_remotes(cmd, name, taint))
        .or_else(|| inline_program_output(cmd, name, taint))
        .or_else(|| dumped_by_inner_script(cmd, name, taint, 0))
}

/// `sh -c 'env'`, `bash -c "printenv T"`, `eval set`: a script given as text that dumps
/// the environment, whose output is the command's (reported at the text).
fn dumped_by_inner_script(cmd: &Command, name: &str, taint: &Taint, depth: usize) -> Option<Flow> {
    if depth >= 4 {
        return None;
    }
    // a container's environment is the job's only as far as `-e`/`--env-file` passed it
    let container = crate::supply::container_shell_code(name, cmd.args()).is_some();
    if container && !passes_environment(cmd.args()) {
        return None;
    }
    if !container && depth == 0 {
        if let Some(flow) = dumped_in_container(cmd, name, taint) {
            return Some(flow);
        }
    }
    let words = script_arguments(cmd, name);
    // `eval` runs its arguments joined; `sh -c` the one after `-c`
    let words = match name {
        "eval" | "trap" => words,
        _ => &words[..words.len().min(1)],
    };
    let (first, last) = (words.first()?, words.last()?);
    let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    for inner in shell::scan(&text.join(" ")) {
        let Some(inner_name) = inner.name() else {
            continue;
        };
        if inner.stdout_captured() {
            continue;
        }
        let found = dumped_environment(&inner, inner_name, taint)
            .or_else(|| dumped_by_inner_script(&inner, inner_name, taint, depth + 1));
        if let Some(flow) = found {
            return Some(Flow {
                start: first.start,
                end: last.end,
                ..flow
            });
        }
    }
    None
}

/// `docker run -e T IMAGE printenv T`, `docker run --env-file e IMAGE env`: the command
/// a container runs (not a shell's text) dumps what `-e`/`--env-file` gave it of the
/// job's environment. The command is the first dumping word after a word that is no
/// option (the image).
fn dumped_in_container(cmd: &Command, name: &str, taint: &Taint) -> Option<Flow> {
    // (programs: a shell's builtins are no command a container runs)
    const DUMPERS: &[&str] = &["printenv", "env"];
    let args = cmd.args();
    if !crate::supply::starts_local_container(name, args) || !passes_environment(args) {
        return None;
    }
    let start = (1..args.len()).find(|&i| {
        !args[i].quoted
            && DUMPERS.contains(&args[i].text.as_str())
            && !args[i - 1].text.starts_with('-')
    })?;
    let text: Vec<&str> = args[start..].iter().map(|w| w.text.as_str()).collect();
    let inner = shell::scan(&text.join(" ")).into_iter().next()?;
    let inner_name = inner.name()?;
    // the container has what `-e NAME` gives it (all of an `--env-file`, not followed)
    let given = given_to_container(&args[..start]);
    let in_container = Taint {
        vars: (taint.vars.iter())
            .filter(|(var, _)| given.as_ref().is_none_or(|g| g.contains(var.as_str())))
            .map(|(var, source)| (var.clone(), source.clone()))
            .collect(),
        ..Taint::empty()
    };
    let flow = dumped_environment(&inner, inner_name, &in_container)?;
    Some(Flow {
        start: args[start].start,
        end: args.last()?.end,
        dumper: Some(format!("{} … {inner_name}", crate::supply::base(name))),
        ..flow
    })
}

/// The names `-e NAME`, `-eNAME`, `--env NAME`, `--env=NAME` (`NAME=value` too) give a
/// container among a runner's options; `None` with an `--env-file`, whose names are
/// not known here.
fn given_to_container(options: &[shell::Word]) -> Option<HashSet<&str>> {
    let mut given = HashSet::new();
    for (i, a) in options.iter().enumerate() {
        let t = a.text.as_str();
        if t == "--env-file" || t.starts_with("--env-file=") {
            return None;
        }
        let (word, value) = match t {
            "-e" | "--env" => match options.get(i + 1) {
                Some(v) => (v, v.text.as_str()),
                None => continue,
            },
            _ => match t.strip_prefix("--env=").or_else(|| t.strip_prefix("-e")) {
                Some(v) => (a, v),
                None => continue,
            },
        };
        match value.split_once('=') {
            // `-e APP_TOKEN=$T` gives it `T`'s value; `-e T=dummy` does not
            Some(_) => given.extend(word.vars.iter().map(|v| v.name.as_str())),
            None if !value.is_empty() => {
                given.insert(value);
            }
            None => {}
        }
    }
    Some(given)
}

/// `envsubst` writes its input with the `$VAR`s it is told to (`envsubst '$T'`), or
/// all of them, replaced by their values: the text `$T` passed on to it (`echo 'token:
/// ${T}' | envsubst`, a quoted here-doc) comes out as the secret. A template file it
/// reads is not followed, unless the argument names the secret.
fn envsubst_output(cmd: &Command, incoming: Option<&Flow>, taint: &Taint) -> Option<Flow> {
    // `envsubst -v '$T'` lists the names, not the values
    let names_only = (cmd.args().iter()).any(|a| matches!(a.text.as_str(), "-v" | "--variables"));
    if names_only {
        return None;
    }
    let w = cmd.name_word()?;
    let end = cmd.args().last().map_or(w.end, |a| a.end);
    let format = cmd.args().iter().find(|a| !a.text.starts_with('-'));
    let expanded =
        |var: &str| format.is_none_or(|f| shell::expansions(&f.text).iter().any(|v| v.name == var));
    if let Some(flow) = incoming.filter(|f| f.literal && expanded(&f.var)) {
        return Some(Flow {
            literal: false,
            ..flow.clone()
        });
    }
    if let Some(flow) = quoted_heredoc(cmd, taint).filter(|f| expanded(&f.var)) {
        return Some(Flow {
            literal: false,
            ..flow
        });
    }
    let named = shell::expansions(&format?.text);
    let (v, source) = taint.first(named.iter())?;
    Some(Flow::new(&v.name, &source, w.start, end))
}

/// `echo 'token: ${T}' | …`: text a printer passes on that names a secret variable
/// without expanding it (quoted), for what expands it later (`envsubst`, a shell).
fn printed_as_text(cmd: &Command, args: &[shell::Word], taint: &Taint) -> Option<Flow> {
    args.iter()
        .filter(|w| w.vars.is_empty())
        .find_map(|w| {
            let named = shell::expansions(&w.text);
            let (v, source) = taint.first(named.iter())?;
            Some(Flow {
                literal: true,
                ..Flow::new(&v.name, &source, w.start, w.end)
            })
        })
        .filter(|_| cmd.piped_out)
}

/// The secret a file written earlier in the script holds, read where `w` names it.
fn written_secret(w: &shell::Word, taint: &Taint) -> Option<Flow> {
    let (var, source) = taint.written.get(&w.text)?;
    Some(Flow::new(var, source, w.start, w.end).read_from_file(true))
}

/// A file the script wrote a secret to, named by `w` or inside the folder it names
/// (`/tmp/cfg`, `/tmp/cfg/`, `/tmp/cfg/.`, `/tmp/cfg/*`): what a recursive copy or an
/// archive of `w` takes with it.
fn written_within(w: &shell::Word, taint: &Taint) -> Option<Flow> {
    if let Some(flow) = written_secret(w, taint) {
        return Some(flow);
    }
    let text = w.text.strip_prefix("./").unwrap_or(&w.text);
    let folder = text.trim_end_matches(['*', '.']).trim_end_matches('/');
    if folder.contains(['*', '?', '[']) || w.text.starts_with('$') && folder.is_empty() {
        return None;
    }
    // `.`: the job's folder, which holds every path written relative to it
    let inside = |path: &str| match folder {
        "" => !path.starts_with(['/', '~', '$']),
        _ => path
            .strip_prefix(folder)
            .is_some_and(|r| r.starts_with('/')),
    };
    let (var, source) = (taint.written.iter())
        .filter(|(path, _)| inside(path))
        .min_by_key(|(path, _)| path.as_str())
        .map(|(_, held)| held)?;
    Some(Flow::new(var, source, w.start, w.end).read_from_file(true))
}

/// Whether `tar`'s options create an archive (`czf`, `-cvzf`, `-c -f`, `--create`).
fn tar_creates(args: &[shell::Word]) -> bool {
    (args.iter().enumerate()).any(|(i, a)| {
        let t = a.text.as_str();
        let letters = t.trim_start_matches('-');
        let bundle = !t.starts_with("--")
            && (t.starts_with('-') || i == 0)
            && !letters.is_empty()
            && letters.chars().all(|c| c.is_ascii_alphabetic());
        t == "--create" || bundle && letters.contains('c')
    })
}

/// The files a registry login keeps its credential in (base64, which GitLab does not
/// mask): Docker's and Podman's.
const LOGIN_FILES: &[&str] = &[
    "~/.docker/config.json",
    "$HOME/.docker/config.json",
    "${HOME}/.docker/config.json",
    "/root/.docker/config.json",
    "${XDG_RUNTIME_DIR}/containers/auth.json",
    "$XDG_RUNTIME_DIR/containers/auth.json",
];

/// `echo "$T" | docker login --password-stdin …` (or `-p "$T"`): the secret is then in
/// Docker's `config.json`, so a later `cat` or copy of it into an artifact reads it.
fn registry_login(cmd: &Command, name: &str, incoming: Option<&Flow>, taint: &mut Taint) {
    let runner = matches!(
        crate::supply::base(name),
        "docker" | "podman" | "nerdctl" | "buildah"
    );
    if !runner || cmd.args().first().map(|a| a.text.as_str()) != Some("login") {
        return;
    }
    let given = incoming
        .filter(|f| !f.literal)
        .map(|f| (f.var.clone(), f.source.clone()))
        .or_else(|| {
            let args = cmd.args().iter().flat_map(|w| w.vars.iter());
            taint.first(args).map(|(v, s)| (v.name.clone(), s))
        });
    if let Some(held) = given {
        for file in LOGIN_FILES {
            taint.written.insert(file.to_string(), held.clone());
        }
    }
}

/// Where git keeps a repository's remotes: a URL with a secret in it is in this file.
const GIT_CONFIG: &str = ".git/config";

/// `git remote set-url origin "https://oauth2:$T@host/x.git"` (`remote add`, `git
/// config remote.origin.url …`): the secret is then in `.git/config`, which `git remote
/// -v`, `git config --list` and `cat .git/config` print.
fn git_remote_with_secret(cmd: &Command, name: &str, taint: &mut Taint) {
    let args = cmd.args();
    let words: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    if crate::supply::base(name) != "git" {
        return;
    }
    let sets_remote = match words.as_slice() {
        ["remote", "add" | "set-url", ..] => true,
        // (`--global`, `--system`, `--file`: another file than the repository's)
        ["config", rest @ ..] => {
            !rest
                .iter()
                .any(|w| matches!(*w, "--global" | "--system" | "--file" | "-f"))
                && rest
                    .iter()
                    .any(|w| w.starts_with("remote.") || w.starts_with("url."))
        }
        ["remote", "rm" | "remove", ..] => {
            taint.written.remove(GIT_CONFIG);
            return;
        }
        _ => false,
    };
    if !sets_remote {
        return;
    }
    let held = taint.first(args.iter().flat_map(|w| w.vars.iter()));
    if let Some((v, source)) = held {
        taint
            .written
            .insert(GIT_CONFIG.to_string(), (v.name.clone(), source));
    }
}

/// `git remote -v`, `git remote get-url origin`, `git config --list` (`-l`, `--get
/// remote.origin.url`): what `.git/config` holds of the remotes, printed.
fn git_prints_remotes(cmd: &Command, name: &str, taint: &Taint) -> Option<Flow> {
    if crate::supply::base(name) != "git" {
        return None;
    }
    let words: Vec<&str> = cmd.args().iter().map(|a| a.text.as_str()).collect();
    let prints = match words.as_slice() {
        ["remote", "-v" | "--verbose", ..] | ["remote", "get-url", ..] => true,
        // `git config remote.origin.url` reads the value
        ["config", key] if !key.starts_with('-') => {
            key.starts_with("remote.") || key.starts_with("url.")
        }
        ["config", rest @ ..] => rest.iter().any(|w| {
            matches!(*w, "-l" | "--list" | "--get-regexp")
                || (w.starts_with("remote.") || w.starts_with("url.")) && rest.contains(&"--get")
        }),
        _ => false,
    };
    let (var, source) = taint.written.get(GIT_CONFIG).filter(|_| prints)?;
    let w = cmd.name_word()?;
    let end = cmd.args().last().map_or(w.end, |a| a.end);
    Some(Flow::new(var, source, w.start, end))
}

/// `tar czf out/b.tgz /tmp/cfg`, `zip -r out/b.zip /tmp/cfg`: an archive written where
/// an `artifacts` path keeps it, holding a file the script wrote a secret to (PL4007).
fn archived_secret_file(cmd: &Command, name: &str, taint: &Taint, scan: &mut Scan) {
    let args = cmd.args();
    let operand = |from: usize| (from..args.len()).find(|&i| !args[i].text.starts_with('-'));
    let archive_at = match crate::supply::base(name) {
        // only what creates one (`tar -x -f`, `tar -t -f` read it)
        "tar" if !tar_creates(args) => None,
        // `-f FILE`, `--file FILE`, or bundled (`czf FILE`, `-cvzf FILE`)
        "tar" => (args.iter())
            .position(|a| {
                let t = a.text.trim_start_matches('-');
                !a.text.starts_with("--") && t.contains('c') && t.ends_with('f')
                    || a.text == "-f"
                    || a.text == "--file"
            })
            .map(|flag| flag + 1),
        "zip" => operand(0),
        // `7z a ARCHIVE FILES`
        "7z" | "7za" => operand(0)
            .filter(|&i| args[i].text == "a")
            .and_then(|i| operand(i + 1)),
        _ => None,
    };
    let Some(archive) = archive_at.and_then(|i| args.get(i)) else {
        return;
    };
    // (not the folder of `-C DIR`, where the sources are looked for)
    let folder_option =
        |i: usize| i > 0 && matches!(args[i - 1].text.as_str(), "-C" | "--directory");
    let mut sources = (args.iter().enumerate())
        .filter(|(i, a)| !a.text.starts_with('-') && a.start != archive.start && !folder_option(*i))
        .map(|(_, a)| a);
    if let Some(flow) = sources.find_map(|w| written_within(w, taint)) {
        push_written_file(cmd, archive, &flow, scan);
    }
}

/// Records the files a command writes its secret-holding output to (`> FILE`, `tee
/// FILE`), so that reading them later is reading the secret.
fn note_written(cmd: &Command, name: &str, flow: &Flow, taint: &mut Taint) {
    if flow.literal {
        return;
    }
    let tee_files = cmd
        .args()
        .iter()
        .filter(|a| name == "tee" && !a.text.starts_with('-'));
    // `sed -i "s/__T__/$T/" f`, `yq -i '.t = strenv(T)' f`: `f` holds it now
    let in_place = rewritten_in_place(name, cmd.args());
    for file in (cmd.files_written().chain(tee_files)).chain(in_place) {
        if !shell::is_log_device(&file.text) && !file.text.is_empty() {
            taint.remember_written(&file.text, flow);
        }
    }
}

/// Interpreters whose inline program (`python3 -c CODE`) is read for what it prints,
/// with the option that gives it.
const INLINE_PROGRAMS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("python2", &["-c"]),
    ("python3", &["-c"]),
    ("pypy3", &["-c"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("ruby", &["-e"]),
    ("perl", &["-e", "-E"]),
    ("php", &["-r"]),
    ("awk", &[]),
    ("gawk", &[]),
];

/// `python3 -c 'print(os.environ["T"])'`, `node -e 'console.log(process.env)'`: an inline
/// program that prints a secret it reads from the environment (or the whole environment).
fn inline_program_output(cmd: &Command, name: &str, taint: &Taint) -> Option<Flow> {
    let base = crate::supply::base(name);
    let (_, options) = INLINE_PROGRAMS.iter().find(|(n, _)| *n == base)?;
    let args = cmd.args();
    // awk's program is its first operand (`awk 'BEGIN { print ENVIRON["T"] }'`)
    let code = match options.is_empty() {
        true => args.iter().find(|a| !a.text.starts_with('-')),
        false => args
            .windows(2)
            .find(|w| options.contains(&w[0].text.as_str()))
            .map(|w| &w[1]),
    }?;
    let prints_result = matches!(base, "node" | "nodejs")
        && args.iter().any(|a| a.text == "-p" || a.text == "--print");
    let text = code.text.as_str();
    const PRINT_CALLS: &[&str] = &[
        "print",
        "console.log",
        "console.error",
        "console.info",
        "puts",
        "pp ",
        "p ",
        "say",
        "echo",
        "printf",
        "warn",
        "write(",
        "dump",
    ];
    if !prints_result && !PRINT_CALLS.iter().any(|p| text.contains(p)) {
        return None;
    }
    const ACCESSORS: &[&str] = &["environ", "getenv", "process.env", "ENV", "ENVIRON"];
    if !ACCESSORS.iter().any(|a| text.contains(a)) {
        return None;
    }
    let named = taint
        .vars
        .iter()
        .filter(|(var, _)| mentions_word(text, var))
        .min_by_key(|(var, _)| var.as_str());
    // `print(os.environ)`, `print(dict(os.environ))`, `console.log(process.env)`
    let whole = [
        "environ)",
        "process.env)",
        "ENV)",
        "%ENV",
        "ENV.to_h",
        "environ.items()",
    ]
    .iter()
    .any(|d| text.replace(' ', "").contains(d));
    let (var, source) = named.or_else(|| whole.then(|| taint.any_bound()).flatten())?;
    Some(Flow {
        environment: named.is_none(),
        ..Flow::new(var, source, code.start, code.end)
    })
}

/// Whether `name` appears in `text` as a whole word (not inside a longer name).
fn mentions_word(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name)
        .any(|(at, _)| !text[..at].ends_with(word) && !text[at + name.len()..].starts_with(word))
}

/// A filter told to print nothing of what it reads: `grep -q`/`-c`/`-l`, `sed -i` (it
/// writes the file back), `jq empty`.
fn prints_nothing(name: &str, args: &[shell::Word]) -> bool {
    let flag = |short: char, long: &[&str]| {
        args.iter().any(|a| {
            let t = a.text.as_str();
            long.contains(&t)
                || (t.starts_with('-') && !t.starts_with("--") && t[1..].contains(short))
        })
    };
    match name {
        // `gzip FILE` compresses the file in place; `-c` or standard input prints
        "gzip" | "bzip2" | "xz" | "zstd" | "lz4" => {
            let operand = args.iter().any(|a| !a.text.starts_with('-'));
            operand && !flag('c', &["--stdout", "--to-stdout"])
        }
        "grep" | "egrep" | "fgrep" => {
            flag('q', &["--quiet", "--silent"])
                || flag('c', &["--count"])
                || flag('l', &["--files-with-matches"])
                || flag('L', &["--files-without-match"])
        }
        "sed" => {
            flag('i', &["--in-place"]) || args.iter().any(|a| a.text.starts_with("--in-place="))
        }
        "jq" => args
            .iter()
            .find(|a| !a.text.starts_with('-'))
            .is_some_and(|a| a.text == "empty"),
        // `diff -q`: whether the files differ, not how
        "diff" => flag('q', &["--brief"]),
        "yq" => flag('i', &["--inplace"]),
        _ => false,
    }
}

/// `printenv`, bare `env`/`set`, `export -p`, `declare -p [NAME]`, `cat
/// /proc/self/environ`: the environment (or the named variable) printed.
fn dumped_environment(cmd: &Command, name: &str, taint: &Taint) -> Option<Flow> {
    let args = cmd.args();
    let option = |a: &shell::Word| a.text.starts_with('-');
    let names_tainted = || args.iter().find_map(|a| taint.vars.get_key_value(&a.text));
    let reads_environ = args
        .iter()
        .chain(cmd.redirects.iter().map(|r| &r.target))
        .any(|a| a.text.starts_with("/proc/") && a.text.ends_with("/environ"));
    // `/usr/bin/env` is `env`
    let dumps = match crate::supply::base(name) {
        "printenv" => args.iter().all(option) || names_tainted().is_some(),
        // `env X=1 cmd` runs `cmd` (named instead of `env`); `env`, `env X=1`, `env -u Y`
        // print the environment; `env -i` empties it first
        "env" => !args.iter().any(|a| {
            matches!(
                a.text.as_str(),
                "-i" | "--ignore-environment" | "-" | "--version" | "--help"
            )
        }),
        "set" => args.is_empty(),
        "export" => args.iter().all(option),
        // `declare`, `declare -p`, `declare -x`: variables with their values (`-f`, `-F`:
        // functions only); `declare -p NAME`: that one
        "declare" | "typeset" => {
            let functions = args
                .iter()
                .any(|a| option(a) && a.text[1..].chars().all(|c| matches!(c, 'f' | 'F')));
            let listed = args.iter().all(option) && !functions;
            listed
                || args.iter().any(|a| option(a) && a.text.contains('p'))
                    && names_tainted().is_some()
        }
        "jq" | "gojq" => match args.iter().find_map(|a| jq_environment(&a.text)) {
            Some(Some(var)) => return jq_reads(cmd, var, taint),
            Some(None) => true,
            None => false,
        },
        "yq" => {
            let named = args.iter().flat_map(|a| yq_environment(&a.text));
            let tainted = named.into_iter().find(|var| taint.vars.contains_key(*var));
            return tainted.and_then(|var| jq_reads(cmd, var, taint));
        }
        // PowerShell's environment drive: `Get-ChildItem env:`, `gci env:`, `dir env:`
        // (`env:`, `Env:*`, `env:\`, `-Path Env:`)
        lister if plumb_semantics::is_powershell_lister(lister) => args.iter().any(|a| {
            let drive = a.text.trim_end_matches(['*', '\\', '/']);
            drive.eq_ignore_ascii_case("env:")
        }),
        dotnet if plumb_semantics::is_dotnet_environment_call(dotnet) => true,
        _ => reads_environ,
    };
    if !dumps {
        return None;
    }
    let w = cmd.name_word()?;
    let end = args.last().map_or(w.end, |a| a.end);
    // `printenv NAME`, `declare -p NAME` print that one (`env -u NAME` all but it)
    let named = names_tainted().filter(|_| crate::supply::base(name) != "env");
    // `env -u TOKEN`: the environment without it
    let unset: Vec<&str> = match crate::supply::base(name) {
        "env" => args
            .windows(2)
            .filter(|w| w[0].text == "-u" || w[0].text == "--unset")
            .map(|w| w[1].text.as_str())
            .chain(args.iter().filter_map(|a| a.text.strip_prefix("--unset=")))
            .collect(),
        _ => Vec::new(),
    };
    // named after a secret of the project's before the job's own credentials (which
    // GitLab masks whatever prints them)
    let remaining = || {
        (taint.vars.iter())
            .filter(|(k, _)| !unset.contains(&k.as_str()))
            .min_by_key(|(k, _)| (JOB_CREDENTIALS.contains(&k.as_str()), k.as_str()))
    };
    let (var, source) = named.or_else(remaining)?;
    // `/proc/self/environ` is one line (its variables end in NUL), no `NAME=value` lines
    let environment = named.is_none() && !reads_environ;
    Some(Flow {
        environment,
        dumper: environment.then(|| crate::supply::base(name).to_string()),
        ..Flow::new(var, source, w.start, end)
    })
}

/// What a jq filter reads of the environment: `env`, `$ENV` (all of it: `Some(None)`),
/// `$ENV.NAME`, `env.NAME` (`Some(Some(NAME))`); `None` for a filter that reads none
/// (`.env` is a field of the input).
fn jq_environment(filter: &str) -> Option<Option<&str>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let at = filter.match_indices("env").find(|(at, _)| {
        let before = filter[..*at].chars().next_back();
        let after = filter[at + 3..].chars().next();
        let dollar_env = filter[..*at].ends_with('$') && filter[*at..].starts_with("env");
        !after.is_some_and(ident)
            && (before.is_none_or(|c| !ident(c) && c != '.' && c != '$') || dollar_env)
    });
    let rest = match at {
        Some((at, _)) => &filter[at + 3..],
        None => {
            let at = filter.find("$ENV")?;
            let rest = &filter[at + 4..];
            if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            rest
        }
    };
    let named = rest
        .strip_prefix('.')
        .map(|r| r.trim_start_matches('"'))
        .map(|r| &r[..r.find(|c: char| !ident(c)).unwrap_or(r.len())])
        .filter(|n| !n.is_empty());
    Some(named)
}

/// The variables a yq expression reads: `strenv(NAME)`, `env(NAME)`.
fn yq_environment(expression: &str) -> Vec<&str> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (expression.match_indices("env("))
        .filter(|(at, _)| {
            let before = &expression[..*at];
            let word = before.strip_suffix("str").unwrap_or(before);
            !word.ends_with(ident)
        })
        .filter_map(|(at, _)| {
            let rest = &expression[at + 4..];
            let name = rest.trim_start().split(|c: char| !ident(c)).next()?;
            (!name.is_empty()
                && rest.trim_start()[name.len()..]
                    .trim_start()
                    .starts_with(')'))
            .then_some(name)
        })
        .collect()
}

/// `jq -n '$ENV.NAME'`: the output holds that variable's value.
fn jq_reads(cmd: &Command, var: &str, taint: &Taint) -> Option<Flow> {
    let (var, source) = taint.vars.get_key_value(var)?;
    let w = cmd.name_word()?;
    let end = cmd.args().last().map_or(w.end, |a| a.end);
    Some(Flow::new(var, source, w.start, end))
}

/// Whether `grep ARGS` reading the environment (`NAME=value` lines) may print a secret's
/// line: unless every pattern is a plain name (`GOPATH`, `^GO`, `GOPATH=`) that no secret
/// variable's name holds, and every option is one that prints only matching lines
/// (`-i`, `-w`, `-F`, …; not `-v`, `-f`, context lines, `-z`, `-m N`, …).
/// `env | grep ^GO` prints no `TOKEN=…`; `env | grep TOKEN` does.
fn grep_may_keep_secrets(args: &[shell::Word], taint: &Taint) -> bool {
    const SAFE_SHORT: &str = "iywxsFGEPnhHoqc";
    const SAFE_LONG: &[&str] = &[
        "--ignore-case",
        "--word-regexp",
        "--line-regexp",
        "--no-messages",
        "--fixed-strings",
        "--basic-regexp",
        "--extended-regexp",
        "--perl-regexp",
        "--line-number",
        "--no-filename",
        "--with-filename",
        "--only-matching",
        "--color",
        "--colour",
    ];
    let mut patterns: Vec<&shell::Word> = Vec::new();
    let mut ignore_case = false;
    let mut words = args.iter();
    while let Some(a) = words.next() {
        let t = a.text.as_str();
        if t == "-e" || t == "--regexp" {
            patterns.extend(words.next());
        } else if let Some(long) = t.strip_prefix("--") {
            let name = format!("--{}", long.split('=').next().unwrap_or(long));
            if long.starts_with("regexp=") {
                patterns.push(a);
            } else if !SAFE_LONG.contains(&name.as_str()) {
                return true;
            }
            ignore_case |= name == "--ignore-case";
        } else if let Some(short) = t.strip_prefix('-').filter(|f| !f.is_empty()) {
            if !short.chars().all(|c| SAFE_SHORT.contains(c)) {
                return true;
            }
            ignore_case |= short.contains(['i', 'y']);
        } else if patterns.is_empty() {
            patterns.push(a);
        }
    }
    let names: Vec<String> = (taint.vars.keys())
        .map(|n| {
            if ignore_case {
                n.to_lowercase()
            } else {
                n.clone()
            }
        })
        .collect();
    patterns.is_empty()
        || patterns.iter().any(|p| {
            let text = p.text.strip_prefix("--regexp=").unwrap_or(&p.text);
            // `^CI_(COMMIT|PIPELINE)_`: lines that start so, which no secret's does (one
            // pattern: no `|` or `\|` alternative, no line break; a name's capitals, not
            // a line of a multi-line value such as a key's base64)
            let one_branch = !has_top_level_alternative(text) && !text.contains('\n');
            let anchored = text
                .strip_prefix('^')
                .filter(|_| p.vars.is_empty() && one_branch);
            if let Some(anchored) = anchored.filter(|_| !ignore_case) {
                // `^(CI_COMMIT_|GITLAB_USER_LOGIN)`: each alternative is such a prefix
                let no_secret_starts = |branch: &str| {
                    let mut prefix: String = (branch.chars())
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    // `^DX?`: the character before a `?`, `*` or `{0,…}` may be absent
                    let rest = &branch[prefix.len()..];
                    if rest.starts_with(['?', '*', '{']) {
                        prefix.pop();
                    }
                    prefix.len() >= 2 && !names.iter().any(|n| n.starts_with(&prefix))
                };
                if anchored_alternatives(anchored)
                    .iter()
                    .all(|b| no_secret_starts(b))
                {
                    return false;
                }
            }
            let text = text.strip_prefix('^').unwrap_or(text);
            let name = text.strip_suffix('=').unwrap_or(text);
            let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let name = if ignore_case {
                name.to_lowercase()
            } else {
                name.to_string()
            };
            !p.vars.is_empty()
                || name.is_empty()
                || !name.chars().all(plain)
                || names.iter().any(|n| n.contains(&name))
        })
}

/// The alternatives a pattern anchored at the line's start begins with: `(A|B)x`
/// (or `\\(A\\|B\\)x` in a basic expression) is `A`, `B`; any other pattern is itself.
fn anchored_alternatives(anchored: &str) -> Vec<&str> {
    let group = (anchored.strip_prefix('(').map(|g| (g, ")", "|")))
        .or_else(|| anchored.strip_prefix("\\(").map(|g| (g, "\\)", "\\|")));
    let Some((group, close, or)) = group else {
        return vec![anchored];
    };
    match group.split_once(close) {
        // `(A|B)?`: the group may match nothing, and the pattern any line
        Some((_, after)) if after.starts_with(['?', '*', '{']) => vec![""],
        Some((inner, _)) if !inner.contains(['(', ')']) => inner.split(or).collect(),
        _ => vec![""],
    }
}

/// The arguments a text tool puts into what it writes: `sed`'s script (`s/__T__/$T/`,
/// also after `-e` or in `--expression=`), `awk`'s `-v NAME=VALUE` (`-vNAME=…`) or
/// program, `jq`'s and `yq`'s `--arg NAME VALUE` (`--argjson`) or filter.
fn filled_in_values<'w>(name: &str, args: &'w [shell::Word]) -> Vec<&'w shell::Word> {
    let options = |taking: &[&str]| -> Vec<&'w shell::Word> {
        (args
            .windows(2)
            .filter(|p| taking.contains(&p[0].text.as_str())))
        .map(|p| &p[1])
        .collect()
    };
    let first_operand = args.iter().find(|a| !a.text.starts_with('-'));
    let attached = |prefixes: &[&str]| -> Vec<&'w shell::Word> {
        (args.iter())
            .filter(|a| {
                prefixes
                    .iter()
                    .any(|p| a.text.len() > p.len() && a.text.starts_with(p))
            })
            .collect()
    };
    let mut out = match name {
        "sed" => [
            options(&["-e", "--expression"]),
            attached(&["--expression=", "-e"]),
        ]
        .concat(),
        "awk" | "gawk" | "mawk" => {
            [options(&["-v", "--assign"]), attached(&["-v", "--assign="])].concat()
        }
        "jq" | "yq" | "gojq" => {
            let values = args
                .windows(3)
                .filter(|p| matches!(p[0].text.as_str(), "--arg" | "--argjson"));
            values.map(|p| &p[2]).collect()
        }
        _ => return Vec::new(),
    };
    out.extend(first_operand);
    out
}

/// The files `sed -i` (`--in-place`, `-i.bak`) and `yq -i` (`--inplace`) rewrite: their
/// operands after the script.
fn rewritten_in_place<'w>(name: &str, args: &'w [shell::Word]) -> Vec<&'w shell::Word> {
    // `-i`, `-i.bak`, `--in-place=.bak`, or bundled (`-Ei`, `-ni`)
    let sed_in_place = |t: &str| {
        let bundle = t.strip_prefix('-').filter(|b| !b.starts_with('-'));
        t.starts_with("-i")
            || t.starts_with("--in-place")
            || bundle.is_some_and(|b| b.contains('i') && b.chars().all(|c| "Enrsuzi".contains(c)))
    };
    let in_place = match crate::supply::base(name) {
        "sed" => args.iter().any(|a| sed_in_place(&a.text)),
        "yq" => args
            .iter()
            .any(|a| matches!(a.text.as_str(), "-i" | "--inplace")),
        _ => false,
    };
    if !in_place {
        return Vec::new();
    }
    let mut operands = Vec::new();
    let mut script_given = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if matches!(t, "-e" | "--expression" | "-f" | "--file") {
            script_given = true;
            i += 2;
            continue;
        }
        script_given |= t.starts_with("--expression=") || t.starts_with("--file=");
        if !t.starts_with('-') {
            operands.push(a);
        }
        i += 1;
    }
    // the first operand is the script, unless `-e` gave it
    if !script_given && !operands.is_empty() {
        operands.remove(0);
    }
    operands
}

/// Whether a regular expression has an alternative outside any group: `^CI_|TOKEN`,
/// `^CI_\|DEPLOY` (not `^CI_(COMMIT|PIPELINE)_`).
fn has_top_level_alternative(pattern: &str) -> bool {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('(') if !in_class => depth += 1,
                Some(')') if !in_class => depth = depth.saturating_sub(1),
                Some('|') if !in_class && depth == 0 => return true,
                _ => {}
            },
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Where a command's tainted output goes: a pipe (returned, for the next command), files
/// (an artifact is PL4007), or the job log.
fn route_output(cmd: &Command, name: &str, flow: Flow, scan: &mut Scan) -> Option<Flow> {
    let tee_files: Vec<&shell::Word> = if name == "tee" {
        cmd.args()
            .iter()
            .filter(|a| !a.text.starts_with('-'))
            .collect()
    } else {
        Vec::new()
    };
    let tee_to_log = tee_files.iter().any(|f| shell::is_log_device(&f.text));
    let in_place = rewritten_in_place(name, cmd.args());
    let mut written = !in_place.is_empty();
    for file in (cmd.files_written())
        .chain(tee_files.iter().copied())
        .chain(in_place.iter().copied())
    {
        if shell::is_log_device(&file.text) {
            continue;
        }
        written = true;
        if flow.literal {
            continue;
        }
        let kept = scan.kept_path(cmd, &file.text);
        if let Some((artifact, cache)) = (kept.as_deref()).and_then(|f| kept_by(f, scan.artifacts))
        {
            let path = shown_path(&file.text, kept.as_deref());
            let at = Flow::new(&flow.var, &flow.source, file.start, file.end);
            let leak = Leak::Artifact {
                path,
                artifact,
                cache,
            };
            scan.push_kept(kept.as_deref(), leak, &at);
        }
    }
    let to_log = !cmd.stdout_captured() && (name != "tee" || !cmd.piped_out);
    let printed = tee_to_log || (!cmd.piped_out && to_log && (!written || name == "tee"));
    if printed && !flow.literal {
        let command = flow.dumper.clone().unwrap_or_else(|| name.to_string());
        scan.push(Leak::Printed { command }, &flow);
    }
    cmd.piped_out.then_some(flow)
}

/// The program a command starts in a process of its own, and that program's
/// arguments: none for a shell builtin, a PowerShell cmdlet, or a PowerShell
/// assignment of an expression or a cmdlet's result (`$resp = Invoke-RestMethod …`),
/// which all run inside the shell's process; `$r = git push …` starts `git`.
pub(crate) fn external_program<'c>(
    cmd: &'c Command,
    name: &'c str,
) -> Option<(&'c str, &'c [shell::Word])> {
    let args = cmd.args();
    // PowerShell's expressions read as commands: `if (-not $env:T)`, `("n: " + $x)`
    let operator_next = args
        .first()
        .is_some_and(|a| matches!(a.text.as_str(), "+" | "-f" | "-join" | "-replace"));
    let quoted_text = cmd.name_word().is_some_and(|w| w.quoted && operator_next);
    if name.starts_with('-') || quoted_text {
        return None;
    }
    let assignment = name.starts_with('$') && args.first().is_some_and(|a| a.text == "=");
    if !assignment {
        let in_process = BUILTINS.contains(&name) || is_cmdlet(name);
        return (!in_process).then_some((name, args));
    }
    let program = args.get(1)?;
    let expression = program.text.starts_with(['@', '(', '$', '"', '\'', '[']);
    (!expression && !is_cmdlet(&program.text)).then(|| (program.text.as_str(), &args[2..]))
}

/// `curl -v` (`--verbose`, `--trace`, `--trace-ascii`) writes the request's headers to
/// standard error, the job log: a secret in a header (`-H "Authorization: Bearer $T"`,
/// `-H @-` with it on standard input) or in `-u` (sent as a Basic header) is printed;
/// with standard error (or `--trace FILE`, `--stderr FILE`) sent to a file, written
/// there (PL4007 when an artifact keeps it; printed when a later command prints the
/// file), and to `/dev/null`, nowhere.
fn verbose_curl_request(cmd: &Command, name: &str, taint: &mut Taint, scan: &mut Scan) {
    let Some((name, args)) = external_program(cmd, name) else {
        return;
    };
    if crate::supply::base(name) != "curl" {
        return;
    }
    let verbose = args.iter().any(|a| {
        let t = a.text.as_str();
        t == "--verbose"
            || t.starts_with("--trace")
            || (t.starts_with('-') && !t.starts_with("--") && t[1..].contains('v'))
    });
    if !verbose {
        return;
    }
    let header_option =
        |t: &str| matches!(t, "-H" | "--header" | "-u" | "--user" | "--oauth2-bearer");
    let in_header = args.iter().enumerate().flat_map(|(i, w)| {
        let after_option = i
            .checked_sub(1)
            .is_some_and(|p| header_option(&args[p].text));
        let joined = ["--header=", "--user=", "-H", "-u"]
            .iter()
            .any(|o| w.text.starts_with(o) && w.text.len() > o.len());
        let vars: &[VarRef] = if after_option || joined { &w.vars } else { &[] };
        vars.iter()
    });
    let from_stdin = args
        .windows(2)
        .any(|p| header_option(&p[0].text) && p[1].text == "@-");
    let stdin = cmd.stdin_vars().filter(|_| from_stdin);
    let command = format!("{name} -v");
    let Some((v, source)) = in_header
        .chain(stdin)
        .find_map(|v| Some((v, taint.get(v)?)))
    else {
        return;
    };
    let flow = Flow::of(v, source);
    match verbose_output(cmd, args) {
        TraceTo::Log => scan.push(Leak::Printed { command }, &flow),
        TraceTo::Nowhere => {}
        TraceTo::File(file) => {
            push_written_file(cmd, file, &flow, scan);
            taint.remember_written(&file.text, &flow);
        }
    }
}

/// Where `curl -v` writes the request it shows.
enum TraceTo<'w> {
    Log,
    Nowhere,
    File(&'w shell::Word),
}

/// Where `curl -v` writes what it shows: standard error, or `--trace FILE`'s file
/// (`-` for standard output), after the command's redirections.
fn verbose_output<'w>(cmd: &'w Command, args: &'w [shell::Word]) -> TraceTo<'w> {
    let of = |output: shell::Output| match output {
        shell::Output::Log => TraceTo::Log,
        shell::Output::Discarded => TraceTo::Nowhere,
        shell::Output::File(i) => cmd
            .redirects
            .get(i)
            .map_or(TraceTo::Log, |r| TraceTo::File(&r.target)),
    };
    // `--trace FILE` writes it there, whatever `--stderr FILE` (which moves what `-v`
    // writes) says
    let value_of = |options: &[&str]| {
        (args.windows(2))
            .find(|p| options.contains(&p[0].text.as_str()))
            .map(|p| &p[1])
    };
    let trace_file = value_of(&["--trace", "--trace-ascii"]).or_else(|| value_of(&["--stderr"]));
    match trace_file {
        Some(file) if file.text == "-" => of(cmd.stdout_goes()),
        Some(file) if shell::is_log_device(&file.text) => TraceTo::Log,
        Some(file) if file.text == "/dev/null" => TraceTo::Nowhere,
        Some(file) => TraceTo::File(file),
        None => of(cmd.stderr_goes()),
    }
}

/// A file written with a secret in it (`file`, where the command writes it): PL4007
/// when an artifact (or cache) keeps it, reported on `file`.
fn push_written_file(cmd: &Command, file: &shell::Word, flow: &Flow, scan: &mut Scan) {
    push_written_path(cmd, &file.text, file, flow, scan);
}

/// [`push_written_file`] for a file at `path`, named in the word `file`
/// (`--output=PATH`).
fn push_written_path(cmd: &Command, path: &str, file: &shell::Word, flow: &Flow, scan: &mut Scan) {
    let kept = scan.kept_path(cmd, path);
    let Some((artifact, cache)) = (kept.as_deref()).and_then(|f| kept_by(f, scan.artifacts)) else {
        return;
    };
    let at = Flow {
        start: file.start,
        end: file.end,
        ..flow.clone()
    };
    let leak = Leak::Artifact {
        path: shown_path(path, kept.as_deref()),
        artifact,
        cache,
    };
    scan.push_kept(kept.as_deref(), leak, &at);
}

/// Arguments of external commands show in process listings.
fn arguments(cmd: &Command, name: &str, taint: &Taint, scan: &mut Scan) {
    // a shell function runs in the shell ([`unfollowed`] says what it is handed)
    if scan.functions.contains(name) {
        return;
    }
    let Some((name, args)) = external_program(cmd, name) else {
        return;
    };
    // `chmod 400 "$SSH_PRIVATE_KEY"`, `ssh-add "$KEY"`: the variable alone, to a program
    // that takes files, is a GitLab File variable's path
    let takes_files = PATH_PROGRAMS.contains(&crate::supply::base(name));
    for (i, w) in args.iter().enumerate() {
        if takes_files && is_one_expansion(w) {
            continue;
        }
        // `--key-file "$GCP_CREDENTIALS"`, `ssh -i "$SSH_KEY"`: a GitLab File variable,
        // whose value is a path
        let identity_file = |p: usize| {
            args[p].text == "-i" && matches!(crate::supply::base(name), "ssh" | "scp" | "sftp")
        };
        if i.checked_sub(1)
            .is_some_and(|p| option_takes_a_path(&args[p].text) || identity_file(p))
            || (w.text.split_once('='))
                .is_some_and(|(o, _)| o.starts_with('-') && option_takes_a_path(o))
        {
            continue;
        }
        // one finding per secret and argument (`"ci:$([ -f "$F" ] && cat "$F")"` names F
        // twice; `"login -p $A; login -p $B"` passes two secrets)
        let mut reported: Vec<&str> = Vec::new();
        for v in &w.vars {
            let Some(source) = taint.get(v) else {
                continue;
            };
            if reported.contains(&v.name.as_str()) {
                continue;
            }
            reported.push(&v.name);
            let command = name.to_string();
            let flow = Flow::of(v, source).read_from_file(taint.reads_file(v));
            scan.push(Leak::Argument { command }, &flow);
        }
        // `curl -u "user:$(printenv TOKEN)"`: the substitution's output is the argument
        if let Some((var, source)) = taint.captured_in(w).filter(|_| reported.is_empty()) {
            let flow = Flow::new(var, source, w.start, w.end);
            scan.push(
                Leak::Argument {
                    command: name.to_string(),
                },
                &flow,
            );
        }
    }
}

/// `openssl base64`, `openssl enc -base64` (no cipher: the text itself, encoded), to
/// standard output (no `-out`).
fn openssl_encodes(args: &[shell::Word]) -> bool {
    let has = |o: &str| args.iter().any(|a| a.text == o);
    const CIPHERS: &[&str] = &[
        "-aes",
        "-blowfish",
        "-idea",
        "-des",
        "-chacha",
        "-camellia",
        "-bf",
        "-cast",
        "-rc",
        "-seed",
        "-sm4",
        "-aria",
    ];
    let cipher = args
        .iter()
        .any(|a| CIPHERS.iter().any(|c| a.text.starts_with(c)));
    let base64 = match args.first().map(|a| a.text.as_str()) {
        Some("base64") => true,
        Some("enc") => (has("-base64") || has("-a")) && !cipher,
        _ => false,
    };
    base64 && !has("-out")
}

/// A PowerShell cmdlet (`Invoke-RestMethod`, `Set-Content`): it runs inside PowerShell's
/// own process, with no command line of its own for a process listing to show.
fn is_cmdlet(name: &str) -> bool {
    const VERBS: &[&str] = &[
        "get",
        "set",
        "new",
        "remove",
        "invoke",
        "write",
        "out",
        "add",
        "start",
        "stop",
        "test",
        "import",
        "export",
        "convertto",
        "convertfrom",
        "select",
        "where",
        "foreach",
        "copy",
        "move",
        "send",
        "read",
        "clear",
        "update",
        "install",
        "publish",
        "register",
        "connect",
        "push",
        "pop",
        "expand",
        "compress",
        "format",
        "join",
        "split",
        "measure",
        "sort",
    ];
    let Some((verb, noun)) = name.split_once('-') else {
        return false;
    };
    let verb = verb.to_ascii_lowercase();
    // `Start-Process tool.exe -ArgumentList …` starts a process with those arguments
    let starts_a_process = noun.eq_ignore_ascii_case("Process");
    !starts_a_process
        && VERBS.contains(&verb.as_str())
        && noun.starts_with(|c: char| c.is_ascii_uppercase())
        && noun.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Programs whose operands are paths, that do not print what the files hold: a secret
/// variable given to one alone is a GitLab File variable (its value, a path, is no
/// secret). Not `cat`, `head`, `base64`: those print the file.
const PATH_PROGRAMS: &[&str] = &[
    "chmod", "chown", "chgrp", "ssh-add", "ls", "stat", "test", "[", "rm", "touch", "mkdir",
    "realpath", "readlink", "dirname", "basename",
];

/// Whether the word is one variable's expansion and nothing else (`"$KEY"`, `${KEY}`).
fn is_one_expansion(w: &shell::Word) -> bool {
    match w.vars.as_slice() {
        [v] => [format!("${}", v.name), format!("${{{}}}", v.name)].contains(&w.text),
        _ => false,
    }
}

/// Whether a command-line option takes the path of a file (`--key-file`,
/// `-var-file`, `--kubeconfig`, `--password-file`): a secret given to it is a GitLab
/// File variable, whose value is that path.
fn option_takes_a_path(option: &str) -> bool {
    let Some(name) = option.strip_prefix('-') else {
        return false;
    };
    let name = name.trim_start_matches('-').to_ascii_lowercase();
    // not `--profile`, `-NoProfile`: a profile's name
    let file = name.ends_with("file") && !name.ends_with("profile");
    // `-keystore`, `-Djavax.net.ssl.keyStore=…`: a Java key store's file
    let store = name.ends_with("keystore") || name.ends_with("truststore");
    name.len() > 1 && (file || store || name.ends_with("path") || name == "kubeconfig")
}

/// `cp "$F" public/` (or `mv`, `install`): a secret file copied where an `artifacts`
/// path keeps it (PL4007).
fn copied_secret_file(cmd: &Command, name: &str, taint: &Taint, scan: &mut Scan) {
    if !matches!(crate::supply::base(name), "cp" | "mv" | "install" | "rsync") {
        return;
    }
    let operands: Vec<&shell::Word> = cmd
        .args()
        .iter()
        .filter(|a| !a.text.starts_with('-'))
        .collect();
    // `-t DIR` names the destination first
    let target_dir = cmd
        .args()
        .windows(2)
        .find_map(|w| (w[0].text == "-t" || w[0].text == "--target-directory").then_some(&w[1]));
    let (sources, dest) = match (target_dir, operands.split_last()) {
        (Some(dir), _) => (&operands[..], dir),
        (None, Some((dest, sources))) => (sources, *dest),
        (None, None) => return,
    };
    // `cp <(echo "$T") public/token`: what the substitution outputs
    let substituted = || substituted_input(sources.iter().copied(), taint);
    // `cp "$KEY_FILE" public/`: a File variable's file
    let file_variable = || {
        let (v, source) = taint.first_file(sources.iter().flat_map(|w| w.vars.iter()))?;
        Some(Flow::new(&v.name, &source, dest.start, dest.end).read_from_file(true))
    };
    // `echo "$T" > /tmp/t` then `cp /tmp/t out/` (or `cp -r /tmp out/`)
    let written = || sources.iter().find_map(|w| written_within(w, taint));
    if let Some(flow) = substituted().or_else(file_variable).or_else(written) {
        push_written_file(cmd, dest, &flow, scan);
    }
}

/// `SHELLOPTS=…xtrace…` before a command, as `env`'s argument, or exported.
fn sets_shellopts_xtrace(cmd: &Command) -> bool {
    let sets = |text: &str| {
        text.strip_prefix("SHELLOPTS=")
            .is_some_and(|v| v.split(':').any(|o| o == "xtrace"))
    };
    cmd.assignments.iter().any(|(_, w)| sets(&w.text)) || cmd.words.iter().any(|w| sets(&w.text))
}

fn is_xtrace_flag(arg: &str) -> bool {
    arg.starts_with('-')
        && !arg.starts_with("--")
        && arg[1..].contains('x')
        && arg[1..].chars().all(|c| c.is_ascii_alphabetic())
}

/// `read X <<< "$T"`, `echo "$T" | read X`, `mapfile A <<< "$T"`: the variables read
/// hold the secret.
fn propagate_read(
    cmd: &Command,
    incoming: Option<&Flow>,
    feed: Option<&Command>,
    taint: &mut Taint,
) {
    if !matches!(cmd.name(), Some("read" | "mapfile" | "readarray")) {
        return;
    }
    // `while read X; do …; done <<< "$T"`: the loop's input is the `read`'s
    let stdin_vars = || {
        cmd.stdin_vars()
            .chain(feed.into_iter().flat_map(|f| f.stdin_vars()))
    };
    let files_read = || {
        cmd.redirects_read()
            .chain(feed.into_iter().flat_map(|f| f.redirects_read()))
    };
    // `read X < /tmp/t` after `echo "$T" > /tmp/t`
    let written = files_read()
        .find_map(|w| taint.written.get(&w.text))
        .map(|(_, s)| s.clone());
    // `read X < "$F"`: the secret file's first line
    let from_file = taint.first_file(files_read().flat_map(|w| w.vars.iter()));
    if let Some((v, s)) = &from_file {
        taint.content_read = Some((v.name.clone(), s.clone()));
    }
    // `read X < <(cat "$F")`: what the substitution outputs
    let substituted = substituted_input(cmd.redirects_read(), taint).map(|f| f.source);
    let source = taint
        .first(stdin_vars())
        .or(from_file)
        .map(|(_, s)| s)
        .or(substituted)
        .or(written)
        .or_else(|| incoming.map(|f| f.source.clone()));
    let Some(source) = source else { return };
    let mut names: Vec<&str> = cmd
        .args()
        .iter()
        .map(|a| a.text.as_str())
        .filter(|a| !a.starts_with('-') && shell::is_name(a))
        .collect();
    if names.is_empty() {
        names.push(if cmd.name() == Some("read") {
            "REPLY"
        } else {
            "MAPFILE"
        });
    }
    for n in names {
        taint.vars.insert(n.to_string(), source.clone());
    }
}

/// The `done` that closes each loop whose head is a command (`while read X`), by the
/// head's index: what the loop reads (`done <<< "$T"`, `done < FILE`) is the head's input.
fn loop_feeds(commands: &[Command]) -> HashMap<usize, usize> {
    let mut open: Vec<usize> = Vec::new();
    let mut feeds = HashMap::new();
    for (i, c) in commands
        .iter()
        .enumerate()
        .filter(|(_, c)| c.substitution.is_none())
    {
        let leading = c
            .words
            .iter()
            .take_while(|w| !w.quoted && shell::is_reserved_prefix(&w.text) || w.text == "for")
            .map(|w| w.text.as_str());
        let mut opens = 0;
        for w in leading {
            match w {
                "while" | "until" | "for" | "select" => opens += 1,
                "done" => {
                    if let Some(head) = open.pop() {
                        feeds.insert(head, i);
                    }
                }
                _ => {}
            }
        }
        open.extend(std::iter::repeat_n(i, opens));
    }
    feeds
}

/// `printf -v NAME FORMAT ARGS`: NAME holds what the arguments hold.
fn propagate_printf_and_unset(cmd: &Command, taint: &mut Taint) {
    let args = cmd.args();
    match cmd.name() {
        Some("printf") if args.len() > 1 && args[0].text == "-v" => {
            let held = taint
                .first(args[2..].iter().flat_map(|w| w.vars.iter()))
                .map(|(_, s)| s);
            set_taint(taint, &args[1].text, held);
        }
        // `unset` is not followed: in a subshell, a function or after `false &&` it
        // removes nothing where the secret is read
        _ => {}
    }
}

/// `set -- A B`: `$1`, `$2`, `$@` and `$*` hold what they are set to.
fn propagate_positional(cmd: &Command, taint: &mut Taint) {
    if cmd.name() == Some("shift") {
        shift_positional(cmd, taint);
        return;
    }
    if cmd.name() != Some("set") {
        return;
    }
    let args = cmd.args();
    let values = match args.iter().position(|a| a.text == "--") {
        Some(dashes) => &args[dashes + 1..],
        None if args
            .first()
            .is_some_and(|a| !a.text.starts_with(['-', '+'])) =>
        {
            args
        }
        None => return,
    };
    let any = taint
        .first(values.iter().flat_map(|w| w.vars.iter()))
        .map(|(_, s)| s);
    for n in 1..=9usize {
        let held = values
            .get(n - 1)
            .and_then(|w| taint.first(w.vars.iter()))
            .map(|(_, s)| s);
        set_taint(taint, &n.to_string(), held);
    }
    for all in ["@", "*"] {
        set_taint(taint, all, any.clone());
    }
}

/// `shift [N]`: `$1` is what `$N+1` was.
fn shift_positional(cmd: &Command, taint: &mut Taint) {
    let n: usize = cmd
        .args()
        .first()
        .and_then(|a| a.text.parse().ok())
        .unwrap_or(1);
    for i in 1..=9usize {
        let held = taint.vars.get(&i.saturating_add(n).to_string()).cloned();
        set_taint(taint, &i.to_string(), held);
    }
}

/// `for X in "$T"`: the loop variable holds each word in turn.
fn propagate_loop_variable(cmd: &Command, taint: &mut Taint) {
    let words = &cmd.words;
    let Some(at) = words.iter().position(|w| w.text == "for" && !w.quoted) else {
        return;
    };
    let (Some(var), Some(keyword)) = (words.get(at + 1), words.get(at + 2)) else {
        propagate_implicit_loop(cmd, taint);
        return;
    };
    if keyword.text == "do" {
        propagate_implicit_loop(cmd, taint);
    }
    if !shell::is_name(&var.text) || keyword.text != "in" {
        return;
    }
    let held = taint
        .first(words[at + 3..].iter().flat_map(|w| w.vars.iter()))
        .map(|(_, s)| s);
    set_taint(taint, &var.text, held);
}

/// `for X; do`: the loop walks `"$@"`.
fn propagate_implicit_loop(cmd: &Command, taint: &mut Taint) {
    let words = &cmd.words;
    let Some(at) = words.iter().position(|w| w.text == "for" && !w.quoted) else {
        return;
    };
    let lone = words.len() == at + 2 || words.get(at + 2).is_some_and(|w| w.text == "do");
    if let Some(var) = words
        .get(at + 1)
        .filter(|v| lone && shell::is_name(&v.text))
    {
        let held = taint.vars.get("@").cloned();
        set_taint(taint, &var.text, held);
    }
}

fn set_taint(taint: &mut Taint, var: &str, held: Option<Source>) {
    match held {
        Some(s) => taint.vars.insert(var.to_string(), s),
        None => taint.vars.remove(var),
    };
}

/// A secret a job uses: bound in its `env`, or a project variable it reads by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretUse {
    pub secret: String,
    /// The secret is a credential GitLab makes for the job alone: one of
    /// [`JOB_CREDENTIALS`] (a merge request's jobs get them whether bound or not), or an
    /// `id_token(…)`, whose claims say which ref and pipeline it was made for.
    pub every_job_has_it: bool,
    /// Where the job uses it: the binding's name, or where the script reads it.
    pub at: FileRange,
    /// Where it is declared, when read by name.
    pub declared_at: Option<FileRange>,
    /// For a binding: where the job's script first reads the variable (on GitLab CI
    /// YAML the binding is the import's, and this is what the YAML says).
    pub read_at: Option<FileRange>,
}

impl SecretUse {
    /// The primary label at `at`.
    pub fn label(&self) -> &'static str {
        match (self.declared_at.is_some(), self.every_job_has_it) {
            (true, true) => "the job's credential is read here",
            (true, false) => "the project variable is read here",
            (false, _) => "the secret is bound here",
        }
    }
    /// For a project variable read by name: its declaration, and a note saying so.
    pub fn declaration_note(&self) -> Option<(FileRange, String)> {
        let at = self.declared_at?;
        let note = match self.every_job_has_it {
            true => format!(
                "secret `{}` is a credential GitLab makes for each job, which every job has",
                self.secret
            ),
            false => format!(
                "secret `{}` is a project variable every job can read by name",
                self.secret
            ),
        };
        Some((at, note))
    }
}

pub use plumb_semantics::JOB_CREDENTIALS;

/// Whether `u` is one of [`JOB_CREDENTIALS`], which every job's environment holds
/// whether its script names it or not (an ID token is made only for the jobs that ask).
pub fn every_jobs_credential(cx: &JobCx, u: &SecretUse) -> bool {
    let id_token = (cx.job.secret_env()).any(|(_, s)| {
        s.name == u.secret && matches!(s.source, plumb_semantics::SecretSource::IdToken(_))
    });
    u.every_job_has_it && !id_token
}

fn is_job_credential(source: &plumb_semantics::SecretSource) -> bool {
    use plumb_semantics::SecretSource;
    match source {
        SecretSource::CiVariable(v) => JOB_CREDENTIALS.contains(&v.as_str()),
        SecretSource::IdToken(_) => true,
        _ => false,
    }
}

/// The secrets a job uses, bound ones first, each once.
pub fn secret_uses(cx: &JobCx) -> Vec<SecretUse> {
    let mut uses: Vec<SecretUse> = cx
        .job
        .secret_env()
        .map(|(b, s)| SecretUse {
            secret: s.name.clone(),
            every_job_has_it: is_job_credential(&s.source),
            at: b.name_at,
            declared_at: None,
            read_at: first_read_in_scripts(cx, &b.name),
        })
        .collect();
    // where each variable is first read in an `env` value, found in one pass
    let mut env_reads: HashMap<&str, FileRange> = HashMap::new();
    for b in &cx.job.env {
        let Some(text) = b.value.as_str() else {
            continue;
        };
        for var in plumb_semantics::variables_named(text) {
            env_reads.entry(var).or_insert(b.value.origin);
        }
    }
    for s in &cx.job.read_secrets {
        let plumb_semantics::SecretSource::CiVariable(var) = &s.source else {
            continue;
        };
        let read = env_reads.get(var.as_str()).copied();
        let read = read.or_else(|| first_read_in_scripts(cx, var));
        // a service's own `env` (`POSTGRES_PASSWORD = "$DB_PASSWORD"`), a field's text,
        // else text a program the script runs may expand
        let read = (read.or_else(|| first_read_in_fields(cx, var)))
            .or_else(|| first_named_in_scripts(cx, var));
        if let Some(at) = read {
            uses.push(SecretUse {
                secret: s.name.clone(),
                every_job_has_it: is_job_credential(&s.source),
                at,
                declared_at: Some(s.declared_at),
                read_at: None,
            });
        }
    }
    uses
}

/// Where a field other than the scripts first names `$var` (a service's `env`). The
/// scripts are read as the shell reads them, where `\$var` in a here-doc is text.
fn first_read_in_fields(cx: &JobCx, var: &str) -> Option<FileRange> {
    let scripts: Vec<FileRange> = cx.scripts().iter().map(|s| s.origin).collect();
    let mut strings = (cx.job.fields.values())
        .flat_map(|f| f.value.strings())
        .filter(|(_, at)| !scripts.contains(at));
    let read = |text: &str| plumb_semantics::variables_named(text).any(|n| n == var);
    strings.find(|(text, _)| read(text)).map(|(_, at)| at)
}

/// Where a command's argument names `$var` as text the shell does not expand here: quoted
/// for a program it runs (`xargs sh -c '… $T'`, `find -exec sh -c "… \$T"`, `envsubst
/// '$T'`, `docker run … sh -c`), which may. The job gets the variable all the same, so
/// it is a use. A here-doc's `\$T` (a child pipeline's text) and a comment are no
/// argument. A program reading it by name (`printenv T`, `os.environ["T"]`) uses it too.
fn first_named_in_scripts(cx: &JobCx, var: &str) -> Option<FileRange> {
    for script in cx.scripts() {
        let locate = Locator::new(cx.sources, script.text, script.origin);
        for cmd in &script.commands {
            // by name too: `printenv T`, `declare -p T`, `python3 -c '… os.environ["T"]'`
            let by_name = |w: &shell::Word| {
                let name_read =
                    matches!(cmd.name(), Some("printenv" | "declare" | "typeset")) && w.text == var;
                name_read || plumb_semantics::variables_read_by_name(&w.text).contains(&var)
            };
            if let Some(w) = (cmd.args().iter())
                .find(|w| plumb_semantics::names_variable(&w.text, var) || by_name(w))
            {
                return Some(locate.range(w.start, w.end));
            }
        }
    }
    None
}

/// Where the job's script first reads `$var`, as the shell would expand it (comments do
/// not count; strings run by `eval`/`sh -c` do).
fn first_read_in_scripts(cx: &JobCx, var: &str) -> Option<FileRange> {
    for script in cx.scripts() {
        let locate = Locator::new(cx.sources, script.text, script.origin);
        for cmd in &script.commands {
            if let Some(v) = all_vars(cmd).find(|v| v.name == var && !v.indirect) {
                return Some(locate.range(v.start, v.end));
            }
            // any argument of a command that runs text as a script may be expanded there
            let runs_text = matches!(cmd.name(), Some("eval" | "trap" | "su"))
                || cmd.name().is_some_and(|n| SHELLS.contains(&n));
            let run_as_script = if runs_text { cmd.args() } else { &[] };
            if let Some(w) = run_as_script
                .iter()
                .find(|w| shell::expansions(&w.text).iter().any(|v| v.name == var))
            {
                return Some(locate.range(w.start, w.end));
            }
            if shell::expansions(&cmd.heredoc_text)
                .iter()
                .any(|v| v.name == var)
            {
                return Some(script.origin);
            }
        }
    }
    None
}

/// `X=$T` and `export X=$T` make `X` a copy of the secret.
/// `X=$F` copies a secret file's path; `X=$(cat "$F")` holds its content.
fn propagate_assignments(cmd: &Command, taint: &mut Taint) {
    powershell_assignment(cmd, taint);
    for (name, w) in cmd.assigned_words() {
        // `TOKEN=$(curl … login <<< "$JWT" | jq -r .token)`: a secret the job obtained
        // with one, named as one, is one
        let derived = || {
            let obtained = w
                .vars
                .iter()
                .find(|v| v.within.is_some() && taint.vars.contains_key(&v.name));
            obtained.filter(|_| crate::rules::secret_patterns::credential_name(name))
        };
        let value = w.vars.iter().find_map(|v| taint.get(v).cloned());
        let value = value.or_else(|| derived().and_then(|v| taint.vars.get(&v.name).cloned()));
        let value = value.or_else(|| taint.captured_in(w).map(|(_, s)| s.clone()));
        let path = w.vars.iter().find_map(|v| taint.file(v).cloned());
        match value {
            Some(s) => taint.vars.insert(name.to_string(), s),
            // `A+=(x)`, `A[1]=x`: the other elements stay
            None if shell::assignment_keeps_value(&w.text, name) => None,
            None => taint.vars.remove(name),
        };
        match path {
            Some(s) => taint.files.insert(name.to_string(), s),
            None => taint.files.remove(name),
        };
    }
}

/// PowerShell's `$t = $env:TOKEN` (or `$t = "Bearer $($env:TOKEN)"`): `$t` holds the
/// secret from then on, or no longer holds one.
fn powershell_assignment(cmd: &Command, taint: &mut Taint) {
    let [target, equals, value @ ..] = cmd.words.as_slice() else {
        return;
    };
    let is_name =
        |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let Some(name) = target.text.strip_prefix('$').filter(|n| is_name(n)) else {
        return;
    };
    if equals.text != "=" || equals.quoted || target.quoted || value.is_empty() {
        return;
    }
    let held = (value.iter().flat_map(|w| w.vars.iter())).find_map(|v| taint.get(v).cloned());
    match held {
        Some(source) => taint.vars.insert(name.to_string(), source),
        None => taint.vars.remove(name),
    };
}

fn normalize_path(p: &str) -> String {
    let p = p.trim_start_matches("./");
    let p = p
        .trim_start_matches("$CI_PROJECT_DIR/")
        .trim_start_matches("${CI_PROJECT_DIR}/");
    p.trim_end_matches('/').to_string()
}

/// The artifact path that keeps `file`, else the cache path (then `true`).
fn kept_by(file: &str, artifacts: &Artifacts) -> Option<(String, bool)> {
    if let Some(artifact) = artifact_for(file, artifacts) {
        return Some((artifact, false));
    }
    let file = normalize_path(file);
    let cached = (artifacts.cache.iter()).find(|c| {
        c.is_empty()
            || c.as_str() == "."
            || file == **c
            || file.starts_with(&format!("{c}/"))
            || glob_keeps(c, &file)
    });
    cached.map(|c| (c.clone(), true))
}

/// The artifact path that keeps `file`, if any (a prefix folder, the file itself, or a
/// `*` pattern), and no `exclude` pattern leaves it out.
fn artifact_for(file: &str, artifacts: &Artifacts) -> Option<String> {
    let file = normalize_path(file);
    let report = artifacts.reports.contains(&file);
    if !report && (artifacts.excluded.iter()).any(|pattern| glob_matches(pattern, &file)) {
        return None;
    }
    (artifacts.paths.iter())
        .find(|a| {
            if a.is_empty() || a.as_str() == "." {
                return true;
            }
            file == **a || file.starts_with(&format!("{a}/")) || glob_keeps(a, &file)
        })
        .cloned()
}

/// Whether `file` is matched by an `exclude` pattern as GitLab reads one: `*` within one
/// folder's name, `**` across folders (`build/*.txt`, `**/*.log`, `secrets/**`).
fn glob_matches(pattern: &str, file: &str) -> bool {
    let matched = prefixes_matched(pattern, file);
    matched.last().copied().unwrap_or(false)
}

/// For each number `j` of the file's first folders and name, whether `pattern` matches
/// them (one pass, `pattern`'s parts by `file`'s).
fn prefixes_matched(pattern: &str, file: &str) -> Vec<bool> {
    let pattern: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let file: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
    // matched[j]: the pattern's parts so far match the file's first j parts (one row
    // per pattern part: patterns and paths of thousands of parts stay their product)
    let mut matched = vec![false; file.len() + 1];
    matched[0] = true;
    for part in &pattern {
        let mut next = vec![false; file.len() + 1];
        for j in 0..=file.len() {
            next[j] = match *part {
                // zero or more folders
                "**" => matched[j] || (j > 0 && next[j - 1]),
                _ => {
                    j > 0 && matched[j - 1] && name_matches(part.as_bytes(), file[j - 1].as_bytes())
                }
            };
        }
        matched = next;
    }
    matched
}

/// Where the character class that opens at `pattern[open]` (`[ab]`, `[!a-z]`, `[]x]`)
/// closes; none when it does not (a lone `[` is itself).
fn class_end(pattern: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(pattern.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    // a `]` first is one of the class
    if pattern.get(i) == Some(&b']') {
        i += 1;
    }
    (pattern[i.min(pattern.len())..].iter())
        .position(|&c| c == b']')
        .map(|at| i + at)
}

/// Whether byte `c` is in the class `body` (what is between `[` and `]`).
fn class_matches(body: &[u8], c: u8) -> bool {
    let (negated, body) = match body {
        [b'!' | b'^', rest @ ..] => (true, rest),
        _ => (false, body),
    };
    let mut i = 0;
    let mut found = false;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == b'-' {
            found |= (body[i]..=body[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= body[i] == c;
            i += 1;
        }
    }
    found != negated
}

/// `*`, `?` and `[…]` in one folder's name (iterative: the last `*` is where to resume).
fn name_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while n < name.len() {
        // where the pattern goes on when its next part matches `name[n]`
        let matched = match pattern.get(p) {
            Some(b'*') => {
                resume = Some((p, n));
                p += 1;
                continue;
            }
            Some(b'[') if class_end(pattern, p).is_some() => (class_end(pattern, p))
                .filter(|&end| class_matches(&pattern[p + 1..end], name[n]))
                .map(|end| end + 1),
            Some(&c) if c == b'?' || c == name[n] => Some(p + 1),
            _ => None,
        };
        match (matched, resume) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((star, at))) => {
                p = star + 1;
                n = at + 1;
                resume = Some((star, at + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Whether the artifact path `pattern`, a glob (`build/*`, `**/*.log`, `out/[ab].txt`),
/// keeps `file`: it matches the file or a folder above it (a folder is kept whole).
fn glob_keeps(pattern: &str, file: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return false;
    }
    prefixes_matched(pattern, file).iter().skip(1).any(|m| *m)
}

/// Maps offsets in an evaluated script back to its literal in the source: the k-th
/// occurrence of a token in the script is taken to be its k-th occurrence in the
/// literal's text, which holds unless escapes or interpolations change that token.
pub struct Locator<'s> {
    script: &'s str,
    literal_text: &'s str,
    origin: FileRange,
    /// Where the last look-up ended (script offset, literal offset): a later one starts
    /// there, so places asked in script order cost the script's length once, not each.
    resume: std::cell::Cell<(usize, usize)>,
    /// (script offset, literal offset) every [`CHECKPOINT_EVERY`] bytes read so far: a
    /// look-up behind the last one starts at the nearest before it, not at the start.
    checkpoints: std::cell::RefCell<Vec<(usize, usize)>>,
}

/// How far apart [`Locator`]'s checkpoints are, in bytes of the script.
const CHECKPOINT_EVERY: usize = 1024;

impl<'s> Locator<'s> {
    pub fn new(sources: &'s dyn crate::Sources, script: &'s str, origin: FileRange) -> Self {
        let literal_text = sources.literal(origin).unwrap_or("");
        Locator {
            script,
            literal_text,
            origin,
            resume: std::cell::Cell::new((0, 0)),
            checkpoints: std::cell::RefCell::new(vec![(0, 0)]),
        }
    }

    pub fn range(&self, start: usize, end: usize) -> FileRange {
        if let Some((from, to)) = self.mapped(start, end) {
            let origin = self.origin.range.start as usize;
            return FileRange {
                file: self.origin.file,
                range: TextRange::new(origin + from, origin + to),
            };
        }
        self.searched(start, end)
    }

    /// Script offsets mapped through the escapes of a `"…"` literal that decodes to the
    /// script exactly (`\$` and `\n` are two bytes written, one read), as offsets in the
    /// literal. `None` for a block string, an interpolation, or any other difference.
    fn mapped(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if self.literal_text.starts_with("\"\"\"") || start >= end {
            return None;
        }
        let body = self.literal_text.strip_prefix('"')?.strip_suffix('"')?;
        let (written, read) = (body.as_bytes(), self.script.as_bytes());
        if read.len() < end {
            return None;
        }
        let (r0, w0) = match self.resume.get() {
            (r, w) if r <= start => (r, w),
            _ => {
                let checkpoints = self.checkpoints.borrow();
                let before = checkpoints.partition_point(|&(r, _)| r <= start);
                checkpoints
                    .get(before.wrapping_sub(1))
                    .copied()
                    .unwrap_or((0, 0))
            }
        };
        let (mut w, mut from) = (w0, None);
        for (r, &byte) in read.iter().enumerate().take(end).skip(r0) {
            if r == start {
                from = Some(w);
            }
            if r % CHECKPOINT_EVERY == 0 {
                let mut checkpoints = self.checkpoints.borrow_mut();
                if checkpoints.last().is_some_and(|&(last, _)| last < r) {
                    checkpoints.push((r, w));
                }
            }
            let (width, decoded) = match (written.get(w)?, written.get(w + 1)) {
                (b'\\', Some(b'"')) => (2, b'"'),
                (b'\\', Some(b'\\')) => (2, b'\\'),
                (b'\\', Some(b'n')) => (2, b'\n'),
                (b'\\', Some(b't')) => (2, b'\t'),
                (b'\\', Some(b'$')) => (2, b'$'),
                (b'\\', _) | (b'$', Some(b'{')) => return None,
                (&other, _) => (1, other),
            };
            if decoded != byte {
                return None;
            }
            w += width;
        }
        self.resume.set((end, w));
        Some((1 + from?, 1 + w))
    }

    /// The `k`-th occurrence of the token in the literal, for the `k`-th in the script.
    fn searched(&self, start: usize, end: usize) -> FileRange {
        let token = &self.script[start..end];
        if token.is_empty() {
            return self.origin;
        }
        let k = self.script[..start].matches(token).count();
        match self.literal_text.match_indices(token).nth(k) {
            Some((i, _)) => FileRange {
                file: self.origin.file,
                range: TextRange::new(
                    self.origin.range.start as usize + i,
                    self.origin.range.start as usize + i + token.len(),
                ),
            },
            None => self.origin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn exclude_patterns_as_gitlab_reads_them() {
        for (pattern, file) in [
            ("build/*.txt", "build/token.txt"),
            ("**/*.log", "a/b/c.log"),
            ("**/*.log", "c.log"),
            ("secrets/**", "secrets/a/b"),
            ("build/token.txt", "build/token.txt"),
        ] {
            assert!(glob_matches(pattern, file), "{pattern} {file}");
        }
        for (pattern, file) in [
            ("build/*.txt", "build/sub/token.txt"),
            ("*.log", "a/c.log"),
            ("build/*.txt", "build/token.env"),
        ] {
            assert!(!glob_matches(pattern, file), "{pattern} {file}");
        }
        let hostile = "**/".repeat(2000) + "x";
        assert!(!glob_matches(&hostile, &"a/".repeat(2000)));
    }
}
