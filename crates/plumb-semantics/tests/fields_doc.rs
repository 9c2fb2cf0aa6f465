//! `docs/fields.md` is generated from the field table the checker uses: this test keeps
//! it equal (`PLUMB_WRITE_DOCS=1 cargo test -p plumb-semantics --test fields_doc`
//! rewrites it), and checks every field and record key is documented.

use plumb_semantics::fields::{fields_markdown, JOB_FIELDS, PIPELINE_FIELDS};
use std::path::Path;

#[test]
fn docs_fields_md_is_generated_from_the_field_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fields.md");
    let expected = fields_markdown();
    if std::env::var_os("PLUMB_WRITE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/fields.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/fields.md is not what the field table says: run \
         `PLUMB_WRITE_DOCS=1 cargo test -p plumb-semantics --test fields_doc`"
    );
}

#[test]
fn every_field_has_docs_targets_and_an_example() {
    for f in JOB_FIELDS.iter().chain(PIPELINE_FIELDS) {
        for (what, text) in [
            ("doc", f.doc),
            ("gitlab", f.gitlab),
            ("k8s", f.k8s),
            ("example", f.example),
        ] {
            assert!(!text.trim().is_empty(), "field `{}` has no {what}", f.name);
        }
        assert!(
            f.example.starts_with(f.name),
            "the example of `{}` does not set it: {}",
            f.name,
            f.example
        );
        if let Some(record) = f.ty.record() {
            for key in record.keys {
                assert!(!key.doc.is_empty(), "`{}.{}` has no doc", f.name, key.name);
            }
        }
    }
}
