//! GitLab CI YAML checked as a program: a file is read by `plumb_import::import_for_check`
//! into a program whose parts remember where they came from in the YAML; the program is
//! checked like any Plumb source, and [`YamlProgram::to_yaml`] moves each finding back
//! to the YAML value it is about. The command line and the language server both ask
//! here, so a finding is the same in the terminal and in the editor.

mod fixes;

use plumb_diagnostics::{Diagnostic, FileId, FileRange, Label, TextRange};
use plumb_import::gitlab::{Refusal, RefusalKind, RefusedKey, RefusedLine};
use plumb_import::origins::OriginMap;
use std::collections::HashMap;

/// The program a GitLab CI file was read as, and where its parts are in the YAML.
pub struct YamlProgram {
    origins: OriginMap,
    /// "`name`" in the program's words → in the YAML's (a job's GitLab name, a
    /// secret's `$VARIABLE`).
    renames: HashMap<String, String>,
    /// The session's file of each YAML file the import read (the checked one first).
    sources: Vec<FileId>,
    /// Each YAML file's multi-line scalars, read when a finding first needs them (where
    /// its allow comment goes).
    multiline: std::sync::OnceLock<Vec<Vec<plumb_import::yaml::Multiline>>>,
    /// Keys GitLab refuses the file for, reported where they are written (PL1004).
    refused: Vec<RefusedKey>,
    /// Script lines GitLab refuses the file for, reported where they are written
    /// (PL1003).
    refused_lines: Vec<RefusedLine>,
    /// Bases and needs defined nowhere, jobs with nothing to run (PL1001, PL1005).
    refusals: Vec<Refusal>,
    /// How many more bytes of YAML the fixes of this file's findings may read back to
    /// prove them (see [`fixes::InYaml::fix`]).
    fix_budget: std::sync::atomic::AtomicUsize,
}

/// The YAML a file's fixes may read back in all: each reads its whole scalar again, so
/// a block of thousands of lines with a fix on each would take the square of its size;
/// past this, findings keep no fix (never a finding lost).
const FIX_BUDGET_BYTES: usize = 64 << 20;

impl YamlProgram {
    /// The mapping of an import for a check; `sources` are the session's files of the
    /// YAML texts the import read, the checked one first.
    pub fn new(
        read_origins: OriginMap,
        renames: Vec<(String, String)>,
        sources: Vec<FileId>,
    ) -> Self {
        YamlProgram {
            origins: read_origins,
            renames: yaml_words(renames),
            sources,
            multiline: std::sync::OnceLock::new(),
            refused: Vec::new(),
            refused_lines: Vec::new(),
            refusals: Vec::new(),
            fix_budget: std::sync::atomic::AtomicUsize::new(FIX_BUDGET_BYTES),
        }
    }

    /// Moves a file's findings to the YAML ([`YamlProgram::to_yaml`]) and merges those
    /// that land on one YAML place (a value several jobs got from one anchor or
    /// `default:`, which the import copied into each job): one finding, with the jobs
    /// it reaches as labels.
    pub fn findings_on_yaml(
        &self,
        diags: Vec<Diagnostic>,
        program: &str,
        texts: &[&str],
        (model, config): (&plumb_semantics::FileModel, &plumb_config::Config),
    ) -> Vec<Diagnostic> {
        // invisible characters are looked for in the YAML as written (where `"\u200b"`
        // is an escape, and comments count), not in the program the import made of it
        let invisible = plumb_checks::rules::pl6007_invisible_unicode::RULE.code;
        let diags: Vec<Diagnostic> = diags.into_iter().filter(|d| d.code != invisible).collect();
        let jobs: Vec<&plumb_semantics::JobModel> =
            model.pipelines.iter().flat_map(|p| &p.jobs).collect();
        let job_of = |at: FileRange| jobs.iter().find(|j| j.contains(at)).copied();
        let moved: Vec<Diagnostic> = diags
            .iter()
            .map(|d| self.to_yaml(d.clone(), program, texts))
            .collect();
        let mut landed: HashMap<(plumb_diagnostics::Code, FileRange), usize> = HashMap::new();
        for d in &moved {
            *landed.entry((d.code, d.primary.at)).or_default() += 1;
        }
        let named: Vec<Diagnostic> = diags
            .into_iter()
            .zip(moved)
            .map(|(mut original, moved)| {
                let shared = landed
                    .get(&(moved.code, moved.primary.at))
                    .is_some_and(|&n| n > 1);
                let job = job_of(original.primary.at).filter(|_| shared);
                match job {
                    Some(job) if !original.secondary.iter().any(|l| l.at == job.name_at) => {
                        job.label(&mut original);
                        self.to_yaml(original, program, texts)
                    }
                    _ => moved,
                }
            })
            .collect();
        let mut out = plumb_checks::merge_duplicates(named);
        // `plumb.toml` applies to them as to the program's findings
        let mut invisible = Vec::new();
        for (id, text) in self.sources.iter().zip(texts) {
            invisible.extend(plumb_checks::rules::pl6007_invisible_unicode::findings_in(
                *id, text,
            ));
            invisible.extend(
                plumb_checks::rules::pl4001_hardcoded_credential::findings_in_yaml(*id, text, &out),
            );
        }
        let in_yaml = self.in_yaml(program, FileId(u32::MAX), texts);
        let refused = (self.refused.iter().filter_map(|k| self.refused_key(k)))
            .chain(
                self.refused_lines
                    .iter()
                    .filter_map(|l| self.refused_line(l)),
            )
            .chain(
                one_per_cause(&self.refusals)
                    .into_iter()
                    .filter_map(|(r, jobs)| self.refusal(r, &jobs)),
            );
        for mut d in refused {
            d.fixes.extend(in_yaml.allow_fix(&d));
            invisible.push(d);
        }
        out.extend(plumb_checks::apply_config(invisible, config));
        out
    }

