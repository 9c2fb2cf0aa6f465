//! The types of §5 of the language contract, and the record types of job fields (§6.2).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    String,
    Int,
    Bool,
    Duration,
    Size,
    /// A string literal that parses as an OCI image reference.
    Image,
    Secret,
    Condition,
    /// A `String` (one command per line) or a `List<String>`.
    Script,
    List(Box<Ty>),
    Map(Box<Ty>),
    /// A record with these keys (`artifacts`, `cache`, `environment`, …).
    Record(&'static RecordSpec),
    /// One of these strings (`if_previous = "failure"`).
    OneOf(&'static [&'static str]),
    /// Either of two types, told apart by the value's shape (`retry = 2` or
    /// `retry = { max = 2 }`): a record, a list, or a plain value.
    Either(TyName, TyName),
    /// `String | Secret`: what an `env` map holds.
    EnvValue,
    /// A job of the same pipeline, by name (in `needs`).
    JobRef,
    /// Accepts anything; given to what a parse error left, and to the keys of `gitlab`.
    Any,
}

/// One key of a record type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub name: &'static str,
    pub ty: TyName,
    pub doc: &'static str,
}

/// A record type: its name in messages, its keys, and the keys it must have.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RecordSpec {
    pub name: &'static str,
    pub keys: &'static [KeySpec],
    pub required: &'static [&'static str],
    /// Any key is accepted (`gitlab = { … }` carries keys Plumb does not model).
    pub open: bool,
}

impl RecordSpec {
    pub fn key(&self, name: &str) -> Option<&'static KeySpec> {
        self.keys.iter().find(|k| k.name == name)
    }
    pub fn key_names(&self) -> Vec<&'static str> {
        self.keys.iter().map(|k| k.name).collect()
    }
}

/// A type written as a constant, for tables of fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TyName {
    String,
    Int,
    Bool,
    Duration,
    Size,
    Image,
    Condition,
    Script,
    ListString,
    ListInt,
    ListImage,
    ListJob,
    Needs,
    NeedRecord,
    MapString,
    Env,
    Matrix,
    JobRef,
    Cache,
    CacheRecord,
    Caches,
    CacheKey,
    CacheKeyRecord,
    CachePolicy,
    Resources,
    JobFields,
    IfPrevious,
    Retry,
    RetryRecord,
    AllowFailure,
    AllowFailureRecord,
    Artifacts,
    ArtifactsRecord,
    ArtifactsWhen,
    ArtifactsAccess,
    Reports,
    CoverageReport,
    CoverageFormat,
    Environment,
    EnvironmentRecord,
    EnvironmentAction,
    EnvironmentTier,
    Services,
    ImageOrService,
    Service,
    Trigger,
    K8s,
    Tolerations,
    TolerationOperator,
    TaintEffect,
    GitlabKeys,
    Includes,
    Include,
}

const fn key(name: &'static str, ty: TyName, doc: &'static str) -> KeySpec {
    KeySpec { name, ty, doc }
}

const fn record(
    name: &'static str,
    keys: &'static [KeySpec],
    required: &'static [&'static str],
) -> RecordSpec {
    RecordSpec {
        name,
        keys,
        required,
        open: false,
    }
}

pub static CACHE: RecordSpec = record(
    "Cache",
    &[
        key(
            "key",
            TyName::CacheKey,
            "What the cache is keyed by: a string, e.g. `\"$CI_COMMIT_REF_SLUG\"`, or `{ files, prefix }`: a hash of those files' contents.",
        ),
        key("paths", TyName::ListString, "The paths kept in the cache."),
        key(
            "policy",
            TyName::CachePolicy,
            "`\"pull-push\"` (default), `\"pull\"` or `\"push\"`.",
        ),
        key(
            "when",
            TyName::ArtifactsWhen,
            "Save the cache `\"on_success\"` (default), `\"on_failure\"` or `\"always\"`.",
        ),
        key(
            "untracked",
            TyName::Bool,
            "Also cache files Git does not track.",
        ),
        key(
            "fallback_keys",
            TyName::ListString,
            "Keys tried when `key` has no cache yet.",
        ),
        key(
            "unprotect",
            TyName::Bool,
            "Share the cache between protected and unprotected branches.",
        ),
    ],
    &[],
);

