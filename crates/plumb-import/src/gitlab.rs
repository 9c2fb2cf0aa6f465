//! GitLab's reading of a CI file: `include: local`, `!reference`, `extends` and
//! `default:` applied, so that each job is what GitLab would run.

use crate::yaml::{self, Entry, Kind, Node};
use crate::Warning;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Top-level keys that are not jobs.
pub const GLOBAL_KEYS: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "spec",
    // before `default:` existed these were global; GitLab still reads them as defaults
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// The top-level keys GitLab reads as defaults: they were global before `default:`
/// existed (the last of [`GLOBAL_KEYS`]).
const LEGACY_GLOBAL_KEYS: &[&str] = &[
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// Keywords that `default:` may set (those of its CI schema's `default`; a test holds
/// the list to the vendored schema).
pub const DEFAULT_KEYS: &[&str] = &[
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "identity",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
];

/// How deep `extends`, `!reference` and `include` may nest (GitLab's own limits are of
/// this order).
const MAX_DEPTH: usize = 32;

/// GitLab's job keywords (those of its CI schema's job definition; a test holds the list
/// to the vendored schema).
pub const JOB_KEYWORDS: &[&str] = &[
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "coverage",
    "dast_configuration",
    "dependencies",
    "environment",
    "except",
    "extends",
    "hooks",
    "id_tokens",
    "identity",
    "image",
    "inherit",
    "inputs",
    "interruptible",
    "manual_confirmation",
    "needs",
    "only",
    "pages",
    "parallel",
    "publish",
    "release",
    "resource_group",
    "retry",
    "rules",
    "run",
    "script",
    "secrets",
    "services",
    "stage",
    "start_in",
    "tags",
    "timeout",
    "trigger",
    "variables",
    "when",
];

/// The configuration as GitLab sees it.
pub struct Config {
    /// The merged top-level mapping (includes applied, references resolved).
    pub root: Node,
    /// `stages:` as declared, or GitLab's default.
    pub stages: Vec<String>,
    /// Visible jobs in file order: (name, line, job with `extends` and `default:` applied).
    pub jobs: Vec<Job>,
    /// Hidden jobs (`.name`) with their `extends` applied, for templates.
    pub hidden: Vec<Job>,
    /// Visible jobs that other jobs `extend`, with their `extends` applied (no
    /// `default:`, as an extending job starts from them): templates too, which the job
    /// itself and those extending it are built on.
    pub visible_bases: Vec<Job>,
    /// What `default:` sets (old-style global keywords folded in).
    pub default: Node,
    /// Keys under `default:` that it may not set (`variables:` is the common one):
    /// GitLab refuses such a file, and no job gets them.
    pub default_refused: Vec<Entry>,
    /// The files read, by the index their nodes carry: the main file first.
    pub sources: Vec<(PathBuf, String)>,
    /// `include:` entries GitLab reads but this import does not (components, templates,
    /// other projects, remote files, local files not found here): they become the
    /// pipeline's `include`, so the compiled file includes them too.
    pub includes: Vec<Node>,
}

#[derive(Clone)]
pub struct Job {
    pub name: String,
    pub line: usize,
    /// Where the job's name is written.
    pub key_span: yaml::ByteRange,
    /// The jobs it `extends`, as written (references resolved), in order.
    pub extends: Vec<String>,
    /// What GitLab runs: `extends` and `default:` applied (for a hidden job, which
    /// GitLab never runs, `extends` only: what a job that extends it starts from).
    pub full: Node,
    /// A job without a script as written (anchors merged, `extends` not applied, no
    /// `default:`): the keys it may add to a job of another file of that name.
    pub written: Option<Node>,
    /// Where the includes add the files that define the job: one list of `rules:` for
    /// each way (outermost first), all of which must add the file; none when some
    /// file defining it is always read (the imported file, or includes without rules).
    pub include_rules: Vec<Vec<Node>>,
}

/// What reading the includes gives besides the merged mapping.
#[derive(Default)]
struct Included {
    /// The entries kept as `include:` (see [`Config::includes`]).
    carried: Vec<Node>,
    /// Each `include: local` of a file read: (including file, included file, the
    /// entry's `rules:`), by the index of the files in the sources; a file included
    /// again is an edge to its first reading.
    edges: Vec<(usize, usize, Option<Node>)>,
    /// The jobs each file read defines itself, by its index.
    own_jobs: Vec<(usize, Vec<String>)>,
}

/// Most ways through the includes a file's condition is kept as: past it (a file
/// included under rules by many files, each under rules), the file counts as always
/// read, which is where its jobs may run.
const MAX_INCLUDE_WAYS: usize = 16;

impl Included {
    /// The rules of each way the includes read `file` by (see [`Job::include_rules`]);
    /// `None` when some way has none. Each file's ways are found once (`found`): files
    /// that include each other's layers under rules would otherwise be walked once per
    /// path, which doubles with each layer.
    fn ways(
        &self,
        file: usize,
        found: &mut HashMap<usize, Option<Vec<Vec<Node>>>>,
        depth: usize,
    ) -> Option<Vec<Vec<Node>>> {
        if file == 0 || depth > MAX_DEPTH {
            return None;
        }
        if let Some(known) = found.get(&file) {
            return known.clone();
        }
        let mut ways = Some(Vec::new());
        for (from, _, rules) in self.edges.iter().filter(|(_, to, _)| *to == file) {
            let mut before =
                (self.ways(*from, found, depth + 1)).unwrap_or_else(|| vec![Vec::new()]);
            for way in &mut before {
                way.extend(rules.iter().cloned());
            }
            let all = ways.get_or_insert_with(Vec::new);
            all.extend(before);
            if all.iter().any(Vec::is_empty) || all.len() > MAX_INCLUDE_WAYS {
                ways = None;
                break;
            }
        }
        found.insert(file, ways.clone());
        ways
    }

    /// The rules of the ways the includes read the files that define `job`.
    fn job_ways(
        &self,
        job: &str,
        found: &mut HashMap<usize, Option<Vec<Vec<Node>>>>,
    ) -> Vec<Vec<Node>> {
        let mut ways = Vec::new();
        for (file, _) in (self.own_jobs.iter()).filter(|(_, jobs)| jobs.iter().any(|j| j == job)) {
            match self.ways(*file, found, 0) {
                None => return Vec::new(),
                Some(w) => ways.extend(w),
            }
        }
        ways
    }
}

/// Where files are read from (the tests give a map; the CLI the disk).
pub trait Files {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// The repository's root, which `include: local` paths are relative to (as GitLab
    /// reads them); `None`: the imported file's folder.
    fn repository_root(&self) -> Option<&Path> {
        None
    }
    /// The files below `root` whose path relative to it matches a GitLab wildcard
    /// (`*` within a folder, `**` across folders), sorted; `None` when this source of
    /// files cannot list them.
    fn matching(&self, _root: &Path, _pattern: &str) -> Option<Vec<PathBuf>> {
        None
    }
}

/// Whether `path` (relative, `/`-separated) matches a GitLab include wildcard.
pub fn wildcard_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            // `**/` is any run of folders, or none: `ci/**/*.yml` holds `ci/a.yml`
            [b'*', b'*', b'/', rest @ ..] => {
                go(rest, s) || (0..=s.len()).any(|i| go(&p[2..], &s[i..]))
            }
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'*', rest @ ..] => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| go(rest, &s[i..])),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

pub fn load(
    path: &Path,
    text: &str,
    files: &dyn Files,
    warnings: &mut Vec<Warning>,
) -> Result<Config, yaml::YamlError> {
    let mut sources = vec![(path.to_path_buf(), text.to_string())];
    let root = read_document(text, 0, None, warnings)?;
    let mut included = Included::default();
    included.own_jobs.push((0, jobs_named(&root).collect()));
    let root = with_includes(root, &mut sources, 0, files, warnings, &mut included, &[0])?;
    let includes = std::mem::take(&mut included.carried);
    // most files have no `!reference`: they are not copied to find none
    let mut root = if has_references(&root) {
        References::new(&root, !includes.is_empty()).resolve(&root, warnings, 0)
    } else {
        root
    };
    let stages = match root.get("stages") {
        Some(s) => s.strings(),
        None => ["build", "test", "deploy"].map(String::from).to_vec(),
    };
    let (default, default_refused) = defaults(&root);
    let (mut jobs, hidden, visible_bases) = jobs_of(&mut root, &default, warnings);
    if included.edges.iter().any(|(_, _, rules)| rules.is_some()) {
        let mut found = HashMap::new();
        for job in &mut jobs {
            job.include_rules = included.job_ways(&job.name, &mut found);
        }
    }
    Ok(Config {
        root,
        stages,
        jobs,
        hidden,
        visible_bases,
        default,
        default_refused,
        sources,
        includes,
    })
}

