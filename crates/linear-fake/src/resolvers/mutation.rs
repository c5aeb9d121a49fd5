//! Mutation root fields: input parsing (rejecting input fields the fake does not model) and
//! `{ success lastSyncId <entity> }` payloads.

use serde_json::Value;

use super::{Args, Ctx};
use crate::agent::{self, NewActivity, NewSession, SessionPatch};
use crate::domain::{self, IssuePatch, NewAttachment, NewComment, NewIssue, NewLabel, NewWebhook};
use crate::errors::FieldError;
use crate::execute::{Kind, Obj, Val};
use crate::state::{ExternalLink, Id};

pub(super) fn resolve(ctx: &mut Ctx<'_>, field: &str, args: Args<'_>) -> Result<Val, FieldError> {
    let viewer = ctx.viewer.clone();
    let state = &mut *ctx.state;
    let (payload, entity_field, kind, id) = match field {
        "commentCreate" => {
            let input = args.object("input")?;
            input.only("CommentCreateInput", &["body", "id", "issueId", "parentId"])?;
            let issue = input
                .str("issueId")
                .ok_or_else(|| FieldError::unsupported("The fake Linear models comments on issues only (issueId)"))?;
            let id = domain::create_comment(
                state,
                NewComment {
                    id: input.string("id"),
                    issue: issue.to_owned(),
                    parent_id: input.string("parentId"),
                    body: input.required_str("body")?.to_owned(),
                    user_id: viewer,
                },
            )?;
            ("CommentPayload", "comment", Kind::Comment, id)
        }
        "commentUpdate" => {
            let input = args.object("input")?;
            input.only("CommentUpdateInput", &["body"])?;
            let id = domain::update_comment(
                state,
                args.required_str("id")?,
                input.string("body"),
                &viewer,
                args.bool("skipEditedAt").unwrap_or(false),
            )?;
            ("CommentPayload", "comment", Kind::Comment, id)
        }
        "reactionCreate" => {
            let input = args.object("input")?;
            input.only("ReactionCreateInput", &["commentId", "emoji", "id", "issueId"])?;
            let id = domain::create_reaction(
                state,
                input.str("id"),
                input.required_str("emoji")?,
                input.str("commentId"),
                input.str("issueId"),
                &viewer,
            )?;
            ("ReactionPayload", "reaction", Kind::Reaction, id)
        }
        "issueCreate" => {
            let input = args.object("input")?;
            input.only(
                "IssueCreateInput",
                &[
                    "id",
                    "teamId",
                    "title",
                    "description",
                    "stateId",
                    "labelIds",
                    "parentId",
                    "assigneeId",
                    "delegateId",
                    "priority",
                ],
            )?;
            let id = domain::create_issue(
                state,
                NewIssue {
                    id: input.string("id"),
                    team: input.required_str("teamId")?.to_owned(),
                    title: input.string("title").unwrap_or_default(),
                    description: input.string("description"),
                    state_id: input.string("stateId"),
                    label_ids: input.strings("labelIds"),
                    parent: input.string("parentId"),
                    assignee_id: input.string("assigneeId"),
                    delegate_id: input.string("delegateId"),
                    priority: input.i64("priority"),
                    creator_id: Some(viewer),
                },
            )?;
            ("IssuePayload", "issue", Kind::Issue, id)
        }
        "issueUpdate" => {
            let input = args.object("input")?;
            input.only(
                "IssueUpdateInput",
                &[
                    "title",
                    "description",
                    "stateId",
                    "labelIds",
                    "addedLabelIds",
                    "removedLabelIds",
                    "assigneeId",
                    "delegateId",
                    "parentId",
                    "priority",
                ],
            )?;
            if input.0.get("stateId").is_some_and(Value::is_null) {
                return Err(FieldError::invalid("stateId cannot be null"));
            }
            let patch = IssuePatch {
                title: input.string("title"),
                description: input.patch("description"),
                state_id: input.string("stateId"),
                label_ids: input.opt_strings("labelIds"),
                added_label_ids: input.strings("addedLabelIds"),
                removed_label_ids: input.strings("removedLabelIds"),
                assignee_id: input.patch("assigneeId"),
                delegate_id: input.patch("delegateId"),
                parent: input.patch("parentId"),
                priority: input.i64("priority"),
            };
            let id = domain::update_issue(state, args.required_str("id")?, patch, &viewer)?;
            ("IssuePayload", "issue", Kind::Issue, id)
        }
        "issueAddLabel" | "issueRemoveLabel" => {
            let label = args.required_str("labelId")?.to_owned();
            let patch = if field == "issueAddLabel" {
                IssuePatch { added_label_ids: vec![label], ..IssuePatch::default() }
            } else {
                if !state.labels.contains_key(&label) {
                    return Err(FieldError::not_found("IssueLabel"));
                }
                IssuePatch { removed_label_ids: vec![label], ..IssuePatch::default() }
            };
            let id = domain::update_issue(state, args.required_str("id")?, patch, &viewer)?;
            ("IssuePayload", "issue", Kind::Issue, id)
        }
        "issueLabelCreate" => {
            if args.bool("replaceTeamLabels") == Some(true) {
                return Err(FieldError::unsupported("The fake Linear does not model replaceTeamLabels"));
            }
            let input = args.object("input")?;
            input.only(
                "IssueLabelCreateInput",
                &["id", "name", "color", "description", "isGroup", "parentId", "teamId"],
            )?;
            let id = domain::create_label(
                state,
                NewLabel {
                    id: input.string("id"),
                    name: input.required_str("name")?.to_owned(),
                    color: input.string("color"),
                    description: input.string("description"),
                    is_group: input.bool("isGroup").unwrap_or(false),
                    parent_id: input.string("parentId"),
                    team: input.string("teamId"),
                    creator_id: Some(viewer),
                },
            )?;
            ("IssueLabelPayload", "issueLabel", Kind::IssueLabel, id)
        }
        "attachmentLinkGitHubPR" | "attachmentLinkURL" => {
            args.only(field, &["id", "issueId", "url", "title"])?;
            let url = args.required_str("url")?;
            let (source_type, default_title) = if field == "attachmentLinkGitHubPR" {
                let (repo, number) = github_pull_request(url)?;
                ("github", format!("{repo}#{number}"))
            } else {
                ("url", url.to_owned())
            };
            let id = domain::upsert_attachment(
                state,
                NewAttachment {
                    id: args.string("id"),
                    issue: args.required_str("issueId")?.to_owned(),
                    url: url.to_owned(),
                    title: args.string("title").unwrap_or(default_title),
                    subtitle: None,
                    source_type: Some(source_type.to_owned()),
                    metadata: None,
                    creator_id: viewer,
                },
                false,
            )?;
            ("AttachmentPayload", "attachment", Kind::Attachment, id)
        }
        "attachmentCreate" => {
            let input = args.object("input")?;
            input.only("AttachmentCreateInput", &["id", "issueId", "url", "title", "subtitle", "metadata"])?;
            let id = domain::upsert_attachment(
                state,
                NewAttachment {
                    id: input.string("id"),
                    issue: input.required_str("issueId")?.to_owned(),
                    url: input.required_str("url")?.to_owned(),
                    title: input.required_str("title")?.to_owned(),
                    subtitle: input.string("subtitle"),
                    source_type: Some("api".to_owned()),
                    metadata: input.value("metadata").cloned(),
                    creator_id: viewer,
                },
                true,
            )?;
            ("AttachmentPayload", "attachment", Kind::Attachment, id)
        }
        "issueRelationCreate" => {
            args.only("issueRelationCreate", &["input"])?;
            let input = args.object("input")?;
            input.only("IssueRelationCreateInput", &["id", "issueId", "relatedIssueId", "type"])?;
            let id = domain::create_relation(
                state,
                input.str("id"),
                input.required_str("issueId")?,
                input.required_str("relatedIssueId")?,
                input.required_str("type")?,
            )?;
            ("IssueRelationPayload", "issueRelation", Kind::IssueRelation, id)
        }
        "agentActivityCreate" => {
            let input = args.object("input")?;
            input.only(
                "AgentActivityCreateInput",
                &["id", "agentSessionId", "content", "ephemeral", "signal", "signalMetadata"],
            )?;
            let id = agent::create_agent_activity(
                state,
                NewActivity {
                    id: input.string("id"),
                    session_id: input.required_str("agentSessionId")?.to_owned(),
                    content: input.value("content").cloned().unwrap_or(Value::Null),
                    ephemeral: input.bool("ephemeral").unwrap_or(false),
                    signal: input.string("signal"),
                    signal_metadata: input.value("signalMetadata").cloned(),
                },
                &viewer,
            )?;
            ("AgentActivityPayload", "agentActivity", Kind::AgentActivity, id)
        }
        "agentSessionUpdate" => {
            let input = args.object("input")?;
            input.only(
                "AgentSessionUpdateInput",
                &["externalUrls", "addedExternalUrls", "removedExternalUrls", "plan"],
            )?;
            let patch = SessionPatch {
                external_urls: input.value("externalUrls").map(external_links),
                added_external_urls: input.value("addedExternalUrls").map(external_links).unwrap_or_default(),
                removed_external_urls: input.strings("removedExternalUrls"),
                plan: input.value("plan").cloned(),
            };
            let id = agent::update_session(state, args.required_str("id")?, patch, &viewer)?;
            ("AgentSessionPayload", "agentSession", Kind::AgentSession, id)
        }
        "agentSessionCreateOnIssue" => {
            let input = args.object("input")?;
            input.only("AgentSessionCreateOnIssue", &["issueId", "externalUrls"])?;
            let id = agent::create_session(
                state,
                NewSession {
                    issue: input.required_str("issueId")?.to_owned(),
                    app_user_id: viewer,
                    creator_id: None,
                    with_thread: false,
                    external_links: input.value("externalUrls").map(external_links).unwrap_or_default(),
                },
            )?;
            ("AgentSessionPayload", "agentSession", Kind::AgentSession, id)
        }
        "webhookCreate" => {
            let input = args.object("input")?;
            input.only(
                "WebhookCreateInput",
                &["id", "url", "label", "resourceTypes", "allPublicTeams", "teamId", "secret", "enabled"],
            )?;
            let id = domain::create_webhook(
                state,
                NewWebhook {
                    id: input.string("id"),
                    url: input.required_str("url")?.to_owned(),
                    label: input.string("label"),
                    resource_types: input.strings("resourceTypes"),
                    all_public_teams: input.bool("allPublicTeams").unwrap_or(false),
                    team: input.string("teamId"),
                    secret: input.string("secret"),
                    enabled: input.bool("enabled").unwrap_or(true),
                },
                &viewer,
            )?;
            ("WebhookPayload", "webhook", Kind::Webhook, id)
        }
        other => {
            return Err(FieldError::unsupported(format!("The fake Linear does not model the mutation `{other}`")));
        }
    };
    Ok(payload_obj(ctx, payload, entity_field, kind, &id))
}

