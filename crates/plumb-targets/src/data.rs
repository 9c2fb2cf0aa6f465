//! Plain data written as it is: the values of records that map one to one onto a
//! target's keys (`artifacts`, `cache`, `gitlab = { … }`).

use crate::yaml::OrderedMap;
use plumb_semantics::{format_duration, format_size, Value, ValueKind};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Data {
    Str(String),
    Int(u64),
    Bool(bool),
    List(Vec<Data>),
    Map(OrderedMap<Data>),
}

impl Data {
    /// A value as data: durations and sizes as their literal text (`7d`, `256Mi`);
    /// `None` for what is not data (a condition, a secret, an unknown value).
    pub fn of(v: &Value) -> Option<Data> {
        Some(match &v.kind {
            ValueKind::Str(s) => Data::Str(s.clone()),
            ValueKind::Int(n) => Data::Int(*n),
            ValueKind::Bool(b) => Data::Bool(*b),
            ValueKind::Duration(d) => Data::Str(format_duration(*d)),
            ValueKind::Size(s) => Data::Str(format_size(*s)),
            ValueKind::List(items) => Data::List(items.iter().filter_map(Data::of).collect()),
            ValueKind::Map(entries) => {
                let mut map = OrderedMap::new();
                for e in entries {
                    if let Some(d) = Data::of(&e.value) {
                        map.insert(e.key.clone(), d);
                    }
                }
                Data::Map(map)
            }
            _ => return None,
        })
    }

    pub fn as_map_mut(&mut self) -> Option<&mut OrderedMap<Data>> {
        match self {
            Data::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl<V> OrderedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }
    /// Renames a key in place, keeping its position.
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| k == from) {
            slot.0 = to.to_string();
        }
    }
}

/// GitLab's `integrity:` for a hex SHA-256: `sha256-` and the digest in base64.
/// (The checker makes sure it is 64 hex digits; anything else is written as given.)
pub fn sri_sha256(hex: &str) -> String {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    match bytes {
        Some(bytes) if bytes.len() == 32 && hex.len() == 64 => format!("sha256-{}", base64(&bytes)),
        _ => format!("sha256-{hex}"),
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_base64_of_the_digest() {
        // sha256 of the empty string
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            sri_sha256(hex),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
