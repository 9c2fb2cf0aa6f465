//! `plumb.toml`: lint levels, the image policy and target settings (§10).
//!
//! Every key is optional. Unknown keys are errors, so a typo in a policy never
//! silently turns it off.

use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "plumb.toml";

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub lint: LintConfig,
    #[serde(default)]
    pub images: ImagesConfig,
    #[serde(default)]
    pub targets: TargetsConfig,
    /// Settings read and not applied, each said as a warning: `PL0001` in
    /// `lint.allow` or `lint.warn` (a syntax error is always an error, §10).
    #[serde(skip)]
    pub ignored: Vec<ConfigError>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Codes raised to errors.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Codes set to warnings.
    #[serde(default)]
    pub warn: Vec<String>,
    /// Codes turned off.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Tool installs trusted although unpinned (PL6003), as globs over the command
    /// (`go install golang.org/x/tools/cmd/goimports@*`).
    #[serde(default)]
    pub allow_installs: Vec<String>,
    /// Sources of CI/CD components trusted although not pinned (PL6004), as globs.
    #[serde(default)]
    pub allowed_components: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// Every image must carry a digest: PL3003 becomes an error.
    #[serde(default)]
    pub require_digest: bool,
    /// When set, images must come from one of these registries (PL3005).
    pub allowed_registries: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    #[serde(default)]
    pub k8s: K8sConfig,
    #[serde(default)]
    pub gitops: GitopsConfig,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct K8sConfig {
    pub namespace: Option<String>,
    pub secret_name: Option<String>,
    pub default_branch: Option<String>,
    /// The image Kubernetes Jobs run where a job leaves the image to the runner
    /// (`runner_default`).
    pub default_image: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct GitopsConfig {
    pub flavor: Option<Flavor>,
    pub environments: Option<Vec<String>>,
    pub repo_url: Option<String>,
    pub secret_store: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Argocd,
    Flux,
}

/// A `plumb.toml` that cannot be used, with the byte range of the offending part.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfigError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

impl Config {
    /// Parses a `plumb.toml`. `known_code` tells which diagnostic codes exist, so that
    /// `deny = ["PL3330"]` is an error rather than a silent no-op.
    pub fn parse(text: &str, known_code: impl Fn(&str) -> bool) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError {
            message: e.message().to_string(),
            span: e.span(),
        })?;
        config.ignore_syntax_error_levels(text);
        let lists = [
            ("deny", &config.lint.deny),
            ("warn", &config.lint.warn),
            ("allow", &config.lint.allow),
        ];
        config.check_names(text)?;
        for (list, codes) in lists {
            for code in codes.iter() {
                if !known_code(code) {
                    return Err(ConfigError {
                        message: format!(
                            "unknown code `{code}` in `lint.{list}` (see `plumb rules`)"
                        ),
                        span: find_span(text, code),
                    });
                }
                for (other, other_codes) in lists {
                    if other != list && other_codes.contains(code) && list < other {
                        return Err(ConfigError {
                            message: format!(
                                "`{code}` is in both `lint.{list}` and `lint.{other}`"
                            ),
                            span: find_span(text, code),
                        });
                    }
                }
            }
        }
        Ok(config)
    }

    /// `PL0001` in `allow` or `warn` is dropped, with a warning: a file that does not
    /// parse has not been checked, so its syntax error stays an error and the rest of
    /// the configuration still applies.
    fn ignore_syntax_error_levels(&mut self, text: &str) {
        for (list, codes) in [
            ("allow", &mut self.lint.allow),
            ("warn", &mut self.lint.warn),
        ] {
            if codes.iter().any(|c| c == "PL0001") {
                codes.retain(|c| c != "PL0001");
                // the code in this list, not the first `PL0001` of the file
                let list_at = line_starting_with(text, list).unwrap_or(0);
                let span = find_span(&text[list_at..], "PL0001")
                    .map(|r| r.start + list_at..r.end + list_at);
                self.ignored.push(ConfigError {
                    message: format!("PL0001 (syntax error) cannot be turned off or lowered: ignored in `lint.{list}` (a file that does not parse has not been checked)"),
                    span,
                });
            }
        }
    }

    /// Names that become Kubernetes object names must be DNS labels.
    fn check_names(&self, text: &str) -> Result<(), ConfigError> {
        let mut names: Vec<(&str, &str)> = Vec::new();
        if let Some(ns) = &self.targets.k8s.namespace {
            names.push(("targets.k8s.namespace", ns));
        }
        if let Some(secret) = &self.targets.k8s.secret_name {
            names.push(("targets.k8s.secret_name", secret));
        }
        for env in self.targets.gitops.environments.iter().flatten() {
            names.push(("targets.gitops.environments", env));
        }
        for (key, name) in names {
            if !plumb_diagnostics::is_dns_label(name) {
                return Err(ConfigError {
                    message: format!("`{name}` in `{key}` is not a valid Kubernetes name: use lowercase letters, digits and `-` (not at either end), at most 63 characters"),
                    span: find_span(text, name).map(|r| r.start + 1..r.end - 1),
                });
            }
        }
        Ok(())
    }

    pub fn default_branch(&self) -> &str {
        self.targets.k8s.default_branch.as_deref().unwrap_or("main")
    }
}

/// The offset of the first line whose text starts with `key` (then blanks and `=`).
fn line_starting_with(text: &str, key: &str) -> Option<usize> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix(key).map(str::trim_start);
        if rest.is_some_and(|r| r.starts_with('=')) {
            return Some(at + line.len() - trimmed.len());
        }
        at += line.len();
    }
    None
}

