//! Loading rule files and folders into one catalog: read → parse → resolve → lint.
//!
//! Why one entry point: `check`, `graph`, `run`, `simulate` and `serve` must all agree on what
//! a folder of rule files means. Files are read in a deterministic order (each folder sorted,
//! recursively), every problem is collected (never only the first), and the catalog is handed
//! out only when there is no error at all, so a file with errors is never partly loaded.

use super::lints::lint_chain;
use super::model::{Catalog, Chain, Rule};
use super::resolve::{resolve, resolve_rule_ast, ChainSpans};
use crate::lang::diagnostic::Diagnostic;
use crate::lang::parser;
use crate::lang::{SourceMap, Span};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The result of loading: the catalog only when there is no error (a file with errors is never
/// partly loaded), the sources (to render diagnostics), and every diagnostic (errors + lints).
#[derive(Debug, Default)]
pub struct Loaded {
    pub catalog: Option<Catalog>,
    pub sources: SourceMap,
    /// Sorted by file (load order), then position.
    pub diagnostics: Vec<Diagnostic>,
    /// Where each chain's steps and rules were written (for tools that point at the source).
    pub chain_spans: BTreeMap<String, ChainSpans>,
}

impl Loaded {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| !d.is_error()).count()
    }
}

/// A file to load: its display path and its text, or why it could not be read.
type Input = (String, Result<String, String>);

/// Load `*.chain` files and folders (recursively) into one namespace, resolve, lint.
///
/// A path given explicitly is loaded whatever its extension; inside folders only `*.chain`
/// files are taken. A path that cannot be read becomes an `io-error` diagnostic.
pub fn load_paths(paths: &[PathBuf]) -> Loaded {
    let mut inputs: Vec<Input> = Vec::new();
    let mut notices: Vec<(usize, Diagnostic)> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        let display = path.display().to_string();
        match std::fs::metadata(path) {
            Err(e) => inputs.push((display, Err(e.to_string()))),
            Ok(meta) if meta.is_dir() => {
                let mut files = Vec::new();
                let mut visited = HashSet::new();
                if let Err(e) = collect_dir(path, &mut files, &mut visited) {
                    inputs.push((display, Err(e)));
                    continue;
                }
                if files.is_empty() {
                    // Report it against the folder itself (an empty pseudo-file).
                    notices.push((
                        inputs.len(),
                        Diagnostic::warning(
                            "no-rule-files",
                            format!("folder {display} holds no *.chain file"),
                            Span::default(),
                        )
                        .with_expected("a folder containing rule files named *.chain"),
                    ));
                    inputs.push((display, Ok(String::new())));
                }
                for f in files {
                    if seen.insert(canonical(&f)) {
                        let text = read(&f);
                        inputs.push((f.display().to_string(), text));
                    }
                }
            }
            Ok(_) => {
                if seen.insert(canonical(path)) {
                    inputs.push((display, read(path)));
                }
            }
        }
    }
    load_inputs(inputs, notices)
}

/// Load from in-memory sources `(display path, text)` (tests, benches, embedding).
pub fn load_sources(sources: &[(String, String)]) -> Loaded {
    let inputs = sources
        .iter()
        .map(|(p, t)| (p.clone(), Ok(t.clone())))
        .collect();
    load_inputs(inputs, Vec::new())
}

/// Resolve one rule against a chain, from its condition and action texts (run-time rule
/// redefinition, scenario `define_rule`). An unnamed rule is named `RULE$<position>`.
///
/// Diagnostic spans point into file 0 for the condition text and file 1 for the action text:
/// render them with a `SourceMap` to which the condition and then the action were added.
pub fn resolve_rule(
    chain: &Chain,
    name: Option<&str>,
    position: usize,
    condition: &str,
    action: &str,
) -> Result<Rule, Vec<Diagnostic>> {
    let cond = parser::parse_condition(0, condition);
    let act = parser::parse_action(1, action);
    let (cond, act) = match (cond, act) {
        (Ok(c), Ok(a)) => (c, a),
        (c, a) => {
            let mut diags = c.err().unwrap_or_default();
            diags.extend(a.err().unwrap_or_default());
            if diags.is_empty() {
                diags.push(Diagnostic::error(
                    "syntax",
                    "the rule's condition or action could not be parsed",
                    Span::default(),
                ));
            }
            return Err(diags);
        }
    };
    let name = match name.map(str::trim) {
        Some(n) if !n.is_empty() => normalise_name(n),
        _ => format!("RULE${position}"),
    };
    resolve_rule_ast(
        chain,
        name,
        position,
        &cond,
        &act,
        collapse(condition),
        collapse(action),
    )
}

