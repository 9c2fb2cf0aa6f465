//! Precision on real pipelines, measured: every PL6xxx finding on the shared corpus is
//! listed, with a reviewer's verdict, in `tests/review/pl6xxx-corpus.txt`. A new finding
//! (unreviewed) or a finding the review rejects fails; so does a reviewed finding that
//! is no longer found (recall on the corpus).

mod common;
use common::{plumb_in, scratch};

use std::collections::BTreeSet;

fn findings(files: Vec<std::path::PathBuf>) -> BTreeSet<String> {
    let work = scratch("corpus-review");
    let mut found = BTreeSet::new();
    for file in files {
        let name = file
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let out = work.join(format!("{name}.plumb"));
        let o = plumb_in(
            &work,
            &[
                "import",
                &file.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
            ],
        );
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = plumb_in(
            &work,
            &["check", "--format", "json", &out.to_string_lossy()],
        );
        let diags: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
        for d in diags {
            let code = d["code"].as_str().unwrap_or_default();
            if code.starts_with("PL6") {
                found.insert(format!("{name} {code} {}", d["line"]));
            }
        }
    }
    found
}

#[test]
fn supply_chain_findings_on_the_corpus_are_the_reviewed_ones() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    let accepted: BTreeSet<String> = common::reviewed("pl6xxx-corpus.txt").into_iter().collect();
    let found = findings(files);
    let unreviewed: Vec<_> = found.difference(&accepted).collect();
    let lost: Vec<_> = accepted.difference(&found).collect();
    assert!(
        unreviewed.is_empty(),
        "findings nobody reviewed: {unreviewed:?}"
    );
    assert!(
        lost.is_empty(),
        "reviewed findings no longer found: {lost:?}"
    );
}
