//! GitLab's CI schema (vendored in `schema/`, see its README), compiled in: every
//! `.gitlab-ci.yml` Plumb writes is validated against it before it is written.

use std::sync::OnceLock;

static SCHEMA_TEXT: &str = include_str!("../schema/gitlab-ci.json");

/// The schema compiled once per process, and the top-level keys it names or matches
/// itself. One validator serves a whole file and a job alone (as a file of one key, to
/// which the schema applies its `definitions/job`): a second one compiled for
/// `definitions/job` cost 1.3 MB more (resident set of a one-job build).
struct Schemas {
    file: jsonschema::Validator,
    named: Vec<String>,
}

fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Option<Schemas>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let schema: serde_json::Value = serde_json::from_str(SCHEMA_TEXT).ok()?;
            let named = schema["properties"].as_object()?.keys().cloned().collect();
            // formats are annotations, as GitLab's own lint reads them: an environment
            // `url` holding `${CI_COMMIT_REF_SLUG}` is not a URI until the job runs
            let file = jsonschema::options()
                .should_validate_formats(false)
                .build(&schema)
                .ok()?;
            Some(Schemas { file, named })
        })
        .as_ref()
}

/// Compiles the schema now (a few milliseconds, once per process), so that a caller with
/// a core to spare can do it while the sources are read.
pub fn prepare() {
    schemas();
}

/// Whether the file's schema says what the top-level `key` is (`stages`, `pages`, a
/// hidden `.key`): such a key is checked with the file, any other as a job.
pub fn checked_with_the_file(key: &str) -> bool {
    key.starts_with('.') || schemas().is_some_and(|s| s.named.iter().any(|n| n == key))
}

/// What in one job (the value of the top-level key `key`, which the schema does not
/// name) GitLab's schema refuses, with paths from the file's root, as [`violations`]
/// on the whole file finds them.
pub fn job_violations(key: &str, job: serde_json::Value) -> Result<Vec<Violation>, String> {
    let mut alone = serde_json::Map::new();
    alone.insert(key.to_string(), job);
    violations(&serde_json::Value::Object(alone))
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
    let s = schemas().ok_or("GitLab's CI schema compiled into Plumb does not load")?;
    Ok(to_violations(&s.file, doc))
}

fn to_violations(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<Violation> {
    // most documents are valid: `is_valid` stops at the first branch of an `anyOf` that
    // holds, where collecting errors would walk them all
    if validator.is_valid(doc) {
        return Vec::new();
    }
    validator
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
        .collect()
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

    /// A file checked job by job finds what the whole file's check finds.
    #[test]
    fn jobs_checked_one_by_one_are_checked_as_in_the_file() {
        let file = serde_json::json!({
            "stages": ["s"],
            "a": { "stage": "s", "script": ["x"], "relase": {} },
            "b": { "stage": "s", "script": "x", "when": "sometimes", "retry": 9 },
            "pages": { "script": ["x"], "publish": 3 },
            "c": { "stage": "s", "script": ["x"] },
        });
        let whole = violations(&file).expect("schema");
        let mut by_job = violations(&serde_json::json!({
            "stages": ["s"],
            "pages": file["pages"],
        }))
        .expect("schema");
        for key in ["a", "b", "c"] {
            assert!(!checked_with_the_file(key));
            by_job.extend(job_violations(key, file[key].clone()).expect("schema"));
        }
        assert!(checked_with_the_file("pages") && checked_with_the_file(".hidden"));
        let paths = |v: &[Violation]| {
            let mut p: Vec<(Vec<String>, Vec<String>)> = v
                .iter()
                .map(|v| (v.path.clone(), v.unexpected.clone()))
                .collect();
            p.sort();
            p
        };
        assert!(!whole.is_empty());
        assert_eq!(paths(&by_job), paths(&whole));
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
