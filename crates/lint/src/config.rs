//! Which rules run and how severe they are (`[lint]` in cutover.toml, read by the binary).

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Severity;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSettings {
    /// When set, only these rules run (tests use it to run one rule).
    pub only: Option<BTreeSet<String>>,
    pub disabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
}

impl RuleSettings {
    pub fn only(codes: &[&str]) -> RuleSettings {
        RuleSettings { only: Some(codes.iter().map(|c| c.to_string()).collect()), ..RuleSettings::default() }
    }

    pub fn is_enabled(&self, code: &str) -> bool {
        !self.disabled.contains(code) && self.only.as_ref().is_none_or(|only| only.contains(code))
    }

    pub fn severity(&self, code: &str, default: Severity) -> Severity {
        self.severity.get(code).copied().unwrap_or(default)
    }
}
