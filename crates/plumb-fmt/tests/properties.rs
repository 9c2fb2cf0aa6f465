//! Property tests: for generated programs with random layout and comments in random
//! places, formatting is idempotent and keeps the program and every comment.
//! It tries `PROPTEST_CASES` programs (default 256) from a random seed, a fixed one
//! under `CI` (`plumb_gen::random::seed_under_ci`); failures are saved in
//! `properties.proptest-regressions`, which every run tries first. A nightly-size run
//! is `PROPTEST_CASES=100000 cargo test -p plumb-fmt --test properties --release`.

mod common;

use common::{comments, tokens};
use plumb_gen::random::{cases, seed_under_ci};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

proptest! {
    // random layouts often split what a `# plumb-allow:` covers, which the formatter
    // refuses: such programs are skipped, so allow as many skips as cases, four times
    #![proptest_config(ProptestConfig {
        max_global_rejects: cases().saturating_mul(4),
        rng_seed: seed_under_ci().map_or(ProptestConfig::default().rng_seed, RngSeed::Fixed),
        ..ProptestConfig::with_cases(cases())
    })]

    #[test]
    fn formatting_is_idempotent_and_keeps_the_program(seed in 1u64..u64::MAX) {
        let src = plumb_gen::random::program(seed);
        let parsed = plumb_syntax::parse(&src);
        prop_assume!(parsed.errors.is_empty());
        let once = plumb_fmt::format(&src);
        // a layout that would move what an allowance covers is refused (fmt.rs in
        // plumb-cli tests that); everything else is formatted
        prop_assume!(!matches!(once, Err(plumb_fmt::FormatError::MovesAllowance { .. })));
        let once = once.expect("a program without syntax errors is formatted");
        let twice = plumb_fmt::format(&once);
        prop_assert!(twice.is_ok(), "the formatted text does not parse:\n{}\n---\n{}", src, once);
        let twice = twice.unwrap_or_default();
        prop_assert_eq!(&once, &twice, "not idempotent for:\n{}", src);
        prop_assert_eq!(tokens(&src), tokens(&once), "the program changed:\n{}\n---\n{}", src, once);
        prop_assert_eq!(comments(&src), comments(&once), "comments changed:\n{}\n---\n{}", src, once);
    }
}
