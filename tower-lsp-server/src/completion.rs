//! Completion: one context, computed once from the tokens before the cursor (what the
//! cursor is inside and what is expected there), then one provider per kind of thing
//! expected. The file is lexed once per request; the parse tree is not used, since
//! the text being typed rarely parses.

use crate::snapshot::Snapshot;
use plumb_diagnostics::{FileId, TextRange};
use plumb_semantics::fields::{JOB_FIELDS, PIPELINE_FIELDS};
use plumb_semantics::symbols::{Symbol, SymbolKind};
use plumb_syntax::ast::Item;
use plumb_syntax::token::{RawSegment, Token};
use tower_lsp_server::ls_types as lsp;

/// The body a key is written in, which decides the keys offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// The top of a file: `import`, `let`, `secret`, `template`, `pipeline`.
    File,
    /// A pipeline's body: its fields, `let` and `stage`.
    Pipeline,
    /// A stage's body: `job`.
    Stage,
    /// A job's or template's body: the job fields.
    Job,
    /// A record that is a key's value (`artifacts = { reports = { | } }`): the keys
    /// from the outermost, and whether it starts in a job or template (else a pipeline).
    Record { path: Vec<String>, in_job: bool },
}

/// What the cursor is expected to complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Nothing (inside a comment, or a string no key gives choices to).
    Nothing,
    /// Inside the string of `KEY = "|`: the strings the key allows.
    Choice { path: Vec<String>, in_job: bool },
    /// `from alias.|`: a template of the file imported as `alias`.
    QualifiedTemplate { alias: String },
    /// `from |` or `from a(…), |`: a template.
    Template,
    /// `secret x = |`: where a secret comes from.
    SecretSource,
    /// `stage x after a, |`: a stage of the pipeline.
    Stage,
    /// `needs = [|`, `dependencies = [|`, `on_stop = |`: a job of the pipeline.
    Job,
    /// `from t(|`: a parameter of the template.
    TemplateArgument { template: String },
    /// `trigger = |` or `include = [|`: a constructor the field takes.
    Constructor { field: &'static str },
    /// A key at the start of an entry.
    Key(Body),
    /// An expression: lets, secrets and the language's names.
    Value,
}

/// Where the cursor is, and the names of the pipeline around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionContext {
    pub expected: Expected,
    /// The stages of the enclosing pipeline, in order.
    pub stages: Vec<String>,
    /// The jobs of the enclosing pipeline, in order.
    pub jobs: Vec<String>,
}

/// An opened bracket before the cursor, and what opened it.
#[derive(Clone, Debug)]
struct Open {
    bracket: Token,
    /// The keyword before a `{` (`job`, `stage`, …); `None` for a record.
    keyword: Option<Token>,
    /// The key whose value it is (`artifacts = {`, `needs = [`).
    key: Option<String>,
    /// For a `(`: the template of `from t(`.
    template: Option<String>,
    /// Where it is.
    at: usize,
}

impl CompletionContext {
    pub fn at(source: &str, offset: usize) -> Self {
        let lexed = plumb_syntax::lexer::lex(source);
        let inside = |r: TextRange| (r.start as usize) < offset && offset <= r.end as usize;
        let mut cx = CompletionContext {
            expected: Expected::Value,
            stages: Vec::new(),
            jobs: Vec::new(),
        };
        if lexed.comments.iter().any(|c| inside(c.range)) {
            cx.expected = Expected::Nothing;
            return cx;
        }
        // the tokens wholly before the cursor, without the word being typed
        let mut end = lexed
            .tokens
            .partition_point(|(_, r)| (r.end as usize) <= offset);
        if end > 0
            && lexed.tokens[end - 1].1.end as usize == offset
            && is_word(&lexed.tokens[end - 1].0)
        {
            end -= 1;
        }
        let before = &lexed.tokens[..end];
        let opens = open_brackets(before);
        let pipeline = opens.iter().find(|o| o.keyword == Some(Token::Pipeline));
        if let Some(p) = pipeline {
            (cx.stages, cx.jobs) = names_in_pipeline(&lexed.tokens, p.at);
        }
        // inside a string (not in one of its `${…}`)
        let string = lexed.tokens.iter().enumerate().find(|(_, (t, r))| {
            matches!(t, Token::Str(_))
                && inside(*r)
                && (offset < r.end as usize || !source[..r.end as usize].ends_with('"'))
        });
        if let Some((i, (Token::Str(s), _))) = string {
            let in_interpolation = s.segments.iter().any(|seg| {
                matches!(seg, RawSegment::Interp(_, ir) if (ir.start as usize) < offset && offset < ir.end as usize)
            });
            if !in_interpolation {
                cx.expected = choice(&lexed.tokens[..i], &opens);
            }
            return cx;
        }
        cx.expected = expected(source, offset, before, &opens);
        cx
    }
}

