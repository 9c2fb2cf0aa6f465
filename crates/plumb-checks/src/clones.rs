//! PL6003's `git clone` form: a repository cloned at a branch (its default one, or
//! `--branch main`) whose code the job then runs. The job's scripts are read in order,
//! as one shell runs them: a clone records its folder, a `cd` into it is followed, a
//! checkout of a tag or commit pins it, and running a file from it, or building in it,
//! runs whatever the branch holds at that moment.

use crate::shell::{Command, Word};
use crate::supply::{at, base, executed_file, install_allowed, is_commit, operands, ScriptHit};
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
];

/// Commands that, run inside a clone, build or run its code.
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
    ("yarn", &["", "install", "run", "build", "test"]),
    ("pnpm", &["install", "i", "run", "exec"]),
    ("go", &["run", "build", "install", "generate", "test"]),
    ("cargo", &["build", "run", "install", "test"]),
    ("pip", &["install"]),
    ("pip3", &["install"]),
    ("poetry", &["install", "run"]),
];

/// A clone seen in the job's scripts.
struct Clone<'s> {
    /// The folder it was cloned into, as written (`tools`, `./tools`, `tmp/x`).
    dir: String,
    /// The repository URL word, where the finding goes, and the script it is in.
    url: &'s Word,
    script: usize,
    /// `--branch v1.2.3`, `--revision <sha>`, or a later checkout of a tag or commit.
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

/// The clones a job runs without pinning them, each found once, at its URL, with the
/// command that runs it as the related place.
pub fn unpinned_clones_run(cx: &JobCx, scripts: &[ScannedScript]) -> Vec<ScriptHit> {
    let commands: Vec<&[Command]> = scripts.iter().map(|s| s.commands.as_slice()).collect();
    clone_runs(&commands, &|c| install_allowed(cx, c))
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
                    format!("runs code from `{}`", run.dir),
                )),
                fixes: Vec::new(),
            }
        })
        .collect()
}

/// Reads the scripts in order, as one shell runs them (a `cd` lasts into the next
/// script), and finds each unpinned clone's first run. `allowed` skips trusted clones.
pub(crate) fn clone_runs<'s>(
    scripts: &[&'s [Command]],
    allowed: &dyn Fn(&Command) -> bool,
) -> Vec<CloneRun<'s>> {
    let mut clones: Vec<Clone<'s>> = Vec::new();
    let mut inside: Option<usize> = None;
    let mut runs = Vec::new();
    for (script, commands) in scripts.iter().enumerate() {
        for c in commands.iter() {
            let Some(name) = c.name().map(base) else {
                continue;
            };
            match name {
                "git" if !allowed(c) => git(c, script, &mut clones, inside),
                "cd" | "pushd" => inside = cd_target(c).and_then(|d| clone_holding(&clones, &d)),
                "popd" => inside = None,
                _ => {}
            }
            let Some(i) = runs_clone(c, &clones, inside) else {
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
                runner_script: script,
            });
        }
    }
    runs
}

/// `git clone …` records a clone; `git checkout`/`switch`/`reset --hard` of a tag or
/// commit (in the clone, or with `-C DIR`) pins it.
fn git<'s>(c: &'s Command, script: usize, clones: &mut Vec<Clone<'s>>, inside: Option<usize>) {
    let args = c.args();
    let (dir_option, rest) = match args {
        [flag, dir, rest @ ..] if flag.text == "-C" => (Some(dir.text.as_str()), rest),
        _ => (None, args),
    };
    let Some(sub) = rest.first() else {
        return;
    };
    match sub.text.as_str() {
        "clone" => {
            if let Some(clone) = parse_clone(&rest[1..], dir_option, script) {
                clones.push(clone);
            }
        }
        "checkout" | "switch" | "reset" => {
            let pins = operands(&rest[1..], &["-b", "-B", "-c", "-C"])
                .iter()
                .any(|w| is_fixed_revision(&w.text));
            let target = match dir_option {
                Some(d) => clone_holding(clones, d),
                None => inside,
            };
            if let (true, Some(i)) = (pins, target) {
                clones[i].pinned = true;
            }
        }
        _ => {}
    }
}

