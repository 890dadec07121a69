//! A chain drawn as SVG (`GET /api/v1/chains/{chain}/graph.svg`), laid out on the server.
//!
//! Why a small renderer of our own: the dashboard must show a chain without a layout engine
//! in the browser or Graphviz on the host. The layout is layered, left to right: a virtual
//! START node, then each step in the column after the latest step its starting rules wait for
//! (longest path over START edges, so a join sits right of everything it joins), then END.
//! Edges are labelled with the rule name; STOP edges are dashed. Every step node carries
//! `data-step="NAME"` so the dashboard can colour it with a job's step states.

use crate::catalog::{Catalog, Chain, RuleAction, StepTarget};
use std::collections::BTreeSet;
use std::fmt::Write as _;

const COL_GAP: f64 = 90.0;
const ROW_H: f64 = 72.0;
const NODE_H: f64 = 40.0;
const MARGIN: f64 = 24.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeKind {
    Start,
    End,
    Program,
    Chain,
    Event,
}

struct Node {
    label: String,
    sub: String,
    kind: NodeKind,
    layer: usize,
    x: f64,
    y: f64,
    w: f64,
}

struct Edge {
    from: usize,
    to: usize,
    label: String,
    stop: bool,
}

/// The SVG of `chain`, or `None` when the catalog has no such chain.
pub fn chain_svg(catalog: &Catalog, chain: &str) -> Option<String> {
    catalog.chains.get(chain).map(render)
}

