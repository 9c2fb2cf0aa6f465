//! When GitLab runs a job, decided as GitLab decides it, for the import's round trip:
//! `workflow: rules:`, a job's `rules:` (`if:`, `when:`, `allow_failure:`) or its
//! `only:`/`except:`, and its `when:`, evaluated in a set of pipelines (a push to several
//! branches, a tag, a merge request, a schedule, …). Two configurations whose jobs give
//! the same outcome in every one of them have the same rules "as conditions".
//!
//! Written from GitLab's documentation, not from the importer: `changes:`, `exists:`
//! and `only: kubernetes:` count as true (no repository is looked at).

use plumb_import::yaml::{Kind, Node};
use std::collections::HashMap;

/// A pipeline: what started it, and its predefined variables.
pub struct Pipeline {
    pub name: String,
    vars: HashMap<String, String>,
    /// A variable the configuration tests but nobody sets: unset, or this value.
    unknown: Option<&'static str>,
}

/// Pipelines that tell rules apart: pushes to several kinds of branch, a tag, a merge
/// request, a schedule, a web, API, trigger and parent pipeline; each once with
/// variables nobody defines unset, and once set to `true`.
pub fn pipelines() -> Vec<Pipeline> {
    let branches = [
        "main",
        "master",
        "develop",
        "feature/x",
        "release/1.2",
        "15-9-stable",
    ];
    let mut events: Vec<(String, Vec<(&str, String)>)> = Vec::new();
    for b in branches {
        events.push((format!("push to {b}"), branch_push(b, "push")));
    }
    for source in ["schedule", "web", "api", "trigger", "pipeline"] {
        events.push((format!("{source} on main"), branch_push("main", source)));
    }
    events.push((
        "tag v1.2.3".into(),
        vec![
            ("CI_PIPELINE_SOURCE", "push".into()),
            ("CI_COMMIT_TAG", "v1.2.3".into()),
            ("CI_COMMIT_REF_NAME", "v1.2.3".into()),
        ],
    ));
    events.push(("merge request".into(), merge_request()));
    let mut out = Vec::new();
    for unknown in [None, Some("true")] {
        for (name, vars) in &events {
            let mut all: HashMap<String, String> = HashMap::from([
                ("CI_DEFAULT_BRANCH".to_string(), "main".to_string()),
                ("CI_PROJECT_NAMESPACE".to_string(), "group".to_string()),
                ("CI_PROJECT_PATH".to_string(), "group/project".to_string()),
                (
                    "CI_SERVER_HOST".to_string(),
                    "gitlab.example.com".to_string(),
                ),
            ]);
            all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
            let set = if unknown.is_some() {
                ", others true"
            } else {
                ""
            };
            out.push(Pipeline {
                name: format!("{name}{set}"),
                vars: all,
                unknown,
            });
        }
    }
    out
}

fn branch_push(branch: &str, source: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CI_PIPELINE_SOURCE", source.into()),
        ("CI_COMMIT_BRANCH", branch.into()),
        ("CI_COMMIT_REF_NAME", branch.into()),
    ]
}

fn merge_request() -> Vec<(&'static str, String)> {
    vec![
        ("CI_PIPELINE_SOURCE", "merge_request_event".into()),
        ("CI_COMMIT_REF_NAME", "feature/x".into()),
        ("CI_MERGE_REQUEST_ID", "101".into()),
        ("CI_MERGE_REQUEST_IID", "7".into()),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x".into()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".into()),
        ("CI_MERGE_REQUEST_EVENT_TYPE", "detached".into()),
        ("CI_MERGE_REQUEST_LABELS", "".into()),
    ]
}

/// What GitLab does with a job in a pipeline: not created (`None`), or created with
/// its `when` and whether it may fail.
pub type Outcome = Option<(String, bool)>;

