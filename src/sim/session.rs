//! One scenario run from files: load the rule files, parse and bind the scenario, simulate.
//!
//! Shared by `chainsched simulate` and `chainsched test` so both report problems the same way:
//! rule-file errors rendered with file, line, column and caret; scenario errors naming the
//! file and the key.

use super::driver::{simulate, SimResult};
use super::scenario::Scenario;
use crate::catalog::{load_paths, Catalog};
use crate::lang::diagnostic::render_text;
use std::path::{Path, PathBuf};

/// A scenario that ran.
#[derive(Debug)]
pub struct Session {
    pub scenario: Scenario,
    pub catalog: Catalog,
    pub result: SimResult,
}

/// Load rule files/folders into a catalog; `Err` carries the rendered error diagnostics.
pub fn load_catalog(paths: &[PathBuf]) -> Result<Catalog, String> {
    for p in paths {
        if !p.exists() {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    let loaded = load_paths(paths);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_text(d, &loaded.sources))
        .collect();
    match loaded.catalog {
        Some(c) if errors.is_empty() => Ok(c),
        _ if !errors.is_empty() => Err(errors.join("\n")),
        _ => Err(format!(
            "{}: no catalog could be loaded",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The rule files a scenario uses when none are given on the command line: its
/// `[settings] rules`, or else every `*.chain` file in the scenario's own folder.
pub fn default_rules(scenario: &Scenario, scenario_path: &Path) -> Result<Vec<PathBuf>, String> {
    if let Some(r) = &scenario.rules {
        return Ok(r.clone());
    }
    let dir = match scenario_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: cannot list the folder: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "chain"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no rule files: add [settings] rules = [\"my.chain\"] or put *.chain files next to the scenario",
            scenario.file
        ));
    }
    Ok(files)
}

/// Load, bind and simulate one scenario file. `rules`: the rule paths given on the command
/// line (`simulate PATH`), or `None` to use the scenario's own ([`default_rules`]).
pub fn run_file(scenario_path: &Path, rules: Option<&[PathBuf]>) -> Result<Session, String> {
    let mut scenario = Scenario::load(scenario_path).map_err(|e| e.to_string())?;
    let rule_paths = match rules {
        Some(r) => r.to_vec(),
        None => default_rules(&scenario, scenario_path)?,
    };
    let catalog = load_catalog(&rule_paths)?;
    scenario.bind(&catalog).map_err(|e| e.to_string())?;
    let result = simulate(catalog.clone(), &scenario);
    Ok(Session {
        scenario,
        catalog,
        result,
    })
}
