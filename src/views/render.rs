//! Table, JSON and CSV renderings of view rows, shared by every CLI view command so that the
//! embedded store and `--server` print byte-for-byte the same thing.
//!
//! JSON is the rows as serde writes them (lower-case column names, the API's shape). Tables
//! use the views.md column names as headers; long cells are cut (JSON and CSV never are).
//! CSV follows RFC 4180 (quotes doubled, fields with `,`, `"` or line breaks quoted).

use super::rows::{Explanation, ViewRow};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Widest table cell, in characters; longer text ends with `…`.
pub const TABLE_CELL_MAX: usize = 60;

/// The width a table of the default columns is fitted into (long cells are cut further,
/// widest first; columns a view never cuts are not).
pub const TABLE_WIDTH: usize = 100;

/// Which columns a table (or CSV) shows, like kubectl: the view's narrow default set, every
/// column (`-o wide`), or the ones named (`--columns A,B`, in that order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Columns {
    #[default]
    Default,
    Wide,
    Only(Vec<String>),
}

impl Columns {
    /// From `-o wide` and `--columns A,B` (names in any case).
    pub fn from_args(wide: bool, only: &[String]) -> Columns {
        let only: Vec<String> = only
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        if !only.is_empty() {
            Columns::Only(only)
        } else if wide {
            Columns::Wide
        } else {
            Columns::Default
        }
    }

    /// The column names chosen among `all` (default set `default`), or why a name is refused.
    pub fn pick(
        &self,
        all: &'static [&'static str],
        default: &'static [&'static str],
    ) -> Result<Vec<&'static str>, String> {
        match self {
            Columns::Default => Ok(default.to_vec()),
            Columns::Wide => Ok(all.to_vec()),
            Columns::Only(names) => names
                .iter()
                .map(|n| {
                    all.iter().copied().find(|c| c == n).ok_or_else(|| {
                        let near = crate::lang::diagnostic::nearest_name(n, all.iter().copied());
                        format!(
                            "--columns: this view has no column {n}{}; its columns are {}",
                            crate::lang::diagnostic::did_you_mean(near.as_deref()),
                            all.join(", ")
                        )
                    })
                })
                .collect(),
        }
    }
}

/// Rows with a choice of columns. Tables show the chosen columns (the narrow default set
/// fitted into [`TABLE_WIDTH`]); CSV shows all columns unless `--columns` names some, so
/// scripts reading CSV are not affected by the table's default; JSON is always whole rows.
pub fn rows_in<T: ViewRow>(rows: &[T], format: Format, cols: &Columns) -> Result<String, String> {
    let chosen = |csv: bool| {
        let cols = match (csv, cols) {
            (true, Columns::Default) => &Columns::Wide,
            _ => cols,
        };
        cols.pick(T::COLUMNS, T::DEFAULT_COLUMNS)
    };
    let index = |names: &[&str]| -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| T::COLUMNS.iter().position(|c| c == n))
            .collect()
    };
    let project = |cells: Vec<String>, idx: &[usize]| -> Vec<String> {
        idx.iter()
            .map(|&i| cells.get(i).cloned().unwrap_or_default())
            .collect()
    };
    match format {
        Format::Json => Ok(json(rows)),
        Format::Csv => {
            let names = chosen(true)?;
            let idx = index(&names);
            Ok(csv(&names, rows.iter().map(|r| project(r.cells(), &idx))))
        }
        Format::Table => {
            let names = chosen(false)?;
            let idx = index(&names);
            let uncut: Vec<bool> = names.iter().map(|n| T::UNCUT.contains(n)).collect();
            let fit = matches!(cols, Columns::Default).then_some(TABLE_WIDTH);
            Ok(table_fitted(
                &names,
                rows.iter().map(|r| project(r.cells(), &idx)).collect(),
                &uncut,
                fit,
            ))
        }
    }
}

pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string());
    s.push('\n');
    s
}

