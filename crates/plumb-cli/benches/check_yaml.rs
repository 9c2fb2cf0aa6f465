//! `cargo bench -p plumb-cli --bench check_yaml`: the whole `plumb check
//! .gitlab-ci.yml` process (start, read, import in memory, check, JSON out) on the
//! 5,000-job pipeline that `plumb-gen` writes and `plumb build --target gitlab`
//! compiles to one GitLab CI file of 2 MB. Spec target (issue #18): ≤ 150 ms on the
//! 2-core CI machine. The release binary is benchmarked: build it first
//! (`cargo build --release -p plumb-cli`); the bench says so when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

/// The release binary next to this bench's own build, or `PLUMB_BIN` (to compare with
/// another commit's build in the same run).
fn plumb() -> PathBuf {
    let bin = std::env::var_os("PLUMB_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/plumb"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "build the release binary first: cargo build --release -p plumb-cli"
    );
    bin
}

/// The generated workspace compiled to GitLab CI YAML, once per run.
fn gitlab_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("plumb-bench-yaml-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in plumb_gen::workspace(5_000, 100) {
            let path = dir.join("src").join(&f.path);
            std::fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
            std::fs::write(&path, f.text).expect("write");
        }
        let out = dir.join("big.gitlab-ci.yml");
        let built = Command::new(plumb())
            .args(["build", "--target", "gitlab", "-o"])
            .arg(&out)
            .arg(dir.join("src"))
            .output()
            .expect("run plumb build");
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        out
    })
}

/// Whole process, as a merge-request gate runs it.
#[divan::bench(sample_count = 20)]
fn check_5000_job_gitlab_yaml(bencher: divan::Bencher) {
    let file = gitlab_file();
    let bin = plumb();
    bencher.bench(|| {
        let o = Command::new(&bin)
            .args(["check", "--format", "json"])
            .arg(file)
            .output()
            .expect("run plumb check");
        assert!(o.status.code().is_some_and(|c| c <= 1));
        o.stdout.len()
    });
}
