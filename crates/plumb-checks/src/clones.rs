//! PL6003's `git clone` form: a repository cloned at a branch (its default one, or
//! `--branch main`) whose code the job then runs.
//!
//! The job's script lines are read in order, as one shell runs them, with the working
//! folder followed: `cd`, `pushd`/`popd`, `git -C`, a `cd` inside `( … )` that ends with
//! its line, and `after_run` starting again in the project folder. A clone records
//! its folder; a checkout, `switch`, `reset --hard` or `fetch` of a tag or commit pins
//! it, and a later checkout of a branch or a `pull` unpins it; running a file from
//! it, or building in it, runs whatever it holds at that moment.

use crate::shell::{Command, Word};
use crate::supply::{at, base, install_allowed, is_commit, is_interpreter, operands, ScriptHit};
use crate::{JobCx, ScannedScript};

/// `git clone` options that take the next word as their value.
const CLONE_VALUE_OPTIONS: &[&str] = &[
    "-b",
    "--branch",
    "-o",
    "--origin",
    "--depth",
    "-c",
    "--config",
    "--reference",
    "--reference-if-able",
    "--separate-git-dir",
    "-j",
    "--jobs",
    "--filter",
    "-u",
    "--upload-pack",
    "--template",
    "--shallow-since",
    "--shallow-exclude",
    "--revision",
    "--bundle-uri",
    "--server-option",
];

/// Commands that build or run the code of the folder they work in.
const BUILDERS: &[&str] = &[
    "make",
    "cmake",
    "meson",
    "ninja",
    "mvn",
    "gradle",
    "ant",
    "rake",
    "bundle",
    "ansible-playbook",
    "configure",
    "gradlew",
    "just",
];

/// Package managers whose install, build and run subcommands run the folder's code
/// (its scripts, `setup.py`, `build.rs`, `Makefile`).
const PACKAGE_RUNNERS: &[(&str, &[&str])] = &[
    (
        "npm",
        &[
            "install",
            "i",
            "ci",
            "run",
            "run-script",
            "start",
            "test",
            "exec",
        ],
    ),
    ("pnpm", &["install", "i", "run", "exec"]),
    ("go", &["run", "build", "install", "generate", "test"]),
    ("cargo", &["build", "check", "run", "install", "test"]),
    ("pip", &["install"]),
    ("pip3", &["install"]),
    ("poetry", &["install", "run"]),
    ("composer", &["install", "update", "run-script"]),
];

/// Variables that hold a branch name, never a tag or commit.
const BRANCH_VARIABLES: &[&str] = &[
    "CI_DEFAULT_BRANCH",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_REF_SLUG",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
];

/// A clone seen in the job's scripts.
struct Clone<'s> {
    /// Its folder, resolved (`tools`, `vendor/lib`, `/opt/tools`; `""` is the project).
    dir: String,
    /// The repository URL word, where the finding goes, and the script it is in.
    url: &'s Word,
    script: usize,
    /// At a tag or commit now.
    pinned: bool,
    /// Already reported (one finding per clone).
    reported: bool,
}

/// A clone cloned at a branch, and the first command that runs its code.
pub(crate) struct CloneRun<'s> {
    pub url: &'s Word,
    pub url_script: usize,
    pub dir: String,
    pub runner: &'s Command,
    pub runner_script: usize,
}

/// What the job's environment says about a variable: its literal value, if it binds one.
pub(crate) type Variables<'v> = &'v dyn Fn(&str) -> Option<String>;

