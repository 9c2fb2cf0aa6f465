//! On every program of the repository: formatting is idempotent, keeps every comment,
//! and keeps the program (the same tokens, commas aside).

mod common;

use common::{comments, tokens};

fn programs() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let mut dirs = vec![root.join("fixtures"), root.join("examples")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "plumb") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn formatting_is_idempotent_and_keeps_programs_and_comments() {
    let mut formatted = 0;
    for (path, src) in programs() {
        let Ok(once) = plumb_fmt::format(&src) else {
            continue;
        };
        formatted += 1;
        let twice = plumb_fmt::format(&once).unwrap_or_else(|e| {
            panic!("{path}: the formatted text does not parse ({e:?}):\n{once}")
        });
        assert_eq!(once, twice, "{path}: not idempotent");
        assert_eq!(
            tokens(&src),
            tokens(&once),
            "{path}: the program changed:\n{once}"
        );
        assert_eq!(
            comments(&src),
            comments(&once),
            "{path}: comments changed:\n{once}"
        );
    }
    assert!(formatted > 100, "only {formatted} programs formatted");
}

#[test]
fn syntax_errors_are_refused() {
    assert!(plumb_fmt::format("pipeline p {").is_err());
}

#[test]
fn an_allowance_above_a_stage_keeps_its_lone_job_off_the_stage_line() {
    // on `stage build { job compile {` the allowance would cover the job's name too
    let src = "pipeline p {\n  # plumb-allow: PL3003 pinned by the mirror\n  stage build {\n    job compile {\n      image = \"go:1.22\"\n      run   = [\"make\"]\n      retry = 1\n      when  = tag\n    }\n  }\n}\n";
    assert_eq!(plumb_fmt::format(src).as_deref(), Ok(src));
    let without = src.replace("  # plumb-allow: PL3003 pinned by the mirror\n", "");
    let nested = plumb_fmt::format(&without).expect("formats");
    assert!(
        nested.contains("  stage build { job compile {\n"),
        "{nested}"
    );
    assert!(nested.contains("\n  } }\n"), "{nested}");
}

#[test]
fn an_allowance_whose_line_moves_but_covers_the_same_tokens_is_formatted() {
    // the list above joins onto one line: the allowance moves up two lines, and still
    // covers its own line and the job's
    let src = "let tags = [\n  \"a\",\n  \"b\",\n]\n\npipeline p {\n  stage s {\n    # plumb-allow: PL3003 reviewed\n    job a { image = \"alpine:latest\" }\n  }\n}\n";
    let formatted = plumb_fmt::format(src).expect("formats");
    assert!(
        formatted.starts_with("let tags = [\"a\", \"b\"]\n"),
        "{formatted}"
    );
    assert!(
        formatted.contains("    # plumb-allow: PL3003 reviewed\n    job a {"),
        "{formatted}"
    );
}

#[test]
fn a_comment_in_a_lone_jobs_header_is_formatted_once_for_all() {
    // found by the property test: the job measured from column 0 fit on one line, and
    // printed four columns further right it did not
    let src = "pipeline p {\n  stage s0 {\n    job x_10 from t(pkg = \"./x\") { # note\n      image = \"alpine:latest\", run = \"echo $TOKEN\" }\n  }\n}\n";
    let once = plumb_fmt::format(src).expect("formats");
    assert_eq!(plumb_fmt::format(&once).as_deref(), Ok(once.as_str()));
}

#[test]
fn records_and_lists_nested_as_deep_as_the_parser_allows_are_formatted() {
    // each level used to be measured once per layout tried by each level above it:
    // twice the time per level (a record 32 deep took seconds, 60 deep would not end)
    let mut value = String::from("\"x\"");
    for depth in 0..60 {
        value = if depth % 2 == 0 {
            format!("{{ a = {value}, b = \"y\" }}")
        } else {
            format!("[{value}, \"z\"]")
        };
    }
    let src = format!("let deep = {value}\n");
    assert!(plumb_syntax::parse(&src).errors.is_empty());
    let once = plumb_fmt::format(&src).expect("formats");
    assert_eq!(plumb_fmt::format(&once).as_deref(), Ok(once.as_str()));
}

#[test]
fn a_body_of_one_field_on_several_lines_opens_it_on_its_line() {
    let src = "pipeline p {\n  stage test {\n    job unit {  # the unit tests\n      run = [\n        \"make deps\",\n        # the slow part\n        \"make test\",\n      ]\n    }\n  }\n}\n";
    let hugged = "pipeline p {\n  stage test { job unit { run = [  # the unit tests\n    \"make deps\",\n    # the slow part\n    \"make test\",\n  ] } }\n}\n";
    assert_eq!(plumb_fmt::format(src).as_deref(), Ok(hugged));
    assert_eq!(plumb_fmt::format(hugged).as_deref(), Ok(hugged));
    // a list that fits stays on the job's line; an allowance above the job keeps
    // the field on a line of its own
    let short = "template a() {\n  run = [\"make\"]\n}\n";
    assert_eq!(
        plumb_fmt::format(short).as_deref(),
        Ok("template a() { run = [\"make\"] }\n")
    );
    let allowed = "# plumb-allow: PL3003 reviewed\ntemplate t() {\n  run = [\n    \"make deps\",\n    # the slow part\n    \"make test\",\n  ]\n}\n";
    assert_eq!(plumb_fmt::format(allowed).as_deref(), Ok(allowed));
}

