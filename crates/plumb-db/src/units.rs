//! Per-pipeline and per-job checks, each a query of its own.
//!
//! A file's `analyze` re-runs on every edit of the file, and gives a new model with
//! every span after the edit moved. [`check_units`] cuts the model into one input per
//! pipeline and per job, with spans made relative to where each starts
//! (`plumb_diagnostics::relocate`), held in tracked fields of salsa tracked structs. An
//! input that did not change is backdated, so [`pipeline_checks`] and [`job_checks`] run
//! again only for the pipeline and the job whose text (or whose template, default or
//! import) changed. Their diagnostics come back relative and are moved to absolute
//! offsets by `check_file`.

use crate::{analyze, Db, SourceFile, Workspace};
use plumb_checks::{JobCx, PipelineCx, Sources};
use plumb_diagnostics::relocate::{to_relative, Ranges};
use plumb_diagnostics::{Diagnostic, FileId, FileRange};
use plumb_semantics::{Cond, JobModel, PipelineModel, Value, ValueKind};

/// What one job's checks read; spans relative to the job's start.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobInput {
    pub job: JobModel,
    /// The pipeline's `on`, and where it was written.
    pub on: Cond,
    pub on_at: Option<FileRange>,
    /// The written text of each string literal among the job's values, sorted by span.
    pub literals: Vec<(FileRange, String)>,
    /// The images the pipeline pushes, for a job whose image names a variable only (an
    /// edit to another job's script leaves the others' inputs equal).
    pub built_images: Vec<(String, String)>,
    /// Whether another job's `node_modules` reaches the job (PL6003's `npx`).
    pub receives_packages: bool,
}

/// What one pipeline's checks read; spans relative to the pipeline's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineInput {
    /// The pipeline's graph (see [`pipeline_graph`]).
    pub pipeline: PipelineModel,
}

#[salsa::tracked(debug)]
pub struct JobUnit<'db> {
    /// The file, whose `plumb.toml` the checks read.
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub pipeline: String,
    #[returns(ref)]
    pub name: String,
    #[tracked]
    #[returns(ref)]
    pub input: JobInput,
}

#[salsa::tracked(debug)]
pub struct PipelineUnit<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub name: String,
    #[tracked]
    #[returns(ref)]
    pub input: PipelineInput,
}

/// A pipeline's unit and its jobs' units, each with the offset its spans are relative to.
#[derive(Clone, Debug, PartialEq, Eq, salsa::SalsaValue)]
pub struct PipelineUnits<'db> {
    pub unit: PipelineUnit<'db>,
    pub base: u32,
    pub jobs: Vec<(JobUnit<'db>, u32)>,
}

/// The units of a file's pipelines and jobs, in source order.
#[salsa::tracked(returns(ref))]
pub fn check_units<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    file: SourceFile,
) -> Vec<PipelineUnits<'db>> {
    let id = file.id(db);
    let texts = |at: FileRange| -> Option<String> {
        let f = ws.files(db).get(at.file.0 as usize)?;
        f.text(db).get(at.range.as_range()).map(str::to_string)
    };
    analyze(db, ws, file)
        .model
        .pipelines
        .iter()
        .map(|p| {
            let base = p.name_at.range.start;
            let mut pipeline = pipeline_graph(p);
            to_relative(&mut pipeline, id, base);
            let unit = PipelineUnit::new(db, file, p.name.clone(), PipelineInput { pipeline });
            let jobs = p
                .jobs
                .iter()
                .map(|j| {
                    let input = job_input(p, j, id, &texts);
                    let base = j.range.range.start;
                    (
                        JobUnit::new(db, file, p.name.clone(), j.name.clone(), input),
                        base,
                    )
                })
                .collect();
            PipelineUnits { unit, base, jobs }
        })
        .collect()
}

