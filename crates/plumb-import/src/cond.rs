//! GitLab's `rules:`, `only:`/`except:` and `workflow: rules` as Plumb conditions.
//!
//! Plumb's conditions speak of one event (a branch push, a tag, a merge request) and
//! of `changes` and `manual`; a GitLab expression on anything else (a schedule, a user's
//! variable) has no Plumb form. Such a test is replaced by `true` where it appears
//! positively and `false` under a negation, so the Plumb condition admits at least the
//! events the original did (the credential checks then err on the side of reporting),
//! and the replacement is reported.

use crate::yaml::Node;

/// One test Plumb's conditions can make.
#[derive(Clone, Debug, PartialEq)]
pub enum Atom {
    /// `branch == "NAME"` (`equal`) or `branch != "NAME"`; an empty name means no
    /// branch (`branch != ""`: a pipeline for a branch).
    Branch {
        name: String,
        equal: bool,
    },
    /// `branch =~ "REGEX"`.
    BranchMatches(String),
    /// `source OP "VALUE"` (`==`, `!=` or `=~`): what started the pipeline.
    Source(&'static str, String),
    /// `var("NAME") OP "VALUE"` (`==`, `!=` or `=~`): a CI/CD variable, `""` when unset.
    Var(String, &'static str, String),
    /// `branch == var("NAME")` (`equal`) or `branch != var("NAME")`:
    /// `$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH`.
    BranchIsVar {
        var: String,
        equal: bool,
    },
    /// `var("A") OP var("B")` (`==` or `!=`): two variables compared.
    VarIsVar(String, &'static str, String),
    Tag,
    MergeRequest,
    Manual,
    /// `changes([PATHS])`.
    Changes(Vec<String>),
    /// `exists([PATHS])`.
    Exists(Vec<String>),
}

impl Atom {
    /// The atom in Plumb syntax.
    fn to_plumb(&self) -> String {
        let list = |paths: &[String]| {
            let quoted: Vec<String> = paths.iter().map(|p| quote(p)).collect();
            quoted.join(", ")
        };
        match self {
            Atom::Branch { name, equal } => {
                format!(
                    "branch {} {}",
                    if *equal { "==" } else { "!=" },
                    quote(name)
                )
            }
            Atom::BranchMatches(re) => format!("branch =~ {}", quote(re)),
            Atom::Source(op, value) => format!("source {op} {}", quote(value)),
            Atom::Var(name, op, value) => format!("var({}) {op} {}", quote(name), quote(value)),
            Atom::BranchIsVar { var, equal } => {
                let op = if *equal { "==" } else { "!=" };
                format!("branch {op} var({})", quote(var))
            }
            Atom::VarIsVar(a, op, b) => format!("var({}) {op} var({})", quote(a), quote(b)),
            Atom::Tag => "tag".into(),
            Atom::MergeRequest => "merge_request".into(),
            Atom::Manual => "manual".into(),
            Atom::Changes(paths) => format!("changes([{}])", list(paths)),
            Atom::Exists(paths) => format!("exists([{}])", list(paths)),
        }
    }
    /// Whether it is written with an operator (so `!` needs parentheses around it).
    fn is_comparison(&self) -> bool {
        matches!(
            self,
            Atom::Branch { .. }
                | Atom::BranchMatches(_)
                | Atom::Source(..)
                | Atom::Var(..)
                | Atom::BranchIsVar { .. }
                | Atom::VarIsVar(..)
        )
    }

    /// The same test negated, when Plumb has an operator for it (`==` and `!=`).
    fn negated(&self) -> Option<Atom> {
        let flip = |op: &str| match op {
            "==" => Some("!="),
            "!=" => Some("=="),
            _ => None,
        };
        Some(match self {
            Atom::Branch { name, equal } => Atom::Branch {
                name: name.clone(),
                equal: !equal,
            },
            Atom::Source(op, v) => Atom::Source(flip(op)?, v.clone()),
            Atom::Var(n, op, v) => Atom::Var(n.clone(), flip(op)?, v.clone()),
            Atom::BranchIsVar { var, equal } => Atom::BranchIsVar {
                var: var.clone(),
                equal: !equal,
            },
            Atom::VarIsVar(a, op, b) => Atom::VarIsVar(a.clone(), flip(op)?, b.clone()),
            _ => return None,
        })
    }
}

/// How many operators and parts a condition may have for the simplifications that
/// compare its parts ([`Cond::parts`]).
const FEW_PARTS: usize = 64;

/// Which operator [`Cond::parts`] splits a condition at.
#[derive(Clone, Copy)]
enum Join {
    And,
    Or,
    /// `&&`, `||` and `!`: every part of it.
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    True,
    False,
    /// A test Plumb can make.
    Atom(Atom),
    /// A test Plumb cannot express, as GitLab wrote it.
    Unknown(String),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    pub fn and(a: Cond, b: Cond) -> Cond {
        // a pipeline for a named branch is for no tag and no merge request (their
        // `branch` is empty): `branch != "" && !tag` says no more than `branch != ""`
        let (a, b) = match (a.names_a_branch(), b.names_a_branch()) {
            (true, false) if b.is_small() => (a, b.without_branch_implied()),
            (false, true) if a.is_small() => (a.without_branch_implied(), b),
            _ => (a, b),
        };
        // `branch == "main" && !(tag || branch == "develop")` is `branch == "main"`:
        // what a named branch (or a tag) is decides the other tests of the branch
        // (only into a side of a few tests: a chain of thousands is left as written)
        let b = match b.is_small() {
            true => (a.fact_atoms().into_iter()).fold(b, |b, fact| b.assuming(&fact)),
            false => b,
        };
        let a = match a.is_small() {
            true => (b.fact_atoms().into_iter()).fold(a, |a, fact| a.assuming(&fact)),
            false => a,
        };
        match (a, b) {
            (Cond::False, _) | (_, Cond::False) => Cond::False,
            (Cond::True, x) | (x, Cond::True) => x,
            (a, b) if a == b => a,
            (a, b) => Cond::And(Box::new(a), Box::new(b)),
        }
    }
    /// The conjuncts that say which ref the pipeline is for (`branch == "main"`, `tag`),
    /// in a condition of a few parts: what [`Cond::assuming`] can decide others by.
    fn fact_atoms(&self) -> Vec<Atom> {
        let conjuncts = self.parts(Join::And, FEW_PARTS).unwrap_or_default();
        (conjuncts.into_iter())
            .filter_map(|c| match c {
                Cond::Atom(a @ Atom::Tag) => Some(a.clone()),
                Cond::Atom(a @ Atom::Branch { name, equal: true }) if !name.is_empty() => {
                    Some(a.clone())
                }
                _ => None,
            })
            .collect()
    }
    /// Whether the condition has at most a few dozen parts.
    fn is_small(&self) -> bool {
        self.parts(Join::Any, FEW_PARTS).is_some()
    }
    /// The parts of the condition joined by `join`, left to right, when it is made of
    /// at most `limit` operators and parts; `None` for a bigger one, whose walk stops
    /// there. The simplifications that compare parts only look at small conditions, so
    /// that a chain of thousands of rules costs no more per step than a short one.
    fn parts(&self, join: Join, limit: usize) -> Option<Vec<&Cond>> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        let mut visited = 0;
        while let Some(c) = stack.pop() {
            visited += 1;
            if visited > limit {
                return None;
            }
            match (c, join) {
                (Cond::And(a, b), Join::And | Join::Any)
                | (Cond::Or(a, b), Join::Or | Join::Any) => stack.extend([&**b, &**a]),
                (Cond::Not(a), Join::Any) => stack.push(a),
                _ => out.push(c),
            }
        }
        Some(out)
    }
    /// The condition where `fact` holds ([`decided_by`]).
    fn assuming(self, fact: &Atom) -> Cond {
        match self {
            Cond::Atom(a) => match decided_by(fact, &a) {
                Some(true) => Cond::True,
                Some(false) => Cond::False,
                None => Cond::Atom(a),
            },
            // rebuilt without asking again what the ref decides (each `&&` of a long
            // chain would walk the chain again)
            Cond::And(a, b) => match (a.assuming(fact), b.assuming(fact)) {
                (Cond::False, _) | (_, Cond::False) => Cond::False,
                (Cond::True, x) | (x, Cond::True) => x,
                (a, b) => Cond::And(Box::new(a), Box::new(b)),
            },
            Cond::Or(a, b) => Cond::or(a.assuming(fact), b.assuming(fact)),
            Cond::Not(a) => Cond::not(a.assuming(fact)),
            x => x,
        }
    }
    /// Whether the condition holds only where `branch` is not empty (by one of its
    /// conjuncts, when it has a few).
    fn names_a_branch(&self) -> bool {
        let conjuncts = self.parts(Join::And, FEW_PARTS).unwrap_or_default();
        (conjuncts.iter()).any(
            |c| matches!(c, Cond::Atom(Atom::Branch { name, equal }) if *equal != name.is_empty()),
        )
    }
    /// The condition less its conjuncts `!tag` and `!merge_request`, which every
    /// pipeline for a branch meets.
    fn without_branch_implied(self) -> Cond {
        self.without(&Cond::Not(Box::new(Cond::Atom(Atom::Tag))))
            .without(&Cond::Not(Box::new(Cond::Atom(Atom::MergeRequest))))
    }
    pub fn or(a: Cond, b: Cond) -> Cond {
        match (a, b) {
            (Cond::True, _) | (_, Cond::True) => Cond::True,
            (Cond::False, x) | (x, Cond::False) => x,
            // `A || A && X` is `A`, and `A && X || A` too
            (a, b) if a.absorbs(&b) => a,
            (a, b) if b.absorbs(&a) => b,
            (a, b) => Cond::Or(Box::new(a), Box::new(b)),
        }
    }
    /// Whether `other` holds only where this holds because it is this or one of this
    /// condition's alternatives with more conjuncts (`A` absorbs `A && X`), when both
    /// are made of a few parts.
    fn absorbs(&self, other: &Cond) -> bool {
        let Some(theirs) = other.parts(Join::And, FEW_PARTS) else {
            return false;
        };
        let alternatives = self.parts(Join::Or, FEW_PARTS).unwrap_or_default();
        alternatives.into_iter().any(|alternative| {
            let mine = alternative.parts(Join::And, FEW_PARTS).unwrap_or_default();
            !mine.is_empty()
                && mine.len() <= theirs.len()
                && mine.iter().all(|m| theirs.contains(m))
        })
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(a: Cond) -> Cond {
        match a {
            Cond::True => Cond::False,
            Cond::False => Cond::True,
            Cond::Not(x) => *x,
            Cond::Atom(a) => match a.negated() {
                Some(n) => Cond::Atom(n),
                None => Cond::Not(Box::new(Cond::Atom(a))),
            },
            x => Cond::Not(Box::new(x)),
        }
    }
    /// The condition with `part` dropped where it is a conjunct (`part` is known to
    /// hold wherever this condition is asked).
    pub fn without(self, part: &Cond) -> Cond {
        match self {
            Cond::And(a, b) => Cond::and(a.without(part), b.without(part)),
            x if x == *part => Cond::True,
            x => x,
        }
    }

    pub fn atom(a: Atom) -> Cond {
        Cond::Atom(a)
    }

    /// The conjuncts of the condition (itself when it is no `&&`).
    fn conjuncts(&self) -> Vec<&Cond> {
        let mut out = Vec::new();
        self.chain(false, &mut out);
        out
    }

    /// The condition where each of `facts` is known to hold: a fact is `true` in it, and
    /// its negation `false` (`!(A && X)` given `A` is `!X`).
    pub fn given(self, facts: &[&Cond]) -> Cond {
        if facts.iter().any(|f| **f == self) {
            return Cond::True;
        }
        if facts.iter().any(|f| Cond::not((*f).clone()) == self) {
            return Cond::False;
        }
        match self {
            Cond::And(a, b) => Cond::and(a.given(facts), b.given(facts)),
            Cond::Or(a, b) => Cond::or(a.given(facts), b.given(facts)),
            Cond::Not(a) => Cond::not(a.given(facts)),
            x => x,
        }
    }

    /// `a || b`, with the conjuncts both start with written once: `A && X || A && !X`
    /// is `A && (X || !X)`, and `A || A && X` is `A`.
    pub fn or_factored(a: Cond, b: Cond) -> Cond {
        let (ca, cb) = (a.conjuncts(), b.conjuncts());
        let common = ca.iter().zip(&cb).take_while(|(x, y)| x == y).count();
        if common == 0
            || matches!(a, Cond::True | Cond::False)
            || matches!(b, Cond::True | Cond::False)
        {
            return Cond::or(a, b);
        }
        let join = |parts: &[&Cond]| {
            (parts.iter()).fold(Cond::True, |acc, c| Cond::and(acc, (*c).clone()))
        };
        let shared = join(&ca[..common]);
        let (rest_a, rest_b) = (join(&ca[common..]), join(&cb[common..]));
        Cond::and(shared, Cond::or(rest_a, rest_b))
    }

    /// Replaces unknown tests by `true` (positive) or `false` (under a negation), and
    /// gives the tests replaced.
    pub fn approximate(self, unknown: &mut Vec<String>) -> Cond {
        self.approx(true, unknown)
    }
    fn approx(self, positive: bool, unknown: &mut Vec<String>) -> Cond {
        match self {
            Cond::Unknown(text) => {
                if !unknown.contains(&text) {
                    unknown.push(text);
                }
                if positive {
                    Cond::True
                } else {
                    Cond::False
                }
            }
            Cond::And(a, b) => Cond::and(a.approx(positive, unknown), b.approx(positive, unknown)),
            Cond::Or(a, b) => Cond::or(a.approx(positive, unknown), b.approx(positive, unknown)),
            Cond::Not(a) => Cond::not(a.approx(!positive, unknown)),
            other => other,
        }
    }

    /// How many alternatives the condition multiplies out into, and about how many
    /// GitLab tokens the longest is (`!(A && B) && !(C && D)` is four of two tests):
    /// the rules a GitLab list written from it needs. Saturating: a long list only
    /// counts as too long.
    fn multiplied_out(&self, negated: bool) -> (usize, usize) {
        match self {
            Cond::Not(a) => a.multiplied_out(!negated),
            Cond::And(a, b) | Cond::Or(a, b) => {
                let (ca, la) = a.multiplied_out(negated);
                let (cb, lb) = b.multiplied_out(negated);
                match matches!(self, Cond::Or(..)) != negated {
                    true => (ca.saturating_add(cb), la.max(lb)),
                    false => (ca.saturating_mul(cb), la.saturating_add(lb)),
                }
            }
            // `$X == null || $X == ""` (Plumb's `var("X") == ""`) is nine tokens, its
            // negation `$X` one, a comparison three; each with its `&&`
            Cond::Atom(Atom::Var(_, op @ ("==" | "!="), value)) if value.is_empty() => {
                match (*op == "==") != negated {
                    true => (1, 10),
                    false => (1, 2),
                }
            }
            // `when: manual`, `changes:` and `exists:` are keys of the rule, not tests
            // of its `if:`
            Cond::Atom(Atom::Manual | Atom::Changes(_) | Atom::Exists(_)) => (1, 0),
            _ => (1, 4),
        }
    }

    /// The condition in Plumb syntax (after [`Cond::approximate`]).
    pub fn to_plumb(&self) -> String {
        let mut out = String::new();
        self.print(0, &mut out);
        out
    }
    /// Written into one buffer: a chain of a thousand `||` is not copied at each link.
    fn print(&self, context: u8, out: &mut String) {
        // 0: top / inside ||, 1: inside &&, 2: under !
        let (op, inner, parens) = match self {
            Cond::True => return out.push_str("true"),
            Cond::False => return out.push_str("false"),
            Cond::Atom(a) => {
                let text = a.to_plumb();
                if context == 2 && a.is_comparison() {
                    out.push('(');
                    out.push_str(&text);
                    out.push(')');
                } else {
                    out.push_str(&text);
                }
                return;
            }
            Cond::Unknown(text) => {
                out.push_str("true /* ");
                out.push_str(text);
                out.push_str(" */");
                return;
            }
            Cond::Not(a) => {
                out.push('!');
                return a.print(2, out);
            }
            Cond::Or(..) => (" || ", 0, context > 0),
            Cond::And(..) => (" && ", 1, context > 1),
        };
        let mut operands = Vec::new();
        self.chain(matches!(self, Cond::Or(..)), &mut operands);
        if parens {
            out.push('(');
        }
        print_chain(&operands, op, inner, out);
        if parens {
            out.push(')');
        }
    }
    /// How deeply [`Cond::print`] nests brackets in the condition (walked without
    /// recursion: a condition may be thousands of rules deep).
    fn brackets(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(self, 0u8, 0usize)];
        while let Some((c, context, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            match c {
                Cond::Atom(a) if context == 2 && a.is_comparison() => {
                    deepest = deepest.max(depth + 1)
                }
                Cond::Not(a) => stack.push((a, 2, depth)),
                Cond::Or(..) | Cond::And(..) => {
                    let or = matches!(c, Cond::Or(..));
                    let (inner, parens) = if or {
                        (0, context > 0)
                    } else {
                        (1, context > 1)
                    };
                    let mut operands = Vec::new();
                    c.chain(or, &mut operands);
                    let depth = depth + usize::from(parens) + chain_groups_nested(operands.len());
                    stack.extend(operands.into_iter().map(|o| (o, inner, depth)));
                }
                _ => {}
            }
        }
        deepest
    }
    /// The operands of the chain of one operator (`or`: `||`) that starts here, in
    /// order (without recursion: a chain may be thousands long).
    fn chain<'c>(&'c self, or: bool, out: &mut Vec<&'c Cond>) {
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match (c, or) {
                (Cond::Or(a, b), true) | (Cond::And(a, b), false) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => out.push(c),
            }
        }
    }
    pub fn mentions_merge_request(&self) -> bool {
        match self {
            Cond::Atom(a) => *a == Atom::MergeRequest,
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.mentions_merge_request() || b.mentions_merge_request()
            }
            Cond::Not(a) => a.mentions_merge_request(),
            _ => false,
        }
    }
    /// Whether the condition can hold in a merge request's pipeline (GitLab then
    /// creates one): `merge_request`, but also rules with no test of the event, or
    /// a test of a variable.
    pub fn asks_for_merge_requests(&self) -> bool {
        self.in_merge_request().0
    }

