//! Loading `.plumb` files from the paths given on the command line into the database,
//! with the files they import.

use crate::error::CliError;
use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use plumb_diagnostics::{Diagnostic, FileId, FileRange, TextRange};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Files larger than this are refused with a clear error: no pipeline is this large,
/// and it keeps memory bounded.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// At most this many files are loaded for one run.
pub const MAX_FILES: usize = 100_000;

pub struct LoadedFile {
    pub file: SourceFile,
    /// The path as shown to the user (relative when the user gave a relative path).
    pub display: String,
    /// Whether the user asked for this file (imports found along the way are loaded to
    /// resolve names, but their own diagnostics are not reported).
    pub requested: bool,
    /// Problems found while reading the file (not UTF-8).
    pub load_diagnostics: Vec<Diagnostic>,
    /// What the import of a GitLab CI file could not carry, as `file:line: message`
    /// (shown with `plumb check --verbose`; never an error).
    pub notes: Vec<String>,
    pub role: Role,
}

/// What a loaded file is.
pub enum Role {
    /// A Plumb source.
    Plumb,
    /// The program a GitLab CI file was read as: checked, never shown; its findings are
    /// moved to the YAML (see [`crate::yaml_check`]).
    ReadFromYaml(Box<crate::yaml_check::YamlProgram>),
    /// A GitLab CI file's text, for showing findings in it (not a Plumb source).
    Yaml,
}

/// Which files a command reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// `.plumb` files only (build, graph, fmt).
    Plumb,
    /// `.plumb` files and GitLab CI YAML (check).
    PlumbAndYaml,
}

pub struct Session {
    pub db: Database,
    pub ws: Workspace,
    pub files: Vec<LoadedFile>,
}

