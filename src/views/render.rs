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
    match format {
        Format::Json => json(e),
        Format::Csv => rows(&e.rules, Format::Csv),
        Format::Table => {
            let mut out = format!(
                "JOB {} (chain {}) is {}\n",
                e.job_name, e.chain_name, e.state
            );
            if let Some(reason) = &e.reason {
                out.push_str(&format!("\nWhy it is stalled: {reason}\n"));
            }
            out.push('\n');
            out.push_str(&rows(&e.rules, Format::Table));
            out
        }
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
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| one_line(c)).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
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