/// Whether a token can be the word being typed (a name or a keyword).
fn is_word(t: &Token) -> bool {
    matches!(t, Token::Ident(_)) || t.keyword_text().is_some()
}

/// The brackets open before the cursor, outermost first.
fn open_brackets(tokens: &[(Token, TextRange)]) -> Vec<Open> {
    let mut opens: Vec<Open> = Vec::new();
    let mut keyword: Option<Token> = None;
    let (mut last_name, mut key) = (None::<String>, None::<String>);
    let mut in_from = false;
    for (tok, r) in tokens {
        // inside parentheses (`template t(image: Image = go)`, `from t(a = 1)`), an `=`
        // binds a parameter: it neither starts a record key nor ends the header
        let in_parens = opens.last().is_some_and(|o| o.bracket == Token::LParen);
        if in_parens && *tok == Token::Eq {
            last_name = None;
            continue;
        }
        let open = |bracket: Token, keyword, key, template| Open {
            bracket,
            keyword,
            key,
            template,
            at: r.start as usize,
        };
        match tok {
            Token::Eq => {
                keyword = None;
                key = last_name.take();
            }
            Token::Job | Token::Template | Token::Stage | Token::Pipeline => {
                keyword = Some(tok.clone());
                in_from = false;
            }
            Token::From => in_from = true,
            Token::Ident(name) => last_name = Some(name.clone()),
            Token::LBrace => {
                let kw = keyword.take();
                let k = if kw.is_none() { key.take() } else { None };
                opens.push(open(Token::LBrace, kw, k, None));
                in_from = false;
            }
            Token::LBracket => opens.push(open(Token::LBracket, None, key.take(), None)),
            Token::LParen => {
                let template = if in_from { last_name.clone() } else { None };
                opens.push(open(Token::LParen, None, None, template));
            }
            Token::RBrace | Token::RBracket | Token::RParen => {
                opens.pop();
            }
            _ => {}
        }
        if !matches!(tok, Token::Ident(_) | Token::Eq) {
            last_name = None;
        }
    }
    opens
}

/// What is expected after `before` (outside strings and comments).
fn expected(
    source: &str,
    offset: usize,
    before: &[(Token, TextRange)],
    opens: &[Open],
) -> Expected {
    let n = before.len();
    let back = |k: usize| (k <= n && k > 0).then(|| &before[n - k].0);
    let innermost = opens.last();
    let in_from_list = from_list_open(before);
    match (back(3), back(2), back(1)) {
        (Some(Token::From | Token::Comma), Some(Token::Ident(alias)), Some(Token::Dot))
            if in_from_list || matches!(back(3), Some(Token::From)) =>
        {
            return Expected::QualifiedTemplate {
                alias: alias.clone(),
            }
        }
        (_, _, Some(Token::From)) => return Expected::Template,
        (Some(Token::Secret), Some(Token::Ident(_)), Some(Token::Eq)) => {
            return Expected::SecretSource
        }
        (_, Some(Token::Ident(key)), Some(Token::Eq)) if key == "on_stop" => return Expected::Job,
        (_, Some(Token::Ident(key)), Some(Token::Eq)) if key == "trigger" => {
            return Expected::Constructor { field: "trigger" }
        }
        _ => {}
    }
    if in_from_list
        && matches!(back(1), Some(Token::Comma))
        && innermost.is_none_or(|o| o.bracket != Token::LParen)
    {
        return Expected::Template;
    }
    if stage_header_after(before) {
        return Expected::Stage;
    }
    // a new line starts an entry only after something that can end a value
    // (`image =` then a line break still expects the value)
    let ends_value = !matches!(
        back(1),
        Some(
            Token::Eq
                | Token::EqEq
                | Token::NotEq
                | Token::Match
                | Token::AndAnd
                | Token::OrOr
                | Token::Bang
                | Token::Dot
        )
    );
    let at_entry = matches!(
        back(1),
        None | Some(Token::LBrace | Token::LBracket | Token::LParen | Token::Comma | Token::RBrace)
    ) || ends_value
        && before
            .last()
            .is_some_and(|(_, r)| source[r.end as usize..offset].contains('\n'));
    match innermost {
        Some(o) if o.bracket == Token::LBracket && at_entry => match o.key.as_deref() {
            Some("needs" | "dependencies") => Expected::Job,
            Some("include") => Expected::Constructor { field: "include" },
            _ => Expected::Value,
        },
        Some(o) if o.bracket == Token::LParen => match (&o.template, at_entry) {
            (Some(t), true) => Expected::TemplateArgument {
                template: t.clone(),
            },
            _ => Expected::Value,
        },
        _ if at_entry && innermost.is_none_or(|o| o.bracket == Token::LBrace) => {
            match body(opens) {
                Some(b) => Expected::Key(b),
                None => Expected::Value,
            }
        }
        _ => Expected::Value,
    }
}

