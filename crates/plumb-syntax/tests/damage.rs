//! Recovery under damage (issue #14): for every fixture and example that parses, delete
//! or insert one token at 200 places; every pipeline, stage and job that starts on a
//! line after the damaged one is still in the tree with its name, so its own
//! diagnostics and the editor's outline survive the mistake.

use plumb_syntax::ast::{Item, SourceFile};
use plumb_syntax::{lexer, parse};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tokens a user drops in by mistake, besides the file's own.
const STRAY: &[&str] = &[
    "{", "}", "[", "]", "(", ")", ",", "=", ".", ":", "job", "stage", "pipeline", "let",
    "template", "import", "secret", "from", "after", "!", "==", "&&", "x", "\"s\"", "3",
];

/// (kind, name, line) of every pipeline, stage and job.
fn constructs(text: &str, tree: &SourceFile) -> Vec<(&'static str, String, usize)> {
    let line = |at: u32| text[..at as usize].matches('\n').count();
    let mut out = Vec::new();
    for item in &tree.items {
        let Item::Pipeline(p) = item else { continue };
        out.push(("pipeline", p.name.text.clone(), line(p.range.start)));
        for s in &p.stages {
            out.push(("stage", s.name.text.clone(), line(s.range.start)));
            for j in &s.jobs {
                out.push(("job", j.name.text.clone(), line(j.range.start)));
            }
        }
    }
    out
}

fn programs() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("fixtures"), root.join("examples")];
    let mut out = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "plumb") {
                let text = std::fs::read_to_string(&path).expect("read");
                if parse(&text).errors.is_empty() {
                    out.push((path, text));
                }
            }
        }
    }
    out.sort();
    out
}

/// The text with token `at` deleted, or with `insert` put before it; and the 0-based
/// line of the damage.
fn damage(
    text: &str,
    tokens: &[(usize, usize)],
    at: usize,
    insert: Option<&str>,
) -> (String, usize) {
    let (start, end) = tokens[at];
    let line = text[..start].matches('\n').count();
    let damaged = match insert {
        None => format!("{}{}", &text[..start], &text[end..]),
        Some(t) => format!("{} {t} {}", &text[..start], &text[start..]),
    };
    (damaged, line)
}

#[test]
fn constructs_after_a_damaged_line_survive() {
    let programs = programs();
    assert!(programs.len() > 50, "only {} programs", programs.len());
    let mut failures = Vec::new();
    for (path, text) in &programs {
        let tokens: Vec<(usize, usize)> = lexer::lex(text)
            .tokens
            .iter()
            .map(|(_, r)| (r.start as usize, r.end as usize))
            .collect();
        if tokens.is_empty() {
            continue;
        }
        let before = constructs(text, &parse(text).tree);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ text.len() as u64;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x % tokens.len() as u64) as usize;
            let insert = match (x >> 20) % 3 {
                0 => None,
                1 => Some(STRAY[((x >> 30) % STRAY.len() as u64) as usize]),
                _ => {
                    let (s, e) = tokens[((x >> 30) % tokens.len() as u64) as usize];
                    Some(&text[s..e])
                }
            };
            let (damaged, line) = damage(text, &tokens, at, insert);
            let after = constructs(&damaged, &parse(&damaged).tree);
            let mut found: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for (kind, name, _) in &after {
                *found.entry((kind, name.as_str())).or_default() += 1;
            }
            for (kind, name, l) in &before {
                if *l <= line {
                    continue;
                }
                match found.get_mut(&(*kind, name.as_str())) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => failures.push(format!(
                        "{}: {kind} `{name}` (line {}) lost after {} at line {}",
                        path.display(),
                        l + 1,
                        insert.map_or("deleting a token".to_string(), |t| format!(
                            "inserting `{t}`"
                        )),
                        line + 1
                    )),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} losses:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn jobs(text: &str, tree: &SourceFile) -> Vec<String> {
    constructs(text, tree)
        .into_iter()
        .filter(|(kind, _, _)| *kind == "job")
        .map(|(_, name, _)| name)
        .collect()
}

#[test]
fn deleting_any_closing_brace_is_one_error() {
    for (path, text) in programs() {
        for (tok, r) in lexer::lex(&text).tokens {
            if tok != plumb_syntax::token::Token::RBrace {
                continue;
            }
            let damaged = format!("{}{}", &text[..r.start as usize], &text[r.end as usize..]);
            let p = parse(&damaged);
            assert_eq!(
                p.errors.len(),
                1,
                "{} without the `}}` at {}: {:#?}",
                path.display(),
                r.start,
                p.errors
            );
        }
    }
}

#[test]
fn a_stray_closing_brace_between_members_is_one_error_and_loses_nothing() {
    let src = "pipeline p {\n  stage a {\n    job x { image = i }\n  }\n  }\n  stage b {\n    job y { image = i }\n  }\n}\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert!(p.errors[0].message.contains("closes"), "{:#?}", p.errors);
    assert_eq!(jobs(src, &p.tree), ["x", "y"]);
    let src = "pipeline p {\n  stage a {\n    job x { image = i }\n    }\n    job y { image = i }\n  }\n}\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(jobs(src, &p.tree), ["x", "y"]);
}

#[test]
fn a_broken_job_on_one_line_keeps_the_jobs_after_it() {
    // the example: a missing `,` and `]` in one job
    let src = "pipeline p {\n  stage s {\n    job a { image = \"i\" run = [\"true\" }\n    job b { image = \"i\", needs = [doesnotexist] }\n  }\n  stage t {\n    job c { image = \"i\" }\n  }\n}\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(jobs(src, &p.tree), ["a", "b", "c"]);
}

#[test]
fn headers_without_a_name_or_keyword_keep_their_members() {
    let src = "pipeline {\n  stage s {\n    job j { image = i }\n  }\n}\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(jobs(src, &p.tree), ["j"]);
    let src = "pipeline p {\n  s {\n    j { image = i }\n  }\n}\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 2, "{:#?}", p.errors);
    assert_eq!(jobs(src, &p.tree), ["j"]);
    let src =
        "template (x: String) { image = x }\npipeline p { stage s { job j { image = i } } }\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert!(matches!(&p.tree.items[0], Item::Template(t) if t.params.len() == 1));
    assert_eq!(jobs(src, &p.tree), ["j"]);
}
