//! Following secrets through a job's script (PL4003, PL4004, PL4007).
//!
//! The variables a job's secrets are bound to (`env = { T = token }`) are tainted;
//! plain assignments (`X=$T`, `export X="$T"`) taint their targets. Each simple command
//! of the script is then read for the three ways a tainted value leaks: printed to the
//! job log, passed as a command-line argument, or written into an artifact.

use crate::shell::{self, Command, VarRef};
use crate::JobCx;
use plumb_diagnostics::{FileRange, TextRange};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leak {
    /// Printed to the job log by this command (`echo`, `printenv`, …).
    Printed { command: String },
    /// `set -x` or `sh -x` while secrets are bound: every command is echoed.
    Xtrace { command: String },
    /// Passed as an argument of this command.
    Argument { command: String },
    /// Written to this file, which an `artifacts` path keeps.
    Artifact { path: String, artifact: String },
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
    /// Where the secret is bound to the variable.
    pub bound_at: Option<FileRange>,
}

/// Builtins and commands whose arguments never reach a process listing.
const BUILTINS: &[&str] = &[
    "export", "local", "declare", "readonly", "typeset", "test", "[", "[[", ":", "true", "false",
    "read", "cd", "set", "unset", "if", "then", "else", "elif", "fi", "while", "until", "do",
    "done", "for", "case", "esac", "return", "exit", "shift", "eval", "source", ".", "trap",
    "wait", "echo", "printf",
];

const PRINTERS: &[&str] = &["echo", "printf"];
/// Commands that copy their standard input (or a here-doc) to their output.
const FILTERS: &[&str] = &[
    "cat", "tee", "grep", "sort", "head", "tail", "awk", "sed", "cut", "uniq", "less", "more",
    "tr", "base64", "xxd", "od",
];
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh"];

struct Taint {
    /// variable → (secret name, where bound)
    vars: HashMap<String, (String, Option<FileRange>)>,
}

impl Taint {
    fn get(&self, v: &VarRef) -> Option<&(String, Option<FileRange>)> {
        self.vars.get(&v.name)
    }
    fn any_bound(&self) -> Option<(&String, &(String, Option<FileRange>))> {
        self.vars.iter().min_by_key(|(k, _)| k.as_str())
    }
}

pub fn scan_job(cx: &JobCx) -> Vec<ScriptFinding> {
    let mut taint = Taint {
        vars: HashMap::new(),
    };
    for (binding, secret) in cx.job.secret_env() {
        taint.vars.insert(
            binding.name.clone(),
            (secret.name.clone(), Some(binding.name_at)),
        );
    }
    if taint.vars.is_empty() {
        return Vec::new();
    }
    let artifacts: Vec<String> = cx
        .job
        .string_list("artifacts")
        .iter()
        .map(|s| normalize_path(s))
        .collect();
    let mut findings = Vec::new();
    let mut xtrace_reported = false;
    for (script, origin) in cx.job.script() {
        let locate = Locator::new(cx, script, origin);
        let commands = shell::scan(script);
        let mut pipe_tainted: Option<(String, String)> = None;
        for cmd in &commands {
            let incoming = if cmd.piped_in {
                pipe_tainted.take()
            } else {
                None
            };
            pipe_tainted = None;
            propagate_assignments(cmd, &mut taint);
            let Some(name) = cmd.name().map(str::to_string) else {
                continue;
            };
            let args = cmd.args();

            // xtrace: every later command is echoed with its expansions
            let xtrace = (name == "set"
                && args
                    .iter()
                    .any(|a| is_xtrace_flag(&a.text) || a.text == "xtrace"))
                || (SHELLS.contains(&name.as_str())
                    && args.iter().any(|a| is_xtrace_flag(&a.text)));
            if xtrace && !xtrace_reported {
                xtrace_reported = true;
                if let Some((var, (secret, bound))) = taint.any_bound() {
                    let word = cmd.name_index().map(|i| &cmd.words[i]).expect("named");
                    let end = args
                        .iter()
                        .find(|a| is_xtrace_flag(&a.text) || a.text == "xtrace")
                        .map_or(word.end, |a| a.end);
                    findings.push(ScriptFinding {
                        leak: Leak::Xtrace {
                            command: script[word.start..end].to_string(),
                        },
                        variable: var.clone(),
                        secret: secret.clone(),
                        at: locate.range(word.start, end),
                        bound_at: *bound,
                    });
                }
            }

            // what the command sends to its standard output
            let mut output: Option<(String, String, Option<FileRange>, usize, usize)> = None; // (var, secret, bound, start, end)
            let tainted_in =
                |words: &[shell::Word]| -> Option<(VarRef, String, Option<FileRange>)> {
                    words
                        .iter()
                        .flat_map(|w| w.vars.iter())
                        .find_map(|v| taint.get(v).map(|(s, b)| (v.clone(), s.clone(), *b)))
                };
            if PRINTERS.contains(&name.as_str()) {
                if let Some((v, s, b)) = tainted_in(args) {
                    output = Some((v.name.clone(), s, b, v.start, v.end));
                }
            }
            if FILTERS.contains(&name.as_str()) {
                let here = cmd
                    .here_string
                    .iter()
                    .flat_map(|w| w.vars.iter())
                    .chain(cmd.heredoc_vars.iter());
                if let Some(v) = here.clone().find(|v| taint.get(v).is_some()) {
                    let (s, b) = taint.get(v).cloned().expect("found");
                    output = Some((v.name.clone(), s, b, v.start, v.end));
                }
                if let (None, Some((var, secret))) = (&output, &incoming) {
                    let b = taint.vars.get(var).and_then(|x| x.1);
                    let w = &cmd.words[cmd.name_index().expect("named")];
                    output = Some((var.clone(), secret.clone(), b, w.start, w.end));
                }
            }
            if output.is_none() && dumps_environment(&name, args, &taint) {
                let w = &cmd.words[cmd.name_index().expect("named")];
                let end = args.last().map_or(w.end, |a| a.end);
                let named = args.iter().find_map(|a| taint.vars.get_key_value(&a.text));
                let (var, (secret, bound)) = match named.or_else(|| taint.any_bound()) {
                    Some((k, v)) => (k.clone(), v.clone()),
                    None => continue,
                };
                output = Some((var, secret, bound, w.start, end));
            }

            if let Some((var, secret, bound, start, end)) = output {
                let mut written = false;
                let files: Vec<&shell::Word> = cmd
                    .files_written()
                    .chain(if name == "tee" {
                        args.iter()
                            .filter(|a| !a.text.starts_with('-'))
                            .collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    })
                    .collect();
                for file in files {
                    written = true;
                    if let Some(artifact) = artifact_for(&file.text, &artifacts) {
                        findings.push(ScriptFinding {
                            leak: Leak::Artifact {
                                path: file.text.clone(),
                                artifact,
                            },
                            variable: var.clone(),
                            secret: secret.clone(),
                            at: locate.range(file.start, file.end),
                            bound_at: bound,
                        });
                    }
                }
                let to_log = !cmd.stdout_captured() && (name != "tee" || !cmd.piped_out);
                if cmd.piped_out {
                    pipe_tainted = Some((var.clone(), secret.clone()));
                } else if to_log && (!written || name == "tee") {
                    findings.push(ScriptFinding {
                        leak: Leak::Printed {
                            command: name.clone(),
                        },
                        variable: var,
                        secret,
                        at: locate.range(start, end),
                        bound_at: bound,
                    });
                }
            }

            // arguments of external commands show in process listings
            if !BUILTINS.contains(&name.as_str()) {
                for w in args {
                    for v in &w.vars {
                        if let Some((secret, bound)) = taint.get(v) {
                            findings.push(ScriptFinding {
                                leak: Leak::Argument {
                                    command: name.clone(),
                                },
                                variable: v.name.clone(),
                                secret: secret.clone(),
                                at: locate.range(v.start, v.end),
                                bound_at: *bound,
                            });
                        }
                    }
                }
            }
        }
    }
    findings
}