/// Whether the cursor is in a `from a(…), b(…)` list (before the body's `{`).
fn from_list_open(before: &[(Token, TextRange)]) -> bool {
    for (t, _) in before.iter().rev() {
        match t {
            Token::From => return true,
            Token::LBrace | Token::RBrace | Token::Job | Token::Template | Token::Eq => {
                return false
            }
            _ => {}
        }
    }
    false
}

/// Whether the cursor is after `stage NAME after` and before the stage's `{`.
fn stage_header_after(before: &[(Token, TextRange)]) -> bool {
    for (t, _) in before.iter().rev() {
        match t {
            Token::After => return true,
            Token::Ident(_) | Token::Comma => {}
            _ => return false,
        }
    }
    false
}

/// The body the innermost `{` opens (`None` for a record that is no key's value).
fn body(opens: &[Open]) -> Option<Body> {
    let Some(innermost) = opens.last() else {
        return Some(Body::File);
    };
    match &innermost.keyword {
        Some(Token::Pipeline) => return Some(Body::Pipeline),
        Some(Token::Stage) => return Some(Body::Stage),
        Some(Token::Job | Token::Template) => return Some(Body::Job),
        Some(_) => return None,
        None => {}
    }
    let (path, in_job) = record_path(opens)?;
    // a pipeline's `default` holds job fields
    if !in_job && path == ["default"] {
        return Some(Body::Job);
    }
    Some(Body::Record { path, in_job })
}

/// The keys of the records around the cursor, outermost first, and whether they start
/// in a job or template body: `(["artifacts", "reports"], true)`.
fn record_path(opens: &[Open]) -> Option<(Vec<String>, bool)> {
    let mut path = Vec::new();
    for o in opens.iter().rev() {
        match (&o.bracket, &o.keyword) {
            (Token::LBrace, None) => path.push(o.key.clone()?),
            (_, Some(Token::Job | Token::Template)) => {
                path.reverse();
                return Some((path, true));
            }
            (_, Some(Token::Pipeline)) => {
                path.reverse();
                return Some((path, false));
            }
            _ => return None,
        }
    }
    None
}

/// In a string: the choices of the key it is the value of (`KEY = "|`).
fn choice(tokens: &[(Token, TextRange)], opens: &[Open]) -> Expected {
    let n = tokens.len();
    let key = match (n >= 2).then(|| (&tokens[n - 2].0, &tokens[n - 1].0)) {
        Some((Token::Ident(key), Token::Eq)) => key.clone(),
        _ => return Expected::Nothing,
    };
    let (mut path, in_job) = match record_path(opens) {
        Some(found) => found,
        None if matches!(opens.last(), Some(o) if matches!(o.keyword, Some(Token::Job | Token::Template))) => {
            (Vec::new(), true)
        }
        None => return Expected::Nothing,
    };
    path.push(key);
    Expected::Choice { path, in_job }
}