/// GitLab's `cache: key: { files, files_commits, prefix }`.
pub static CACHE_KEY: RecordSpec = record(
    "CacheKey",
    &[
        key(
            "files",
            TyName::ListString,
            "Up to ten files: the key changes when their contents change.",
        ),
        key(
            "files_commits",
            TyName::ListString,
            "Up to two files: the key changes with the last commit that changed them.",
        ),
        key(
            "prefix",
            TyName::String,
            "Put before the hash, e.g. `\"$CI_JOB_NAME\"`.",
        ),
    ],
    &[],
);

pub static RESOURCES: RecordSpec = record(
    "Resources",
    &[
        key(
            "cpu",
            TyName::String,
            "CPU request and limit, e.g. `\"500m\"`.",
        ),
        key(
            "memory",
            TyName::Size,
            "Memory request and limit, e.g. `256Mi`.",
        ),
    ],
    &[],
);

pub static JOB_FIELDS_RECORD: RecordSpec = record("a record of job fields", &[], &[]);

pub static RETRY: RecordSpec = record(
    "Retry",
    &[
        key(
            "max",
            TyName::Int,
            "How often a failed job is retried: 0, 1 or 2.",
        ),
        key(
            "when",
            TyName::ListString,
            "The failures that are retried, e.g. `[\"runner_system_failure\"]`.",
        ),
    ],
    &["max"],
);

pub static NEED: RecordSpec = record(
    "Need",
    &[
        key("job", TyName::JobRef, "The job needed."),
        key(
            "optional",
            TyName::Bool,
            "Needed only when it is in the pipeline (`false` by default).",
        ),
        key(
            "artifacts",
            TyName::Bool,
            "Download its artifacts (`true` by default).",
        ),
    ],
    &["job"],
);

pub static ALLOW_FAILURE: RecordSpec = record(
    "AllowFailure",
    &[key(
        "exit_codes",
        TyName::ListInt,
        "The exit codes that count as an allowed failure.",
    )],
    &["exit_codes"],
);

pub static ARTIFACTS: RecordSpec = record(
    "Artifacts",
    &[
        key("paths", TyName::ListString, "The files and folders kept."),
        key("exclude", TyName::ListString, "Paths left out of `paths`."),
        key("name", TyName::String, "The archive's name."),
        key(
            "when",
            TyName::ArtifactsWhen,
            "`\"on_success\"` (default), `\"on_failure\"` or `\"always\"`.",
        ),
        key(
            "expire_in",
            TyName::Duration,
            "How long they are kept, e.g. `7d`.",
        ),
        key(
            "expose_as",
            TyName::String,
            "Shown under this name in merge requests.",
        ),
        key(
            "untracked",
            TyName::Bool,
            "Also keep files Git does not track.",
        ),
        key(
            "access",
            TyName::ArtifactsAccess,
            "Who may download them: `\"all\"` (default), `\"developer\"`, `\"maintainer\"` or `\"none\"`.",
        ),
        key(
            "reports",
            TyName::Reports,
            "Test, coverage and scanner reports.",
        ),
    ],
    &[],
);

const REPORT_DOC: &str = "Report files of this kind.";
/// GitLab reads one file of these kinds (its schema: a string, not a list).
const ONE_REPORT_DOC: &str = "The report file of this kind (GitLab reads one).";