/// The jobs and the hidden jobs of `root`, each with its `extends` chain and (a job)
/// `default:` applied, and the visible jobs others extend, as they extend them. A job
/// no other extends is moved out of `root`, not copied (a file of thousands of jobs
/// would be held three times); the others stay for `extends` (a visible one is then
/// held three times: as a job, a base and in `root`).
fn jobs_of(root: &mut Node, default: &Node, warnings: &mut Vec<Warning>) -> JobsOf {
    let parents: HashSet<String> = root
        .entries()
        .iter()
        .flat_map(|e| extends_of(&e.value))
        .collect();
    let extended = extended_jobs(root, warnings);
    // the jobs whose `extends` this file applies: not a visible one without a script,
    // which may complete a job of an include (GitLab merges that whole job)
    let defined: HashSet<String> = (root.entries().iter().zip(&extended))
        .filter(|(e, x)| {
            let whole = x.as_ref().and_then(|x| x.as_ref()).unwrap_or(&e.value);
            e.key.starts_with('.') || whole.get("script").is_some()
        })
        .map(|(e, _)| e.key.clone())
        .collect();
    let in_cycles = extends_cycles(root, &parents);
    let (mut jobs, mut hidden, mut visible_bases) = (Vec::new(), Vec::new(), Vec::new());
    let Kind::Map(entries) = &mut root.kind else {
        return (jobs, hidden, visible_bases);
    };
    for (e, extended) in entries.iter_mut().zip(extended) {
        let Some(extended) = extended else {
            continue;
        };
        let extends = extends_of(&e.value);
        let own = extended.unwrap_or_else(|| {
            if parents.contains(&e.key) {
                e.value.clone()
            } else {
                let moved_out = Node {
                    kind: Kind::Null,
                    line: e.value.line,
                    end_line: e.value.end_line,
                    file: e.value.file,
                    span: e.value.span,
                };
                std::mem::replace(&mut e.value, moved_out)
            }
        });
        // kept only for the few jobs without a script, or turned off (`rules: [{when:
        // never}]`, which turns off an included job of that name)
        let turned_off = own.get("rules").is_some_and(crate::emit::only_never_rules);
        let written = (!e.key.starts_with('.') && (own.get("script").is_none() || turned_off))
            .then(|| with_extends_not_here(&own, &extends, &defined));
        let job = Job {
            name: e.key.clone(),
            line: e.key_line,
            key_span: e.key_span,
            extends,
            full: own,
            written,
            include_rules: Vec::new(),
        };
        if e.key.starts_with('.') {
            hidden.push(job);
        } else {
            // (not one without a script, which may complete a job of an include, nor
            // one whose `extends` lead back to it, which GitLab refuses)
            if parents.contains(&e.key) && job.written.is_none() && !in_cycles.contains(&e.key) {
                visible_bases.push(job.clone());
            }
            jobs.push(Job {
                full: apply_default(job.full, default),
                ..job
            });
        }
    }
    (jobs, hidden, visible_bases)
}

/// Which of the jobs others extend (`parents`) reach themselves through `extends`, or
/// reach more jobs than a chain GitLab applies has (it stops at 11 levels).
fn extends_cycles(root: &Node, parents: &HashSet<String>) -> HashSet<String> {
    const MOST_REACHED: usize = 64;
    let by_name = top_level_by_name(root);
    let reaches_itself = |start: &str| {
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo: Vec<String> = by_name
            .get(start)
            .map(|n| extends_of(n))
            .unwrap_or_default();
        while let Some(name) = todo.pop() {
            if name == start || seen.len() > MOST_REACHED {
                return true;
            }
            if seen.insert(name.clone()) {
                todo.extend(
                    by_name
                        .get(name.as_str())
                        .map(|n| extends_of(n))
                        .unwrap_or_default(),
                );
            }
        }
        false
    };
    (parents.iter())
        .filter(|p| reaches_itself(p))
        .cloned()
        .collect()
}

/// What [`jobs_of`] finds: jobs, hidden jobs, visible jobs others extend.
type JobsOf = (Vec<Job>, Vec<Job>, Vec<Job>);

/// A job with its `extends` chain applied where it is defined here, and `extends:` of
/// the rest (jobs of files not read), as GitLab still has to apply them.
fn with_extends_not_here(job: &Node, extends: &[String], defined: &HashSet<String>) -> Node {
    let elsewhere: Vec<Node> = (extends.iter())
        .filter(|p| !defined.contains(*p))
        .map(|p| Node::scalar(p, job.line, job.file))
        .collect();
    let mut job = job.clone();
    let (line, file) = (job.line, job.file);
    if let (Kind::Map(entries), false) = (&mut job.kind, elsewhere.is_empty()) {
        entries.retain(|e| e.key != "extends");
        entries.push(Entry {
            key: "extends".into(),
            key_line: line,
            key_span: yaml::ByteRange::default(),
            value: Node::seq(elsewhere, line, file),
        });
    }
    job
}

/// For each entry of `root`: `None` when it is not a job; `Some(None)` for a job that
/// extends nothing (it is itself); else the job with its `extends` chain merged in.
fn extended_jobs(root: &Node, warnings: &mut Vec<Warning>) -> Vec<Option<Option<Node>>> {
    let by_name = top_level_by_name(root);
    // each hidden job's `extends` chain is merged once, however many jobs extend it
    let mut memo: HashMap<String, Node> = HashMap::new();
    let mut out = Vec::with_capacity(root.entries().len());
    for e in root.entries() {
        if GLOBAL_KEYS.contains(&e.key.as_str()) {
            out.push(None);
        } else if !e.value.is_map() {
            if !e.key.starts_with('.') {
                warnings.push(Warning::at(
                    e.value.file,
                    e.key_line,
                    format!(
                        "`{}` is not a job (its value is not a mapping): left out",
                        e.key
                    ),
                ));
            }
            out.push(None);
        } else if e.value.get("extends").is_none() {
            out.push(Some(None));
        } else {
            let jobs = Jobs { by_name: &by_name };
            out.push(Some(Some(extend(
                &jobs, &e.key, &e.value, &mut memo, warnings, 0,
            ))));
        }
    }
    out
}

fn top_level_by_name(root: &Node) -> HashMap<&str, &Node> {
    root.entries()
        .iter()
        .map(|e| (e.key.as_str(), &e.value))
        .collect()
}

/// The top-level entries of a file by name, for `extends` to find its parents without
/// searching thousands of jobs for each.
struct Jobs<'a> {
    by_name: &'a HashMap<&'a str, &'a Node>,
}

impl Jobs<'_> {
    fn get(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).copied()
    }
}

/// Keys a file's last document writes twice at its top level (a job or `variables:`
/// defined twice: YAML readers keep the last, silently): (line, key, first line).
/// Top-level keys start at the first column, where nothing else of a block mapping can.
fn repeated_top_level_keys(text: &str) -> Vec<(usize, String, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut repeated = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("---") {
            // a new document: its keys are its own
            seen.clear();
            repeated.clear();
            continue;
        }
        let Some(key) = top_level_key(line) else {
            continue;
        };
        match seen.get(key) {
            Some(&first) => repeated.push((i + 1, key.to_string(), first)),
            None => {
                seen.insert(key, i + 1);
            }
        }
    }
    repeated
}

/// The key a line at the first column writes (`build:`, `test:unit: …`), unless it is a
/// merge key, quoted, a comment or not a key at all.
fn top_level_key(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if first.is_whitespace() || "#-[]{}\"'&*!|>%@`?:".contains(first) {
        return None;
    }
    let end = line
        .find(": ")
        .or_else(|| line.find(":\t"))
        .or_else(|| line.strip_suffix(':').map(str::len))
        .or_else(|| {
            line.find(" #")
                .and_then(|h| line[..h].trim_end().strip_suffix(':').map(str::len))
        })?;
    let key = line[..end].trim_end();
    (!key.is_empty() && key != "<<").then_some(key)
}

