//! What each request answers, computed on a [`Snapshot`]. Nothing here is async and
//! nothing holds a lock: the server runs these on blocking threads.

use crate::convert::Text;
use crate::snapshot::{Kind, Snapshot, YamlView};
use plumb_diagnostics::{Diagnostic, FileId, Severity, TextRange};
use plumb_semantics::fields::{job_field, pipeline_field};
use plumb_semantics::symbols::{Occurrence, Symbol, SymbolKind};
use plumb_syntax::ast::Item;
use std::collections::HashMap;
use tower_lsp_server::ls_types as lsp;

/// Where the rule documentation lives (also `plumb explain CODE`).
pub fn rule_url(code: &str) -> String {
    format!("https://plumb.dev/rules/{code}")
}

/// The findings of one file: a Plumb source's, or an open GitLab CI file's on its YAML
/// (what the diagnostics show and the quick fixes come from).
fn findings(snap: &Snapshot, id: FileId) -> Vec<Diagnostic> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    match snap.kind(id) {
        Kind::Plumb => plumb_db::check_file(&snap.db, snap.ws, file).clone(),
        Kind::Yaml(view) => yaml_diagnostics(snap, id, &view),
        Kind::Program => Vec::new(),
    }
}

/// The diagnostics of one file, as LSP diagnostics.
pub fn diagnostics(snap: &Snapshot, id: FileId) -> Vec<lsp::Diagnostic> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    let found = findings(snap, id);
    let text = snap.text(file);
    found
        .iter()
        .filter(|d| d.file() == id)
        .map(|d| {
            let related: Vec<lsp::DiagnosticRelatedInformation> = d
                .secondary
                .iter()
                .filter_map(|l| {
                    Some(lsp::DiagnosticRelatedInformation {
                        location: snap.location(l.at.file, l.at.range)?,
                        message: if l.message.is_empty() {
                            d.message.clone()
                        } else {
                            l.message.clone()
                        },
                    })
                })
                .collect();
            let message = match &d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.clone(),
            };
            lsp::Diagnostic {
                range: text.range(d.primary.at.range),
                severity: Some(match d.severity {
                    Severity::Error => lsp::DiagnosticSeverity::ERROR,
                    Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                    _ => lsp::DiagnosticSeverity::INFORMATION,
                }),
                code: Some(lsp::NumberOrString::String(d.code.to_string())),
                code_description: rule_url(&d.code)
                    .parse()
                    .ok()
                    .map(|href| lsp::CodeDescription { href }),
                source: Some("plumb".into()),
                message,
                related_information: (!related.is_empty()).then_some(related),
                tags: None,
                data: None,
            }
        })
        .collect()
}

/// The findings of an open GitLab CI file, on its YAML, as `plumb check` reports them
/// (those in files it includes are left to `plumb check`).
fn yaml_diagnostics(snap: &Snapshot, id: FileId, view: &YamlView) -> Vec<Diagnostic> {
    let Some(yaml) = snap.source(id) else {
        return Vec::new();
    };
    let yaml_text = yaml.text(&snap.db);
    if let Some((line, message)) = &view.error {
        return vec![plumb_db::yaml::not_yaml(id, yaml_text, *line, message)];
    }
    let Some(program) = snap.source(view.program) else {
        return Vec::new();
    };
    let program_text = program.text(&snap.db);
    let texts: Vec<&str> = view
        .mapping
        .source_ids()
        .iter()
        .map(|&f| if f == id { yaml_text.as_str() } else { "" })
        .collect();
    let findings = plumb_db::check_file(&snap.db, snap.ws, program).clone();
    let model = &plumb_db::analyze(&snap.db, snap.ws, program).model;
    let config = plumb_db::file_config(&snap.db, snap.ws, program);
    let moved = view
        .mapping
        .findings_on_yaml(findings, program_text, &texts, (model, config));
    let text_of = |f: FileId| {
        snap.source(f)
            .map(|s| s.text(&snap.db).clone())
            .unwrap_or_default()
    };
    plumb_db::yaml::allow(moved, &[id], &text_of)
}

