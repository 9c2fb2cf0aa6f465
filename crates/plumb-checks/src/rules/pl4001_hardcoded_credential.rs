//! PL4001 hardcoded-credential: A credential written into the source.

use crate::creds::Locator;
use crate::rules::{locate_in_literal, password_options, secret_patterns};
use crate::shell;
use crate::{FileCx, JobCx};
use plumb_diagnostics::Diagnostic;
use plumb_diagnostics::FileRange;
use plumb_semantics::{Value, ValueKind};

declare_rule! {
    code: PL4001,
    file: check_file,
    job: check_job,
}

/// The help for a credential literal in a `.gitlab-ci.yml` checked directly.
const ROTATE_IN_YAML: &str = "rotate it now, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and read it as `$NAME`";

fn check_file(cx: &FileCx, out: &mut Vec<Diagnostic>) {
    let text = cx.text;
    let throwaways = throwaway_passwords(cx);
    for lit in crate::rules::string_literals(&cx.parse.tree) {
        for (kind, start, end) in secret_patterns::find(&lit.text) {
            // `postgres://app:ci-only@postgres/test`: the password of a job's own
            // database, at that database's host name
            let password = lit.text[start..end].rsplit(':').next().unwrap_or("");
            let host = url_host(lit.text[end..].strip_prefix('@').unwrap_or(""));
            if kind == secret_patterns::URL_WITH_PASSWORD
                && (throwaways.passwords.iter()).any(|(_, v)| *v == password)
                && throwaways.hosts.contains(&host)
            {
                continue;
            }
            let at = locate_in_literal(text, cx.file, lit.range, &lit.text[start..end]);
            out.push(
                Diagnostic::new(RULE.code, RULE.severity(), at, format!("hard-coded credential: this looks like {kind}"))
                    .with_label("a credential in the source")
                    .with_help("rotate it now, then declare it as a secret (`secret NAME = ci_variable(\"NAME\")`) and bind it in `env`")
                    .with_yaml_help(ROTATE_IN_YAML),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut report = |(name, name_at, value): (&str, FileRange, &Value)| {
        // a service of a `let` or a template is one finding, whatever its jobs
        if !throwaways.holds(value) && seen.insert((value.origin, name_at)) {
            literal_credential_variable(cx, name, name_at, value, out);
        }
    };
    for p in &cx.model.pipelines {
        // what the pipeline's `default` gives the jobs of included files is theirs too
        let jobs = p.jobs_and_included_default().collect::<Vec<_>>();
        (p.env.iter().map(|b| (b.name.as_str(), b.name_at, &b.value)))
            .chain(jobs_variables(&jobs))
            .chain(included_jobs_env(p))
            .for_each(&mut report);
    }
    // a template no job is built on (GitLab's hidden job nothing extends) runs
    // nowhere, but what it binds is written all the same
    let templates: Vec<_> = cx.model.templates.iter().collect();
    jobs_variables(&templates).into_iter().for_each(report);
}

/// The variables `jobs` bind: in their `env`, their services' and their matrices'.
fn jobs_variables<'m>(
    jobs: &[&'m plumb_semantics::JobModel],
) -> Vec<(&'m str, FileRange, &'m Value)> {
    (jobs.iter().flat_map(|j| j.env.iter()))
        .map(|b| (b.name.as_str(), b.name_at, &b.value))
        .chain(jobs.iter().flat_map(|j| services_env(j)))
        .chain(jobs.iter().flat_map(|j| matrix_env(j)))
        .chain(jobs.iter().flat_map(|j| gitlab_matrix_env(j)))
        .collect()
}

/// The credentials written in a GitLab CI file's text that the program it was read as
/// does not hold, so that the program's check cannot see them: in a comment, in a
/// script line GitLab refuses (`- curl -H "PRIVATE-TOKEN: glpat-…"`, read as a
/// mapping) or a hidden job that the import leaves out. `reported` are the file's
/// findings already made: a token one of them is at is not reported again, nor one
/// that the program's check could only place at its key (`environment: url:`, a rule's
/// `if:`: a finding of that kind not at any token stands for one). A URL's password is
/// left to the program's check, which knows the passwords of a job's own throwaway
/// database.
pub fn findings_in_yaml(
    file: plumb_diagnostics::FileId,
    text: &str,
    reported: &[Diagnostic],
) -> Vec<Diagnostic> {
    let hits: Vec<(&str, FileRange)> = (secret_patterns::find(text).into_iter())
        .filter(|(kind, ..)| *kind != secret_patterns::URL_WITH_PASSWORD)
        .map(|(kind, start, end)| {
            let range = plumb_diagnostics::TextRange::new(start, end);
            (kind, FileRange { file, range })
        })
        .collect();
    let overlaps = |a: &FileRange, b: &FileRange| {
        a.file == b.file && a.range.start < b.range.end && b.range.start < a.range.end
    };
    let mut own: Vec<bool> = reported
        .iter()
        .map(|d| d.code != RULE.code || hits.iter().any(|(_, at)| overlaps(&d.primary.at, at)))
        .collect();
    let mut out = Vec::new();
    for (kind, at) in &hits {
        if reported
            .iter()
            .any(|d| d.code == RULE.code && overlaps(&d.primary.at, at))
        {
            continue;
        }
        let message = format!("hard-coded credential: this looks like {kind}");
        // a finding of this token that the program could draw only at a key: that one
        // says it (where a `# plumb-allow` may already stand)
        let coarse = (reported.iter())
            .zip(&own)
            .position(|(d, taken)| !taken && d.primary.at.file == file && d.message == message);
        if let Some(i) = coarse {
            own[i] = true;
            continue;
        }
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), *at, message)
                .with_label("a credential in the source")
                .with_help(ROTATE_IN_YAML),
        );
    }
    out
}

/// The names of PostgreSQL's images (`postgres`, `postgis/postgis`, `timescale/…`).
const POSTGRES_IMAGES: &[&str] = &["postgres", "postgis", "timescale"];

/// The names of MySQL's images and its forks'.
const MYSQL_IMAGES: &[&str] = &["mysql", "mariadb", "percona"];