fn parse_clone<'s>(args: &'s [Word], parent: Option<&str>, script: usize) -> Option<Clone<'s>> {
    let mut pinned = false;
    let mut words = args.iter();
    while let Some(w) = words.next() {
        let (option, value) = match w.text.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (w.text.as_str(), None),
        };
        if matches!(option, "-b" | "--branch" | "--revision") {
            let value = value.or_else(|| words.clone().next().map(|v| v.text.clone()));
            pinned |= value.is_some_and(|v| is_fixed_revision(&v));
        }
    }
    let ops = operands(args, CLONE_VALUE_OPTIONS);
    let url = *ops.first()?;
    let dir = match ops.get(1) {
        Some(d) => d.text.clone(),
        None => default_folder(&url.text)?,
    };
    let dir = match parent {
        Some(p) => format!("{}/{dir}", p.trim_end_matches('/')),
        None => dir,
    };
    Some(Clone {
        dir: normalize(&dir),
        url,
        script,
        pinned,
        reported: false,
    })
}

/// The folder `git clone URL` creates: the URL's last segment without `.git`.
fn default_folder(url: &str) -> Option<String> {
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty()).then(|| name.to_string())
}

/// `./tools/` is `tools`.
fn normalize(path: &str) -> String {
    let p = path.trim_start_matches("./").trim_end_matches('/');
    if p.is_empty() {
        ".".to_string()
    } else {
        p.to_string()
    }
}

/// A commit SHA or a version tag (`v1.2.3`, `1.2`), or a variable: a value set
/// elsewhere is not assumed to be a branch.
fn is_fixed_revision(s: &str) -> bool {
    if s.contains('$') || is_commit(s) {
        return true;
    }
    let v = s.strip_prefix(['v', 'V']).unwrap_or(s);
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.contains('.')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+_".contains(c))
        && !v.split('.').any(|part| part == "x" || part == "*")
}

/// The folder of `cd DIR` (not `cd -`, `cd ~`, or `cd` with no folder).
fn cd_target(c: &Command) -> Option<String> {
    let dir = operands(c.args(), &[]).first()?.text.clone();
    (!dir.starts_with('~') && !dir.starts_with('/') && !dir.contains('$')).then(|| normalize(&dir))
}