/// The document GitLab reads: the last one, with the inputs a first one holding `spec:`
/// declares filled in ([`crate::inputs`]) from `given` (the `inputs:` of the `include:`
/// reading the file) or their defaults.
fn read_document(
    text: &str,
    file: usize,
    given: Option<&Node>,
    warnings: &mut Vec<Warning>,
) -> Result<Node, yaml::YamlError> {
    let mut docs = yaml::parse(text, file)?;
    for (line, key, first) in repeated_top_level_keys(text) {
        warnings.push(Warning::at(
            file,
            line,
            format!("`{key}` is written again here (first on line {first}): GitLab keeps this one and drops the first"),
        ));
    }
    let mut doc = docs.pop().unwrap_or(Node::map(Vec::new(), 1, file));
    if let Some(spec) = docs.first().filter(|d| d.get("spec").is_some()) {
        if given.is_none() && file == 0 {
            if let Some(e) = spec.get("spec").and_then(|s| s.entry("inputs")) {
                warnings.push(Warning::at(
                    file,
                    e.key_line,
                    "`spec: inputs` take their defaults here: a pipeline started with other inputs is not what is imported",
                ));
            }
        }
        let mut inputs = crate::inputs::Inputs::declared(spec, given, file, warnings);
        doc = inputs.fill(doc, warnings);
    }
    if doc.is_null() {
        return Ok(Node::map(Vec::new(), doc.line, file));
    }
    if !doc.is_map() {
        return Err(yaml::YamlError {
            line: doc.line,
            message: "a GitLab CI file is a mapping of keywords and jobs".to_string(),
        });
    }
    Ok(doc)
}

/// Applies `include: local` files under the including file (which wins); the entries
/// that cannot be read here are kept in `read.carried`, with a warning where that loses
/// something; each include of a local file is an edge of `read.edges`. `chain` holds
/// the files being read, from the first to `file`.
fn with_includes(
    root: Node,
    sources: &mut Vec<(PathBuf, String)>,
    file: usize,
    files: &dyn Files,
    warnings: &mut Vec<Warning>,
    read: &mut Included,
    chain: &[usize],
) -> Result<Node, yaml::YamlError> {
    let Some(include) = root.entry("include").cloned() else {
        return Ok(root);
    };
    let items: Vec<Node> = match &include.value.kind {
        Kind::Seq(items) => items.clone(),
        _ => vec![include.value.clone()],
    };
    // GitLab reads every `local` path from the repository's root, whichever file
    // includes it
    let base = match files.repository_root() {
        Some(root) => root.to_path_buf(),
        None => sources[0].0.parent().unwrap_or(Path::new("")).to_path_buf(),
    };
    let mut merged = Node::map(Vec::new(), 1, file);
    for item in items {
        let locals = match include_item(&item, &base, files, warnings) {
            IncludeItem::Read(locals) => locals,
            IncludeItem::Carried => {
                read.carried.push(item);
                continue;
            }
            IncludeItem::Dropped => continue,
        };
        let mut cycle = Vec::new();
        // (by name, made absolute: no look at the disk for each pair of files)
        let open: HashSet<PathBuf> = chain.iter().map(|&i| absolute(&sources[i].0)).collect();
        let mut seen: HashSet<PathBuf> = sources.iter().map(|(p, _)| absolute(p)).collect();
        for local in locals {
            // a file read already is read once: GitLab merges a file included twice (a
            // diamond) as once; a file including one that includes it back is a cycle,
            // which GitLab refuses (re-reading it would repeat its includes to the limit)
            let name = absolute(&local);
            if open.contains(&name) {
                let shown = local.strip_prefix(&base).unwrap_or(&local);
                cycle.push(format!("`{}`", shown.display()));
                continue;
            }
            let rules = item.get("rules").cloned();
            // (a file included again with other `inputs` is other jobs)
            if seen.contains(&name) && item.get("inputs").is_none() {
                // read once, but included here too (under these rules, or always)
                let first = sources.iter().position(|(p, _)| absolute(p) == name);
                read.edges.extend(first.map(|to| (file, to, rules)));
                continue;
            }
            let before = sources.len();
            if let Some(included) =
                read_included(&local, &item, sources, files, warnings, read, chain)?
            {
                read.edges.push((file, before, rules));
                if item.get("rules").is_some() {
                    rules_not_for_globals(&item, &included, warnings);
                }
                merged = deep_merge(&merged, &included);
            }
            seen.extend(sources[before..].iter().map(|(p, _)| absolute(p)));
        }
        if !cycle.is_empty() {
            let more = match cycle.len() {
                n if n > 3 => format!(" and {} more", n - 3),
                _ => String::new(),
            };
            let verb = if cycle.len() == 1 {
                "includes"
            } else {
                "include"
            };
            cycle.truncate(3);
            warnings.push(Warning::at(
                item.file,
                item.line,
                format!(
                    "{}{more} {verb} this file back (a cycle of includes, which GitLab refuses): each is read once",
                    cycle.join(", ")
                ),
            ));
        }
    }
    let mut own = root;
    if let Kind::Map(entries) = &mut own.kind {
        entries.retain(|e| e.key != "include");
    }
    Ok(deep_merge(&merged, &own))
}

/// An include under `rules:` whose file (or a file it includes) sets keys of the whole
/// pipeline: those are merged as if it were always read, which the rules may deny.
fn rules_not_for_globals(item: &Node, included: &Node, warnings: &mut Vec<Warning>) {
    let globals: Vec<String> = (included.entries().iter())
        .filter(|e| GLOBAL_KEYS.contains(&e.key.as_str()) && e.key != "include")
        .map(|e| format!("`{}:`", e.key))
        .collect();
    if globals.is_empty() {
        return;
    }
    let (_, target) = include_kind(item);
    warnings.push(Warning::at(
        item.file,
        item.line,
        format!(
            "the `rules` of include `{target}` go to the jobs it adds, not to its {}: those apply in every pipeline",
            globals.join(", ")
        ),
    ));
}

/// The names of the jobs a file's mapping defines (not its keywords, not hidden jobs).
fn jobs_named(mapping: &Node) -> impl Iterator<Item = String> + '_ {
    (mapping.entries().iter())
        .filter(|e| !e.key.starts_with('.') && !GLOBAL_KEYS.contains(&e.key.as_str()))
        .map(|e| e.key.clone())
}

/// One included file read, with its own includes applied; `None` when it is left out
/// (a warning says why).
fn read_included(
    local: &Path,
    item: &Node,
    sources: &mut Vec<(PathBuf, String)>,
    files: &dyn Files,
    warnings: &mut Vec<Warning>,
    read: &mut Included,
    chain: &[usize],
) -> Result<Option<Node>, yaml::YamlError> {
    let file = item.file;
    if chain.len() > MAX_INCLUDE_DEPTH || sources.len() >= MAX_INCLUDED_FILES {
        // said once for the pipeline (each file a wildcard leaves out would say it again)
        let said = warnings
            .iter()
            .any(|w| w.message.starts_with(OVER_THE_LIMIT));
        if !said {
            warnings.push(Warning::at(
                file,
                item.line,
                format!(
                    "{OVER_THE_LIMIT} ({MAX_INCLUDE_DEPTH} deep, {MAX_INCLUDED_FILES} files), which GitLab refuses: `{}` and the files after it are left out",
                    local.display()
                ),
            ));
        }
        // not read: what it holds is not known (and the check says GitLab refuses it);
        // each entry kept once however many files it leaves out
        if !(read.carried.iter()).any(|c| include_kind(c) == include_kind(item)) {
            read.carried.push(item.clone());
        }
        return Ok(None);
    }
    let text = match files.read(local) {
        Ok(text) => text,
        Err(e) => {
            warnings.push(Warning::at(
                file,
                item.line,
                format!(
                    "cannot read included file `{}` ({e}): kept as an `include`, its jobs are not imported{}",
                    local.display(),
                    match (item.get("inputs"), item.get("rules")) {
                        // Plumb's `local(…)` takes none: GitLab would use the file's defaults
                        (Some(_), _) => "; its `inputs` are not carried (Plumb gives inputs to a `component` only)",
                        (None, Some(_)) => "; its `rules` are not carried: it is included unconditionally",
                        (None, None) => "",
                    }
                ),
            ));
            read.carried.push(item.clone());
            return Ok(None);
        }
    };
    let index = sources.len();
    sources.push((local.to_path_buf(), text.clone()));
    match read_document(&text, index, item.get("inputs"), warnings) {
        Ok(doc) => {
            read.own_jobs.push((index, jobs_named(&doc).collect()));
            let chain = [chain, &[index]].concat();
            with_includes(doc, sources, index, files, warnings, read, &chain).map(Some)
        }
        Err(e) => {
            warnings.push(Warning::at(
                index,
                e.line,
                format!("included file is not valid YAML ({}): left out", e.message),
            ));
            Ok(None)
        }
    }
}

/// A path as one name for its file (`.gitlab-ci.yml` and the wildcard's
/// `/repo/.gitlab-ci.yml` alike).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The start of the warning that includes go past GitLab's limits.
const OVER_THE_LIMIT: &str = "includes go past GitLab's limits";

/// GitLab's limit on the files one pipeline includes.
const MAX_INCLUDED_FILES: usize = 150;

/// GitLab's limit on how deep includes nest.
const MAX_INCLUDE_DEPTH: usize = 100;

