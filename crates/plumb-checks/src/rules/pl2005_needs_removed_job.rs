//! PL2005 needs-removed-job: A job needs a job that a condition or a target leaves out.

use crate::scenarios::{scenarios, Scenario};
use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::{Cond, Event, JobModel};
use std::collections::BTreeMap;

declare_rule! {
    code: PL2005,
    pipeline: check_pipeline,
}

fn check_pipeline(cx: &PipelineCx, out: &mut Vec<Diagnostic>) {
    let p = cx.pipeline;
    let default_branch = cx.config.default_branch().to_string();
    let events = [
        (
            Event::Branch(default_branch.clone()),
            format!("a push to `{default_branch}`"),
        ),
        (
            Event::Branch("\u{0}another-branch".to_string()),
            "a push to another branch".to_string(),
        ),
        (Event::Tag, "a tag".to_string()),
        (Event::MergeRequest, "a merge request".to_string()),
    ];
    // how many tests the scenario search may decide in this pipeline (see
    // `missing_in_a_scenario`)
    let mut budget: usize = 4_000_000;
    for job in &p.jobs {
        for need in &job.needs {
            let Some(target) = need.target.map(|t| &p.jobs[t]) else {
                continue;
            };
            let runs =
                |j: &plumb_semantics::JobModel, e: &Event| p.on.admits(e).and(j.when.admits(e));
            // `{ job = x, optional = true }` asks for `x` only where it runs
            let missing = (!need.optional).then_some(()).and_then(|_| {
                events
                    .iter()
                    .find(|(e, _)| runs(job, e).possible() && !runs(target, e).possible())
                    .map(|(_, event)| event.clone())
                    .or_else(|| {
                        missing_in_a_scenario(&p.on, (job, target), &default_branch, &mut budget)
                    })
            });
            if let Some(event) = missing {
                out.push(
                    Diagnostic::new(
                        RULE.code,
                        RULE.severity(),
                        need.at,
                        format!(
                            "job `{}` needs `{}`, which does not run for {event} while `{}` does",
                            job.name, target.name, job.name
                        ),
                    )
                    .with_label(format!("`{}` is left out for {event}", target.name))
                    .with_secondary(
                        target
                            .field("when")
                            .map_or(target.name_at, |f| f.value.origin),
                        format!("`{}`'s condition", target.name),
                    )
                    .with_help(format!(
                        "give `{}` the same condition as `{}`, widen `{}`'s `when`, or need it only where it runs: `{{ job = {}, optional = true }}`",
                        job.name, target.name, target.name, target.name
                    ))
                    .with_yaml_help(format!(
                        "give `{}` rules that add it for {event} too (a job without `rules:` runs for branches and tags only), or need it only where it runs: `needs: [{{job: {}, optional: true}}]`",
                        target.name, target.name
                    )),
                );
            } else if target.when.mentions_manual()
                && !job.when.mentions_manual()
                && !runs_by_itself_when(&target.when, &job.when)
            {
                out.push(
                    Diagnostic::new(RULE.code, RULE.severity(), need.at, format!(
                        "job `{}` needs the manual job `{}`", job.name, target.name))
                    .with_label("this job waits for a person to start `".to_string() + &target.name + "`")
                    .with_secondary(target.field("when").map_or(target.name_at, |f| f.value.origin), "manual here")
                    .with_help("the Kubernetes target leaves manual jobs out, and GitLab blocks until someone starts it; make this job manual too, or drop the need"),
                );
            }
        }
    }
}

/// A pipeline (see [`crate::scenarios`]) where `job` may run and `target` cannot, told
/// as a reader would: the four sample events miss branches, variables and sources the
/// conditions name themselves (`branch =~ "^release/"` needing `branch == "release/1"`).
fn missing_in_a_scenario(
    on: &Cond,
    (job, target): (&JobModel, &JobModel),
    default_branch: &str,
    budget: &mut usize,
) -> Option<String> {
    if target.when == Cond::Always || *budget == 0 {
        return None;
    }
    // each scenario decides every test of the conditions: a pipeline of many needs and
    // long conditions is searched only as far as the budget goes
    let tests = count_tests(&[on, &job.when, &target.when]).max(1);
    let affordable = *budget / tests;
    if affordable == 0 {
        return None;
    }
    let (job_env, target_env) = (literal_env(job), literal_env(target));
    let runs = |when: &Cond, env, s: &Scenario| s.decide(on, env).and(s.decide(when, env));
    let found = scenarios(&[on, &job.when, &target.when], default_branch, affordable);
    *budget = budget.saturating_sub((found.len() * tests).max(tests));
    found
        .into_iter()
        .find(|s| {
            runs(&job.when, &job_env, s).possible()
                && !runs(&target.when, &target_env, s).possible()
        })
        .map(|s| s.describe())
}

/// The job's variables with a literal value (GitLab's rules read them).
fn literal_env(job: &JobModel) -> BTreeMap<String, String> {
    (job.env.iter())
        .filter_map(|b| b.value.as_str().map(|v| (b.name.clone(), v.to_string())))
        .filter(|(_, v)| !v.contains('$'))
        .collect()
}

/// How many tests and operators the conditions hold.
fn count_tests(conds: &[&Cond]) -> usize {
    conds.iter().map(|c| c.nodes().count()).sum()
}

/// Whether the target runs without a person whenever `job_when` holds: one of its
/// alternatives has no `manual` and is `job_when`, or one of `job_when`'s conjuncts
/// (`publish: tag || manual` and `verify: tag`: on a tag, publish runs by itself).
fn runs_by_itself_when(target_when: &Cond, job_when: &Cond) -> bool {
    let conditions = job_when.conjuncts();
    target_when
        .alternatives()
        .into_iter()
        .filter(|alternative| !alternative.mentions_manual())
        .any(|alternative| alternative == job_when || conditions.contains(&alternative))
}
