//! One GitLab job (or `default:`, or a hidden job) as Plumb job fields.

use crate::cond::{self, Cond};
use crate::value::{Origin, PVal};
use crate::yaml::{ByteRange, Kind, Node};
use std::collections::BTreeMap;

/// Something of the job that Plumb does not carry, with the YAML lines it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// The file (as `yaml::Node::file`) and lines the note is about.
    pub file: usize,
    pub line: usize,
    pub end_line: usize,
    pub message: String,
}

/// A job's fields in Plumb's terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    /// Plumb job fields, keyed by name (`env` and `needs` are separate).
    pub fields: BTreeMap<String, PVal>,
    /// `variables:`, in order.
    pub env: Vec<(String, String)>,
    /// Where each of `env`'s values is written (an import for a check only).
    pub env_at: Vec<Option<Origin>>,
    /// `secrets:` with a Vault source Plumb carries; for a check, also those it does not
    /// carry (another Vault engine, another provider): their variables still hold secrets.
    pub vault: Vec<VaultSecret>,
    /// The variables of `secrets:` Plumb does not carry: the job's own, never a project
    /// variable of the same name (the secret's file path, by default).
    pub secrets_not_carried: Vec<String>,
    /// `id_tokens:` with one audience: (variable, audience).
    pub id_tokens: Vec<(String, String)>,
    /// `needs:` as GitLab names, with their lines.
    pub needs: Option<Vec<(String, usize)>>,
    /// Where each of `needs`' names is written (an import for a check only).
    pub needs_at: Vec<Option<Origin>>,
    /// Each need's `optional: true` and `artifacts: false` (in `needs`' order).
    pub needs_flags: Vec<NeedFlags>,
    /// `dependencies:` as GitLab names, with their lines.
    pub dependencies: Option<Vec<(String, usize)>>,
    /// `environment: on_stop:` as a GitLab job name, with its line: resolved to Plumb's
    /// name when the jobs are known, like `dependencies`.
    pub on_stop: Option<(String, usize)>,
    pub stage: Option<String>,
    /// The job has a condition that no event meets (`when: never`, or rules that never add it).
    pub never: bool,
    /// `trigger:`: a child or multi-project pipeline.
    pub trigger: bool,
    /// A `script:` written, none of whose lines is a command (each a mapping: an
    /// unquoted `: `), which GitLab refuses.
    pub script_of_mappings: bool,
    /// The job writes neither `rules:` nor `only:`: its `when` holds GitLab's default
    /// `only: [branches, tags]` (`!merge_request`).
    pub default_only: bool,
    pub notes: Vec<Note>,
}

pub struct Ctx<'a> {
    /// Top-level variables, for expanding `$VAR` in image names as GitLab does.
    pub variables: &'a [(String, String)],
    /// The top-level `variables:` mapping (where their values are written).
    pub variables_node: Option<&'a Node>,
    /// Whether values carry where they were written (an import for a check).
    pub origins: bool,
    /// The file has `workflow: rules`: GitLab then gives jobs no default `only:`.
    pub workflow_rules: bool,
    /// The hidden entries' names by where their mapping is written: a cache or a
    /// service that is one of them (by alias) is [`PVal::Named`] after it.
    pub holders: &'a std::collections::HashMap<(usize, ByteRange), String>,
}

impl Ctx<'_> {
    fn origin(&self, node: &Node) -> Option<Origin> {
        self.origins.then(|| Origin::of(node))
    }
}

/// The order in which Plumb fields are written.
pub const FIELD_ORDER: &[&str] = &[
    "trigger",
    "image",
    "entrypoint",
    "services",
    "needs",
    "dependencies",
    "env",
    "when",
    "if_previous",
    "delay",
    "before_run",
    "run",
    "after_run",
    "timeout",
    "retry",
    "artifacts",
    "cache",
    "matrix",
    "environment",
    "allow_failure",
    "interruptible",
    "resource_group",
    "coverage",
    "tags",
    "gitlab",
];

/// Keys that carry nothing Plumb has, each with what the note says.
const NOT_CARRIED: &[(&str, &str)] = &[("variables_expand", "")];

/// GitLab job keywords Plumb does not model, carried as written in the job's
/// `gitlab = { … }` (which the build validates against GitLab's schema).
pub const PASSED_THROUGH: &[&str] = &[
    "dast_configuration",
    "hooks",
    "identity",
    "manual_confirmation",
    "pages",
    "publish",
    "release",
];

/// Converts one job mapping (as GitLab runs it: `extends` and `default:` applied) into
/// Plumb fields, with a note for each key it cannot carry.
/// A job's Plumb fields; `include_rules` are those of the includes that add it (see
/// [`crate::gitlab::Job::include_rules`]), which its `when` must admit too.
pub fn job(node: &Node, include_rules: &[Vec<Node>], cx: &Ctx) -> Fields {
    let mut f = Fields::default();
    let own_vars: Vec<(String, String)> = node.get("variables").map(variables).unwrap_or_default();
    let tables = image_variable_tables(node, &own_vars, cx);
    for e in node.entries() {
        let v = &e.value;
        let note = |message: String| Note {
            file: v.file,
            line: e.key_line,
            end_line: v.end_line.max(e.key_line),
            message,
        };
        match e.key.as_str() {
            "image" => {
                // `image: entrypoint` is Plumb's `entrypoint`
                if let Some(entrypoint) = v.get("entrypoint") {
                    let words = entrypoint.strings().into_iter().map(PVal::Str).collect();
                    f.fields.insert("entrypoint".into(), PVal::List(words));
                }
                if let Some((image, at)) = image_name(v, &mut f.notes, e.key_line) {
                    // `image: ""` names none: the runner's own (over `default:`'s too)
                    let image = match image.trim().is_empty() {
                        true => PVal::at(cx.origin(at), PVal::Name("runner_default".into())),
                        false => {
                            let (image, at) = resolved_image(&image, at, node, &tables, cx);
                            PVal::at(cx.origin(at), PVal::Image(image))
                        }
                    };
                    f.fields.insert("image".into(), image);
                }
            }
            "services" => {
                // a `!reference` to another job's services is a list in the list, which
                // GitLab flattens
                let services = v.flattened().into_iter().filter_map(|s| {
                    let Some((name, at)) = service_name(s) else {
                        // a `!reference` that points at nothing was reported as such
                        if s.is_null() {
                            return None;
                        }
                        f.notes.push(Note {
                            message: "a service without an image name is not carried".into(),
                            ..note_at(s)
                        });
                        return None;
                    };
                    let (image, at) = resolved_image(&name, at, node, &tables, cx);
                    let image = PVal::Image(image);
                    let service = service(s, PVal::at(cx.origin(at), image), &mut f.notes, cx);
                    Some(named(s, service, cx))
                });
                f.fields
                    .insert("services".into(), PVal::List(services.collect()));
            }
            "script" | "before_script" => {} // below, in GitLab's order
            "variables" => {
                f.env = own_vars.clone();
                f.env_at = variable_nodes(v).map(|n| cx.origin(n)).collect();
            }
            "stage" => f.stage = v.as_str().map(str::to_string),
            "needs" => job_needs(v, &mut f, cx),
            // GitLab wants a list of job names (it refuses `dependencies: build`)
            "dependencies" if !is_list_of_names(v) => f.notes.push(note(
                "`dependencies:` is not a list of job names (GitLab refuses it): not carried"
                    .into(),
            )),
            "dependencies" => f.dependencies = Some(dependencies(v, node, cx.origins)),
            "rules" | "only" | "except" | "when" => {} // below, together
            "timeout" => match v.as_str().and_then(duration) {
                Some(d) => {
                    f.fields.insert("timeout".into(), PVal::Duration(d));
                }
                None => f.notes.push(note(format!(
                    "`timeout: {}` is not a duration Plumb can read: not carried",
                    v.as_str().unwrap_or("…")
                ))),
            },
            "retry" => retry(v, &mut f, note(String::new())),
            "artifacts" => artifacts(v, &mut f, note(String::new())),
            "cache" => cache(v, &mut f, note(String::new()), cx),
            "parallel" => parallel(v, &mut f, note(String::new()), cx),
            "environment" => environment(v, &mut f, note(String::new()), cx),
            "after_script" => {
                // `after_script: []` is kept: it turns off `default:`'s
                let mut lines = Vec::new();
                flatten(v, &mut lines, &mut f.notes, cx);
                f.fields.insert("after_run".into(), PVal::List(lines));
            }
            "coverage" | "resource_group" => {
                if let Some(text) = v.as_str() {
                    f.fields.insert(e.key.clone(), PVal::Str(text.to_string()));
                }
            }
            "interruptible" => {
                if let Some(b) = v.as_bool() {
                    f.fields.insert("interruptible".into(), PVal::Bool(b));
                }
            }
            // with `when: delayed`, below (a rule's `when: delayed` takes its own)
            "start_in" if node.get("when").and_then(Node::as_str) == Some("delayed") => {}
            "start_in" => f.notes.push(note(
                "`start_in` without `when: delayed` does nothing in GitLab: not carried".into(),
            )),
            "allow_failure" => match v.as_bool() {
                Some(b) => {
                    f.fields.insert("allow_failure".into(), PVal::Bool(b));
                }
                None => match exit_codes(v) {
                    Some(codes) => {
                        let record = vec![("exit_codes".to_string(), PVal::List(codes))];
                        f.fields
                            .insert("allow_failure".into(), PVal::Record(record));
                    }
                    None => f.notes.push(note(
                        "`allow_failure` is neither a boolean nor `exit_codes:` numbers: not carried".into(),
                    )),
                },
            },
            "tags" => {
                f.fields.insert("tags".into(), tags(v, cx));
            }
            "secrets" => secrets(v, node.get("id_tokens"), &mut f, cx.origins),
            "id_tokens" => id_tokens(v, &mut f, note(String::new())),
            key if PASSED_THROUGH.contains(&key) => match crate::value::of_yaml_marked(v, cx.origins) {
                Some(value) => gitlab_key(&mut f, key, value),
                None => f.notes.push(note(format!(
                    "`{key}` (a `!reference` in it) is not carried"
                ))),
            },
            "trigger" => trigger_field(v, &mut f, cx, note(String::new())),
            "extends" => {}
            "inherit" => inherit(v, &mut f, cx.origins),
            key => not_modelled(key, note(String::new()), &mut f.notes),
        }
    }
    for (key, field) in [("before_script", "before_run"), ("script", "run")] {
        // `script: ""` is blank to GitLab, which refuses the job: no command, not `""`
        let blank = |n: &&Node| n.as_str().is_some_and(|t| t.trim().is_empty());
        let written = node.get(key).filter(|n| !blank(n));
        let lines = script(written, &mut f.notes, cx);
        if !lines.is_empty() {
            f.fields.insert(field.into(), PVal::List(lines));
        } else if key == "script" && written.is_some_and(holds_a_mapping) {
            f.script_of_mappings = true;
        }
    }
    condition(node, include_rules, cx, &mut f);
    f
}