/// Where `needle` is written as a TOML string, quotes included (basic or literal).
pub fn find_span(text: &str, needle: &str) -> Option<Range<usize>> {
    ['"', '\''].into_iter().find_map(|q| {
        let quoted = format!("{q}{needle}{q}");
        text.find(&quoted).map(|i| i..i + quoted.len())
    })
}

/// The nearest `plumb.toml` at or above `start` (a file or a folder), up to the
/// repository's root (the nearest folder holding `.git`): a `plumb.toml` above the
/// repository (a runner's build folder, a home folder) is not the repository's, and
/// must not turn its checks off. Any entry named `plumb.toml` counts, a link or a
/// special file too, so that [`config_file_problem`] refuses it rather than the
/// lookup passing it by silently.
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        if std::fs::symlink_metadata(d.join(".git")).is_ok() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Why the `plumb.toml` at `path` is not read: not a regular file (a FIFO would block,
/// a device never end), or a symbolic link that leads out of the repository holding it
/// (to `/proc/self/environ`, whose text a parse error would show) or to something that
/// is no `.toml` file.
pub fn config_file_problem(path: &Path) -> Option<String> {
    let parent = match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => Path::new("/"),
    };
    let Ok(folder) = std::fs::canonicalize(parent) else {
        return Some("its folder cannot be resolved".to_string());
    };
    let root = (folder.ancestors())
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
        .unwrap_or(&folder);
    unreadable_file(path, &[root.to_path_buf()]).map(|why| format!("it {why}"))
}

/// Why a file Plumb would read is not read, if it is not: anything that is not a
/// regular file (opening a FIFO waits for a writer), and a symbolic link that dangles,
/// leads out of `roots` or into a `.git` folder (`config` holds remotes' tokens), or
/// turns a `.plumb`/`.toml` name into another kind of file (`env.plumb` → `.env`:
/// parse errors would quote its lines).
pub fn unreadable_file(path: &Path, roots: &[PathBuf]) -> Option<String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot be read ({e})")),
    };
    if !meta.file_type().is_symlink() {
        return (!meta.is_file()).then(|| "is not a regular file".to_string());
    }
    let Ok(target) = std::fs::canonicalize(path) else {
        return Some("is a dangling symbolic link".to_string());
    };
    let shown = target.display();
    if !roots.iter().any(|r| target.starts_with(r)) {
        let within = match roots {
            [one] => format!(" `{}`", one.display()),
            _ => String::new(),
        };
        return Some(format!(
            "is a symbolic link to `{shown}`, outside the checked folder{within}"
        ));
    }
    if !target.is_file() {
        return Some("is a symbolic link to something that is not a regular file".to_string());
    }
    if target.components().any(|c| c.as_os_str() == ".git") {
        return Some(format!("is a symbolic link to `{shown}`, inside `.git`"));
    }
    let kind = path.extension().filter(|e| *e == "plumb" || *e == "toml");
    match kind {
        Some(kind) if target.extension() != Some(kind) => Some(format!(
            "is a symbolic link to a file that is not a `.{}` file",
            kind.to_string_lossy()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(code: &str) -> bool {
        code.starts_with("PL")
    }

    #[test]
    fn full_example_parses() {
        let text = r#"
[lint]
deny  = ["PL3003"]
allow = ["PL2005"]
[images]
require_digest     = true
allowed_registries = ["registry.example.com", "docker.io"]
[targets.k8s]
namespace = "ci"
[targets.gitops]
flavor = "flux"
environments = ["staging", "production"]
"#;
        let c = Config::parse(text, known).expect("valid");
        assert!(c.images.require_digest);
        assert_eq!(c.targets.gitops.flavor, Some(Flavor::Flux));
        assert_eq!(c.default_branch(), "main");
    }

    #[test]
    fn typos_are_errors_with_a_span() {
        let err = Config::parse("[images]\nrequire_digests = true\n", known).unwrap_err();
        assert!(err.message.contains("require_digests"), "{}", err.message);
        assert!(err.span.is_some());
    }

    #[test]
    fn syntax_errors_stay_errors_with_a_warning() {
        let c = Config::parse("[lint]\nallow = ['PL0001', \"PL2005\"]\n", known).expect("valid");
        assert_eq!(c.lint.allow, ["PL2005"]);
        assert_eq!(c.ignored.len(), 1);
        assert_eq!(c.ignored[0].span, Some(16..24));
        let text = "[lint]\nwarn = [\"PL0001\"]\nallow = [\"PL0001\"]\n";
        let c = Config::parse(text, known).expect("valid");
        let spans: Vec<_> = c.ignored.iter().filter_map(|e| e.span.clone()).collect();
        assert_eq!(spans.len(), 2);
        assert!(spans.iter().all(|r| &text[r.clone()] == "\"PL0001\""));
        assert_ne!(spans[0], spans[1], "each at its own list");
    }

    #[test]
    fn a_name_that_is_no_dns_label_is_an_error_at_its_value() {
        for q in ['"', '\''] {
            let text = format!("[targets.k8s]\nnamespace = {q}CI_Jobs{q}\n");
            let err = Config::parse(&text, known).unwrap_err();
            assert_eq!(
                err.span.map(|r| &text[r]),
                Some("CI_Jobs"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn unknown_and_conflicting_codes() {
        assert!(Config::parse("[lint]\ndeny = [\"XX1\"]\n", known).is_err());
        let err =
            Config::parse("[lint]\ndeny = [\"PL1\"]\nallow = [\"PL1\"]\n", known).unwrap_err();
        assert!(err.message.contains("both"));
    }
}
