//! Names that Kubernetes and file systems accept, whatever the source says.

/// A DNS-1123 label (Kubernetes object names, label values): lowercase letters, digits
/// and `-`, starting and ending with a letter or digit, at most 63 characters. Longer
/// names are cut and end in a hash of the whole name, so two long names stay distinct.
pub fn dns_label(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let mut out = if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    };
    if out.len() > 63 {
        let hash = format!("{:08x}", fnv1a(name) as u32);
        out.truncate(54);
        let base = out.trim_end_matches('-').to_string();
        out = format!("{base}-{hash}");
    }
    out
}

/// A single path component that cannot climb out of its folder: a DNS label, which has
/// no `/`, no `.` and no `..`.
pub fn path_component(name: &str) -> String {
    dns_label(name)
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(dns_label("unit-api"), "unit-api");
        assert_eq!(dns_label("Unit_API"), "unit-api");
        assert_eq!(path_component("../../etc"), "etc");
        assert_eq!(path_component("a/b"), "a-b");
        assert_eq!(path_component("..."), "x");
        let long = "a".repeat(300);
        let other = format!("{}b", "a".repeat(299));
        assert!(dns_label(&long).len() <= 63);
        assert_ne!(dns_label(&long), dns_label(&other));
    }
}
