//! Root fields: queries read the workspace, mutations parse their inputs and apply `domain`
//! and `agent` rules. Both hand back values of the object graph for `execute` to project.

mod mutation;
mod query;

use apollo_compiler::executable::OperationType;
use serde_json::{Map, Value};

use crate::domain::Patch;
use crate::errors::FieldError;
use crate::execute::{Backend, EntityRef, Obj, Val};
use crate::state::{Id, State};
use crate::views;

/// One request's view of the workspace: the state and the user the credentials act as.
pub(crate) struct Ctx<'s> {
    pub(crate) state: &'s mut State,
    pub(crate) viewer: Id,
    /// Root mutation fields that changed the workspace, for the per-mutation counts.
    pub(crate) applied: Vec<String>,
}

impl Backend for Ctx<'_> {
    fn resolve_root(
        &mut self,
        operation: OperationType,
        field: &str,
        args: &Map<String, Value>,
    ) -> Result<Val, FieldError> {
        let args = Args(args);
        match operation {
            OperationType::Query => query::resolve(self, field, args),
            OperationType::Mutation => {
                let value = mutation::resolve(self, field, args)?;
                self.applied.push(field.to_owned());
                Ok(value)
            }
            OperationType::Subscription => Err(FieldError::unsupported("The fake Linear does not serve subscriptions")),
        }
    }

    fn load(&self, entity: &EntityRef) -> Option<Obj> {
        views::load(self.state, &self.viewer, entity)
    }
}

/// Typed access to coerced arguments and input objects. Validation already checked types,
/// so a mismatch here means the fake itself is wrong; it still answers with an error.
#[derive(Clone, Copy)]
pub(crate) struct Args<'a>(pub(crate) &'a Map<String, Value>);

impl<'a> Args<'a> {
    pub(crate) fn str(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub(crate) fn required_str(&self, name: &str) -> Result<&'a str, FieldError> {
        self.str(name).ok_or_else(|| FieldError::invalid(format!("`{name}` is required")))
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_owned)
    }

    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    pub(crate) fn i64(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    pub(crate) fn value(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn object(&self, name: &str) -> Result<Args<'a>, FieldError> {
        self.0
            .get(name)
            .and_then(Value::as_object)
            .map(Args)
            .ok_or_else(|| FieldError::invalid(format!("`{name}` is required")))
    }

    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    pub(crate) fn opt_strings(&self, name: &str) -> Option<Vec<String>> {
        self.value(name).map(|_| self.strings(name))
    }

    /// Absent, explicit null ("clear"), or a value: Linear treats the first two differently.
    pub(crate) fn patch(&self, name: &str) -> Patch<String> {
        match self.0.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Clear,
            Some(v) => v.as_str().map_or(Patch::Absent, |s| Patch::Set(s.to_owned())),
        }
    }

    /// Rejects input fields the fake does not model, naming them, instead of ignoring them.
    pub(crate) fn only(&self, input_type: &str, modelled: &[&str]) -> Result<(), FieldError> {
        match self.0.iter().find(|(k, v)| !v.is_null() && !modelled.contains(&k.as_str())) {
            Some((key, _)) => {
                Err(FieldError::unsupported(format!("The fake Linear does not model {input_type}.{key}")))
            }
            None => Ok(()),
        }
    }
}