fn occurrence_at(snap: &Snapshot, id: FileId, pos: lsp::Position) -> Option<Occurrence> {
    let file = snap.source(id)?;
    let offset = snap.text(file).offset(pos);
    plumb_db::symbol_index(&snap.db, snap.ws, file)
        .at(offset)
        .cloned()
}

pub fn definition(snap: &Snapshot, id: FileId, pos: lsp::Position) -> Option<lsp::Location> {
    let occ = occurrence_at(snap, id, pos)?;
    snap.location(occ.symbol.file, occ.symbol.range)
}

/// Every occurrence of a symbol in the workspace.
fn occurrences_of(snap: &Snapshot, symbol: &Symbol) -> Vec<(FileId, TextRange, bool)> {
    let mut out = Vec::new();
    for (id, file) in snap.plumb_files() {
        for o in plumb_db::symbol_index(&snap.db, snap.ws, file).references_to(symbol) {
            out.push((id, o.range, o.is_definition));
        }
    }
    out
}

pub fn references(
    snap: &Snapshot,
    id: FileId,
    pos: lsp::Position,
    include_declaration: bool,
) -> Vec<lsp::Location> {
    let Some(occ) = occurrence_at(snap, id, pos) else {
        return Vec::new();
    };
    occurrences_of(snap, &occ.symbol)
        .into_iter()
        .filter(|(_, _, def)| include_declaration || !def)
        .filter_map(|(f, r, _)| snap.location(f, r))
        .collect()
}

fn renameable(kind: SymbolKind) -> bool {
    !matches!(kind, SymbolKind::File)
}

pub fn prepare_rename(snap: &Snapshot, id: FileId, pos: lsp::Position) -> Option<lsp::Range> {
    let occ = occurrence_at(snap, id, pos)?;
    if !renameable(occ.symbol.kind) {
        return None;
    }
    Some(snap.text(snap.source(id)?).range(occ.range))
}

pub fn rename(
    snap: &Snapshot,
    id: FileId,
    pos: lsp::Position,
    new_name: &str,
) -> Result<Option<lsp::WorkspaceEdit>, String> {
    let Some(occ) = occurrence_at(snap, id, pos) else {
        return Ok(None);
    };
    if !renameable(occ.symbol.kind) {
        return Err("an import path cannot be renamed here".into());
    }
    if !is_identifier(new_name) {
        return Err(format!("`{new_name}` is not a Plumb name (letters, digits, `_` and `-`, starting with a letter or `_`)"));
    }
    let mut changes: HashMap<lsp::Uri, Vec<lsp::TextEdit>> = HashMap::new();
    for (f, range, _) in occurrences_of(snap, &occ.symbol) {
        let Some(loc) = snap.location(f, range) else {
            continue;
        };
        changes.entry(loc.uri).or_default().push(lsp::TextEdit {
            range: loc.range,
            new_text: new_name.to_string(),
        });
    }
    Ok(Some(lsp::WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }))
}

fn is_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "import", "as", "let", "secret", "template", "pipeline", "stage", "job", "after", "from",
        "true", "false",
    ];
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !KEYWORDS.contains(&s)
}