/// The clones a job runs without pinning them, each found once, at its URL, with the
/// command that runs it as the related place.
pub fn unpinned_clones_run(cx: &JobCx, scripts: &[ScannedScript]) -> Vec<ScriptHit> {
    // most jobs clone nothing: skip the reading
    if !scripts.iter().any(|s| s.text.contains("clone")) {
        return Vec::new();
    }
    let commands: Vec<Shell> = scripts
        .iter()
        .map(|s| Shell {
            text: s.text,
            commands: &s.commands,
        })
        .collect();
    let variables = |name: &str| -> Option<String> {
        let binding = cx.job.env.iter().find(|b| b.name == name)?;
        binding.value.as_str().map(str::to_string)
    };
    let reader = Reader {
        allowed: &|c| install_allowed(cx, c),
        variables: &variables,
        fresh_shell_at: cx.job.run_script_count(),
    };
    reader
        .clone_runs(&commands)
        .into_iter()
        .map(|run| {
            let runner_word = run.runner.name_word().unwrap_or(run.url);
            ScriptHit {
                at: at(cx, &scripts[run.url_script], run.url),
                message: format!(
                    "`{}` is cloned at a branch and then run: the next run may run other code",
                    run.url.text
                ),
                label: "cloned at a branch".to_string(),
                related: Some((
                    at(cx, &scripts[run.runner_script], runner_word),
                    format!("runs code from `{}`", shown(&run.dir)),
                )),
                fixes: Vec::new(),
            }
        })
        .collect()
}

fn shown(dir: &str) -> &str {
    if dir.is_empty() {
        "."
    } else {
        dir
    }
}

/// One script line: its text and its commands.
pub(crate) struct Shell<'s> {
    pub text: &'s str,
    pub commands: &'s [Command],
}

pub(crate) struct Reader<'r> {
    /// `lint.allow_installs` trusts the clone command.
    pub allowed: &'r dyn Fn(&Command) -> bool,
    pub variables: Variables<'r>,
    /// The first script line of `after_run`, which GitLab runs in a new shell.
    pub fresh_shell_at: usize,
}

/// The working folder as the scripts move it.
#[derive(Default)]
struct Folders {
    /// `Some("")` is the project folder; `None` is somewhere this reading cannot tell.
    cwd: Option<String>,
    pushed: Vec<Option<String>>,
    /// The folder to return to at the end of the line (a `cd` inside `( … )`).
    after_subshell: Option<Option<String>>,
}

