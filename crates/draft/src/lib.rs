//! Pure: the drafter's words. When an issue says what it needs but not the DDL, the agent
//! (`cutover_agent::drafting`) asks a model for a proposal; this crate decides what is said
//! and what is accepted, without I/O:
//!
//! - [`decide`]: whether an issue is one to draft for (it says what it needs, not the DDL);
//! - [`excerpt`]: the part of the live schema a proposal needs (the tables the issue names or
//!   implies, their foreign-key neighbours, their sizes), as SQL the diff renders;
//! - [`prompt`]: the instructions, the issue as delimited untrusted data, the answer's
//!   JSON schema ([`answer_schema`]), and what is sent back when an answer fails a check;
//! - [`answer`]: the structured answer read ([`Answer`]: summary, DDL, a rationale per
//!   decision, what was left for later) and its DDL checked by PostgreSQL's parser
//!   ([`check_ddl`]) before the agent applies it in the sandbox;
//! - [`render`]: the proposal comment: the DDL, the trade-offs, the plan it makes, the lint
//!   findings, a destructive mark, and the approval question;
//! - [`adopt`]: an approved proposal as the template sections the description lacked, so the
//!   description holds the change (editable) and the request parser reads it as usual.
//!
//! Everything the model says is text influenced by the issue, so it is treated like the
//! issue: quoted or escaped when shown, and only ever a proposal that goes through the plan,
//! the linter and a person's approval.

pub mod adopt;
pub mod answer;
pub mod decide;
pub mod excerpt;
pub mod prompt;
pub mod render;

pub use adopt::missing_sections;
pub use answer::{Answer, DESIGN_RULES, Decision, Problem, check_ddl, design_findings};
pub use decide::needs_draft;
pub use excerpt::{Excerpt, relevant_tables};
pub use prompt::{ANSWER_NAME, Issue, Prompt, SYSTEM, answer_schema, repair_message};
pub use render::{WITHOUT_MODEL, destructive_steps, is_destructive, proposal_comment};
