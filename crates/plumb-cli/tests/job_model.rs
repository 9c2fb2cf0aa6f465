//! The job fields that change how a job runs, run for real: `after_run` and
//! `if_previous` under gitlab-ci-local (its shell executor, for jobs whose image the
//! runner decides), and `after_run`'s exit trap in the Kubernetes command under `sh`.

mod common;
use common::{git_commit_all, gitlab_ci_local, plumb, scratch, tool};

use std::process::Command;

const RUNS_AFTER_FAILURE: &str = r#"
pipeline p {
  stage test {
    job unit {
      image     = runner_default
      run       = ["echo unit-ran", "mkdir -p out", "echo '<testsuite/>' > out/report.xml", "exit 3"]
      after_run = ["echo after-run-ran status=$CI_JOB_STATUS"]
      artifacts = { paths = ["out/"], when = "always", reports = { junit = ["out/report.xml"] } }
    }
  }

  stage report {
    job notify {
      image       = runner_default
      run         = ["echo notify-ran", "mkdir -p out", "echo '<testsuite/>' > out/notify.xml"]
      after_run   = ["echo notify-after-run"]
      if_previous = "failure"
      artifacts   = { paths = ["out/"], reports = { junit = ["out/notify.xml"] } }
    }

    job deploy {
      image = runner_default
      run   = ["echo deploy-ran"]
    }
  }
}
"#;

