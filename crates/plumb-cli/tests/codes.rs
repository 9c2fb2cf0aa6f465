//! Every code in the one table of codes (`plumb_diagnostics::Code::ALL`) is a rule of the
//! registry, with its documentation, its `plumb explain` page and its line in `plumb
//! rules`. Diagnostics can only carry a `Code` of that table, so this covers every code
//! any crate can report.

mod common;
use common::plumb;
use plumb_diagnostics::Code;

#[test]
fn every_code_is_documented_explained_and_listed() {
    let registry: Vec<Code> = plumb_checks::RULES.iter().map(|r| r.meta().code).collect();
    assert_eq!(
        registry,
        Code::ALL,
        "the registry lists every code once, in order"
    );
    let rules = plumb(&["rules"]);
    assert!(rules.status.success());
    let listed = String::from_utf8_lossy(&rules.stdout);
    for code in Code::ALL {
        let meta = plumb_checks::lookup(code).expect("a rule");
        assert!(
            !meta.summary.is_empty() && !meta.explanation.is_empty(),
            "{code} is undocumented"
        );
        assert!(
            listed
                .lines()
                .any(|l| l.contains(code.as_str()) && l.contains(code.name())),
            "`plumb rules` does not list {code}"
        );
        let explained = plumb(&["explain", code]);
        assert!(explained.status.success(), "plumb explain {code}");
        let page = String::from_utf8_lossy(&explained.stdout);
        assert!(
            page.starts_with(&format!("{code} {}:", code.name())),
            "{page}"
        );
        assert!(page.contains(&format!("Default severity: {}", code.default_severity())));
    }
}
