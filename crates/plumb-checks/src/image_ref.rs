//! OCI distribution image references:
//! `[registry[:port]/]path[:tag][@algorithm:hex]`, with Docker's defaults.

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// As written, when written (`None` means Docker Hub).
    pub registry: Option<String>,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub algorithm: String,
    pub hex: String,
}

/// Why a reference is malformed: a message and the byte range in the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl ImageRef {
    /// The registry, with Docker Hub's aliases folded into `docker.io`.
    pub fn registry_or_default(&self) -> &str {
        match self.registry.as_deref() {
            None => "docker.io",
            Some(r)
                if r.eq_ignore_ascii_case("index.docker.io")
                    || r.eq_ignore_ascii_case("registry-1.docker.io")
                    || r.eq_ignore_ascii_case("docker.io") =>
            {
                "docker.io"
            }
            Some(r) => r,
        }
    }

    /// The fully qualified name, as a container runtime resolves it
    /// (`ubuntu` is `docker.io/library/ubuntu`).
    pub fn full_name(&self) -> String {
        let registry = self.registry_or_default();
        if registry == "docker.io" && !self.path.contains('/') {
            format!("docker.io/library/{}", self.path)
        } else {
            format!("{registry}/{}", self.path)
        }
    }
}

fn err(message: impl Into<String>, start: usize, end: usize) -> RefError {
    RefError {
        message: message.into(),
        start,
        end,
    }
}

pub fn parse(reference: &str) -> Result<ImageRef, RefError> {
    if reference.is_empty() {
        return Err(err("the image reference is empty", 0, 0));
    }
    if let Some(i) = reference.find(|c: char| c.is_whitespace()) {
        return Err(err("an image reference has no spaces", i, i + 1));
    }
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((left, right)) => {
            let digest_start = left.len() + 1;
            (left, Some(parse_digest(right, digest_start)?))
        }
        None => (reference, None),
    };
    let last_slash = name_and_tag.rfind('/');
    let (name, tag) = match name_and_tag.rfind(':') {
        Some(colon) if last_slash.is_none_or(|s| colon > s) => {
            (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
        }
        _ => (name_and_tag, None),
    };
    if let Some(tag) = tag {
        check_tag(tag, name.len() + 1)?;
    }
    let (registry, path, path_start) = split_registry(name);
    if let Some(r) = registry {
        check_registry(r)?;
    }
    check_path(path, path_start)?;
    Ok(ImageRef {
        registry: registry.map(str::to_string),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest,
    })
}

/// The first component is a registry when it looks like a host: it has a `.` or a
/// port, or is `localhost` (Docker's rule).
fn split_registry(name: &str) -> (Option<&str>, &str, usize) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest, first.len() + 1)
        }
        _ => (None, name, 0),
    }
}

fn check_registry(registry: &str) -> Result<(), RefError> {
    let (host, port) = split_port(registry);
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        // an IPv6 address in brackets: `[::1]:5000`
        inner
            .strip_suffix(']')
            .is_some_and(|addr| addr.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    if !host_ok {
        return Err(err(
            format!("`{registry}` is not a valid registry host"),
            0,
            registry.len(),
        ));
    }
    if let Some(port) = port {
        if port.is_empty()
            || !port.chars().all(|c| c.is_ascii_digit())
            || port.parse::<u32>().map_or(true, |p| p > 65535)
        {
            return Err(err(
                format!("`{port}` is not a valid port"),
                host.len() + 1,
                registry.len(),
            ));
        }
    }
    Ok(())
}

/// `host[:port]`, where the host may be a bracketed IPv6 address with colons inside.
fn split_port(registry: &str) -> (&str, Option<&str>) {
    let host_end = if registry.starts_with('[') {
        registry.find(']').map_or(registry.len(), |i| i + 1)
    } else {
        registry.find(':').unwrap_or(registry.len())
    };
    match registry[host_end..].strip_prefix(':') {
        Some(port) => (&registry[..host_end], Some(port)),
        None if host_end == registry.len() => (registry, None),
        // text after the host that is not a port: let the host check reject it
        None => (registry, None),
    }
}

/// Path components: lowercase alphanumerics separated by `.`, `_`, `__` or dashes.
fn check_path(path: &str, offset: usize) -> Result<(), RefError> {
    if path.is_empty() {
        return Err(err("the image has no name", offset, offset));
    }
    let mut start = offset;
    for component in path.split('/') {
        let end = start + component.len();
        if component.is_empty() {
            return Err(err(
                "the image name has an empty path component (`//`)",
                start,
                end,
            ));
        }
        if let Some(c) = component.chars().find(|c| c.is_ascii_uppercase()) {
            return Err(err(
                format!("image names are lowercase; `{component}` has `{c}`"),
                start,
                end,
            ));
        }
        if !is_path_component(component) {
            return Err(err(
                format!("`{component}` is not a valid image name component (lowercase letters and digits, separated by one `.`, one or two `_`, or dashes)"),
                start,
                end,
            ));
        }
        start = end + 1;
    }
    Ok(())
}

/// OCI's `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let b = component.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let run = b[i..].iter().take_while(|c| alnum(**c)).count();
        if run == 0 {
            return false;
        }
        i += run;
        if i == b.len() {
            return true;
        }
        let sep = match b[i] {
            b'.' => 1,
            b'_' if b.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => b[i..].iter().take_while(|c| **c == b'-').count(),
            _ => return false,
        };
        i += sep;
    }
}

