//! What Cutover says in Linear, and which labels a plan earns. Pure functions of the plan and
//! the request, so the texts are tested as snapshots.

use cutover_plan::HazardCode;
use cutover_plan::planner::{Flavor, Phase, PhaseName, Plan, render_markdown, render_phase_markdown};
use cutover_request::{ChangeRequest, Downtime, MigrationType};

use crate::markdown;
use crate::planning::{PlanningError, Review, ReviewFinding, ReviewSource};

/// The labels Cutover manages (product.md).
pub const MANAGED_LABELS: [(&str, &str); 5] = [
    ("schema-change", "A database schema change planned by Cutover."),
    ("zero-downtime", "Rolled out without downtime: expand, backfill, contract."),
    ("backfill", "Fills existing rows online, in batches."),
    ("high-risk", "Takes locks that block writes on a large table, rewrites it, or cannot be undone."),
    ("data-integrity", "Removes data, or may fail on existing rows that break a new rule."),
];

pub const APPROVE: &str = "Approve plan";
pub const REQUEST_CHANGES: &str = "Request changes";

/// The labels one phase's sub-issue earns: those of the plan cut down to that phase.
pub fn labels_for_phase(plan: &Plan, index: usize, request: &ChangeRequest) -> Vec<String> {
    let phase =
        Plan { phases: plan.phases.get(index).cloned().into_iter().collect(), blockers: vec![], ..plan.clone() };
    labels_for(&phase, request)
}

/// The labels this plan earns, in `MANAGED_LABELS` order.
pub fn labels_for(plan: &Plan, request: &ChangeRequest) -> Vec<String> {
    let steps: Vec<_> = plan.steps().map(|(_, s)| s).collect();
    let has = |codes: &[HazardCode]| steps.iter().any(|s| s.hazards.iter().any(|h| codes.contains(&h.code)));
    let mut labels = vec!["schema-change"];
    if request.downtime == Downtime::ZeroDowntime {
        labels.push("zero-downtime");
    }
    if plan.phase(PhaseName::Backfill).is_some() || steps.iter().any(|s| s.backfill.is_some()) {
        labels.push("backfill");
    }
    let irreversible = steps
        .iter()
        .any(|s| s.rollback_sql.is_none() && s.hazards.iter().any(|h| matches!(h.code, HazardCode::DataLoss)));
    if !plan.blockers.is_empty()
        || irreversible
        || has(&[HazardCode::TableRewrite, HazardCode::FullScanUnderLock])
        || steps.iter().any(|s| {
            s.locks.iter().any(|l| l.mode.blocks_writes()) && s.estimate.as_ref().is_some_and(|e| e.seconds >= 1.0)
        })
    {
        labels.push("high-risk");
    }
    if has(&[HazardCode::DataLoss, HazardCode::MayFailOnExistingData]) {
        labels.push("data-integrity");
    }
    labels.into_iter().map(String::from).collect()
}

pub fn ack(identifier: &str, replanning: bool) -> String {
    if replanning {
        format!("Re-reading {identifier} and the database schema to plan again.")
    } else {
        format!("Reading {identifier} and the current schema of the database to plan the migration.")
    }
}

/// A session opened on an issue whose plan is already posted (the delegation was taken up
/// at start-up, before its webhook arrived).
pub fn plan_already_posted(identifier: &str) -> String {
    format!("The plan for {identifier} is already posted in the comments of the issue; it is unchanged.")
}

/// The durable plan comment without a review (see [`plan_comment_reviewed`]).
pub fn plan_comment(plan: &Plan, in_session: bool) -> String {
    plan_comment_reviewed(plan, &Review::default(), in_session)
}

