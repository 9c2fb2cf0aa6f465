//! The examples in every rule's documentation (what `plumb explain` prints) are
//! checked: the failing one reports the rule's code, the fixed one does not.
//!
//! An example may hold several files: a line `# NAME.plumb` starts a new file (the text
//! before the first such line is `main.plumb`), and a line `# plumb.toml: KEY = VALUE`
//! sets configuration.

mod common;

use plumb_config::Config;
use plumb_db::{Database, Origin};
use std::path::Path;

fn codes_of(example: &str) -> Vec<plumb_diagnostics::Code> {
    let mut files: Vec<(String, String)> = vec![("main.plumb".to_string(), String::new())];
    let mut config_text = String::new();
    for line in example.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("# plumb.toml:") {
            config_text.push_str(rest.trim());
            config_text.push('\n');
        } else if let Some(name) = trimmed
            .strip_prefix("# ")
            .filter(|n| n.ends_with(".plumb") && !n.contains(' '))
        {
            files.push((name.to_string(), String::new()));
        } else {
            let last = files.last_mut().expect("at least main");
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    if files[0].1.trim().is_empty() && files.len() > 1 {
        files.remove(0);
    }
    let config = Config::parse(&config_text, |_| true).expect("example config");
    let db = Database::default();
    let (ws, sources) = common::load(&db, Path::new("/example"), &files, Origin::Disk, config);
    sources
        .iter()
        .flat_map(|f| {
            plumb_db::check_file(&db, ws, *f)
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn failing_examples_report_their_rule_and_fixed_ones_do_not() {
    let mut problems = Vec::new();
    // PL5xxx are reported by `plumb build`; the build tests check their examples
    for rule in plumb_checks::RULES
        .iter()
        .filter(|r| !r.meta().code.starts_with("PL5"))
    {
        let meta = rule.meta();
        let bad = codes_of(meta.bad);
        if !bad.contains(&meta.code) {
            problems.push(format!(
                "{}: the failing example reports {bad:?}",
                meta.code
            ));
        }
        let good = codes_of(meta.good);
        if good.contains(&meta.code) {
            problems.push(format!("{}: the fixed example still reports it", meta.code));
        }
        if good
            .iter()
            .any(|c| c.starts_with("PL0") || c.starts_with("PL1"))
        {
            problems.push(format!(
                "{}: the fixed example has syntax, name or type errors: {good:?}",
                meta.code
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_is_documented() {
    let mut seen = std::collections::HashSet::new();
    for rule in plumb_checks::RULES {
        let m = rule.meta();
        assert!(seen.insert(m.code), "{} is registered twice", m.code);
        assert!(m.code.len() == 6 && m.code.starts_with("PL"), "{}", m.code);
        assert!(
            m.explanation.len() > 150,
            "{} has a thin explanation",
            m.code
        );
        assert!(!m.summary.is_empty() && !m.name().is_empty());
        assert_eq!(plumb_checks::lookup(&m.code).map(|x| x.code), Some(m.code));
        assert_eq!(plumb_checks::lookup(m.name()).map(|x| x.code), Some(m.code));
    }
    for code in [
        "PL0001", "PL1001", "PL1008", "PL2001", "PL2005", "PL3001", "PL3005", "PL4001", "PL4007",
    ] {
        assert!(
            plumb_checks::lookup(code).is_some(),
            "{code} missing from the registry"
        );
    }
}
