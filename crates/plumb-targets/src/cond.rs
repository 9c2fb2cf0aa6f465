//! Conditions as GitLab `rules:` and as compile-time answers for one event.

use plumb_semantics::{BranchTest, Cond};

/// One condition atom, possibly negated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    Branch(BranchTest, bool),
    Tag(bool),
    MergeRequest(bool),
    Manual(bool),
    Changes(Vec<String>, bool),
    /// `source == "x"`: `$CI_PIPELINE_SOURCE`.
    Source(BranchTest, bool),
    /// `var("NAME") == "x"`: `$NAME`.
    Var(String, BranchTest, bool),
    Exists(Vec<String>, bool),
}

/// At most this many `rules:` entries come from one condition.
const MAX_CLAUSES: usize = 64;

/// The condition in disjunctive normal form: an OR of ANDs of atoms. `None` when it
/// grows too large to write as rules.
pub fn dnf(c: &Cond) -> Option<Vec<Vec<Atom>>> {
    let clauses = to_dnf(c, false)?;
    Some(clauses)
}

fn to_dnf(c: &Cond, negated: bool) -> Option<Vec<Vec<Atom>>> {
    let clauses = match (c, negated) {
        (Cond::Always, false) | (Cond::Never, true) => vec![Vec::new()],
        (Cond::Never, false) | (Cond::Always, true) => Vec::new(),
        (Cond::Branch(t), n) => vec![vec![Atom::Branch(t.clone(), n)]],
        (Cond::Tag, n) => vec![vec![Atom::Tag(n)]],
        (Cond::MergeRequest, n) => vec![vec![Atom::MergeRequest(n)]],
        (Cond::Manual, n) => vec![vec![Atom::Manual(n)]],
        (Cond::Changes(p), n) => vec![vec![Atom::Changes(p.clone(), n)]],
        (Cond::Source(t), n) => vec![vec![Atom::Source(t.clone(), n)]],
        (Cond::Var(name, t), n) => vec![vec![Atom::Var(name.clone(), t.clone(), n)]],
        (Cond::Exists(p), n) => vec![vec![Atom::Exists(p.clone(), n)]],
        (Cond::Not(inner), n) => return to_dnf(inner, !n),
        (Cond::Or(a, b), false) | (Cond::And(a, b), true) => {
            let mut left = to_dnf(a, negated)?;
            left.extend(to_dnf(b, negated)?);
            left
        }
        (Cond::And(a, b), false) | (Cond::Or(a, b), true) => {
            let left = to_dnf(a, negated)?;
            let right = to_dnf(b, negated)?;
            let mut out = Vec::new();
            for l in &left {
                for r in &right {
                    let mut c = l.clone();
                    c.extend(r.iter().cloned());
                    out.push(c);
                }
            }
            out
        }
    };
    (clauses.len() <= MAX_CLAUSES).then_some(clauses)
}

/// The condition as one GitLab expression, parenthesised as it is written (nothing is
/// multiplied out: its length is the condition's), when every test in it is an
/// expression GitLab can read back; `None` when it holds `changes`, `exists`, `manual`
/// or a constant. For conditions whose alternatives are too many to list as rules.
pub fn single_expression(c: &Cond) -> Option<String> {
    let text = expression(c, false)?;
    // GitLab's lexer refuses an expression of more than 100 tokens
    within_token_limit(&text).then_some(text)
}

/// The most tokens GitLab's expression lexer reads (`Lexer::MAX_TOKENS`).
const GITLAB_MAX_TOKENS: usize = 100;

/// Whether GitLab's lexer reads `expression` whole (at most its 100 tokens).
pub fn within_token_limit(expression: &str) -> bool {
    gitlab_tokens(expression) <= GITLAB_MAX_TOKENS
}

/// The tokens GitLab's lexer makes of an expression this module writes: variables,
/// strings, patterns, `null`, operators and parentheses.
fn gitlab_tokens(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        let quoted_to = |close: u8| {
            let mut j = i + 1;
            while j < b.len() && b[j] != close {
                j += if close == b'/' && b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        };
        i = match b[i] {
            b' ' => i + 1,
            b'"' | b'\'' => quoted_to(b[i]),
            b'/' => quoted_to(b'/'),
            b'(' | b')' => i + 1,
            b'$' | b'n' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                j
            }
            _ => i + 2, // `&&`, `||`, `==`, `!=`, `=~`, `!~`
        };
        if b.get(i.wrapping_sub(1)).is_some_and(|c| *c != b' ') || i >= b.len() {
            n += 1;
        }
    }
    n
}