impl Session {
    /// Loads every `*.plumb` file under `paths` (files or folders) and what they import,
    /// and with [`Wanted::PlumbAndYaml`] the GitLab CI files, read for a check.
    pub fn load(paths: &[PathBuf], config: Config, wanted: Wanted) -> Result<Session, CliError> {
        let mut requested: Vec<(PathBuf, String)> = Vec::new();
        for p in paths {
            collect(p, &mut requested, wanted)?;
        }
        let yaml_files: Vec<(PathBuf, String)>;
        (yaml_files, requested) = requested
            .into_iter()
            .partition(|(p, _)| crate::yaml_check::is_yaml(p));
        let roots = roots(paths);
        if requested.is_empty() && yaml_files.is_empty() {
            return Err(CliError::NoFiles {
                paths: paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut db = Database::default();
        let mut preloaded = parse_in_parallel(&db, &requested);
        let mut files: Vec<LoadedFile> = Vec::new();
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
        let mut queue: Vec<(PathBuf, String, bool)> =
            requested.into_iter().map(|(p, d)| (p, d, true)).collect();
        queue.reverse();
        while let Some((path, display, is_requested)) = queue.pop() {
            let key = match preloaded.keys.get(&path) {
                Some(key) => key.clone(),
                None => absolute(&path),
            };
            if let Some(&i) = by_path.get(&key) {
                files[i].requested |= is_requested;
                continue;
            }
            if files.len() >= MAX_FILES {
                return Err(CliError::TooManyFiles { limit: MAX_FILES });
            }
            let id = FileId(files.len() as u32);
            let (file, load_diagnostics) = match preloaded.parsed.remove(&key) {
                Some(file) => {
                    if file.id(&db) != id {
                        plumb_db::set_id(&mut db, file, id);
                    }
                    (file, Vec::new())
                }
                None => {
                    let (text, load_diagnostics) = read_source(&path, id)?;
                    let file = plumb_db::new_file(&db, id, key.clone(), text, Origin::Disk);
                    (file, load_diagnostics)
                }
            };
            // the files this one imports are loaded next; the parse that finds them is
            // the database's own, so it is not repeated when the file is checked
            for import in &plumb_db::item_tree(&db, file).imports {
                let target =
                    plumb_db::normalize(&key.parent().unwrap_or(Path::new("/")).join(&import.path));
                let plumb = target.extension().is_some_and(|e| e == "plumb");
                if !plumb
                    || by_path.contains_key(&target)
                    || std::fs::symlink_metadata(&target).is_err()
                {
                    continue; // not Plumb, loaded already, or missing: PL1006 says so
                }
                if let Some(why) = plumb_config::unreadable_file(&target, &roots) {
                    warn_skipped(&target, &why);
                    continue;
                }
                let shown = Path::new(&display)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(&import.path);
                queue.push((
                    target,
                    plumb_db::normalize(&shown).display().to_string(),
                    false,
                ));
            }
            by_path.insert(key, files.len());
            files.push(LoadedFile {
                file,
                display,
                requested: is_requested,
                load_diagnostics,
                notes: Vec::new(),
                role: Role::Plumb,
            });
        }
        // a file `plumb build` wrote from the sources loaded is checked through them
        // (one workspace of the Plumb sources for every generated file compared)
        let sources = Sources {
            ws: plumb_db::new_workspace(
                &db,
                files.iter().map(|f| f.file).collect(),
                config.clone(),
            ),
            config: &config,
        };
        let yaml_files: Vec<(PathBuf, String)> = (yaml_files.into_iter())
            .filter(|(p, _)| !is_current_build(&db, &files, &sources, p))
            .collect();
        load_yaml_files(&db, yaml_files, &roots, &mut files, &sources)?;
        crate::yaml_check::check_included_through_includers(&db, &mut files);
        // the YAML texts too: the database finds a file by its id, the index in this
        // list (nothing checks them as Plumb: they are never requested as such)
        let ws = plumb_db::new_workspace(&db, files.iter().map(|f| f.file).collect(), config);
        Ok(Session { db, ws, files })
    }

    /// Gives each file the `plumb.toml` found from its own folder upward (a monorepo has
    /// one per project); files with none above them keep the session's configuration.
    pub fn use_nearest_configs(&mut self) -> Result<(), CliError> {
        let mut found: std::collections::BTreeMap<PathBuf, ()> = Default::default();
        // files are keyed by their resolved path: the files of one folder share the
        // answer, and asking once per folder saves a walk up the tree per file
        let mut folders_asked = std::collections::HashSet::new();
        for f in &self.files {
            let path = f.file.path(&self.db);
            let folder = path.parent().unwrap_or(path);
            if !folders_asked.insert(folder.to_path_buf()) {
                continue;
            }
            if let Some(toml) = plumb_config::find_config_file(folder) {
                found.insert(toml, ());
            }
        }
        let mut scopes = Vec::new();
        for toml in found.into_keys() {
            let config = crate::load_config_file(&toml)?;
            let folder = toml.parent().unwrap_or(Path::new("/")).to_path_buf();
            scopes.push(plumb_db::ConfigScope { folder, config });
        }
        plumb_db::set_scopes(&mut self.db, self.ws, scopes);
        Ok(())
    }

    pub fn display(&self, id: FileId) -> &str {
        &self.files[id.0 as usize].display
    }

    pub fn text(&self, id: FileId) -> &str {
        self.files[id.0 as usize].file.text(&self.db)
    }
}

/// The Plumb files loaded, as one workspace, and the session's configuration: what a
/// generated GitLab file is compared with.
#[derive(Clone, Copy)]
struct Sources<'a> {
    ws: plumb_db::Workspace,
    config: &'a Config,
}

/// Whether the GitLab CI file at `path` is what `plumb build --target gitlab` (one file,
/// or one of `--split`) gives from the loaded sources its first line names: such a
/// file is checked through its sources. The line alone proves nothing (a merge request
/// can put it over any YAML, and a hand edit keeps it), so a file that differs, or
/// whose sources are not loaded or have errors, is checked as YAML.
fn is_current_build(db: &Database, files: &[LoadedFile], sources: &Sources, path: &Path) -> bool {
    let Ok(text) = read_text(path) else {
        return false;
    };
    let first = text.lines().next().unwrap_or_default();
    let Some(named) = (first.strip_prefix("# generated by plumb from "))
        .and_then(|rest| rest.strip_suffix(", do not edit"))
    else {
        return false;
    };
    // its local includes and child pipelines are YAML no check of the sources reads
    let reads_yaml = text.contains("\n- local: ") || text.contains("\n  trigger:\n    include:");
    if reads_yaml {
        return false;
    }
    // the name is as `plumb build` was given it, from whatever folder it ran in: any
    // loaded source whose path ends so (the comparison below proves which one)
    let loaded = |name: &str| {
        let named = plumb_db::normalize(Path::new(name));
        // (`../ci/main.plumb`: what follows the folders above)
        let named: PathBuf = (named.components())
            .skip_while(|c| matches!(c, std::path::Component::ParentDir))
            .collect();
        let names = |f: &&LoadedFile| {
            matches!(f.role, Role::Plumb)
                && (named.is_absolute() && *f.file.path(db) == named
                    || !named.is_absolute() && f.file.path(db).ends_with(&named))
        };
        let f = files.iter().find(names)?;
        Some((f.file, name.to_string()))
    };
    let Some(named) = named.split(", ").map(loaded).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let Sources { ws, config } = *sources;
    let erroneous = |f: &SourceFile| {
        (plumb_db::check_file(db, ws, *f).iter())
            .any(|d| d.severity == plumb_diagnostics::Severity::Error)
    };
    if named.iter().any(|(f, _)| erroneous(f)) {
        return false;
    }
    let event = plumb_semantics::Event::Branch(config.default_branch().to_string());
    [false, true].into_iter().any(|split| {
        let request = plumb_db::CompileRequest::new(
            db,
            named.clone(),
            plumb_targets::Target::Gitlab,
            split,
            event.clone(),
            std::collections::BTreeMap::<String, String>::new(),
        );
        plumb_db::compile(db, ws, request)
            .as_ref()
            .is_ok_and(|build| match split {
                false => {
                    build
                        .files
                        .iter()
                        .map(|f| f.contents.as_str())
                        .collect::<String>()
                        == text
                }
                true => build.files.iter().any(|f| f.contents == text),
            })
    })
}

/// The folders whose files may be read through a symbolic link: each path asked for (a
/// file's folder), resolved.
fn roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter_map(|p| {
            let p = std::fs::canonicalize(p).ok()?;
            Some(if p.is_dir() {
                p
            } else {
                p.parent()?.to_path_buf()
            })
        })
        .collect()
}

/// Reads the GitLab CI files for a check, and the child pipelines their trigger jobs
/// run (`trigger: include: local`), each once: a child pipeline is a configuration of
/// its own, which GitLab runs with the parent's rights.
fn load_yaml_files(
    db: &Database,
    yaml_files: Vec<(PathBuf, String)>,
    roots: &[PathBuf],
    files: &mut Vec<LoadedFile>,
    sources: &Sources,
) -> Result<(), CliError> {
    let mut seen: std::collections::HashSet<PathBuf> =
        yaml_files.iter().map(|(p, _)| absolute(p)).collect();
    let mut queue: std::collections::VecDeque<(PathBuf, String)> = yaml_files.into();
    while let Some((path, display)) = queue.pop_front() {
        for child in crate::yaml_check::load(db, &path, display, files)? {
            // missing: the trigger job fails in GitLab, nothing to check here; one
            // `plumb build` wrote is checked through its sources
            if std::fs::symlink_metadata(&child).is_err() || !seen.insert(absolute(&child)) {
                continue;
            }
            // (before anything is read: opening a FIFO waits for a writer)
            if let Some(why) = plumb_config::unreadable_file(&child, roots) {
                warn_skipped(&child, &why);
                continue;
            }
            if is_current_build(db, files, sources, &child) {
                continue;
            }
            if files.len() + queue.len() >= MAX_FILES {
                return Err(CliError::TooManyFiles { limit: MAX_FILES });
            }
            let shown = crate::yaml_check::shown_path(&child);
            queue.push_back((child, shown));
        }
    }
    Ok(())
}

fn warn_skipped(path: &Path, why: &str) {
    eprintln!("plumb: warning: skipped `{}`: it {why}", path.display());
}

/// The `*.plumb` files that paths name (files, or folders searched recursively), with
/// their paths as shown to the user.
pub fn plumb_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        collect(p, &mut out, Wanted::Plumb)?;
    }
    Ok(out)
}

