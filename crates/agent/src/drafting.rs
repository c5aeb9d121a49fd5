//! From an issue written in prose to a proposal: the live schema read (read-only), the model
//! asked for DDL with a rationale per decision (`cutover_draft` writes the prompt), and the
//! answer checked as DDL written by a person is: PostgreSQL's parser, then the sandbox
//! (applied as an unprivileged role to a scratch copy of the current schema), the diff and
//! the plan, then the linter's design rules. An answer that fails goes back to the model with
//! what was wrong, a bounded number of times. Each issue has a time and a token budget; the
//! tokens spent are returned with the proposal or the failure, to be recorded per issue.
//!
//! The issue's text is untrusted: it is sent as delimited data, and whatever the model makes
//! of it is only a proposal, planned, linted, marked when it destroys data, and posted with an
//! approval question. Nothing here writes to Linear or to a live database.

use std::path::PathBuf;
use std::time::Duration;

use cutover_db_postgres::connect::Target;
use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::sandbox::{self, SqlText};
use cutover_db_postgres::source::SqlSource;
use cutover_draft::{Answer, Excerpt, Issue, Problem, Prompt};
use cutover_lint::{Diagnostic, LintOptions, SourceFile};
use cutover_llm::{Message, OutputSchema, Usage};
use cutover_plan::planner::{self, Plan, PlanOptions};
use cutover_schema::Catalog;
use tokio::time::Instant;

use crate::planning::PlanningConfig;

/// The limits of drafting one issue.
#[derive(Debug, Clone)]
pub struct DraftConfig {
    /// The most answers asked for (the first and the repairs).
    pub attempts: u32,
    /// All of it: reading the schema, every answer, every check.
    pub budget: Duration,
    /// Input and output tokens, all answers together.
    pub token_budget: u64,
    /// The most tokens one answer may take.
    pub max_answer_tokens: u32,
}

impl Default for DraftConfig {
    /// 3 answers, 5 minutes, 60 000 tokens, 4 096 per answer.
    fn default() -> Self {
        DraftConfig { attempts: 3, budget: Duration::from_secs(300), token_budget: 60_000, max_answer_tokens: 4_096 }
    }
}

/// The model the agent drafts with and its limits (`[llm]` in cutover.toml); the flow's
/// `FlowContext::llm`, `None` without one.
#[derive(Debug, Clone)]
pub struct Drafter {
    pub client: cutover_llm::Client,
    pub config: DraftConfig,
}

/// A checked proposal (serialized as `cutover draft --format json` prints it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Proposal {
    pub answer: Answer,
    /// The plan the DDL makes against the current schema.
    pub plan: Plan,
    /// The design rules' findings on the DDL (left after the repairs).
    pub findings: Vec<Diagnostic>,
    /// It deletes data (a `data_loss` step).
    pub destructive: bool,
    /// Tokens spent on this issue, failed answers included.
    pub usage: Usage,
    /// Answers asked for.
    pub attempts: u32,
}

impl Proposal {
    /// The comment that posts it, with its approval question.
    pub fn comment(&self) -> String {
        cutover_draft::proposal_comment(&self.answer, &self.plan, &self.findings)
    }
}

/// Why no proposal was made, with the tokens spent on the way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct DraftError {
    pub kind: DraftFailure,
    pub usage: Usage,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DraftFailure {
    #[error("could not read the schema of the database being migrated: {0}")]
    Database(String),
    #[error("the scratch database could not be prepared: {0}")]
    Scratch(String),
    #[error("{0}")]
    Model(cutover_llm::Error),
    #[error("drafting took longer than its budget of {} s", budget.as_secs())]
    OutOfTime { budget: Duration },
    #[error("drafting used {used} tokens of its budget of {budget}")]
    OutOfTokens { budget: u64, used: u64 },
    /// Every answer failed its checks; the last problem.
    #[error("no usable proposal after {attempts} answers; the last one failed: {problem}")]
    GaveUp { attempts: u32, problem: String },
}

/// Asks the model for a proposal for `issue` and checks it against the database as it is now.
pub async fn draft(
    planning: &PlanningConfig,
    model: &cutover_llm::Client,
    config: &DraftConfig,
    issue: &Issue,
) -> Result<Proposal, DraftError> {
    let deadline = Instant::now() + config.budget;
    let mut run = Run { usage: Usage::default(), attempts: 0 };
    // The sandbox and the model calls keep the deadline themselves; this is the last word.
    let result = tokio::time::timeout(
        config.budget + Duration::from_secs(5),
        draft_within(planning, model, config, issue, deadline, &mut run),
    )
    .await
    .unwrap_or(Err(DraftFailure::OutOfTime { budget: config.budget }));
    result.map_err(|kind| DraftError { kind, usage: run.usage, attempts: run.attempts })
}

struct Run {
    usage: Usage,
    attempts: u32,
}