fn expression(c: &Cond, negated: bool) -> Option<String> {
    // `!` is no GitLab operator: negations go down to the tests (De Morgan); a chain
    // of one operator is written flat, `(a && b && c)`
    let chain = |op: &str, and: bool| {
        let mut parts = Vec::new();
        operands(c, negated, and, &mut parts);
        let written: Option<Vec<String>> = parts.iter().map(|(p, n)| expression(p, *n)).collect();
        Some(format!("({})", written?.join(&format!(" {op} "))))
    };
    match (c, negated) {
        (Cond::And(..), false) | (Cond::Or(..), true) => chain("&&", true),
        (Cond::Or(..), false) | (Cond::And(..), true) => chain("||", false),
        (Cond::Not(inner), n) => expression(inner, !n),
        (Cond::Always | Cond::Never, _) => None,
        (test, n) => match to_dnf(test, n)?.as_slice() {
            [clause] => match clause.as_slice() {
                [atom] if unrepresentable(atom).is_none() => gitlab_expression(atom),
                _ => None,
            },
            _ => None,
        },
    }
}

/// The operands of a chain of one operator (`and`: `&&` as written), each with whether
/// it is negated: `!(a || b)` is the chain `!a && !b`.
fn operands<'c>(c: &'c Cond, negated: bool, and: bool, out: &mut Vec<(&'c Cond, bool)>) {
    match (c, negated) {
        (Cond::And(a, b), false) | (Cond::Or(a, b), true) if and => {
            operands(a, negated, and, out);
            operands(b, negated, and, out);
        }
        (Cond::Or(a, b), false) | (Cond::And(a, b), true) if !and => {
            operands(a, negated, and, out);
            operands(b, negated, and, out);
        }
        (Cond::Not(inner), n) => operands(inner, !n, and, out),
        (other, n) => out.push((other, n)),
    }
}

/// A GitLab CI expression for one atom (`None` for atoms that are not expressions:
/// `manual` and `changes`).
pub fn gitlab_expression(atom: &Atom) -> Option<String> {
    Some(match atom {
        Atom::Branch(test, n) => compare("CI_COMMIT_BRANCH", test, *n),
        Atom::Source(test, n) => compare("CI_PIPELINE_SOURCE", test, *n),
        Atom::Var(name, test, n) => compare(name, test, *n),
        Atom::Tag(false) => "$CI_COMMIT_TAG".to_string(),
        Atom::Tag(true) => "$CI_COMMIT_TAG == null".to_string(),
        Atom::MergeRequest(n) => format!(
            "$CI_PIPELINE_SOURCE {} \"merge_request_event\"",
            if *n { "!=" } else { "==" }
        ),
        Atom::Manual(_) | Atom::Changes(..) | Atom::Exists(..) => return None,
    })
}

/// `$VAR == "x"`, `$VAR != "x"` or `$VAR =~ /re/`, negated when `negated`.
///
/// Plumb reads an unset variable as `""`; GitLab reads it as `null`, which `== ""` does
/// not match: a test against `""` is written for both (`$CI_COMMIT_BRANCH != ""` would
/// hold for a tag).
fn compare(var: &str, test: &BranchTest, negated: bool) -> String {
    let empty_equal = match test {
        BranchTest::Eq(s) if s.is_empty() => Some(!negated),
        BranchTest::NotEq(s) if s.is_empty() => Some(negated),
        _ => None,
    };
    match empty_equal {
        // GitLab sets CI_COMMIT_BRANCH to a name or not at all
        Some(true) if var == "CI_COMMIT_BRANCH" => return format!("${var} == null"),
        Some(true) => return format!("(${var} == null || ${var} == \"\")"),
        // a variable alone holds when it is set and not empty
        Some(false) => return format!("${var}"),
        None => {}
    }
    match test {
        BranchTest::Eq(s) => format!("${var} {} {}", if negated { "!=" } else { "==" }, quote(s)),
        BranchTest::NotEq(s) => {
            format!("${var} {} {}", if negated { "==" } else { "!=" }, quote(s))
        }
        BranchTest::Matches(re) => format!(
            "${var} {} /{}/",
            if negated { "!~" } else { "=~" },
            escape_slashes(re)
        ),
        // GitLab compares two variables as they are (an unset one is null)
        BranchTest::EqVar(other) => {
            format!("${var} {} ${other}", if negated { "!=" } else { "==" })
        }
        BranchTest::NotEqVar(other) => {
            format!("${var} {} ${other}", if negated { "==" } else { "!=" })
        }
    }
}

/// A string literal GitLab's expression lexer reads back exactly. It has no escapes:
/// `"…"` holds anything but `"`, `'…'` anything but `'`; a string with both cannot be
/// written (see [`unrepresentable`]) and gets `"…"` with the `"` left out.
fn quote(s: &str) -> String {
    if !s.contains('"') {
        format!("\"{s}\"")
    } else if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("\"{}\"", s.replace('"', ""))
    }
}

