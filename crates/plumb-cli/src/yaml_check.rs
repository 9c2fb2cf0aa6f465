//! `plumb check` on GitLab CI YAML (spec §9.1). Each file is read as `plumb import`
//! reads it (YAML 1.1, anchors, merge keys, `!reference`, `extends`, `default:`,
//! `include: local` from the repository root), in memory, into a program that the
//! database checks like any Plumb source; every finding is then moved to the YAML
//! value it is about (`plumb_import::origins`). Nothing is written.

use crate::error::CliError;
use crate::workspace::{absolute, LoadedFile, Role};
pub use plumb_db::yaml::{allow, YamlProgram};
use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;
use std::path::{Path, PathBuf};

/// A `.yml` or `.yaml` file (named on the command line, it is read as GitLab CI).
pub fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

/// The names a folder walk reads as GitLab CI: `.gitlab-ci.yml`, `*.gitlab-ci.yml`.
pub fn is_gitlab_ci_name(name: &str) -> bool {
    name.ends_with(".gitlab-ci.yml") || name.ends_with(".gitlab-ci.yaml")
}

/// Reads the GitLab CI file at `path` for a check: its text (and that of the files it
/// includes) as files to show, and the program it is read as, to check. Gives the
/// local files its trigger jobs run as child pipelines, to check as files of their own.
pub fn load(
    db: &Database,
    path: &Path,
    display: String,
    files: &mut Vec<LoadedFile>,
) -> Result<Vec<PathBuf>, CliError> {
    let main = shown_file(db, files, path, display, None)?;
    let text = files[main.0 as usize].file.text(db).clone();
    if !files[main.0 as usize].load_diagnostics.is_empty() {
        files[main.0 as usize].requested = true; // not UTF-8: reported, not read
        return Ok(Vec::new());
    }
    let disk = plumb_import::Disk::for_file(path, None);
    let mut read = match plumb_import::import_for_check(path, &text, &disk) {
        Ok(read) => read,
        Err(e) => {
            let d = plumb_db::yaml::not_yaml(main, &text, e.line, &e.message);
            let file = &mut files[main.0 as usize];
            file.load_diagnostics.push(d);
            file.requested = true;
            return Ok(Vec::new());
        }
    };
    let children = std::mem::take(&mut read.children);
    let mut sources = vec![main];
    for (included, text) in read.sources.iter().skip(1) {
        sources.push(shown_file(
            db,
            files,
            included,
            shown_path(included),
            Some(text.clone()),
        )?);
    }
    let notes = read
        .warnings
        .iter()
        .map(|w| {
            let file = read
                .sources
                .get(w.file)
                .map_or_else(|| path.display().to_string(), |(p, _)| shown_path(p));
            format!("{file}:{}: {}", w.line, w.message)
        })
        .collect();
    let id = FileId(files.len() as u32);
    // a path no walk finds, next to the YAML: `plumb.toml` is looked up from its folder
    let program_path = PathBuf::from(format!("{}#plumb", absolute(path).display()));
    let file = plumb_db::new_file(db, id, program_path, read.plumb, Origin::Disk);
    files.push(LoadedFile {
        file,
        display: format!("{}#plumb", files[main.0 as usize].display),
        requested: true,
        load_diagnostics: Vec::new(),
        notes,
        role: Role::ReadFromYaml(Box::new(
            YamlProgram::new(read.origins, read.renames, sources).with_refused(
                read.refused,
                read.refused_lines,
                read.refusals,
            ),
        )),
    });
    Ok(children)
}

/// A GitLab CI file that another checked one includes is checked through it (its
/// variables, `default:` and templates are the includer's), not again on its own, where
/// what the includer gives it would be missing. Two files that include each other are
/// both kept.
pub fn check_included_through_includers(db: &Database, files: &mut [LoadedFile]) {
    let programs: Vec<(usize, PathBuf, Vec<PathBuf>)> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.role {
            Role::ReadFromYaml(p) => {
                let main = files
                    .get(p.source_ids()[0].0 as usize)?
                    .file
                    .path(db)
                    .clone();
                let included = p.source_ids()[1..]
                    .iter()
                    .filter_map(|id| Some(files.get(id.0 as usize)?.file.path(db).clone()))
                    .collect();
                Some((i, main, included))
            }
            _ => None,
        })
        .collect();
    for (i, main, included) in &programs {
        let through = programs.iter().any(|(j, other_main, other_includes)| {
            j != i && other_includes.contains(main) && !included.contains(other_main)
        });
        if through {
            files[*i].requested = false;
        }
    }
}

/// The session's file for a YAML text to show (one per path).
fn shown_file(
    db: &Database,
    files: &mut Vec<LoadedFile>,
    path: &Path,
    display: String,
    text: Option<String>,
) -> Result<FileId, CliError> {
    let key = absolute(path);
    let same = |f: &LoadedFile| matches!(f.role, Role::Yaml) && f.file.path(db) == &key;
    if let Some(i) = files.iter().position(same) {
        return Ok(FileId(i as u32));
    }
    let id = FileId(files.len() as u32);
    let (text, load_diagnostics) = match text {
        Some(text) => (text, Vec::new()),
        None => crate::workspace::read_source(path, id)?,
    };
    let file = plumb_db::new_file(db, id, key, text, Origin::Disk);
    files.push(LoadedFile {
        file,
        display,
        requested: false,
        load_diagnostics,
        notes: Vec::new(),
        role: Role::Yaml,
    });
    Ok(id)
}

/// An included file's path as shown: relative to the current folder when below it.
pub(crate) fn shown_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let abs = absolute(path);
    cwd.and_then(|c| {
        abs.strip_prefix(std::fs::canonicalize(c).ok()?)
            .ok()
            .map(Path::to_path_buf)
    })
    .unwrap_or(abs)
    .display()
    .to_string()
}
