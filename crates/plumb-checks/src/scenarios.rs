//! Concrete pipelines for deciding conditions: a branch (or a tag, or a merge request),
//! what started the pipeline, and the values of the CI/CD variables the conditions
//! read. The candidates come from the conditions themselves: each branch name and
//! variable value they compare with, a name each pattern matches, one none matches, and
//! every source they name. PL2005 asks whether one job runs where another cannot, which
//! four sample events (a push to the default branch or another, a tag, a merge request)
//! miss when the conditions compare with other names (`branch =~ "^release/"` against
//! `branch == "release/1.0"`, `var("DEPLOY") == "1"`, `source == "schedule"`).

use plumb_semantics::{regex_match, BranchTest, Cond, Truth};
use std::collections::BTreeMap;

/// A pipeline the conditions are decided for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub kind: Kind,
    /// `CI_PIPELINE_SOURCE`.
    pub source: String,
    /// The variables the conditions read, by name (absent: unset, `""`).
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Branch(String),
    Tag,
    MergeRequest,
}

/// A branch no pattern of a sane pipeline names.
pub const ANOTHER_BRANCH: &str = "\u{0}another-branch";
/// More scenarios than this are not all tried: each variable then varies alone, and
/// the list is cut (a hostile program's thousand names cost no more).
const MOST_SCENARIOS: usize = 1024;
/// The most branch names, sources and values of one variable taken from the conditions.
const MOST_CANDIDATES: usize = 32;
/// Conditions with more tests than this together are not searched (each scenario
/// decides each test).
pub const MOST_TESTS: usize = 256;
const MR: &str = "merge_request_event";
const DEFAULT_BRANCH_VAR: &str = "CI_DEFAULT_BRANCH";

impl Scenario {
    /// What a reader calls it: "a push to `release/x`", "a `schedule` pipeline on
    /// `main` with `DEPLOY=1`".
    pub fn describe(&self) -> String {
        let on = match &self.kind {
            Kind::Branch(b) if b == ANOTHER_BRANCH => "another branch".to_string(),
            Kind::Branch(b) => format!("`{b}`"),
            Kind::Tag => "a tag".to_string(),
            Kind::MergeRequest => return self.with_vars("a merge request".into()),
        };
        let text = match (&self.kind, self.source.as_str()) {
            (Kind::Tag, "push") => "a tag".to_string(),
            (_, "push") => format!("a push to {on}"),
            (_, source) => format!("a `{source}` pipeline for {on}"),
        };
        self.with_vars(text)
    }

    fn with_vars(&self, text: String) -> String {
        let said: Vec<String> = (self.vars.iter())
            .filter(|(k, _)| *k != DEFAULT_BRANCH_VAR)
            .map(|(k, v)| match v.as_str() {
                "" => format!("`{k}` unset"),
                OTHER => format!("`{k}` set to another value"),
                v => format!("`{k}={v}`"),
            })
            .collect();
        if said.is_empty() {
            text
        } else {
            format!("{text} with {}", said.join(", "))
        }
    }

    /// The condition's value here, for a job whose `env` sets `fixed` (GitLab's rules
    /// read a job's variables): `manual`, `changes`, `exists` and predefined variables
    /// the scenario does not set may go either way.
    pub fn decide(&self, cond: &Cond, fixed: &BTreeMap<String, String>) -> Truth {
        match cond {
            Cond::Always => Truth::Yes,
            Cond::Never => Truth::No,
            Cond::Branch(test) => self.test(test, Some(self.branch()), fixed),
            Cond::Tag => Truth::from(self.kind == Kind::Tag),
            Cond::MergeRequest => Truth::from(self.kind == Kind::MergeRequest),
            Cond::Source(test) => self.test(test, Some(&self.source), fixed),
            Cond::Var(name, test) => self.test(test, self.var(name, fixed), fixed),
            Cond::Manual | Cond::Changes(_) | Cond::Exists(_) => Truth::Maybe,
            Cond::And(a, b) => self.decide(a, fixed).and(self.decide(b, fixed)),
            Cond::Or(a, b) => self.decide(a, fixed).or(self.decide(b, fixed)),
            Cond::Not(a) => self.decide(a, fixed).not(),
        }
    }

    /// `text` against a test: unknown when either side is.
    fn test(
        &self,
        test: &BranchTest,
        text: Option<&str>,
        fixed: &BTreeMap<String, String>,
    ) -> Truth {
        let Some(text) = text else {
            return Truth::Maybe;
        };
        match test {
            BranchTest::EqVar(other) | BranchTest::NotEqVar(other) => {
                match self.var(other, fixed) {
                    Some(value) => test.decide(text, |_| value),
                    None => Truth::Maybe,
                }
            }
            _ => test.decide(text, |_| ""),
        }
    }