/// The pipeline with its jobs cut down to what the pipeline rules (PL2xxx) read: names,
/// stages, `needs`, `when` and `env` (PL2005 reads the literal variables rules see). An edit to a job's script or image then leaves the input
/// equal, and the graph checks do not run again. A pipeline rule that reads more of a
/// job must widen this.
fn pipeline_graph(p: &PipelineModel) -> PipelineModel {
    let jobs = p
        .jobs
        .iter()
        .map(|j| JobModel {
            name: j.name.clone(),
            name_at: j.name_at,
            // the graph rules do not read it; the job's whole span would change with
            // every edit inside the job
            range: j.name_at,
            stage: j.stage,
            fields: j
                .fields
                .get("when")
                .map(|f| ("when", f.clone()))
                .into_iter()
                .collect(),
            env: j.env.clone(),
            read_secrets: Vec::new(),
            needs: j.needs.clone(),
            when: j.when.clone(),
            kind: j.kind,
        })
        .collect();
    PipelineModel {
        name: p.name.clone(),
        name_at: p.name_at,
        on: p.on.clone(),
        on_at: p.on_at,
        env: Vec::new(),
        // `include` and `gitlab`, for the pipeline rules (PL6004)
        fields: p.fields.clone(),
        stages: p.stages.clone(),
        jobs,
        included_jobs_default: None,
    }
}

/// Whether a string of the value (an image, a service's name) names a variable.
fn names_a_variable(v: &Value) -> bool {
    match &v.kind {
        ValueKind::Str(s) => s.contains('$'),
        ValueKind::List(items) => items.iter().any(names_a_variable),
        ValueKind::Map(entries) => entries.iter().any(|e| names_a_variable(&e.value)),
        _ => false,
    }
}

fn job_input(
    p: &PipelineModel,
    j: &JobModel,
    file: FileId,
    texts: &dyn Fn(FileRange) -> Option<String>,
) -> JobInput {
    let mut literals = Vec::new();
    for v in j
        .fields
        .values()
        .map(|f| &f.value)
        .chain(j.env.iter().map(|b| &b.value))
    {
        collect_literals(v, texts, &mut literals);
    }
    let variable_image = ["image", "services"]
        .iter()
        .filter_map(|k| j.field(k))
        .any(|f| names_a_variable(&f.value));
    let mut input = JobInput {
        job: j.clone(),
        on: p.on.clone(),
        on_at: p.on_at,
        literals,
        built_images: match variable_image {
            true => plumb_checks::images::pushed_images(p),
            false => Vec::new(),
        },
        receives_packages: plumb_checks::supply::receives_installed_packages(j, &p.jobs),
    };
    to_relative(&mut input, file, j.range.range.start);
    input.literals.sort();
    input.literals.dedup();
    input
}

fn collect_literals(
    v: &Value,
    texts: &dyn Fn(FileRange) -> Option<String>,
    out: &mut Vec<(FileRange, String)>,
) {
    match &v.kind {
        ValueKind::Str(_) => out.extend(texts(v.origin).map(|t| (v.origin, t))),
        ValueKind::List(items) => items.iter().for_each(|i| collect_literals(i, texts, out)),
        ValueKind::Map(entries) => entries
            .iter()
            .for_each(|e| collect_literals(&e.value, texts, out)),
        _ => {}
    }
}

impl Ranges for JobInput {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.job.each_range(f);
        self.on_at.each_range(f);
        self.literals.each_range(f);
    }
}

impl Sources for JobInput {
    fn literal(&self, at: FileRange) -> Option<&str> {
        let i = self.literals.binary_search_by(|(r, _)| r.cmp(&at)).ok()?;
        Some(&self.literals[i].1)
    }
}

/// The pipeline-level rules on one pipeline (spans relative to its name).
#[salsa::tracked(returns(ref))]
pub fn pipeline_checks<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    unit: PipelineUnit<'db>,
) -> Vec<Diagnostic> {
    plumb_checks::check_pipeline(&PipelineCx {
        pipeline: &unit.input(db).pipeline,
        config: crate::file_config(db, ws, unit.file(db)),
    })
}

/// The job-level rules on one job (spans relative to its start).
#[salsa::tracked(returns(ref))]
pub fn job_checks<'db>(db: &'db dyn Db, ws: Workspace, unit: JobUnit<'db>) -> Vec<Diagnostic> {
    let input = unit.input(db);
    plumb_checks::check_job(
        &JobCx::new(
            (&input.on, input.on_at),
            &input.job,
            crate::file_config(db, ws, unit.file(db)),
            input,
        )
        .with_built_images(&input.built_images)
        .with_received_packages(input.receives_packages),
    )
}