fn check_tag(tag: &str, offset: usize) -> Result<(), RefError> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(err(
            format!("`{tag}` is not a valid tag (letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`)"),
            offset,
            offset + tag.len(),
        ))
    }
}

fn parse_digest(digest: &str, offset: usize) -> Result<Digest, RefError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(err(
            format!("`{digest}` is not a digest: expected `algorithm:hex`, e.g. `sha256:` and 64 hex digits"),
            offset,
            offset + digest.len(),
        ));
    };
    let algo_ok = !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    if !algo_ok {
        return Err(err(
            format!("`{algorithm}` is not a digest algorithm"),
            offset,
            offset + algorithm.len(),
        ));
    }
    let hex_start = offset + algorithm.len() + 1;
    // registries verify only these two; any other algorithm pins nothing
    let n = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => {
            return Err(err(
                format!("`{algorithm}` is not a digest algorithm registries verify: use `sha256` (or `sha512`)"),
                offset,
                offset + algorithm.len(),
            ))
        }
    };
    let lower_hex = !hex.is_empty()
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if hex.len() != n || !lower_hex {
        return Err(err(
            format!(
                "a {algorithm} digest has exactly {n} lowercase hex digits; this one has {} {}",
                hex.len(),
                if lower_hex {
                    "digits"
                } else {
                    "characters, not all lowercase hex"
                }
            ),
            hex_start,
            hex_start + hex.len(),
        ));
    }
    Ok(Digest {
        algorithm: algorithm.to_string(),
        hex: hex.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91";

    #[test]
    fn docker_hub_defaults() {
        let r = parse("ubuntu").unwrap();
        assert_eq!((r.registry.as_deref(), r.tag.as_deref()), (None, None));
        assert_eq!(r.full_name(), "docker.io/library/ubuntu");
        assert_eq!(
            parse("bitnami/kubectl:1.30").unwrap().full_name(),
            "docker.io/bitnami/kubectl"
        );
    }

    #[test]
    fn registry_with_port_and_nested_path() {
        let r = parse(&format!(
            "registry.local:5000/team/tools/kubectl:1.30.2@sha256:{SHA}"
        ))
        .unwrap();
        assert_eq!(r.registry.as_deref(), Some("registry.local:5000"));
        assert_eq!(r.path, "team/tools/kubectl");
        assert_eq!(r.tag.as_deref(), Some("1.30.2"));
        assert_eq!(r.digest.unwrap().hex, SHA);
        let r = parse("localhost:5000/app").unwrap();
        assert_eq!(
            (r.registry.as_deref(), r.tag),
            (Some("localhost:5000"), None)
        );
    }

    #[test]
    fn digest_only() {
        let r = parse(&format!("alpine@sha256:{SHA}")).unwrap();
        assert!(r.tag.is_none() && r.digest.is_some());
    }

    #[test]
    fn malformed() {
        assert!(parse("alpine@sha256:abc")
            .unwrap_err()
            .message
            .contains("64"));
        assert!(parse(&format!("alpine@sha256:{}", SHA.to_uppercase())).is_err());
        assert!(parse("Ubuntu:24.04").is_err());
        assert!(parse("ubuntu:").is_err());
        assert!(parse("ubuntu:-x").is_err());
        assert!(parse("a//b").is_err());
        assert!(parse("registry:99999/a").is_err());
        assert!(parse("").is_err());
        assert!(parse("ubuntu 24.04").is_err());
    }

    #[test]
    fn only_verified_digest_algorithms_pin() {
        let md5 = parse("busybox@md5:d41d8cd98f00b204e9800998ecf8427e").unwrap_err();
        assert!(md5.message.contains("`md5`"), "{}", md5.message);
        assert_eq!((md5.start, md5.end), (8, 11));
        for algo in ["sha1", "sha384", "blake3", "sha256x"] {
            assert!(parse(&format!("busybox@{algo}:{SHA}")).is_err(), "{algo}");
        }
        assert!(parse(&format!("busybox@sha512:{SHA}{SHA}")).is_ok());
    }

    #[test]
    fn ipv6_registries() {
        let r = parse(&format!("[::1]:5000/x@sha256:{SHA}")).unwrap();
        assert_eq!(r.registry.as_deref(), Some("[::1]:5000"));
        assert_eq!(r.path, "x");
        assert!(parse("[fe80::1%25eth0]:5000/x:1").is_err());
        assert!(parse("[::1/x:1").is_err());
        assert!(parse("[not-ip]:5000/x:1").is_err());
        assert!(parse("[::1]/x:1.0").unwrap().tag.as_deref() == Some("1.0"));
    }

    #[test]
    fn path_components_follow_the_oci_grammar() {
        for bad in [
            "x.-y", "x-.y", "x_-y", "x__.y", "x___y", "-x", "x-", "x..y", "x._y",
        ] {
            assert!(parse(&format!("{bad}@sha256:{SHA}")).is_err(), "{bad}");
        }
        for good in ["x.y", "x_y", "x__y", "x--y", "a0-b1.c2", "x---y"] {
            assert!(parse(&format!("{good}:1")).is_ok(), "{good}");
        }
    }
}
