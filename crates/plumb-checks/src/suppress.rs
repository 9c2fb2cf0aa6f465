//! `# plumb-allow: CODE[, CODE…] [until YYYY-MM-DD] [reason]` comments: they silence
//! those codes on their own line and on the next line that is not a comment, until the
//! day after `until`, from which they silence nothing (and PL1013 reports them).

use plumb_diagnostics::LineIndex;
use plumb_syntax::Comment;
use std::collections::HashMap;

/// The codes allowed on each 0-based line of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowances {
    lines: HashMap<usize, Vec<String>>,
}

impl Allowances {
    pub fn from_comments(text: &str, comments: &[Comment], index: &LineIndex) -> Allowances {
        let mut lines: HashMap<usize, Vec<String>> = HashMap::new();
        let comment_lines: std::collections::HashSet<usize> = comments
            .iter()
            .filter(|c| {
                let line = index.line_of(c.range.start as usize);
                text[index.line_start(line)..c.range.start as usize]
                    .trim()
                    .is_empty()
            })
            .map(|c| index.line_of(c.range.start as usize))
            .collect();
        let today = Date::today();
        for c in comments {
            let Some(allow) = parse_allowance(&c.text) else {
                continue;
            };
            if allow.expired(today) {
                continue; // it silences nothing; PL1013 says so
            }
            let codes = allow.codes;
            let line = index.line_of(c.range.start as usize);
            lines.entry(line).or_default().extend(codes.iter().cloned());
            // the next line that is not a comment-only or blank line
            let mut next = line + 1;
            while next < index.line_count()
                && (comment_lines.contains(&next) || line_text(text, index, next).trim().is_empty())
            {
                next += 1;
            }
            lines.entry(next).or_default().extend(codes);
        }
        Allowances { lines }
    }

    pub fn allows(&self, line: usize, code: &str) -> bool {
        // a syntax error means the rest was not checked: no comment hides it
        if code == plumb_diagnostics::Code::PL0001.as_str() {
            return false;
        }
        self.lines.get(&line).is_some_and(|codes| {
            codes
                .iter()
                .any(|c| c.eq_ignore_ascii_case(code) || c == "all")
        })
    }
}

fn line_text<'t>(text: &'t str, index: &LineIndex, line: usize) -> &'t str {
    let start = index.line_start(line);
    let end = if line + 1 < index.line_count() {
        index.line_start(line + 1)
    } else {
        text.len()
    };
    &text[start..end]
}

/// A `plumb-allow:` comment: its codes, the last day it holds (`until YYYY-MM-DD`),
/// and the reason written after them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub codes: Vec<String>,
    pub until: Option<Date>,
    /// The text after `until` when it is not a date (`until 2024-13-45`, `until
    /// yesterday`): such an allowance silences nothing, and PL1013 says why (a typo
    /// must not make an exception last for ever).
    pub bad_date: Option<String>,
    pub reason: String,
}

/// A calendar day, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0);
        let days_in_month = match date.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        ((1..=12).contains(&date.month) && (1..=days_in_month).contains(&date.day)).then_some(date)
    }

    /// Today in UTC, or `PLUMB_TODAY` (`YYYY-MM-DD`) when set, for tests and for
    /// reproducing a past check.
    pub fn today() -> Date {
        if let Some(d) = std::env::var("PLUMB_TODAY")
            .ok()
            .and_then(|s| Date::parse(&s))
        {
            return d;
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// The civil date `days` after 1970-01-01 (Howard Hinnant's algorithm).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl Allow {
    /// From the day after `until`, an allowance silences nothing (PL1013 reports it).
    pub fn expired(&self, today: Date) -> bool {
        self.bad_date.is_some() || self.until.is_some_and(|until| today > until)
    }
}

/// The codes of a `plumb-allow:` comment's text (after `#`).
pub fn parse_allow(comment: &str) -> Option<Vec<String>> {
    parse_allowance(comment).map(|a| a.codes)
}

/// A `plumb-allow:` comment's codes, `until` date and reason.
pub fn parse_allowance(comment: &str) -> Option<Allow> {
    let rest = comment.trim_start().strip_prefix("plumb-allow:")?;
    let is_code =
        |w: &str| w.starts_with("PL") && w.len() == 6 && w[2..].chars().all(|c| c.is_ascii_digit());
    let mut codes = Vec::new();
    let mut tail = "";
    for part in rest.split(',') {
        let part = part.trim_start();
        let code = part.split_whitespace().next().unwrap_or("");
        if !is_code(code) {
            if codes.is_empty() {
                return None;
            }
            tail = part;
            break;
        }
        codes.push(code.to_string());
        let after = part[code.len()..].trim();
        if !after.is_empty() {
            tail = after;
            break;
        }
    }
    if codes.is_empty() {
        return None;
    }
    // words are split by any run of blanks (`until  2027-01-01` has a date too)
    let word = |s: &str| -> (String, String) {
        let s = s.trim_start();
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        (s[..end].to_string(), s[end..].trim().to_string())
    };
    let (first, after_first) = word(tail);
    let (until, bad_date, reason) = if first == "until" {
        let (date, reason) = word(&after_first);
        match Date::parse(&date) {
            Some(d) => (Some(d), None, reason),
            None => (None, Some(date), reason),
        }
    } else {
        (None, None, tail.trim().to_string())
    };
    Some(Allow {
        codes,
        until,
        bad_date,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reason() {
        assert_eq!(
            parse_allow(" plumb-allow: PL3003, PL4004 vendor image"),
            Some(vec!["PL3003".into(), "PL4004".into()])
        );
        assert_eq!(
            parse_allow(" plumb-allow: PL3003 pinned upstream"),
            Some(vec!["PL3003".into()])
        );
        assert_eq!(parse_allow(" just a comment"), None);
        let a =
            parse_allowance(" plumb-allow: PL3003 until  2026-03-31   vendor").expect("allowance");
        assert_eq!(
            a.until.map(|d| d.to_string()).as_deref(),
            Some("2026-03-31")
        );
        assert_eq!(a.reason, "vendor");
        let a = parse_allowance(" plumb-allow: PL3003 until 2026-03-31 vendor pins it in Q1")
            .expect("allow");
        assert_eq!(a.codes, ["PL3003"]);
        assert_eq!(
            a.until.map(|d| d.to_string()).as_deref(),
            Some("2026-03-31")
        );
        assert_eq!(a.reason, "vendor pins it in Q1");
        let march = Date::parse("2026-03-31").expect("date");
        assert!(!a.expired(march));
        assert!(a.expired(Date::parse("2026-04-01").expect("date")));
        assert_eq!(Date::parse("2026-13-01"), None);
    }

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_454).to_string(), "2026-01-01");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
    }

    #[test]
    fn applies_to_own_and_next_code_line() {
        let text = "# plumb-allow: PL3001\n# another comment\n\nlet a = 1\nlet b = 2 # plumb-allow: PL3002\n";
        let parse = plumb_syntax::parse(text);
        let index = LineIndex::new(text);
        let a = Allowances::from_comments(text, &parse.comments, &index);
        assert!(a.allows(0, "PL3001"));
        assert!(a.allows(3, "PL3001"));
        assert!(!a.allows(4, "PL3001"));
        assert!(a.allows(4, "PL3002"));
    }
}
