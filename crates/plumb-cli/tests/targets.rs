//! `plumb build`: every program of `fixtures/` and `examples/` that checks clean
//! compiles to each target, and the output is accepted by validators nobody here
//! wrote: GitLab's CI schema (`check-jsonschema --builtin-schema vendor.gitlab-ci`) and
//! the Kubernetes schemas in strict mode (`kubernetes-validate --strict`). The test
//! command (`scripts/test.sh`) installs both; a missing validator fails the test.

mod common;
use common::{git_commit_all, plumb, root, scratch, tool};

use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest Kubernetes version whose schemas kubernetes-validate 1.37 ships.
const KUBERNETES_VERSION: &str = "1.37.0";
/// The oldest Kubernetes version the output is for: native sidecars (`initContainers`
/// with `restartPolicy: Always`) are on by default from 1.29.
const OLDEST_KUBERNETES_VERSION: &str = "1.29.0";

/// The buildable programs a target compiles: those whose header says `# targets: gitlab`
/// (a job that takes its script from hidden jobs of other files) only for GitLab.
fn buildable_programs_for(target: &str) -> Vec<String> {
    let gitlab_only = |program: &String| {
        let path = root().join(program);
        let main = if path.is_dir() {
            path.join("main.plumb")
        } else {
            path
        };
        let text = std::fs::read_to_string(main).unwrap_or_default();
        text.lines().any(|l| l.trim() == "# targets: gitlab")
    };
    (buildable_programs().into_iter())
        .filter(|p| target == "gitlab" || !gitlab_only(p))
        .collect()
}