    /// With the keys GitLab refuses the file for ([`plumb_import::import_for_check`]'s
    /// `refused`), which the program does not hold: they are reported on the YAML.
    pub fn with_refused(
        mut self,
        refused: Vec<RefusedKey>,
        lines: Vec<RefusedLine>,
        refusals: Vec<Refusal>,
    ) -> Self {
        self.refused = refused;
        self.refused_lines = lines;
        self.refusals = refusals;
        self
    }

    /// PL1001 for a base, a need, a dependency or a stage the file defines nowhere,
    /// PL1005 for a job with
    /// nothing to run: GitLab refuses the file.
    /// `jobs` are every job the same refusal is about (a template's `stage:` that
    /// `stages:` does not list, for each job built on it): one finding names them all.
    fn refusal(&self, r: &Refusal, jobs: &[String]) -> Option<Diagnostic> {
        let file = *self.sources.get(r.file).filter(|id| id.0 != u32::MAX)?;
        let range = TextRange::new(r.span.start as usize, r.span.end as usize);
        let at = FileRange { file, range };
        let job = &job_list(jobs);
        // the verb agrees with the jobs: "job `a` needs", "jobs `a`, `b` need"
        let verb = |one: &'static str, many: &'static str| if jobs.len() == 1 { one } else { many };
        let d = match &r.kind {
            RefusalKind::UnknownBase(name) => Diagnostic::error(
                plumb_semantics::codes::UNKNOWN_NAME,
                at,
                format!("{job} {} `{name}`, which this file does not define and includes from nowhere: GitLab refuses the file", verb("extends", "extend")),
            )
            .with_label("defined nowhere")
            .with_help(format!("define `{name}`, include the file that does, or remove it from `extends`")),
            RefusalKind::UnknownNeed(name, closest) => {
                let help = closest_or(closest, "name a job of this pipeline, or mark the need `optional: true`");
                Diagnostic::error(
                    plumb_semantics::codes::UNKNOWN_NAME,
                    at,
                    format!("{job} {} `{name}`, which is no job of this file: GitLab refuses the file", verb("needs", "need")),
                )
                .with_label("no such job")
                .with_help(help)
            }
            RefusalKind::UnknownDependency(name, closest) => {
                let help = closest_or(closest, "name a job of an earlier stage, or remove it");
                Diagnostic::error(
                    plumb_semantics::codes::UNKNOWN_NAME,
                    at,
                    format!("{job} {} on `{name}`, which is no job of this file: GitLab refuses the file", verb("depends", "depend")),
                )
                .with_label("no such job")
                .with_help(help)
            }
            RefusalKind::UnknownStage(name, closest) => {
                let help = match closest {
                    Some(c) => format!("did you mean `{c}`? Else add `{name}` to `stages:`"),
                    None => format!("add `{name}` to `stages:`, or use a stage it lists"),
                };
                Diagnostic::error(
                    plumb_semantics::codes::UNKNOWN_NAME,
                    at,
                    format!("{job} {} in stage `{name}`, which `stages:` does not list: GitLab refuses the file", verb("is", "are")),
                )
                .with_label("no such stage")
                .with_help(help)
            }
            RefusalKind::ExtendsCycle(path) => Diagnostic::error(
                plumb_semantics::codes::RECURSIVE_LET,
                at,
                format!("`extends` of {job} goes round in a cycle ({}): GitLab refuses the file", path.join(" → ")),
            )
            .with_label("extends itself in the end")
            .with_help("remove one `extends` of the cycle"),
            RefusalKind::ExtendsTooDeep(path) => Diagnostic::error(
                plumb_semantics::codes::RECURSIVE_LET,
                at,
                format!("`extends` of {job} nests more than 11 levels deep ({} …): GitLab refuses the file", path.iter().take(4).cloned().collect::<Vec<_>>().join(" → ")),
            )
            .with_label("too deep")
            .with_help("GitLab follows `extends` up to 11 levels: merge some of the templates"),
            RefusalKind::NothingToRun => Diagnostic::error(
                plumb_semantics::codes::MISSING_FIELD,
                at,
                format!("{job} {} no `script` (nor `trigger`): GitLab refuses the file", verb("has", "have")),
            )
            .with_label("nothing to run")
            .with_help("add a `script:`, or hide the job as a template by starting its name with `.`"),
            RefusalKind::DependencyNotNeeded(name) => Diagnostic::error(
                plumb_semantics::codes::TYPE_MISMATCH,
                at,
                format!("{job} {} on `{name}`, which {} `needs` does not name: GitLab refuses the file", verb("depends", "depend"), verb("its", "their")),
            )
            .with_label("not in `needs`")
            .with_help(format!("add `{name}` to the job's `needs`, or remove it from `dependencies` (with `needs`, GitLab downloads artifacts only from the jobs it names)")),
            RefusalKind::TriggerDependencies => Diagnostic::error(
                plumb_semantics::codes::TYPE_MISMATCH,
                at,
                format!("trigger {job} {} `dependencies`: GitLab refuses the file", verb("has", "have")),
            )
            .with_label("a trigger job downloads no artifacts")
            .with_help("remove `dependencies` from the trigger job"),
            RefusalKind::EmptyScript => Diagnostic::error(
                plumb_semantics::codes::MISSING_FIELD,
                at,
                format!("{job} {} an empty `script`: GitLab refuses the file", verb("has", "have")),
            )
            .with_label("no command")
            .with_help("add a command to `script:`, or remove the job"),
        };
        Some(d)
    }

