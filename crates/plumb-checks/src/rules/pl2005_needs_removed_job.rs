//! PL2005 needs-removed-job: A job needs a job that a condition or a target leaves out.

use crate::PipelineCx;
use plumb_diagnostics::Diagnostic;
use plumb_semantics::Event;

declare_rule! {
    code: PL2005,
    summary: r####"A job needs a job that a condition or a target leaves out."####,
    explanation: r####"When a job can run for an event (a branch push, a tag, a merge request) but a job it needs cannot, the dependency is missing exactly when it matters: GitLab rejects the pipeline for that event, and the Kubernetes target drops the need. The same holds for a job that needs a `manual` job: the Kubernetes target leaves manual jobs out, and on GitLab the job waits for a person. Conditions are evaluated for a push to the default branch, a push to another branch, a tag and a merge request; `changes(…)` is taken as possibly true."####,
    bad: r####"pipeline web {
  stage build { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], when = branch == "main" } }
  stage test after build { job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [compile] } }
}"####,
    good: r####"pipeline web {
  stage build { job compile { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"] } }
  stage test after build { job unit { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["make"], needs = [compile] } }
}"####,
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
    for job in &p.jobs {
        for need in &job.needs {
            let Some(target) = need.target.map(|t| &p.jobs[t]) else {
                continue;
            };
            let runs =
                |j: &plumb_semantics::JobModel, e: &Event| p.on.admits(e).and(j.when.admits(e));
            let missing = events
                .iter()
                .find(|(e, _)| runs(job, e).possible() && !runs(target, e).possible());
            if let Some((_, event)) = missing {
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
                        "give `{}` the same condition as `{}`, or widen `{}`'s `when`",
                        job.name, target.name, target.name
                    )),
                );
            } else if target.when.mentions_manual() && !job.when.mentions_manual() {
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
