//! Shared by the image rules: every image a job uses, parsed once per use.

use crate::image_ref::{self, ImageRef, RefError};
use crate::{FileCx, JobCx, Sources};
use plumb_diagnostics::{Diagnostic, FileRange, Severity, TextRange};
use plumb_semantics::{Value, ValueKind};

pub struct ImageUse<'a> {
    /// The reference: as written, or with the values of the job's matrix put in.
    pub text: std::borrow::Cow<'a, str>,
    /// Where the literal was written.
    pub literal: FileRange,
    /// `image` or `service`.
    pub role: &'static str,
    pub parsed: Result<ImageRef, RefError>,
}

/// The job's `image` and `services`, skipping values that are not known strings
/// (errors already reported by the type checker). Rules ask [`JobCx::images`], which
/// parses them once per job.
pub fn job_images<'a>(cx: &JobCx<'a>) -> Vec<ImageUse<'a>> {
    let mut uses = Vec::new();
    let mut push = |v: &'a Value, role| {
        if let ValueKind::Str(text) = &v.kind {
            for text in with_matrix_values(cx, text) {
                let parsed = parse_reference(&text);
                uses.push(ImageUse {
                    text,
                    literal: v.origin,
                    role,
                    parsed,
                });
            }
        }
    };
    if let Some(v) = cx.job.image().filter(|v| !is_macos_vm_image(cx, v)) {
        // `image: $IMAGE` with `IMAGE` a matrix variable: each value is an image a job
        // runs in, checked where it is written
        match matrix_values(cx, v) {
            Some(values) => values.into_iter().for_each(|v| push(v, "image")),
            None => push(v, "image"),
        }
    }
    for v in cx.job.service_images() {
        match matrix_values(cx, v) {
            Some(values) => values.into_iter().for_each(|v| push(v, "service")),
            None => push(v, "service"),
        }
    }
    uses
}

/// The values of the job's `matrix` variable an image is written as (`$IMAGE`,
/// `${IMAGE}`), or `None`.
fn matrix_values<'a>(cx: &JobCx<'a>, image: &'a Value) -> Option<Vec<&'a Value>> {
    let text = image.as_str()?.strip_prefix('$')?;
    let name = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let matrix = cx.job.field("matrix")?.value.as_map()?;
    let values = matrix.iter().find(|e| e.key == name)?.value.as_list()?;
    Some(values.iter().collect())
}

/// GitLab's predefined variables that name a registry of the instance (or a path in
/// one): the Dependency Proxy prefixes (`gitlab.example.com:443/group/dependency_proxy/
/// containers`), the instance's registry and host (`$CI_REGISTRY/group/ci/builder:1.4`,
/// `$CI_SERVER_HOST:5050/…`, GitLab's own templates' `$CI_TEMPLATE_REGISTRY_HOST/…`).
/// Whatever the value, what follows is checked as the reference it is (its tag and
/// digest are written out). Not the project's own image path, `$CI_REGISTRY_IMAGE`:
/// what is under it is the project's builds, PL3007's example.
const INSTANCE_PREFIXES: &[&str] = &[
    "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX",
    "CI_REGISTRY",
    "CI_SERVER_HOST",
    "CI_SERVER_FQDN",
    "CI_TEMPLATE_REGISTRY_HOST",
];

/// A reference parsed, one under an instance's registry ([`INSTANCE_PREFIXES`]) with
/// that prefix as its registry, as written (`${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}`,
/// `$CI_SERVER_HOST:5050`), which an allowed registries list may name.
pub fn parse_reference(text: &str) -> Result<ImageRef, RefError> {
    let under_prefix = INSTANCE_PREFIXES.iter().find_map(|name| {
        let rest = (text.strip_prefix('$'))?;
        let rest = match rest.strip_prefix('{') {
            Some(braced) => braced.strip_prefix(name)?.strip_prefix('}')?,
            // (`$CI_REGISTRY_IMAGE` is not `$CI_REGISTRY` and `_IMAGE`)
            None => rest
                .strip_prefix(name)
                .filter(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))?,
        };
        // a port after a host (`$CI_SERVER_HOST:5050/…`)
        let port = match rest.strip_prefix(':') {
            Some(p) => 1 + p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len(),
            None => 0,
        };
        // (`$CI_SERVER_HOST:/…` has no port: no reference at all, PL3004's)
        if port == 1 {
            return None;
        }
        let image = rest[port..].strip_prefix('/')?;
        Some((&text[..text.len() - rest.len() + port], image))
    });
    match under_prefix {
        Some((prefix, image)) if !image.contains('$') => {
            let mut r = image_ref::parse(image)?;
            r.registry = Some(prefix.to_string());
            Ok(r)
        }
        _ => image_ref::parse(text),
    }
}

