//! Deliberately ugly inputs, with comments in every position: their formatted output
//! is pinned by snapshots.

#[test]
fn ugly_inputs_are_formatted_as_pinned() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ugly");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for path in names {
        let src = std::fs::read_to_string(&path).expect("read");
        let out = plumb_fmt::format(&src).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert_eq!(
            plumb_fmt::format(&out).as_deref(),
            Ok(out.as_str()),
            "{}: not idempotent",
            path.display()
        );
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, out);
        });
    }
}
