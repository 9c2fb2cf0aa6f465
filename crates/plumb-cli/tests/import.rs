//! `plumb import`: the project's fixtures (`fixtures/import/*/.gitlab-ci.yml`) are pinned
//! by snapshots, check clean of syntax, name and type errors, and compile back to a
//! pipeline GitLab reads as the original; the shared corpus of real pipelines gets the
//! same round trip and a report of what `plumb check` finds in it.

mod common;
#[path = "support/fragments.rs"]
mod fragments;
#[path = "support/gitlab_rules.rs"]
mod gitlab_rules;
#[path = "support/include_rules.rs"]
mod include_rules;

use common::{copy_tree, git_commit_all, gitlab_ci_local, plumb_in, root, scratch};
use plumb_import::names::identifier;
use plumb_import::yaml::{self, Kind, Node};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn import_fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/import"))
        .expect("fixtures/import")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".gitlab-ci.yml").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "import fixtures are missing");
    dirs
}

/// Codes of `plumb check --format json` on a file.
fn check_codes(plumb_file: &Path) -> Vec<String> {
    let o = plumb_in(
        plumb_file.parent().expect("dir"),
        &[
            "check",
            "--format",
            "json",
            plumb_file.to_str().expect("utf-8"),
        ],
    );
    let diags: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            plumb_file.display(),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn fixtures_import_as_pinned_and_check_clean_of_language_errors() {
    for dir in import_fixtures() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        // each fixture folder stands for a repository
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "--root", "."]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let program = String::from_utf8_lossy(&o.stdout).into_owned();
        let warnings = String::from_utf8_lossy(&o.stderr).into_owned();
        insta::with_settings!({ snapshot_path => "snapshots/import", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name.as_str(), format!("{program}\n----- stderr -----\n{warnings}"));
        });
        let out = scratch(&format!("import-fixture-{name}")).join("imported.plumb");
        std::fs::write(&out, &program).expect("write");
        let codes = check_codes(&out);
        let language: Vec<&String> = codes
            .iter()
            .filter(|c| c.starts_with("PL0") || c.starts_with("PL1"))
            .collect();
        assert!(language.is_empty(), "{name}: {language:?}");
    }
}