impl Reader<'_> {
    /// Reads the scripts in order and finds each unpinned clone's first run.
    pub(crate) fn clone_runs<'s>(&self, scripts: &[Shell<'s>]) -> Vec<CloneRun<'s>> {
        let mut clones: Vec<Clone<'s>> = Vec::new();
        let mut folders = Folders {
            cwd: Some(String::new()),
            ..Folders::default()
        };
        let mut runs = Vec::new();
        for (index, script) in scripts.iter().enumerate() {
            if index == self.fresh_shell_at {
                folders = Folders {
                    cwd: Some(String::new()),
                    ..Folders::default()
                };
            }
            for c in script.commands {
                self.step(c, script, index, &mut folders, &mut clones);
                let Some(i) = runs_clone(c, &clones, &folders.cwd) else {
                    continue;
                };
                let clone = &mut clones[i];
                if clone.pinned || clone.reported {
                    continue;
                }
                clone.reported = true;
                runs.push(CloneRun {
                    url: clone.url,
                    url_script: clone.script,
                    dir: clone.dir.clone(),
                    runner: c,
                    runner_script: index,
                });
            }
            if let Some(cwd) = folders.after_subshell.take() {
                folders.cwd = cwd;
            }
        }
        runs
    }

    /// What one command changes: the working folder, the clones and their pins.
    fn step<'s>(
        &self,
        c: &'s Command,
        script: &Shell,
        index: usize,
        folders: &mut Folders,
        clones: &mut Vec<Clone<'s>>,
    ) {
        let Some(name) = c.name().map(base) else {
            return;
        };
        match name {
            "git" if !(self.allowed)(c) => self.git(c, index, &folders.cwd, clones),
            "cd" | "pushd" => {
                let before = folders.cwd.clone();
                if name == "pushd" {
                    folders.pushed.push(before.clone());
                } else if in_subshell(c, script.text) && folders.after_subshell.is_none() {
                    folders.after_subshell = Some(before.clone());
                }
                folders.cwd = operands(c.args(), &[])
                    .first()
                    .and_then(|w| resolve(&before, &w.text));
            }
            "popd" => folders.cwd = folders.pushed.pop().flatten(),
            _ => {}
        }
    }

    /// `git [-C DIR] [-c K=V] SUBCOMMAND …`: a clone is recorded, a checkout pins or
    /// unpins the clone the command works in.
    fn git<'s>(
        &self,
        c: &'s Command,
        index: usize,
        cwd: &Option<String>,
        clones: &mut Vec<Clone<'s>>,
    ) {
        let args = c.args();
        let mut here = cwd.clone();
        let mut i = 0;
        while let Some(w) = args.get(i) {
            match w.text.as_str() {
                "-C" => {
                    here = args.get(i + 1).and_then(|d| resolve(&here, &d.text));
                    i += 2;
                }
                "-c" | "--git-dir" | "--work-tree" | "--namespace" => i += 2,
                t if t.starts_with('-') => i += 1,
                _ => break,
            }
        }
        let Some(sub) = args.get(i) else {
            return;
        };
        let rest = &args[i + 1..];
        if sub.text == "clone" {
            if let Some(clone) = self.parse_clone(rest, &here, index) {
                clones.push(clone);
            }
            return;
        }
        let Some(target) = here.as_deref().and_then(|h| clone_holding(clones, h)) else {
            return;
        };
        if let Some(pinned) = self.pin_after(&sub.text, rest) {
            clones[target].pinned = pinned;
        }
    }

    /// Whether the clone is at a fixed revision after `git SUB ARGS`, or `None` when
    /// the command does not move it.
    fn pin_after(&self, sub: &str, args: &[Word]) -> Option<bool> {
        let value_options: &[&str] = &["-b", "-B", "-c", "-C", "--orphan"];
        // `checkout REV -- PATH` and `checkout -- PATH` restore files; HEAD stays
        if args.iter().any(|a| a.text == "--") {
            return None;
        }
        let revision = operands(args, value_options)
            .first()
            .map(|w| w.text.as_str());
        match sub {
            "checkout" | "switch" => match revision {
                Some("FETCH_HEAD") | None => None,
                Some(r) => Some(self.is_fixed_revision(r)),
            },
            "reset" => {
                let moves_files = args
                    .iter()
                    .any(|a| matches!(a.text.as_str(), "--hard" | "--keep" | "--merge"));
                match revision {
                    Some(r) if moves_files => Some(self.is_fixed_revision(r)),
                    _ => None,
                }
            }
            "fetch" => operands(args, &["--depth", "-j", "--jobs"])
                .iter()
                .any(|w| is_commit(&w.text))
                .then_some(true),
            "pull" => Some(false),
            _ => None,
        }
    }

    fn parse_clone<'s>(
        &self,
        args: &'s [Word],
        here: &Option<String>,
        script: usize,
    ) -> Option<Clone<'s>> {
        let mut pinned = false;
        let mut words = args.iter();
        while let Some(w) = words.next() {
            let (option, value) = match w.text.split_once('=') {
                Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                _ => (w.text.as_str(), None),
            };
            if matches!(option, "-b" | "--branch" | "--revision") {
                let value = value.or_else(|| words.clone().next().map(|v| v.text.clone()));
                pinned |= value.is_some_and(|v| self.is_fixed_revision(&v));
            }
        }
        let ops = operands(args, CLONE_VALUE_OPTIONS);
        let url = *ops.first()?;
        // a clone of the job's own checkout (`git clone . copy`) brings no code from
        // elsewhere
        if is_own_checkout(&url.text) {
            return None;
        }
        let dir = match ops.get(1) {
            Some(d) => d.text.clone(),
            None => default_folder(&url.text)?,
        };
        Some(Clone {
            dir: resolve(here, &dir)?,
            url,
            script,
            pinned,
            reported: false,
        })
    }

    /// A commit SHA or a release tag (`v1.2.3`, `1.2.3`, `v3.12`, `openssl-3.0.12`,
    /// `tags/v1.2.3`); a variable is what the job's `env` binds it to, a branch for the
    /// branch variables, else assumed fixed (`$CI_COMMIT_SHA`, a version set elsewhere).
    fn is_fixed_revision(&self, revision: &str) -> bool {
        let r = revision
            .trim_start_matches("refs/")
            .trim_start_matches("tags/");
        if let Some(name) = variable_name(r) {
            if BRANCH_VARIABLES.contains(&name) {
                return false;
            }
            return match (self.variables)(name) {
                Some(value) if !value.contains('$') => self.is_fixed_revision(&value),
                _ => true,
            };
        }
        is_commit(r) || is_release_tag(r)
    }
}