/// The jobs `dependencies:` names, with their lines. A check leaves optional needs out
/// (see [`needs`]): the artifacts of one are what `dependencies:` may name then, and
/// ask for nothing more.
/// Whether a node is a list of scalars (lists inside it, `!reference`s, flattened).
fn is_list_of_names(node: &Node) -> bool {
    node.is_seq() && node.flattened().iter().all(|i| i.as_str().is_some())
}

fn dependencies(list: &Node, job: &Node, check: bool) -> Vec<(String, usize)> {
    let needs = job.get("needs").map(Node::flattened).unwrap_or_default();
    let optional: Vec<&str> = needs
        .into_iter()
        .filter(|n| check && n.get("optional").and_then(Node::as_bool) == Some(true))
        .filter_map(|n| n.get("job").and_then(Node::as_str))
        .collect();
    list.flattened()
        .into_iter()
        .filter_map(|i| Some((i.as_str()?, i.line)))
        .filter(|(name, _)| !optional.contains(name))
        .map(|(name, line)| (name.to_string(), line))
        .collect()
}

/// Whether a script is a mapping or holds one as a line.
fn holds_a_mapping(script: &Node) -> bool {
    let is_map = |n: &Node| matches!(n.kind, Kind::Map(_));
    is_map(script) || script.flattened().into_iter().any(is_map)
}

/// A `before_script` or `script` as Plumb's list of commands.
fn script(node: Option<&Node>, notes: &mut Vec<Note>, cx: &Ctx) -> Vec<PVal> {
    let mut lines = Vec::new();
    if let Some(s) = node {
        flatten(s, &mut lines, notes, cx);
    }
    lines
}

/// Script lines, nested lists flattened as GitLab does.
fn flatten(node: &Node, out: &mut Vec<PVal>, notes: &mut Vec<Note>, cx: &Ctx) {
    match &node.kind {
        Kind::Scalar { text, .. } => {
            // the newline a `|` block ends with runs nothing; without it the command
            // reads back as written, one line each ([`crate::literal::with_block_strings`])
            let command = text.strip_suffix('\n').unwrap_or(text);
            out.push(PVal::at(cx.origin(node), PVal::Str(command.to_string())));
        }
        Kind::Seq(items) => items.iter().for_each(|i| flatten(i, out, notes, cx)),
        Kind::Null => {}
        _ => notes.push(Note {
            file: node.file,
            line: node.line,
            end_line: node.end_line,
            message: "a script line is a mapping, not a command (an unquoted `: ` inside it?): GitLab refuses it, and it is left out; quote the line".into(),
        }),
    }
}

