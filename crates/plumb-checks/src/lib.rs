//! The rule registry and the checks that run on the checked program: graphs (PL2xxx),
//! images (PL3xxx), credentials (PL4xxx) and the supply chain (PL6xxx).
//!
//! Adding a rule is what `ARCHITECTURE.md` ("How to add … a rule") says: its code in
//! the table of codes (`plumb_diagnostics::Code`: name, default severity), one module
//! under `rules/` (its `RuleMeta`: documentation with a failing and a fixed example, and
//! for the checks that run here its `check_*` hooks; codes reported by the parser, the
//! semantic layer and the compilers have modules too, holding their documentation),
//! and its line in [`RULES`].

/// Declares a rule in one place: its documentation (the code's name and default
/// severity come from the table of codes), and the hooks it runs. Expands to the
/// module's `RULE` and its `Check` type.
///
/// Hooks: `file: f` (`f(&FileCx, &mut Vec<Diagnostic>)`), `pipeline: f`, `job: f`, and
/// `images: f` for a rule on image references (`f(&ImageCx, &ImageUse)`, run on every
/// image a file declares and every image a job uses).
macro_rules! declare_rule {
    (
        code: $code:ident,
        summary: $summary:expr,
        explanation: $explanation:expr,
        bad: $bad:expr,
        good: $good:expr
        $(, $hook:ident: $f:path)* $(,)?
    ) => {
        pub static RULE: $crate::RuleMeta = $crate::RuleMeta {
            code: plumb_diagnostics::Code::$code,
            summary: $summary,
            explanation: $explanation,
            bad: $bad,
            good: $good,
        };
        declare_rule!(@check $($hook $f)*);
    };
    // the documentation in `docs/CODE.md` (see `RuleMeta::from_doc`)
    (
        code: $code:ident
        $(, $hook:ident: $f:path)* $(,)?
    ) => {
        pub static RULE: $crate::RuleMeta = $crate::RuleMeta::from_doc(
            plumb_diagnostics::Code::$code,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/", stringify!($code), ".md")),
        );
        declare_rule!(@check $($hook $f)*);
    };
    (@check $($hook:ident $f:path)*) => {
        pub struct Check;

        impl $crate::Rule for Check {
            fn meta(&self) -> &'static $crate::RuleMeta {
                &RULE
            }
            $(declare_rule!(@hook $hook $f);)*
        }
    };
    (@hook file $f:path) => {
        fn check_file(&self, cx: &$crate::FileCx, out: &mut Vec<plumb_diagnostics::Diagnostic>) {
            $f(cx, out)
        }
    };
    (@hook pipeline $f:path) => {
        fn check_pipeline(&self, cx: &$crate::PipelineCx, out: &mut Vec<plumb_diagnostics::Diagnostic>) {
            $f(cx, out)
        }
    };
    (@hook job $f:path) => {
        fn check_job(&self, cx: &$crate::JobCx, out: &mut Vec<plumb_diagnostics::Diagnostic>) {
            $f(cx, out)
        }
    };
    (@hook images $f:path) => {
        fn check_file(&self, cx: &$crate::FileCx, out: &mut Vec<plumb_diagnostics::Diagnostic>) {
            $crate::images::check_declared_images(cx, out, $f)
        }
        fn check_job(&self, cx: &$crate::JobCx, out: &mut Vec<plumb_diagnostics::Diagnostic>) {
            $crate::images::check_job_images(cx, out, $f)
        }
    };
}

mod clones;
pub mod creds;
pub mod fetchers;
pub mod graph;
pub mod image_ref;
pub mod images;
mod registry;
pub mod rules;
pub mod scenarios;
pub mod shell;
pub mod supply;
pub mod suppress;

pub use registry::{lookup, RULES};
pub use rules::pl1013_expired_allowance::expired_allowances;

use plumb_config::Config;
use plumb_diagnostics::{Diagnostic, FileId, FileRange, Severity};
use plumb_semantics::{Cond, FileModel, JobModel, PipelineModel};
use plumb_syntax::Parse;
use std::cell::OnceCell;

/// What `plumb explain` prints and `plumb rules` lists.
#[derive(Debug)]
pub struct RuleMeta {
    /// The code; its name and default severity are in the one table of codes
    /// ([`Code`](plumb_diagnostics::Code)).
    pub code: plumb_diagnostics::Code,
    /// One line.
    pub summary: &'static str,
    /// What the rule does and why it matters (Markdown).
    pub explanation: &'static str,
    /// A program the rule reports.
    pub bad: &'static str,
    /// The same program, fixed.
    pub good: &'static str,
}