/// The variables a database's container image sets its password from, and the names
/// its images have (`postgres:16`, `postgis/postgis`, `bitnami/postgresql`).
const SERVICE_PASSWORDS: &[(&str, &[&str])] = &[
    ("POSTGRES_PASSWORD", POSTGRES_IMAGES),
    // Bitnami's images name theirs after the product
    ("POSTGRESQL_PASSWORD", &["postgres"]),
    ("POSTGRESQL_POSTGRES_PASSWORD", &["postgres"]),
    ("MONGODB_ROOT_PASSWORD", &["mongo"]),
    ("MONGODB_PASSWORD", &["mongo"]),
    ("RABBITMQ_PASSWORD", &["rabbitmq"]),
    ("CLICKHOUSE_PASSWORD", &["clickhouse"]),
    ("MYSQL_PASSWORD", MYSQL_IMAGES),
    ("MYSQL_ROOT_PASSWORD", MYSQL_IMAGES),
    ("MARIADB_PASSWORD", &["mariadb"]),
    ("MARIADB_ROOT_PASSWORD", &["mariadb"]),
    ("MONGO_INITDB_ROOT_PASSWORD", &["mongo"]),
    ("RABBITMQ_DEFAULT_PASS", &["rabbitmq"]),
    ("REDIS_PASSWORD", &["redis"]),
    ("MSSQL_SA_PASSWORD", &["mssql"]),
    ("SA_PASSWORD", &["mssql"]),
    ("ELASTIC_PASSWORD", &["elasticsearch"]),
    ("MINIO_ROOT_PASSWORD", &["minio"]),
    // `NEO4J_AUTH: neo4j/PASSWORD`
    ("NEO4J_AUTH", &["neo4j"]),
    ("COUCHDB_PASSWORD", &["couchdb"]),
    ("ARANGO_ROOT_PASSWORD", &["arangodb"]),
    ("DOCKER_INFLUXDB_INIT_PASSWORD", &["influxdb"]),
    ("KEYCLOAK_ADMIN_PASSWORD", &["keycloak"]),
];

/// The passwords a service's image starts with when none is given: (images, password).
const SERVICE_DEFAULT_PASSWORDS: &[(&[&str], &str)] = &[(&["rabbitmq"], "guest")];

/// The passwords jobs give their own throwaway database (a service started for the job,
/// reached only from it, gone with it: GitLab's documented pattern,
/// `services: [postgres:16]` with `POSTGRES_PASSWORD: ci-only`): (variable, literal)
/// for a database password variable that a job with that database as a service sets,
/// in its `env`, the pipeline's, or the service's own; and the host names those
/// services answer at (an alias, `postgres` for `postgres:16`, `localhost`). No one's
/// credential: not reported, there or as the password of a URL to one of those hosts
/// (`postgres://app:ci-only@postgres/test`; one to another host is someone's).
fn throwaway_passwords<'m>(cx: &FileCx<'m>) -> Throwaways<'m> {
    let mut found = Throwaways {
        passwords: std::collections::HashSet::new(),
        places: std::collections::HashSet::new(),
        hosts: LOCAL_HOSTS.map(String::from).to_vec(),
        copies: std::collections::HashSet::new(),
        spoiled: std::collections::HashSet::new(),
    };
    for p in &cx.model.pipelines {
        let jobs: Vec<&plumb_semantics::JobModel> = p.jobs_and_included_default().collect();
        let services_of: Vec<_> = jobs.iter().map(|j| database_services(j)).collect();
        // the pipeline's binding reaches every job: a throwaway only when each job whose
        // script reads it runs that database too (a deploy job that connects elsewhere
        // with it makes it someone's); decided once for the pipeline
        let pipeline_wide: Vec<&plumb_semantics::EnvBinding> = (p.env.iter())
            .filter(|b| {
                database_of(&b.name).is_some_and(|names| {
                    (jobs.iter().zip(&services_of)).all(|(j, services)| {
                        !reads_by_name(j, &b.name) || runs_database(services, names)
                    })
                })
            })
            .collect();
        for (job, services) in jobs.iter().zip(&services_of) {
            found.of_job(job, services, (&p.env, &pipeline_wide));
        }
        // the pipeline's client variable, when every job runs that database
        let pipeline_passwords: Vec<&str> = (pipeline_wide.iter())
            .filter_map(|b| b.value.as_str())
            .collect();
        let bindings: Vec<&plumb_semantics::EnvBinding> = p.env.iter().collect();
        let every_job_runs = |names: &[&str]| services_of.iter().all(|s| runs_database(s, names));
        (found.copies).extend(copies_of(&bindings, &pipeline_passwords, every_job_runs));
    }
    // a template no job is built on is a job of its own
    for t in &cx.model.templates {
        found.of_job(t, &database_services(t), (&[], &[]));
    }
    let spoiled = std::mem::take(&mut found.spoiled);
    found.copies.retain(|o| !spoiled.contains(o));
    found
}

/// The places of the client password variables (`PGPASSWORD`) among `bindings`, and of
/// the application's copies (`SPRING_DATASOURCE_PASSWORD`, `DB_PASSWORD`).
fn client_bindings(bindings: &[&plumb_semantics::EnvBinding]) -> Vec<FileRange> {
    (bindings.iter())
        .filter(|b| {
            CLIENT_PASSWORDS.iter().any(|(var, _)| *var == b.name)
                || names_a_database(&b.name).is_some()
        })
        .map(|b| b.value.origin)
        .collect()
}

/// The databases a variable's name says it is about (`SPRING_DATASOURCE_PASSWORD`,
/// `DB_PASSWORD`: any; `TEST_POSTGRES_PASS`: PostgreSQL's): given the password of the
/// job's own database service of those, it is the application's copy of it. Not a
/// name that says it is another environment's (`PROD_DB_PASSWORD`).
fn names_a_database(name: &str) -> Option<&'static [&'static str]> {
    const ANY: &[&str] = &[
        "postgres",
        "postgis",
        "timescale",
        "mysql",
        "mariadb",
        "percona",
        "mongo",
        "redis",
        "mssql",
    ];
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').collect();
    let elsewhere = ["PROD", "PRODUCTION", "LIVE", "STAGING", "STAGE", "REMOTE"];
    if words.iter().any(|w| elsewhere.contains(w)) {
        return None;
    }
    words.iter().find_map(|w| match *w {
        "DB" | "DATABASE" | "DATASOURCE" | "SQL" => Some(ANY),
        "POSTGRES" | "POSTGRESQL" | "PG" => Some(POSTGRES_IMAGES),
        "MYSQL" | "MARIADB" => Some(MYSQL_IMAGES),
        "MONGO" | "MONGODB" => Some(&["mongo"][..]),
        "REDIS" => Some(&["redis"][..]),
        _ => None,
    })
}

/// What [`throwaway_passwords`] finds.
struct Throwaways<'m> {
    passwords: ThrowawayPasswords<'m>,
    /// Where those passwords are given to the database a job runs: another job's
    /// literal of the same text (a deploy's `POSTGRES_PASSWORD`) is someone's.
    places: std::collections::HashSet<FileRange>,
    hosts: Vec<String>,
    /// The literals (by place) that give a job's throwaway password to that database's
    /// client (`PGPASSWORD`) in the job that runs it.
    copies: std::collections::HashSet<FileRange>,
    /// The client variables' literals that some job gives another database or none.
    spoiled: std::collections::HashSet<FileRange>,
}

impl<'m> Throwaways<'m> {
    /// Whether the literal `value` (by its place) gives a job's throwaway database its password
    /// or that database's client a copy of it.
    fn holds(&self, value: &Value) -> bool {
        self.places.contains(&value.origin) || self.copies.contains(&value.origin)
    }