/// `.` or `$CI_PROJECT_DIR`: the folder the job's repository is checked out in. (Another
/// local path may hold what the job just downloaded: a bundle, a mirror.)
fn is_own_checkout(url: &str) -> bool {
    let url = url.trim_end_matches('/');
    url == "." || variable_name(url) == Some("CI_PROJECT_DIR")
}

/// `$NAME` or `${NAME}`, whole.
fn variable_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix('$')?;
    let name = name
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    crate::shell::is_name(name).then_some(name)
}

/// `v1.2.3`, `1.2.3`, `v3.12`, `1.2.3-rc.1`, `openssl-3.0.12`: three numbers, or two
/// after a `v` (`3.12` alone is how CPython and others name a branch).
fn is_release_tag(r: &str) -> bool {
    // a `name-` prefix (`openssl-3.0.12`, `jq-1.7.1`)
    let r = match r.split_once('-') {
        Some((name, rest)) if !name.is_empty() && !looks_like_version(name) => rest,
        _ => r,
    };
    let (v, core) = match r.strip_prefix(['v', 'V']) {
        Some(rest) => (true, rest),
        None => (false, r),
    };
    let core = core.split(['-', '+']).next().unwrap_or("");
    let numbers: Vec<&str> = core.split('.').collect();
    let all_digits = numbers
        .iter()
        .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    all_digits && (numbers.len() >= 3 || (v && numbers.len() == 2))
}

/// `1.2…` or `v1…`.
fn looks_like_version(s: &str) -> bool {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// The folder `git clone URL` creates: the URL's last segment without `.git`.
fn default_folder(url: &str) -> Option<String> {
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty()).then(|| name.to_string())
}