/// Many rows.
pub fn rows<T: ViewRow>(rows: &[T], format: Format) -> String {
    match format {
        Format::Json => json(rows),
        Format::Csv => csv(T::COLUMNS, rows.iter().map(|r| r.cells())),
        Format::Table => table(T::COLUMNS, rows.iter().map(|r| r.cells()).collect()),
    }
}

/// One record (a job, a run's details): JSON object, CSV header + one line, or a vertical
/// `COLUMN  value` listing with multi-line values (output, errors) shown in full.
pub fn record<T: ViewRow>(row: &T, format: Format) -> String {
    match format {
        Format::Json => json(row),
        Format::Csv => csv(T::COLUMNS, std::iter::once(row.cells())),
        Format::Table => vertical(T::COLUMNS, &row.cells()),
    }
}

/// The explain view: JSON object; CSV of the rule rows; a table preceded by the job's state
/// and, for a stalled job, the reason paragraph.
pub fn explanation(e: &Explanation, format: Format) -> String {
    explanation_in(e, format, &Columns::Wide).unwrap_or_default()
}

/// [`explanation`] with a choice of the rule table's columns.
pub fn explanation_in(e: &Explanation, format: Format, cols: &Columns) -> Result<String, String> {
    Ok(match format {
        Format::Json => json(e),
        Format::Csv => rows_in(&e.rules, Format::Csv, cols)?,
        Format::Table => {
            let mut out = format!(
                "JOB {} (chain {}) is {}\n",
                e.job_name, e.chain_name, e.state
            );
            if let Some(reason) = &e.reason {
                out.push_str(&format!("\nWhy it is stalled: {reason}\n"));
            }
            out.push('\n');
            out.push_str(&rows_in(&e.rules, Format::Table, cols)?);
            out
        }
    })
}