    /// The throwaway passwords of one job with its database `services`, given its
    /// pipeline's `env` and the bindings of it that are throwaways for every job.
    fn of_job(
        &mut self,
        job: &'m plumb_semantics::JobModel,
        services: &[(String, Vec<String>)],
        (pipeline_env, pipeline_wide): (
            &[plumb_semantics::EnvBinding],
            &[&'m plumb_semantics::EnvBinding],
        ),
    ) {
        let runs = |names: &[&str]| runs_database(services, names);
        // (a job's `env` holds the pipeline's bindings too: those are decided for it)
        let own: Vec<&plumb_semantics::EnvBinding> = (job.env.iter())
            .filter(|b| {
                !pipeline_env
                    .iter()
                    .any(|pb| pb.value.origin == b.value.origin)
            })
            .collect();
        let bindings = (pipeline_wide.iter().chain(&own))
            .map(|b| (b.name.as_str(), &b.value))
            .chain(services_env(job).into_iter().map(|(n, _, v)| (n, v)));
        let mut passwords = Vec::new();
        let hosts = own_hosts(services);
        for (name, value) in bindings {
            if let (Some(names), Some(text)) = (database_of(name), value.as_str()) {
                // `postgres://app:$POSTGRES_PASSWORD@prod-db/app`: someone's after all
                if runs(names) && !sent_elsewhere(job, name, &hosts) {
                    self.passwords.insert((name, text));
                    self.places.insert(value.origin);
                    passwords.push(text);
                }
            }
        }
        // a client variable a template or `default` gives many jobs is a copy only
        // where every one of them runs that database with that password
        let clients = client_bindings(&own);
        let mut copies = copies_of(&own, &passwords, runs);
        // `postgres://app:$DB_PASSWORD@prod-db.example.com/app`: someone's after all
        let sent = |origin: &FileRange| {
            (own.iter()).any(|b| b.value.origin == *origin && sent_elsewhere(job, &b.name, &hosts))
        };
        copies.retain(|o| !sent(o));
        (self.spoiled).extend(clients.into_iter().filter(|o| !copies.contains(o)));
        self.copies.extend(copies);
        // a service's own default (RabbitMQ's `guest:guest`, which it accepts only
        // from the job it runs beside)
        for (names, password) in SERVICE_DEFAULT_PASSWORDS {
            if runs(names) {
                self.passwords.insert(("", password));
            }
        }
        (self.hosts).extend(services.iter().flat_map(|(_, names)| names.iter().cloned()));
    }
}

/// The variables a database's client reads its password from, and the names of that
/// database's images (as [`SERVICE_PASSWORDS`]).
const CLIENT_PASSWORDS: &[(&str, &[&str])] = &[
    ("PGPASSWORD", POSTGRES_IMAGES),
    ("MYSQL_PWD", MYSQL_IMAGES),
    ("REDISCLI_AUTH", &["redis"]),
];

/// The places of the bindings that give the throwaway `passwords` to the client of a
/// database that `runs` (`PGPASSWORD: ci-only` beside `POSTGRES_PASSWORD: ci-only`), or
/// to the application as a database's (`SPRING_DATASOURCE_PASSWORD: ci-only`): the same
/// password, no one's either. Another variable with that value is not one.
fn copies_of(
    bindings: &[&plumb_semantics::EnvBinding],
    passwords: &[&str],
    runs: impl Fn(&[&str]) -> bool,
) -> Vec<FileRange> {
    let client = |name: &str| {
        (CLIENT_PASSWORDS.iter()).any(|(var, names)| *var == name && runs(names))
            || names_a_database(name).is_some_and(&runs)
    };
    (bindings.iter())
        .filter(|b| client(&b.name) && b.value.as_str().is_some_and(|t| passwords.contains(&t)))
        .map(|b| b.value.origin)
        .collect()
}

/// Whether `url` (`scheme://user:password@host…`) is that of a database the job runs
/// as a service, with the password the job gives it.
fn to_own_database(job: &plumb_semantics::JobModel, url: &str) -> bool {
    let Some((credentials, rest)) = url.split_once('@') else {
        return false;
    };
    let password = credentials.rsplit(':').next().unwrap_or("");
    let host = url_host(rest);
    let services = database_services(job);
    let bindings = (job.env.iter().map(|b| (b.name.as_str(), &b.value)))
        .chain(services_env(job).into_iter().map(|(n, _, v)| (n, v)));
    let given = |(name, value): (&str, &Value)| {
        database_of(name).is_some_and(|names| runs_database(&services, names))
            && value.as_str() == Some(password)
    };
    let local = LOCAL_HOSTS.contains(&host.as_str());
    let at_service = services.iter().any(|(_, names)| names.contains(&host));
    (local || at_service) && bindings.into_iter().any(given)
}

/// The passwords `job` gives the databases it runs as services (`POSTGRES_PASSWORD:
/// ci-only` beside `postgres:16`) and their images' defaults (RabbitMQ's `guest`),
/// each with the names of that database's images; and the host names they answer at.
fn own_database_passwords(job: &plumb_semantics::JobModel) -> OwnDatabases<'_> {
    let services = database_services(job);
    let bindings = (job.env.iter().map(|b| (b.name.as_str(), &b.value)))
        .chain(services_env(job).into_iter().map(|(n, _, v)| (n, v)));
    let given = bindings.filter_map(|(name, value)| {
        let names = database_of(name)?;
        let password = value.as_str().filter(|_| runs_database(&services, names))?;
        Some((names, password))
    });
    let defaults = (SERVICE_DEFAULT_PASSWORDS.iter())
        .filter(|(names, _)| runs_database(&services, names))
        .map(|(names, password)| (*names, *password));
    let passwords = given.chain(defaults).collect();
    let hosts = own_hosts(&services);
    OwnDatabases { passwords, hosts }
}

/// What [`own_database_passwords`] finds.
struct OwnDatabases<'m> {
    passwords: Vec<(&'static [&'static str], &'m str)>,
    hosts: Vec<String>,
}

