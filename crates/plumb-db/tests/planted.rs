//! Precision and recall on a generated corpus: 200 realistic jobs, with problems of
//! every graph, image, credential and supply-chain kind planted at known places. Every planted
//! problem must be found at its exact span, and nothing else may be reported.

use plumb_config::Config;
use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;
use std::collections::BTreeSet;
use std::path::PathBuf;

const PINNED: &str =
    "\"busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91\"";
const HEX: &str = "545ea538461003efdc8c81c244531b003f6f26cfccf6c0073b3239fdedf49446";

#[derive(Default)]
struct Corpus {
    text: String,
    planted: BTreeSet<(&'static str, usize, usize)>,
    jobs: usize,
}

impl Corpus {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    /// Appends `s` and records that `code` must be reported exactly on it.
    fn mark(&mut self, code: &'static str, s: &str) -> &mut Self {
        let start = self.text.len();
        self.text.push_str(s);
        self.planted.insert((code, start, start + s.len()));
        self
    }
    fn job(&mut self, name: &str) -> &mut Self {
        self.jobs += 1;
        self.push(&format!("    job {name} {{ "))
    }
    fn clean_job(&mut self, name: &str, extra: &str) {
        self.job(name).push(&format!(
            "image = {PINNED}, run = [\"make {name}\"]{extra} }}\n"
        ));
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
    Some("PL3005"),
    Some("PL4001"),
    Some("PL4002"),
    Some("PL4003"),
    None,
    Some("PL4004"),
    Some("PL4005"),
    Some("PL4006"),
    Some("PL4007"),
    Some("PL2001"),
    None,
    Some("PL2003"),
    Some("PL2004"),
    Some("PL2005"),
    Some("PL6001"),
    Some("PL6002"),
    None,
    Some("PL6003"),
    Some("PL6003-clone"),
    Some("PL6005"),
    Some("PL6006"),
    Some("PL6007"),
];

fn plant(c: &mut Corpus, kind: Option<&str>, name: &str) {
    let secret_job = |c: &mut Corpus, var: &str| {
        c.push(&format!(
            "image = {PINNED}, when = branch == \"main\", env = {{ {var} = tok }}, "
        ));
    };
    match kind {
        None => c.clean_job(name, ""),
        Some("PL3001") => {
            c.job(name)
                .push("image = ")
                .mark("PL3001", "\"ubuntu\"")
                .push(", run = [\"true\"] }\n");
        }
        Some("PL3002") => {
            c.job(name)
                .push("image = \"node:")
                .mark("PL3002", "latest")
                .push("\", run = [\"npm test\"] }\n");
        }
        Some("PL3003") => {
            c.job(name)
                .push("image = ")
                .mark("PL3003", "\"python:3.12.4\"")
                .push(", run = [\"pytest\"] }\n");
        }
        Some("PL3004") => {
            c.job(name)
                .push("image = \"alpine:3.20@sha256:")
                .mark("PL3004", "abc123")
                .push("\", run = [\"true\"] }\n");
        }
        Some("PL3005") => {
            c.job(name)
                .push("image = \"")
                .mark("PL3005", "ghcr.io")
                .push(&format!(
                    "/acme/tool:1.0@sha256:{HEX}\", run = [\"tool\"] }}\n"
                ));
        }
        Some("PL4001") => {
            c.job(name)
                .push(&format!("image = {PINNED}, env = {{ API_TOKEN = \""));
            c.mark("PL4001", "ghp_0123456789abcdefghijklmnopqrstuvwxyz")
                .push("\" }, run = [\"./call-api\"] }\n");
        }
        Some("PL4002") => {
            c.job(name)
                .push(&format!("image = {PINNED}, run = [\"deploy "))
                .mark("PL4002", "${tok}")
                .push("\"] }\n");
        }
        Some("PL4003") => {
            c.job(name);
            secret_job(c, "T");
            c.push("run = [\"echo token: ")
                .mark("PL4003", "$T")
                .push("\"] }\n");
        }
        Some("PL4004") => {
            c.job(name);
            secret_job(c, "T");
            c.push("run = [\"curl -u ci:")
                .mark("PL4004", "$T")
                .push(" https://api.example.com\"] }\n");
        }
        Some("PL4005") => {
            // one finding at the unpinned image, the cause (the secret is its label)
            c.job(name).push("image = ");
            let start = c.text.len();
            c.mark("PL3003", "\"alpine:3.20\"");
            c.planted.insert(("PL4005", start, c.text.len()));
            c.push(", when = branch == \"main\", env = { T = tok }, run = [\"./deploy\"] }\n");
        }
        Some("PL4006") => {
            c.job(name)
                .push(&format!("image = {PINNED}, env = {{ "))
                .mark("PL4006", "T")
                .push(" = tok }, run = [\"./deploy\"] }\n");
        }
        Some("PL4007") => {
            c.job(name);
            secret_job(c, "T");
            c.push("artifacts = [\"out/\"], run = [\"echo $T > ")
                .mark("PL4007", "out/t.txt")
                .push("\", \"make\"] }\n");
        }
        Some("PL2001") => {
            c.job(&format!("{name}a"))
                .push(&format!("image = {PINNED}, run = [\"make\"], needs = ["));
            c.mark("PL2001", &format!("{name}b")).push("] }\n");
            c.clean_job(&format!("{name}b"), &format!(", needs = [{name}a]"));
        }
        Some("PL2003") => {
            // `anchor` is in the stage after this one
            c.job(name)
                .push(&format!("image = {PINNED}, run = [\"make\"], needs = ["))
                .mark("PL2003", "anchor")
                .push("] }\n");
        }
        Some("PL2004") => {
            c.job(name)
                .push(&format!("image = {PINNED}, run = [\"make\"], needs = ["))
                .mark("PL2004", name)
                .push("] }\n");
        }
        Some("PL2005") => {
            // `gate` runs only for tags, this job for every event
            c.job(name)
                .push(&format!("image = {PINNED}, run = [\"make\"], needs = ["))
                .mark("PL2005", "gate")
                .push("] }\n");
        }
        Some(kind) if kind.starts_with("PL6") => plant_supply_chain(c, kind, name),
        Some(other) => unreachable!("{other}"),
    }
}

/// The supply-chain kinds (PL6xxx). PL6004 (a pipeline's `include`) is planted in a file
/// of its own (`unpinned_includes_are_found_and_nothing_else`): an `include` is refused
/// in a file with several pipelines, which this corpus is.
fn plant_supply_chain(c: &mut Corpus, kind: &str, name: &str) {
    c.job(name).push(&format!("image = {PINNED}, "));
    match kind {
        "PL6001" => {
            c.push("run = [\"eval \\\"")
                .mark("PL6001", "$CI_MERGE_REQUEST_TITLE")
                .push("\\\"\"] }\n");
        }
        "PL6002" => {
            c.push("run = [\"curl -fsSL https://get.example.com/install.sh | ")
                .mark("PL6002", "bash")
                .push("\"] }\n");
        }
        "PL6003" => {
            c.push("run = [\"go install ")
                .mark("PL6003", "golang.org/x/tools/cmd/goimports@latest")
                .push("\"] }\n");
        }
        "PL6003-clone" => {
            c.push("run = [\"git clone --depth 1 ")
                .mark("PL6003", "https://gitlab.com/someone/helpers.git")
                .push(" h\", \"cd h\", \"make install\"] }\n");
        }
        "PL6005" => {
            c.push("run = [\"docker run ")
                .mark("PL6005", "--privileged")
                .push(" builder:1 make\"] }\n");
        }
        "PL6006" => {
            c.push("when = branch == \"main\", env = { T = tok, CI_DEBUG_TRACE = ")
                .mark("PL6006", "\"true\"")
                .push(" }, run = [\"./deploy\"] }\n");
        }
        "PL6007" => {
            c.push("run = [\"echo ")
                .mark("PL6007", "\u{202E}")
                .push("done\"] }\n");
        }
        other => unreachable!("{other}"),
    }
}

fn generate() -> Corpus {
    let mut c = Corpus::default();
    c.push("secret tok = ci_variable(\"DEPLOY_TOKEN\")\n\n");
    let mut k = 0;
    for p in 0.. {
        if c.jobs >= 200 {
            break;
        }
        c.push(&format!(
            "pipeline p{p} {{\n  on = branch == \"main\" || merge_request || tag\n"
        ));
        c.push("  stage gates {\n");
        c.clean_job("gate", ", when = tag");
        c.push("  }\n  stage work after gates {\n");
        for j in 0..9 {
            plant(&mut c, KINDS[k % KINDS.len()], &format!("j{j}"));
            k += 1;
        }
        c.push("  }\n  stage last after work {\n");
        c.clean_job("anchor", "");
        c.push("  }\n}\n\n");
        if p % 4 == 3 {
            // a stage cycle: `a` waits for `b`, `b` follows `a` by declaration order
            c.push(&format!("pipeline cyc{p} {{\n  stage a after "));
            c.mark("PL2002", "b").push(" {\n");
            c.clean_job("x", "");
            c.push("  }\n  stage b {\n");
            c.clean_job("y", "");
            c.push("  }\n}\n\n");
        }
    }
    c
}

/// What a check of `text` reports: (code, start, end) of each diagnostic.
fn found_in(path: &str, text: &str, config: Config) -> BTreeSet<(&'static str, usize, usize)> {
    let db = Database::default();
    let file = plumb_db::new_file(
        &db,
        FileId(0),
        PathBuf::from(path),
        text.to_string(),
        Origin::Disk,
    );
    let ws = plumb_db::new_workspace(&db, vec![file], config);
    plumb_db::check_file(&db, ws, file)
        .iter()
        .map(|d| {
            (
                d.code.as_str(),
                d.primary.at.range.start as usize,
                d.primary.at.range.end as usize,
            )
        })
        .collect()
}

#[test]
fn every_planted_problem_is_found_and_nothing_else() {
    let corpus = generate();
    assert!(corpus.jobs >= 200, "{} jobs", corpus.jobs);
    let codes: BTreeSet<&str> = corpus.planted.iter().map(|p| p.0).collect();
    for code in [
        "PL2001", "PL2002", "PL2003", "PL2004", "PL2005", "PL3001", "PL3002", "PL3003", "PL3004",
        "PL3005",
    ] {
        assert!(codes.contains(code), "{code} not planted");
    }
    for code in [
        "PL4001", "PL4002", "PL4003", "PL4004", "PL4005", "PL4006", "PL4007", "PL6001", "PL6002",
        "PL6003", "PL6005", "PL6006", "PL6007",
    ] {
        assert!(codes.contains(code), "{code} not planted");
    }

    let config = Config::parse(
        "[images]\nallowed_registries = [\"docker.io\", \"registry.example.com\"]\n",
        |_| true,
    )
    .expect("config");
    let found = found_in("/corpus/main.plumb", &corpus.text, config);

    let show = |set: &BTreeSet<(&'static str, usize, usize)>| {
        set.iter()
            .map(|(c, s, e)| format!("{c} {:?}", &corpus.text[*s..*e]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missed: BTreeSet<_> = corpus.planted.difference(&found).copied().collect();
    let extra: BTreeSet<_> = found.difference(&corpus.planted).copied().collect();
    assert!(
        missed.is_empty(),
        "recall below 100%: missed {}",
        show(&missed)
    );
    assert!(
        extra.is_empty(),
        "precision below 100%: also reported {}",
        show(&extra)
    );
    assert!(
        corpus.planted.len() > 120,
        "only {} problems planted",
        corpus.planted.len()
    );
}

/// PL6004 among pinned includes: every moving include found at its literal, the pinned
/// ones (exact versions, commits, tags, checksums, GitLab's own templates) not.
#[test]
fn unpinned_includes_are_found_and_nothing_else() {
    let mut c = Corpus::default();
    c.push("pipeline p {\n  include = [\n");
    let entries: &[(Option<&str>, &str, &str)] = &[
        (Some("\"gitlab.example.com/ci/lint/go@~latest\""), "component(", ")"),
        (None, "component(\"gitlab.example.com/ci/lint/go@1.4.2\"", ")"),
        (Some("\"gitlab.example.com/ci/deploy/helm@1.2\""), "component(", ")"),
        (None, "component(\"gitlab.example.com/ci/deploy/helm@0123456789abcdef0123456789abcdef01234567\"", ")"),
        (Some("\"platform/templates\""), "project(", ", file = \"ci/a.yml\")"),
        (None, "project(\"platform/templates\", file = \"ci/b.yml\", ref = \"v2.3.1\"", ")"),
        (Some("\"main\""), "project(\"platform/other\", file = \"ci/c.yml\", ref = ", ")"),
        (Some("\"https://example.com/ci/extra.yml\""), "remote(", ")"),
        (None, &format!("remote(\"https://example.com/ci/ok.yml\", sha256 = \"{HEX}\""), ")"),
        (None, "template(\"Jobs/SAST.gitlab-ci.yml\"", ")"),
    ];
    for (planted, before, after) in entries {
        c.push("    ").push(before);
        if let Some(literal) = planted {
            c.mark("PL6004", literal);
        }
        c.push(after).push(",\n");
    }
    c.push("  ]\n  stage s {\n");
    for j in 0..20 {
        c.clean_job(&format!("j{j}"), "");
    }
    c.push("  }\n}\n");
    let found = found_in("/corpus/includes.plumb", &c.text, Config::default());
    assert_eq!(c.planted.len(), 5);
    assert_eq!(found, c.planted, "{}", c.text);
}