    /// (can be true, can be false) in a merge request's pipeline, where `branch` is
    /// `""`, `tag` false, `source` `merge_request_event`; other tests can go either way.
    fn in_merge_request(&self) -> (bool, bool) {
        let known = |b: bool| (b, !b);
        match self {
            Cond::True => known(true),
            Cond::False => known(false),
            Cond::Unknown(_) => (true, true),
            Cond::Atom(a) => match a {
                Atom::MergeRequest => known(true),
                Atom::Tag => known(false),
                Atom::Branch { name, equal } => known(name.is_empty() == *equal),
                // `CI_DEFAULT_BRANCH` is never empty; the branch is, in a merge request
                Atom::BranchIsVar { var, equal } if var == "CI_DEFAULT_BRANCH" => known(!equal),
                Atom::Source("==", v) => known(v == "merge_request_event"),
                Atom::Source("!=", v) => known(v != "merge_request_event"),
                // the branch, and the tag, are `""` there
                Atom::BranchMatches(re) if needs_a_character(re) => known(false),
                Atom::Var(var, op, v) if var == "CI_COMMIT_TAG" => match *op {
                    "==" => known(v.is_empty()),
                    "!=" => known(!v.is_empty()),
                    _ if needs_a_character(v) => known(false),
                    _ => (true, true),
                },
                _ => (true, true),
            },
            Cond::And(a, b) => {
                let (a, b) = (a.in_merge_request(), b.in_merge_request());
                (a.0 && b.0, a.1 || b.1)
            }
            Cond::Or(a, b) => {
                let (a, b) = (a.in_merge_request(), b.in_merge_request());
                (a.0 || b.0, a.1 && b.1)
            }
            Cond::Not(a) => {
                let (t, f) = a.in_merge_request();
                (f, t)
            }
        }
    }
}

/// Whether a regular expression matches no empty text: its first element, after an
/// optional `^`, is a character (a literal or `.`) that nothing makes optional
/// (`^release/`, `v[0-9]+`; not `.*`, `(a|)`, `x?`).
fn needs_a_character(re: &str) -> bool {
    let body = re.strip_prefix('^').unwrap_or(re);
    let mut chars = body.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let literal = first.is_alphanumeric() || matches!(first, '.' | '/' | '_' | '-' | '@' | ':');
    let optional = matches!(chars.next(), Some('*' | '?' | '{'));
    literal && !optional && !re.contains('|')
}

