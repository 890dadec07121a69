//! Graph models of the catalog (petgraph).
//!
//! * [`ChainGraph`]: one per chain. Nodes are the chain's steps (with their kind) plus two
//!   virtual nodes, START (for rules whose condition names no step, e.g. `TRUE`) and END.
//!   An edge goes from every step a rule's condition mentions to every step its action starts
//!   or stops, or to END for an END rule; its weight names the rule and the action kind.
//!   Lints ask it "which rules start this step"; the renderers draw it.
//! * [`nesting_cycles`]: the chain → nested-chain graph, for the rule that a chain may not
//!   contain itself (Tarjan's strongly connected components, then one loop per component).

use super::model::{Chain, RuleAction, RuleIdx, StepIdx, StepTarget};
use crate::lang::span::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::{HashMap, VecDeque};

/// What a step runs, for drawing and lints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKindTag {
    Program,
    Chain,
    Event,
}

impl StepKindTag {
    pub fn of(target: &StepTarget) -> Self {
        match target {
            StepTarget::Program(_) => StepKindTag::Program,
            StepTarget::Chain(_) => StepKindTag::Chain,
            StepTarget::Event { .. } => StepKindTag::Event,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphNode {
    /// Virtual: where rules whose condition names no step come from.
    Start,
    Step {
        index: StepIdx,
        kind: StepKindTag,
    },
    /// Virtual: where END rules go.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Start,
    Stop,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    pub rule: RuleIdx,
    pub rule_name: String,
    pub kind: EdgeKind,
}

/// The rule graph of one chain.
#[derive(Debug, Clone)]
pub struct ChainGraph {
    pub graph: DiGraph<GraphNode, GraphEdge>,
    pub start: NodeIndex,
    pub end: NodeIndex,
    /// Node of each step, by `StepIdx`.
    pub steps: Vec<NodeIndex>,
}

impl ChainGraph {
    pub fn build(chain: &Chain) -> Self {
        let mut graph = DiGraph::with_capacity(chain.steps.len() + 2, chain.rules.len() * 2);
        let start = graph.add_node(GraphNode::Start);
        let steps: Vec<NodeIndex> = chain
            .steps
            .iter()
            .enumerate()
            .map(|(index, s)| {
                graph.add_node(GraphNode::Step {
                    index,
                    kind: StepKindTag::of(&s.kind),
                })
            })
            .collect();
        let end = graph.add_node(GraphNode::End);
        let mut mentioned = Vec::new();
        for (ri, rule) in chain.rules.iter().enumerate() {
            mentioned.clear();
            rule.condition.steps(&mut mentioned);
            mentioned.sort_unstable();
            mentioned.dedup();
            let sources: Vec<NodeIndex> = if mentioned.is_empty() {
                vec![start]
            } else {
                mentioned
                    .iter()
                    .filter_map(|i| steps.get(*i).copied())
                    .collect()
            };
            let (kind, targets): (EdgeKind, Vec<NodeIndex>) = match &rule.action {
                RuleAction::Start { steps: t, .. } => (
                    EdgeKind::Start,
                    t.iter().filter_map(|i| steps.get(*i).copied()).collect(),
                ),
                RuleAction::Stop { steps: t } => (
                    EdgeKind::Stop,
                    t.iter().filter_map(|i| steps.get(*i).copied()).collect(),
                ),
                RuleAction::End(_) => (EdgeKind::End, vec![end]),
            };
            for from in &sources {
                for to in &targets {
                    graph.add_edge(
                        *from,
                        *to,
                        GraphEdge {
                            rule: ri,
                            rule_name: rule.name.clone(),
                            kind,
                        },
                    );
                }
            }
        }
        ChainGraph {
            graph,
            start,
            end,
            steps,
        }
    }

    /// The rules whose action starts step `s` (each once, in rule order).
    pub fn rules_starting(&self, s: StepIdx) -> Vec<RuleIdx> {
        let Some(node) = self.steps.get(s) else {
            return Vec::new();
        };
        let mut rules: Vec<RuleIdx> = self
            .graph
            .edges_directed(*node, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Start)
            .map(|e| e.weight().rule)
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The rules whose action stops step `s` (each once, in rule order).
    pub fn rules_stopping(&self, s: StepIdx) -> Vec<RuleIdx> {
        let Some(node) = self.steps.get(s) else {
            return Vec::new();
        };
        let mut rules: Vec<RuleIdx> = self
            .graph
            .edges_directed(*node, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Stop)
            .map(|e| e.weight().rule)
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The END rules (each once, in rule order).
    pub fn end_rules(&self) -> Vec<RuleIdx> {
        let mut rules: Vec<RuleIdx> = self
            .graph
            .edges_directed(self.end, Direction::Incoming)
            .map(|e| e.weight().rule)
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }
}

/// Loops in the nesting relation. `edges` are `(chain, nested chain, span of the step)`.
///
/// Returns one loop per strongly connected component that has one (a self-nesting chain is
/// a loop of one), each as `(chain, span of its step that nests the next chain)`, starting at
/// the smallest chain name of the loop. Loops are sorted by that name.
pub fn nesting_cycles(edges: &[(String, String, Span)]) -> Vec<Vec<(String, Span)>> {
    let mut graph: DiGraph<&str, Span> = DiGraph::new();
    let mut nodes: HashMap<&str, NodeIndex> = HashMap::new();
    for (from, to, _) in edges {
        for name in [from.as_str(), to.as_str()] {
            if !nodes.contains_key(name) {
                let n = graph.add_node(name);
                nodes.insert(name, n);
            }
        }
    }
    for (from, to, span) in edges {
        if let (Some(a), Some(b)) = (nodes.get(from.as_str()), nodes.get(to.as_str())) {
            graph.add_edge(*a, *b, *span);
        }
    }
    let mut loops = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && graph.find_edge(scc[0], scc[0]).is_some();
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let Some(first) = scc.iter().copied().min_by_key(|n| graph[*n]) else {
            continue;
        };
        if let Some(cycle) = shortest_loop(&graph, first, &scc) {
            loops.push(cycle);
        }
    }
    loops.sort_by(|a, b| a[0].0.cmp(&b[0].0));
    loops
}

/// The shortest loop from `first` back to itself inside one component (breadth-first).
fn shortest_loop(
    graph: &DiGraph<&str, Span>,
    first: NodeIndex,
    scc: &[NodeIndex],
) -> Option<Vec<(String, Span)>> {
    let mut parent: HashMap<NodeIndex, (NodeIndex, Span)> = HashMap::new();
    let mut queue = VecDeque::from([first]);
    while let Some(n) = queue.pop_front() {
        let mut out: Vec<_> = graph.edges(n).collect();
        out.sort_by_key(|e| (graph[e.target()], e.weight().start));
        for e in out {
            let t = e.target();
            if !scc.contains(&t) {
                continue;
            }
            if t == first {
                // Walk back from n to first.
                let mut rev = vec![(graph[n].to_string(), *e.weight())];
                let mut cur = n;
                while cur != first {
                    let (p, span) = parent.get(&cur)?;
                    rev.push((graph[*p].to_string(), *span));
                    cur = *p;
                }
                rev.reverse();
                return Some(rev);
            }
            if t != first && !parent.contains_key(&t) {
                parent.insert(t, (n, *e.weight()));
                queue.push_back(t);
            }
        }
    }
    None
}
