//! Lints: warnings about chains that load but will probably not do what their author meant.
//!
//! Each lint names the step or rule in plain words and has a stable code (docs/diagnostics.md):
//!
//! * `unreachable-step` — no rule that can ever fire starts the step. Computed as a fixed point:
//!   a rule can fire if its condition can be TRUE when every step that cannot start is still
//!   NOT_STARTED; its START targets can then start, which may let more rules fire.
//! * `stall-risk` — a step can fail (program and nested-chain steps) or be stopped (by a STOP
//!   rule) and no rule condition reacts to that outcome: "the chain stalls if LOAD fails".
//! * `no-start-rule` — no rule can be TRUE when every step is NOT_STARTED: a job stalls at once.
//! * `no-end` — no END rule can ever fire: the chain never ends by itself.
//! * `rule-never-fires` — the condition is never TRUE, whatever the states of its steps.
//! * `time-rule-without-interval` — a rule reads the time (SYSTIMESTAMP, SYSDATE, a step's
//!   duration, …) in a chain without an `evaluation_interval`: rules are evaluated only when a
//!   step changes, so such a rule fires late or never (`:A.duration > INTERVAL '2' HOUR` is
//!   never seen TRUE while A runs).
//! * `unset-variable` — a rule reads a job variable (`VAR(X)`, `:VAR.X`) that no program the
//!   job can run declares (`sets X;`) and no job definition running the chain passes as a
//!   parameter (nor a `${X}` argument requires): it stays NULL unless a start passes it.
//! * `unguarded-negation` — `A NOT SUCCEEDED`, `A NOT FAILED` (TRUE before A has run) or
//!   `A ERROR_CODE != n` / `NOT IN` (TRUE when A has succeeded), without a test in the same AND
//!   that excludes that state.
//!
//! Cost: every question is answered by [`super::truth`] over the few steps one condition
//! mentions; the reachability fixed point re-examines a rule only when a step it mentions
//! becomes startable, so linting is linear in the number of rules (times a small constant).

use super::graph::ChainGraph;
use super::model::{
    Builtin, Catalog, Chain, Condition, EndAction, ProgramKind, RuleAction, StepIdx, StepTarget,
};
use super::resolve::ChainSpans;
use super::truth::{AbsState, Domains, StepAbility, Truths, DEFAULT_LIMIT};
use crate::lang::ast::{CmpOp, SqlAttr, StateTest};
use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::{SourceMap, Span};
use std::collections::VecDeque;

/// Lint one resolved chain. `catalog` is consulted for programs and nested chains.
pub fn lint_chain(
    chain: &Chain,
    spans: &ChainSpans,
    catalog: &Catalog,
    sources: &SourceMap,
) -> Vec<Diagnostic> {
    let ctx = Ctx::new(chain, spans, catalog, sources);
    let mut out = Vec::new();
    ctx.never_fires(&mut out);
    ctx.unreachable(&mut out);
    ctx.no_start_rule(&mut out);
    ctx.no_end(&mut out);
    ctx.stall_risk(&mut out);
    ctx.unguarded(&mut out);
    ctx.time_rules_without_interval(&mut out);
    unset_variables(chain, spans, catalog, &mut out);
    out
}

/// Chains reachable from `root` through chain steps (itself included).
fn reachable_chains(catalog: &Catalog, root: &str) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(c) = catalog.chains.get(&name) {
            for st in &c.steps {
                if let StepTarget::Chain(inner) = &st.kind {
                    todo.push(inner.clone());
                }
            }
        }
    }
    seen
}

