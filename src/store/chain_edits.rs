//! Changes made to a chain definition while the engine runs (`define-rule`, `drop-rule`,
//! `alter-chain`, `drop-step`, and the same over HTTP), kept so that they survive a restart of
//! `serve` although the rule files stay the source of truth (`cedit/<chain>`).
//!
//! Each record holds the chain as the rule files defined it when the first change was made
//! (`base`) and the chain as changed (`chain`). When rule files are loaded (`serve` starting,
//! `reload`, `run`), [`overlay`] puts the changed chain in place of the file's version as long
//! as the file still defines the chain exactly as `base` (declaration line aside); when the
//! file changed meanwhile, the file wins: the record is dropped, with a warning that says so.
//! A record is a whole chain rather than a list of commands, so writing it twice (engines
//! sharing a database each apply a forwarded change) changes nothing.

use super::{layout, ChainStore, StateBatch, StoreError};
use crate::catalog::{Catalog, Chain};
use serde::{Deserialize, Serialize};

/// `cedit/<chain>`: the chain as the files defined it, and as changed since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainEdit {
    /// The file's definition the changes were made on (`source` cleared).
    pub base: Chain,
    /// The changed definition.
    pub chain: Chain,
}

/// A definition compared without its `file:line` (a line added above it is no change).
pub fn without_source(c: &Chain) -> Chain {
    Chain {
        source: String::new(),
        ..c.clone()
    }
}

/// Every chain edit in the store, in chain-name order.
pub fn chain_edits(store: &ChainStore) -> Result<Vec<ChainEdit>, StoreError> {
    store
        .kv()
        .scan_prefix(layout::CHAIN_EDIT.as_bytes())?
        .into_iter()
        .map(|(k, v)| store.decode(&k, &v))
        .collect()
}

/// The record to write after `before` (the catalog's chain before a change) became `after`:
/// an existing record keeps its base.
pub fn edit_after(
    store: &ChainStore,
    before: &Chain,
    after: &Chain,
) -> Result<ChainEdit, StoreError> {
    let existing: Option<ChainEdit> = store.get_as(&layout::chain_edit_key(&before.name))?;
    let base = match existing {
        Some(e) => e.base,
        None => without_source(before),
    };
    Ok(ChainEdit {
        base,
        chain: after.clone(),
    })
}

/// Put the stored changes on top of a catalog loaded from rule files. Returns the catalog to
/// run, and a warning per record dropped because its chain's file changed or no longer
/// defines the chain; `batch` receives the deletes of those records.
pub fn overlay(
    store: &ChainStore,
    mut files: Catalog,
    batch: &mut StateBatch,
) -> Result<(Catalog, Vec<String>), StoreError> {
    let mut warnings = Vec::new();
    for edit in chain_edits(store)? {
        let name = edit.base.name.clone();
        match files.chains.get(&name) {
            Some(c) if without_source(c) == edit.base => {
                let mut changed = edit.chain.clone();
                changed.source = c.source.clone();
                files.chains.insert(name, changed);
            }
            Some(_) => {
                warnings.push(format!(
                    "chain {name}: its rule file changed since rules or steps were changed with \
                     define-rule, drop-rule, alter-chain or drop-step; the file wins and those \
                     changes are dropped"
                ));
                batch.delete_chain_edit(&name);
            }
            None => {
                warnings.push(format!(
                    "chain {name} is no longer in the rule files; the changes made to it with \
                     define-rule, drop-rule, alter-chain or drop-step are dropped"
                ));
                batch.delete_chain_edit(&name);
            }
        }
    }
    Ok((files, warnings))
}