/// `CI_MERGE_REQUEST_…` variables GitLab sets in every merge request's pipeline (others,
/// such as `_LABELS` or `_MILESTONE`, only when the merge request has them).
const MERGE_REQUEST_ALWAYS_SETS: &[&str] = &[
    "CI_MERGE_REQUEST_ID",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_PROJECT_ID",
    "CI_MERGE_REQUEST_PROJECT_PATH",
    "CI_MERGE_REQUEST_PROJECT_URL",
    "CI_MERGE_REQUEST_REF_PATH",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_URL",
    "CI_MERGE_REQUEST_EVENT_TYPE",
    "CI_MERGE_REQUEST_TITLE",
];

/// Plumb string literal.
pub fn quote(s: &str) -> String {
    crate::literal::string_literal(s)
}

/// Translates a GitLab `if:` expression.
pub fn expression(text: &str) -> Cond {
    expression_with(text, &[])
}

/// Translates a GitLab `if:` expression where `variables` are what the file sets: the
/// pattern of `=~ $PATTERN` is the one such a variable holds (GitLab reads a variable
/// on the right of `=~` as a pattern, `/^main$/`); any other stays a variable.
pub fn expression_with(text: &str, variables: &[(String, String)]) -> Cond {
    let mut tokens = match lex(text) {
        Some(t) => t,
        None => return Cond::Unknown(text.trim().to_string()),
    };
    for i in 1..tokens.len() {
        let (before, at) = tokens.split_at_mut(i);
        let (Tok::Op("=~" | "!~"), Tok::Var(name)) = (&before[i - 1], &at[0]) else {
            continue;
        };
        // (one GitLab cannot compile it reads as a plain string: left unknown here)
        let held = variables.iter().find(|(n, _)| n == name);
        let pattern = held.and_then(|(_, v)| quoted_regex(v)).filter(|p| match p {
            Tok::Regex(re) => plumb_semantics::regex_error(re).is_none(),
            _ => false,
        });
        if let Some(pattern) = pattern {
            at[0] = pattern;
        }
    }
    let mut p = ExprParser { tokens, at: 0 };
    match p.or() {
        Some(c) if p.at == p.tokens.len() => c,
        _ => Cond::Unknown(text.trim().to_string()),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Var(String),
    Str(String),
    Regex(String),
    Null,
    Op(&'static str),
    Open,
    Close,
}

fn lex(text: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            '$' => {
                i += 1;
                let braced = chars.get(i) == Some(&'{');
                if braced {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                if braced {
                    if chars.get(i) != Some(&'}') {
                        return None;
                    }
                    out.push(Tok::Var(chars[start..i].iter().collect()));
                    i += 1;
                } else {
                    out.push(Tok::Var(chars[start..i].iter().collect()));
                }
            }
            '"' | '\'' => {
                let start = i + 1;
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += 1;
                }
                out.push(Tok::Str(chars.get(start..i)?.iter().collect()));
                i += 1;
            }
            '/' => {
                let start = i + 1;
                i += 1;
                while i < chars.len() && chars[i] != '/' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                // an unterminated pattern (`$X =~ /abc`) is no pattern
                if i >= chars.len() {
                    return None;
                }
                let body: String = chars.get(start..i)?.iter().collect();
                i += 1;
                let flags_start = i;
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let flags: String = chars[flags_start..i].iter().collect();
                out.push(Tok::Regex(with_flags(&body, &flags)));
            }
            _ => {
                // the longest word looked for is four characters: the rest of a long
                // rule is not copied at each operator
                let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
                let op = ["==", "!=", "=~", "!~", "&&", "||"]
                    .into_iter()
                    .find(|op| rest.starts_with(op));
                if let Some(op) = op {
                    out.push(Tok::Op(op));
                    i += 2;
                } else if rest.starts_with("null") {
                    out.push(Tok::Null);
                    i += 4;
                } else {
                    return None;
                }
            }
        }
    }
    Some(out)
}

struct ExprParser {
    tokens: Vec<Tok>,
    at: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }
    fn or(&mut self) -> Option<Cond> {
        let mut c = self
            .unset_or_empty("==", "||")
            .map_or_else(|| self.and(), Some)?;
        while self.peek() == Some(&Tok::Op("||")) {
            self.at += 1;
            let next = self
                .unset_or_empty("==", "||")
                .map_or_else(|| self.and(), Some)?;
            c = Cond::or(c, next);
        }
        Some(c)
    }
    fn and(&mut self) -> Option<Cond> {
        let mut c = self
            .unset_or_empty("!=", "&&")
            .map_or_else(|| self.primary(), Some)?;
        while self.peek() == Some(&Tok::Op("&&")) {
            self.at += 1;
            let next = self
                .unset_or_empty("!=", "&&")
                .map_or_else(|| self.primary(), Some)?;
            c = Cond::and(c, next);
        }
        Some(c)
    }

    /// `$X == null || $X == ""` (either way round; `!=` and `&&` for the negation):
    /// exactly Plumb's `var("X") == ""`, which compiles to it, read here before either
    /// test alone (`$X == ""` alone is false for an unset variable) and consumed.
    fn unset_or_empty(&mut self, op: &str, joiner: &'static str) -> Option<Cond> {
        let first = self.empty_comparison(self.at, op)?;
        if self.tokens.get(self.at + 3) != Some(&Tok::Op(joiner)) {
            return None;
        }
        let second = self.empty_comparison(self.at + 4, op)?;
        // `&&` binds tighter than `||`: `… || $X == "" && $Y` pairs `$X == ""` with `$Y`
        let next = self.tokens.get(self.at + 7);
        if first.0 != second.0 || first.1 == second.1 || next == Some(&Tok::Op("&&")) {
            return None;
        }
        self.at += 7;
        let empty = Cond::atom(Atom::Var(first.0, "==", String::new()));
        Some(if op == "!=" { Cond::not(empty) } else { empty })
    }

    /// `$X OP null` or `$X OP ""` (or the other way round) at token `i`: the variable's
    /// name and whether it is compared with null.
    fn empty_comparison(&self, i: usize, op: &str) -> Option<(String, bool)> {
        let [a, Tok::Op(o), b] = self.tokens.get(i..i + 3)? else {
            return None;
        };
        let ((Tok::Var(name), value) | (value, Tok::Var(name))) = (a, b) else {
            return None;
        };
        let is_null = match value {
            Tok::Null => true,
            Tok::Str(s) if s.is_empty() => false,
            _ => return None,
        };
        (*o == op && crate::names::is_variable_name(name)).then(|| (name.clone(), is_null))
    }
    fn primary(&mut self) -> Option<Cond> {
        match self.tokens.get(self.at).cloned()? {
            Tok::Open => {
                self.at += 1;
                let c = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return None;
                }
                self.at += 1;
                Some(c)
            }
            Tok::Var(name) => {
                self.at += 1;
                if let Some(Tok::Op(op @ ("==" | "!=" | "=~" | "!~"))) = self.peek().cloned() {
                    self.at += 1;
                    let rhs = self.tokens.get(self.at).cloned()?;
                    self.at += 1;
                    Some(match rhs {
                        // `$CI_DEFAULT_BRANCH == $CI_COMMIT_BRANCH`: an equality reads
                        // either way round
                        Tok::Var(other)
                            if (name == "CI_DEFAULT_BRANCH" || other == "CI_COMMIT_BRANCH")
                                && !op.contains('~') =>
                        {
                            self.comparison(&other, op, &Tok::Var(name))
                        }
                        rhs => self.comparison(&name, op, &rhs),
                    })
                } else {
                    Some(self.defined(&name))
                }
            }
            // `"main" == $CI_COMMIT_BRANCH`
            value @ (Tok::Str(_) | Tok::Null) => {
                self.at += 1;
                let Some(Tok::Op(op @ ("==" | "!="))) = self.peek().cloned() else {
                    return None;
                };
                self.at += 1;
                let Some(Tok::Var(name)) = self.tokens.get(self.at).cloned() else {
                    return None;
                };
                self.at += 1;
                Some(self.comparison(&name, op, &value))
            }
            _ => None,
        }
    }

    /// `$NAME` alone: the variable is set and not empty.
    fn defined(&self, name: &str) -> Cond {
        match name {
            "CI_COMMIT_BRANCH" => Cond::atom(Atom::Branch {
                name: String::new(),
                equal: false,
            }),
            "CI_COMMIT_TAG" => Cond::atom(Atom::Tag),
            n if MERGE_REQUEST_ALWAYS_SETS.contains(&n) => Cond::atom(Atom::MergeRequest),
            _ if crate::names::is_variable_name(name) => {
                Cond::atom(Atom::Var(name.to_string(), "!=", String::new()))
            }
            _ => Cond::Unknown(format!("${name}")),
        }
    }

    fn comparison(&self, name: &str, op: &str, rhs: &Tok) -> Cond {
        let written = format!("${name} {op} {}", show(rhs));
        // GitLab reads a quoted `"/pattern/flags"` right of `=~` as the pattern
        let quoted_pattern = match rhs {
            Tok::Str(s) if matches!(op, "=~" | "!~") => quoted_regex(s),
            _ => None,
        };
        let rhs = quoted_pattern.as_ref().unwrap_or(rhs);
        let value = match rhs {
            Tok::Str(s) | Tok::Regex(s) => Some(s.clone()),
            Tok::Var(other) if matches!(op, "==" | "!=") => {
                return variables_compared(name, op, other).unwrap_or(Cond::Unknown(written));
            }
            Tok::Null => None,
            _ => return Cond::Unknown(written),
        };
        let regex = matches!(op, "=~" | "!~");
        if regex != matches!(rhs, Tok::Regex(_)) && rhs != &Tok::Null {
            return Cond::Unknown(written);
        }
        let negate = matches!(op, "!=" | "!~");
        if value.as_deref() == Some("") && !regex {
            // GitLab reads an unset variable as null, which `""` is not; Plumb's `var`
            // is `""` when unset: only variables GitLab never sets empty translate
            let never_empty = matches!(name, "CI_COMMIT_BRANCH" | "CI_COMMIT_TAG")
                || name.starts_with("CI_MERGE_REQUEST_");
            return match (never_empty, negate) {
                (true, false) => Cond::False,
                (true, true) => Cond::True,
                (false, _) => Cond::Unknown(written),
            };
        }
        let positive = match (name, value) {
            ("CI_COMMIT_BRANCH", None) => Cond::atom(Atom::Branch {
                name: String::new(),
                equal: true,
            }),
            ("CI_COMMIT_BRANCH", Some(v)) if regex => Cond::atom(Atom::BranchMatches(v)),
            ("CI_COMMIT_BRANCH", Some(v)) => Cond::atom(Atom::Branch {
                name: v,
                equal: true,
            }),
            ("CI_COMMIT_TAG", None) => Cond::not(Cond::atom(Atom::Tag)),
            // unset exactly outside merge request pipelines
            (n, None) if MERGE_REQUEST_ALWAYS_SETS.contains(&n) => {
                Cond::not(Cond::atom(Atom::MergeRequest))
            }
            ("CI_PIPELINE_SOURCE", Some(v)) if !regex && v == "merge_request_event" => {
                Cond::atom(Atom::MergeRequest)
            }
            ("CI_PIPELINE_SOURCE", Some(v)) => {
                Cond::atom(Atom::Source(if regex { "=~" } else { "==" }, v))
            }
            // Plumb's `var` is `""` when unset: `== null` is `== ""` but for a variable
            // set to nothing
            (_, None) if crate::names::is_variable_name(name) => {
                Cond::atom(Atom::Var(name.to_string(), "==", String::new()))
            }
            (_, Some(v)) if crate::names::is_variable_name(name) => Cond::atom(Atom::Var(
                name.to_string(),
                if regex { "=~" } else { "==" },
                v,
            )),
            _ => return Cond::Unknown(written),
        };
        if negate {
            Cond::not(positive)
        } else {
            positive
        }
    }
}

