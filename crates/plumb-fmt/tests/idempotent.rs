//! On every program of the repository: formatting is idempotent, keeps every comment,
//! and keeps the program (the same tokens, commas aside).

mod common;

use common::{comments, tokens};

fn programs() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let mut dirs = vec![root.join("fixtures"), root.join("examples")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "plumb") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn formatting_is_idempotent_and_keeps_programs_and_comments() {
    let mut formatted = 0;
    for (path, src) in programs() {
        let Ok(once) = plumb_fmt::format(&src) else {
            continue;
        };
        formatted += 1;
        let twice = plumb_fmt::format(&once).unwrap_or_else(|e| {
            panic!("{path}: the formatted text does not parse ({e:?}):\n{once}")
        });
        assert_eq!(once, twice, "{path}: not idempotent");
        assert_eq!(
            tokens(&src),
            tokens(&once),
            "{path}: the program changed:\n{once}"
        );
        assert_eq!(
            comments(&src),
            comments(&once),
            "{path}: comments changed:\n{once}"
        );
    }
    assert!(formatted > 100, "only {formatted} programs formatted");
}

#[test]
fn syntax_errors_are_refused() {
    assert!(plumb_fmt::format("pipeline p {").is_err());
}

#[test]
fn an_allowance_above_a_stage_keeps_its_lone_job_off_the_stage_line() {
    // on `stage build { job compile {` the allowance would cover the job's name too
    let src = "pipeline p {\n  # plumb-allow: PL3003 pinned by the mirror\n  stage build {\n    job compile {\n      image = \"go:1.22\"\n      run   = [\"make\"]\n      retry = 1\n      when  = tag\n    }\n  }\n}\n";
    assert_eq!(plumb_fmt::format(src).as_deref(), Ok(src));
    let without = src.replace("  # plumb-allow: PL3003 pinned by the mirror\n", "");
    let nested = plumb_fmt::format(&without).expect("formats");
    assert!(
        nested.contains("  stage build { job compile {\n"),
        "{nested}"
    );
    assert!(nested.contains("\n  } }\n"), "{nested}");
}
