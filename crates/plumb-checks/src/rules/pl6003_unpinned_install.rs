//! PL6003 unpinned-install: A tool is installed from a version or branch that moves.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6003,
    summary: r####"A tool is installed from a version or branch that moves."####,
    explanation: r####"`go install x@latest`, `pip install git+https://…` without a commit, `npm install -g x` or `npx x` without a version, `cargo install x` without `--version`, `gem install x` without `-v`, and a `git clone` of a branch whose code the job then runs (a file from it, or `make`, `pip install .`, `npm install` in it) without a checkout of a tag or commit, install whatever was published last, so two runs of the same commit can run different code, and a compromised release reaches the job at once. Pin an exact version or commit. `lint.allow_installs` in `plumb.toml` lists commands a team trusts, as globs (`go install golang.org/x/tools/cmd/goimports@*`)."####,
    bad: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["go install golang.org/x/tools/cmd/goimports@latest"] } } }"####,
    good: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["go install golang.org/x/tools/cmd/goimports@v0.24.0"] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    out.extend(crate::supply::unpinned_installs(cx).into_iter().map(|hit| {
        hit.into_diagnostic(&RULE, "pin an exact version or commit (`x@v1.2.3`, `git+https://…@<commit>`, `--version 1.2.3`)")
    }));
    out.extend(crate::clones::unpinned_clones_run(cx, cx.scripts()).into_iter().map(|hit| {
        hit.into_diagnostic(&RULE, "clone a tag (`git clone --branch v1.2.3 …`) or check out a commit before running it (`git -C DIR checkout <commit>`)")
    }));
}
