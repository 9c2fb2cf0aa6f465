//! The CI report formats: SARIF (validated by Microsoft's SARIF validator), GitLab Code
//! Quality (exactly the documented fields), GitHub workflow commands (their syntax),
//! and fingerprints that survive unrelated edits.

mod common;
use common::{root, scratch};

use std::process::Command;

fn check(format: &str, paths: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["check", "--format", format])
        .args(paths)
        .current_dir(root())
        .output()
        .expect("run plumb");
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn sarif_passes_microsofts_validator_without_errors_or_warnings() {
    let tool = root().join("scripts/node/node_modules/.bin/sarif-multitool");
    assert!(
        tool.exists(),
        "sarif-multitool is not installed: run scripts/test.sh"
    );
    let dir = scratch("sarif");
    let report = dir.join("plumb.sarif");
    let text = check("sarif", &["fixtures"]);
    std::fs::write(&report, &text).expect("write");
    let log: serde_json::Value = serde_json::from_str(&text).expect("json");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results.len() > 50, "only {} results", results.len());
    assert!(
        results.iter().any(|r| r["relatedLocations"].is_array()),
        "no related locations"
    );
    assert!(results.iter().any(|r| r["fixes"].is_array()), "no fixes");
    // the walk checks the GitLab CI fixtures too: their results name the YAML file
    let uri = |r: &serde_json::Value| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        results
            .iter()
            .any(|r| uri(r) == "fixtures/gitlab/planted.gitlab-ci.yml"),
        "no result on the YAML fixture"
    );
    let out = dir.join("validation.sarif");
    let o = Command::new(&tool)
        .arg("validate")
        .arg(&report)
        .arg("-o")
        .arg(&out)
        .current_dir(&dir)
        .output()
        .expect("run validator");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let validation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    let findings = validation["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let serious: Vec<String> = findings
        .iter()
        .filter(|r| r["level"].as_str() != Some("note") && r["level"].as_str() != Some("none"))
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect();
    assert!(
        serious.is_empty(),
        "the SARIF validator reports:\n{}",
        serious.join("\n")
    );
}

#[test]
fn gitlab_report_has_exactly_the_documented_fields() {
    let text = check("gitlab", &["fixtures"]);
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    assert!(items.len() > 50);
    for item in &items {
        let obj = item.as_object().expect("object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "check_name",
                "description",
                "fingerprint",
                "location",
                "severity"
            ],
            "{item}"
        );
        let location = obj["location"].as_object().expect("location");
        let mut lkeys: Vec<&str> = location.keys().map(String::as_str).collect();
        lkeys.sort();
        assert_eq!(lkeys, ["lines", "path"]);
        let lines = location["lines"].as_object().expect("lines");
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["begin"]);
        assert!(lines["begin"].as_u64().is_some_and(|l| l >= 1));
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&obj["severity"].as_str().expect("severity")));
        assert!(obj["description"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(!location["path"].as_str().expect("path").starts_with('/'));
    }
    let prints: std::collections::HashSet<&str> = items
        .iter()
        .map(|i| i["fingerprint"].as_str().expect("fp"))
        .collect();
    assert_eq!(prints.len(), items.len(), "fingerprints are not unique");
}

