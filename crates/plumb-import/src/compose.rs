//! Which of a job's fields a template gives it: Plumb composes a job as GitLab's
//! `extends` does (`default`, then each base left to right, then the job; records merge
//! key by key), so a job (or a template) built on bases writes only what differs, and
//! only when that composition gives back exactly what GitLab runs.

use crate::value::PVal;
use std::collections::BTreeMap;

/// GitLab job names with the YAML line each is written on (`needs:`, `dependencies:`).
pub type JobNames = Vec<(String, usize)>;

/// A job or a template as GitLab flattens it (`extends` applied): what is compared.
pub struct Flat<'a> {
    pub fields: &'a BTreeMap<String, PVal>,
    pub env: &'a [(String, PVal)],
    /// `needs:` and `dependencies:` are kept apart from the fields: they name jobs, which
    /// get their Plumb names only once every job is known.
    pub needs: Option<&'a JobNames>,
    pub dependencies: Option<&'a JobNames>,
}

/// What a job writes itself on top of its bases.
#[derive(Clone)]
pub struct OwnPart {
    pub fields: BTreeMap<String, PVal>,
    pub env: Vec<(String, PVal)>,
    /// Its `needs` are its bases' (written there, not again).
    pub inherits_needs: bool,
    /// Its `dependencies` are its bases'.
    pub inherits_dependencies: bool,
}

/// The fields `job` writes itself when it instantiates `bases` (left to right): what
/// differs from what they (over `default`) give it. `None` when they cannot give
/// exactly what GitLab runs (a field, a record key, a variable or a `needs` the job
/// does not have).
///
/// For a check (`strict`) a value the job writes itself at its own place stays the
/// job's, though equal to the template's.
pub fn own_part(
    job: &Flat,
    bases: &[Flat],
    default: &BTreeMap<String, PVal>,
    strict: bool,
) -> Option<OwnPart> {
    let fields = own_fields(job, bases, default, strict)?;
    let env = own_env(job, bases, strict)?;
    let inherits_needs = names_inherited(job.needs, bases.iter().map(|b| b.needs))?;
    let inherits_dependencies =
        names_inherited(job.dependencies, bases.iter().map(|b| b.dependencies))?;
    Some(OwnPart {
        fields,
        env,
        inherits_needs,
        inherits_dependencies,
    })
}

fn own_fields(
    job: &Flat,
    bases: &[Flat],
    default: &BTreeMap<String, PVal>,
    strict: bool,
) -> Option<BTreeMap<String, PVal>> {
    // what Plumb composes: default, then each base, then the job (records merge)
    let mut inherited: BTreeMap<String, PVal> = default.clone();
    for t in bases {
        compose_into(&mut inherited, t.fields);
    }
    let own: BTreeMap<String, PVal> = (job.fields.iter())
        .filter_map(|(k, v)| match inherited.get(k) {
            Some(i) if i.same(v, strict) => None,
            // the same keys in another order (a base's record merged with a later one's)
            Some(i) if !strict && long_form(k, i).equivalent(&long_form(k, v)) => None,
            // a record writes only the keys it adds or changes (for a check, each
            // value stays at its own place)
            Some(i) if !strict => Some((k.clone(), record_added(&long_form(k, i), v))),
            _ => Some((k.clone(), v.clone())),
        })
        .collect();
    let mut composed = inherited;
    compose_into(&mut composed, &own);
    let same_as_job = composed.len() == job.fields.len()
        && composed.iter().all(|(k, v)| {
            job.fields
                .get(k)
                .is_some_and(|j| long_form(k, v).equivalent(&long_form(k, j)))
        });
    same_as_job.then_some(own)
}

/// What record `later` adds to or changes in record `earlier`, key by key (records
/// inside merge too): composed over `earlier`, it gives `later` back when `later` has
/// every key of `earlier`. Not two records, or nothing added: `later` itself.
fn record_added(earlier: &PVal, later: &PVal) -> PVal {
    let (PVal::Record(old), PVal::Record(new)) = (earlier.bare(), later.bare()) else {
        return later.clone();
    };
    let added: Vec<(String, PVal)> = (new.iter())
        .filter_map(|(k, v)| match old.iter().find(|(ok, _)| ok == k) {
            Some((_, o)) if o.equivalent(v) => None,
            Some((_, o)) => Some((k.clone(), record_added(o, v))),
            None => Some((k.clone(), v.clone())),
        })
        .collect();
    if added.is_empty() {
        return later.clone();
    }
    PVal::Record(added)
}

/// `env` merges by name: the bases' variables, the later base winning; `None` when
/// they give a variable the job does not have.
fn own_env(job: &Flat, bases: &[Flat], strict: bool) -> Option<Vec<(String, PVal)>> {
    let mut inherited_env: Vec<(&String, &PVal)> = Vec::new();
    for (k, v) in bases.iter().flat_map(|t| t.env) {
        inherited_env.retain(|(ik, _)| *ik != k);
        inherited_env.push((k, v));
    }
    if inherited_env
        .iter()
        .any(|(ik, _)| !job.env.iter().any(|(k, _)| k == *ik))
    {
        return None;
    }
    let env = (job.env.iter())
        .filter(|(k, v)| {
            !inherited_env
                .iter()
                .any(|(ik, iv)| *ik == k && iv.same(v, strict))
        })
        .cloned()
        .collect();
    Some(env)
}

