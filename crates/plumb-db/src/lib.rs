//! The salsa database: the one place where queries meet.
//!
//! Inputs are the workspace (its files and its configuration) and each file's text.
//! Queries: [`parse`] per file, [`analyze`] (names, types, the lowered model) per file,
//! [`pipeline_checks`] and [`job_checks`] per pipeline and per job (see `units`), and
//! [`check_file`] (every diagnostic of a file, after `plumb.toml` and
//! `# plumb-allow:` comments are applied). The CLI and the language server both ask
//! these queries; nothing else caches.

mod units;
pub mod yaml;

pub use units::{check_units, job_checks, pipeline_checks, JobInput, JobUnit, PipelineUnit};

use plumb_checks::suppress::Allowances;
use plumb_checks::{FileCx, Sources};
use plumb_config::Config;
use plumb_diagnostics::relocate::to_absolute;
use plumb_diagnostics::{Diagnostic, Edit, FileId, FileRange, Fix, LineIndex, TextRange};
use plumb_semantics::item_tree::ItemTree;
use plumb_semantics::{FileAnalysis, SourceDb};
use plumb_syntax::Parse;
use salsa::{Durability, Setter};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// One `.plumb` file.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
    /// Whether the text is an editor's buffer or the file on disk.
    #[returns(copy)]
    pub origin: Origin,
}

/// The files being worked on together, and their configuration.
#[salsa::input]
pub struct Workspace {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
    /// The configuration of files below no [`ConfigScope`] (and of builds).
    #[returns(ref)]
    pub config: Config,
    /// The `plumb.toml` files of the workspace, each for the files below its folder: a
    /// monorepo has one per project. The deepest folder holding a file wins.
    #[returns(ref)]
    #[default]
    pub scopes: Vec<ConfigScope>,
}

/// A `plumb.toml` and the folder it governs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfigScope {
    pub folder: PathBuf,
    pub config: Config,
}

/// The configuration `file` is checked with: that of the nearest folder above it with a
/// `plumb.toml`, else the workspace's.
pub fn file_config(db: &dyn Db, ws: Workspace, file: SourceFile) -> &Config {
    let path = file.path(db);
    ws.scopes(db)
        .iter()
        .filter(|s| path.starts_with(&s.folder))
        .max_by_key(|s| s.folder.components().count())
        .map_or(ws.config(db), |s| &s.config)
}

/// Replaces the workspace's `plumb.toml` scopes.
pub fn set_scopes(db: &mut Database, ws: Workspace, scopes: Vec<ConfigScope>) {
    ws.set_scopes(db)
        .with_durability(Durability::HIGH)
        .to(scopes);
}

#[salsa::db]
pub trait Db: salsa::Database {}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            storage: salsa::Storage::new(None),
        }
    }
}