/// `when` from `rules`, or from `only`/`except`, and a job-level `when: manual`.
fn condition(node: &Node, include_rules: &[Vec<Node>], cx: &Ctx, f: &mut Fields) {
    let when = node.get("when").and_then(Node::as_str);
    let manual = when == Some("manual");
    // a job-level `when: manual` may fail without failing the pipeline (GitLab's
    // default for it; with rules, [`cond::JobDefaults`] gives it to each rule)
    if manual && node.get("rules").is_none() && !f.fields.contains_key("allow_failure") {
        f.fields.insert("allow_failure".into(), PVal::Bool(true));
    }
    let line = |key: &str| node.entry(key).map_or(node.line, |e| e.key_line);
    // a key's own file: a job may take it from an included template
    let file = |key: &str| node.get(key).map_or(node.file, |v| v.file);
    // `rules: null` (often to drop inherited rules, next to `only:`), or a `!reference`
    // that points at nothing, is no rules: the job is kept, with `only`/`except`
    // `rules: null`, or rules that are all `!reference`s into files not read: no rules
    let only_dangling = |r: &Node| {
        let items = r.flattened();
        !items.is_empty() && items.iter().all(|i| i.is_null())
    };
    let rules = (node.get("rules")).filter(|r| !r.is_null() && !only_dangling(r));
    if (node.get("rules")).is_some_and(|r| r.flattened().iter().any(|i| i.is_null())) {
        // what those rules said is unknown: the job is kept, but without them it runs
        // wherever the rules read allow (or everywhere), which the YAML may not say
        f.notes.push(Note {
            file: file("rules"),
            line: line("rules"),
            end_line: line("rules"),
            message: if rules.is_some() {
                "some `rules:` are `!reference`s to what no file read defines: left out, so the job may run where they kept it out; write them into `when`".into()
            } else {
                "its `rules:` are `!reference`s to what no file read defines: imported without them, the job runs in every pipeline; write its condition as `when`".into()
            },
        });
    }
    // `rules: $[[ inputs.rules ]]`: a component's input, unknown here (not "no rule
    // matches", which would leave the job out of the check)
    let from_input = rules
        .and_then(Node::as_str)
        .filter(|text| text.contains("$[["))
        .map(str::to_string);
    // rules read here decide `when` (each rule that sets none takes the job's)
    let rules_decide_when = rules.is_some() && from_input.is_none();
    let mut c = if let Some(text) = from_input {
        Cond::Unknown(format!("rules: {text}"))
    } else if let Some(rules) = rules {
        rules_condition(rules, node, cx, f)
    } else {
        // without `only:`, GitLab's default is `only: [branches, tags]`: every pipeline
        // but a merge request's (the emitter drops this where the pipeline's `on` says it)
        let mut c = match node.get("only").filter(|o| !o.is_null()) {
            Some(only) => cond::refs_filter(only, true),
            None if cx.workflow_rules => Cond::True,
            None => {
                f.default_only = true;
                cond::default_refs()
            }
        };
        if let Some(except) = node.get("except").filter(|e| !e.is_null()) {
            let except = cond::refs_filter(except, false);
            c = Cond::and(c, Cond::not(except));
        }
        for key in ["only", "except"] {
            f.notes.extend(
                node.get(key)
                    .map(|n| entries_not_refs(key, n))
                    .unwrap_or_default(),
            );
        }
        if manual {
            c = Cond::and(c, Cond::Atom(cond::Atom::Manual));
        }
        c
    };
    // rules read here decided `when` above (each rule that sets none takes the job's)
    if !rules_decide_when && !job_level_when(node, f) {
        c = Cond::False;
    }
    // any way the includes read a file defining the job, each of its rules adding it
    let ways = (include_rules.iter()).map(|way| {
        (way.iter()).fold(Cond::True, |all, rules| {
            Cond::and(all, included_where(rules, f))
        })
    });
    if let Some(included) = ways.reduce(Cond::or) {
        c = Cond::and(included, c);
    }
    let mut unknown = Vec::new();
    let c = c.approximate(&mut unknown);
    // (rules into files not read have their note above)
    unknown.retain(|u| u != cond::DANGLING_RULES);
    if !unknown.is_empty() {
        let key = ["rules", "only", "except"]
            .into_iter()
            .find(|k| node.get(k).is_some())
            .unwrap_or("when");
        // at the rule's `if:` that holds the first test, where one does
        let test_at = (node.get("rules").map(Node::flattened).into_iter().flatten())
            .filter_map(|r| r.get("if"))
            .find(|i| i.as_str().is_some_and(|t| t.contains(unknown[0].as_str())));
        let (file, line, end_line) = match test_at {
            Some(i) => (i.file, i.line, i.end_line),
            None => (
                file(key),
                line(key),
                node.get(key).map_or(line(key), |n| n.end_line),
            ),
        };
        f.notes.push(Note {
            file,
            line,
            end_line,
            message: format!(
                "{APPROXIMATED}: Plumb cannot test {}; the job is assumed to run where that test decides",
                unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    match c {
        Cond::True => {}
        Cond::False => f.never = true,
        c => {
            // for a check, the condition is at the key that decides it (`rules:`)
            let key = ["rules", "only", "except", "when"]
                .into_iter()
                .find_map(|k| node.entry(k).filter(|e| k != "rules" || !e.value.is_null()));
            let origin = key.map(|e| Origin {
                file: e.value.file,
                range: e.key_span,
            });
            let value = match origin.filter(|_| cx.origins) {
                Some(o) => PVal::at(Some(o), PVal::Cond(c)),
                None => PVal::Cond(c),
            };
            f.fields.insert("when".into(), value);
        }
    }
}

/// The condition a job's `rules:` give, with what every rule that adds the job sets
/// alike (`allow_failure`, `interruptible`, `when`, `start_in`) written as the job's.
fn rules_condition(rules: &Node, node: &Node, cx: &Ctx, f: &mut Fields) -> Cond {
    // the job's own variables first, then those of the file it inherits
    let own = node.get("variables").map(variables).unwrap_or_default();
    let inherited = crate::gitlab::inherited(node, crate::gitlab::Inherited::Variables);
    let file_variables = (cx.variables.iter())
        .filter(|(name, _)| inherited.as_ref().is_none_or(|names| names.contains(name)));
    let known: Vec<(String, String)> = own.into_iter().chain(file_variables.cloned()).collect();
    let defaults = cond::JobDefaults {
        variables: &known,
        ..cond::JobDefaults::of(node)
    };
    let decision = cond::rules(rules, defaults);
    rule_variables(rules, f, cx);
    for (line, message) in decision.notes.into_iter().chain(decision.job_notes) {
        // the rules' own file: a job may take them from an included template
        f.notes.push(Note {
            file: rules.file,
            line,
            end_line: line,
            message,
        });
    }
    // what every rule that adds the job sets alike is the job's
    if let Some(allow) = decision.allow_failure {
        f.fields.insert("allow_failure".into(), PVal::Bool(allow));
    }
    if let Some(interruptible) = decision.interruptible {
        f.fields
            .insert("interruptible".into(), PVal::Bool(interruptible));
    }
    if let Some(when) = decision.if_previous {
        f.fields
            .insert("if_previous".into(), PVal::Str(when.into()));
    }
    if let Some((start_in, line)) = decision.delay {
        match duration(&start_in) {
            Some(d) => {
                f.fields.insert("delay".into(), PVal::Duration(d));
            }
            None => f.notes.push(Note {
                file: rules.file,
                line,
                end_line: line,
                message: format!("`start_in: {start_in}` is no duration Plumb reads: not carried, the job starts at once"),
            }),
        }
    }
    decision.cond
}

/// Where an include's `rules:` add its file (and so its jobs) to the pipeline.
fn included_where(rules: &Node, f: &mut Fields) -> Cond {
    let decision = cond::rules(rules, cond::JobDefaults::default());
    for (line, message) in decision.notes {
        f.notes.push(Note {
            file: rules.file,
            line,
            end_line: line,
            message,
        });
    }
    decision.cond
}

/// A job's own `when` where no rules decide it: `always`/`on_failure` as `if_previous`,
/// `delayed` (with its `start_in`) as `delay`. `false` for `when: never` (the job is
/// never added).
fn job_level_when(node: &Node, f: &mut Fields) -> bool {
    let line = node.entry("when").map_or(node.line, |e| e.key_line);
    let file = node.get("when").map_or(node.file, |v| v.file);
    match node.get("when").and_then(Node::as_str) {
        Some("never") => return false,
        Some("always") => {
            (f.fields.entry("if_previous".into())).or_insert(PVal::Str("always".into()));
        }
        Some("on_failure") => {
            (f.fields.entry("if_previous".into())).or_insert(PVal::Str("failure".into()));
        }
        Some("delayed") => match node.get("start_in").and_then(Node::as_str).and_then(duration) {
            Some(d) => {
                f.fields.insert("delay".into(), PVal::Duration(d));
            }
            None => f.notes.push(Note {
                file,
                line,
                end_line: line,
                message: "`when: delayed` without a `start_in` Plumb can read is not carried: the job starts at once".into(),
            }),
        },
        _ => {}
    }
    true
}

/// The keys of a mapping other than those Plumb carries (for the notes).
fn other_keys<'n>(node: &'n Node, carried: &[&str]) -> Vec<&'n str> {
    node.entries()
        .iter()
        .map(|e| e.key.as_str())
        .filter(|k| !carried.contains(k))
        .collect()
}

/// The `variables:` of the rules that add the job: the job's when every such rule sets
/// them alike (they win over the job's own, as in GitLab); for a check, also when they
/// differ (each with the value that says most: the job may run with it), where the
/// import warns that they are not carried.
fn rule_variables(rules: &Node, f: &mut Fields, cx: &Ctx) {
    let vars = match cond::adding_rules_variables(rules) {
        Some(alike) => alike,
        None if cx.origins => cond::any_rule_variables(rules),
        None => return,
    };
    for (name, value, node) in vars {
        let at = cx.origin(node);
        match f.env.iter().position(|(n, _)| *n == name) {
            Some(i) => {
                f.env[i].1 = value;
                if let Some(slot) = f.env_at.get_mut(i) {
                    *slot = at;
                }
            }
            None => {
                f.env_at.resize(f.env.len(), None);
                f.env.push((name, value));
                f.env_at.push(at);
            }
        }
    }
}

/// `variables:` as (name, value) pairs; a `{ value: … }` form gives its value.
pub fn variables(node: &Node) -> Vec<(String, String)> {
    node.entries()
        .iter()
        .map(|e| {
            let value = match &e.value.kind {
                // `expand: false`: GitLab takes `$` literally, as it takes `$$` elsewhere
                Kind::Map(_) => e
                    .value
                    .get("value")
                    .and_then(Node::as_gitlab_string)
                    .map(|v| match e.value.get("expand").and_then(Node::as_bool) {
                        Some(false) => v.replace('$', "$$"),
                        _ => v,
                    }),
                _ => e.value.as_gitlab_string(),
            };
            (e.key.clone(), value.unwrap_or_default())
        })
        .collect()
}

/// What a top-level variable written as a mapping says besides its `value` and
/// `expand` (`description`, `options`: the "Run pipeline" form's field, which Plumb
/// does not write): a note each, at its line.
pub fn variable_form_notes(node: &Node) -> Vec<Note> {
    let mut notes = Vec::new();
    for e in node.entries().iter().filter(|e| e.value.is_map()) {
        for key in e
            .value
            .entries()
            .iter()
            .filter(|k| k.key != "value" && k.key != "expand")
        {
            notes.push(Note {
                file: key.value.file,
                line: key.key_line,
                end_line: key.value.end_line.max(key.key_line),
                message: format!(
                    "the `{}` of variable `{}` is not carried (Plumb writes no \"Run pipeline\" form field); its value is carried",
                    crate::literal::one_line_keeping(&key.key, &[]),
                    crate::literal::one_line_keeping(&e.key, &[])
                ),
            });
        }
    }
    notes
}

/// A component's `$[[ inputs.image ]]` as the variable it is filled in from
/// (`${inputs_image}`): what the including project passes is not known here, so the
/// image is one whose value cannot be checked (PL3007), not a malformed one.
fn inputs_as_variables(text: &str) -> String {
    crate::inputs::replace_blocks(text, |inner| {
        let name: String = (inner.trim().chars())
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Some(format!("${{{name}}}"))
    })
}

/// The value nodes of a `variables:` mapping, in order (a `{ value: … }` form's value).
pub fn variable_nodes(node: &Node) -> impl Iterator<Item = &Node> {
    node.entries()
        .iter()
        .map(|e| e.value.get("value").unwrap_or(&e.value))
}

/// One way GitLab may expand a job's image: the job's variables under those of a rule
/// that adds the job (a rule's win), with where that rule writes each of its own.
struct VariableTable<'n> {
    vars: Vec<(String, String)>,
    written_at: Vec<(String, &'n Node)>,
}

/// The tables a job's image and services are expanded with: the rules' variables when
/// every rule that adds the job sets them alike; for a check, one per adding rule when
/// they differ (the job may run with any: the image rules see the least pinned); else
/// the job's own (the import warns that the rules' are not carried).
fn image_variable_tables<'n>(
    node: &'n Node,
    own: &[(String, String)],
    cx: &Ctx,
) -> Vec<VariableTable<'n>> {
    let over_own = |set: Vec<(String, String, &'n Node)>| {
        let mut vars: Vec<(String, String)> = (set.iter())
            .map(|(n, v, _)| (n.clone(), v.clone()))
            .collect();
        vars.extend(own.iter().cloned());
        let written_at = set.into_iter().map(|(n, _, at)| (n, at)).collect();
        VariableTable { vars, written_at }
    };
    let Some(rules) = node.get("rules") else {
        return vec![over_own(Vec::new())];
    };
    if let Some(alike) = cond::adding_rules_variables(rules) {
        return vec![over_own(alike)];
    }
    let each: Vec<VariableTable> = match cx.origins {
        true => cond::each_adding_rule_variables(rules)
            .map(over_own)
            .collect(),
        false => Vec::new(),
    };
    if each.is_empty() {
        return vec![over_own(Vec::new())];
    }
    each
}

/// An image or service name as GitLab expands it with one of `tables`, and the node to
/// point at: for a check, the expansion least pinned (see [`VariableTable`]).
fn resolved_image<'n>(
    name: &str,
    written: &'n Node,
    job: &'n Node,
    tables: &[VariableTable<'n>],
    cx: &Ctx<'n>,
) -> (String, &'n Node) {
    let in_variables = inputs_as_variables(name);
    // a variable `parallel: matrix` sets differs in each instance: kept as written
    let matrix = matrix_variables(job);
    let not_matrix = |vars: &[(String, String)]| -> Vec<(String, String)> {
        (vars.iter())
            .filter(|(k, _)| !matrix.contains(k))
            .cloned()
            .collect()
    };
    let global = match matrix.is_empty() {
        true => std::borrow::Cow::Borrowed(cx.variables),
        false => std::borrow::Cow::Owned(not_matrix(cx.variables)),
    };
    let each = tables.iter().map(|table| {
        let image = match matrix.is_empty() {
            true => expand_vars(&in_variables, &table.vars, &global),
            false => expand_vars(&in_variables, &not_matrix(&table.vars), &global),
        };
        let by_rule = sole_variable(name).and_then(|var| {
            (table.written_at.iter())
                .find(|(n, _)| n == var)
                .map(|(_, at)| *at)
                .filter(|at| at.as_str().is_some())
        });
        let at = by_rule.or_else(|| defining_variable(name, job, cx));
        (image, at.unwrap_or(written))
    });
    // the first of the least pinned
    let each: Vec<(String, &Node)> = each.collect();
    let worst = (each.iter().map(|(image, _)| unpinned_rank(image)).max()).unwrap_or(0);
    (each.into_iter())
        .find(|(image, _)| unpinned_rank(image) == worst)
        .unwrap_or_else(|| (in_variables.clone(), written))
}

/// How little an image reference pins: a digest nothing, a variable left unexpanded
/// little, a tag more, no tag or `latest` most.
fn unpinned_rank(image: &str) -> u8 {
    if image.contains("@sha256:") {
        return 0;
    }
    if image.contains('$') {
        return 1;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => 2,
        _ => 3,
    }
}

/// The variable an image written as one variable names (`$CI_IMAGE`, `${CI_IMAGE}`).
fn sole_variable(image: &str) -> Option<&str> {
    let name = image.strip_prefix('$')?;
    let name = name
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    let word = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!name.is_empty() && word).then_some(name)
}

/// For an image written as one variable (`$CI_IMAGE`, `${CI_IMAGE}`), the node that
/// gives the variable its value (the job's `variables:` first, then the file's): the
/// place to fix is where the tag is written, not where it is used.
fn defining_variable<'n>(image: &str, job: &'n Node, cx: &Ctx<'n>) -> Option<&'n Node> {
    let name = sole_variable(image)?;
    let find = |vars: &'n Node| {
        let e = vars.entry(name)?;
        Some(e.value.get("value").unwrap_or(&e.value))
    };
    job.get("variables")
        .and_then(find)
        .or_else(|| cx.variables_node.and_then(find))
        .filter(|n| n.as_str().is_some())
}

