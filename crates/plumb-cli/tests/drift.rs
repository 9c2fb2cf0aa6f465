//! `plumb build --check`: unchanged output passes, hand-edited or missing output fails
//! with a diff, for files and folders.

mod common;
use common::{plumb, scratch};

#[test]
fn a_file_that_matches_passes_and_a_hand_edit_fails_with_a_diff() {
    for target in ["gitlab", "k8s"] {
        let dir = scratch(target);
        let out = dir.join("out.yml");
        let o = out.to_string_lossy().into_owned();
        assert!(plumb(&["build", "examples", "--target", target, "-o", &o])
            .status
            .success());
        let unchanged = plumb(&["build", "examples", "--target", target, "-o", &o, "--check"]);
        assert_eq!(
            unchanged.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&unchanged.stderr)
        );
        assert!(unchanged.stdout.is_empty());
        let text = std::fs::read_to_string(&out).expect("read");
        std::fs::write(&out, text.replacen("image: ", "image:  ", 1)).expect("edit");
        let edited = plumb(&["build", "examples", "--target", target, "-o", &o, "--check"]);
        assert_eq!(edited.status.code(), Some(1));
        let diff = String::from_utf8_lossy(&edited.stdout);
        assert!(
            diff.contains("--- a/") && diff.contains("+++ b/") && diff.contains("@@"),
            "{diff}"
        );
        assert!(
            diff.lines()
                .any(|l| l.starts_with("-") && l.contains("image:  ")),
            "{diff}"
        );
        let said = String::from_utf8_lossy(&edited.stderr);
        assert!(said.contains("without --check"), "{said}");
        // the sentence names the output, then says it differs
        assert!(said.contains(&format!("in `{o}` differ")), "{said}");
        // --check never writes
        assert!(std::fs::read_to_string(&out)
            .expect("read")
            .contains("image:  "));
    }
}

#[test]
fn missing_output_fails() {
    let dir = scratch("missing");
    let o = dir.join("nothing.yml").to_string_lossy().into_owned();
    let r = plumb(&[
        "build", "examples", "--target", "gitlab", "-o", &o, "--check",
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("does not exist"));
    assert!(!dir.join("nothing.yml").exists());
    let folder = dir.join("deploy").to_string_lossy().into_owned();
    let r = plumb(&[
        "build", "examples", "--target", "gitops", "-o", &folder, "--check",
    ]);
    assert_eq!(r.status.code(), Some(1));
}

#[test]
fn a_folder_with_a_stale_or_edited_file_fails() {
    let dir = scratch("folder");
    let deploy = dir.join("deploy");
    let d = deploy.to_string_lossy().into_owned();
    assert!(
        plumb(&["build", "examples", "--target", "gitops", "-o", &d])
            .status
            .success()
    );
    assert_eq!(
        plumb(&["build", "examples", "--target", "gitops", "-o", &d, "--check"])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(deploy.join("apps/web/base/extra.yaml"), "kind: ConfigMap\n").expect("stale");
    let stale = plumb(&[
        "build", "examples", "--target", "gitops", "-o", &d, "--check",
    ]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stdout).contains("+++ /dev/null"));
    std::fs::remove_file(deploy.join("apps/web/base/extra.yaml")).expect("rm");
    std::fs::remove_file(deploy.join("README.md")).expect("rm");
    let missing = plumb(&[
        "build", "examples", "--target", "gitops", "-o", &d, "--check",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("--- /dev/null"));
}
