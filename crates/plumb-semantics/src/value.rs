//! Values: what an expression evaluates to at compile time.
//!
//! Every value remembers where its literal was written (`origin`), so a check on an
//! image or a credential can point at the literal even when it reached a job through
//! a `let`, a template argument or a default.

use crate::types::Ty;
use plumb_diagnostics::FileRange;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Value {
    pub kind: ValueKind,
    pub origin: FileRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Str(String),
    Int(u64),
    Bool(bool),
    Duration(u64),
    Size(u64),
    List(Vec<Value>),
    Map(Vec<MapEntry>),
    /// Boxed, as `Cond`: both are rare and large, and a `Value` is in every field of
    /// every job (48 bytes instead of 112; the lowered model of 5,000 jobs is 8 MB smaller).
    Secret(Box<SecretRef>),
    Cond(Box<Cond>),
    /// `branch`: only meaningful inside a condition.
    BranchVar,
    /// `source`: only meaningful inside a condition.
    SourceVar,
    /// `var("NAME")`: only meaningful inside a condition.
    CiVar(String),
    /// `runner_default`: the image the runner is configured with.
    RunnerDefault,
    /// A job name in `needs`.
    JobRef(String),
    /// A template parameter of this type while the template is checked on its own.
    Abstract(Ty),
    /// What an error left; accepted everywhere so that one mistake gives one diagnostic.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapEntry {
    pub key: String,
    pub key_at: FileRange,
    pub value: Value,
}

/// A reference to a declared secret: never its value, which Plumb never sees.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretRef {
    pub name: String,
    /// The `secret` declaration's name.
    pub declared_at: FileRange,
    pub source: SecretSource,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretSource {
    /// A GitLab CI/CD variable of this name.
    CiVariable(String),
    /// A field of a Vault secret at a path; with `file`, the variable holds the path of a
    /// file with the value (GitLab's `file: true`), not the value.
    Vault {
        path: String,
        field: String,
        file: bool,
    },
    /// A key of a Kubernetes Secret.
    K8sSecret { name: String, key: String },
    /// A short-lived OIDC token for this audience (GitLab `id_tokens:`).
    IdToken(String),
}

/// A condition on the event a pipeline runs for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    Always,
    Never,
    /// `branch == "x"`, `branch != "x"`, `branch =~ "re"`.
    Branch(BranchTest),
    Tag,
    MergeRequest,
    Manual,
    /// `changes([...])`: files changed by the push or merge request.
    Changes(Vec<String>),
    /// `source == "schedule"`: what started the pipeline (`CI_PIPELINE_SOURCE`).
    Source(BranchTest),
    /// `var("NAME") == "x"`: a CI/CD variable's value (`""` when unset).
    Var(String, BranchTest),
    /// `exists([...])`: files present in the repository.
    Exists(Vec<String>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BranchTest {
    Eq(String),
    NotEq(String),
    Matches(String),
    /// `== var("X")`: equal to the value of CI/CD variable `X` (unset is `""`).
    EqVar(String),
    /// `!= var("X")`.
    NotEqVar(String),
}

/// The event a pipeline runs for, for evaluating conditions at compile time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Branch(String),
    Tag,
    MergeRequest,
}

impl Cond {
    /// Every node of the condition (each test and each `&&`, `||`, `!`), without
    /// recursion: conditions from real files can be deep.
    pub fn nodes(&self) -> impl Iterator<Item = &Cond> {
        let mut todo = vec![self];
        std::iter::from_fn(move || {
            let c = todo.pop()?;
            match c {
                Cond::And(a, b) | Cond::Or(a, b) => todo.extend([&**a, &**b]),
                Cond::Not(a) => todo.push(a),
                _ => {}
            }
            Some(c)
        })
    }

    /// Whether the condition can be true for some event of the given kind, treating
    /// `changes` as possibly true and `manual` as a person's choice (possible).
    pub fn admits(&self, event: &Event) -> Truth {
        match self {
            Cond::Always => Truth::Yes,
            Cond::Never => Truth::No,
            Cond::Branch(test) => match event {
                Event::Branch(name) => test.truth(name),
                // CI_COMMIT_BRANCH is empty for tags and merge requests
                Event::Tag | Event::MergeRequest => test.truth(""),
            },
            Cond::Tag => Truth::from(*event == Event::Tag),
            Cond::MergeRequest => Truth::from(*event == Event::MergeRequest),
            // GitLab sets `CI_COMMIT_TAG` for tags only and `CI_COMMIT_BRANCH` for
            // branches only: elsewhere they are empty
            Cond::Var(name, test) if unset_for(name, event) => test.truth(""),
            Cond::Var(name, test) if unprotected_for(name, event) => test.truth("false"),
            Cond::Manual | Cond::Changes(_) | Cond::Exists(_) | Cond::Var(..) => Truth::Maybe,
            Cond::Source(test) => source_admits(test, event),
            Cond::And(a, b) => a.admits(event).and(b.admits(event)),
            Cond::Or(a, b) => a.admits(event).or(b.admits(event)),
            Cond::Not(a) => a.admits(event).not(),
        }
    }