/// The job's outcome in `p`, `root` being the whole (expanded) configuration.
pub fn outcome(root: &Node, job: &Node, p: &Pipeline) -> Outcome {
    let scope = Scope::new(p, root, Some(job));
    if let Some(rules) = root.get("workflow").and_then(|w| w.get("rules")) {
        let global = Scope::new(p, root, None);
        match first_rule(rules, &global) {
            Some(r) if r.get("when").and_then(Node::as_str) != Some("never") => {}
            _ => return None,
        }
    }
    let job_when = job.get("when").and_then(Node::as_str);
    let job_allow = job.get("allow_failure").map(allows_failure);
    if let Some(rules) = job.get("rules").filter(|r| !r.is_null()) {
        let rule = first_rule(rules, &scope)?;
        let when = rule
            .get("when")
            .and_then(Node::as_str)
            .or(job_when)
            .unwrap_or("on_success");
        if when == "never" {
            return None;
        }
        // a rule that sets no `allow_failure` leaves the job's, which a job-level
        // `when: manual` makes `true` (GitLab's `ignore`), whatever the rule's `when`
        let job_default = job_allow.unwrap_or(job_when == Some("manual"));
        let allow = rule
            .get("allow_failure")
            .map(allows_failure)
            .unwrap_or(job_default);
        let start_in = rule.get("start_in").or(job.get("start_in"));
        return Some((delayed(when, start_in), allow));
    }
    let workflow_rules = root
        .get("workflow")
        .is_some_and(|w| w.get("rules").is_some());
    if !only_except_admit(job, &scope, p, workflow_rules) {
        return None;
    }
    let when = job_when.unwrap_or("on_success");
    // a manual job without rules may fail unless it says otherwise
    let allow = job_allow.unwrap_or(when == "manual");
    Some((delayed(when, job.get("start_in")), allow))
}

/// Whether the `rules:` of an `include:` add its file in `p`: a first matching rule
/// that is not `when: never` (as workflow rules, with the pipeline's variables only).
pub fn include_admits(root: &Node, rules: &Node, p: &Pipeline) -> bool {
    let global = Scope::new(p, root, None);
    first_rule(rules, &global)
        .is_some_and(|r| r.get("when").and_then(Node::as_str) != Some("never"))
}

/// `when`, and for `delayed` how long (in seconds).
fn delayed(when: &str, start_in: Option<&Node>) -> String {
    match start_in.and_then(Node::as_str).and_then(seconds) {
        Some(s) if when == "delayed" => format!("delayed {s}s"),
        _ => when.to_string(),
    }
}

fn allows_failure(n: &Node) -> bool {
    // `allow_failure: { exit_codes: … }` allows some failures: not `false`
    n.as_bool().unwrap_or(n.is_map())
}

fn first_rule<'a>(rules: &'a Node, scope: &Scope) -> Option<&'a Node> {
    rules.items().iter().find(|rule| {
        rule.get("if")
            .and_then(Node::as_str)
            .is_none_or(|e| scope.holds(e))
    })
}

/// `only:` and `except:`: `only` admits the job when each of its keys has a condition
/// that matches, `except` excludes it when any of its keys has one (GitLab's
/// `@except.none?`, gitlab-org/gitlab-foss#61673). Without `only:`,
/// GitLab's default is `only: [branches, tags]`, but for a file with `workflow: rules`
/// (none then); an `only:` mapping without `refs` keeps that default's refs.
fn only_except_admit(job: &Node, scope: &Scope, p: &Pipeline, workflow_rules: bool) -> bool {
    let default_refs = || refs_match(&["branches".into(), "tags".into()], p, scope);
    let only = job.get("only").filter(|n| !n.is_null());
    let admitted = match only {
        None if workflow_rules => true,
        None => default_refs(),
        Some(o) if o.is_map() && o.get("refs").is_none() => {
            default_refs() && policy_matches(o, scope, p, true)
        }
        Some(o) => policy_matches(o, scope, p, true),
    };
    let excluded = job
        .get("except")
        .filter(|n| !n.is_null())
        .is_some_and(|e| policy_matches(e, scope, p, false));
    admitted && !excluded
}

