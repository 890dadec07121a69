//! Loading files and folders into one catalog (owned by the catalog work).

use super::model::Catalog;
use crate::lang::{Diagnostic, SourceMap};
use std::path::PathBuf;

/// The result of loading: the catalog only when there is no error (a file with errors is never
/// partly loaded), the sources (to render diagnostics), and every diagnostic (errors + lints).
#[derive(Debug, Default)]
pub struct Loaded {
    pub catalog: Option<Catalog>,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Load `*.chain` files and folders (recursively) into one namespace, resolve, lint.
pub fn load_paths(_paths: &[PathBuf]) -> Loaded {
    Loaded::default()
}

/// Load from in-memory sources `(display path, text)` (tests, benches, embedding).
pub fn load_sources(_sources: &[(String, String)]) -> Loaded {
    Loaded::default()
}
