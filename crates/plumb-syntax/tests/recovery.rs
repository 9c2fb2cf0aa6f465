use plumb_syntax::ast::{ExprKind, Item, Segment};
use plumb_syntax::parse;

const IMG: &str =
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

fn jobs(src: &str) -> Vec<String> {
    let p = parse(src);
    let mut out = Vec::new();
    for item in &p.tree.items {
        if let Item::Pipeline(pl) = item {
            for st in &pl.stages {
                for j in &st.jobs {
                    out.push(j.name.text.clone());
                }
            }
        }
    }
    out
}

#[test]
fn spec_example_parses_cleanly() {
    let src = include_str!("../../../examples/web.plumb");
    let p = parse(src);
    assert!(p.errors.is_empty(), "{:#?}", p.errors);
    assert_eq!(jobs(src), ["compile", "unit-api", "unit-web", "release"]);
}

#[test]
fn two_syntax_errors_are_both_reported_and_later_jobs_survive() {
    let src = format!(
        r#"pipeline p {{
  stage s {{
    job a {{ image = , run = ["x"] }}
    job b {{ image "{IMG}" run = ["x"] }}
    job c {{ image = "{IMG}", run = [ok] }}
  }}
}}"#
    );
    let p = parse(&src);
    assert_eq!(p.errors.len(), 2, "{:#?}", p.errors);
    assert_eq!(jobs(&src), ["a", "b", "c"]);
}

#[test]
fn missing_brace_is_one_error_and_keeps_the_tree() {
    let src = format!(
        "pipeline p {{\n  stage s {{\n    job j {{ image = \"{IMG}\", run = [\"true\"]\n  }}\n}}\n"
    );
    let p = parse(&src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert!(
        p.errors[0].message.contains("`}`"),
        "{}",
        p.errors[0].message
    );
    assert_eq!(jobs(&src), ["j"]);
}

#[test]
fn a_from_without_a_template_is_one_error_and_keeps_the_job() {
    let src = "pipeline p { stage s { job a from { image = x } job b { image = y } } }";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(jobs(src), ["a", "b"]);
    let src = "pipeline p { stage s { job a from t { image = x } job b { image = y } } }";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert!(p.errors[0].message.contains("`(`"), "{:#?}", p.errors);
    assert_eq!(jobs(src), ["a", "b"]);
}

#[test]
fn a_broken_job_header_skips_only_that_job() {
    let src = "pipeline p { stage s { job { image = x } job b { image = y } } }";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(jobs(src), ["b"]);
}

#[test]
fn stray_tokens_between_items() {
    let src = "let a = 1\n) ) )\nlet b = 2\n";
    let p = parse(src);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert_eq!(p.tree.items.len(), 2);
}

#[test]
fn interpolation_becomes_an_expression() {
    let p = parse(r#"let a = "x ${b.c} y""#);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let Item::Let(l) = &p.tree.items[0] else {
        panic!()
    };
    let ExprKind::Str(s) = &l.value.kind else {
        panic!()
    };
    assert!(
        matches!(&s.segments[1], Segment::Interp(e, _) if matches!(e.kind, ExprKind::Member(..)))
    );
}

#[test]
fn error_inside_interpolation_is_reported() {
    let p = parse(r#"let a = "x ${b ==} y""#);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
}

#[test]
fn conditions_have_precedence() {
    let p = parse(r#"let c = !tag && branch == "main" || merge_request"#);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let Item::Let(l) = &p.tree.items[0] else {
        panic!()
    };
    assert!(matches!(
        l.value.kind,
        ExprKind::Binary(plumb_syntax::ast::BinOp::Or, ..)
    ));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep = "let a = ".to_string() + &"[".repeat(100_000) + &"]".repeat(100_000);
    assert!(!parse(&deep).errors.is_empty());
    let bangs = "let a = ".to_string() + &"!".repeat(100_000) + "x";
    assert!(!parse(&bangs).errors.is_empty());
    let mut junk = String::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        junk.push(char::from_u32((x >> 16) % 128).unwrap_or('?'));
    }
    let _ = parse(&junk);
    let interp = "let a = ".to_string() + &"\"${".repeat(1000);
    let _ = parse(&interp);
}

/// Every example in the normative grammar parses without a syntax error.
#[test]
fn grammar_examples_parse() {
    let grammar = include_str!("../../../grammar/plumb.ebnf");
    let mut count = 0;
    let mut rest = grammar;
    while let Some(start) = rest.find("(* example:") {
        let body_start = start + rest[start..].find('\n').expect("example header line") + 1;
        let end = rest[body_start..]
            .find("end example *)")
            .expect("example end")
            + body_start;
        let example = &rest[body_start..end];
        let p = parse(example);
        assert!(p.errors.is_empty(), "example {count}: {:#?}", p.errors);
        assert!(!p.tree.items.is_empty());
        count += 1;
        rest = &rest[end..];
    }
    assert!(count >= 2, "found only {count} examples");
}

/// Every fixture and example of the repository parses (syntax fixtures are expected to
/// fail, and say so in their header).
#[test]
fn repository_programs_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("fixtures"), root.join("examples")];
    let mut checked = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "plumb") {
                let text = std::fs::read_to_string(&path).expect("read");
                let expects_syntax_error = text
                    .lines()
                    .any(|l| l.starts_with("# expect-codes:") && l.contains("PL0001"));
                let p = parse(&text);
                assert_eq!(
                    !p.errors.is_empty(),
                    expects_syntax_error,
                    "{}: {:#?}",
                    path.display(),
                    p.errors
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} programs");
}

/// How deep an expression's tree is (left spines of binary operators, members, calls).
fn depth(e: &plumb_syntax::ast::Expr) -> usize {
    let mut d = 0;
    let mut at = e;
    loop {
        d += 1;
        at = match &at.kind {
            ExprKind::Binary(_, lhs, _) => lhs,
            ExprKind::Member(inner, _) | ExprKind::Call(inner, _) => inner,
            _ => return d,
        };
    }
}

/// A chain of operators is a tree as deep as it is long, which every later pass walks
/// by recursion: past 256 operators it is one error, and the rest is read but dropped
/// (half a million `||` overflowed the stack).
#[test]
fn a_chain_too_long_is_one_error_and_a_shallow_tree() {
    for (src, what) in [
        (
            format!("let x = {}", vec!["true"; 100_000].join(" || ")),
            "`||`",
        ),
        (
            format!("let x = {}", vec!["tag"; 100_000].join(" && ")),
            "`&&`",
        ),
        (format!("let x = a{}", ".b".repeat(100_000)), "`.` or calls"),
        (
            format!("let x = a{}", ".b()".repeat(100_000)),
            "`.` or calls",
        ),
    ] {
        let p = parse(&src);
        assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
        assert!(
            p.errors[0].message.contains(what),
            "{}",
            p.errors[0].message
        );
        let Some(Item::Let(l)) = p.tree.items.first() else {
            panic!("no let");
        };
        assert!(depth(&l.value) <= 2 * 256 + 2, "{}", depth(&l.value));
    }
    // a chain of 256 is read whole
    let p = parse(&format!("let x = {}", vec!["true"; 257].join(" || ")));
    assert!(p.errors.is_empty(), "{:#?}", p.errors);
}