    /// The condition's value when Kubernetes manifests are compiled (§5): `source` is
    /// `push` (`merge_request_event` for a merge request), `var("NAME")` is the value
    /// given with `--var NAME=VALUE` (else `""`); `changes` and `exists` count as true
    /// (so `!changes(…)` is false), `manual` stays open (the caller leaves manual jobs
    /// out).
    pub fn decide(
        &self,
        event: &Event,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> Truth {
        self.decide_with(event, vars, Truth::Yes)
    }

    /// [`Cond::decide`] with `changes(…)` and `exists(…)` taken as `runtime` (`Maybe`:
    /// whether they decided it).
    pub fn decide_with(
        &self,
        event: &Event,
        vars: &std::collections::BTreeMap<String, String>,
        runtime: Truth,
    ) -> Truth {
        let value_of = |name: &str| vars.get(name).map_or("", String::as_str);
        match self {
            Cond::Source(test) => {
                let source = if *event == Event::MergeRequest {
                    "merge_request_event"
                } else {
                    "push"
                };
                test.decide(source, value_of)
            }
            Cond::Branch(test @ (BranchTest::EqVar(_) | BranchTest::NotEqVar(_))) => match event {
                Event::Branch(name) => test.decide(name, value_of),
                Event::Tag | Event::MergeRequest => test.decide("", value_of),
            },
            Cond::Var(name, test) => test.decide(value_of(name), value_of),
            Cond::Changes(_) | Cond::Exists(_) => runtime,
            Cond::And(a, b) => a
                .decide_with(event, vars, runtime)
                .and(b.decide_with(event, vars, runtime)),
            Cond::Or(a, b) => a
                .decide_with(event, vars, runtime)
                .or(b.decide_with(event, vars, runtime)),
            Cond::Not(a) => a.decide_with(event, vars, runtime).not(),
            other => other.admits(event),
        }
    }

    /// Whether the condition makes a job wait for a person (`manual` on a path that
    /// can be taken).
    pub fn mentions_manual(&self) -> bool {
        match self {
            Cond::Manual => true,
            Cond::And(a, b) | Cond::Or(a, b) => a.mentions_manual() || b.mentions_manual(),
            Cond::Not(a) => a.mentions_manual(),
            _ => false,
        }
    }

    /// The operands of the condition's top-level `||`s (itself when it is none).
    pub fn alternatives(&self) -> Vec<&Cond> {
        self.operands(|c| match c {
            Cond::Or(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The operands of the condition's top-level `&&`s (itself when it is none).
    pub fn conjuncts(&self) -> Vec<&Cond> {
        self.operands(|c| match c {
            Cond::And(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The leaves of the tree of one operator (`split` opens a node of it), in order.
    fn operands<'c>(
        &'c self,
        split: impl Fn(&'c Cond) -> Option<(&'c Cond, &'c Cond)>,
    ) -> Vec<&'c Cond> {
        let mut out = Vec::new();
        let mut todo = vec![self];
        while let Some(c) = todo.pop() {
            match split(c) {
                Some((a, b)) => {
                    todo.push(b);
                    todo.push(a);
                }
                None => out.push(c),
            }
        }
        out
    }

    pub fn and(a: Cond, b: Cond) -> Cond {
        match (a, b) {
            (Cond::Always, x) | (x, Cond::Always) => x,
            (a, b) => Cond::And(Box::new(a), Box::new(b)),
        }
    }
}

/// Whether GitLab leaves the predefined variable `name` unset in a pipeline for `event`.
fn unset_for(name: &str, event: &Event) -> bool {
    match name {
        "CI_COMMIT_TAG" => *event != Event::Tag,
        "CI_COMMIT_BRANCH" => !matches!(event, Event::Branch(_)),
        _ => false,
    }
}

/// `CI_COMMIT_REF_PROTECTED` in a merge-request pipeline whose code no one vetted: the
/// ref (`refs/merge-requests/N/head`, a fork's branch) is not protected, so it is
/// `"false"`. A job gated on `$CI_COMMIT_REF_PROTECTED == "true"`, GitLab's advice for
/// jobs with secrets, does not run for such a merge request.
fn unprotected_for(name: &str, event: &Event) -> bool {
    name == "CI_COMMIT_REF_PROTECTED" && *event == Event::MergeRequest
}

/// Predefined variables GitLab sets, not empty, in every pipeline.
fn never_empty(name: &str) -> bool {
    matches!(
        name,
        "CI_DEFAULT_BRANCH"
            | "CI_COMMIT_SHA"
            | "CI_COMMIT_REF_NAME"
            | "CI_COMMIT_REF_SLUG"
            | "CI_PIPELINE_SOURCE"
            | "CI_PROJECT_PATH"
            | "CI_PROJECT_NAME"
            | "CI_PROJECT_NAMESPACE"
            | "CI_SERVER_HOST"
    )
}

/// `CI_PIPELINE_SOURCE` is `merge_request_event` exactly for merge-request pipelines;
/// for a push to a branch or tag it may be `push`, `schedule`, `web`, `api`, … .
fn source_admits(test: &BranchTest, event: &Event) -> Truth {
    const MR: &str = "merge_request_event";
    match (event, test) {
        (Event::MergeRequest, t) => t.truth(MR),
        (_, BranchTest::Eq(s)) if s == MR => Truth::No,
        (_, BranchTest::NotEq(s)) if s == MR => Truth::Yes,
        _ => Truth::Maybe,
    }
}

impl BranchTest {
    /// Whether a branch name passes the test. A `=~` pattern is a regular expression;
    /// Plumb matches the common subset (`^`, `$`, `.`, `.*`, literal text) and treats
    /// anything fancier as possibly matching. A comparison with a variable may hold.
    pub fn matches(&self, branch: &str) -> bool {
        match self {
            BranchTest::Eq(v) => branch == v,
            BranchTest::NotEq(v) => branch != v,
            BranchTest::Matches(re) => regex_match(re, branch).unwrap_or(true),
            BranchTest::EqVar(_) | BranchTest::NotEqVar(_) => true,
        }
    }
    /// Whether `text` passes the test: unknown for a comparison with a variable, whose
    /// value is only known when the pipeline runs.
    pub fn truth(&self, text: &str) -> Truth {
        match self {
            // no branch (a tag, a merge request) is not the default branch's name
            BranchTest::EqVar(other) if text.is_empty() && never_empty(other) => Truth::No,
            BranchTest::NotEqVar(other) if text.is_empty() && never_empty(other) => Truth::Yes,
            BranchTest::EqVar(_) | BranchTest::NotEqVar(_) => Truth::Maybe,
            _ => Truth::from(self.matches(text)),
        }
    }
    /// Whether `text` passes the test, with the variables' values known (`value_of`).
    pub fn decide<'v>(&self, text: &str, value_of: impl Fn(&str) -> &'v str) -> Truth {
        match self {
            BranchTest::EqVar(other) => Truth::from(text == value_of(other)),
            BranchTest::NotEqVar(other) => Truth::from(text != value_of(other)),
            _ => Truth::from(self.matches(text)),
        }
    }
}

/// Three-valued truth for conditions known only partly at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    Yes,
    No,
    Maybe,
}

impl From<bool> for Truth {
    fn from(b: bool) -> Self {
        if b {
            Truth::Yes
        } else {
            Truth::No
        }
    }
}

impl Truth {
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::No, _) | (_, Truth::No) => Truth::No,
            (Truth::Yes, Truth::Yes) => Truth::Yes,
            _ => Truth::Maybe,
        }
    }
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::Yes, _) | (_, Truth::Yes) => Truth::Yes,
            (Truth::No, Truth::No) => Truth::No,
            _ => Truth::Maybe,
        }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Truth {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            Truth::Maybe => Truth::Maybe,
        }
    }
    pub fn possible(self) -> bool {
        self != Truth::No
    }
}

