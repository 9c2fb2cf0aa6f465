//! Random valid-looking Plumb programs with random layout and comments, for property
//! tests (formatting keeps the program; formatting never changes what `check` reports).
//! Deterministic: the same seed gives the same program, so a failing case is a seed.

/// How many programs a property test tries: `PROPTEST_CASES`, else 256.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

/// The seed a property test starts from under `CI` when `PROPTEST_RNG_SEED` does not
/// choose one: fixed, so that a merge is not refused for a case nobody's change made
/// (elsewhere the seed is random; failures found are saved as regressions, which every
/// run tries first).
pub fn seed_under_ci() -> Option<u64> {
    let chosen = std::env::var_os("PROPTEST_RNG_SEED").is_some();
    (std::env::var_os("CI").is_some() && !chosen).then_some(20_261_204)
}

/// A program from `seed`: lets, secrets, templates and pipelines whose jobs mix real
/// findings (unpinned images, printed secrets) with random values, laid out with random
/// line breaks, `# note` comments and `# plumb-allow:` comments.
pub fn program(seed: u64) -> String {
    let mut g = Gen {
        x: seed.max(1),
        out: String::new(),
        comments: 0,
    };
    g.program();
    g.out
}

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
    /// Sometimes an allowance on its own line, which covers the next line with code.
    fn allowance(&mut self) {
        if self.chance(40) {
            let code = self.pick(&["PL3001", "PL4003", "PL4005", "PL3003"]);
            self.out
                .push_str(&format!("\n# plumb-allow: {code} reviewed\n"));
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
    /// A job that checks cleanly or with real findings: an image pinned or not, a
    /// secret bound or not, a script that prints it or not.
    fn job_body(&mut self) {
        self.tok("{");
        self.tok("image");
        self.tok("=");
        let image = self.pick(&[
            "\"alpine:latest\"",
            "\"alpine\"",
            "\"alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\"",
        ]);
        self.tok(image);
        if self.chance(50) {
            self.tok("env");
            self.tok("=");
            self.tok("{");
            self.tok("TOKEN");
            self.tok("=");
            let n = self.name();
            self.tok(&n);
            self.tok("}");
        }
        self.tok("run");
        self.tok("=");
        let run = self.pick(&[
            "\"echo $TOKEN\"",
            "\"make test\"",
            "\"\"\"\n    curl -u ci:$TOKEN https://x\n    echo done\n  \"\"\"",
        ]);
        self.tok(run);
        self.tok("}");
    }
    fn program(&mut self) {
        if self.chance(30) {
            self.tok("import");
            self.tok("\"common.plumb\"");
        }
        for _ in 0..1 + self.next() % 3 {
            self.allowance();
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
                            self.allowance();
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
                            if self.chance(60) {
                                self.job_body();
                            } else {
                                self.record(1);
                            }
                        }
                        self.tok("}");
                    }
                    self.tok("}");
                }
            }
        }
    }
}
