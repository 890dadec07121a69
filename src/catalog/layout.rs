//! The layered layout of a chain's scene, left to right: the geometry behind every SVG drawing
//! of a chain (`graph --format svg` and the dashboard's `graph.svg`).
//!
//! Why our own (a small Sugiyama-style layout) rather than Graphviz or a browser library: the
//! service and the CLI must draw on a bare host and the dashboard must work offline. The steps:
//! * **blocks**: every cluster (the chain, each nested chain) is laid out on its own and is one
//!   item of the enclosing layout, so clusters never overlap (a collapsed nested chain is just
//!   its step);
//! * **layers**: longest path from the entry over the edges that do not close a loop; each layer
//!   is a column;
//! * **dummies**: an edge that skips columns gets a slot in every column it crosses, so it runs
//!   between the nodes instead of through them, and its label has room there;
//! * **order**: a few barycentre sweeps (each slot moves to the mean position of its
//!   neighbours in the previous, then the next column) to cut crossings;
//! * **labels**: each rule's name is put on one of its edges at the first free place along the
//!   edge (tried from the target end back, then shifted up and down), free meaning it overlaps
//!   no node and no label already placed. Conditions are not written on edges (they are in
//!   each edge's tooltip), so labels stay short.

use super::render::{Cluster, NodeStyle, Scene, SceneEdge};
use std::collections::{HashMap, HashSet};

pub(super) const FONT: f64 = 12.0;
const CHAR_W: f64 = 7.0;
pub(super) const LINE_H: f64 = 16.0;
const PAD: f64 = 14.0;
/// Vertical space between the slots of a column.
const V_GAP: f64 = 22.0;
const CLUSTER_LABEL_H: f64 = 22.0;
/// Height of the slot an edge crossing a column takes.
const DUMMY_H: f64 = 18.0;
/// Edge labels: font size 10, width estimated generously (upper-case names).
pub(super) const LABEL_FONT: f64 = 10.0;
const LABEL_CHAR_W: f64 = 7.2;
pub(super) const LABEL_H: f64 = 14.0;
/// Longest label drawn in full (in characters); longer names are cut with `…`.
const LABEL_MAX_CHARS: usize = 24;

#[derive(Debug, Clone, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
    pub fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
    pub fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    /// Do the two rectangles, each grown by `margin`, overlap?
    pub fn hits(&self, o: &Rect, margin: f64) -> bool {
        self.x - margin < o.right() + margin
            && o.x - margin < self.right() + margin
            && self.y - margin < o.bottom() + margin
            && o.y - margin < self.bottom() + margin
    }
}

/// An edge drawn: its path and the label placed on it (if this edge carries the rule's name).
#[derive(Debug, Clone)]
pub struct RoutedEdge {
    /// Index into the scene's edges.
    pub edge: usize,
    /// SVG path data.
    pub path: String,
    pub label: Option<(String, Rect)>,
}

/// The chain laid out: absolute positions, the canvas size.
#[derive(Debug, Default)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<(String, Rect)>,
    /// (cluster id, label, outer step id, box).
    pub clusters: Vec<(String, String, String, Rect)>,
    pub edges: Vec<RoutedEdge>,
}

/// Remove the nested chains whose outer step (a job subname such as `FUND`) is in `collapsed`:
/// the step stays, its nested steps and their edges go.
pub(super) fn collapse(scene: &mut Scene, collapsed: &HashSet<String>) {
    if collapsed.is_empty() {
        return;
    }
    let mut gone: HashSet<String> = HashSet::new();
    fn walk(c: &mut Cluster, collapsed: &HashSet<String>, gone: &mut HashSet<String>) {
        let mut keep = Vec::new();
        for mut child in std::mem::take(&mut c.children) {
            let outer = child
                .nodes
                .first()
                .map(|n| n.id.clone())
                .unwrap_or_default();
            if collapsed.contains(&outer) || collapsed.contains("*") {
                let mut all = Vec::new();
                gather(&child, &mut all);
                let mut nodes = std::mem::take(&mut child.nodes);
                if !nodes.is_empty() {
                    c.nodes.push(nodes.remove(0));
                }
                gone.extend(all.into_iter().filter(|id| *id != outer));
            } else {
                walk(&mut child, collapsed, gone);
                keep.push(child);
            }
        }
        c.children = keep;
    }
    fn gather(c: &Cluster, out: &mut Vec<String>) {
        out.extend(c.nodes.iter().map(|n| n.id.clone()));
        c.children.iter().for_each(|k| gather(k, out));
    }
    walk(&mut scene.root, collapsed, &mut gone);
    scene
        .edges
        .retain(|e| !gone.contains(&e.from) && !gone.contains(&e.to));
}

