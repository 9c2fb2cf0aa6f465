//! `plumb import` on any text: a GitLab CI file it accepts becomes Plumb that parses
//! (the import formats it, which refuses what does not parse) and has no syntax error.
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
    if let Ok(imported) = plumb_import::import(Path::new(".gitlab-ci.yml"), text, &NoFiles) {
        let parse = plumb_syntax::parse(&imported.plumb);
        assert!(parse.errors.is_empty(), "the import wrote a syntax error:\n{}", imported.plumb);
    }
});