pub(crate) fn absolute(path: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(path));
    plumb_db::normalize(&abs)
}

/// The `*.plumb` files a path names (and with [`Wanted::PlumbAndYaml`] the GitLab CI
/// files that Plumb did not generate), sorted, skipping hidden folders and build output.
fn collect(path: &Path, out: &mut Vec<(PathBuf, String)>, wanted: Wanted) -> Result<(), CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.is_file() {
        if wanted == Wanted::Plumb && crate::yaml_check::is_yaml(path) {
            return Err(CliError::Usage(format!(
                "`{}` is YAML, not a Plumb source: `plumb check` reads GitLab CI files, and `plumb import` converts one to Plumb",
                path.display()
            )));
        }
        out.push((path.to_path_buf(), path.display().to_string()));
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(CliError::Io {
            path: path.display().to_string(),
            message: "not a regular file or a folder".to_string(),
        });
    }
    let mut found = BTreeSet::new();
    let roots = roots(std::slice::from_ref(&path.to_path_buf()));
    walk(path, &roots, &mut found, 0, wanted)?;
    out.extend(found.into_iter().map(|p| {
        let shown = p.display().to_string();
        (p, shown)
    }));
    Ok(())
}

fn walk(
    dir: &Path,
    roots: &[PathBuf],
    found: &mut BTreeSet<PathBuf>,
    depth: usize,
    wanted: Wanted,
) -> Result<(), CliError> {
    if depth > 64 || found.len() > MAX_FILES {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&path, roots, found, depth + 1, wanted)?;
            }
        } else if name.ends_with(".plumb")
            || (wanted == Wanted::PlumbAndYaml && crate::yaml_check::is_gitlab_ci_name(&name))
        {
            // linked folders are not followed; linked and special files are checked
            // before anything is read (opening a FIFO waits for a writer)
            match plumb_config::unreadable_file(&path, roots) {
                None => {
                    found.insert(path);
                }
                Some(why) => warn_skipped(&path, &why),
            }
        }
    }
    Ok(())
}

