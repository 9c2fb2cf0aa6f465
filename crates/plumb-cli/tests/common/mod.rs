//! Helpers shared by the integration tests (each test file uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

/// Runs `plumb` in the repository's root.
pub fn plumb(args: &[&str]) -> Output {
    plumb_in(&root(), args)
}

/// Runs `plumb` in `dir`.
pub fn plumb_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run plumb")
}

/// A fresh folder under the system's temporary folder, unique to this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plumb-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// A validator from `.venv` or the PATH (installed by `scripts/test.sh`); its absence
/// is a failure, never a skip.
pub fn tool(name: &str) -> PathBuf {
    let venv = root().join(".venv/bin").join(name);
    if venv.exists() {
        return venv;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("`{name}` is not installed: run scripts/test.sh, which installs the validators into .venv"))
}

/// gitlab-ci-local from `scripts/node` (installed by `scripts/test.sh`): its absence is
/// a failure, never a skip.
pub fn gitlab_ci_local() -> PathBuf {
    let bin = root().join("scripts/node/node_modules/.bin/gitlab-ci-local");
    assert!(
        bin.exists(),
        "gitlab-ci-local is not installed: run scripts/test.sh (it runs `npm ci` in scripts/node)"
    );
    bin
}

/// Makes `dir` a git repository with one commit (gitlab-ci-local reads the project
/// from git).
pub fn git_commit_all(dir: &Path) {
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.email=ci@plumb.dev",
        "-c",
        "user.name=plumb",
        "commit",
        "-qm",
        "fixture",
    ]);
    // `changes:` rules are evaluated against origin's default branch
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
}

/// Copies a folder's files (not `.git`) into another.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == ".git" || name == ".gitlab-ci-local" {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

/// The findings a reviewer accepted in `crates/plumb-cli/tests/review/NAME` (lines of
/// `FILE CODE LINE VERDICT why`), as `FILE CODE LINE`, sorted. A line without a verdict
/// and a why, or with a verdict other than `true`, fails: a rejected finding is fixed in
/// the rule, never kept in the review.
pub fn reviewed(name: &str) -> Vec<String> {
    let review = std::fs::read_to_string(root().join("crates/plumb-cli/tests/review").join(name))
        .expect("review");
    let mut accepted = Vec::new();
    for line in review
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.splitn(5, ' ').collect();
        assert!(
            parts.len() == 5,
            "review line without a verdict and a why: {line}"
        );
        assert_eq!(
            parts[3], "true",
            "a rejected finding is reviewed here; fix the rule: {line}"
        );
        accepted.push(parts[..3].join(" "));
    }
    accepted.sort();
    accepted
}

/// The `.yml` files of the shared corpus, sorted; `None` (and a note) when the corpus is
/// not there, which under `CI=true` fails instead.
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    let corpus = root().join("../shared/corpus/gitlab-ci");
    if !corpus.is_dir() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "no corpus at {}",
            corpus.display()
        );
        eprintln!("NOTE: corpus not found at {}: not run", corpus.display());
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    Some(files)
}

/// Every file under `dir`, by its path from `dir`, with its bytes, sorted by path.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(d) = folders.pop() {
        for e in std::fs::read_dir(&d).expect("read folder").flatten() {
            let path = e.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(dir).expect("under dir");
                let bytes = std::fs::read(&path).expect("read file");
                out.push((name.to_string_lossy().to_string(), bytes));
            }
        }
    }
    out.sort();
    out
}
