//! Which rules run and how severe they are (`[lint]` in cutover.toml, read by the binary).

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Severity;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSettings {
    /// When set, only these rules run (tests use it to run one rule).
    pub only: Option<BTreeSet<String>>,
    pub disabled: BTreeSet<String>,
    /// Opt-in rules turned on (`[lint.rules.<code>] enabled = true`).
    pub enabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    /// `[lint.naming]`: the conventions `naming-convention` checks (detected by default).
    pub naming: crate::naming::NamingConfig,
}

impl RuleSettings {
    pub fn only(codes: &[&str]) -> RuleSettings {
        RuleSettings { only: Some(codes.iter().map(|c| c.to_string()).collect()), ..RuleSettings::default() }
    }

    /// `only` wins (tests run one rule); otherwise a rule runs unless disabled, and an opt-in
    /// rule ([`crate::rules::OPT_IN`]) only when enabled.
    pub fn is_enabled(&self, code: &str) -> bool {
        if self.disabled.contains(code) {
            return false;
        }
        match &self.only {
            Some(only) => only.contains(code),
            None => !crate::rules::OPT_IN.contains(&code) || self.enabled.contains(code),
        }
    }

    pub fn severity(&self, code: &str, default: Severity) -> Severity {
        self.severity.get(code).copied().unwrap_or(default)
    }
}
