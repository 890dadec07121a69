//! Chains: CREATE_CHAIN, DEFINE_CHAIN_STEP, DEFINE_CHAIN_EVENT_STEP, DEFINE_CHAIN_RULE
//! (condition and action verbatim, checked with the rule-language parser) and ALTER_CHAIN.

use super::super::event_cond;
use super::super::model::*;
use super::super::procs::Bound;
use super::super::value::Value;
use super::{new_chain, queue_name};
use super::{Fatal, Translator};
use crate::lang::parser::{parse_action, parse_condition};
use crate::lang::span::Span;

impl Translator<'_> {
    pub(super) fn create_chain(&mut self, b: &Bound) -> Result<(), Fatal> {
        let Some(name) = self.name(b, "chain_name") else {
            return Ok(());
        };
        self.must_be_new(b, &name)?;
        let anchor = Anchor::Chain(name.clone());
        let mut chain = new_chain(&name, b.span);
        chain.comment = self.text(b, "comments", &anchor);
        if b.get("evaluation_interval").is_some() {
            chain.evaluation_interval = self.interval_arg(b, "evaluation_interval", &anchor);
        }
        if let Some((v, span)) = b.get("rule_set_name").cloned() {
            self.warn(anchor.clone(), span, format!("chain {name}: rule set {} is not imported; the rules come from DEFINE_CHAIN_RULE", v.describe()));
        }
        self.model.chains.push(chain);
        Ok(())
    }

    pub(super) fn put_step(&mut self, chain: &str, step: &str, target: Target, span: Span) {
        let Some(c) = self.model.chain_mut(chain) else {
            return;
        };
        match c.steps.iter_mut().find(|s| s.name == step) {
            Some(s) => s.target = target,
            None => c.steps.push(Step {
                name: step.to_string(),
                target,
                attrs: StepAttrs::default(),
                span,
                commented: false,
            }),
        }
    }

    pub(super) fn define_chain_step(&mut self, b: &Bound) {
        let Some(chain) = self.existing_chain(b, "the step is not defined") else {
            return;
        };
        let anchor = Anchor::Chain(chain.clone());
        let Some(step) = self.name(b, "step_name") else {
            return;
        };
        let Some(program) = self
            .required(b, "program_name", &anchor)
            .map(|p| oracle_name(&p))
            .filter(|p| !p.is_empty())
        else {
            return;
        };
        self.put_step(&chain, &step, Target::Program(program), b.span);
    }

    pub(super) fn define_chain_event_step(&mut self, b: &Bound) {
        let Some(chain) = self.existing_chain(b, "the step is not defined") else {
            return;
        };
        let Some(step) = self.name(b, "step_name") else {
            return;
        };
        let anchor = Anchor::Step(chain.clone(), step.clone());
        if let Some((v, span)) = b.get("timeout").cloned() {
            self.warn(
                anchor.clone(),
                span,
                format!(
                    "event step {step}: timeout {} is not supported (Oracle reserves it); ignored",
                    v.describe()
                ),
            );
        }
        let target = if let Some(sched) = self.opt_name(b, "event_schedule_name", &anchor) {
            match self.model.schedules.get(&sched).cloned() {
                Some(Schedule::Event {
                    condition,
                    queue_spec,
                }) => self.event_target(&anchor, b.span, &sched, &condition, queue_spec.as_deref()),
                _ => {
                    self.warn(anchor.clone(), b.span, format!("event step {step}: event schedule {sched} is not created by this script (CREATE_EVENT_SCHEDULE); the step waits for event {sched} with any payload"));
                    Target::Event {
                        event: sched,
                        payload_where: None,
                    }
                }
            }
        } else if let Some(condition) = self.text(b, "event_condition", &anchor) {
            let queue = self.text(b, "queue_spec", &anchor);
            let event = queue
                .as_deref()
                .map(queue_name)
                .filter(|q| !q.is_empty())
                .unwrap_or_else(|| step.clone());
            self.event_target(&anchor, b.span, &event, &condition, queue.as_deref())
        } else {
            self.warn(anchor.clone(), b.span, format!("event step {step} names neither event_schedule_name nor event_condition; it waits for event {step}"));
            Target::Event {
                event: step.clone(),
                payload_where: None,
            }
        };
        self.put_step(&chain, &step, target, b.span);
    }

    /// An event step waiting for `event`, its payload filtered by the Oracle condition.
    pub(super) fn event_target(
        &mut self,
        anchor: &Anchor,
        span: Span,
        event: &str,
        condition: &str,
        queue_spec: Option<&str>,
    ) -> Target {
        let step = match anchor {
            Anchor::Step(_, step) => step.clone(),
            _ => String::new(),
        };
        if let Some(q) = queue_spec {
            self.warn(anchor.clone(), span, format!("event step {step}: Oracle raises this event through queue `{}`; in chainsched raise it with `chainsched event {event} --payload '{{...}}'`, the message attributes being the payload's fields", q.trim()));
        }
        let payload_where = match event_cond::translate(condition) {
            Ok(w) => Some(w),
            Err(why) => {
                self.warn(anchor.clone(), span, format!("event step {step}: the event condition `{}` cannot be translated ({why}); the step completes on any {event} event", condition.trim()));
                None
            }
        };
        Target::Event {
            event: event.to_string(),
            payload_where,
        }
    }

    pub(super) fn define_chain_rule(&mut self, b: &Bound) {
        let Some(chain) = self.name(b, "chain_name") else {
            return;
        };
        if self.model.chain_mut(&chain).is_none() {
            // Oracle raises ORA-27476 (unless the database has the chain); the rule is kept,
            // commented out, in the warning.
            let lit = |p: &str| match b.get(p) {
                Some((Value::Str(s), _)) => s.trim().to_string(),
                Some((v, _)) => v.describe(),
                None => "NULL".to_string(),
            };
            let rule = format!("rule when {} then {};", lit("condition"), lit("action"));
            self.existing_chain(b, &format!("the rule is not imported (it reads `{rule}`)"));
            return;
        }
        let anchor = Anchor::Chain(chain.clone());
        let (Some(condition), Some(action)) = (
            self.required(b, "condition", &anchor),
            self.required(b, "action", &anchor),
        ) else {
            return;
        };
        let name = self.opt_name(b, "rule_name", &anchor);
        let comment = self.text(b, "comments", &anchor);
        let (condition, action) = (condition.trim().to_string(), action.trim().to_string());
        let id = self.next_rule_id;
        self.next_rule_id += 1;
        let problem = parse_condition(0, &condition)
            .err()
            .map(|d| ("condition", d))
            .or_else(|| parse_action(0, &action).err().map(|d| ("action", d)));
        let rejected = problem.is_some();
        if let Some((what, diags)) = problem {
            let why = diags.first().map(|d| d.message.clone()).unwrap_or_default();
            let label = name.clone().unwrap_or_else(|| "(unnamed)".to_string());
            self.warn(Anchor::Rule(chain.clone(), id), b.span, format!("rule {label}: the {what} is not accepted by the rule language ({why}); the rule is written commented out"));
        }
        let rule = Rule {
            id,
            name: name.clone(),
            condition,
            action,
            comment,
            rejected,
            span: b.span,
        };
        let Some(c) = self.model.chain_mut(&chain) else {
            return;
        };
        match c
            .rules
            .iter_mut()
            .find(|r| r.name.is_some() && r.name == name)
        {
            Some(r) => *r = rule,
            None => c.rules.push(rule),
        }
    }

    pub(super) fn alter_chain(&mut self, b: &Bound) {
        let Some(chain) = self.existing_chain(b, "ignored") else {
            return;
        };
        let anchor = Anchor::Chain(chain.clone());
        let (Some(steps), Some(attribute)) = (
            self.required(b, "step_name", &anchor),
            self.required(b, "attribute", &anchor),
        ) else {
            return;
        };
        let attribute = attribute.trim().to_ascii_uppercase();
        let value_param = if b.get("char_value").is_some() {
            "char_value"
        } else {
            "value"
        };
        for step in oracle_names(&steps) {
            let sanchor = Anchor::Step(chain.clone(), step.clone());
            let exists = self
                .model
                .chain_mut(&chain)
                .is_some_and(|c| c.steps.iter().any(|s| s.name == step));
            if !exists {
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("ALTER_CHAIN: chain {chain} has no step {step} (yet); ignored"),
                );
                continue;
            }
            match attribute.as_str() {
                "PAUSE" | "SKIP" | "PAUSE_BEFORE" | "RESTART_ON_RECOVERY" | "RESTART_ON_FAILURE" => {
                    let Some(on) = self.bool_arg(b, value_param, &sanchor) else { continue };
                    if let Some(s) = self.step_mut(&chain, &step) {
                        let a = &mut s.attrs;
                        match attribute.as_str() {
                            "PAUSE" => a.pause = on,
                            "SKIP" => a.skip = on,
                            "PAUSE_BEFORE" => a.pause_before = on,
                            "RESTART_ON_RECOVERY" => a.restart_on_recovery = on,
                            _ => a.restart_on_failure = on,
                        }
                    }
                }
                "PROGRAM_NAME" => {
                    if let Some(p) = self.text(b, value_param, &sanchor) {
                        self.put_step(&chain, &step, Target::Program(oracle_name(&p)), b.span);
                    }
                }
                "EVENT_SCHEDULE_NAME" => {
                    if let Some(s) = self.text(b, value_param, &sanchor) {
                        self.put_step(&chain, &step, Target::Event { event: oracle_name(&s), payload_where: None }, b.span);
                    }
                }
                _ => self.warn(sanchor, b.span, format!("ALTER_CHAIN: step attribute {attribute} has no rule-file equivalent; ignored")),
            }
        }
    }

    pub(super) fn step_mut(&mut self, chain: &str, step: &str) -> Option<&mut Step> {
        self.model
            .chain_mut(chain)?
            .steps
            .iter_mut()
            .find(|s| s.name == step)
    }
}