impl Database {
    /// A database that reports every salsa event to `log` (used by the tests that prove
    /// what an edit re-executes).
    pub fn with_event_log(log: impl Fn(salsa::Event) + Send + Sync + 'static) -> Self {
        Database {
            storage: salsa::Storage::new(Some(Box::new(log))),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {}

/// How a file's text came to the database, which tells salsa how often it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A buffer open in an editor: changes on every keystroke.
    OpenBuffer,
    /// A file on disk.
    Disk,
}

impl Origin {
    fn durability(self) -> Durability {
        match self {
            Origin::OpenBuffer => Durability::LOW,
            Origin::Disk => Durability::MEDIUM,
        }
    }
}

/// Adds a file to a database (the workspace's file list is set separately).
pub fn new_file(
    db: &Database,
    id: FileId,
    path: PathBuf,
    text: String,
    origin: Origin,
) -> SourceFile {
    // A file's id and path do not change while it is loaded: with the default (LOW)
    // durability, every query that reads them would be re-verified after each keystroke.
    SourceFile::builder(id, path, text, origin)
        .id_durability(Durability::HIGH)
        .path_durability(Durability::HIGH)
        .text_durability(origin.durability())
        .origin_durability(origin.durability())
        .new(db)
}

/// Gives a loaded file another id (the CLI parses files before it knows the order that
/// numbers them). What was computed from the file's text stays valid.
pub fn set_id(db: &mut Database, file: SourceFile, id: FileId) {
    file.set_id(db).with_durability(Durability::HIGH).to(id);
}

pub fn new_workspace(db: &Database, files: Vec<SourceFile>, config: Config) -> Workspace {
    // The file list changes when files are created or deleted, far less often than an
    // open buffer: with LOW durability every query would have to be re-verified after
    // each keystroke.
    Workspace::builder(files, config)
        .files_durability(Durability::MEDIUM)
        .config_durability(Durability::HIGH)
        .new(db)
}

/// Replaces the workspace's file list (a file was created or deleted).
pub fn set_files(db: &mut Database, ws: Workspace, files: Vec<SourceFile>) {
    ws.set_files(db)
        .with_durability(Durability::MEDIUM)
        .to(files);
}

/// Replaces a file's text.
pub fn set_text(db: &mut Database, file: SourceFile, text: String, origin: Origin) {
    file.set_text(db)
        .with_durability(origin.durability())
        .to(text);
    if file.origin(db) != origin {
        file.set_origin(db)
            .with_durability(origin.durability())
            .to(origin);
    }
}

/// Lexes and parses one file.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> Parse {
    plumb_syntax::parse(file.text(db))
}

/// The line index of a file, for turning spans into lines and columns.
#[salsa::tracked(returns(ref))]
pub fn line_index(db: &dyn Db, file: SourceFile) -> LineIndex {
    LineIndex::new(file.text(db))
}

/// The `# plumb-allow:` comments of a file.
#[salsa::tracked(returns(ref))]
pub fn allowances(db: &dyn Db, file: SourceFile) -> Allowances {
    Allowances::from_comments(
        file.text(db),
        &parse(db, file).comments,
        line_index(db, file),
    )
}

/// Files of the workspace by their path.
#[salsa::tracked(returns(ref))]
pub fn files_by_path(db: &dyn Db, ws: Workspace) -> HashMap<PathBuf, SourceFile> {
    ws.files(db)
        .iter()
        .map(|f| (f.path(db).clone(), *f))
        .collect()
}

/// A file's outline: imports and defined names (see `plumb_semantics::item_tree`).
#[salsa::tracked(returns(ref))]
pub fn item_tree(db: &dyn Db, file: SourceFile) -> ItemTree {
    ItemTree::of(&parse(db, file).tree)
}

/// The file each import of `file` refers to, resolved lexically against the workspace.
#[salsa::tracked(returns(ref))]
pub fn resolved_imports(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Option<FileId>> {
    let base = file
        .path(db)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let by_path = files_by_path(db, ws);
    item_tree(db, file)
        .imports
        .iter()
        .map(|i| {
            by_path
                .get(&normalize(&base.join(&i.path)))
                .map(|f| f.id(db))
        })
        .collect()
}

/// Names and types of one file, and its lowered pipelines.
#[salsa::tracked(returns(ref))]
pub fn analyze(db: &dyn Db, ws: Workspace, file: SourceFile) -> FileAnalysis {
    let view = View { db, ws };
    plumb_semantics::analyze_file(&view, file.id(db))
}

/// Every name of a file and what it refers to (for the language server).
#[salsa::tracked(returns(ref))]
pub fn symbol_index(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
) -> plumb_semantics::symbols::SymbolIndex {
    let view = View { db, ws };
    let uses = &analyze(db, ws, file).uses;
    plumb_semantics::symbols::index(&view, file.id(db), uses)
}

/// The type and value of the `let` named at `name_range` (for hover; not cached).
pub fn let_info(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    name_range: TextRange,
) -> Option<plumb_semantics::symbols::LetInfo> {
    let view = View { db, ws };
    plumb_semantics::symbols::let_info(&view, file.id(db), name_range)
}

/// Every diagnostic of one file, sorted, with `plumb.toml` and `# plumb-allow:` applied.
#[salsa::tracked(returns(ref))]
pub fn check_file(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Diagnostic> {
    let view = View { db, ws };
    let id = file.id(db);
    let parse = parse(db, file);
    let analysis = analyze(db, ws, file);
    let config = file_config(db, ws, file);
    let mut diags: Vec<Diagnostic> = parse.errors.iter().map(|e| e.to_diagnostic(id)).collect();
    diags.extend(analysis.diagnostics.iter().cloned());
    let file_cx = FileCx {
        file: id,
        text: file.text(db),
        parse,
        model: &analysis.model,
        config,
        sources: &view,
    };
    let jobs: usize = analysis.model.pipelines.iter().map(|p| p.jobs.len()).sum();
    if file.origin(db) == Origin::Disk && jobs >= JOB_CHECKS_APART_FROM {
        let texts = Texts::of(&view, id);
        let (file_level, job_level) = std::thread::scope(|scope| {
            // a stack as large as the command line's worker: conditions nest as deep as
            // a hostile file writes them
            let job_level = std::thread::Builder::new()
                .stack_size(CHECK_STACK)
                .spawn_scoped(scope, || disk_job_checks(&analysis.model, config, &texts));
            let file_level = plumb_checks::check_file_level(&file_cx);
            (file_level, job_level.map(|h| h.join()))
        });
        diags.extend(file_level);
        diags.extend(match job_level {
            Ok(Ok(found)) => found,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // no second thread: here
            Err(_) => disk_job_checks(&analysis.model, config, &texts),
        });
    } else {
        diags.extend(plumb_checks::check_file_level(&file_cx));
        diags.extend(pipeline_and_job_checks(
            db,
            ws,
            file,
            &analysis.model,
            &view,
        ));
    }
    let diags = plumb_checks::merge_duplicates(diags);
    let mut diags = plumb_checks::apply_config(diags, config);
    diags.retain(|d| !view.suppressed(d));
    for d in diags
        .iter_mut()
        .filter(|d| d.code != plumb_syntax::SYNTAX_ERROR)
    {
        let fix = view.allow_fix(d);
        d.fixes.push(fix);
    }
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags
}

/// The pipeline and job rules on a file's pipelines, in source order.
///
/// An open buffer is checked through one query per pipeline and per job (see `units`),
/// so that a keystroke re-runs only the checks of what it changed. A file on disk is
/// checked in one pass: the per-job inputs are copies of the model, which cost a
/// one-shot `plumb check` about a third more time and memory and would never be reused.
fn pipeline_and_job_checks(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    model: &plumb_semantics::FileModel,
    view: &View,
) -> Vec<Diagnostic> {
    let id = file.id(db);
    let config = file_config(db, ws, file);
    let mut diags = Vec::new();
    if file.origin(db) == Origin::Disk {
        return disk_job_checks(model, config, view);
    }
    for p in check_units(db, ws, file) {
        let mut found = pipeline_checks(db, ws, p.unit).clone();
        to_absolute(&mut found, id, p.base);
        diags.extend(found);
        for (job, base) in &p.jobs {
            let mut found = job_checks(db, ws, *job).clone();
            to_absolute(&mut found, id, *base);
            diags.extend(found);
        }
    }
    // templates no job is built on: few, and checked whole at each edit
    diags.extend(plumb_checks::check_templates(model, config, view));
    diags.extend(plumb_checks::check_included_defaults(model, config, view));
    diags
}

/// From this many jobs, a file on disk has its pipeline and job checks run on a thread
/// of their own while this one runs the file-level checks.
const JOB_CHECKS_APART_FROM: usize = 500;

/// The stack of that thread (reserved, not committed: only what is used is).
const CHECK_STACK: usize = 512 * 1024 * 1024;

/// The pipeline and job rules on a file on disk, in one pass.
fn disk_job_checks(
    model: &plumb_semantics::FileModel,
    config: &Config,
    sources: &dyn Sources,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for p in &model.pipelines {
        diags.extend(plumb_checks::check_pipeline(&plumb_checks::PipelineCx {
            pipeline: p,
            config,
        }));
        let built = plumb_checks::images::pushed_images(p);
        for j in &p.jobs {
            let cx = plumb_checks::JobCx::new((&p.on, p.on_at), j, config, sources)
                .with_built_images(&built)
                .with_received_packages(plumb_checks::supply::receives_installed_packages(
                    j, &p.jobs,
                ));
            diags.extend(plumb_checks::check_job(&cx));
        }
    }
    diags.extend(plumb_checks::check_templates(model, config, sources));
    diags.extend(plumb_checks::check_included_defaults(
        model, config, sources,
    ));
    diags
}

/// The texts of a file and of the files it imports, transitively: every value a check
/// of it quotes is written in one of them. Plain references, readable from any thread
/// (the database is not).
struct Texts<'a> {
    by_file: HashMap<FileId, &'a str>,
}

impl<'a> Texts<'a> {
    fn of(view: &View<'a>, file: FileId) -> Texts<'a> {
        let mut by_file = HashMap::new();
        let mut next = vec![file];
        while let Some(f) = next.pop() {
            if by_file.contains_key(&f) {
                continue;
            }
            by_file.insert(f, view.file(f).text(view.db).as_str());
            next.extend(
                resolved_imports(view.db, view.ws, view.file(f))
                    .iter()
                    .flatten(),
            );
        }
        Texts { by_file }
    }
}

impl Sources for Texts<'_> {
    fn literal(&self, at: FileRange) -> Option<&str> {
        self.by_file.get(&at.file)?.get(at.range.as_range())
    }
}

/// The semantic layer's and the checks' view of the database.
struct View<'db> {
    db: &'db dyn Db,
    ws: Workspace,
}

impl<'db> View<'db> {
    fn file(&self, id: FileId) -> SourceFile {
        self.ws.files(self.db)[id.0 as usize]
    }