/// An image's name, and the node that writes it.
fn image_name<'n>(
    node: &'n Node,
    notes: &mut Vec<Note>,
    line: usize,
) -> Option<(String, &'n Node)> {
    match &node.kind {
        Kind::Scalar { text, .. } => Some((text.clone(), node)),
        Kind::Map(_) => {
            let extra = other_keys(node, &["name", "entrypoint"]);
            if let Some(first) = extra.first() {
                let whole = Note {
                    file: node.file,
                    line,
                    end_line: node.end_line,
                    message: String::new(),
                };
                notes.push(Note {
                    message: format!(
                        "image `{}` is not carried: Plumb keeps the image's name only",
                        extra.join(", ")
                    ),
                    ..at_key(node, first, whole)
                });
            }
            let name = node.get("name")?;
            Some((name.as_str()?.to_string(), name))
        }
        _ => None,
    }
}

/// A note about the key `key` of the mapping `node`, placed on that key's lines (the
/// value's too), else where `whole` is.
fn at_key(node: &Node, key: &str, whole: Note) -> Note {
    match node.entries().iter().find(|e| e.key == key) {
        Some(e) => Note {
            line: e.key_line,
            end_line: e.value.end_line.max(e.key_line),
            ..whole
        },
        None => whole,
    }
}

/// `value`, converted from `node`, named after the hidden entry `node` is (by alias).
fn named(node: &Node, value: PVal, cx: &Ctx) -> PVal {
    match cx.holders.get(&(node.file, node.span)) {
        Some(name) if node.is_map() => PVal::Named(name.clone(), Box::new(value)),
        _ => value,
    }
}

/// A note at a node's lines.
fn note_at(node: &Node) -> Note {
    Note {
        file: node.file,
        line: node.line,
        end_line: node.end_line.max(node.line),
        message: String::new(),
    }
}

/// A service's image name: the entry itself, or its `name:`.
fn service_name(node: &Node) -> Option<(String, &Node)> {
    let name = match &node.kind {
        Kind::Map(_) => node.get("name")?,
        _ => node,
    };
    Some((name.as_str()?.to_string(), name))
}

/// A service: its image alone, or a `Service` record when it has an `alias`, a
/// `command`, an `entrypoint` or `variables` (the host name a job reaches it by is part
/// of what the job needs); other keys are noted as not carried.
fn service(node: &Node, image: PVal, notes: &mut Vec<Note>, cx: &Ctx) -> PVal {
    let strings = |n: &Node| PVal::List(n.strings().into_iter().map(PVal::Str).collect());
    // each variable where it is written (for a check: a credential there is found there)
    let env = |v: &Node| {
        let values = variables(v).into_iter().zip(variable_nodes(v));
        (values.map(|((k, text), at)| (k, PVal::at(cx.origin(at), PVal::Str(text))))).collect()
    };
    let mut record = vec![("image".to_string(), image)];
    let mut extra = Vec::new();
    for e in node.entries() {
        let carried = match e.key.as_str() {
            "name" => continue,
            "alias" => e.value.as_gitlab_string().map(PVal::Str),
            "command" | "entrypoint" => Some(strings(&e.value)),
            "variables" => Some(PVal::Record(env(&e.value))),
            _ => None,
        };
        match carried {
            Some(value) => {
                let key = if e.key == "variables" {
                    "env"
                } else {
                    e.key.as_str()
                };
                record.push((key.to_string(), value));
            }
            None => extra.push(e.key.as_str()),
        }
    }
    if !extra.is_empty() {
        notes.push(Note {
            file: node.file,
            line: node.line,
            end_line: node.end_line,
            message: format!("service `{}` is not carried", extra.join(", ")),
        });
    }
    match record.len() {
        1 => record.remove(0).1,
        _ => PVal::Record(record),
    }
}

/// [`expand_vars`] with one table of variables.
pub fn expand_image_variables(text: &str, variables: &BTreeMap<String, String>) -> String {
    let vars: Vec<(String, String)> = variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    expand_vars(text, &vars, &[])
}

/// `$VAR` and `${VAR}` in an image name, replaced by the value the file gives the
/// variable (as GitLab expands them); others are left as written.
fn expand_vars(text: &str, own: &[(String, String)], global: &[(String, String)]) -> String {
    let mut budget = MAX_EXPANSIONS;
    expand_nested(text, (own, global), 0, &mut budget).unwrap_or_else(|| text.to_string())
}

/// Variables as (name, value) pairs.
type Vars<'a> = &'a [(String, String)];

/// How deep a variable's value may name another (GitLab expands them in turn), and how
/// long an expanded name may grow (`A: $B$B`, `B: $C$C`, … doubles at each step).
const MAX_EXPANSION_DEPTH: usize = 8;
const MAX_EXPANDED_LEN: usize = 4096;
/// How many names one expansion may look up (`A: $B$B…`, `B: $C$C…` with `C` empty
/// grows nothing but the work; each look-up reads the file's variables): an image
/// names a few.
const MAX_EXPANSIONS: usize = 32;

/// `text` with each `$NAME`/`${NAME}` the file defines replaced by its value, itself
/// expanded; a name whose value cannot be expanded to the end stays as written. `None`
/// when the result grows past [`MAX_EXPANDED_LEN`] or the work past [`MAX_EXPANSIONS`].
fn expand_nested(
    text: &str,
    (own, global): (Vars, Vars),
    depth: usize,
    budget: &mut usize,
) -> Option<String> {
    let lookup = |name: &str| {
        own.iter()
            .chain(global.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        *budget = budget.checked_sub(1)?;
        let value = match lookup(name) {
            Some(v) if !v.contains('$') => Some(v.to_string()),
            Some(v) if depth < MAX_EXPANSION_DEPTH => {
                // past the bounds, nothing is expanded
                let inner = expand_nested(v, (own, global), depth + 1, budget)?;
                (!inner.contains('$')).then_some(inner)
            }
            _ => None,
        };
        match value {
            Some(value) if !name.is_empty() => out.push_str(&value),
            _ => out.push_str(&rest[i..i + 1 + len]),
        }
        if out.len() > MAX_EXPANDED_LEN {
            return None;
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

/// A need's `optional: true` and `artifacts: false`, written as Plumb's `{ job = x,
/// optional = true, artifacts = false }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeedFlags {
    pub optional: bool,
    pub no_artifacts: bool,
}

impl NeedFlags {
    /// Whether one of `needs` says more than the job's name (`optional`, `artifacts:
    /// false`), which a template's `needs` (names only) cannot carry.
    pub fn any_said(needs: &[NeedFlags]) -> bool {
        needs.iter().any(|n| *n != NeedFlags::default())
    }
}

/// The jobs `needs:` names (with their lines), the node that names each, and what each
/// need says besides the name.
/// A job's `needs:`: the names of jobs of its pipeline, kept apart until every job is
/// known; for an import, those of other pipelines in `gitlab = { needs }`.
fn job_needs(v: &Node, f: &mut Fields, cx: &Ctx) {
    let (names, at, flags) = needs(v, &mut f.notes);
    f.needs = Some(names);
    f.needs_at = at.into_iter().map(|n| cx.origin(n)).collect();
    f.needs_flags = flags;
    if !cx.origins {
        add_outside_needs(&mut f.fields, other_pipelines_needs(v));
    }
}

type Needs<'n> = (Vec<(String, usize)>, Vec<&'n Node>, Vec<NeedFlags>);

fn needs<'n>(node: &'n Node, notes: &mut Vec<Note>) -> Needs<'n> {
    let mut out = Vec::new();
    let mut at = Vec::new();
    let mut flags = Vec::new();
    for item in node.flattened() {
        match &item.kind {
            Kind::Scalar { text, .. } => {
                out.push((text.clone(), item.line));
                at.push(item);
                flags.push(NeedFlags::default());
            }
            Kind::Map(_) => {
                if let Some(job) = item.get("job").and_then(Node::as_str) {
                    if item.get("parallel").is_some() {
                        notes.push(Note {
                            file: item.file,
                            line: item.line,
                            end_line: item.end_line,
                            message: format!("`needs: parallel: matrix` on `{job}` is not carried: the job needs every instance of `{job}`"),
                        });
                    }
                    if item.get("pipeline").is_some() || item.get("project").is_some() {
                        // carried in `gitlab = { needs }` (`other_pipelines_needs`)
                        if other_pipeline_need(item).is_none() {
                            notes.push(Note {
                                file: item.file,
                                line: item.line,
                                end_line: item.end_line,
                                message: format!("`needs` on job `{job}` of another pipeline or project is not carried"),
                            });
                        }
                    } else {
                        out.push((job.to_string(), item.line));
                        at.push(item.get("job").unwrap_or(item));
                        flags.push(NeedFlags {
                            optional: item.get("optional").and_then(Node::as_bool) == Some(true),
                            no_artifacts: item.get("artifacts").and_then(Node::as_bool)
                                == Some(false),
                        });
                    }
                } else if item.get("pipeline").is_some() {
                    notes.push(Note {
                        file: item.file,
                        line: item.line,
                        end_line: item.end_line,
                        message: "`needs: pipeline` is not carried".into(),
                    });
                }
            }
            _ => {}
        }
    }
    (out, at, flags)
}

/// A need on a job of another pipeline or project (`{ pipeline: $ID, job: x }`,
/// `{ project: g/p, job: x, ref: main, artifacts: true }`) as the record
/// `gitlab = { needs }` carries: its keys, each a string or a boolean.
fn other_pipeline_need(item: &Node) -> Option<PVal> {
    let known = ["job", "pipeline", "project", "ref", "artifacts", "optional"];
    let mut record = Vec::new();
    for e in item.entries() {
        if !known.contains(&e.key.as_str()) {
            return None;
        }
        let value = match (e.value.as_bool(), e.value.as_str()) {
            (Some(b), _) => PVal::Bool(b),
            (None, Some(s)) => PVal::Str(s.to_string()),
            _ => return None,
        };
        record.push((e.key.clone(), value));
    }
    Some(PVal::Record(record))
}

/// The needs on jobs of other pipelines or projects that `gitlab = { needs }` carries.
fn other_pipelines_needs(node: &Node) -> Vec<PVal> {
    (node.flattened().into_iter())
        .filter(|i| i.get("pipeline").is_some() || i.get("project").is_some())
        .filter_map(other_pipeline_need)
        .collect()
}