/// The requested files resolved, read and parsed on every core, before the walk over
/// imports (one file after another, in the order that gives each file its id) finds
/// each parse done. Their ids are provisional (the order they were asked for, which the
/// walk keeps unless a file imports one asked for later) until the walk gives the final
/// ones: a parse does not read its file's id. A file that cannot be read, or is not
/// UTF-8, is left to the walk, which reports it.
#[derive(Default)]
struct Preloaded {
    /// Each requested path's absolute form (resolving it is system calls: done once).
    keys: HashMap<PathBuf, PathBuf>,
    /// The files read and parsed, by absolute path.
    parsed: HashMap<PathBuf, SourceFile>,
}

fn parse_in_parallel(db: &Database, requested: &[(PathBuf, String)]) -> Preloaded {
    let workers = crate::parallel::cores();
    // more files than are ever loaded: the walk refuses them before reading them all
    if workers < 2 || requested.len() < 2 * workers || requested.len() > MAX_FILES {
        return Preloaded::default();
    }
    let read = crate::parallel::map(requested, &(), |_, (path, _)| {
        let text = read_source(path, FileId(0))
            .ok()
            .and_then(|(text, problems)| problems.is_empty().then_some(text));
        (absolute(path), text)
    });
    let mut out = Preloaded::default();
    let mut files: Vec<(PathBuf, SourceFile)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, done) in read.into_iter().enumerate() {
        let Some((key, text)) = done else { continue };
        out.keys.insert(requested[i].0.clone(), key.clone());
        // a file asked for twice is loaded once, as the walk does
        let (Some(text), Ok(provisional)) = (text, u32::try_from(i)) else {
            continue;
        };
        if !seen.insert(key.clone()) {
            continue;
        }
        let file = plumb_db::new_file(db, FileId(provisional), key.clone(), text, Origin::Disk);
        files.push((key, file));
    }
    // a parse a thread could not do is done by the walk
    crate::parallel::map(&files, db, |db, (_, f)| {
        plumb_db::item_tree(db, *f);
    });
    out.parsed = files.into_iter().collect();
    out
}