/// The variables a job that runs `chain` can have: those declared (`sets`) by the programs of
/// every chain that runs in the same job (chains that nest `chain`, and what they nest), the
/// parameters of the job definitions of those chains, and the `${NAME}` of their programs'
/// arguments (a start must pass those).
pub fn settable_variables(catalog: &Catalog, chain: &str) -> std::collections::BTreeSet<String> {
    let roots: Vec<&String> = catalog
        .chains
        .keys()
        .filter(|r| reachable_chains(catalog, r).contains(chain))
        .collect();
    let mut family = std::collections::BTreeSet::new();
    for r in &roots {
        family.extend(reachable_chains(catalog, r));
    }
    let mut out = std::collections::BTreeSet::new();
    for name in &family {
        let Some(c) = catalog.chains.get(name) else {
            continue;
        };
        for st in &c.steps {
            if let StepTarget::Program(p) = &st.kind {
                if let Some(program) = catalog.programs.get(p) {
                    out.extend(program.sets.iter().cloned());
                    for arg in &program.arguments {
                        let mut rest = arg.as_str();
                        while let Some(at) = rest.find("${") {
                            let after = &rest[at + 2..];
                            let Some(end) = after.find('}') else { break };
                            out.insert(after[..end].trim().to_uppercase());
                            rest = &after[end + 1..];
                        }
                    }
                }
            }
        }
    }
    for def in catalog.jobs.values() {
        if def.chain.as_ref().is_some_and(|c| roots.contains(&c)) {
            out.extend(def.parameters.keys().map(|k| k.to_uppercase()));
        }
    }
    out
}

fn unset_variables(
    chain: &Chain,
    spans: &ChainSpans,
    catalog: &Catalog,
    out: &mut Vec<Diagnostic>,
) {
    let mut read = Vec::new();
    for rule in &chain.rules {
        rule.condition.variables(&mut read);
    }
    if read.is_empty() {
        return;
    }
    let settable = settable_variables(catalog, &chain.name);
    let mut warned = std::collections::BTreeSet::new();
    for (r, rule) in chain.rules.iter().enumerate() {
        let mut names = Vec::new();
        rule.condition.variables(&mut names);
        for name in names {
            if settable.contains(&name) || !warned.insert(name.clone()) {
                continue;
            }
            let span = spans
                .rules
                .get(r)
                .map(|s| s.condition)
                .unwrap_or(spans.name);
            out.push(
                Diagnostic::warning(
                    "unset-variable",
                    format!(
                        "rule {} reads variable {name}, but nothing sets it: no program of the \
                         job declares `sets {name};` and no job definition of chain {} has a \
                         parameter {name}; it stays NULL unless a start passes --param {name}=…",
                        rule.name, chain.name
                    ),
                    span,
                )
                .with_expected(format!(
                    "`sets {name};` in the program that prints `::set {name}=…`"
                ))
                .with_suggestion(crate::lang::diagnostic::nearest_name(
                    &name,
                    settable.iter().map(String::as_str),
                )),
            );
        }
    }
}

struct Ctx<'a> {
    chain: &'a Chain,
    spans: &'a ChainSpans,
    catalog: &'a Catalog,
    sources: &'a SourceMap,
    graph: ChainGraph,
    /// Per rule: the states worth trying for the steps it mentions.
    domains: Vec<Domains>,
    /// Per rule: can its condition be TRUE at all? (`None`: too many combinations to tell.)
    satisfiable: Vec<Option<bool>>,
    /// Per step: can some rule that can fire start it?
    startable: Vec<bool>,
    /// Per rule: can it fire, given which steps can start?
    can_fire: Vec<bool>,
}

fn ability(chain: &Chain) -> impl Fn(StepIdx) -> StepAbility + '_ {
    move |s| StepAbility {
        can_fail: !matches!(
            chain.steps.get(s).map(|s| &s.kind),
            Some(StepTarget::Event { .. })
        ),
    }
}

impl<'a> Ctx<'a> {
    fn new(
        chain: &'a Chain,
        spans: &'a ChainSpans,
        catalog: &'a Catalog,
        sources: &'a SourceMap,
    ) -> Self {
        let graph = ChainGraph::build(chain);
        let ab = ability(chain);
        let domains: Vec<Domains> = chain
            .rules
            .iter()
            .map(|r| Domains::for_condition(&r.condition, &ab))
            .collect();
        let satisfiable = chain
            .rules
            .iter()
            .zip(&domains)
            .map(|(r, d)| d.exists(&r.condition, DEFAULT_LIMIT, Truths::can_be_true))
            .collect();
        let mut ctx = Ctx {
            chain,
            spans,
            catalog,
            sources,
            graph,
            domains,
            satisfiable,
            startable: vec![false; chain.steps.len()],
            can_fire: vec![false; chain.rules.len()],
        };
        ctx.reachability();
        ctx
    }

