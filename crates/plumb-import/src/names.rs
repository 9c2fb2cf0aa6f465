//! Plumb names for GitLab's: jobs, stages, templates, lets and secrets.

use std::collections::HashSet;

const KEYWORDS: &[&str] = &[
    "import", "as", "let", "secret", "template", "pipeline", "stage", "job", "after", "from",
    "true", "false",
];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// `test:unit` → `test-unit`, `build image` → `build-image`, `.base` → `base`: the
/// characters an identifier cannot hold become `-`, and a name that cannot start an
/// identifier gets a prefix.
pub fn identifier(raw: &str, prefix: &str) -> String {
    let mut s: String = raw
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    let starts_well = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if s.is_empty() {
        // the prefix alone may be a keyword (`job`, `stage`): never a name
        format!("{prefix}-unnamed")
    } else if !starts_well || is_keyword(&s) {
        format!("{prefix}-{s}")
    } else {
        s
    }
}

/// Hands out names unique within one scope.
#[derive(Default)]
pub struct Scope {
    taken: HashSet<String>,
    /// Names kept for their owners (a job whose GitLab name is already an identifier):
    /// another that would become one gets a suffix instead.
    reserved: HashSet<String>,
}

impl Scope {
    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
    /// Keeps `name` for the one that has it already, whichever comes first.
    pub fn reserve(&mut self, name: &str) {
        self.reserved.insert(name.to_string());
    }
    /// `base`, or `base-2`, `base-3`… when taken; a reserved name only for `owner`.
    pub fn unique_for(&mut self, base: String, owner: bool) -> String {
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) || (!owner && self.reserved.contains(&name)) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
    pub fn unique(&mut self, base: String) -> String {
        self.unique_for(base, false)
    }
}

/// Whether `name` can be a CI/CD variable's name (what Plumb's `var("…")` accepts):
/// letters, digits and `_`, not starting with a digit.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_names_become_identifiers() {
        assert_eq!(identifier("test:unit", "job"), "test-unit");
        assert_eq!(identifier(".base template", "t"), "base-template");
        assert_eq!(identifier("3rd party", "job"), "job-3rd-party");
        assert_eq!(identifier("stage", "job"), "job-stage");
        // nothing of the name is left: the prefix alone (`job`) would be a keyword
        assert_eq!(identifier("::", "job"), "job-unnamed");
        let mut scope = Scope::default();
        assert_eq!(scope.unique("a".into()), "a");
        assert_eq!(scope.unique("a".into()), "a-2");
        // a name reserved for its owner goes to it, whoever asks first
        scope.reserve("test-unit");
        assert_eq!(scope.unique("test-unit".into()), "test-unit-2");
        assert_eq!(scope.unique_for("test-unit".into(), true), "test-unit");
    }
}
