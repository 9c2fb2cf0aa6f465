//! `plumb build`: check, compile, write atomically.

use crate::drift;
use crate::error::CliError;
use crate::render;
use crate::workspace::Session;
use plumb_diagnostics::{Diagnostic, Severity};
use plumb_semantics::Event;
use plumb_targets::{BuildError, Target};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct Request {
    pub path: PathBuf,
    pub target: Target,
    pub output: Option<PathBuf>,
    pub split: bool,
    pub event: Option<Event>,
    /// `--var NAME=VALUE`: what `var("NAME")` reads for the Kubernetes targets.
    pub vars: std::collections::BTreeMap<String, String>,
    pub flavor: Option<plumb_config::Flavor>,
    /// Compare with the committed output instead of writing.
    pub check: bool,
}

pub fn run(req: Request) -> Result<ExitCode, CliError> {
    if req.split && req.output.is_none() {
        return Err(CliError::Usage(
            "--split writes one file per pipeline: give the folder with -o".to_string(),
        ));
    }
    if req.split && req.target != Target::Gitlab {
        return Err(CliError::Usage(
            "--split is for --target gitlab".to_string(),
        ));
    }
    if req.target == Target::Gitops && req.output.is_none() {
        return Err(CliError::Usage(
            "--target gitops writes a folder: give it with -o DIR".to_string(),
        ));
    }
    if req.target == Target::Gitlab {
        // GitLab's schema, compiled while the sources are read (on one core)
        let _ = std::thread::Builder::new().spawn(plumb_targets::schema::prepare);
    }
    let mut config = crate::load_config(&req.path)?;
    if let Some(flavor) = req.flavor {
        config.targets.gitops.flavor = Some(flavor);
    }
    let session = Session::load(
        std::slice::from_ref(&req.path),
        config.clone(),
        crate::workspace::Wanted::Plumb,
    )?;
    let mut problems: Vec<Diagnostic> = Vec::new();
    let requested: Vec<&crate::workspace::LoadedFile> =
        session.files.iter().filter(|f| f.requested).collect();
    for (f, diags) in requested
        .iter()
        .zip(crate::check_in_parallel(&session, &requested))
    {
        problems.extend(f.load_diagnostics.iter().cloned());
        problems.extend(diags);
    }
    problems.extend(crate::program_errors(&session, &requested, true));
    if problems.iter().any(|d| d.severity == Severity::Error) {
        report(&session, &problems)?;
        eprintln!("plumb build: the sources have errors; nothing was written");
        return Ok(ExitCode::from(1));
    }
    let sources: Vec<(plumb_db::SourceFile, String)> = requested
        .iter()
        .map(|f| (f.file, f.display.clone()))
        .collect();
    let has_pipelines = sources.iter().any(|(f, _)| {
        !plumb_db::analyze(&session.db, session.ws, *f)
            .model
            .pipelines
            .is_empty()
    });
    if !has_pipelines {
        return Err(CliError::Usage(format!(
            "no pipeline in `{}`: nothing to build",
            req.path.display()
        )));
    }
    let event = req
        .event
        .unwrap_or_else(|| Event::Branch(config.default_branch().to_string()));
    let request = plumb_db::CompileRequest::new(
        &session.db,
        sources,
        req.target,
        req.split,
        event,
        req.vars.clone(),
    );
    let build = match plumb_db::compile(&session.db, session.ws, request) {
        Ok(b) => b,
        Err(BuildError::Diagnostics(diags)) => {
            report(&session, diags)?;
            eprintln!(
                "plumb build: the program cannot be compiled for this target; nothing was written"
            );
            return Ok(ExitCode::from(1));
        }
        Err(BuildError::Yaml(e)) => return Err(CliError::Output(e.to_string())),
    };
    let mut warnings = problems;
    warnings.extend(build.warnings.iter().cloned());
    if !warnings.is_empty() {
        report(&session, &warnings)?;
    }
    if req.check {
        let out = req
            .output
            .as_deref()
            .expect("clap requires -o with --check");
        let folder = req.target == Target::Gitops || req.split;
        return drift::compare(out, &build.files, folder);
    }
    match &req.output {
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for f in &build.files {
                out.write_all(f.contents.as_bytes())
                    .map_err(|e| CliError::Output(e.to_string()))?;
            }
        }
        // a folder of one file per pipeline is written whole, like GitOps': a folder
        // holding anything Plumb did not write is refused, files of pipelines gone go
        Some(out) if req.target == Target::Gitops || req.split => {
            write_folder_atomically(out, &build.files)?
        }
        Some(out) => {
            refuse_sources(out, &session)?;
            ensure_generated_or_absent(out, GENERATED_HEADER)?;
            let text: String = build.files.iter().map(|f| f.contents.as_str()).collect();
            write_atomically(out, &text)?;
        }
    }
    // the process ends here: freeing the database piece by piece (5% of a 5,000-job
    // build) would only delay the exit that frees it all
    std::mem::forget(session);
    Ok(ExitCode::SUCCESS)
}