/// Matches `re` (RE2 syntax, as GitLab matches `=~`) against `text`; `None` for a
/// pattern the regex engine refuses or that would take more memory than a pattern in a
/// pipeline should (what it decides is then not known).
pub fn regex_match(re: &str, text: &str) -> Option<bool> {
    if let Some(matched) = simple_regex_match(re, text) {
        return Some(matched);
    }
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        // asked for every job and event: a pattern seen is found without a copy of it
        if let Some(compiled) = cache.get(re) {
            return compiled.as_ref().map(|r| r.is_match(text.as_bytes()));
        }
        if cache.len() >= CACHED_PATTERNS {
            cache.clear();
        }
        // RE2's classes (`\w`, `\d`) are ASCII: so are these, and small
        let compiled = regex::bytes::RegexBuilder::new(re)
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .ok();
        let matched = compiled.as_ref().map(|r| r.is_match(text.as_bytes()));
        cache.insert(re.to_string(), compiled);
        matched
    })
}

/// Why the regex engine refuses pattern `re` (as `regex_match` compiles it: RE2's
/// syntax, GitLab's), or `None` when it compiles.
pub fn regex_error(re: &str) -> Option<String> {
    // GitLab's expression lexer reads `/…/` with at least two characters, the last not
    // a `\` (it would escape the closing `/`)
    if re.chars().count() < 2 {
        return Some("GitLab reads a pattern of at least two characters".to_string());
    }
    if re.ends_with('\\') {
        return Some(
            "a pattern cannot end in `\\` in GitLab: it would escape the closing `/`".to_string(),
        );
    }
    if repetition_counts(re).any(|n| n > 1000) {
        return Some("RE2 refuses a repetition count over 1000".to_string());
    }
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(re)
            .unicode(unicode)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
    };
    // RE2's `\pL` and `\p{Greek}` are Unicode classes, which only a Unicode build reads
    let built = build(false).or_else(|e| build(true).map_err(|_| e));
    match built {
        Ok(_) => None,
        Err(regex::Error::CompiledTooBig(_)) => Some("the pattern is too large".to_string()),
        // the engine's message spans several lines (the pattern, a caret, the reason):
        // its last line says what is wrong
        Err(e) => Some(
            e.to_string()
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("not a regular expression")
                .trim()
                .trim_start_matches("error: ")
                .to_string(),
        ),
    }
}

