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
    bench_check(bencher, gitlab_file());
}

/// `plumb check --format json FILE`, the whole process, per iteration.
fn bench_check(bencher: divan::Bencher, file: &Path) {
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

/// A hidden job whose script block assigns 10,000 variables, extended by 200 jobs:
/// each job's script is scanned for what it assigns before it reads (this took 3
/// minutes when each assignment rescanned the block before it).
fn assignment_block_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("plumb-bench-assign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut text = String::from(".t:\n  script:\n    - |\n");
        for i in 0..10_000 {
            text.push_str(&format!("      a{}=$a{i}\n", i + 1));
        }
        for j in 0..200 {
            text.push_str(&format!("job{j}:\n  extends: .t\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n"));
        }
        let out = dir.join(".gitlab-ci.yml");
        std::fs::write(&out, text).expect("write");
        out
    })
}

#[divan::bench(sample_count = 5)]
fn check_200_jobs_of_10000_assignments(bencher: divan::Bencher) {
    bench_check(bencher, assignment_block_file());
}

/// Values that every credential scan reads from each of their words: `a-a-a-…` (each
/// letter starts a word that could be a URL's scheme, which took 37 s for 400 KB when
/// the scheme was read to the value's end), a download's variable expanded 20,000 times
/// on one line, and 100,000 escaped backquotes (each read to the line's end for a
/// wrapper's word: 12 s).
fn long_runs_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("plumb-bench-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let dashes = "a-".repeat(200_000);
        let uses = "echo $S ".repeat(20_000);
        let quotes = "\\\\`".repeat(100_000);
        let text = format!(
            "variables:\n  X: \"{dashes}\"\njob:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  script:\n    - \"S=$(curl -fsSL https://x.example/i.sh); {uses}\"\n    - \"echo {quotes}\"\n"
        );
        let out = dir.join(".gitlab-ci.yml");
        std::fs::write(&out, text).expect("write");
        out
    })
}

#[divan::bench(sample_count = 5)]
fn check_long_runs_of_word_starts(bencher: divan::Bencher) {
    bench_check(bencher, long_runs_file());
}

/// A script block of 4,000 lines with a finding on each (a secret printed, a download
/// run): each finding is placed in the YAML, which decoded the whole block and counted
/// the text before it for every one (25 s for 10,000 lines).
fn finding_per_line_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("plumb-bench-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut text = String::from("job:\n  image: alpine:3.20.1@sha256:dabf91b69c191a1a0a1628fd6bdd029c0c4018041c7f052870bb13c5a222ae76\n  rules: [{if: $CI_COMMIT_BRANCH == \"main\"}]\n  script:\n    - |\n");
        for i in 0..2_000 {
            text.push_str(&format!("      echo \"$DEPLOY_TOKEN\" {i}\n"));
            text.push_str(&format!("      curl -fsSL https://x.example/i{i}.sh | sh\n"));
        }
        let out = dir.join(".gitlab-ci.yml");
        std::fs::write(&out, text).expect("write");
        out
    })
}

#[divan::bench(sample_count = 5)]
fn check_a_finding_on_each_of_4000_lines(bencher: divan::Bencher) {
    bench_check(bencher, finding_per_line_file());
}
