//! Baselines (spec §9): `--write-baseline FILE` records the fingerprints of today's
//! findings; `--baseline FILE` reports only findings that are not in it, so a team can
//! adopt Plumb on an old pipeline and fail merge requests only on what they add. The
//! fingerprints are the reports' (`reports::fingerprints`): they survive edits
//! elsewhere in the file, because they hash the code, the file, the message and the
//! text under the span, never a line number.

use crate::error::CliError;
use crate::workspace::Session;
use plumb_diagnostics::Diagnostic;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

/// A baseline larger than this is refused (it would hold millions of findings).
const MAX_BASELINE_BYTES: u64 = 64 * 1024 * 1024;

/// Writes the fingerprints of `diags` to `path` (atomically), with the code, file and
/// message of each so that a reviewer can read what was accepted.
pub fn write(session: &Session, diags: &[Diagnostic], path: &Path) -> Result<(), CliError> {
    let prints = crate::reports::fingerprints_from(session, diags, folder_of(path).as_deref());
    let findings: Vec<Value> = diags
        .iter()
        .zip(&prints)
        .map(|(d, print)| {
            json!({
                "fingerprint": print,
                "code": d.code.as_str(),
                "file": session.display(d.file()),
                "message": d.message,
            })
        })
        .collect();
    let doc = json!({ "plumb_baseline": 1, "findings": findings });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    // `--write-baseline .gitlab-ci.yml` (a slip of the tongue) must not replace the
    // pipeline: only a new file or an earlier baseline is written
    if std::fs::symlink_metadata(path).is_ok() && read(path).is_err() {
        return Err(CliError::Usage(format!(
            "`{}` exists and is not a Plumb baseline: not overwritten (name a new file, or remove it first)",
            path.display()
        )));
    }
    crate::build::write_atomically(path, &text)
}

/// The findings of `diags` that `path` does not record. A baseline that cannot be read
/// is an error, never an empty baseline: it would let every old finding fail, or, the
/// other way round, a corrupt file must not silence anything.
pub fn filter(
    session: &Session,
    diags: Vec<Diagnostic>,
    path: &Path,
) -> Result<Vec<Diagnostic>, CliError> {
    let known = read(path)?;
    let prints = crate::reports::fingerprints_from(session, &diags, folder_of(path).as_deref());
    Ok(diags
        .into_iter()
        .zip(prints)
        .filter(|(_, print)| !known.contains(print))
        .map(|(d, _)| d)
        .collect())
}

/// The baseline's folder, resolved: file paths in its fingerprints are relative to it,
/// so that the check matches from whatever folder it runs.
fn folder_of(path: &Path) -> Option<std::path::PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::canonicalize(parent).ok()
}

fn read(path: &Path) -> Result<HashSet<String>, CliError> {
    let bad = |message: String| CliError::Io {
        path: path.display().to_string(),
        message,
    };
    // a regular file, read up to the limit: a device (`/dev/zero`) or a `/proc` file
    // says its size is 0 and never ends
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BASELINE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_BASELINE_BYTES {
        return Err(bad(format!(
            "the baseline is over the limit of {MAX_BASELINE_BYTES} bytes"
        )));
    }
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a Plumb baseline (not JSON: {e})")))?;
    let findings = doc
        .get("findings")
        .and_then(Value::as_array)
        .filter(|_| doc.get("plumb_baseline") == Some(&json!(1)))
        .ok_or_else(|| {
            bad("not a Plumb baseline (write one with `plumb check --write-baseline FILE`)".into())
        })?;
    findings
        .iter()
        .map(|f| {
            f.get("fingerprint")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad("a finding of the baseline has no `fingerprint`".into()))
        })
        .collect()
}