/// `$A == $B` (or `!=`): `branch == var("B")` when A is the branch, else
/// `var("A") == var("B")`; `None` when a name is no variable name.
fn variables_compared(name: &str, op: &str, other: &str) -> Option<Cond> {
    let is_name = crate::names::is_variable_name;
    if !is_name(name) || !is_name(other) {
        return None;
    }
    let positive = if name == "CI_COMMIT_BRANCH" {
        Atom::BranchIsVar {
            var: other.to_string(),
            equal: true,
        }
    } else {
        Atom::VarIsVar(name.to_string(), "==", other.to_string())
    };
    let c = Cond::atom(positive);
    Some(if op == "!=" { Cond::not(c) } else { c })
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Var(v) => format!("${v}"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Regex(r) => format!("/{r}/"),
        Tok::Null => "null".into(),
        Tok::Op(o) => o.to_string(),
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
    }
}

/// What a list of `rules:` decides: the condition under which the job (or pipeline) is
/// added, and the notes on what could not be carried.
pub struct Decision {
    pub cond: Cond,
    pub notes: Vec<(usize, String)>,
    /// Notes on what the rules say of a job besides whether it runs (`when: always`,
    /// `allow_failure`): a workflow's rules say nothing of a job.
    pub job_notes: Vec<(usize, String)>,
    /// The `allow_failure` every rule that adds the job sets alike (Plumb's job field).
    pub allow_failure: Option<bool>,
    /// The `interruptible` every rule that adds the job sets alike.
    pub interruptible: Option<bool>,
    /// The `when: always`/`on_failure` every rule that adds the job has alike, as
    /// Plumb's `if_previous`.
    pub if_previous: Option<&'static str>,
    /// The `start_in` of `when: delayed` every rule that adds the job has alike, as
    /// written (Plumb's `delay`), with its line.
    pub delay: Option<(String, usize)>,
}

/// What one rule that adds the job says besides its test: the line of its `when` (else
/// its own), `when`, `allow_failure` and `start_in` (with the lines of those keys).
struct Adding<'a> {
    line: usize,
    when: &'a str,
    allow_failure: Option<(bool, usize)>,
    interruptible: Option<(bool, usize)>,
    start_in: Option<(&'a str, usize)>,
}

/// What a job says outside its `rules:` that a rule takes unless it says otherwise:
/// `when` (and `start_in`), and `allow_failure` and `interruptible` (`Rules::Result`
/// leaves a key the rule does not set to the job). A job-level `when: manual` makes
/// the job's `allow_failure` `true` unless it says otherwise, whatever its rules' `when`.
#[derive(Clone, Copy, Default)]
pub struct JobDefaults<'a> {
    pub when: Option<&'a str>,
    pub start_in: Option<(&'a str, usize)>,
    pub allow_failure: Option<bool>,
    pub interruptible: Option<bool>,
    /// The variables the job has from the file (its own first, then the top level's):
    /// `$REF =~ $PATTERN` matches the pattern one of them holds (`/^main$/`).
    pub variables: &'a [(String, String)],
}

impl<'a> JobDefaults<'a> {
    /// A job's defaults, as its own keys say them.
    pub fn of(job: &'a Node) -> Self {
        let when = job.get("when").and_then(Node::as_str);
        let allow_failure = match job.get("allow_failure") {
            Some(a) => a.as_bool(),
            None => (when == Some("manual")).then_some(true),
        };
        JobDefaults {
            when,
            start_in: job
                .get("start_in")
                .and_then(|n| Some((n.as_str()?, n.line))),
            allow_failure,
            interruptible: job.get("interruptible").and_then(Node::as_bool),
            variables: &[],
        }
    }
}

/// Whether a rule's `variables:` set only what the job already has (`NAMESPACE: dev`
/// where the job's own `variables:` say so): the job's `env` carries them.
fn the_job_s_own(rule_variables: &Node, job: &[(String, String)]) -> bool {
    crate::convert::variables(rule_variables)
        .iter()
        .all(|(name, value)| {
            job.iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, v)| v == value)
        })
}

/// The test of rules that are `!reference`s into files not read (unknown: a note at
/// the job's `rules:` says so).
pub const DANGLING_RULES: &str = "rules: `!reference`s into files not read";

/// `rules:` in GitLab's first-match order: rule i decides when its test holds and no
/// earlier rule's did; `when: never` excludes, `when: manual` needs a person.
pub fn rules(rules: &Node, job: JobDefaults) -> Decision {
    let mut notes = Vec::new();
    // each rule's test, with its outcome
    let mut decided: Vec<(&str, Cond)> = Vec::new();
    let mut adding = Vec::new();
    // variables that every rule adding the job sets alike are the job's: no note
    let variables_alike = adding_rules_variables(rules).is_some();
    // a `!reference` into a file not read is empty: it adds no rule (it is no rule that
    // always holds)
    for rule in rules.flattened().into_iter().filter(|r| !r.is_null()) {
        let mut test = match rule.get("if").and_then(Node::as_str) {
            Some(e) => expression_with(e, job.variables),
            None => Cond::True,
        };
        if let Some(changes) = rule.get("changes") {
            test = Cond::and(test, changes_cond(changes));
            if let Some(to) = changes.get("compare_to") {
                notes.push((
                    to.line,
                    "`rules: changes: compare_to` is not carried: Plumb's `changes` compares as GitLab does without it (with the push's previous commit, or a merge request's target branch)".into(),
                ));
            }
        }
        if let Some(exists) = rule.get("exists") {
            // `exists: { paths, project, ref }` looks in another project: unknown here
            let other_project = exists.get("project").is_some();
            let paths = match exists.get("paths") {
                Some(p) => p.strings(),
                None => exists.strings(),
            };
            let c = if other_project || paths.is_empty() {
                Cond::Unknown(format!("exists: {}", paths.join(", ")))
            } else {
                Cond::atom(Atom::Exists(paths))
            };
            test = Cond::and(test, c);
        }
        for key in ["variables", "needs", "auto_cancel"] {
            let Some(n) = rule.get(key) else { continue };
            let message = match key {
                "variables" if variables_alike || the_job_s_own(n, job.variables) => continue,
                "variables" => "`rules: variables` is not carried: the rules set different variables, and Plumb's `env` does not change with the condition (where this rule holds, these are not set)".to_string(),
                _ => format!("`rules: {key}` is not carried (Plumb's `when` only decides whether the job runs)"),
            };
            notes.push((n.line, message));
        }
        let when = rule
            .get("when")
            .and_then(Node::as_str)
            .unwrap_or(job.when.unwrap_or("on_success"));
        let outcome = match when {
            "never" => "never",
            "manual" => "manual",
            _ => "run",
        };
        if outcome != "never" {
            let flag = |key: &str| rule.get(key).and_then(|n| Some((n.as_bool()?, n.line)));
            let start_in = rule
                .get("start_in")
                .and_then(|n| Some((n.as_str()?, n.line)));
            adding.push(Adding {
                line: rule.get("when").map_or(rule.line, |w| w.line),
                when,
                allow_failure: flag("allow_failure"),
                interruptible: flag("interruptible"),
                start_in: start_in.or(job.start_in.filter(|_| rule.get("when").is_none())),
            });
        }
        decided.push((outcome, test));
    }
    let mut result = first_match(&decided);
    // rules that never add the job but beside `!reference`s into files not read
    // (`- !reference [.deploy-rules, rules]` then `- when: never`): those may add it,
    // so whether it runs is unknown, never "it does not" (its findings would vanish)
    if result == Cond::False && rules.flattened().iter().any(|r| r.is_null()) {
        result = Cond::Unknown(DANGLING_RULES.into());
    }
    let mut job_notes = Vec::new();
    let allow_failure = flag_alike(
        &adding,
        |a| a.allow_failure,
        job.allow_failure,
        "allow_failure",
        &mut job_notes,
    );
    let interruptible = flag_alike(
        &adding,
        |a| a.interruptible,
        job.interruptible,
        "interruptible",
        &mut job_notes,
    );
    let if_previous = previous_alike(&adding, &mut job_notes);
    let delay = delayed_alike(&adding, &mut job_notes);
    Decision {
        cond: result,
        notes,
        job_notes,
        allow_failure,
        interruptible,
        if_previous,
        delay,
    }
}