/// Programs that check without errors: examples, and fixtures whose header expects exit 0.
fn buildable_programs() -> Vec<String> {
    let root = root();
    let mut out = vec!["examples".to_string()];
    let mut dirs = vec![root.join("fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            let main = if path.is_dir() && path.join("main.plumb").exists() {
                path.join("main.plumb")
            } else if path.is_dir() {
                dirs.push(path);
                continue;
            } else if path.extension().is_some_and(|e| e == "plumb") {
                path.clone()
            } else {
                continue;
            };
            let text = std::fs::read_to_string(&main).expect("read");
            let has_pipeline = text.lines().any(|l| l.starts_with("pipeline "));
            if has_pipeline && text.lines().any(|l| l.trim() == "# expect-exit: 0") {
                out.push(
                    path.strip_prefix(&root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

fn build(program: &str, target: &str, out: &Path, extra: &[&str]) -> String {
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["build", program, "--target", target, "-o", &out_s];
    args.extend_from_slice(extra);
    let o = plumb(&args);
    assert!(
        o.status.success(),
        "{program} --target {target}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_buildable_program_passes_the_gitlab_schema() {
    let dir = scratch("gitlab");
    let mut files = Vec::new();
    for (i, program) in buildable_programs().iter().enumerate() {
        let out = dir.join(format!("{i}.gitlab-ci.yml"));
        build(program, "gitlab", &out, &[]);
        files.push(out);
    }
    assert!(files.len() > 40, "only {} programs", files.len());
    let o = Command::new(tool("check-jsonschema"))
        .args([
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
        ])
        .args(&files)
        .output()
        .expect("run check-jsonschema");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A job that takes its script or image from hidden jobs of other files (GitLab
/// merges them) has nothing to run as a Kubernetes Job: an error, nothing written.
#[test]
fn kubernetes_refuses_a_job_whose_script_is_in_other_files() {
    let dir = scratch("k8s-refused");
    let out = dir.join("jobs.yaml");
    let o = plumb(&[
        "build",
        "fixtures/jobs/included_bases_fragment_ok.plumb",
        "--target",
        "k8s",
        "-o",
        &out.to_string_lossy(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("job `unit-tests` has no `run` for Kubernetes"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    // an empty `run` is none: GitLab takes the hidden job's script
    let program = dir.join("empty-run.plumb");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    std::fs::write(&program, format!("pipeline p {{\n  stage s {{ job a {{ image = \"{img}\", run = [], gitlab = {{ extends = [\".base\"] }} }} }}\n}}\n")).expect("write");
    let o = plumb(&[
        "build",
        &program.to_string_lossy(),
        "--target",
        "k8s",
        "-o",
        &out.to_string_lossy(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("job `a` has no `run` for Kubernetes"),
        "{err}"
    );
}

#[test]
fn every_buildable_program_passes_the_kubernetes_schemas_for_every_event() {
    let dir = scratch("k8s");
    let mut files = Vec::new();
    for (i, program) in buildable_programs_for("k8s").iter().enumerate() {
        for (j, event) in [
            &[][..],
            &["--tag"][..],
            &["--merge-request"][..],
            &["--branch", "release/1.2"][..],
        ]
        .iter()
        .enumerate()
        {
            let out = dir.join(format!("{i}-{j}.yaml"));
            build(program, "k8s", &out, event);
            files.push(out);
        }
    }
    for version in [OLDEST_KUBERNETES_VERSION, KUBERNETES_VERSION] {
        let o = Command::new(tool("kubernetes-validate"))
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .expect("run kubernetes-validate");
        assert!(
            o.status.success(),
            "Kubernetes {version}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn output_is_deterministic_and_pinned() {
    for target in ["gitlab", "k8s"] {
        let first = plumb(&["build", "examples", "--target", target]);
        let second = plumb(&["build", "examples", "--target", target]);
        assert!(first.status.success());
        assert_eq!(first.stdout, second.stdout, "{target}: two builds differ");
        let text = String::from_utf8(first.stdout).expect("utf-8");
        assert!(
            text.starts_with("# generated by plumb from "),
            "{target}: no header"
        );
        insta::with_settings!({ snapshot_path => "snapshots/targets", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("examples-{target}"), text);
        });
    }
}

/// All files of a folder, as one text: `=== path` and the contents, sorted by path.
fn folder_text(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                files.push((rel, std::fs::read_to_string(&p).expect("read")));
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|(p, c)| format!("=== {p}\n{c}"))
        .collect()
}

#[test]
fn gitops_output_is_deterministic_and_pinned() {
    for flavor in ["argocd", "flux"] {
        let dir = scratch(&format!("gitops-determinism-{flavor}"));
        let (a, b) = (dir.join("a"), dir.join("b"));
        build("examples", "gitops", &a, &["--flavor", flavor]);
        build("examples", "gitops", &b, &["--flavor", flavor]);
        let text = folder_text(&a);
        assert_eq!(text, folder_text(&b), "{flavor}: two builds differ");
        insta::with_settings!({ snapshot_path => "snapshots/targets", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("examples-gitops-{flavor}"), text);
        });
    }
}

#[test]
fn a_program_with_errors_writes_nothing() {
    let dir = scratch("errors");
    let out = dir.join("out.yml");
    std::fs::write(&out, "previous content\n").expect("write");
    let o = plumb(&[
        "build",
        "fixtures/images/implicit_latest.plumb",
        "--target",
        "gitlab",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PL3001"));
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "previous content\n"
    );
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        1,
        "a temporary file was left behind"
    );
}

#[test]
fn secrets_are_written_only_as_references() {
    let dir = scratch("secrets");
    let src = dir.join("secrets.plumb");
    std::fs::write(
        &src,
        r#"secret ci = ci_variable("REGISTRY_TOKEN")
secret v = vault("ci/data/registry", "password")
secret k = k8s_secret("deploy-creds", "token")
pipeline p {
  on = branch == "main"
  stage s {
    job j {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      env = { A = ci, B = v, C = k }
      run = ["./deploy"]
    }
  }
}
"#,
    )
    .expect("write");
    let gitlab = plumb(&["build", &src.to_string_lossy(), "--target", "gitlab"]);
    let g = String::from_utf8_lossy(&gitlab.stdout);
    assert!(g.contains("A: $REGISTRY_TOKEN"), "{g}");
    assert!(
        g.contains("path: ci/data/registry") && g.contains("field: password"),
        "{g}"
    );
    assert!(
        !g.contains("deploy-creds"),
        "a k8s_secret cannot reach GitLab: {g}"
    );
    assert!(String::from_utf8_lossy(&gitlab.stderr).contains("PL5001"));
    let k8s = plumb(&["build", &src.to_string_lossy(), "--target", "k8s"]);
    let k = String::from_utf8_lossy(&k8s.stdout);
    for (var, secret, key) in [
        ("A", "pipeline-secrets", "REGISTRY_TOKEN"),
        ("B", "p-vault", "v"),
        ("C", "deploy-creds", "token"),
    ] {
        let expected = format!("- name: {var}\n          valueFrom:\n            secretKeyRef:\n              name: {secret}\n              key: {key}");
        assert!(k.contains(&expected), "{var}: {k}");
    }
    assert_eq!(
        k.matches("value:").count(),
        0,
        "a secret became a plain value: {k}"
    );
}

/// The kubelet replaces `$(NAME)` in a container's command and `env` values with the
/// variable `NAME` (a secret's) and `$$` with `$`: what a job's script and `env` say
/// is written so that it reaches the shell as written, never a secret in its place.
#[test]
fn the_kubelet_expands_nothing_in_a_script_or_an_env_value() {
    let dir = scratch("kubelet-expansion");
    let src = dir.join("kubelet.plumb");
    std::fs::write(
        &src,
        r#"secret tok = k8s_secret("deploy", "token")
pipeline p {
  on = branch == "main"
  stage s {
    job j {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      env = { TOKEN = tok, REF = "$(TOKEN)", PRICE = "5$$ (tax)" }
      run = ["echo \"$(TOKEN)\"", "kill $$"]
    }
  }
}
"#,
    )
    .expect("write");
    let k8s = plumb(&["build", &src.to_string_lossy(), "--target", "k8s"]);
    let k = String::from_utf8_lossy(&k8s.stdout);
    assert!(k.contains("echo \"$$(TOKEN)\""), "{k}");
    // `$$$`: the kubelet reads `$$` as `$`, and leaves the last `$` as it is
    assert!(k.contains("kill $$$\n"), "{k}");
    assert!(k.contains("value: $$(TOKEN)"), "{k}");
    // a variable's `$$` is GitLab's plain `$`, which the kubelet keeps as it is
    assert!(k.contains("value: 5$ (tax)"), "{k}");
    assert!(!k.contains("\"$(TOKEN)"), "{k}");
}

/// GitLab's `default:` takes `id_tokens`: with an `include`, the `id_token` secrets of
/// the pipeline's `default` reach the included jobs through it (they were lost).
#[test]
fn a_default_id_token_reaches_the_included_jobs() {
    let dir = scratch("default-id-tokens");
    let src = dir.join("tokens.plumb");
    std::fs::write(
        &src,
        r#"secret s3_jwt = id_token("https://s3.example.org")
pipeline a {
  on      = branch == "main"
  include = [local("ci/upload.yml")]
  default = { env = { S3_JWT = s3_jwt, MODE = "fast" } }
  stage test { job build {
    image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
    run   = ["make"]
  } }
}
"#,
    )
    .expect("write");
    let gitlab = plumb(&["build", &src.to_string_lossy(), "--target", "gitlab"]);
    let g = String::from_utf8_lossy(&gitlab.stdout);
    assert!(
        g.contains("default:\n  id_tokens:\n    S3_JWT:\n      aud: https://s3.example.org\n"),
        "{g}"
    );
    // the `default`'s other bindings are no `default:` key
    assert!(!g.contains("default:\n  variables"), "{g}");
}

#[test]
fn hostile_names_are_normalised() {
    let dir = scratch("hostile");
    let src = dir.join("hostile.plumb");
    let long = "x".repeat(300);
    std::fs::write(
        &src,
        format!(
            r#"pipeline {long} {{
  stage s {{
    job j {{
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      matrix = {{ TARGET = ["../../etc", "a/b", "UPPER case"] }}
      environment = "../prod/../../x"
      run = ["make"]
    }}
  }}
}}
"#
        ),
    )
    .expect("write");
    let out = dir.join("jobs.yaml");
    build(&src.to_string_lossy(), "k8s", &out, &[]);
    let text = std::fs::read_to_string(&out).expect("read");
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with("name: ") && !l.contains("TARGET"))
    {
        let name = line.trim_start().trim_start_matches("name: ");
        assert!(
            name.len() <= 63 && !name.contains('/') && !name.contains(".."),
            "{name}"
        );
    }
    let o = Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .arg(&out)
        .output()
        .expect("validate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn nothing_to_build_is_a_usage_error() {
    let o = plumb(&[
        "build",
        "fixtures/names/lets_in_order.plumb",
        "--target",
        "gitlab",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to build"));
}

#[test]
fn build_warnings_of_the_rule_docs() {
    for rule in plumb_checks::RULES
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.code.starts_with("PL5"))
    {
        for (example, expect) in [(rule.bad, true), (rule.good, false)] {
            let target = if example.contains("--target gitlab") {
                "gitlab"
            } else {
                "k8s"
            };
            let dir = scratch(&format!("{}-{expect}", rule.code));
            let src = dir.join("example.plumb");
            std::fs::write(&src, example).expect("write");
            let o = plumb(&["build", &src.to_string_lossy(), "--target", target]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(
                stderr.contains(rule.code.as_str()),
                expect,
                "{}: {stderr}",
                rule.code
            );
        }
    }
}

/// Every string Plumb writes reads back as the same string with a YAML 1.1 parser
/// (PyYAML, as GitLab's Psych reads YAML 1.1).
#[test]
fn strings_survive_a_yaml_1_1_round_trip() {
    let values = [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "n",
        "true",
        "False",
        "null",
        "~",
        "1_000",
        "1:20",
        "2024-01-01",
        "0x1F",
        "0o17",
        "1e3",
        ".inf",
        "-.nan",
        "<<",
        "=",
        " leading",
        "trailing ",
        "#hash",
        "- dash",
        "a: b",
        ": colon",
        "@at",
        "`tick",
        "'single'",
        "%percent",
        "!tag",
        "*star",
        "&amp",
        "{brace}",
        "[bracket]",
        "?question",
        "|pipe",
        ">gt",
        "012",
        "multi\nline",
        "tab\there",
        "back\\slash",
    ];
    let env: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "V{i} = \"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
                    .replace('\t', "\\t")
            )
        })
        .collect();
    let dir = scratch("roundtrip");
    let src = dir.join("values.plumb");
    std::fs::write(
        &src,
        format!(
            "pipeline p {{ stage s {{ job j {{ image = \"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\", env = {{ {} }}, run = [\"echo on\", \"a: b\"] }} }} }}\n",
            env.join(", ")
        ),
    )
    .expect("write");
    let out = dir.join("out.yml");
    build(&src.to_string_lossy(), "gitlab", &out, &[]);
    let loaded = Command::new(tool("python"))
        .args(["-c", "import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(json.dumps(d['j']))"])
        .arg(&out)
        .output()
        .expect("python");
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let job: serde_json::Value = serde_json::from_slice(&loaded.stdout).expect("json");
    for (i, v) in values.iter().enumerate() {
        assert_eq!(
            job["variables"][format!("V{i}")].as_str(),
            Some(*v),
            "V{i} = {v:?}"
        );
    }
    assert_eq!(job["script"], serde_json::json!(["echo on", "a: b"]));
}

/// Every `kustomization.yaml` folder under `dir`.
fn kustomize_roots(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "kustomization.yaml") {
                out.push(d.clone());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_buildable_program_builds_a_gitops_folder_that_kustomize_and_the_models_accept() {
    let dir = scratch("gitops");
    let mut rendered = Vec::new();
    let mut cluster_files = Vec::new();
    let mut roots = 0;
    for (i, program) in buildable_programs_for("gitops").iter().enumerate() {
        for flavor in ["argocd", "flux"] {
            let out = dir.join(format!("{i}-{flavor}"));
            build(program, "gitops", &out, &["--flavor", flavor]);
            assert!(out.join("README.md").exists(), "{program}: no README");
            for root in kustomize_roots(&out) {
                roots += 1;
                let o = Command::new(tool("kubectl"))
                    .arg("kustomize")
                    .arg(&root)
                    .output()
                    .expect("kubectl");
                assert!(
                    o.status.success(),
                    "{program} {flavor}: kustomize {}: {}",
                    root.display(),
                    String::from_utf8_lossy(&o.stderr)
                );
                let file = dir.join(format!("rendered-{}.yaml", rendered.len()));
                std::fs::write(&file, &o.stdout).expect("write");
                rendered.push(file);
            }
            let clusters = out.join("clusters");
            for env in std::fs::read_dir(&clusters).expect("clusters").flatten() {
                for f in std::fs::read_dir(env.path()).expect("env").flatten() {
                    cluster_files.push(f.path());
                }
            }
        }
    }
    assert!(roots > 100, "only {roots} kustomizations");
    let o = Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(&rendered)
        .output()
        .expect("kubernetes-validate");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(tool("node"))
        .arg(root().join("scripts/node/validate-gitops.mjs"))
        .args(&cluster_files)
        .output()
        .expect("node");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn gitops_environments_flux_chain_and_atomic_replacement() {
    let dir = scratch("gitops-envs");
    let project = dir.join("project");
    std::fs::create_dir_all(&project).expect("dir");
    std::fs::copy(root().join("examples/web.plumb"), project.join("web.plumb")).expect("copy");
    std::fs::copy(
        root().join("examples/common.plumb"),
        project.join("common.plumb"),
    )
    .expect("copy");
    std::fs::write(
        project.join("plumb.toml"),
        "[targets.k8s]\nnamespace = \"ci\"\n[targets.gitops]\nflavor = \"flux\"\nenvironments = [\"staging\", \"production\"]\nsecret_store = \"vault\"\n",
    )
    .expect("toml");
    let out = dir.join("deploy");
    std::fs::create_dir_all(&out).expect("dir");
    build(&project.to_string_lossy(), "gitops", &out, &[]);
    // a file an earlier build wrote (it is listed in the marker) goes with the folder
    std::fs::write(
        out.join("stale.yaml"),
        "# generated by plumb from old.plumb, do not edit\nleft: from an earlier build\n",
    )
    .expect("stale");
    let marker = out.join(".plumb-generated");
    let listed = std::fs::read_to_string(&marker).expect("marker") + "stale.yaml\n";
    std::fs::write(&marker, listed).expect("marker");
    build(&project.to_string_lossy(), "gitops", &out, &[]);
    assert!(
        !out.join("stale.yaml").exists(),
        "the folder was not replaced as a whole"
    );
    for env in ["staging", "production"] {
        let overlay = std::fs::read_to_string(
            out.join(format!("apps/web/overlays/{env}/kustomization.yaml")),
        )
        .expect("overlay");
        assert!(
            overlay.contains(&format!("namespace: ci-{env}")),
            "{overlay}"
        );
        let flux =
            std::fs::read_to_string(out.join(format!("clusters/{env}/web.yaml"))).expect("flux");
        assert_eq!(
            flux.matches("kind: Kustomization").count(),
            3,
            "one per stage: {flux}"
        );
        assert_eq!(flux.matches("wait: true").count(), 3);
        assert!(
            flux.contains(&format!("dependsOn:\n  - name: web-{env}-build")),
            "{flux}"
        );
    }
    let secrets = std::fs::read_to_string(out.join("apps/web/secrets/external-secrets.yaml"))
        .expect("secrets");
    assert!(
        secrets.contains("name: vault") && secrets.contains("key: DEPLOY_TOKEN"),
        "{secrets}"
    );
    // a failing build leaves the folder as it was
    let before = std::fs::read_to_string(out.join("README.md")).expect("readme");
    std::fs::write(project.join("broken.plumb"), "pipeline {").expect("broken");
    let o = plumb(&[
        "build",
        &project.to_string_lossy(),
        "--target",
        "gitops",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).expect("readme"),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("plumb-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary folders left behind");
}

/// gitlab-ci-local (npm, pinned 4.73.0) reads every compiled `.gitlab-ci.yml` as GitLab
/// does, offline: it expands `parallel: matrix`, checks `needs` and the schema, and lists
/// the jobs. It wants a git repository and writes `.gitlab-ci-local/`, so each file gets a
/// scratch repository.
#[test]
fn gitlab_ci_local_lists_the_jobs_of_every_buildable_program() {
    let bin = root().join("scripts/node/node_modules/.bin/gitlab-ci-local");
    assert!(
        bin.exists(),
        "gitlab-ci-local is not installed: run scripts/test.sh (it runs `npm ci` in scripts/node)"
    );
    let programs = buildable_programs();
    let dir = scratch("gitlab-ci-local");
    let work: Vec<(usize, String)> = programs.into_iter().enumerate().collect();
    let chunks: Vec<Vec<(usize, String)>> = work
        .chunks(work.len().div_ceil(4))
        .map(|c| c.to_vec())
        .collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (dir, bin) = (dir.clone(), bin.clone());
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for (i, program) in chunk {
                        let repo = dir.join(format!("repo-{i}"));
                        std::fs::create_dir_all(&repo).expect("repo");
                        let file = repo.join(".gitlab-ci.yml");
                        build(&program, "gitlab", &file, &[]);
                        without_includes(&file);
                        git_commit_all(&repo);
                        let o = Command::new("timeout")
                            .args(["-k", "5", "120"])
                            .arg(&bin)
                            .arg("--list-json")
                            .current_dir(&repo)
                            .output()
                            .expect("gitlab-ci-local");
                        // warnings (a multi-project trigger "will be no-op") come
                        // first on stdout, then the JSON
                        let stdout = String::from_utf8_lossy(&o.stdout);
                        let json = stdout.find("\n[").map_or(&stdout[..], |i| &stdout[i + 1..]);
                        let jobs: Result<Vec<serde_json::Value>, _> = serde_json::from_str(json);
                        match jobs {
                            Ok(jobs) if o.status.success() && !jobs.is_empty() => {}
                            _ => failures.push(format!(
                                "{program}: {}{}",
                                String::from_utf8_lossy(&o.stdout),
                                String::from_utf8_lossy(&o.stderr)
                            )),
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Removes the top-level `include:` of a compiled file: gitlab-ci-local would fetch
/// components, templates and remote files, and this test runs offline. (The schema
/// test checks the `include:` entries.) The keys a pipeline's `gitlab = { sast = { … } }`
/// adds to a job of an included file go with it: without that file they are a job
/// with no script.
fn without_includes(file: &Path) {
    let text = std::fs::read_to_string(file).expect("compiled file");
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        match blocks.last_mut() {
            Some(block) if line.starts_with(' ') || line.starts_with("- ") => block.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    const GLOBAL: &[&str] = &["stages:", "workflow:", "default:", "variables:"];
    let completes_an_included_job = |block: &[&str]| {
        let key = block[0];
        key.ends_with(':')
            && !key.starts_with('#')
            && !GLOBAL.contains(&key)
            && !(block.iter()).any(|l| {
                ["  script:", "  trigger:", "  extends:"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
    };
    let mut out = String::new();
    // the hidden jobs of other files that jobs extend, in their place
    let mut extended: Vec<&str> = Vec::new();
    for block in blocks {
        if block[0] == "include:" || completes_an_included_job(&block) {
            continue;
        }
        let mut in_extends = false;
        for line in block {
            if in_extends {
                match line.strip_prefix("  - ") {
                    Some(name) if !extended.contains(&name) => extended.push(name),
                    Some(_) => {}
                    None => in_extends = false,
                }
            }
            in_extends |= line == "  extends:";
            out.push_str(line);
            out.push('\n');
        }
    }
    // with a script, which a job that has none of its own takes (as from the real one)
    for name in extended {
        out.push_str(&format!("{name}: {{script: [\":\"]}}\n"));
    }
    // the jobs of other files that jobs need or depend on (`gitlab = { needs }`,
    // `gitlab = { dependencies }`): jobs of `.pre`
    let defined: Vec<&str> = (out.lines())
        .filter(|l| !l.starts_with([' ', '-', '#']))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    let stubs: Vec<String> = (needed_names(&out).into_iter())
        .filter(|n| !defined.contains(&n.as_str()))
        .map(|n| format!("{n:?}: {{stage: .pre, script: [\":\"]}}\n"))
        .collect();
    out.extend(stubs);
    std::fs::write(file, out).expect("write");
}

/// The job names the `needs:` and `dependencies:` lists of a compiled file name (not
/// those of other pipelines: `- pipeline: …` or `- project: …` items), once each.
fn needed_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let (mut in_needs, mut other_pipeline) = (false, false);
    for line in text.lines() {
        if line == "  needs:" || line == "  dependencies:" {
            in_needs = true;
            continue;
        }
        let name = if let Some(item) = line.strip_prefix("  - ").filter(|_| in_needs) {
            other_pipeline = item.starts_with("pipeline:") || item.starts_with("project:");
            match item.strip_prefix("job: ") {
                Some(job) => Some(job),
                None if !item.contains(':') => Some(item),
                None => None,
            }
        } else if let Some(rest) = line.strip_prefix("    ").filter(|_| in_needs) {
            rest.strip_prefix("job: ").filter(|_| !other_pipeline)
        } else {
            in_needs = false;
            None
        };
        if let Some(n) = name.filter(|n| !names.iter().any(|m| m == n)) {
            names.push(n.to_string());
        }
    }
    names
}

/// A generated program that checks clean, built from a seed (proptest chooses seeds).
fn generated_program(seed: u64) -> String {
    let mut x = seed | 1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    const IMAGES: [&str; 3] = [
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91",
        "golang:1.22.5@sha256:8c8c5c0b4b1a5d2c7d0e6b3d1f9c0a7e4b2d6f8a1c3e5b7d9f0a2c4e6b8d0f1a",
        "registry.example.com:5000/tools/kubectl:1.30.2@sha256:1f0e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    ];
    const CONDS: [&str; 5] = [
        "branch == \"main\"",
        "tag",
        "branch =~ \"^release/\"",
        "manual",
        "branch == \"main\" || tag",
    ];
    let mut s = String::from("secret token = ci_variable(\"DEPLOY_TOKEN\")\nsecret vault_pw = vault(\"ci/data/app\", \"password\")\n");
    for p in 0..1 + next(2) {
        let on = ["branch == \"main\" || tag", "true", "!merge_request"][next(3) as usize];
        s.push_str(&format!("pipeline p{p} {{\n  on = {on}\n"));
        let stages = 1 + next(3);
        let mut earlier: Vec<String> = Vec::new();
        for st in 0..stages {
            let after = if st > 0 && next(2) == 0 {
                format!(" after s{}", st - 1)
            } else {
                String::new()
            };
            s.push_str(&format!("  stage s{st}{after} {{\n"));
            let mut here = Vec::new();
            for j in 0..1 + next(3) {
                let name = format!("j{st}-{j}");
                let mut fields = vec![
                    format!("image = \"{}\"", IMAGES[next(3) as usize]),
                    format!("run = [\"make {name}\", \"echo done\"]"),
                ];
                if !earlier.is_empty() && next(2) == 0 {
                    fields.push(format!(
                        "needs = [{}]",
                        earlier[next(earlier.len() as u64) as usize]
                    ));
                }
                if next(3) == 0 {
                    fields.push(
                        "matrix = { OS = [\"linux\", \"darwin\"], ARCH = [\"amd64\", \"arm64\"] }"
                            .to_string(),
                    );
                }
                if next(2) == 0 {
                    fields.push(format!("timeout = {}m", 1 + next(60)));
                    fields.push(format!("retry = {}", next(3)));
                }
                if next(3) == 0 {
                    fields
                        .push("env = { TOKEN = token, PW = vault_pw, MODE = \"on\" }".to_string());
                    fields.push("when = branch == \"main\"".to_string());
                } else if next(2) == 0 {
                    fields.push(format!("when = {}", CONDS[next(5) as usize]));
                }
                if next(4) == 0 {
                    fields.push("environment = \"staging\"".to_string());
                    fields.push("allow_failure = true".to_string());
                    fields.push("tags = [\"docker\"]".to_string());
                }
                s.push_str(&format!(
                    "    job {name} {{\n      {}\n    }}\n",
                    fields.join("\n      ")
                ));
                here.push(name);
            }
            s.push_str("  }\n");
            earlier.extend(here);
        }
        s.push_str("}\n");
    }
    s
}

/// Property: every generated program that checks clean compiles to output that the
/// validators accept. `PROPTEST_CASES` sets the count (default 48 here; a nightly-size
/// run is `PROPTEST_CASES=2000 cargo test -p plumb-cli --test targets generated`).
#[test]
fn generated_programs_compile_to_valid_output() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let dir = scratch("generated");
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let counter = std::cell::Cell::new(0usize);
    let (gitlab_files, k8s_files) = (
        std::cell::RefCell::new(Vec::new()),
        std::cell::RefCell::new(Vec::new()),
    );
    runner
        .run(&(1u64..u64::MAX), |seed| {
            let i = counter.get();
            counter.set(i + 1);
            let src = dir.join(format!("g{i}.plumb"));
            std::fs::write(&src, generated_program(seed)).expect("write");
            let s = src.to_string_lossy().into_owned();
            let check = plumb(&["check", &s]);
            assert_eq!(
                check.status.code(),
                Some(0),
                "seed {seed}: the generated program has errors:\n{}",
                String::from_utf8_lossy(&check.stdout)
            );
            let gitlab = dir.join(format!("g{i}.gitlab-ci.yml"));
            build(&s, "gitlab", &gitlab, &[]);
            gitlab_files.borrow_mut().push(gitlab);
            let k8s = dir.join(format!("g{i}.yaml"));
            build(&s, "k8s", &k8s, &[]);
            k8s_files.borrow_mut().push(k8s);
            Ok(())
        })
        .expect("property");
    let o = Command::new(tool("check-jsonschema"))
        .args([
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
        ])
        .args(gitlab_files.borrow().iter())
        .output()
        .expect("check-jsonschema");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(k8s_files.borrow().iter())
        .output()
        .expect("kubernetes-validate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn jobs_named_like_gitlab_keywords_are_written_with_a_suffix() {
    let dir = scratch("keywords");
    let out = dir.join(".gitlab-ci.yml");
    let stderr = build(
        "fixtures/names/gitlab_keyword_job_names.plumb",
        "gitlab",
        &out,
        &[],
    );
    let yaml = std::fs::read_to_string(&out).expect("written");
    assert!(
        yaml.contains("\nimage-job:\n") && yaml.contains("\nvariables-job:\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  - image-job\n  - variables-job\n"),
        "needs follow:\n{yaml}"
    );
    assert!(
        !yaml.contains("\nimage:\n") && !yaml.contains("\nvariables:\n"),
        "{yaml}"
    );
    assert!(
        stderr.contains("PL5003") && stderr.contains("written as `image-job`"),
        "{stderr}"
    );
    // a renamed job may not take another job's name: an error, nothing written
    let clash = dir.join("clash.plumb");
    std::fs::write(
        &clash,
        "pipeline p { stage s {\n  job image { image = \"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\", run = [\"a\"] }\n  job image-job { image = \"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\", run = [\"b\"] }\n} }\n",
    )
    .expect("write");
    let target = dir.join("clash.yml");
    let o = plumb(&[
        "build",
        &clash.to_string_lossy(),
        "--target",
        "gitlab",
        "-o",
        &target.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("the name of another job"));
    assert!(!target.exists());
}

/// The paths the cluster objects of a gitops folder point at: Flux `spec.path`s and
/// Argo CD `spec.source.path`s.
fn cluster_paths(out: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    for env in std::fs::read_dir(out.join("clusters"))
        .expect("clusters")
        .flatten()
    {
        for f in std::fs::read_dir(env.path()).expect("env").flatten() {
            let text = std::fs::read_to_string(f.path()).expect("read");
            for line in text.lines() {
                let line = line.trim();
                if let Some(p) = line.strip_prefix("path: ") {
                    paths.push(p.trim_start_matches("./").to_string());
                }
            }
        }
    }
    paths
}

#[test]
fn every_folder_a_cluster_object_points_at_builds_with_kustomize() {
    // issue #14: with a namespace, two environments, a matrix job and two pipelines,
    // every Flux stage folder failed ("no resource matches strategic merge patch")
    let dir = scratch("gitops-matrix");
    let project = dir.join("project");
    std::fs::create_dir_all(&project).expect("dir");
    let img =
        "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";
    std::fs::write(
        project.join("ci.plumb"),
        format!(
            "secret tok = ci_variable(\"DEPLOY_TOKEN\")\nsecret vt = vault(\"ci/deploy\", \"token\")\n\
             pipeline web {{\n  stage build {{\n    job compile {{ image = \"{img}\", run = [\"make\"], matrix = {{ GO = [\"1.22\", \"1.23\"] }} }}\n    job lint {{ image = \"{img}\", run = [\"make lint\"] }}\n  }}\n  stage deploy after build {{\n    job ship {{ image = \"{img}\", run = [\"./ship\"], env = {{ T = tok, V = vt }}, when = branch == \"main\" }}\n  }}\n}}\n\
             pipeline api {{\n  stage test {{\n    job unit {{ image = \"{img}\", run = [\"make test\"] }}\n  }}\n  stage release after test {{\n    job push {{ image = \"{img}\", run = [\"./push\"], env = {{ T = tok }}, when = branch == \"main\" }}\n  }}\n}}\n"
        ),
    )
    .expect("write");
    let mut rendered = Vec::new();
    let mut built = 0;
    for namespace in ["", "[targets.k8s]\nnamespace = \"ci\"\n"] {
        for envs in ["[\"production\"]", "[\"staging\", \"production\"]"] {
            for flavor in ["flux", "argocd"] {
                let toml = format!(
                    "{namespace}[targets.gitops]\nflavor = \"{flavor}\"\nenvironments = {envs}\n"
                );
                std::fs::write(project.join("plumb.toml"), &toml).expect("toml");
                let out = dir.join(format!("out-{built}"));
                build(&project.to_string_lossy(), "gitops", &out, &[]);
                let mut folders: Vec<PathBuf> = kustomize_roots(&out);
                folders.extend(cluster_paths(&out).iter().map(|p| out.join(p)));
                assert!(folders.len() > 8, "{toml}: {folders:?}");
                for folder in folders {
                    let o = Command::new(tool("kubectl"))
                        .arg("kustomize")
                        .arg(&folder)
                        .output()
                        .expect("kubectl");
                    assert!(
                        o.status.success(),
                        "{toml}kustomize {}: {}",
                        folder.display(),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    let file = dir.join(format!("rendered-{}.yaml", rendered.len()));
                    std::fs::write(&file, &o.stdout).expect("write");
                    rendered.push(file);
                }
                built += 1;
            }
        }
    }
    // each Flux stage folder holds exactly its stage's Jobs
    let flux = dir.join("out-2");
    let stage = Command::new(tool("kubectl"))
        .arg("kustomize")
        .arg(flux.join("apps/web/stages/staging/build"))
        .output()
        .expect("kubectl");
    let text = String::from_utf8_lossy(&stage.stdout);
    assert!(
        text.contains("name: web-compile-1-22") && text.contains("name: web-lint"),
        "{text}"
    );
    assert!(
        !text.contains("name: web-ship") && text.contains("namespace: staging"),
        "{text}"
    );
    let o = Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(&rendered)
        .output()
        .expect("kubernetes-validate");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
