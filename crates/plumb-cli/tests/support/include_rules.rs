//! `include: local` entries with `rules:`, for the round trip. GitLab decides an
//! include's rules in each pipeline; `gitlab-ci-local --preview` decides them once, for
//! the checkout it runs in. So they are lifted: cut out of the original's files (the
//! files are then included always) and returned with the jobs each file adds, and the
//! comparison leaves those jobs out of a pipeline where the rules leave the file out.
//!
//! The cut is textual (the `rules:` lines of the entry), so that gitlab-ci-local still
//! reads the files as written.

use plumb_import::gitlab::GLOBAL_KEYS;
use plumb_import::yaml::{self, Kind, Node};
use std::path::Path;

/// How deep includes are followed (the fixtures nest a few levels).
const MAX_DEPTH: usize = 8;

/// Lifts the rules of the `include: local` entries of the repository's
/// `.gitlab-ci.yml` and the files it includes; each job of an included file (that the
/// including file does not define too) with the rules of every include on its way.
pub fn lift(repo: &Path) -> Vec<(String, Vec<Node>)> {
    let mut out = Vec::new();
    lift_file(repo, ".gitlab-ci.yml", &[], &mut out, 0);
    out
}

fn lift_file(
    repo: &Path,
    file: &str,
    outer: &[Node],
    out: &mut Vec<(String, Vec<Node>)>,
    depth: usize,
) {
    let path = repo.join(file.trim_start_matches('/'));
    let Some((text, root)) = read(&path).filter(|_| depth < MAX_DEPTH) else {
        return;
    };
    let own = job_names(&root);
    let Some(include) = root.get("include") else {
        return;
    };
    let items: Vec<&Node> = match &include.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![include],
    };
    let mut cut = Vec::new();
    for item in items {
        let Some(local) = item.get("local").and_then(Node::as_str) else {
            continue;
        };
        let mut rules = outer.to_vec();
        let entry = item.entries().iter().find(|e| e.key == "rules");
        // (a `- rules:` that opens the entry is left: cutting it would cut the `- `)
        if let Some(e) = entry.filter(|e| e.key_line != item.line) {
            cut.push((e.key_line, e.value.end_line));
            rules.push(e.value.clone());
        }
        if local.contains('*') {
            continue;
        }
        if let Some((_, included)) = read(&repo.join(local.trim_start_matches('/'))) {
            let added = job_names(&included)
                .into_iter()
                .filter(|j| !own.contains(j));
            out.extend(
                added
                    .filter(|_| !rules.is_empty())
                    .map(|j| (j, rules.clone())),
            );
        }
        lift_file(repo, local, &rules, out, depth + 1);
    }
    if !cut.is_empty() {
        let kept: Vec<&str> = (text.lines().enumerate())
            .filter(|(i, _)| !cut.iter().any(|(a, b)| (*a..=*b).contains(&(i + 1))))
            .map(|(_, l)| l)
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").expect("write the lifted file");
    }
}

fn read(path: &Path) -> Option<(String, Node)> {
    let text = std::fs::read_to_string(path).ok()?;
    let root = yaml::parse(&text, 0).ok()?.pop()?;
    Some((text, root))
}

fn job_names(root: &Node) -> Vec<String> {
    (root.entries().iter())
        .filter(|e| !e.key.starts_with('.') && !GLOBAL_KEYS.contains(&e.key.as_str()))
        .map(|e| e.key.clone())
        .collect()
}