    /// The fix that silences a diagnostic: a `# plumb-allow:` comment on the line
    /// above, indented like that line.
    fn allow_fix(&self, d: &Diagnostic) -> Fix {
        let file = self.file(d.file());
        let text = file.text(self.db);
        let index = line_index(self.db, file);
        let line_start = index.line_start(index.line_of(d.primary.at.range.start as usize));
        let indent: String = text[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        Fix {
            title: format!("silence {} on this line with `# plumb-allow`", d.code),
            edits: vec![Edit {
                at: FileRange {
                    file: d.file(),
                    range: TextRange::empty(line_start),
                },
                replacement: format!("{indent}# plumb-allow: {} <why this is safe>\n", d.code),
            }],
        }
    }

    /// Whether a `# plumb-allow:` comment in the diagnostic's file silences it.
    fn suppressed(&self, d: &Diagnostic) -> bool {
        let file = self.file(d.file());
        let index = line_index(self.db, file);
        allowances(self.db, file).allows(index.line_of(d.primary.at.range.start as usize), &d.code)
    }
}

impl SourceDb for View<'_> {
    fn parse(&self, file: FileId) -> &Parse {
        parse(self.db, self.file(file))
    }

    fn imports(&self, file: FileId) -> &[Option<FileId>] {
        resolved_imports(self.db, self.ws, self.file(file))
    }

