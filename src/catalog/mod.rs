//! The catalog: rule files and folders loaded into one namespace, names resolved, one
//! petgraph model per chain, nested-chain cycles rejected, and lints.

pub mod model;

pub use model::*;
pub mod load;

pub use load::{load_paths, load_sources, Loaded};