/// Pipelines → stages → jobs.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be set, even to None
pub fn document_symbols(snap: &Snapshot, id: FileId) -> Vec<lsp::DocumentSymbol> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    let text = snap.text(file);
    let sym = |name: &str,
               detail: Option<String>,
               kind,
               range: TextRange,
               sel: TextRange,
               children: Vec<lsp::DocumentSymbol>| lsp::DocumentSymbol {
        // a construct whose name is being typed: LSP clients reject an empty name
        name: if name.is_empty() { "(unnamed)" } else { name }.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: text.range(range),
        selection_range: text.range(sel),
        children: (!children.is_empty()).then_some(children),
    };
    let mut out = Vec::new();
    for item in &plumb_db::parse(&snap.db, file).tree.items {
        match item {
            Item::Pipeline(p) => {
                let stages = p
                    .stages
                    .iter()
                    .map(|s| {
                        let jobs = s
                            .jobs
                            .iter()
                            .map(|j| {
                                let detail =
                                    j.bases.first().map(|f| format!("from {}", f.template.text));
                                sym(
                                    &j.name.text,
                                    detail,
                                    lsp::SymbolKind::FUNCTION,
                                    j.range,
                                    j.name.range,
                                    Vec::new(),
                                )
                            })
                            .collect();
                        let detail = (!s.after.is_empty()).then(|| {
                            format!(
                                "after {}",
                                s.after
                                    .iter()
                                    .map(|a| a.text.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        });
                        sym(
                            &s.name.text,
                            detail,
                            lsp::SymbolKind::NAMESPACE,
                            s.range,
                            s.name.range,
                            jobs,
                        )
                    })
                    .collect();
                out.push(sym(
                    &p.name.text,
                    None,
                    lsp::SymbolKind::MODULE,
                    p.range,
                    p.name.range,
                    stages,
                ));
            }
            Item::Template(t) => out.push(sym(
                &t.name.text,
                Some("template".into()),
                lsp::SymbolKind::CLASS,
                t.range,
                t.name.range,
                Vec::new(),
            )),
            Item::Let(l) => out.push(sym(
                &l.name.text,
                Some("let".into()),
                lsp::SymbolKind::CONSTANT,
                l.range,
                l.name.range,
                Vec::new(),
            )),
            Item::Secret(s) => out.push(sym(
                &s.name.text,
                Some(format!("secret from {}", s.source.text)),
                lsp::SymbolKind::KEY,
                s.range,
                s.name.range,
                Vec::new(),
            )),
            Item::Import(_) => {}
        }
    }
    out
}

/// Types of names, the resolved image reference, the docs of a field, the rule docs of
/// a diagnostic under the cursor.
pub fn hover(snap: &Snapshot, id: FileId, pos: lsp::Position) -> Option<lsp::Hover> {
    let file = snap.source(id)?;
    if let Kind::Yaml(view) = snap.kind(id) {
        return yaml_hover(snap, id, &view, pos);
    }
    let text = snap.text(file);
    let offset = text.offset(pos);
    let mut parts: Vec<String> = Vec::new();
    let mut range = None;
    if let Some(occ) = plumb_db::symbol_index(&snap.db, snap.ws, file).at(offset) {
        parts.push(describe(snap, &occ.symbol));
        range = Some(text.range(occ.range));
    } else if let Some((path, key_range, in_job)) = field_key_at(snap, file, offset) {
        if let Some(text_) = key_hover(&path, in_job) {
            parts.push(text_);
            range = Some(text.range(key_range));
        }
    }
    rule_docs_at(
        plumb_db::check_file(&snap.db, snap.ws, file),
        id,
        offset,
        &mut parts,
    );
    markdown_hover(parts, range)
}

/// The documentation of each rule whose finding covers `offset`.
fn rule_docs_at(diags: &[Diagnostic], id: FileId, offset: usize, parts: &mut Vec<String>) {
    for d in diags {
        let r = d.primary.at.range;
        if d.file() == id && (r.start as usize) <= offset && offset <= r.end as usize {
            if let Some(meta) = plumb_checks::lookup(&d.code) {
                parts.push(format!(
                    "**{}** `{}`: {}\n\n{}",
                    meta.code,
                    meta.name(),
                    meta.summary,
                    meta.explanation
                ));
            }
        }
    }
}

fn markdown_hover(parts: Vec<String>, range: Option<lsp::Range>) -> Option<lsp::Hover> {
    if parts.is_empty() {
        return None;
    }
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range,
    })
}

/// Hover in a GitLab CI file: an image's parsed reference, and the rules whose findings
/// are under the cursor.
fn yaml_hover(
    snap: &Snapshot,
    id: FileId,
    view: &YamlView,
    pos: lsp::Position,
) -> Option<lsp::Hover> {
    let file = snap.source(id)?;
    let text = snap.text(file);
    let offset = text.offset(pos);
    let mut parts = Vec::new();
    let mut range = None;
    if let Some((at, image)) = yaml_image_at(file.text(&snap.db), offset) {
        if let Some(details) = image_details(&image) {
            parts.push(details);
            range = Some(text.range(at));
        }
    }
    rule_docs_at(&yaml_diagnostics(snap, id, view), id, offset, &mut parts);
    markdown_hover(parts, range)
}