/// The stage and job names of the pipeline whose `{` is at `start`.
fn names_in_pipeline(tokens: &[(Token, TextRange)], start: usize) -> (Vec<String>, Vec<String>) {
    let (mut stages, mut jobs) = (Vec::new(), Vec::new());
    let first = tokens.partition_point(|(_, r)| (r.start as usize) < start);
    let mut depth = 0usize;
    let mut rest = tokens[first..].iter().peekable();
    while let Some((tok, _)) = rest.next() {
        match tok {
            Token::LBrace => depth += 1,
            Token::RBrace => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            Token::Stage | Token::Job => {
                if let Some((Token::Ident(name), _)) = rest.peek() {
                    let names = if *tok == Token::Stage {
                        &mut stages
                    } else {
                        &mut jobs
                    };
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    (stages, jobs)
}

// ----- providers: one per kind of thing expected -----

/// The completion items at `pos`.
pub fn completion(snap: &Snapshot, id: FileId, pos: lsp::Position) -> Vec<lsp::CompletionItem> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    let text = snap.text(file);
    let offset = text.offset(pos);
    let cx = CompletionContext::at(text.text, offset);
    match cx.expected {
        Expected::Nothing => Vec::new(),
        Expected::Choice { path, in_job } => choices(&path, in_job),
        Expected::QualifiedTemplate { alias } => templates_imported_as(snap, file, &alias)
            .iter()
            .map(|t| item(t, lsp::CompletionItemKind::CLASS, "template", None))
            .collect(),
        Expected::Template => global_symbols(snap, id, file, Some(SymbolKind::Template))
            .iter()
            .map(|s| item(&s.name, lsp::CompletionItemKind::CLASS, "template", None))
            .collect(),
        Expected::SecretSource => secret_sources(),
        Expected::Stage => names(&cx.stages, lsp::CompletionItemKind::MODULE, "stage"),
        Expected::Job => names(&cx.jobs, lsp::CompletionItemKind::FUNCTION, "job"),
        Expected::TemplateArgument { template } => template_parameters(snap, &template),
        Expected::Constructor { field } => constructors(field),
        Expected::Key(body) => keys(&body),
        Expected::Value => values(snap, id, file),
    }
}

fn item(
    label: &str,
    kind: lsp::CompletionItemKind,
    detail: &str,
    doc: Option<&str>,
) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.to_string()),
        documentation: doc.map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: d.to_string(),
            })
        }),
        ..Default::default()
    }
}

fn names(
    names: &[String],
    kind: lsp::CompletionItemKind,
    detail: &str,
) -> Vec<lsp::CompletionItem> {
    names.iter().map(|n| item(n, kind, detail, None)).collect()
}

/// The strings a key allows (`if_previous`, `artifacts.when`, …).
fn choices(path: &[String], in_job: bool) -> Vec<lsp::CompletionItem> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let key = path.last().copied().unwrap_or_default();
    let Some(choices) =
        plumb_semantics::fields::key_at_path(&path, in_job).and_then(|(ty, _)| ty.choices())
    else {
        return Vec::new();
    };
    choices
        .iter()
        .map(|c| {
            item(
                c,
                lsp::CompletionItemKind::ENUM_MEMBER,
                &format!("`{key}`"),
                None,
            )
        })
        .collect()
}

/// The sources of a secret, from the evaluator's own table.
fn secret_sources() -> Vec<lsp::CompletionItem> {
    plumb_semantics::eval::SECRET_SOURCES
        .iter()
        .map(|(name, args)| {
            let args: Vec<String> = args
                .iter()
                .map(|a| format!("\"{}\"", a.to_uppercase()))
                .collect();
            let options: Vec<String> = plumb_semantics::eval::SECRET_OPTIONS
                .iter()
                .filter(|(source, _)| source == name)
                .map(|(_, option)| format!("[, {option} = true]"))
                .collect();
            let signature = format!("{name}({}{})", args.join(", "), options.concat());
            item(name, lsp::CompletionItemKind::FUNCTION, &signature, None)
        })
        .collect()
}

/// The constructors `trigger` or `include` takes, from the checker's own tables.
fn constructors(field: &str) -> Vec<lsp::CompletionItem> {
    plumb_semantics::fields::constructors(field)
        .iter()
        .map(|c| item(c, lsp::CompletionItemKind::CONSTRUCTOR, field, None))
        .collect()
}