pub(super) fn node_size(label: &[String], style: NodeStyle) -> (f64, f64) {
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

/// The rule name an edge shows (`R2` of `R2: A SUCCEEDED`), cut to a readable length.
pub(super) fn rule_name(e: &SceneEdge) -> String {
    let name = e
        .label
        .first()
        .and_then(|l| l.split(": ").next())
        .unwrap_or("");
    if name.chars().count() > LABEL_MAX_CHARS {
        let mut cut: String = name.chars().take(LABEL_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        name.to_string()
    }
}

fn label_w(text: &str) -> f64 {
    text.chars().count() as f64 * LABEL_CHAR_W + 6.0
}

/// Longest-path layers from the entry, ignoring loop-closing edges (depth-first search); and
/// the order in which items were discovered.
pub(super) fn layers(n: usize, edges: &[(usize, usize)]) -> (Vec<usize>, Vec<usize>) {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (a, b) in edges {
        if a != b && *a < n && *b < n && !succ[*a].contains(b) {
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

/// The points a long edge passes through, by the (from, to) node ids of its scene edges.
type Lane = ((String, String), Vec<(f64, f64)>);

/// A cluster laid out on its own: size, and where things are relative to its corner.
#[derive(Debug, Default)]
struct Block {
    w: f64,
    h: f64,
    nodes: Vec<(String, Rect)>,
    clusters: Vec<(String, String, String, Rect)>,
    /// Pass-through points of long edges: (from item node id, to item node id) → points.
    lanes: Vec<Lane>,
}

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

/// A slot of a column: an item (node or child block) or an edge passing through.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Item(usize),
    /// Index into the block's long edges.
    Pass(usize),
}

fn layout_block(cluster: &Cluster, edges: &[SceneEdge], gap: f64, is_root: bool) -> Block {
    let n_nodes = cluster.nodes.len();
    let n_items = n_nodes + cluster.children.len();
    let child_blocks: Vec<Block> = cluster
        .children
        .iter()
        .map(|c| layout_block(c, edges, gap, false))
        .collect();
    let sizes: Vec<(f64, f64)> = cluster
        .nodes
        .iter()
        .map(|n| node_size(&n.label, n.style))
        .chain(child_blocks.iter().map(|b| (b.w, b.h)))
        .collect();
    // Item-level edges of this block (both ends inside it, in different items), with the
    // scene edges each stands for.
    let mut local: Vec<(usize, usize)> = Vec::new();
    let mut local_edges: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (k, e) in edges.iter().enumerate() {
        if let (Some(a), Some(b)) = (item_of(cluster, &e.from), item_of(cluster, &e.to)) {
            if a != b {
                local.push((a, b));
                local_edges.entry((a, b)).or_default().push(k);
            }
        }
    }
    let (layer, discovery) = layers(n_items, &local);
    let columns = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut cols: Vec<Vec<Slot>> = vec![Vec::new(); columns];
    for &i in &discovery {
        cols[layer[i]].push(Slot::Item(i));
    }
    // Long forward edges: a pass-through slot in every column between their ends.
    let mut long: Vec<(usize, usize)> = local
        .iter()
        .copied()
        .filter(|(a, b)| layer[*b] > layer[*a] + 1)
        .collect();
    long.sort_unstable();
    long.dedup();
    for (k, (a, b)) in long.iter().enumerate() {
        for col in cols.iter_mut().take(layer[*b]).skip(layer[*a] + 1) {
            col.push(Slot::Pass(k));
        }
    }
    // Neighbours of each slot in the previous and next columns.
    let key = |s: &Slot| match s {
        Slot::Item(i) => (0usize, *i),
        Slot::Pass(k) => (1usize, *k),
    };
    let mut prev: HashMap<(usize, usize), Vec<Slot>> = HashMap::new();
    let mut next: HashMap<(usize, usize), Vec<Slot>> = HashMap::new();
    let mut link = |a: Slot, b: Slot| {
        next.entry(key(&a)).or_default().push(b);
        prev.entry(key(&b)).or_default().push(a);
    };
    for &(a, b) in &local {
        if layer[b] == layer[a] + 1 {
            link(Slot::Item(a), Slot::Item(b));
        }
    }
    for (k, (a, b)) in long.iter().enumerate() {
        let mut from = Slot::Item(*a);
        for _ in (layer[*a] + 1)..layer[*b] {
            link(from, Slot::Pass(k));
            from = Slot::Pass(k);
        }
        link(from, Slot::Item(*b));
    }
    // Barycentre sweeps. Pass slots of one edge are the same key in every column, so the
    // position lookup is per column.
    for sweep in 0..8 {
        let down = sweep % 2 == 0;
        let order: Vec<usize> = if down {
            (1..columns).collect()
        } else {
            (0..columns.saturating_sub(1)).rev().collect()
        };
        for c in order {
            let other = if down { c - 1 } else { c + 1 };
            let pos: HashMap<(usize, usize), f64> = cols[other]
                .iter()
                .enumerate()
                .map(|(i, s)| (key(s), i as f64))
                .collect();
            let neigh = if down { &prev } else { &next };
            let mut scored: Vec<(f64, usize, Slot)> = cols[c]
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let ps: Vec<f64> = neigh
                        .get(&key(s))
                        .into_iter()
                        .flatten()
                        .filter_map(|n| pos.get(&key(n)).copied())
                        .collect();
                    let bary = if ps.is_empty() {
                        i as f64
                    } else {
                        ps.iter().sum::<f64>() / ps.len() as f64
                    };
                    (bary, i, *s)
                })
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            cols[c] = scored.into_iter().map(|(_, _, s)| s).collect();
        }
    }
    // Coordinates: columns left to right, slots top to bottom, each column centred.
    let slot_size = |s: &Slot| match s {
        Slot::Item(i) => sizes[*i],
        Slot::Pass(_) => (0.0, DUMMY_H),
    };
    let col_w: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().map(|s| slot_size(s).0).fold(0.0, f64::max))
        .collect();
    let col_h: Vec<f64> = cols
        .iter()
        .map(|c| {
            c.iter().map(|s| slot_size(s).1).sum::<f64>() + V_GAP * c.len().saturating_sub(1) as f64
        })
        .collect();
    let inner_h = col_h.iter().copied().fold(0.0, f64::max);
    let top = if is_root { PAD } else { PAD + CLUSTER_LABEL_H };
    let mut block = Block {
        h: inner_h + top + PAD,
        ..Block::default()
    };
    let mut pass_points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); long.len()];
    let mut x = PAD;
    for (c, slots) in cols.iter().enumerate() {
        let mut y = top + (inner_h - col_h[c]) / 2.0;
        for s in slots {
            let (w, h) = slot_size(s);
            match *s {
                Slot::Pass(k) => {
                    let cy = y + h / 2.0;
                    pass_points[k].push((x, cy));
                    pass_points[k].push((x + col_w[c], cy));
                }
                Slot::Item(i) => {
                    let ix = x + (col_w[c] - w) / 2.0;
                    let r = Rect { x: ix, y, w, h };
                    if i < n_nodes {
                        block.nodes.push((cluster.nodes[i].id.clone(), r));
                    } else {
                        let ci = i - n_nodes;
                        let child = &child_blocks[ci];
                        let outer = cluster.children[ci]
                            .nodes
                            .first()
                            .map(|n| n.id.clone())
                            .unwrap_or_default();
                        block.clusters.push((
                            cluster.children[ci].id.clone(),
                            cluster.children[ci].label.clone(),
                            outer,
                            r.clone(),
                        ));
                        let shift = |p: &Rect| Rect {
                            x: p.x + ix,
                            y: p.y + y,
                            ..p.clone()
                        };
                        for (id, p) in &child.nodes {
                            block.nodes.push((id.clone(), shift(p)));
                        }
                        for (id, label, outer, p) in &child.clusters {
                            block.clusters.push((
                                id.clone(),
                                label.clone(),
                                outer.clone(),
                                shift(p),
                            ));
                        }
                        for (pair, pts) in &child.lanes {
                            block.lanes.push((
                                pair.clone(),
                                pts.iter().map(|(px, py)| (px + ix, py + y)).collect(),
                            ));
                        }
                    }
                }
            }
            y += h + V_GAP;
        }
        x += col_w[c] + gap;
    }
    block.w = (x - gap + PAD).max(2.0 * PAD);
    // Record the pass-through points under the scene edges they stand for.
    for (k, pair) in long.iter().enumerate() {
        for &e in local_edges.get(pair).into_iter().flatten() {
            block.lanes.push((
                (edges[e].from.clone(), edges[e].to.clone()),
                pass_points[k].clone(),
            ));
        }
    }
    block
}