/// The condition under which the first rule whose test holds adds the job: one
/// alternative per rule where those stay few and short enough to be written back as
/// GitLab rules, else nested in the rules' order (thirty rules that each keep out
/// pipelines of a two-test `when: never` multiply out into thousands of alternatives).
fn first_match(decided: &[(&str, Cond)]) -> Cond {
    if decided.len() <= FEW_RULES {
        let alternatives = first_match_as_alternatives(decided);
        let (count, longest) = alternatives.multiplied_out(false);
        if count <= FEW_ALTERNATIVES && longest <= GITLAB_TOKENS {
            return alternatives;
        }
        // (a nesting too deep to write is no better than many alternatives)
        return first_match_nested(decided).unwrap_or(alternatives);
    }
    first_match_nested(decided).unwrap_or_else(|approximated| approximated)
}

/// How many alternatives a condition imported as alternatives may multiply out into,
/// and how long one may be: what Plumb's GitLab target lists as rules, each an
/// expression of at most GitLab's 100 tokens.
const FEW_ALTERNATIVES: usize = 64;
const GITLAB_TOKENS: usize = 100;

/// How many rules a job may have for its condition to be written as one alternative
/// per rule ([`first_match_as_alternatives`]): each excludes the earlier ones, so the
/// condition of a longer list would grow with the square of its length.
const FEW_RULES: usize = 32;

/// The condition under which the first rule whose test holds adds the job, as one
/// alternative per adding rule: rule i decides when its test holds and no earlier
/// rule's did, but an earlier rule with the same outcome need not be excluded
/// (`a || (b && !a)` is `a || b`).
fn first_match_as_alternatives(decided: &[(&str, Cond)]) -> Cond {
    let mut result = Cond::False;
    for (i, (outcome, test)) in decided.iter().enumerate() {
        // an earlier rule of another outcome takes the pipelines it holds in; but an
        // alternative that runs by itself already wins over one that waits for a
        // person (`X || S && manual` runs by itself where `X` holds), so a manual
        // rule need not exclude them: `!X` would only lengthen it (and `!changes(…)`
        // in it is a rule GitLab cannot write)
        let blocks = |o: &str| o != *outcome && (*outcome != "manual" || o == "never");
        let blocked = decided[..i]
            .iter()
            .filter(|(o, _)| blocks(o))
            .fold(Cond::False, |acc, (_, c)| Cond::or(acc, c.clone()));
        // what the rule tests holds where it decides: `!(A && X)` given `A` is `!X`
        let blocked = blocked.given(&test.conjuncts());
        let applies = Cond::and(test.clone(), Cond::not(blocked));
        match *outcome {
            "never" => {}
            "manual" => {
                result = Cond::or_factored(result, Cond::and(applies, Cond::atom(Atom::Manual)))
            }
            _ => result = Cond::or_factored(result, applies),
        }
    }
    result
}

/// The same condition nested in the rules' order, each run of rules of one outcome
/// tested together (`A || !(B || C) && (D || …)`; a manual run's tests are written
/// twice): for a long list of rules, whose alternatives would each repeat the earlier
/// tests. A list longer than [`MOST_RULES`], or nesting brackets deeper than Plumb
/// reads, is a test Plumb cannot write: `Err` with its approximation (a job only ever
/// added by hand stays manual).
fn first_match_nested(decided: &[(&str, Cond)]) -> Result<Cond, Cond> {
    const DEEPEST: usize = 48;
    let adding = (decided.iter()).filter(|(outcome, _)| *outcome != "never");
    let by_hand = adding.clone().all(|(outcome, _)| *outcome == "manual");
    let unknown = |why: &str| {
        let unknown = Cond::Unknown(format!("rules: {} rules, {why}", decided.len()));
        match by_hand {
            true => Cond::and(unknown, Cond::atom(Atom::Manual)),
            false => unknown,
        }
    };
    if adding.count() == 0 {
        return Ok(Cond::False);
    }
    if decided.len() > MOST_RULES {
        return Err(unknown(&format!("more than {MOST_RULES}")));
    }
    let nested = (runs_of_one_outcome(decided).into_iter().rev()).fold(
        Cond::False,
        |later, (outcome, tests)| match outcome {
            "never" => Cond::and(Cond::not(tests), later),
            "manual" => Cond::or(
                Cond::and(tests.clone(), Cond::atom(Atom::Manual)),
                Cond::and(Cond::not(tests), later),
            ),
            _ => Cond::or(tests, later),
        },
    );
    match nested.brackets() > DEEPEST {
        true => Err(unknown("whose first match nests deeper than Plumb writes")),
        false => Ok(nested),
    }
}

/// The most rules of one job [`first_match_nested`] writes.
const MOST_RULES: usize = 2048;

/// Consecutive rules of one outcome as one: the first of them whose test holds
/// decides, as any of them would.
fn runs_of_one_outcome<'r>(decided: &[(&'r str, Cond)]) -> Vec<(&'r str, Cond)> {
    let mut runs: Vec<(&str, Cond)> = Vec::new();
    for (outcome, test) in decided {
        match runs.last_mut() {
            Some((o, tests)) if o == outcome => {
                *tests = Cond::or(std::mem::replace(tests, Cond::False), test.clone())
            }
            _ => runs.push((outcome, test.clone())),
        }
    }
    runs
}

/// The rules that add a job (or let a pipeline run): every rule but `when: never` ones.
fn adding_rules(rules: &Node) -> impl Iterator<Item = &Node> {
    (rules.flattened().into_iter())
        .filter(|r| !r.is_null())
        .filter(|r| r.get("when").and_then(Node::as_str) != Some("never"))
}

/// The `variables:` every rule that adds the job sets alike (the same names and values,
/// as GitLab passes them), with where each value is written: the job's variables then,
/// whichever rule adds it. `None` when no rule sets any, or they differ.
pub fn adding_rules_variables(rules: &Node) -> Option<Vec<(String, String, &Node)>> {
    let each: Vec<Option<&Node>> = adding_rules(rules).map(|r| r.get("variables")).collect();
    let first = (*each.first()?)?;
    let values = |n: Option<&Node>| {
        let mut v = n.map(crate::convert::variables).unwrap_or_default();
        v.sort();
        v
    };
    let alike = each.iter().all(|n| values(*n) == values(Some(first)));
    let nodes = crate::convert::variable_nodes(first);
    let vars = crate::convert::variables(first).into_iter().zip(nodes);
    alike.then(|| {
        vars.map(|((name, value), node)| (name, value, node))
            .collect()
    })
}

/// The `variables:` of each rule that adds a job (none for one that sets none), with
/// where each value is written.
pub fn each_adding_rule_variables(
    rules: &Node,
) -> impl Iterator<Item = Vec<(String, String, &Node)>> {
    adding_rules(rules).map(|r| {
        let Some(vars) = r.get("variables") else {
            return Vec::new();
        };
        let nodes = crate::convert::variable_nodes(vars);
        let pairs = crate::convert::variables(vars).into_iter().zip(nodes);
        pairs.map(|((name, value), at)| (name, value, at)).collect()
    })
}

/// For a check, where the rules that add a job set variables differently: each variable
/// any of them sets, with the value that says most, and where it is written. The job
/// may run with any of them: the credential rules see the one that leaks.
pub fn any_rule_variables(rules: &Node) -> Vec<(String, String, &Node)> {
    let mut out: Vec<(String, String, &Node)> = Vec::new();
    let says = |v: &str| says_most(v);
    for vars in adding_rules(rules).filter_map(|r| r.get("variables")) {
        let nodes = crate::convert::variable_nodes(vars);
        for ((name, value), node) in crate::convert::variables(vars).into_iter().zip(nodes) {
            match out.iter_mut().find(|(n, ..)| *n == name) {
                Some(known) if says(&value) > says(&known.1) => *known = (name, value, node),
                Some(_) => {}
                None => out.push((name, value, node)),
            }
        }
    }
    out
}

/// How much a value of a rule's variable says, for a check choosing one of several: one
/// naming a credential-like variable (`$DEPLOY_TOKEN`) most, then a literal that could be
/// a credential or a switch turned on (`hunter2…`, `"true"` for `CI_DEBUG_TRACE`), then
/// one naming any variable, then any other; the first of the best.
fn says_most(value: &str) -> usize {
    let names_credential =
        plumb_semantics::variables_named(value).any(crate::emit::looks_like_credential);
    let plain = !value.contains('$');
    let switched_on = matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes"
    );
    let long_literal = plain && value.trim().len() >= 8 && !value.contains(char::is_whitespace);
    match () {
        _ if names_credential => 4,
        _ if switched_on || long_literal => 3,
        _ if !plain => 2,
        _ => usize::from(!value.is_empty()),
    }
}

/// The `start_in` every rule that adds the job delays it by alike (`when: delayed`):
/// Plumb's `delay`. Otherwise each delaying rule is noted once, at its `when`.
fn delayed_alike(adding: &[Adding], notes: &mut Vec<(usize, String)>) -> Option<(String, usize)> {
    let first = adding.first()?;
    let start_in = first.start_in.filter(|_| first.when == "delayed");
    let alike =
        |a: &Adding| a.when == "delayed" && a.start_in.map(|s| s.0) == start_in.map(|s| s.0);
    if let Some((text, line)) = start_in.filter(|_| adding.iter().all(alike)) {
        return Some((text.to_string(), line));
    }
    for a in adding.iter().filter(|a| a.when == "delayed") {
        let by = a
            .start_in
            .map_or(String::new(), |(t, _)| format!(" (`start_in: {t}`)"));
        notes.push((
            a.line,
            format!("`when: delayed`{by} runs the job at once in Plumb: the rules that add the job do not all delay it alike, and Plumb's `delay` is the job's"),
        ));
    }
    None
}

/// A flag every rule that adds the job sets alike, each rule taking the job's own where
/// it sets none (`allow_failure` is `false` where neither does; `interruptible` may come
/// from `default:`): that is the job's. What the rules set differently is noted where
/// each sets it.
fn flag_alike(
    adding: &[Adding],
    flag: impl Fn(&Adding) -> Option<(bool, usize)>,
    job: Option<bool>,
    key: &str,
    notes: &mut Vec<(usize, String)>,
) -> Option<bool> {
    let unset = (key == "allow_failure").then_some(false);
    let effective = |a: &Adding| flag(a).map(|(v, _)| v).or(job).or(unset);
    let first = effective(adding.first()?);
    if adding.iter().all(|a| effective(a) == first) {
        // (`allow_failure = false` is Plumb's default: written only where a key says it)
        let said = job.is_some() || adding.iter().any(|a| flag(a).is_some());
        return first.filter(|_| said);
    }
    for (_, line) in adding.iter().filter_map(&flag) {
        notes.push((line, format!("`rules: {key}` is not carried: the rules that add the job do not all set it alike, and Plumb's `{key}` is the job's")));
    }
    None
}

