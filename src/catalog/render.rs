//! Drawing a chain: Graphviz dot and Mermaid, from the per-chain rule graphs.
//!
//! Why a scene in between: both formats draw the same thing — steps shaped and coloured by
//! kind (program box, nested-chain box, event hexagon), virtual start/end nodes, one edge per
//! (mentioned step → started/stopped step) labelled with the rule name and condition, and every
//! nested chain as a cluster holding the outer step and the nested chain's own steps (to any
//! depth; node ids are job subnames such as `FUND.TRANSFER`). The scene is built once from
//! [`ChainGraph`]s; each format only decides spelling and escaping. An SVG renderer (for the
//! HTTP server) can be added on top of the same scene.

use super::graph::{ChainGraph, EdgeKind, GraphNode};
use super::model::{Catalog, StepTarget};
use crate::lang::diagnostic::nearest_name;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Why a chain could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("unknown chain {name}{}", crate::lang::diagnostic::did_you_mean(suggestion.as_deref()))]
    UnknownChain {
        name: String,
        suggestion: Option<String>,
    },
}

/// Nested chains deeper than this are drawn as a single step (a guard, not a practical limit).
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeStyle {
    Program,
    Chain,
    Event,
    Start,
    End,
}

#[derive(Debug, Clone)]
pub(super) struct SceneNode {
    pub(super) id: String,
    pub(super) label: Vec<String>,
    pub(super) style: NodeStyle,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Cluster {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) nodes: Vec<SceneNode>,
    pub(super) children: Vec<Cluster>,
}

#[derive(Debug, Clone)]
pub(super) struct SceneEdge {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) label: Vec<String>,
    pub(super) kind: EdgeKind,
}

#[derive(Debug, Default)]
pub(super) struct Scene {
    pub(super) title: String,
    pub(super) root: Cluster,
    pub(super) edges: Vec<SceneEdge>,
}

pub(super) fn scene(catalog: &Catalog, chain: &str) -> Result<Scene, RenderError> {
    if !catalog.chains.contains_key(chain) {
        return Err(RenderError::UnknownChain {
            name: chain.to_string(),
            suggestion: nearest_name(chain, catalog.chains.keys().map(|k| k.as_str())),
        });
    }
    let mut s = Scene {
        title: chain.to_string(),
        ..Scene::default()
    };
    s.root.nodes.push(SceneNode {
        id: "$START".into(),
        label: vec!["start".into()],
        style: NodeStyle::Start,
    });
    let mut root = std::mem::take(&mut s.root);
    let mut stack = vec![chain.to_string()];
    add_chain(
        catalog,
        chain,
        "",
        "$START",
        "$END",
        &mut root,
        &mut s.edges,
        &mut stack,
    );
    root.nodes.push(SceneNode {
        id: "$END".into(),
        label: vec!["end".into()],
        style: NodeStyle::End,
    });
    s.root = root;
    Ok(s)
}