/// `path` from the folder `cwd`, with `.` and `..` resolved: `""` is the project
/// folder, `/…` an absolute folder. `$CI_PROJECT_DIR` is the project folder; any other
/// variable, `~`, or a `..` above the project makes it unknown.
fn resolve(cwd: &Option<String>, path: &str) -> Option<String> {
    let (start, rest) = if let Some(rest) = ["$CI_PROJECT_DIR", "${CI_PROJECT_DIR}"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
    {
        (String::new(), rest.trim_start_matches('/'))
    } else if path.starts_with('/') {
        ("/".to_string(), path)
    } else {
        (cwd.clone()?, path)
    };
    if rest.contains('$') || rest.starts_with('~') || rest == "-" {
        return None;
    }
    let absolute = start.starts_with('/');
    let mut parts: Vec<&str> = start.split('/').filter(|p| !p.is_empty()).collect();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    Some(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

/// The clone `path` is in (the folder itself or below it); the project folder itself
/// (a clone into `.`) is not followed.
fn clone_holding(clones: &[Clone], path: &str) -> Option<usize> {
    clones.iter().rposition(|c| {
        !c.dir.is_empty()
            && (path == c.dir
                || path
                    .strip_prefix(c.dir.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    })
}

/// Whether the command opens a subshell: `(` right before it on its line.
fn in_subshell(c: &Command, text: &str) -> bool {
    let Some(first) = c.words.first() else {
        return false;
    };
    text.get(..first.start)
        .is_some_and(|before| before.trim_end().ends_with('('))
}

/// The clone whose code `c` runs: a file from it (`tools/x.sh`, `sh tools/x.sh`), or a
/// build in it (`make -C tools`, `pip install ./tools`, `npm ci` after `cd tools`).
fn runs_clone(c: &Command, clones: &[Clone], cwd: &Option<String>) -> Option<usize> {
    let name = c.name()?;
    let args = c.args();
    let file = if name.contains('/') {
        Some(name)
    } else if (is_interpreter(name) || matches!(name, "source" | "."))
        && !args.iter().any(|a| a.text == "-c" || a.text == "-m")
    {
        operands(args, &["-o", "-O"])
            .first()
            .map(|w| w.text.as_str())
    } else {
        None
    };
    if let Some(file) = file {
        return resolve(cwd, file).and_then(|f| clone_holding(clones, &f));
    }
    let tool = base(name);
    if !builds(tool, args) {
        return None;
    }
    let folder = match build_folder(tool, args) {
        Some(dir) => resolve(cwd, dir)?,
        None => cwd.clone()?,
    };
    clone_holding(clones, &folder)
}

/// The folder a build command is pointed at, if not the working one: `make -C DIR`,
/// `npm --prefix DIR`, `cargo install --path DIR`, `pip install ./DIR`.
fn build_folder<'a>(tool: &str, args: &'a [Word]) -> Option<&'a str> {
    let flags: &[&str] = match tool {
        "make" => &["-C", "--directory"],
        "npm" | "pnpm" | "yarn" => &["--prefix", "--cwd", "-C", "--dir"],
        "cargo" => &["--path", "--manifest-path"],
        "pip" | "pip3" | "python" | "python3" | "pipx" | "uv" => &["-e", "--editable"],
        _ => &[],
    };
    for (i, w) in args.iter().enumerate() {
        for flag in flags {
            if w.text == *flag {
                return args.get(i + 1).map(|v| v.text.as_str());
            }
            if let Some(v) = w.text.strip_prefix(flag) {
                // `-Ctools`, `--directory=tools`
                let v = v.strip_prefix('=').unwrap_or(v);
                if !v.is_empty() && (flag.len() == 2 || w.text.contains('=')) {
                    return Some(v);
                }
            }
        }
    }
    if matches!(tool, "pip" | "pip3" | "python" | "python3" | "pipx" | "uv") {
        // a folder is written as a path; a bare word is a package from the index
        return operands(args, &["-r", "-c", "-i", "--index-url", "-m"])
            .into_iter()
            .map(|w| w.text.as_str())
            .find(|t| *t == "." || t.contains('/'));
    }
    None
}

/// Whether the command builds or runs the code of the folder it works in.
fn builds(tool: &str, args: &[Word]) -> bool {
    if BUILDERS.contains(&tool) {
        return true;
    }
    if matches!(tool, "python" | "python3") {
        return args.first().is_some_and(|w| w.text == "setup.py")
            || (args.len() > 2 && args[0].text == "-m" && args[1].text == "pip")
                && args[2].text == "install";
    }
    if tool == "yarn" {
        // `yarn`, `yarn install`, `yarn build`, `yarn lint`: package scripts and installs
        let sub = args.first().map_or("", |w| w.text.as_str());
        return !matches!(
            sub,
            "add" | "remove" | "info" | "why" | "config" | "cache" | "--version"
        );
    }
    if matches!(tool, "pipx" | "uv") {
        let install = match tool {
            "pipx" => args.first().is_some_and(|w| w.text == "install"),
            _ => args.len() > 1 && args[0].text == "pip" && args[1].text == "install",
        };
        return install && build_folder(tool, args).is_some();
    }
    if matches!(tool, "pip" | "pip3") {
        // `pip install -r requirements.txt` and `pip install name` read the index
        return args.first().is_some_and(|w| w.text == "install")
            && build_folder(tool, args).is_some();
    }
    let sub = operands(args, &["--prefix", "--cwd", "-C", "--dir"])
        .first()
        .map_or("", |w| w.text.as_str());
    PACKAGE_RUNNERS
        .iter()
        .any(|(t, subs)| *t == tool && subs.contains(&sub))
}

#[cfg(test)]
mod tests;