pub static REPORTS: RecordSpec = record(
    "Reports",
    &[
        key("junit", TyName::ListString, "JUnit XML test reports."),
        key(
            "dotenv",
            TyName::ListString,
            "A `.env` file whose variables later jobs get.",
        ),
        key("codequality", TyName::ListString, REPORT_DOC),
        key("sast", TyName::ListString, REPORT_DOC),
        key("dependency_scanning", TyName::ListString, REPORT_DOC),
        key("container_scanning", TyName::ListString, REPORT_DOC),
        key("secret_detection", TyName::ListString, REPORT_DOC),
        key("terraform", TyName::ListString, REPORT_DOC),
        key("metrics", TyName::ListString, REPORT_DOC),
        key("cyclonedx", TyName::ListString, "CycloneDX SBOM files."),
        key("annotations", TyName::String, ONE_REPORT_DOC),
        key("accessibility", TyName::String, ONE_REPORT_DOC),
        key("api_fuzzing", TyName::ListString, REPORT_DOC),
        key("browser_performance", TyName::String, ONE_REPORT_DOC),
        key("coverage_fuzzing", TyName::ListString, REPORT_DOC),
        key("dast", TyName::ListString, REPORT_DOC),
        key("load_performance", TyName::ListString, REPORT_DOC),
        key("requirements", TyName::ListString, REPORT_DOC),
        key("repository_xray", TyName::ListString, REPORT_DOC),
        key("sarif", TyName::ListString, "SARIF 2.1.0 security reports."),
        key(
            "coverage",
            TyName::CoverageReport,
            "`{ format = \"cobertura\", path = \"coverage.xml\" }`.",
        ),
    ],
    &[],
);

pub static COVERAGE_REPORT: RecordSpec = record(
    "CoverageReport",
    &[
        key(
            "format",
            TyName::CoverageFormat,
            "`\"cobertura\"` or `\"jacoco\"`.",
        ),
        key("path", TyName::String, "The report file."),
    ],
    &["format", "path"],
);

pub static ENVIRONMENT: RecordSpec = record(
    "Environment",
    &[
        key(
            "name",
            TyName::String,
            "The environment's name, e.g. `\"production\"`.",
        ),
        key(
            "url",
            TyName::String,
            "Where the deployed environment is reached.",
        ),
        key(
            "action",
            TyName::EnvironmentAction,
            "`\"start\"` (default), `\"prepare\"`, `\"stop\"`, `\"verify\"` or `\"access\"`.",
        ),
        key(
            "on_stop",
            TyName::JobRef,
            "The job that stops the environment.",
        ),
        key(
            "auto_stop_in",
            TyName::Duration,
            "Stop the environment after this long.",
        ),
        key(
            "tier",
            TyName::EnvironmentTier,
            "`\"production\"`, `\"staging\"`, `\"testing\"`, `\"development\"` or `\"other\"`.",
        ),
    ],
    &["name"],
);

pub static SERVICE: RecordSpec = record(
    "Service",
    &[
        key(
            "image",
            TyName::Image,
            "The service's image; pin it by digest.",
        ),
        key(
            "alias",
            TyName::String,
            "The host name the job reaches it by.",
        ),
        key("command", TyName::ListString, "The service's command."),
        key(
            "entrypoint",
            TyName::ListString,
            "The service's entrypoint.",
        ),
        key(
            "env",
            TyName::MapString,
            "The service's environment variables.",
        ),
    ],
    &["image"],
);

pub static TRIGGER: RecordSpec = record(
    "Trigger",
    &[
        key(
            "project",
            TyName::String,
            "The project whose pipeline is started.",
        ),
        key("branch", TyName::String, "The branch of that project."),
        key(
            "child",
            TyName::String,
            "The file of a child pipeline in this project.",
        ),
        key(
            "depend",
            TyName::Bool,
            "Whether this job waits for the pipeline it starts.",
        ),
        key(
            "inputs",
            TyName::GitlabKeys,
            "The inputs of the pipeline it starts (its `spec:inputs`).",
        ),
    ],
    &[],
);

pub static K8S: RecordSpec = record(
    "K8s",
    &[
        key(
            "service_account",
            TyName::String,
            "The Job's service account.",
        ),
        key(
            "node_selector",
            TyName::MapString,
            "The pod's node selector.",
        ),
        key("tolerations", TyName::Tolerations, "The pod's tolerations."),
        key(
            "labels",
            TyName::MapString,
            "Labels added to the Job and its pod.",
        ),
        key(
            "annotations",
            TyName::MapString,
            "Annotations added to the Job.",
        ),
    ],
    &[],
);