    /// PL1003 for a script line that is a mapping: GitLab wants a string.
    fn refused_line(&self, l: &RefusedLine) -> Option<Diagnostic> {
        let file = *self.sources.get(l.file).filter(|id| id.0 != u32::MAX)?;
        let range = TextRange::new(l.span.start as usize, l.span.end as usize);
        let at = FileRange { file, range };
        let whose = match l.jobs.as_slice() {
            [] => "`default:`".to_string(),
            jobs => job_list(jobs),
        };
        let message = format!(
            "a script line of {whose} is a mapping, not a command (an unquoted `: ` inside it): GitLab refuses this file"
        );
        Some(
            Diagnostic::error(plumb_semantics::codes::TYPE_MISMATCH, at, message)
                .with_label("read as `key: value`")
                .with_help("quote the whole line: `- 'curl -H \"Authorization: …\" …'`"),
        )
    }

    /// PL1004 for a key GitLab refuses, with the keyword it may have meant as a fix.
    fn refused_key(&self, k: &RefusedKey) -> Option<Diagnostic> {
        let file = *self.sources.get(k.file).filter(|id| id.0 != u32::MAX)?;
        let range = TextRange::new(k.span.start as usize, k.span.end as usize);
        let at = FileRange { file, range };
        let guess = plumb_diagnostics::closest(&k.key, k.keywords.iter().copied());
        let key = &k.key;
        let (message, label) = match k.jobs.as_slice() {
            [] => (
                format!("`default:` cannot set `{key}`: GitLab refuses this file"),
                "not a keyword `default:` may set",
            ),
            jobs => (
                format!(
                    "`{key}` is not a GitLab job keyword ({}): GitLab refuses this file",
                    job_list(jobs)
                ),
                "not a job keyword",
            ),
        };
        let twice = guess.filter(|g| k.beside.iter().any(|b| b == g));
        let guess = guess.filter(|_| twice.is_none());
        let help = match (guess, twice) {
            (_, Some(g)) => format!("did you mean `{g}`? It is there already: remove this one"),
            (Some(g), _) => format!("did you mean `{g}`?"),
            _ if k.jobs.is_empty() && key == "variables" => {
                "move the variables to the top-level `variables:`, which every job gets".to_string()
            }
            _ if k.jobs.is_empty() => {
                format!("remove it; `default:` may set {}", k.keywords.join(", "))
            }
            _ => "remove it (GitLab's job keywords: https://docs.gitlab.com/ci/yaml/)".to_string(),
        };
        let d = Diagnostic::error(plumb_semantics::codes::UNKNOWN_FIELD, at, message)
            .with_label(label)
            .with_help(help);
        Some(match guess {
            Some(g) => d.with_fix(
                format!("rename `{key}` to `{g}`"),
                vec![plumb_diagnostics::Edit {
                    at,
                    replacement: g.to_string(),
                }],
            ),
            None => d,
        })
    }

