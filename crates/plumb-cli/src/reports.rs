//! Machine-readable reports for CI systems: SARIF 2.1.0, GitLab Code Quality, and
//! GitHub Actions workflow commands.

use crate::render::Positions;
use crate::workspace::Session;
use plumb_diagnostics::{Diagnostic, Severity};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const INFORMATION_URI: &str = "https://plumb.dev";

/// A fingerprint that stays the same across runs and across edits elsewhere in the
/// file: it hashes the code, the file, the message, the text under the span and the
/// first related label (which names the job, so that one of several identical findings
/// keeps its print when another is added above it), never line numbers, plus how many
/// identical findings came before it.
pub fn fingerprints(session: &Session, diags: &[Diagnostic]) -> Vec<String> {
    fingerprints_from(session, diags, current_dir().as_deref())
}

/// [`fingerprints`] with file paths taken relative to `base` (a baseline's folder, so
/// that a check run from another folder matches it).
pub fn fingerprints_from(
    session: &Session,
    diags: &[Diagnostic],
    base: Option<&Path>,
) -> Vec<String> {
    let mut seen: HashMap<(String, String, String, String), usize> = HashMap::new();
    diags
        .iter()
        .map(|d| {
            let text = session.text(d.file());
            let snippet = text
                .get(d.primary.at.range.as_range())
                .unwrap_or("")
                .to_string();
            let context = d.secondary.first().map_or("", |l| l.message.as_str());
            let key = (
                d.code.to_string(),
                place(session, d.file(), base).shown(),
                format!("{}\u{0}{context}", d.message),
                snippet,
            );
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            let material = format!(
                "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
                key.0, key.1, key.2, key.3, n
            );
            format!(
                "{:016x}{:016x}",
                fnv1a(material.as_bytes(), 0xcbf2_9ce4_8422_2325),
                fnv1a(material.as_bytes(), 0x8422_2325_cbf2_9ce4)
            )
        })
        .collect()
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = seed;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// SARIF messages are sentences.
fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// SARIF 2.1.0: every rule of the registry in the driver, one result per diagnostic
/// with its location, related locations (the secondary spans) and fixes.
pub fn sarif(session: &Session, diags: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    let mut pos = Positions::new(session);
    let rules: Vec<&plumb_checks::RuleMeta> =
        plumb_checks::RULES.iter().map(|r| r.meta()).collect();
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.code.as_str(), i))
        .collect();
    let mut region = |at: plumb_diagnostics::FileRange| {
        let (line, col, end_line, end_col) = pos.span(at);
        json!({ "startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col })
    };
    let cwd = current_dir();
    let artifact = |at: plumb_diagnostics::FileId| place(session, at, cwd.as_deref()).sarif();
    let location = |at: plumb_diagnostics::FileRange, region: Value| json!({ "physicalLocation": { "artifactLocation": artifact(at.file), "region": region } });
    let prints = fingerprints(session, diags);
    let results: Vec<Value> = diags
        .iter()
        .zip(&prints)
        .map(|(d, print)| {
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "level": sarif_level(d.severity),
                "message": { "text": sentence(&d.message) },
                "locations": [location(d.primary.at, region(d.primary.at))],
                "partialFingerprints": { "plumbFingerprint/v1": print },
            });
            if let Some(i) = rule_index.get(d.code.as_str()) {
                result["ruleIndex"] = json!(i);
            }
            if !d.secondary.is_empty() {
                result["relatedLocations"] = Value::Array(
                    d.secondary
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let mut loc = location(l.at, region(l.at));
                            loc["id"] = json!(i + 1);
                            loc["message"] = json!({ "text": sentence(&l.message) });
                            loc
                        })
                        .collect(),
                );
            }
            if !d.fixes.is_empty() {
                result["fixes"] = Value::Array(
                    d.fixes
                        .iter()
                        .map(|f| {
                            let changes: Vec<Value> = f
                                .edits
                                .iter()
                                .map(|e| {
                                    json!({
                                        "artifactLocation": artifact(e.at.file),
                                        "replacements": [{ "deletedRegion": region(e.at), "insertedContent": { "text": e.replacement } }],
                                    })
                                })
                                .collect();
                            json!({ "description": { "text": sentence(&f.title) }, "artifactChanges": changes })
                        })
                        .collect(),
                );
            }
            result
        })
        .collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code.as_str(),
                "name": pascal(r.name()),
                "shortDescription": { "text": sentence(r.summary) },
                "fullDescription": { "text": sentence(r.explanation) },
                "help": { "text": format!("Run `plumb explain {}` for the rule's documentation with examples.", r.code) },
                "helpUri": format!("{INFORMATION_URI}/rules/{}", r.code),
                "defaultConfiguration": { "level": sarif_level(r.severity()) },
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "plumb",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules_json,
            }},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": { SRCROOT: { "uri": cwd.as_deref().map_or_else(|| "file:///".to_string(), |c| format!("{}/", file_uri(c).trim_end_matches('/'))) } },
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// `image-without-tag` is `ImageWithoutTag` (SARIF rule names are identifiers).
fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Where a report places a file: relative to the current folder (with `/`) when the file
/// is below it, as code-scanning services and SARIF viewers expect; its absolute path
/// otherwise.
enum Place {
    Below(String),
    Outside(PathBuf),
}