/// The counts of `{n}`, `{n,}` and `{n,m}` repetitions in a pattern (escapes skipped).
fn repetition_counts(re: &str) -> impl Iterator<Item = u64> + '_ {
    let b = re.as_bytes();
    let mut escaped = false;
    (0..b.len()).filter_map(move |i| {
        let open = b[i] == b'{' && !escaped;
        escaped = b[i] == b'\\' && !escaped;
        if !open {
            return None;
        }
        // `{1000,2000}` at most: a bounded look, whatever follows
        let body: String = re[i + 1..]
            .chars()
            .take(24)
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == ' ')
            .collect();
        if !re[i + 1 + body.len()..].starts_with('}') {
            return None;
        }
        body.split(',').filter_map(|n| n.trim().parse().ok()).max()
    })
}

thread_local! {
    /// Patterns compiled (or refused) once: the same condition is asked of every job
    /// and every event.
    static COMPILED: std::cell::RefCell<PatternCache> = std::cell::RefCell::new(PatternCache::new());
}

/// Each pattern with what it compiled to (`None`: refused, or too large).
type PatternCache = std::collections::HashMap<String, Option<regex::bytes::Regex>>;

/// How many compiled patterns a thread keeps (a file has a handful).
const CACHED_PATTERNS: usize = 256;

/// The most memory one compiled pattern may take (a pattern in a pipeline is short:
/// one this large is hostile).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Matches `re` against `text` for patterns made of literal characters, `.`, `.*`,
/// `^` and `$`. Returns `None` for anything else (character classes, groups, ...).
fn simple_regex_match(re: &str, text: &str) -> Option<bool> {
    if re.chars().any(|c| "[](){}|+?\\".contains(c)) {
        return None;
    }
    let anchored_start = re.starts_with('^');
    let body = re.strip_prefix('^').unwrap_or(re);
    let anchored_end = body.ends_with('$');
    let body = body.strip_suffix('$').unwrap_or(body);
    let pattern: Vec<char> = body.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let starts: Vec<usize> = if anchored_start {
        vec![0]
    } else {
        (0..=text.len()).collect()
    };
    Some(
        starts
            .into_iter()
            .any(|s| match_here(&pattern, &text[s..], anchored_end)),
    )
}

fn match_here(p: &[char], t: &[char], anchored_end: bool) -> bool {
    if p.is_empty() {
        return !anchored_end || t.is_empty();
    }
    if p.len() >= 2 && p[1] == '*' {
        let mut i = 0;
        loop {
            if match_here(&p[2..], &t[i..], anchored_end) {
                return true;
            }
            if i < t.len() && (p[0] == '.' || p[0] == t[i]) {
                i += 1;
            } else {
                return false;
            }
        }
    }
    !t.is_empty() && (p[0] == '.' || p[0] == t[0]) && match_here(&p[1..], &t[1..], anchored_end)
}