/// What an `include:` entry becomes in the import.
enum IncludeItem {
    /// Local files (one, or those a wildcard matches), read here and merged.
    Read(Vec<PathBuf>),
    /// Kept in the pipeline's `include`: GitLab reads it when the pipeline runs.
    Carried,
    /// Neither (a warning says why).
    Dropped,
}

/// The kind (`local`, `remote`, `project`, `template`, `component`) and target of an
/// `include:` entry; a bare string is `remote` when it is a URL, else `local`.
pub fn include_kind(item: &Node) -> (&'static str, String) {
    match &item.kind {
        Kind::Scalar { text, .. }
            if text.starts_with("http://") || text.starts_with("https://") =>
        {
            ("remote", text.clone())
        }
        Kind::Scalar { text, .. } => ("local", text.clone()),
        Kind::Map(_) => {
            let kind = ["local", "remote", "project", "template", "component"]
                .into_iter()
                .find(|k| item.get(k).is_some())
                .unwrap_or("unknown");
            let target = item
                .get(kind)
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            (kind, target)
        }
        _ => ("unknown", String::new()),
    }
}

fn include_item(
    item: &Node,
    base: &Path,
    files: &dyn Files,
    warnings: &mut Vec<Warning>,
) -> IncludeItem {
    let file = item.file;
    let (kind, target) = include_kind(item);
    // a local file's rules go into the `when` of each job it adds (see `Included`)
    if item.get("rules").is_some() && kind != "local" {
        warnings.push(Warning::at(
            file,
            item.line,
            format!(
                "the `rules` of include `{target}` are not carried: it is included unconditionally"
            ),
        ));
    }
    if item.get("inputs").is_some() && !matches!(kind, "component" | "local") {
        warnings.push(Warning::at(
            file,
            item.line,
            format!("the `inputs` of include `{target}` are not carried (Plumb gives inputs to a `component` only)"),
        ));
    }
    match kind {
        "unknown" => {
            warnings.push(Warning::at(
                file,
                item.line,
                "this `include:` entry names no `local`, `remote`, `project`, `template` or `component`: left out",
            ));
            return IncludeItem::Dropped;
        }
        "local" => {}
        _ => return IncludeItem::Carried,
    }
    if target.contains('*') {
        // as GitLab: `*` within a folder, `**` across folders, from the repository root
        let found = files.matching(base, target.trim_start_matches('/'));
        return match found {
            Some(paths) if !paths.is_empty() => IncludeItem::Read(paths),
            _ => {
                warnings.push(Warning::at(
                    file,
                    item.line,
                    format!("wildcard include `{target}` matches no file here: kept as an `include`, its jobs are not imported"),
                ));
                IncludeItem::Carried
            }
        };
    }
    // paths are relative to the repository: one that climbs out of it is not read
    if Path::new(&target)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        warnings.push(Warning::at(
            file,
            item.line,
            format!("`include: local` `{target}` leaves the repository: not read"),
        ));
        return IncludeItem::Dropped;
    }
    IncludeItem::Read(vec![base.join(target.trim_start_matches('/'))])
}

/// The local files that the trigger jobs of `config` run as child pipelines
/// (`trigger: include: x.yml`, `- local: x.yml`), from the repository's root as GitLab
/// reads them: YAML files inside it (links resolved), not a wildcard.
pub fn child_pipelines(config: &Config, files: &dyn Files) -> Vec<PathBuf> {
    let base = match files.repository_root() {
        Some(root) => root.to_path_buf(),
        None => (config.sources.first())
            .and_then(|(p, _)| p.parent())
            .unwrap_or(Path::new(""))
            .to_path_buf(),
    };
    let mut out: Vec<PathBuf> = Vec::new();
    let includes = (config.jobs.iter())
        .filter_map(|j| j.full.get("trigger")?.get("include"))
        .flat_map(|include| match &include.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![include],
        });
    for item in includes {
        let target = match &item.kind {
            Kind::Scalar { text, .. } if !text.contains("://") => text.as_str(),
            Kind::Map(_) => match item.get("local").and_then(Node::as_str) {
                Some(local) => local,
                None => continue,
            },
            _ => continue,
        };
        let climbs =
            (Path::new(target).components()).any(|c| matches!(c, std::path::Component::ParentDir));
        let yaml = target.ends_with(".yml") || target.ends_with(".yaml");
        let path = base.join(target.trim_start_matches('/'));
        // as `include: local`: a file of the repository, not one a link leads out to
        // (its lines would be quoted in errors)
        let inside = (std::fs::canonicalize(&path).ok())
            .zip(std::fs::canonicalize(&base).ok())
            .is_some_and(|(file, root)| file.starts_with(root));
        if !climbs && yaml && inside && !target.contains('*') && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// GitLab's deep merge: mappings merge key by key, anything else is replaced.
pub fn deep_merge(base: &Node, over: &Node) -> Node {
    match (&base.kind, &over.kind) {
        (Kind::Map(b), Kind::Map(o)) => {
            let mut entries: Vec<Entry> = b.clone();
            for e in o {
                match entries.iter_mut().find(|x| x.key == e.key) {
                    Some(x) => {
                        x.value = deep_merge(&x.value, &e.value);
                        // the key as the file that wins writes it (a label drawn at the
                        // key of one file with the offsets of another was misplaced)
                        x.key_line = e.key_line;
                        x.key_span = e.key_span;
                    }
                    None => entries.push(e.clone()),
                }
            }
            Node::map(entries, over.line, over.file)
        }
        _ => over.clone(),
    }
}

/// Replaces every `!reference [job, key, …]` with what it points at (nested script
/// lists are flattened later, as GitLab does).
struct References<'a> {
    root: &'a Node,
    by_name: HashMap<&'a str, &'a Node>,
    /// Jobs with their `extends` merged in, as a reference sees them: each chain merged
    /// once, however many references reach it.
    memo: HashMap<String, Node>,
    budget: usize,
    /// Scalar text the resolved file may hold: a reference to a reference to a long
    /// script doubles it at each level, in few values.
    text_budget: usize,
    /// Whether the file includes files not read here, where a reference may point.
    includes_not_read: bool,
    /// The references being resolved, outermost first, each with whether what it
    /// points at leads back to it (GitLab refuses such a cycle).
    resolving: Vec<(Vec<String>, bool)>,
}

impl<'a> References<'a> {
    fn new(root: &'a Node, includes_not_read: bool) -> Self {
        References {
            includes_not_read,
            root,
            by_name: top_level_by_name(root),
            memo: HashMap::new(),
            budget: MAX_RESOLVED_NODES,
            text_budget: MAX_RESOLVED_TEXT,
            resolving: Vec::new(),
        }
    }

    /// What reference `path` points at, resolved in turn; `None` when it leads back
    /// to itself: the outermost reference of the cycle is left empty (not copied once
    /// per level until the depth runs out).
    fn resolve_target(
        &mut self,
        path: &[String],
        found: &Node,
        warnings: &mut Vec<Warning>,
        depth: usize,
    ) -> Option<Node> {
        if let Some(open) = self.resolving.iter_mut().find(|(p, _)| p == path) {
            open.1 = true;
            return None;
        }
        self.resolving.push((path.to_vec(), false));
        let resolved = self.resolve(found, warnings, depth + 1);
        let (_, cycle) = self.resolving.pop()?;
        (!cycle).then_some(resolved)
    }

    /// What `path` names: GitLab merges a job's `extends` before it reads a
    /// `!reference` into it, so a key the job inherits is found.
    fn target(&mut self, path: &[String]) -> Option<Node> {
        let (job_name, keys) = path.split_first()?;
        let job = self.root.get(job_name)?;
        if job.get("extends").is_none() || !job.is_map() {
            return keys.iter().try_fold(job, |n, key| n.get(key)).cloned();
        }
        if !self.memo.contains_key(job_name) {
            let jobs = Jobs {
                by_name: &self.by_name,
            };
            // what `extends` cannot apply is reported where the jobs are merged
            let mut unreported = Vec::new();
            let merged = extend(&jobs, job_name, job, &mut self.memo, &mut unreported, 0);
            self.memo.insert(job_name.clone(), merged);
        }
        let job = self.memo.get(job_name)?;
        keys.iter().try_fold(job, |n, key| n.get(key)).cloned()
    }

