//! A chain drawn as SVG (`GET /api/v1/chains/{chain}/graph.svg`): the drawing of
//! `graph --format svg` ([`crate::catalog::svg`], laid out by [`crate::catalog::layout`]), so
//! the dashboard and the CLI show the same picture. `?collapse=N,M` draws those nested chains
//! (by their step's job subname; `*` for all) as their step alone.

use crate::catalog::svg::{render_svg_with, SvgOptions};
use crate::catalog::Catalog;

/// The SVG of `chain`, or `None` when the catalog has no such chain.
pub fn chain_svg(catalog: &Catalog, chain: &str, collapsed: &[String]) -> Option<String> {
    let options = SvgOptions {
        collapsed: collapsed.iter().cloned().collect(),
    };
    render_svg_with(catalog, chain, &options).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        crate::catalog::load_sources(&[(
            "t.chain".to_string(),
            "program P { builtin noop; }\n\
             chain N { step I1 program P; rule when TRUE then START I1; rule when I1 COMPLETED then END; }\n\
             chain \"C<1>\" { step A program P; step B event E; step J chain N;\n\
               rule R1 when TRUE then START A, B;\n\
               rule R2 when A SUCCEEDED AND B SUCCEEDED then START J;\n\
               rule R3 when J SUCCEEDED then END;\n\
               rule R4 when J SUCCEEDED then STOP A; }"
                .to_string(),
        )])
        .catalog
        .expect("catalog")
    }

    fn x_of(svg: &str, step: &str) -> f64 {
        let at = svg.find(&format!("data-step=\"{step}\"")).expect(step);
        let rest = &svg[at..];
        let xs = rest.find(" x=\"").expect("x") + 4;
        rest[xs..xs + rest[xs..].find('"').expect("quote")]
            .parse()
            .expect("number")
    }

    #[test]
    fn a_join_sits_right_of_what_it_joins_names_are_escaped_nested_chains_collapse() {
        let cat = catalog();
        let svg = chain_svg(&cat, "C<1>", &[]).expect("drawn");
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("data-chain=\"C&lt;1&gt;\""));
        assert!(x_of(&svg, "J") > x_of(&svg, "A"));
        assert!(x_of(&svg, "J") > x_of(&svg, "B"));
        assert!(
            svg.contains("data-step=\"J.I1\""),
            "nested steps by subname"
        );
        assert!(svg.contains("class=\"cluster\" data-nested=\"J\""));
        // R2 joins A and B: two edges, its name written once; one dashed STOP edge.
        assert_eq!(svg.matches("data-rule=\"R2\"").count(), 2);
        assert_eq!(svg.matches(">R2</text>").count(), 1);
        assert_eq!(svg.matches("class=\"edge stop\"").count(), 1);
        // Conditions are in the tooltip only.
        assert!(svg.contains("<title>R2: A SUCCEEDED AND B SUCCEEDED</title>"));
        let collapsed = chain_svg(&cat, "C<1>", &["J".to_string()]).expect("drawn");
        assert!(!collapsed.contains("J.I1") && !collapsed.contains("class=\"cluster\""));
        assert!(collapsed.contains("data-step=\"J\" data-nested=\"J\""));
        assert!(chain_svg(&cat, "NOPE", &[]).is_none());
    }
}