impl OwnDatabases<'_> {
    /// Whether `password` is the one the job gives a database of `names` it runs.
    fn gives(&self, names: &[&str], password: &str) -> bool {
        (self.passwords.iter())
            .any(|(own, p)| *p == password && own.iter().any(|n| names.contains(n)))
    }

    /// `PGPASSWORD=ci-only` (or `POSTGRES_PASSWORD`) set in the script to the password
    /// the job gives its own `postgres` service.
    fn assigned(&self, name: &str, value: &str) -> bool {
        let client = (CLIENT_PASSWORDS.iter())
            .find(|(var, _)| *var == name)
            .map(|(_, names)| *names);
        database_of(name)
            .or(client)
            .is_some_and(|names| self.gives(names, value))
    }

    /// `redis-cli -h redis -a ci-only`: that database's client, given the password of
    /// the job's own service, to that service (or the job's machine, or no host named).
    fn given_to_client(&self, cmd: &shell::Command, program: &str, password: &str) -> bool {
        let Some((_, names)) = DATABASE_CLIENTS.iter().find(|(p, _)| *p == program) else {
            return false;
        };
        self.to_own_host(cmd) && self.gives(names, password)
    }

    /// Whether a database client connects to the job's own service, its machine, or
    /// names no host (`psql -h postgres`; not `psql -h prod-db.example.com`).
    fn to_own_host(&self, cmd: &shell::Command) -> bool {
        let args = cmd.args();
        let client = cmd.name().is_some_and(|p| {
            DATABASE_CLIENTS
                .iter()
                .any(|(c, _)| *c == crate::supply::base(p))
        });
        let host = args
            .iter()
            .enumerate()
            .find_map(|(i, a)| match a.text.as_str() {
                "-h" | "--host" => args.get(i + 1).map(|h| h.text.as_str()),
                t => (t.strip_prefix("--host="))
                    .or_else(|| t.strip_prefix("-h").filter(|h| !h.is_empty())),
            });
        !client || host.is_none_or(|h| self.hosts.contains(&url_host(h)))
    }
}

/// Database clients, and the names of their databases' images (as [`SERVICE_PASSWORDS`]).
const DATABASE_CLIENTS: &[(&str, &[&str])] = &[
    ("psql", POSTGRES_IMAGES),
    ("pg_dump", POSTGRES_IMAGES),
    ("pg_isready", POSTGRES_IMAGES),
    ("mysql", MYSQL_IMAGES),
    ("mysqladmin", MYSQL_IMAGES),
    ("mysqldump", MYSQL_IMAGES),
    ("mariadb", &["mariadb"]),
    ("redis-cli", &["redis"]),
    ("mongosh", &["mongo"]),
    ("mongo", &["mongo"]),
];

/// The host names a job reaches its own database `services` at: theirs, and its own
/// machine's.
fn own_hosts(services: &[(String, Vec<String>)]) -> Vec<String> {
    (services.iter().flat_map(|(_, names)| names.iter().cloned()))
        .chain(LOCAL_HOSTS.map(String::from))
        .collect()
}

/// The host names that reach the job's own machine, and a service it runs.
const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The host of a URL's text after its `user:password@`, in lower case.
fn url_host(after_at: &str) -> String {
    (after_at.split(['/', ':', '?', '#', '"', '\'', ' ']).next())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The names of the database images whose password `variable` sets (as
/// [`SERVICE_PASSWORDS`]).
fn database_of(variable: &str) -> Option<&'static [&'static str]> {
    (SERVICE_PASSWORDS.iter())
        .find(|(var, _)| *var == variable)
        .map(|(_, names)| *names)
}

/// Whether one of `services` (repository paths) is a database of `names`: its image's
/// name is one of them, or one with a suffix its publishers use (`postgresql`,
/// `timescaledb`, `mssql/server`), from any registry or namespace (`bitnami/…`); not an
/// image that only starts so (`postgres-exporter`, `postgrest`).
fn runs_database(services: &[(String, Vec<String>)], names: &[&str]) -> bool {
    let is = |repository: &str, n: &str| {
        let mut parts = repository.rsplit('/');
        let last = parts.next().unwrap_or(repository);
        let suffixed = ["", "ql", "db", "-server"]
            .iter()
            .any(|s| last == format!("{n}{s}"));
        suffixed || (last == "server" && parts.next() == Some(n))
    };
    (services.iter()).any(|(repository, _)| names.iter().any(|n| is(repository, n)))
}

/// Whether a job's script reads the variable `name` (`$NAME`, `${NAME}`).
fn reads_by_name(job: &plumb_semantics::JobModel, name: &str) -> bool {
    (job.script().iter()).any(|(line, _)| plumb_semantics::names_variable(line, name))
}

/// Whether the job's script or `env` puts the variable `name` in a URL to a host
/// other than `hosts` (`postgres://app:$POSTGRES_PASSWORD@prod-db.example.com/app`).
fn sent_elsewhere(job: &plumb_semantics::JobModel, name: &str, hosts: &[String]) -> bool {
    let script = job.script();
    let lines = (script.iter().map(|(line, _)| line.as_ref()))
        .chain(job.env.iter().filter_map(|b| b.value.as_str()));
    let written = [format!("${name}@"), format!("${{{name}}}@")];
    lines.into_iter().any(|line: &str| {
        written.iter().any(|w| {
            line.match_indices(w.as_str()).any(|(at, m)| {
                let host = url_host(&line[at + m.len()..]);
                !host.is_empty() && !host.starts_with('$') && !hosts.contains(&host)
            })
        })
    })
}

/// (variable, literal) pairs of [`throwaway_passwords`].
type ThrowawayPasswords<'m> = std::collections::HashSet<(&'m str, &'m str)>;

/// A job's services: each image's repository path (`bitnami/postgresql` for
/// `bitnami/postgresql:16`), and the host names GitLab gives it (its alias, else the
/// repository with `/` as `-` and as `__`, and its last part), lower case.
fn database_services(job: &plumb_semantics::JobModel) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (image, alias) in job.service_names() {
        // parsed as the image rules parse it (a registry's port is no tag)
        let Ok(parsed) = crate::image_ref::parse(&image.to_ascii_lowercase()) else {
            continue;
        };
        let repository = match &parsed.registry {
            Some(registry) => format!("{registry}/{}", parsed.path),
            None => parsed.path.clone(),
        };
        let last = (parsed.path.rsplit('/').next())
            .unwrap_or(&parsed.path)
            .to_string();
        let hosts = match alias {
            Some(alias) => alias
                .split(',')
                .map(|a| a.trim().to_ascii_lowercase())
                .collect(),
            None => vec![
                repository.replace('/', "-"),
                repository.replace('/', "__"),
                last.clone(),
            ],
        };
        out.push((parsed.path.clone(), hosts));
    }
    out
}

/// The variables of a job's services (`services = [{ image, env = { … } }]`), which
/// GitLab passes to the service's container.
fn services_env(job: &plumb_semantics::JobModel) -> Vec<(&str, FileRange, &Value)> {
    (job.services().iter())
        .filter_map(Value::as_map)
        .flat_map(|service| service.iter().filter(|e| e.key == "env"))
        .filter_map(|env| env.value.as_map())
        .flatten()
        .map(|e| (e.key.as_str(), e.key_at, &e.value))
        .collect()
}

/// The values of a job's `matrix` (`matrix = { API_TOKEN = ["…"] }`): each becomes the
/// variable of one of its jobs.
fn matrix_env(job: &plumb_semantics::JobModel) -> Vec<(&str, FileRange, &Value)> {
    let entries = job.field("matrix").and_then(|f| f.value.as_map());
    (entries.into_iter().flatten())
        .flat_map(|e| {
            let values = e.value.as_list().unwrap_or_default();
            values.iter().map(move |v| (e.key.as_str(), e.key_at, v))
        })
        .collect()
}