/// `/` inside a `/pattern/` must be written `\/`; one already escaped stays as it is.
fn escape_slashes(re: &str) -> String {
    let mut out = String::with_capacity(re.len());
    let mut backslashes = 0;
    for c in re.chars() {
        if c == '/' && backslashes % 2 == 0 {
            out.push('\\');
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
    }
    out
}

/// Why an atom cannot be written as a GitLab expression that means the same, if so.
pub fn unrepresentable(atom: &Atom) -> Option<String> {
    let test = match atom {
        Atom::Branch(t, _) | Atom::Source(t, _) | Atom::Var(_, t, _) => t,
        _ => return None,
    };
    match test {
        BranchTest::Eq(s) | BranchTest::NotEq(s) if s.contains('"') && s.contains('\'') => {
            Some(format!("the string `{s}` holds both `\"` and `'`, and GitLab's expressions have no escapes to write it"))
        }
        // GitLab's lexer reads a string or a pattern up to its quote on one line (`.`)
        BranchTest::Eq(s) | BranchTest::NotEq(s) | BranchTest::Matches(s) if s.contains('\n') => {
            Some(format!("`{}` holds a line break, which GitLab's expressions cannot hold", s.escape_debug()))
        }
        BranchTest::Matches(re) if re.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 => {
            Some(format!("the pattern `{re}` ends in a lone `\\`, which would escape the closing `/` in GitLab"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_is_pushed_to_atoms() {
        let c = Cond::Not(Box::new(Cond::Or(
            Box::new(Cond::Tag),
            Box::new(Cond::MergeRequest),
        )));
        let d = dnf(&c).unwrap();
        assert_eq!(d, vec![vec![Atom::Tag(true), Atom::MergeRequest(true)]]);
        let exprs: Vec<String> = d[0].iter().filter_map(gitlab_expression).collect();
        assert_eq!(
            exprs,
            [
                "$CI_COMMIT_TAG == null",
                "$CI_PIPELINE_SOURCE != \"merge_request_event\""
            ]
        );
    }

    /// GitLab reads an unset variable as `null`, and `null != ""`: a tag pipeline has no
    /// `CI_COMMIT_BRANCH`, so `$CI_COMMIT_BRANCH != ""` would hold for it.
    #[test]
    fn tests_against_empty_hold_for_unset_variables_as_in_plumb() {
        let var = |test: BranchTest, negated: bool| {
            gitlab_expression(&Atom::Var("X".into(), test, negated)).unwrap()
        };
        let empty = || String::new();
        assert_eq!(
            var(BranchTest::Eq(empty()), false),
            "($X == null || $X == \"\")"
        );
        assert_eq!(
            var(BranchTest::NotEq(empty()), true),
            "($X == null || $X == \"\")"
        );
        assert_eq!(var(BranchTest::NotEq(empty()), false), "$X");
        assert_eq!(var(BranchTest::Eq(empty()), true), "$X");
        let branch = |test| gitlab_expression(&Atom::Branch(test, false)).unwrap();
        assert_eq!(branch(BranchTest::NotEq(empty())), "$CI_COMMIT_BRANCH");
        assert_eq!(branch(BranchTest::Eq(empty())), "$CI_COMMIT_BRANCH == null");
    }

    #[test]
    fn string_literals_are_written_as_gitlab_reads_them() {
        let eq =
            |s: &str| gitlab_expression(&Atom::Branch(BranchTest::Eq(s.into()), false)).unwrap();
        assert_eq!(eq("main"), "$CI_COMMIT_BRANCH == \"main\"");
        assert_eq!(eq("it\"s"), "$CI_COMMIT_BRANCH == 'it\"s'");
        assert_eq!(eq("a\\b"), "$CI_COMMIT_BRANCH == \"a\\b\"");
        let both = Atom::Branch(BranchTest::Eq("it's \"x\"".into()), false);
        assert!(unrepresentable(&both).is_some());
        let re = |r: &str| Atom::Branch(BranchTest::Matches(r.into()), false);
        assert!(unrepresentable(&re("^release\\")).is_some());
        assert!(unrepresentable(&re("^release\\\\")).is_none());
        assert_eq!(
            gitlab_expression(&re("a\\/b/c")).unwrap(),
            "$CI_COMMIT_BRANCH =~ /a\\/b\\/c/"
        );
    }

    #[test]
    fn and_distributes_over_or() {
        let c = Cond::And(
            Box::new(Cond::Or(Box::new(Cond::Tag), Box::new(Cond::MergeRequest))),
            Box::new(Cond::Branch(BranchTest::Matches("^release/".into()))),
        );
        assert_eq!(dnf(&c).unwrap().len(), 2);
        assert_eq!(
            gitlab_expression(&Atom::Branch(
                BranchTest::Matches("^release/".into()),
                false
            ))
            .unwrap(),
            "$CI_COMMIT_BRANCH =~ /^release\\//"
        );
    }
}