fn report(session: &Session, diags: &[Diagnostic]) -> Result<(), CliError> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    render::human(
        session,
        diags,
        crate::use_color(std::io::stderr().is_terminal()),
        &mut err,
    )
    .map_err(|e| CliError::Output(e.to_string()))
}

/// Writes a file so that it is either fully written or left as it was: a temporary
/// file in the same folder (created new, never through a planted link), flushed to
/// disk, then renamed over the target. Missing parent folders are created. A folder,
/// a symbolic link or a socket is never replaced; a device or a named pipe
/// (`-o /dev/null`, `-o /dev/stdout`) is written to, not replaced by a file.
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), CliError> {
    // a file replaced keeps its permissions (`plumb fmt` on a `-rw-------` file)
    let mut permissions = None;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        permissions = Some(meta.permissions());
        let kind = meta.file_type();
        if kind.is_dir() {
            return Err(CliError::Usage(format!(
                "`{}` is a folder; name the file to write",
                path.display()
            )));
        }
        if is_stream(&kind) {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| cannot_write(path, e))?;
            return f
                .write_all(contents.as_bytes())
                .map_err(|e| cannot_write(path, e));
        }
        if !kind.is_file() {
            return Err(CliError::Usage(format!(
                "`{}` is a symbolic link or a special file: Plumb does not replace it; name a regular file",
                path.display()
            )));
        }
    }
    // `-o out/` names a folder, whether it exists or not
    if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
    {
        return Err(CliError::Usage(format!(
            "`{}` names a folder; name the file to write in it",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| cannot_write(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let (tmp, mut f) = new_temporary(&dir, &name).map_err(|e| cannot_write(path, e))?;
    let result = (|| {
        if let Some(permissions) = permissions {
            f.set_permissions(permissions)?;
        }
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(cannot_write(path, e));
    }
    remove_stale_temporaries(&dir, &name);
    Ok(())
}

/// The first line of every file `plumb build` writes (see `plumb_targets::header`):
/// how it starts and ends.
const GENERATED_HEADER: (&str, &str) = ("# generated by plumb from ", ", do not edit");

/// The first line of every program `plumb import` writes (see `plumb_import::emit`).
pub const IMPORTED_HEADER: (&str, &str) = ("# Imported from ", " by `plumb import`.");

/// Refuses an output path that is one of the sources being built (`plumb build ci.plumb
/// -o ci.plumb`), whatever its first line says.
fn refuse_sources(out: &Path, session: &Session) -> Result<(), CliError> {
    let Ok(out_real) = out.canonicalize() else {
        return Ok(()); // not there yet: no source
    };
    let source = session.files.iter().find(|f| {
        let path = f.file.path(&session.db);
        path.canonicalize().is_ok_and(|p| p == out_real)
    });
    match source {
        Some(f) => Err(CliError::Usage(format!(
            "`{}` is the source `{}`; refusing to replace it (nothing was written): give another path with -o",
            out.display(),
            f.display
        ))),
        None => Ok(()),
    }
}

/// Refuses to replace a regular file that Plumb did not write (its first line is not
/// `header`): `-o .gitlab-ci.yml` over a hand-written pipeline, or over the source
/// itself, would lose it.
pub fn ensure_generated_or_absent(path: &Path, header: (&str, &str)) -> Result<(), CliError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() == 0 {
        // folders, links and streams are write_atomically's to refuse or write
        return Ok(());
    }
    // the whole line: a note that merely starts the same way (`# generated by plumb from
    // the team template, maintained by hand`) is someone's file
    let (start, end) = header;
    let line = first_line(path);
    if line.starts_with(start.as_bytes()) && line.ends_with(end.as_bytes()) {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "`{}` exists and was not written by plumb (its first line is not `{start}…{end}`); refusing to replace it (nothing was written): remove it first, or give another path with -o",
        path.display()
    )))
}

/// A file's first line, without its line break (at most 4 KiB; none when unreadable).
fn first_line(path: &Path) -> Vec<u8> {
    let mut head = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head));
    if read.is_err() {
        return Vec::new();
    }
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    head.truncate(end);
    if head.ends_with(b"\r") {
        head.pop();
    }
    head
}