impl RuleMeta {
    /// The rule documented by `doc`, a Markdown file of `docs/`: a title line, the
    /// summary (one line), the explanation, then `## Bad` and `## Good`, each one
    /// ```` ```plumb ```` block. Read at compile time: a file of another shape does not build.
    pub const fn from_doc(code: plumb_diagnostics::Code, doc: &'static str) -> RuleMeta {
        let title_end = doc_find(doc, "\n\n", 0);
        let summary_end = doc_find(doc, "\n\n", title_end + 2);
        let bad_at = doc_find(doc, BAD, summary_end + 2);
        let good_at = doc_find(doc, GOOD, bad_at + BAD.len());
        let end = doc_find(doc, "\n```\n", good_at + GOOD.len());
        RuleMeta {
            code,
            summary: doc_slice(doc, title_end + 2, summary_end),
            explanation: doc_slice(doc, summary_end + 2, bad_at),
            bad: doc_slice(doc, bad_at + BAD.len(), good_at),
            good: doc_slice(doc, good_at + GOOD.len(), end),
        }
    }

    /// A short kebab-case name, e.g. `image-without-tag`.
    pub fn name(&self) -> &'static str {
        self.code.name()
    }
    pub fn severity(&self) -> Severity {
        self.code.default_severity()
    }
}

/// What ends a rule's explanation and starts its failing example, in `docs/CODE.md`.
const BAD: &str = "\n\n## Bad\n\n```plumb\n";
/// What ends the failing example and starts the fixed one.
const GOOD: &str = "\n```\n\n## Good\n\n```plumb\n";

/// Where `needle` first is in `doc` at or after byte `from` (a `const fn`: the rule
/// documentation is cut into its parts while compiling).
const fn doc_find(doc: &str, needle: &str, from: usize) -> usize {
    let (hay, needle) = (doc.as_bytes(), needle.as_bytes());
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let mut i = 0;
        while i < needle.len() && hay[at + i] == needle[i] {
            i += 1;
        }
        if i == needle.len() {
            return at;
        }
        at += 1;
    }
    panic!("a rule's documentation lacks a part: see RuleMeta::from_doc")
}

/// `doc[start..end]`, in a `const fn`.
const fn doc_slice(doc: &str, start: usize, end: usize) -> &str {
    let (_, rest) = doc.as_bytes().split_at(start);
    let (part, _) = rest.split_at(end - start);
    match std::str::from_utf8(part) {
        Ok(part) => part,
        Err(_) => panic!("a rule's documentation is cut inside a character"),
    }
}

/// Written source text, for rules that point inside a string literal.
pub trait Sources {
    /// The text written at a value's `origin` (the literal with its quotes), if known.
    fn literal(&self, at: FileRange) -> Option<&str>;
}

pub struct FileCx<'a> {
    pub file: FileId,
    /// The file's text.
    pub text: &'a str,
    pub parse: &'a Parse,
    pub model: &'a FileModel,
    pub config: &'a Config,
    pub sources: &'a dyn Sources,
}

pub struct PipelineCx<'a> {
    pub pipeline: &'a PipelineModel,
    pub config: &'a Config,
}

/// What a job's checks see: the job, and of its pipeline only `on` (so that an edit
/// elsewhere in the pipeline does not re-run them).
pub struct JobCx<'a> {
    /// The pipeline's `on`, and where it was written.
    pub pipeline_on: (&'a Cond, Option<FileRange>),
    pub job: &'a JobModel,
    pub config: &'a Config,
    pub sources: &'a dyn Sources,
    scripts: OnceCell<Vec<ScannedScript<'a>>>,
    images: OnceCell<Vec<images::ImageUse<'a>>>,
    script: OnceCell<Vec<creds::ScriptFinding>>,
    uses: OnceCell<Vec<creds::SecretUse>>,
    /// The images the job's pipeline pushes (see [`images::pushed_images`]).
    pub built_images: &'a [(String, String)],
    /// Whether another job's `node_modules` reaches the job (see
    /// [`supply::receives_installed_packages`]).
    pub receives_packages: bool,
}

/// One of a job's scripts (a `run` string or list item), read by the shell scanner.
pub struct ScannedScript<'a> {
    pub text: &'a str,
    /// The literal it came from.
    pub origin: FileRange,
    pub commands: Vec<shell::Command>,
}

