//! `plumb import`: a GitLab CI file read as GitLab reads it, written as Plumb.
//!
//! Layers: [`yaml`] reads YAML 1.1 (anchors, merge keys, `!reference`); [`gitlab`]
//! applies `include: local`, `!reference`, `extends` and `default:`; [`convert`] turns
//! one job into Plumb fields (with [`cond`] for rules); [`emit`] writes the program.
//! Nothing here knows the checker: the CLI checks what it wrote.

pub mod comments;
pub mod compose;
pub mod cond;
pub mod convert;
pub mod emit;
pub mod gitlab;
pub mod include;
pub mod inputs;
pub mod literal;
pub mod names;
pub mod origins;
pub mod value;
pub mod yaml;

/// What the unit tests import with: a file that includes nothing readable.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;

    pub(crate) struct NoFiles;
    impl crate::Files for NoFiles {
        fn read(&self, _: &Path) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    /// Files by their path under the repository root `/repo`: (path, text).
    pub(crate) struct SomeFiles(pub Vec<(String, String)>);
    impl SomeFiles {
        pub(crate) fn of(files: &[(&str, &str)]) -> Self {
            SomeFiles(
                files
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
            )
        }
    }
    impl crate::Files for SomeFiles {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            let wanted = path.strip_prefix("/repo").unwrap_or(path);
            (self.0.iter())
                .find(|(p, _)| Path::new(p) == wanted)
                .map(|(_, text)| text.clone())
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
        fn repository_root(&self) -> Option<&Path> {
            Some(Path::new("/repo"))
        }
    }

    /// The program `plumb import` writes for a `.gitlab-ci.yml` of this text.
    pub(crate) fn imported(yaml: &str) -> String {
        crate::import(Path::new(".gitlab-ci.yml"), yaml, &NoFiles)
            .map(|i| i.plumb)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

pub use gitlab::Files;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Something of the GitLab file that the import could not carry as it was.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Warning {
    /// Index into [`Imported::sources`] (0: the imported file).
    pub file: usize,
    pub line: usize,
    /// What is printed: the cause, after the jobs or templates it is about.
    pub message: String,
    /// The cause alone, and what it is about (`job `a``), when it is about a job, a
    /// template or the pipeline: warnings of one place and cause are merged on these.
    cause: Option<(String, String)>,
    /// A name that is missing here, and the job whose YAML names it: the warnings of one
    /// missing name are merged, at the first place (see [`Missing`]).
    missing: Option<(Missing, String, String)>,
    /// What the warning about a missing name adds to the merged one too.
    missing_detail: String,
}

/// What a YAML names that the file does not define (it is in a file not read): one
/// warning per name, whatever the number of jobs naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Missing {
    /// A hidden job (or job) that `extends` names.
    Extended,
    /// One that every job naming it keeps in `gitlab = { extends = … }`.
    ExtendedKept,
    /// A job of this file, not imported, that `needs` names.
    Needed,
}

impl Missing {
    /// The one warning for several jobs, `jobs` their names as a list.
    fn merged(self, name: &str, jobs: &str) -> String {
        match self {
            Missing::Extended => format!(
                "`{name}` is not defined here (a file not read?): not applied to the jobs that extend it, {jobs}"
            ),
            Missing::ExtendedKept => format!(
                "`{name}` is not defined here (a file not read?): kept in the `gitlab = {{ extends = … }}` of the jobs whose `extends` reach it ({jobs}); GitLab merges it into them from that file, where no check sees what it gives"
            ),
            Missing::Needed => format!(
                "`{name}` is not imported: the needs of {jobs} on it are dropped (they no longer wait for it or get its artifacts)"
            ),
        }
    }
}

impl Warning {
    pub fn at(file: usize, line: usize, message: impl Into<String>) -> Self {
        Warning {
            file,
            line,
            message: message.into(),
            cause: None,
            missing: None,
            missing_detail: String::new(),
        }
    }
    /// A warning about `name`, which `job` names and the file does not define: merged
    /// with the others about `name` (see [`Missing`]).
    pub fn missing(file: usize, line: usize, message: String, what: (Missing, &str, &str)) -> Self {
        let (kind, name, job) = what;
        Warning {
            missing: Some((kind, name.to_string(), job.to_string())),
            ..Warning::at(file, line, message)
        }
    }
    /// Adds `detail` to a warning about a missing name, merged or not.
    pub(crate) fn add_missing_detail(&mut self, detail: String) {
        self.message.push_str(&detail);
        self.missing_detail = detail;
    }
    /// A warning about `subject` (`job `a``, `the pipeline`).
    pub fn about(file: usize, line: usize, subject: &str, cause: &str) -> Self {
        Warning {
            file,
            line,
            message: format!("{subject}: {cause}"),
            cause: Some((cause.to_string(), subject.to_string())),
            missing: None,
            missing_detail: String::new(),
        }
    }
}

/// One warning per YAML place and cause: a template's note reached by many jobs that
/// extend it (or a `default:` they all get) is one warning naming the first jobs and
/// counting the others; an identical warning reached twice is kept once.
fn one_per_place_and_cause(warnings: Vec<Warning>) -> Vec<Warning> {
    let warnings = one_per_missing_name(warnings);
    const NAMED: usize = 3;
    let mut out: Vec<Warning> = Vec::with_capacity(warnings.len());
    let mut groups: std::collections::HashMap<(usize, usize, String), (usize, Vec<String>)> =
        std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for w in warnings {
        let Some((cause, subject)) = w.cause.clone() else {
            if seen.insert(w.clone()) {
                out.push(w);
            }
            continue;
        };
        let key = (w.file, w.line, cause);
        match groups.get_mut(&key) {
            Some((_, subjects)) if !subjects.contains(&subject) => subjects.push(subject),
            Some(_) => {}
            None => {
                groups.insert(key, (out.len(), vec![subject]));
                out.push(w);
            }
        }
    }
    for ((_, _, cause), (i, subjects)) in groups {
        if subjects.len() > 1 {
            out[i].message = format!("{}: {cause}", first_and_count(&subjects, NAMED));
        }
    }
    out
}

/// The first `shown` items, then how many more: "`a`, `b`, `c` and 4 more" (all of
/// them when there are no more than that), for messages that name what they are about.
pub(crate) fn first_and_count(items: &[String], shown: usize) -> String {
    let named = items[..shown.min(items.len())].join(", ");
    match items.len().saturating_sub(shown) {
        0 => named,
        more => format!("{named} and {more} more"),
    }
}

/// One warning per name a file does not define, at the first place that names it,
/// naming the first jobs and counting the others.
fn one_per_missing_name(warnings: Vec<Warning>) -> Vec<Warning> {
    const NAMED: usize = 3;
    let mut out: Vec<Warning> = Vec::with_capacity(warnings.len());
    let mut groups: std::collections::HashMap<(Missing, String), (usize, Vec<String>)> =
        std::collections::HashMap::new();
    for w in warnings {
        let Some((kind, name, job)) = w.missing.clone() else {
            out.push(w);
            continue;
        };
        match groups.get_mut(&(kind, name.clone())) {
            Some((_, jobs)) if !jobs.contains(&job) => jobs.push(job),
            Some(_) => {}
            None => {
                groups.insert((kind, name), (out.len(), vec![job]));
                out.push(w);
            }
        }
    }
    for ((kind, name), (i, jobs)) in groups {
        if jobs.len() > 1 {
            let named: Vec<String> = jobs.iter().map(|j| format!("`{j}`")).collect();
            let detail = &out[i].missing_detail;
            out[i].message = kind.merged(&name, &first_and_count(&named, NAMED)) + detail;
            out[i].missing = None;
        }
    }
    out
}

/// The result of an import.
pub struct Imported {
    /// The Plumb program, formatted.
    pub plumb: String,
    pub warnings: Vec<Warning>,
    /// The files read: the imported one first, then its local includes.
    pub sources: Vec<PathBuf>,
    /// How many GitLab jobs became Plumb jobs, and how many were left out.
    pub jobs_imported: usize,
    pub jobs_left_out: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Imports the GitLab CI file at `path` whose text is `text`; included files are read
/// through `files`.
pub fn import(path: &Path, text: &str, files: &dyn Files) -> Result<Imported, ImportError> {
    let mut warnings = Vec::new();
    let config = gitlab::load(path, text, files, &mut warnings).map_err(|e| ImportError {
        line: e.line,
        message: e.message,
    })?;
    let found = comments::Found::read(&config);
    let inside = comments::Inside::of(&found, &config);
    let program = emit::program(&config, path, false, Some(&inside), &mut warnings);
    // the whole configuration (another file may be a fragment of one): what GitLab
    // refuses it for is imported as written, and said
    if path.file_name().is_some_and(|n| n == ".gitlab-ci.yml") {
        warnings.extend(unknown_jobs_warning(&config, &gitlab::refusals(&config)));
    }
    let not_read = |_| ImportError {
        line: 0,
        message: "internal error: the generated Plumb does not parse (please report this file)"
            .to_string(),
    };
    let plumb = plumb_fmt::format(&program.text).map_err(not_read)?;
    // scripts of several lines read as they were written: one line each
    let plumb = plumb_fmt::format(&literal::with_block_strings(&plumb)).map_err(not_read)?;
    let plumb = with_comments(plumb, &config, found, &program.quoted, &mut warnings);
    warnings.sort_by_key(|w| (w.file, w.line));
    let warnings = one_per_place_and_cause(warnings);
    Ok(Imported {
        plumb,
        warnings,
        sources: config.sources.into_iter().map(|(p, _)| p).collect(),
        jobs_imported: program.jobs_imported,
        jobs_left_out: program.jobs_left_out,
    })
}

/// One warning for the needs and dependencies on jobs no file read defines, which the
/// import carries as written (in `gitlab = { … }`, where no check looks): GitLab
/// refuses the file if it is the whole configuration, and they are another file's jobs
/// if it is part of a larger one. At the first of them; the rest (an unknown base or
/// stage, nothing to run) is warned where the import reads it.
fn unknown_jobs_warning(config: &gitlab::Config, refused: &[gitlab::Refusal]) -> Option<Warning> {
    use gitlab::RefusalKind as K;
    let mut names: Vec<String> = Vec::new();
    let mut first = None;
    for r in refused {
        let (K::UnknownNeed(name, _) | K::UnknownDependency(name, _)) = &r.kind else {
            continue;
        };
        first.get_or_insert(r);
        if !names.iter().any(|n| n.trim_matches('`') == name) {
            names.push(format!("`{name}`"));
        }
    }
    let r = first?;
    let line = (config.sources.get(r.file)).map_or(0, |(_, text)| {
        comments::line_starts(text).partition_point(|&s| s <= r.span.start as usize)
    });
    Some(Warning::at(
        r.file,
        line,
        format!(
            "`needs` or `dependencies` name jobs no file read defines ({}): as the whole configuration GitLab refuses this file (`plumb check .gitlab-ci.yml` reports each), as part of a larger one they are its jobs; kept as written in `gitlab = {{ … }}`",
            first_and_count(&names, 3)
        ),
    ))
}

/// The program with the YAML's comments ([`comments`]), formatted; as it was, with a
/// warning, when they cannot be carried.
fn with_comments(
    plumb: String,
    config: &gitlab::Config,
    found: comments::Found,
    quoted: &[(usize, usize, usize)],
    warnings: &mut Vec<Warning>,
) -> String {
    let names = emit::file_names(config);
    let Some(carried) = comments::carry(&plumb, config, found, &names, quoted) else {
        return plumb;
    };
    for &(file, line) in &carried.allowances {
        warnings.push(Warning::at(
            file,
            line,
            "this `# plumb-allow:` is carried as text, not as an allowance: it was about a YAML line; write it again above the Plumb line it is for",
        ));
    }
    match carried.text.as_deref().map(plumb_fmt::format) {
        Some(Ok(formatted)) => formatted,
        _ => {
            // never seen: the guard against a comment that would change the program
            warnings.push(Warning::at(
                0,
                1,
                format!(
                    "the YAML's {} comments are not carried: the program with them would not read as the program without them (please report this file)",
                    carried.count
                ),
            ));
            plumb
        }
    }
}

/// A GitLab CI file read for a check: the program the checker reads (not formatted:
/// nobody sees it), and where its parts are in the YAML.
pub struct ForCheck {
    pub plumb: String,
    pub origins: origins::OriginMap,
    /// Names the program gives differently from the YAML: (program, YAML).
    pub renames: Vec<(String, String)>,
    /// The files read, with their text: the checked one first, then its local includes.
    pub sources: Vec<(PathBuf, String)>,
    pub warnings: Vec<Warning>,
    /// Keys GitLab refuses the file for (a job's key that is no job keyword).
    pub refused: Vec<gitlab::RefusedKey>,
    /// Script lines GitLab refuses the file for (a mapping, not a command).
    pub refused_lines: Vec<gitlab::RefusedLine>,
    /// What GitLab refuses in a file that is a whole configuration (`.gitlab-ci.yml`
    /// that includes nothing unread): a base or a need defined nowhere, a job with
    /// nothing to run.
    pub refusals: Vec<gitlab::Refusal>,
    /// The local files that trigger jobs run as child pipelines (`trigger: include:
    /// local`), from the repository's root: each is a pipeline of its own, to check.
    pub children: Vec<PathBuf>,
}

/// Reads the GitLab CI file at `path` (text `text`) as [`import`] does, for a check.
pub fn import_for_check(
    path: &Path,
    text: &str,
    files: &dyn Files,
) -> Result<ForCheck, ImportError> {
    let mut warnings = Vec::new();
    let mut config = gitlab::load(path, text, files, &mut warnings).map_err(|e| ImportError {
        line: e.line,
        message: e.message,
    })?;
    // the markers are characters no YAML file needs; one that has them (by accident or
    // to confuse the map) is checked without positions rather than with wrong ones
    let markers = [value::OPEN, value::SEP, value::CLOSE];
    let framed = !config.sources.iter().any(|(_, t)| t.contains(markers));
    let program = emit::program(&config, path, framed, None, &mut warnings);
    let refused = gitlab::refused_keys(&config);
    let refused_lines = gitlab::mapping_script_lines(&config);
    // another file (`include: local` of a pipeline, a child pipeline's) is a fragment
    let whole = path.file_name().is_some_and(|n| n == ".gitlab-ci.yml");
    let mut refusals = if whole {
        gitlab::refusals(&config)
    } else {
        Vec::new()
    };
    refusals.extend(gitlab::blank_scripts(&config));
    refusals.extend(gitlab::outside_dependencies_refused(&config));
    // unframed, the text holds the file's own private-use characters: nothing to strip
    let (plumb, origins, framed_text) = if framed {
        let (plumb, origins) = origins::strip(&program.text);
        (plumb, origins, program.text)
    } else {
        (program.text, origins::OriginMap::default(), String::new())
    };
    let children = gitlab::child_pipelines(&config, files);
    let sources = std::mem::take(&mut config.sources);
    if text.len() >= 256 * 1024 {
        drop_elsewhere((config, framed_text));
    }
    Ok(ForCheck {
        plumb,
        origins,
        renames: program.renames,
        sources,
        warnings,
        refused,
        refused_lines,
        refusals,
        children,
    })
}

/// Frees a large value on a thread of its own: the YAML tree of a file of thousands of
/// jobs takes milliseconds to free that a check need not wait for (a process that exits
/// first loses nothing).
fn drop_elsewhere<T: Send + 'static>(value: T) {
    // when no thread starts, the value is dropped here, with the refused closure
    let _ = std::thread::Builder::new()
        .stack_size(LARGE_STACK)
        .spawn(move || drop(value));
}

/// The stack of the importer's threads: deeply nested YAML (aliases of aliases) is read,
/// converted and freed by recursion (reserved, not committed: only what is used is).
pub(crate) const LARGE_STACK: usize = 256 * 1024 * 1024;

/// Reads included files from the disk; `local` includes from `root` (the repository's
/// root), else from the imported file's folder.
#[derive(Default)]
pub struct Disk {
    pub root: Option<PathBuf>,
    /// Each wildcard's files, listed once (files that include the same wildcard would
    /// walk the repository again each).
    listed: std::sync::Mutex<HashMap<(PathBuf, String), Listing>>,
}

/// The files a wildcard matches (`None`: too many to list).
type Listing = Option<Vec<PathBuf>>;

impl Disk {
    /// Where a GitLab CI file's `include: local` files are read from: `root`, else the
    /// repository the file is in (the nearest folder above it holding `.git`), else the
    /// file's folder. There is always a root, so an included file's links cannot lead
    /// out of it.
    pub fn for_file(file: &Path, root: Option<&Path>) -> Disk {
        let fallback = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let repository = || {
            let absolute = std::path::absolute(file).ok()?;
            absolute
                .ancestors()
                .skip(1)
                .find(|dir| dir.join(".git").exists())
                .map(Path::to_path_buf)
        };
        Disk {
            root: Some(
                root.map(Path::to_path_buf)
                    .or_else(repository)
                    .unwrap_or(fallback),
            ),
            listed: Default::default(),
        }
    }
}

impl Files for Disk {
    fn repository_root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    fn matching(&self, root: &Path, pattern: &str) -> Option<Vec<PathBuf>> {
        let key = (root.to_path_buf(), pattern.to_string());
        let mut listed = self.listed.lock().unwrap_or_else(|e| e.into_inner());
        listed
            .entry(key)
            .or_insert_with(|| list_matching(root, pattern))
            .clone()
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        // GitLab reads included files from the repository: a link out of it is not one
        if let Some(root) = &self.root {
            let (real, root) = (std::fs::canonicalize(path)?, std::fs::canonicalize(root)?);
            if !real.starts_with(&root) {
                return Err(std::io::Error::other("it leads out of the repository"));
            }
        }
        let meta = std::fs::metadata(path)?;
        // a FIFO or a device would block the read, or never end
        if !meta.is_file() {
            return Err(std::io::Error::other("it is not a regular file"));
        }
        const LIMIT: u64 = 16 * 1024 * 1024;
        let too_large = || std::io::Error::other("larger than 16 MiB");
        if meta.len() > LIMIT {
            return Err(too_large());
        }
        // a file of `/proc` says it is empty and never ends (`/proc/self/pagemap`)
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::fs::File::open(path)?, LIMIT + 1),
            &mut text,
        )?;
        if text.len() as u64 > LIMIT {
            return Err(too_large());
        }
        Ok(text)
    }
}