/// A file's bytes, at most [`MAX_FILE_BYTES`]: `Ok(Err(size))` for a larger one, `size`
/// its length (or what was read of it). A FIFO named on the command line (`plumb check
/// <(…)`) is read, and a device that never ends (`/dev/zero`, a link to it) stops at
/// the limit: its size says 0 (the walk and imports skip special files before here).
pub(crate) fn read_capped(path: &Path) -> std::io::Result<Result<Vec<u8>, u64>> {
    use std::io::Read;
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE_BYTES {
        return Ok(Err(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Ok(Err(bytes.len() as u64));
    }
    Ok(Ok(bytes))
}

/// A UTF-8 text file of at most [`MAX_FILE_BYTES`], as [`read_capped`] reads it.
pub(crate) fn read_text(path: &Path) -> Result<String, CliError> {
    // a file's name may hold a line break or an escape sequence: shown escaped
    let shown = crate::render::printable(&path.display().to_string());
    let io_err = |message: String| CliError::Io {
        path: shown.clone(),
        message,
    };
    let bytes = read_capped(path)
        .map_err(|e| io_err(e.to_string()))?
        .map_err(|size| CliError::FileTooLarge {
            path: shown.clone(),
            size,
            limit: MAX_FILE_BYTES,
        })?;
    String::from_utf8(bytes).map_err(|_| io_err("the file is not valid UTF-8".to_string()))
}

/// Reads a source file: a clear error for what cannot be read or is too large, and a
/// syntax error (with the text read lossily) for bytes that are not UTF-8.
pub(crate) fn read_source(path: &Path, id: FileId) -> Result<(String, Vec<Diagnostic>), CliError> {
    let io_err = |e: std::io::Error| CliError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let bytes = read_capped(path)
        .map_err(io_err)?
        .map_err(|size| CliError::FileTooLarge {
            path: path.display().to_string(),
            size,
            limit: MAX_FILE_BYTES,
        })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, Vec::new())),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let d = Diagnostic::error(
                plumb_syntax::SYNTAX_ERROR,
                FileRange {
                    file: id,
                    range: TextRange::new(valid, (valid + 3).min(text.len())),
                },
                "the file is not valid UTF-8",
            )
            .with_label("invalid bytes start here")
            .with_help("Plumb sources are UTF-8 text; re-save the file as UTF-8");
            Ok((text, vec![d]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files parsed ahead on every core get the ids the walk over imports gives them:
    /// a file that imports one asked for after it moves that one up, as it always did.
    #[test]
    fn files_parsed_ahead_keep_the_walks_ids() {
        let dir = std::env::temp_dir().join(format!("plumb-parse-ahead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let mut paths = Vec::new();
        for i in 0..12 {
            let path = dir.join(format!("f{i:02}.plumb"));
            // the first file imports the last one
            let text = if i == 0 {
                "import \"f11.plumb\"\nlet a0 = \"x\"\n".to_string()
            } else {
                format!("let a{i} = \"x\"\n")
            };
            std::fs::write(&path, text).expect("write");
            paths.push(path);
        }
        let session = Session::load(&paths, Config::default(), Wanted::Plumb).expect("load");
        let order: Vec<String> = session
            .files
            .iter()
            .map(|f| f.display.rsplit('/').next().unwrap_or("").to_string())
            .collect();
        assert_eq!(order[..3], ["f00.plumb", "f11.plumb", "f01.plumb"]);
        for (i, f) in session.files.iter().enumerate() {
            assert_eq!(f.file.id(&session.db), FileId(i as u32), "{}", f.display);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