/// Whether a job's `needs` (or `dependencies`) are the ones its bases give (a list is
/// replaced, so the last base that has one gives it); `None` when a base gives a list
/// the job does not have (Plumb cannot take a list away).
fn names_inherited<'a>(
    own: Option<&JobNames>,
    bases: impl DoubleEndedIterator<Item = Option<&'a JobNames>>,
) -> Option<bool> {
    let Some(given) = bases.rev().flatten().next() else {
        return Some(false);
    };
    let own = own?;
    let names = |list: &JobNames| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    Some(names(own) == names(given))
}

/// A job's fields without those the pipeline's `default` gives it as they are (for a
/// check, `strict`: written at the same place too).
pub fn drop_what_default_gives(
    fields: &mut BTreeMap<String, PVal>,
    default: &BTreeMap<String, PVal>,
    strict: bool,
) {
    // (a job that does not inherit a key keeps its own, equal or not)
    let inherits: Vec<String> = (fields.keys())
        .filter(|k| !leaves_out_default(fields, k))
        .cloned()
        .collect();
    fields
        .retain(|k, v| !inherits.contains(k) || !default.get(k).is_some_and(|d| d.same(v, strict)));
}

/// Whether the job's `gitlab = { inherit = { default = false | [KEYS] } }` leaves out
/// the pipeline's `default` field `field` (Plumb's name).
pub fn leaves_out_default(fields: &BTreeMap<String, PVal>, field: &str) -> bool {
    let record = |v: &PVal, key: &str| match v.bare() {
        PVal::Record(entries) => {
            (entries.iter().find(|(k, _)| k == key)).map(|(_, v)| v.bare().clone())
        }
        _ => None,
    };
    let Some(said) = (fields.get("gitlab"))
        .and_then(|g| record(g, "inherit"))
        .and_then(|i| record(&i, "default"))
    else {
        return false;
    };
    let field = if field == "entrypoint" {
        "image"
    } else {
        field
    };
    let Some((key, _)) =
        (plumb_semantics::fields::GITLAB_DEFAULT_KEYS.iter()).find(|(_, f)| *f == field)
    else {
        return false;
    };
    match said {
        PVal::Bool(false) => true,
        PVal::List(keys) => !keys
            .iter()
            .any(|k| matches!(k.bare(), PVal::Str(s) if s == key)),
        _ => false,
    }
}

/// Applies `layer` over `acc` as Plumb composes fields: records merge key by key, a
/// matrix (like any other value) is replaced.
pub fn compose_into(acc: &mut BTreeMap<String, PVal>, layer: &BTreeMap<String, PVal>) {
    for (k, v) in layer {
        let value = match acc.get(k) {
            Some(earlier) if k != "matrix" => composed_field(k, earlier, v),
            _ => v.clone(),
        };
        acc.insert(k.clone(), value);
    }
}

/// Field `key`'s value `later` over `earlier`, as Plumb composes them: records merge;
/// `artifacts = [paths]` is the record `{ paths = [...] }` and merges as one.
pub fn composed_field(key: &str, earlier: &PVal, later: &PVal) -> PVal {
    PVal::merged(&long_form(key, earlier), &long_form(key, later))
}

/// A field's value in the form Plumb merges: `artifacts = [paths]` as its record.
pub fn long_form(key: &str, v: &PVal) -> PVal {
    match v {
        PVal::List(_) if key == "artifacts" => PVal::Record(vec![("paths".into(), v.clone())]),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> JobNames {
        list.iter().map(|n| (n.to_string(), 1)).collect()
    }

    #[test]
    fn needs_come_from_the_last_base_that_has_them() {
        let (a, b) = (names(&["a"]), names(&["b"]));
        assert_eq!(
            names_inherited(Some(&b), [Some(&a), Some(&b)].into_iter()),
            Some(true)
        );
        assert_eq!(
            names_inherited(Some(&a), [Some(&a), Some(&b)].into_iter()),
            Some(false)
        );
        assert_eq!(
            names_inherited(Some(&a), [None, None].into_iter()),
            Some(false)
        );
        assert_eq!(names_inherited(None, [None].into_iter()), Some(false));
    }

    #[test]
    fn a_base_cannot_give_needs_the_job_does_not_have() {
        let a = names(&["a"]);
        assert_eq!(names_inherited(None, [Some(&a)].into_iter()), None);
        // `needs: []` is a list of its own: the job writes it
        assert_eq!(
            names_inherited(Some(&names(&[])), [Some(&a)].into_iter()),
            Some(false)
        );
    }
}
