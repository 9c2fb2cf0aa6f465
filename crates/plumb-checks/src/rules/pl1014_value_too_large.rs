//! PL1014 value-too-large: a value that evaluates to more than a mebibyte.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1014,
    summary: r####"A value that evaluates to more than 1 MiB (strings, list items, record entries and conditions counted)."####,
    explanation: r####"A `let` can refer to other lets, so a few lines can describe a value of exponential size (`let s1 = "${s0}${s0}"`, thirty times, is a gigabyte; lists and conditions double the same way). Plumb stops evaluating a value once it passes 1 MiB (string bytes plus one per list item, record entry and condition node), reports it at the expression, and goes on with the value unknown, so `check`, `build` and the language server stay within memory on any input. No real pipeline comes near the limit: split the value, or build it in the script."####,
    bad: r####"let s0 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
let s1 = "${s0}${s0}"
let s2 = "${s1}${s1}"
let s3 = "${s2}${s2}"
let s4 = "${s3}${s3}"
let s5 = "${s4}${s4}"
let s6 = "${s5}${s5}"
let s7 = "${s6}${s6}"
let s8 = "${s7}${s7}"
let s9 = "${s8}${s8}"
let s10 = "${s9}${s9}"
let s11 = "${s10}${s10}"
let s12 = "${s11}${s11}"
let s13 = "${s12}${s12}"
let s14 = "${s13}${s13}"
let s15 = "${s14}${s14}"

pipeline p {
  stage s {
    job j {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run   = ["echo ${s15}"]
    }
  }
}"####,
    good: r####"let s0 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pipeline p {
  stage s {
    job j {
      image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run   = ["echo ${s0}"]
    }
  }
}"####,
}