/// Cubic segments with horizontal tangents through `pts`; also a polyline of the curve for
/// label placement.
fn smooth(pts: &[(f64, f64)]) -> (String, Vec<(f64, f64)>) {
    let mut d = String::new();
    let mut poly = Vec::new();
    let Some(&(x0, y0)) = pts.first() else {
        return (d, poly);
    };
    d.push_str(&format!("M{x0:.1},{y0:.1}"));
    poly.push((x0, y0));
    for w in pts.windows(2) {
        let ((ax, ay), (bx, by)) = (w[0], w[1]);
        if (ay - by).abs() < 0.01 {
            d.push_str(&format!(" L{bx:.1},{by:.1}"));
            poly.push((bx, by));
            continue;
        }
        let dx = ((bx - ax) / 2.0).abs().max(20.0);
        let (c1, c2) = ((ax + dx, ay), (bx - dx, by));
        d.push_str(&format!(
            " C{:.1},{:.1} {:.1},{:.1} {bx:.1},{by:.1}",
            c1.0, c1.1, c2.0, c2.1
        ));
        for i in 1..=12 {
            let t = i as f64 / 12.0;
            let u = 1.0 - t;
            let px =
                u * u * u * ax + 3.0 * u * u * t * c1.0 + 3.0 * u * t * t * c2.0 + t * t * t * bx;
            let py =
                u * u * u * ay + 3.0 * u * u * t * c1.1 + 3.0 * u * t * t * c2.1 + t * t * t * by;
            poly.push((px, py));
        }
    }
    (d, poly)
}