/// A character device or a named pipe: something written to, never replaced.
fn is_stream(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device() || kind.is_fifo()
}

/// A temporary file next to the target, created new (`O_EXCL`): a name someone planted
/// (a link to another file) makes the creation fail, and another name is tried.
fn new_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = std::io::Error::other("no temporary name was free");
    for attempt in 0..16u32 {
        let tmp = dir.join(format!(
            ".{name}.plumb-tmp-{}-{:08x}",
            std::process::id(),
            seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn cannot_write(path: &Path, e: std::io::Error) -> CliError {
    CliError::Output(format!("`{}`: {e}", path.display()))
}

/// The file Plumb leaves in every folder it writes whole, listing what it wrote: a
/// folder is replaced only when everything in it is listed there.
pub const MARKER: &str = ".plumb-generated";

/// Writes a whole folder so that it is either complete or left as it was: everything
/// goes into a temporary sibling folder, which then replaces the target. A target that
/// is a file, or a folder holding anything Plumb did not write, is refused untouched.
pub fn write_folder_atomically(
    dir: &Path,
    files: &[plumb_targets::OutputFile],
) -> Result<(), CliError> {
    std::fs::create_dir_all(dir.parent().unwrap_or(Path::new(".")))
        .map_err(|e| cannot_write(dir, e))?;
    let dir = &absolute(dir)?;
    ensure_replaceable(dir)?;
    let parent = dir.parent().ok_or_else(|| {
        CliError::Usage(format!("cannot write a folder over `{}`", dir.display()))
    })?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gitops".to_string());
    let tmp = parent.join(format!(".{name}.plumb-tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.plumb-old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    if let Err(e) = fill_folder(&tmp, files) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(cannot_write(dir, e));
    }
    let had_old = dir.exists();
    if had_old {
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(cannot_write(dir, e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(cannot_write(dir, e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    remove_stale_temporaries(parent, &name);
    Ok(())
}

/// Removes what an earlier plumb killed while writing `name` left next to it
/// (`.NAME.plumb-tmp-PID…`, `.NAME.plumb-old-PID`): only when that process is gone, and
/// only where `/proc` tells (elsewhere a running build's temporaries would look
/// stale). Links are removed, never followed.
fn remove_stale_temporaries(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefixes = [format!(".{name}.plumb-tmp-"), format!(".{name}.plumb-old-")];
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes
            .iter()
            .find_map(|p| file_name.strip_prefix(p.as_str()))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let running = Path::new("/proc").join(pid).exists();
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || running {
            continue;
        }
        let path = entry.path();
        // a process of another PID namespace (a container sharing the folder) is not
        // in this `/proc`: only what no one touched for an hour is taken as left over
        let meta = std::fs::symlink_metadata(&path);
        let age = meta
            .as_ref()
            .ok()
            .and_then(|m| m.modified().ok()?.elapsed().ok());
        if age.is_none_or(|a| a < std::time::Duration::from_secs(3600)) {
            continue;
        }
        let _ = match meta {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// `dir` made absolute and without `.`/`..` (so `-o .` names a folder with a parent).
fn absolute(dir: &Path) -> Result<PathBuf, CliError> {
    if dir.exists() {
        return std::fs::canonicalize(dir).map_err(|e| cannot_write(dir, e));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dir
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("cannot write a folder at `{}`", dir.display())))?;
    let parent = std::fs::canonicalize(parent).map_err(|e| cannot_write(dir, e))?;
    Ok(parent.join(name))
}

/// Refuses a file, and a folder that holds anything not listed in its [`MARKER`].
fn ensure_replaceable(dir: &Path) -> Result<(), CliError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(cannot_write(dir, e)),
    };
    if !meta.is_dir() {
        return Err(CliError::Usage(format!(
            "`{}` exists and is not a folder; plumb writes a folder here and never replaces a file: give another path with -o",
            dir.display()
        )));
    }
    let listed: std::collections::BTreeSet<String> = std::fs::read_to_string(dir.join(MARKER))
        .map(|t| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut present = Vec::new();
    list_entries(dir, "", &mut present).map_err(|e| cannot_write(dir, e))?;
    // a file the marker lists is Plumb's only if it still starts as Plumb writes files:
    // a stale or planted marker must not make the build delete a source or a note
    let foreign = present.iter().find(|p| {
        p.as_str() != MARKER && (!listed.contains(p.as_str()) || !starts_generated(&dir.join(p)))
    });
    match foreign {
        None => Ok(()),
        Some(entry) => Err(CliError::Usage(format!(
            "`{}` holds `{entry}`, which plumb did not write; refusing to replace the folder (nothing was touched): give an empty folder or one plumb wrote with -o",
            dir.display()
        ))),
    }
}

/// Whether `path` is not a regular file (a link, an empty folder: replaced as they are)
/// or starts with the header every file `plumb build` writes.
fn starts_generated(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return true;
    };
    if !meta.is_file() {
        return true;
    }
    let head = first_bytes(path);
    [GENERATED_HEADER.0, "<!-- generated by plumb "]
        .iter()
        .any(|h| head.starts_with(h.as_bytes()))
}

/// The first bytes of a file (enough for a generated header); none when it cannot be read.
fn first_bytes(path: &Path) -> Vec<u8> {
    let mut head = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 32), &mut head));
    if read.is_err() {
        head.clear();
    }
    head
}

/// Every file, link and empty folder under `dir`, as relative paths with `/`; links
/// are not followed.
fn list_entries(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            let before = out.len();
            list_entries(&entry.path(), &format!("{rel}/"), out)?;
            if out.len() == before {
                out.push(format!("{rel}/"));
            }
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Writes the files and the marker listing them into a new folder `tmp`.
fn fill_folder(tmp: &Path, files: &[plumb_targets::OutputFile]) -> std::io::Result<()> {
    let mut marker = String::from(
        "# written by plumb build; plumb replaces this folder only while it holds nothing else\n",
    );
    for f in files {
        // paths come from plumb-targets, whose components are DNS labels; refuse
        // anything else rather than write outside the folder
        let rel = Path::new(&f.path);
        if f.path == MARKER
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(std::io::Error::other(format!(
                "refusing to write `{}`",
                f.path
            )));
        }
        let target = tmp.join(rel);
        if let Some(d) = target.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut out = std::fs::File::create(&target)?;
        out.write_all(f.contents.as_bytes())?;
        out.sync_all()?;
        marker.push_str(&f.path);
        marker.push('\n');
    }
    std::fs::create_dir_all(tmp)?;
    std::fs::write(tmp.join(MARKER), marker)
}
