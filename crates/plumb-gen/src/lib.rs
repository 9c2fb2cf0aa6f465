//! Generates realistic Plumb workspaces of a given size: a `common.plumb` with lets,
//! secrets and templates, and files of pipelines that import it, with template
//! instantiations (one job in five from two templates), matrices, secrets bound in
//! `env`, pinned images, `needs` chains, conditions, block-string scripts, `after_run`
//! and environment records. Every generated workspace checks clean and
//! compiles to every target without a warning (no `artifacts`, `cache` or `resources`,
//! which some targets cannot carry), so benchmarks measure the full path, not reporting.
//!
//! Used by the benchmarks (`cargo bench`) and by tests; `plumb` itself does not expose it.
//! [`random`] makes small random programs for property tests.

pub mod random;

/// One generated file: a path relative to the workspace root, and its text.
pub struct GenFile {
    pub path: String,
    pub text: String,
}

const IMAGES: &[&str] = &[
    "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91",
    "golang:1.22.5@sha256:8c8c5c0b4b1a5d2c7d0e6b3d1f9c0a7e4b2d6f8a1c3e5b7d9f0a2c4e6b8d0f1a",
    "node:20.17.0-alpine@sha256:545ea538461003efdc8c81c244531b003f6f26cfccf6c0073b3239fdedf49446",
];

/// Jobs per stage, and stages per pipeline, of the generated pipelines.
const JOBS_PER_STAGE: usize = 10;
const STAGES_PER_PIPELINE: usize = 5;

/// A workspace of about `jobs` jobs spread over `files` pipeline files (plus
/// `common.plumb`).
pub fn workspace(jobs: usize, files: usize) -> Vec<GenFile> {
    let files = files.max(1);
    let per_file = jobs.div_ceil(files);
    let mut out = vec![GenFile {
        path: "common.plumb".to_string(),
        text: common(),
    }];
    for f in 0..files {
        out.push(GenFile {
            path: format!("pipelines/p{f:04}.plumb"),
            text: pipeline_file(f, per_file),
        });
    }
    out
}

fn common() -> String {
    let mut s = String::from("# shared images, secrets and templates\n");
    s.push_str(&format!("let go: Image = \"{}\"\n", IMAGES[1]));
    s.push_str(&format!("let node: Image = \"{}\"\n", IMAGES[2]));
    s.push_str(&format!("let tools: Image = \"{}\"\n\n", IMAGES[0]));
    s.push_str("secret deploy_token = ci_variable(\"DEPLOY_TOKEN\")\n");
    s.push_str("secret registry_pw = vault(\"ci/data/registry\", \"password\")\n\n");
    s.push_str(
        r#"template go_test(pkg: String, image: Image = go) {
  image   = image
  run     = ["go vet ${pkg}", "go test -race ${pkg}"]
  timeout = 20m
  retry   = 1
}

template traced() {
  after_run     = ["./ci/collect-logs.sh"]
  if_previous   = "success"
}

template npm(script: String) {
  image   = node
  run     = """
    npm ci --prefer-offline
    npm run ${script}
  """
  allow_failure = false
  timeout = 15m
}
"#,
    );
    s
}

/// One file: pipelines of `STAGES_PER_PIPELINE` stages of `JOBS_PER_STAGE` jobs.
fn pipeline_file(f: usize, jobs: usize) -> String {
    let mut s = format!("# generated pipelines, file {f}\nimport \"../common.plumb\"\n\n");
    let per_pipeline = JOBS_PER_STAGE * STAGES_PER_PIPELINE;
    let mut left = jobs;
    let mut p = 0;
    while left > 0 {
        let n = left.min(per_pipeline);
        s.push_str(&pipeline(f, p, n));
        left -= n;
        p += 1;
    }
    s
}

fn pipeline(f: usize, p: usize, jobs: usize) -> String {
    let mut s = format!("pipeline svc{f}_{p} {{\n  on  = branch == \"main\" || tag\n  env = {{ SERVICE = \"svc{f}-{p}\", GOFLAGS = \"-mod=readonly\" }}\n\n");
    let mut made = 0;
    let mut stage = 0;
    while made < jobs {
        let after = if stage > 0 {
            format!(" after s{}", stage - 1)
        } else {
            String::new()
        };
        s.push_str(&format!("  stage s{stage}{after} {{\n"));
        for j in 0..JOBS_PER_STAGE.min(jobs - made) {
            let name = format!("j{stage}_{j}");
            let needs = if stage > 0 {
                format!("needs = [j{}_{j}]", stage - 1)
            } else {
                String::new()
            };
            let job = match (j + stage) % 5 {
                0 => format!("    job {name} from go_test(pkg = \"./svc{f}/m{j}/...\"), traced() {{ {needs} }}\n"),
                1 => format!("    job {name} from npm(script = \"test:{j}\") {{ matrix = {{ NODE_ENV = [\"test\", \"ci\"] }}{} }}\n", if needs.is_empty() { String::new() } else { format!(", {needs}") }),
                2 => format!(
                    "    job {name} {{\n      image = tools\n      env   = {{ TOKEN = deploy_token, REGISTRY_PASSWORD = registry_pw }}\n      run   = [\"echo \\\"$REGISTRY_PASSWORD\\\" | docker login -u ci --password-stdin registry.example.com\", \"./deploy.sh svc{f} {j}\"]\n      {needs}\n    }}\n"
                ),
                3 => format!(
                    "    job {name} {{\n      image     = \"{}\"\n      run       = \"\"\"\n        cd svc{f}/m{j}\n        make lint\n        make build\n      \"\"\"\n      environment = {{ name = \"staging\", url = \"https://svc{f}.staging.example.com\" }}\n      {needs}\n    }}\n",
                    IMAGES[j % IMAGES.len()]
                ),
                _ => format!("    job {name} {{ image = go, run = [\"go run ./tools/check {j}\"], timeout = 5m, {needs} }}\n"),
            };
            s.push_str(&job);
            made += 1;
        }
        s.push_str("  }\n");
        stage += 1;
    }
    s.push_str("}\n\n");
    s
}

/// The byte offset of a spot inside one job's script in `text` (for one-character
/// edits in benchmarks): the first `make lint` of the file.
pub fn edit_point(text: &str) -> Option<usize> {
    text.find("make lint").map(|i| i + "make ".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let ws = workspace(5_000, 100);
        assert_eq!(ws.len(), 101);
        let jobs: usize = ws
            .iter()
            .map(|f| f.text.matches("\n    job ").count())
            .sum();
        assert_eq!(jobs, 5_000);
        let bytes: usize = ws.iter().map(|f| f.text.len()).sum();
        assert!(bytes > 800_000, "{bytes} bytes");
    }
}
