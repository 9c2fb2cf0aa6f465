//! `plumb build --check`: is the committed output what the sources give?

use crate::error::CliError;
use plumb_targets::OutputFile;
use similar::TextDiff;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// `eprintln!` that ignores a standard error closed early (`… 2>&1 | head -1`): the
/// answer is the exit status, and a broken pipe is no reason to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The first folder of `out`'s path (as given, below the current folder) that is a
/// symbolic link: a committed link (`ci -> /proc/self`) would make `--check` read, and
/// print in its diff, a file outside the repository.
fn linked_folder(out: &Path) -> Option<std::path::PathBuf> {
    let here = std::env::current_dir().ok()?;
    let mut at = std::path::PathBuf::new();
    let parts: Vec<_> = out.parent()?.components().collect();
    for part in parts {
        at.push(part);
        let below_here = at.is_relative() || at.starts_with(&here) && at != here;
        let linked = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        if below_here && linked {
            return Some(at);
        }
    }
    None
}

/// Compares the expected files with what `out` holds (a file, or a folder when
/// `folder`), prints a unified diff of every difference, and says how to fix it.
pub fn compare(out: &Path, expected: &[OutputFile], folder: bool) -> Result<ExitCode, CliError> {
    let mut diff = String::new();
    let mut problems = 0;
    if let Some(link) = linked_folder(out) {
        say!("plumb build --check: `{}` is a symbolic link; the committed output is not read through it", link.display());
        return Ok(ExitCode::from(1));
    }
    if folder {
        let is_folder = std::fs::symlink_metadata(out).is_ok_and(|m| m.is_dir());
        if !is_folder {
            say!("plumb build --check: `{}` does not exist; generate it with the same command without --check", out.display());
            return Ok(ExitCode::from(1));
        }
        let mut expected_paths = BTreeSet::new();
        for f in expected {
            expected_paths.insert(f.path.clone());
            let actual = committed(out, &f.path);
            problems += diff_one(
                &mut diff,
                &format!("{}/{}", out.display(), f.path),
                actual.as_deref(),
                Some(&f.contents),
            );
        }
        for stale in files_under(out)
            .into_iter()
            .filter(|p| !expected_paths.contains(p) && p != crate::build::MARKER)
        {
            let shown = format!("{}/{stale}", out.display());
            match committed(out, &stale) {
                Some(actual) => problems += diff_one(&mut diff, &shown, Some(&actual), None),
                // a link or a FIFO Plumb never writes: there, and not read
                None => {
                    diff.push_str(&format!(
                        "Only in the committed output: {shown} (not a regular UTF-8 file)\n"
                    ));
                    problems += 1;
                }
            }
        }
    } else {
        let text: String = expected.iter().map(|f| f.contents.as_str()).collect();
        let actual = committed(out, "");
        if actual.is_none() && std::fs::symlink_metadata(out).is_ok() {
            say!("plumb build --check: `{}` is not a regular UTF-8 file (a symbolic link, a special file, or too large); it is not read", out.display());
            return Ok(ExitCode::from(1));
        }
        if actual.is_none() {
            say!("plumb build --check: `{}` does not exist; generate it with the same command without --check", out.display());
            return Ok(ExitCode::from(1));
        }
        problems += diff_one(
            &mut diff,
            &out.display().to_string(),
            actual.as_deref(),
            Some(&text),
        );
    }
    if problems == 0 {
        say!("plumb build --check: `{}` is up to date", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    std::io::stdout()
        .write_all(diff.as_bytes())
        .map_err(|e| CliError::Output(e.to_string()))?;
    say!(
        "plumb build --check: {problems} file{} in `{}` {} from what the sources give; regenerate with the same command without --check (generated files are not edited by hand)",
        if problems == 1 { "" } else { "s" },
        out.display(),
        if problems == 1 { "differs" } else { "differ" },
    );
    Ok(ExitCode::from(1))
}

/// The committed file at `rel` below `out` (`""`: `out` itself), when it is a regular
/// UTF-8 file of at most [`crate::workspace::MAX_FILE_BYTES`] reached through no
/// symbolic link: a committed output is the repository's, and a merge request can
/// make any of it a link (to a secret file, `/proc/self/environ`, `/dev/zero`) or a
/// FIFO, which must not be read and shown in the diff. Anything else is "not there",
/// so it differs from what the sources give.
fn committed(out: &Path, rel: &str) -> Option<String> {
    let mut path = out.to_path_buf();
    let regular = |p: &Path, last: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| if last { m.is_file() } else { m.is_dir() })
    };
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() && !regular(&path, true) {
        return None;
    }
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        if !regular(&path, i + 1 == parts.len()) {
            return None;
        }
    }
    crate::workspace::read_text(&path).ok()
}

/// Appends the unified diff of one file (`None`: absent); returns 1 when they differ.
fn diff_one(out: &mut String, name: &str, actual: Option<&str>, expected: Option<&str>) -> usize {
    if actual == expected {
        return 0;
    }
    let (old_name, new_name) = match (actual, expected) {
        (None, _) => ("/dev/null".to_string(), format!("b/{name}")),
        (_, None) => (format!("a/{name}"), "/dev/null".to_string()),
        _ => (format!("a/{name}"), format!("b/{name}")),
    };
    let a = actual.unwrap_or("");
    let b = expected.unwrap_or("");
    out.push_str(
        &TextDiff::from_lines(a, b)
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string(),
    );
    1
}

/// Files below a folder, as relative paths with `/`.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            // a link to a folder is not walked (it could lead anywhere, or round)
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}