/// The image reference under `offset` in GitLab CI YAML: the value of an `image:` key
/// (or of its `name:`), or an item of a `services:` list.
fn yaml_image_at(yaml: &str, offset: usize) -> Option<(TextRange, String)> {
    let start = yaml[..offset.min(yaml.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = yaml[start..].find('\n').map_or(yaml.len(), |i| start + i);
    let line = &yaml[start..end];
    let indent = line.len() - line.trim_start().len();
    let body = line.trim_start();
    let value_at = if let Some(rest) = body.strip_prefix("image:") {
        body.len() - rest.len()
    } else if let Some(rest) = body
        .strip_prefix("name:")
        .filter(|_| parent_key(yaml, start, indent) == Some("image"))
    {
        body.len() - rest.len()
    } else if let Some(rest) = body
        .strip_prefix("- ")
        .filter(|_| parent_key(yaml, start, indent) == Some("services"))
    {
        let rest = rest.strip_prefix("name:").unwrap_or(rest);
        body.len() - rest.len()
    } else {
        return None;
    };
    let raw = &body[value_at..];
    let raw = raw.split(" #").next().unwrap_or(raw);
    let lead = raw.len() - raw.trim_start().len();
    let value = raw.trim();
    let unquoted = value.trim_matches(['"', '\'']);
    let quote = value.len() - value.trim_start_matches(['"', '\'']).len();
    let from = start + indent + value_at + lead + quote;
    let to = from + unquoted.len();
    (!unquoted.is_empty() && (from..=to).contains(&offset))
        .then(|| (TextRange::new(from, to), unquoted.to_string()))
}

/// The key of the mapping a line at `indent` belongs to: the nearest line above with
/// less indentation (`services:` for `  - postgres:16`).
fn parent_key(yaml: &str, line_start: usize, indent: usize) -> Option<&str> {
    yaml[..line_start]
        .lines()
        .rev()
        .find(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && l.len() - t.len() < indent
        })
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_end_matches(':')
                .trim()
        })
}

