//! Graph models of the catalog (petgraph).
//!
//! * [`ChainGraph`]: one per chain. Nodes are the chain's steps (with their kind) plus two
//!   virtual nodes, START (for rules whose condition names no step, e.g. `TRUE`) and END.
//!   An edge goes from every step a rule's condition mentions to every step its action starts
//!   or stops, or to END for an END rule; its weight names the rule and the action kind.
//!   Lints ask it "which rules start this step"; the renderers draw it.
//! * [`NestingGraph`]: the chain → nested-chain links, and the rule that a chain may not
//!   contain itself (Tarjan's strongly connected components, then one loop per component).

use super::model::{Catalog, Chain, RuleAction, RuleIdx, StepIdx, StepTarget};
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

/// The chain → nested-chain graph: one node per chain, one edge per nested-chain step.
///
/// `W` is what an edge carries: the step's name for a resolved catalog
/// ([`NestingGraph::build`]), its span while resolving (to report a loop at the step).
#[derive(Debug, Clone)]
pub struct NestingGraph<W = String> {
    pub graph: DiGraph<String, W>,
    pub nodes: HashMap<String, NodeIndex>,
}

impl NestingGraph<String> {
    /// The nesting links of a resolved catalog (edge weight: the outer step's name).
    pub fn build(catalog: &Catalog) -> Self {
        let mut links = Vec::new();
        for (name, chain) in &catalog.chains {
            for step in &chain.steps {
                if let StepTarget::Chain(nested) = &step.kind {
                    links.push((name.clone(), nested.clone(), step.name.clone()));
                }
            }
        }
        NestingGraph::from_links(links)
    }
}

impl<W: Clone> NestingGraph<W> {
    /// Build from `(chain, nested chain, weight)` links, in the order given.
    pub fn from_links(links: impl IntoIterator<Item = (String, String, W)>) -> Self {
        let mut g = NestingGraph {
            graph: DiGraph::new(),
            nodes: HashMap::new(),
        };
        for (from, to, w) in links {
            let a = g.node(from);
            let b = g.node(to);
            g.graph.add_edge(a, b, w);
        }
        g
    }

    fn node(&mut self, name: String) -> NodeIndex {
        if let Some(n) = self.nodes.get(&name) {
            return *n;
        }
        let n = self.graph.add_node(name.clone());
        self.nodes.insert(name, n);
        n
    }

    /// The chains `chain` nests directly, with the weight of each link, in link order.
    pub fn nested_in(&self, chain: &str) -> Vec<(String, W)> {
        let Some(n) = self.nodes.get(chain) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, String, W)> = self
            .graph
            .edges(*n)
            .map(|e| {
                (
                    e.id().index(),
                    self.graph[e.target()].clone(),
                    e.weight().clone(),
                )
            })
            .collect();
        out.sort_by_key(|(i, _, _)| *i);
        out.into_iter().map(|(_, c, w)| (c, w)).collect()
    }

    /// Loops in the nesting relation: one per strongly connected component that has one (a
    /// chain nesting itself is a loop of one). Each loop lists `(chain, weight of its link to
    /// the next chain)`, starting at the loop's smallest chain name; loops are sorted by it.
    pub fn cycles(&self) -> Vec<Vec<(String, W)>> {
        let mut loops = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.find_edge(scc[0], scc[0]).is_some();
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let Some(first) = scc
                .iter()
                .copied()
                .min_by(|a, b| self.graph[*a].cmp(&self.graph[*b]))
            else {
                continue;
            };
            if let Some(cycle) = self.shortest_loop(first, &scc) {
                loops.push(cycle);
            }
        }
        loops.sort_by(|a, b| a[0].0.cmp(&b[0].0));
        loops
    }

    /// The shortest loop from `first` back to itself inside one component (breadth-first).
    fn shortest_loop(&self, first: NodeIndex, scc: &[NodeIndex]) -> Option<Vec<(String, W)>> {
        let g = &self.graph;
        let mut parent: HashMap<NodeIndex, (NodeIndex, W)> = HashMap::new();
        let mut queue = VecDeque::from([first]);
        while let Some(n) = queue.pop_front() {
            let mut out: Vec<_> = g.edges(n).collect();
            out.sort_by(|a, b| {
                (&g[a.target()], a.id().index()).cmp(&(&g[b.target()], b.id().index()))
            });
            for e in out {
                let t = e.target();
                if !scc.contains(&t) {
                    continue;
                }
                if t == first {
                    let mut rev = vec![(g[n].clone(), e.weight().clone())];
                    let mut cur = n;
                    while cur != first {
                        let (p, w) = parent.get(&cur)?;
                        rev.push((g[*p].clone(), w.clone()));
                        cur = *p;
                    }
                    rev.reverse();
                    return Some(rev);
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = parent.entry(t) {
                    slot.insert((n, e.weight().clone()));
                    queue.push_back(t);
                }
            }
        }
        None
    }
}