/// Whether every key of an `only:` policy (`only`), or any key of an `except:` one,
/// matches in `p`.
fn policy_matches(policy: &Node, scope: &Scope, p: &Pipeline, only: bool) -> bool {
    if let Kind::Seq(_) | Kind::Scalar { .. } = policy.kind {
        return refs_match(&policy.strings(), p, scope);
    }
    let key_matches = |e: &plumb_import::yaml::Entry| match e.key.as_str() {
        "refs" => refs_match(&e.value.strings(), p, scope),
        "variables" => e
            .value
            .items()
            .iter()
            .filter_map(Node::as_str)
            .any(|x| scope.holds(x)),
        // `changes`, `kubernetes` (no repository, no cluster here): taken to admit the
        // job, as the importer's approximation does
        _ => only,
    };
    match only {
        true => policy.entries().iter().all(key_matches),
        false => policy.entries().iter().any(key_matches),
    }
}

fn refs_match(refs: &[String], p: &Pipeline, scope: &Scope) -> bool {
    let source = p.vars.get("CI_PIPELINE_SOURCE").map_or("", String::as_str);
    let is_branch = p.vars.contains_key("CI_COMMIT_BRANCH");
    let is_tag = p.vars.contains_key("CI_COMMIT_TAG");
    let ref_name = if source == "merge_request_event" {
        None
    } else {
        p.vars.get("CI_COMMIT_REF_NAME")
    };
    refs.iter().any(|r| {
        // `REF@group/project` matches in that project only (cut at the first `@`)
        let (r, project) = r.split_once('@').unwrap_or((r, ""));
        let project_path = p.vars.get("CI_PROJECT_PATH").map_or("", String::as_str);
        if !project.is_empty() && project_path != project {
            return false;
        }
        match r {
            "branches" => is_branch,
            "tags" => is_tag,
            "merge_requests" => source == "merge_request_event",
            "schedules" => source == "schedule",
            "web" => source == "web",
            "api" => source == "api",
            "triggers" => source == "trigger",
            "pipelines" => source == "pipeline",
            "pushes" => source == "push",
            "external_pull_requests" => source == "external_pull_request_event",
            // a source's own name matches it too
            "push"
            | "schedule"
            | "trigger"
            | "pipeline"
            | "chat"
            | "external"
            | "merge_request_event" => source == r,
            pattern => ref_name.is_some_and(|name| match scope.regex(pattern) {
                Some(re) => re.is_match(name),
                None => pattern == name,
            }),
        }
    })
}

/// The variables an expression sees: the pipeline's, the file's, the job's.
struct Scope<'a> {
    vars: HashMap<String, String>,
    unknown: Option<&'a str>,
}