/// The durable plan comment: the plan's Markdown rendering (Linear's flavour of `cutover plan
/// --format markdown`: rollbacks fold as `+++` sections), the design advice and the lint
/// findings of the review (each with its reason and fix; long lists folded), then how to
/// answer.
pub fn plan_comment_reviewed(plan: &Plan, review: &Review, in_session: bool) -> String {
    let mut body = render_markdown(plan, Flavor::Linear);
    body.push_str(&review_sections(review));
    body.push_str("\n---\n");
    if !plan.blockers.is_empty() {
        body.push_str(
            "_Cutover cannot approve this plan until the blocked changes are resolved: edit the request and ",
        );
        body.push_str(if in_session { "reply in the agent session._\n" } else { "mention Cutover again._\n" });
    } else if in_session {
        body.push_str(
            "_Approve or request changes in the agent session; on approval Cutover creates one sub-issue per phase._\n",
        );
    } else {
        body.push_str("_Reply mentioning Cutover with **approve** to create one sub-issue per phase, or with the changes you want._\n");
    }
    body
}

/// Findings listed in full before the list is folded into a `+++` section.
const UNFOLDED_FINDINGS: usize = 5;
/// Findings listed at most; the rest are counted.
const MAX_FINDINGS: usize = 30;

/// The review's two sections: design advice (the design rules), then the other lint
/// findings (folded: how the SQL as written would run, which the plan's steps already avoid
/// where a recipe exists). Empty when the review found nothing.
fn review_sections(review: &Review) -> String {
    let design: Vec<_> = review.design().collect();
    let lint: Vec<_> = review.lint().collect();
    let mut out = String::new();
    if !design.is_empty() {
        let title = format!("Design advice ({})", design.len());
        let intro = "What a reviewer would change in the schema this request makes:";
        out.push_str(&section(&title, intro, &design, design.len() > UNFOLDED_FINDINGS));
    }
    if !lint.is_empty() {
        let what = match review.source {
            ReviewSource::RequestSql => "the proposed SQL",
            ReviewSource::PlanSteps => "the plan's statements",
        };
        let title = format!("Lint findings on {what} ({})", lint.len());
        let intro = match review.source {
            ReviewSource::RequestSql => {
                "How the SQL as written would run on the live database; the plan's steps are built to avoid these where a safe recipe exists."
            }
            ReviewSource::PlanSteps => "What the linter says about the plan's statements on the live database.",
        };
        out.push_str(&section(&title, intro, &lint, true));
    }
    out
}

/// One section: a heading (or a `+++` fold) and a bullet per finding, text from the
/// findings escaped (`cutover_plan::markdown::text`: names in them come from the request).
fn section(title: &str, intro: &str, findings: &[&ReviewFinding], fold: bool) -> String {
    let mut out = String::from("\n");
    if fold {
        out.push_str(&format!("+++ {title}\n\n"));
    } else {
        out.push_str(&format!("### {title}\n\n"));
    }
    out.push_str(intro);
    out.push_str("\n\n");
    for f in findings.iter().take(MAX_FINDINGS) {
        let d = &f.diagnostic;
        out.push_str(&format!(
            "- **{}** `{}` ({}): {}\n  Fix: {}\n",
            d.severity.as_str(),
            d.rule,
            f.place,
            cutover_plan::markdown::text(&markdown::clip(&d.message, 500)),
            cutover_plan::markdown::text(&markdown::clip(&d.help, 500)),
        ));
    }
    if findings.len() > MAX_FINDINGS {
        out.push_str(&format!("- … and {} more.\n", findings.len() - MAX_FINDINGS));
    }
    if fold {
        out.push_str("\n+++\n");
    }
    out
}

/// The approval question that follows the plan comment.
pub fn approval_question(plan: &Plan) -> String {
    let steps = plan.steps().count();
    if plan.blockers.is_empty() {
        format!(
            "The plan is in the comment above: {} phase(s), {steps} step(s). Approve it to create one sub-issue per phase, or request changes.",
            plan.phases.len()
        )
    } else {
        format!(
            "The plan above is blocked: {} change(s) cannot be made safely as requested. Edit the request (the options are listed under each blocker) and reply to re-plan.",
            plan.blockers.len()
        )
    }
}