/// Appends needs on jobs of other files or pipelines to a job's `gitlab = { needs }`.
pub(crate) fn add_outside_needs(fields: &mut BTreeMap<String, PVal>, items: Vec<PVal>) {
    add_outside(fields, "needs", items);
}

/// Appends `items` (jobs of other files or pipelines) to the list `key` of a job's or
/// template's `gitlab = { … }`.
pub(crate) fn add_outside(fields: &mut BTreeMap<String, PVal>, key: &str, items: Vec<PVal>) {
    if items.is_empty() {
        return;
    }
    let gitlab = fields
        .entry("gitlab".into())
        .or_insert_with(|| PVal::Record(Vec::new()));
    let PVal::Record(entries) = gitlab.bare_mut() else {
        return;
    };
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some((_, PVal::List(list))) => list.extend(items),
        _ => entries.push((key.into(), PVal::List(items))),
    }
}

/// `artifacts:` as a list of paths when that is all it says, else as a record.
fn artifacts(v: &Node, f: &mut Fields, at: Note) {
    let mut record: Vec<(String, PVal)> = Vec::new();
    let (mut left_out, mut reports_left_out) = (Vec::new(), Vec::new());
    for e in v.entries() {
        // `public: false` is the older spelling of `access: developer` (`access` wins)
        if e.key == "public" && v.get("access").is_none() {
            if let Some(public) = e.value.as_bool() {
                let access = if public { "all" } else { "developer" };
                record.push(("access".into(), PVal::Str(access.into())));
                continue;
            }
        }
        let value = match e.key.as_str() {
            "paths" | "exclude" => strings(&e.value),
            "name" | "expose_as" => e.value.as_str().map(|s| PVal::Str(s.to_string())),
            "when" => e
                .value
                .as_str()
                .filter(|w| matches!(*w, "on_success" | "on_failure" | "always"))
                .map(|s| PVal::Str(s.to_string())),
            "untracked" => e.value.as_bool().map(PVal::Bool),
            // who may download them: dropped, plan files and keys became public
            "access" => e
                .value
                .as_str()
                .filter(|a| matches!(*a, "all" | "developer" | "maintainer" | "none"))
                .map(|s| PVal::Str(s.to_string())),
            "expire_in" if e.value.as_str() == Some("never") => {
                left_out.push("expire_in: never".into());
                continue;
            }
            "expire_in" => e.value.as_str().and_then(duration).map(PVal::Duration),
            "reports" => match reports(&e.value, &mut reports_left_out) {
                None if !reports_left_out.is_empty() => continue,
                kept => kept,
            },
            _ => None,
        };
        match value {
            Some(value) => record.push((e.key.clone(), value)),
            None => left_out.push(e.key.clone()),
        }
    }
    if !reports_left_out.is_empty() {
        left_out.push(format!("reports: {}", reports_left_out.join(", ")));
    }
    match record.as_slice() {
        [] => {}
        [(key, PVal::List(paths))] if key == "paths" => {
            f.fields
                .insert("artifacts".into(), PVal::List(paths.clone()));
        }
        _ => {
            f.fields.insert("artifacts".into(), PVal::Record(record));
        }
    }
    if let Some(first) = left_out.first() {
        let key = first.split(':').next().unwrap_or(first);
        let at = at_key(v, key, at);
        let never = match left_out.iter().any(|k| k == "expire_in: never") {
            true => ": Plumb's `expire_in` is a duration, so the artifacts expire after the instance's default (30 days unless an administrator changed it); keep the latest artifacts in the project's settings, or give a long duration",
            false => "",
        };
        f.notes.push(Note {
            message: format!("`artifacts: {}` is not carried{never}", left_out.join(", ")),
            ..at
        });
    }
}

/// `reports:` with the kinds Plumb knows (lists of paths); the others are left out.
fn reports(v: &Node, left_out: &mut Vec<String>) -> Option<PVal> {
    const KINDS: &[&str] = &[
        "junit",
        "dotenv",
        "codequality",
        "sast",
        "dependency_scanning",
        "container_scanning",
        "secret_detection",
        "terraform",
        "metrics",
        "cyclonedx",
        "api_fuzzing",
        "coverage_fuzzing",
        "dast",
        "load_performance",
        "requirements",
        "repository_xray",
        "sarif",
    ];
    // GitLab reads one file of these (a string in its schema)
    const ONE_FILE: &[&str] = &["annotations", "accessibility", "browser_performance"];
    let mut out = Vec::new();
    for e in v.entries() {
        if let Some(coverage) = coverage_report(&e.key, &e.value) {
            out.push(("coverage".to_string(), coverage));
            continue;
        }
        let kind = e.key.as_str();
        if ONE_FILE.contains(&kind) {
            match e.value.strings().as_slice() {
                [one] => out.push((e.key.clone(), PVal::Str(one.clone()))),
                _ => left_out.push(e.key.clone()),
            }
            continue;
        }
        match (KINDS.contains(&kind), strings(&e.value)) {
            (true, Some(paths)) => out.push((e.key.clone(), paths)),
            _ => left_out.push(e.key.clone()),
        }
    }
    (!out.is_empty()).then_some(PVal::Record(out))
}

/// `reports: coverage_report: { coverage_format, path }` as Plumb's `coverage = { format,
/// path }`; GitLab before 15.0 wrote a Cobertura report as `reports: cobertura: PATH`,
/// which GitLab now reads only in that form.
fn coverage_report(key: &str, v: &Node) -> Option<PVal> {
    let (format, path) = match key {
        "coverage_report" => (
            v.get("coverage_format")?.as_str()?.to_string(),
            v.get("path")?.as_str()?.to_string(),
        ),
        "cobertura" => match v.strings().as_slice() {
            [one] => ("cobertura".to_string(), one.clone()),
            _ => return None,
        },
        _ => return None,
    };
    matches!(format.as_str(), "cobertura" | "jacoco").then(|| {
        PVal::Record(vec![
            ("format".into(), PVal::Str(format)),
            ("path".into(), PVal::Str(path)),
        ])
    })
}

/// `inherit: variables: false | [NAMES]` and `inherit: default: false | [KEYS]`,
/// carried as `gitlab = { inherit = { … } }`, which the checker and the compilers read
/// (the job gets none of the pipeline's `env` or `default`, or those names). The job
/// has what it inherits of `default:` already (GitLab's merge, done on reading); the
/// pipeline's `default` then keeps the keys this job leaves out.
fn inherit(v: &Node, f: &mut Fields, origins: bool) {
    let said = ["variables", "default"].into_iter().filter_map(|key| {
        let value = v.get(key).filter(|i| i.as_bool() != Some(true))?;
        Some((
            key.to_string(),
            crate::value::of_yaml_marked(value, origins)?,
        ))
    });
    let record: Vec<(String, PVal)> = said.collect();
    if !record.is_empty() {
        gitlab_key(f, "inherit", PVal::Record(record));
    }
}

/// A key Plumb has no field for: a note.
fn not_modelled(key: &str, at: Note, notes: &mut Vec<Note>) {
    let message = match NOT_CARRIED.iter().find(|(k, _)| *k == key) {
        Some((_, "")) => return,
        Some((_, message)) => message.to_string(),
        None => format!("`{key}` is not a GitLab keyword Plumb knows: not carried"),
    };
    notes.push(Note { message, ..at });
}

/// `id_tokens: NAME: { aud: AUDIENCE }`: an `id_token(AUDIENCE)` secret bound to
/// `NAME`; a token for several audiences has no Plumb form (a note).
fn id_tokens(v: &Node, f: &mut Fields, at: Note) {
    for e in v.entries() {
        let audiences = e.value.get("aud").map(Node::strings).unwrap_or_default();
        match audiences.as_slice() {
            [one] => f.id_tokens.push((e.key.clone(), one.clone())),
            _ => f.notes.push(Note {
                message: format!(
                    "`id_tokens: {}` for {} audiences is not carried: Plumb's `id_token(…)` has one",
                    e.key,
                    audiences.len()
                ),
                line: e.key_line,
                ..at.clone()
            }),
        }
    }
}

/// Adds `key = value` to the job's `gitlab = { … }`.
pub(crate) fn gitlab_key(f: &mut Fields, key: &str, value: PVal) {
    let entry = f
        .fields
        .entry("gitlab".into())
        .or_insert_with(|| PVal::Record(Vec::new()));
    if let PVal::Record(entries) = entry {
        entries.push((key.to_string(), value));
    }
}

/// A string or a list of strings, as a Plumb list of strings.
fn strings(v: &Node) -> Option<PVal> {
    let items = v.strings();
    (!items.is_empty()).then(|| PVal::List(items.into_iter().map(PVal::Str).collect()))
}

/// `tags:` (a `!reference` flattened), each marked with where it is written for a check.
fn tags(v: &Node, cx: &Ctx) -> PVal {
    let tags = (v.flattened().into_iter())
        .filter(|t| matches!(t.kind, Kind::Scalar { .. }))
        .flat_map(|t| {
            let at = cx.origin(t);
            (t.strings().into_iter()).map(move |s| PVal::at(at, PVal::Str(s)))
        });
    PVal::List(tags.collect())
}

