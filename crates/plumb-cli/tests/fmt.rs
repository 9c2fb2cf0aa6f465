//! `plumb fmt`: every fixture and example is formatted already; a file with syntax
//! errors is left untouched; `--check` lists what would change.

mod common;
use common::root;

use std::process::{Command, Output};

fn plumb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run plumb")
}

#[test]
fn fixtures_and_examples_are_formatted() {
    let mut paths = vec!["examples".to_string()];
    let mut dirs = vec![root().join("fixtures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "plumb") {
                let text = std::fs::read_to_string(&p).expect("read");
                if !plumb_syntax::parse(&text).errors.is_empty() {
                    continue; // a syntax fixture: nothing to format
                }
                paths.push(
                    p.strip_prefix(root())
                        .expect("under")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut args = vec!["fmt", "--check"];
    args.extend(paths.iter().map(String::as_str));
    let o = plumb(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "would change:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn check_lists_files_and_fmt_rewrites_them_but_never_a_broken_one() {
    let dir = std::env::temp_dir().join(format!("plumb-fmt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let ugly = dir.join("ugly.plumb");
    let broken = dir.join("broken.plumb");
    std::fs::write(&ugly, "let   a=\"x\"  # keep me\n").expect("write");
    std::fs::write(&broken, "let a = \n pipeline {").expect("write");
    let d = dir.to_string_lossy().into_owned();
    let check = plumb(&["fmt", "--check", &d]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("ugly.plumb"));
    assert_eq!(
        std::fs::read_to_string(&ugly).expect("read"),
        "let   a=\"x\"  # keep me\n",
        "--check wrote"
    );
    let fmt = plumb(&["fmt", &d]);
    assert_eq!(
        fmt.status.code(),
        Some(1),
        "a file was refused, so the status is 1"
    );
    assert_eq!(
        std::fs::read_to_string(&ugly).expect("read"),
        "let a = \"x\"  # keep me\n"
    );
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        "let a = \n pipeline {",
        "a broken file was touched"
    );
    assert!(String::from_utf8_lossy(&fmt.stderr).contains("syntax error"));
    let leftovers = std::fs::read_dir(&dir).expect("dir").count();
    assert_eq!(leftovers, 2, "a temporary file was left behind");
}

/// `# plumb-allow:` covers its own line and the next line with code. Collapsing a
/// multi-line job onto that line would silence the whole job: the lines an allowance
/// covers keep their layout, and where even that would move what it covers (a line
/// too long to keep) the formatter refuses, so `check` reports the same after `fmt` as
/// before.
#[test]
fn formatting_never_changes_what_an_allow_comment_covers() {
    let dir = common::scratch("fmt-allow");
    let file = dir.join("p.plumb");
    let check = || {
        let o = common::plumb_in(&dir, &["check", "p.plumb", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let mut codes: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|d| format!("{} {}", d["code"], d["message"]))
            .collect();
        codes.sort();
        codes
    };
    // the job's body would fit on its line: it keeps its lines
    let apart = "pipeline p {\n  stage s {\n    # plumb-allow: PL3003\n    job j {\n      image = \"alpine:3.20\"\n      run = [\"true\"]\n    }\n  }\n}\n";
    std::fs::write(&file, apart).expect("write");
    let before = check();
    assert!(before.iter().any(|c| c.contains("PL3003")), "{before:?}");
    let o = common::plumb_in(&dir, &["fmt", "p.plumb"]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let kept = apart.replace("run = ", "run   = ");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), kept);
    assert_eq!(check(), before);
    // a job on one line longer than a job's line may be is kept as written
    let env = format!("A = \"{}\", B = \"{}\"", "a".repeat(40), "b".repeat(50));
    let long = format!(
        "pipeline p {{\n  stage s {{\n    # plumb-allow: PL3003\n    job j {{ image = \"alpine:3.20\", env = {{ {env} }} }}\n  }}\n}}\n"
    );
    std::fs::write(&file, &long).expect("write");
    let before = check();
    let o = common::plumb_in(&dir, &["fmt", "p.plumb"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), long);
    assert_eq!(check(), before);
    // two jobs on one line would be split: refused, nothing written
    let program = "pipeline p {\n  stage s {\n    # plumb-allow: PL3003\n    job a { image = \"alpine:3.20\" } job b { image = \"alpine:3.21\" }\n  }\n}\n".to_string();
    std::fs::write(&file, &program).expect("write");
    let before = check();
    let o = common::plumb_in(&dir, &["fmt", "p.plumb"]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), program);
    assert_eq!(check(), before);
}

/// On the pinned ugly inputs (which `fmt` rewrites heavily), what `check` reports is the
/// same before and after formatting.
#[test]
fn checks_are_the_same_before_and_after_formatting() {
    let dir = common::scratch("fmt-same-checks");
    let ugly = root().join("crates/plumb-fmt/tests/ugly");
    for e in std::fs::read_dir(&ugly).expect("ugly").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        std::fs::copy(e.path(), dir.join(&name)).expect("copy");
        let check = || {
            let o = common::plumb_in(&dir, &["check", &name, "--format", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            let mut found: Vec<String> = v
                .as_array()
                .expect("array")
                .iter()
                .map(|d| format!("{} {}", d["code"], d["message"]))
                .collect();
            found.sort();
            found
        };
        let before = check();
        let o = common::plumb_in(&dir, &["fmt", &name]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(check(), before, "{name}");
    }
}
