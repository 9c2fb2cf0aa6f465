//! PL1013 expired-allowance: A `# plumb-allow … until DATE` whose date has passed, or is not a date.

use crate::suppress::{parse_allowance, Date};
use crate::FileCx;
use plumb_diagnostics::{Diagnostic, FileId, FileRange};
use plumb_syntax::Comment;

declare_rule! {
    code: PL1013,
    summary: r####"A `# plumb-allow … until DATE` whose date has passed, or is not a date."####,
    explanation: r####"`# plumb-allow: PL3003 until 2026-03-31 the vendor pins it in Q1` silences PL3003 on its line and the next one until the end of that day (UTC). From the next day it silences nothing, so the finding it hid is reported again, and this warning names the date and the reason, so the exception gets looked at instead of living forever. Fix the finding, or renew the date with a new reason. An `until` that is not a date (`until 2024-13-45`, `until 2024-2-1`, `until friday`) silences nothing from the start, with this warning: a typo must not make an exception last for ever. `PLUMB_TODAY=YYYY-MM-DD` sets the day a check runs on (for tests and for reproducing an old run)."####,
    bad: r####"pipeline p {
  stage s {
    # plumb-allow: PL3003 until 2000-01-01 the vendor publishes digests soon
    job j { image = "busybox:1.36.1", run = ["true"] }
  }
}"####,
    good: r####"pipeline p {
  stage s {
    # plumb-allow: PL3003 until 2999-12-31 the vendor publishes digests soon
    job j { image = "busybox:1.36.1", run = ["true"] }
  }
}"####,
    file: check_file,
}

fn check_file(cx: &FileCx, out: &mut Vec<Diagnostic>) {
    out.extend(expired_allowances(cx.file, &cx.parse.comments));
}

/// PL1013 for each expired allowance among `comments` (of a Plumb or a YAML file).
pub fn expired_allowances(file: FileId, comments: &[Comment]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let today = Date::today();
    for c in comments {
        let Some(allow) = parse_allowance(&c.text) else {
            continue;
        };
        if !allow.expired(today) {
            continue;
        }
        let why = if allow.reason.is_empty() {
            String::new()
        } else {
            format!(" (\"{}\")", allow.reason)
        };
        let (message, label) = match (&allow.bad_date, allow.until) {
            (Some(bad), _) => (
                format!(
                    "this allowance of {} has `until {bad}`, which is not a date (YYYY-MM-DD){why}: it silences nothing",
                    allow.codes.join(", ")
                ),
                "not a date".to_string(),
            ),
            (None, Some(until)) => (
                format!(
                    "this allowance of {} expired on {until}{why}: it silences nothing now",
                    allow.codes.join(", ")
                ),
                format!("valid until {until}"),
            ),
            (None, None) => continue,
        };
        out.push(
            Diagnostic::new(
                RULE.code,
                RULE.severity(),
                FileRange {
                    file,
                    range: c.range,
                },
                message,
            )
            .with_label(label)
            .with_help("fix what it silenced, or renew it with a new date and reason"),
        );
    }
    out
}
