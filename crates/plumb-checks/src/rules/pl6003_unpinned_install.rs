//! PL6003 unpinned-install: A tool is installed from a version or branch that moves.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6003,
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
