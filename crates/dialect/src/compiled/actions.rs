//! Compiling a request's action list (`[request] actions`) and the rules' `action`: every misuse
//! is refused at load, naming the key, since the engine could not honour it.

use super::compiler::Compiler;
use super::{Actions, Rule};
use crate::definition::{RawField, RawMessage, RawOn};
use crate::pointer::Pointer;

impl Compiler<'_> {
    /// The action list of the message `key` (`request`), checked against the rules `fields`
    /// (as written) and `rules` (as compiled for `on`), inside the message's `envelope`.
    pub(super) fn actions(
        &mut self,
        key: &str,
        raw: &RawMessage,
        (fields, rules): (&[RawField], &[Rule]),
        on: RawOn,
        envelope: &Pointer,
    ) -> Option<Actions> {
        // Nested rules never name an action: only a top-level member is set by one.
        if on == RawOn::Request {
            for (i, f) in fields.iter().enumerate() {
                self.nested_actions(&format!("fields[{i}]"), &f.fields, "fields");
                self.nested_actions(&format!("fields[{i}]"), &f.items, "items");
            }
        }
        let Some(a) = &raw.actions else {
            if on == RawOn::Request {
                for (i, f) in fields.iter().enumerate() {
                    if f.action.is_some() {
                        self.problems.push(format!(
                            "fields[{i}].action: the request declares no action list (`[request] actions`)"
                        ));
                    }
                }
            }
            return None;
        };
        if on != RawOn::Request {
            self.problems.push(format!(
                "{key}.actions: only a request is a list of actions (an answer reads the members plainly)"
            ));
            return None;
        }
        if raw.envelope_array {
            self.problems.push(format!(
                "{key}.actions: an action list inside an array envelope is not supported (each item would need its own list)"
            ));
        }
        let list = self.pointer(&format!("{key}.actions.list"), &a.list);
        if list.is_root() {
            self.problems.push(format!(
                "{key}.actions.list: the list is a member of the body, not the body itself"
            ));
        }
        if a.discriminator.is_empty() || a.discriminator.contains('/') {
            self.problems.push(format!(
                "{key}.actions.discriminator: `{}` must be one member name",
                a.discriminator
            ));
        }
        let mut order: Vec<String> = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let Some(name) = &f.action else {
                continue;
            };
            let at = format!("fields[{i}].action");
            if name.is_empty() {
                self.problems.push(format!("{at}: the action name is empty"));
                continue;
            }
            if f.on == RawOn::Response {
                self.problems.push(format!(
                    "{at}: `{name}` on a response-only rule: actions are a request's"
                ));
                continue;
            }
            if order.contains(name) {
                self.problems.push(format!(
                    "{at}: `{name}` is the action of another rule already: one action sets one member"
                ));
                continue;
            }
            if !f.fields.is_empty() || !f.items.is_empty() {
                self.problems.push(format!(
                    "{at}: `{name}` on an object or array rule: an action sets one member"
                ));
            }
            if f.dialect.trim_start_matches('/') == a.discriminator {
                self.problems.push(format!(
                    "fields[{i}].dialect: `{}` is the discriminator of the action list",
                    f.dialect
                ));
            }
            order.push(name.clone());
        }
        if order.is_empty() {
            self.problems.push(format!(
                "{key}.actions: no field rule names an `action`, so the list could carry nothing"
            ));
        }
        for rule in rules.iter().filter(|r| r.action.is_none()) {
            if list.is_prefix_of(&rule.dialect) || rule.dialect.is_prefix_of(&list) {
                self.problems.push(format!(
                    "{key}.actions.list: `{}` is also the `dialect` of a field rule without an action ({})",
                    a.list, rule.dialect
                ));
            }
        }
        for p in &raw.required {
            if rules
                .iter()
                .any(|r| r.action.is_some() && r.dialect.to_string() == *p)
            {
                self.problems.push(format!(
                    "{key}.required: `{p}` is set by an action, which is never required on every write"
                ));
            }
        }
        if let Some(b) = &raw.bag
            && rules
                .iter()
                .any(|r| r.action.is_some() && r.dialect.to_string() == *b)
        {
            self.problems.push(format!(
                "{key}.bag: `{b}` is set by an action; a bag is a plain member"
            ));
        }
        let list_at = envelope.join(&list);
        Some(Actions {
            list_text: list_at.text(),
            list_at,
            list,
            discriminator: a.discriminator.clone(),
            order,
        })
    }

    fn nested_actions(&mut self, key: &str, nested: &[RawField], what: &str) {
        for (j, f) in nested.iter().enumerate() {
            let here = format!("{key}.{what}[{j}]");
            if f.action.is_some() {
                self.problems.push(format!(
                    "{here}.action: only a top-level rule is set by an action"
                ));
            }
            self.nested_actions(&here, &f.fields, "fields");
            self.nested_actions(&here, &f.items, "items");
        }
    }
}