impl<'a> JobCx<'a> {
    pub fn new(
        pipeline_on: (&'a Cond, Option<FileRange>),
        job: &'a JobModel,
        config: &'a Config,
        sources: &'a dyn Sources,
    ) -> Self {
        JobCx {
            pipeline_on,
            job,
            config,
            sources,
            scripts: OnceCell::new(),
            images: OnceCell::new(),
            script: OnceCell::new(),
            uses: OnceCell::new(),
            built_images: &[],
            receives_packages: false,
        }
    }
    /// With whether another job's `node_modules` reaches the job.
    pub fn with_received_packages(mut self, received: bool) -> Self {
        self.receives_packages = received;
        self
    }
    /// With the images the job's pipeline pushes ([`images::pushed_images`]).
    pub fn with_built_images(mut self, built: &'a [(String, String)]) -> Self {
        self.built_images = built;
        self
    }
    /// The job's image and services, each parsed once for every rule that reads them.
    pub fn images(&self) -> &[images::ImageUse<'a>] {
        self.images.get_or_init(|| images::job_images(self))
    }
    /// The job's scripts, each scanned once for every rule that reads them.
    /// Who a finding at `at` is about, for its message: "job `X`" when `at` is in the
    /// job, else "each job it reaches" (a template's or `default`'s literal, whose
    /// findings of several jobs merge into one that names them in its labels).
    pub fn whom(&self, at: FileRange) -> String {
        let job = self.job;
        if job.contains(at) {
            job.describe()
        } else {
            "each job it reaches".to_string()
        }
    }

    pub fn scripts(&self) -> &[ScannedScript<'a>] {
        self.scripts.get_or_init(|| {
            self.job
                .script()
                .into_iter()
                .map(|(text, origin)| ScannedScript {
                    text,
                    origin,
                    commands: shell::scan(text),
                })
                .collect()
        })
    }
    /// What the shell scan of the job's script found about its secrets (computed once).
    pub fn script_findings(&self) -> &[creds::ScriptFinding] {
        self.script.get_or_init(|| creds::scan_job(self))
    }
    /// The secrets the job uses: bound in `env`, or project variables read by name.
    pub fn secret_uses(&self) -> &[creds::SecretUse] {
        self.uses.get_or_init(|| creds::secret_uses(self))
    }
}

/// A rule: its metadata, and the hooks it implements.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check_file(&self, _cx: &FileCx, _out: &mut Vec<Diagnostic>) {}
    fn check_pipeline(&self, _cx: &PipelineCx, _out: &mut Vec<Diagnostic>) {}
    fn check_job(&self, _cx: &JobCx, _out: &mut Vec<Diagnostic>) {}
}

/// Runs the pipeline-level rules on one pipeline.
pub fn check_pipeline(cx: &PipelineCx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in RULES {
        rule.check_pipeline(cx, &mut out);
    }
    out
}

/// Runs the job-level rules on one job. A finding at a literal outside the job (in a
/// template, a `default`, a `let`) names the job with a label at its name, so that when
/// the same literal's findings of many jobs merge into one ([`merge_duplicates`]), the
/// jobs it reaches are all shown.
pub fn check_job(cx: &JobCx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in RULES {
        rule.check_job(cx, &mut out);
    }
    cx.job.label_findings_outside(&mut out);
    out
}

/// Runs the file-level rules.
pub fn check_file_level(cx: &FileCx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in RULES {
        rule.check_file(cx, &mut out);
    }
    out
}

/// Every check on one file: file, pipeline and job rules.
pub fn check_file(cx: &FileCx) -> Vec<Diagnostic> {
    let mut out = check_file_level(cx);
    for p in &cx.model.pipelines {
        out.extend(check_pipeline(&PipelineCx {
            pipeline: p,
            config: cx.config,
        }));
        let built = images::pushed_images(p);
        for j in &p.jobs {
            out.extend(check_job(
                &JobCx::new((&p.on, p.on_at), j, cx.config, cx.sources)
                    .with_built_images(&built)
                    .with_received_packages(supply::receives_installed_packages(j, &p.jobs)),
            ));
        }
    }
    out.extend(check_templates(cx.model, cx.config, cx.sources));
    out.extend(check_included_defaults(cx.model, cx.config, cx.sources));
    out
}

