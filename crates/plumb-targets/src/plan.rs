//! The target-independent build plan, computed once from the checked program: stages in
//! topological order, jobs in run order, matrix combinations, dependency depths.
//! Every target maps this plan to its own output types.

use plumb_semantics::{JobModel, PipelineModel, SecretSource, ValueKind};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub struct PipelinePlan<'a> {
    pub model: &'a PipelineModel,
    /// The file the pipeline was written in, as shown to the user.
    pub source: String,
    /// Indexes into `model.stages`, in an order that respects `after`.
    pub stage_order: Vec<usize>,
    /// Indexes into `model.jobs`: by stage order, then declaration order.
    pub job_order: Vec<usize>,
    /// Each job's depth in the needs-and-stages graph (0 runs first).
    pub depth: Vec<usize>,
    /// The pipeline's job names: a job's `dependencies` are looked up here, not by a
    /// walk over every job (a 5,000-job pipeline would make that quadratic).
    job_names: HashSet<&'a str>,
    /// The key of each Vault field (path, field) in the pipeline's Vault Secret.
    vault_keys: HashMap<(String, String), String>,
}

impl<'a> PipelinePlan<'a> {
    pub fn new(model: &'a PipelineModel, source: String) -> Self {
        let stage_order = stage_order(model);
        let position: BTreeMap<usize, usize> = stage_order
            .iter()
            .enumerate()
            .map(|(pos, s)| (*s, pos))
            .collect();
        let mut job_order: Vec<usize> = (0..model.jobs.len()).collect();
        job_order.sort_by_key(|j| {
            (
                position
                    .get(&model.jobs[*j].stage)
                    .copied()
                    .unwrap_or(usize::MAX),
                *j,
            )
        });
        let depth = depths(model, &stage_order, &job_order);
        PipelinePlan {
            model,
            source,
            stage_order,
            job_order,
            depth,
            job_names: model.jobs.iter().map(|j| j.name.as_str()).collect(),
            vault_keys: vault_keys(model),
        }
    }

    /// The key of the pipeline's Vault Secret that holds this Vault field: the secret's
    /// name, unless secrets of one name read different fields (`a.tok` and the file's
    /// own `tok`), which would share a key and deliver one value for both.
    pub fn vault_key(&self, name: &str, path: &str, field: &str) -> String {
        let key = (path.to_string(), field.to_string());
        self.vault_keys
            .get(&key)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// Whether the pipeline has a job of this name.
    pub fn has_job(&self, name: &str) -> bool {
        self.job_names.contains(name)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &'a JobModel> + '_ {
        self.job_order.iter().map(|j| &self.model.jobs[*j])
    }

    /// The jobs in run order, with their depth.
    pub fn jobs_with_depth(&self) -> impl Iterator<Item = (&'a JobModel, usize)> + '_ {
        self.job_order
            .iter()
            .map(|j| (&self.model.jobs[*j], self.depth[*j]))
    }

    pub fn stage_name(&self, job: &JobModel) -> &'a str {
        // the pipeline's `default`, compiled as a job for the jobs of included files,
        // has no stage of its own (its index is 0, and a pipeline may have no stage)
        self.model.stages.get(job.stage).map_or("", |s| &s.name)
    }
}

/// Each Vault field's key: its secret's name, with a digest of the path and field when
/// secrets of that name read several fields (or fields of several names would clash).
fn vault_keys(model: &PipelineModel) -> HashMap<(String, String), String> {
    let mut by_name: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for job in &model.jobs {
        for b in &job.env {
            if let ValueKind::Secret(s) = &b.value.kind {
                if let SecretSource::Vault { path, field, .. } = &s.source {
                    let fields = by_name.entry(s.name.as_str()).or_default();
                    fields.insert((path.clone(), field.clone()));
                }
            }
        }
    }
    let mut keys = HashMap::new();
    for (name, fields) in by_name {
        let shared = fields.len() > 1;
        for (path, field) in fields {
            let key = if shared {
                format!("{name}-{:08x}", fnv1a(&format!("{path}\0{field}")))
            } else {
                name.to_string()
            };
            keys.insert((path, field), key);
        }
    }
    keys
}

/// A stable 32-bit digest (FNV-1a): the same on every machine and every run.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The stages each stage waits for: those `after` names (the one declared before, when
/// it names none), and, with `needs_too`, the stages of the jobs its jobs need (GitLab
/// refuses a need on a job of a later stage, so those stages must come first).
fn stage_waits(p: &PipelineModel, needs_too: bool) -> Vec<Vec<usize>> {
    let n = p.stages.len();
    let mut waits_for: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in p.stages.iter().enumerate() {
        if s.explicit_after {
            waits_for[i] = s.after.iter().map(|(t, _)| *t).collect();
        } else if i > 0 {
            waits_for[i] = vec![i - 1];
        }
    }
    if needs_too {
        let mut seen: HashSet<(usize, usize)> = HashSet::new();
        for job in &p.jobs {
            for target in job.needs.iter().filter_map(|n| n.target) {
                let stage = p.jobs[target].stage;
                if stage != job.stage && seen.insert((job.stage, stage)) {
                    waits_for[job.stage].push(stage);
                }
            }
        }
    }
    waits_for
}

/// A topological order of the stages (Kahn's algorithm, ties broken by declaration
/// order, so the output is deterministic), over `after` and the stages of needed jobs.
/// The checker has rejected cycles already; should one remain, its stages follow in
/// declaration order.
fn stage_order(p: &PipelineModel) -> Vec<usize> {
    let n = p.stages.len();
    let waits_for = stage_waits(p, true);
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !done[i] && waits_for[i].iter().all(|d| done[*d]));
        let next = next.unwrap_or_else(|| (0..n).find(|&i| !done[i]).expect("a stage is left"));
        done[next] = true;
        order.push(next);
    }
    order
}