    fn resolve(&mut self, node: &Node, warnings: &mut Vec<Warning>, depth: usize) -> Node {
        if self.budget == 0 || self.text_budget == 0 {
            return Node {
                kind: Kind::Null,
                ..node.clone()
            };
        }
        self.budget -= 1;
        if self.budget == 0 {
            warnings.push(Warning::at(
                node.file,
                node.line,
                format!("`!reference` tags expand to more than {MAX_RESOLVED_NODES} values: the rest is left empty"),
            ));
        }
        if let Kind::Scalar { text, .. } = &node.kind {
            let left = self.text_budget.saturating_sub(text.len().max(1));
            if left == 0 {
                warnings.push(Warning::at(
                    node.file,
                    node.line,
                    format!("`!reference` tags expand to more than {} MiB of text: the rest is left empty", MAX_RESOLVED_TEXT >> 20),
                ));
                self.text_budget = 0;
                return Node {
                    kind: Kind::Null,
                    ..node.clone()
                };
            }
            self.text_budget = left;
        }
        match &node.kind {
            Kind::Reference(path) => match self.target(path) {
                Some(found) if depth < MAX_DEPTH => {
                    match self.resolve_target(path, &found, warnings, depth) {
                        Some(mut resolved) => {
                            resolved.line = node.line;
                            resolved.end_line = node.end_line;
                            resolved
                        }
                        None if self.resolving.iter().any(|(p, _)| p == path) => Node {
                            kind: Kind::Null,
                            ..node.clone()
                        },
                        None => {
                            let path = path.join(", ");
                            warnings.push(Warning::at(node.file, node.line, format!("`!reference [{path}]` leads back to itself, which GitLab refuses: left empty")));
                            Node {
                                kind: Kind::Null,
                                ..node.clone()
                            }
                        }
                    }
                }
                found => {
                    let path = path.join(", ");
                    let message = if found.is_some() {
                        format!("`!reference [{path}]` nests deeper than {MAX_DEPTH} references (a cycle?), which GitLab refuses: left empty")
                    } else if self.includes_not_read {
                        format!("`!reference [{path}]` is not in the files read (an included file not read may hold it): left empty, so what it holds is missing here; write it in Plumb")
                    } else {
                        format!("`!reference [{path}]` points at nothing: left empty")
                    };
                    warnings.push(Warning::at(node.file, node.line, message));
                    Node {
                        kind: Kind::Null,
                        ..node.clone()
                    }
                }
            },
            Kind::Seq(items) => Node {
                kind: Kind::Seq(
                    items
                        .iter()
                        .map(|i| self.resolve(i, warnings, depth))
                        .collect(),
                ),
                ..node.clone()
            },
            Kind::Map(entries) => Node {
                kind: Kind::Map(
                    entries
                        .iter()
                        .map(|e| Entry {
                            value: self.resolve(&e.value, warnings, depth),
                            ..e.clone()
                        })
                        .collect(),
                ),
                ..node.clone()
            },
            _ => node.clone(),
        }
    }
}

fn has_references(node: &Node) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match &n.kind {
            Kind::Reference(_) => return true,
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => stack.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    false
}

/// How many values `!reference` resolution may produce (an exponential fan-out of
/// references to references is cut there, with a warning).
const MAX_RESOLVED_NODES: usize = 2_000_000;
/// How much scalar text the file may hold once `!reference` tags are resolved (the file
/// itself is at most 16 MiB; what references copy on top is cut at twice that, with a
/// warning: a hostile file is refused in seconds and a few hundred MB).
const MAX_RESOLVED_TEXT: usize = 32 << 20;

/// Whether a job's `extends` chain names a template this file does not define (it is
/// in a file that was not read): what it sets (an image, often) is unknown here.
pub fn extends_undefined(root: &Node, parents: &[String]) -> bool {
    !unread_in_chain(root, parents).is_empty()
}

/// The hidden jobs of files not read that a job's `extends` chain names, in GitLab's
/// merge order: `extends: [those]` beside the job's own keys (which hold what the
/// defined ones give) merges as GitLab merged the whole chain, but where one came after
/// a job defined here in that order (whose keys it would override in GitLab, and no
/// longer does): [`UnreadBases::late`].
#[derive(Debug, PartialEq, Eq)]
pub struct UnreadBases {
    pub names: Vec<String>,
    /// (a hidden job not read, the job defined here that GitLab merged before it)
    pub late: Vec<(String, String)>,
}

/// [`UnreadBases`] of a job's `extends`; `None` when there is none, or past GitLab's
/// nesting limit or a budget of merges (a cycle, which GitLab refuses).
pub fn unread_bases(root: &Node, parents: &[String]) -> Option<UnreadBases> {
    // (name, defined here), parents before the job that extends them, each time GitLab
    // merges it (a base named twice is merged twice)
    fn walk(
        root: &Node,
        parents: &[String],
        depth: usize,
        order: &mut Vec<(String, bool)>,
    ) -> Option<()> {
        for p in parents {
            if depth >= GITLAB_EXTENDS_DEPTH || order.len() >= MERGES {
                return None;
            }
            match root.get(p) {
                Some(node) => {
                    walk(root, &extends_of(node), depth + 1, order)?;
                    order.push((p.clone(), true));
                }
                None => order.push((p.clone(), false)),
            }
        }
        Some(())
    }
    const GITLAB_EXTENDS_DEPTH: usize = 11;
    const MERGES: usize = 256;
    let mut order = Vec::new();
    walk(root, parents, 0, &mut order)?;
    let mut out = UnreadBases {
        names: Vec::new(),
        late: Vec::new(),
    };
    let mut last_defined: Option<&str> = None;
    for (name, defined) in &order {
        if *defined {
            last_defined = Some(name);
            continue;
        }
        if !out.names.contains(name) {
            out.names.push(name.clone());
        }
        if let Some(before) = last_defined {
            if !out.late.iter().any(|(n, _)| n == name) {
                out.late.push((name.clone(), before.to_string()));
            }
        }
    }
    (!out.names.is_empty()).then_some(out)
}

/// Whether job `job` or a job of this file its `extends` chain reaches writes `key`
/// (what it has otherwise came from `default:`, or from a file not read).
pub fn chain_writes(root: &Node, job: &Node, key: &str) -> bool {
    let mut stack: Vec<(&Node, usize)> = vec![(job, 0)];
    while let Some((node, depth)) = stack.pop() {
        if node.get(key).is_some() {
            return true;
        }
        if depth < MAX_DEPTH {
            let parents = extends_of(node);
            stack.extend(
                parents
                    .iter()
                    .filter_map(|p| root.get(p))
                    .map(|n| (n, depth + 1)),
            );
        }
    }
    false
}

/// Every name of a job's `extends` chain that is not defined here.
pub fn unread_in_chain(root: &Node, parents: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize)> = parents.iter().map(|n| (n.clone(), 0)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((name, depth)) = stack.pop() {
        if depth > MAX_DEPTH || !seen.insert(name.clone()) {
            continue;
        }
        match root.get(&name) {
            Some(parent) => stack.extend(extends_of(parent).into_iter().map(|n| (n, depth + 1))),
            None => out.push(name),
        }
    }
    out
}

/// The names a job `extends`, in order.
pub fn extends_of(job: &Node) -> Vec<String> {
    job.get("extends").map(Node::strings).unwrap_or_default()
}

/// A job with its `extends` chain merged in (parents first, the job last).
fn extend(
    root: &Jobs,
    name: &str,
    job: &Node,
    memo: &mut HashMap<String, Node>,
    warnings: &mut Vec<Warning>,
    depth: usize,
) -> Node {
    let mut merged = Node::map(Vec::new(), job.line, job.file);
    for parent in extends_of(job) {
        match root.get(&parent) {
            Some(p) if depth < MAX_DEPTH && p.is_map() => {
                let p = match memo.get(&parent) {
                    Some(done) => done.clone(),
                    None => {
                        let done = extend(root, &parent, p, memo, warnings, depth + 1);
                        memo.insert(parent.clone(), done.clone());
                        done
                    }
                };
                merged = deep_merge(&merged, &p);
            }
            Some(_) if depth >= MAX_DEPTH => warnings.push(Warning::at(
                job.file,
                job.line,
                format!("`extends` of `{name}` nests deeper than {MAX_DEPTH} (a cycle?): `{parent}` is not applied"),
            )),
            _ => warnings.push(Warning::missing(
                job.file,
                job.get("extends").map_or(job.line, |n| n.line),
                format!("`{name}` extends `{parent}`, which is not defined here: not applied"),
                (crate::Missing::Extended, &parent, name),
            )),
        }
    }
    let mut own = job.clone();
    if let Kind::Map(entries) = &mut own.kind {
        entries.retain(|e| e.key != "extends");
    }
    // a job that extends nothing is itself (not a copy of a copy)
    merged = if merged.entries().is_empty() {
        own
    } else {
        deep_merge(&merged, &own)
    };
    merged.line = job.line;
    merged.file = job.file;
    merged
}

