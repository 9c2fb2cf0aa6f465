//! Formatting never changes what `check` reports: for generated programs with random
//! layout, `# note` comments and `# plumb-allow:` comments, the findings of the formatted
//! text are the findings of the original (same codes, severities and messages), or
//! `plumb fmt` refuses the layout (`FormatError::MovesAllowance`). The same holds for
//! every fixture. `PROPTEST_CASES` sets the number of programs (default 256); under `CI`
//! they come from a fixed seed.

mod common;

use plumb_db::{Database, Origin};
use plumb_diagnostics::FileId;
use plumb_fmt::FormatError;
use plumb_gen::random::{cases, seed_under_ci};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// What a user sees of a check, without positions (formatting moves lines).
fn findings(text: &str) -> Vec<String> {
    let db = Database::default();
    let file = plumb_db::new_file(
        &db,
        FileId(0),
        "/prop/main.plumb".into(),
        text.to_string(),
        Origin::Disk,
    );
    let ws = plumb_db::new_workspace(&db, vec![file], plumb_config::Config::default());
    let mut out: Vec<String> = plumb_db::check_file(&db, ws, file)
        .iter()
        .map(|d| format!("{} {:?} {}", d.code, d.severity, d.message))
        .collect();
    out.sort();
    out
}

/// `Ok(())` when formatting keeps the findings or refuses to move an allowance.
fn formatting_keeps_findings(src: &str) -> Result<(), String> {
    let formatted = match plumb_fmt::format(src) {
        Ok(f) => f,
        Err(FormatError::MovesAllowance { .. } | FormatError::SyntaxErrors(_)) => return Ok(()),
    };
    let (before, after) = (findings(src), findings(&formatted));
    if before == after {
        return Ok(());
    }
    Err(format!(
        "findings changed\n--- source\n{src}\n--- formatted\n{formatted}\n--- before\n{}\n--- after\n{}",
        before.join("\n"),
        after.join("\n")
    ))
}

/// `PROPTEST_CASES` programs (default 256), from a fixed seed under `CI`.
fn config() -> ProptestConfig {
    ProptestConfig {
        rng_seed: seed_under_ci().map_or(ProptestConfig::default().rng_seed, RngSeed::Fixed),
        ..ProptestConfig::with_cases(cases())
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn formatting_never_changes_the_findings(seed in 1u64..u64::MAX) {
        let src = plumb_gen::random::program(seed);
        if let Err(e) = formatting_keeps_findings(&src) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The canonical layout of `src` with an allowance for one of its own findings' codes
/// above some lines, and the indentation removed: the line structure (what each
/// allowance covers) is the formatter's, so formatting is not refused and must keep
/// exactly the findings the allowances leave.
fn with_allowances(src: &str, seed: u64) -> Option<String> {
    let canonical = plumb_fmt::format(src).ok()?;
    let codes: Vec<String> = findings(&canonical)
        .iter()
        .filter_map(|f| f.split(' ').next().map(str::to_string))
        .collect();
    if codes.is_empty() {
        return None;
    }
    let mut x = seed;
    let mut out = String::new();
    for line in canonical.lines() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if (x >> 33).is_multiple_of(3) {
            let code = &codes[((x >> 40) as usize) % codes.len()];
            out.push_str(&format!("# plumb-allow: {code} reviewed\n"));
        }
        out.push_str(line.trim_start());
        out.push('\n');
    }
    Some(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn formatting_keeps_findings_under_allowances(seed in 1u64..u64::MAX) {
        let src = plumb_gen::random::program(seed);
        if let Some(variant) = with_allowances(&src, seed) {
            if let Err(e) = formatting_keeps_findings(&variant) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}

#[test]
fn allowances_placed_on_canonical_lines_silence_findings_and_are_formatted() {
    // the second property is only as strong as its programs: in some, the allowances
    // silence a finding, and formatting is not refused
    let mut silenced = 0;
    for seed in 1..400 {
        let src = plumb_gen::random::program(seed);
        let Some(variant) = with_allowances(&src, seed) else {
            continue;
        };
        let canonical = plumb_fmt::format(&src).expect("formatted");
        if findings(&variant).len() < findings(&canonical).len()
            && plumb_fmt::format(&variant).is_ok()
        {
            silenced += 1;
        }
    }
    assert!(
        silenced > 20,
        "only {silenced} of 400 programs had a finding silenced"
    );
}

#[test]
fn the_generator_makes_programs_with_findings_and_allowances() {
    // the property is only as strong as the programs: some must have findings, and some
    // findings must be silenced by an allowance
    let programs: Vec<String> = (1..400).map(plumb_gen::random::program).collect();
    let with_findings = programs.iter().filter(|p| !findings(p).is_empty()).count();
    let with_allow = programs
        .iter()
        .filter(|p| p.contains("# plumb-allow:"))
        .count();
    assert!(
        with_findings > 100,
        "{with_findings} of 400 programs have findings"
    );
    assert!(
        with_allow > 100,
        "{with_allow} of 400 programs have an allowance"
    );
}

#[test]
fn formatting_a_fixture_never_changes_its_findings() {
    let mut dirs = vec![common::root().join("fixtures")];
    let mut seen = 0;
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("fixtures").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "plumb") {
                let text = std::fs::read_to_string(&p).expect("read");
                // undo the layout first (no indentation, no blank lines), so formatting
                // has something to change
                let squeezed: String = text
                    .lines()
                    .map(str::trim_start)
                    .filter(|l| !l.is_empty())
                    .map(|l| format!("{l}\n"))
                    .collect();
                if let Err(e) = formatting_keeps_findings(&squeezed) {
                    panic!("{}: {e}", p.display());
                }
                seen += 1;
            }
        }
    }
    assert!(seen > 50, "only {seen} fixtures");
}
