//! `plumb`: check, explain and list the rules of Plumb pipelines.

mod baseline;
mod build;
mod crop;
mod drift;
mod error;
mod import;
mod parallel;
mod render;
mod reports;
mod workspace;
mod yaml_check;

use clap::{Parser, Subcommand, ValueEnum};
use error::CliError;
use miette::NamedSource;
use plumb_config::Config;
use plumb_diagnostics::{Diagnostic, Severity};
use plumb_semantics::Event;
use plumb_targets::Target;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use workspace::Session;

/// Plumb: a typed language for CI/CD pipelines.
///
/// Write pipelines once in Plumb; `plumb check` proves them free of unpinned images,
/// dependency cycles and credential misuse.
#[derive(Parser)]
#[command(name = "plumb", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check .plumb files and GitLab CI YAML for syntax, name, type, graph, image,
    /// credential and supply-chain problems.
    ///
    /// A GitLab CI file (`.gitlab-ci.yml`, `*.gitlab-ci.yml`, any .yml/.yaml named here)
    /// is read as GitLab reads it, with its `include: local` files from the repository
    /// root, and every finding points at its YAML line; nothing is written.
    /// Exit status: 0 when no error was found (warnings allowed unless --deny-warnings),
    /// 1 when an error was found, 2 when the files, plumb.toml or the baseline could not
    /// be read. Each file is checked with the plumb.toml found from its own folder upward
    /// (to the repository's root).
    Check {
        /// Files or folders (every *.plumb file below them, and every .gitlab-ci.yml or
        /// *.gitlab-ci.yml; one that is exactly what `plumb build` gives from the checked
        /// sources is checked through them). Default: the current folder.
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Exit with status 1 when there are warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Report only findings that this baseline (from --write-baseline) does not hold.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Also say, on standard error, what the reading of GitLab CI files could not
        /// carry (a `trigger:`, an include it could not read): never an error.
        #[arg(long)]
        verbose: bool,
        /// Record today's findings in FILE (their fingerprints, which survive edits
        /// elsewhere in the file), report them, and exit 0: for adopting Plumb on an old
        /// pipeline, then `--baseline FILE` on every merge request.
        #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
        write_baseline: Option<PathBuf>,
    },
    /// Compile pipelines to GitLab CI YAML, Kubernetes Jobs, or a GitOps folder (kustomize + Argo CD or Flux).
    ///
    /// The sources are checked first: with any error, nothing is written and the
    /// status is 1. Fields a target cannot carry are reported as warnings (PL5001).
    /// Without -o the output goes to standard output; with -o it is written atomically
    /// (a crash never leaves a half-written file).
    Build {
        /// A file or a folder of .plumb files.
        path: PathBuf,
        /// What to compile to.
        #[arg(long, value_enum)]
        target: BuildTarget,
        /// Output file (gitlab, k8s; `-` is standard output), or folder (gitops; gitlab
        /// with --split).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// gitlab: one file per pipeline, `<pipeline>.gitlab-ci.yml`, into the -o folder.
        #[arg(long)]
        split: bool,
        /// k8s: the Jobs for a push to this branch (default: plumb.toml's
        /// targets.k8s.default_branch, else main).
        #[arg(long, conflicts_with_all = ["tag", "merge_request"])]
        branch: Option<String>,
        /// k8s: the Jobs for a tag.
        #[arg(long, conflicts_with = "merge_request")]
        tag: bool,
        /// k8s: the Jobs for a merge request.
        #[arg(long)]
        merge_request: bool,
        /// k8s, gitops: the value of a CI/CD variable that `var("NAME")` conditions
        /// read (repeatable; an unset variable is empty).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Compile in memory and compare with what -o holds: exit 1 with a unified diff
        /// when the committed output differs from what the sources give, or is missing.
        #[arg(long, requires = "output")]
        check: bool,
        /// gitops: Argo CD or Flux (default: plumb.toml's targets.gitops.flavor, else argocd).
        #[arg(long, value_enum)]
        flavor: Option<FlavorArg>,
    },
    /// Format .plumb files in the one canonical layout, keeping every comment.
    ///
    /// A file with syntax errors is left untouched (status 1). Files are rewritten
    /// atomically, and only when they change.
    Fmt {
        /// Files or folders (every *.plumb file below them). Default: the current folder.
        paths: Vec<PathBuf>,
        /// Change nothing: list the files that would change, and exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Draw the stage and job graph: stages as clusters, needs as edges, problem jobs
    /// and dependency cycles in red. Render DOT with Graphviz (`dot -Tpng`).
    Graph {
        /// A file or a folder of .plumb files.
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Convert a GitLab CI file (`.gitlab-ci.yml`) into a Plumb program.
    ///
    /// The file is read as GitLab reads it: YAML 1.1 anchors, aliases and merge keys,
    /// `include: local` (from the repository's root, as GitLab reads it), `!reference`,
    /// `extends` and `default:`.
    /// Hidden jobs used by `extends` become templates, repeated images `let`s,
    /// credential-like variables the file uses but does not define `ci_variable`
    /// secrets, rules `when` conditions. What Plumb cannot express is kept as a
    /// `# gitlab:` comment next to the job and reported as a warning with its YAML
    /// line. Run `plumb check` on the result: its findings are the real problems of
    /// the original file.
    ///
    /// Exit status: 0 when imported (warnings allowed), 2 when the file cannot be read,
    /// is not valid YAML, or -o cannot be written (nothing is written then).
    Import {
        /// The GitLab CI file.
        file: PathBuf,
        /// Where to write the Plumb program (atomically). Default (and `-`): standard
        /// output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// The repository's root, which `include: local` paths start from. Default:
        /// the nearest folder above FILE holding `.git`, else FILE's folder.
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Start the language server (LSP over standard input and output), for editors.
    ///
    /// The same server as the `plumb-lsp` binary: diagnostics as you type, hover,
    /// go-to-definition, references, rename, completion, symbols, formatting, quick
    /// fixes and semantic highlighting. It loads every *.plumb file under the editor's
    /// workspace folders and their plumb.toml.
    Lsp,
    /// Print the documentation of a rule, with a failing and a fixed example; or, as
    /// `plumb explain field NAME`, of a job or pipeline field: its type, what GitLab
    /// and Kubernetes make of it, an example and its record keys.
    Explain {
        /// A code such as PL3001, a rule name such as image-without-tag, or `field`.
        code: String,
        /// With `field`: the field's name, such as `artifacts`.
        field: Option<String>,
    },
    /// List every rule: code, default severity, name and summary.
    Rules,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum BuildTarget {
    /// One .gitlab-ci.yml (§8.1).
    Gitlab,
    /// A multi-document stream of batch/v1 Jobs for one event (§8.2).
    K8s,
    /// A deploy-repository folder: kustomize bases and overlays, Argo CD or Flux (§8.3).
    Gitops,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (renders in GitLab and GitHub Markdown).
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FlavorArg {
    /// Argo CD Applications; sync waves order the Jobs.
    Argocd,
    /// Flux Kustomizations, one per stage, chained with dependsOn.
    Flux,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Source excerpts with labelled spans, for people.
    Human,
    /// One JSON array of diagnostics, for machines (see the README).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// A GitLab Code Quality report, for the merge-request widget.
    Gitlab,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

/// mimalloc, as ruff does: checking allocates many small short-lived values (tokens,
/// strings, diagnostics), where glibc's allocator spent a quarter of the time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let cli = Cli::parse();
    let worker = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || run(cli));
    let result = match worker {
        Ok(handle) => {
            match handle.join() {
                Ok(r) => r,
                Err(_) => {
                    eprintln!("plumb: internal error (a bug: please report it with the input that caused it)");
                    return ExitCode::from(3);
                }
            }
        }
        Err(e) => Err(CliError::Output(e.to_string())),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
            baseline,
            write_baseline,
            verbose,
        } => check(
            paths,
            format,
            deny_warnings,
            Baseline {
                read: baseline,
                write: write_baseline,
            },
            verbose,
        ),
        Command::Build {
            path,
            target,
            output,
            split,
            branch,
            tag,
            merge_request,
            vars,
            flavor,
            check,
        } => {
            if check && output.as_deref().is_some_and(is_stdout) {
                return Err(CliError::Usage(
                    "--check compares with the committed output: give its path with -o, not `-`"
                        .to_string(),
                ));
            }
            // `-o -` is standard output, as without -o
            let output = output.filter(|o| !is_stdout(o));
            let event = if tag {
                Some(Event::Tag)
            } else if merge_request {
                Some(Event::MergeRequest)
            } else {
                branch.map(Event::Branch)
            };
            build::run(build::Request {
                path,
                target: match target {
                    BuildTarget::Gitlab => Target::Gitlab,
                    BuildTarget::K8s => Target::K8s,
                    BuildTarget::Gitops => Target::Gitops,
                },
                check,
                flavor: flavor.map(|f| match f {
                    FlavorArg::Argocd => plumb_config::Flavor::Argocd,
                    FlavorArg::Flux => plumb_config::Flavor::Flux,
                }),
                output,
                split,
                event,
                vars: vars.into_iter().collect(),
            })
        }
        Command::Graph { path, format } => graph(path, format),
        Command::Fmt { paths, check } => fmt(paths, check),
        Command::Import { file, output, root } => {
            let output = output.filter(|o| !is_stdout(o));
            import::run(&file, root.as_deref(), output.as_deref())
        }
        Command::Lsp => {
            plumb_lsp::run_stdio();
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, field } => match (code.as_str(), field) {
            ("field", Some(name)) => explain_field(&name),
            ("field", None) => Err(CliError::Usage(
                "name the field: `plumb explain field artifacts`".to_string(),
            )),
            (_, Some(_)) => Err(CliError::Usage(
                "`plumb explain CODE` takes one code; for a field, `plumb explain field NAME`"
                    .to_string(),
            )),
            (_, None) => explain(&code),
        },
        Command::Rules => rules(),
    }
}

/// `--baseline` / `--write-baseline`.
struct Baseline {
    read: Option<PathBuf>,
    write: Option<PathBuf>,
}

fn check(
    mut paths: Vec<PathBuf>,
    format: Format,
    deny_warnings: bool,
    base: Baseline,
    verbose: bool,
) -> Result<ExitCode, CliError> {
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let mut session = Session::load(&paths, Config::default(), workspace::Wanted::PlumbAndYaml)?;
    session.use_nearest_configs()?;
    if verbose {
        for note in session.files.iter().flat_map(|f| &f.notes) {
            eprintln!("note: {}", render::printable(&note.to_string()));
        }
    }
    let mut diags = findings(&session);
    if let Some(path) = &base.read {
        diags = baseline::filter(&session, diags, path)?;
    }
    if let Some(path) = &base.write {
        baseline::write(&session, &diags, path)?;
        eprintln!(
            "plumb: {} findings recorded in {}; check with `--baseline {}` to report only new ones",
            diags.len(),
            path.display(),
            path.display()
        );
    }
    let requested = session.files.iter().filter(|f| f.requested).count();
    // "no problems" about a file whose includes were not read says less than it seems
    let unshown_notes = match verbose {
        true => 0,
        false => session.files.iter().map(|f| f.notes.len()).sum(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match format {
        Format::Json => render::json(&session, &diags, &mut out),
        Format::Sarif => reports::sarif(&session, &diags, &mut out),
        Format::Gitlab => reports::gitlab(&session, &diags, &mut out),
        Format::Github => reports::github(&session, &diags, &mut out),
        Format::Human => {
            let color = use_color(std::io::stdout().is_terminal());
            render::human(&session, &diags, color, &mut out).and_then(|_| {
                let summary = render::summary(&diags, requested);
                writeln!(out, "{summary}{}", render::notes_hint(unshown_notes))
            })
        }
    };
    written.map_err(|e| CliError::Output(e.to_string()))?;
    // the process ends here: freeing a large workspace's database piece by piece (tens
    // of milliseconds for thousands of jobs) would only delay the exit that frees it all
    std::mem::forget(session);
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    let warnings = diags.iter().any(|d| d.severity == Severity::Warning);
    Ok(
        if base.write.is_none() && (errors || (deny_warnings && warnings)) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// What a check of the session's requested files finds: Plumb sources as they are,
/// GitLab CI files on their YAML (with their `# plumb-allow:` comments applied).
fn findings(session: &Session) -> Vec<Diagnostic> {
    use workspace::Role;
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let requested: Vec<&workspace::LoadedFile> = session
        .files
        .iter()
        .filter(|f| f.requested && !matches!(f.role, Role::Yaml))
        .collect();
    let per_file = check_in_parallel(session, &requested);
    let mut yaml_files = Vec::new();
    for f in session.files.iter().filter(|f| f.requested) {
        diags.extend(f.load_diagnostics.iter().cloned());
    }
    for (f, file_diags) in requested.iter().zip(per_file) {
        let moved: Vec<Diagnostic> = match &f.role {
            Role::ReadFromYaml(program) => {
                let text = f.file.text(&session.db);
                let texts: Vec<&str> = program
                    .source_ids()
                    .iter()
                    .map(|&id| session.text(id))
                    .collect();
                yaml_files.extend(program.source_ids().iter().copied());
                // jobs that got a value from one YAML place (an anchor, `default:`) have
                // findings at one place now: one finding, the jobs as its labels
                let model = &plumb_db::analyze(&session.db, session.ws, f.file).model;
                let config = plumb_db::file_config(&session.db, session.ws, f.file);
                program.findings_on_yaml(file_diags, text, &texts, (model, config))
            }
            _ => file_diags,
        };
        for d in moved {
            // an imported definition used by several files is reported once (and a
            // YAML value that several jobs share through an anchor); an import cycle
            // once, though each of its files finds it
            if seen.insert(once_key(&d)) {
                diags.push(d);
            }
        }
    }
    // errors of the files they import, after their own: a cycle through a requested
    // file is reported there
    for d in program_errors(session, &requested, false) {
        if seen.insert(once_key(&d)) {
            diags.push(d);
        }
    }
    if yaml_files.is_empty() {
        return diags;
    }
    yaml_files.sort();
    yaml_files.dedup();
    let text_of = |id| session.text(id).to_string();
    let mut diags = yaml_check::allow(diags, &yaml_files, &text_of);
    // the PL1013 of YAML comments came after each program's `plumb.toml` was applied:
    // the YAML file's own (found from its folder) applies to them
    diags = diags
        .into_iter()
        .flat_map(|d| {
            let file = session.files.get(d.file().0 as usize);
            match file.filter(|f| matches!(f.role, workspace::Role::Yaml)) {
                Some(f) if d.code == plumb_diagnostics::Code::PL1013 => {
                    let config = plumb_db::file_config(&session.db, session.ws, f.file);
                    plumb_checks::apply_config(vec![d], config)
                }
                _ => vec![d],
            }
        })
        .collect();
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags
}

/// `-o -`: standard output, as the convention goes.
fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
}

/// What makes two diagnostics one finding: the same code, place and message, or the
/// same import cycle.
fn once_key(
    d: &Diagnostic,
) -> (
    plumb_diagnostics::Code,
    Option<plumb_diagnostics::FileRange>,
    String,
) {
    match import_cycle_members(d) {
        Some(members) => (d.code, None, members),
        None => (d.code, Some(d.primary.at), d.message.clone()),
    }
}

/// The files of an import cycle (PL1007), in order, whichever file it was found from:
/// `import cycle: a.plumb → b.plumb → a.plumb` and `b → a → b` are one cycle.
fn import_cycle_members(d: &Diagnostic) -> Option<String> {
    if d.code != plumb_diagnostics::Code::PL1007 {
        return None;
    }
    let chain = d.message.strip_prefix("import cycle: ")?;
    let mut members: Vec<&str> = chain.split(" → ").collect();
    members.pop(); // the first again
    members.sort_unstable();
    Some(members.join("\u{0}"))
}

/// mimalloc asks the kernel for transparent huge pages; where the kernel then compacts
/// memory to find one (`defrag = madvise`, a common default), a 5,000-job check took
/// 170 ms instead of 45 (`perf`: 67% of the cycles zeroing 2 MiB pages of which a run
/// touches a few KiB). A run is short and its memory sparse: ordinary pages serve it.
/// mimalloc is built without that request (its `no_thp` feature: its first arena is
/// mapped before `main`), and this opts the process out where the kernel gives huge
/// pages unasked (`enabled = always`).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // the kernel may refuse (an old one, a sandbox): the run is then as before
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

/// Colour only for a terminal, and never when NO_COLOR is set.
pub(crate) fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none()
}

/// What makes the program of the requested files wrong beyond each file's own check:
/// errors in the files they import (part of the program, though not asked for: their
/// warnings are their own check's), and a pipeline name two Plumb files both define
/// (their jobs and outputs would clash): two files of one folder always, any two files
/// when they are built together (`for_build`; the projects of a monorepo checked at once
/// may each have their pipeline `ci`).
pub(crate) fn program_errors(
    session: &Session,
    requested: &[&workspace::LoadedFile],
    for_build: bool,
) -> Vec<Diagnostic> {
    let imported: Vec<&workspace::LoadedFile> = session
        .files
        .iter()
        .filter(|f| !f.requested && matches!(f.role, workspace::Role::Plumb))
        .collect();
    let mut errors: Vec<Diagnostic> = check_in_parallel(session, &imported)
        .into_iter()
        .flatten()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let mut pipelines: std::collections::HashMap<(&Path, &str), plumb_diagnostics::FileRange> =
        std::collections::HashMap::new();
    let plumb_sources = requested
        .iter()
        .filter(|f| matches!(f.role, workspace::Role::Plumb));
    for f in plumb_sources {
        // the file's canonical path: `a.plumb` and `./b.plumb` are in one folder
        let folder = match for_build {
            true => Path::new(""),
            false => f.file.path(&session.db).parent().unwrap_or(Path::new("")),
        };
        let model = &plumb_db::analyze(&session.db, session.ws, f.file).model;
        for p in &model.pipelines {
            match pipelines.get(&(folder, p.name.as_str())) {
                // within one file, the file's own check reports it
                Some(first) if first.file != p.name_at.file => errors.push(
                    plumb_semantics::scope::duplicate(p.name_at, *first, "pipeline", &p.name)
                        .with_help(format!(
                            "pipelines built together share one namespace of jobs and outputs: rename one of the two pipelines `{}`",
                            p.name
                        )),
                ),
                Some(_) => {}
                None => {
                    pipelines.insert((folder, &p.name), p.name_at);
                }
            }
        }
    }
    errors
}

/// Every requested file's diagnostics, computed on all cores: each thread asks the
/// queries on its own handle to the shared database (salsa handles are `Send`, and
/// what one thread computes, the others reuse).
pub(crate) fn check_in_parallel(
    session: &Session,
    files: &[&workspace::LoadedFile],
) -> Vec<Vec<Diagnostic>> {
    let ws = session.ws;
    let check = |db: &plumb_db::Database, f: &&workspace::LoadedFile| {
        plumb_db::check_file(db, ws, f.file).clone()
    };
    parallel::map(files, &session.db, check)
        .into_iter()
        .zip(files)
        // what a thread that could not start or failed left undone
        .map(|(r, f)| r.unwrap_or_else(|| check(&session.db, f)))
        .collect()
}

pub(crate) use parallel::WORKER_STACK;

pub(crate) fn load_config(start: &Path) -> Result<Config, CliError> {
    match plumb_config::find_config_file(start) {
        Some(path) => load_config_file(&path),
        None => Ok(Config::default()),
    }
}

/// Reads and validates one `plumb.toml`.
pub(crate) fn load_config_file(path: &Path) -> Result<Config, CliError> {
    if let Some(why) = plumb_config::config_file_problem(path) {
        return Err(CliError::Io {
            path: render::printable(&path.display().to_string()),
            message: format!(
                "{why}; Plumb reads only a regular `plumb.toml` within the repository"
            ),
        });
    }
    let text = workspace::read_text(path)?;
    let config = Config::parse(&text, |code| {
        plumb_checks::lookup(code).is_some_and(|m| m.code == code)
    })
    .map_err(|e| CliError::Config {
        message: e.message,
        span: e.span.map(Into::into),
        src: NamedSource::new(path.display().to_string(), text.clone()),
    })?;
    if let Some(message) = default_image_problem(&config) {
        let image = config
            .targets
            .k8s
            .default_image
            .as_deref()
            .unwrap_or_default();
        let span = plumb_config::find_span(&text, image).map(|r| r.start + 1..r.end - 1);
        return Err(CliError::Config {
            message,
            span: span.map(Into::into),
            src: NamedSource::new(path.display().to_string(), text),
        });
    }
    let lines = plumb_diagnostics::LineIndex::new(&text);
    for note in &config.ignored {
        let offset = note.span.as_ref().map_or(0, |r| r.start);
        let at = lines.line_col(&text, offset);
        eprintln!(
            "warning: {}:{}:{}: {}",
            path.display(),
            at.line,
            at.col,
            note.message
        );
    }
    Ok(config)
}

/// Why `targets.k8s.default_image` cannot run a job: it goes into every Kubernetes Job
/// whose image is `runner_default`, so it is held to what §7.3 asks of an image (a
/// reference, with a tag or digest; a digest when `require_digest`; an allowed registry).
fn default_image_problem(config: &Config) -> Option<String> {
    let image = config.targets.k8s.default_image.as_deref()?;
    let at = format!("`{image}` in `targets.k8s.default_image`");
    let parsed = match plumb_checks::image_ref::parse(image) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("{at} is not an image reference: {}", e.message)),
    };
    let registry = parsed.registry_or_default();
    let allowed = config.images.allowed_registries.as_ref();
    let moving_tag = parsed.tag.as_deref().filter(|t| {
        parsed.digest.is_none() && plumb_checks::rules::pl3002_mutable_tag::is_mutable_tag(t)
    });
    if parsed.tag.is_none() && parsed.digest.is_none() {
        Some(format!("{at} has no tag or digest: it means `:latest`, which moves (PL3001); write `{image}:<version>@sha256:<digest>`"))
    } else if let Some(tag) = moving_tag {
        Some(format!("{at} has the tag `{tag}`, which moves to new images (PL3002); pin a version and a digest"))
    } else if config.images.require_digest && parsed.digest.is_none() {
        Some(format!("{at} has no digest while `images.require_digest` is set (PL3003); add `@sha256:<digest>`"))
    } else if allowed.is_some_and(|a| !a.iter().any(|r| r.eq_ignore_ascii_case(registry))) {
        Some(format!("{at} comes from `{registry}`, which `images.allowed_registries` does not list (PL3005)"))
    } else {
        None
    }
}

fn fmt(mut paths: Vec<PathBuf>, check: bool) -> Result<ExitCode, CliError> {
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let files = workspace::plumb_files(&paths)?;
    let (mut changed, mut refused) = (0, 0);
    for (path, shown) in &files {
        let text = workspace::read_text(path)?;
        // a file's name may hold a line break or an escape sequence: shown escaped
        let shown = &render::printable(shown);
        match plumb_fmt::format(&text) {
            Err(plumb_fmt::FormatError::SyntaxErrors(n)) => {
                refused += 1;
                eprintln!(
                    "{shown}: not formatted: {n} syntax error{} (see `plumb check {shown}`)",
                    if n == 1 { "" } else { "s" }
                );
            }
            Err(plumb_fmt::FormatError::MovesAllowance { line }) => {
                refused += 1;
                eprintln!(
                    "{shown}: not formatted: the layout would change what the `# plumb-allow:` comment on line {line} covers (its own line and the next line with code); write the lines it covers as `plumb fmt` writes them, or put the comment right above the line it is about"
                );
            }
            Ok(formatted) if formatted != text => {
                changed += 1;
                if check {
                    println!("{shown}");
                } else {
                    build::write_atomically(path, &formatted)?;
                    eprintln!("formatted {shown}");
                }
            }
            Ok(_) => {}
        }
    }
    if check && changed > 0 {
        eprintln!(
            "{changed} file{} would be reformatted; run `plumb fmt`",
            if changed == 1 { "" } else { "s" }
        );
    }
    Ok(if refused > 0 || (check && changed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn graph(path: PathBuf, format: GraphFormat) -> Result<ExitCode, CliError> {
    let mut session = Session::load(
        std::slice::from_ref(&path),
        Config::default(),
        workspace::Wanted::Plumb,
    )?;
    session.use_nearest_configs()?;
    let requested: Vec<&workspace::LoadedFile> =
        session.files.iter().filter(|f| f.requested).collect();
    let diags: Vec<Diagnostic> = check_in_parallel(&session, &requested)
        .into_iter()
        .flatten()
        .collect();
    let plans: Vec<plumb_targets::plan::PipelinePlan> = requested
        .iter()
        .flat_map(|f| {
            let analysis = plumb_db::analyze(&session.db, session.ws, f.file);
            analysis
                .model
                .pipelines
                .iter()
                .map(move |p| plumb_targets::plan::PipelinePlan::new(p, f.display.clone()))
        })
        .collect();
    let problems = plumb_targets::graph::Problems::new(&diags);
    let text = match format {
        GraphFormat::Dot => plumb_targets::graph::dot(&plans, &problems),
        GraphFormat::Mermaid => plumb_targets::graph::mermaid(&plans, &problems),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn explain(code: &str) -> Result<ExitCode, CliError> {
    let Some(meta) = plumb_checks::lookup(code) else {
        return Err(CliError::UnknownCode {
            code: code.to_string(),
        });
    };
    let text = format!(
        "{} {}: {}\n\nDefault severity: {}\n\n{}\n\nReported:\n\n{}\n\nFixed:\n\n{}\n",
        meta.code,
        meta.name(),
        meta.summary,
        meta.severity(),
        meta.explanation,
        indent(meta.bad),
        indent(meta.good)
    );
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `--var NAME=VALUE`: a CI/CD variable name (letters, digits, `_`) and its value.
fn parse_var(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("`{text}` is not NAME=VALUE"));
    };
    if !plumb_semantics::is_variable_name(name) {
        return Err(format!(
            "`{name}` is not a CI/CD variable name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

fn explain_field(name: &str) -> Result<ExitCode, CliError> {
    use plumb_semantics::fields::{field_reference, job_field, pipeline_field, JOB_FIELDS};
    let mut text = String::new();
    if let Some(spec) = job_field(name) {
        text.push_str("Job field\n\n");
        text.push_str(&field_reference(spec));
    }
    if let Some(spec) = pipeline_field(name) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("Pipeline field\n\n");
        text.push_str(&field_reference(spec));
    }
    if text.is_empty() {
        let names = JOB_FIELDS.iter().map(|f| f.name);
        let hint = match plumb_diagnostics::closest(name, names) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => String::new(),
        };
        return Err(CliError::Usage(format!(
            "no job or pipeline field `{name}`{hint} (docs/fields.md lists them all)"
        )));
    }
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn indent(code: &str) -> String {
    code.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rules() -> Result<ExitCode, CliError> {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<8} {:<8} {:<26} {}\n",
        "CODE", "SEVERITY", "NAME", "SUMMARY"
    ));
    for rule in plumb_checks::RULES {
        let m = rule.meta();
        out.push_str(&format!(
            "{:<8} {:<8} {:<26} {}\n",
            m.code,
            m.severity().as_str(),
            m.name(),
            m.summary
        ));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