/// `environment:` as its name when that is all it says, else as a record (`on_stop`
/// names a job, which Plumb checks: it is left out with a note).
fn environment(v: &Node, f: &mut Fields, at: Note, cx: &Ctx) {
    let name_node = v.get("name").unwrap_or(v);
    let Some(name) = name_node.as_str() else {
        return;
    };
    // (for a check, each string at its own line: a credential in a URL is found there)
    let named = PVal::at(cx.origin(name_node), PVal::Str(name.to_string()));
    let mut record = vec![("name".to_string(), named.clone())];
    let mut left_out = Vec::new();
    for e in v.entries().iter().filter(|e| e.key != "name") {
        let value = match e.key.as_str() {
            "url" => (e.value.as_str()).map(|s| PVal::at(cx.origin(&e.value), PVal::Str(s.into()))),
            "action" => e
                .value
                .as_str()
                .filter(|a| matches!(*a, "start" | "prepare" | "stop" | "verify" | "access"))
                .map(|s| PVal::Str(s.to_string())),
            // `never` is what no `auto_stop_in` means
            "auto_stop_in" if e.value.as_str() == Some("never") => continue,
            "auto_stop_in" => e.value.as_str().and_then(duration).map(PVal::Duration),
            "on_stop" => {
                if let Some(job) = e.value.as_str() {
                    f.on_stop = Some((job.to_string(), e.value.line));
                    continue;
                }
                None
            }
            "deployment_tier" => e
                .value
                .as_str()
                .filter(|t| {
                    matches!(
                        *t,
                        "production" | "staging" | "testing" | "development" | "other"
                    )
                })
                .map(|s| PVal::Str(s.to_string())),
            _ => None,
        };
        match value {
            Some(value) => {
                let key = if e.key == "deployment_tier" {
                    "tier"
                } else {
                    e.key.as_str()
                };
                record.push((key.to_string(), value));
            }
            None => left_out.push(e.key.as_str()),
        }
    }
    let value = if record.len() == 1 {
        named
    } else {
        PVal::Record(record)
    };
    f.fields.insert("environment".into(), value);
    if let Some(first) = left_out.first() {
        let at = at_key(v, first, at);
        f.notes.push(Note {
            message: format!("`environment: {}` is not carried", left_out.join(", ")),
            ..at
        });
    }
}

/// `retry: N` or `retry: { max, when, exit_codes }` as `retry = N` or
/// `retry = { max, when }` (GitLab allows at most 2).
fn retry(v: &Node, f: &mut Fields, at: Note) {
    if v.get("exit_codes").is_some() {
        f.notes.push(Note {
            message: "`retry: exit_codes` is not carried: Plumb retries the failures `when` names"
                .into(),
            ..at.clone()
        });
    }
    let Some(n) = v.as_u64().or_else(|| v.get("max").and_then(Node::as_u64)) else {
        return;
    };
    if n > 2 {
        f.notes.push(Note {
            message: format!("`retry: {n}` is more than GitLab allows: 2 is used"),
            ..at
        });
    }
    let max = PVal::Int(n.min(2));
    let when = v.get("when").map(Node::strings).unwrap_or_default();
    let retry = if when.is_empty() {
        max
    } else {
        let when = PVal::List(when.into_iter().map(PVal::Str).collect());
        PVal::Record(vec![("max".into(), max), ("when".into(), when)])
    };
    f.fields.insert("retry".into(), retry);
}

/// The fields a trigger job keeps in Plumb, as the checker allows them: GitLab's
/// `default:` does not reach a trigger job, and it runs no script, so its image and
/// runner settings are dropped.
pub use plumb_semantics::TRIGGER_JOB_FIELDS;

/// How the note on a job's condition that Plumb cannot test begins.
pub const APPROXIMATED: &str = "condition approximated";

/// `trigger:` as the job's `trigger`; one with no Plumb form leaves the job out (with
/// a note), but for a check, where it is a child pipeline all the same: its variables
/// are passed on (PL4002), its rules and needs checked.
fn trigger_field(v: &Node, f: &mut Fields, cx: &Ctx, at: Note) {
    f.trigger = true;
    match trigger(v, &mut f.notes, at.clone()) {
        Some(call) => {
            f.fields.insert("trigger".into(), call);
        }
        None if cx.origins => {
            let depend = v.get("strategy").and_then(Node::as_str) == Some("depend");
            let named = vec![("depend".to_string(), PVal::Bool(depend))];
            let what = PVal::Str(UNCARRIED_TRIGGER.to_string());
            f.fields
                .insert("trigger".into(), PVal::call("child", vec![what], named));
        }
        None => {
            // `include:` a map, or a list of them
            let include = v.get("include");
            let generated = (include.into_iter())
                .chain(include.map(Node::items).unwrap_or(&[]))
                .filter(|i| i.get("artifact").is_some())
                .find_map(|i| i.get("job").and_then(Node::as_str));
            let message = match generated {
                Some(job) => format!("this `trigger:` runs a child pipeline that job `{job}` generates (`include: artifact:`), which Plumb has no form for: the job is not imported"),
                None => "this `trigger:` (several includes, or a child pipeline from another project) has no Plumb form: the job is not imported".into(),
            };
            f.notes.push(Note { message, ..at })
        }
    }
}

/// `trigger: group/project`, `trigger: { project, branch, strategy: depend }` as
/// `project("…", branch = "…", depend = true)`; `trigger: { include: ci/x.yml }` (one
/// local file) as `child("ci/x.yml", depend = …)`. `None` when it has no Plumb form.
fn trigger(v: &Node, notes: &mut Vec<Note>, at: Note) -> Option<PVal> {
    if let Some(project) = v.as_str() {
        return Some(PVal::call(
            "project",
            vec![PVal::Str(project.to_string())],
            Vec::new(),
        ));
    }
    let mut named = Vec::new();
    if v.get("strategy").and_then(Node::as_str) == Some("depend") {
        named.push(("depend".to_string(), PVal::Bool(true)));
    }
    // GitLab's defaults (`yaml_variables: true`, `pipeline_variables: false`) need no word
    let default_forward = |f: &Node| {
        let flag =
            |key: &str, default: bool| f.get(key).is_none_or(|n| n.as_bool() == Some(default));
        flag("yaml_variables", true) && flag("pipeline_variables", false)
    };
    if v.get("forward").is_some_and(|f| !default_forward(f)) {
        notes.push(Note {
            message: "`trigger: forward` is not carried: GitLab's defaults apply".into(),
            ..at_key(v, "forward", at.clone())
        });
    }
    if let Some(project) = v.get("project").and_then(Node::as_str) {
        if let Some(branch) = v.get("branch").and_then(Node::as_str) {
            named.insert(0, ("branch".to_string(), PVal::Str(branch.to_string())));
        }
        named.extend(inputs_of(v));
        return Some(PVal::call(
            "project",
            vec![PVal::Str(project.to_string())],
            named,
        ));
    }
    let include = v.get("include")?;
    // a child's inputs are its include's: `include: [{ local, inputs }]`
    let entry = match &include.kind {
        Kind::Seq(items) if items.len() == 1 => &items[0],
        _ => include,
    };
    named.extend(inputs_of(entry));
    let local = match &include.kind {
        Kind::Scalar { text, .. } => Some(text.clone()),
        Kind::Seq(items) if items.len() == 1 => items[0]
            .get("local")
            .and_then(Node::as_str)
            .map(str::to_string)
            .or_else(|| items[0].as_str().map(str::to_string)),
        Kind::Map(_) => include
            .get("local")
            .and_then(Node::as_str)
            .map(str::to_string),
        _ => None,
    }?;
    Some(PVal::call("child", vec![PVal::Str(local)], named))
}

/// `inputs:` of a trigger (or of its include), as the `inputs` argument.
fn inputs_of(v: &Node) -> Option<(String, PVal)> {
    let inputs = crate::value::of_yaml(v.get("inputs")?)?;
    Some(("inputs".to_string(), inputs))
}

/// `cache: key: { files, files_commits, prefix }`, as the `CacheKey` record; a key GitLab
/// does not define is named in a warning.
fn cache_key_record(k: &Node, f: &mut Fields, at: &Note) -> PVal {
    let mut record = Vec::new();
    let mut extra = Vec::new();
    for e in k.entries() {
        match e.key.as_str() {
            "files" | "files_commits" => record.push((
                e.key.clone(),
                PVal::List(e.value.strings().into_iter().map(PVal::Str).collect()),
            )),
            "prefix" => match e.value.as_gitlab_string() {
                Some(p) => record.push((e.key.clone(), PVal::Str(p))),
                None => extra.push(e.key.as_str()),
            },
            _ => extra.push(e.key.as_str()),
        }
    }
    if !extra.is_empty() {
        f.notes.push(Note {
            message: format!("`cache: key: {}` is not carried", extra.join(", ")),
            ..at.clone()
        });
    }
    if !record.iter().any(|(k, _)| k != "prefix") {
        // GitLab refuses a key record without the files it hashes
        f.notes.push(Note {
            message: "`cache: key:` names no `files` or `files_commits`: not carried, the key is `default`".into(),
            ..at.clone()
        });
        return PVal::Str("default".into());
    }
    PVal::Record(record)
}

fn cache(v: &Node, f: &mut Fields, at: Note, cx: &Ctx) {
    // a cache with no paths and no untracked files (`cache: {}`) caches nothing: the job
    // has no cache, which is what it says (the pipeline's `default` then holds no cache
    // either: see `emit::keep_defaults_every_job_has`)
    let caches_something = |c: &Node| {
        c.get("paths").is_some_and(|p| !p.strings().is_empty())
            || c.get("untracked").and_then(Node::as_bool) == Some(true)
    };
    if let Kind::Seq(items) = &v.kind {
        if let Some(list) = items.iter().find(|c| matches!(c.kind, Kind::Seq(_))) {
            // GitLab does not flatten caches (as it does scripts and services)
            f.notes.push(Note {
                message: "a list inside `cache:` (a `!reference` to a list of caches) is not carried: GitLab takes caches, not lists of them".into(),
                ..note_at(list)
            });
        }
    }
    let real: Vec<&Node> = match &v.kind {
        Kind::Seq(items) => items.iter().filter(|c| caches_something(c)).collect(),
        _ => vec![v]
            .into_iter()
            .filter(|c| caches_something(c))
            .collect(),
    };
    let mut records: Vec<PVal> = (real.iter())
        .map(|c| named(c, cache_record(c, f, &at, cx), cx))
        .collect();
    // a list of one is the cache itself, as GitLab reads it
    let cache = match records.len() {
        0 => return,
        1 => records.remove(0),
        _ => PVal::List(records),
    };
    f.fields.insert("cache".into(), cache);
}