/// Most references one image written with matrix variables stands for: past it, the
/// image is checked as written (a variable image).
const MAX_MATRIX_IMAGES: usize = 64;

/// An image as written, or, when each variable in it is one the job's `matrix` sets
/// (`python:${PY}-slim`), the images it is in the job's instances, each once.
fn with_matrix_values<'a>(cx: &JobCx<'a>, text: &'a str) -> Vec<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    let as_written = || vec![Cow::Borrowed(text)];
    let Some(matrix) = cx.job.field("matrix").and_then(|f| f.value.as_map()) else {
        return as_written();
    };
    // `$$` is GitLab's plain `$`
    if text.contains("$$") {
        return as_written();
    }
    let values_of = |name: &str| -> Option<Vec<&str>> {
        let values = matrix.iter().find(|e| e.key == name)?.value.as_list()?;
        values.iter().map(Value::as_str).collect()
    };
    let mut images = vec![String::new()];
    let mut rest = text;
    while let Some((start, end)) = variables_in(rest) {
        let word = &rest[start + 1..end];
        let name = word
            .strip_prefix('{')
            .and_then(|w| w.strip_suffix('}'))
            .unwrap_or(word);
        let Some(values) = values_of(name) else {
            return as_written();
        };
        if images.len() * values.len() > MAX_MATRIX_IMAGES {
            return as_written();
        }
        images = (images.iter())
            .flat_map(|i| {
                values
                    .iter()
                    .map(move |v| format!("{i}{}{v}", &rest[..start]))
            })
            .collect();
        rest = &rest[end..];
    }
    // nothing expanded, or a variable of no value (`PY: []`): the image as written
    if rest.len() == text.len() || images.is_empty() {
        return as_written();
    }
    let mut seen = std::collections::HashSet::new();
    (images.into_iter())
        .map(|i| i + rest)
        .filter(|i| seen.insert(i.clone()))
        .map(Cow::Owned)
        .collect()
}

/// On GitLab's hosted macOS runners (tags `saas-macos-…`) `image:` names a virtual
/// machine image (`macos-14-xcode-15`), not an OCI reference: no tag or digest applies.
fn is_macos_vm_image(cx: &JobCx, v: &Value) -> bool {
    let vm_name = |t: &str| t.starts_with("macos-") && !t.contains(['/', ':', '@']);
    let on_macos = || {
        cx.job
            .string_list("tags")
            .iter()
            .any(|t| t.starts_with("saas-macos"))
    };
    v.as_str().is_some_and(vm_name) && on_macos()
}

/// What an image rule needs besides the image.
pub struct ImageCx<'a> {
    pub config: &'a plumb_config::Config,
    pub sources: &'a dyn Sources,
    /// The images the job's pipeline pushes, by job ([`pushed_images`]).
    pub built: &'a [(String, String)],
    /// The job whose images these are (none for a declared image).
    pub job: Option<&'a plumb_semantics::JobModel>,
}

/// An image rule: a diagnostic for one image, or none.
pub type ImageCheck = fn(&ImageCx, &ImageUse) -> Option<Diagnostic>;

/// Runs an image rule on a job's images, noting the job at each.
pub fn check_job_images(cx: &JobCx, out: &mut Vec<Diagnostic>, check: ImageCheck) {
    let icx = ImageCx {
        config: cx.config,
        sources: cx.sources,
        built: cx.built_images,
        job: Some(cx.job),
    };
    for u in cx.images() {
        if let Some(mut d) = check(&icx, u) {
            if !u
                .literal
                .range
                .contains(cx.job.name_at.range.start as usize)
            {
                d = d.with_secondary(
                    cx.job.name_at,
                    format!("used as the {} of {}", u.role, cx.job.describe()),
                );
            }
            out.push(d);
        }
    }
}

/// Runs an image rule on the images a file declares outside jobs (typed lets and
/// template defaults), so that one no job uses yet is checked too.
pub fn check_declared_images(cx: &FileCx, out: &mut Vec<Diagnostic>, check: ImageCheck) {
    let icx = ImageCx {
        config: cx.config,
        sources: cx.sources,
        built: &[],
        job: None,
    };
    for v in &cx.model.declared_images {
        if let ValueKind::Str(text) = &v.kind {
            let u = ImageUse {
                text: std::borrow::Cow::Borrowed(text),
                literal: v.origin,
                role: "image",
                parsed: parse_reference(text),
            };
            if let Some(d) = check(&icx, &u) {
                out.push(d);
            }
        }
    }
}