/// Add the steps of `chain` (ids prefixed with `prefix`) to `cluster` and its rule edges.
#[allow(clippy::too_many_arguments)]
fn add_chain(
    catalog: &Catalog,
    chain: &str,
    prefix: &str,
    start_id: &str,
    end_id: &str,
    cluster: &mut Cluster,
    edges: &mut Vec<SceneEdge>,
    stack: &mut Vec<String>,
) {
    let Some(c) = catalog.chains.get(chain) else {
        return;
    };
    for step in &c.steps {
        let id = format!("{prefix}{}", step.name);
        let (style, what) = match &step.kind {
            StepTarget::Program(p) => (NodeStyle::Program, format!("program {p}")),
            StepTarget::Chain(n) => (NodeStyle::Chain, format!("chain {n}")),
            StepTarget::Event {
                name,
                condition_text,
                ..
            } => (
                NodeStyle::Event,
                match condition_text {
                    Some(w) => format!("event {name} where {w}"),
                    None => format!("event {name}"),
                },
            ),
        };
        let node = SceneNode {
            id: id.clone(),
            label: vec![step.name.clone(), what.clone()],
            style,
        };
        match &step.kind {
            StepTarget::Chain(nested)
                if stack.len() < MAX_DEPTH
                    && !stack.contains(nested)
                    && catalog.chains.contains_key(nested) =>
            {
                let mut child = Cluster {
                    id: format!("cluster_{id}"),
                    label: format!("{}: {what}", step.name),
                    nodes: vec![node],
                    children: Vec::new(),
                };
                let inner_end = format!("{id}.$END");
                stack.push(nested.clone());
                add_chain(
                    catalog,
                    nested,
                    &format!("{id}."),
                    &id,
                    &inner_end,
                    &mut child,
                    edges,
                    stack,
                );
                stack.pop();
                child.nodes.push(SceneNode {
                    id: inner_end,
                    label: vec![format!("end {nested}")],
                    style: NodeStyle::End,
                });
                cluster.children.push(child);
            }
            _ => cluster.nodes.push(node),
        }
    }
    let graph = ChainGraph::build(c);
    let id_of = |n: GraphNode| -> String {
        match n {
            GraphNode::Start => start_id.to_string(),
            GraphNode::End => end_id.to_string(),
            GraphNode::Step { index, .. } => format!("{prefix}{}", c.steps[index].name),
        }
    };
    for e in graph.graph.edge_indices() {
        let (Some((a, b)), Some(w)) = (graph.graph.edge_endpoints(e), graph.graph.edge_weight(e))
        else {
            continue;
        };
        let rule = &c.rules[w.rule];
        let mut label = vec![format!("{}: {}", rule.name, rule.condition_text)];
        let plain_start = matches!(
            &rule.action,
            super::model::RuleAction::Start { after: None, .. }
        );
        if !plain_start {
            label.push(rule.action_text.clone());
        }
        edges.push(SceneEdge {
            from: id_of(graph.graph[a]),
            to: id_of(graph.graph[b]),
            label,
            kind: w.kind,
        });
    }
}

// ------------------------------------------------------------------ dot

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| dot_escape(l))
        .collect::<Vec<_>>()
        .join("\\n")
}

fn dot_node_attrs(style: NodeStyle) -> &'static str {
    match style {
        NodeStyle::Program => {
            r##"shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8""##
        }
        NodeStyle::Chain => r##"shape=box3d, style=filled, fillcolor="#fef3c7", color="#b45309""##,
        NodeStyle::Event => {
            r##"shape=hexagon, style=filled, fillcolor="#dcfce7", color="#15803d""##
        }
        NodeStyle::Start => r##"shape=circle, style=filled, fillcolor="#e5e7eb", color="#6b7280""##,
        NodeStyle::End => {
            r##"shape=doublecircle, style=filled, fillcolor="#e5e7eb", color="#6b7280""##
        }
    }
}

fn dot_cluster(c: &Cluster, indent: usize, out: &mut String) {
    let pad = "    ".repeat(indent);
    for n in &c.nodes {
        let _ = writeln!(
            out,
            "{pad}\"{}\" [label=\"{}\", {}];",
            dot_escape(&n.id),
            dot_label(&n.label),
            dot_node_attrs(n.style)
        );
    }
    for child in &c.children {
        let _ = writeln!(out, "{pad}subgraph \"{}\" {{", dot_escape(&child.id));
        let _ = writeln!(
            out,
            "{pad}    label=\"{}\"; style=\"dashed,rounded\"; color=\"#b45309\";",
            dot_escape(&child.label)
        );
        dot_cluster(child, indent + 1, out);
        let _ = writeln!(out, "{pad}}}");
    }
}

/// The chain as a Graphviz `digraph` (render with `dot -Tsvg`).
pub fn render_dot(catalog: &Catalog, chain: &str) -> Result<String, RenderError> {
    let s = scene(catalog, chain)?;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&s.title));
    out.push_str("    rankdir=TB;\n");
    out.push_str("    node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=9];\n");
    dot_cluster(&s.root, 1, &mut out);
    for e in &s.edges {
        let style = match e.kind {
            EdgeKind::Start => String::new(),
            EdgeKind::Stop => {
                r##", style=dashed, color="#dc2626", fontcolor="#dc2626""##.to_string()
            }
            EdgeKind::End => r##", color="#4b5563""##.to_string(),
        };
        let _ = writeln!(
            out,
            "    \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            dot_escape(&e.from),
            dot_escape(&e.to),
            dot_label(&e.label)
        );
    }
    out.push_str("}\n");
    Ok(out)
}