    /// Moves a finding on the program to the YAML: each span to the value it is about,
    /// the job's name for what is about a whole job, the file's start for the rest.
    /// A fix moves when its edits are inside one YAML value that reads, once edited, as
    /// the program's value once fixed (see [`fixes`]); the others are dropped; the
    /// finding gets the YAML's own `# plumb-allow` fix.
    pub fn to_yaml(&self, mut d: Diagnostic, program: &str, texts: &[&str]) -> Diagnostic {
        let program_fixes = std::mem::take(&mut d.fixes);
        let program_file = d.primary.at.file;
        let locate = |at: FileRange| -> Option<(FileRange, bool)> {
            let spot = self
                .origins
                .locate(program, at.range.start..at.range.end, texts)?;
            let at = FileRange {
                file: *self.sources.get(spot.file)?,
                range: TextRange {
                    start: spot.range.start,
                    end: spot.range.end,
                },
            };
            Some((at, spot.exact))
        };
        // what the import added (the `runner_default` of jobs with no image) is not in
        // the YAML: the finding goes to the first of its labels that is only the job
        // around a value (its name), else to the first that is in the YAML at all
        let located: Vec<(FileRange, bool)> =
            d.secondary.iter().filter_map(|l| locate(l.at)).collect();
        let fallback = (located.iter().find(|(_, exact)| !exact))
            .or(located.first())
            .copied();
        let primary = locate(d.primary.at);
        // a binding the import made (a variable the YAML reads by name) is drawn where
        // the script reads it
        let read = d.secondary.iter().position(|l| {
            l.message == plumb_checks::rules::pl4006_secret_in_merge_request::READ_HERE
                && locate(l.at).is_some_and(|(_, exact)| exact)
        });
        let synthetic =
            primary.is_some_and(|(_, exact)| !exact) && d.primary.message.contains("bound here");
        let primary = match read.filter(|_| synthetic) {
            Some(i) => {
                let label = d.secondary.remove(i);
                d.primary.message = label.message;
                locate(label.at)
            }
            None => primary,
        };
        d.primary.at = primary.or(fallback).map_or(
            FileRange {
                file: self.sources[0],
                range: TextRange::empty(0),
            },
            |(at, _)| at,
        );
        let mut seen = vec![d.primary.at];
        let secondary = std::mem::take(&mut d.secondary);
        for label in secondary {
            // a label on what the import added (a `secret` it declared, the binding of a
            // variable the YAML reads by name) has no place in the YAML
            let Some((at, exact)) = locate(label.at) else {
                continue;
            };
            if !exact && label.message.contains("bound here") {
                continue;
            }
            // jobs that share a value through an anchor share its place: shown once
            if !seen.contains(&at) {
                seen.push(at);
                d.secondary.push(Label {
                    at,
                    message: self.in_yaml_words(&label.message),
                });
            }
        }
        d.message = self.in_yaml_words(&d.message);
        d.primary.message = self.in_yaml_words(&d.primary.message);
        // a help that shows Plumb syntax would mislead a YAML author: the rule's YAML
        // words, else none
        let help = d.help.take().filter(|h| !shows_plumb_syntax(h));
        d.help = d.yaml_help.take().or(help);
        let in_yaml = self.in_yaml(program, program_file, texts);
        d.fixes = program_fixes
            .iter()
            .filter(|f| !fixes::is_allow_fix(f))
            .filter_map(|f| in_yaml.fix(f))
            .collect();
        d.fixes.extend(in_yaml.allow_fix(&d));
        d
    }

