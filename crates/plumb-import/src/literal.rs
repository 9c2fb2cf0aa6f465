//! How the importer spells a Plumb string literal, and text kept on one line (for a
//! comment): a leaf the condition translator, the writer and the comments all use.

/// Writes a Plumb string literal: `"`, `\`, newlines, tabs and carriage returns
/// escaped, each invisible or control character as `\u{…}` (a reader sees it, and PL6007
/// does not take the escape the YAML wrote for a hidden character), and `${` (Plumb's
/// interpolation) written `\${` so that the shell sees it as GitLab's file had it.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut rest = s;
    loop {
        // a run of printable ASCII that needs no escape is copied at once (a script
        // of megabytes is mostly that)
        let plain = (rest.as_bytes().iter())
            .position(|b| !matches!(b, b' '..=b'~') || matches!(b, b'"' | b'\\' | b'$'))
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        rest = &rest[c.len_utf8()..];
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if plumb_syntax::invisible::name(c).is_some() => {
                out.push_str(&format!("\\u{{{:X}}}", u32::from(c)));
            }
            '$' if rest.starts_with('{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` on one line: each control character, and the Unicode line and paragraph
/// separators, made a space, but those in `keep`; each other invisible or bidirectional
/// character written `\u{…}` (a job named `job<U+202E>name` must not reorder the comment
/// that names it, which PL6007 would then report).
pub fn one_line_keeping(s: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let ends_a_line = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
        if keep.contains(&c) {
            out.push(c);
        } else if ends_a_line {
            out.push(' ');
        } else if plumb_syntax::invisible::name(c).is_some() {
            out.push_str(&format!("\\u{{{:X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// `program` (formatted) with each string literal of several lines written as a block
/// string (`"""`, one line of the program per line of the text), where the block
/// reads back as exactly the same text; the others as they were.
pub fn with_block_strings(program: &str) -> String {
    let lexed = plumb_syntax::lexer::lex(program);
    let mut out = String::with_capacity(program.len() + program.len() / 8);
    let mut copied = 0usize;
    for (token, range) in &lexed.tokens {
        let plumb_syntax::token::Token::Str(s) = token else {
            continue;
        };
        let (start, end) = (range.start as usize, range.end as usize);
        let Some(text) = plain_text(s) else {
            continue;
        };
        let line_start = program[..start].rfind('\n').map_or(0, |i| i + 1);
        let column = program[line_start..start].len()
            - program[line_start..start].trim_start_matches(' ').len();
        let Some(block) = block_literal(&text, column) else {
            continue;
        };
        out.push_str(&program[copied..start]);
        out.push_str(&block);
        copied = end;
    }
    out.push_str(&program[copied..]);
    out
}

/// The text of a one-line string literal without interpolation.
fn plain_text(s: &plumb_syntax::token::StrToken) -> Option<String> {
    s.as_plain().filter(|_| !s.block)
}

/// `text` as a block string whose closing quotes are at `column`: `None` when a block
/// would not read back as `text` (the lexer drops a last line of blanks and cuts the
/// common indentation, and a carriage return ends a line), or `text` is one line.
fn block_literal(text: &str, column: usize) -> Option<String> {
    let blank = |l: &str| l.chars().all(|c| c == ' ' || c == '\t');
    let lines: Vec<&str> = text.split('\n').collect();
    let readable = lines.len() > 1
        && !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        && lines.last().is_some_and(|l| !blank(l))
        && lines
            .iter()
            .any(|l| !l.starts_with([' ', '\t']) && !l.is_empty());
    if !readable {
        return None;
    }
    // the closing quotes end the last line, which is not blank: as long as the YAML's
    // `- |` block (one line for its key, one per line of text)
    let mut out = String::from("\"\"\"");
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(column + 2));
            out.push_str(&block_escaped(line));
        }
    }
    if out.ends_with('"') {
        // a quote the closing ones follow would be one of them: they go on a line of
        // their own, which the lexer drops
        out.push('\n');
        out.push_str(&" ".repeat(column));
    }
    out.push_str("\"\"\"");
    Some(out)
}

/// A line of a block string: `\` and `${` escaped as in any string, and a `"` that two
/// `"` follow (`"""` would end the block; `VAR=""` reads as written).
fn block_escaped(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match (c, chars.get(i + 1), chars.get(i + 2)) {
            ('\\', ..) => out.push_str("\\\\"),
            ('$', Some('{'), _) => out.push_str("\\$"),
            ('"', Some('"'), Some('"')) => out.push_str("\\\""),
            (c, ..) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the first string literal of `program`.
    fn first_string(program: &str) -> String {
        let lexed = plumb_syntax::lexer::lex(program);
        assert!(lexed.errors.is_empty(), "{program}: {:?}", lexed.errors);
        lexed
            .tokens
            .iter()
            .find_map(|(t, _)| match t {
                plumb_syntax::token::Token::Str(s) => Some(
                    s.segments
                        .iter()
                        .map(|seg| match seg {
                            plumb_syntax::token::RawSegment::Text(t, _) => t.clone(),
                            plumb_syntax::token::RawSegment::Interp(..) => panic!("interpolation"),
                        })
                        .collect(),
                ),
                _ => None,
            })
            .expect("a string")
    }

    #[test]
    fn a_block_reads_back_as_the_text_or_the_string_stays_quoted() {
        let texts = [
            "if [ -n \"$X\" ]; then\n  echo \"${Y}\"\nfi",
            "a\n\n   \nb",
            "echo \"\"\"\"\nsay \"hi\"",
            "tag=\"\"\nx=\"\"\"\"\"\"\"\ny=\"\"",
            "a\n\"\"",
            "first\nlast\\\"",
            "quote at the end\necho \"",
            "\tindented by a tab\nnot",
            "\n\nstarts with blank lines",
            "ends with a newline\n",
            "ends with blanks\n   ",
            "  all\n  indented",
            "a carriage\r\nreturn",
            "back\\slash\\\nat the end\\",
            "one line",
        ];
        for text in texts {
            let program = format!("let x = {}\n", string_literal(text));
            let written = with_block_strings(&program);
            assert_eq!(first_string(&written), text, "{written}");
            let blocked = written.contains("\"\"\"");
            let expected = !matches!(
                text,
                "ends with a newline\n"
                    | "ends with blanks\n   "
                    | "  all\n  indented"
                    | "a carriage\r\nreturn"
                    | "one line"
            );
            assert_eq!(blocked, expected, "{written}");
        }
    }

    #[test]
    fn an_empty_quoted_string_in_a_block_reads_as_written() {
        let program = format!("let x = {}\n", string_literal("tag=\"\"\necho \"$tag\""));
        assert!(with_block_strings(&program).contains("tag=\"\"\n"));
    }

    #[test]
    fn a_block_is_as_long_as_its_lines_and_indented_under_its_line() {
        let program = "  run = [\n    \"echo one\\necho two\",\n  ]\n";
        assert_eq!(
            with_block_strings(program),
            "  run = [\n    \"\"\"\n      echo one\n      echo two\"\"\",\n  ]\n"
        );
    }
}