#[test]
fn comments_around_a_lone_fields_value_are_formatted_once_for_all() {
    // found by the property test: where the comments of the first formatting land
    // decided whether the second opened the value on the body's line
    for src in [
        "template x_14 ( pkg :\nString ) {  # note 1\nrun  # note 2\n= [ \"\"\"\n    make\n      test\n  \"\"\" , 512Mi\n, 0 ,  # note 3\n] ,\n\n   }\n",
        "template\nbuild4 ( pkg : String\n= \"./...\" ) {  # note 1\nenv\n\n   =\n{ \"A B\"  # note 2\n= build3 , } , }\n",
        "# plumb-allow: PL3001 reviewed\ntemplate unit-api2 ( pkg : String ) {  # note 1\ntimeout  # note 2\n=\n[  # note 3\n]\n}  # note 4\n",
        "template job3(pkg: String) {\nenv  # note 4\n= {\n\"A B\" =\n\"go test ${pkg}\"\n\n   run\n= job4 image = \"\"\"\n    make\n      test\n  \"\"\" } }\n",
    ] {
        let once = plumb_fmt::format(src).unwrap_or_else(|e| panic!("{e:?} for\n{src}"));
        assert_eq!(plumb_fmt::format(&once).as_deref(), Ok(once.as_str()), "{src}");
    }
}

#[test]
fn comments_by_a_lone_list_that_fills_its_lines_stay_in_their_job() {
    let tags: Vec<String> = (0..12).map(|i| format!("\"runner-tag-{i:02}\"")).collect();
    let tags = tags.join(", ");
    // a `{` line's comment: the list is then one tag per line, the first time as the
    // second (once the comment is inside it, it no longer fills its lines)
    let src = format!("template t() {{  # c\n  tags = [{tags}]\n}}\n");
    let once = plumb_fmt::format(&src).expect("formats");
    assert!(once.starts_with("template t() { tags = [  # c\n"), "{once}");
    assert_eq!(plumb_fmt::format(&once).as_deref(), Ok(once.as_str()));
    // a comment between the name and a filled list: the body keeps its lines, and the
    // comment stays in the job, not above the next one
    let src = format!(
        "pipeline p {{\n  stage s {{\n    job a {{\n      tags # which runners\n      = [{tags}]\n    }}\n    job b {{ run = [\"x\"] }}\n  }}\n}}\n"
    );
    let once = plumb_fmt::format(&src).expect("formats");
    let comment = once.find("# which runners").expect("kept");
    assert!(comment < once.find("job b").expect("job b"), "{once}");
    assert!(once.contains("    job a {\n"), "{once}");
    assert_eq!(plumb_fmt::format(&once).as_deref(), Ok(once.as_str()));
}

#[test]
fn an_allowance_keeps_the_layout_of_what_it_covers_and_no_more() {
    // job a's list would be joined onto the line allowance a covers, and stage t's job
    // onto the line b covers: both keep their lines as written, the rest of the file is
    // formatted (it was refused: the fallback took every joined layout apart)
    let cmd = format!("\"echo {}\",", "a".repeat(90));
    let src = format!(
        "pipeline p {{\n  # plumb-allow: PL1005 a\n  stage s {{ job a {{\n    run = [\n      {cmd}\n    ]\n  }} }}\n\n  # plumb-allow: PL1005 b\n  stage t after s {{\n    job b {{\n      run = [\n        {cmd}\n      ]\n    }}\n  }}\n\n  stage u after t {{\n    job c {{\n      run = [\n        {cmd}\n      ]\n    }}\n  }}\n}}\n"
    );
    let formatted = plumb_fmt::format(&src).expect("formats");
    // (job b's own line is not one b covers: it opens its list there)
    let expected = src
        .replace(
            &format!("  stage u after t {{\n    job c {{\n      run = [\n        {cmd}\n      ]\n    }}\n  }}\n"),
            &format!("  stage u after t {{ job c {{ run = [\n    {cmd}\n  ] }} }}\n"),
        )
        .replace(
            &format!("    job b {{\n      run = [\n        {cmd}\n      ]\n    }}\n"),
            &format!("    job b {{ run = [\n      {cmd}\n    ] }}\n"),
        );
    assert_eq!(formatted, expected);
}