/// The `when: always`/`on_failure` every rule that adds the job has alike (its own or
/// the job's): Plumb's `if_previous`; what the rules say differently is noted where each
/// says it.
fn previous_alike(adding: &[Adding], notes: &mut Vec<(usize, String)>) -> Option<&'static str> {
    let if_previous = match adding.first().map(|a| a.when) {
        Some(w @ ("always" | "on_failure")) if adding.iter().all(|a| a.when == w) => {
            Some(if w == "always" { "always" } else { "failure" })
        }
        _ => None,
    };
    if if_previous.is_none() {
        for a in adding
            .iter()
            .filter(|a| matches!(a.when, "on_failure" | "always"))
        {
            notes.push((
                a.line,
                format!("`when: {}` runs the job like `on_success` in Plumb", a.when),
            ));
        }
    }
    if_previous
}

fn changes_cond(changes: &Node) -> Cond {
    let paths = match changes.get("paths") {
        Some(p) => p.strings(),
        None => changes.strings(),
    };
    Cond::atom(Atom::Changes(paths))
}

/// GitLab's default `only: [branches, tags]`: every pipeline but a merge request's.
pub fn default_refs() -> Cond {
    Cond::not(Cond::atom(Atom::MergeRequest))
}

/// `only:` / `except:` (a list of refs, or a mapping with `refs`, `variables`,
/// `changes`, `kubernetes`). An `only:` mapping without `refs` keeps GitLab's default
/// refs, `[branches, tags]`; an `except:` has no default.
pub fn refs_filter(node: &Node, only: bool) -> Cond {
    if !node.is_map() {
        return refs(&node.strings());
    }
    let mut parts = Vec::new();
    match node.get("refs") {
        Some(r) => parts.push(refs(&r.strings())),
        None if only => parts.push(default_refs()),
        None => {}
    }
    if let Some(vars) = node.get("variables") {
        let tests = vars.strings();
        let tests = tests.iter().map(|e| expression(e));
        parts.push(tests.fold(Cond::False, Cond::or));
    }
    if let Some(changes) = node.get("changes") {
        parts.push(changes_cond(changes));
    }
    if node.get("kubernetes").is_some() {
        parts.push(Cond::Unknown("kubernetes: active".into()));
    }
    // GitLab creates the job when every key of `only:` matches, and not when any key
    // of `except:` does
    match only {
        true => parts.into_iter().fold(Cond::True, Cond::and),
        false => parts.into_iter().fold(Cond::False, Cond::or),
    }
}

fn refs(names: &[String]) -> Cond {
    names.iter().map(|r| one_ref(r)).fold(Cond::False, Cond::or)
}

/// `"/^release/"` as the pattern GitLab makes of it (`Tok::Regex`), when the string is
/// one: a slash, a body, a slash, flags.
fn quoted_regex(text: &str) -> Option<Tok> {
    let rest = text.strip_prefix('/')?;
    let close = rest.rfind('/')?;
    let (body, flags) = (&rest[..close], &rest[close + 1..]);
    (flags.chars().all(|f| "imsx".contains(f)) && !body.is_empty())
        .then(|| Tok::Regex(with_flags(body, flags)))
}

/// A GitLab regex's body with its flags (`i`, `m`, `s`) as RE2's `(?ims)` prefix.
fn with_flags(body: &str, flags: &str) -> String {
    let known: String = "ims".chars().filter(|f| flags.contains(*f)).collect();
    if known.is_empty() {
        body.to_string()
    } else {
        format!("(?{known}){body}")
    }
}

/// An `only:` pattern (Ruby syntax, which GitLab falls back to) as RE2 reads it, which
/// is how a rule's `=~` is matched: RE2 has no `\Z` (end, or before a final newline); a
/// ref's name has no newline, so `\z` (end) matches the same.
fn re2_anchors(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut escaped = false;
    for c in body.chars() {
        out.push(if escaped && c == 'Z' { 'z' } else { c });
        escaped = !escaped && c == '\\';
    }
    out
}

fn source(value: &str) -> Cond {
    Cond::atom(Atom::Source("==", value.to_string()))
}

fn one_ref(r: &str) -> Cond {
    // `REF@group/project`: that ref, in that project only (not in its forks); GitLab
    // cuts at the first `@`
    if let Some((name, project)) = r.split_once('@') {
        return Cond::and(
            one_ref(name),
            Cond::atom(Atom::Var(
                "CI_PROJECT_PATH".into(),
                "==",
                project.to_string(),
            )),
        );
    }
    match r {
        "branches" => Cond::atom(Atom::Branch {
            name: String::new(),
            equal: false,
        }),
        "tags" => Cond::atom(Atom::Tag),
        "merge_requests" => Cond::atom(Atom::MergeRequest),
        "pushes" => source("push"),
        "api" => source("api"),
        "chat" => source("chat"),
        "external" => source("external"),
        "external_pull_requests" => source("external_pull_request_event"),
        "pipelines" => source("pipeline"),
        "schedules" => source("schedule"),
        "triggers" => source("trigger"),
        "web" => source("web"),
        "parent_pipelines" => source("parent_pipeline"),
        "webide" => source("webide"),
        // a pipeline source's own name matches it too
        "push" | "schedule" | "trigger" | "pipeline" => source(r),
        "merge_request_event" => Cond::atom(Atom::MergeRequest),
        // a pattern matches the ref's name: a branch's or a tag's
        _ if r.len() > 1 && r.starts_with('/') && r.rfind('/').is_some_and(|end| end > 0) => {
            let end = r.rfind('/').unwrap_or(r.len());
            let re = with_flags(&re2_anchors(&r[1..end]), &r[end + 1..]);
            Cond::or(
                Cond::atom(Atom::BranchMatches(re.clone())),
                Cond::atom(Atom::Var("CI_COMMIT_TAG".into(), "=~", re)),
            )
        }
        // a name matches the ref's name too: a tag's as well, which a version-like
        // name (`v1.0`, `2.3`) is written to say (`main` is read as the branch only)
        name if looks_like_a_version(name) => Cond::or(
            Cond::atom(Atom::Branch {
                name: name.to_string(),
                equal: true,
            }),
            Cond::atom(Atom::Var("CI_COMMIT_TAG".into(), "==", name.to_string())),
        ),
        name => Cond::atom(Atom::Branch {
            name: name.to_string(),
            equal: true,
        }),
    }
}

