//! `plumb import`: GitLab CI YAML to Plumb.

use crate::error::CliError;
use miette::NamedSource;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, root: Option<&Path>, output: Option<&Path>) -> Result<ExitCode, CliError> {
    // a FIFO or a device would block the read, or never end (as `check` refuses them)
    if std::fs::metadata(file).is_ok_and(|m| !m.is_file()) {
        return Err(CliError::Io {
            path: crate::render::printable(&file.display().to_string()),
            message: "not a regular file".to_string(),
        });
    }
    let text = crate::workspace::read_text(file)?;
    if let Some(dir) = root.filter(|d| !d.is_dir()) {
        return Err(CliError::Io {
            path: dir.display().to_string(),
            message: "--root is not a folder".to_string(),
        });
    }
    let disk = plumb_import::Disk::for_file(file, root);
    let imported = match plumb_import::import(file, &text, &disk) {
        Ok(i) => i,
        Err(e) => {
            let span = line_span(&text, e.line);
            return Err(CliError::Yaml {
                message: format!("`{}` is not valid YAML: {}", file.display(), e.message),
                src: NamedSource::new(file.display().to_string(), text),
                span,
            });
        }
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for w in &imported.warnings {
        // the imported file as named; an included one below the current folder from it
        // (§9: relative paths), as `plumb check` shows it
        let path = match imported.sources.get(w.file) {
            Some(p) if w.file > 0 => crate::yaml_check::shown_path(p),
            _ => file.display().to_string(),
        };
        let (path, message) = (
            crate::render::printable(&path),
            crate::render::printable(&w.message),
        );
        let _ = writeln!(err, "warning: {path}:{}: {message}", w.line);
    }
    match output {
        Some(out) => {
            // the input, or a program someone wrote, is never replaced by an import
            let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
            if let Some(read) = imported.sources.iter().skip(1).find(|f| same(out, f)) {
                return Err(CliError::Usage(format!(
                    "`{}` is a file the import read (`{}`); refusing to replace it (nothing was written): give another path with -o",
                    out.display(),
                    read.display()
                )));
            }
            if same(out, file) {
                return Err(CliError::Usage(format!(
                    "`{}` is the file imported; refusing to replace it (nothing was written): give another path with -o",
                    out.display()
                )));
            }
            crate::build::ensure_generated_or_absent(out, crate::build::IMPORTED_HEADER)?;
            crate::build::write_atomically(out, &imported.plumb)?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(imported.plumb.as_bytes())
                .map_err(|e| CliError::Output(e.to_string()))?;
        }
    }
    // after the program is written: a summary says nothing of an import that failed
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        err,
        "plumb import: {} imported, {} left out, {}",
        count(imported.jobs_imported, "job", "jobs"),
        imported.jobs_left_out,
        count(imported.warnings.len(), "warning", "warnings")
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn line_span(text: &str, line: usize) -> Option<miette::SourceSpan> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let len = text[start.min(text.len())..]
        .find('\n')
        .unwrap_or(text.len().saturating_sub(start));
    (line > 0).then(|| (start, len).into())
}