#[test]
fn github_lines_are_workflow_commands() {
    let text = check("github", &["fixtures"]);
    let mut n = 0;
    for line in text.lines() {
        n += 1;
        let rest = ["::error ", "::warning ", "::notice "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
            .unwrap_or_else(|| panic!("not a command: {line}"));
        let (props, message) = rest
            .split_once("::")
            .unwrap_or_else(|| panic!("no message: {line}"));
        assert!(!message.is_empty() && !message.contains('\n'));
        let keys: Vec<&str> = props
            .split(',')
            .map(|p| p.split_once('=').expect("key=value").0)
            .collect();
        assert_eq!(
            keys,
            ["file", "line", "col", "endLine", "endColumn", "title"],
            "{line}"
        );
        for p in props.split(',') {
            let value = p.split_once('=').expect("kv").1;
            assert!(!value.contains(':'), "unescaped `:` in a property: {line}");
        }
    }
    assert!(n > 50);
    // a finding of a GitLab CI file names its YAML file and line
    assert!(
        text.lines()
            .any(|l| l
                .starts_with("::error file=fixtures/gitlab/planted.gitlab-ci.yml,line=26,col=15,")),
        "no annotation on the YAML line:\n{text}"
    );
}

#[test]
fn fingerprints_survive_unrelated_edits_and_reruns() {
    let dir = scratch("fingerprints");
    let src = root().join("fixtures/graph/two_job_cycle.plumb");
    let text = std::fs::read_to_string(&src).expect("read");
    let file = dir.join("main.plumb");
    std::fs::write(&file, &text).expect("write");
    let f = file.to_string_lossy().into_owned();
    let prints = |s: &str| -> Vec<String> {
        let items: Vec<serde_json::Value> = serde_json::from_str(s).expect("json");
        items
            .iter()
            .map(|i| i["fingerprint"].as_str().expect("fp").to_string())
            .collect()
    };
    let first = prints(&check("gitlab", &[&f]));
    assert_eq!(
        first,
        prints(&check("gitlab", &[&f])),
        "a rerun changed the fingerprints"
    );
    std::fs::write(
        &file,
        format!("# a new comment\n\nlet unrelated = \"x\"\n{text}"),
    )
    .expect("write");
    assert_eq!(
        first,
        prints(&check("gitlab", &[&f])),
        "an unrelated edit changed the fingerprints"
    );
}

/// Runs `plumb check --format FORMAT PATH` in `dir`.
fn check_in(dir: &std::path::Path, format: &str, path: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["check", "--format", format, path])
        .current_dir(dir)
        .output()
        .expect("run plumb");
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn reports_place_files_relative_to_the_current_folder_whatever_the_path_given() {
    // issue #14: an absolute path gave `"uri": "/abs/x.plumb"`, which the SARIF
    // validator rejects (SARIF1004) and code scanning cannot place
    let dir = scratch("places");
    let sub = dir.join("ci dir");
    std::fs::create_dir_all(&sub).expect("dir");
    std::fs::write(
        sub.join("x.plumb"),
        "pipeline p { stage s { job j { image = \"alpine\", run = [\"x\"] } } }\n",
    )
    .expect("write");
    let abs = std::fs::canonicalize(&sub).expect("canonical");
    let relative = check_in(&dir, "sarif", "ci dir");
    let absolute = check_in(&dir, "sarif", &abs.to_string_lossy());
    assert_eq!(
        relative, absolute,
        "the same report for a relative and an absolute path"
    );
    let log: serde_json::Value = serde_json::from_str(&absolute).expect("json");
    let loc = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], "ci%20dir/x.plumb");
    assert_eq!(loc["uriBaseId"], "%SRCROOT%");
    let base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("base");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    // the validator accepts the absolute-path report
    let report = dir.join("abs.sarif");
    std::fs::write(&report, &absolute).expect("write");
    let out = dir.join("abs-validation.sarif");
    let o = Command::new(root().join("scripts/node/node_modules/.bin/sarif-multitool"))
        .arg("validate")
        .arg(&report)
        .arg("-o")
        .arg(&out)
        .current_dir(&dir)
        .output()
        .expect("run validator");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let validation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    let serious: Vec<String> = validation["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| r["level"].as_str() != Some("note") && r["level"].as_str() != Some("none"))
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect();
    assert!(serious.is_empty(), "{}", serious.join("\n"));
    // a file outside the current folder is a file:// URI
    let outside = check_in(&sub.join(".."), "sarif", &abs.to_string_lossy());
    assert!(
        outside.contains("\"uri\": \"ci%20dir/x.plumb\""),
        "{outside}"
    );
    let elsewhere = check_in(&std::env::temp_dir(), "sarif", &abs.to_string_lossy());
    if !abs.starts_with(std::fs::canonicalize(std::env::temp_dir()).expect("tmp")) {
        assert!(elsewhere.contains("file:///"), "{elsewhere}");
    }
    // GitLab Code Quality and GitHub annotations use the same relative path
    let gitlab = check_in(&dir, "gitlab", &abs.to_string_lossy());
    assert!(gitlab.contains("\"path\": \"ci dir/x.plumb\""), "{gitlab}");
    let github = check_in(&dir, "github", &abs.to_string_lossy());
    assert!(github.contains("file=ci dir/x.plumb,"), "{github}");
}
