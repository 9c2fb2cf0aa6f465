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

/// A GitLab CI expression for one atom (`None` for atoms that are not expressions:
/// `manual` and `changes`).
pub fn gitlab_expression(atom: &Atom) -> Option<String> {
    Some(match atom {
        Atom::Branch(BranchTest::Eq(s), n) => format!(
            "$CI_COMMIT_BRANCH {} {}",
            if *n { "!=" } else { "==" },
            quote(s)
        ),
        Atom::Branch(BranchTest::NotEq(s), n) => format!(
            "$CI_COMMIT_BRANCH {} {}",
            if *n { "==" } else { "!=" },
            quote(s)
        ),
        Atom::Branch(BranchTest::Matches(re), n) => {
            format!(
                "$CI_COMMIT_BRANCH {} /{}/",
                if *n { "!~" } else { "=~" },
                re.replace('/', "\\/")
            )
        }
        Atom::Tag(false) => "$CI_COMMIT_TAG".to_string(),
        Atom::Tag(true) => "$CI_COMMIT_TAG == null".to_string(),
        Atom::MergeRequest(n) => format!(
            "$CI_PIPELINE_SOURCE {} \"merge_request_event\"",
            if *n { "!=" } else { "==" }
        ),
        Atom::Manual(_) | Atom::Changes(..) => return None,
    })
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
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
