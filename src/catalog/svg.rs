//! Drawing a chain as a standalone SVG, with no external tool (no Graphviz needed).
//!
//! Why our own layout: the HTTP dashboard and `graph --format svg` must work on a bare server.
//! The layout is a plain layered one, good enough for chains as people write them:
//! * every cluster (the chain, and each nested chain) is laid out on its own as a block, and a
//!   nested block is one item of the enclosing layout, so clusters never overlap;
//! * within a block, items get the longest-path layer from the entry node, ignoring the edges
//!   that close a loop; each layer is a row, items in discovery order, rows centred;
//! * edges go from the bottom of one node to the top of another, edges going up or sideways
//!   are curves, a self-loop is a small arc; each edge carries its rule name, and hovering it
//!   shows the condition and action (`<title>`).

use super::graph::EdgeKind;
use super::model::Catalog;
use super::render::{scene, Cluster, NodeStyle, RenderError, SceneEdge};
use std::collections::HashMap;
use std::fmt::Write as _;

const FONT: f64 = 12.0;
const CHAR_W: f64 = 7.0;
const LINE_H: f64 = 16.0;
const PAD: f64 = 14.0;
const H_GAP: f64 = 36.0;
const V_GAP: f64 = 56.0;
const CLUSTER_LABEL_H: f64 = 20.0;

