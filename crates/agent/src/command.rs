//! What a person asks of a rollout, read from a reply in the agent session (or a comment that
//! mentions Cutover): "run expand", the select options Cutover offers ("Run backfill",
//! "Approve contract", "Retry switch", "Roll back expand"), "pause", "resume", "stop". Pure.
//!
//! Only the first words count, once mentions (profile URLs, @handles) are set aside, so a
//! reply that merely talks about a phase ("why does expand take so long?") runs nothing.

use cutover_plan::planner::PhaseName;

/// A rollout command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Run this phase, or (`None`) the next one.
    Run(Option<PhaseName>),
    /// The contract phase's own approval.
    ApproveContract,
    /// Not yet: the contract waits.
    NotYet,
    /// Run the failed phase again, or the failed verification.
    Retry,
    /// Undo the done steps of this phase (or of the phase that failed).
    RollBack(Option<PhaseName>),
    Pause,
    Resume,
    Stop,
    /// What is going on.
    Status,
}

pub const APPROVE_CONTRACT: &str = "Approve contract";
pub const NOT_YET: &str = "Not yet";
pub const STOP: &str = "Stop";

/// The select option that runs `phase`.
pub fn run_option(phase: PhaseName) -> String {
    format!("Run {phase}")
}

/// The select option that runs a failed phase again.
pub fn retry_option(phase: PhaseName) -> String {
    format!("Retry {phase}")
}

/// The select option that rolls back `phase`.
pub fn roll_back_option(phase: PhaseName) -> String {
    format!("Roll back {phase}")
}

/// The command in `text`, if it is one.
pub fn parse(text: &str) -> Option<Command> {
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| !w.starts_with("https://") && !w.starts_with('@'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty() && !matches!(w.as_str(), "please" | "pls" | "now" | "ok" | "okay" | "go"))
        .take(4)
        .collect();
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str);
    let phase = |w: Option<&String>| w.and_then(|w| PhaseName::parse(w));
    let command = match first {
        "run" | "start" | "apply" => match second {
            None | Some("next") => Command::Run(None),
            Some("the") => Command::Run(Some(PhaseName::parse(words.get(2)?)?)),
            Some(other) => Command::Run(Some(PhaseName::parse(other)?)),
        },
        "approve" if second == Some("contract") => Command::ApproveContract,
        "not" if second == Some("yet") => Command::NotYet,
        "retry" | "rerun" => Command::Retry,
        "roll" if second == Some("back") => Command::RollBack(phase(words.get(2))),
        "rollback" | "revert" | "undo" => Command::RollBack(phase(words.get(1))),
        "pause" | "hold" => Command::Pause,
        "resume" | "continue" | "unpause" => Command::Resume,
        "stop" | "cancel" | "abort" => Command::Stop,
        "status" | "progress" => Command::Status,
        _ => return None,
    };
    // "run expand and then something else" is fine; "run expand? what does it do" is a question.
    if text.contains('?') && !matches!(command, Command::Status) {
        return None;
    }
    Some(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_options() {
        let cases: &[(&str, Option<Command>)] = &[
            ("run expand", Some(Command::Run(Some(PhaseName::Expand)))),
            ("Run backfill", Some(Command::Run(Some(PhaseName::Backfill)))),
            ("@cutover please run the switch", Some(Command::Run(Some(PhaseName::Switch)))),
            ("run next", Some(Command::Run(None))),
            ("go", None),
            ("Run", Some(Command::Run(None))),
            ("run everything", None),
            ("Approve contract", Some(Command::ApproveContract)),
            ("Not yet", Some(Command::NotYet)),
            ("Retry switch", Some(Command::Retry)),
            ("Roll back expand", Some(Command::RollBack(Some(PhaseName::Expand)))),
            ("rollback", Some(Command::RollBack(None))),
            ("pause", Some(Command::Pause)),
            ("Pause please.", Some(Command::Pause)),
            ("resume", Some(Command::Resume)),
            ("Stop", Some(Command::Stop)),
            ("status?", Some(Command::Status)),
            ("run expand? what does it lock", None),
            ("why does expand take so long", None),
            ("Approve plan", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn options_read_back_as_their_commands() {
        for phase in [PhaseName::Expand, PhaseName::Backfill, PhaseName::Switch, PhaseName::Contract] {
            assert_eq!(parse(&run_option(phase)), Some(Command::Run(Some(phase))));
            assert_eq!(parse(&retry_option(phase)), Some(Command::Retry));
            assert_eq!(parse(&roll_back_option(phase)), Some(Command::RollBack(Some(phase))));
        }
        assert_eq!(parse(STOP), Some(Command::Stop));
    }
}