    /// What moves a fix from the program to the YAML texts.
    fn in_yaml<'s>(
        &'s self,
        program: &'s str,
        program_file: FileId,
        texts: &'s [&'s str],
    ) -> fixes::InYaml<'s> {
        fixes::InYaml {
            origins: &self.origins,
            budget: &self.fix_budget,
            sources: &self.sources,
            program,
            program_file,
            texts,
            multiline: self.multiline.get_or_init(|| {
                texts
                    .iter()
                    .map(|t| plumb_import::yaml::remarks(t).multiline)
                    .collect()
            }),
        }
    }

    /// `text` with each "`name`" the program gives differently from the YAML in the
    /// YAML's words: one look-up per backquoted part (a file of thousands of renamed
    /// jobs must not cost a pass over them per message).
    fn in_yaml_words(&self, text: &str) -> String {
        if !text.contains('`') {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut names_jobs = false;
        while let Some(open) = rest.find('`') {
            let Some(close) = rest[open + 1..].find('`').map(|i| open + 1 + i) else {
                break;
            };
            let quoted = &rest[open..=close];
            let before = &rest[..open];
            out.push_str(before);
            names_jobs = names_a_job(before, names_jobs);
            // "(`runner_default`)" is said as the missing `image:` it stands for
            let in_parens = before.ends_with('(') && rest[close + 1..].starts_with(')');
            // a template (its GitLab name is a hidden job's, `.helm`) only where a job
            // or template is named: "passed to `helm`" is the program
            let hidden = |yaml: &&String| yaml.starts_with("`.");
            match (self.renames.get(quoted)).filter(|yaml| names_jobs || !hidden(yaml)) {
                Some(yaml) => out.push_str(yaml),
                None if in_parens && quoted == "`runner_default`" => out.push_str("no `image:`"),
                None => out.push_str(quoted),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The YAML texts of the import, by their index in it.
    pub fn source_ids(&self) -> &[FileId] {
        &self.sources
    }
}

/// Whether the backquoted name after `before` names a job or template: "job `x`",
/// "templates `a`, `b` and `c`" (`listing`: the name before it did).
fn names_a_job(before: &str, listing: bool) -> bool {
    const KINDS: [&str; 4] = ["job ", "jobs ", "template ", "templates "];
    KINDS.iter().any(|k| before.ends_with(k))
        || (listing && matches!(before, ", " | " and " | " or " | ", and "))
}

/// PL0001 for a GitLab CI file that GitLab could not read either, on its `line`
/// (1-based; 0 or past the end: the last line).
pub fn not_yaml(file: FileId, text: &str, line: usize, message: &str) -> Diagnostic {
    let index = plumb_diagnostics::LineIndex::new(text);
    let line = line
        .saturating_sub(1)
        .min(index.line_count().saturating_sub(1));
    let start = index.line_start(line);
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    Diagnostic::error(
        plumb_syntax::SYNTAX_ERROR,
        FileRange {
            file,
            range: TextRange::new(start, end),
        },
        format!("this is not valid YAML: {message}"),
    )
    .with_label("GitLab cannot read the file from here")
    .with_help("fix the YAML syntax; `plumb check` reads the file as GitLab does")
}

/// The renames as they appear in messages: "`name`" → "`GitLab name`".
fn yaml_words(renames: Vec<(String, String)>) -> HashMap<String, String> {
    renames
        .into_iter()
        .map(|(p, y)| (format!("`{p}`"), format!("`{y}`")))
        .collect()
}

/// Whether a help text shows Plumb source (`image = "…"`, `secret x = ci_variable(…)`).
fn shows_plumb_syntax(help: &str) -> bool {
    help.contains(" = ") || help.contains("ci_variable(") || help.contains("runner_default")
}

/// Applies the `# plumb-allow:` comments of the YAML files findings were moved to, and
/// reports those that expired (PL1013). A finding inside a value written over several
/// lines (a `script: |` block) is also silenced by a comment above the value's first line
/// (a `#` line inside the block would be script, not a comment).
pub fn allow(
    diags: Vec<Diagnostic>,
    yaml_files: &[FileId],
    text_of: &dyn Fn(FileId) -> String,
) -> Vec<Diagnostic> {
    let mut allowances = HashMap::new();
    let mut out = Vec::new();
    for &file in yaml_files {
        let text = text_of(file);
        let remarks = yaml_remarks(&text);
        let index = plumb_diagnostics::LineIndex::new(&text);
        let a = plumb_checks::suppress::Allowances::from_comments(&text, &remarks.comments, &index);
        out.extend(plumb_checks::expired_allowances(file, &remarks.comments));
        allowances.insert(file, (a, index, remarks.multiline, text));
    }
    for d in diags {
        let allowed = allowances
            .get(&d.file())
            .is_some_and(|(a, index, multiline, text)| {
                let at = d.primary.at.range.start as usize;
                let value_line = plumb_import::yaml::comment_line_for(text, multiline, at);
                [at, value_line]
                    .iter()
                    .any(|&offset| a.allows(index.line_of(offset), d.code.as_str()))
            });
        if !allowed {
            out.push(d);
        }
    }
    out
}

/// The `# …` comments of a YAML text and its values written over several lines, as the
/// YAML parser finds them (a `#` inside a quoted or block scalar is text, whatever it
/// says). Only a text that holds an allowance is parsed again for them.
pub struct YamlRemarks {
    pub comments: Vec<plumb_syntax::Comment>,
    pub multiline: Vec<plumb_import::yaml::Multiline>,
}

pub fn yaml_remarks(text: &str) -> YamlRemarks {
    if !text.contains("plumb-allow") {
        return YamlRemarks {
            comments: Vec::new(),
            multiline: Vec::new(),
        };
    }
    let remarks = plumb_import::yaml::remarks(text);
    let comments = remarks
        .comments
        .into_iter()
        .filter_map(|r| {
            let whole = text.get(r.start as usize..r.end as usize)?;
            let body = whole.strip_prefix('#')?.trim_end_matches(['\r', '\n']);
            Some(plumb_syntax::Comment {
                range: TextRange::new(r.start as usize, r.start as usize + 1 + body.len()),
                text: body.to_string(),
            })
        })
        .collect();
    YamlRemarks {
        comments,
        multiline: remarks.multiline,
    }
}

/// The refusals grouped by cause (where, and what), in the order first met: each with
/// the jobs it is about (a template's `stage:` that `stages:` lacks, for every job built
/// on it). The same name written in several places is one finding per place: an
/// allow comment on one silences that one only.
fn one_per_cause(refusals: &[Refusal]) -> Vec<(&Refusal, Vec<String>)> {
    let mut out: Vec<(&Refusal, Vec<String>)> = Vec::new();
    let mut index: HashMap<(usize, u32, u32, &RefusalKind), usize> = HashMap::new();
    for r in refusals {
        let key = (r.file, r.span.start, r.span.end, &r.kind);
        match index.get(&key) {
            Some(&i) if !out[i].1.contains(&r.job) => out[i].1.push(r.job.clone()),
            Some(_) => {}
            None => {
                index.insert(key, out.len());
                out.push((r, vec![r.job.clone()]));
            }
        }
    }
    out
}

/// "job `a`", "jobs `a` and `b`", "jobs `a`, `b`, `c` and 2 more".
fn job_list(jobs: &[String]) -> String {
    const SHOWN: usize = 3;
    let names: Vec<String> = jobs.iter().take(SHOWN).map(|j| format!("`{j}`")).collect();
    let more = jobs.len().saturating_sub(SHOWN);
    let s = if jobs.len() == 1 { "" } else { "s" };
    match (more, names.split_last()) {
        (0, Some((last, [_, ..]))) => {
            format!("job{s} {} and {last}", names[..names.len() - 1].join(", "))
        }
        (0, _) => format!("job{s} {}", names.join(", ")),
        (n, _) => format!("job{s} {} and {n} more", names.join(", ")),
    }
}

/// "did you mean `closest`?", or `otherwise` when no name is close.
fn closest_or(closest: &Option<String>, otherwise: &str) -> String {
    match closest {
        Some(c) => format!("did you mean `{c}`?"),
        None => otherwise.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_the_parsers() {
        let text = concat!(
            "a: 1 # plumb-allow: PL3001\n",
            "b: \"x # plumb-allow: no\"\n",
            "c: \"echo \\\" # plumb-allow: PL6002 \\\"\"\n",
            "d: |\n  echo # plumb-allow: PL6002\n",
            "# plumb-allow: top\n",
        );
        let found: Vec<String> = yaml_remarks(text)
            .comments
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(found, [" plumb-allow: PL3001", " plumb-allow: top"]);
    }
}
