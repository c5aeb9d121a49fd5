//! Query root fields.

use serde_json::{Value, json};

use super::{Args, Ctx};
use crate::errors::FieldError;
use crate::execute::{Backend, ConnNode, EntityRef, Kind, Obj, Val};
use crate::filter;
use crate::state::State;

pub(super) fn resolve(ctx: &mut Ctx<'_>, field: &str, args: Args<'_>) -> Result<Val, FieldError> {
    let state: &State = ctx.state;
    match field {
        "viewer" => Ok(Val::entity(Kind::User, &ctx.viewer)),
        "organization" => Ok(Val::entity(Kind::Organization, &state.org.id)),
        "issue" => {
            let id = args.required_str("id")?;
            let issue = state.find_issue(id).ok_or_else(|| FieldError::not_found("Issue"))?;
            Ok(Val::entity(Kind::Issue, &issue.id))
        }
        "issues" => {
            let nodes =
                state.issues.values().map(|i| ConnNode::entity(Kind::Issue, &i.id, i.created, i.updated)).collect();
            filtered(ctx, nodes, args)
        }
        "issueVcsBranchSearch" => {
            let branch = args.required_str("branchName")?;
            Ok(Val::opt_entity(Kind::Issue, issue_in_branch(state, branch).as_ref()))
        }
        "team" => {
            let id = args.required_str("id")?;
            let team = state.find_team(id).ok_or_else(|| FieldError::not_found("Team"))?;
            Ok(Val::entity(Kind::Team, &team.id))
        }
        "workflowState" => by_id(ctx, Kind::WorkflowState, args),
        "workflowStates" => {
            let nodes = state
                .states
                .values()
                .map(|s| ConnNode::entity(Kind::WorkflowState, &s.id, s.created, s.created))
                .collect();
            filtered(ctx, nodes, args)
        }
        "issueLabels" => {
            let nodes = state
                .labels
                .values()
                .map(|l| ConnNode::entity(Kind::IssueLabel, &l.id, l.created, l.created))
                .collect();
            filtered(ctx, nodes, args)
        }
        "attachmentsForURL" => {
            let url = args.required_str("url")?;
            let nodes = state
                .attachments
                .values()
                .filter(|a| a.url == url)
                .map(|a| ConnNode::entity(Kind::Attachment, &a.id, a.created, a.updated))
                .collect();
            Ok(Val::Conn(nodes))
        }
        "comment" => {
            if args.str("id").is_none() {
                return Err(FieldError::unsupported("The fake Linear finds comments by id only"));
            }
            by_id(ctx, Kind::Comment, args)
        }
        "agentSession" => by_id(ctx, Kind::AgentSession, args),
        "agentActivity" => by_id(ctx, Kind::AgentActivity, args),
        "issueLabel" => by_id(ctx, Kind::IssueLabel, args),
        "issueRelation" => by_id(ctx, Kind::IssueRelation, args),
        "attachment" => by_id(ctx, Kind::Attachment, args),
        "user" => by_id(ctx, Kind::User, args),
        "rateLimitStatus" => Ok(rate_limit_status(ctx)),
        "issueRepositorySuggestions" => repository_suggestions(state, args),
        other => Err(FieldError::unsupported(format!("The fake Linear does not model the query field `{other}`"))),
    }
}

/// An entity by UUID; Linear's "Entity not found" error when there is none.
fn by_id(ctx: &Ctx<'_>, kind: Kind, args: Args<'_>) -> Result<Val, FieldError> {
    let entity = EntityRef { kind, id: args.required_str("id")?.to_owned() };
    if ctx.load(&entity).is_none() {
        return Err(FieldError::not_found(kind.type_name()));
    }
    Ok(Val::Ref(entity))
}

