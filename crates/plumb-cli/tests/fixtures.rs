//! The fixture harness: every program under `fixtures/` carries its expectations in
//! `# expect-…` header comments (the format of the shared conformance runner), and its
//! human-readable output is pinned by an insta snapshot.
//!
//! A fixture is `NAME.plumb`, or a folder `NAME/` whose `main.plumb` holds the header
//! (it may carry imports and a `plumb.toml`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

fn plumb(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run plumb");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every fixture, as (snapshot name, path relative to the repository root, header file).
fn fixtures() -> Vec<(String, String, PathBuf)> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut dirs = vec![root.join("fixtures")];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixtures dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path
                .strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() && path.join("main.plumb").exists() {
                out.push((snapshot_name(&rel), rel, path.join("main.plumb")));
            } else if path.is_dir() {
                dirs.push(path);
            } else if rel.ends_with(".plumb") {
                out.push((snapshot_name(&rel), rel, path));
            }
        }
    }
    out.sort();
    out
}

fn snapshot_name(rel: &str) -> String {
    rel.trim_start_matches("fixtures/")
        .trim_end_matches(".plumb")
        .replace('/', "__")
}

struct Expectations {
    lines: Vec<(String, Vec<String>)>,
}

fn header(path: &Path) -> Expectations {
    let text = std::fs::read_to_string(path).expect("read fixture");
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.trim_start().strip_prefix('#') {
            // a key without its `expect-` would be read as a comment and check nothing
            let bare = [
                "exit:",
                "codes:",
                "absent:",
                "count:",
                "min-count:",
                "max-count:",
                "mention:",
                "severity:",
            ];
            assert!(
                !bare.iter().any(|k| rest.trim_start().starts_with(k)),
                "{}: `#{rest}` needs `expect-`",
                path.display()
            );
            if let Some(rest) = rest.trim_start().strip_prefix("expect-") {
                if let Some((key, value)) = rest.split_once(':') {
                    lines.push((
                        key.to_string(),
                        value.split_whitespace().map(str::to_string).collect(),
                    ));
                }
            }
        }
    }
    Expectations { lines }
}

/// The problems of one fixture's run against its header; empty when it passes.
fn verify(exp: &Expectations, code: i32, diags: &[serde_json::Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    if !exp.lines.iter().any(|(k, _)| k == "exit") {
        problems.push("the header has no `# expect-exit:` line".to_string());
    }
    for (key, words) in &exp.lines {
        match key.as_str() {
            "exit" => {
                if words.first().map(String::as_str) != Some(code.to_string().as_str()) {
                    problems.push(format!("exit {code}, expected {words:?}"));
                }
            }
            "codes" => words
                .iter()
                .filter(|c| !codes.contains(&c.as_str()))
                .for_each(|c| problems.push(format!("missing {c}"))),
            "absent" => words
                .iter()
                .filter(|c| codes.contains(&c.as_str()))
                .for_each(|c| problems.push(format!("unexpected {c}"))),
            "min-count" => {
                let n = codes.iter().filter(|c| **c == words[0]).count();
                let want: usize = words[1].parse().expect("count");
                if n < want {
                    problems.push(format!(
                        "{} reported {n} times, expected at least {want}",
                        words[0]
                    ));
                }
            }
            "count" => {
                let n = codes.iter().filter(|c| **c == words[0]).count();
                let want: usize = words[1].parse().expect("count");
                if n != want {
                    problems.push(format!(
                        "{} reported {n} times, expected exactly {want}",
                        words[0]
                    ));
                }
            }
            "mention" => {
                let need: Vec<String> = words[1..].iter().map(|w| w.to_lowercase()).collect();
                let ok = diags
                    .iter()
                    .filter(|d| d["code"] == words[0].as_str())
                    .any(|d| {
                        let text = format!(
                            "{} {}",
                            d["message"].as_str().unwrap_or(""),
                            d["help"].as_str().unwrap_or("")
                        )
                        .to_lowercase();
                        need.iter().all(|w| text.contains(w))
                    });
                if !ok {
                    problems.push(format!("no {} mentions {}", words[0], need.join(" ")));
                }
            }
            "severity" => {
                for d in diags.iter().filter(|d| d["code"] == words[0].as_str()) {
                    if d["severity"] != words[1].as_str() {
                        problems.push(format!(
                            "{} has severity {}, expected {}",
                            words[0], d["severity"], words[1]
                        ));
                    }
                }
            }
            "line" => {
                // `# expect-line: PL3001 7`: some diagnostic with the code starts on that line
                let want: u64 = words[1].parse().expect("line");
                if !diags
                    .iter()
                    .any(|d| d["code"] == words[0].as_str() && d["line"].as_u64() == Some(want))
                {
                    problems.push(format!("no {} on line {want}", words[0]));
                }
            }
            other => problems.push(format!("unknown header `expect-{other}`")),
        }
    }
    problems
}

#[test]
fn fixtures_meet_their_headers_and_snapshots() {
    let all = fixtures();
    assert!(all.len() >= 20, "only {} fixtures found", all.len());
    let mut failures = Vec::new();
    for (name, rel, header_file) in &all {
        let (code, stdout, stderr) = plumb(&["check", "--format", "json", rel]);
        let diags: Vec<serde_json::Value> = match serde_json::from_str(&stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{rel}: output is not JSON ({e}): {stdout}{stderr}"));
                continue;
            }
        };
        let problems = verify(&header(header_file), code, &diags);
        if !problems.is_empty() {
            failures.push(format!("{rel}: {}", problems.join("; ")));
        }
        let (_, human, _) = plumb(&["check", rel]);
        insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name.as_str(), human);
        });
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