/// The values of a GitLab matrix of several entries, passed through
/// (`gitlab = { parallel = { matrix = [{ DB_PASSWORD = ["…"] }, …] } }`).
fn gitlab_matrix_env(job: &plumb_semantics::JobModel) -> Vec<(&str, FileRange, &Value)> {
    let gitlab = job.field("gitlab").and_then(|f| f.value.as_map());
    let matrix = (gitlab.into_iter().flatten())
        .filter(|e| e.key == "parallel")
        .filter_map(|e| e.value.as_map())
        .flatten()
        .filter(|e| e.key == "matrix")
        .filter_map(|e| e.value.as_list());
    (matrix.flatten())
        .filter_map(Value::as_map)
        .flatten()
        .flat_map(|e| {
            let values = match e.value.as_list() {
                Some(list) => list.iter().collect(),
                None => vec![&e.value],
            };
            values
                .into_iter()
                .map(move |v| (e.key.as_str(), e.key_at, v))
        })
        .collect()
}

/// The `variables` that a pipeline's `gitlab = { sast = { variables = { … } } }` gives a
/// job of an included file (a value, or `{ value = … }`).
fn included_jobs_env(p: &plumb_semantics::PipelineModel) -> Vec<(&str, FileRange, &Value)> {
    let gitlab = p.field("gitlab").and_then(|f| f.value.as_map());
    // every record but `workflow`, refused names too: a credential is one wherever it is
    (gitlab.into_iter().flatten())
        .filter(|job| job.key != "workflow")
        .filter_map(|job| job.value.as_map())
        .flatten()
        .filter(|e| e.key == "variables")
        .filter_map(|e| e.value.as_map())
        .flatten()
        .map(|v| {
            let value = (v.value.as_map().into_iter().flatten())
                .find(|e| e.key == "value")
                .map_or(&v.value, |e| &e.value);
            (v.key.as_str(), v.key_at, value)
        })
        .collect()
}

/// A password argument that is `$NAME`, where `env` sets `NAME` to a literal: the
/// literal is the password (reported at it; a credential name is reported there anyway).
fn password_through_variable(
    cx: &JobCx,
    name: &str,
    argument: FileRange,
    out: &mut Vec<Diagnostic>,
) {
    let Some(binding) = cx.job.env.iter().find(|b| b.name == name) else {
        return;
    };
    let ValueKind::Str(text) = &binding.value.kind else {
        return;
    };
    let written = cx
        .sources
        .literal(binding.value.origin)
        .unwrap_or(text.as_str());
    if secret_patterns::credential_name(name)
        || written.contains('$')
        || !secret_patterns::is_literal_credential(text)
        || !secret_patterns::find(text).is_empty()
    {
        return;
    }
    out.push(
        Diagnostic::new(RULE.code, RULE.severity(), binding.value.origin, format!("hard-coded credential: `{name}` holds a literal that the script passes as a password"))
            .with_label("a password in the source")
            .with_secondary(argument, format!("`${name}` is passed as the password here"))
            .with_help(format!("declare a secret and bind it: `secret {secret} = ci_variable(\"{name}\")`, then `{name} = {secret}`; pass it on standard input (`--password-stdin`)", secret = name.to_lowercase()))
            .with_yaml_help(format!("rotate it, then delete `{name}` from the file and keep it in a masked CI/CD variable (Settings > CI/CD > Variables); pass it on standard input (`--password-stdin`)")),
    );
}

/// `NAME = "literal"` where the name says it holds a credential.
fn literal_credential_variable(
    cx: &FileCx,
    name: &str,
    name_at: FileRange,
    value: &Value,
    out: &mut Vec<Diagnostic>,
) {
    let ValueKind::Str(text) = &value.kind else {
        return;
    };
    if value.origin.file != cx.file
        || !secret_patterns::credential_name(name)
        || !secret_patterns::is_literal_credential(text)
        || secret_patterns::names_a_secret_object(name, text)
        // a pattern the literal scan knows was reported there, with its kind
        || !secret_patterns::find(text).is_empty()
    {
        return;
    }
    let secret = name.to_lowercase();
    out.push(
        Diagnostic::new(RULE.code, RULE.severity(), value.origin, format!("hard-coded credential: `{name}` is set to a literal value"))
            .with_label("a credential in the source")
            .with_secondary(name_at, "the variable's name says it holds a credential")
            .with_help(format!("declare a secret and bind it: `secret {secret} = ci_variable(\"{name}\")`, then `{name} = {secret}`"))
            .with_yaml_help(format!("rotate it, then delete `{name}` from the file and keep it in a masked CI/CD variable (Settings > CI/CD > Variables)")),
    );
}
fn check_job(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    for (text, origin) in evaluated_strings(cx.job) {
        interpolated_credentials(cx, text, origin, out);
    }
    expanded_credentials(cx, out);
    let throwaway = own_database_passwords(cx.job);
    for script in cx.scripts() {
        let locate = Locator::new(cx.sources, script.text, script.origin);
        literal_piped_passwords(&script.commands, script.text, &locate, out);
        for cmd in &script.commands {
            literal_assignments(cmd, (script.text, &throwaway), &locate, out);
            split_tokens(cmd, script.text, &locate, out);
            literal_password_argument(cmd, (&locate, &throwaway), cx, out);
            literal_user_password(cmd, &locate, out);
            literal_setting_argument(cmd, script.text, &locate, out);
        }
    }
}

