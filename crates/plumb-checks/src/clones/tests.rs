use super::*;
use crate::shell::scan;

const U: &str = "https://gitlab.com/me/tools.git";

/// The URL and runner of each clone the script lines run unpinned; `env` is the job's
/// variables; lines from `after` on are `after_run`.
fn runs_with(lines: &[&str], env: &[(&str, &str)], after: usize) -> Vec<(String, String)> {
    let scanned: Vec<Vec<Command>> = lines.iter().map(|l| scan(l)).collect();
    let shells: Vec<Shell> = lines
        .iter()
        .zip(&scanned)
        .map(|(text, commands)| Shell { text, commands })
        .collect();
    let variables = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    };
    let reader = Reader {
        allowed: &|_| false,
        variables: &variables,
        fresh_shell_at: after,
    };
    reader
        .clone_runs(&shells)
        .into_iter()
        .map(|r| {
            (
                r.url.text.clone(),
                r.runner.name().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn runs(lines: &[&str]) -> Vec<(String, String)> {
    runs_with(lines, &[], usize::MAX)
}

fn found(lines: &[&str], runner: &str) {
    assert_eq!(
        runs(lines),
        vec![(U.to_string(), runner.to_string())],
        "{lines:?}"
    );
}

fn not_found(lines: &[&str]) {
    assert_eq!(runs(lines), vec![], "{lines:?}");
}

#[test]
fn clones_run_at_a_branch_are_found() {
    found(&[&format!("git clone {U}"), "./tools/x.sh"], "./tools/x.sh");
    found(
        &[&format!("git clone {U} && cd tools && ./build.sh")],
        "./build.sh",
    );
    found(
        &[&format!("git clone --branch=main {U} t"), "sh t/run"],
        "sh",
    );
    found(&[&format!("git clone -b dev {U} t"), "make -C t"], "make");
    found(&[&format!("git clone {U} t"), "make -Ct"], "make");
    found(
        &[&format!("git clone {U} t"), "make --directory=t all"],
        "make",
    );
    found(
        &[&format!("git clone {U} a/b"), "cd ./a/b/", "pip install ."],
        "pip",
    );
    found(
        &[&format!("git -C vendor clone {U}"), "vendor/tools/run"],
        "vendor/tools/run",
    );
    found(
        &[
            &format!("git -c advice.detachedHead=false clone {U}"),
            "./tools/x",
        ],
        "./tools/x",
    );
    found(
        &[
            &format!("git clone {U}"),
            "cd tools",
            "git checkout main",
            "yarn",
        ],
        "yarn",
    );
    found(
        &[&format!("git clone {U}"), "npm --prefix tools install"],
        "npm",
    );
    found(
        &[
            &format!("git clone {U} /opt/tools"),
            "/opt/tools/install.sh",
        ],
        "/opt/tools/install.sh",
    );
    found(
        &[
            &format!("git clone {U}"),
            "$CI_PROJECT_DIR/tools/install.sh",
        ],
        "$CI_PROJECT_DIR/tools/install.sh",
    );
    found(
        &[
            &format!("git clone {U} \"$CI_PROJECT_DIR/tools\""),
            "./tools/i",
        ],
        "./tools/i",
    );
    found(
        &[
            &format!("git clone {U} /opt/tools"),
            "cd /opt/tools",
            "make",
        ],
        "make",
    );
    found(
        &[
            &format!("git clone {U}"),
            "cd tools",
            "cd scripts",
            "./run.sh",
        ],
        "./run.sh",
    );
    found(
        &[
            &format!("git clone {U}"),
            "pushd tools",
            "pushd sub",
            "popd",
            "make",
        ],
        "make",
    );
    found(
        &[
            "cd vendor",
            &format!("git clone {U}"),
            "cd ..",
            "./vendor/tools/i",
        ],
        "./vendor/tools/i",
    );
    found(
        &[
            &format!("git clone --reference-if-able /cache/x {U}"),
            "./tools/i",
        ],
        "./tools/i",
    );
    found(
        &[&format!("git clone {U}"), "cd tools", "cargo check"],
        "cargo",
    );
    found(
        &[
            &format!("git clone {U}"),
            "cd tools",
            "python3 -m pip install .",
        ],
        "python3",
    );
    assert_eq!(
        runs(&[&format!("git clone {U}"), "./tools/a", "./tools/b"]).len(),
        1,
        "one finding per clone"
    );
}

#[test]
fn pins_that_do_not_pin() {
    found(
        &[
            &format!("git clone {U}"),
            "git -C tools checkout v1.2.3 -- README.md",
            "./tools/x",
        ],
        "./tools/x",
    );
    found(
        &[
            &format!("git clone {U}"),
            "git -C tools reset v1.2.3",
            "./tools/x",
        ],
        "./tools/x",
    );
    found(
        &[
            &format!("git clone --branch v1.2.3 {U}"),
            "cd tools && git checkout main && make",
        ],
        "make",
    );
    found(
        &[
            &format!("git clone {U}"),
            "cd tools",
            "git checkout v1.2.3 && git pull origin main",
            "make",
        ],
        "make",
    );
    found(
        &[
            &format!("git clone {U}"),
            "cd tools",
            "git checkout 0123abcd",
            "git checkout -",
            "make",
        ],
        "make",
    );
    found(
        &[&format!("git clone --branch 3.12 {U}"), "./tools/x"],
        "./tools/x",
    );
    found(
        &[&format!("git clone --branch 2.0-dev {U}"), "./tools/x"],
        "./tools/x",
    );
    found(
        &[
            &format!("git clone --branch v1.0.0 {U}"),
            "git -C tools checkout $CI_DEFAULT_BRANCH",
            "./tools/x",
        ],
        "./tools/x",
    );
    assert_eq!(
        runs_with(
            &[&format!("git clone --branch $BR {U}"), "./tools/x"],
            &[("BR", "main")],
            usize::MAX
        )
        .len(),
        1,
        "the job's env says the variable is a branch"
    );
}

#[test]
fn pinned_or_unrun_clones_are_not_reported() {
    for lines in [
        vec![
            format!("git clone --branch v2.1.0 {U}"),
            "./tools/x.sh".into(),
        ],
        vec![
            format!("git clone --branch openssl-3.0.12 {U}"),
            "./tools/x.sh".into(),
        ],
        vec![
            format!("git clone --revision=0123456789abcdef {U}"),
            "./tools/x.sh".into(),
        ],
        vec![
            format!("git clone {U}"),
            "git -C tools checkout 0123abcd".into(),
            "./tools/x.sh".into(),
        ],
        vec![
            format!("git clone {U}"),
            "git -C tools checkout tags/v1.2.3 -b build".into(),
            "./tools/x.sh".into(),
        ],
        vec![
            format!("git clone {U}"),
            "git -C tools -c advice.detachedHead=false checkout refs/tags/v1.2.3".into(),
            "./tools/x".into(),
        ],
        vec![
            format!("git clone {U}"),
            "cd tools".into(),
            "git reset --hard $PINNED".into(),
            "make".into(),
        ],
        vec![
            format!("git clone {U}"),
            "git -C tools fetch --depth 1 origin 0123456789abcdef0123456789abcdef01234567".into(),
            "git -C tools checkout FETCH_HEAD".into(),
            "make -C tools".into(),
        ],
        vec![
            format!("git clone {U}"),
            "ls tools".into(),
            "cat tools/README".into(),
        ],
        vec![
            format!("git clone {U}"),
            "cd tools".into(),
            "cd ..".into(),
            "make".into(),
        ],
        vec![
            format!("git clone {U}"),
            "cd tools".into(),
            "popd".into(),
            "./x.sh".into(),
        ],
        vec![
            format!("git clone {U}"),
            "(cd tools && git log -1)".into(),
            "make".into(),
        ],
        vec![
            format!("git clone {U}"),
            "make tools".into(),
            "npm install tools".into(),
            "pip install tools".into(),
        ],
        vec![
            format!("git clone {U}"),
            "cd tools".into(),
            ". $HOME/.cargo/env".into(),
            "source ~/.profile".into(),
        ],
        vec![
            format!("git clone {U}"),
            "cd tools".into(),
            "python3 -m json.tool x".into(),
        ],
        vec![format!("git clone {U}"), "cd tools/../build && make".into()],
        vec![
            "mkdir -p build && cd build".into(),
            format!("git clone {U}"),
            "cd ..".into(),
            "./tools/install.sh".into(),
        ],
        vec![format!("git clone {U} ."), "make".into()],
    ] {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        not_found(&lines);
    }
    assert_eq!(
        runs_with(
            &[
                &format!("git clone {U}"),
                "cd tools",
                "git log -1",
                "make clean"
            ],
            &[],
            3
        ),
        vec![],
        "after_run starts in the project folder"
    );
    assert_eq!(
        runs_with(
            &[&format!("git clone --branch $TAG {U}"), "./tools/x"],
            &[("TAG", "v1.4.0")],
            usize::MAX
        ),
        vec![]
    );
}

#[test]
fn release_tags() {
    for tag in [
        "v1.2.3",
        "1.2.3",
        "v3.12",
        "1.2.3-rc.1",
        "openssl-3.0.12",
        "jq-1.7.1",
        "v1.2.3+build",
        "vault-1.15.2",
    ] {
        assert!(is_release_tag(tag), "{tag}");
    }
    for branch in [
        "main",
        "3.12",
        "1.x",
        "v1",
        "stable",
        "release-1",
        "2.0-dev",
        "v1.x",
    ] {
        assert!(!is_release_tag(branch), "{branch}");
    }
}

#[test]
fn folders_resolve() {
    let root = Some(String::new());
    assert_eq!(resolve(&root, "./a/b/").as_deref(), Some("a/b"));
    assert_eq!(resolve(&Some("a".into()), "../b").as_deref(), Some("b"));
    assert_eq!(resolve(&root, ".."), None);
    assert_eq!(resolve(&root, "/opt/x/../y").as_deref(), Some("/opt/y"));
    assert_eq!(resolve(&None, "a"), None);
    assert_eq!(resolve(&None, "$CI_PROJECT_DIR/a").as_deref(), Some("a"));
    assert_eq!(resolve(&root, "$HOME/a"), None);
    assert_eq!(resolve(&root, "~/a"), None);
}