/// One cache record (a cache that keeps something).
fn cache_record(first: &Node, f: &mut Fields, at: &Note, cx: &Ctx) -> PVal {
    let paths = first.get("paths").map(Node::strings).unwrap_or_default();
    let key = match first.get("key") {
        // a plain scalar as GitLab reads it (`1.10` is 1.1); no key is GitLab's `default`
        Some(k) if k.is_null() => PVal::Str("default".into()),
        Some(k) if k.as_str().is_some() => PVal::at(
            cx.origin(k),
            PVal::Str(k.as_gitlab_string().unwrap_or_else(|| "default".into())),
        ),
        Some(k) if k.is_map() => cache_key_record(k, f, at),
        Some(_) => {
            f.notes.push(Note {
                message: "`cache: key:` is neither a string nor `{ files, prefix }`: not carried, the key is `default`".into(),
                ..at.clone()
            });
            PVal::Str("default".into())
        }
        None => PVal::Str("default".into()),
    };
    let mut record = vec![("key".into(), key)];
    if !paths.is_empty() {
        record.push((
            "paths".into(),
            PVal::List(paths.into_iter().map(PVal::Str).collect()),
        ));
    }
    let mut extra = Vec::new();
    for e in first
        .entries()
        .iter()
        .filter(|e| !matches!(e.key.as_str(), "paths" | "key"))
    {
        let value = match (e.key.as_str(), e.value.as_str()) {
            ("policy", Some(p @ ("pull-push" | "pull" | "push"))) => Some(PVal::Str(p.into())),
            ("when", Some(w @ ("on_success" | "on_failure" | "always"))) => {
                Some(PVal::Str(w.into()))
            }
            ("untracked" | "unprotect", _) => e.value.as_bool().map(PVal::Bool),
            ("fallback_keys", _) => Some(PVal::List(
                e.value.strings().into_iter().map(PVal::Str).collect(),
            )),
            _ => None,
        };
        match value {
            Some(v) => record.push((e.key.clone(), v)),
            None => extra.push(e.key.as_str()),
        }
    }
    if !extra.is_empty() {
        f.notes.push(Note {
            message: format!("`cache: {}` is not carried", extra.join(", ")),
            ..at.clone()
        });
    }
    PVal::Record(record)
}

/// `parallel: matrix` of one product is Plumb's `matrix`; copies (`parallel: 5`) and a
/// matrix of several entries are GitLab's `parallel:` as written, in `gitlab = { … }`
/// (Plumb's `matrix` is one product, and keeping one entry would lose jobs).
fn parallel(v: &Node, f: &mut Fields, at: Note, cx: &Ctx) {
    if let Some(why) = refused_parallel(v) {
        f.notes.push(Note {
            message: format!("`parallel` is not carried: {why}"),
            ..at
        });
        return;
    }
    let product = v.get("matrix").and_then(|m| {
        let entries = m.items();
        (!entries.is_empty())
            .then(|| one_product(entries))
            .flatten()
    });
    let Some(axes) = product else {
        match crate::value::of_yaml_marked(v, cx.origins) {
            Some(value) => gitlab_key(f, "parallel", value),
            None => f.notes.push(Note {
                message: "`parallel` (a `!reference` in it) is not carried".into(),
                ..at
            }),
        }
        return;
    };
    let record = (axes.into_iter())
        .map(|(key, nodes)| {
            // each value where it is written (a check reports a literal there)
            let values = (nodes.into_iter())
                .map(|(s, n)| PVal::at(cx.origin(n), PVal::Str(s)))
                .collect();
            (key, PVal::List(values))
        })
        .collect();
    f.fields.insert("matrix".into(), PVal::Record(record));
}

/// Why GitLab refuses a `parallel:` (its schema: a number of copies from 1 to 200, or
/// `matrix:` alone, of 1 to 200 entries, each naming variables with values), if it does.
fn refused_parallel(v: &Node) -> Option<&'static str> {
    const MOST: u64 = 200;
    let Some(matrix) = v.get("matrix") else {
        return match v.as_u64() {
            Some(n) if v.is_plain_scalar() && (1..=MOST).contains(&n) => None,
            _ => Some("GitLab takes a number of copies from 1 to 200, or `matrix:`"),
        };
    };
    let entries = matrix.items();
    let empty = |n: &Node| match &n.kind {
        Kind::Seq(items) => items.is_empty(),
        Kind::Scalar { .. } => false,
        _ => true,
    };
    if v.entries().len() != 1 {
        Some("GitLab's `parallel:` holds `matrix:` alone")
    } else if entries.is_empty() || entries.len() as u64 > MOST {
        Some("GitLab's `matrix:` has 1 to 200 entries")
    } else if (entries.iter())
        .any(|e| e.entries().is_empty() || e.entries().iter().any(|v| empty(&v.value)))
    {
        Some(
            "each entry of GitLab's `matrix:` names variables, each with a value or a list of them",
        )
    } else {
        None
    }
}

/// The names the entries of a job's `parallel: matrix` set.
fn matrix_variables(job: &Node) -> Vec<String> {
    let entries = job.get("parallel").and_then(|p| p.get("matrix"));
    (entries.map_or(&[][..], Node::items).iter())
        .flat_map(|entry| entry.entries().iter().map(|e| e.key.clone()))
        .collect()
}

/// One matrix entry's variables, each with its values and where each is written.
type Axes<'n> = Vec<(String, Vec<(String, &'n Node)>)>;

fn matrix_axes(entry: &Node) -> Axes<'_> {
    (entry.entries().iter())
        .map(|e| {
            let items = match &e.value.kind {
                Kind::Seq(items) => items.iter().collect(),
                _ => vec![&e.value],
            };
            // as Psych reads them, like `variables:` (`0x1F90` is `8080`, `010` is `8`)
            let values = (items.into_iter())
                .flat_map(|n| n.as_gitlab_string().map(|s| (s, n)))
                .collect();
            (e.key.clone(), values)
        })
        .collect()
}

/// The entries of `parallel: matrix` as one product, when together they are one:
/// the same variables in each, and every combination of the values they list is one
/// an entry gives (`[{HOST: a}, {HOST: b}]` is `{ HOST = ["a", "b"] }`).
fn one_product(entries: &[Node]) -> Option<Axes<'_>> {
    const MOST_JOBS: usize = 1000;
    let each: Vec<Axes> = entries.iter().map(matrix_axes).collect();
    let first = each.first()?;
    // the first entry's order of variables; the others' (YAML keys have none) looked up
    let keys: Vec<&String> = first.iter().map(|(k, _)| k).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    let mut axes: Axes = first.iter().map(|(k, _)| (k.clone(), Vec::new())).collect();
    let mut seen: Vec<std::collections::HashSet<String>> = vec![Default::default(); keys.len()];
    let mut combinations: std::collections::HashSet<Vec<String>> = Default::default();
    for entry in &each {
        let mut entry_keys: Vec<&String> = entry.iter().map(|(k, _)| k).collect();
        entry_keys.sort();
        if entry_keys != sorted {
            return None;
        }
        let values: Vec<&Vec<(String, &Node)>> = (keys.iter())
            .map(|k| entry.iter().find(|(ek, _)| ek == *k).map(|(_, v)| v))
            .collect::<Option<_>>()?;
        let size = values
            .iter()
            .try_fold(1usize, |n, v| n.checked_mul(v.len()))?;
        if size > MOST_JOBS || combinations.len() > MOST_JOBS {
            return None;
        }
        for (((_, all), seen), values) in axes.iter_mut().zip(&mut seen).zip(&values) {
            for (s, n) in values.iter() {
                if seen.insert(s.clone()) {
                    all.push((s.clone(), *n));
                }
            }
        }
        let mut partial: Vec<Vec<String>> = vec![Vec::new()];
        for values in &values {
            partial = (partial.iter())
                .flat_map(|p| {
                    values
                        .iter()
                        .map(move |(s, _)| [p.clone(), vec![s.clone()]].concat())
                })
                .collect();
        }
        combinations.extend(partial);
    }
    let product = axes
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))?;
    (product == combinations.len()).then_some(axes)
}

/// `allow_failure: { exit_codes: 137 }` or `{ exit_codes: [137, 255] }`: the codes (an
/// empty list, which GitLab's schema refuses, is none).
fn exit_codes(v: &Node) -> Option<Vec<PVal>> {
    let codes = v.get("exit_codes")?;
    let one = |n: &Node| n.as_str()?.parse::<u64>().ok().map(PVal::Int);
    let codes: Vec<PVal> = match &codes.kind {
        Kind::Seq(items) => items.iter().map(one).collect::<Option<_>>()?,
        _ => vec![one(codes)?],
    };
    (!codes.is_empty()).then_some(codes)
}

/// GitLab's Vault engine when a secret names none, the one Plumb's `vault` compiles to.
const DEFAULT_VAULT_ENGINE: (&str, &str) = ("kv-v2", "secret");

/// A job's secret from `secrets:`: `variable` holds it (or, with `file`, the path of a
/// file that holds it: GitLab's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultSecret {
    pub variable: String,
    pub path: String,
    pub field: String,
    pub file: bool,
}

/// What a trigger Plumb cannot carry (`include: artifact`, several includes) starts, in
/// a program read for a check (nobody reads the name).
const UNCARRIED_TRIGGER: &str = "not-carried.yml";

/// Where a secret Plumb cannot carry is said to come from, in a program read for a check:
/// no Vault path (the checks never read it; nobody sees the program).
const UNCARRIED_SECRET_PATH: &str = "not-carried";

/// `secrets:`; for a check (`for_check`), a secret Plumb cannot carry is still a secret
/// the job holds, and the credential checks follow it under its variable's name.
fn secrets(v: &Node, id_tokens: Option<&Node>, f: &mut Fields, for_check: bool) {
    // with one ID token GitLab authenticates with it: `token:` naming it says no more
    let sole_token = match id_tokens.map(Node::entries) {
        Some([only]) => Some(only.key.as_str()),
        _ => None,
    };
    let names_sole_token = |token: &Node| {
        let name = token.as_str().map(|t| t.trim_start_matches('$'));
        let name = name.map(|n| n.trim_start_matches('{').trim_end_matches('}'));
        sole_token.is_some() && name == sole_token
    };
    for e in v.entries() {
        // GitLab's default is a file variable holding the secret
        let file = e.value.get("file").and_then(Node::as_bool) != Some(false);
        let secret = |path: String, field: String| VaultSecret {
            variable: e.key.clone(),
            path,
            field,
            file,
        };
        if let Some(token) = e.value.get("token").filter(|t| !names_sole_token(t)) {
            f.notes.push(Note {
                file: token.file,
                line: token.line,
                end_line: token.line,
                message: format!("secret `{}`: `token: {}` is not carried: the compiled `secrets:` entry names no ID token to authenticate with (a job with several `id_tokens` needs it)", e.key, token.as_str().unwrap_or("…")),
            });
        }
        match vault_secret(e.value.get("vault")) {
            Ok((path, field)) => f.vault.push(secret(path, field)),
            Err(why) => {
                f.notes.push(Note {
                    file: e.value.file,
                    line: e.key_line,
                    end_line: e.value.end_line,
                    message: format!("secret `{}` {why}: not carried", e.key),
                });
                f.secrets_not_carried.push(e.key.clone());
                if for_check {
                    f.vault
                        .push(secret(UNCARRIED_SECRET_PATH.into(), e.key.clone()));
                }
            }
        }
    }
}

