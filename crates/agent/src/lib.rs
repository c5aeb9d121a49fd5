//! I/O: Cutover as a Linear agent. Webhooks come in through [`intake`] (verified, de-duplicated,
//! stored as jobs); the job loop runs the [`flow`] for the issue (read the issue and the
//! database, plan, decide the writes); the outbox loop sends the [`writes`] to Linear until each
//! lands exactly once. `serve`, `issue` and `demo` in the binary are wirings of these parts.

pub mod application;
pub mod checkpoint;
pub mod command;
pub mod drafting;
pub mod flow;
pub mod intake;
pub mod markdown;
pub mod messages;
pub mod phases;
pub mod planning;
pub mod proposal;
pub mod pull_request;
pub mod reconcile;
pub mod rollout;
pub mod server;
pub mod worker;
pub mod writes;

pub use flow::{FlowContext, FlowState, Stage};
pub use intake::{Intake, system_clock};
pub use planning::PlanningConfig;
pub use rollout::{RolloutConfig, rollout_loop};
pub use worker::{Loops, PruneSettings, Wakeup, WorkerSettings, drain, job_for, job_loop, outbox_loop, prune_loop};
