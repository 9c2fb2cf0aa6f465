//! PL1011 matrix-too-large: a matrix that expands to more than 200 jobs.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1011,
    summary: r####"A matrix that expands to more jobs than GitLab runs (200)."####,
    explanation: r####"A `matrix` runs the job once per combination of its values: the sizes of its lists multiply. GitLab refuses a `parallel: matrix` of more than 200 jobs, and a Kubernetes build would create one Job per combination. The message spells out the product (`3 × 5 × 20 = 300`) so you can see which variable to split or trim."####,
    bad: r####"pipeline p {
  stage s {
    job test {
      image  = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run    = ["make test"]
      matrix = { A = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"], B = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"] }
    }
  }
}"####,
    good: r####"pipeline p {
  stage s {
    job test {
      image  = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
      run    = ["make test"]
      matrix = { A = ["1", "2", "3", "4", "5"], B = ["1", "2", "3", "4", "5"] }
    }
  }
}"####,
}