    fn file_name(&self, file: FileId) -> String {
        let path = self.file(file).path(self.db);
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

impl Sources for View<'_> {
    fn literal(&self, at: FileRange) -> Option<&str> {
        self.file(at.file).text(self.db).get(at.range.as_range())
    }
}

/// `a/b/../c` is `a/c`: import paths are resolved without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What to compile: the files whose pipelines go into the output (each with the name
/// the output gives it), and how.
#[salsa::interned]
pub struct CompileRequest<'db> {
    #[returns(ref)]
    pub files: Vec<(SourceFile, String)>,
    #[returns(copy)]
    pub target: plumb_targets::Target,
    /// GitLab: one file per pipeline.
    #[returns(copy)]
    pub split: bool,
    /// Kubernetes: the event the Jobs are for.
    #[returns(ref)]
    pub event: plumb_semantics::Event,
    /// Kubernetes: `--var NAME=VALUE`, what `var("NAME")` reads.
    #[returns(ref)]
    pub vars: std::collections::BTreeMap<String, String>,
}

/// Compiles the pipelines of the requested files for a target (the caller has checked
/// that they have no errors).
#[salsa::tracked(returns(ref))]
pub fn compile<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    request: CompileRequest<'db>,
) -> Result<plumb_targets::Build, plumb_targets::BuildError> {
    let pipelines: Vec<(&plumb_semantics::PipelineModel, String)> = request
        .files(db)
        .iter()
        .flat_map(|(f, name)| {
            analyze(db, ws, *f)
                .model
                .pipelines
                .iter()
                .map(move |p| (p, name.clone()))
        })
        .collect();
    let options = plumb_targets::BuildOptions {
        target: request.target(db),
        split: request.split(db),
        event: request.event(db).clone(),
        vars: request.vars(db),
        config: ws.config(db),
    };
    plumb_targets::build(&pipelines, &options)
}