/// The stages each stage follows, directly or not, by `after` (in `order`, a stage's
/// are complete before it is reached).
fn stage_ancestors(p: &PipelineModel, order: &[usize]) -> Vec<BTreeSet<usize>> {
    let waits_for = stage_waits(p, false);
    let mut ancestors: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); p.stages.len()];
    for &s in order {
        let mut mine = BTreeSet::new();
        for &w in &waits_for[s] {
            mine.insert(w);
            mine.extend(ancestors[w].iter().copied());
        }
        mine.remove(&s);
        ancestors[s] = mine;
    }
    ancestors
}

/// A job with `needs` runs after those jobs (`needs = []`: at once); a job without runs
/// after every job of the stages its stage follows (§6: only those `after` names, not
/// every stage written before it).
fn depths(p: &PipelineModel, stage_order: &[usize], job_order: &[usize]) -> Vec<usize> {
    let mut depth = vec![0usize; p.jobs.len()];
    let ancestors = stage_ancestors(p, stage_order);
    // the deepest job of each stage, filled in as the stages are passed
    let mut deepest: Vec<Option<usize>> = vec![None; p.stages.len()];
    for &j in job_order {
        let job = &p.jobs[j];
        depth[j] = if job.field("needs").is_some() {
            job.needs
                .iter()
                .filter_map(|n| n.target)
                .filter(|t| *t != j)
                .map(|t| depth[t] + 1)
                .max()
                .unwrap_or(0)
        } else {
            let followed = ancestors.get(job.stage).into_iter().flatten();
            followed
                .filter_map(|s| deepest[*s])
                .map(|d| d + 1)
                .max()
                .unwrap_or(0)
        };
        if let Some(slot) = deepest.get_mut(job.stage) {
            *slot = Some(slot.map_or(depth[j], |d| d.max(depth[j])));
        }
    }
    depth
}

/// Every combination of a job's matrix, in source order (one empty combination when
/// the job has no matrix).
pub fn matrix_combinations(job: &JobModel) -> Vec<Vec<(String, String)>> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (var, values) in job.matrix() {
        if values.is_empty() {
            continue;
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((var.to_string(), v.to_string()));
                    c
                })
            })
            .collect();
    }
    combos
}

/// The files the pipelines come from, each named once, in order ("a.plumb, b.plumb").
pub fn sources_of(plans: &[PipelinePlan]) -> String {
    let mut sources: Vec<&str> = Vec::new();
    for p in plans {
        if !sources.contains(&p.source.as_str()) {
            sources.push(&p.source);
        }
    }
    sources.join(", ")
}