/// Every string value of the job after evaluation: `env` values and script lines.
fn evaluated_strings(job: &plumb_semantics::JobModel) -> Vec<(&str, FileRange)> {
    fn walk<'v>(v: &'v Value, out: &mut Vec<(&'v str, FileRange)>) {
        match &v.kind {
            ValueKind::Str(s) => out.push((s, v.origin)),
            ValueKind::List(items) => items.iter().for_each(|i| walk(i, out)),
            ValueKind::Map(entries) => entries.iter().for_each(|e| walk(&e.value, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for b in &job.env {
        walk(&b.value, &mut out);
    }
    for f in job.fields.values() {
        walk(&f.value, &mut out);
    }
    out
}

/// A credential that only the evaluated string holds: assembled by interpolation, so
/// the literal scan of the source cannot see it.
fn interpolated_credentials(cx: &JobCx, text: &str, origin: FileRange, out: &mut Vec<Diagnostic>) {
    let written = cx.sources.literal(origin);
    if written.is_some_and(|w| !w.contains("${")) {
        return; // no interpolation: the value is the literal, which the file scan read
    }
    let written = written.unwrap_or("");
    for (kind, start, end) in secret_patterns::find(text) {
        if written.contains(&text[start..end]) {
            continue; // the literal holds it: reported there by the file scan
        }
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), origin, format!("hard-coded credential: once interpolated, this string holds {kind}"))
                .with_label("builds a credential from pieces in the source")
                .with_help("rotate it now, then declare it as a secret (`secret NAME = ci_variable(\"NAME\")`) and bind it in `env`")
                .with_yaml_help(ROTATE_IN_YAML),
        );
    }
}

/// A credential that a variable holds once GitLab expands the variables it names
/// (`A: glpat-AbCd`, `TOKEN: ${A}EfGh…`): split across variables, no literal holds it.
fn expanded_credentials(cx: &JobCx, out: &mut Vec<Diagnostic>) {
    let literals: std::collections::HashMap<&str, &str> = (cx.job.env.iter())
        .filter_map(|b| Some((b.name.as_str(), b.value.as_str()?)))
        .collect();
    for b in &cx.job.env {
        let Some(text) = b.value.as_str().filter(|t| t.contains('$')) else {
            continue;
        };
        let expanded = expand_variables(text, &literals);
        for (kind, start, end) in secret_patterns::find(&expanded) {
            let found = &expanded[start..end];
            // a literal that holds it whole was reported there; the URL of the job's
            // own database, with the password it gave it, is no one's
            if literals.values().any(|l| l.contains(found))
                || (kind == secret_patterns::URL_WITH_PASSWORD
                    && to_own_database(cx.job, &expanded[start..]))
            {
                continue;
            }
            out.push(
                Diagnostic::new(RULE.code, RULE.severity(), b.value.origin, format!("hard-coded credential: once GitLab expands its variables, `{}` holds {kind}", b.name))
                    .with_label("builds a credential from variables of the source")
                    .with_help("rotate it now, then declare it as a secret (`secret NAME = ci_variable(\"NAME\")`) and bind it in `env`")
                    .with_yaml_help(ROTATE_IN_YAML),
            );
        }
    }
}

/// How long an expanded value grows before the rest is left as written.
const EXPANDED_LIMIT: usize = 64 * 1024;

/// `text` with `$NAME`/`${NAME}` replaced by the literal values of `literals`, three
/// levels deep (what GitLab expands), other names left as written.
pub(crate) fn expand_variables(
    text: &str,
    literals: &std::collections::HashMap<&str, &str>,
) -> String {
    let mut out = text.to_string();
    for _ in 0..3 {
        let mut next = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find('$') {
            next.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            // `$$` is a plain `$` to GitLab
            if let Some(plain) = after.strip_prefix('$') {
                next.push_str("$$");
                rest = plain;
                continue;
            }
            let (name, len) = match after.strip_prefix('{') {
                Some(inner) => match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let n = (after.bytes())
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                        .count();
                    (&after[..n], n)
                }
            };
            // what a credential is, not what a file built to grow without end holds
            let room = next.len() < EXPANDED_LIMIT;
            match literals.get(name).filter(|_| room) {
                Some(value) if !name.is_empty() => next.push_str(value),
                _ => next.push_str(&rest[at..at + 1 + len]),
            }
            rest = &after[len..];
        }
        next.push_str(rest);
        if next == out {
            break;
        }
        out = next;
    }
    out
}

/// `export GITLAB_TOKEN=glpat…`, `DB_PASSWORD=hunter2 ./migrate`: a literal assigned
/// to a credential name in the script.
fn literal_assignments(
    cmd: &shell::Command,
    (script, throwaway): (&str, &OwnDatabases),
    locate: &Locator,
    out: &mut Vec<Diagnostic>,
) {
    for (name, word) in cmd.environment_words() {
        let value = word.text.split_once('=').map_or("", |(_, v)| v);
        let raw_value = script[word.start..word.end]
            .split_once('=')
            .map_or("", |(_, v)| v);
        if !word.vars.is_empty() || raw_value.contains("$(") || raw_value.contains('`') {
            continue;
        }
        // a token the scan of the file saw is reported there, with its kind; one that
        // quotes split (`glpat-AbC""dEf…`) only shows once the shell joins it
        let kind = (secret_patterns::find(raw_value).is_empty())
            .then(|| secret_patterns::find(value).first().map(|(kind, ..)| *kind))
            .flatten();
        // `PGPASSWORD=ci-only psql …` beside the job's own `postgres` service
        let own_database = throwaway.assigned(name, value) && throwaway.to_own_host(cmd);
        let by_name = secret_patterns::credential_name(name)
            && secret_patterns::is_literal_credential(value)
            && !secret_patterns::names_a_secret_object(name, value)
            && secret_patterns::find(value).is_empty()
            && !own_database;
        let message = match kind {
            Some(kind) => format!(
                "hard-coded credential: the script sets `{name}` to {kind}, split by quotes"
            ),
            None if by_name => {
                format!("hard-coded credential: the script sets `{name}` to a literal value")
            }
            None => continue,
        };
        let start = word.start + name.len() + 1;
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), locate.range(start, word.end), message)
                .with_label("a credential in the source")
                .with_help(format!("declare a secret and bind it in `env` instead: `secret {} = ci_variable(\"{name}\")`, then `{name} = {}`", name.to_lowercase(), name.to_lowercase()))
                .with_yaml_help(format!("rotate it, then set `{name}` in a masked CI/CD variable (Settings > CI/CD > Variables) instead of in the script")),
        );
    }
}

/// A token that quotes split in an argument (`-H "PRIVATE-TOKEN: glpat-""AbC…"`): the
/// shell joins it, the scan of the file (which reads the quotes) does not see it. An
/// assignment's value is [`literal_assignments`]'.
fn split_tokens(cmd: &shell::Command, script: &str, locate: &Locator, out: &mut Vec<Diagnostic>) {
    for w in cmd.words.iter().filter(|w| w.quoted && w.vars.is_empty()) {
        let assignment = w.text.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
        if assignment || !secret_patterns::find(&script[w.start..w.end]).is_empty() {
            continue;
        }
        let Some((kind, ..)) = secret_patterns::find(&w.text).first().copied() else {
            continue;
        };
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), locate.range(w.start, w.end), format!("hard-coded credential: this argument is {kind} once the shell joins its quotes"))
                .with_label("a credential in the source")
                .with_help("declare a secret, bind it in `env`, and pass the variable instead")
                .with_yaml_help("rotate it, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and pass that variable"),
        );
    }
}

/// Options that make a login read its password or token on standard input.
const FROM_STDIN: &[&str] = &["--password-stdin", "--token-stdin", "--with-token"];