pub static TOLERATION: RecordSpec = record(
    "Toleration",
    &[
        key(
            "key",
            TyName::String,
            "The taint's key; none with `operator = \"Exists\"` tolerates every taint.",
        ),
        key(
            "operator",
            TyName::TolerationOperator,
            "`\"Equal\"` (default) or `\"Exists\"`.",
        ),
        key(
            "value",
            TyName::String,
            "The taint's value (with `\"Equal\"`).",
        ),
        key(
            "effect",
            TyName::TaintEffect,
            "`\"NoSchedule\"`, `\"PreferNoSchedule\"` or `\"NoExecute\"`; none matches all.",
        ),
        key(
            "toleration_seconds",
            TyName::Int,
            "With `\"NoExecute\"`: how long the pod stays once tainted.",
        ),
    ],
    &[],
);

pub const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
pub const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

pub static GITLAB_KEYS: RecordSpec = RecordSpec {
    name: "GitLab keys",
    keys: &[],
    required: &[],
    open: true,
};

pub static INCLUDE: RecordSpec = record(
    "Include",
    &[
        key(
            "component",
            TyName::String,
            "`HOST/GROUP/PROJECT/NAME@VERSION`.",
        ),
        key("inputs", TyName::GitlabKeys, "The component's inputs."),
        key("template", TyName::String, "One of GitLab's templates."),
        key("project", TyName::String, "A project holding the file."),
        key("file", TyName::String, "The file in that project."),
        key(
            "ref",
            TyName::String,
            "The project's branch, tag or commit.",
        ),
        key("remote", TyName::String, "An `https://` URL."),
        key(
            "sha256",
            TyName::String,
            "The remote file's SHA-256 (GitLab `integrity:`).",
        ),
        key("local", TyName::String, "A file of this repository."),
    ],
    &[],
);

pub const IF_PREVIOUS: &[&str] = &["success", "failure", "always"];
pub const CACHE_POLICIES: &[&str] = &["pull-push", "pull", "push"];
pub const ARTIFACTS_WHEN: &[&str] = &["on_success", "on_failure", "always"];
/// Who may download a job's artifacts (GitLab's `artifacts: access:`).
pub const ARTIFACTS_ACCESS: &[&str] = &["all", "developer", "maintainer", "none"];
pub const COVERAGE_FORMATS: &[&str] = &["cobertura", "jacoco"];
pub const ENVIRONMENT_ACTIONS: &[&str] = &["start", "prepare", "stop", "verify", "access"];
pub const ENVIRONMENT_TIERS: &[&str] =
    &["production", "staging", "testing", "development", "other"];

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