/// The clone `path` is in (the folder itself or below it).
fn clone_holding(clones: &[Clone], path: &str) -> Option<usize> {
    let path = normalize(path);
    clones.iter().rposition(|c| {
        c.dir != "."
            && (path == c.dir
                || path
                    .strip_prefix(c.dir.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    })
}

/// The clone whose code `c` runs: a file from it (`tools/x.sh`, `sh tools/x.sh`), a
/// build in it (`make -C tools`, `pip install ./tools`), or, inside it, a local file
/// or a build tool.
fn runs_clone(c: &Command, clones: &[Clone], inside: Option<usize>) -> Option<usize> {
    if let Some(file) = executed_file(c) {
        if let Some(i) = clone_holding(clones, &file) {
            return Some(i);
        }
        if inside.is_some() && !file.starts_with('/') {
            return inside;
        }
    }
    let name = base(c.name()?);
    let args = c.args();
    if let Some(i) = args
        .iter()
        .filter(|w| !w.text.starts_with('-') || w.text.starts_with("--path="))
        .find_map(|w| clone_holding(clones, w.text.trim_start_matches("--path=")))
    {
        if builds(name, args) || (name == "make" && has_dir_flag(args)) {
            return Some(i);
        }
    }
    inside.filter(|_| builds(name, args))
}

fn has_dir_flag(args: &[Word]) -> bool {
    args.iter()
        .any(|w| w.text == "-C" || w.text.starts_with("--directory"))
}

/// Whether the command builds or runs the code of the folder it works in.
fn builds(name: &str, args: &[Word]) -> bool {
    if BUILDERS.contains(&name) || name == "configure" || name == "gradlew" {
        return true;
    }
    if matches!(name, "python" | "python3") {
        return args.first().is_some_and(|w| w.text == "setup.py")
            || (args.len() > 2 && args[0].text == "-m" && args[1].text == "pip")
                && args[2].text == "install";
    }
    let sub = args.first().map_or("", |w| w.text.as_str());
    PACKAGE_RUNNERS
        .iter()
        .any(|(tool, subs)| *tool == name && subs.contains(&sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::scan;

    /// The URL of each clone the script lines run unpinned, and the runner's name.
    fn runs(lines: &[&str]) -> Vec<(String, String)> {
        let scanned: Vec<Vec<Command>> = lines.iter().map(|l| scan(l)).collect();
        let commands: Vec<&[Command]> = scanned.iter().map(Vec::as_slice).collect();
        clone_runs(&commands, &|_| false)
            .into_iter()
            .map(|r| {
                (
                    r.url.text.clone(),
                    r.runner.name().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn one(url: &str, runner: &str) -> Vec<(String, String)> {
        vec![(url.to_string(), runner.to_string())]
    }

    #[test]
    fn clones_run_at_a_branch_are_found() {
        let u = "https://gitlab.com/me/tools.git";
        assert_eq!(
            runs(&[&format!("git clone {u}"), "./tools/x.sh"]),
            one(u, "./tools/x.sh")
        );
        assert_eq!(
            runs(&[&format!("git clone {u} && cd tools && ./build.sh")]),
            one(u, "./build.sh")
        );
        assert_eq!(
            runs(&[&format!("git clone --branch=main {u} t"), "sh t/run"]),
            one(u, "sh")
        );
        assert_eq!(
            runs(&[&format!("git clone -b dev {u} t"), "make -C t"]),
            one(u, "make")
        );
        assert_eq!(
            runs(&[&format!("git clone {u} a/b"), "cd ./a/b/", "pip install ."]),
            one(u, "pip")
        );
        assert_eq!(
            runs(&[&format!("git -C vendor clone {u}"), "vendor/tools/run"]),
            one(u, "vendor/tools/run")
        );
        assert_eq!(
            runs(&[
                &format!("git clone {u}"),
                "cd tools",
                "git checkout main",
                "yarn"
            ]),
            one(u, "yarn")
        );
        assert_eq!(
            runs(&[&format!("git clone {u}"), "./tools/a", "./tools/b"]).len(),
            1,
            "one finding per clone"
        );
    }

    #[test]
    fn pinned_or_unrun_clones_are_not() {
        let u = "https://gitlab.com/me/tools.git";
        for lines in [
            vec![
                format!("git clone --branch v2.1.0 {u}"),
                "./tools/x.sh".into(),
            ],
            vec![
                format!("git clone --revision=0123456789abcdef {u}"),
                "./tools/x.sh".into(),
            ],
            vec![
                format!("git clone {u}"),
                "git -C tools checkout 0123abcd".into(),
                "./tools/x.sh".into(),
            ],
            vec![
                format!("git clone {u}"),
                "cd tools".into(),
                "git reset --hard $PINNED".into(),
                "make".into(),
            ],
            vec![
                format!("git clone {u}"),
                "ls tools".into(),
                "cat tools/README".into(),
            ],
            vec![
                format!("git clone {u}"),
                "cd tools".into(),
                "cd ..".into(),
                "make".into(),
            ],
            vec![
                format!("git clone {u}"),
                "cd tools".into(),
                "popd".into(),
                "./x.sh".into(),
            ],
            vec![format!("git clone {u} ."), "make".into()],
        ] {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            assert_eq!(runs(&lines), vec![], "{lines:?}");
        }
    }

    #[test]
    fn versions_and_commits_are_fixed_revisions() {
        for fixed in ["v1.2.3", "1.2", "0123abcd", "$TAG", "v1.2.3-rc.1"] {
            assert!(is_fixed_revision(fixed), "{fixed}");
        }
        for moving in [
            "main",
            "master",
            "develop",
            "1.x",
            "v1",
            "stable",
            "release-1",
        ] {
            assert!(!is_fixed_revision(moving), "{moving}");
        }
    }
}