/// A diagnostic on an image literal.
pub fn image_diagnostic(
    code: plumb_diagnostics::Code,
    severity: Severity,
    u: &ImageUse,
    message: String,
    label: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(code, severity, u.literal, message).with_label(label)
}

/// The range of bytes `start..end` of the reference inside its literal, when the
/// literal is written plainly (no escapes); otherwise the whole literal.
pub fn inner_range(sources: &dyn Sources, u: &ImageUse, start: usize, end: usize) -> FileRange {
    let lit = u.literal.range;
    let written = sources.literal(u.literal).unwrap_or("");
    if written.len() == u.text.len() + 2 && written[1..written.len() - 1] == *u.text && end > start
    {
        FileRange {
            file: u.literal.file,
            range: TextRange::new(lit.start as usize + 1 + start, lit.start as usize + 1 + end),
        }
    } else {
        u.literal
    }
}

/// A suggestion of the pinned form of a reference.
pub fn pinned_example(r: &ImageRef, text: &str) -> String {
    let base = text.split('@').next().unwrap_or(text);
    let base = if r.tag.is_some() {
        base.to_string()
    } else {
        format!("{base}:<version>")
    };
    format!("\"{base}@sha256:<digest>\"")
}

/// The first `$NAME` or `${NAME}` in an image reference: (start, end).
pub fn variables_in(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = text[from..].find('$').map(|i| i + from) {
        let rest = &text[i + 1..];
        let (name, extra) = match rest.strip_prefix('{') {
            Some(inner) => (inner.split('}').next().unwrap_or(""), 2),
            None => (rest, 0),
        };
        let len = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        let closed = extra == 0 || rest[1 + len..].starts_with('}');
        if len > 0 && closed && !name.starts_with(|c: char| c.is_ascii_digit()) {
            return Some((i, i + 1 + len + extra));
        }
        from = i + 1;
    }
    None
}

