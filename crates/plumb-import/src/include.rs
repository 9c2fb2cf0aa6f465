//! `include:` entries the import keeps (components, templates, other projects, remote
//! files, local files not read here) written as the pipeline's `include` (§6.3):
//! `component("…", inputs = {…})`, `template("…")`, `project("…", file = "…", ref =
//! "…")`, `remote("…", sha256 = "…")`, `local("…")`.

use crate::gitlab::include_kind;
use crate::value::PVal;
use crate::yaml::{Kind, Node};
use crate::Warning;

/// The Plumb `include` entries for the kept `include:` entries, in order.
pub fn calls(items: &[Node], origins: bool, warnings: &mut Vec<Warning>) -> Vec<PVal> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        // a file included again with other `inputs` (not carried) is one include here,
        // not the duplicate GitLab refuses
        .filter(|item| {
            let (kind, target) = include_kind(item);
            let with_inputs = kind != "component" && item.get("inputs").is_some();
            seen.insert((kind, target)) || !with_inputs
        })
        .flat_map(|item| call(item, origins, warnings))
        .collect()
}

fn call(item: &Node, origins: bool, warnings: &mut Vec<Warning>) -> Vec<PVal> {
    let (kind, target) = include_kind(item);
    let warn = |warnings: &mut Vec<Warning>, message: String| {
        warnings.push(Warning::at(item.file, item.line, message));
    };
    // for a check, the target carries where it is written (`@master` is found in it)
    let written = if item.is_map() {
        item.get(kind)
    } else {
        Some(item)
    };
    let at = written.filter(|_| origins).map(crate::value::Origin::of);
    let target_arg = PVal::at(at, PVal::Str(target.clone()));
    match kind {
        "component" => {
            let named = item
                .get("inputs")
                .map(|i| vec![("inputs".to_string(), yaml_value(i))])
                .unwrap_or_default();
            vec![PVal::call("component", vec![target_arg], named)]
        }
        "template" | "local" => vec![PVal::call(kind, vec![target_arg], Vec::new())],
        "remote" => {
            let mut named = Vec::new();
            if let Some(sri) = item.get("integrity").and_then(Node::as_str) {
                match sri.strip_prefix("sha256-").and_then(base64_hex) {
                    Some(hex) => named.push(("sha256".to_string(), PVal::Str(hex))),
                    None => warn(
                        warnings,
                        format!(
                            "`integrity: {sri}` is not a SHA-256 that Plumb reads: not carried"
                        ),
                    ),
                }
            }
            vec![PVal::call("remote", vec![target_arg], named)]
        }
        "project" => {
            let files = item.get("file").map(Node::strings).unwrap_or_default();
            if files.is_empty() {
                warn(
                    warnings,
                    format!("include of project `{target}` names no `file`: left out"),
                );
            }
            // for a check, the ref carries where it is written (a branch is found in it)
            let reference = item.get("ref").and_then(|node| {
                let text = node.as_str()?;
                let at = origins.then(|| crate::value::Origin::of(node));
                Some(PVal::at(at, PVal::Str(text.to_string())))
            });
            files
                .into_iter()
                .map(|f| {
                    let mut named = vec![("file".to_string(), PVal::Str(f))];
                    if let Some(r) = &reference {
                        named.push(("ref".to_string(), r.clone()));
                    }
                    PVal::call("project", vec![target_arg.clone()], named)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A YAML value as GitLab passes it on: plain integers and booleans keep their type,
/// any other scalar is a string.
fn yaml_value(node: &Node) -> PVal {
    match &node.kind {
        Kind::Scalar { text, plain: true } if text.parse::<u64>().is_ok() => {
            PVal::Int(text.parse().unwrap_or_default())
        }
        Kind::Scalar { text, plain: true } if text == "true" || text == "false" => {
            PVal::Bool(text == "true")
        }
        Kind::Scalar { text, .. } => PVal::Str(text.clone()),
        Kind::Seq(items) => PVal::List(items.iter().map(yaml_value).collect()),
        Kind::Map(entries) => PVal::Record(
            entries
                .iter()
                .map(|e| (e.key.clone(), yaml_value(&e.value)))
                .collect(),
        ),
        Kind::Null | Kind::Reference(_) => PVal::Str(String::new()),
    }
}

/// Standard base64 (with padding) to lowercase hex: a Subresource Integrity digest as
/// `sha256sum` prints it. `None` unless it decodes to 32 bytes.
fn base64_hex(text: &str) -> Option<String> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let body = text.trim_end_matches('=');
    let mut bytes = Vec::with_capacity(32);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bytes.len() == 32).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_becomes_hex() {
        // sha256 of the empty string
        assert_eq!(
            base64_hex("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(base64_hex("abc"), None);
        assert_eq!(base64_hex("!!!!"), None);
    }
}

#[cfg(test)]
mod import_tests {
    use crate::test_support::NoFiles;
    use std::path::Path;

    #[test]
    fn includes_not_read_here_become_the_pipelines_include() {
        let yaml = r#"
include:
  - component: gitlab.example.com/g/p/lint@1.4.2
    inputs: { stage: test, strict: true, jobs: 2 }
  - project: group/templates
    ref: v2.0.1
    file: [/a.yml, /b.yml]
  - remote: https://example.com/ci.yml
    integrity: sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
  - template: Jobs/SAST.gitlab-ci.yml
  - local: ci/missing.yml
  - local: 'ci/*.yml'
  - https://example.com/plain.yml
test:
  image: alpine:3.20
  script: [true]
"#;
        let imported = crate::import(Path::new(".gitlab-ci.yml"), yaml, &NoFiles).expect("imports");
        // the formatter breaks long calls over lines (a record's fields then need no
        // commas): compare without spaces and commas
        let squeeze = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && *c != ',')
                .collect()
        };
        let squeezed = squeeze(&imported.plumb);
        for expected in [
            r#"component("gitlab.example.com/g/p/lint@1.4.2", inputs = { "stage" = "test", strict = true, jobs = 2 })"#,
            r#"project("group/templates", file = "/a.yml", ref = "v2.0.1")"#,
            r#"project("group/templates", file = "/b.yml", ref = "v2.0.1")"#,
            r#"remote("https://example.com/ci.yml", sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")"#,
            r#"template("Jobs/SAST.gitlab-ci.yml")"#,
            r#"local("ci/missing.yml")"#,
            r#"local("ci/*.yml")"#,
            r#"remote("https://example.com/plain.yml")"#,
        ] {
            let expected = squeeze(expected);
            assert!(
                squeezed.contains(&expected),
                "{expected}\n{}",
                imported.plumb
            );
        }
        let messages: Vec<&str> = imported
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("cannot read included file `ci/missing.yml`"));
        assert!(messages[1].contains("wildcard include `ci/*.yml`"));
    }

    #[test]
    fn null_or_dangling_rules_keep_the_job() {
        let yaml = concat!(
            "release:\n  image: alpine:3.20\n  rules: null\n  only: [tags]\n  script: [./release]\n",
            "other:\n  image: alpine:3.20\n  rules: !reference [.elsewhere, rules]\n  script: [./other]\n",
        );
        let imported = crate::import(Path::new(".gitlab-ci.yml"), yaml, &NoFiles).expect("imports");
        assert_eq!(imported.jobs_imported, 2, "{}", imported.plumb);
        assert!(imported.plumb.contains("when = tag,"), "{}", imported.plumb);
    }

    /// Review findings: a job-level `when: manual` may fail (GitLab's default), a
    /// `needs` list of jobs of other files is kept for GitLab (`gitlab = { needs }`,
    /// beside `needs = []`), an empty
    /// `after_script` that overrides `default:`'s is kept, a later `<<` wins.
    #[test]
    fn manual_needs_after_script_and_merges_keep_their_meaning() {
        let yaml = concat!(
            "default:\n  after_script: [echo bye]\n",
            ".a: &a {script: [echo a]}\n.b: &b {script: [echo b]}\n",
            "deploy:\n  image: alpine:3.20\n  when: manual\n  script: [./deploy]\n",
            "late:\n  image: alpine:3.20\n  needs: [elsewhere]\n  after_script: []\n  script: [./late]\n",
            "merged:\n  image: alpine:3.20\n  <<: *a\n  <<: *b\n",
        );
        let imported = crate::import(Path::new(".gitlab-ci.yml"), yaml, &NoFiles).expect("imports");
        let squeezed: String = imported.plumb.split_whitespace().collect();
        assert!(
            squeezed.contains("allow_failure=true"),
            "{}",
            imported.plumb
        );
        // a need on a job no file read defines is kept for GitLab to resolve
        assert!(
            squeezed.contains("needs=[]") && squeezed.contains("gitlab={needs=[\"elsewhere\"]}"),
            "{}",
            imported.plumb
        );
        assert!(squeezed.contains("after_run=[]"), "{}", imported.plumb);
        assert!(squeezed.contains("run=[\"echob\"]"), "{}", imported.plumb);
    }
}