    fn step_span(&self, s: StepIdx) -> Span {
        self.spans.steps.get(s).copied().unwrap_or(self.spans.name)
    }

    fn rule_span(&self, r: usize) -> Span {
        self.spans
            .rules
            .get(r)
            .map(|rs| rs.name.unwrap_or(rs.condition))
            .unwrap_or(self.spans.name)
    }

    fn text(&self, span: Span) -> String {
        let raw = self
            .sources
            .file(span.file)
            .and_then(|f| f.text.get(span.start..span.end))
            .unwrap_or("");
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn step_name(&self, s: StepIdx) -> &str {
        self.chain
            .steps
            .get(s)
            .map(|s| s.name.as_str())
            .unwrap_or("?")
    }

    /// Can rule `r` fire when the steps that cannot start are NOT_STARTED?
    fn fires_given_startable(&self, r: usize) -> bool {
        if self.satisfiable[r] == Some(false) {
            return false;
        }
        let mut d = self.domains[r].clone();
        let frozen: Vec<StepIdx> = d.steps().filter(|s| !self.startable[*s]).collect();
        for s in frozen {
            d.fix(s, &[AbsState::NOT_STARTED]);
        }
        d.exists(
            &self.chain.rules[r].condition,
            DEFAULT_LIMIT,
            Truths::can_be_true,
        )
        .unwrap_or(true)
    }

    /// The fixed point: which steps can start, which rules can fire.
    fn reachability(&mut self) {
        let n_rules = self.chain.rules.len();
        let mut mentioning: Vec<Vec<usize>> = vec![Vec::new(); self.chain.steps.len()];
        for (r, d) in self.domains.iter().enumerate() {
            for s in d.steps() {
                if let Some(list) = mentioning.get_mut(s) {
                    list.push(r);
                }
            }
        }
        let mut queued = vec![true; n_rules];
        let mut queue: VecDeque<usize> = (0..n_rules).collect();
        while let Some(r) = queue.pop_front() {
            queued[r] = false;
            if self.can_fire[r] || !self.fires_given_startable(r) {
                continue;
            }
            self.can_fire[r] = true;
            if let RuleAction::Start { steps, .. } = &self.chain.rules[r].action {
                for s in steps {
                    if *s < self.startable.len() && !self.startable[*s] {
                        self.startable[*s] = true;
                        for other in &mentioning[*s] {
                            if !self.can_fire[*other] && !queued[*other] {
                                queued[*other] = true;
                                queue.push_back(*other);
                            }
                        }
                    }
                }
            }
        }
    }

    // -------------------------------------------------------------- rule-never-fires

    fn never_fires(&self, out: &mut Vec<Diagnostic>) {
        for (r, rule) in self.chain.rules.iter().enumerate() {
            if self.satisfiable[r] != Some(false) {
                continue;
            }
            let cond_span = self
                .spans
                .rules
                .get(r)
                .map(|s| s.condition)
                .unwrap_or(self.spans.name);
            out.push(
                Diagnostic::warning(
                    "rule-never-fires",
                    format!(
                        "rule {} can never fire: its condition `{}` is never TRUE, whatever the states of its steps",
                        rule.name,
                        self.text(cond_span)
                    ),
                    cond_span,
                )
                .with_expected("a condition that some combination of step states makes TRUE"),
            );
        }
    }

    // -------------------------------------------------------------- unreachable-step

    fn unreachable(&self, out: &mut Vec<Diagnostic>) {
        for (s, step) in self.chain.steps.iter().enumerate() {
            if self.startable[s] {
                continue;
            }
            let starters = self.graph.rules_starting(s);
            let d = if starters.is_empty() {
                Diagnostic::warning(
                    "unreachable-step",
                    format!("step {} can never start: no rule starts it", step.name),
                    self.step_span(s),
                )
                .with_expected(format!(
                    "a rule such as `when ... then START {}`",
                    step.name
                ))
            } else {
                let names: Vec<&str> = starters
                    .iter()
                    .map(|r| self.chain.rules[*r].name.as_str())
                    .collect();
                let mut d = Diagnostic::warning(
                    "unreachable-step",
                    format!(
                        "step {} can never start: the rules that start it ({}) can never fire",
                        step.name,
                        names.join(", ")
                    ),
                    self.step_span(s),
                );
                for r in starters {
                    let rule = &self.chain.rules[r];
                    let why = if self.satisfiable[r] == Some(false) {
                        "is never TRUE"
                    } else {
                        "needs steps that never start"
                    };
                    d = d.with_note(format!(
                        "rule {}: `{}` {why}",
                        rule.name, rule.condition_text
                    ));
                }
                d
            };
            out.push(d);
        }
    }

    // -------------------------------------------------------------- no-start-rule

    fn no_start_rule(&self, out: &mut Vec<Diagnostic>) {
        let any =
            self.chain.rules.iter().any(|r| {
                super::truth::eval(&r.condition, &|_| AbsState::NOT_STARTED).can_be_true()
            });
        if !any {
            out.push(
                Diagnostic::warning(
                    "no-start-rule",
                    format!(
                        "chain {} has no rule that is TRUE when it starts: every job of it stalls at once",
                        self.chain.name
                    ),
                    self.spans.name,
                )
                .with_expected("a first rule such as `rule when TRUE then START FIRST_STEP;`"),
            );
        }
    }

    // -------------------------------------------------------------- no-end

    fn no_end(&self, out: &mut Vec<Diagnostic>) {
        let ends = self.graph.end_rules();
        let message = if ends.is_empty() {
            format!("chain {} never ends: it has no END rule", self.chain.name)
        } else if ends.iter().any(|r| self.can_fire[*r]) {
            return;
        } else {
            let names: Vec<&str> = ends
                .iter()
                .map(|r| self.chain.rules[*r].name.as_str())
                .collect();
            format!(
                "chain {} never ends: its END rules ({}) can never fire",
                self.chain.name,
                names.join(", ")
            )
        };
        out.push(
            Diagnostic::warning("no-end", message, self.spans.name)
                .with_expected("a rule such as `when LAST_STEP COMPLETED then END;`")
                .with_note(
                    "a chain that does not end stays RUNNING or CHAIN_STALLED until it is stopped",
                ),
        );
    }

    // -------------------------------------------------------------- stall-risk

    /// Can step `s` end FAILED in a normal run?
    fn can_fail(&self, s: StepIdx) -> bool {
        match &self.chain.steps[s].kind {
            StepTarget::Event { .. } => false,
            StepTarget::Program(p) => match self.catalog.programs.get(p) {
                // noop and sleep only fail on a timeout.
                Some(prog) => match &prog.kind {
                    ProgramKind::Builtin(Builtin::Noop)
                    | ProgramKind::Builtin(Builtin::Sleep(_)) => prog.timeout.is_some(),
                    _ => true,
                },
                None => true,
            },
            // A nested chain fails when it can END with a code other than 0.
            StepTarget::Chain(c) => match self.catalog.chains.get(c) {
                Some(nested) => nested.rules.iter().any(|r| match &r.action {
                    RuleAction::End(EndAction::Code(n)) => *n != 0,
                    RuleAction::End(EndAction::StepErrorCode(_)) => true,
                    _ => false,
                }),
                None => true,
            },
        }
    }

    fn stall_risk(&self, out: &mut Vec<Diagnostic>) {
        let n = self.chain.steps.len();
        let mut reacts_fail = vec![false; n];
        let mut reacts_stop = vec![false; n];
        let ab = ability(self.chain);
        for (r, rule) in self.chain.rules.iter().enumerate() {
            if self.satisfiable[r] == Some(false) {
                continue; // a rule that never fires reacts to nothing
            }
            walk(&rule.condition, true, &mut |leaf, positive| {
                let d = Domains::for_condition(leaf, &ab);
                let want = move |t: Truths| effective(t, positive);
                for s in d.steps().collect::<Vec<_>>() {
                    if s >= n {
                        continue;
                    }
                    if !reacts_fail[s] {
                        let mut f = d.clone();
                        f.retain(s, |st| st.phase == super::truth::Phase::Failed);
                        if f.states(s).is_some_and(|st| !st.is_empty()) {
                            reacts_fail[s] = f.exists(leaf, DEFAULT_LIMIT, want).unwrap_or(true);
                        }
                    }
                    if !reacts_stop[s] {
                        let mut f = d.clone();
                        f.fix(s, &[AbsState::STOPPED]);
                        reacts_stop[s] = f.exists(leaf, DEFAULT_LIMIT, want).unwrap_or(true);
                    }
                }
            });
        }
        for s in 0..n {
            if !self.startable[s] {
                continue; // reported as unreachable
            }
            let fails = self.can_fail(s) && !reacts_fail[s];
            let stoppers: Vec<usize> = self
                .graph
                .rules_stopping(s)
                .into_iter()
                .filter(|r| self.can_fire[*r])
                .collect();
            let stopped = !stoppers.is_empty() && !reacts_stop[s];
            let name = self.step_name(s);
            let outcome = match (fails, stopped) {
                (true, true) => "fails or is stopped",
                (true, false) => "fails",
                (false, true) => "is stopped",
                (false, false) => continue,
            };
            let mut d = Diagnostic::warning(
                "stall-risk",
                format!("the chain stalls if {name} {outcome}"),
                self.step_span(s),
            )
            .with_expected(format!(
                "a rule that reacts to that outcome, e.g. `when {name} {} then ...`",
                if fails { "FAILED" } else { "STOPPED" }
            ));
            let tests = match (fails, stopped) {
                (true, true) => format!("{name} FAILED, {name} STOPPED, {name} COMPLETED, NOT ({name} SUCCEEDED) or {name} ERROR_CODE"),
                (true, false) => format!("{name} FAILED, {name} COMPLETED, NOT ({name} SUCCEEDED) or {name} ERROR_CODE"),
                _ => format!("{name} STOPPED, {name} COMPLETED or NOT ({name} SUCCEEDED)"),
            };
            d = d.with_note(format!("no rule tests {tests}"));
            if stopped {
                let names: Vec<&str> = stoppers
                    .iter()
                    .map(|r| self.chain.rules[*r].name.as_str())
                    .collect();
                d = d.with_note(format!("{name} is stopped by rule {}", names.join(", ")));
            }
            if self.chain.evaluation_interval.is_some() {
                d = d.with_note(
                    "the chain has an evaluation_interval: the job is marked CHAIN_STALLED only once no rule that reads the clock (SYSTIMESTAMP, SYSDATE, …) can still act",
                );
            }
            out.push(d);
        }
    }

    // -------------------------------------------------------------- time-rule-without-interval

    fn time_rules_without_interval(&self, out: &mut Vec<Diagnostic>) {
        if self.chain.evaluation_interval.is_some() {
            return;
        }
        for (r, rule) in self.chain.rules.iter().enumerate() {
            if !rule.condition.is_time_dependent() || self.satisfiable[r] == Some(false) {
                continue;
            }
            let cond_span = self
                .spans
                .rules
                .get(r)
                .map(|s| s.condition)
                .unwrap_or(self.spans.name);
            out.push(
                Diagnostic::warning(
                    "time-rule-without-interval",
                    format!(
                        "rule {} reads the time (`{}`) but chain {} has no evaluation_interval: \
                         its rules are evaluated only when a step changes, so this rule fires late or never",
                        rule.name,
                        self.text(cond_span),
                        self.chain.name
                    ),
                    cond_span,
                )
                .with_expected(format!(
                    "`evaluation_interval 1m;` in chain {} (the rules are then also evaluated every minute)",
                    self.chain.name
                )),
            );
        }
    }

    // -------------------------------------------------------------- unguarded-negation

    fn unguarded(&self, out: &mut Vec<Diagnostic>) {
        let ab = ability(self.chain);
        for (r, rule) in self.chain.rules.iter().enumerate() {
            if self.satisfiable[r] == Some(false) {
                continue;
            }
            let mut leaf_index = 0;
            let mut guards = Vec::new();
            let mut found: Vec<(usize, Pitfall, bool)> = Vec::new();
            pitfalls(
                &rule.condition,
                true,
                &mut guards,
                &mut leaf_index,
                &ab,
                &mut found,
            );
            for (leaf, p, positive) in found {
                let span = self
                    .spans
                    .rules
                    .get(r)
                    .and_then(|rs| rs.leaves.get(leaf).copied())
                    .unwrap_or_else(|| self.rule_span(r));
                // Under an odd number of NOTs the pitfall is the negation, so quote it that way.
                let text = if positive {
                    self.text(span).to_string()
                } else {
                    format!("NOT ({})", self.text(span))
                };
                let step = self.step_name(p.step);
                let (message, expected) = match p.kind {
                    PitfallKind::BeforeRun => (
                        format!(
                            "`{text}` is TRUE before {step} has run, so rule {} can fire before {step} even starts",
                            rule.name
                        ),
                        if positive {
                            format!(
                                "a guard in the same AND, e.g. `{step} COMPLETED AND {text}`, or a positive test such as `{step} FAILED`"
                            )
                        } else {
                            format!("a guard in the same AND, e.g. `{step} COMPLETED AND {text}`")
                        },
                    ),
                    PitfallKind::OnSuccess => (
                        format!(
                            "`{text}` is TRUE when {step} has succeeded (its error code is then 0), so rule {} also fires on success",
                            rule.name
                        ),
                        format!("a guard in the same AND, e.g. `{step} FAILED AND {text}`"),
                    ),
                };
                out.push(
                    Diagnostic::warning("unguarded-negation", message, span)
                        .with_expected(expected),
                );
            }
        }
    }
}

/// Visit every leaf predicate of `c` with its polarity (false under an odd number of NOTs).
fn walk(c: &Condition, positive: bool, f: &mut impl FnMut(&Condition, bool)) {
    match c {
        Condition::And(a, b) | Condition::Or(a, b) => {
            walk(a, positive, f);
            walk(b, positive, f);
        }
        Condition::Not(a) => walk(a, !positive, f),
        leaf => f(leaf, positive),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PitfallKind {
    /// TRUE while the step has not run (`NOT SUCCEEDED`, `NOT FAILED`).
    BeforeRun,
    /// TRUE when the step has succeeded (`ERROR_CODE != n`, `NOT IN`).
    OnSuccess,
}

#[derive(Debug, Clone, Copy)]
struct Pitfall {
    step: StepIdx,
    kind: PitfallKind,
}

/// Is this leaf, at this polarity, one of the pitfall forms? Returns the step and kind.
fn pitfall_form(leaf: &Condition, positive: bool) -> Option<Pitfall> {
    use super::model::Operand;
    let single_attr = |l: &Operand, r: &Operand| match (l, r) {
        (Operand::Attr { step, attr }, other) | (other, Operand::Attr { step, attr })
            if !matches!(other, Operand::Attr { .. }) =>
        {
            Some((*step, *attr))
        }
        _ => None,
    };
    match leaf {
        Condition::StepState {
            step,
            negated,
            test,
        } => {
            let effective_not = *negated == positive;
            (effective_not && matches!(test, StateTest::Succeeded | StateTest::Failed)).then_some(
                Pitfall {
                    step: *step,
                    kind: PitfallKind::BeforeRun,
                },
            )
        }
        Condition::ErrorCodeIn { step, negated, .. } => (*negated == positive).then_some(Pitfall {
            step: *step,
            kind: PitfallKind::OnSuccess,
        }),
        Condition::ErrorCodeCmp { step, op, .. } => {
            let ne = (*op == CmpOp::Ne && positive) || (*op == CmpOp::Eq && !positive);
            ne.then_some(Pitfall {
                step: *step,
                kind: PitfallKind::OnSuccess,
            })
        }
        Condition::SqlCompare { left, op, right } => {
            let ne = (*op == CmpOp::Ne && positive) || (*op == CmpOp::Eq && !positive);
            let (step, attr) = single_attr(left, right)?;
            match attr {
                SqlAttr::State if ne => Some(Pitfall {
                    step,
                    kind: PitfallKind::BeforeRun,
                }),
                SqlAttr::ErrorCode if ne => Some(Pitfall {
                    step,
                    kind: PitfallKind::OnSuccess,
                }),
                _ => None,
            }
        }
        Condition::SqlIn {
            left,
            negated,
            list,
        } => {
            let not_in = *negated == positive;
            let attr = match left {
                Operand::Attr { step, attr }
                    if list.iter().all(|o| !matches!(o, Operand::Attr { .. })) =>
                {
                    Some((*step, *attr))
                }
                _ => None,
            };
            match attr {
                Some((step, SqlAttr::State)) if not_in => Some(Pitfall {
                    step,
                    kind: PitfallKind::BeforeRun,
                }),
                Some((step, SqlAttr::ErrorCode)) if not_in => Some(Pitfall {
                    step,
                    kind: PitfallKind::OnSuccess,
                }),
                _ => None,
            }
        }
        // The SQL forms of the same pitfalls: `:A.error_code NOT BETWEEN 1 AND 99` is TRUE when
        // A succeeded, `:A.state NOT LIKE 'FAIL%'` before A has run. (Whether the leaf really
        // is TRUE in that state is checked by the caller.)
        Condition::SqlBetween(b)
            if [&b.low, &b.high]
                .iter()
                .all(|o| !matches!(o, Operand::Attr { .. })) =>
        {
            let not_between = b.negated == positive;
            match &b.value {
                Operand::Attr {
                    step,
                    attr: SqlAttr::ErrorCode,
                } if not_between => Some(Pitfall {
                    step: *step,
                    kind: PitfallKind::OnSuccess,
                }),
                _ => None,
            }
        }
        Condition::SqlLike(l) if !matches!(l.pattern, Operand::Attr { .. }) => {
            let not_like = l.negated == positive;
            match &l.value {
                Operand::Attr {
                    step,
                    attr: SqlAttr::State,
                } if not_like => Some(Pitfall {
                    step: *step,
                    kind: PitfallKind::BeforeRun,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Can the leaf make its enclosing condition TRUE? (Under an odd number of NOTs, it must be
/// FALSE for that.)
fn effective(t: Truths, positive: bool) -> bool {
    if positive {
        t.can_be_true()
    } else {
        t.can_be_false()
    }
}

/// Find unguarded pitfall leaves. `guards` holds the conjuncts (with polarity) that must also
/// be TRUE for the leaf to matter: siblings in enclosing ANDs (ORs under a NOT).
fn pitfalls<'c>(
    c: &'c Condition,
    positive: bool,
    guards: &mut Vec<(&'c Condition, bool)>,
    leaf_index: &mut usize,
    ab: &impl Fn(StepIdx) -> StepAbility,
    found: &mut Vec<(usize, Pitfall, bool)>,
) {
    match c {
        Condition::And(a, b) | Condition::Or(a, b) => {
            let conjunctive = matches!(c, Condition::And(..)) == positive;
            if conjunctive {
                guards.push((b, positive));
                pitfalls(a, positive, guards, leaf_index, ab, found);
                guards.pop();
                guards.push((a, positive));
                pitfalls(b, positive, guards, leaf_index, ab, found);
                guards.pop();
            } else {
                pitfalls(a, positive, guards, leaf_index, ab, found);
                pitfalls(b, positive, guards, leaf_index, ab, found);
            }
        }
        Condition::Not(a) => pitfalls(a, !positive, guards, leaf_index, ab, found),
        leaf => {
            let index = *leaf_index;
            *leaf_index += 1;
            let Some(p) = pitfall_form(leaf, positive) else {
                return;
            };
            let bad = match p.kind {
                PitfallKind::BeforeRun => AbsState::NOT_STARTED,
                PitfallKind::OnSuccess => AbsState::SUCCEEDED,
            };
            // The leaf itself must be TRUE in the bad state (e.g. `ERROR_CODE != 0` is not).
            let mut d = Domains::for_condition(leaf, ab);
            d.fix(p.step, &[bad]);
            if d.exists(leaf, DEFAULT_LIMIT, |t| effective(t, positive)) != Some(true) {
                return;
            }
            let guarded = guards.iter().any(|(g, pos)| {
                if !super::truth::mentions(g, p.step) {
                    return false;
                }
                let mut gd = Domains::for_condition(g, ab);
                gd.fix(p.step, &[bad]);
                gd.exists(g, DEFAULT_LIMIT, |t| effective(t, *pos)) == Some(false)
            });
            if !guarded {
                found.push((index, p, positive));
            }
        }
    }
}