/// A secret's `vault:` as Plumb's `vault(PATH, FIELD)`, which reads the default engine:
/// the short form `path/to/secret/field@engine-mount`, or `{ engine, path, field }`.
fn vault_secret(vault: Option<&Node>) -> Result<(String, String), String> {
    let Some(vault) = vault else {
        return Err("is not from Vault".into());
    };
    let (engine, path, field) = match &vault.kind {
        Kind::Scalar { text, .. } => {
            let (path, mount) = match text.split_once('@') {
                Some((path, mount)) => (path, Some(mount)),
                None => (text.as_str(), None),
            };
            let (path, field) = path.rsplit_once('/').ok_or("names no field")?;
            let engine = (
                DEFAULT_VAULT_ENGINE.0,
                mount.unwrap_or(DEFAULT_VAULT_ENGINE.1),
            );
            (engine, path, field)
        }
        Kind::Map(_) => {
            let text = |n: Option<&Node>, default: &'static str| {
                n.map_or(Some(default), Node::as_str).map(str::to_string)
            };
            let engine = vault.get("engine");
            let name = text(engine.and_then(|e| e.get("name")), DEFAULT_VAULT_ENGINE.0);
            let mount = text(engine.and_then(|e| e.get("path")), DEFAULT_VAULT_ENGINE.1);
            let path = vault.get("path").and_then(Node::as_str);
            let field = vault.get("field").and_then(Node::as_str);
            let (Some(name), Some(mount), Some(path), Some(field)) = (name, mount, path, field)
            else {
                return Err("has no `path` and `field` Plumb can read".into());
            };
            return match (name.as_str(), mount.as_str()) == DEFAULT_VAULT_ENGINE {
                true => Ok((path.to_string(), field.to_string())),
                false => Err(engine_not_carried(&name, &mount)),
            };
        }
        _ => return Err("is not from Vault".into()),
    };
    match engine == DEFAULT_VAULT_ENGINE {
        true => Ok((path.to_string(), field.to_string())),
        false => Err(engine_not_carried(engine.0, engine.1)),
    }
}

fn engine_not_carried(name: &str, mount: &str) -> String {
    format!(
        "reads Vault engine `{name}` at `{mount}`, and Plumb's `vault(PATH, FIELD)` reads `{}` at `{}`",
        DEFAULT_VAULT_ENGINE.0, DEFAULT_VAULT_ENGINE.1
    )
}

/// GitLab's human durations (`1h 30m`, `3 hours`, `10 minutes`, `1d`) as Plumb's.
pub fn duration(text: &str) -> Option<String> {
    // as GitLab's ChronicDuration reads it: decimals (`1.5h`), words (`2 hours and 10
    // minutes`), months of 30 days and years of 365.25
    let mut number = String::new();
    let mut words: Vec<(f64, String)> = Vec::new();
    let mut unit = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !number.is_empty() && unit.is_empty()) {
            if !unit.is_empty() {
                words.push((number.parse().ok()?, std::mem::take(&mut unit)));
                number.clear();
            }
            number.push(c);
        } else if c.is_ascii_alphabetic() {
            unit.push(c.to_ascii_lowercase());
        } else if !number.is_empty() && !unit.is_empty() {
            words.push((number.parse().ok()?, std::mem::take(&mut unit)));
            number.clear();
        } else if unit == "and" {
            unit.clear();
        }
    }
    if !number.is_empty() && unit.is_empty() {
        // a bare number is seconds
        words.push((number.parse().ok()?, "s".into()));
    }
    if words.is_empty() {
        return None;
    }
    let mut total = 0f64;
    for (n, unit) in words {
        let factor: f64 = match unit.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "dy" | "day" | "days" => 86_400.0,
            "w" | "wk" | "wks" | "week" | "weeks" => 604_800.0,
            "mo" | "mos" | "mth" | "mths" | "month" | "months" => 2_592_000.0,
            "y" | "yr" | "yrs" | "year" | "years" => 31_557_600.0,
            _ => return None,
        };
        total += n * factor;
    }
    if !total.is_finite() || total > 1e15 {
        return None;
    }
    let seconds = total.round() as u64;
    // in days from a day on (`7d`, as the YAML usually says, not `168h`)
    let (d, h) = (seconds / 86_400, seconds % 86_400 / 3600);
    let (m, s) = (seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    Some(out)
}

/// The notes for entries of an `only:`/`except:` list that are not refs (`- variables:
/// [...]` among the ref names): GitLab's schema refuses them (a list holds names and
/// patterns; `variables` is a key of the mapping form), and they are not carried.
fn entries_not_refs(key: &str, list: &Node) -> Vec<Note> {
    // a list inside the list is flattened into its refs, as GitLab reads it
    (list.items().iter())
        .filter(|item| item.as_str().is_none() && item.items().is_empty())
        .filter(|item| !matches!(item.kind, crate::yaml::Kind::Seq(_)))
        .map(|item| {
            let what = match item.entries().first() {
                Some(e) => format!("`{}:`", e.key),
                None if item.is_null() => "`~` (empty)".to_string(),
                None => "`{}`".to_string(),
            };
            Note {
                file: item.file,
                line: item.line,
                end_line: item.end_line.max(item.line),
                message: format!(
                    "`{key}:` holds ref names and /patterns/: its entry {what} is neither (GitLab's schema refuses it; write `{key}: {{ refs: […], variables: […] }}`): not carried"
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_entries_that_are_one_product_are_carried_whole() {
        let p = crate::test_support::imported(
            "a:\n  image: alpine:3.20.1\n  parallel:\n    matrix:\n      - HOST: x\n      - HOST: y\n  script: [make]\nb:\n  image: alpine:3.20.1\n  parallel:\n    matrix:\n      - {OS: [l], ARCH: [x, a]}\n      - {OS: [m], ARCH: [x, a]}\n  script: [make]\n",
        );
        assert!(p.contains(r#"matrix = { HOST = ["x", "y"] }"#), "{p}");
        assert!(
            p.contains(r#"matrix = { OS = ["l", "m"], ARCH = ["x", "a"] }"#),
            "{p}"
        );
        assert!(!p.contains("first is kept"), "{p}");
        let p = crate::test_support::imported(
            "b:\n  image: alpine:3.20.1\n  parallel:\n    matrix:\n      - {OS: [l], ARCH: [x, a]}\n      - {OS: [m], ARCH: [a]}\n  script: [make]\n",
        );
        // not one product: GitLab's `parallel:` as written, every job kept
        assert!(!p.contains("matrix = {"), "{p}");
        assert!(
            p.contains(r#"gitlab = { parallel = { matrix = [{ OS = ["l"], ARCH = ["x", "a"] }, { OS = ["m"], ARCH = ["a"] }] } }"#)
                || p.contains(r#"parallel = { matrix = [{ OS = ["l"], ARCH = ["x", "a"] }, { OS = ["m"], ARCH = ["a"] }] }"#),
            "{p}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration("1h 30m").as_deref(), Some("1h30m"));
        assert_eq!(duration("3 hours").as_deref(), Some("3h"));
        assert_eq!(duration("10 minutes").as_deref(), Some("10m"));
        assert_eq!(duration("1d").as_deref(), Some("1d"));
        assert_eq!(duration("7 days").as_deref(), Some("7d"));
        assert_eq!(duration("1 day 2 hours").as_deref(), Some("1d2h"));
        assert_eq!(duration("90").as_deref(), Some("1m30s"));
        assert_eq!(duration("soon"), None);
        // decimals, `and`, months and years, as GitLab reads them
        assert_eq!(duration("1.5h").as_deref(), Some("1h30m"));
        assert_eq!(duration("0.5 days").as_deref(), Some("12h"));
        assert_eq!(duration("1.5 minutes").as_deref(), Some("1m30s"));
        assert_eq!(duration("2 hours and 10 minutes").as_deref(), Some("2h10m"));
        assert_eq!(duration("1 month").as_deref(), Some("30d"));
        assert_eq!(duration("1 year").as_deref(), Some("365d6h"));
    }

    #[test]
    fn image_variables_expand_from_the_file() {
        let global = vec![("REG".to_string(), "registry.example.com".to_string())];
        assert_eq!(
            expand_vars("$REG/app:1", &[], &global),
            "registry.example.com/app:1"
        );
        assert_eq!(
            expand_vars("${REG}/app:1", &[], &global),
            "registry.example.com/app:1"
        );
        assert_eq!(
            expand_vars("$CI_REGISTRY_IMAGE:1", &[], &global),
            "$CI_REGISTRY_IMAGE:1"
        );
    }

    #[test]
    fn a_variable_naming_another_expands_in_turn_within_bounds() {
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let global = vars(&[("PREFIX", "docker.io"), ("IMG", "${PREFIX}/busybox:1.37")]);
        assert_eq!(
            expand_vars("${IMG}", &[], &global),
            "docker.io/busybox:1.37"
        );
        // a value naming what is not defined here stays as written
        let global = vars(&[("IMG", "$CI_REGISTRY/app:1")]);
        assert_eq!(expand_vars("$IMG", &[], &global), "$IMG");
        // a loop, and a value doubling at each step, end
        let global = vars(&[("A", "$B"), ("B", "$A")]);
        assert_eq!(expand_vars("$A", &[], &global), "$A");
        let doubling: Vec<(String, String)> = (0..40)
            .map(|i| (format!("V{i}"), format!("$V{}$V{}", i + 1, i + 1)))
            .chain([("V40".to_string(), "x".repeat(100))])
            .collect();
        assert_eq!(expand_vars("$V0", &[], &doubling), "$V0");
        let wide: Vec<(String, String)> = (0..8)
            .map(|i| (format!("W{i}"), format!("$W{}", i + 1).repeat(1000)))
            .chain([("W8".to_string(), String::new())])
            .collect();
        assert_eq!(expand_vars("$W0", &[], &wide), "$W0");
    }
}