/// The current folder as the files' paths spell it (they are canonical).
fn current_dir() -> Option<PathBuf> {
    std::env::current_dir()
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok())
}

fn place(session: &Session, id: plumb_diagnostics::FileId, cwd: Option<&Path>) -> Place {
    let path = session.files[id.0 as usize].file.path(&session.db);
    match cwd.and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => Place::Below(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        ),
        _ => Place::Outside(path.clone()),
    }
}

/// The path of each file as JSON reports give it (§9): relative to the current folder
/// when the file is below it, else an absolute `file://` URI; worked out once per file.
pub struct ReportPaths {
    cwd: Option<PathBuf>,
    known: std::collections::HashMap<u32, String>,
}

impl Default for ReportPaths {
    fn default() -> Self {
        Self::new()
    }
}

impl ReportPaths {
    pub fn new() -> Self {
        ReportPaths {
            cwd: current_dir(),
            known: std::collections::HashMap::new(),
        }
    }

    pub fn of(&mut self, session: &Session, id: plumb_diagnostics::FileId) -> String {
        let cwd = self.cwd.as_deref();
        self.known
            .entry(id.0)
            .or_insert_with(|| match place(session, id, cwd) {
                Place::Below(rel) => rel,
                Place::Outside(abs) => file_uri(&abs),
            })
            .clone()
    }
}

impl Place {
    /// The path a GitLab or GitHub report shows.
    fn shown(&self) -> String {
        match self {
            Place::Below(rel) => rel.clone(),
            Place::Outside(abs) => abs.display().to_string(),
        }
    }

    /// A SARIF `artifactLocation`: relative to `%SRCROOT%`, or a `file://` URI.
    fn sarif(&self) -> Value {
        match self {
            Place::Below(rel) => json!({ "uri": percent_encode(rel), "uriBaseId": SRCROOT }),
            Place::Outside(abs) => json!({ "uri": file_uri(abs) }),
        }
    }
}

/// The base id SARIF locations below the current folder are relative to.
const SRCROOT: &str = "%SRCROOT%";

/// `file:///…` for an absolute path.
fn file_uri(abs: &Path) -> String {
    let path = abs.to_string_lossy().replace('\\', "/");
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    format!("file://{}", percent_encode(&path))
}

/// Percent-encodes what a URI path may not hold as is (RFC 3986: all but unreserved
/// characters and `/`).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GitLab's Code Quality report: exactly `description`, `check_name`, `fingerprint`,
/// `severity` and `location.path` / `location.lines.begin` for each finding.
pub fn gitlab(session: &Session, diags: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    let mut pos = Positions::new(session);
    let prints = fingerprints(session, diags);
    let cwd = current_dir();
    let items: Vec<Value> = diags
        .iter()
        .zip(prints)
        .map(|(d, fingerprint)| {
            let (line, ..) = pos.span(d.primary.at);
            json!({
                "description": format!("{}: {}", d.code, d.message),
                "check_name": d.code.as_str(),
                "fingerprint": fingerprint,
                "severity": match d.severity {
                    Severity::Error => "critical",
                    Severity::Warning => "minor",
                    Severity::Note => "info",
                },
                "location": { "path": place(session, d.file(), cwd.as_deref()).shown(), "lines": { "begin": line } },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)
}

/// GitHub Actions workflow commands: `::error file=…,line=…::message`.
pub fn github(session: &Session, diags: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    let mut pos = Positions::new(session);
    let cwd = current_dir();
    for d in diags {
        let (line, col, end_line, end_col) = pos.span(d.primary.at);
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut message = d.message.clone();
        message.push_str("\n\nhelp: ");
        message.push_str(&d.help_text());
        writeln!(
            out,
            "::{command} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}",
            escape_property(&place(session, d.file(), cwd.as_deref()).shown()),
            escape_property(&format!("{} {}", d.code, plumb_checks::lookup(&d.code).map_or("", |m| m.name()))),
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// Escaping of a workflow command's message (GitHub's toolkit `escapeData`).
pub fn escape_data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    // the log that shows the annotation is a terminal too: no raw escape sequences
    crate::render::printable(&s)
}

/// Escaping of a workflow command's property values (`escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