/// A symbol in one line of Plumb, with what is known of its value.
fn describe(snap: &Snapshot, s: &Symbol) -> String {
    let Some(file) = snap.source(s.file) else {
        return format!("{} `{}`", s.kind.as_str(), s.name);
    };
    let source = file.text(&snap.db);
    let tree = &plumb_db::parse(&snap.db, file).tree;
    let written = |r: TextRange| source.get(r.as_range()).unwrap_or("").to_string();
    let mut out = String::new();
    match s.kind {
        SymbolKind::Let => {
            let info = plumb_db::let_info(&snap.db, snap.ws, file, s.range);
            let ty = info
                .as_ref()
                .map(|i| format!(": {}", i.ty))
                .unwrap_or_default();
            let written_value = find_let(tree, s.range).map(|l| shorten(&written(l.value.range)));
            out.push_str(&format!(
                "```plumb\nlet {}{ty} = {}\n```",
                s.name,
                written_value.unwrap_or_default()
            ));
            if let Some(text) = info.and_then(|i| i.text) {
                match image_details(&text) {
                    Some(image) => out.push_str(&format!("\n\n{image}")),
                    None => out.push_str(&format!("\n\nvalue: `{}`", shorten(&text))),
                }
            }
        }
        SymbolKind::Secret => {
            let decl = tree.items.iter().find_map(|i| match i {
                Item::Secret(d) if d.name.range == s.range => Some(d),
                _ => None,
            });
            let value = decl
                .map(|d| written(d.range))
                .unwrap_or_else(|| format!("secret {}", s.name));
            out.push_str(&format!("```plumb\n{value}\n```\nA `Secret`: it can only be bound in an `env` map; Plumb never sees its value."));
        }
        SymbolKind::Template => {
            let t = tree.items.iter().find_map(|i| match i {
                Item::Template(t) if t.name.range == s.range => Some(t),
                _ => None,
            });
            let params = t
                .map(|t| {
                    t.params
                        .iter()
                        .map(|p| written(p.range))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            out.push_str(&format!("```plumb\ntemplate {}({params})\n```", s.name));
        }
        SymbolKind::Param => out.push_str(&format!(
            "```plumb\n(parameter) {}\n```",
            written_param(tree, s.range, source).unwrap_or_else(|| s.name.clone())
        )),
        SymbolKind::Job => {
            let stage = tree.items.iter().find_map(|i| match i {
                Item::Pipeline(p) => p
                    .stages
                    .iter()
                    .find(|st| st.jobs.iter().any(|j| j.name.range == s.range))
                    .map(|st| (p, st)),
                _ => None,
            });
            match stage {
                Some((p, st)) => out.push_str(&format!(
                    "```plumb\njob {}\n```\nin stage `{}` of pipeline `{}`",
                    s.name, st.name.text, p.name.text
                )),
                None => out.push_str(&format!("```plumb\njob {}\n```", s.name)),
            }
        }
        kind => out.push_str(&format!("```plumb\n{} {}\n```", kind.as_str(), s.name)),
    }
    if let Some(name) = snap
        .files
        .get(s.file.0 as usize)
        .and_then(|(p, _)| p.file_name())
    {
        out.push_str(&format!("\n\ndefined in `{}`", name.to_string_lossy()));
    }
    out
}

fn shorten(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    if first.len() > 120 || s.lines().count() > 1 {
        format!(
            "{}…",
            &first[..first
                .char_indices()
                .nth(100)
                .map_or(first.len(), |(i, _)| i)]
        )
    } else {
        first.to_string()
    }
}

fn find_let(
    tree: &plumb_syntax::ast::SourceFile,
    range: TextRange,
) -> Option<&plumb_syntax::ast::Let> {
    tree.items.iter().find_map(|i| match i {
        Item::Let(l) if l.name.range == range => Some(l),
        Item::Pipeline(p) => p.lets.iter().find(|l| l.name.range == range),
        _ => None,
    })
}

fn written_param(
    tree: &plumb_syntax::ast::SourceFile,
    range: TextRange,
    source: &str,
) -> Option<String> {
    tree.items.iter().find_map(|i| match i {
        Item::Template(t) => t
            .params
            .iter()
            .find(|p| p.name.range == range)
            .and_then(|p| source.get(p.range.as_range()).map(str::to_string)),
        _ => None,
    })
}

/// The parts of an image reference, as the image checks read it.
pub fn image_details(text: &str) -> Option<String> {
    let r = plumb_checks::image_ref::parse(text).ok()?;
    let mut lines = vec![format!("image `{text}`")];
    lines.push(format!("- registry: `{}`", r.registry_or_default()));
    lines.push(format!("- repository: `{}`", r.path));
    lines.push(format!(
        "- tag: {}",
        r.tag
            .as_deref()
            .map_or("none (means `latest`)".to_string(), |t| format!("`{t}`"))
    ));
    lines.push(format!(
        "- digest: {}",
        r.digest
            .as_ref()
            .map_or("none: not pinned".to_string(), |d| format!(
                "`{}:{}`",
                d.algorithm, d.hex
            ))
    ));
    Some(lines.join("\n"))
}

/// The field key under the cursor, with the keys of the records around it
/// (`["artifacts", "reports", "junit"]`), and whether it is in a job (or template) body.
fn field_key_at(
    snap: &Snapshot,
    file: plumb_db::SourceFile,
    offset: usize,
) -> Option<(Vec<String>, TextRange, bool)> {
    let tree = &plumb_db::parse(&snap.db, file).tree;
    let found = |fields: &[plumb_syntax::ast::Field], job: bool| {
        let mut path = Vec::new();
        key_in_fields(fields, offset, &mut path).map(|r| (path, r, job))
    };
    for item in &tree.items {
        match item {
            Item::Template(t) => {
                if let Some(hit) = found(&t.body.fields, true) {
                    return Some(hit);
                }
            }
            Item::Pipeline(p) => {
                if let Some(hit) = found(&p.fields, false) {
                    return Some(hit);
                }
                for j in p.stages.iter().flat_map(|s| &s.jobs) {
                    if let Some(hit) = found(&j.body.fields, true) {
                        return Some(hit);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The key under `offset` among `fields` or inside their record values; `path` gets
/// the keys that lead to it.
fn key_in_fields(
    fields: &[plumb_syntax::ast::Field],
    offset: usize,
    path: &mut Vec<String>,
) -> Option<TextRange> {
    let hit = |r: TextRange| (r.start as usize) <= offset && offset <= r.end as usize;
    for f in fields {
        if hit(f.key.range) {
            path.push(f.key.text.clone());
            return Some(f.key.range);
        }
        if let plumb_syntax::ast::ExprKind::Record(inner) = &f.value.kind {
            if hit(f.value.range) {
                path.push(f.key.text.clone());
                if let Some(r) = key_in_fields(inner, offset, path) {
                    return Some(r);
                }
                path.pop();
            }
        }
    }
    None
}

/// A field's hover: its type, whether required, its doc and what GitLab and
/// Kubernetes make of it; a record key's: its type and doc.
fn key_hover(path: &[String], in_job: bool) -> Option<String> {
    let [key] = path else {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let (ty, doc) = plumb_semantics::fields::key_at_path(&path, in_job)?;
        let name = path.last()?;
        let gitlab = plumb_semantics::fields::gitlab_keyword(&path)
            .unwrap_or_else(|| "not carried (a Kubernetes setting)".to_string());
        return Some(format!(
            "```plumb\n{name}: {}\n```\n{doc}\n\n- GitLab CI: {gitlab}",
            ty.ty()
        ));
    };
    let spec = if in_job {
        job_field(key)
    } else {
        pipeline_field(key).or_else(|| job_field(key))
    }?;
    Some(format!(
        "```plumb\n{}: {}{}\n```\n{}\n\n- GitLab CI: {}\n- Kubernetes: {}",
        spec.name,
        spec.ty.ty(),
        if spec.required { "  (required)" } else { "" },
        spec.doc,
        spec.gitlab,
        spec.k8s
    ))
}

/// The fixes of the diagnostics that touch a range, as quick fixes.
pub fn code_actions(
    snap: &Snapshot,
    id: FileId,
    range: lsp::Range,
) -> Vec<lsp::CodeActionOrCommand> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    let text = snap.text(file);
    let (start, end) = (text.offset(range.start), text.offset(range.end));
    let mut out = Vec::new();
    // a GitLab CI file's findings are those on its YAML (never its text read as Plumb)
    for d in &findings(snap, id) {
        let r = d.primary.at.range;
        if d.file() != id || (r.end as usize) < start || (r.start as usize) > end {
            continue;
        }
        let lsp_diag = diagnostics_for_action(&text, d);
        for (n, fix) in d.fixes.iter().enumerate() {
            let mut changes: HashMap<lsp::Uri, Vec<lsp::TextEdit>> = HashMap::new();
            for e in &fix.edits {
                let Some(target) = snap.source(e.at.file) else {
                    continue;
                };
                let Some(uri) = snap.uri(e.at.file) else {
                    continue;
                };
                changes.entry(uri).or_default().push(lsp::TextEdit {
                    range: snap.text(target).range(e.at.range),
                    new_text: e.replacement.clone(),
                });
            }
            out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: fix.title.clone(),
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diag.clone()]),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(changes),
                    ..Default::default()
                }),
                // the first fix is the one the rule proposes; the last silences it
                is_preferred: Some(
                    n == 0
                        && fix
                            .edits
                            .iter()
                            .all(|e| !e.replacement.contains("plumb-allow")),
                ),
                ..Default::default()
            }));
        }
    }
    out
}

fn diagnostics_for_action(text: &Text, d: &plumb_diagnostics::Diagnostic) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: text.range(d.primary.at.range),
        code: Some(lsp::NumberOrString::String(d.code.to_string())),
        source: Some("plumb".into()),
        message: d.message.clone(),
        ..Default::default()
    }
}

/// The whole document in the canonical layout; `None` when it has syntax errors.
pub fn formatting(snap: &Snapshot, id: FileId) -> Option<Vec<lsp::TextEdit>> {
    let file = snap.source(id)?;
    let text = snap.text(file);
    let formatted = plumb_fmt::format(text.text).ok()?;
    if formatted == text.text {
        return Some(Vec::new());
    }
    Some(vec![lsp::TextEdit {
        range: text.range(TextRange::new(0, text.text.len())),
        new_text: formatted,
    }])
}

pub use crate::tokens::{legend, semantic_tokens};