/// A cell on one line (line breaks and tabs as spaces).
fn flat(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// `text` cut to `max` characters, the last one `…`.
fn cut(text: String, max: usize) -> String {
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

fn one_line(cell: &str) -> String {
    let flat: String = cell
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if flat.chars().count() > TABLE_CELL_MAX {
        let mut cut: String = flat.chars().take(TABLE_CELL_MAX - 1).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

pub fn table(columns: &[&str], rows: Vec<Vec<String>>) -> String {
    table_fitted(columns, rows, &[], None)
}

/// A table whose cells are cut at [`TABLE_CELL_MAX`] except in the `uncut` columns; with
/// `fit`, the widest cuttable columns are narrowed further (not below their header or 8
/// characters) until a line fits in `fit` characters.
pub fn table_fitted(
    columns: &[&str],
    rows: Vec<Vec<String>>,
    uncut: &[bool],
    fit: Option<usize>,
) -> String {
    let keep = |i: usize| uncut.get(i).copied().unwrap_or(false);
    let mut rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| if keep(i) { flat(c) } else { one_line(c) })
                .collect()
        })
        .collect();
    let measure = |rows: &[Vec<String>]| {
        let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
        for r in rows {
            for (i, c) in r.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        widths
    };
    let mut widths = measure(&rows);
    if let Some(limit) = fit {
        // Instants are never cut (24 characters: `2024-05-01T12:34:56.789Z`).
        let floor = |i: usize| {
            let name = columns.get(i).copied().unwrap_or("");
            let instant = ["_DATE", "_AT", "TIME", "STARTED", "LAST_HEARTBEAT"]
                .iter()
                .any(|s| name.ends_with(s));
            name.chars().count().max(if instant { 24 } else { 8 })
        };
        loop {
            // An uncut column counts with its header: its text runs on (the terminal wraps
            // it) rather than squeezing every other column.
            let total: usize = widths
                .iter()
                .enumerate()
                .map(|(i, &w)| if keep(i) { floor(i).min(w) } else { w })
                .sum::<usize>()
                + 2 * widths.len().saturating_sub(1);
            if total <= limit {
                break;
            }
            // The widest column that may still be narrowed, down to the next widest.
            let mut cuttable: Vec<(usize, usize)> = widths
                .iter()
                .enumerate()
                .filter(|&(i, &w)| !keep(i) && w > floor(i))
                .map(|(i, &w)| (w, i))
                .collect();
            cuttable.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let Some(&(w, i)) = cuttable.first() else {
                break;
            };
            let next = cuttable.get(1).map_or(0, |c| c.0);
            let target = w.saturating_sub(total - limit).max(next).max(floor(i));
            widths[i] = if target < w { target } else { w - 1 };
        }
        for r in &mut rows {
            for (i, c) in r.iter_mut().enumerate() {
                if !keep(i) {
                    if let Some(&w) = widths.get(i) {
                        *c = cut(std::mem::take(c), w);
                    }
                }
            }
        }
        widths = measure(&rows);
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let mut out = line(&header);
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&dashes));
    for r in &rows {
        out.push_str(&line(r));
    }
    if rows.is_empty() {
        out.push_str("(no rows)\n");
    }
    out
}

fn vertical(columns: &[&str], cells: &[String]) -> String {
    let w = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (c, v) in columns.iter().zip(cells) {
        if v.contains('\n') {
            out.push_str(&format!("{c}:\n"));
            for l in v.lines() {
                out.push_str(&format!("    {l}\n"));
            }
        } else {
            out.push_str(&format!("{c:<w$}  {v}\n"));
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(columns: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::rows::TimelineRow;

    fn rows_() -> Vec<TimelineRow> {
        vec![
            TimelineRow {
                time: "1970-01-01T00:00:00.000Z".into(),
                job_name: "J1".into(),
                job_subname: None,
                kind: "rule_fired".into(),
                detail: "R1: START A, \"B\"".into(),
                started_by: None,
                by_rule: None,
            },
            TimelineRow {
                time: "1970-01-01T00:00:01.000Z".into(),
                job_name: "J1".into(),
                job_subname: Some("N.I1".into()),
                kind: "step_state".into(),
                detail: "x".repeat(100),
                started_by: Some("rule".into()),
                by_rule: Some("R1".into()),
            },
        ]
    }

    #[test]
    fn table_aligns_columns_and_cuts_long_cells() {
        let t = rows(&rows_(), Format::Table);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("TIME"));
        assert!(lines[1].starts_with("-----"));
        let kind_col = lines[0].find("KIND").unwrap();
        assert_eq!(&lines[2][kind_col..kind_col + 10], "rule_fired");
        assert_eq!(&lines[3][kind_col..kind_col + 10], "step_state");
        assert!(
            lines[3].contains('…'),
            "the long DETAIL is cut: {}",
            lines[3]
        );
        assert!(
            lines[3].trim_end().ends_with("R1"),
            "then STARTED_BY, BY_RULE"
        );
        assert!(rows::<TimelineRow>(&[], Format::Table).contains("(no rows)"));
    }

    #[test]
    fn csv_quotes_and_json_uses_lower_case_columns() {
        let c = rows(&rows_(), Format::Csv);
        let first_row = c.lines().nth(1).unwrap();
        assert_eq!(
            first_row,
            "1970-01-01T00:00:00.000Z,J1,,rule_fired,\"R1: START A, \"\"B\"\"\",,"
        );
        assert!(c.starts_with("TIME,JOB_NAME,JOB_SUBNAME,KIND,DETAIL,STARTED_BY,BY_RULE\r\n"));
        let j: serde_json::Value = serde_json::from_str(&rows(&rows_(), Format::Json)).unwrap();
        assert_eq!(j[1]["job_subname"], "N.I1");
        assert_eq!(j[0]["job_subname"], serde_json::Value::Null);
    }

    #[test]
    fn a_record_shows_multi_line_values_in_full() {
        let mut r = rows_().remove(0);
        r.detail = "line one\nline two".into();
        let v = record(&r, Format::Table);
        assert!(v.contains("DETAIL:\n    line one\n    line two\n"), "{v}");
        assert!(v.contains("JOB_NAME     J1\n"), "{v}");
    }
}