/// A whole `rule NAME when … then … [comment '…'];` statement (`define-rule`), parsed with
/// the rule-file grammar and resolved against `chain`. An unnamed rule is named `RULE$N`
/// (N: the position it takes at the end of the chain). Diagnostics are in file 0 with
/// offsets into `text` (render them with a [`crate::lang::span::SourceMap`] holding `text`).
pub fn rule_from_text(chain: &Chain, text: &str) -> Result<Rule, Vec<Diagnostic>> {
    let decl = parser::parse_rule(0, text)?;
    let name = match &decl.name {
        Some(n) => n.name.clone(),
        None => format!("RULE${}", chain.rules.len() + 1),
    };
    let position = chain
        .rule_index(&name)
        .map(|i| i + 1)
        .unwrap_or(chain.rules.len() + 1);
    let mut rule = resolve_rule_ast(
        chain,
        name,
        position,
        &decl.condition,
        &decl.action,
        decl.condition_text.clone(),
        decl.action_text.clone(),
    )?;
    rule.comment = decl.comment.map(|c| c.value);
    Ok(rule)
}

/// Oracle's identifier rule for a name typed by a user (command line, API, scenario):
/// `"exact"` keeps its case, anything else is upper-cased (`loan` names `LOAN`).
pub fn normalise_name(n: &str) -> String {
    let n = n.trim();
    if n.len() >= 2 && n.starts_with('"') && n.ends_with('"') {
        n[1..n.len() - 1].to_string()
    } else {
        n.to_uppercase()
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| e.to_string())
}

/// Every `*.chain` file under `dir`, each folder's entries sorted by name.
fn collect_dir(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
) -> Result<(), String> {
    if !visited.insert(canonical(dir)) {
        return Ok(()); // a symlink loop
    }
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            // An unreadable sub-folder is reported (naming it), so nothing is left out silently.
            if let Err(e) = collect_dir(&p, out, visited) {
                return Err(format!("{}: {e}", p.display()));
            }
        } else if p.extension().is_some_and(|e| e == "chain") {
            out.push(p);
        }
    }
    Ok(())
}

fn load_inputs(inputs: Vec<Input>, notices: Vec<(usize, Diagnostic)>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = Vec::new();
    let mut complete = true;
    for (path, text) in inputs {
        match text {
            Ok(text) => {
                let id = loaded.sources.files.len();
                let parsed = parser::parse_file(id, &text);
                loaded.sources.add(path, text);
                match parsed {
                    Ok(file) => files.push(file),
                    Err(diags) => {
                        complete = false;
                        let any_error = diags.iter().any(|d| d.is_error());
                        loaded.diagnostics.extend(diags);
                        if !any_error {
                            loaded.diagnostics.push(Diagnostic::error(
                                "syntax",
                                "this file could not be parsed",
                                Span::new(id, 0, 0),
                            ));
                        }
                    }
                }
            }
            Err(reason) => {
                complete = false;
                let id = loaded.sources.add(path.clone(), String::new());
                loaded.diagnostics.push(
                    Diagnostic::error(
                        "io-error",
                        format!("cannot read {path}: {reason}"),
                        Span::new(id, 0, 0),
                    )
                    .with_expected("a readable rule file or folder"),
                );
            }
        }
    }
    for (file, mut d) in notices {
        d.span = Span::new(file, 0, 0);
        loaded.diagnostics.push(d);
    }
    let resolution = resolve(&files, &loaded.sources, complete);
    loaded.diagnostics.extend(resolution.diagnostics);
    for name in &resolution.clean_chains {
        if let (Some(chain), Some(spans)) = (
            resolution.catalog.chains.get(name),
            resolution.spans.get(name),
        ) {
            loaded.diagnostics.extend(lint_chain(
                chain,
                spans,
                &resolution.catalog,
                &loaded.sources,
            ));
        }
    }
    loaded.diagnostics.sort_by(|a, b| {
        (a.span.file, a.span.start, a.severity).cmp(&(b.span.file, b.span.start, b.severity))
    });
    loaded.chain_spans = resolution.spans;
    if loaded.error_count() == 0 {
        loaded.catalog = Some(resolution.catalog);
    }
    loaded
}
