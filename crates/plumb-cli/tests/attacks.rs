//! Attacks on `plumb build` and `plumb check`: what a hostile repository or a careless
//! command line could make them destroy, write or print. Each test failed before the
//! fix it guards.

mod common;

use common::{plumb_in, scratch};
use std::path::Path;

const PROGRAM: &str = r#"pipeline p {
  stage s {
    job a {
      image = "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000"
      run   = ["true"]
    }
  }
}
"#;

fn project(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("src/p.plumb"), PROGRAM).expect("program");
    dir
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `plumb` in `dir`, ended after 60 s (180 s in a debug build; exit 124) so that a hang
/// fails the test.
fn timed_plumb(dir: &Path, args: &[&str]) -> std::process::Output {
    // a hang is what this catches, not slowness: a debug build (the CI's `cargo test`)
    // takes about ten times as long as a release build over the budgets' 32 MiB
    let limit = if cfg!(debug_assertions) { "180" } else { "60" };
    std::process::Command::new("timeout")
        .arg(limit)
        .arg(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run")
}

/// Standard error with miette's line wrapping undone.
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn gitops_refuses_a_folder_it_did_not_write_and_touches_nothing() {
    let dir = project("gitops-foreign");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join(".git")).expect("git");
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").expect("head");
    std::fs::write(repo.join("notes.txt"), "mine\n").expect("notes");
    let o = plumb_in(&dir, &["build", "src", "--target", "gitops", "-o", "repo"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("plumb did not write"), "{}", stderr(&o));
    assert_eq!(listing(&repo), [".git", "notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(repo.join(".git/HEAD")).expect("head"),
        "ref: refs/heads/main\n"
    );
    assert_eq!(listing(&dir), ["repo", "src"], "nothing left beside it");
}

#[test]
fn gitops_refuses_to_replace_a_file() {
    let dir = project("gitops-file");
    std::fs::write(dir.join("out"), "precious\n").expect("file");
    let o = plumb_in(&dir, &["build", "src", "--target", "gitops", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a folder"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("out")).expect("file"),
        "precious\n"
    );
    assert_eq!(listing(&dir), ["out", "src"]);
}

#[test]
fn gitops_into_the_current_folder_is_refused_without_leftovers() {
    let dir = project("gitops-dot");
    let o = plumb_in(&dir, &["build", "src", "--target", "gitops", "-o", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(listing(&dir), ["src"]);
}

#[test]
fn gitops_replaces_only_what_it_wrote() {
    let dir = project("gitops-own");
    let out = dir.join("deploy/nested");
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitops", "-o", "deploy/nested"],
    );
    assert!(
        o.status.success(),
        "missing parents are created: {}",
        stderr(&o)
    );
    let marker = std::fs::read_to_string(out.join(".plumb-generated")).expect("marker");
    assert!(marker.contains("README.md\n"), "{marker}");
    // a second build replaces the folder it wrote
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitops", "-o", "deploy/nested"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // once somebody adds a file, the folder is no longer Plumb's alone
    std::fs::write(out.join("apps/extra.yaml"), "kind: ConfigMap\n").expect("extra");
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitops", "-o", "deploy/nested"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("apps/extra.yaml"), "{}", stderr(&o));
    assert!(out.join("apps/extra.yaml").exists());
    assert_eq!(listing(&dir.join("deploy")), ["nested"]);
}

#[test]
fn a_single_output_file_gets_its_folders_and_never_replaces_a_folder() {
    let dir = project("gitlab-parents");
    let o = plumb_in(
        &dir,
        &[
            "build",
            "src",
            "--target",
            "gitlab",
            "-o",
            "a/b/.gitlab-ci.yml",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("a/b/.gitlab-ci.yml").is_file());
    std::fs::create_dir_all(dir.join("folder")).expect("folder");
    std::fs::write(dir.join("folder/keep"), "x").expect("keep");
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitlab", "-o", "folder"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(dir.join("folder/keep").is_file());
}

/// A file name with a newline must not add a document (a privileged Pod) or a job to the
/// output through the `# generated by plumb from …` header.
#[test]
fn a_source_file_name_cannot_inject_yaml() {
    let dir = scratch("newline-name");
    let hostile = "x\n---\nkind: Pod\nmetadata: {name: evil}\n#.plumb";
    std::fs::write(dir.join(hostile), PROGRAM).expect("program");
    for target in ["gitlab", "k8s"] {
        let o = plumb_in(&dir, &["build", hostile, "--target", target]);
        assert!(o.status.success(), "{target}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.lines().any(|l| l.starts_with("kind: Pod")), "{out}");
        assert!(!out.lines().any(|l| l == "---"), "{out}");
        assert!(out.contains("x\\u{a}---\\u{a}kind: Pod"), "{out}");
    }
    let o = plumb_in(&dir, &["build", hostile, "--target", "gitops", "-o", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base = std::fs::read_to_string(dir.join("out/apps/p/base/s/p-a.yaml")).expect("job");
    assert!(!base.lines().any(|l| l.starts_with("kind: Pod")), "{base}");
    let readme = std::fs::read_to_string(dir.join("out/README.md")).expect("readme");
    assert!(
        !readme.lines().any(|l| l.starts_with("kind: Pod")),
        "{readme}"
    );
}

/// A condition GitLab rules cannot express exactly (here 2^7 alternatives) is widened to
/// "always" only for jobs without secrets; a job holding one makes the build fail.
#[test]
fn a_secret_jobs_condition_is_never_widened() {
    let factors: Vec<String> = (0..7)
        .map(|i| format!("(branch == \"a{i}\" || changes([\"d{i}/**\"]))"))
        .collect();
    let when = factors.join(" && ");
    let program = |env: &str| {
        format!(
            "secret t = ci_variable(\"DEPLOY_TOKEN\")\npipeline p {{\n  on = !merge_request\n  stage s {{\n    job deploy {{\n      image = \"alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n      when  = {when}\n      {env}\n      run   = [\"./deploy\"]\n    }}\n  }}\n}}\n"
        )
    };
    let dir = scratch("widening");
    std::fs::write(dir.join("secret.plumb"), program("env = { T = t }")).expect("write");
    std::fs::write(dir.join("plain.plumb"), program("")).expect("write");
    let o = plumb_in(
        &dir,
        &[
            "build",
            "secret.plumb",
            "--target",
            "gitlab",
            "-o",
            "out.yml",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("PL5002"), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds secrets"), "{}", stderr(&o));
    assert!(!dir.join("out.yml").exists(), "nothing is written");
    let o = plumb_in(
        &dir,
        &[
            "build",
            "plain.plumb",
            "--target",
            "gitlab",
            "-o",
            "out.yml",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("PL5002"),
        "still a warning: {}",
        stderr(&o)
    );
}

/// A deploy's condition is never widened either (it would deploy from every branch);
/// one too large for an expression but an AND of small parts is written exactly, as
/// `when: never` rules; a line break in a compared string is refused (GitLab's
/// expressions cannot hold one).
#[test]
fn a_deploys_condition_is_never_widened() {
    let image =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let program = |when: &str| {
        format!("pipeline p {{\n  stage s {{\n    job deploy {{\n      image       = \"{image}\"\n      environment = \"production\"\n      when        = {when}\n      run         = [\"./deploy\"]\n    }}\n  }}\n}}\n")
    };
    let groups = |n: usize, file: bool| {
        (0..n)
            .map(|i| match file {
                true => format!("(branch == \"a{i}\" || changes([\"d{i}/**\"]))"),
                false => format!("(var(\"A{i}\") == \"1\" || var(\"B{i}\") == \"1\")"),
            })
            .collect::<Vec<_>>()
            .join(" && ")
    };
    let dir = scratch("deploy-widening");
    let build = |name: &str, when: &str| {
        std::fs::write(dir.join(name), program(when)).expect("write");
        plumb_in(&dir, &["build", name, "--target", "gitlab", "-o", "-"])
    };
    let o = build("files.plumb", &groups(7, true));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("deploys"), "{}", stderr(&o));
    let o = build(
        "many.plumb",
        &format!("branch == \"main\" && {}", groups(12, false)),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = String::from_utf8_lossy(&o.stdout);
    assert_eq!(yaml.matches("when: never").count(), 13, "{yaml}");
    assert!(!stderr(&o).contains("PL5002"), "{}", stderr(&o));
    let o = build("newline.plumb", "branch == \"a\\nb\"");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("line break"), "{}", stderr(&o));
}

/// Names that normalise to one Kubernetes name are an error naming both, never a
/// silent overwrite.
#[test]
fn names_that_normalise_to_one_are_refused() {
    let image =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let cases = [
        (
            "jobs",
            format!("pipeline p {{ stage s {{ job a_b {{ image = \"{image}\", run = [\"true\"] }} job a-b {{ image = \"{image}\", run = [\"true\"] }} }} }}"),
            "k8s",
        ),
        (
            "matrix",
            format!("pipeline p {{ stage s {{ job j {{ image = \"{image}\", run = [\"true\"], matrix = {{ V = [\"a/b\", \"a.b\", \"a_b\"] }} }} }} }}"),
            "k8s",
        ),
        (
            "stages",
            format!("pipeline p {{ stage s {{ job x {{ image = \"{image}\", run = [\"true\"] }} }} stage S {{ job y {{ image = \"{image}\", run = [\"true\"] }} }} }}"),
            "gitops",
        ),
    ];
    for (name, program, target) in cases {
        let dir = scratch(&format!("clash-{name}"));
        std::fs::write(dir.join("p.plumb"), program).expect("write");
        std::fs::write(
            dir.join("plumb.toml"),
            "[targets.gitops]\nflavor = \"flux\"\n",
        )
        .expect("toml");
        let o = plumb_in(&dir, &["build", "p.plumb", "--target", target, "-o", "out"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("PL5003"), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("would both be"),
            "{name}: {}",
            stderr(&o)
        );
        assert!(!dir.join("out").exists(), "{name}: nothing is written");
    }
}

/// GitLab's expression lexer has no escapes: a branch name with `"` is written in
/// single quotes, and one with both quotes is refused.
#[test]
fn expression_literals_are_written_as_gitlab_reads_them() {
    let image =
        "alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let program = |branch: &str| {
        format!("pipeline p {{ stage s {{ job j {{ image = \"{image}\", run = [\"true\"], when = branch == \"{branch}\" }} }} }}")
    };
    let dir = scratch("expression-literals");
    std::fs::write(dir.join("ok.plumb"), program("it\\\"s")).expect("write");
    std::fs::write(dir.join("bad.plumb"), program("it's \\\"x\\\"")).expect("write");
    let o = plumb_in(&dir, &["build", "ok.plumb", "--target", "gitlab"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("$CI_COMMIT_BRANCH == 'it\"s'"), "{out}");
    let o = plumb_in(&dir, &["build", "bad.plumb", "--target", "gitlab"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no escapes"), "{}", stderr(&o));
}

/// The walk reads only regular files inside the checked folder: a `*.plumb` link to a
/// credentials file outside it, a dangling link and a FIFO are skipped with a warning.
#[test]
fn the_walk_stays_inside_the_tree_and_reads_only_regular_files() {
    let dir = scratch("walk");
    let outside = dir.join("home");
    std::fs::create_dir_all(&outside).expect("home");
    std::fs::write(
        outside.join("config.json"),
        "{\"auths\": {\"r\": {\"auth\": \"c2VjcmV0LWF1dGg=\"}}}\n",
    )
    .expect("config");
    let tree = dir.join("repo");
    std::fs::create_dir_all(&tree).expect("repo");
    std::fs::write(tree.join("p.plumb"), PROGRAM).expect("program");
    std::os::unix::fs::symlink(outside.join("config.json"), tree.join("evil.plumb")).expect("link");
    std::os::unix::fs::symlink(tree.join("gone"), tree.join("dangling.plumb")).expect("link");
    let fifo = tree.join("pipe.plumb");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::fs::write(tree.join("imports.plumb"), "import \"evil.plumb\"\n").expect("import");
    let o = timed_plumb(&dir, &["check", "repo", "--format", "json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(124), "hung on the FIFO");
    assert!(
        !out.contains("c2VjcmV0") && !err.contains("c2VjcmV0"),
        "{out}{err}"
    );
    for name in ["evil.plumb", "dangling.plumb", "pipe.plumb"] {
        assert!(err.contains(name), "no warning about {name}: {err}");
    }
    assert_ne!(o.status.code(), Some(2), "{err}");
}

/// A file that does not parse has not been checked: PL0001 cannot be allowed, lowered
/// or suppressed by a comment (`plumb.toml` saying so is ignored, with a warning).
#[test]
fn a_syntax_error_cannot_be_silenced() {
    let dir = scratch("pl0001");
    std::fs::write(dir.join("p.plumb"), "# plumb-allow: PL0001\npipeline {\n").expect("write");
    let o = plumb_in(&dir, &["check", "p.plumb", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PL0001"));
    for list in ["allow", "warn"] {
        std::fs::write(
            dir.join("plumb.toml"),
            format!("[lint]\n{list} = [\"PL0001\"]\n"),
        )
        .expect("toml");
        let o = plumb_in(&dir, &["check", "p.plumb", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{list}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("\"PL0001\""));
        assert!(
            stderr(&o).contains("plumb.toml:2:") && stderr(&o).contains("cannot be turned off"),
            "{}",
            stderr(&o)
        );
    }
}

/// `targets.k8s.default_image` runs every `runner_default` job on Kubernetes: it is held
/// to the image rules at the key (it went into the Jobs as written, `:latest` and all).
#[test]
fn the_default_image_is_held_to_the_image_rules() {
    let dir = scratch("default-image");
    std::fs::write(dir.join("p.plumb"), PROGRAM).expect("program");
    for (toml, said) in [
        ("[targets.k8s]\ndefault_image = \"ubuntu\"\n", "no tag or digest"),
        ("[targets.k8s]\ndefault_image = \"ubuntu:latest\"\n", "moves to new images"),
        ("[targets.k8s]\ndefault_image = \"not an image!!\"\n", "not an image reference"),
        ("[images]\nrequire_digest = true\n[targets.k8s]\ndefault_image = \"ubuntu:24.04\"\n", "no digest"),
        ("[images]\nallowed_registries = [\"registry.example.com\"]\n[targets.k8s]\ndefault_image = \"ubuntu:24.04\"\n", "does not list"),
    ] {
        std::fs::write(dir.join("plumb.toml"), toml).expect("toml");
        let o = plumb_in(&dir, &["build", "--target", "k8s", "p.plumb"]);
        assert_eq!(o.status.code(), Some(2), "{toml}: {}", stderr(&o));
        assert!(stderr(&o).contains(said), "{}", stderr(&o));
        assert!(o.stdout.is_empty(), "nothing is written");
    }
    std::fs::write(
        dir.join("plumb.toml"),
        "[targets.k8s]\ndefault_image = \"ubuntu:24.04\"\n",
    )
    .expect("toml");
    let o = plumb_in(&dir, &["check", "p.plumb"]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `-o -` is standard output (it wrote a file named `-`), and refused where a folder or
/// a committed file is needed.
#[test]
fn dash_output_is_standard_output() {
    let dir = scratch("dash-output");
    std::fs::write(dir.join("p.plumb"), PROGRAM).expect("program");
    let o = plumb_in(&dir, &["build", "--target", "gitlab", "p.plumb", "-o", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("generated by plumb"));
    assert!(!dir.join("-").exists());
    for args in [
        &["--target", "gitops"][..],
        &["--target", "gitlab", "--check"][..],
    ] {
        let mut all = vec!["build", "p.plumb", "-o", "-"];
        all.extend(args);
        let o = plumb_in(&dir, &all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!dir.join("-").exists());
    }
}

/// An import cycle is one finding, whichever of its files are checked: each file finds
/// it (from its own import), and it was reported once per file.
#[test]
fn an_import_cycle_is_reported_once() {
    let dir = scratch("import-cycle-once");
    std::fs::write(dir.join("a.plumb"), "import \"b.plumb\"\n").expect("a");
    std::fs::write(dir.join("b.plumb"), "import \"a.plumb\"\n").expect("b");
    for (args, file) in [
        (vec![".", "--format", "json"], None),
        (vec!["b.plumb", "--format", "json"], Some("b.plumb")),
    ] {
        let mut all = vec!["check"];
        all.extend(args);
        let o = plumb_in(&dir, &all);
        let diags: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
        let cycles: Vec<_> = diags.iter().filter(|d| d["code"] == "PL1007").collect();
        assert_eq!(cycles.len(), 1, "{diags:?}");
        if let Some(file) = file {
            assert_eq!(cycles[0]["file"], file, "reported in the file checked");
        }
    }
}

/// Names that end up in Kubernetes objects are validated where they are written.
#[test]
fn kubernetes_names_are_validated_at_the_source() {
    let dir = scratch("k8s-names");
    for (toml, bad) in [
        ("[targets.k8s]\nnamespace = \"Prod Env\"\n", "Prod Env"),
        ("[targets.k8s]\nsecret_name = \"../x\"\n", "../x"),
        (
            "[targets.gitops]\nenvironments = [\"prod\", \"PROD\"]\n",
            "PROD",
        ),
    ] {
        std::fs::write(dir.join("plumb.toml"), toml).expect("toml");
        std::fs::write(dir.join("p.plumb"), PROGRAM).expect("program");
        let o = plumb_in(&dir, &["check", "p.plumb"]);
        assert_eq!(o.status.code(), Some(2), "{toml}: {}", stderr(&o));
        assert!(stderr(&o).contains(bad), "{}", stderr(&o));
        // drawn at the value
        assert!(stderr(&o).contains("plumb.toml:2:"), "{}", stderr(&o));
    }
    std::fs::remove_file(dir.join("plumb.toml")).expect("rm");
    for decl in [
        "ci_variable(\"A B\")",
        "k8s_secret(\"../x: y\", \"key\")",
        "k8s_secret(\"db\", \"a/b\")",
    ] {
        let program = format!("secret s = {decl}\n{PROGRAM}");
        std::fs::write(dir.join("p.plumb"), program).expect("program");
        let o = plumb_in(&dir, &["check", "p.plumb", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{decl}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("PL1003") && out.contains("cannot be used here"),
            "{decl}: {out}"
        );
    }
}

/// Lets that double a value thirty times describe gigabytes: check and build report
/// PL1014 instead of running out of memory.
#[test]
fn exponential_lets_are_bounded() {
    let dir = scratch("exponential");
    let mut strings = String::from("let s0 = \"xxxxxxxxxxxxxxxx\"\n");
    let mut lists = String::from("let l0 = [\"x\"]\n");
    let mut conds = String::from("let c0 = branch == \"main\"\n");
    for i in 1..=30 {
        strings.push_str(&format!("let s{i} = \"${{s{}}}${{s{}}}\"\n", i - 1, i - 1));
        lists.push_str(&format!("let l{i} = [l{}, l{}]\n", i - 1, i - 1));
        conds.push_str(&format!("let c{i} = c{} && c{}\n", i - 1, i - 1));
    }
    for (name, lets, use_) in [
        ("strings", &strings, "run = [\"echo ${s30}\"]"),
        ("lists", &lists, "run = [\"true\"], tags = l30"),
        ("conds", &conds, "run = [\"true\"], when = c30"),
    ] {
        let program = format!(
            "{lets}\npipeline p {{ stage s {{ job j {{ image = \"alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\", {use_} }} }} }}\n"
        );
        std::fs::write(dir.join(format!("{name}.plumb")), program).expect("write");
        for args in [
            vec!["check", "--format", "json"],
            vec!["build", "--target", "gitlab"],
        ] {
            let file = format!("{name}.plumb");
            let mut argv = args.clone();
            argv.insert(1, &file);
            let o = timed_plumb(&dir, &argv);
            assert_eq!(o.status.code(), Some(1), "{name} {args:?}: {}", stderr(&o));
            let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
            assert!(all.contains("PL1014"), "{name} {args:?}: {all}");
        }
    }
}

/// `extends` fan-out and `!reference` doubling describe exponential work in a few
/// hundred bytes: the import finishes at once, within memory.
#[test]
fn import_fan_out_is_bounded() {
    let dir = scratch("import-fan-out");
    let mut extends = String::from(".t30:\n  script: [\"true\"]\n");
    let mut references = String::from(".r0:\n  script: [\"echo hi\"]\n");
    for i in 0..30 {
        extends.push_str(&format!(".t{i}:\n  extends: [.t{}, .t{}]\n", i + 1, i + 1));
        references.push_str(&format!(
            ".r{}:\n  script:\n    - !reference [.r{i}, script]\n    - !reference [.r{i}, script]\n",
            i + 1
        ));
    }
    extends.push_str("job:\n  extends: .t0\n");
    references.push_str("job:\n  script: !reference [.r30, script]\n");
    std::fs::write(dir.join("extends.yml"), extends).expect("write");
    std::fs::write(dir.join("references.yml"), references).expect("write");
    for file in ["extends.yml", "references.yml"] {
        let o = timed_plumb(&dir, &["import", file, "-o", "out.plumb"]);
        assert_ne!(o.status.code(), Some(124), "{file}: timed out");
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{file}: {:?} {}",
            o.status.code(),
            stderr(&o)
        );
    }
}

/// `!reference` doubling of a long script: few values (under the value budget), but
/// 2^20 copies of 16 KB; check and import aborted past 4 GB. The text is bounded too.
#[test]
fn reference_doubling_of_long_text_is_bounded() {
    let dir = scratch("reference-text-doubling");
    let long = "x".repeat(16_000);
    let mut yaml = format!(".a0:\n  script:\n    - \"make {long}\"\n");
    for i in 1..=20 {
        yaml.push_str(&format!(
            ".a{i}:\n  script:\n    - !reference [.a{p}, script]\n    - !reference [.a{p}, script]\n",
            p = i - 1
        ));
    }
    yaml.push_str("job:\n  image: alpine:3.20\n  script: !reference [.a20, script]\n");
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    for args in [
        &["check", ".gitlab-ci.yml"][..],
        &["import", ".gitlab-ci.yml"][..],
    ] {
        let o = timed_plumb(&dir, args);
        assert!(
            matches!(o.status.code(), Some(0..=2)),
            "{args:?}: {:?}",
            o.status
        );
        let all = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        assert!(
            all.contains(" MiB"),
            "{args:?}: {}",
            &all[..all.len().min(2000)]
        );
    }
}

/// `include: local` names a file of the repository: one that climbs out is not read.
#[test]
fn import_does_not_read_outside_the_repository() {
    let dir = scratch("import-outside");
    std::fs::create_dir_all(dir.join("repo")).expect("repo");
    std::fs::write(
        dir.join("secret.yml"),
        "leak:\n  script: [\"echo TOPSECRET\"]\n",
    )
    .expect("secret");
    std::fs::write(
        dir.join("repo/.gitlab-ci.yml"),
        "include:\n  - local: ../secret.yml\njob:\n  script: [\"true\"]\n",
    )
    .expect("ci");
    let o = timed_plumb(&dir.join("repo"), &["import", ".gitlab-ci.yml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("TOPSECRET"), "{out}");
    assert!(
        stderr(&o).contains("leaves the repository"),
        "{}",
        stderr(&o)
    );
}

/// `--split -o DIR` writes a whole folder like GitOps: a folder holding a file Plumb did
/// not write is refused untouched, and a rebuild drops the files of pipelines gone.
#[test]
fn split_output_is_a_folder_plumb_owns() {
    let dir = project("split-folder");
    std::fs::write(
        dir.join("src/q.plumb"),
        PROGRAM.replace("pipeline p", "pipeline q"),
    )
    .expect("second pipeline");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    std::fs::write(dir.join("ci/p.gitlab-ci.yml"), "mine: {}\n").expect("hand-written");
    let split = ["build", "src", "--target", "gitlab", "--split", "-o", "ci"];
    let o = plumb_in(&dir, &split);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("plumb did not write"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("ci/p.gitlab-ci.yml")).expect("kept"),
        "mine: {}\n"
    );
    std::fs::remove_file(dir.join("ci/p.gitlab-ci.yml")).expect("rm");
    let o = plumb_in(&dir, &split);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        listing(&dir.join("ci")),
        [".plumb-generated", "p.gitlab-ci.yml", "q.gitlab-ci.yml"]
    );
    std::fs::remove_file(dir.join("src/q.plumb")).expect("rm q");
    let o = plumb_in(&dir, &split);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        listing(&dir.join("ci")),
        [".plumb-generated", "p.gitlab-ci.yml"],
        "the file of the pipeline gone is gone"
    );
}

/// Two pipelines whose names normalise to one file name: refused, nothing written.
#[test]
fn split_file_names_never_collide() {
    let dir = project("split-clash");
    std::fs::write(
        dir.join("src/p.plumb"),
        format!(
            "{}\n{}",
            PROGRAM.replace("pipeline p", "pipeline a-b"),
            PROGRAM.replace("pipeline p", "pipeline A_B")
        ),
    )
    .expect("program");
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitlab", "--split", "-o", "ci"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        out.contains("PL5003") && out.contains("a-b.gitlab-ci.yml"),
        "{out}"
    );
    assert_eq!(listing(&dir), ["src"], "nothing written");
}

/// `-o FILE` replaces only a file Plumb wrote: a hand-written `.gitlab-ci.yml`, or the
/// source itself, is kept.
#[test]
fn a_single_output_file_never_replaces_a_file_plumb_did_not_write() {
    let dir = project("gitlab-foreign-file");
    std::fs::write(dir.join(".gitlab-ci.yml"), "test:\n  script: [make]\n").expect("yaml");
    let build = |out: &str| plumb_in(&dir, &["build", "src", "--target", "gitlab", "-o", out]);
    for target in [".gitlab-ci.yml", "src/p.plumb"] {
        let before = std::fs::read_to_string(dir.join(target)).expect("before");
        let o = build(target);
        assert_eq!(o.status.code(), Some(2), "{target}: {}", stderr(&o));
        let why = stderr(&o);
        assert!(
            why.contains("not written by plumb") || why.contains("is the source"),
            "{why}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join(target)).expect("after"),
            before
        );
    }
    let o = build("out.yml");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = build("out.yml");
    assert!(
        o.status.success(),
        "a file plumb wrote is replaced: {}",
        stderr(&o)
    );
}

/// An error in an imported file is an error of the program: `check` reports it and
/// `build` writes nothing (it used to build without the field in error).
#[test]
fn errors_in_imported_files_stop_the_build() {
    let dir = scratch("imported-errors");
    std::fs::create_dir_all(dir.join("lib")).expect("lib");
    std::fs::write(
        dir.join("lib/base.plumb"),
        "template t() { image = \"alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\", run = [\"x\"], retry = 7 }\n",
    )
    .expect("lib");
    std::fs::write(
        dir.join("main.plumb"),
        "import \"lib/base.plumb\"\n\npipeline p { stage s { job j from t() { } } }\n",
    )
    .expect("main");
    let o = plumb_in(&dir, &["check", "main.plumb"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("lib/base.plumb"));
    let o = plumb_in(
        &dir,
        &["build", "main.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!dir.join("out.yml").exists(), "nothing written");
}

/// A marker that lists a file Plumb did not write (stale, or planted) does not make the
/// build delete it: every listed file must still start with Plumb's header.
#[test]
fn a_marker_cannot_make_the_build_delete_a_source() {
    let dir = project("split-marker");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    std::fs::copy(dir.join("src/p.plumb"), dir.join("ci/pipeline.plumb")).expect("source");
    std::fs::write(
        dir.join("ci/.plumb-generated"),
        "# written by plumb build\npipeline.plumb\n",
    )
    .expect("marker");
    let o = plumb_in(
        &dir,
        &[
            "build",
            "ci/pipeline.plumb",
            "--target",
            "gitlab",
            "--split",
            "-o",
            "ci",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        dir.join("ci/pipeline.plumb").is_file(),
        "the source is kept"
    );
}

/// `plumb fmt` replaces a file atomically and keeps its permissions: a `-rw-------`
/// program did not come back readable by everyone.
#[test]
fn fmt_keeps_a_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("fmt-mode");
    let file = dir.join("p.plumb");
    let unformatted = PROGRAM.replace("  stage", "stage");
    std::fs::write(&file, &unformatted).expect("program");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let o = plumb_in(&dir, &["fmt", "p.plumb"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_ne!(std::fs::read_to_string(&file).expect("read"), unformatted);
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// What a build killed while writing left (`.out.plumb-tmp-PID/`) is removed by the
/// next build once that process is gone; a running one's, and other names, are kept.
#[test]
fn a_killed_builds_leftovers_are_removed_by_the_next_build() {
    let dir = project("kill-litter");
    let dead = ".out.plumb-tmp-4000000000";
    let alive = format!(".out.plumb-tmp-{}", std::process::id());
    let recent = ".out.plumb-tmp-4000000001";
    for name in [dead, recent, alive.as_str(), ".out.plumb-tmp-x", "keep.txt"] {
        std::fs::create_dir_all(dir.join(name).join("clusters")).expect("leftover");
    }
    let dead_file = ".ci.yml.plumb-tmp-4000000000-0000abcd";
    std::fs::write(dir.join(dead_file), "x").expect("file");
    // left an hour ago or more (a process of another PID namespace may be writing a
    // recent one)
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for name in [dead, dead_file, alive.as_str()] {
        let f = std::fs::File::open(dir.join(name)).expect("open");
        f.set_modified(old).expect("mtime");
    }
    let o = plumb_in(&dir, &["build", "src", "--target", "gitops", "-o", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = plumb_in(
        &dir,
        &["build", "src", "--target", "gitlab", "-o", "ci.yml"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut expected = vec![
        ".out.plumb-tmp-x",
        recent,
        alive.as_str(),
        "ci.yml",
        "keep.txt",
    ];
    expected.extend(["out", "src"]);
    expected.sort();
    assert_eq!(listing(&dir), expected);
}

const IMG: &str =
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

/// Every pipeline of a GitOps build deploys into the same namespaces: job `api-build`
/// of `web` and job `build` of `web-api` would both be Job `web-api-build` (refused,
/// as `--target k8s` refuses it), and each pipeline's `ci_variable` secrets come from
/// a Secret of its own (one `pipeline-secrets` would be two applications' object).
#[test]
fn gitops_pipelines_do_not_share_an_object() {
    let dir = scratch("gitops-clash");
    let clash = format!("pipeline web {{ stage s {{ job api-build {{ image = \"{IMG}\", run = [\"./x\"] }} }} }}\npipeline web-api {{ stage s {{ job build {{ image = \"{IMG}\", run = [\"./y\"] }} }} }}\n");
    std::fs::write(dir.join("a.plumb"), clash).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "a.plumb", "--target", "gitops", "-o", "ops"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("PL5003"), "{}", stderr(&o));
    assert!(!dir.join("ops").exists(), "nothing is written");
    let shared = format!("secret a = ci_variable(\"A_TOKEN\")\nsecret b = ci_variable(\"B_TOKEN\")\npipeline alpha {{ on = branch == \"main\"\n stage s {{ job j {{ image = \"{IMG}\", env = {{ T = a }}, run = [\"./x\"] }} }} }}\npipeline beta {{ on = branch == \"main\"\n stage s {{ job j {{ image = \"{IMG}\", env = {{ T = b }}, run = [\"./y\"] }} }} }}\n");
    std::fs::write(dir.join("b.plumb"), shared).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "b.plumb", "--target", "gitops", "-o", "ops"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (pipeline, key) in [("alpha", "A_TOKEN"), ("beta", "B_TOKEN")] {
        let secrets = dir.join(format!("ops/apps/{pipeline}/secrets/external-secrets.yaml"));
        let text = std::fs::read_to_string(secrets).expect("secrets");
        assert!(
            text.contains(&format!("name: {pipeline}-pipeline-secrets")),
            "{text}"
        );
        assert!(text.contains(key), "{text}");
        let job = dir.join(format!("ops/apps/{pipeline}/base/s/{pipeline}-j.yaml"));
        let job = std::fs::read_to_string(job).expect("job");
        assert!(
            job.contains(&format!("name: {pipeline}-pipeline-secrets")),
            "{job}"
        );
    }
}

/// `a.tok` (imported) and the file's own `tok` read two Vault fields: they are two keys
/// of the pipeline's Vault Secret (one key delivered A's value as B's).
#[test]
fn vault_secrets_of_one_name_keep_their_own_values() {
    let dir = scratch("vault-keys");
    std::fs::write(
        dir.join("a.plumb"),
        "secret tok = vault(\"ci/data/a\", \"token\")\n",
    )
    .expect("write");
    let main = format!("import \"a.plumb\" as a\nsecret tok = vault(\"ci/data/b\", \"token\")\npipeline p {{ on = branch == \"main\"\n stage s {{ job j {{ image = \"{IMG}\", env = {{ A_TOKEN = a.tok, B_TOKEN = tok }}, run = [\"./x\"] }} }} }}\n");
    std::fs::write(dir.join("main.plumb"), main).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "main.plumb", "--target", "gitops", "-o", "ops"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let job = std::fs::read_to_string(dir.join("ops/apps/p/base/s/p-j.yaml")).expect("job");
    let secrets = dir.join("ops/apps/p/secrets/external-secrets.yaml");
    let secrets = std::fs::read_to_string(secrets).expect("secrets");
    let key_of = |var: &str| {
        let at = job.find(&format!("name: {var}")).expect("var");
        let rest = &job[at..];
        let key = rest.find("key: ").expect("key") + 5;
        rest[key..].lines().next().unwrap_or_default().to_string()
    };
    let (a, b) = (key_of("A_TOKEN"), key_of("B_TOKEN"));
    assert_ne!(a, b, "{job}");
    for (key, path) in [(a, "ci/data/a"), (b, "ci/data/b")] {
        let at = secrets.find(&format!("secretKey: {key}")).expect("key");
        let entry = &secrets[at..];
        let next = entry[1..].find("secretKey").map_or(entry.len(), |n| n + 1);
        assert!(
            entry[..next].contains(path),
            "{key} reads {path}: {secrets}"
        );
    }
}

/// On Kubernetes a trigger job is no Job: a job that needs one is told (PL2005).
#[test]
fn a_need_on_a_trigger_job_is_reported_for_kubernetes() {
    let dir = scratch("k8s-trigger-need");
    let program = format!("pipeline p {{\n  on = branch == \"main\"\n  stage a {{ job downstream {{ trigger = {{ project = \"g/p\" }} }} }}\n  stage b {{ job smoke {{ image = \"{IMG}\", run = [\"./t\"], needs = [downstream] }} }}\n}}\n");
    std::fs::write(dir.join("p.plumb"), program).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "p.plumb", "--target", "k8s", "-o", "k.yaml"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("PL2005"), "{}", stderr(&o));
    let o = plumb_in(&dir, &["check", "p.plumb"]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("PL2005"),
        "GitLab runs it"
    );
}

/// Lets that double a value, each under the 1 MiB a value may weigh, in forty chains:
/// the copies together took 3.9 GB. The program's let values are bounded as a whole.
#[test]
fn doubling_lets_cannot_exhaust_memory() {
    let dir = scratch("let-chains");
    let mut program = String::new();
    for chain in 0..40 {
        program.push_str(&format!("let c{chain}a0 = [\"x\"]\n"));
        for i in 1..24 {
            let prev = format!("c{chain}a{}", i - 1);
            program.push_str(&format!("let c{chain}a{i} = [{prev}, {prev}]\n"));
        }
    }
    std::fs::write(dir.join("p.plumb"), program).expect("write");
    let o = timed_plumb(&dir, &["check", "p.plumb"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("copied into more than")
            || String::from_utf8_lossy(&o.stdout).contains("copied into more than")
    );
}

/// Templates that pass each a doubled argument to the next: one job's script reached
/// 1 MiB inside a template body, where its PL1014 was not reported, and the job ran
/// nothing and was clean; 200 such jobs took 2.7 GB.
fn doubling_templates(levels: usize, jobs: &[&str]) -> String {
    let img = "alpine:3.19@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let mut program = format!("template t0(x: String) {{ image = \"{img}\", run = [x] }}\n");
    for i in 1..=levels {
        program.push_str(&format!(
            "template t{i}(x: String) from t{}(x = \"${{x}}${{x}}\") {{ }}\n",
            i - 1
        ));
    }
    program.push_str("pipeline p {\n  on = branch == \"main\"\n  stage s {\n");
    for (n, arg) in jobs.iter().enumerate() {
        program.push_str(&format!(
            "    job j{n} from t{levels}(x = \"{arg}\") {{ }}\n"
        ));
    }
    program.push_str("  }\n}\n");
    program
}

#[test]
fn a_value_too_large_inside_a_template_is_reported_at_the_job() {
    let dir = scratch("template-doubling-one");
    let big = "0123456789abcdef".repeat(16);
    std::fs::write(dir.join("p.plumb"), doubling_templates(12, &[&big])).expect("write");
    let o = timed_plumb(&dir, &["check", "p.plumb", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("PL1014") && out.contains("once the arguments are put in"),
        "{out}"
    );
    let o = plumb_in(
        &dir,
        &["build", "p.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("out.yml").exists(), "no partial output");
}

#[test]
fn doubling_template_arguments_cannot_exhaust_memory() {
    let dir = scratch("template-doubling-many");
    let args: Vec<String> = (0..400).map(|n| format!("abcdefgh{n}")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    std::fs::write(dir.join("p.plumb"), doubling_templates(16, &args)).expect("write");
    let o = timed_plumb(&dir, &["check", "p.plumb", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.matches("copy more than 32 MiB").count(),
        1,
        "once: {out}"
    );
}

/// A FIFO named like a CI file in a walked folder, or named by `include: local`, is not
/// opened (opening it waits for a writer): every command returns.
#[test]
fn special_files_found_by_a_walk_or_an_include_are_not_opened() {
    let dir = scratch("fifo");
    std::fs::create_dir_all(dir.join("walk")).expect("walk");
    std::fs::create_dir_all(dir.join("inc/ci")).expect("inc");
    for fifo in ["walk/deploy.gitlab-ci.yml", "inc/ci/jobs.yml"] {
        let made = std::process::Command::new("mkfifo")
            .arg(dir.join(fifo))
            .status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    }
    std::fs::write(
        dir.join("inc/.gitlab-ci.yml"),
        "include:\n  - local: ci/jobs.yml\nbuild:\n  image: alpine:3.20\n  script: [make]\n",
    )
    .expect("write");
    for (cwd, args) in [
        ("walk", &["check", "."][..]),
        ("inc", &["check", ".gitlab-ci.yml"][..]),
        ("inc", &["import", ".gitlab-ci.yml"][..]),
    ] {
        let o = timed_plumb(&dir.join(cwd), args);
        assert_ne!(o.status.code(), Some(124), "{args:?} hung");
    }
}

/// A file named on the command line that never ends (a link to `/dev/zero`) is read up
/// to the size limit and refused: `import`, `check` and `fmt` return at once, in little
/// memory (an import read it whole, gigabytes a second).
#[test]
fn a_source_that_never_ends_is_refused_at_the_size_limit() {
    let dir = scratch("endless");
    for name in [".gitlab-ci.yml", "ci.plumb"] {
        let _ = std::fs::remove_file(dir.join(name));
        std::os::unix::fs::symlink("/dev/zero", dir.join(name)).expect("link");
    }
    for args in [
        &["import", ".gitlab-ci.yml"][..],
        &["check", ".gitlab-ci.yml"][..],
        &["check", "ci.plumb"][..],
        &["fmt", "--check", "ci.plumb"][..],
    ] {
        let o = timed_plumb(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}: nothing written");
    }
    // a FIFO named to `import` is refused, as `check` refuses it (it waited for a writer)
    let fifo = dir.join("pipe.gitlab-ci.yml");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let o = timed_plumb(&dir, &["import", "pipe.gitlab-ci.yml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `build -o` naming the source, and `-o` over a file whose first line only starts like
/// Plumb's header, are refused: the program was replaced by the YAML compiled from it.
#[test]
fn build_and_import_never_replace_a_file_that_only_looks_generated() {
    let dir = scratch("lookalike-headers");
    let img = "alpine:3.19@sha256:8c8c5c0b4b1a5d2c7d0e6b3d1f9c0a7e4b2d6f8a1c3e5b7d9f0a2c4e6b8d0f1a";
    let program = format!(
        "# generated by plumb from the team template in 2023, maintained by hand since\npipeline p {{\n  on = branch == \"main\"\n  stage s {{ job a {{ image = \"{img}\", run = [\"make\"] }} }}\n}}\n"
    );
    std::fs::write(dir.join("ci.plumb"), &program).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "ci.plumb", "--target", "gitlab", "-o", "ci.plumb"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("ci.plumb")).expect("read"),
        program
    );
    let notes = "# generated by plumb from memory, then edited\nkeep: me\n";
    std::fs::write(dir.join("notes.yml"), notes).expect("write");
    let o = plumb_in(
        &dir,
        &["build", "ci.plumb", "--target", "gitlab", "-o", "notes.yml"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.yml")).expect("read"),
        notes
    );
    let hand = "# Imported from our old Jenkinsfile by hand, 2023\n";
    std::fs::write(dir.join("hand.plumb"), hand).expect("write");
    std::fs::write(dir.join(".gitlab-ci.yml"), "b:\n  script: [make]\n").expect("write");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "hand.plumb"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("hand.plumb")).expect("read"),
        hand
    );
    // what Plumb wrote is replaced
    let o = plumb_in(
        &dir,
        &["build", "ci.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = plumb_in(
        &dir,
        &["build", "ci.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Control characters of the checked file reach the terminal escaped: a job name or an
/// image that retitles the terminal, hides the rest of the report or rewrites a line,
/// and a line break that starts a line a CI system reads as a command.
#[test]
fn terminal_controls_from_the_file_are_escaped_in_the_report() {
    let dir = scratch("terminal-controls");
    let yaml = "\"build\\e[2K\\rbuild-ok\":\n  image: \"alpine:latest\\e]0;PWNED\\a\\e[8m\"\n  needs: [\"x\\n::error file=ok.yml,line=1::injected\"]\n  script: [make]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    let o = plumb_in(&dir, &["check", "--verbose", ".gitlab-ci.yml"]);
    for (what, text) in [("stdout", o.stdout.clone()), ("stderr", o.stderr.clone())] {
        let text = String::from_utf8_lossy(&text);
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\r']),
            "{what}: {text:?}"
        );
        assert!(!text.lines().any(|l| l.starts_with("::")), "{what}: {text}");
    }
    assert!(String::from_utf8_lossy(&o.stdout).contains("\\u{1b}"));
    // GitHub's annotations are read in a log, a terminal too
    let o = plumb_in(&dir, &["check", "--format", "github", ".gitlab-ci.yml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains(['\u{1b}', '\u{7}', '\r']), "{out:?}");
    // a file's name, found by a walk, is shown escaped too
    let walk = dir.join("walk");
    std::fs::create_dir_all(&walk).expect("walk");
    let name = "a\n::error::pwned\u{1b}[2K\u{1b}[1A.gitlab-ci.yml";
    std::fs::write(
        walk.join(name),
        "j:\n  image: node:latest\n  script: [make]\n",
    )
    .expect("write");
    let o = plumb_in(&walk, &["check", "."]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("PL3002"), "{out}");
    assert!(!out.contains(['\u{1b}', '\r']), "{out:?}");
    assert!(!out.lines().any(|l| l.starts_with("::")), "{out}");
}

/// `import -o` never replaces a file the import read: an included file whose first
/// line happens to be the import's header was replaced by the program.
#[test]
fn import_never_replaces_a_file_it_read() {
    let dir = scratch("import-included-output");
    std::fs::create_dir_all(dir.join(".git")).expect("git");
    std::fs::create_dir_all(dir.join("ci")).expect("ci");
    let included =
        "# Imported from x by `plumb import`.\nlint:\n  image: alpine:3.20\n  script: [x]\n";
    std::fs::write(dir.join("ci/inc.yml"), included).expect("write");
    std::fs::write(
        dir.join("h.yml"),
        "include:\n  - local: ci/inc.yml\njob:\n  image: alpine:3.20\n  script: [y]\n",
    )
    .expect("write");
    let o = plumb_in(&dir, &["import", "h.yml", "-o", "ci/inc.yml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("ci/inc.yml")).expect("read"),
        included
    );
}

/// An import of a file that is not Plumb (`/etc/passwd`, a key) is never read: its
/// lines would be quoted in syntax errors, in a merge request's CI log.
#[test]
fn an_import_of_another_kind_of_file_is_never_read() {
    let dir = scratch("import-host-file");
    std::fs::write(
        dir.join("leak.txt"),
        "root:$6$hunter2-hash:20228:0:99999:7:::\n",
    )
    .expect("secret file");
    // a `.plumb` name linked to it is not read either
    #[cfg(unix)]
    std::os::unix::fs::symlink("leak.txt", dir.join("env.plumb")).expect("link");
    std::fs::write(
        dir.join("a.plumb"),
        "import \"leak.txt\"\nimport \"/etc/passwd\" as p\nimport \"env.plumb\" as e\n",
    )
    .expect("program");
    for (format, path) in [("human", "a.plumb"), ("json", "a.plumb"), ("json", ".")] {
        let o = plumb_in(&dir, &["check", "--format", format, path]);
        let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(!out.contains("hunter2") && !out.contains("root:"), "{out}");
        assert!(out.contains("is not a Plumb file"), "{out}");
    }
}

/// A committed output is the repository's: a merge request can make it (or a file of
/// a GitOps folder) a link to a secret file or `/proc/self/environ`, a link to
/// `/dev/zero`, or a FIFO. `build --check` reads none of them (it printed the secret in
/// its diff, ran out of memory, or hung), and says the output differs.
#[test]
fn build_check_reads_no_link_or_special_file_of_the_committed_output() {
    let dir = project("check-links");
    std::fs::write(dir.join("secret.txt"), "TOP-SECRET-KEY-MATERIAL\n").expect("write");
    type Make = fn(&Path);
    let cases: [(&str, Make); 3] = [
        ("a link to a secret", |p| {
            std::os::unix::fs::symlink("secret.txt", p).expect("link")
        }),
        ("a link to /dev/zero", |p| {
            std::os::unix::fs::symlink("/dev/zero", p).expect("link")
        }),
        ("a FIFO", |p| {
            let made = std::process::Command::new("mkfifo").arg(p).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        }),
    ];
    for (what, make) in cases {
        let out = dir.join("ci.yml");
        let _ = std::fs::remove_file(&out);
        make(&out);
        let args = [
            "build", "src", "--target", "gitlab", "-o", "ci.yml", "--check",
        ];
        let o = timed_plumb(&dir, &args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(!stdout.contains("TOP-SECRET"), "{what}: {stdout}");
        assert!(
            stderr(&o).contains("not a regular"),
            "{what}: {}",
            stderr(&o)
        );
    }
    // a file of a GitOps folder, and a link to a folder outside it
    let out = dir.join("gitops");
    let o = timed_plumb(
        &dir,
        &["build", "src", "--target", "gitops", "-o", "gitops"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(out.join("README.md")).expect("remove");
    std::os::unix::fs::symlink(dir.join("secret.txt"), out.join("README.md")).expect("link");
    std::os::unix::fs::symlink("/proc/self", out.join("proc")).expect("link");
    let args = [
        "build", "src", "--target", "gitops", "-o", "gitops", "--check",
    ];
    let o = timed_plumb(&dir, &args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stdout.contains("TOP-SECRET"), "{stdout}");
    assert!(!stdout.contains("PATH="), "{stdout}");
    // a linked folder on the way to -o, and a link left among a folder's files
    std::os::unix::fs::symlink("/proc/self", dir.join("procl")).expect("link");
    let args = [
        "build",
        "src",
        "--target",
        "gitlab",
        "-o",
        "procl/environ",
        "--check",
    ];
    let o = timed_plumb(&dir, &args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("PATH="));
    let o = timed_plumb(&dir, &["build", "src", "--target", "gitops", "-o", "fresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::os::unix::fs::symlink("../secret.txt", dir.join("fresh/extra.yml")).expect("link");
    let args = [
        "build", "src", "--target", "gitops", "-o", "fresh", "--check",
    ];
    let o = timed_plumb(&dir, &args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a stale link is a difference: {}",
        stderr(&o)
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("TOP-SECRET"));
}

/// `plumb.toml` is the repository's: one above the repository's root (a runner's
/// build folder) does not turn its checks off, and a link out of the repository (to
/// `/proc/self/environ`, which a parse error showed) or a FIFO (which blocked, or was
/// passed by as if absent) is refused with exit 2.
#[test]
fn plumb_toml_is_a_regular_file_of_the_repository() {
    let dir = scratch("toml-of-the-repository");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join(".git")).expect("repo");
    let latest =
        "pipeline p {\n  stage s { job a { image = \"alpine:latest\", run = [\"true\"] } }\n}\n";
    std::fs::write(repo.join("p.plumb"), latest).expect("program");
    std::fs::write(
        dir.join("plumb.toml"),
        "[lint]\nallow = [\"PL3002\", \"PL3003\"]\n",
    )
    .expect("toml");
    let o = timed_plumb(&repo, &["check", "--format", "json", "p.plumb"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PL3002"));
    std::os::unix::fs::symlink("/proc/self/environ", repo.join("plumb.toml")).expect("link");
    let o = timed_plumb(&repo, &["check", "p.plumb"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("PATH="), "{}", stderr(&o));
    // nor into `.git`, whose `config` holds the remotes' tokens
    std::fs::remove_file(repo.join("plumb.toml")).expect("remove");
    std::fs::write(
        repo.join(".git/config"),
        "[remote \"origin\"]\n  url = https://x:glpat-SECRET@h/r.git\n",
    )
    .expect("config");
    std::os::unix::fs::symlink(".git/config", repo.join("plumb.toml")).expect("link");
    let o = timed_plumb(&repo, &["check", "p.plumb"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("glpat-SECRET"), "{}", stderr(&o));
    std::fs::remove_file(repo.join("plumb.toml")).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(repo.join("plumb.toml"))
        .status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let o = timed_plumb(&repo, &["check", "p.plumb"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // a link within the repository is read
    std::fs::remove_file(repo.join("plumb.toml")).expect("remove");
    std::fs::create_dir_all(repo.join("ci")).expect("ci");
    std::fs::write(
        repo.join("ci/plumb.toml"),
        "[lint]\nallow = [\"PL3002\", \"PL3003\"]\n",
    )
    .expect("toml");
    std::os::unix::fs::symlink("ci/plumb.toml", repo.join("plumb.toml")).expect("link");
    let o = timed_plumb(&repo, &["check", "p.plumb"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A file of `/proc` says it is empty and never ends: an include of
/// `/proc/self/pagemap` (with `--root /`) stops at the size limit (it read gigabytes).
#[test]
fn an_included_file_that_never_ends_stops_at_the_limit() {
    let dir = scratch("import-pagemap");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "include:\n  - local: /proc/self/pagemap\njob:\n  script: [\"true\"]\n",
    )
    .expect("ci");
    let o = timed_plumb(&dir, &["import", "--root", "/", ".gitlab-ci.yml"]);
    assert_ne!(o.status.code(), Some(124), "hung");
    // (the kernel refuses reads of a size it cannot serve, or the limit stops them)
    let err = stderr(&o);
    assert!(
        err.contains("cannot read included file `/proc/self/pagemap`"),
        "{err}"
    );
}

/// `plumb build --target gitlab SOURCE -o OUT` in `dir`, which must succeed.
fn build_gitlab(dir: &Path, source: &str, out: &str) {
    let o = timed_plumb(dir, &["build", source, "--target", "gitlab", "-o", out]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A GitLab CI file whose first line says `plumb build` wrote it is checked through
/// its sources only when it is what they give: the line over a hand-written (or
/// hand-edited) pipeline hid it from `plumb check .`.
#[test]
fn a_generated_header_hides_no_pipeline_from_the_check() {
    let dir = project("forged-header");
    std::fs::create_dir_all(dir.join(".git")).expect("repo");
    build_gitlab(&dir, "src/p.plumb", ".gitlab-ci.yml");
    let o = timed_plumb(&dir, &["check", "."]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the build is checked through its source: {}",
        stderr(&o)
    );
    // built from another folder: the header names the source as that folder sees it
    build_gitlab(&dir.join("src"), "p.plumb", "../.gitlab-ci.yml");
    let o = timed_plumb(&dir, &["check", "--format", "json", "."]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "[]",
        "{}",
        stderr(&o)
    );
    let built = std::fs::read_to_string(dir.join(".gitlab-ci.yml")).expect("read");
    let edited = format!("{built}b:\n  image: alpine:latest\n  script: [make]\n");
    let forged = "# generated by plumb from src/p.plumb, do not edit\nb:\n  image: alpine:latest\n  script: [make]\n";
    for (what, text) in [("edited", edited.as_str()), ("forged", forged)] {
        std::fs::write(dir.join(".gitlab-ci.yml"), text).expect("write");
        let o = timed_plumb(&dir, &["check", "--format", "json", "."]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(out.contains("PL3002"), "{what}: {out}");
    }
    // a build that includes local YAML: the YAML no check of the sources reads is
    // checked (with the build, as it names it)
    std::fs::write(
        dir.join("ci.yml"),
        "evil:\n  image: alpine:latest\n  script: [make]\n",
    )
    .expect("write");
    let program = std::fs::read_to_string(dir.join("src/p.plumb")).expect("read");
    let with_include = program.replacen(
        "pipeline p {",
        "pipeline p {\n  include = [local(\"ci.yml\")]",
        1,
    );
    std::fs::write(dir.join("src/p.plumb"), with_include).expect("write");
    build_gitlab(&dir, "src/p.plumb", ".gitlab-ci.yml");
    let o = timed_plumb(&dir, &["check", "--format", "json", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PL3002"));
}