/// A contradiction between what the request says and what its plan does.
pub fn contradiction(plan: &Plan, request: &ChangeRequest) -> Option<String> {
    let types = &request.migration_types;
    // Data the request itself removes. Cutover's own temporary objects (named with
    // `_cutover_`, like the old column of a type change once its values are copied) are
    // dropped by the recipe, not by the request.
    let removes = |s: &&cutover_plan::planner::Step| {
        s.hazards.iter().any(|h| h.code == HazardCode::DataLoss) && !s.sql.contains("_cutover_")
    };
    let loses_data = plan.steps().any(|(_, s)| removes(&s));
    if loses_data && !types.contains(&MigrationType::Destructive) && !types.contains(&MigrationType::Rollback) {
        let what: Vec<String> = plan
            .steps()
            .filter(|(_, s)| removes(s))
            .map(|(_, s)| format!("- {}", markdown::inline_code(s.sql.lines().next().unwrap_or(""))))
            .collect();
        let said: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        return Some(format!(
            "The request says the migration is **{}**, but the plan removes data:\n\n{}\n\nIf that is intended, add `destructive` to **Migration type**; otherwise change **Proposed schema changes**. Then reply here and I will plan again.",
            said.join(", "),
            what.join("\n")
        ));
    }
    None
}

/// What the requester is told when no plan could be made. PostgreSQL's words and anything
/// else from the request are quoted (`markdown`); failures that concern the database being
/// migrated or the scratch server are told without their details, which name servers and
/// users (the worker logs them).
pub fn planning_failed(err: &PlanningError) -> String {
    match err {
        PlanningError::RequestSql { line, column, message, .. } => format!(
            "The SQL in **Proposed schema changes** does not apply to the current schema. PostgreSQL says, at line {line} of the issue description (column {column}):\n\n{}\n\nFix the SQL in the description, then reply here (or mention Cutover) to plan again.",
            markdown::fenced(message, "text")
        ),
        PlanningError::StatementTimeout { line, limit } => format!(
            "The statement at line {line} of the issue description ran longer than {} s, the limit for one statement on the scratch server, and was stopped. **Proposed schema changes** should be schema changes, which run at once on the empty copy Cutover plans on; change the statement, then reply here to plan again.",
            seconds(*limit)
        ),
        PlanningError::OutOfTime { budget } => format!(
            "Planning this issue took longer than its budget of {} s and was stopped; its scratch database was dropped. Reply here to try again. If the change is that large, whoever runs Cutover can raise `planning_budget_secs` in the `[sandbox]` section of cutover.toml.",
            seconds(*budget)
        ),
        PlanningError::Database(_) => "I could not read the schema of the database being migrated (the details are in Cutover's log). Check that `CUTOVER_DATABASE_URL` points at a reachable database Cutover may read, then reply here to try again.".to_string(),
        PlanningError::SchemaPath { path, message } => format!(
            "The desired schema at {} could not be loaded:\n\n{}\n\nFix the path or the SQL there, then reply here to plan again.",
            markdown::inline_code(path),
            markdown::fenced(message, "text")
        ),
        PlanningError::Scratch(_) => "I could not prepare a scratch database to apply the request on. This is a problem on Cutover's side (the details are in its log; check `--dev-url`); reply here to try again.".to_string(),
    }
}

fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s}") }
}

/// The title of a phase's sub-issue.
pub fn phase_title(identifier: &str, plan: &Plan, index: usize, phase: &Phase) -> String {
    let steps = phase.steps.len();
    format!(
        "{identifier} · phase {} of {}: {} ({steps} step{})",
        index + 1,
        plan.phases.len(),
        phase.name,
        if steps == 1 { "" } else { "s" }
    )
}

/// A phase sub-issue's description: its SQL, checklist and where it belongs.
pub fn phase_description(identifier: &str, plan: &Plan, index: usize) -> String {
    let mut body = format!(
        "Part of {identifier}: phase {} of {} of the approved migration plan. Run it only after the issues that block it are done.\n",
        index + 1,
        plan.phases.len()
    );
    body.push_str(&render_phase_markdown(plan, index, Flavor::Linear));
    body
}

