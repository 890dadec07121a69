//! Drawing a chain as a standalone SVG, with no external tool (no Graphviz needed): the
//! CLI's `graph --format svg` and the dashboard's `GET /api/v1/chains/{chain}/graph.svg` are
//! this one drawing, over the layered layout of [`super::layout`].
//!
//! What is drawn: steps shaped and coloured by kind, every nested chain as a dashed cluster
//! (or, when collapsed, as its step alone), one edge per (mentioned step → started or stopped
//! step) with the rule's name on it (STOP edges dashed red), and each edge's condition and
//! action in its tooltip (`<title>`). The markup carries what the dashboard needs to colour and
//! open it: `data-step` (the job subname of a step, `FUND.TRANSFER` inside a nested chain) on
//! each step's group, `class="shape"` on its outline, `text.sub` for its second line,
//! `data-nested` on a nested chain's step and cluster, `class="edge-label"` on rule names.

use super::graph::EdgeKind;
use super::layout::{collapse, layout, Rect, FONT, LABEL_FONT, LINE_H};
use super::model::Catalog;
use super::render::{scene, NodeStyle, RenderError};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

const PAD: f64 = 14.0;
const TITLE_H: f64 = 28.0;

/// How to draw.
#[derive(Debug, Clone, Default)]
pub struct SvgOptions {
    /// Nested chains drawn as their step alone, by the step's job subname (`FUND`); `*`: all.
    pub collapsed: HashSet<String>,
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

fn shape(out: &mut String, p: &Rect, style: NodeStyle) {
    let (fill, stroke) = colours(style);
    let (x, y, w, h) = (p.x, p.y, p.w, p.h);
    let _ = match style {
        NodeStyle::Program => writeln!(
            out,
            r#"<rect class="shape" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="8" fill="{fill}" stroke="{stroke}"/>"#
        ),
        NodeStyle::Chain => writeln!(
            out,
            r#"<rect class="shape" x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="{stroke}"/><rect class="shape" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" stroke="{stroke}"/>"#,
            x + 4.0,
            y - 4.0
        ),
        NodeStyle::Event => {
            let d = 12.0;
            writeln!(
                out,
                r#"<polygon class="shape" points="{:.1},{:.1} {:.1},{y:.1} {:.1},{y:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{fill}" stroke="{stroke}"/>"#,
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
                    r#"<circle class="shape" cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="{stroke}"/><circle cx="{cx:.1}" cy="{cy:.1}" r="{:.1}" fill="none" stroke="{stroke}"/>"#,
                    r - 4.0
                )
            } else if w <= 44.0 {
                writeln!(
                    out,
                    r#"<circle class="shape" cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}" stroke="{stroke}"/>"#
                )
            } else {
                writeln!(
                    out,
                    r#"<rect class="shape" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="{:.1}" fill="{fill}" stroke="{stroke}"/>"#,
                    h / 2.0
                )
            }
        }
    };
}

/// The chain as a standalone SVG document, every nested chain drawn.
pub fn render_svg(catalog: &Catalog, chain: &str) -> Result<String, RenderError> {
    render_svg_with(catalog, chain, &SvgOptions::default())
}

/// The chain as a standalone SVG document.
pub fn render_svg_with(
    catalog: &Catalog,
    chain: &str,
    options: &SvgOptions,
) -> Result<String, RenderError> {
    let mut s = scene(catalog, chain)?;
    collapse(&mut s, &options.collapsed);
    let l = layout(&s);
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
    let title_w = (s.title.chars().count() as f64 + 6.0) * 8.0 + 2.0 * PAD;
    let (w, h) = (l.width.max(title_w) + PAD, l.height + TITLE_H);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chain-graph" data-chain="{}" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT}">"#,
        xml(&s.title)
    );
    let _ = writeln!(out, "<title>chain {}</title>", xml(&s.title));
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/></marker><marker id="arrow-stop" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#dc2626"/></marker></defs>"##);
    out.push('\n');
    let _ = writeln!(
        out,
        r#"<text x="{PAD}" y="20" font-size="14" font-weight="bold">chain {}</text>"#,
        xml(&s.title)
    );
    let _ = writeln!(
        out,
        r#"<g class="drawing" transform="translate(0,{TITLE_H})">"#
    );
    for (_, label, outer, p) in &l.clusters {
        let _ = writeln!(
            out,
            r##"<g class="cluster" data-nested="{}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="10" fill="none" stroke="#b45309" stroke-dasharray="6 4"/><text class="cluster-label" x="{:.1}" y="{:.1}" fill="#b45309">{}</text></g>"##,
            xml(outer),
            p.x,
            p.y,
            p.w,
            p.h,
            p.x + 10.0,
            p.y + 16.0,
            xml(label)
        );
    }
    // Edges under the nodes, labels over the edges.
    for e in &l.edges {
        let edge = &s.edges[e.edge];
        let (colour, dash, marker, class) = match edge.kind {
            EdgeKind::Stop => (
                "#dc2626",
                r#" stroke-dasharray="5 4""#,
                "arrow-stop",
                "edge stop",
            ),
            _ => ("#4b5563", "", "arrow", "edge"),
        };
        let rule = edge
            .label
            .first()
            .and_then(|l| l.split(": ").next())
            .unwrap_or("");
        let _ = write!(
            out,
            r#"<g class="{class}" data-rule="{}" data-from="{}" data-to="{}"><title>{}</title><path d="{}" fill="none" stroke="{colour}" stroke-width="1.3"{dash} marker-end="url(#{marker})"/>"#,
            xml(rule),
            xml(&edge.from),
            xml(&edge.to),
            xml(&edge.label.join("\n")),
            e.path
        );
        if let Some((name, r)) = &e.label {
            let _ = write!(
                out,
                r#"<text class="edge-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{LABEL_FONT}" fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
                r.cx(),
                r.bottom() - 3.5,
                xml(name)
            );
        }
        out.push_str("</g>\n");
    }
    for (id, p) in &l.nodes {
        let Some((style, label)) = styles.get(id.as_str()) else {
            continue;
        };
        node(&mut out, id, p, *style, label);
    }
    out.push_str("</g>\n</svg>\n");
    Ok(out)
}

fn node(out: &mut String, id: &str, p: &Rect, style: NodeStyle, label: &[String]) {
    match style {
        NodeStyle::Start | NodeStyle::End => {
            let _ = writeln!(out, r#"<g class="terminal"><title>{}</title>"#, xml(id));
        }
        NodeStyle::Chain => {
            let _ = writeln!(
                out,
                r#"<g class="step nested" data-step="{0}" data-nested="{0}"><title>{0}</title>"#,
                xml(id)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                r#"<g class="step" data-step="{0}"><title>{0}</title>"#,
                xml(id)
            );
        }
    }
    shape(out, p, style);
    let first_y = p.y + p.h / 2.0 - (label.len() as f64 - 1.0) * LINE_H / 2.0 + FONT / 3.0;
    for (i, line) in label.iter().enumerate() {
        let (class, weight) = if i == 0 {
            ("name", r#" font-weight="bold""#)
        } else {
            ("sub", r##" font-size="10" fill="#475569""##)
        };
        let _ = writeln!(
            out,
            r#"<text class="{class}" x="{:.1}" y="{:.1}" text-anchor="middle"{weight}>{}</text>"#,
            p.cx(),
            first_y + i as f64 * LINE_H,
            xml(line)
        );
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            xml("a<b & 'c' \"d\">"),
            "a&lt;b &amp; &#39;c&#39; &quot;d&quot;&gt;"
        );
    }
}