impl TyName {
    pub fn ty(self) -> Ty {
        match self {
            TyName::String => Ty::String,
            TyName::Int => Ty::Int,
            TyName::Bool => Ty::Bool,
            TyName::Duration => Ty::Duration,
            TyName::Size => Ty::Size,
            TyName::Image => Ty::Image,
            TyName::Condition => Ty::Condition,
            TyName::Script => Ty::Script,
            TyName::ListString => list(Ty::String),
            TyName::ListInt => list(Ty::Int),
            TyName::ListImage => list(Ty::Image),
            TyName::ListJob => list(Ty::JobRef),
            TyName::Needs => list(Ty::Either(TyName::JobRef, TyName::NeedRecord)),
            TyName::NeedRecord => Ty::Record(&NEED),
            TyName::MapString => Ty::Map(Box::new(Ty::String)),
            TyName::Env => Ty::Map(Box::new(Ty::EnvValue)),
            TyName::Matrix => Ty::Map(Box::new(list(Ty::String))),
            TyName::JobRef => Ty::JobRef,
            // GitLab takes one cache or a list of up to four
            TyName::Cache => Ty::Either(TyName::CacheRecord, TyName::Caches),
            TyName::CacheRecord => Ty::Record(&CACHE),
            TyName::Caches => list(Ty::Record(&CACHE)),
            TyName::CacheKey => Ty::Either(TyName::String, TyName::CacheKeyRecord),
            TyName::CacheKeyRecord => Ty::Record(&CACHE_KEY),
            TyName::CachePolicy => Ty::OneOf(CACHE_POLICIES),
            TyName::Resources => Ty::Record(&RESOURCES),
            TyName::JobFields => Ty::Record(&JOB_FIELDS_RECORD),
            TyName::IfPrevious => Ty::OneOf(IF_PREVIOUS),
            TyName::Retry => Ty::Either(TyName::Int, TyName::RetryRecord),
            TyName::RetryRecord => Ty::Record(&RETRY),
            TyName::AllowFailure => Ty::Either(TyName::Bool, TyName::AllowFailureRecord),
            TyName::AllowFailureRecord => Ty::Record(&ALLOW_FAILURE),
            TyName::Artifacts => Ty::Either(TyName::ListString, TyName::ArtifactsRecord),
            TyName::ArtifactsRecord => Ty::Record(&ARTIFACTS),
            TyName::ArtifactsWhen => Ty::OneOf(ARTIFACTS_WHEN),
            TyName::ArtifactsAccess => Ty::OneOf(ARTIFACTS_ACCESS),
            TyName::Reports => Ty::Record(&REPORTS),
            TyName::CoverageReport => Ty::Record(&COVERAGE_REPORT),
            TyName::CoverageFormat => Ty::OneOf(COVERAGE_FORMATS),
            TyName::Environment => Ty::Either(TyName::String, TyName::EnvironmentRecord),
            TyName::EnvironmentRecord => Ty::Record(&ENVIRONMENT),
            TyName::EnvironmentAction => Ty::OneOf(ENVIRONMENT_ACTIONS),
            TyName::EnvironmentTier => Ty::OneOf(ENVIRONMENT_TIERS),
            TyName::Services => list(Ty::Either(TyName::Image, TyName::Service)),
            TyName::ImageOrService => Ty::Either(TyName::Image, TyName::Service),
            TyName::Service => Ty::Record(&SERVICE),
            TyName::Trigger => Ty::Record(&TRIGGER),
            TyName::K8s => Ty::Record(&K8S),
            TyName::Tolerations => list(Ty::Record(&TOLERATION)),
            TyName::TolerationOperator => Ty::OneOf(TOLERATION_OPERATORS),
            TyName::TaintEffect => Ty::OneOf(TAINT_EFFECTS),
            TyName::GitlabKeys => Ty::Record(&GITLAB_KEYS),
            TyName::Includes => list(Ty::Record(&INCLUDE)),
            TyName::Include => Ty::Record(&INCLUDE),
        }
    }

    /// The record type this names, if it names one (directly or as one alternative).
    pub fn record(self) -> Option<&'static RecordSpec> {
        match self.ty() {
            Ty::Record(r) => Some(r),
            Ty::Either(a, b) => a.record().or_else(|| b.record()),
            Ty::List(inner) => match *inner {
                Ty::Record(r) => Some(r),
                Ty::Either(a, b) => a.record().or_else(|| b.record()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The strings this type allows, if it is a choice of strings.
    pub fn choices(self) -> Option<&'static [&'static str]> {
        match self.ty() {
            Ty::OneOf(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => f.write_str("String"),
            Ty::Int => f.write_str("Int"),
            Ty::Bool => f.write_str("Bool"),
            Ty::Duration => f.write_str("Duration"),
            Ty::Size => f.write_str("Size"),
            Ty::Image => f.write_str("Image"),
            Ty::Secret => f.write_str("Secret"),
            Ty::Condition => f.write_str("Condition"),
            Ty::Script => f.write_str("Script"),
            Ty::List(t) => write!(f, "List<{t}>"),
            Ty::Map(t) => write!(f, "Map<{t}>"),
            Ty::Record(spec) if spec.keys.is_empty() => f.write_str(spec.name),
            Ty::Record(spec) => {
                let keys = spec.key_names().join(", ");
                write!(f, "{} {{ {keys} }}", spec.name)
            }
            Ty::OneOf(choices) => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
                f.write_str(&quoted.join("|"))
            }
            Ty::Either(a, b) => write!(f, "{} or {}", a.ty(), b.ty()),
            Ty::EnvValue => f.write_str("String|Secret"),
            Ty::JobRef => f.write_str("job name"),
            Ty::Any => f.write_str("any value"),
        }
    }
}

/// The type names a `let` or a template parameter may be annotated with.
pub const TYPE_NAMES: &[&str] = &[
    "String",
    "Int",
    "Bool",
    "Duration",
    "Size",
    "Image",
    "Secret",
    "Condition",
    "Script",
    "List",
    "Map",
];