// ------------------------------------------------------------------ mermaid

fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            c => out.push(c),
        }
    }
    out
}

fn mermaid_label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| mermaid_escape(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

struct MermaidIds {
    ids: HashMap<String, String>,
}

impl MermaidIds {
    fn get(&mut self, id: &str) -> String {
        let n = self.ids.len();
        self.ids
            .entry(id.to_string())
            .or_insert_with(|| format!("n{n}"))
            .clone()
    }
}

fn mermaid_cluster(
    c: &Cluster,
    indent: usize,
    ids: &mut MermaidIds,
    classes: &mut Vec<(String, NodeStyle)>,
    out: &mut String,
) {
    let pad = "    ".repeat(indent);
    for n in &c.nodes {
        let id = ids.get(&n.id);
        let label = mermaid_label(&n.label);
        let shape = match n.style {
            NodeStyle::Program => format!("[\"{label}\"]"),
            NodeStyle::Chain => format!("[[\"{label}\"]]"),
            NodeStyle::Event => format!("{{{{\"{label}\"}}}}"),
            NodeStyle::Start => format!("((\"{label}\"))"),
            NodeStyle::End => format!("(((\"{label}\")))"),
        };
        let _ = writeln!(out, "{pad}{id}{shape}");
        classes.push((id, n.style));
    }
    for child in &c.children {
        let id = ids.get(&child.id);
        let _ = writeln!(
            out,
            "{pad}subgraph {id} [\"{}\"]",
            mermaid_escape(&child.label)
        );
        mermaid_cluster(child, indent + 1, ids, classes, out);
        let _ = writeln!(out, "{pad}end");
    }
}

/// The chain as a Mermaid `flowchart` (renders in Markdown on GitHub and GitLab).
pub fn render_mermaid(catalog: &Catalog, chain: &str) -> Result<String, RenderError> {
    let s = scene(catalog, chain)?;
    let mut out = String::new();
    out.push_str("flowchart TD\n");
    let _ = writeln!(out, "    %% chain {}", s.title.replace('\n', " "));
    let mut ids = MermaidIds {
        ids: HashMap::new(),
    };
    let mut classes = Vec::new();
    mermaid_cluster(&s.root, 1, &mut ids, &mut classes, &mut out);
    for e in &s.edges {
        let arrow = match e.kind {
            EdgeKind::Stop => "-.->",
            _ => "-->",
        };
        let (from, to) = (ids.get(&e.from), ids.get(&e.to));
        let _ = writeln!(
            out,
            "    {from} {arrow}|\"{}\"| {to}",
            mermaid_label(&e.label)
        );
    }
    out.push_str("    classDef program fill:#dbeafe,stroke:#1d4ed8\n");
    out.push_str("    classDef chain fill:#fef3c7,stroke:#b45309\n");
    out.push_str("    classDef event fill:#dcfce7,stroke:#15803d\n");
    out.push_str("    classDef virtual fill:#e5e7eb,stroke:#6b7280\n");
    for (class, style) in [
        ("program", NodeStyle::Program),
        ("chain", NodeStyle::Chain),
        ("event", NodeStyle::Event),
    ] {
        let members: Vec<&str> = classes
            .iter()
            .filter(|(_, s)| *s == style)
            .map(|(id, _)| id.as_str())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "    class {} {class}", members.join(","));
        }
    }
    let virtuals: Vec<&str> = classes
        .iter()
        .filter(|(_, s)| matches!(s, NodeStyle::Start | NodeStyle::End))
        .map(|(id, _)| id.as_str())
        .collect();
    if !virtuals.is_empty() {
        let _ = writeln!(out, "    class {} virtual", virtuals.join(","));
    }
    Ok(out)
}
