//! The sections of the request template, and the one table of names they go by.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A section of the migration request template, in template order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Objective,
    AffectedServices,
    Limitations,
    ProposedChanges,
    MigrationType,
    Downtime,
    Validation,
}

/// Every heading or bold label a section is recognised by, normalised by [`normalize`]
/// (lowercase ASCII words separated by one space). Adding an alias is adding a line.
const ALIASES: &[(&str, Field)] = &[
    ("objective", Field::Objective),
    ("objectives", Field::Objective),
    ("goal", Field::Objective),
    ("goals", Field::Objective),
    ("summary", Field::Objective),
    ("why", Field::Objective),
    ("motivation", Field::Objective),
    ("purpose", Field::Objective),
    ("intent", Field::Objective),
    ("overview", Field::Objective),
    ("affected services", Field::AffectedServices),
    ("affected service", Field::AffectedServices),
    ("services", Field::AffectedServices),
    ("service", Field::AffectedServices),
    ("impacted services", Field::AffectedServices),
    ("affected tables", Field::AffectedServices),
    ("affected table", Field::AffectedServices),
    ("impacted tables", Field::AffectedServices),
    ("tables", Field::AffectedServices),
    ("affected services tables", Field::AffectedServices),
    ("affected services and tables", Field::AffectedServices),
    ("affected systems", Field::AffectedServices),
    ("affected components", Field::AffectedServices),
    ("current schema limitations", Field::Limitations),
    ("current schema limitation", Field::Limitations),
    ("current limitations", Field::Limitations),
    ("limitations", Field::Limitations),
    ("limitation", Field::Limitations),
    ("problem", Field::Limitations),
    ("problem statement", Field::Limitations),
    ("problems", Field::Limitations),
    ("current state", Field::Limitations),
    ("current schema", Field::Limitations),
    ("proposed schema changes", Field::ProposedChanges),
    ("proposed schema change", Field::ProposedChanges),
    ("proposed changes", Field::ProposedChanges),
    ("proposed change", Field::ProposedChanges),
    ("proposed schema", Field::ProposedChanges),
    ("schema changes", Field::ProposedChanges),
    ("schema change", Field::ProposedChanges),
    ("ddl", Field::ProposedChanges),
    ("desired schema", Field::ProposedChanges),
    ("desired schema path", Field::ProposedChanges),
    ("target schema", Field::ProposedChanges),
    ("migration", Field::ProposedChanges),
    ("migration sql", Field::ProposedChanges),
    ("sql", Field::ProposedChanges),
    ("migration type", Field::MigrationType),
    ("migration types", Field::MigrationType),
    ("type", Field::MigrationType),
    ("type of migration", Field::MigrationType),
    ("type of change", Field::MigrationType),
    ("change type", Field::MigrationType),
    ("kind of migration", Field::MigrationType),
    ("migration kind", Field::MigrationType),
    ("downtime tolerance", Field::Downtime),
    ("downtime", Field::Downtime),
    ("downtime window", Field::Downtime),
    ("maintenance window", Field::Downtime),
    ("acceptable downtime", Field::Downtime),
    ("allowed downtime", Field::Downtime),
    ("downtime budget", Field::Downtime),
    ("validation plan", Field::Validation),
    ("validation", Field::Validation),
    ("verification", Field::Validation),
    ("verification plan", Field::Validation),
    ("test plan", Field::Validation),
    ("testing", Field::Validation),
    ("rollout checks", Field::Validation),
    ("success criteria", Field::Validation),
    ("acceptance criteria", Field::Validation),
    ("how to verify", Field::Validation),
];

impl Field {
    /// All fields, in template order.
    pub const ALL: [Field; 7] = [
        Field::Objective,
        Field::AffectedServices,
        Field::Limitations,
        Field::ProposedChanges,
        Field::MigrationType,
        Field::Downtime,
        Field::Validation,
    ];

    /// The section's name in the template.
    pub fn title(self) -> &'static str {
        match self {
            Field::Objective => "Objective",
            Field::AffectedServices => "Affected services",
            Field::Limitations => "Current schema limitations",
            Field::ProposedChanges => "Proposed schema changes",
            Field::MigrationType => "Migration type",
            Field::Downtime => "Downtime tolerance",
            Field::Validation => "Validation plan",
        }
    }

    /// Whether a request without this section cannot be planned.
    pub fn is_required(self) -> bool {
        matches!(self, Field::Objective | Field::ProposedChanges | Field::MigrationType | Field::Downtime)
    }

    /// The field a heading or label names, if any: case, surrounding emphasis, emoji,
    /// numbering (`1.`), a trailing colon and a trailing parenthetical hint are ignored.
    pub fn from_heading(heading: &str) -> Option<Field> {
        let lookup = |name: &str| ALIASES.iter().find(|(alias, _)| *alias == name).map(|&(_, field)| field);
        let name = normalize(heading);
        if name.is_empty() {
            return None;
        }
        lookup(&name).or_else(|| {
            // "Downtime tolerance (zero-downtime or a window)": the hint is not the name.
            let open = heading.rfind('(')?;
            let stripped = normalize(&heading[..open]);
            if stripped.is_empty() { None } else { lookup(&stripped) }
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Lowercase alphanumeric words joined by single spaces; everything else (emphasis, emoji,
/// punctuation, a list number) separates words or is dropped. A leading number (`1.`, `2)`)
/// is dropped so numbered templates still match.
fn normalize(heading: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in heading.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() && c != '\'' {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    if words.first().is_some_and(|w| w.chars().all(|c| c.is_ascii_digit())) {
        words.remove(0);
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_match_their_aliases_whatever_the_decoration() {
        for (heading, field) in [
            ("Objective", Field::Objective),
            ("OBJECTIVE:", Field::Objective),
            ("  🎯 Goal  ", Field::Objective),
            ("1. Affected services", Field::AffectedServices),
            ("Affected services / tables", Field::AffectedServices),
            ("Migration type(s)", Field::MigrationType),
            ("Downtime tolerance (zero-downtime or a window)", Field::Downtime),
            ("**Validation plan**", Field::Validation),
            ("Kind of migration?", Field::MigrationType),
        ] {
            assert_eq!(Field::from_heading(heading), Some(field), "{heading}");
        }
        for heading in ["", "Notes", "Rollout", "Objective and more", "12"] {
            assert_eq!(Field::from_heading(heading), None, "{heading}");
        }
    }

    #[test]
    fn every_alias_is_normalised_and_unique() {
        for (i, (alias, _)) in ALIASES.iter().enumerate() {
            assert_eq!(normalize(alias), *alias);
            assert!(ALIASES[..i].iter().all(|(other, _)| other != alias), "duplicate alias {alias}");
        }
        for field in Field::ALL {
            assert_eq!(Field::from_heading(field.title()), Some(field));
        }
    }
}