/// The keys of a body: fields, record keys, and the keywords that start its items
/// (spelled by the lexer).
fn keys(body: &Body) -> Vec<lsp::CompletionItem> {
    let keyword = |t: Token| {
        let text = t.keyword_text().unwrap_or_default();
        item(text, lsp::CompletionItemKind::KEYWORD, "keyword", None)
    };
    let fields = |specs: &[plumb_semantics::fields::FieldSpec]| -> Vec<lsp::CompletionItem> {
        specs
            .iter()
            .map(|f| {
                let detail = format!(
                    "{}{}",
                    f.ty.ty(),
                    if f.required { " (required)" } else { "" }
                );
                item(f.name, lsp::CompletionItemKind::FIELD, &detail, Some(f.doc))
            })
            .collect()
    };
    match body {
        Body::File => [
            Token::Import,
            Token::Let,
            Token::Secret,
            Token::Template,
            Token::Pipeline,
        ]
        .into_iter()
        .map(keyword)
        .collect(),
        Body::Pipeline => {
            let mut out = fields(PIPELINE_FIELDS);
            out.extend([Token::Let, Token::Stage].into_iter().map(keyword));
            out
        }
        Body::Stage => vec![keyword(Token::Job)],
        Body::Job => fields(JOB_FIELDS),
        Body::Record { path, in_job } => {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some(record) = plumb_semantics::fields::key_at_path(&path, *in_job)
                .and_then(|(ty, _)| ty.record())
            else {
                return Vec::new();
            };
            record
                .keys
                .iter()
                .map(|k| {
                    item(
                        k.name,
                        lsp::CompletionItemKind::FIELD,
                        &k.ty.ty().to_string(),
                        Some(k.doc),
                    )
                })
                .collect()
        }
    }
}

/// An expression: the lets and secrets in scope, and the language's own names.
fn values(snap: &Snapshot, id: FileId, file: plumb_db::SourceFile) -> Vec<lsp::CompletionItem> {
    let mut out: Vec<lsp::CompletionItem> = global_symbols(snap, id, file, None)
        .iter()
        .filter(|s| s.kind != SymbolKind::Template)
        .map(|s| {
            let kind = if s.kind == SymbolKind::Secret {
                lsp::CompletionItemKind::VARIABLE
            } else {
                lsp::CompletionItemKind::CONSTANT
            };
            item(&s.name, kind, s.kind.as_str(), None)
        })
        .collect();
    out.extend(
        plumb_semantics::eval::CONDITION_NAMES
            .iter()
            .map(|n| item(n, lsp::CompletionItemKind::KEYWORD, "built in", None)),
    );
    out
}

/// The lets, secrets and templates defined at the top of the file and its imports (of
/// `kind` only, when given), each name once.
fn global_symbols(
    snap: &Snapshot,
    id: FileId,
    file: plumb_db::SourceFile,
    kind: Option<SymbolKind>,
) -> Vec<Symbol> {
    let mut out = Vec::new();
    let mut files = vec![id];
    files.extend(
        plumb_db::resolved_imports(&snap.db, snap.ws, file)
            .iter()
            .flatten(),
    );
    if kind == Some(SymbolKind::Template) {
        // a half-typed file may not parse far enough to show its imports: offer
        // every template of the workspace
        files.extend(snap.plumb_files().map(|(id, _)| id));
    }
    for f in files {
        let Some(sf) = snap.source(f) else { continue };
        for o in &plumb_db::symbol_index(&snap.db, snap.ws, sf).occurrences {
            let top = matches!(
                o.symbol.kind,
                SymbolKind::Let | SymbolKind::Secret | SymbolKind::Template
            );
            if o.is_definition
                && top
                && kind.is_none_or(|k| k == o.symbol.kind)
                && !out.iter().any(|s: &Symbol| s.name == o.symbol.name)
            {
                out.push(o.symbol.clone());
            }
        }
    }
    out
}

/// The templates of the file that `file` imports as `alias`.
fn templates_imported_as(snap: &Snapshot, file: plumb_db::SourceFile, alias: &str) -> Vec<String> {
    let resolved = plumb_db::resolved_imports(&snap.db, snap.ws, file);
    let target = plumb_db::parse(&snap.db, file)
        .tree
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Import(imp) => Some(imp),
            _ => None,
        })
        .zip(resolved.iter())
        .find(|(imp, _)| imp.alias.as_ref().is_some_and(|a| a.text == alias))
        .and_then(|(_, f)| *f);
    let Some(sf) = target.and_then(|t| snap.source(t)) else {
        return Vec::new();
    };
    plumb_db::symbol_index(&snap.db, snap.ws, sf)
        .occurrences
        .iter()
        .filter(|o| {
            o.is_definition
                && o.symbol.kind == SymbolKind::Template
                && Some(o.symbol.file) == target
        })
        .map(|o| o.symbol.name.clone())
        .collect()
}