/// The job rules on each pipeline's [`PipelineModel::included_jobs_default`]: what
/// GitLab's top-level `default:` gives the jobs of the included files, in the pipeline.
///
/// [`PipelineModel::included_jobs_default`]: plumb_semantics::PipelineModel::included_jobs_default
pub fn check_included_defaults(
    model: &FileModel,
    config: &Config,
    sources: &dyn Sources,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &model.pipelines {
        if let Some(default) = &p.included_jobs_default {
            let cx = JobCx::new((&p.on, p.on_at), default, config, sources);
            out.extend(check_job(&cx));
        }
    }
    out
}

/// The rules that read a job switched off ([`JobKind::SwitchedOff`]): what it runs
/// matters nowhere, what its source says does (a credential committed in a job that
/// no pipeline runs is still leaked).
///
/// [`JobKind::SwitchedOff`]: plumb_semantics::JobKind::SwitchedOff
const RULES_ON_SWITCHED_OFF_JOBS: &[plumb_diagnostics::Code] = &[plumb_diagnostics::Code::PL4001];

/// The job rules on the templates no job is built on ([`FileModel::templates`]), each
/// as a job of its own outside any pipeline.
pub fn check_templates(
    model: &FileModel,
    config: &Config,
    sources: &dyn Sources,
) -> Vec<Diagnostic> {
    // no pipeline: the rules that read `on` learn nothing from it (PL4006 skips templates)
    static NO_PIPELINE: Cond = Cond::Always;
    let mut out = Vec::new();
    for t in &model.templates {
        let cx = JobCx::new((&NO_PIPELINE, None), t, config, sources);
        if t.kind != plumb_semantics::JobKind::SwitchedOff {
            out.extend(check_job(&cx));
            continue;
        }
        let mut found = Vec::new();
        let rules = RULES
            .iter()
            .filter(|r| RULES_ON_SWITCHED_OFF_JOBS.contains(&r.meta().code));
        for rule in rules {
            rule.check_job(&cx, &mut found);
        }
        t.label_findings_outside(&mut found);
        out.extend(found);
    }
    out
}