impl<'a> Scope<'a> {
    fn new(p: &'a Pipeline, root: &Node, job: Option<&Node>) -> Self {
        let mut vars = HashMap::new();
        for holder in [root.get("variables"), job.and_then(|j| j.get("variables"))]
            .into_iter()
            .flatten()
        {
            for e in holder.entries() {
                let value = e.value.get("value").unwrap_or(&e.value);
                if let Some(v) = value.as_gitlab_string() {
                    vars.insert(e.key.clone(), v);
                }
            }
        }
        vars.extend(p.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        Scope {
            vars,
            unknown: p.unknown,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        // predefined variables GitLab leaves unset stay unset
        if name.starts_with("CI_") || name.starts_with("GITLAB_") {
            return None;
        }
        self.unknown.map(str::to_string)
    }

    /// Whether the `rules: if:` expression holds.
    fn holds(&self, expr: &str) -> bool {
        let tokens = tokens(expr);
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            scope: self,
        };
        parser.or()
    }

    fn regex(&self, pattern: &str) -> Option<regex::Regex> {
        let body = pattern.strip_prefix('/')?;
        let end = body.rfind('/')?;
        let flags: String = "ims"
            .chars()
            .filter(|f| body[end + 1..].contains(*f))
            .collect();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        regex::Regex::new(&format!("{flags}{}", &body[..end])).ok()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Var(String),
    Str(String),
    Regex(String),
    Null,
    Op(&'static str),
    Open,
    Close,
}

fn tokens(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..].iter().take(2).collect();
        if c.is_whitespace() {
            i += 1;
        } else if let Some(op) = ["==", "!=", "=~", "!~", "&&", "||"]
            .into_iter()
            .find(|op| rest == *op)
        {
            out.push(Token::Op(op));
            i += 2;
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .map_or(chars.len(), |p| i + 1 + p);
            out.push(Token::Str(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c == '/' {
            let mut end = i + 1;
            while end < chars.len() && chars[end] != '/' {
                end += if chars[end] == '\\' { 2 } else { 1 };
            }
            let mut flags_end = (end + 1).min(chars.len());
            while flags_end < chars.len() && chars[flags_end].is_ascii_alphabetic() {
                flags_end += 1;
            }
            out.push(Token::Regex(
                chars[i..flags_end.min(chars.len())].iter().collect(),
            ));
            i = flags_end;
        } else if c == '$' {
            let name: String = chars[i + 1..]
                .iter()
                .skip_while(|&&d| d == '{')
                .take_while(|d| d.is_ascii_alphanumeric() || **d == '_')
                .collect();
            let braces = usize::from(chars.get(i + 1) == Some(&'{')) * 2;
            i += 1 + name.len() + braces;
            out.push(Token::Var(name));
        } else if chars[i..].iter().take(4).collect::<String>() == "null" {
            out.push(Token::Null);
            i += 4;
        } else {
            i += 1;
        }
    }
    out
}

#[derive(Debug)]
enum Operand {
    Null,
    Str(String),
    Regex(String),
}

struct Parser<'a, 's> {
    tokens: &'a [Token],
    at: usize,
    scope: &'a Scope<'s>,
}

impl Parser<'_, '_> {
    fn or(&mut self) -> bool {
        let mut value = self.and();
        while self.eat(&Token::Op("||")) {
            value |= self.and();
        }
        value
    }

    fn and(&mut self) -> bool {
        let mut value = self.comparison();
        while self.eat(&Token::Op("&&")) {
            value &= self.comparison();
        }
        value
    }

    fn comparison(&mut self) -> bool {
        if self.eat(&Token::Open) {
            let value = self.or();
            self.eat(&Token::Close);
            return value;
        }
        let left = self.operand();
        let op = match self.tokens.get(self.at) {
            Some(Token::Op(op)) if ["==", "!=", "=~", "!~"].contains(op) => *op,
            // a variable alone: set and not empty
            _ => return matches!(left, Operand::Str(ref s) if !s.is_empty()),
        };
        self.at += 1;
        let right = self.operand();
        match op {
            "==" => same(&left, &right),
            "!=" => !same(&left, &right),
            "=~" => self.matches(&left, &right),
            _ => !self.matches(&left, &right),
        }
    }

    fn matches(&self, text: &Operand, pattern: &Operand) -> bool {
        let (Operand::Str(text), Operand::Regex(p) | Operand::Str(p)) = (text, pattern) else {
            return false;
        };
        self.scope.regex(p).is_some_and(|re| re.is_match(text))
    }

    fn operand(&mut self) -> Operand {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Var(name)) => self.scope.get(&name).map_or(Operand::Null, Operand::Str),
            Some(Token::Str(s)) => Operand::Str(s),
            Some(Token::Regex(r)) => Operand::Regex(r),
            _ => Operand::Null,
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.at) == Some(token);
        self.at += usize::from(found);
        found
    }
}

fn same(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Null, Operand::Null) => true,
        (Operand::Str(x), Operand::Str(y)) => x == y,
        _ => false,
    }
}

/// A GitLab duration (`1h 30m`, `3 hours`, `1 week`, `90 minutes`, `30s`) in seconds;
/// `None` for text that is not one (a bare number is not: it may be a count).
pub fn seconds(text: &str) -> Option<u64> {
    let unit = |u: &str| -> Option<u64> {
        Some(match u.trim_end_matches('s') {
            "" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hr" | "hour" => 3600,
            "d" | "dy" | "day" => 86400,
            "w" | "wk" | "week" => 604_800,
            "mo" | "mon" | "month" | "mth" => 2_592_000,
            "y" | "yr" | "year" => 31_536_000,
            _ => return None,
        })
    };
    let lower = text.trim().to_lowercase();
    if lower.is_empty() || lower.parse::<u64>().is_ok() {
        return None;
    }
    let mut total = 0u64;
    let mut rest = lower.as_str();
    while !rest.is_empty() {
        rest = rest
            .trim_start_matches([' ', ','])
            .trim_start_matches("and ");
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        total += n * unit(&rest[..letters])?;
        rest = &rest[letters..];
    }
    Some(total)
}
