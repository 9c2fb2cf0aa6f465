//! The fixes that diagnostics carry, applied to the source, make the diagnostic go away
//! without introducing new errors.

use std::path::Path;
use std::process::Command;

fn check_json(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["check", "--format", "json"])
        .arg(path)
        .output()
        .expect("run plumb");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Byte offset of a 1-based line and character column.
fn offset(text: &str, line: u64, column: u64) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line as usize - 1)
        .map(str::len)
        .sum();
    line_start
        + text[line_start..]
            .chars()
            .take(column as usize - 1)
            .map(char::len_utf8)
            .sum::<usize>()
}

fn apply(text: &str, fix: &serde_json::Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = fix["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| {
            let start = offset(
                text,
                e["line"].as_u64().unwrap(),
                e["column"].as_u64().unwrap(),
            );
            let end = offset(
                text,
                e["end_line"].as_u64().unwrap(),
                e["end_column"].as_u64().unwrap(),
            );
            (start, end, e["replacement"].as_str().unwrap().to_string())
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, replacement) in edits {
        out.replace_range(start..end, &replacement);
    }
    out
}

fn fixed_by_first_fix(fixture: &str, code: &str, fix_index: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let src = root.join(fixture);
    let diags = check_json(&src);
    let d = diags
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("{fixture}: no {code}"));
    let fix = &d["fixes"][fix_index];
    let text = std::fs::read_to_string(&src).expect("read");
    let fixed = apply(&text, fix);
    let dir = std::env::temp_dir().join(format!("plumb-fix-{}-{}", std::process::id(), code));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("fixed.plumb");
    std::fs::write(&out, &fixed).expect("write");
    let after = check_json(&out);
    let codes: Vec<&str> = after.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(
        !codes.contains(&code),
        "{fixture}: {code} still reported after `{}`:\n{fixed}",
        fix["title"]
    );
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("PL0") || c.starts_with("PL1")),
        "{fixture}: the fix introduced {codes:?}:\n{fixed}"
    );
}

#[test]
fn did_you_mean_fixes() {
    fixed_by_first_fix("names/unknown_let.plumb", "PL1001", 0);
    fixed_by_first_fix("names/unknown_needs_job.plumb", "PL1001", 0);
    fixed_by_first_fix("names/unknown_field.plumb", "PL1004", 0);
}

#[test]
fn secret_interpolation_becomes_an_env_binding() {
    fixed_by_first_fix("credentials/secret_interpolated.plumb", "PL4002", 0);
}

#[test]
fn allow_comment_fix_silences_any_code() {
    fixed_by_first_fix("images/tag_only.plumb", "PL3003", 0);
    fixed_by_first_fix("credentials/echo_secret.plumb", "PL4003", 0);
    fixed_by_first_fix("graph/two_job_cycle.plumb", "PL2001", 0);
}

#[test]
fn supply_chain_fixes() {
    fixed_by_first_fix("supply/fix_quote_expansion.plumb", "PL6001", 0);
    fixed_by_first_fix("supply/fix_verify_piped_download.plumb", "PL6002", 0);
    fixed_by_first_fix("supply/fix_verify_downloaded_file.plumb", "PL6002", 0);
}

/// Every PL6003 fix of the fixture, applied together, pins every install.
#[test]
fn installs_are_pinned_to_the_version_variables_of_the_job() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let src = root.join("supply/fix_pin_to_version_variable.plumb");
    let mut text = std::fs::read_to_string(&src).expect("read");
    let diags = check_json(&src);
    let fixes: Vec<&serde_json::Value> = diags
        .iter()
        .filter(|d| d["code"] == "PL6003")
        .map(|d| &d["fixes"][0])
        .collect();
    assert_eq!(fixes.len(), 2);
    // apply the later edit first so the earlier one's position still holds
    for fix in fixes.iter().rev() {
        text = apply(&text, fix);
    }
    assert!(text.contains("goimports@$GOIMPORTS_VERSION"), "{text}");
    assert!(
        text.contains("npx prettier@$PRETTIER_VERSION --check"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("plumb-fix-{}-pins", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("fixed.plumb");
    std::fs::write(&out, &text).expect("write");
    let after = check_json(&out);
    assert!(after.is_empty(), "{after:?}");
}