async fn draft_within(
    planning: &PlanningConfig,
    model: &cutover_llm::Client,
    config: &DraftConfig,
    issue: &Issue,
    deadline: Instant,
    run: &mut Run,
) -> Result<Proposal, DraftFailure> {
    let out_of_time = || DraftFailure::OutOfTime { budget: config.budget };
    let target = Target::parse(&planning.database_url).map_err(|e| DraftFailure::Database(e.to_string()))?;
    let live = SqlSource::Database(Box::new(target));
    let current = tokio::time::timeout_at(deadline, live.load(&planning.dev, &IntrospectOptions::default()))
        .await
        .map_err(|_| out_of_time())?
        .map_err(|e| DraftFailure::Database(e.to_string()))?;

    let excerpt = Excerpt::new(&current, &format!("{}\n{}", issue.title, issue.description));
    let prompt = Prompt::new(issue, &excerpt, current.facts.server_version_num);
    let output = OutputSchema {
        name: cutover_draft::ANSWER_NAME.to_string(),
        description: "The proposed schema change: DDL, a rationale per decision, what was left for later.".into(),
        schema: cutover_draft::answer_schema(),
    };
    let mut messages = vec![Message::user(prompt.user)];
    let mut last_problem: Option<Problem> = None;
    loop {
        if run.attempts >= config.attempts {
            let problem = last_problem.map(|p| p.to_string()).unwrap_or_default();
            return Err(DraftFailure::GaveUp { attempts: run.attempts, problem });
        }
        let used = run.usage.total();
        if used >= config.token_budget {
            return Err(DraftFailure::OutOfTokens { budget: config.token_budget, used });
        }
        run.attempts += 1;
        let max_tokens = u64::from(config.max_answer_tokens).min(config.token_budget - used) as u32;
        let request = cutover_llm::Request { system: prompt.system, messages: &messages, output: &output, max_tokens };
        let answer = match tokio::time::timeout_at(deadline, model.complete(&request)).await {
            Err(_) => return Err(out_of_time()),
            // Prose, a refusal or an answer cut short: the model is told, like any other
            // answer that cannot be used.
            Ok(Err(cutover_llm::Error::NoAnswer { message, usage })) => {
                run.usage.add(usage);
                let problem = Problem::Unreadable(message);
                messages.push(Message::assistant("(an answer that was not the requested JSON object)"));
                messages.push(Message::user(cutover_draft::repair_message(&problem)));
                last_problem = Some(problem);
                continue;
            }
            Ok(Err(error)) => return Err(DraftFailure::Model(error)),
            Ok(Ok(answer)) => answer,
        };
        run.usage.add(answer.usage);
        let last_attempt = run.attempts >= config.attempts;
        let checked = check(planning, &current, &answer.value, last_attempt, deadline).await.map_err(|e| match e {
            DraftFailure::OutOfTime { .. } => out_of_time(),
            other => other,
        })?;
        match checked {
            Ok((answer, plan, findings)) => {
                let destructive = cutover_draft::is_destructive(&plan);
                return Ok(Proposal { answer, plan, findings, destructive, usage: run.usage, attempts: run.attempts });
            }
            Err(problem) => {
                messages.push(Message::assistant(answer.value.to_string()));
                messages.push(Message::user(cutover_draft::repair_message(&problem)));
                last_problem = Some(problem);
            }
        }
    }
}

type Checked = Result<(Answer, Plan, Vec<Diagnostic>), Problem>;

/// The checks of one answer, in the order human DDL gets them. The outer error stops the
/// draft; the inner one goes back to the model. Blockers and design findings go back while
/// answers are left; the last answer keeps them, shown with its plan.
async fn check(
    planning: &PlanningConfig,
    current: &Catalog,
    value: &serde_json::Value,
    last_attempt: bool,
    deadline: Instant,
) -> Result<Checked, DraftFailure> {
    let answer = match Answer::from_value(value) {
        Ok(answer) => answer,
        Err(problem) => return Ok(Err(problem)),
    };
    if let Err(problem) = cutover_draft::check_ddl(&answer.ddl) {
        return Ok(Err(problem));
    }
    let renames = cutover_lint::renames::renames(&answer.ddl);
    let options = PlanOptions { renames: renames.columns, table_renames: renames.tables, ..PlanOptions::default() };
    let text = SqlText { label: PathBuf::from("proposal.sql"), text: answer.ddl.clone() };
    let desired =
        match sandbox::apply(&planning.dev, Some(current), &[text], &planning.sandbox, &options.diff, deadline).await {
            Ok(desired) => desired,
            Err(cutover_db_postgres::Error::SourceSql { line, column, message, .. }) => {
                return Ok(Err(Problem::Rejected { line, column, message }));
            }
            Err(cutover_db_postgres::Error::StatementTimeout { line, .. }) => {
                return Ok(Err(Problem::TooSlow { line }));
            }
            Err(cutover_db_postgres::Error::OutOfTime) => {
                return Err(DraftFailure::OutOfTime { budget: Duration::ZERO });
            }
            Err(e) => return Err(DraftFailure::Scratch(e.to_string())),
        };
    let plan = planner::plan(current, &desired, &options);
    if plan.is_empty() {
        return Ok(Err(Problem::NoChange));
    }
    // A change the planner will not make safely goes back with its ways out; the last
    // answer keeps its blockers, which the proposal shows.
    if !plan.blockers.is_empty() && !last_attempt {
        let listed = plan
            .blockers
            .iter()
            .map(|b| format!("`{}`: {} Options: {}.", b.sql, b.message, b.options.join("; ")))
            .collect();
        return Ok(Err(Problem::Blocked(listed)));
    }
    let lint = LintOptions {
        pg_version: current.facts.server_version_num / 10000,
        database: Some(current.clone()),
        ..LintOptions::default()
    };
    let report = cutover_lint::lint(&[SourceFile { path: "proposal.sql".into(), text: answer.ddl.clone() }], &lint);
    let findings = cutover_draft::design_findings(&report);
    if !findings.is_empty() && !last_attempt {
        let listed = findings.iter().map(|d| format!("line {}: {} ({})", d.line, d.message, d.rule)).collect();
        return Ok(Err(Problem::Design(listed)));
    }
    Ok(Ok((answer, plan, findings)))
}
