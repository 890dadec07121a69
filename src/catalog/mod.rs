//! The catalog: rule files and folders loaded into one namespace, names resolved, one
//! petgraph model per chain, nested-chain cycles rejected, and lints.
//!
//! Pipeline: [`load`] reads and parses files, [`resolve`] turns the ASTs into the [`model`]
//! (every error collected), [`graph`] builds the per-chain rule graphs, [`lints`] warns about
//! chains that load but will misbehave (using [`truth`], a three-valued evaluator over abstract
//! step states), [`render`] draws a chain as Graphviz dot or Mermaid and [`svg`] as a
//! standalone SVG (no external tool).

pub mod graph;
pub mod layout;
pub mod lints;
pub mod load;
pub mod model;
pub mod render;
pub mod resolve;
pub mod sqleval;
pub mod svg;
pub mod truth;

pub use load::{load_paths, load_sources, normalise_name, resolve_rule, rule_from_text, Loaded};
pub use model::*;
pub use render::{render_dot, render_mermaid, RenderError};
pub use svg::render_svg;