/// The parameters of the template named `name` (the first of that name in the workspace).
fn template_parameters(snap: &Snapshot, name: &str) -> Vec<lsp::CompletionItem> {
    for (_, sf) in snap.plumb_files() {
        for it in &plumb_db::parse(&snap.db, sf).tree.items {
            let Item::Template(t) = it else { continue };
            if t.name.text != name {
                continue;
            }
            let text = sf.text(&snap.db);
            return t
                .params
                .iter()
                .map(|p| lsp::CompletionItem {
                    label: p.name.text.clone(),
                    kind: Some(lsp::CompletionItemKind::VARIABLE),
                    detail: text.get(p.range.as_range()).map(str::to_string),
                    insert_text: Some(format!("{} = ", p.name.text)),
                    ..Default::default()
                })
                .collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context at `$0` in `snippet`.
    fn at(snippet: &str) -> CompletionContext {
        let offset = snippet.find("$0").expect("a cursor $0");
        let source = snippet.replacen("$0", "", 1);
        CompletionContext::at(&source, offset)
    }

    fn check(snippet: &str, expected: Expected) {
        assert_eq!(at(snippet).expected, expected, "in {snippet:?}");
    }

    fn record(path: &[&str], in_job: bool) -> Expected {
        Expected::Key(Body::Record {
            path: path.iter().map(|s| s.to_string()).collect(),
            in_job,
        })
    }

    #[test]
    fn templates_after_from() {
        check(
            "pipeline p { stage s { job x from $0 } }",
            Expected::Template,
        );
        check(
            "pipeline p { stage s { job x from go$0 } }",
            Expected::Template,
        );
        check(
            "pipeline p { stage s { job x from a(), $0 } }",
            Expected::Template,
        );
        check("template t from $0", Expected::Template);
        check(
            "pipeline p { stage s { job x from lib.$0 } }",
            Expected::QualifiedTemplate {
                alias: "lib".into(),
            },
        );
        check(
            "pipeline p { stage s { job x from a(), lib.b$0 } }",
            Expected::QualifiedTemplate {
                alias: "lib".into(),
            },
        );
    }

    #[test]
    fn template_arguments() {
        let t = || Expected::TemplateArgument {
            template: "go".into(),
        };
        check("pipeline p { stage s { job x from go($0) { } } }", t());
        check(
            "pipeline p { stage s { job x from go(pkg = \"a\", $0) { } } }",
            t(),
        );
        check("pipeline p { stage s { job x from lib.go(p$0", t());
        check(
            "pipeline p { stage s { job x from go(pkg = $0) { } } }",
            Expected::Value,
        );
    }

    #[test]
    fn secret_sources_stages_and_jobs() {
        check("secret tok = $0", Expected::SecretSource);
        check("secret tok = ci$0", Expected::SecretSource);
        check(
            "pipeline p { stage a { } stage b after $0 { } }",
            Expected::Stage,
        );
        check(
            "pipeline p { stage a { } stage b after a, $0",
            Expected::Stage,
        );
        let jobs = "pipeline p { stage s { job a { } job b { needs = [a, $0] } job c { } } }";
        check(jobs, Expected::Job);
        assert_eq!(at(jobs).jobs, ["a", "b", "c"]);
        check(
            "pipeline p { stage s { job b { dependencies = [$0] } } }",
            Expected::Job,
        );
        check(
            "pipeline p { stage s { job b { environment = { name = \"x\", on_stop = $0 } } } }",
            Expected::Job,
        );
        assert_eq!(
            at("pipeline p { stage a { } stage b after $0 { } }").stages,
            ["a", "b"]
        );
    }

    #[test]
    fn keys_by_body() {
        check("$0", Expected::Key(Body::File));
        check("let a = 1\n$0", Expected::Key(Body::File));
        check("pipeline p {\n  $0\n}", Expected::Key(Body::Pipeline));
        check(
            "pipeline p { stage s {\n  $0\n} }",
            Expected::Key(Body::Stage),
        );
        check(
            "pipeline p { stage s { job j {\n  image = img\n  $0\n} } }",
            Expected::Key(Body::Job),
        );
        check("template t() { $0 }", Expected::Key(Body::Job));
        // `=` inside a header's parentheses binds a parameter, not a record key
        check(
            "template go_job(pkg: String, image: Image = go) {\n  $0\n}",
            Expected::Key(Body::Job),
        );
        check(
            "pipeline p { stage s { job x from t(a = 1) {\n  $0\n} } }",
            Expected::Key(Body::Job),
        );
        check(
            "template t(image: Image = go) { if_previous = \"$0\" }",
            Expected::Choice {
                path: vec!["if_previous".into()],
                in_job: true,
            },
        );
        // a line break after `=` or an operator still expects the value
        check(
            "pipeline p { stage s { job j {\n  image =\n  $0\n} } }",
            Expected::Value,
        );
        check("pipeline p {\n  on = tag ||\n  $0\n}", Expected::Value);
        check("pipeline p { default = { $0 } }", Expected::Key(Body::Job));
        check(
            "pipeline p { stage s { job j { artifacts = { paths = [\"x\"], reports = { $0 } } } } }",
            record(&["artifacts", "reports"], true),
        );
        check(
            "pipeline p { stage s { job j { artifacts = { paths = [\"x\"], $0 } } } }",
            record(&["artifacts"], true),
        );
    }

    #[test]
    fn values_constructors_and_nothing() {
        check(
            "pipeline p { stage s { job j { image = $0 } } }",
            Expected::Value,
        );
        check(
            "pipeline p { stage s { job j { image = im$0 } } }",
            Expected::Value,
        );
        check(
            "pipeline p { on = branch == \"main\" || $0 }",
            Expected::Value,
        );
        check("let b = \"${$0}\"", Expected::Value);
        check(
            "pipeline p { stage s { job j { trigger = $0 } } }",
            Expected::Constructor { field: "trigger" },
        );
        check(
            "pipeline p { include = [$0] }",
            Expected::Constructor { field: "include" },
        );
        check(
            "pipeline p { include = [component(\"x\"), $0] }",
            Expected::Constructor { field: "include" },
        );
        check("let a = \"go test $0\"", Expected::Nothing);
        check("# a comment $0\n", Expected::Nothing);
        check(
            "pipeline p { stage s { job j { run = [\"$0\"] } } }",
            Expected::Nothing,
        );
    }

    #[test]
    fn allowed_strings_inside_the_string_of_a_key() {
        check(
            "pipeline p { stage s { job j { if_previous = \"$0\" } } }",
            Expected::Choice {
                path: vec!["if_previous".into()],
                in_job: true,
            },
        );
        check(
            "pipeline p { stage s { job j { environment = { name = \"x\", tier = \"$0\" } } } }",
            Expected::Choice {
                path: vec!["environment".into(), "tier".into()],
                in_job: true,
            },
        );
        let labels: Vec<String> = choices(&["if_previous".into()], true)
            .into_iter()
            .map(|i| i.label)
            .collect();
        assert_eq!(labels, ["success", "failure", "always"]);
    }

    #[test]
    fn providers_from_the_checkers_tables() {
        let labels = |items: Vec<lsp::CompletionItem>| -> Vec<String> {
            items.into_iter().map(|i| i.label).collect()
        };
        assert_eq!(
            labels(secret_sources()),
            ["ci_variable", "vault", "k8s_secret", "id_token"]
        );
        assert_eq!(labels(keys(&Body::Stage)), ["job"]);
        let pipeline = labels(keys(&Body::Pipeline));
        assert!(
            pipeline.contains(&"include".to_string()) && pipeline.contains(&"stage".to_string())
        );
        assert!(labels(constructors("include")).contains(&"component".to_string()));
        assert_eq!(labels(constructors("trigger")), ["project", "child"]);
        let reports = labels(keys(&Body::Record {
            path: vec!["artifacts".into(), "reports".into()],
            in_job: true,
        }));
        assert!(reports.contains(&"junit".to_string()) && !reports.contains(&"paths".to_string()));
    }
}