    fn branch(&self) -> &str {
        match &self.kind {
            Kind::Branch(b) => b,
            _ => "",
        }
    }

    /// A variable's value (`None`: not known here). The predefined ones follow the
    /// scenario; others GitLab sets (`CI_…`, `GITLAB_…`) are not known; the job's own
    /// literal values win over the scenario's.
    fn var<'s>(&'s self, name: &str, fixed: &'s BTreeMap<String, String>) -> Option<&'s str> {
        let branch = matches!(self.kind, Kind::Branch(_));
        match name {
            "CI_COMMIT_BRANCH" => Some(self.branch()),
            "CI_PIPELINE_SOURCE" => Some(&self.source),
            "CI_COMMIT_TAG" if self.kind == Kind::Tag => None,
            "CI_COMMIT_TAG" => Some(""),
            "CI_COMMIT_REF_NAME" if branch => Some(self.branch()),
            DEFAULT_BRANCH_VAR => self.vars.get(name).map(String::as_str),
            // set in merge requests' pipelines only
            _ if name.starts_with("CI_MERGE_REQUEST_") && self.kind != Kind::MergeRequest => {
                Some("")
            }
            _ if is_predefined(name) => None,
            _ => fixed
                .get(name)
                .or_else(|| self.vars.get(name))
                .map_or(Some(""), |v| Some(v.as_str())),
        }
    }
}

/// A variable GitLab sets itself, whose value the scenarios do not choose.
fn is_predefined(name: &str) -> bool {
    name.starts_with("CI_") || name.starts_with("GITLAB_")
}

/// A value no condition compares with.
const OTHER: &str = "\u{0}other";

/// The scenarios worth trying for `conds`, the default branch's first.
/// None when the conditions hold more than [`MOST_TESTS`] tests.
pub fn scenarios(conds: &[&Cond], default_branch: &str, most: usize) -> Vec<Scenario> {
    let most = most.min(MOST_SCENARIOS);
    let mut seen = Seen::default();
    for c in conds {
        seen.collect(c);
    }
    if seen.tests > MOST_TESTS {
        return Vec::new();
    }
    let mut branches = vec![default_branch.to_string(), ANOTHER_BRANCH.to_string()];
    branches.extend(seen.branches);
    dedup(&mut branches);
    branches.truncate(MOST_CANDIDATES);
    let mut sources = vec!["push".to_string()];
    sources.extend(seen.sources.into_iter().filter(|s| s != MR));
    dedup(&mut sources);
    sources.truncate(MOST_CANDIDATES);
    let mut kinds: Vec<(Kind, String)> = Vec::new();
    for b in &branches {
        kinds.extend(sources.iter().map(|s| (Kind::Branch(b.clone()), s.clone())));
    }
    kinds.extend(sources.iter().map(|s| (Kind::Tag, s.clone())));
    kinds.push((Kind::MergeRequest, MR.to_string()));
    // the default branch is the configured one, never empty
    let fixed = BTreeMap::from([(DEFAULT_BRANCH_VAR.to_string(), default_branch.to_string())]);
    let axes: Vec<(String, Vec<String>)> = (seen.vars.into_iter())
        .filter(|(name, _)| !is_predefined(name))
        .map(|(name, mut values)| {
            values.insert(0, String::new());
            values.push(OTHER.to_string());
            dedup(&mut values);
            values.truncate(MOST_CANDIDATES);
            (name, values)
        })
        .collect();
    let assignments = assignments(&axes, most / kinds.len().max(1));
    let mut out = Vec::new();
    'kinds: for (kind, source) in kinds {
        for vars in &assignments {
            if out.len() >= most {
                break 'kinds;
            }
            let mut vars = vars.clone();
            vars.extend(fixed.clone());
            out.push(Scenario {
                kind: kind.clone(),
                source: source.clone(),
                vars,
            });
        }
    }
    out
}

/// Every combination of the variables' values when there are at most `most`, else
/// each variable's values with the others unset.
fn assignments(axes: &[(String, Vec<String>)], most: usize) -> Vec<BTreeMap<String, String>> {
    let total = axes
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
        .unwrap_or(usize::MAX);
    if total > most.max(1) {
        let mut out = vec![BTreeMap::new()];
        for (name, values) in axes {
            out.extend(
                values
                    .iter()
                    .map(|v| BTreeMap::from([(name.clone(), v.clone())])),
            );
        }
        return out;
    }
    let mut out = vec![BTreeMap::new()];
    for (name, values) in axes {
        out = (out.iter())
            .flat_map(|partial| {
                values.iter().map(move |v| {
                    let mut next = partial.clone();
                    next.insert(name.clone(), v.clone());
                    next
                })
            })
            .collect();
    }
    out
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|x| seen.insert(x.clone()));
}