/// `v1.0`, `2.3.1`: a name a tag is more often given than a branch.
fn looks_like_a_version(name: &str) -> bool {
    let digits = name.strip_prefix(['v', 'V']).unwrap_or(name);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// What knowing `fact` (`branch == "main"`, or `tag`) says of atom `a`: a pipeline for
/// a named branch is for no tag and no merge request, and for no other branch; one for a
/// tag has no branch (GitLab leaves `CI_COMMIT_BRANCH` unset) and is no merge request's.
fn decided_by(fact: &Atom, a: &Atom) -> Option<bool> {
    let branch = match fact {
        Atom::Branch { name, equal: true } if !name.is_empty() => name.as_str(),
        Atom::Tag => "",
        _ => return None,
    };
    match a {
        Atom::Tag => Some(matches!(fact, Atom::Tag)),
        Atom::MergeRequest => Some(false),
        Atom::Branch { name, equal } => Some((name == branch) == *equal),
        _ => None,
    }
}

/// How many levels of brackets [`print_chain`] puts around a chain of `operands`.
fn chain_groups_nested(mut operands: usize) -> usize {
    let mut levels = 0;
    while operands > LONGEST_CHAIN {
        levels += 1;
        operands = operands.div_ceil(LONGEST_CHAIN);
    }
    levels
}

/// The most operators `plumb_syntax` reads in one chain.
const LONGEST_CHAIN: usize = 256;

/// Operands joined by `op`; a chain longer than the parser reads in one
/// (`plumb_syntax`'s 256) is cut into parenthesised groups of at most that many (a
/// GitLab job with hundreds of rules is one condition of hundreds of alternatives).
fn print_chain(operands: &[&Cond], op: &str, inner: u8, out: &mut String) {
    if operands.len() <= LONGEST_CHAIN {
        for (i, c) in operands.iter().enumerate() {
            if i > 0 {
                out.push_str(op);
            }
            c.print(inner, out);
        }
        return;
    }
    let size = operands.len().div_ceil(LONGEST_CHAIN);
    for (i, group) in operands.chunks(size).enumerate() {
        if i > 0 {
            out.push_str(op);
        }
        out.push('(');
        print_chain(group, op, inner, out);
        out.push(')');
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_unterminated_pattern_is_no_expression() {
        // found by the `import` fuzz target: the flags were read past the end
        assert!(super::lex("$X =~ /abc").is_none());
        assert!(super::lex("$X =~ /abc\\").is_none());
        assert!(super::lex("$X =~ /abc/i").is_some());
    }

    #[test]
    fn an_only_pattern_ends_as_re2_reads_it() {
        assert_eq!(super::re2_anchors(r"\Av[0-9]+\Z"), r"\Av[0-9]+\z");
        // an escaped backslash before `Z` is a backslash and a letter
        assert_eq!(super::re2_anchors(r"a\\Z"), r"a\\Z");
        assert_eq!(super::re2_anchors(r"a\\\Z"), r"a\\\z");
    }

    /// A job of hundreds of rules is a condition of hundreds of alternatives: written
    /// in groups the parser reads (at most 256 operators in one chain), the same
    /// alternatives in the same order.
    #[test]
    fn a_chain_longer_than_the_parser_reads_is_written_in_groups() {
        let branch = |i: usize| {
            Cond::atom(Atom::Branch {
                name: format!("release-{i}"),
                equal: true,
            })
        };
        let many = (0..600).map(branch).reduce(Cond::or).expect("600");
        let text = many.to_plumb();
        let program = format!("let x = {text}\n");
        let parsed = plumb_syntax::parse(&program);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
        let flat = text.replace(['(', ')'], "");
        let expected: Vec<String> = (0..600)
            .map(|i| format!("branch == \"release-{i}\""))
            .collect();
        assert_eq!(flat, expected.join(" || "));
        // a short chain is written flat
        let few = (0..3).map(branch).reduce(Cond::or).expect("3");
        assert!(!few.to_plumb().contains('('), "{}", few.to_plumb());
    }

    /// A rule's length is counted as GitLab reads its `if:` (an empty test `$X == null
    /// || $X == ""` is nine tokens, its negation `$X` one), and `when: manual`,
    /// `changes:` and `exists:` are keys of the rule, not tokens of it.
    #[test]
    fn an_alternative_is_as_long_as_the_if_it_is_written_as() {
        let var = |name: &str, op: &'static str| {
            Cond::atom(Atom::Var(name.to_string(), op, String::new()))
        };
        let set = (1..=10)
            .map(|i| var(&format!("A{i}"), "!="))
            .reduce(Cond::and);
        let set = set.expect("ten");
        assert_eq!(set.multiplied_out(false), (1, 20));
        let unset = (1..=10)
            .map(|i| var(&format!("A{i}"), "=="))
            .reduce(Cond::and);
        assert_eq!(unset.expect("ten").multiplied_out(false), (1, 100));
        // `!(A1 != "" || …)` is ten empty tests, `!(A1 != "" && …)` ten alternatives
        let any = (1..=10)
            .map(|i| var(&format!("A{i}"), "!="))
            .reduce(Cond::or);
        assert_eq!(Cond::not(any.expect("ten")).multiplied_out(false), (1, 100));
        assert_eq!(Cond::not(set).multiplied_out(false), (10, 10));
        let keys = Cond::and(
            Cond::atom(Atom::Manual),
            Cond::atom(Atom::Changes(vec!["a".into()])),
        );
        assert_eq!(keys.multiplied_out(false), (1, 0));
    }

    /// The value of a condition of `var("Vi") ==`/`!= "x"` tests and `manual`, where
    /// the variables set to `x` and whether a person starts the job are `truths`.
    fn holds(c: &Cond, truths: &[bool]) -> bool {
        match c {
            Cond::True => true,
            Cond::False => false,
            Cond::Atom(Atom::Manual) => truths[0],
            Cond::Atom(Atom::Var(name, op, _)) => {
                let i: usize = name[1..].parse().expect("Vi");
                truths[i] == (*op == "==")
            }
            Cond::And(a, b) => holds(a, truths) && holds(b, truths),
            Cond::Or(a, b) => holds(a, truths) || holds(b, truths),
            Cond::Not(a) => !holds(a, truths),
            other => panic!("not in these tests: {other:?}"),
        }
    }

    #[test]
    fn long_rule_lists_nest_to_the_same_condition() {
        let outcomes = ["never", "manual", "run"];
        for sequence in 0..81usize {
            let decided: Vec<(&str, Cond)> = (0..4)
                .map(|i| {
                    let outcome = outcomes[sequence / 3usize.pow(i as u32) % 3];
                    let test = Cond::atom(Atom::Var(format!("V{}", i + 1), "==", "x".into()));
                    (outcome, test)
                })
                .collect();
            let (flat, nested) = (
                first_match_as_alternatives(&decided),
                first_match_nested(&decided).expect("five rules nest"),
            );
            for truths in 0..32u32 {
                let truths: Vec<bool> = (0..5).map(|b| truths >> b & 1 == 1).collect();
                assert_eq!(
                    holds(&flat, &truths),
                    holds(&nested, &truths),
                    "{decided:?} at {truths:?}: {} vs {}",
                    flat.to_plumb(),
                    nested.to_plumb()
                );
            }
        }
    }

    /// The decision of `count` rules `if: $V{i} == "x"`, each with the `when` that
    /// `when_of(i)` gives, then `last` (a rule of no test) if any.
    fn decide_numbered_rules(
        count: usize,
        when_of: impl Fn(usize) -> &'static str,
        last: Option<&str>,
    ) -> Decision {
        let mut yaml = String::from("rules:\n");
        for i in 0..count {
            let when = when_of(i);
            yaml.push_str(&format!("  - if: $V{i} == \"x\"\n    when: {when}\n"));
        }
        if let Some(when) = last {
            yaml.push_str(&format!("  - when: {when}\n"));
        }
        let docs = crate::yaml::parse(&yaml, 0).expect("yaml");
        rules(docs[0].get("rules").expect("rules"), JobDefaults::default())
    }

    /// Few rules, but each `when: never` of two tests: as alternatives, the last rule
    /// would exclude them in 2^6 ways (`plumb build` could not list them, and widened the
    /// job to always run); nested, each test is written once.
    #[test]
    fn rules_that_multiply_out_are_nested() {
        let mut yaml = String::from("rules:\n");
        for i in 0..12 {
            match i % 2 {
                0 => yaml.push_str(&format!(
                    "  - if: $A{i} == \"x\" && $B{i}\n    when: never\n"
                )),
                _ => yaml.push_str(&format!("  - if: $R{i} == \"x\"\n")),
            }
        }
        let docs = crate::yaml::parse(&yaml, 0).expect("yaml");
        let decision = rules(docs[0].get("rules").expect("rules"), JobDefaults::default());
        let text = decision.cond.to_plumb();
        assert_eq!(text.matches("var(").count(), 18, "{text}");
        let (count, _) = decision.cond.multiplied_out(false);
        assert!(count > FEW_ALTERNATIVES, "{text}");
        // a short list stays one alternative per rule
        let text = decide_numbered_rules(6, |i| ["never", "on_success"][i % 2], None)
            .cond
            .to_plumb();
        assert_eq!(
            text,
            r#"var("V1") == "x" && var("V0") != "x" || var("V3") == "x" && !(var("V0") == "x" || var("V2") == "x") || var("V5") == "x" && !(var("V0") == "x" || var("V2") == "x" || var("V4") == "x")"#
        );
    }

    #[test]
    fn a_thousand_alternating_rules_cost_no_more_than_their_length() {
        let alternating = |i: usize| {
            if i.is_multiple_of(2) {
                "never"
            } else {
                "on_success"
            }
        };
        let decision = decide_numbered_rules(1000, alternating, None);
        assert!(
            matches!(decision.cond, Cond::Unknown(ref u) if u.contains("nests deeper")),
            "{:?}",
            decision.cond
        );
        // in few groups, a long list nests: each test is written once
        let halves = |i: usize| if i < 500 { "never" } else { "on_success" };
        let text = decide_numbered_rules(1000, halves, None).cond.to_plumb();
        assert_eq!(text.matches("var(").count(), 1000, "{text}");
        // rules added by hand only, in a list too deep to write: still by hand
        let by_hand = |i: usize| {
            if i.is_multiple_of(2) {
                "never"
            } else {
                "manual"
            }
        };
        let decision = decide_numbered_rules(100, by_hand, None);
        let approximated = decision.cond.approximate(&mut Vec::new());
        assert_eq!(approximated, Cond::atom(Atom::Manual));
    }

    /// Consecutive rules of one outcome nest no deeper than one: seventy manual rules
    /// are one level of brackets, not seventy.
    #[test]
    fn runs_of_rules_of_one_outcome_nest_once() {
        let decision = decide_numbered_rules(70, |_| "manual", Some("on_success"));
        assert!(
            decision.cond.brackets() <= 2,
            "{}",
            decision.cond.to_plumb()
        );
        assert_eq!(decision.cond.to_plumb().matches("var(").count(), 140);
    }

    #[test]
    fn tag_and_branch_patterns_are_false_in_a_merge_request() {
        for yes in [
            "$CI_COMMIT_TAG =~ /^v[0-9]+/",
            r"$CI_COMMIT_BRANCH =~ /^release\//",
        ] {
            let c = expression(yes).approximate(&mut Vec::new());
            assert!(!c.asks_for_merge_requests(), "{yes}: {c:?}");
        }
        for maybe in [
            "$CI_COMMIT_TAG =~ /.*/",
            "$CI_COMMIT_BRANCH =~ /x|/",
            "$CI_COMMIT_TAG =~ /v?/",
        ] {
            let c = expression(maybe).approximate(&mut Vec::new());
            assert!(c.asks_for_merge_requests(), "{maybe}: {c:?}");
        }
    }

    #[test]
    fn a_negated_merge_request_does_not_ask_for_merge_requests() {
        let mr = || Cond::atom(Atom::MergeRequest);
        let main = || {
            Cond::atom(Atom::Branch {
                name: "main".into(),
                equal: true,
            })
        };
        assert!(mr().asks_for_merge_requests());
        assert!(Cond::or(main(), mr()).asks_for_merge_requests());
        assert!(!Cond::not(mr()).asks_for_merge_requests());
        assert!(!Cond::and(Cond::atom(Atom::Tag), Cond::not(mr())).asks_for_merge_requests());
        assert!(Cond::not(Cond::and(main(), Cond::not(mr()))).asks_for_merge_requests());
        // negating a branch comparison flips it, and prints it
        assert_eq!(Cond::not(main()).to_plumb(), "branch != \"main\"");
        assert_eq!(
            Cond::not(Cond::atom(Atom::BranchMatches("^r".into()))).to_plumb(),
            "!(branch =~ \"^r\")"
        );
    }
    use super::*;

    fn plumb(e: &str) -> String {
        let mut unknown = Vec::new();
        expression(e).approximate(&mut unknown).to_plumb()
    }

    /// What a named branch or a tag says of the other tests is written no more
    /// (`branch == "main" && !tag` is `branch == "main"`), and `A || A && X` is `A`.
    #[test]
    fn conditions_decided_by_the_ref_are_left_out() {
        use super::{Atom, Cond};
        let branch = |name: &str, equal: bool| {
            Cond::atom(Atom::Branch {
                name: name.into(),
                equal,
            })
        };
        let tag = || Cond::atom(Atom::Tag);
        let x = || Cond::atom(Atom::Var("X".into(), "==", "1".into()));
        let cases = [
            (
                Cond::and(
                    branch("main", true),
                    Cond::not(Cond::or(tag(), branch("dev", true))),
                ),
                "branch == \"main\"",
            ),
            (Cond::and(tag(), Cond::not(branch("", false))), "tag"),
            (
                Cond::or(
                    Cond::and(branch("", false), branch("main", false)),
                    branch("main", false),
                ),
                "branch != \"main\"",
            ),
            (
                Cond::and(branch("main", true), branch("dev", true)),
                "false",
            ),
            // nothing a test of a variable says is assumed
            (
                Cond::and(branch("main", true), x()),
                "branch == \"main\" && var(\"X\") == \"1\"",
            ),
        ];
        for (cond, expected) in cases {
            assert_eq!(cond.to_plumb(), expected);
        }
    }

    #[test]
    fn common_gitlab_tests_become_plumb_conditions() {
        assert_eq!(plumb("$CI_COMMIT_BRANCH == \"main\""), "branch == \"main\"");
        assert_eq!(
            plumb("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"),
            "branch == var(\"CI_DEFAULT_BRANCH\")"
        );
        assert_eq!(
            plumb("$CI_DEFAULT_BRANCH == $CI_COMMIT_BRANCH"),
            "branch == var(\"CI_DEFAULT_BRANCH\")"
        );
        assert_eq!(
            plumb("$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH"),
            "branch != var(\"CI_DEFAULT_BRANCH\")"
        );
        assert_eq!(
            plumb("$CI_COMMIT_REF_NAME == $CI_DEFAULT_BRANCH"),
            "var(\"CI_COMMIT_REF_NAME\") == var(\"CI_DEFAULT_BRANCH\")"
        );
        assert_eq!(
            plumb("$A != $B && $CI_COMMIT_BRANCH"),
            "var(\"A\") != var(\"B\") && branch != \"\""
        );
        assert_eq!(plumb("\"main\" != $CI_COMMIT_BRANCH"), "branch != \"main\"");
        assert_eq!(plumb("null == $CI_COMMIT_TAG"), "!tag");
        assert_eq!(
            plumb("$CI_PIPELINE_SOURCE == \"merge_request_event\""),
            "merge_request"
        );
        assert_eq!(plumb("$CI_COMMIT_TAG"), "tag");
        assert_eq!(plumb("$CI_COMMIT_TAG == null"), "!tag");
        assert_eq!(
            plumb("$CI_COMMIT_BRANCH =~ /^release\\//"),
            "branch =~ \"^release\\\\/\""
        );
        // a quoted pattern is the pattern (GitLab 15+)
        assert_eq!(
            plumb("$CI_COMMIT_BRANCH =~ \"/^release/\""),
            "branch =~ \"^release\""
        );
        assert_eq!(
            plumb("$CI_COMMIT_TAG =~ \"/^V/i\""),
            "var(\"CI_COMMIT_TAG\") =~ \"(?i)^V\""
        );
        assert_eq!(
            plumb("$CI_PIPELINE_SOURCE == \"push\" && $CI_COMMIT_BRANCH != \"main\""),
            "source == \"push\" && branch != \"main\""
        );
        assert_eq!(
            plumb("$CI_PIPELINE_SOURCE == \"schedule\" || $DEPLOY != \"no\""),
            "source == \"schedule\" || var(\"DEPLOY\") != \"no\""
        );
        assert_eq!(plumb("$DEPLOY"), "var(\"DEPLOY\") != \"\"");
        assert_eq!(plumb("$DEPLOY == null"), "var(\"DEPLOY\") == \"\"");
        // GitLab reads an unset variable as null, not `""`
        assert_eq!(plumb("$CI_COMMIT_TAG != \"\""), "true");
        assert_eq!(plumb("$CI_COMMIT_BRANCH == \"\""), "false");
        assert_eq!(plumb("$DEPLOY == \"\""), "true");
        // merge requests without labels have no CI_MERGE_REQUEST_LABELS
        assert_eq!(
            plumb("$CI_MERGE_REQUEST_LABELS"),
            "var(\"CI_MERGE_REQUEST_LABELS\") != \"\""
        );
        assert_eq!(plumb("$CI_MERGE_REQUEST_IID"), "merge_request");
        assert_eq!(plumb("$CI_MERGE_REQUEST_IID == null"), "!merge_request");
        // what Plumb's `var("X") == ""` compiles to reads back as it
        assert_eq!(
            plumb("$SKIP == null || $SKIP == \"\""),
            "var(\"SKIP\") == \"\""
        );
        assert_eq!(
            plumb("\"\" == $SKIP || null == $SKIP"),
            "var(\"SKIP\") == \"\""
        );
        assert_eq!(
            plumb("$A == \"1\" || $SKIP == null || $SKIP == \"\""),
            "var(\"A\") == \"1\" || var(\"SKIP\") == \"\""
        );
        assert_eq!(
            plumb("$SKIP != null && $SKIP != \"\""),
            "var(\"SKIP\") != \"\""
        );
        // `&&` binds tighter: the second test is paired with `$B`
        let mut unknown = Vec::new();
        expression("$SKIP == null || $SKIP == \"\" && $B").approximate(&mut unknown);
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert_eq!(plumb("$CI_MERGE_REQUEST_ID != null"), "merge_request");
        assert_eq!(
            plumb("$CI_COMMIT_TAG =~ /^v\\d/i"),
            "var(\"CI_COMMIT_TAG\") =~ \"(?i)^v\\\\d\""
        );
        assert_eq!(
            plumb("$CI_MERGE_REQUEST_TARGET_BRANCH_NAME == \"main\""),
            "var(\"CI_MERGE_REQUEST_TARGET_BRANCH_NAME\") == \"main\""
        );
    }

    /// `only:`/`except:` refs: names are branches, patterns match branches and tags,
    /// `REF@project` holds in that project only, keywords are pipeline sources.
    #[test]
    fn refs_become_plumb_conditions() {
        let refs = |yaml: &str| {
            let node = crate::yaml::parse(yaml, 0).expect("yaml").remove(0);
            let mut unknown = Vec::new();
            refs_filter(&node, true)
                .approximate(&mut unknown)
                .to_plumb()
        };
        assert_eq!(
            refs("[main, schedules]"),
            "branch == \"main\" || source == \"schedule\""
        );
        // a version-like name is a tag's as well; `parent_pipelines` is a source
        assert_eq!(
            refs("[v1.0, parent_pipelines]"),
            "branch == \"v1.0\" || var(\"CI_COMMIT_TAG\") == \"v1.0\" || source == \"parent_pipeline\""
        );
        assert_eq!(
            refs("['/^v\\d+/']"),
            "branch =~ \"^v\\\\d+\" || var(\"CI_COMMIT_TAG\") =~ \"^v\\\\d+\""
        );
        assert_eq!(
            refs("[master@tezos/tezos]"),
            "branch == \"master\" && var(\"CI_PROJECT_PATH\") == \"tezos/tezos\""
        );
        assert_eq!(
            refs("{refs: [tags], variables: [$X == \"1\"]}"),
            "tag && var(\"X\") == \"1\""
        );
        // an `only:` mapping without refs keeps GitLab's default refs
        assert_eq!(
            refs("{variables: [$X == \"1\"]}"),
            "!merge_request && var(\"X\") == \"1\""
        );
        // GitLab cuts `REF@project` at the first `@`; a source's own name is the source
        assert_eq!(
            refs("['/^wip/@grp/proj']"),
            "(branch =~ \"^wip\" || var(\"CI_COMMIT_TAG\") =~ \"^wip\") && var(\"CI_PROJECT_PATH\") == \"grp/proj\""
        );
        assert_eq!(
            refs("[push, '/x/m']"),
            "source == \"push\" || branch =~ \"(?m)x\" || var(\"CI_COMMIT_TAG\") =~ \"(?m)x\""
        );
    }

    #[test]
    fn a_named_branch_needs_no_test_against_tags_or_merge_requests() {
        let branch = |name: &str, equal| {
            Cond::atom(Atom::Branch {
                name: name.into(),
                equal,
            })
        };
        let not = |a| Cond::not(Cond::atom(a));
        let on_branches = Cond::and(branch("", false), not(Atom::Tag));
        assert_eq!(on_branches.to_plumb(), r#"branch != """#);
        let main = Cond::and(
            not(Atom::MergeRequest),
            Cond::and(branch("main", true), not(Atom::Tag)),
        );
        assert_eq!(main.to_plumb(), r#"branch == "main""#);
        // `branch != "x"` and an empty branch hold for tags: both tests stay
        assert_eq!(
            Cond::and(branch("x", false), not(Atom::Tag)).to_plumb(),
            r#"branch != "x" && !tag"#
        );
        assert_eq!(
            Cond::and(branch("", true), not(Atom::MergeRequest)).to_plumb(),
            r#"branch == "" && !merge_request"#
        );
    }

    /// `$CI_COMMIT_BRANCH =~ $PROD_REFS` where the file sets `PROD_REFS: /^main$/`: the
    /// pattern it holds; a variable the file does not set, or one that holds no
    /// pattern, is still unknown.
    #[test]
    fn a_pattern_the_file_sets_in_a_variable_is_matched() {
        let vars = [
            ("PROD_REFS".to_string(), "/^(main|release)$/i".to_string()),
            ("PLAIN".to_string(), "main".to_string()),
        ];
        let mut unknown = Vec::new();
        let c = expression_with("$CI_COMMIT_BRANCH =~ $PROD_REFS", &vars).approximate(&mut unknown);
        assert_eq!(c.to_plumb(), r#"branch =~ "(?i)^(main|release)$""#);
        assert!(unknown.is_empty(), "{unknown:?}");
        let vars = [
            vars[0].clone(),
            vars[1].clone(),
            ("BAD".to_string(), "/[unclosed/".to_string()),
        ];
        for other in [
            "$CI_COMMIT_BRANCH =~ $PLAIN",
            "$CI_COMMIT_BRANCH !~ $ELSEWHERE",
            "$CI_COMMIT_BRANCH =~ $BAD",
        ] {
            let mut unknown = Vec::new();
            expression_with(other, &vars).approximate(&mut unknown);
            assert_eq!(unknown.len(), 1, "{other}");
        }
    }

    #[test]
    fn unknown_tests_widen_the_condition() {
        let mut unknown = Vec::new();
        let c = expression("$A =~ $B || $CI_COMMIT_TAG").approximate(&mut unknown);
        assert_eq!(c, Cond::True);
        assert_eq!(unknown, ["$A =~ $B"]);
        let mut unknown = Vec::new();
        let c = Cond::not(expression("$FOO =~ $BAR")).approximate(&mut unknown);
        assert_eq!(
            c,
            Cond::True,
            "a negated unknown is replaced by false first"
        );
    }
}