#[derive(Debug, Clone)]
struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Placed {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// A laid-out cluster: its size, and where its nodes and sub-clusters are, relative to it.
#[derive(Debug, Default)]
struct Block {
    w: f64,
    h: f64,
    nodes: Vec<(String, Placed)>,
    clusters: Vec<(String, Placed)>,
}

fn node_size(label: &[String], style: NodeStyle) -> (f64, f64) {
    let longest = label.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    match style {
        NodeStyle::Start | NodeStyle::End if label.len() == 1 && longest <= 5.0 => (44.0, 44.0),
        NodeStyle::Event => (
            longest * CHAR_W + 2.0 * PAD + 24.0,
            label.len() as f64 * LINE_H + 2.0 * PAD - 8.0,
        ),
        _ => (
            longest * CHAR_W + 2.0 * PAD,
            label.len() as f64 * LINE_H + 2.0 * PAD - 8.0,
        ),
    }
}

/// Which item of `cluster` contains node `id`: a direct node, or a child cluster holding it.
fn item_of(cluster: &Cluster, id: &str) -> Option<usize> {
    if let Some(i) = cluster.nodes.iter().position(|n| n.id == id) {
        return Some(i);
    }
    cluster
        .children
        .iter()
        .position(|c| contains(c, id))
        .map(|i| cluster.nodes.len() + i)
}

fn contains(cluster: &Cluster, id: &str) -> bool {
    cluster.nodes.iter().any(|n| n.id == id) || cluster.children.iter().any(|c| contains(c, id))
}

/// Longest-path layers from item 0, ignoring loop-closing edges (found by depth-first search).
fn layers(n: usize, edges: &[(usize, usize)]) -> (Vec<usize>, Vec<usize>) {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (a, b) in edges {
        if a != b && !succ[*a].contains(b) {
            succ[*a].push(*b);
        }
    }
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut mark = vec![0u8; n];
    let mut post = Vec::with_capacity(n);
    let mut discovery = Vec::with_capacity(n);
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n];
    for root in 0..n {
        if mark[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        mark[root] = 1;
        discovery.push(root);
        while let Some((v, i)) = stack.pop() {
            if let Some(&w) = succ[v].get(i) {
                stack.push((v, i + 1));
                match mark[w] {
                    0 => {
                        forward[v].push(w);
                        mark[w] = 1;
                        discovery.push(w);
                        stack.push((w, 0));
                    }
                    2 => forward[v].push(w),
                    _ => {} // closes a loop
                }
            } else {
                mark[v] = 2;
                post.push(v);
            }
        }
    }
    let mut layer = vec![0usize; n];
    for &v in post.iter().rev() {
        for &w in &forward[v] {
            layer[w] = layer[w].max(layer[v] + 1);
        }
    }
    (layer, discovery)
}

fn layout(cluster: &Cluster, edges: &[SceneEdge], is_root: bool) -> Block {
    let n_items = cluster.nodes.len() + cluster.children.len();
    let child_blocks: Vec<Block> = cluster
        .children
        .iter()
        .map(|c| layout(c, edges, false))
        .collect();
    let sizes: Vec<(f64, f64)> = cluster
        .nodes
        .iter()
        .map(|n| node_size(&n.label, n.style))
        .chain(child_blocks.iter().map(|b| (b.w, b.h)))
        .collect();
    let local: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|e| Some((item_of(cluster, &e.from)?, item_of(cluster, &e.to)?)))
        .collect();
    let (layer, discovery) = layers(n_items, &local);
    let rows = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut row_items: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for &i in &discovery {
        row_items[layer[i]].push(i);
    }
    let row_w: Vec<f64> = row_items
        .iter()
        .map(|r| {
            r.iter().map(|i| sizes[*i].0).sum::<f64>() + H_GAP * r.len().saturating_sub(1) as f64
        })
        .collect();
    let inner_w = row_w.iter().copied().fold(0.0, f64::max);
    let top = if is_root { PAD } else { PAD + CLUSTER_LABEL_H };
    let mut block = Block {
        w: inner_w + 2.0 * PAD,
        ..Block::default()
    };
    let mut y = top;
    for (r, items) in row_items.iter().enumerate() {
        let row_h = items.iter().map(|i| sizes[*i].1).fold(0.0, f64::max);
        let mut x = PAD + (inner_w - row_w[r]) / 2.0;
        for &i in items {
            let (w, h) = sizes[i];
            let y_item = y + (row_h - h) / 2.0;
            if i < cluster.nodes.len() {
                block
                    .nodes
                    .push((cluster.nodes[i].id.clone(), Placed { x, y: y_item, w, h }));
            } else {
                let c = i - cluster.nodes.len();
                let child = &child_blocks[c];
                block.clusters.push((
                    cluster.children[c].label.clone(),
                    Placed { x, y: y_item, w, h },
                ));
                for (id, p) in &child.nodes {
                    block.nodes.push((
                        id.clone(),
                        Placed {
                            x: x + p.x,
                            y: y_item + p.y,
                            ..p.clone()
                        },
                    ));
                }
                for (label, p) in &child.clusters {
                    block.clusters.push((
                        label.clone(),
                        Placed {
                            x: x + p.x,
                            y: y_item + p.y,
                            ..p.clone()
                        },
                    ));
                }
            }
            x += w + H_GAP;
        }
        y += row_h + V_GAP;
    }
    block.h = if rows == 0 {
        top + PAD
    } else {
        y - V_GAP + PAD
    };
    block
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn colours(style: NodeStyle) -> (&'static str, &'static str) {
    match style {
        NodeStyle::Program => ("#dbeafe", "#1d4ed8"),
        NodeStyle::Chain => ("#fef3c7", "#b45309"),
        NodeStyle::Event => ("#dcfce7", "#15803d"),
        NodeStyle::Start | NodeStyle::End => ("#e5e7eb", "#6b7280"),
    }
}

fn shape(out: &mut String, p: &Placed, style: NodeStyle) {
    let (fill, stroke) = colours(style);
    let (x, y, w, h) = (p.x, p.y, p.w, p.h);
    let _ = match style {
        NodeStyle::Program => writeln!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="8" fill="{fill}" stroke="{stroke}"/>"#
        ),
        NodeStyle::Chain => writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="{stroke}"/><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="{stroke}"/>"#,
            x + 4.0,
            y - 4.0
        ),
        NodeStyle::Event => {
            let d = 12.0;
            writeln!(
                out,
                r#"<polygon points="{:.1},{:.1} {:.1},{y:.1} {:.1},{y:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{fill}" stroke="{stroke}"/>"#,
                x,
                y + h / 2.0,
                x + d,
                x + w - d,
                x + w,
                y + h / 2.0,
                x + w - d,
                y + h,
                x + d,
                y + h
            )
        }
        NodeStyle::Start | NodeStyle::End => {
            let r = (w.min(h)) / 2.0;
            let (cx, cy) = (x + w / 2.0, y + h / 2.0);
            if style == NodeStyle::End && w <= 44.0 {
                writeln!(
                    out,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="{stroke}"/><circle cx="{cx:.1}" cy="{cy:.1}" r="{:.1}" fill="none" stroke="{stroke}"/>"#,
                    r - 4.0
                )
            } else if w <= 44.0 {
                writeln!(
                    out,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="{stroke}"/>"#
                )
            } else {
                writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="{:.1}" fill="{fill}" stroke="{stroke}"/>"#,
                    h / 2.0
                )
            }
        }
    };
}

