//! `plumb import` on any text: a GitLab CI file it accepts becomes Plumb that parses
//! (the import formats it, which refuses what does not parse) and has no syntax error.
//! Read for a check (`plumb check .gitlab-ci.yml`), the same file becomes a program that
//! parses too, and every span of it maps back into the YAML's text (or to nothing),
//! never out of it. A file read in halves is read as the whole file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

struct NoFiles;

impl plumb_import::Files for NoFiles {
    fn read(&self, _: &Path) -> std::io::Result<String> {
        Err(std::io::Error::other("no includes while fuzzing"))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new(".gitlab-ci.yml");
    // a file read in two halves (as large files are) reads as the whole, or is refused
    let whole = plumb_import::yaml::parse(text, 0);
    for (at, _) in text.match_indices('\n').take(64) {
        if let Some(halves) = plumb_import::yaml::parse_halves(text, 0, at + 1) {
            assert_eq!(Ok(halves), whole, "the halves cut at {} differ", at + 1);
        }
    }
    if let Ok(imported) = plumb_import::import(path, text, &NoFiles) {
        let parse = plumb_syntax::parse(&imported.plumb);
        assert!(parse.errors.is_empty(), "the import wrote a syntax error:\n{}", imported.plumb);
    }
    if let Ok(read) = plumb_import::import_for_check(path, text, &NoFiles) {
        let parse = plumb_syntax::parse(&read.plumb);
        assert!(parse.errors.is_empty(), "the check's program has a syntax error:\n{}", read.plumb);
        let len = read.plumb.len() as u32;
        for start in (0..len).step_by(7) {
            let end = (start + 5).min(len);
            if let Some(spot) = read.origins.locate(&read.plumb, start..end, &[text]) {
                assert!(spot.file == 0 && spot.range.start <= spot.range.end);
                assert!(spot.range.end as usize <= text.len(), "a span past the YAML's end");
                assert!(text.is_char_boundary(spot.range.start as usize));
                assert!(text.is_char_boundary(spot.range.end as usize));
            }
        }
    }
});