/// What the literal text of a reference built from variables decides whatever they
/// hold: the reference parsed with each variable as a plain name, when its tag, or
/// without one its whole last path component, is written after the last variable.
/// `$REGISTRY/alpine:latest` is the tag `latest`, `${PROXY}alpine/curl` has no tag, and
/// `alpine:$TAG` or `$IMAGE` decide nothing (`None`).
pub fn literal_tail(text: &str) -> Option<ImageRef> {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    let mut last_end = None;
    while let Some((start, end)) = variables_in(rest) {
        filled.push_str(&rest[..start]);
        filled.push_str("v0");
        last_end = Some(text.len() - rest.len() + end);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    let tail = &text[last_end?..];
    if tail.contains('$') {
        return None;
    }
    let r = image_ref::parse(&filled).ok()?;
    let name_end = tail.find('@').unwrap_or(tail.len());
    let slash = tail[..name_end].rfind('/');
    let colon = tail[..name_end].rfind(':');
    let decided = match (&r.tag, colon) {
        // the tag's `:` is after the last variable and after any `/` (not a port)
        (Some(_), Some(c)) => slash.is_none_or(|s| s < c),
        (Some(_), None) => false,
        // no tag: the last component must be literal (`$REGISTRY/name`), digest or not
        (None, _) => slash.is_some() || tail.starts_with('@'),
    };
    decided.then_some(r)
}

/// Whether a reference with variables is valid once each variable holds a plain name
/// (`$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA` is; `$IMAGE::x` is not, whatever `IMAGE` holds).
pub fn valid_with_variables(text: &str) -> bool {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    const HEX: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    while let Some((start, end)) = variables_in(rest) {
        filled.push_str(&rest[..start]);
        // a value that fits where the variable stands: a digest's hex after `sha256:`,
        // a whole digest after `@` (`alpine@sha256:$DIGEST`, `alpine@$DIGEST`)
        if filled.ends_with("sha256:") {
            filled.push_str(HEX);
        } else if filled.ends_with('@') {
            filled.push_str("sha256:");
            filled.push_str(HEX);
        } else {
            filled.push_str("v0");
        }
        rest = &rest[end..];
    }
    filled.push_str(rest);
    !filled.contains('$') && image_ref::parse(&filled).is_ok()
}

/// The images the pipeline's jobs push (`docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"`,
/// `docker buildx build --push -t X`, kaniko's `--destination X`, `crane push DIR X`,
/// `buildah push X`): (job, reference with the job's own variables put in, `${NAME}`
/// written `$NAME`). Only references left with GitLab's predefined variables alone are
/// kept: what a job pushes is what another job's image names only where both read
/// the same values.
pub fn pushed_images(p: &plumb_semantics::PipelineModel) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for j in &p.jobs {
        for (text, _) in j.script() {
            if !text.contains("push") && !text.contains("destination") {
                continue;
            }
            for cmd in crate::shell::scan(text) {
                if cmd.args().iter().any(|a| a.text == "--no-push") {
                    continue;
                }
                let pushed = pushed_by(&cmd)
                    .into_iter()
                    .map(|t| with_job_variables(&t, &j.env));
                out.extend(
                    pushed
                        .filter(|t| predefined_only(t))
                        .map(|t| (j.name.clone(), t)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The reference with the job's variables of plain values put in (as GitLab expands
/// them: [`expand_variables`](crate::rules::pl4001_hardcoded_credential::expand_variables)),
/// and `${NAME}` written `$NAME`.
pub fn with_job_variables(text: &str, env: &plumb_semantics::JobEnv) -> String {
    let literals: std::collections::HashMap<&str, &str> = (env.iter())
        .filter_map(|b| Some((b.name.as_str(), b.value.as_str()?)))
        .collect();
    let expanded = crate::rules::pl4001_hardcoded_credential::expand_variables(text, &literals);
    same_variables(&expanded)
}

/// Whether every variable the reference names is one of GitLab's predefined ones.
fn predefined_only(text: &str) -> bool {
    text.split('$')
        .skip(1)
        .all(|part| part.starts_with("CI_") || part.starts_with("GITLAB_"))
}

/// What one command pushes (see [`pushed_images`]).
fn pushed_by(cmd: &crate::shell::Command) -> Vec<String> {
    let Some(name) = cmd.name().map(crate::supply::base) else {
        return Vec::new();
    };
    let args = cmd.args();
    let words: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let operands = |from: usize| -> Vec<String> {
        (words.iter().skip(from))
            .filter(|w| !w.starts_with('-'))
            .map(|w| w.to_string())
            .collect()
    };
    let value_of = |options: &[&str]| -> Vec<String> {
        let mut found = Vec::new();
        for (i, w) in words.iter().enumerate() {
            for o in options {
                if w == o {
                    found.extend(words.get(i + 1).map(|v| v.to_string()));
                } else if let Some(v) = w.strip_prefix(o).and_then(|r| r.strip_prefix('=')) {
                    found.push(v.to_string());
                }
            }
        }
        found
    };
    match (name, words.first().copied()) {
        ("docker" | "podman" | "nerdctl" | "buildah", Some("push")) => operands(1),
        ("docker" | "podman" | "nerdctl", Some("image")) if words.get(1) == Some(&"push") => {
            operands(2)
        }
        ("docker", Some("build" | "buildx")) if words.contains(&"--push") => {
            value_of(&["-t", "--tag"])
        }
        ("executor", _) => value_of(&["--destination", "-d"]),
        ("crane", Some("push")) => operands(2),
        _ => Vec::new(),
    }
}

/// `${NAME}` as `$NAME`, so that one image written both ways is one.
fn same_variables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push('$');
                out.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether an image written with predefined variables (`$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA`,
/// `$CI_REGISTRY/group/p/builder:1.4`) is one another job of the pipeline pushes: what
/// the image rules leave alone.
pub fn pushed_by_another_job(cx: &ImageCx, u: &ImageUse) -> bool {
    u.text.contains('$') && (cx.job).is_some_and(|job| pushed_here(cx.built, job, &u.text))
}

/// Whether image `text`, used by `job`, is one another job of the pipeline pushes
/// (see [`pushed_images`]): the job's own push runs after its image is pulled.
pub fn pushed_here(
    built: &[(String, String)],
    job: &plumb_semantics::JobModel,
    text: &str,
) -> bool {
    if built.is_empty() {
        return false;
    }
    let used = with_job_variables(text, &job.env);
    predefined_only(&used)
        && built
            .iter()
            .any(|(pusher, image)| *pusher != job.name && *image == used)
}

#[cfg(test)]
mod tests {
    use super::valid_with_variables;

    #[test]
    fn variables_may_hold_a_name_a_tag_or_a_digest() {
        for valid in [
            "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
            "alpine@sha256:$DIGEST",
            "alpine@$DIGEST",
            "$REGISTRY/app:$TAG@sha256:$DIGEST",
        ] {
            assert!(valid_with_variables(valid), "{valid}");
        }
        assert!(!valid_with_variables("$IMAGE::x"));
    }
}