/// `default:`, with the old global keywords under it, and the keys written under
/// `default:` that it may not set (GitLab refuses the file: no job gets them).
fn defaults(root: &Node) -> (Node, Vec<Entry>) {
    let may_set = |e: &Entry| DEFAULT_KEYS.contains(&e.key.as_str());
    // a top-level `artifacts:` or `tags:` is a job's name, not a default
    let legacy = |e: &&Entry| LEGACY_GLOBAL_KEYS.contains(&e.key.as_str());
    let mut entries: Vec<Entry> = root.entries().iter().filter(legacy).cloned().collect();
    let mut refused = Vec::new();
    if let Some(d) = root.get("default") {
        for e in d.entries() {
            if !may_set(e) {
                refused.push(e.clone());
                continue;
            }
            entries.retain(|x| x.key != e.key);
            entries.push(e.clone());
        }
    }
    let at = root.get("default").unwrap_or(root);
    (Node::map(entries, at.line, at.file), refused)
}

/// What a job inherits of `default:` (`Inherited::Default`: its keywords) or of the
/// top-level `variables:` (their names): all (`None`) unless its `inherit:` says.
pub fn inherited(job: &Node, what: Inherited) -> Option<Vec<String>> {
    let key = match what {
        Inherited::Default => "default",
        Inherited::Variables => "variables",
    };
    let inherit = job.get("inherit")?.get(key)?;
    match inherit.as_bool() {
        Some(true) => None,
        Some(false) => Some(Vec::new()),
        None => Some(inherit.strings()),
    }
}

/// What `inherit:` says a job takes of the file: see [`inherited`].
#[derive(Clone, Copy)]
pub enum Inherited {
    Default,
    Variables,
}

fn apply_default(job: Node, default: &Node) -> Node {
    let allowed = inherited(&job, Inherited::Default);
    let (line, file) = (job.line, job.file);
    let mut entries = match job.kind {
        Kind::Map(entries) => entries,
        _ => Vec::new(),
    };
    // GitLab reads a key set to nothing (`dependencies:`, `image: null`) as one not
    // written: `default:` then sets it
    entries.retain(|e| !e.value.is_null());
    for e in default.entries() {
        let inherited = allowed.as_ref().is_none_or(|keys| keys.contains(&e.key));
        if inherited && !entries.iter().any(|x| x.key == e.key) {
            entries.push(e.clone());
        }
    }
    Node::map(entries, line, file)
}

#[cfg(test)]
mod repeated_key_tests {
    use super::repeated_top_level_keys;

    #[test]
    fn a_key_written_twice_at_the_top_is_found_and_nothing_else() {
        let text = "variables:\n  A: 1\nbuild:\n  script: |\n    variables: x\nvariables: # again\n  B: 2\n\"q\": 1\n\"q\": 2\ntest:unit:\n  script: [a]\ntest:unit: {script: [b]}\n";
        assert_eq!(
            repeated_top_level_keys(text),
            [
                (6, "variables".to_string(), 1),
                (12, "test:unit".to_string(), 10)
            ]
        );
        // each document has its own keys
        assert!(repeated_top_level_keys("spec:\n  inputs: {}\n---\nspec: 1\n").is_empty());
    }
}

#[cfg(test)]
mod unread_bases_tests {
    use super::{unread_bases, yaml};

    /// The hidden jobs of files not read are kept in GitLab's merge order; those it
    /// merges after a job defined here are named, with that job.
    #[test]
    fn unread_bases_are_kept_in_merge_order() {
        let text = ".local: {extends: .far, tags: [a]}\n.plain: {tags: [b]}\n";
        let root = yaml::parse(text, 0).expect("yaml").pop().expect("document");
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let bases = |list: &[&str]| {
            unread_bases(&root, &names(list)).map(|b| {
                let late: Vec<String> = (b.late.iter())
                    .map(|(n, d)| format!("{n} after {d}"))
                    .collect();
                (b.names, late)
            })
        };
        assert_eq!(bases(&[".far"]), Some((names(&[".far"]), vec![])));
        assert_eq!(bases(&[".local"]), Some((names(&[".far"]), vec![])));
        assert_eq!(
            bases(&[".x", ".y", ".plain"]),
            Some((names(&[".x", ".y"]), vec![]))
        );
        // `.far` overrides `.plain`'s keys in GitLab: kept, and said
        assert_eq!(
            bases(&[".plain", ".local"]),
            Some((names(&[".far"]), names(&[".far after .plain"])))
        );
        assert_eq!(
            bases(&[".far", ".plain", ".local"]),
            Some((names(&[".far"]), names(&[".far after .plain"])))
        );
        assert_eq!(bases(&[".plain"]), None);
        let deep: String = (0..12)
            .map(|i| format!(".d{i}: {{extends: .d{}}}\n", i + 1))
            .collect();
        let root = yaml::parse(&deep, 0)
            .expect("yaml")
            .pop()
            .expect("document");
        assert_eq!(
            unread_bases(&root, &names(&[".d0"])),
            None,
            "past GitLab's nesting limit"
        );
    }
}

#[cfg(test)]
mod wildcard_tests {
    use super::wildcard_matches;

    #[test]
    fn stars_stay_in_a_folder_and_double_stars_cross_them() {
        assert!(wildcard_matches("configs/*.yml", "configs/a.yml"));
        assert!(!wildcard_matches("configs/*.yml", "configs/sub/a.yml"));
        assert!(wildcard_matches("configs/**.yml", "configs/sub/a.yml"));
        assert!(wildcard_matches("configs/**/*.yml", "configs/sub/a.yml"));
        assert!(wildcard_matches("configs/**/*.yml", "configs/a.yml"));
        assert!(wildcard_matches("**/*.yml", "a.yml"));
        assert!(wildcard_matches(
            "configs/**/x/*.yml",
            "configs/a/b/x/c.yml"
        ));
        assert!(!wildcard_matches("configs/**/*.yml", "configsa.yml"));
        assert!(!wildcard_matches("configs/*.yml", "configs/a.yaml"));
        assert!(!wildcard_matches("configs/*.yml", "other/a.yml"));
    }
}

/// A key GitLab refuses the file for: one a job has that is not a job keyword (a typo
/// like `scirpt:`), or one `default:` cannot set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedKey {
    /// The file it is written in (as [`Node::file`]) and where.
    pub file: usize,
    pub span: yaml::ByteRange,
    pub key: String,
    /// The keywords it could have meant: a job's, or those `default:` may set.
    pub keywords: &'static [&'static str],
    /// The jobs that have it (in file order; none for `default:`).
    pub jobs: Vec<String>,
    /// The other keys of (the first) mapping that has it: a keyword it may have meant
    /// that is there already is not one to rename it to.
    pub beside: Vec<String>,
}

/// A script line GitLab refuses the file for: a mapping, not a string (an unquoted
/// `: ` turns `- curl -H "Authorization: $T" …` into one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedLine {
    /// The file it is written in (as [`Node::file`]) and where.
    pub file: usize,
    pub span: yaml::ByteRange,
    /// The jobs that run it (in file order).
    pub jobs: Vec<String>,
}

/// What GitLab refuses in a file that holds its whole configuration (an include it
/// could not read may define what this one names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The file it is written in (as [`Node::file`]) and where.
    pub file: usize,
    pub span: yaml::ByteRange,
    /// The job it is about.
    pub job: String,
    pub kind: RefusalKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// `extends` names nothing the file defines.
    UnknownBase(String),
    /// `needs` names no job of the file (and is not `optional: true`); the closest
    /// job's name.
    UnknownNeed(String, Option<String>),
    /// `dependencies` names no job of the file; the closest job's name.
    UnknownDependency(String, Option<String>),
    /// `stage` is none of `stages:` (nor `.pre`, `.post`); the closest stage's name.
    UnknownStage(String, Option<String>),
    /// `extends` comes back to where it started: the names around the cycle.
    ExtendsCycle(Vec<String>),
    /// `extends` nests deeper than GitLab's limit: the chain.
    ExtendsTooDeep(Vec<String>),
    /// Neither `script`, `run` nor `trigger`.
    NothingToRun,
    /// A `script` that is blank: `[]` (once `!reference`s are resolved), `""`, null.
    EmptyScript,
    /// `dependencies` names a job of another file that the job's `needs` does not.
    DependencyNotNeeded(String),
    /// A trigger job's `dependencies` names jobs of other files.
    TriggerDependencies,
}

/// The jobs whose `script:` is blank (`[]`, `""`), which GitLab refuses whatever other
/// files say: the job's own key wins over theirs.
pub fn blank_scripts(config: &Config) -> Vec<Refusal> {
    let mut out = Vec::new();
    for j in &config.jobs {
        let script = j
            .full
            .get("script")
            .filter(|_| j.full.get("trigger").is_none());
        let Some(script) = script.filter(|s| is_blank_script(s) && j.full.get("run").is_none())
        else {
            continue;
        };
        // at the job's own `script:`, not in the hidden job a `!reference` took it from
        let written = config.root.get(&j.name).map(|n| n.span);
        let inside =
            |s: &yaml::ByteRange| written.is_some_and(|w| w.start <= s.start && s.end <= w.end);
        let span = Some(script.span).filter(|s| s.end > s.start && inside(s));
        out.push(Refusal {
            file: j.full.file,
            span: span.unwrap_or(j.key_span),
            job: j.name.clone(),
            kind: RefusalKind::EmptyScript,
        });
    }
    out
}

