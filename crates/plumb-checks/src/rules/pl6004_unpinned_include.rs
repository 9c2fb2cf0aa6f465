//! PL6004 unpinned-include: An included component, project file or remote file that is
//! not pinned.

use crate::supply::is_exact_version;
use crate::PipelineCx;
use plumb_diagnostics::{Diagnostic, FileRange};
use plumb_semantics::MapEntry;

declare_rule! {
    code: PL6004,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    let Some(list) = cx.pipeline.field("include").and_then(|f| f.value.as_list()) else {
        return;
    };
    // each entry its own finding, also for files of one project at one branch: an
    // allowance covers one entry, and must not silence the others
    for entry in list {
        let Some(entries) = entry.as_map() else {
            continue;
        };
        if let Some(problem) = unpinned(entries, &cx.config.lint.allowed_components) {
            out.push(problem.diagnostic());
        }
    }
}

/// What is unpinned about an include, and where.
struct Problem {
    at: FileRange,
    message: String,
    label: &'static str,
    help: &'static str,
    /// The help in `.gitlab-ci.yml` words, where `help` shows Plumb source.
    yaml_help: Option<&'static str>,
}

impl Problem {
    fn diagnostic(self) -> Diagnostic {
        let d = Diagnostic::new(RULE.code, RULE.severity(), self.at, self.message)
            .with_label(self.label)
            .with_help(self.help);
        match self.yaml_help {
            Some(help) => d.with_yaml_help(help),
            None => d,
        }
    }
}

fn get<'v>(entries: &'v [MapEntry], key: &str) -> Option<&'v MapEntry> {
    entries.iter().find(|e| e.key == key)
}

fn unpinned(entries: &[MapEntry], allowed: &[String]) -> Option<Problem> {
    if let Some(c) = get(entries, "component") {
        let text = c.value.as_str()?;
        return component(text, c.value.origin, allowed);
    }
    if let Some(p) = get(entries, "project") {
        let Some(r) = get(entries, "ref") else {
            return Some(Problem {
                at: p.value.origin,
                message: format!("the include of project `{}` has no `ref`: it follows the project's default branch", p.value.as_str()?),
                label: "no `ref`",
                help: "pin it to a tag or a commit: `project(\"…\", file = \"…\", ref = \"v1.2.3\")`",
                yaml_help: Some("pin it to a tag or a full commit SHA: add `ref: v1.2.3` to the include"),
            });
        };
        let reference = r.value.as_str()?;
        if is_commit(reference) || is_exact_version(reference.trim_start_matches('v')) {
            return None;
        }
        return Some(Problem {
            at: r.value.origin,
            message: format!("the include of project `{}` takes its file from ref `{reference}`, which looks like a branch: what is included changes with every push to it", p.value.as_str()?),
            label: "a branch, not a tag or commit",
            help: "pin it to a tag (`v1.2.3`) or a full commit SHA",
            yaml_help: None,
        });
    }
    if let Some(r) = get(entries, "remote") {
        if let Some(sum) = get(entries, "sha256") {
            let hex = sum.value.as_str()?;
            let ok = hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
            return (!ok).then(|| Problem {
                at: sum.value.origin,
                message: format!(
                    "`{hex}` is not a SHA-256 checksum: GitLab would refuse the include"
                ),
                label: "not 64 lowercase hex digits",
                help: "write the file's SHA-256 as `sha256sum` prints it",
                yaml_help: None,
            });
        }
        if get(entries, "sha256").is_none() {
            return Some(Problem {
                at: r.value.origin,
                message: format!("the remote include `{}` has no checksum: whoever serves it controls the pipeline", r.value.as_str()?),
                label: "no `sha256`",
                help: "add its checksum: `remote(\"https://…\", sha256 = \"…\")` (GitLab checks it as `integrity:`)",
                yaml_help: Some("add its checksum: `integrity: sha256-<base64 of the SHA-256>` (`openssl dgst -sha256 -binary FILE | base64`), or vendor the file"),
            });
        }
    }
    None
}