/// Vertical lanes beside the nodes, for edges that would cross other nodes.
#[derive(Debug, Default)]
struct Lanes {
    left: usize,
    right: usize,
    min_x: f64,
    max_x: f64,
}

/// Does the straight segment from (x0, y0) to (x1, y1) cross node `p` (inflated a little)?
fn crosses(p: &Placed, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
    let steps = ((y1 - y0).abs().max((x1 - x0).abs()) / 6.0).ceil().max(1.0) as usize;
    (1..steps).any(|i| {
        let t = i as f64 / steps as f64;
        let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        x > p.x - 4.0 && x < p.x + p.w + 4.0 && y > p.y - 4.0 && y < p.y + p.h + 4.0
    })
}

/// The path of an edge from `a` to `b` and where its label goes.
fn route(
    a: &Placed,
    b: &Placed,
    self_loop: bool,
    nodes: &[(String, Placed)],
    lanes: &mut Lanes,
) -> (String, f64, f64) {
    if self_loop {
        let (x0, y0) = (a.x + a.w, a.y + a.h / 2.0);
        lanes.max_x = lanes.max_x.max(x0 + 70.0);
        return (
            format!(
                "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                x0,
                y0 - 8.0,
                x0 + 40.0,
                y0 - 30.0,
                x0 + 40.0,
                y0 + 30.0,
                x0,
                y0 + 8.0
            ),
            x0 + 44.0,
            y0,
        );
    }
    let same = |p: &Placed, q: &Placed| (p.x - q.x).abs() < 0.01 && (p.y - q.y).abs() < 0.01;
    let others = || {
        nodes
            .iter()
            .map(|(_, p)| p)
            .filter(|p| !same(p, a) && !same(p, b))
    };
    if b.y > a.bottom() - 1.0 {
        let (x0, y0, x1, y1) = (a.cx(), a.bottom(), b.cx(), b.y);
        if !others().any(|p| crosses(p, x0, y0, x1, y1)) {
            return (
                format!("M{x0:.1},{y0:.1} L{x1:.1},{y1:.1}"),
                x0 + (x1 - x0) * 0.6 + 4.0,
                y0 + (y1 - y0) * 0.6,
            );
        }
        // Go round everything between the two rows, on the nearer side.
        let between: Vec<&Placed> = others().filter(|p| p.bottom() > y0 && p.y < y1).collect();
        let max_right = between.iter().map(|p| p.x + p.w).fold(x0.max(x1), f64::max);
        let min_left = between.iter().map(|p| p.x).fold(x0.min(x1), f64::min);
        let lane = if max_right - x0.max(x1) <= x0.min(x1) - min_left {
            lanes.right += 1;
            let x = max_right + 16.0 + 10.0 * lanes.right as f64;
            lanes.max_x = lanes.max_x.max(x);
            x
        } else {
            lanes.left += 1;
            let x = min_left - 16.0 - 10.0 * lanes.left as f64;
            lanes.min_x = lanes.min_x.min(x);
            x
        };
        let path = format!(
            "M{x0:.1},{y0:.1} C{x0:.1},{:.1} {lane:.1},{:.1} {lane:.1},{:.1} L{lane:.1},{:.1} C{lane:.1},{:.1} {x1:.1},{:.1} {x1:.1},{y1:.1}",
            y0 + 24.0,
            y0 + 8.0,
            y0 + 36.0,
            y1 - 36.0,
            y1 - 8.0,
            y1 - 24.0
        );
        // Stagger the labels of neighbouring lanes so they do not print over each other.
        let stagger = ((lanes.left + lanes.right) % 3) as f64 * 14.0 - 14.0;
        return (path, lane + 4.0, (y0 + y1) / 2.0 + stagger);
    }
    // Upwards or sideways: leave by the right side, curve, enter by the right side.
    let (x0, y0) = (a.x + a.w, a.y + a.h / 2.0);
    let (x1, y1) = (b.x + b.w, b.y + b.h / 2.0);
    let bend = x0.max(x1) + 50.0;
    lanes.max_x = lanes.max_x.max(bend);
    (
        format!("M{x0:.1},{y0:.1} C{bend:.1},{y0:.1} {bend:.1},{y1:.1} {x1:.1},{y1:.1}"),
        bend - 10.0,
        (y0 + y1) / 2.0,
    )
}