/// What GitLab refuses in the `dependencies:` of a job naming jobs no file read defines,
/// whatever those are: one its `needs:` does not name (with `needs:`, GitLab downloads
/// artifacts only from the jobs it names), or any on a trigger job. (Names of this file
/// are the checker's: PL1003 there.)
pub fn outside_dependencies_refused(config: &Config) -> Vec<Refusal> {
    let here: HashSet<&str> = config.jobs.iter().map(|j| j.name.as_str()).collect();
    // a matrix instance (`build: [amd64]`) is its job's, and needed with it
    let job_of = |n: &str| n.split_once(": [").map_or(n, |(job, _)| job).to_string();
    let mut out = Vec::new();
    for j in &config.jobs {
        let Some(deps) = j.full.get("dependencies").filter(|d| d.is_seq()) else {
            continue;
        };
        let outside: Vec<&Node> = (deps.flattened().into_iter())
            .filter(|d| {
                d.as_str()
                    .is_some_and(|n| !here.contains(job_of(n).as_str()))
            })
            .collect();
        let refusal = |d: &Node, kind| Refusal {
            file: j.full.file,
            span: Some(d.span)
                .filter(|s| s.end > s.start)
                .unwrap_or(j.key_span),
            job: j.name.clone(),
            kind,
        };
        if let Some(first) = outside.first().filter(|_| j.full.get("trigger").is_some()) {
            out.push(refusal(first, RefusalKind::TriggerDependencies));
            continue;
        }
        let Some(needs) = j.full.get("needs").filter(|n| n.is_seq()) else {
            continue;
        };
        let needed: Vec<&str> = (needs.flattened().into_iter())
            .filter_map(|n| n.as_str().or_else(|| n.get("job").and_then(Node::as_str)))
            .collect();
        for d in outside {
            let name = d.as_str().unwrap_or_default();
            if !needed.contains(&name) && !needed.contains(&job_of(name).as_str()) {
                out.push(refusal(
                    d,
                    RefusalKind::DependencyNotNeeded(name.to_string()),
                ));
            }
        }
    }
    out
}

/// Whether a job's `script:` is blank to GitLab (which wants it present).
fn is_blank_script(script: &Node) -> bool {
    match script.as_str() {
        Some(text) => text.trim().is_empty(),
        // (`[null]`: GitLab wants strings)
        None => {
            script.is_null() || (!script.is_map() && script.flattened().iter().all(|i| i.is_null()))
        }
    }
}

/// The [`Refusal`]s of a configuration that includes nothing it could not read.
pub fn refusals(config: &Config) -> Vec<Refusal> {
    if !config.includes.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = config.jobs.iter().map(|j| j.name.as_str()).collect();
    // a `stages:` of lists or references is not read whole here: no stage is unknown
    let stages_read =
        (config.root.get("stages")).is_none_or(|s| s.items().iter().all(|i| i.as_str().is_some()));
    let mut out = Vec::new();
    // each cycle of `extends` once, however many jobs reach it
    let mut cycles: HashSet<Vec<String>> = HashSet::new();
    let mut jobs_like = Suggestions::new(&names);
    let mut reached: HashSet<String> = HashSet::new();
    for j in &config.jobs {
        let refusal = |span: Option<yaml::ByteRange>, kind| Refusal {
            file: j.full.file,
            span: span.unwrap_or(j.key_span),
            job: j.name.clone(),
            kind,
        };
        let unknown: Vec<&String> = (j.extends.iter())
            .filter(|name| config.root.get(name).is_none())
            .collect();
        for name in &unknown {
            // the job as written (its merged form has no `extends`)
            let written = config.root.get(&j.name).and_then(|n| n.get("extends"));
            let span = scalar_span(written, name);
            out.push(refusal(span, RefusalKind::UnknownBase(name.to_string())));
        }
        for (span, name) in unknown_bases_below(&config.root, &j.extends) {
            out.push(refusal(Some(span), RefusalKind::UnknownBase(name)));
        }
        reached.extend(templates_below(&config.root, &j.extends));
        if let Some(kind) = extends_problem(&config.root, &j.name, &mut cycles) {
            let written = config.root.get(&j.name).and_then(|n| n.get("extends"));
            let (RefusalKind::ExtendsCycle(path) | RefusalKind::ExtendsTooDeep(path)) = &kind
            else {
                continue;
            };
            let span = path.get(1).and_then(|first| scalar_span(written, first));
            out.push(refusal(span, kind));
        }
        for (name, span) in unknown_needs(&j.full, &names) {
            let closest = jobs_like.closest(&name);
            out.push(refusal(Some(span), RefusalKind::UnknownNeed(name, closest)));
        }
        for (name, span) in unknown_dependencies(&j.full, &names) {
            let closest = jobs_like.closest(&name);
            out.push(refusal(
                Some(span),
                RefusalKind::UnknownDependency(name, closest),
            ));
        }
        let stage = unknown_stage(&j.full, &config.stages).filter(|_| stages_read);
        if let Some((stage, span)) = stage {
            let stages = config.stages.iter().map(String::as_str);
            let closest = plumb_diagnostics::closest(&stage, stages).map(str::to_string);
            out.push(refusal(
                Some(span),
                RefusalKind::UnknownStage(stage, closest),
            ));
        }
        let runs = ["script", "run", "trigger"]
            .iter()
            .any(|k| j.full.get(k).is_some());
        if !runs && unknown.is_empty() {
            out.push(refusal(None, RefusalKind::NothingToRun));
        }
    }
    out.extend(unused_templates_unknown_bases(config, &reached));
    out
}

/// GitLab applies `extends` to every key, hidden ones no job uses too: such a hidden
/// job naming a base no file defines (`.unused: {extends: .ghost}`) is refused as well.
fn unused_templates_unknown_bases(config: &Config, reached: &HashSet<String>) -> Vec<Refusal> {
    let unused = (config.root.entries().iter())
        .filter(|e| e.key.starts_with('.') && !reached.contains(&e.key))
        .map(|e| e.key.clone())
        .collect::<Vec<_>>();
    let mut out = Vec::new();
    for name in unused {
        for (span, base) in unknown_bases_below(&config.root, std::slice::from_ref(&name)) {
            out.push(Refusal {
                file: config.root.get(&name).map_or(0, |n| n.file),
                span,
                job: name.clone(),
                kind: RefusalKind::UnknownBase(base),
            });
        }
    }
    out
}

/// The hidden jobs (and jobs) that `extends` reaches, each once, in the order met.
fn templates_below(root: &Node, extends: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    let mut todo: Vec<String> = extends.to_vec();
    while let Some(name) = todo.pop() {
        let Some(template) = root.get(&name).filter(|_| known.insert(name.clone())) else {
            continue;
        };
        todo.extend(extends_of(template));
        seen.push(name);
    }
    seen
}

/// The bases that the templates a job extends (and theirs) name but the file does not
/// define (`.base: {extends: .missing}`): where each is written, and its name. GitLab
/// refuses the file for them as for the job's own.
fn unknown_bases_below(root: &Node, extends: &[String]) -> Vec<(yaml::ByteRange, String)> {
    let mut out = Vec::new();
    for name in templates_below(root, extends) {
        let Some(template) = root.get(&name) else {
            continue;
        };
        let written = template.get("extends");
        for base in extends_of(template)
            .into_iter()
            .filter(|b| root.get(b).is_none())
        {
            let span = scalar_span(written, &base).unwrap_or(template.span);
            out.push((span, base));
        }
    }
    out
}

/// Where the scalar `text` is in `node` (a scalar or a list of them).
fn scalar_span(node: Option<&Node>, text: &str) -> Option<yaml::ByteRange> {
    let node = node?;
    let mut all = vec![node];
    all.extend(node.items());
    all.into_iter()
        .find(|n| n.as_str() == Some(text) && n.span.end > n.span.start)
        .map(|n| n.span)
}