#[test]
fn import_refuses_bad_input_without_writing() {
    let dir = scratch("import-bad");
    std::fs::write(dir.join("bad.yml"), "job: [unclosed\n  script: x\n").expect("write");
    let o = plumb_in(&dir, &["import", "bad.yml", "-o", "out.plumb"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not valid YAML"), "{err}");
    assert!(
        !dir.join("out.plumb").exists(),
        "nothing is written on an error"
    );
    let o = plumb_in(&dir, &["import", "missing.yml"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::write(dir.join("list.yml"), "- a\n- b\n").expect("write");
    let o = plumb_in(&dir, &["import", "list.yml"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a YAML list is not a GitLab CI file"
    );
}

/// `-o` never replaces the input or a file the import did not write (a program the
/// team wrote, notes); it replaces its own earlier output.
#[test]
fn import_does_not_replace_what_it_did_not_write() {
    let dir = scratch("import-clobber");
    let yaml = "build:\n  script: make\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    std::fs::write(dir.join("NOTES.md"), "# notes\n").expect("write");
    for target in [".gitlab-ci.yml", "NOTES.md"] {
        let before = std::fs::read_to_string(dir.join(target)).expect("read");
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", target]);
        assert_eq!(o.status.code(), Some(2), "{target}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("refusing to replace"), "{err}");
        let after = std::fs::read_to_string(dir.join(target)).expect("read");
        assert_eq!(before, after, "{target} is untouched");
    }
    for _ in 0..2 {
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    // the input is never the output, whatever its first line says
    let headed = "# Imported from our old Jenkinsfile\nbuild:\n  script: make\n";
    std::fs::write(dir.join("headed.yml"), headed).expect("write");
    let o = plumb_in(&dir, &["import", "headed.yml", "-o", "./headed.yml"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("headed.yml")).expect("read"),
        headed
    );
}

/// Files that include each other, and a wildcard that matches the including file: each
/// file is read once, a cycle said once where it is written, and an include kept for
/// GitLab is written once (the cycle was followed to GitLab's limit of 150 files, which
/// wrote a remote include 50 times).
#[test]
fn an_include_cycle_is_read_once() {
    let dir = scratch("import-include-cycle");
    std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
    std::fs::create_dir_all(dir.join("ci")).expect("mkdir");
    let files = [
        (".gitlab-ci.yml", "include:\n  - local: ci/a.yml\n  - local: '**/*.yml'\na: {script: [a], image: alpine:3.19}\n"),
        ("ci/a.yml", "include:\n  - local: ci/b.yml\n  - remote: https://example.com/x.yml\nb: {script: [b], image: alpine:3.19}\n"),
        ("ci/b.yml", "include:\n  - local: ci/a.yml\nc: {script: [c], image: alpine:3.19}\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    let repeats: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("a cycle of includes"))
        .collect();
    // `ci/b.yml` includes `ci/a.yml` back; the wildcard matches the file holding it (the
    // other two it matches are read already: a diamond, which GitLab merges as once)
    assert_eq!(repeats.len(), 2, "{err}");
    assert_eq!(
        repeats
            .iter()
            .filter(|l| l.contains(".gitlab-ci.yml:3:"))
            .count(),
        1,
        "{err}"
    );
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("read");
    assert_eq!(program.matches("remote(").count(), 1, "{program}");
    for job in ["job a", "job b", "job c"] {
        assert!(program.contains(job), "{job}: {program}");
    }
}

/// A job name holding a right-to-left override (which reorders what follows it on a
/// line) is written escaped in the program's comment and in the warnings: the imported
/// program has no PL6007, and the terminal shows the name as it is.
#[test]
fn invisible_characters_of_names_are_escaped() {
    let dir = scratch("import-rlo-name");
    let yaml = "image: alpine:3.19\n\"job\\u202Ename\":\n  script: [a]\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains('\u{202E}') && err.contains("job\\u{202e}name"),
        "{err}"
    );
    let program = std::fs::read_to_string(dir.join("ci.plumb")).expect("read");
    assert!(
        !program.contains('\u{202E}') && program.contains("job\\u{202E}name"),
        "{program}"
    );
    assert!(!check_codes(&dir.join("ci.plumb")).contains(&"PL6007".to_string()));
}

/// Shapes of real files that made the import twice their size: a global
/// `before_script` one job clears stays the default (that job says `before_run = []`),
/// and jobs that merge two anchors take both as bases.
#[test]
fn shared_parts_stay_shared() {
    let dir = scratch("import-shared");
    let global = "before_script:\n  - echo setup-1\n  - echo setup-2\n  - echo setup-3\na:\n  image: alpine:3.19\n  script: [make a]\nb:\n  image: alpine:3.19\n  script: [make b]\nc:\n  image: alpine:3.19\n  before_script: []\n  script: [make c]\n";
    std::fs::write(dir.join("global.yml"), global).expect("write");
    let o = plumb_in(&dir, &["import", "global.yml", "-o", "-"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("echo setup-1").count(), 1, "{out}");
    assert!(out.contains("before_run = []"), "{out}");
    let anchors = ".a: &a\n  before_script: [one, two, three]\n  variables: {A: '1', B: '2', C: '3'}\n  tags: [x, y]\n.b: &b\n  after_script: [four, five, six]\n  retry: 2\n  timeout: 1h\n  interruptible: true\nj1:\n  <<: *a\n  image: alpine:3.19\n  <<: *b\n  script: [one]\nj2:\n  <<: [*a, *b]\n  image: alpine:3.19\n  script: [two]\n";
    std::fs::write(dir.join("anchors.yml"), anchors).expect("write");
    let o = plumb_in(&dir, &["import", "anchors.yml", "-o", "-"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("from a(), b()").count(), 2, "{out}");
    assert_eq!(out.matches("\"four\"").count(), 1, "{out}");
}

#[test]
fn fixtures_round_trip_through_gitlab() {
    let bin = gitlab_ci_local();
    for dir in import_fixtures() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let work = scratch(&format!("rt-{name}"));
        let left_out = import_to(&dir, ".gitlab-ci.yml", &work.join("plumb"));
        let result = round_trip(&bin, &dir, &work.join("plumb"), left_out, &work)
            .or_else(|e| library_round_trip(&bin, &dir, &work, e));
        if name == "unsupported" {
            // a remote include (not readable offline) and a trigger job: at most
            // equivalent on what it contains
            assert_ne!(
                result.as_deref(),
                Ok(EQUIVALENT),
                "{name} cannot round-trip"
            );
        } else {
            match result {
                Ok(how) if name == "library" => assert!(
                    how.starts_with(&format!("{EQUIVALENT} as a library")),
                    "{name}: {how}"
                ),
                Ok(how) => assert_eq!(how, EQUIVALENT, "{name}: a fixture is a whole file"),
                Err(e) => panic!("{name} does not round-trip: {e}"),
            }
        }
    }
}

/// The shared corpus of real pipelines: every file imports without an error of the
/// language, and the round trip is reported (how many files are equivalent, and why
/// the others are not). CI has `../shared`; a clone without it says so.
#[test]
fn corpus_imports_cleanly_and_round_trips() {
    let corpus = std::env::var_os("PLUMB_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus/gitlab-ci"));
    if !corpus.is_dir() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "the GitLab CI corpus is not at {} (set PLUMB_CORPUS)",
            corpus.display()
        );
        eprintln!("NOTE: corpus not found at {}: not run", corpus.display());
        return;
    }
    let bin = gitlab_ci_local();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let work = scratch("corpus");
    let results: Vec<CorpusCase> = std::thread::scope(|s| {
        let chunks: Vec<Vec<PathBuf>> = files
            .chunks(files.len().div_ceil(4).max(1))
            .map(|c| c.to_vec())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (bin, work) = (bin.clone(), work.clone());
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|file| {
                            let name = file
                                .file_name()
                                .expect("name")
                                .to_string_lossy()
                                .into_owned();
                            let case = work.join(&name);
                            let original = case.join("original");
                            std::fs::create_dir_all(&original).expect("mkdir");
                            std::fs::copy(file, original.join(".gitlab-ci.yml")).expect("copy");
                            // one import serves the report and the round trip
                            let plumb_dir = case.join("plumb");
                            let left_out = import_to(&original, ".gitlab-ci.yml", &plumb_dir);
                            let codes = check_codes(&plumb_dir.join("ci.plumb"));
                            let yaml_codes = check_codes(&original.join(".gitlab-ci.yml"));
                            let result =
                                round_trip(&bin, &original, &plumb_dir, left_out, &case.join("rt"))
                                    .or_else(|e| library_round_trip(&bin, &original, &case, e));
                            CorpusCase {
                                name,
                                result,
                                codes,
                                yaml_codes,
                                lines: (
                                    code_lines(&plumb_dir.join("ci.plumb")),
                                    code_lines(&original.join(".gitlab-ci.yml")),
                                ),
                                warnings: warning_count(&original, &plumb_dir),
                                repeats: template_blocks_repeated(&plumb_dir.join("ci.plumb")),
                                comments_lost: comments_lost(
                                    &original.join(".gitlab-ci.yml"),
                                    &plumb_dir.join("ci.plumb"),
                                ),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let report = corpus_report(&results);
    let path = root().join("target/import-corpus-report.md");
    std::fs::write(&path, &report).expect("write the report");
    eprintln!("{report}");
    let language: Vec<String> = results
        .iter()
        .flat_map(|case| {
            case.codes
                .iter()
                .filter(|c| c.starts_with("PL0") || c.starts_with("PL1"))
                .map(move |c| format!("{}: {c}", case.name))
        })
        .collect();
    assert!(
        language.is_empty(),
        "imports with language errors: {language:?}"
    );
    let lost: Vec<String> = results
        .iter()
        .flat_map(|c| {
            c.comments_lost
                .iter()
                .map(move |r| format!("{}: {r}", c.name))
        })
        .collect();
    assert!(
        lost.is_empty(),
        "comments of the YAML not in the import: {lost:?}"
    );
    let repeats: Vec<String> = results
        .iter()
        .flat_map(|c| c.repeats.iter().map(move |r| format!("{}: {r}", c.name)))
        .collect();
    // what this revision leaves (issue #17 asks for none): a change that adds one fails
    // here, and one that mends it shortens the list
    assert_eq!(repeats, KNOWN_REPEATS, "see {}", path.display());
    // files longer as Plumb than as YAML, but for those with includes not read (their
    // YAML is part of the pipeline only)
    let longer: Vec<&str> = results
        .iter()
        .filter(|c| c.lines.0 > c.lines.1)
        .filter(|c| {
            !c.result
                .as_ref()
                .is_ok_and(|how| how.contains("its includes left out"))
        })
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(longer, KNOWN_LONGER, "see {}", path.display());
    // a finding on the import that `plumb check` of the YAML does not make is about
    // something the import added (an image it had to name, a secret it declared)
    let added: Vec<String> = results
        .iter()
        .flat_map(|c| {
            (c.codes.iter())
                .filter(|code| !c.yaml_codes.contains(code))
                .map(move |code| format!("{}: {code}", c.name))
        })
        .collect();
    assert_eq!(added, FINDINGS_ONLY_ON_THE_IMPORT, "see {}", path.display());
    let equivalent = results.iter().filter(|c| c.result.is_ok()).count();
    // what this revision reaches; a change that loses files fails here
    assert!(
        equivalent >= MIN_EQUIVALENT,
        "only {equivalent} of {} corpus files round-trip (was {MIN_EQUIVALENT}); see {}",
        results.len(),
        path.display()
    );
}

const MIN_EQUIVALENT: usize = 28;

/// Jobs of the imported corpus that repeat three or more fields of a template: none
/// (fields a job shares with a template it cannot take whole become a template of their
/// own, which both are built on: 02's `code_quality` and `image_builder-base` share
/// `image_builder-shared`).
const KNOWN_REPEATS: &[&str] = &[];

/// Corpus files whose import is longer than their YAML (issue #17 asks for none): 14
/// (31 lines for 29) holds two jobs, each a stage of its own, whose scripts and
/// records hold the YAML's comments, so each keeps its lines; what is left carries
/// meaning the YAML leaves implicit (the secret `$MYSQL_PASS` declared, without which
/// no check follows it, and `on = !merge_request`, GitLab's default, without which
/// PL4006 would say its jobs run for merge requests) or is syntax (the pipeline's
/// braces, a closing bracket per list and record).
const KNOWN_LONGER: &[&str] = &["14-gitlabhq-gitlabhq.yml"];

/// Codes `plumb check` reports on an imported file but not on the YAML: none (35's
/// jobs name no image and run `sudo docker …`, which both take for a shell runner's:
/// the import writes that with an allowance, see
/// `runner_default_is_allowed_only_for_the_jobs_of_a_shell_runner`).
const FINDINGS_ONLY_ON_THE_IMPORT: &[&str] = &[];

/// The jobs of a formatted Plumb file that write three or more fields exactly as one
/// template of the file writes them (a field is its key and its value's text, over as
/// many lines as it takes, compared whatever its layout; see [`field_text`]).
fn template_blocks_repeated(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let blocks = field_blocks(&text);
    let mut found = Vec::new();
    for (_, job, fields) in blocks.iter().filter(|b| b.0 == "job") {
        for (_, template, held) in blocks.iter().filter(|b| b.0 == "template") {
            let shared = fields.iter().filter(|f| held.contains(f)).count();
            if shared >= 3 {
                found.push(format!(
                    "job `{job}` writes {shared} fields of template `{template}`"
                ));
            }
        }
    }
    found
}

#[test]
fn a_repeat_is_found_whatever_the_layout_of_either_block() {
    let text = "template base() {  # a.yml:1\n  image = alpine\n  retry = 1\n  cache = {\n    key   = \"k\"\n    paths = [\"a\"]\n  }\n}\n\n\
        pipeline p {\n  stage s {\n    job one { image = alpine, retry = 1, cache = { key = \"k\", paths = [\"a\"] } }  # a.yml:9\n\
        job two { image = alpine, retry = 2, cache = { key = \"k\", paths = [\"a\"] } }  # a.yml:10\n  }\n}\n";
    let blocks = field_blocks(text);
    let fields = |name: &str| blocks.iter().find(|b| b.1 == name).map(|b| b.2.clone());
    assert_eq!(fields("one"), fields("base"));
    assert_ne!(fields("two"), fields("base"));
    assert_eq!(
        top_level_items("a = \"x, y\", b = [1, 2], c = f(1, 2)").len(),
        3
    );
}

/// `(kind, name, fields)` of each `template` and `job` block of a formatted file.
fn field_blocks(text: &str) -> Vec<(&'static str, String, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("  # ").next().unwrap_or(line).trim_end();
        let head = code.trim_start();
        // a stage's lone job opens on the stage's line: `stage NAME { job NAME {`
        let head = match head.find(" { job ") {
            Some(at) if head.starts_with("stage ") => &head[at + 3..],
            _ => head,
        };
        let kind = if head.starts_with("template ") {
            "template"
        } else if head.starts_with("job ") {
            "job"
        } else {
            continue;
        };
        let name = head
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .split('(')
            .next()
            .unwrap_or("")
            .to_string();
        if !code.ends_with('{') {
            // a block on one line: `job NAME { key = value, key = value }`
            let body = code.split_once(" { ").map_or("", |(_, b)| b);
            let fields = top_level_items(body.strip_suffix(" }").unwrap_or(""));
            blocks.push((kind, name, fields.iter().map(|f| field_text(f)).collect()));
            continue;
        }
        let field_indent = indent(line) + 2;
        let mut fields: Vec<String> = Vec::new();
        for next in &lines[i + 1..] {
            if next.trim().is_empty() {
                continue;
            }
            let at = indent(next);
            if at < field_indent {
                break; // the block's closing brace
            }
            let body = next.trim();
            // a value's closing bracket stands at the field's indent
            if at == field_indent && !body.starts_with([']', '}', ')']) {
                // `key   = value`: the padding that aligns `=` is not part of the field
                let (key, value) = body.split_once('=').unwrap_or((body, ""));
                fields.push(format!("{} = {}", key.trim(), value.trim()));
            } else if let Some(last) = fields.last_mut() {
                last.push('\n');
                last.push_str(body);
            }
        }
        blocks.push((kind, name, fields.iter().map(|f| field_text(f)).collect()));
    }
    blocks
}

/// `a = 1, b = [x, y]` split at its top-level commas (not those in brackets or strings).
fn top_level_items(text: &str) -> Vec<&str> {
    let (mut depth, mut in_string, mut escaped, mut start) = (0i32, false, false, 0);
    let mut items = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '[' | '{' | '(' if !in_string => depth += 1,
            ']' | '}' | ')' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                items.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(text[start..].trim());
    items.retain(|i| !i.is_empty());
    items
}

/// A field as one text whatever its layout: a value over several lines (fields and
/// items one per line) and the same value on one line (`, ` between them) compare equal.
fn field_text(field: &str) -> String {
    let mut t: String = field
        .replace('\n', ",")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for (from, to) in [
        (",,", ","),
        ("{,", "{"),
        ("[,", "["),
        (",}", "}"),
        (",]", "]"),
    ] {
        while t.contains(from) {
            t = t.replace(from, to);
        }
    }
    t
}

/// One corpus file: its import's round trip, the codes `plumb check` finds in it, its
/// size (Plumb lines, YAML lines: neither blank nor comments) and its warnings.
struct CorpusCase {
    name: String,
    result: Result<String, String>,
    codes: Vec<String>,
    /// The codes `plumb check` reports on the YAML itself.
    yaml_codes: Vec<String>,
    lines: (usize, usize),
    warnings: usize,
    /// Jobs that write three or more fields a template of the file holds.
    repeats: Vec<String>,
    /// Comments of the YAML the program does not hold.
    comments_lost: Vec<String>,
}

/// The comments of the YAML file (as the YAML reader finds them: never a `#` inside a
/// string) whose text the Plumb file does not hold.
fn comments_lost(yaml: &Path, plumb: &Path) -> Vec<String> {
    let (yaml, plumb) = (
        std::fs::read_to_string(yaml).unwrap_or_default(),
        std::fs::read_to_string(plumb).unwrap_or_default(),
    );
    plumb_import::yaml::remarks(&yaml)
        .comments
        .iter()
        .filter_map(|r| yaml.get(r.start as usize..r.end as usize))
        .map(|c| c.trim_start_matches('#').trim_end())
        .filter(|c| !c.trim().is_empty() && !plumb.contains(c))
        .map(str::to_string)
        .collect()
}

/// The lines of a file that are neither blank nor comments (`#` in YAML and Plumb).
fn code_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count()
}

/// How many warnings the import of `dir/.gitlab-ci.yml` gives (`plumb import` again,
/// to standard output).
fn warning_count(dir: &Path, scratch_dir: &Path) -> usize {
    let source = dir.join(".gitlab-ci.yml");
    let o = plumb_in(
        scratch_dir,
        &[
            "import",
            source.to_str().expect("utf-8"),
            "--root",
            dir.to_str().expect("utf-8"),
        ],
    );
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .count()
}

fn corpus_report(results: &[CorpusCase]) -> String {
    let mut out = String::from("# `plumb import` over the GitLab CI corpus\n\n");
    let equivalent = results.iter().filter(|c| c.result.is_ok()).count();
    out.push_str(&format!(
        "Round trip (import, build --target gitlab, both read by `gitlab-ci-local --preview`): {equivalent} of {} files equivalent. A fragment of a larger configuration is compared on what it contains: what gitlab-ci-local reports missing (included files, hidden jobs and jobs of other files, stages) is mended in the original as the importer reads it, and left out of the comparison.\n\n",
        results.len()
    ));
    out.push_str("| file | round trip | Plumb lines / YAML lines | warnings | findings of `plumb check` |\n|---|---|---|---|---|\n");
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for case in results {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &case.codes {
            *counts.entry(c).or_default() += 1;
            *totals.entry(c.clone()).or_default() += 1;
        }
        let findings: Vec<String> = counts.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        let rt = match &case.result {
            Ok(how) => how.clone(),
            Err(e) => e.replace('|', "\\|").replace('\n', " "),
        };
        let (plumb, yaml) = case.lines;
        let ratio = plumb as f64 / yaml.max(1) as f64;
        out.push_str(&format!(
            "| {} | {rt} | {plumb} / {yaml} ({ratio:.2}) | {} | {} |\n",
            case.name,
            case.warnings,
            findings.join(", ")
        ));
    }
    out.push_str("\nFindings per code over the corpus:\n\n");
    for (code, n) in totals {
        out.push_str(&format!("- {code}: {n}\n"));
    }
    out
}

/// Imports `dir/file` into `out/ci.plumb` (the import must succeed) and gives how many
/// jobs it left out.
fn import_to(dir: &Path, file: &str, out: &Path) -> usize {
    std::fs::create_dir_all(out).expect("mkdir");
    let source = dir.join(file);
    let o = plumb_in(
        out,
        &[
            "import",
            source.to_str().expect("utf-8"),
            "-o",
            "ci.plumb",
            "--root",
            dir.to_str().expect("utf-8"),
        ],
    );
    assert!(
        o.status.success(),
        "{}: import failed: {}",
        source.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr)
        .lines()
        // "job `x` is not imported: why" (not "needs `y`, which is not imported")
        .filter(|l| l.contains("` is not imported: "))
        .count()
}

/// What [`round_trip`] says of a file with no job of its own.
const LIBRARY: &str = "a library of hidden jobs (templates only): nothing to run";

/// A library of hidden jobs is compared on what it contains: each job template run as a
/// job (see [`fragments::library_instances`]), imported and round-tripped like any file.
/// `error` is what the plain round trip said: kept for a file that is not a library.
fn library_round_trip(
    bin: &Path,
    dir: &Path,
    case: &Path,
    error: String,
) -> Result<String, String> {
    if error != LIBRARY {
        return Err(error);
    }
    let text = std::fs::read_to_string(dir.join(".gitlab-ci.yml")).expect("read");
    let Some((with_instances, instances)) = fragments::library_instances(&text) else {
        return Err(format!("{LIBRARY}, and no job template to run"));
    };
    let original = case.join("library");
    std::fs::create_dir_all(&original).expect("mkdir");
    std::fs::write(original.join(".gitlab-ci.yml"), with_instances).expect("write");
    let plumb_dir = case.join("library-plumb");
    let left_out = import_to(&original, ".gitlab-ci.yml", &plumb_dir);
    let said = round_trip(
        bin,
        &original,
        &plumb_dir,
        left_out,
        &case.join("library-rt"),
    )
    .map_err(|e| {
        format!(
            "a library, each of its {} job templates run as a job: {e}",
            instances.len()
        )
    })?;
    let how = said.strip_prefix(EQUIVALENT).unwrap_or(&said);
    Ok(format!(
        "{EQUIVALENT} as a library, each of its {} job templates run as a job{how}",
        instances.len()
    ))
}

/// What [`round_trip`] says of a whole file that comes back the same.
const EQUIVALENT: &str = "equivalent";

/// Compiles what [`import_to`] wrote into `plumb_dir` for GitLab, and compares what
/// `gitlab-ci-local --preview` reads from the original folder `dir` and from the
/// compiled file: jobs, stages, images, script lines, needs and variables. A fragment
/// of a larger configuration is compared on what it contains (see [`fragments`]).
fn round_trip(
    bin: &Path,
    dir: &Path,
    plumb_dir: &Path,
    left_out: usize,
    work: &Path,
) -> Result<String, String> {
    let original_repo = work.join("original");
    copy_tree(dir, &original_repo);
    let conditional = include_rules::lift(&original_repo);
    git_commit_all(&original_repo);
    let mut mended = fragments::Mended::default();
    let original = loop {
        match preview(bin, &original_repo) {
            Ok(original) => break original,
            Err(e) if fragments::mend(&original_repo, &e, &mut mended) => {
                git_commit_all(&original_repo);
            }
            Err(e) => return Err(format!("gitlab-ci-local cannot read the original: {e}")),
        }
    };

    // real files have real problems: the round trip lowers the findings to warnings
    let codes: Vec<String> = plumb_checks::RULES
        .iter()
        .map(|r| r.meta().code)
        .filter(|c| !c.starts_with("PL0") && !c.starts_with("PL1"))
        .map(|c| format!("\"{c}\""))
        .collect();
    std::fs::write(
        plumb_dir.join("plumb.toml"),
        format!("[lint]\nwarn = [{}]\n", codes.join(", ")),
    )
    .expect("write");
    let compiled_repo = work.join("compiled");
    std::fs::create_dir_all(&compiled_repo).expect("mkdir");
    let out = compiled_repo.join(".gitlab-ci.yml");
    let o = plumb_in(
        plumb_dir,
        &[
            "build",
            "ci.plumb",
            "--target",
            "gitlab",
            "-o",
            out.to_str().expect("utf-8"),
        ],
    );
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("no pipeline") {
            return Err(LIBRARY.into());
        }
        return Err(format!("build failed: {err}"));
    }
    // a job of no script here adds keys to another file's job: the same keys, or left
    // out with a warning (counted below)
    let completions = fragments::mend_compiled(&compiled_repo, &mended);
    let carried = completions.len();
    for (job, compiled) in completions {
        let written = mended.cut_written.iter().find(|(j, _)| *j == job);
        if let Some((_, written)) = written.filter(|(_, w)| canonical(w) != canonical(&compiled)) {
            return Err(format!(
                "included job `{job}`'s keys {} became {}",
                canonical(written),
                canonical(&compiled)
            ));
        }
    }
    git_commit_all(&compiled_repo);
    let compiled = preview(bin, &compiled_repo)
        .map_err(|e| format!("gitlab-ci-local cannot read the compiled file: {e}"))?;

    let mut want = pipeline_view(&original, written_default(&original_repo).as_ref());
    let mut got = pipeline_view(&compiled, written_default(&compiled_repo).as_ref());
    // a job of a file included under `rules:` is created where they include the file
    let pipelines = gitlab_rules::pipelines();
    for (job, rules) in &conditional {
        if let Some(view) = want.get_mut(&identifier(job, "job")) {
            for (outcome, p) in view.outcomes.iter_mut().zip(&pipelines) {
                if !rules
                    .iter()
                    .all(|r| gitlab_rules::include_admits(&original, r, p))
                {
                    *outcome = None;
                }
            }
        }
    }
    let name = dir_case_name(dir);
    for (file, job, key, _why) in ORACLE_DIFFERS {
        if name == *file {
            for view in [&mut want, &mut got] {
                if *key == WHOLE_JOB {
                    view.remove(*job);
                }
                if let Some(j) = view.get_mut(*job) {
                    j.other.remove(key);
                }
            }
        }
    }
    fragments::leave_out_outside_jobs(&mut want, &mended.outside_jobs, &original, |j| {
        vec![&mut j.needs, &mut j.dependencies]
    });
    // the import keeps needs on them (`gitlab = { needs }`), with the same stubs
    fragments::leave_out_outside_jobs(&mut got, &mended.outside_jobs, &compiled, |j| {
        vec![&mut j.needs, &mut j.dependencies]
    });
    // a job the importer left out that gitlab-ci-local refused for its missing script
    let left_out = left_out.saturating_sub(mended.cut_jobs.len() - carried);
    if left_out > 0 {
        return Err(format!(
            "{left_out} jobs left out (no Plumb form, e.g. `trigger:`)"
        ));
    }
    // whether a job that takes a hidden job of another file runs depends on rules that
    // are not here: its outcomes are not compared
    for job in fragments::jobs_taking_from_outside(&original_repo, &mended) {
        for view in [&mut want, &mut got] {
            if let Some(j) = view.get_mut(&identifier(&job, "job")) {
                j.outcomes.clear();
            }
        }
    }
    compare(&want, &got)?;
    Ok(if mended.is_empty() {
        EQUIVALENT.to_string()
    } else {
        format!("equivalent, as {}", mended.describe())
    })
}

/// The `default:` of the `.gitlab-ci.yml` in `repo` as written (the preview leaves it
/// out once applied).
fn written_default(repo: &Path) -> Option<Node> {
    let text = std::fs::read_to_string(repo.join(".gitlab-ci.yml")).ok()?;
    yaml::parse(&text, 0).ok()?.pop()?.get("default").cloned()
}

/// Where `gitlab-ci-local` reads a file otherwise than GitLab does, as (file, job, key,
/// why): that key of that job is not compared.
const ORACLE_DIFFERS: &[(&str, &str, &str, &str)] = &[
    ("43-GNOME-gjs.yml", "coverage", "artifacts", TWO_MERGE_KEYS),
    (
        "43-GNOME-gjs.yml",
        "coverage-automatic",
        "artifacts",
        TWO_MERGE_KEYS,
    ),
    (
        "04-gitlabhq-gitlabhq.yml",
        "rollout-100",
        WHOLE_JOB,
        TWO_MERGE_KEYS,
    ),
    (
        "04-gitlabhq-gitlabhq.yml",
        "timed-rollout-100",
        WHOLE_JOB,
        TWO_MERGE_KEYS,
    ),
    (
        "29-KiCad-kicad-source-mirror.yml",
        "fedora_report_build_warn_kicad",
        "artifacts",
        A_YEAR,
    ),
    (
        "29-KiCad-kicad-source-mirror.yml",
        "fedora_report_build_warn_public",
        "artifacts",
        A_YEAR,
    ),
];

/// In [`ORACLE_DIFFERS`]: the job is not compared at all.
const WHOLE_JOB: &str = "*";

const A_YEAR: &str = "`expire_in: 1 year`: GitLab (ChronicDuration) counts 365.25 days, \
    gitlab-ci-local 365";

const TWO_MERGE_KEYS: &str = "two `<<:` merge keys in one mapping: GitLab (Psych) lets \
    the second override the first (`name: log_coverage`), gitlab-ci-local's js-yaml keeps \
    the first";

/// The corpus file a case folder was made for (`…/NAME/original`).
fn dir_case_name(dir: &Path) -> String {
    dir.parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn preview(bin: &Path, repo: &Path) -> Result<Node, String> {
    // into a file, not a pipe: Node exits before a large piped output is all written
    // (a 300 kB preview came back cut at a job boundary, now and then)
    let out_path = repo.with_extension("preview.yml");
    let out = std::fs::File::create(&out_path).expect("create the preview file");
    let o = Command::new("timeout")
        .args(["-k", "5", "120"])
        .arg(bin)
        .arg("--preview")
        // the compiled side is validated against GitLab's schema elsewhere
        // (check-jsonschema); gitlab-ci-local's copy refuses some files GitLab runs
        .arg("--json-schema-validation=false")
        .current_dir(repo)
        .stdout(out)
        .output()
        .expect("gitlab-ci-local");
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let first = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with("```"))
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(first);
    }
    let text = std::fs::read_to_string(&out_path).expect("read the preview");
    // warnings (` WARN  …`) may come before the document
    let text = text.find("---\n").map_or(&*text, |at| &text[at..]);
    yaml::parse(text, 0)
        .map_err(|e| e.message)?
        .pop()
        .ok_or_else(|| "empty preview".to_string())
}

#[derive(Debug, PartialEq)]
struct JobView {
    stage: String,
    image: String,
    script: Vec<String>,
    needs: Option<BTreeSet<String>>,
    dependencies: Option<BTreeSet<String>>,
    variables: BTreeMap<String, String>,
    /// The other keys compared ([`COMPARED`]), each written in one canonical form.
    other: BTreeMap<&'static str, String>,
    /// Whether the job is created, its `when` and `allow_failure`, in each of
    /// [`gitlab_rules::pipelines`]: its rules compared as conditions.
    outcomes: Vec<gitlab_rules::Outcome>,
}

/// Job keys compared besides stage, image, scripts, needs and variables, in the form
/// GitLab runs them (`gitlab-ci-local --preview` has applied `default:` and `extends`).
const COMPARED: &[&str] = &[
    "after_script",
    "artifacts",
    "environment",
    "services",
    "cache",
    "retry",
    "timeout",
    "tags",
    "interruptible",
    "coverage",
    "resource_group",
    "parallel",
];

const NOT_JOBS: &[&str] = &[
    "stages",
    "variables",
    "default",
    "workflow",
    "include",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
];

/// The `variables:` of rules that add a job (all but `when: never` ones), when they are
/// the same in each: then GitLab gives them to the job wherever it runs.
fn variables_every_adding_rule_sets(rules: &Node) -> BTreeMap<String, String> {
    let Kind::Seq(items) = &rules.kind else {
        return BTreeMap::new();
    };
    let adding = items
        .iter()
        .filter(|r| r.get("when").and_then(Node::as_str) != Some("never"));
    let each: Vec<BTreeMap<String, String>> = adding
        .map(|r| {
            (r.get("variables").map(plumb_import::convert::variables))
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
        .collect();
    match each.first() {
        Some(first) if each.iter().all(|e| e == first) => first.clone(),
        _ => BTreeMap::new(),
    }
}

/// The jobs of an expanded configuration, by Plumb name, in the terms compared.
fn pipeline_view(root: &Node, default: Option<&Node>) -> BTreeMap<String, JobView> {
    let pipelines = gitlab_rules::pipelines();
    let globals: Vec<(String, String)> = root
        .get("variables")
        .map(plumb_import::convert::variables)
        .unwrap_or_default();
    let mut jobs = BTreeMap::new();
    for e in root.entries() {
        if NOT_JOBS.contains(&e.key.as_str()) || e.key.starts_with('.') || !e.value.is_map() {
            continue;
        }
        let job = &e.value;
        if job.get("trigger").is_some() {
            continue;
        }
        let mut variables: BTreeMap<String, String> = globals.iter().cloned().collect();
        for (k, v) in job
            .get("variables")
            .map(plumb_import::convert::variables)
            .unwrap_or_default()
        {
            variables.insert(k, v);
        }
        // what every rule that lets the pipeline run, then every rule that adds the job,
        // sets alike is set whenever the job runs (a rule's variables win)
        let workflow = root.get("workflow").and_then(|w| w.get("rules"));
        for rules in [workflow, job.get("rules")].into_iter().flatten() {
            variables.extend(variables_every_adding_rule_sets(rules));
        }
        // Plumb passes a `ci_variable` secret on as `NAME: $NAME`, which GitLab reads as
        // the CI/CD variable itself
        variables.retain(|k, v| *v != format!("${k}") && *v != format!("${{{k}}}"));
        let image = job
            .get("image")
            .and_then(|i| i.as_str().or_else(|| i.get("name").and_then(Node::as_str)))
            .map(|i| plumb_import::convert::expand_image_variables(i, &variables))
            .unwrap_or_default();
        let mut script = Vec::new();
        for key in ["before_script", "script"] {
            if let Some(s) = job.get(key) {
                flatten(s, &mut script);
            }
        }
        // a need of another pipeline's or project's job (for its artifacts) is not an
        // edge of this pipeline: the job still starts without waiting for stages
        let needs = job.get("needs").filter(|n| !n.is_null()).map(|n| {
            n.items()
                .iter()
                .filter(|i| i.get("pipeline").is_none() && i.get("project").is_none())
                .filter_map(|i| i.as_str().or_else(|| i.get("job").and_then(Node::as_str)))
                .map(|j| identifier(j, "job"))
                .collect()
        });
        // `dependencies:` set to nothing is not written (GitLab, gitlab-ci-local alike)
        let dependencies = job.get("dependencies").filter(|n| !n.is_null()).map(|n| {
            n.items()
                .iter()
                .filter_map(Node::as_str)
                .map(|j| identifier(j, "job"))
                .collect()
        });
        let stage = job.get("stage").and_then(Node::as_str).unwrap_or("test");
        let job = &with_default_keys(default, job);
        let other = COMPARED
            .iter()
            .filter_map(|k| canonical_key(job, k, &variables).map(|v| (*k, v)))
            .collect();
        jobs.insert(
            identifier(&e.key, "job"),
            JobView {
                stage: identifier(stage, "stage"),
                image,
                script,
                needs,
                dependencies,
                variables,
                other,
                outcomes: pipelines
                    .iter()
                    .map(|p| gitlab_rules::outcome(root, job, p))
                    .collect(),
            },
        );
    }
    jobs
}

/// Where a rule that adds the job sets `interruptible` (GitLab takes it over the job's):
/// the value every such rule gives, each taking the job's where it sets none, or
/// `varies` (the job is interruptible in some pipelines only).
fn interruptible_by_rules(job: &Node) -> Option<String> {
    let adding: Vec<&Node> = job
        .get("rules")?
        .items()
        .iter()
        .filter(|r| r.get("when").and_then(Node::as_str) != Some("never"))
        .collect();
    adding.iter().find(|r| r.get("interruptible").is_some())?;
    let job_value = job
        .get("interruptible")
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let values: BTreeSet<bool> = adding
        .iter()
        .map(|r| {
            r.get("interruptible")
                .and_then(Node::as_bool)
                .unwrap_or(job_value)
        })
        .collect();
    Some(match values.len() {
        1 => values
            .iter()
            .next()
            .map_or("false".into(), |v| v.to_string()),
        _ => "varies".into(),
    })
}

/// `default:` keys GitLab gives a job that `gitlab-ci-local --preview` does not (it
/// applies only `image`, `services`, `cache`, `before_script` and `after_script`).
const DEFAULT_KEYS_PREVIEW_SKIPS: &[&str] =
    &["artifacts", "interruptible", "retry", "tags", "timeout"];

/// The job with what `default:` gives it that the preview did not apply, as GitLab
/// does: a key the job does not write, unless `inherit: default:` says otherwise.
fn with_default_keys(default: Option<&Node>, job: &Node) -> Node {
    let Some(default) = default.filter(|d| d.is_map()) else {
        return job.clone();
    };
    let inherit = job.get("inherit").and_then(|i| i.get("default"));
    let inherits = |key: &str| match inherit {
        None => true,
        Some(i) => i
            .as_bool()
            .unwrap_or_else(|| i.strings().iter().any(|k| k == key)),
    };
    let mut entries = job.entries().to_vec();
    for e in default.entries() {
        if DEFAULT_KEYS_PREVIEW_SKIPS.contains(&e.key.as_str())
            && job.get(&e.key).is_none()
            && inherits(&e.key)
        {
            entries.push(e.clone());
        }
    }
    Node::map(entries, job.line, job.file)
}

/// `key` of `job` as GitLab runs it, written canonically: defaults GitLab fills in are
/// written out, durations are seconds, one-form-of-many values take the long form.
fn canonical_key(job: &Node, key: &str, variables: &BTreeMap<String, String>) -> Option<String> {
    if key == "interruptible" {
        if let Some(by_rules) = interruptible_by_rules(job) {
            return Some(by_rules);
        }
    }
    let node = job.get(key);
    let text = match (key, node) {
        ("when", None) => "on_success".to_string(),
        ("when", Some(n)) if n.is_null() => "on_success".to_string(),
        ("interruptible" | "allow_failure", None) => "false".to_string(),
        ("cache", Some(n)) => {
            let caches: Vec<String> = match &n.kind {
                Kind::Seq(items) => items.iter().map(canonical_cache).collect(),
                Kind::Map(entries) if entries.is_empty() => Vec::new(),
                _ => vec![canonical_cache(n)],
            };
            // `cache: {}` and `cache: []` turn a default cache off: no cache
            if caches.is_empty() {
                return None;
            }
            format!("[{}]", caches.join(", "))
        }
        ("retry", Some(n)) if n.as_u64().is_some() => {
            format!("{:?}", BTreeMap::from([("max", canonical(n))]))
        }
        ("environment", Some(n)) if n.as_str().is_some() => {
            format!("{:?}", BTreeMap::from([("name", canonical(n))]))
        }
        ("services", Some(n)) => canonical_services(n, variables),
        ("parallel", Some(n)) if n.get("matrix").is_some() => canonical_matrix(n),
        ("artifacts", Some(n)) if n.is_map() => canonical_artifacts(n),
        ("after_script", Some(n)) => {
            let mut lines = Vec::new();
            flatten(n, &mut lines);
            format!("{lines:?}")
        }
        (_, Some(n)) if !n.is_null() => canonical(n),
        _ => return None,
    };
    Some(text)
}

/// `parallel: matrix:` as the jobs GitLab makes of it: the set of combinations, so
/// `[{A: [x, y]}]` and `[{A: x}, {A: y}]` are the same.
fn canonical_matrix(n: &Node) -> String {
    let mut jobs: BTreeSet<BTreeMap<String, String>> = BTreeSet::new();
    for entry in n.get("matrix").map(Node::items).unwrap_or(&[]) {
        let mut combinations = vec![BTreeMap::new()];
        for e in entry.entries() {
            let values: Vec<String> = match &e.value.kind {
                Kind::Seq(items) => items.iter().map(canonical).collect(),
                _ => vec![canonical(&e.value)],
            };
            combinations = (combinations.iter())
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.insert(e.key.clone(), v.clone());
                        c
                    })
                })
                .collect();
        }
        jobs.extend(combinations);
    }
    format!("{jobs:?}")
}

/// A cache as GitLab reads it: `key: default`, `policy: pull-push`, `when: on_success`
/// and `untracked: false` unless written.
fn canonical_cache(n: &Node) -> String {
    let mut fields: BTreeMap<String, String> = [
        ("key", "default"),
        ("policy", "pull-push"),
        ("when", "on_success"),
        ("untracked", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for e in n.entries() {
        fields.insert(e.key.clone(), canonical(&e.value));
    }
    format!("{fields:?}")
}

/// Artifacts, with GitLab's pre-15.0 `reports: cobertura: PATH` written as its successor
/// `coverage_report: { coverage_format: cobertura, path: PATH }`.
fn canonical_artifacts(n: &Node) -> String {
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    for e in n.entries() {
        let value = match (e.key.as_str(), e.value.entries()) {
            ("reports", reports) if !reports.is_empty() => {
                let mut kinds: BTreeMap<&str, String> = BTreeMap::new();
                for r in reports {
                    match (r.key.as_str(), r.value.strings().as_slice()) {
                        ("cobertura", [path]) => kinds.insert(
                            "coverage_report",
                            format!(
                                "{:?}",
                                BTreeMap::from([
                                    ("coverage_format", "cobertura"),
                                    ("path", path.as_str())
                                ])
                            ),
                        ),
                        // one path or a list of paths
                        (_, paths) if !r.value.is_map() => {
                            kinds.insert(r.key.as_str(), format!("{paths:?}"))
                        }
                        _ => kinds.insert(r.key.as_str(), canonical(&r.value)),
                    };
                }
                format!("{kinds:?}")
            }
            _ => canonical(&e.value),
        };
        fields.insert(e.key.as_str(), value);
    }
    format!("{fields:?}")
}

/// Services with the job's variables expanded in their names, as GitLab runs them.
fn canonical_services(n: &Node, variables: &BTreeMap<String, String>) -> String {
    let expand = |name: &str| plumb_import::convert::expand_image_variables(name, variables);
    let services: Vec<String> = n
        .items()
        .iter()
        .map(|s| match s.as_str() {
            Some(name) => format!("{:?}", BTreeMap::from([("name", expand(name))])),
            None => {
                let mut fields: BTreeMap<String, String> = (s.entries().iter())
                    .map(|e| (e.key.clone(), canonical(&e.value)))
                    .collect();
                if let Some(name) = fields.get_mut("name") {
                    *name = expand(name);
                }
                format!("{fields:?}")
            }
        })
        .collect();
    format!("[{}]", services.join(", "))
}

/// A YAML value written canonically: maps with sorted keys, durations in seconds,
/// scalars as GitLab reads them.
fn canonical(n: &Node) -> String {
    match &n.kind {
        Kind::Null => "null".to_string(),
        Kind::Scalar { .. } => {
            let text = n.as_gitlab_string().unwrap_or_default();
            match gitlab_rules::seconds(&text) {
                Some(s) => format!("{s}s"),
                None => text,
            }
        }
        Kind::Seq(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Map(entries) => {
            let fields: BTreeMap<&str, String> = entries
                .iter()
                .map(|e| (e.key.as_str(), canonical(&e.value)))
                .collect();
            format!("{fields:?}")
        }
        Kind::Reference(path) => format!("!reference {path:?}"),
    }
}

/// Script lines as the shell runs them: the newline a `- |` block ends with runs
/// nothing (the import writes the command without it, as a block string).
fn flatten(n: &Node, out: &mut Vec<String>) {
    match &n.kind {
        Kind::Scalar { text, .. } => out.push(text.strip_suffix('\n').unwrap_or(text).to_string()),
        Kind::Seq(items) => items.iter().for_each(|i| flatten(i, out)),
        _ => {}
    }
}

fn compare(
    want: &BTreeMap<String, JobView>,
    got: &BTreeMap<String, JobView>,
) -> Result<(), String> {
    let want_names: BTreeSet<&String> = want.keys().collect();
    let got_names: BTreeSet<&String> = got.keys().collect();
    if want_names != got_names {
        return Err(format!(
            "jobs differ: only in the original {:?}, only in the compiled {:?}",
            want_names.difference(&got_names).collect::<Vec<_>>(),
            got_names.difference(&want_names).collect::<Vec<_>>()
        ));
    }
    for (name, w) in want {
        let g = &got[name];
        let what = if w.stage != g.stage {
            format!("stage `{}` became `{}`", w.stage, g.stage)
        } else if w.image != g.image {
            format!("image `{}` became `{}`", w.image, g.image)
        } else if w.script != g.script {
            format!(
                "script differs ({} lines became {})",
                w.script.len(),
                g.script.len()
            )
        } else if w.needs != g.needs {
            format!("needs {:?} became {:?}", w.needs, g.needs)
        } else if w.dependencies != g.dependencies {
            format!(
                "dependencies {:?} became {:?}",
                w.dependencies, g.dependencies
            )
        } else if w.variables != g.variables {
            let diff: Vec<&String> = w
                .variables
                .keys()
                .chain(g.variables.keys())
                .filter(|k| w.variables.get(*k) != g.variables.get(*k))
                .collect();
            format!("variables differ: {diff:?}")
        } else if let Some(i) = (0..w.outcomes.len()).find(|&i| w.outcomes[i] != g.outcomes[i]) {
            format!(
                "in a pipeline for {}: {:?} became {:?}",
                gitlab_rules::pipelines()[i].name,
                w.outcomes[i],
                g.outcomes[i]
            )
        } else if let Some(key) = COMPARED.iter().find(|k| w.other.get(*k) != g.other.get(*k)) {
            format!(
                "`{key}` {} became {}",
                w.other.get(key).map_or("(none)", String::as_str),
                g.other.get(key).map_or("(none)", String::as_str)
            )
        } else {
            continue;
        };
        return Err(format!("job `{name}`: {what}"));
    }
    Ok(())
}

/// GitLab reads every `include: local` path from the repository's root, whichever file
/// includes it: `ci/a.yml` including `ci/b.yml` means `<root>/ci/b.yml`, not
/// `<root>/ci/ci/b.yml`. The root is the enclosing git repository, or `--root`.
/// A large file is read in two halves on two threads (`yaml::parse_halves`): at every
/// place of every real file where it would cut, the halves read as the whole file (or
/// the cut is refused), and the tree is the same to the byte of every span.
#[test]
fn corpus_files_read_in_halves_are_the_files() {
    let Some(files) = common::corpus_files() else {
        return;
    };
    let mut cuts = 0;
    for path in files
        .iter()
        .chain([&common::root().join("fixtures/gitlab/planted.gitlab-ci.yml")])
    {
        let text = std::fs::read_to_string(path).expect("read");
        let whole = yaml::parse(&text, 0);
        for (at, _) in text.match_indices('\n') {
            if let Some(halves) = yaml::parse_halves(&text, 0, at + 1) {
                assert_eq!(
                    Ok(&halves),
                    whole.as_ref(),
                    "{}: cut at {}",
                    path.display(),
                    at + 1
                );
                cuts += 1;
            }
        }
    }
    assert!(cuts > 100, "only {cuts} cuts were tried");
}

/// A scratch repository (`.git` folder) holding `files` (path, text).
fn repo_with(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let repo = scratch(name);
    std::fs::create_dir_all(repo.join(".git")).expect("git dir");
    for (path, text) in files {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
    repo
}

const INCLUDES_CI_A: &str =
    "include:\n  - local: ci/a.yml\nmain:\n  image: alpine:3.20\n  script: [echo main]\n";

#[test]
fn local_includes_are_read_from_the_repository_root() {
    let repo = repo_with(
        "import-root",
        &[
            (".gitlab-ci.yml", INCLUDES_CI_A),
            (
                "ci/a.yml",
                "include:\n  - local: /ci/b.yml\na:\n  image: alpine:3.20\n  script: [echo a]\n",
            ),
            ("ci/b.yml", "b:\n  image: alpine:3.20\n  script: [echo b]\n"),
        ],
    );
    for args in [
        vec!["import", ".gitlab-ci.yml"],
        vec!["import", "ci/../.gitlab-ci.yml", "--root", "."],
    ] {
        let o = plumb_in(&repo, &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let program = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{stderr}");
        assert!(!stderr.contains("cannot read"), "{stderr}");
        for job in ["job main", "job a", "job b"] {
            assert!(program.contains(job), "{job} missing:\n{program}");
        }
    }
    // from a folder outside the repository, --root says where it is
    let o = plumb_in(
        &repo.join("ci"),
        &["import", "../.gitlab-ci.yml", "--root", ".."],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("job b"));
}

/// An included file that is a link out of the repository is not read (GitLab reads
/// included files from the repository, never from the machine); `--root` must be a
/// folder.
#[test]
fn an_include_linked_out_of_the_repository_is_not_read() {
    let dir = scratch("import-link-out");
    std::fs::write(
        dir.join("outside.yml"),
        "leak:\n  script: [\"echo TOPSECRET\"]\n",
    )
    .expect("outside");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("ci")).expect("repo");
    #[cfg(unix)]
    std::os::unix::fs::symlink("../../outside.yml", repo.join("ci/link.yml")).expect("link");
    std::fs::write(
        repo.join(".gitlab-ci.yml"),
        "include:\n  - local: ci/link.yml\njob:\n  image: alpine:3.20\n  script: [\"true\"]\n",
    )
    .expect("ci");
    let o = plumb_in(&repo, &["import", ".gitlab-ci.yml", "--root", "."]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(!out.contains("TOPSECRET"), "{out}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("leads out of the repository"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = plumb_in(
        &repo,
        &["import", ".gitlab-ci.yml", "--root", "no-such-folder"],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A value for each job keyword of GitLab's CI schema, to add it to a job. A keyword the
/// schema gains fails [`no_job_keyword_of_the_schema_is_dropped_silently`] until it
/// has one here.
const KEYWORD_SAMPLES: &[(&str, &str)] = &[
    ("after_script", "[./cleanup]"),
    ("allow_failure", "true"),
    ("artifacts", "{paths: [out/]}"),
    ("before_script", "[./setup]"),
    ("cache", "{key: k, paths: [c/]}"),
    ("coverage", "'/TOTAL (\\d+)%/'"),
    ("dast_configuration", "{site_profile: site}"),
    ("dependencies", "[build]"),
    ("environment", "production"),
    ("except", "[tags]"),
    ("extends", ".base"),
    ("hooks", "{pre_get_sources_script: [echo hi]}"),
    ("id_tokens", "{TOKEN: {aud: https://example.com}}"),
    ("identity", "google_cloud"),
    ("image", "python:3.12"),
    ("inherit", "{variables: false}"),
    ("inputs", "{name: x}"),
    ("interruptible", "true"),
    ("manual_confirmation", "'sure?'"),
    ("needs", "[build]"),
    ("only", "[main]"),
    ("pages", "{expire_in: 1 week}"),
    ("parallel", "3"),
    ("publish", "public"),
    ("release", "{tag_name: v1, description: d}"),
    ("resource_group", "prod"),
    ("retry", "2"),
    ("rules", "[{if: $CI_COMMIT_TAG}]"),
    ("run", "[{name: s, script: echo}]"),
    ("script", "[./other]"),
    ("secrets", "{DB: {vault: db/pass@kv}}"),
    ("services", "[postgres:16]"),
    ("stage", "deploy"),
    ("start_in", "5 minutes"),
    ("tags", "[docker]"),
    ("timeout", "10m"),
    ("trigger", "{project: group/p}"),
    ("variables", "{A: b}"),
    ("when", "manual"),
];

/// Every job keyword of GitLab's CI schema, added to a job, is carried (the imported
/// program changes) or refused with a warning naming its line: none is dropped
/// without a word.
#[test]
fn no_job_keyword_of_the_schema_is_dropped_silently() {
    let schema = std::fs::read_to_string(root().join("crates/plumb-targets/schema/gitlab-ci.json"))
        .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("json");
    let keywords = schema["definitions"]["job_template"]["properties"]
        .as_object()
        .expect("job properties");
    assert!(keywords.len() > 30, "{keywords:?}");
    // the importer tells job templates from anchor holders by this list
    let known: BTreeSet<&str> = plumb_import::gitlab::JOB_KEYWORDS.iter().copied().collect();
    let schema_keys: BTreeSet<&str> = keywords.keys().map(String::as_str).collect();
    assert_eq!(known, schema_keys, "plumb_import::gitlab::JOB_KEYWORDS");
    // `plumb check` reports a key of `default:` not in this list (PL1004)
    let default_keys: BTreeSet<&str> = schema["properties"]["default"]["properties"]
        .as_object()
        .expect("default properties")
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "!reference")
        .collect();
    let known: BTreeSet<&str> = plumb_import::gitlab::DEFAULT_KEYS.iter().copied().collect();
    assert_eq!(known, default_keys, "plumb_import::gitlab::DEFAULT_KEYS");
    let dir = scratch("schema-keywords");
    let import = |job_lines: &str| {
        let yaml = format!(
            "stages: [build, test, deploy]\nvariables: {{G: x}}\n.base:\n  tags: [base]\nbuild:\n  stage: build\n  image: alpine:3.20\n  script: [make]\njob:\n{job_lines}"
        );
        std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "--root", "."]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (without, _) = import("  image: alpine:3.20\n  script: [echo]\n");
    for keyword in keywords.keys() {
        let Some((_, sample)) = KEYWORD_SAMPLES.iter().find(|(k, _)| k == keyword) else {
            panic!("GitLab's schema has job keyword `{keyword}`: add a sample to KEYWORD_SAMPLES");
        };
        let mut lines = String::new();
        for base in ["image", "script"] {
            if base != keyword {
                lines.push_str(&format!(
                    "  {base}: {}\n",
                    if base == "image" {
                        "alpine:3.20"
                    } else {
                        "[echo]"
                    }
                ));
            }
        }
        // the keyword's line: after `job:` (line 9) and the base lines
        let line = 10 + lines.lines().count();
        lines.push_str(&format!("  {keyword}: {sample}\n"));
        let (with, stderr) = import(&lines);
        let warned = stderr.contains(&format!(".gitlab-ci.yml:{line}:"));
        assert!(
            with != without || warned,
            "`{keyword}: {sample}` changes nothing in the import and no warning names line {line}:\n{with}\n{stderr}"
        );
    }
}

/// The importer writes every field it sets: a field missing from its writing order
/// would vanish from the program without a word.
#[test]
fn the_importer_writes_every_job_field_it_can_set() {
    let not_imported = ["resources", "k8s"];
    for f in plumb_semantics::fields::JOB_FIELDS {
        assert!(
            plumb_import::convert::FIELD_ORDER.contains(&f.name) || not_imported.contains(&f.name),
            "job field `{}` is not in the importer's FIELD_ORDER",
            f.name
        );
    }
}

/// A job without `image:` is given `runner_default`, a finding (PL3006, PL4005 with a
/// secret) in the imported program: GitLab runs it in the runner's image. Not for a job
/// that keeps a hidden job of an included file in `gitlab = { extends = … }` (GitLab
/// takes the image it may name), nor for a job a shell runner runs (its tags say so, or
/// its script runs `sudo`, which the check of the YAML takes for a shell runner's too),
/// which runs no image: that one is given `runner_default` itself, its findings allowed,
/// not through the pipeline's `default`, which would allow them for every job, unless
/// every job `default` reaches is such a job (then once, on `default`'s line).
#[test]
fn runner_default_is_allowed_only_for_the_jobs_of_a_shell_runner() {
    let dir = scratch("import-image-elsewhere");
    let shell = "deploy:\n  tags: [shell]\n  script:\n    - systemctl restart app\n";
    let sudo = "restart:\n  script:\n    - sudo systemctl restart app\n";
    let sudo_too = "reload:\n  script:\n    - make && sudo systemctl reload app\n";
    let extends =
        "include:\n  - project: group/ci-templates\n    ref: v1.4.0\n    file: /build.yml\n\n\
                   build:\n  extends: .build-base\n  script:\n    - make\n";
    let plain = "lint:\n  script:\n    - make lint\n";
    let tags = "# plumb-allow: PL3006, PL4005 its tags pick a shell runner, which runs no image";
    let script =
        "# plumb-allow: PL3006, PL4005 its script runs `sudo`, as on a shell runner, which runs no image";
    let scripts = "# plumb-allow: PL3006, PL4005 its jobs' scripts run `sudo`, as on shell runners, which run no image";
    let both = "# plumb-allow: PL3006, PL4005 its jobs' tags or scripts (`sudo`) pick shell runners, which run no image";
    let job_image = "image = runner_default";
    let default_image = "default = { image = runner_default }";
    let cases = [
        (shell.to_string(), tags, job_image, false),
        (format!("{extends}\n{shell}"), tags, job_image, false),
        (
            format!("{extends}\n{shell}\n{plain}"),
            tags,
            job_image,
            true,
        ),
        (format!("{shell}\n{plain}"), tags, job_image, true),
        (sudo.to_string(), script, job_image, false),
        (format!("{sudo}\n{plain}"), script, job_image, true),
        (format!("{sudo}\n{sudo_too}"), scripts, default_image, false),
        (format!("{sudo}\n{shell}"), both, default_image, false),
        (
            format!("{extends}\n{sudo}\n{sudo_too}"),
            script,
            job_image,
            false,
        ),
    ];
    for (yaml, allowance, allowed_line, reported) in cases {
        std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("write");
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let codes = check_codes(&dir.join("ci.plumb"));
        let program = std::fs::read_to_string(dir.join("ci.plumb")).unwrap_or_default();
        let allowed = (program.lines().zip(program.lines().skip(1)))
            .any(|(a, b)| a.trim() == allowance && b.trim() == allowed_line);
        assert!(allowed, "{program}");
        assert_eq!(
            codes.iter().any(|c| c == "PL3006"),
            reported,
            "{codes:?}\n{program}"
        );
        let yaml_codes = check_codes(&dir.join(".gitlab-ci.yml"));
        assert_eq!(yaml_codes.iter().any(|c| c == "PL3006"), reported, "{yaml}");
    }
}

/// `default:` beside an include reaches the included jobs as GitLab gives it: the
/// pipeline's `default`, compiled to the top-level `default:`; a field some job here
/// does without is written in the jobs that have it, and a note says the included jobs
/// lose it.
#[test]
fn default_reaches_the_jobs_of_included_files() {
    let dir = scratch("import-default-with-include");
    let yaml = "include:\n  - template: Jobs/SAST.gitlab-ci.yml\n\n\
                default:\n  tags: [docker]\n  cache:\n    key: k\n    paths: [c/]\n\n\
                build:\n  script: make\n\n\
                lint:\n  cache: {}\n  script: make lint\n";
    std::fs::write(dir.join(".gitlab-ci.yml"), yaml).expect("write");
    let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("the jobs of other files get `cache` of `default:` from the YAML, not from the compiled file (written in the jobs here that have them, as not every job does)"),
        "{err}"
    );
    let o = plumb_in(
        &dir,
        &["build", "ci.plumb", "--target", "gitlab", "-o", "out.yml"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = std::fs::read_to_string(dir.join("out.yml")).expect("built");
    assert!(
        out.contains("\ndefault:\n  tags:\n  - docker\nbuild:"),
        "{out}"
    );
}

/// A template's condition that no job takes is left out only when every job built on
/// templates writes `when = true` (jobs keeping hidden jobs of other files leave their
/// rules to those): a job with a condition of its own keeps its template's for what it
/// says, and a template no job is built on keeps it too.
#[test]
fn template_conditions_go_only_where_no_job_takes_them() {
    let dir = scratch("import-template-conditions");
    // GitLab's default (`!merge_request` in Plumb) is the template's condition
    let base = ".t:\n  variables: {A: \"1\"}\n  script: [make]\n";
    let keeper = "a:\n  extends: [.t, .unread]\n";
    let own = "b:\n  extends: .t\n  rules:\n    - if: $CI_COMMIT_TAG\n";
    let unused = ".u:\n  rules:\n    - if: $CI_COMMIT_TAG\n  script: [u]\n";
    let cases = [
        (format!("{base}{keeper}"), false),
        (format!("{base}{keeper}{own}"), true),
        (format!("{base}{keeper}{unused}"), true),
    ];
    for (yaml, kept) in cases {
        std::fs::write(dir.join("jobs.gitlab-ci.yml"), &yaml).expect("write");
        let o = plumb_in(&dir, &["import", "jobs.gitlab-ci.yml", "-o", "ci.plumb"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let program = std::fs::read_to_string(dir.join("ci.plumb")).unwrap_or_default();
        let template = (program.lines())
            .skip_while(|l| !l.starts_with("template t()"))
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!template.is_empty(), "{program}");
        assert_eq!(
            template.contains("merge_request"),
            kept,
            "{yaml}\n{program}"
        );
        let o = plumb_in(
            &dir,
            &["build", "--target", "gitlab", "ci.plumb", "-o", "out.yml"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = std::fs::read_to_string(dir.join("out.yml")).unwrap_or_default();
        let job_a = (out.lines())
            .skip_while(|l| *l != "a:")
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .collect::<Vec<_>>()
            .join("\n");
        // the kept job leaves its rules to the hidden jobs it keeps, either way
        assert!(!job_a.contains("rules:"), "{out}");
    }
}

/// Tags that pick a runner of containers (`docker`, `kubernetes`, GitLab's hosted Linux
/// runners) say the runner's image runs a script that uses `sudo`: no allowance, and the
/// check of the YAML and of the import both say the runner decides the image.
#[test]
fn sudo_on_a_runner_of_containers_is_no_shell_runner() {
    let dir = scratch("import-sudo-docker");
    for tag in ["docker", "kubernetes", "saas-linux-small-amd64"] {
        let yaml =
            format!("deploy:\n  tags: [{tag}]\n  script:\n    - sudo apt-get install -y curl\n");
        std::fs::write(dir.join(".gitlab-ci.yml"), &yaml).expect("write");
        let o = plumb_in(&dir, &["import", ".gitlab-ci.yml", "-o", "ci.plumb"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let program = std::fs::read_to_string(dir.join("ci.plumb")).unwrap_or_default();
        assert!(!program.contains("plumb-allow"), "{program}");
        for file in ["ci.plumb", ".gitlab-ci.yml"] {
            let codes = check_codes(&dir.join(file));
            assert!(
                codes.iter().any(|c| c == "PL3006"),
                "{tag} {file}: {codes:?}"
            );
        }
    }
}

/// A warning about an included file names it as `plumb check` does: relative to the
/// current folder when below it (it was the absolute path).
#[test]
fn warnings_name_included_files_relative_to_the_current_folder() {
    let a = "a:\n  image: alpine:3.20\n  script: [echo a]\n  retry:\n    max: 2\n    exit_codes: [137]\n";
    let repo = repo_with(
        "import-warning-paths",
        &[(".gitlab-ci.yml", INCLUDES_CI_A), ("ci/a.yml", a)],
    );
    let o = plumb_in(&repo, &["import", ".gitlab-ci.yml"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("warning: ci/a.yml:"), "{stderr}");
    assert!(!stderr.contains(&repo.display().to_string()), "{stderr}");
}