/// Merges diagnostics that report the same code at the same place (an image literal
/// used by many jobs): the first is kept, with the others' places as secondary labels.
/// `secret `$A` is given to X` and `secret `$B` is given to X` (or `secrets … are
/// given`): `secrets `$A`, `$B` are given to X`; `None` when they say other things.
fn secrets_of_both(kept: &str, other: &str) -> Option<String> {
    fn split(message: &str) -> Option<(Vec<&str>, &str)> {
        let rest =
            (message.strip_prefix("secrets ")).or_else(|| message.strip_prefix("secret "))?;
        let (list, tail) =
            (rest.split_once(" are given ")).or_else(|| rest.split_once(" is given "))?;
        let names: Vec<&str> = list.split(", ").collect();
        names
            .iter()
            .all(|n| n.starts_with('`') && n.ends_with('`'))
            .then_some((names, tail))
    }
    let (mut names, tail) = split(kept)?;
    let (more, other_tail) = split(other)?;
    if tail != other_tail {
        return None;
    }
    for n in more {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Some(match names.as_slice() {
        [one] => format!("secret {one} is given {tail}"),
        _ => format!("secrets {} are given {tail}", names.join(", ")),
    })
}

pub fn merge_duplicates(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    let mut index: std::collections::HashMap<
        (plumb_diagnostics::Code, plumb_diagnostics::FileRange),
        usize,
    > = Default::default();
    // PL3007 is reported once per distinct reference (its message names it), wherever
    // it is written: the other places become related ones
    let mut by_value: std::collections::HashMap<String, usize> = Default::default();
    // at most this many places are drawn; the others are counted in the help
    const SHOWN: usize = 8;
    let mut not_shown: Vec<usize> = Vec::with_capacity(diags.len());
    for mut d in diags {
        let same_value = (d.code == rules::pl3007_variable_image::RULE.code)
            .then(|| by_value.get(&d.message).copied())
            .flatten()
            .filter(|&i| out[i].primary.at != d.primary.at);
        if let Some(i) = same_value {
            let place = plumb_diagnostics::Label {
                at: d.primary.at,
                message: "the same reference".to_string(),
            };
            d.secondary.insert(0, place);
            index.insert((d.code, d.primary.at), i);
        }
        match index.get(&(d.code, d.primary.at)) {
            Some(&i) => {
                let kept = &mut out[i];
                // two jobs giving different secrets to one image: one finding naming both
                if kept.message != d.message {
                    if let Some(both) = secrets_of_both(&kept.message, &d.message) {
                        kept.message = both;
                    }
                }
                for s in d.secondary {
                    if kept.secondary.iter().any(|k| k.at == s.at) {
                        continue;
                    }
                    if kept.secondary.len() < SHOWN {
                        kept.secondary.push(s);
                    } else {
                        not_shown[i] += 1;
                    }
                }
            }
            None => {
                index.insert((d.code, d.primary.at), out.len());
                if d.code == rules::pl3007_variable_image::RULE.code {
                    by_value.insert(d.message.clone(), out.len());
                }
                out.push(d);
                not_shown.push(0);
            }
        }
    }
    // the labels past the eighth are counted, never silently dropped
    for (d, n) in out.iter_mut().zip(not_shown) {
        d.count_places_not_shown(n);
    }
    out
}

/// Applies `plumb.toml`'s policy to the severities: `images.require_digest` makes
/// PL3003 an error; then `lint.allow` drops, `lint.deny` raises and `lint.warn` lowers.
pub fn apply_config(diags: Vec<Diagnostic>, config: &Config) -> Vec<Diagnostic> {
    diags
        .into_iter()
        .filter_map(|mut d| {
            let code = d.code.to_string();
            // a file that does not parse has not been checked: never silenced
            if d.code == rules::pl0001_syntax_error::RULE.code {
                return Some(d);
            }
            if config.lint.allow.contains(&code) {
                return None;
            }
            if d.code == rules::pl3003_tag_without_digest::RULE.code && config.images.require_digest
            {
                d.severity = Severity::Error;
            }
            if config.lint.deny.contains(&code) {
                d.severity = Severity::Error;
            } else if config.lint.warn.contains(&code) {
                d.severity = Severity::Warning;
            }
            Some(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_diagnostics::{Code, FileId, FileRange, TextRange};

    #[test]
    fn one_finding_names_the_secrets_of_every_job() {
        let both = secrets_of_both(
            "secret `$A` is given to each job it reaches, whose image `x` is not pinned",
            "secrets `$B`, `$A` are given to each job it reaches, whose image `x` is not pinned",
        );
        assert_eq!(
            both.as_deref(),
            Some("secrets `$A`, `$B` are given to each job it reaches, whose image `x` is not pinned")
        );
        assert_eq!(
            secrets_of_both("secret `$A` is given to a", "secret `$B` is given to b"),
            None
        );
        assert_eq!(
            secrets_of_both("image `x` is bad", "image `y` is bad"),
            None
        );
    }

    /// Each file of `docs/` is the documentation of a rule, titled with its code and name;
    /// its parts are what `plumb explain` prints.
    #[test]
    fn every_rule_doc_file_names_its_rule() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
        let mut files = 0;
        for entry in std::fs::read_dir(dir).expect("docs/").flatten() {
            let path = entry.path();
            let code = path.file_stem().and_then(|s| s.to_str()).expect("a name");
            let meta = lookup(code).unwrap_or_else(|| panic!("{code}.md documents no rule"));
            let text = std::fs::read_to_string(&path).expect("read");
            let title = text.lines().next().unwrap_or_default();
            assert_eq!(
                title,
                format!("# {} {}", meta.code, meta.name()),
                "{code}.md"
            );
            let from_file = RuleMeta::from_doc(meta.code, Box::leak(text.into_boxed_str()));
            assert_eq!(from_file.summary, meta.summary, "{code}.md");
            assert_eq!(from_file.bad, meta.bad, "{code}.md");
            assert!(!meta.bad.is_empty() && !meta.good.is_empty(), "{code}.md");
            files += 1;
        }
        assert!(files >= 40, "the rule docs are missing ({files} files)");
    }

    fn at(start: usize) -> FileRange {
        FileRange {
            file: FileId(0),
            range: TextRange::new(start, start + 1),
        }
    }

    /// One finding per cause: ten jobs sharing one image literal are one finding, eight
    /// of them drawn and the other two counted.
    #[test]
    fn merged_findings_count_the_places_they_do_not_draw() {
        let diags = (0..10)
            .map(|job| {
                Diagnostic::error(Code::PL3002, at(0), "the image is not pinned")
                    .with_secondary(at(100 + job), format!("job `j{job}`"))
            })
            .collect();
        let merged = merge_duplicates(diags);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].secondary.len(), 8);
        assert_eq!(merged[0].help.as_deref(), Some("2 more places not shown"));
    }
}