/// Whether the command prints the whole environment, or names a tainted variable.
fn dumps_environment(name: &str, args: &[shell::Word], taint: &Taint) -> bool {
    match name {
        "printenv" => args.is_empty() || args.iter().any(|a| taint.vars.contains_key(&a.text)),
        // `env X=1 cmd` runs a command; `env` alone or with options prints everything
        "env" => args.iter().all(|a| a.text.starts_with('-')),
        "set" => args.is_empty(),
        "export" | "declare" | "typeset" => args.iter().all(|a| a.text == "-p" || a.text == "-x"),
        _ => false,
    }
}

fn is_xtrace_flag(arg: &str) -> bool {
    arg.starts_with('-')
        && !arg.starts_with("--")
        && arg[1..].contains('x')
        && arg[1..].chars().all(|c| c.is_ascii_alphabetic())
}

/// `X=$T` and `export X=$T` make `X` a copy of the secret.
fn propagate_assignments(cmd: &Command, taint: &mut Taint) {
    let mut assigned: Vec<(String, &shell::Word)> = cmd
        .assignments
        .iter()
        .map(|(n, w)| (n.clone(), w))
        .collect();
    if matches!(
        cmd.name(),
        Some("export" | "local" | "declare" | "readonly")
    ) {
        for w in cmd.args() {
            if let Some((name, _)) = w.text.split_once('=') {
                assigned.push((name.to_string(), w));
            }
        }
    }
    for (name, w) in assigned {
        let source = w.vars.iter().find_map(|v| taint.get(v).cloned());
        match source {
            Some(s) => {
                taint.vars.insert(name, s);
            }
            None => {
                taint.vars.remove(&name);
            }
        }
    }
}

fn normalize_path(p: &str) -> String {
    let p = p.trim_start_matches("./");
    let p = p
        .trim_start_matches("$CI_PROJECT_DIR/")
        .trim_start_matches("${CI_PROJECT_DIR}/");
    p.trim_end_matches('/').to_string()
}

/// The artifact path that keeps `file`, if any (a prefix folder, the file itself, or a
/// `*` pattern).
fn artifact_for(file: &str, artifacts: &[String]) -> Option<String> {
    let file = normalize_path(file);
    artifacts
        .iter()
        .find(|a| {
            if a.is_empty() || a.as_str() == "." {
                return true;
            }
            file == **a || file.starts_with(&format!("{a}/")) || glob_prefix_match(a, &file)
        })
        .cloned()
}

fn glob_prefix_match(pattern: &str, file: &str) -> bool {
    let Some(star) = pattern.find('*') else {
        return false;
    };
    file.starts_with(&pattern[..star])
        && file.ends_with(
            pattern[star..]
                .trim_start_matches('*')
                .trim_start_matches('/'),
        )
}

/// Maps offsets in an evaluated script back to its literal in the source: the k-th
/// occurrence of a token in the script is taken to be its k-th occurrence in the
/// literal's text, which holds unless escapes or interpolations change that token.
struct Locator<'s> {
    script: &'s str,
    literal_text: &'s str,
    origin: FileRange,
}

impl<'s> Locator<'s> {
    fn new(cx: &'s JobCx, script: &'s str, origin: FileRange) -> Self {
        let literal_text = cx.sources.literal(origin).unwrap_or("");
        Locator {
            script,
            literal_text,
            origin,
        }
    }

    fn range(&self, start: usize, end: usize) -> FileRange {
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
