//! Property tests: for generated programs with random layout and comments in random
//! places, formatting is idempotent and keeps the program and every comment.
//! CI runs `PROPTEST_CASES` cases (default 256); a nightly-size run is
//! `PROPTEST_CASES=100000 cargo test -p plumb-fmt --test properties --release`.

mod common;

use common::{comments, tokens};
use proptest::prelude::*;

/// A small deterministic generator of valid programs, driven by a seed (proptest
/// shrinks the seed).
struct Gen {
    x: u64,
    out: String,
    comments: usize,
}

impl Gen {
    fn next(&mut self) -> u64 {
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        self.x
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// Random blank space between tokens, sometimes with a comment that ends its line.
    fn space(&mut self) {
        match self.next() % 10 {
            0..=5 => self.out.push(' '),
            6 | 7 => self.out.push('\n'),
            8 => self.out.push_str("\n\n   "),
            _ => {
                self.comments += 1;
                let n = self.comments;
                self.out.push_str(&format!("  # note {n}\n"));
            }
        }
    }
    fn tok(&mut self, t: &str) {
        self.out.push_str(t);
        self.space();
    }
    fn name(&mut self) -> String {
        format!(
            "{}{}",
            self.pick(&["a", "job", "unit-api", "x_1", "build"]),
            self.next() % 5
        )
    }
    fn value(&mut self, depth: u32) {
        let choice = if depth == 0 {
            self.next() % 6
        } else {
            self.next() % 9
        };
        match choice {
            0 => {
                let s = self
                    .pick(&[
                        "\"plain\"",
                        "\"with \\\"quotes\\\" and \\\\\"",
                        "\"shell $HOME \\${X}\"",
                        "\"\"",
                        "\"go test ${pkg}\"",
                    ])
                    .to_string();
                self.tok(&s);
            }
            1 => {
                let s = self.pick(&["15m", "1h30m", "90s"]).to_string();
                self.tok(&s);
            }
            2 => {
                let s = self.pick(&["512Mi", "2G", "3", "0"]).to_string();
                self.tok(&s);
            }
            3 => {
                let s = self
                    .pick(&["true", "false", "tag", "merge_request"])
                    .to_string();
                self.tok(&s);
            }
            4 => {
                let n = self.name();
                self.tok(&n);
            }
            5 => self.tok("\"\"\"\n    make\n      test\n  \"\"\""),
            6 => {
                self.tok("[");
                let n = self.next() % 4;
                for i in 0..n {
                    if i > 0 {
                        self.tok(",");
                    }
                    self.value(depth - 1);
                }
                if n > 0 && self.chance(30) {
                    self.tok(",");
                }
                self.tok("]");
            }
            7 => self.record(depth - 1),
            _ => {
                let wrap = self.chance(40);
                if wrap {
                    self.tok("(");
                }
                if self.chance(30) {
                    self.tok("!");
                }
                self.value(depth - 1);
                let op = self.pick(&["||", "&&", "==", "!=", "=~"]).to_string();
                self.tok(&op);
                self.value(0);
                if wrap {
                    self.tok(")");
                }
            }
        }
    }
    fn record(&mut self, depth: u32) {
        self.tok("{");
        for _ in 0..self.next() % 4 {
            let key = self
                .pick(&["image", "run", "env", "\"A B\"", "timeout", "needs"])
                .to_string();
            self.tok(&key);
            self.tok("=");
            self.value(depth);
            if self.chance(50) {
                self.tok(",");
            }
        }
        self.tok("}");
    }
    fn program(&mut self) {
        if self.chance(30) {
            self.tok("import");
            self.tok("\"common.plumb\"");
        }
        for _ in 0..1 + self.next() % 3 {
            match self.next() % 4 {
                0 => {
                    self.tok("let");
                    let n = self.name();
                    self.tok(&n);
                    if self.chance(30) {
                        self.tok(":");
                        self.tok("List<String>");
                    }
                    self.tok("=");
                    self.value(2);
                }
                1 => {
                    self.tok("secret");
                    let n = self.name();
                    self.tok(&n);
                    self.tok("=");
                    self.tok("ci_variable");
                    self.tok("(");
                    self.tok("\"TOKEN\"");
                    self.tok(")");
                }
                2 => {
                    self.tok("template");
                    let n = self.name();
                    self.tok(&n);
                    self.tok("(");
                    self.tok("pkg");
                    self.tok(":");
                    self.tok("String");
                    if self.chance(50) {
                        self.tok("=");
                        self.tok("\"./...\"");
                    }
                    self.tok(")");
                    self.record(1);
                }
                _ => {
                    self.tok("pipeline");
                    let n = self.name();
                    self.tok(&n);
                    self.tok("{");
                    if self.chance(50) {
                        self.tok("on");
                        self.tok("=");
                        self.value(1);
                    }
                    for s in 0..self.next() % 3 {
                        self.tok("stage");
                        self.tok(&format!("s{s}"));
                        if s > 0 && self.chance(50) {
                            self.tok("after");
                            self.tok(&format!("s{}", s - 1));
                        }
                        self.tok("{");
                        for _ in 0..self.next() % 3 {
                            self.tok("job");
                            let j = self.name();
                            self.tok(&j);
                            if self.chance(30) {
                                self.tok("from");
                                self.tok("t");
                                self.tok("(");
                                self.tok("pkg");
                                self.tok("=");
                                self.tok("\"./x\"");
                                self.tok(")");
                            }
                            self.record(1);
                        }
                        self.tok("}");
                    }
                    self.tok("}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)))]

    #[test]
    fn formatting_is_idempotent_and_keeps_the_program(seed in 1u64..u64::MAX) {
        let mut g = Gen { x: seed, out: String::new(), comments: 0 };
        g.program();
        let src = g.out;
        let parsed = plumb_syntax::parse(&src);
        prop_assume!(parsed.errors.is_empty());
        let once = plumb_fmt::format(&src).expect("a program without syntax errors is formatted");
        let twice = plumb_fmt::format(&once);
        prop_assert!(twice.is_ok(), "the formatted text does not parse:\n{}\n---\n{}", src, once);
        let twice = twice.unwrap_or_default();
        prop_assert_eq!(&once, &twice, "not idempotent for:\n{}", src);
        prop_assert_eq!(tokens(&src), tokens(&once), "the program changed:\n{}\n---\n{}", src, once);
        prop_assert_eq!(comments(&src), comments(&once), "comments changed:\n{}\n---\n{}", src, once);
    }
}