/// Durations in their shortest written form: `90s` is `1m30s`.
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Sizes in the largest unit that divides them: `268435456` is `256Mi`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 40, "Ti"),
        (1_000_000_000_000, "T"),
        (1 << 30, "Gi"),
        (1_000_000_000, "G"),
        (1 << 20, "Mi"),
        (1_000_000, "M"),
        (1 << 10, "Ki"),
        (1_000, "K"),
    ];
    for (unit, suffix) in UNITS {
        if bytes >= *unit && bytes.is_multiple_of(*unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

impl Value {
    /// Every string the value holds (in lists and maps too), with where it is written.
    pub fn strings(&self) -> Vec<(&str, FileRange)> {
        let mut out = Vec::new();
        let mut todo = vec![self];
        while let Some(v) = todo.pop() {
            match &v.kind {
                ValueKind::Str(s) => out.push((s.as_str(), v.origin)),
                ValueKind::List(items) => todo.extend(items.iter().rev()),
                ValueKind::Map(entries) => todo.extend(entries.iter().rev().map(|e| &e.value)),
                _ => {}
            }
        }
        out
    }

    pub fn unknown(origin: FileRange) -> Value {
        Value {
            kind: ValueKind::Unknown,
            origin,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Str(s) => Some(s),
            _ => None,
        }
    }
    /// A secret, or a value only known to be one (a template's `Secret` parameter).
    pub fn is_secret(&self) -> bool {
        matches!(
            self.kind,
            ValueKind::Secret(_) | ValueKind::Abstract(Ty::Secret)
        )
    }
    pub fn as_list(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::List(items) => Some(items),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[MapEntry]> {
        match &self.kind {
            ValueKind::Map(entries) => Some(entries),
            _ => None,
        }
    }
    pub fn as_cond(&self) -> Option<&Cond> {
        match &self.kind {
            ValueKind::Cond(c) => Some(c),
            _ => None,
        }
    }
    /// What kind of value this is, for "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            ValueKind::Str(_) => "String",
            ValueKind::Int(_) => "Int",
            ValueKind::Bool(_) => "Bool",
            ValueKind::Duration(_) => "Duration",
            ValueKind::Size(_) => "Size",
            ValueKind::List(_) => "List",
            ValueKind::Map(_) => "a record",
            ValueKind::Secret(_) => "Secret",
            ValueKind::Cond(_) => "Condition",
            ValueKind::BranchVar => "`branch`",
            ValueKind::SourceVar => "`source`",
            ValueKind::CiVar(_) => "`var(…)`",
            ValueKind::RunnerDefault => "`runner_default`",
            ValueKind::JobRef(_) => "a job name",
            ValueKind::Abstract(_) => "a template parameter",
            ValueKind::Unknown => "an unknown value",
        }
    }
}

impl SecretSource {
    /// The variable holds the path of a file with the secret (`vault(…, file = true)`).
    pub fn is_file(&self) -> bool {
        matches!(self, SecretSource::Vault { file: true, .. })
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::CiVariable(n) => write!(f, "ci_variable(\"{n}\")"),
            SecretSource::Vault { path, field, file } => {
                write!(f, "vault(\"{path}\", \"{field}\"")?;
                if *file {
                    write!(f, ", file = true")?;
                }
                write!(f, ")")
            }
            SecretSource::K8sSecret { name, key } => write!(f, "k8s_secret(\"{name}\", \"{key}\")"),
            SecretSource::IdToken(audience) => write!(f, "id_token(\"{audience}\")"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_regexes() {
        assert_eq!(simple_regex_match("^release/", "release/1.2"), Some(true));
        assert_eq!(simple_regex_match("^release/", "main"), Some(false));
        assert_eq!(simple_regex_match("^v.*$", "v1"), Some(true));
        assert_eq!(simple_regex_match("^(a|b)$", "a"), None);
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_size(256 << 20), "256Mi");
        assert_eq!(format_size(1500), "1500");
    }

    #[test]
    fn merge_request_events_have_no_branch() {
        let on_main = Cond::Branch(BranchTest::Eq("main".into()));
        assert_eq!(on_main.admits(&Event::MergeRequest), Truth::No);
        let either = Cond::Or(Box::new(Cond::MergeRequest), Box::new(on_main));
        assert_eq!(either.admits(&Event::MergeRequest), Truth::Yes);
    }
}