fn render(chain: &Chain) -> String {
    let n = chain.steps.len();
    let start = n;
    let end = n + 1;
    let mut nodes: Vec<Node> = chain
        .steps
        .iter()
        .map(|s| {
            let (kind, sub) = match &s.kind {
                StepTarget::Program(p) => (NodeKind::Program, format!("program {p}")),
                StepTarget::Chain(c) => (NodeKind::Chain, format!("chain {c}")),
                StepTarget::Event { name, .. } => (NodeKind::Event, format!("event {name}")),
            };
            Node {
                label: s.name.clone(),
                sub,
                kind,
                layer: 1,
                x: 0.0,
                y: 0.0,
                w: 0.0,
            }
        })
        .collect();
    for (label, kind) in [("START", NodeKind::Start), ("END", NodeKind::End)] {
        nodes.push(Node {
            label: label.into(),
            sub: String::new(),
            kind,
            layer: 0,
            x: 0.0,
            y: 0.0,
            w: 0.0,
        });
    }

    let mut edges = Vec::new();
    for rule in &chain.rules {
        let mut mentioned = Vec::new();
        rule.condition.steps(&mut mentioned);
        let sources: Vec<usize> = if mentioned.is_empty() {
            vec![start]
        } else {
            mentioned
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let (targets, stop): (Vec<usize>, bool) = match &rule.action {
            RuleAction::Start { steps, .. } => (steps.clone(), false),
            RuleAction::Stop { steps } => (steps.clone(), true),
            RuleAction::End(_) => (vec![end], false),
        };
        for s in &sources {
            for t in &targets {
                if *s < nodes.len() && *t < nodes.len() {
                    edges.push(Edge {
                        from: *s,
                        to: *t,
                        label: rule.name.clone(),
                        stop,
                    });
                }
            }
        }
    }

    // Longest path over START edges (bounded relaxation: cycles cannot loop forever).
    for _ in 0..=nodes.len() {
        let mut changed = false;
        for e in edges
            .iter()
            .filter(|e| !e.stop && e.to != end && e.to != e.from)
        {
            let want = nodes[e.from].layer + 1;
            if nodes[e.to].layer < want && want <= nodes.len() {
                nodes[e.to].layer = want;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let last = nodes[..n].iter().map(|s| s.layer).max().unwrap_or(0);
    nodes[end].layer = last + 1;
    nodes[start].layer = 0;

    // Columns: width from the widest label of the layer.
    for node in nodes.iter_mut() {
        let chars = node
            .label
            .chars()
            .count()
            .max(node.sub.chars().count() * 7 / 8);
        node.w = match node.kind {
            NodeKind::Start | NodeKind::End => 64.0,
            _ => (chars as f64 * 8.0 + 28.0).max(96.0),
        };
    }
    let layers = nodes[end].layer + 1;
    let mut col_w = vec![0.0f64; layers];
    let mut rows = vec![0usize; layers];
    for node in &nodes {
        col_w[node.layer] = col_w[node.layer].max(node.w);
        rows[node.layer] += 1;
    }
    let max_rows = rows.iter().copied().max().unwrap_or(1).max(1);
    let height = MARGIN * 2.0 + max_rows as f64 * ROW_H;
    let mut col_x = vec![MARGIN; layers];
    for l in 1..layers {
        col_x[l] = col_x[l - 1] + col_w[l - 1] + COL_GAP;
    }
    let width = col_x[layers - 1] + col_w[layers - 1] + MARGIN;
    let mut seen = vec![0usize; layers];
    // Steps in definition order within a column; START and END centred.
    let order: Vec<usize> = (0..nodes.len()).collect();
    for i in order {
        let l = nodes[i].layer;
        let count = rows[l];
        let top = (height - count as f64 * ROW_H) / 2.0;
        nodes[i].x = col_x[l] + (col_w[l] - nodes[i].w) / 2.0;
        nodes[i].y = top + seen[l] as f64 * ROW_H + (ROW_H - NODE_H) / 2.0;
        seen[l] += 1;
    }

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chain-graph\" data-chain=\"{}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"13\">",
        esc(&chain.name)
    );
    svg.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#64748b\"/>\
         </marker><marker id=\"arrow-stop\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#dc2626\"/>\
         </marker></defs>",
    );
    let _ = write!(svg, "<title>chain {}</title>", esc(&chain.name));

    for e in &edges {
        let (a, b) = (&nodes[e.from], &nodes[e.to]);
        let (x1, y1) = (a.x + a.w, a.y + NODE_H / 2.0);
        let (x2, y2) = (b.x, b.y + NODE_H / 2.0);
        let (path, lx, ly) = if x2 > x1 {
            let dx = (x2 - x1) / 2.0;
            (
                format!(
                    "M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
                    x1 + dx,
                    x2 - dx
                ),
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 - 4.0,
            )
        } else {
            // A backward edge (a STOP, or a rule looping back): arc below both nodes.
            let (sx, sy) = (a.x + a.w / 2.0, a.y + NODE_H);
            let (tx, ty) = (b.x + b.w / 2.0, b.y + NODE_H);
            let dip = sy.max(ty) + ROW_H * 0.6;
            (
                format!("M{sx:.1},{sy:.1} C{sx:.1},{dip:.1} {tx:.1},{dip:.1} {tx:.1},{ty:.1}"),
                (sx + tx) / 2.0,
                dip - 4.0,
            )
        };
        let (stroke, marker, dash) = if e.stop {
            ("#dc2626", "arrow-stop", " stroke-dasharray=\"5 4\"")
        } else {
            ("#64748b", "arrow", "")
        };
        let _ = write!(
            svg,
            "<g class=\"edge{}\"><path d=\"{path}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.4\"{dash} \
             marker-end=\"url(#{marker})\"/><text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" \
             font-size=\"10\" fill=\"#475569\">{}</text></g>",
            if e.stop { " stop" } else { "" },
            esc(&e.label)
        );
    }

    for (i, node) in nodes.iter().enumerate() {
        let (x, y, w) = (node.x, node.y, node.w);
        match node.kind {
            NodeKind::Start | NodeKind::End => {
                let _ = write!(
                    svg,
                    "<g class=\"terminal\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{NODE_H}\" \
                     rx=\"20\" fill=\"#1e293b\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                     fill=\"#fff\" font-weight=\"600\">{}</text></g>",
                    x + w / 2.0,
                    y + NODE_H / 2.0 + 4.5,
                    node.label
                );
            }
            kind => {
                let shape = match kind {
                    NodeKind::Event => format!(
                        "<path class=\"shape\" d=\"M{:.1},{y:.1} H{:.1} L{:.1},{:.1} L{:.1},{:.1} H{:.1} L{x:.1},{:.1} z\" \
                         fill=\"#f8fafc\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>",
                        x + 12.0,
                        x + w - 12.0,
                        x + w,
                        y + NODE_H / 2.0,
                        x + w - 12.0,
                        y + NODE_H,
                        x + 12.0,
                        y + NODE_H / 2.0
                    ),
                    NodeKind::Chain => format!(
                        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{NODE_H}\" rx=\"8\" fill=\"none\" \
                         stroke=\"#94a3b8\" stroke-width=\"1\"/><rect class=\"shape\" x=\"{x:.1}\" y=\"{y:.1}\" \
                         width=\"{w:.1}\" height=\"{NODE_H}\" rx=\"8\" fill=\"#f8fafc\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>",
                        x + 4.0,
                        y + 4.0
                    ),
                    _ => format!(
                        "<rect class=\"shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{NODE_H}\" rx=\"8\" \
                         fill=\"#f8fafc\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>"
                    ),
                };
                let _ = write!(
                    svg,
                    "<g class=\"step\" data-step=\"{}\" data-index=\"{i}\">{shape}<text class=\"name\" x=\"{:.1}\" \
                     y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"600\" fill=\"#0f172a\">{}</text><text \
                     class=\"sub\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" \
                     fill=\"#64748b\">{}</text></g>",
                    esc(&node.label),
                    x + w / 2.0,
                    y + 17.0,
                    esc(&node.label),
                    x + w / 2.0,
                    y + 31.0,
                    esc(&node.sub)
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Condition, EndAction, Rule, Step, StepAttributes};
    use crate::lang::ast::StateTest;

    fn chain() -> Catalog {
        let step = |n: &str, kind| Step {
            name: n.into(),
            kind,
            attrs: StepAttributes::default(),
        };
        let ok = |s| Condition::StepState {
            step: s,
            negated: false,
            test: StateTest::Succeeded,
        };
        let rule = |name: &str, cond, action| Rule {
            name: name.into(),
            position: 1,
            condition: cond,
            action,
            comment: None,
            condition_text: String::new(),
            action_text: String::new(),
        };
        let c = Chain {
            name: "C<1>".into(),
            comment: None,
            evaluation_interval: None,
            steps: vec![
                step("A", StepTarget::Program("P".into())),
                step(
                    "B",
                    StepTarget::Event {
                        name: "E".into(),
                        condition: None,
                        condition_text: None,
                    },
                ),
                step("J", StepTarget::Chain("N".into())),
            ],
            rules: vec![
                rule(
                    "R1",
                    Condition::Const(true),
                    RuleAction::Start {
                        after: None,
                        steps: vec![0, 1],
                    },
                ),
                rule(
                    "R2",
                    Condition::And(Box::new(ok(0)), Box::new(ok(1))),
                    RuleAction::Start {
                        after: None,
                        steps: vec![2],
                    },
                ),
                rule("R3", ok(2), RuleAction::End(EndAction::Code(0))),
                rule("R4", ok(2), RuleAction::Stop { steps: vec![0] }),
            ],
            source: "x:1".into(),
        };
        let mut cat = Catalog::default();
        cat.chains.insert(c.name.clone(), c);
        cat
    }

    fn x_of(svg: &str, step: &str) -> f64 {
        let at = svg.find(&format!("data-step=\"{step}\"")).unwrap();
        let rest = &svg[at..];
        let xs = rest.find(" x=\"").unwrap() + 4;
        rest[xs..xs + rest[xs..].find('"').unwrap()]
            .parse()
            .unwrap()
    }

    #[test]
    fn a_join_sits_right_of_what_it_joins_and_names_are_escaped() {
        let svg = chain_svg(&chain(), "C<1>").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("data-chain=\"C&lt;1&gt;\""));
        assert!(x_of(&svg, "J") > x_of(&svg, "A"));
        assert!(x_of(&svg, "J") > x_of(&svg, "B"));
        assert_eq!(svg.matches("class=\"step\"").count(), 3);
        // R2 joins A and B: two edges labelled R2; one dashed STOP edge.
        assert_eq!(svg.matches(">R2</text>").count(), 2);
        assert_eq!(svg.matches("class=\"edge stop\"").count(), 1);
        assert!(svg.contains(">END</text>"));
        assert!(chain_svg(&chain(), "NOPE").is_none());
    }
}
