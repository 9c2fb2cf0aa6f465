//! PL1009 recursive-let: A `let` is defined in terms of itself.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1009,
    summary: r####"A `let` is defined in terms of itself."####,
    explanation: r####"A `let` value is computed once, when the program is compiled, and may use other lets (in any order). A let that refers to itself, directly or through a chain of other lets, has no value: the chain is reported at the let where it closes. Give one of the lets a value that does not depend on the others."####,
    bad: r####"let a = "${b}-x"
let b = "${a}-y""####,
    good: r####"let a = "base-x"
let b = "${a}-y""####,
}