fn payload_obj(ctx: &mut Ctx<'_>, typename: &str, field: &'static str, kind: Kind, id: &Id) -> Val {
    let sync_id = ctx.state.bump_sync();
    Val::Obj(
        Obj::new(typename)
            .with("success", Val::leaf(true))
            .with("lastSyncId", Val::leaf(sync_id as f64))
            .with(field, Val::entity(kind, id)),
    )
}

fn external_links(value: &Value) -> Vec<ExternalLink> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| {
            Some(ExternalLink {
                label: link.get("label")?.as_str()?.to_owned(),
                url: link.get("url")?.as_str()?.to_owned(),
            })
        })
        .collect()
}

/// `https://github.com/<owner>/<repo>/pull/<n>` → (`owner/repo`, n).
fn github_pull_request(url: &str) -> Result<(String, u64), FieldError> {
    let invalid = || {
        FieldError::invalid(format!(
            "`{url}` is not a GitHub pull request URL (https://github.com/<owner>/<repo>/pull/<number>)"
        ))
    };
    let rest = url.strip_prefix("https://github.com/").ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, repo, "pull", number] if !owner.is_empty() && !repo.is_empty() => {
            let number = number.parse().map_err(|_| invalid())?;
            Ok((format!("{owner}/{repo}"), number))
        }
        _ => Err(invalid()),
    }
}