/// The jobs a job's `needs` names that are not among `names`: plain names and `job:`
/// entries, not `optional: true` ones, nor needs of other pipelines or projects.
fn unknown_needs(job: &Node, names: &[&str]) -> Vec<(String, yaml::ByteRange)> {
    let Some(needs) = job.get("needs") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in needs.items() {
        let other_pipeline = item.get("pipeline").is_some() || item.get("project").is_some();
        let optional = item.get("optional").and_then(Node::as_bool) == Some(true);
        let name = if item.is_map() {
            item.get("job")
        } else {
            Some(item)
        };
        let Some(name) = name.filter(|_| !other_pipeline && !optional) else {
            continue;
        };
        match name.as_str() {
            Some(n) if !names_a_job(names, n) && name.span.end > name.span.start => {
                out.push((n.to_string(), name.span))
            }
            _ => {}
        }
    }
    out
}

/// How many levels of `extends` GitLab follows ("up to 11 levels deep"): a deeper
/// chain, a cycle among them, is refused.
const MAX_EXTENDS_LEVELS: usize = 11;

/// What GitLab refuses in job `start`'s `extends`: a path that comes back to a name on
/// it (`[job, .a, .b, .a]`), each cycle once (`cycles` holds those said), or a chain
/// deeper than [`MAX_EXTENDS_LEVELS`].
fn extends_problem(
    root: &Node,
    start: &str,
    cycles: &mut HashSet<Vec<String>>,
) -> Option<RefusalKind> {
    fn walk(root: &Node, path: &mut Vec<String>, seen: &mut HashMap<String, usize>) -> bool {
        let Some(last) = path.last().and_then(|n| root.get(n)) else {
            return false;
        };
        for parent in extends_of(last) {
            if path.contains(&parent) || path.len() > MAX_EXTENDS_LEVELS {
                path.push(parent);
                return true;
            }
            // a name explored without a problem from as deep or deeper has none below it
            // (met deeper than before, the levels under it may pass GitLab's limit)
            match seen.get(&parent) {
                Some(&at) if at >= path.len() => continue,
                _ => seen.insert(parent.clone(), path.len()),
            };
            path.push(parent);
            if walk(root, path, seen) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_string()];
    if !walk(root, &mut path, &mut HashMap::new()) {
        return None;
    }
    let last = path.last()?;
    let Some(back) = path
        .iter()
        .position(|n| n == last)
        .filter(|&b| b + 1 < path.len())
    else {
        // once per chain: a job that goes too deep through a name of one said is not
        // said again (a ring of a hundred jobs is one finding)
        let keys: Vec<Vec<String>> = (path.iter().skip(1))
            .map(|n| vec!["\0deep".to_string(), n.clone()])
            .collect();
        let said = keys.iter().any(|k| cycles.contains(k));
        cycles.extend(keys);
        return (!said).then_some(RefusalKind::ExtendsTooDeep(path));
    };
    // the cycle alone, from the first place of the name it comes back to
    let mut cycle = path[back..].to_vec();
    cycle.sort();
    cycle.dedup();
    cycles
        .insert(cycle)
        .then_some(RefusalKind::ExtendsCycle(path))
}

/// The closest job name to a name that is none, each found once (ten thousand jobs
/// naming one missing job are not ten thousand searches), and not looked for among
/// more than [`MAX_SUGGESTED`] names (the search is linear in them).
struct Suggestions<'n> {
    names: &'n [&'n str],
    found: HashMap<String, Option<String>>,
}

const MAX_SUGGESTED: usize = 500;

impl<'n> Suggestions<'n> {
    fn new(names: &'n [&'n str]) -> Self {
        Suggestions {
            names,
            found: HashMap::new(),
        }
    }

    fn closest(&mut self, name: &str) -> Option<String> {
        if self.names.len() > MAX_SUGGESTED {
            return None;
        }
        let names = self.names;
        (self.found.entry(name.to_string()))
            .or_insert_with(|| {
                plumb_diagnostics::closest(name, names.iter().copied()).map(str::to_string)
            })
            .clone()
    }
}

/// The jobs a job's `dependencies` names that are not among `names`.
fn unknown_dependencies(job: &Node, names: &[&str]) -> Vec<(String, yaml::ByteRange)> {
    let Some(dependencies) = job.get("dependencies") else {
        return Vec::new();
    };
    (dependencies.items().iter())
        .filter(|item| item.span.end > item.span.start)
        .filter_map(|item| Some((item.as_str()?, item.span)))
        .filter(|(name, _)| !names_a_job(names, name))
        .map(|(name, span)| (name.to_string(), span))
        .collect()
}

/// A job's `stage:` when `stages:` does not list it (GitLab's `.pre` and `.post` are
/// always there); a stage from a component's input (`$[[ … ]]`) is not known here.
fn unknown_stage(job: &Node, stages: &[String]) -> Option<(String, yaml::ByteRange)> {
    let node = job.get("stage")?;
    let stage = node.as_str()?;
    let listed = stages.iter().any(|s| s == stage) || matches!(stage, ".pre" | ".post");
    let from_input = stage.contains("$[[");
    (!listed && !from_input && node.span.end > node.span.start)
        .then(|| (stage.to_string(), node.span))
}

/// Whether a need (or dependency) names a job: by its name (`unit 1/2` may be a job's
/// own name, as older pipelines split by hand), or as an instance of it.
fn names_a_job(names: &[&str], need: &str) -> bool {
    names.contains(&need) || names.contains(&instance_of(need))
}

/// The job a need names: `build: [linux, amd64]` is an instance of matrix job `build`,
/// `test 2/3` one of `parallel: 3` job `test` (GitLab expands both).
fn instance_of(need: &str) -> &str {
    if let Some((job, _)) = need.split_once(": [").filter(|_| need.ends_with(']')) {
        return job;
    }
    match need.rsplit_once(' ') {
        Some((job, n))
            if n.split_once('/').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
            }) =>
        {
            job
        }
        _ => need,
    }
}

/// The script lines of `config`'s jobs that are mappings, each once however many jobs
/// get it (from `default:`, an anchor or `extends`).
pub fn mapping_script_lines(config: &Config) -> Vec<RefusedLine> {
    let mut out: Vec<RefusedLine> = Vec::new();
    let mut seen: HashMap<(usize, u32), usize> = HashMap::new();
    // `default:` is checked as written (a job that sets its own scripts does not save
    // the file), under no job's name
    let default = (std::iter::once((None, &config.default)))
        .chain(config.jobs.iter().map(|j| (Some(&j.name), &j.full)));
    for (job, node) in default {
        let scripts = ["before_script", "script", "after_script"]
            .iter()
            .filter_map(|k| node.get(k));
        for line in scripts.flat_map(Node::flattened).filter(|n| n.is_map()) {
            let i = *seen.entry((line.file, line.span.start)).or_insert_with(|| {
                out.push(RefusedLine {
                    file: line.file,
                    span: mapping_text(line),
                    jobs: Vec::new(),
                });
                out.len() - 1
            });
            // jobs come in order: a job seen for this line is the last one named
            if let Some(job) = job.filter(|&j| out[i].jobs.last() != Some(j)) {
                out[i].jobs.push(job.clone());
            }
        }
    }
    out
}

/// A mapping's text from its first key to the end of its last value (the parser's span
/// runs on over the comments and blank lines after it).
fn mapping_text(map: &Node) -> yaml::ByteRange {
    let end = (map.entries().iter())
        .map(|e| e.key_span.end.max(e.value.span.end))
        .max()
        .unwrap_or(map.span.end);
    yaml::ByteRange {
        start: map.span.start,
        end: end.max(map.span.start),
    }
}

/// The keys of `config` GitLab refuses, each once however many jobs get it (a hidden
/// job's through `extends`). Hidden jobs no job extends are not GitLab's to check.
pub fn refused_keys(config: &Config) -> Vec<RefusedKey> {
    let mut out: Vec<RefusedKey> = config
        .default_refused
        .iter()
        .map(|e| RefusedKey {
            file: e.value.file,
            span: e.key_span,
            key: e.key.clone(),
            keywords: DEFAULT_KEYS,
            jobs: Vec::new(),
            beside: config
                .default
                .entries()
                .iter()
                .map(|e| e.key.clone())
                .collect(),
        })
        .collect();
    let mut seen: HashMap<(usize, u32), usize> = HashMap::new();
    for job in &config.jobs {
        for e in job.full.entries() {
            if JOB_KEYWORDS.contains(&e.key.as_str()) {
                continue;
            }
            let at = (e.value.file, e.key_span.start);
            let i = *seen.entry(at).or_insert_with(|| {
                out.push(RefusedKey {
                    file: e.value.file,
                    span: e.key_span,
                    key: e.key.clone(),
                    keywords: JOB_KEYWORDS,
                    jobs: Vec::new(),
                    beside: job.full.entries().iter().map(|e| e.key.clone()).collect(),
                });
                out.len() - 1
            });
            // jobs come in order: a job seen for this key is the last one named
            if out[i].jobs.last() != Some(&job.name) {
                out[i].jobs.push(job.name.clone());
            }
        }
    }
    out
}