/// The final response to an approval, written when it is sent: `labels` exist and were put on
/// the issue; Linear refused to create the `refused` ones (reported separately).
pub fn approved(phases: &[String], application: &[String], labels: &[String], refused: &[String]) -> String {
    let quoted = |names: &[String]| names.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
    let labelled = match (labels.is_empty(), refused.is_empty()) {
        (false, true) => format!(", and labelled the issue {}", quoted(labels)),
        (false, false) => format!(
            ", and labelled the issue {} ({} could not be created in this workspace)",
            quoted(labels),
            quoted(refused)
        ),
        (true, false) => format!("; the labels {} could not be created in this workspace", quoted(refused)),
        (true, true) => String::new(),
    };
    let app = match application.len() {
        0 => String::new(),
        n => format!(
            " and {n} for the application's work ({}), placed before the phases that need it",
            application
                .iter()
                .map(|t| format!("\"{}\"", t.split_once(" · ").map_or(t.as_str(), |(_, title)| title)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "Plan approved. I created {} sub-issue(s), one per phase ({}){app}, each blocking the next{labelled}. Run each phase when its sub-issue is unblocked.",
        phases.len(),
        phases.join(" → "),
    )
}

pub fn no_changes() -> String {
    "No changes needed: the database already has the schema this request asks for.".to_string()
}

pub fn what_to_change() -> String {
    "What should change? Edit the issue description (usually **Proposed schema changes**) and reply here; I will plan again from the edited issue.".to_string()
}

pub fn stopped() -> String {
    "Stopped. I will not write anything more for this request, and no database change was made. Reply here to start again.".to_string()
}

pub fn already_approved(identifier: &str) -> String {
    format!("The plan for {identifier} is approved and its phase sub-issues exist; run each phase from its sub-issue.")
}

/// The commit message of the pull request's one commit.
pub fn commit_message(title: &str, plan: &Plan) -> String {
    let phases: Vec<String> = plan.phases.iter().map(|p| p.name.to_string()).collect();
    format!(
        "{title}\n\nMigration planned by Cutover: {} phase(s) ({}), {} step(s).\n",
        plan.phases.len(),
        phases.join(" → "),
        plan.steps().count()
    )
}

/// The pull request's body: the summary, `Part of <identifier>` (Linear's non-closing magic
/// words: the PR links to the issue without closing it), the files, the review checklist, the
/// application impact, and every phase in the plan's one Markdown rendering.
pub fn pull_request_body(
    identifier: &str,
    plan: &Plan,
    files: &[cutover_github::publish::File],
    notes: &[String],
    impact: &cutover_impact::Impact,
) -> String {
    let steps: Vec<_> = plan.steps().collect();
    let phases: Vec<String> = plan.phases.iter().map(|p| p.name.to_string()).collect();
    let mut body = format!(
        "Part of {identifier}\n\n## Summary\n\nThe migration Cutover planned for {identifier} and a person approved: {} phase(s) ({}), {} step(s). Each phase is its own deploy, in this order; its sub-issue in Linear says when it may run.\n",
        plan.phases.len(),
        phases.join(" → "),
        steps.len()
    );
    body.push_str("\n## Files\n\n");
    for file in files {
        body.push_str(&format!("- {}\n", markdown::inline_code(&file.path)));
    }
    if !notes.is_empty() {
        body.push('\n');
        for note in notes {
            // Sentences from cutover-write, which may hold names from the repository.
            body.push_str(&format!("> {}\n", cutover_plan::markdown::text(&markdown::clip(note, 500))));
        }
    }
    let breaking: Vec<(usize, &Phase, &cutover_plan::planner::Step)> = plan
        .phases
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.steps.iter().map(move |s| (i, p, s)))
        .filter(|(_, _, s)| {
            s.hazards.iter().any(|h| matches!(h.code, HazardCode::BreaksRunningCode | HazardCode::DataLoss))
        })
        .collect();
    body.push_str("\n## Review checklist\n\n");
    body.push_str(
        "- [ ] The SQL of every step below is what the issue asks for, and each step's rollback undoes it.\n",
    );
    body.push_str("- [ ] The lock_timeout and statement_timeout of each step suit this database's traffic.\n");
    let first_breaking = breaking.first().map(|(i, _, _)| *i);
    let plan_file = files.iter().find(|f| f.path.ends_with(".plan.json")).map_or("plan.json", |f| f.path.as_str());
    for (index, phase) in plan.phases.iter().enumerate() {
        // What the repository must change before this phase, found in it (cutover-impact);
        // without such changes, the steps that break running code say where.
        if let Some(item) = cutover_impact::render::markdown_before(impact, phase.name) {
            body.push_str(&item);
        } else if impact.changes.is_empty() && Some(index) == first_breaking {
            body.push_str(&format!(
                "- [ ] Update application queries and ORM models (see **Application impact**), and deploy that version everywhere, before the {} phase.\n",
                phase.name
            ));
        }
        body.push_str(&format!(
            "- [ ] Phase {} of {}, {}: {}, then `cutover verify`.\n",
            index + 1,
            plan.phases.len(),
            phase.name,
            markdown::inline_code(&format!(
                "cutover apply --database $CUTOVER_DATABASE_URL --plan {plan_file} --phase {}",
                phase.name
            ))
        ));
    }
    if steps.iter().any(|(_, s)| s.rollback_sql.is_none()) {
        body.push_str("- [ ] A fresh backup exists before the steps that cannot be undone.\n");
    }
    body.push_str("\n## Application impact\n\n");
    if !impact.changes.is_empty() {
        body.push_str(
            "Where the repository names what the plan drops, renames or retypes is listed in the review checklist, before the phase that needs the application changed.\n",
        );
        if !impact.edits.is_empty() {
            body.push_str("\nModel files updated in this pull request:\n\n");
            for edit in &impact.edits {
                body.push_str(&format!(
                    "- {}: {}\n",
                    markdown::inline_code(&edit.file),
                    cutover_plan::markdown::text(&markdown::clip(&edit.summary.join("; "), 500))
                ));
            }
        }
        if !impact.skipped.is_empty() {
            body.push_str(&format!(
                "\nNot searched: {} file(s) (too large, or past the first {} files).\n",
                impact.skipped.len(),
                crate::pull_request::MAX_IMPACT_FILES
            ));
        }
        body.push('\n');
    }
    if breaking.is_empty() {
        body.push_str("No step removes or narrows anything the running application may use.\n");
    } else {
        body.push_str("What the application must stop using before these steps run:\n\n");
        for (_, phase, step) in &breaking {
            let first = step.sql.lines().next().unwrap_or("");
            for hazard in
                step.hazards.iter().filter(|h| matches!(h.code, HazardCode::BreaksRunningCode | HazardCode::DataLoss))
            {
                body.push_str(&format!(
                    "- {} phase, {}: {}\n",
                    phase.name,
                    markdown::inline_code(first),
                    markdown::clip(&hazard.message, 300)
                ));
            }
        }
    }
    body.push_str("\n## Phases\n\n");
    body.push_str(&render_markdown(plan, Flavor::GitHub));
    body.push_str("\n---\n_Opened by Cutover. Edits to this branch by hand are kept: Cutover does not push over commits it did not make._\n");
    body
}

/// No pull request could be prepared (the repository could not be read, or the migrations
/// cannot be written into it): the rollout goes on without one. The reason is quoted.
pub fn no_pull_request(repo: &str, err: &crate::pull_request::PrepareError) -> String {
    use crate::pull_request::PrepareError;
    match err {
        PrepareError::GitHub(err) => format!(
            "I could not read the GitHub repository {} to open the pull request, so the plan's sub-issues are created without one. GitHub says:\n\n{}\n\nCheck `[github] repository` in cutover.toml and the token's access (GITHUB_TOKEN, or the GitHub App's installation), then reply here to try again.",
            markdown::inline_code(repo),
            markdown::fenced(&err.to_string(), "text")
        ),
        PrepareError::Files(problem) => format!(
            "I could not write the migration files for {}, so the plan's sub-issues are created without a pull request:\n\n{}\n\nSet `[write] format` or `[write] directory` in cutover.toml if the repository's migrations were not recognised, then reply here to try again.",
            markdown::inline_code(repo),
            markdown::fenced(&problem.to_string(), "text")
        ),
    }
}
