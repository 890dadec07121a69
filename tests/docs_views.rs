//! docs/views.md describes every column of every view, one section per view, and its
//! "Default columns" line is what a table shows; the docs stand alone (no links to files a user
//! of the repository does not have). Issue 12 point 19.

use chainsched::views::apex::{ExecutionRow, NotificationRow, StatsByRow};
use chainsched::views::events::KeptEventRow;
use chainsched::views::history::ChainRunRow;
use chainsched::views::{
    ChainRow, ChainRuleRow, ChainStepRow, EngineRow, ExplainRuleRow, JobLogRow, JobRow, ProgramRow,
    RunDetailsRow, RunningChainRow, ScheduleRow, StatsRow, TimelineRow, ViewRow,
};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The text of the section `## NAME — …` up to the next `## `.
fn section<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\n## {name} — "))? + 1;
    let rest = &doc[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    Some(&rest[..end])
}

fn check<T: ViewRow>(doc: &str, name: &str, problems: &mut Vec<String>) {
    let Some(text) = section(doc, name) else {
        problems.push(format!("no section `## {name} — …`"));
        return;
    };
    for c in T::COLUMNS {
        if !text.contains(&format!("\n| {c} | ")) {
            problems.push(format!("{name}: column {c} is not described"));
        }
    }
    let listed = text
        .lines()
        .find_map(|l| l.strip_prefix("Default columns: "))
        .map(|l| l.trim_end_matches('.').to_string());
    let want = if T::DEFAULT_COLUMNS == T::COLUMNS {
        "every column"
    } else {
        ""
    };
    let expected = if want.is_empty() {
        T::DEFAULT_COLUMNS.join(", ")
    } else {
        want.to_string()
    };
    let ok = match &listed {
        Some(l) => l == &expected || l.starts_with(&format!("{expected} ")),
        None => false,
    };
    if !ok {
        problems.push(format!(
            "{name}: `Default columns: {expected}.` expected, found {listed:?}"
        ));
    }
}

#[test]
fn every_column_of_every_view_is_described() {
    let doc = std::fs::read_to_string(root().join("docs/views.md")).expect("docs/views.md");
    let mut problems = Vec::new();
    check::<RunningChainRow>(&doc, "running_chains", &mut problems);
    check::<JobRow>(&doc, "jobs", &mut problems);
    check::<JobLogRow>(&doc, "job_log", &mut problems);
    check::<RunDetailsRow>(&doc, "job_run_details", &mut problems);
    check::<TimelineRow>(&doc, "timeline", &mut problems);
    check::<StatsRow>(&doc, "stats", &mut problems);
    check::<ExplainRuleRow>(&doc, "explain", &mut problems);
    check::<ScheduleRow>(&doc, "schedules", &mut problems);
    check::<EngineRow>(&doc, "engines", &mut problems);
    check::<ChainRow>(&doc, "chains", &mut problems);
    check::<ChainStepRow>(&doc, "chain_steps", &mut problems);
    check::<ChainRuleRow>(&doc, "chain_rules", &mut problems);
    check::<ProgramRow>(&doc, "programs", &mut problems);
    check::<KeptEventRow>(&doc, "events", &mut problems);
    check::<ChainRunRow>(&doc, "chain_history", &mut problems);
    check::<ExecutionRow>(&doc, "executions", &mut problems);
    check::<NotificationRow>(&doc, "notifications", &mut problems);
    check::<StatsByRow>(&doc, "stats_by", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Files a reader of the repository does not have: the specification the project was built
/// from lived outside it.
#[test]
fn docs_and_sources_do_not_point_outside_the_repository() {
    let mut hits = Vec::new();
    let mut visit = vec![
        root().join("docs"),
        root().join("src"),
        root().join("README.md"),
    ];
    while let Some(p) = visit.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("readable").flatten() {
                visit.push(e.path());
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for bad in ["shared/spec", "semantics.md", "cli.md", "../shared"] {
                if line.contains(bad) {
                    hits.push(format!("{}:{}: {line}", p.display(), n + 1));
                }
            }
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}