/// A root connection with an optional `filter`. `sort` is not modelled (only `orderBy`).
fn filtered(ctx: &Ctx<'_>, nodes: Vec<ConnNode>, args: Args<'_>) -> Result<Val, FieldError> {
    if args.value("sort").is_some() {
        return Err(FieldError::unsupported("The fake Linear does not model `sort`; use `orderBy`"));
    }
    let Some(filter) = args.value("filter") else {
        return Ok(Val::Conn(nodes));
    };
    let filter = filter.as_object().ok_or_else(|| FieldError::invalid("filter must be an object"))?;
    let load = |val: &Val| match val {
        Val::Ref(entity) => ctx.load(entity),
        Val::Obj(obj) => Some(obj.clone()),
        _ => None,
    };
    let mut kept = Vec::new();
    for node in nodes {
        let Some(obj) = load(&node.val) else { continue };
        if filter::matches(&obj, filter, &load)? {
            kept.push(node);
        }
    }
    Ok(Val::Conn(kept))
}

/// The issue whose identifier appears in a branch name (`alice/eng-123-add-index`), as
/// Linear's GitHub integration matches them.
fn issue_in_branch(state: &State, branch: &str) -> Option<String> {
    let lower = branch.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    tokens.windows(2).find_map(|pair| {
        let team = state.find_team(pair[0])?;
        let number: u64 = pair[1].parse().ok()?;
        state.issues.values().find(|i| i.team_id == team.id && i.number == number).map(|i| i.id.clone())
    })
}

fn rate_limit_status(ctx: &Ctx<'_>) -> Val {
    let state = &ctx.state;
    let budget = state.budgets.get(&ctx.viewer);
    let (requests_limit, complexity_limit) = state.limits(Some(&ctx.viewer));
    let (used_requests, used_complexity, reset) = budget
        .map_or((0, 0, 0), |b| (b.requests_used, b.complexity_used, b.window_start_ms + crate::server::WINDOW_MS));
    let limit = |kind: &str, allowed: u64, used: u64| {
        Val::Obj(
            Obj::new("RateLimitResultPayload")
                .with("type", Val::leaf(kind.to_owned()))
                .with("allowedAmount", Val::leaf(allowed as f64))
                .with("remainingAmount", Val::leaf(allowed.saturating_sub(used) as f64))
                .with("requestedAmount", Val::leaf(1.0))
                .with("period", Val::leaf(crate::server::WINDOW_MS as f64))
                .with("reset", Val::leaf(reset as f64)),
        )
    };
    let kind = if state.credentials.oauth_user == ctx.viewer { "oauth" } else { "api key" };
    Val::Obj(
        Obj::new("RateLimitPayload")
            .with("identifier", Val::leaf(ctx.viewer.clone()))
            .with("kind", Val::leaf(kind))
            .with(
                "limits",
                Val::List(vec![
                    limit("requestLimit", requests_limit, used_requests),
                    limit("complexityLimit", complexity_limit, used_complexity),
                ]),
            ),
    )
}

/// Candidates whose repository name appears in the issue's title or description, with a
/// fixed confidence; an empty list when none does (Linear may also return none).
fn repository_suggestions(state: &State, args: Args<'_>) -> Result<Val, FieldError> {
    let issue = state.find_issue(args.required_str("issueId")?).ok_or_else(|| FieldError::not_found("Issue"))?;
    if let Some(session) = args.str("agentSessionId")
        && !state.sessions.contains_key(session)
    {
        return Err(FieldError::not_found("AgentSession"));
    }
    let text = format!("{} {}", issue.title, issue.description.as_deref().unwrap_or_default()).to_lowercase();
    let suggestions = args
        .value("candidateRepositories")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let full = c.get("repositoryFullName")?.as_str()?;
            let name = full.rsplit('/').next()?.to_lowercase();
            (!name.is_empty() && text.contains(&name)).then(|| {
                Val::Obj(
                    Obj::new("RepositorySuggestion")
                        .with("hostname", Val::Leaf(c.get("hostname").cloned().unwrap_or(Value::Null)))
                        .with("repositoryFullName", Val::leaf(full.to_owned()))
                        .with("confidence", Val::leaf(json!(0.9))),
                )
            })
        })
        .collect();
    Ok(Val::Obj(Obj::new("RepositorySuggestionsPayload").with("suggestions", Val::List(suggestions))))
}
