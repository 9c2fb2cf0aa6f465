//! PL1013 expired-allowance: A `# plumb-allow … until DATE` whose date has passed, or is not a date.

use crate::suppress::{parse_allowance, Date};
use crate::FileCx;
use plumb_diagnostics::{Diagnostic, FileId, FileRange};
use plumb_syntax::Comment;

declare_rule! {
    code: PL1013,
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
