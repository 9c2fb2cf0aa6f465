//! GitLab's CI schema (vendored in `schema/`, see its README), compiled in: every
//! `.gitlab-ci.yml` Plumb writes is validated against it before it is written.

use std::sync::OnceLock;

static SCHEMA_TEXT: &str = include_str!("../schema/gitlab-ci.json");

/// The compiled schema (compiled once per process).
fn validator() -> Option<&'static jsonschema::Validator> {
    static VALIDATOR: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: serde_json::Value = serde_json::from_str(SCHEMA_TEXT).ok()?;
            // formats are annotations, as GitLab's own lint reads them: an environment
            // `url` holding `${CI_COMMIT_REF_SLUG}` is not a URI until the job runs
            jsonschema::options()
                .should_validate_formats(false)
                .build(&schema)
                .ok()
        })
        .as_ref()
}

/// One way a document breaks the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where the offending value is: keys and list indexes from the document's root.
    pub path: Vec<String>,
    /// The keys an "additional properties" violation names (empty for the others).
    pub unexpected: Vec<String>,
    pub message: String,
}

/// What in `doc` GitLab's schema refuses; an error when the schema itself cannot be
/// loaded (a broken build of Plumb, never user input).
pub fn violations(doc: &serde_json::Value) -> Result<Vec<Violation>, String> {
    let validator = validator().ok_or("GitLab's CI schema compiled into Plumb does not load")?;
    Ok(validator
        .iter_errors(doc)
        .map(|e| Violation {
            path: e
                .instance_path()
                .segments()
                .map(|s| s.to_string())
                .collect(),
            unexpected: match e.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    unexpected.clone()
                }
                _ => Vec::new(),
            },
            message: e.to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_loads_and_refuses_what_gitlab_refuses() {
        let ok = serde_json::json!({ "stages": ["s"], "j": { "stage": "s", "script": ["x"] } });
        assert_eq!(violations(&ok), Ok(Vec::new()));
        let bad = serde_json::json!({ "j": { "script": ["x"], "relase": {} } });
        let found = violations(&bad).expect("schema");
        assert!(
            found
                .iter()
                .any(|v| v.path == ["j"] && v.unexpected == ["relase"]),
            "{found:?}"
        );
    }

    /// The tests validate output with check-jsonschema, whose copy of the schema must be
    /// this one (installed by `scripts/test.sh`).
    #[test]
    fn the_vendored_schema_is_the_one_the_tests_use() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let lib = root.join(".venv/lib");
        let found = std::fs::read_dir(&lib)
            .unwrap_or_else(|_| panic!("{} is missing: run scripts/test.sh", lib.display()))
            .filter_map(Result::ok)
            .map(|d| {
                d.path()
                    .join("site-packages/check_jsonschema/builtin_schemas/vendor/gitlab-ci.json")
            })
            .find(|p| p.exists())
            .expect("check-jsonschema is not installed in .venv: run scripts/test.sh");
        let theirs = std::fs::read_to_string(found).expect("read");
        assert!(
            theirs == SCHEMA_TEXT,
            "schema/gitlab-ci.json differs from check-jsonschema's copy: see schema/README.md"
        );
    }
}
