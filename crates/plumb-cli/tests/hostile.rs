//! Hostile input gives diagnostics or a clear error: never a panic, a hang or a stack
//! overflow.

mod common;
use common::scratch;

use std::path::PathBuf;
use std::process::Command;

fn check(path: &PathBuf) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["check", "--format", "json"])
        .arg(path)
        .output()
        .expect("run plumb");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_codes(stdout: &str) -> Vec<String> {
    let diags: Vec<serde_json::Value> =
        serde_json::from_str(stdout).expect("stdout is a JSON array");
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn random_bytes() {
    let dir = scratch("random");
    let mut bytes = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..10_000 {
        for _ in 0..60 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push((x >> 24) as u8);
        }
        bytes.push(b'\n');
    }
    let path = dir.join("random.plumb");
    std::fs::write(&path, bytes).expect("write");
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 1, "{stderr}");
    // syntax errors, and the invisible characters (soft hyphens, bidi controls) that
    // random bytes happen to hold
    assert!(json_codes(&stdout)
        .iter()
        .all(|c| c == "PL0001" || c == "PL6007"));
}

#[test]
fn deeply_nested_brackets() {
    let dir = scratch("nested");
    let path = dir.join("nested.plumb");
    let text = format!("let a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(&path, text).expect("write");
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 1, "{stderr}");
    assert!(json_codes(&stdout).contains(&"PL0001".to_string()));
    let braces = dir.join("braces.plumb");
    std::fs::write(&braces, format!("pipeline p {}", "{".repeat(100_000))).expect("write");
    let (code, _, stderr) = check(&braces);
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn long_operator_chains() {
    let dir = scratch("chain");
    let path = dir.join("chain.plumb");
    let text = format!(
        "let a = tag{}\nlet b = {}tag\n",
        " || tag".repeat(50_000),
        "!".repeat(100_000)
    );
    std::fs::write(&path, text).expect("write");
    let (code, stdout, stderr) = check(&path);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
    let _ = json_codes(&stdout);
}

#[test]
fn fifty_megabytes() {
    let dir = scratch("large");
    let path = dir.join("large.plumb");
    let line = "let a = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n";
    std::fs::write(&path, line.repeat(50 * 1024 * 1024 / line.len())).expect("write");
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("plumb::file_too_large"), "{stderr}");
}

#[test]
fn missing_path_and_bad_config_are_usage_errors() {
    let (code, _, stderr) = check(&PathBuf::from("/nonexistent/plumb/file.plumb"));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
    let dir = scratch("config");
    std::fs::write(dir.join("plumb.toml"), "[images]\nrequire_digests = true\n").expect("write");
    std::fs::write(dir.join("main.plumb"), "let a = 1\n").expect("write");
    let (code, stdout, stderr) = check(&dir);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("require_digests"), "{stderr}");
}

/// Thousands of findings on one very long line: each is drawn around its own place on
/// the line, with the file's line and column, never with the whole line (which made
/// the output grow with the square of the line: 250 MB for a 42 KB line).
#[test]
fn findings_on_one_long_line_draw_only_their_part_of_it() {
    let dir = scratch("hostile-long-line");
    let path = dir.join(".gitlab-ci.yml");
    let line = "$DEPLOY_TOKEN ".repeat(2000);
    let yaml = format!("job:\n  image: alpine:3.19\n  script:\n    - ./tool {line}\n");
    std::fs::write(&path, yaml).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .arg("check")
        .arg(&path)
        .output()
        .expect("run plumb");
    let drawn = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(drawn.len() < 4_000_000, "{} bytes drawn", drawn.len());
    // the last token's finding, at its own column of line 4
    let last_column = 14 + 14 * 1999;
    assert!(
        drawn.contains(&format!(".gitlab-ci.yml:4:{last_column} ]")),
        "{}",
        &drawn[drawn.len().saturating_sub(2000)..]
    );
    assert!(drawn.contains(" 4 │ …"), "the cut line keeps its number");
}