/// `echo "hunter2" | docker login -u ci --password-stdin …` (`printf '%s' …`, `<<<
/// "hunter2"`): the password is in the file all the same.
fn literal_piped_passwords(
    commands: &[shell::Command],
    script: &str,
    locate: &Locator,
    out: &mut Vec<Diagnostic>,
) {
    for (i, cmd) in commands.iter().enumerate() {
        if !cmd
            .args()
            .iter()
            .any(|a| FROM_STDIN.contains(&a.text.as_str()))
        {
            continue;
        }
        let program = cmd.name().map(crate::supply::base).unwrap_or("");
        let feeder =
            (i.checked_sub(1).map(|p| &commands[p])).filter(|p| cmd.piped_in && p.piped_out);
        let fed = match &cmd.here_string {
            Some(word) => Some((word.text.as_str(), word.start, word.end)),
            None => feeder
                .and_then(printed_word)
                .map(|w| (w.text.as_str(), w.start, w.end))
                .or_else(|| heredoc_word(cmd, script))
                .or_else(|| feeder.and_then(|f| heredoc_word(f, script))),
        };
        let Some((_, start, end)) = fed.filter(|(text, ..)| is_literal_password(text)) else {
            continue;
        };
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), locate.range(start, end), format!("hard-coded credential: `{program}` reads a literal password on standard input"))
                .with_label("a credential in the source")
                .with_help("declare a secret, bind it in `env` and send the variable: `echo \"$NAME\" | … --password-stdin`")
                .with_yaml_help("rotate it, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and send that: `echo \"$NAME\" | … --password-stdin`"),
        );
    }
}

/// The one word `echo` or `printf` prints (`printf '%s'`'s argument, not its format;
/// a format with no `%` or `\` is printed as it is).
fn printed_word(printer: &shell::Command) -> Option<&shell::Word> {
    let name = printer.name().map(crate::supply::base)?;
    let args: Vec<&shell::Word> = printer
        .args()
        .iter()
        .filter(|a| !a.text.starts_with('-'))
        .collect();
    match (name, args.as_slice()) {
        ("echo", [word]) => Some(word),
        ("printf", [format, word]) if format.text.contains('%') => Some(word),
        ("printf", [word]) if !word.text.contains(['%', '\\']) => Some(word),
        _ => None,
    }
}

/// A here-doc of one line holding one word (`docker login --password-stdin r <<EOF`,
/// `hunter2`, `EOF`): the word and where it is in `script`.
fn heredoc_word<'s>(cmd: &shell::Command, script: &'s str) -> Option<(&'s str, usize, usize)> {
    let body = cmd.heredoc_text.as_str();
    let first = cmd.words.first()?;
    let at = first.start + script.get(first.start..)?.find(body)?;
    let line = body.lines().next()?;
    let word = line.trim();
    // its one line, then the delimiter's
    let only_line = body.lines().filter(|l| !l.trim().is_empty()).count() == 2;
    let start = at + line.find(word)?;
    (only_line && !word.is_empty() && !word.contains(char::is_whitespace)).then(|| {
        (
            &script[start..start + word.len()],
            start,
            start + word.len(),
        )
    })
}

/// A word written whole in the file that a credential check takes for a password (a
/// token the literal scan knows is reported there, with its kind).
fn is_literal_password(text: &str) -> bool {
    !text.contains('$')
        && !text.contains(char::is_whitespace)
        && secret_patterns::is_literal_credential(text)
        && secret_patterns::find(text).is_empty()
}

/// `docker login -p hunter2`, `mysql -phunter2`, `--password=hunter2`, `gpg --passphrase
/// hunter2`, `kubectl --token=…`, `htpasswd -b f admin hunter2` (the operands of
/// [`password_options`]); and `--password=$docker_pwd` where the job's `env` sets
/// `docker_pwd` to a literal (a name that says nothing, which the variable check does
/// not read).
fn literal_password_argument(
    cmd: &shell::Command,
    (locate, throwaway): (&Locator, &OwnDatabases),
    cx: &JobCx,
    out: &mut Vec<Diagnostic>,
) {
    let program = cmd.name().map(crate::supply::base).unwrap_or("");
    for operand in password_options::password_operands(program, cmd.args()) {
        let (value, text) = (operand.word, operand.text);
        if let [var] = value.vars.as_slice() {
            let whole = text == format!("${}", var.name) || text == format!("${{{}}}", var.name);
            if whole {
                password_through_variable(cx, &var.name, locate.range(value.start, value.end), out);
            }
            continue;
        }
        if !value.vars.is_empty()
            || text.starts_with('-')
            || text.contains("$(")
            || !secret_patterns::is_literal_credential(text)
            // a token the literal scan knows is reported there, with its kind
            || !secret_patterns::find(text).is_empty()
            // `redis-cli -a ci-only` to the job's own `redis` service
            || throwaway.given_to_client(cmd, program, text)
        {
            continue;
        }
        let option = operand.option;
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), locate.range(value.start, value.end), format!("hard-coded credential: `{program}` is given a literal password or token on the command line (`{option}`)"))
                .with_label("a credential in the source")
                .with_help("declare a secret, bind it in `env` and give it on standard input or in a file (`--password-stdin`, `--passphrase-fd 0`, `-pass env:NAME`)")
                .with_yaml_help("rotate it, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and give it on standard input or in a file (`--password-stdin`, `--passphrase-fd 0`, `-pass env:NAME`)"),
        );
    }
}

/// The programs whose `-u`/`--user` takes `user:password` (curl's proxy's too).
const USER_PASSWORD: &[(&str, &[&str])] = &[("curl", &["-u", "--user", "-U", "--proxy-user"])];

/// `curl -u admin:hunter2` (`--user`, `-uadmin:hunter2`, `--user=…`): a literal password
/// after the user's name.
fn literal_user_password(cmd: &shell::Command, locate: &Locator, out: &mut Vec<Diagnostic>) {
    let program = cmd.name().map(crate::supply::base).unwrap_or("");
    let Some((_, options)) = USER_PASSWORD.iter().find(|(p, _)| *p == program) else {
        return;
    };
    let args = cmd.args();
    // short options grouped, the last taking the value (`curl -su user:password`)
    let grouped = |text: &str| {
        let letters = text
            .strip_prefix('-')
            .filter(|l| l.len() > 1 && !l.starts_with('-'))?;
        let last = letters.chars().last()?;
        (letters.chars().all(|c| c.is_ascii_alphabetic())
            && options.contains(&format!("-{last}").as_str()))
        .then_some(())
    };
    for (i, arg) in args.iter().enumerate() {
        let value = if options.contains(&arg.text.as_str()) || grouped(&arg.text).is_some() {
            args.get(i + 1).map(|a| (a, a.text.as_str()))
        } else {
            let joined = |o: &&str| {
                let rest = arg.text.strip_prefix(*o)?;
                if o.starts_with("--") {
                    rest.strip_prefix('=')
                } else {
                    Some(rest)
                }
            };
            (options.iter().find_map(joined))
                .filter(|r| !r.is_empty())
                .map(|r| (arg, r))
        };
        let Some((word, text)) = value else { continue };
        let Some((user, password)) = text.split_once(':') else {
            continue;
        };
        if user.is_empty()
            || !word.vars.is_empty()
            || password.contains("$(")
            || !secret_patterns::is_literal_credential(password)
        {
            continue;
        }
        out.push(
            Diagnostic::new(RULE.code, RULE.severity(), locate.range(word.start, word.end), format!("hard-coded credential: `{program}` is given a literal password for user `{user}`"))
                .with_label("a password in the source")
                .with_help("declare a secret, bind it in `env`, and give it in a file the program reads (`curl --netrc-file`, `-K config`)")
                .with_yaml_help("rotate it, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and give it in a file the program reads (`curl --netrc-file`, `-K config`)"),
        );
    }
}