#[test]
fn an_allowance_keeps_the_source_layout_of_the_lines_it_covers() {
    // each was refused: the formatter's layout joined or split the lines an allowance
    // covers (a short body joined onto the job's line, a one-line stage split, closings
    // joined onto the allowance's line)
    for src in [
        // a short body written on several lines, allowance above the job
        "pipeline p {\n  stage s {\n    # plumb-allow: PL3001\n    job a {\n      image = \"x:latest\"\n    }\n\n    job b { image = \"x:latest\" }\n  }\n}\n",
        // a stage and its one-line job on one line
        "pipeline p {\n  # plumb-allow: PL3001\n  stage w { job e { run = [\"x\"] } }\n}\n",
        // an allowance on a hugged job's closing line, the stage's on the next
        "pipeline p {\n  stage t {\n    job b { run = [\n      \"make\",\n    ] }  # plumb-allow: PL3001\n  }\n}\n",
        // on a job's closing line, above the stage's
        "pipeline p {\n  stage u {\n    job c {\n      run = [\"x\"]\n    }  # plumb-allow: PL3001\n  }\n}\n",
        // a hugged job, allowance above
        "pipeline p {\n  stage v {\n    # plumb-allow: PL3001\n    job d { run = [\n      \"make\",\n    ] }\n  }\n}\n",
        // a job on one line with more fields than a one-line body has
        "pipeline p {\n  stage s {\n    # plumb-allow: PL3003\n    job a { image = \"x:1\", run = [\"true\"], retry = 1, timeout = 5m }\n    job b { image = \"x:1\" }\n  }\n}\n",
        // a record and a list on several lines that would fit on one
        "template t() {\n  # plumb-allow: PL3001\n  cache = {\n    paths = [\"a\"]\n  }\n  # plumb-allow: PL3001\n  run   = [\n    \"make\",\n  ]\n}\n",
    ] {
        assert_eq!(plumb_fmt::format(src).as_deref(), Ok(src), "{src}");
    }
}

#[test]
fn many_allowances_keep_their_lines_and_the_rest_is_formatted() {
    // more allowances needing their lines kept than the formatter retries one by one:
    // all keep theirs at once, the other jobs are still joined onto one line
    let mut src = String::from("pipeline p {\n");
    for i in 0..40 {
        src.push_str(&format!(
            "  stage s{i} {{\n    # plumb-allow: PL3001\n    job a{i} {{\n      image = \"x:latest\"\n    }}\n\n    job b{i} {{\n      image = \"y:latest\"\n    }}\n  }}\n\n"
        ));
    }
    src.push_str("}\n");
    let formatted = plumb_fmt::format(&src).expect("formats");
    assert!(
        formatted.contains("    job a39 {\n      image"),
        "{formatted}"
    );
    assert!(formatted.contains("    job b39 { image = \"y:latest\" }\n"));
    assert_eq!(
        plumb_fmt::format(&formatted).as_deref(),
        Ok(formatted.as_str())
    );
}

#[test]
fn a_byte_order_mark_is_no_syntax_error_and_stays() {
    let src =
        "\u{feff}pipeline p {\n  stage s {\n    job a {\n      run = [\"make\"]\n    }\n  }\n}\n";
    assert!(plumb_syntax::parse(src).errors.is_empty());
    let formatted = plumb_fmt::format(src).expect("formats");
    assert_eq!(
        formatted,
        "\u{feff}pipeline p {\n  stage s { job a { run = [\"make\"] } }\n}\n"
    );
    assert_eq!(
        plumb_fmt::format(&formatted).as_deref(),
        Ok(formatted.as_str())
    );
}

/// A file with CRLF line ends is written with `\n` throughout, block strings too (the
/// lexer reads their `\r\n` as a line end: the value is the same), never mixed.
#[test]
fn crlf_line_ends_become_lf_in_block_strings_too() {
    let src = "pipeline p {\r\n  stage s {\r\n    job a {\r\n      run = \"\"\"\r\n        make\r\n        make test\r\n      \"\"\"\r\n    }\r\n  }\r\n}\r\n";
    let formatted = plumb_fmt::format(src).expect("formats");
    assert!(!formatted.contains('\r'), "{formatted:?}");
    assert_eq!(tokens(src), tokens(&formatted), "{formatted:?}");
}

#[test]
fn an_empty_stage_is_one_line_and_one_with_a_comment_keeps_it() {
    let src =
        "pipeline p {\n  stage build {\n  }\n\n  stage test {\n    # the included jobs\n  }\n}\n";
    let formatted = plumb_fmt::format(src).expect("formats");
    assert_eq!(
        formatted,
        "pipeline p {\n  stage build {}\n\n  stage test {\n    # the included jobs\n  }\n}\n"
    );
    assert_eq!(
        plumb_fmt::format(&formatted).as_deref(),
        Ok(formatted.as_str())
    );
}