/// The point at fraction `f` of a polyline's length.
fn along(poly: &[(f64, f64)], f: f64) -> (f64, f64) {
    let len: f64 = poly
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
        .sum();
    let mut want = len * f;
    for w in poly.windows(2) {
        let seg = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
        if seg >= want && seg > 0.0 {
            let t = want / seg;
            return (
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            );
        }
        want -= seg;
    }
    poly.last().copied().unwrap_or((0.0, 0.0))
}

/// Lay out a scene.
pub(super) fn layout(scene: &Scene) -> Layout {
    let widest = scene
        .edges
        .iter()
        .map(|e| label_w(&rule_name(e)))
        .fold(0.0, f64::max);
    let gap = (widest + 36.0).clamp(64.0, 220.0);
    let block = layout_block(&scene.root, &scene.edges, gap, true);
    let placed: HashMap<&str, &Rect> = block.nodes.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let lanes: HashMap<(&str, &str), &Vec<(f64, f64)>> = block
        .lanes
        .iter()
        .map(|((a, b), p)| ((a.as_str(), b.as_str()), p))
        .collect();
    let node_boxes: Vec<&Rect> = block.nodes.iter().map(|(_, r)| r).collect();
    let mut fan_in: HashMap<&str, usize> = HashMap::new();
    let mut fan_out: HashMap<&str, usize> = HashMap::new();
    for e in &scene.edges {
        *fan_in.entry(e.to.as_str()).or_default() += 1;
        *fan_out.entry(e.from.as_str()).or_default() += 1;
    }
    let mut labels: Vec<Rect> = Vec::new();
    let mut labelled: HashSet<(String, String)> = HashSet::new();
    let mut routed = Vec::new();
    let mut extra_bottom: f64 = block.h;
    let mut extra_right: f64 = block.w;
    // A nested chain's step: edges to the outside leave from its frame, not through its steps.
    let frames: HashMap<&str, &Rect> = block
        .clusters
        .iter()
        .map(|(_, _, outer, r)| (outer.as_str(), r))
        .collect();
    for (k, e) in scene.edges.iter().enumerate() {
        let (Some(a), Some(b)) = (placed.get(e.from.as_str()), placed.get(e.to.as_str())) else {
            continue;
        };
        let inside =
            e.to.strip_prefix(e.from.as_str())
                .is_some_and(|rest| rest.starts_with('.'));
        let a = match frames.get(e.from.as_str()) {
            Some(frame) if !inside && e.from != e.to => frame,
            _ => a,
        };
        let (path, poly) = if e.from == e.to {
            // A self-loop: a small arc above the node's right end.
            let (x0, y0) = (a.right() - 10.0, a.y);
            let pts = vec![(x0, y0), (x0 + 30.0, y0 - 30.0), (a.right() + 10.0, a.cy())];
            extra_right = extra_right.max(a.right() + 40.0);
            (
                format!(
                    "M{x0:.1},{y0:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x0 + 10.0,
                    y0 - 40.0,
                    a.right() + 40.0,
                    a.cy() - 10.0,
                    a.right(),
                    a.cy()
                ),
                pts,
            )
        } else if b.x >= a.right() + 4.0 {
            let mut pts = vec![(a.right(), a.cy())];
            if let Some(lane) = lanes.get(&(e.from.as_str(), e.to.as_str())) {
                pts.extend(lane.iter().copied());
            }
            pts.push((b.x, b.cy()));
            smooth(&pts)
        } else {
            // Backwards (a STOP or a loop): under both nodes.
            let dip = a.bottom().max(b.bottom()) + 26.0;
            extra_bottom = extra_bottom.max(dip + LABEL_H + 8.0);
            let (sx, sy, tx, ty) = (a.cx(), a.bottom(), b.cx(), b.bottom());
            let path =
                format!("M{sx:.1},{sy:.1} C{sx:.1},{dip:.1} {tx:.1},{dip:.1} {tx:.1},{ty:.1}");
            let poly = (0..=16)
                .map(|i| {
                    let t = i as f64 / 16.0;
                    let u = 1.0 - t;
                    (
                        u * u * u * sx
                            + 3.0 * u * u * t * sx
                            + 3.0 * u * t * t * tx
                            + t * t * t * tx,
                        u * u * u * sy
                            + 3.0 * u * u * t * dip
                            + 3.0 * u * t * t * dip
                            + t * t * t * ty,
                    )
                })
                .collect();
            (path, poly)
        };
        // One label per rule and target.
        let name = rule_name(e);
        let rule_key = (
            e.label.first().cloned().unwrap_or_default() + "\u{0}" + &format!("{:?}", e.kind),
            e.to.clone(),
        );
        let label = if name.is_empty() || !labelled.insert(rule_key) {
            None
        } else {
            let w = label_w(&name);
            let free = |r: &Rect| {
                !node_boxes.iter().any(|n| n.hits(r, 2.0)) && !labels.iter().any(|l| l.hits(r, 1.0))
            };
            let at = |(px, py): (f64, f64), dy: f64| Rect {
                x: px - w / 2.0,
                y: py - LABEL_H - 1.0 + dy,
                w,
                h: LABEL_H,
            };
            // Where the edges spread out: at the target end of a fan-out, at the source end of
            // a fan-in (edges converge on a join).
            let fractions = if fan_in.get(e.to.as_str()) > fan_out.get(e.from.as_str()) {
                [0.22, 0.12, 0.32, 0.42, 0.5, 0.62, 0.78, 0.88, 0.28, 0.7]
            } else {
                [0.78, 0.62, 0.5, 0.35, 0.2, 0.88, 0.1, 0.7, 0.42, 0.28]
            };
            let mut spot = fractions
                .iter()
                .map(|f| at(along(&poly, *f), 0.0))
                .find(|r| free(r));
            if spot.is_none() {
                'search: for k in 1..=12 {
                    for f in fractions {
                        for sign in [1.0, -1.0] {
                            let r = at(along(&poly, f), sign * k as f64 * (LABEL_H + 2.0));
                            if r.y >= 0.0 && free(&r) {
                                spot = Some(r);
                                break 'search;
                            }
                        }
                    }
                }
            }
            // Last resort: below everything drawn so far (never on top of another label).
            let r = spot.unwrap_or_else(|| {
                let (px, _) = along(&poly, 0.5);
                let y = labels
                    .iter()
                    .map(|l| l.bottom())
                    .chain(node_boxes.iter().map(|n| n.bottom()))
                    .fold(0.0, f64::max)
                    + 4.0;
                Rect {
                    x: px - w / 2.0,
                    y,
                    w,
                    h: LABEL_H,
                }
            });
            extra_bottom = extra_bottom.max(r.bottom() + 4.0);
            extra_right = extra_right.max(r.right() + 4.0);
            labels.push(r.clone());
            Some((name, r))
        };
        routed.push(RoutedEdge {
            edge: k,
            path,
            label,
        });
    }
    Layout {
        width: extra_right.max(block.w),
        height: extra_bottom.max(block.h),
        nodes: block.nodes,
        clusters: block.clusters,
        edges: routed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::render::scene;

    fn catalog(text: &str) -> crate::catalog::Catalog {
        crate::catalog::load_sources(&[("t.chain".to_string(), text.to_string())])
            .catalog
            .expect("a valid catalog")
    }

    /// `n` parallel steps started by one rule each, joined by one END rule.
    pub(crate) fn fan_out(n: usize) -> String {
        let mut t = String::from("program P { builtin noop; }\nchain FAN {\n");
        for i in 0..n {
            t.push_str(&format!("  step S{i} program P;\n"));
        }
        for i in 0..n {
            t.push_str(&format!("  rule GO_{i} when TRUE then START S{i};\n"));
        }
        for i in 0..n {
            t.push_str(&format!("  rule DONE_{i} when S{i} COMPLETED then END;\n"));
        }
        t.push_str("}\n");
        t
    }

    #[test]
    fn layers_follow_edges_and_ignore_loops() {
        let (layer, discovery) = layers(3, &[(0, 1), (1, 2), (2, 1), (0, 2)]);
        assert_eq!(layer, vec![0, 1, 2]);
        assert_eq!(discovery, vec![0, 1, 2]);
    }

    #[test]
    fn a_wide_fan_out_has_no_overlapping_labels_or_nodes() {
        let cat = catalog(&fan_out(100));
        let s = scene(&cat, "FAN").expect("scene");
        let l = layout(&s);
        let labels: Vec<&Rect> = l
            .edges
            .iter()
            .filter_map(|e| e.label.as_ref().map(|x| &x.1))
            .collect();
        assert_eq!(labels.len(), 200, "every rule named once");
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!a.hits(b, 0.0), "labels overlap: {a:?} {b:?}");
            }
            for (id, n) in &l.nodes {
                assert!(!a.hits(n, 0.0), "label {a:?} over node {id}");
            }
            assert!(a.x >= 0.0 && a.right() <= l.width && a.bottom() <= l.height);
        }
        for (i, (_, a)) in l.nodes.iter().enumerate() {
            for (_, b) in &l.nodes[i + 1..] {
                assert!(!a.hits(b, 0.0), "nodes overlap");
            }
        }
    }

    #[test]
    fn a_long_edge_passes_between_the_nodes_and_nested_chains_collapse() {
        let cat = catalog(
            "program P { builtin noop; }\n\
             chain INNER { step I1 program P; rule when TRUE then START I1; rule when I1 COMPLETED then END; }\n\
             chain C { step A program P; step B program P; step C program P; step N chain INNER;\n\
               rule R1 when TRUE then START A, N;\n rule R2 when A SUCCEEDED then START B;\n\
               rule R3 when B SUCCEEDED then START C;\n rule R4 when A SUCCEEDED AND C SUCCEEDED AND N SUCCEEDED then END; }",
        );
        let s = scene(&cat, "C").expect("scene");
        let l = layout(&s);
        let at = |id: &str| {
            l.nodes
                .iter()
                .find(|(n, _)| n == id)
                .map(|(_, r)| r.clone())
                .expect(id)
        };
        assert!(at("A").right() < at("B").x && at("B").right() < at("C").x);
        assert!(l.nodes.iter().any(|(id, _)| id == "N.I1"));
        assert_eq!(l.clusters.len(), 1);
        // A → $END skips B and C's columns: its path runs through pass-through points.
        let a_end = l
            .edges
            .iter()
            .find(|e| s.edges[e.edge].from == "A" && s.edges[e.edge].to == "$END")
            .expect("A → END");
        assert!(a_end.path.matches('C').count() + a_end.path.matches('L').count() >= 3);
        let mut s2 = scene(&cat, "C").expect("scene");
        collapse(&mut s2, &HashSet::from(["N".to_string()]));
        let l2 = layout(&s2);
        assert!(l2.clusters.is_empty());
        assert!(l2.nodes.iter().any(|(id, _)| id == "N"));
        assert!(!l2.nodes.iter().any(|(id, _)| id.starts_with("N.")));
    }
}