/// The options that hand a program a `KEY=VALUE` setting on the command line, the
/// programs that read them so (`grep -e` is a pattern, not a setting), and how to give
/// the value without writing it (or showing it in process listings).
const SETTING_OPTIONS: &[(&str, &[&str], &str)] = &[
    ("--set", &["helm", "helmfile"], HELM_FILE),
    ("--set-string", &["helm", "helmfile"], HELM_FILE),
    (
        "--from-literal",
        &["kubectl", "oc"],
        "`--from-file=KEY=PATH` or `--from-env-file=PATH`",
    ),
    (
        "--build-arg",
        &["docker", "podman", "buildah", "executor", "nerdctl"],
        "a build secret (`--secret id=NAME,env=NAME`)",
    ),
    ("-e", &["docker", "podman", "nerdctl"], DOCKER_ENV),
    ("--env", &["docker", "podman", "nerdctl"], DOCKER_ENV),
    (
        "-var",
        &["terraform", "tofu"],
        "the environment (`TF_VAR_NAME`)",
    ),
    ("-F", CURL, CURL_FILE),
    ("--form", CURL, CURL_FILE),
    ("--form-string", CURL, CURL_FILE),
    ("-d", CURL, CURL_FILE),
    ("--data", CURL, CURL_FILE),
    ("--data-raw", CURL, CURL_FILE),
    ("--data-urlencode", CURL, CURL_FILE),
    ("-e", ANSIBLE, ANSIBLE_FILE),
    ("--extra-vars", ANSIBLE, ANSIBLE_FILE),
];

const CURL: &[&str] = &["curl"];
const CURL_FILE: &str = "a file (`-F token=<file`, `--data @file`) or standard input (`--data @-`)";
const ANSIBLE: &[&str] = &["ansible", "ansible-playbook"];
const ANSIBLE_FILE: &str = "a vars file (`-e @vars.yml`, ansible-vault)";

/// What separates several settings in one argument: helm's `--set a=1,b=2`, a form's
/// `a=1&b=2`, ansible's `a=1 b=2`.
fn setting_separator(option: &str) -> Option<char> {
    match option {
        "--set" | "--set-string" => Some(','),
        "-d" | "--data" | "--data-raw" | "--data-urlencode" => Some('&'),
        "--extra-vars" => Some(' '),
        _ => None,
    }
}

const HELM_FILE: &str = "a values file or `--set-file KEY=PATH`";
const DOCKER_ENV: &str = "the job's environment (`-e NAME` with no value passes it on)";

/// `helm upgrade --set auth.password=hunter2`, `kubectl create secret generic x
/// --from-literal=token=abc123`, `docker run -e DB_PASSWORD=s3cret`: a literal given to a
/// setting whose name says it is a credential.
fn literal_setting_argument(
    cmd: &shell::Command,
    script: &str,
    locate: &Locator,
    out: &mut Vec<Diagnostic>,
) {
    let Some(program) = cmd.name().map(crate::supply::base) else {
        return;
    };
    let args = cmd.args();
    for i in 0..args.len() {
        let Some((option, setting, give)) = setting_operand(program, args, i) else {
            continue;
        };
        // several settings in one argument: `--set a=1,b=2`, `-d 'a=1&b=2'`
        let ansible = option == "-e" && ANSIBLE.contains(&program);
        let separator = setting_separator(option).or(ansible.then_some(' '));
        let settings: Vec<&str> = match separator {
            Some(c) => setting.split(c).collect(),
            None => vec![setting],
        };
        // `-F password=@pw.txt`/`<pw.txt` uploads a file; `{{ vault_pw }}` is a template
        let from_elsewhere = |v: &str| v.starts_with(['@', '<']) || v.contains("{{");
        if settings.iter().any(|s| s.contains("{{")) {
            continue;
        }
        for (key, value) in settings.iter().filter_map(|s| s.split_once('=')) {
            if from_elsewhere(value) {
                continue;
            }
            if !literal_credential_setting(key, value, &setting_word(args, i).vars) {
                continue;
            }
            let word = setting_word(args, i);
            let raw = &script[word.start..word.end];
            let at = match raw.find(value).filter(|_| !value.is_empty()) {
                Some(offset) => {
                    locate.range(word.start + offset, word.start + offset + value.len())
                }
                None => locate.range(word.start, word.end),
            };
            out.push(
                Diagnostic::new(RULE.code, RULE.severity(), at, format!("hard-coded credential: `{option}` sets `{key}` to a literal value"))
                    .with_label("a credential in the source")
                    .with_help(format!("declare a secret, bind it in `env` and give it through {give}"))
                    .with_yaml_help(format!("rotate it, then keep it in a masked CI/CD variable (Settings > CI/CD > Variables) and give it through {give}")),
            );
        }
    }
}

/// The option at `args[i]`, the `KEY=VALUE` text it takes (`--set k=v` or `--set=k=v`)
/// and how to give a credential to it instead.
fn setting_operand<'a>(
    program: &str,
    args: &'a [shell::Word],
    i: usize,
) -> Option<(&'a str, &'a str, &'static str)> {
    let text = args[i].text.as_str();
    let (option, joined) = match text.split_once('=') {
        Some((o, v)) if o.starts_with('-') => (o, Some(v)),
        _ => (text, None),
    };
    let (_, _, give) = (SETTING_OPTIONS.iter())
        .find(|(o, programs, _)| *o == option && programs.contains(&program))?;
    match joined {
        Some(setting) => Some((option, setting, give)),
        None => Some((option, args.get(i + 1)?.text.as_str(), give)),
    }
}

/// The word that holds the setting of the option at `args[i]`.
fn setting_word(args: &[shell::Word], i: usize) -> &shell::Word {
    match args[i].text.contains('=') {
        true => &args[i],
        false => args.get(i + 1).unwrap_or(&args[i]),
    }
}

/// Whether `key=value` gives a literal credential: the key's last part is named like a
/// credential (`auth.adminPassword`, `secretKey`) and the value is written out.
fn literal_credential_setting(key: &str, value: &str, vars: &[shell::VarRef]) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    let last = last.split('[').next().unwrap_or(last);
    let name = snake_case(last);
    // `existingSecret=db-creds` names a Kubernetes Secret that holds it
    let names_a_secret = name.starts_with("EXISTING_");
    secret_patterns::credential_name(&name)
        && !names_a_secret
        && !secret_patterns::names_a_secret_object(&name, value)
        && vars.is_empty()
        && !value.contains("$(")
        && secret_patterns::is_literal_credential(value)
        && secret_patterns::find(value).is_empty()
}

/// `adminPassword` as `ADMIN_PASSWORD`, so camel-case keys read like variable names.
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out.replace('-', "_")
}