#[test]
fn gitlab_ci_local_runs_after_run_and_if_previous_failure() {
    let dir = scratch("job-model-gcl");
    let program = dir.join("p.plumb");
    std::fs::write(&program, RUNS_AFTER_FAILURE).expect("write");
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    let file = repo.join(".gitlab-ci.yml");
    let o = plumb(&[
        "build",
        &program.to_string_lossy(),
        "--target",
        "gitlab",
        "-o",
        &file.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    git_commit_all(&repo);
    let o = Command::new("timeout")
        .args(["-k", "5", "300"])
        .arg(gitlab_ci_local())
        .current_dir(&repo)
        .output()
        .expect("gitlab-ci-local");
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    // the pipeline fails (unit failed and may not), the after script ran after the
    // failure, the failure job ran and the success job did not
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("after-run-ran status=failed"), "{out}");
    assert!(out.contains("notify-ran"), "{out}");
    // one job with all three: if_previous = "failure", after_run and a junit report
    assert!(out.contains("notify-after-run"), "{out}");
    assert!(
        repo.join(".gitlab-ci-local/artifacts/notify/out/notify.xml")
            .exists(),
        "{out}"
    );
    assert!(!out.contains("deploy-ran"), "{out}");
    assert!(
        repo.join(".gitlab-ci-local/artifacts/unit/out/report.xml")
            .exists(),
        "the junit report is kept as an artifact although the job failed: {out}"
    );
}

/// The command of the first Job of a Kubernetes build.
fn k8s_script(program: &str) -> String {
    let dir = scratch("job-model-k8s");
    let src = dir.join("p.plumb");
    std::fs::write(&src, program).expect("write");
    let out = dir.join("jobs.yaml");
    let o = plumb(&[
        "build",
        &src.to_string_lossy(),
        "--target",
        "k8s",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(tool("python"))
        .args([
            "-c",
            "import sys, yaml; d = next(yaml.safe_load_all(open(sys.argv[1]))); \
             c = d['spec']['template']['spec']['containers'][0]['command']; \
             assert c[:2] == ['/bin/sh', '-ec'], c; sys.stdout.write(c[2])",
        ])
        .arg(&out)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

fn k8s_program(run: &str, after: &str) -> String {
    format!(
        r#"pipeline p {{
  stage s {{
    job j {{
      image     = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run       = [{run}]
      after_run = [{after}]
    }}
  }}
}}
"#
    )
}

#[test]
fn kubernetes_after_run_runs_after_a_failing_script_and_keeps_its_status() {
    let cases = [
        // run fails: after_run runs, the Job fails with run's status
        (
            r#""echo run-1", "exit 3", "echo run-2""#,
            r#""echo after-1""#,
            3,
            "run-1\nafter-1\n",
        ),
        // run passes: after_run runs, the Job passes
        (
            r#""echo run-1""#,
            r#""echo after-1""#,
            0,
            "run-1\nafter-1\n",
        ),
        // after_run fails: it stops there, and the Job keeps run's status
        (
            r#""echo run-1""#,
            r#""false", "echo after-2""#,
            0,
            "run-1\n",
        ),
        (r#""exit 4""#, r#""false", "echo after-2""#, 4, ""),
    ];
    for (run, after, status, stdout) in cases {
        let script = k8s_script(&k8s_program(run, after));
        let o = Command::new("sh")
            .args(["-ec", &script])
            .output()
            .expect("sh");
        assert_eq!(o.status.code(), Some(status), "{script}");
        assert_eq!(String::from_utf8_lossy(&o.stdout), stdout, "{script}");
    }
}

/// `fixtures/jobs/every_field.plumb` sets every job and pipeline field (so the
/// validators of `targets.rs`, which compile every buildable fixture, see them all), and
/// builds to the same bytes twice for every target.
#[test]
fn the_every_field_fixture_sets_every_field_and_builds_the_same_twice() {
    use plumb_semantics::fields::{JOB_FIELDS, PIPELINE_FIELDS};
    let path = "fixtures/jobs/every_field.plumb";
    let text = std::fs::read_to_string(common::root().join(path)).expect("fixture");
    // `name =` (with alignment spaces) after a space, `{` or `,`
    let sets = |name: &str| {
        text.match_indices(name).any(|(i, _)| {
            let before = text[..i].chars().last().unwrap_or(' ');
            let after = text[i + name.len()..].trim_start_matches(' ');
            matches!(before, ' ' | '{' | ',' | '\n')
                && after.starts_with('=')
                && !after.starts_with("==")
        })
    };
    for f in JOB_FIELDS.iter().chain(PIPELINE_FIELDS) {
        assert!(sets(f.name), "{path} does not set `{}`", f.name);
    }
    for target in ["gitlab", "k8s"] {
        let outputs: Vec<Vec<u8>> = (0..2)
            .map(|_| {
                let o = plumb(&["build", path, "--target", target]);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                o.stdout
            })
            .collect();
        assert_eq!(outputs[0], outputs[1], "{target}: two builds differ");
    }
    // the GitOps tree, written twice into two folders: the same files, the same bytes
    let dir = scratch("every-field-gitops");
    let trees: Vec<Vec<(String, Vec<u8>)>> = ["a", "b"]
        .iter()
        .map(|name| {
            let out = dir.join(name);
            let o = plumb(&[
                "build",
                path,
                "--target",
                "gitops",
                "-o",
                &out.to_string_lossy(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            common::files_under(&out)
        })
        .collect();
    assert_eq!(trees[0], trees[1], "gitops: two builds differ");
}

/// What Kubernetes cannot carry is a warning naming the field, never a silent drop:
/// every field the field table says is "not carried" to Kubernetes, set by the
/// every-field fixture, is one PL5001 of the Kubernetes build.
#[test]
fn every_field_kubernetes_cannot_carry_is_a_warning_naming_it() {
    use plumb_semantics::fields::{JOB_FIELDS, PIPELINE_FIELDS};
    // both events: some jobs of the fixture run only for merge requests
    let mut warnings = String::new();
    for event in [&[][..], &["--merge-request"][..]] {
        let mut args = vec![
            "build",
            "fixtures/jobs/every_field.plumb",
            "--target",
            "k8s",
        ];
        args.extend_from_slice(event);
        let o = plumb(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        warnings.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let not_carried: Vec<&str> = JOB_FIELDS
        .iter()
        .chain(PIPELINE_FIELDS)
        .filter(|f| f.k8s.starts_with("not carried (PL5001)"))
        .map(|f| f.name)
        .collect();
    assert!(not_carried.len() >= 10, "{not_carried:?}");
    for name in not_carried {
        let said = format!("[PL5001] Warning: `{name}` cannot be carried to Kubernetes");
        assert!(
            warnings.contains(&said),
            "no warning for `{name}`:\n{warnings}"
        );
    }
}

#[test]
fn var_conditions_are_decided_by_dash_dash_var_for_kubernetes() {
    let dir = scratch("job-model-var");
    let src = dir.join("p.plumb");
    std::fs::write(
        &src,
        r#"pipeline p {
  stage s {
    job deploy {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run   = ["./deploy"]
      when  = var("DEPLOY") == "true" && source == "push"
    }
    job scheduled {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run   = ["./nightly"]
      when  = source == "schedule"
    }
  }
}
"#,
    )
    .expect("write");
    let src = src.to_string_lossy();
    let build = |extra: &[&str]| {
        let mut args = vec!["build", &*src, "--target", "k8s"];
        args.extend_from_slice(extra);
        let o = plumb(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (jobs, warnings) = build(&["--var", "DEPLOY=true"]);
    assert!(jobs.contains("name: p-deploy"), "{jobs}");
    assert!(
        !jobs.contains("p-scheduled"),
        "a push is not a schedule: {jobs}"
    );
    assert!(!warnings.contains("PL5002"), "{warnings}");
    let (jobs, warnings) = build(&[]);
    assert!(
        !jobs.contains("p-deploy"),
        "an unset variable is empty: {jobs}"
    );
    assert!(
        warnings.contains("PL5002") && warnings.contains("--var DEPLOY=VALUE"),
        "{warnings}"
    );
    let o = plumb(&["build", &src, "--target", "k8s", "--var", "not a name=x"]);
    assert_eq!(o.status.code(), Some(2), "a bad --var is a usage error");
}

/// One finding per cause: a template's `resources` that GitLab cannot carry is one
/// PL5001 at the template's field, with the jobs that get it as secondary labels (eight
/// shown, the rest counted), not one warning per job.
#[test]
fn a_template_field_not_carried_is_one_warning_for_all_its_jobs() {
    let dir = scratch("one-per-cause");
    let jobs: String = (0..12)
        .map(|i| format!("    job j{i:02} from big() {{ run = \"echo {i}\" }}\n"))
        .collect();
    let program = format!(
        "template big() {{\n  image     = \"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\"\n  resources = {{ cpu = \"1\", memory = 1Gi }}\n}}\n\npipeline p {{\n  stage s {{\n{jobs}  }}\n}}\n"
    );
    std::fs::write(dir.join("p.plumb"), program).expect("write");
    let o = common::plumb_in(&dir, &["build", "p.plumb", "--target", "gitlab"]);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.matches("[PL5001]").count(), 1, "{stderr}");
    insta::with_settings!({ snapshot_path => "snapshots/targets", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("pl5001-one-per-cause", stderr);
    });
}

/// The compiled output of every buildable fixture of the job model, pinned for GitLab
/// and Kubernetes (but those only GitLab builds, `# targets: gitlab`): the validators accept a missing key (`integrity:`, a merge that
/// dropped a record key) as long as the shape is right; these snapshots do not.
#[test]
fn the_job_model_fixtures_compile_to_the_pinned_output() {
    let dir = common::root().join("fixtures/jobs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/jobs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".plumb"))
        .collect();
    names.sort();
    let mut pinned = 0;
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).expect("fixture");
        if !text.lines().any(|l| l.trim() == "# expect-exit: 0") {
            continue;
        }
        let stem = name.trim_end_matches(".plumb");
        let gitlab_only = text.lines().any(|l| l.trim() == "# targets: gitlab");
        let targets: &[&str] = if gitlab_only {
            &["gitlab"]
        } else {
            &["gitlab", "k8s"]
        };
        for &target in targets {
            let path = format!("fixtures/jobs/{name}");
            let o = plumb(&["build", &path, "--target", target]);
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let output = String::from_utf8(o.stdout).expect("utf-8");
            insta::with_settings!({ snapshot_path => "snapshots/job_model", prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!(format!("{stem}.{target}"), output);
            });
            pinned += 1;
        }
    }
    assert!(pinned >= 30, "only {pinned} outputs pinned");
}

/// The README's "From GitLab CI keywords" table names every job keyword of the vendored
/// GitLab schema (as written, or as not expressible).
#[test]
fn the_readme_table_covers_every_job_keyword_of_the_schema() {
    let root = common::root();
    let schema = std::fs::read_to_string(root.join("crates/plumb-targets/schema/gitlab-ci.json"))
        .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("json");
    let keywords = schema["definitions"]["job_template"]["properties"]
        .as_object()
        .expect("job properties");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let first_cells: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| `") || l.starts_with("| top level"))
        .filter_map(|l| l.split(" | ").next())
        .collect();
    assert!(keywords.len() > 30, "{keywords:?}");
    for keyword in keywords.keys() {
        let written = format!("`{keyword}`");
        let alone = format!("`{keyword}:");
        assert!(
            first_cells
                .iter()
                .any(|c| c.contains(&written) || c.contains(&alone)),
            "the README's keyword table has no row for `{keyword}`"
        );
    }
}

/// A `gitlab = { … }` that GitLab's schema refuses is PL5005 at the key (or the value)
/// that caused it, and nothing is written.
#[test]
fn a_schema_violation_is_reported_at_the_key_in_the_plumb_source() {
    let dir = scratch("pl5005-position");
    std::fs::write(
        dir.join("p.plumb"),
        r#"let img = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"

pipeline p {
  stage s {
    job j {
      image  = img
      run    = ["make"]
      gitlab = { interruptible_x = 1, identity = "nope" }
    }
  }
}
"#,
    )
    .expect("write");
    let out = dir.join("out.yml");
    let o = common::plumb_in(
        &dir,
        &["build", "p.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists(), "nothing is written");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("p.plumb:8:18"),
        "at `interruptible_x`: {stderr}"
    );
    assert!(stderr.contains("p.plumb:8:39"), "at `identity`: {stderr}");
    insta::with_settings!({ snapshot_path => "snapshots/job_model", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("pl5005-at-the-key", stderr);
    });
}

/// `plumb explain field NAME` prints what the field table says: type, default, GitLab and
/// Kubernetes meaning, an example and the record's keys; an unknown name is a usage
/// error with the closest field.
#[test]
fn explain_field_prints_the_fields_reference() {
    let o = plumb(&["explain", "field", "artifacts"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for part in [
        "## `artifacts`: List<String> or Artifacts",
        "- Default: none kept",
        "- GitLab CI: `artifacts:`",
        "- Kubernetes: not carried (PL5001)",
        "```plumb\nartifacts = {",
        "- `expire_in`: Duration.",
    ] {
        assert!(text.contains(part), "no {part:?} in:\n{text}");
    }
    let o = plumb(&["explain", "field", "env"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Job field") && text.contains("Pipeline field"),
        "{text}"
    );
    let o = plumb(&["explain", "field", "artifact"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `artifacts`?"));
}

/// `artifacts: access: developer` keeps a Terraform plan (which holds the credentials it
/// was made with) from anyone who can read the project: the import carries it, and the
/// build writes it back.
#[test]
fn artifacts_access_survives_import_and_build() {
    let dir = scratch("artifacts-access");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "plan:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [terraform plan -out plan.cache]\n  artifacts:\n    paths: [plan.cache]\n    access: developer\n",
    )
    .expect("write");
    let o = common::plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("access"),
        "no warning"
    );
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("read");
    assert!(program.contains("access = \"developer\""), "{program}");
    let o = common::plumb_in(&dir, &["build", "ci.plumb", "--target", "gitlab"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("access: developer"),
        "{out}"
    );
}

/// `artifacts: public: false` is the older spelling of `access: developer`: carried as
/// that (dropped, the artifacts became public).
#[test]
fn artifacts_public_false_is_access_developer() {
    let dir = scratch("artifacts-public");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "plan:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [terraform plan -out plan.cache]\n  artifacts:\n    paths: [plan.cache]\n    public: false\n    reports: {cyclonedx: [sbom.json], license_scanning: [l.json], lsif: [a.json]}\n",
    )
    .expect("write");
    let o = common::plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("public"), "carried: {stderr}");
    assert!(
        stderr.contains("`artifacts: reports: license_scanning, lsif` is not carried"),
        "one warning naming the reports GitLab no longer reads: {stderr}"
    );
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("read");
    let compact = program.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(compact.contains("access = \"developer\""), "{program}");
    assert!(compact.contains("cyclonedx = [\"sbom.json\"]"), "{program}");
}

/// GitLab decides `workflow:` with the top-level `variables:` only: a variable of the
/// pipeline's `env` that `on` or the workflow's name reads is written there too (in
/// the jobs only, the workflow saw it unset and no pipeline ran).
#[test]
fn variables_the_workflow_reads_are_top_level() {
    let dir = scratch("workflow-variables");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "variables: {DEPLOY_ENABLED: \"true\", TITLE: nightly, OTHER: x}\nworkflow:\n  name: \"$TITLE run\"\n  rules: [{if: $DEPLOY_ENABLED == \"true\"}]\nbuild:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [make]\n",
    )
    .expect("write");
    let o = common::plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::plumb_in(&dir, &["build", "ci.plumb", "--target", "gitlab"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert_eq!(
        top_level_block(&out, "variables"),
        ["  DEPLOY_ENABLED: \"true\"", "  TITLE: nightly"],
        "OTHER is not read by the workflow: {out}"
    );
}

/// `rules: - changes: X, when: never` imports as `!changes(X)`, which builds back as
/// that rule (it was dropped with PL5002: the job ran on the pushes it excluded).
#[test]
fn excluded_changes_survive_import_and_build() {
    let dir = scratch("excluded-changes");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "test:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [make test]\n  rules:\n    - changes: [\"docs/**/*\"]\n      when: never\n    - if: $CI_COMMIT_BRANCH\n",
    )
    .expect("write");
    let o = common::plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::plumb_in(&dir, &["build", "ci.plumb", "--target", "gitlab"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success() && !err.contains("PL5002"), "{err}");
    let job = top_level_block(&out, "test");
    let rules = &job[job.iter().position(|l| *l == "  rules:").expect("rules")..];
    assert_eq!(
        rules,
        [
            "  rules:",
            "  - changes:",
            "    - docs/**/*",
            "    when: never",
            "  - if: $CI_COMMIT_BRANCH"
        ],
        "{out}"
    );
}

/// The lines under top-level key `key` of a YAML file as Plumb writes it.
fn top_level_block<'t>(yaml: &'t str, key: &str) -> Vec<&'t str> {
    let header = format!("{key}:");
    (yaml.lines())
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| l.starts_with(' ') || l.starts_with('-'))
        .collect()
}

/// `needs: - job: sign, optional: true` is carried: the imported program needs `sign`
/// only where it runs (it gave PL2005, and a compiled file GitLab refuses on `main`).
#[test]
fn optional_needs_survive_import_and_build() {
    let dir = scratch("optional-needs");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "sign:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [./sign.sh]\n  rules:\n    - if: $CI_COMMIT_TAG\npackage:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script: [./package.sh]\n  needs:\n    - job: sign\n      optional: true\n      artifacts: false\n",
    )
    .expect("write");
    let o = common::plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("optional"),
        "no warning"
    );
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("read");
    assert!(
        program.contains("{ job = sign, optional = true, artifacts = false }"),
        "{program}"
    );
    let o = common::plumb_in(&dir, &["check", "ci.plumb"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = common::plumb_in(&dir, &["build", "ci.plumb", "--target", "gitlab"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("optional: true"),
        "{out}"
    );
}
