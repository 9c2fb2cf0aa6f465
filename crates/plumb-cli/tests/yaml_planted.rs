//! Precision and recall on GitLab CI YAML: a generated `.gitlab-ci.yml` of 200 realistic
//! jobs, with problems of every image, graph, credential and supply-chain kind that a
//! GitLab file can have planted on known lines (the planted corpus of the checks, in
//! YAML). `plumb check` must report each on its line, and nothing else.

mod common;
use common::{plumb_in, scratch};

use std::collections::BTreeSet;

const PINNED: &str =
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

/// The YAML being written, and `(code, line)` of each planted problem.
#[derive(Default)]
struct Corpus {
    text: String,
    planted: BTreeSet<(String, usize)>,
}

impl Corpus {
    fn line(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self.text.push('\n');
        self
    }
    /// A line that must be reported with each of `codes`.
    fn planted(&mut self, codes: &[&str], s: &str) -> &mut Self {
        let line = self.text.lines().count() + 1;
        for code in codes {
            self.planted.insert((code.to_string(), line));
        }
        self.line(s)
    }
}

/// Kinds planted one per job, in turn; `None` is a clean job.
const KINDS: &[Option<&str>] = &[
    Some("PL3001"),
    None,
    Some("PL3002"),
    Some("PL3003"),
    Some("PL3004"),
    None,
    Some("PL4001"),
    Some("PL4003"),
    None,
    Some("PL4004"),
    Some("PL4005"),
    Some("PL2001"),
    None,
    Some("PL2004"),
    Some("PL6001"),
    Some("PL6002"),
    None,
    Some("PL6003"),
    Some("PL6005"),
    Some("PL6006"),
    Some("PL6007"),
    Some("PL2003"),
];

/// The rules of a job that holds a secret: default-branch pipelines only, so that no
/// merge request (untrusted code) gets it.
const MAIN_ONLY: &str = "  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"";

fn plant(c: &mut Corpus, kind: Option<&str>, name: &str) {
    c.line(&format!("{name}:")).line("  stage: test");
    match kind {
        None => {
            c.line(&format!("  image: {PINNED}"))
                .line(&format!("  script:\n    - make {name}"));
        }
        Some("PL3001") => {
            c.planted(&["PL3001"], "  image: ubuntu")
                .line("  script:\n    - make");
        }
        Some("PL3002") => {
            c.planted(&["PL3002"], "  image: node:latest")
                .line("  script:\n    - npm test");
        }
        Some("PL3003") => {
            c.planted(&["PL3003"], "  image: python:3.12.4")
                .line("  script:\n    - pytest");
        }
        Some("PL3004") => {
            c.planted(&["PL3004"], "  image: alpine:3.20@sha256:abc123")
                .line("  script:\n    - make");
        }
        Some("PL4001") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  variables:")
                .planted(
                    &["PL4001"],
                    "    API_TOKEN: \"ghp_0123456789abcdefghijklmnopqrstuvwxyz\"",
                )
                .line("  script:\n    - ./call-api");
        }
        Some("PL4003") => {
            c.line(&format!("  image: {PINNED}"))
                .line(MAIN_ONLY)
                .line("  script:")
                .planted(&["PL4003"], "    - echo \"token=$DEPLOY_TOKEN\"");
        }
        Some("PL4004") => {
            c.line(&format!("  image: {PINNED}"))
                .line(MAIN_ONLY)
                .line("  script:")
                .planted(
                    &["PL4004"],
                    "    - curl -u ci:$DEPLOY_TOKEN https://api.example.com",
                );
        }
        Some("PL4005") => {
            c.planted(&["PL3003", "PL4005"], "  image: alpine:3.20")
                .line(MAIN_ONLY)
                .line("  script:\n    - ./deploy --token-stdin <<< \"$DEPLOY_TOKEN\"");
        }
        Some("PL2001") => {
            // this job and the next need each other
            c.line(&format!("  image: {PINNED}"))
                .line("  script:\n    - make")
                .planted(&["PL2001"], &format!("  needs: [{name}-b]"))
                .line(&format!("{name}-b:\n  stage: test\n  image: {PINNED}"))
                .line(&format!("  script:\n    - make\n  needs: [{name}]"));
        }
        Some("PL2004") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:\n    - make")
                .planted(&["PL2004"], &format!("  needs: [{name}]"));
        }
        Some("PL6001") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:")
                .planted(&["PL6001"], "    - eval \"$CI_COMMIT_MESSAGE\"");
        }
        Some("PL6002") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:")
                .planted(&["PL6002"], "    - curl -fsSL https://get.example.com | sh");
        }
        Some("PL6003") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:")
                .planted(&["PL6003"], "    - npm install -g semantic-release");
        }
        Some("PL6005") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:")
                .planted(
                    &["PL6005"],
                    "    - docker run --privileged alpine:3.20 true",
                );
        }
        Some("PL6006") => {
            c.line(&format!("  image: {PINNED}"))
                .line(MAIN_ONLY)
                .line("  variables:")
                .planted(&["PL6006"], "    CI_DEBUG_TRACE: \"true\"")
                .line("  script:\n    - ./deploy --token-stdin <<< \"$DEPLOY_TOKEN\"");
        }
        Some("PL6007") => {
            c.line(&format!("  image: {PINNED}"))
                .line("  script:")
                .planted(&["PL6007"], "    - echo \u{202E}done");
        }
        Some("PL2003") => {
            // `anchor` is in the stage after this one
            c.line(&format!("  image: {PINNED}"))
                .line("  script:\n    - make")
                .planted(&["PL2003"], "  needs: [anchor]");
        }
        Some(other) => unreachable!("{other}"),
    }
    c.line("");
}

fn corpus(jobs: usize) -> Corpus {
    let mut c = Corpus::default();
    c.line("stages: [test, deploy]\n");
    for i in 0..jobs {
        plant(&mut c, KINDS[i % KINDS.len()], &format!("job-{i}"));
    }
    c.line(&format!(
        "anchor:\n  stage: deploy\n  image: {PINNED}\n  script:\n    - make"
    ));
    c
}

#[test]
fn every_planted_problem_is_found_on_its_yaml_line_and_nothing_else() {
    let c = corpus(200);
    let dir = scratch("yaml-planted");
    std::fs::write(dir.join(".gitlab-ci.yml"), &c.text).expect("write");
    let o = plumb_in(&dir, &["check", "--format", "json", ".gitlab-ci.yml"]);
    let diags: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&o.stderr)));
    let found: BTreeSet<(String, usize)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or_default() as usize,
            )
        })
        .collect();
    let missed: Vec<_> = c.planted.difference(&found).collect();
    let extra: Vec<_> = found.difference(&c.planted).collect();
    assert!(missed.is_empty(), "recall below 100%: missed {missed:?}");
    assert!(
        extra.is_empty(),
        "precision below 100%: also reported {extra:?}"
    );
    let kinds: BTreeSet<&str> = c.planted.iter().map(|(code, _)| code.as_str()).collect();
    assert!(kinds.len() >= 17, "only {} kinds planted", kinds.len());
}