/// The names, values, patterns and sources the conditions compare with.
#[derive(Default)]
struct Seen {
    /// How many tests the conditions hold.
    tests: usize,
    branches: Vec<String>,
    sources: Vec<String>,
    vars: BTreeMap<String, Vec<String>>,
}

impl Seen {
    fn collect(&mut self, cond: &Cond) {
        for c in cond.nodes() {
            self.tests += 1;
            if self.tests > MOST_TESTS {
                return;
            }
            match c {
                Cond::Branch(test) => {
                    self.branches.extend(candidates(test));
                    self.note_var_of(test);
                }
                Cond::Source(test) => {
                    self.sources.extend(candidates(test));
                    self.note_var_of(test);
                }
                Cond::Var(name, test) => {
                    let values = candidates(test);
                    self.vars.entry(name.clone()).or_default().extend(values);
                    self.note_var_of(test);
                }
                _ => {}
            }
        }
    }

    /// `branch == var("X")`: X is read, and the branch's names are its values.
    fn note_var_of(&mut self, test: &BranchTest) {
        if let BranchTest::EqVar(x) | BranchTest::NotEqVar(x) = test {
            let values = self.vars.entry(x.clone()).or_default();
            values.extend(self.branches.iter().cloned());
        }
    }
}

/// The values worth trying against one test: the text compared with, or a text the
/// pattern matches (and one with more after it).
fn candidates(test: &BranchTest) -> Vec<String> {
    match test {
        BranchTest::Eq(v) | BranchTest::NotEq(v) => vec![v.clone()],
        BranchTest::Matches(re) => match matching_text(re) {
            Some(text) => vec![format!("{text}x"), text],
            None => Vec::new(),
        },
        BranchTest::EqVar(_) | BranchTest::NotEqVar(_) => Vec::new(),
    }
}

/// A text that pattern `re` matches, for the common shapes (`^release/`,
/// `^(main|master)$`, `^v\d+\.\d+`), checked against the pattern; `None` for others.
pub fn matching_text(re: &str) -> Option<String> {
    const LONGEST: usize = 256;
    if re.len() > LONGEST {
        return None;
    }
    let text = sample(re)?;
    (regex_match(re, &text) == Some(true)).then_some(text)
}

/// The first alternative of each group and one repetition of each repeated atom.
fn sample(re: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' | '$' | '*' | '?' | '+' => {}
            '.' => out.push('x'),
            '\\' => out.push(match chars.next()? {
                'd' => '0',
                'w' => 'a',
                's' => ' ',
                c if c.is_ascii_alphanumeric() => return None,
                c => c,
            }),
            '[' => {
                let first = chars.next()?;
                if first == '^' {
                    return None;
                }
                out.push(first);
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
            }
            '(' => {
                let mut depth = 1;
                let mut group = String::new();
                for c in chars.by_ref() {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        break;
                    }
                    group.push(c);
                }
                let group = group.strip_prefix("?:").unwrap_or(&group);
                out.push_str(&sample(first_alternative(group))?);
            }
            '|' => break,
            '{' | ')' | ']' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// The text before the first `|` outside parentheses.
fn first_alternative(group: &str) -> &str {
    let mut depth = 0;
    for (i, c) in group.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => return &group[..i],
            _ => {}
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_the_common_patterns_match() {
        assert_eq!(matching_text("^release/").as_deref(), Some("release/"));
        assert_eq!(matching_text("^(main|master)$").as_deref(), Some("main"));
        assert_eq!(matching_text(r"^v\d+\.\d+").as_deref(), Some("v0.0"));
        assert_eq!(matching_text("^feature/.*$").as_deref(), Some("feature/x"));
        assert_eq!(matching_text("[^a]"), None);
        assert_eq!(matching_text("^a{2}$"), None);
    }

    #[test]
    fn huge_conditions_are_not_searched() {
        let mut c = Cond::Branch(BranchTest::Eq("b0".into()));
        for i in 1..400 {
            c = Cond::Or(
                Box::new(c),
                Box::new(Cond::Branch(BranchTest::Eq(format!("b{i}")))),
            );
        }
        assert!(scenarios(&[&c], "main", MOST_SCENARIOS).is_empty());
        let small = Cond::Var("X".into(), BranchTest::Eq("1".into()));
        let found = scenarios(&[&small], "main", MOST_SCENARIOS);
        assert!(found.len() <= MOST_SCENARIOS);
        assert!(found
            .iter()
            .any(|s| s.vars.get("X").map(String::as_str) == Some("1")));
    }

    #[test]
    fn a_scenario_reads_as_an_event() {
        let s = Scenario {
            kind: Kind::Branch("main".into()),
            source: "schedule".into(),
            vars: BTreeMap::from([("DEPLOY".into(), "1".into())]),
        };
        assert_eq!(
            s.describe(),
            "a `schedule` pipeline for `main` with `DEPLOY=1`"
        );
    }
}