/// `HOST/PATH@VERSION`: an exact version (`1.4.2`) or a full commit SHA.
fn component(text: &str, at: FileRange, allowed: &[String]) -> Option<Problem> {
    let (source, version) = text.rsplit_once('@').unwrap_or((text, ""));
    if allowed.iter().any(|g| crate::supply::glob_match(g, source)) {
        return None;
    }
    // `v2.1.0` is a release tag as exact as `2.1.0` (GitLab resolves only digits-only
    // partial versions, `1.2`, to the newest patch)
    let release = version.strip_prefix('v').unwrap_or(version);
    // `@$CI_COMMIT_SHA` is the commit being built: of this project's own component
    if (is_own_component(source) && is_commit(version))
        || is_full_sha(version)
        || is_exact_version(release)
    {
        return None;
    }
    let why = match version {
        "" => "has no version".to_string(),
        "~latest" => "follows `~latest`".to_string(),
        v if v.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            format!("names a partial version `{v}`, which moves to every new patch")
        }
        v => format!("names `{v}`, a branch or tag that can move"),
    };
    Some(Problem {
        at,
        message: format!("component `{source}` {why}"),
        label: "not pinned",
        help: "pin it to an exact version (`@1.4.2`) or a commit SHA, or list its source in `lint.allowed_components`",
        yaml_help: None,
    })
}

/// A full commit SHA (40 hex digits, or 64 for SHA-256 repositories), or the commit
/// being built (`$CI_COMMIT_SHA`: how GitLab documents testing a component in its own
/// project), which cannot move either.
fn is_commit(v: &str) -> bool {
    matches!(v, "$CI_COMMIT_SHA" | "${CI_COMMIT_SHA}") || is_full_sha(v)
}

/// A component of the project being built: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME`
/// (`${…}` too, or `$CI_SERVER_HOST`), as GitLab documents it.
fn is_own_component(source: &str) -> bool {
    let hosts = [
        "$CI_SERVER_FQDN/",
        "${CI_SERVER_FQDN}/",
        "$CI_SERVER_HOST/",
        "${CI_SERVER_HOST}/",
    ];
    let path = hosts.iter().find_map(|h| source.strip_prefix(h));
    path.is_some_and(|p| p.starts_with("$CI_PROJECT_PATH/") || p.starts_with("${CI_PROJECT_PATH}/"))
}

/// A full commit SHA (40 hex digits, or 64 for SHA-256 repositories).
fn is_full_sha(v: &str) -> bool {
    matches!(v.len(), 40 | 64) && v.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_commits() {
        assert!(is_exact_version("1.4.2") && is_exact_version("10.0.0-rc.1"));
        assert!(
            !is_exact_version("1.4") && !is_exact_version("~latest") && !is_exact_version("main")
        );
        assert!(is_commit(&"a".repeat(40)) && !is_commit("abc123"));
        assert!(is_commit("$CI_COMMIT_SHA") && !is_commit("$CI_COMMIT_REF_NAME"));
    }

    #[test]
    fn only_the_project_s_own_component_is_pinned_by_the_commit_built() {
        for own in [
            "$CI_SERVER_FQDN/$CI_PROJECT_PATH/lint",
            "${CI_SERVER_FQDN}/${CI_PROJECT_PATH}/lint",
            "$CI_SERVER_HOST/$CI_PROJECT_PATH/lint",
        ] {
            assert!(is_own_component(own), "{own}");
        }
        for other in [
            "gitlab.example.com/$CI_PROJECT_PATH/lint",
            "$CI_SERVER_FQDN/$CI_PROJECT_PATH_SLUG/lint",
            "$CI_SERVER_FQDN/evil/x/$CI_PROJECT_PATH/lint",
            "$CI_SERVER_FQDN/group/tools/lint",
        ] {
            assert!(!is_own_component(other), "{other}");
        }
    }
}