/// The files below `root` matching a wildcard, walked (a bounded number of folder
/// entries, 16 folders deep).
fn list_matching(root: &Path, pattern: &str) -> Option<Vec<PathBuf>> {
    // a pattern of many stars would cost its matcher more than it is worth
    if pattern.matches('*').count() > 6 || pattern.contains("..") {
        return None;
    }
    let fixed = pattern[..pattern.find('*')?]
        .rfind('/')
        .map_or("", |i| &pattern[..i]);
    let mut found = Vec::new();
    let mut budget = 20_000usize; // folder entries looked at
    let mut stack = vec![(root.join(fixed), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            budget = budget.checked_sub(1)?;
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            // links are not followed into folders; a linked file is read through
            // `read`, which refuses one that leads out of the repository
            if kind.is_dir() && depth < 16 {
                stack.push((path, depth + 1));
            } else if !kind.is_dir() {
                let Ok(relative) = path.strip_prefix(root) else {
                    continue;
                };
                let relative = relative.to_string_lossy().replace('\\', "/");
                if gitlab::wildcard_matches(pattern, &relative) {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    Some(found)
}

#[cfg(test)]
mod warning_tests {
    use super::*;

    #[test]
    fn warnings_of_one_place_and_cause_are_one() {
        let cause = "`cache: key: files` is not carried";
        let warnings = vec![
            Warning::about(0, 7, "job `a`", cause),
            Warning::about(0, 7, "job `b`", cause),
            Warning::about(0, 7, "job `c`", cause),
            Warning::about(0, 7, "job `d`", cause),
            Warning::about(0, 7, "job `e`", cause),
            Warning::about(0, 9, "job `a`", cause),
            Warning::at(0, 12, "stage `x` is added last"),
            Warning::at(0, 12, "stage `x` is added last"),
        ];
        let merged = one_per_place_and_cause(warnings);
        let messages: Vec<(usize, &str)> = merged
            .iter()
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    7,
                    "job `a`, job `b`, job `c` and 2 more: `cache: key: files` is not carried"
                ),
                (9, "job `a`: `cache: key: files` is not carried"),
                (12, "stage `x` is added last"),
            ]
        );
    }

    /// Only what GitLab could merge is kept in `gitlab = { extends }` (else the program
    /// would not check): hidden-job names, on jobs that are not triggers; a job whose
    /// stage may be in what it keeps says it is put in `test`.
    #[test]
    fn only_names_of_hidden_jobs_are_kept_and_a_stage_unknown_is_said() {
        let yaml = "a:\n  extends: far\n  script: [make]\n\
                    b:\n  extends: \".x y\"\n  script: [make]\n\
                    c:\n  extends: .far\n  trigger: {project: g/p}\n\
                    d:\n  extends: .deploy\n";
        let i = import(
            Path::new("jobs.gitlab-ci.yml"),
            yaml,
            &test_support::NoFiles,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let kept: Vec<&str> = (i.plumb.lines())
            .filter(|l| l.contains("extends = "))
            .map(str::trim)
            .collect();
        assert_eq!(
            kept,
            ["job d { gitlab = { extends = [\".deploy\"] } }  # jobs.gitlab-ci.yml:10"],
            "{}",
            i.plumb
        );
        assert!(
            (i.warnings.iter()).any(|w| w.line == 10
                && w.message == "job `d`: its stage may be in `.deploy`, not read: it is put in `test` (GitLab's default), which the compiled job writes over that one; move it to its stage"),
            "{:#?}",
            i.warnings
        );
    }

    /// A need on a job no file read defines is kept for GitLab (`gitlab = { needs }`
    /// beside `needs = []`), from a hidden job too, and makes the file a fragment whose
    /// `workflow:` is the including file's; a kept job's `before_script: []` stays.
    #[test]
    fn needs_on_jobs_of_other_files_are_kept() {
        let yaml = ".base:\n  image: alpine:3.20\n  needs: [elsewhere, {pipeline: $P, job: gen}]\n\
                    c1:\n  extends: .base\n  script: [make]\n\
                    k:\n  extends: .far\n  before_script: []\n  script: [make]\n";
        let i = import(
            Path::new("jobs.gitlab-ci.yml"),
            yaml,
            &test_support::NoFiles,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let squeezed: String = i.plumb.split_whitespace().collect();
        assert!(squeezed.contains("needs=[]"), "{}", i.plumb);
        assert!(
            squeezed.contains("gitlab={needs=[{\"pipeline\"=\"$P\",job=\"gen\"},\"elsewhere\"]}"),
            "{}",
            i.plumb
        );
        assert!(!squeezed.contains("on="), "{}", i.plumb);
        assert!(squeezed.contains("before_run=[]"), "{}", i.plumb);
    }

    #[test]
    fn a_need_on_no_job_of_the_whole_configuration_is_said() {
        let yaml = ".deploy:\n  needs: [biuld]\n  script: [./deploy]\n\
                    a:\n  extends: .deploy\nb:\n  extends: .deploy\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        let messages: Vec<(usize, &str)> = (i.warnings.iter())
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        let said = "`needs` or `dependencies` name jobs no file read defines (`biuld`): as the whole configuration GitLab refuses this file (`plumb check .gitlab-ci.yml` reports each), as part of a larger one they are its jobs; kept as written in `gitlab = { … }`";
        assert!(messages.contains(&(2, said)), "{messages:#?}");
        // a file another one includes may need that one's jobs: nothing is said
        let i = import(
            Path::new("deploy.gitlab-ci.yml"),
            yaml,
            &test_support::NoFiles,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !i.warnings.iter().any(|w| w.message.contains("biuld")),
            "{:#?}",
            i.warnings
        );
    }

    #[test]
    fn what_means_the_same_is_not_warned_and_what_is_lost_is() {
        let yaml = "include:\n  - local: ci/missing.yml\n    inputs: {env: prod}\n\
                    default:\n  image: golang:1.22.1\n  tags: [docker]\n\
                    native:\n  script: [make install]\n  inherit: {default: [tags]}\n\
                    deploy:\n  script: [./deploy]\n  environment: {name: prod, auto_stop_in: never}\n\
                    \x20 id_tokens: {VAULT_ID_TOKEN: {aud: https://vault.example.com}}\n\
                    \x20 secrets:\n    DB: {vault: db/pw@kv, token: $VAULT_ID_TOKEN}\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        let messages: Vec<&str> = i.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("cannot read") && m.contains("`inputs` are not carried")),
            "{messages:#?}"
        );
        assert!(
            !messages
                .iter()
                .any(|m| m.contains("auto_stop_in") || m.contains("token:")),
            "{messages:#?}"
        );
        // a job that takes no image from `default:` runs in the runner's
        assert!(i.plumb.contains("image  = runner_default"), "{}", i.plumb);
    }

    #[test]
    fn a_library_template_extending_a_name_not_read_is_built_on_the_others() {
        let yaml = "include:\n  - local: ci/images.yml\n\
                    .build:\n  image: alpine:3.20\n  before_script: [apk add make]\n  script: [make, make check]\n  artifacts: {paths: [out/]}\n\
                    .build-arm:\n  extends: [.image-arm, .build]\n  tags: [arm64]\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            i.plumb.contains("template build-arm() from build() {"),
            "{}",
            i.plumb
        );
        assert_eq!(i.plumb.matches("make check").count(), 1, "{}", i.plumb);
    }

    #[test]
    fn a_name_missing_here_is_one_warning_whatever_the_jobs_naming_it() {
        let yaml = "include:\n  - local: ci/images.yml\n\
                    a:\n  extends: .image\n  needs: [build-image, gone]\n  script: [make a]\n\
                    b:\n  extends: .image\n  needs: [build-image, gone]\n  script: [make b]\n\
                    c:\n  extends: [.image, .other]\n  script: [make c]\n\
                    gone:\n  trigger:\n    include: [{local: a.yml}, {local: b.yml}]\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        let messages: Vec<(usize, &str)> = (i.warnings.iter())
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        // (the jobs' stage notes name `.image` too, each at its job)
        let about = |name: &str| {
            (messages.iter())
                .filter(|(_, m)| m.contains(name) && !m.contains("its stage may be"))
                .count()
        };
        assert_eq!(about("`.image`"), 1, "{messages:#?}");
        // a job of a file not read: kept for GitLab; one left out here: dropped, said once
        assert_eq!(about("`build-image`"), 0, "{messages:#?}");
        assert!(
            i.plumb
                .contains("gitlab = { extends = [\".image\"], needs = [\"build-image\"] }"),
            "{}",
            i.plumb
        );
        assert_eq!(about("`gone`"), 2, "{messages:#?}");
        assert!(messages.contains(&(4, "`.image` is not defined here (a file not read?): kept in the `gitlab = { extends = … }` of the jobs whose `extends` reach it (`a`, `b`, `c`); GitLab merges it into them from that file, where no check sees what it gives")), "{messages:#?}");
        assert!(messages.contains(&(5, "`gone` is not imported: the needs of `a`, `b` on it are dropped (they no longer wait for it or get its artifacts)")), "{messages:#?}");
        // named by one job: said of that job
        assert!(
            messages.contains(&(
                12,
                "`c` extends `.other`, which is not defined here: kept in its `gitlab = { extends = … }` (GitLab merges it from that file, where no check sees what it gives)"
            )),
            "{messages:#?}"
        );
        // a hidden job of a file not read that GitLab merges after one defined here
        // overrode its keys: kept, and the warning says that those now win
        let yaml = "include:\n  - local: ci/images.yml\n\
                    .here:\n  tags: [a]\n\
                    d:\n  extends: [.here, .far]\n  script: [make d]\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(i.plumb.contains("extends = [\".far\"]"), "{}", i.plumb);
        assert!(
            (i.warnings.iter())
                .any(|w| w.message == "`d` extends `.far`, which is not defined here: kept in its `gitlab = { extends = … }` (GitLab merges it from that file, where no check sees what it gives); GitLab merged it after `.here`, whose keys the jobs now write themselves and which win where both set one"),
            "{:#?}",
            i.warnings
        );
    }
    /// A job of a file included under `rules:` runs only where they include the file,
    /// and where its own rules add it; a job the including file defines too is there
    /// whatever the include's rules say.
    #[test]
    fn an_include_s_rules_go_into_the_when_of_its_jobs() {
        let files = test_support::SomeFiles::of(&[
            (
                "ci/deploy.yml",
                "deploy:\n  script: [./deploy]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"schedule\"\n      when: never\n    - when: on_success\n\
                 both:\n  script: [./both]\n",
            ),
        ]);
        let yaml = "include:\n  - local: ci/deploy.yml\n    rules:\n      - if: $CI_COMMIT_TAG\n\
                    both:\n  script: [./mine]\n";
        let i = import(Path::new("/repo/.gitlab-ci.yml"), yaml, &files)
            .unwrap_or_else(|e| panic!("{e}"));
        let squeezed: String = i.plumb.split_whitespace().collect();
        assert!(
            squeezed.contains("when=tag&&source!=\"schedule\""),
            "{}",
            i.plumb
        );
        let both = &squeezed[squeezed.find("jobboth").expect("both")..];
        assert!(!both.contains("tag"), "{}", i.plumb);
        assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    }
    /// A file included under rules and again without (here, or by another included
    /// file), or a job another file always read defines too: always there; a file read
    /// under two rules: where either adds it. A conditional file's `workflow:` is said.
    #[test]
    fn a_file_included_several_ways_is_where_any_adds_it() {
        let files = test_support::SomeFiles::of(&[
            ("ci/deploy.yml", "deploy:\n  script: [./deploy]\n"),
            ("ci/a.yml", "include: [{local: ci/common.yml}]\n"),
            ("ci/b.yml", "include: [{local: ci/common.yml}]\n"),
            (
                "ci/common.yml",
                "common:\n  script: [c]\nworkflow:\n  rules: [{if: $CI_COMMIT_TAG}]\n",
            ),
            ("ci/t1.yml", "third:\n  script: [one]\n"),
            ("ci/t2.yml", "third:\n  script: [two]\n"),
        ]);
        let yaml = "include:\n\
                    - {local: ci/deploy.yml, rules: [{if: $CI_COMMIT_TAG}]}\n\
                    - local: ci/deploy.yml\n\
                    - {local: ci/a.yml, rules: [{if: $CI_COMMIT_BRANCH == \"main\"}]}\n\
                    - {local: ci/b.yml, rules: [{if: $CI_COMMIT_TAG}]}\n\
                    - {local: ci/t1.yml, rules: [{if: $CI_COMMIT_TAG}]}\n\
                    - local: ci/t2.yml\n";
        let i = import(Path::new("/repo/.gitlab-ci.yml"), yaml, &files)
            .unwrap_or_else(|e| panic!("{e}"));
        let squeezed: String = i.plumb.split_whitespace().collect();
        for always in ["jobdeploy{run=", "jobthird{run="] {
            assert!(squeezed.contains(always), "{always}: {}", i.plumb);
        }
        assert!(
            squeezed.contains("jobcommon{when=branch==\"main\"||tag,"),
            "{}",
            i.plumb
        );
        let said: Vec<&str> = i.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            said.iter().any(|m| m.contains("not to its `workflow:`")),
            "{said:?}"
        );
    }
    /// A need on a job of an included template that the file only completes
    /// (`secret_detection: { allow_failure: false }`) is kept for GitLab, which
    /// resolves it in the template: the job still waits for the gate.
    #[test]
    fn a_need_on_a_completed_job_of_an_include_is_kept() {
        let yaml = "include:\n  - template: Jobs/Secret-Detection.gitlab-ci.yml\n\
                    secret_detection:\n  allow_failure: false\n\
                    deploy:\n  image: alpine:3.20\n  needs: [secret_detection]\n  script: [./deploy]\n";
        let i = import(Path::new(".gitlab-ci.yml"), yaml, &test_support::NoFiles)
            .unwrap_or_else(|e| panic!("{e}"));
        let squeezed: String = i.plumb.split_whitespace().collect();
        assert!(
            squeezed.contains("needs=[\"secret_detection\"]"),
            "{}",
            i.plumb
        );
        assert!(
            !(i.warnings.iter()).any(|w| w.message.contains("the need is dropped")),
            "{:?}",
            i.warnings
        );
    }
    /// Layers of files, each including both files of the next layer under `rules:`:
    /// the ways to a file double with each layer, but each file's are found once, and
    /// past 16 the file counts as always read (this took minutes when walked per path).
    #[test]
    fn layers_of_conditional_includes_are_walked_once_per_file() {
        const LAYERS: usize = 40;
        let include = |layer: usize| {
            format!(
                "include:\n  - {{local: l{layer}a.yml, rules: [{{if: $A{layer}}}]}}\n  - {{local: l{layer}b.yml, rules: [{{if: $B{layer}}}]}}\n"
            )
        };
        let mut files = Vec::new();
        for layer in 1..=LAYERS {
            for side in ["a", "b"] {
                let next = if layer < LAYERS {
                    include(layer + 1)
                } else {
                    String::new()
                };
                let job = format!("job{layer}{side}:\n  script: [make]\n");
                files.push((format!("l{layer}{side}.yml"), format!("{next}{job}")));
            }
        }
        let i = import(
            Path::new("/repo/.gitlab-ci.yml"),
            &include(1),
            &test_support::SomeFiles(files),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(i.plumb.contains("job job1a"), "{}", i.plumb);
        assert!(
            i.plumb.contains(&format!("job job{LAYERS}b")),
            "a file 40 layers down is read"
        );
    }
}
