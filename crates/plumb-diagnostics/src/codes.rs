//! Every code Plumb reports, in one table: the code, its kebab-case name and its default
//! severity. A diagnostic's code is a [`Code`], and the only `Code` values are the
//! constants below, so a crate cannot report a code this table lacks; the rule registry
//! (`plumb-checks`) documents each one, and a test there proves every code of
//! [`Code::ALL`] has its documentation, its `plumb explain` page and its line in
//! `plumb rules`.

use crate::Severity;
use std::fmt;

/// A diagnostic code such as `PL3001`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

macro_rules! codes {
    ($($code:ident $name:literal $severity:ident,)*) => {
        impl Code {
            $(pub const $code: Code = Code(stringify!($code));)*

            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            /// The rule's kebab-case name (`image-without-tag`).
            pub fn name(self) -> &'static str {
                match self.0 {
                    $(stringify!($code) => $name,)*
                    _ => "",
                }
            }

            /// The severity before `plumb.toml` changes it.
            pub fn default_severity(self) -> Severity {
                match self.0 {
                    $(stringify!($code) => Severity::$severity,)*
                    _ => Severity::Error,
                }
            }
        }
    };
}

codes! {
    PL0001 "syntax-error" Error,
    PL1001 "unknown-name" Error,
    PL1002 "duplicate-definition" Error,
    PL1003 "type-mismatch" Error,
    PL1004 "unknown-field" Error,
    PL1005 "missing-field" Error,
    PL1006 "import-not-found" Error,
    PL1007 "import-cycle" Error,
    PL1008 "bad-instantiation" Error,
    PL1009 "recursive-let" Error,
    PL1010 "shadowed-name" Warning,
    PL1011 "matrix-too-large" Error,
    PL1012 "import-too-deep" Error,
    PL1013 "expired-allowance" Warning,
    PL1014 "value-too-large" Error,
    PL2001 "job-cycle" Error,
    PL2002 "stage-cycle" Error,
    PL2003 "needs-later-stage" Error,
    PL2004 "needs-itself" Error,
    PL2005 "needs-removed-job" Warning,
    PL3001 "image-without-tag" Error,
    PL3002 "mutable-tag" Error,
    PL3003 "tag-without-digest" Warning,
    PL3004 "malformed-image" Error,
    PL3005 "registry-not-allowed" Error,
    PL3006 "runner-default" Warning,
    PL3007 "variable-image" Warning,
    PL4001 "hardcoded-credential" Error,
    PL4002 "secret-misuse" Error,
    PL4003 "secret-printed" Error,
    PL4004 "secret-in-arguments" Error,
    PL4005 "secret-unpinned-image" Error,
    PL4006 "secret-in-merge-request" Error,
    PL4007 "secret-in-artifacts" Error,
    PL5001 "not-carried" Warning,
    PL5002 "condition-approximated" Warning,
    PL5003 "target-name-conflict" Error,
    PL5004 "no-default-image" Error,
    PL5005 "gitlab-schema" Error,
    PL6001 "untrusted-input" Error,
    PL6002 "download-and-execute" Error,
    PL6003 "unpinned-install" Warning,
    PL6004 "unpinned-include" Error,
    PL6005 "privileged-container" Warning,
    PL6006 "debug-trace" Error,
    PL6007 "invisible-unicode" Error,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The family: `'0'` syntax, `'1'` names and types, `'2'` graphs, `'3'` images,
    /// `'4'` credentials, `'5'` compilation, `'6'` supply chain.
    pub fn family(self) -> char {
        self.0.chars().nth(2).unwrap_or('0')
    }

    /// The code written as `text` (any case), if it is one.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.0.eq_ignore_ascii_case(text))
    }
}

impl std::ops::Deref for Code {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_ordered_and_complete() {
        for pair in Code::ALL.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        for code in Code::ALL {
            assert!(!code.name().is_empty(), "{code}");
            assert_eq!(Code::parse(&code.to_ascii_lowercase()), Some(*code));
        }
        assert_eq!(Code::PL3001.name(), "image-without-tag");
        assert_eq!(Code::PL3003.default_severity(), Severity::Warning);
        assert_eq!(Code::PL6004.family(), '6');
    }
}
