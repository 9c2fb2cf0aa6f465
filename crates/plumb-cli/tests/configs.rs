//! `plumb.toml` per project: each file is checked with the `plumb.toml` found from its
//! own folder upward, whatever paths `plumb check` is given (issue #14: the first path's
//! `plumb.toml` used to apply to every file).

mod common;
use common::{plumb_in, scratch};

const LATEST: &str = "pipeline p { stage s { job j { image = \"alpine\", run = [\"x\"] } } }\n";

fn codes_by_file(json: &[u8]) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(json).expect("json");
    let mut out: Vec<(String, String)> = v
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn each_project_of_a_monorepo_keeps_its_own_plumb_toml() {
    let repo = scratch("monorepo");
    for (project, toml) in [
        ("api", Some("[lint]\nallow = [\"PL3001\"]\n")),
        ("web", Some("[lint]\nwarn = [\"PL3001\"]\n")),
        ("tools", None),
    ] {
        let dir = repo.join(project);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("ci.plumb"), LATEST).expect("write");
        if let Some(toml) = toml {
            std::fs::write(dir.join("plumb.toml"), toml).expect("write");
        }
    }
    let expected = vec![
        ("tools/ci.plumb".to_string(), "PL3001".to_string()),
        ("web/ci.plumb".to_string(), "PL3001".to_string()),
    ];
    // the same answer from the root, and with the projects in any order
    for args in [
        vec!["."],
        vec!["api", "web", "tools"],
        vec!["tools", "web", "api"],
    ] {
        let mut all = vec!["check", "--format", "json"];
        all.extend(args.iter().copied());
        let o = plumb_in(&repo, &all);
        let found: Vec<(String, String)> = codes_by_file(&o.stdout)
            .into_iter()
            .map(|(f, c)| (f.trim_start_matches("./").to_string(), c))
            .collect();
        assert_eq!(found, expected, "plumb {all:?}");
        // web's PL3001 is a warning there, tools' an error: exit 1 for the error
        assert_eq!(o.status.code(), Some(1), "plumb {all:?}");
    }
    let o = plumb_in(&repo, &["check", "api", "web"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // a broken plumb.toml in one project is reported, whichever path names it
    std::fs::write(repo.join("web/plumb.toml"), "[lint]\nwarn = 3\n").expect("write");
    let o = plumb_in(&repo, &["check", "api", "web"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("web/plumb.toml"));
}