/// The chain as a standalone SVG document.
pub fn render_svg(catalog: &Catalog, chain: &str) -> Result<String, RenderError> {
    let s = scene(catalog, chain)?;
    let block = layout(&s.root, &s.edges, true);
    let placed: HashMap<&str, &Placed> =
        block.nodes.iter().map(|(id, p)| (id.as_str(), p)).collect();
    let styles: HashMap<&str, (NodeStyle, &[String])> = {
        let mut m = HashMap::new();
        let mut stack = vec![&s.root];
        while let Some(c) = stack.pop() {
            for n in &c.nodes {
                m.insert(n.id.as_str(), (n.style, n.label.as_slice()));
            }
            stack.extend(c.children.iter());
        }
        m
    };
    let title_h = 28.0;
    // Routed edges may run beside the block: pre-compute the lanes to size the canvas.
    let mut probe = Lanes::default();
    let mut right = block.w;
    let mut left: f64 = 0.0;
    for e in &s.edges {
        if let (Some(a), Some(b)) = (placed.get(e.from.as_str()), placed.get(e.to.as_str())) {
            route(a, b, e.from == e.to, &block.nodes, &mut probe);
        }
    }
    right = right.max(probe.max_x + 20.0);
    left = left.min(probe.min_x - 20.0);
    let shift = -left;
    let (w, h) = (right + shift + 40.0, block.h + title_h);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT}">"#
    );
    let _ = writeln!(out, "<title>chain {}</title>", xml(&s.title));
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/></marker><marker id="arrow-stop" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#dc2626"/></marker></defs>"##);
    out.push('\n');
    let _ = writeln!(
        out,
        r#"<text x="{PAD}" y="20" font-size="14" font-weight="bold">chain {}</text>"#,
        xml(&s.title)
    );
    let _ = writeln!(out, r#"<g transform="translate({shift:.1},{title_h})">"#);
    for (label, p) in &block.clusters {
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="10" fill="none" stroke="#b45309" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" fill="#b45309">{}</text>"##,
            p.x,
            p.y,
            p.w,
            p.h,
            p.x + 10.0,
            p.y + 15.0,
            xml(label)
        );
    }
    // Edges under the nodes.
    let mut lanes = Lanes::default();
    let mut edge_svg = String::new();
    for e in &s.edges {
        let (Some(a), Some(b)) = (placed.get(e.from.as_str()), placed.get(e.to.as_str())) else {
            continue;
        };
        let (colour, dash, marker) = match e.kind {
            EdgeKind::Stop => ("#dc2626", r#" stroke-dasharray="5 4""#, "arrow-stop"),
            _ => ("#4b5563", "", "arrow"),
        };
        let (path, lx, ly) = route(a, b, e.from == e.to, &block.nodes, &mut lanes);
        let name = e
            .label
            .first()
            .and_then(|l| l.split(": ").next())
            .unwrap_or("");
        let _ = writeln!(
            edge_svg,
            r#"<g><title>{}</title><path d="{path}" fill="none" stroke="{colour}"{dash} marker-end="url(#{marker})"/><text x="{lx:.1}" y="{ly:.1}" font-size="10" fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">{}</text></g>"#,
            xml(&e.label.join("\n")),
            xml(name)
        );
    }
    out.push_str(&edge_svg);
    for (id, p) in &block.nodes {
        let Some((style, label)) = styles.get(id.as_str()) else {
            continue;
        };
        let _ = writeln!(out, "<g><title>{}</title>", xml(id));
        shape(&mut out, p, *style);
        let first_y = p.y + p.h / 2.0 - (label.len() as f64 - 1.0) * LINE_H / 2.0 + FONT / 3.0;
        for (i, line) in label.iter().enumerate() {
            let weight = if i == 0 { r#" font-weight="bold""# } else { "" };
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle"{weight}>{}</text>"#,
                p.cx(),
                first_y + i as f64 * LINE_H,
                xml(line)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n</svg>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_edges_and_ignore_loops() {
        // 0 -> 1 -> 2 -> 1 (loop), 0 -> 2
        let (layer, discovery) = layers(3, &[(0, 1), (1, 2), (2, 1), (0, 2)]);
        assert_eq!(layer, vec![0, 1, 2]);
        assert_eq!(discovery, vec![0, 1, 2]);
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            xml("a<b & 'c' \"d\">"),
            "a&lt;b &amp; &#39;c&#39; &quot;d&quot;&gt;"
        );
    }
}
