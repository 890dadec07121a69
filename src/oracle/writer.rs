//! [`Model`] → rule-file text: programs, then chains (steps, then rules in definition order),
//! then jobs; each warning as a `-- import-oracle: line N: ...` comment right above the
//! object it concerns (warnings about no object, or about objects later dropped, go at the
//! top). Names are written with the rule language's own [`write_name`], so they read back
//! exactly as Oracle stored them. An object `check` refuses is written commented out
//! ([`write_mapped`] says where each object is, so its diagnostics can be traced back).

use super::model::*;
use crate::lang::parser::write_name;

/// Where an object was written in the rule file (byte range) and which one it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Extent {
    pub start: usize,
    pub end: usize,
    pub anchor: Anchor,
}

/// The rule file for `model`; `source` names the script in the header.
pub fn write(model: &Model, source: &str) -> String {
    write_mapped(model, source).0
}

/// The rule file, and where each object (not commented out) is in it.
pub fn write_mapped(model: &Model, source: &str) -> (String, Vec<Extent>) {
    let mut w = Writer {
        model,
        out: String::new(),
        extents: Vec::new(),
    };
    w.header(source);
    for p in &model.programs {
        w.program(p);
    }
    for c in &model.chains {
        w.chain(c);
    }
    for j in &model.jobs {
        w.job(j);
    }
    (w.out, w.extents)
}

struct Writer<'a> {
    model: &'a Model,
    out: String,
    extents: Vec<Extent>,
}

/// A string literal: `'it''s'`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Milliseconds as a rule-file duration (`1h30m`, `1s500ms`).
pub fn duration(ms: u64) -> String {
    let parts = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ];
    let mut rest = ms;
    let mut out = String::new();
    for (size, unit) in parts {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

impl Writer<'_> {
    /// Write one object with `body`; commented out (each line `-- `, after `indent`) when
    /// `commented`, else its extent is recorded.
    fn object(
        &mut self,
        anchor: Anchor,
        commented: bool,
        indent: &str,
        body: impl FnOnce(&mut Self),
    ) {
        let start = self.out.len();
        body(self);
        if commented {
            let text = self.out.split_off(start);
            for line in text.lines() {
                let line = line.strip_prefix(indent).unwrap_or(line);
                self.out.push_str(&format!("{indent}-- {line}\n"));
            }
        } else {
            let end = self.out.len();
            self.extents.push(Extent { start, end, anchor });
        }
    }

    fn notes(&mut self, anchor: &Anchor, indent: &str) {
        let mut notes: Vec<&Note> = self
            .model
            .notes
            .iter()
            .filter(|n| &n.anchor == anchor)
            .collect();
        notes.sort_by_key(|n| n.line);
        for n in notes {
            let text = if n.line == 0 {
                format!("{indent}-- import-oracle: {}\n", n.text)
            } else {
                format!("{indent}-- import-oracle: line {}: {}\n", n.line, n.text)
            };
            self.out.push_str(&text);
        }
    }

    fn anchored(&self, a: &Anchor) -> bool {
        let m = self.model;
        match a {
            Anchor::File => false,
            Anchor::Program(p) => m.programs.iter().any(|x| &x.name == p),
            Anchor::Chain(c) => m.chains.iter().any(|x| &x.name == c),
            Anchor::Step(c, s) => m
                .chains
                .iter()
                .any(|x| &x.name == c && x.steps.iter().any(|y| &y.name == s)),
            Anchor::Rule(c, id) => m
                .chains
                .iter()
                .any(|x| &x.name == c && x.rules.iter().any(|r| r.id == *id)),
            Anchor::Job(j) => m.jobs.iter().any(|x| &x.name == j),
        }
    }

    fn header(&mut self, source: &str) {
        self.out.push_str(&format!(
            "-- Translated from {} by `chainsched import-oracle`.\n",
            source.replace('\n', " ")
        ));
        let mut loose: Vec<&Note> = self
            .model
            .notes
            .iter()
            .filter(|n| !self.anchored(&n.anchor))
            .collect();
        loose.sort_by_key(|n| n.line);
        for n in loose {
            self.out
                .push_str(&format!("-- import-oracle: line {}: {}\n", n.line, n.text));
        }
    }

    fn program(&mut self, p: &Program) {
        self.out.push('\n');
        self.notes(&Anchor::Program(p.name.clone()), "");
        if let Some(c) = &p.comment {
            self.comment_lines(c, "");
        }
        if let Some(code) = &p.original_code {
            self.out.push_str("-- Oracle code of this program:\n");
            self.comment_lines(code, "--   ");
        }
        let kind = match &p.kind {
            ProgramKind::Executable(x) => format!("executable {}", quote(x)),
            ProgramKind::Shell(x) => format!("shell {}", quote(x)),
            ProgramKind::Handler(x) => format!("handler {}", quote(x)),
        };
        let name = write_name(&p.name);
        self.object(Anchor::Program(p.name.clone()), p.commented, "", |w| {
            if p.arguments.is_empty() {
                w.out.push_str(&format!("program {name} {{ {kind}; }}\n"));
            } else {
                let args: Vec<String> = p.arguments.iter().map(|a| quote(a)).collect();
                w.out.push_str(&format!(
                    "program {name} {{\n    {kind};\n    arguments {};\n}}\n",
                    args.join(" ")
                ));
            }
        });
    }

    /// `text` as comment lines, each prefixed (`-- ` when `prefix` is empty).
    fn comment_lines(&mut self, text: &str, prefix: &str) {
        let prefix = if prefix.is_empty() { "-- " } else { prefix };
        for line in text.trim().lines() {
            self.out
                .push_str(&format!("{prefix}{}\n", line.trim_end()).replace(" \n", "\n"));
        }
    }

    fn chain(&mut self, c: &Chain) {
        self.out.push('\n');
        self.notes(&Anchor::Chain(c.name.clone()), "");
        self.object(Anchor::Chain(c.name.clone()), c.commented, "", |w| {
            w.chain_body(c)
        });
    }

    fn chain_body(&mut self, c: &Chain) {
        self.out
            .push_str(&format!("chain {} {{\n", write_name(&c.name)));
        if let Some(comment) = &c.comment {
            self.out
                .push_str(&format!("    comment {};\n", quote(comment)));
        }
        if let Some(ms) = c.evaluation_interval {
            self.out
                .push_str(&format!("    evaluation_interval {};\n", duration(ms)));
        }
        if c.comment.is_some() || c.evaluation_interval.is_some() {
            self.out.push('\n');
        }
        let width = c
            .steps
            .iter()
            .map(|s| write_name(&s.name).len())
            .max()
            .unwrap_or(0);
        for s in &c.steps {
            let anchor = Anchor::Step(c.name.clone(), s.name.clone());
            self.notes(&anchor, "    ");
            self.object(anchor, s.commented, "    ", |w| {
                w.out.push_str(&format!(
                    "    step {:width$} {};\n",
                    write_name(&s.name),
                    step_body(s)
                ))
            });
        }
        if !c.steps.is_empty() && !c.rules.is_empty() {
            self.out.push('\n');
        }
        for r in &c.rules {
            let anchor = Anchor::Rule(c.name.clone(), r.id);
            self.notes(&anchor, "    ");
            let text = rule_text(r);
            self.object(anchor, r.rejected, "    ", |w| {
                w.out.push_str(&format!("    {text}\n"))
            });
        }
        self.out.push_str("}\n");
    }

    fn job(&mut self, j: &Job) {
        self.out.push('\n');
        self.notes(&Anchor::Job(j.name.clone()), "");
        self.object(Anchor::Job(j.name.clone()), j.commented, "", |w| {
            w.job_body(j)
        });
    }

    fn job_body(&mut self, j: &Job) {
        self.out
            .push_str(&format!("job {} {{\n", write_name(&j.name)));
        self.out
            .push_str(&format!("    chain {};\n", write_name(&j.chain)));
        if let Some(s) = &j.schedule {
            self.out.push_str(&format!("    schedule {};\n", quote(s)));
        }
        if let Some((event, w)) = &j.on_event {
            match w {
                Some(w) => self
                    .out
                    .push_str(&format!("    on event {} where {w};\n", write_name(event))),
                None => self
                    .out
                    .push_str(&format!("    on event {};\n", write_name(event))),
            }
        }
        if !j.parameters.is_empty() {
            let ps: Vec<String> = j
                .parameters
                .iter()
                .map(|(k, v)| format!("{} = {}", write_name(k), quote(v)))
                .collect();
            self.out
                .push_str(&format!("    parameters {};\n", ps.join(", ")));
        }
        if j.restartable {
            self.out.push_str("    restartable;\n");
        }
        if let Some(ms) = j.max_run_duration {
            self.out
                .push_str(&format!("    max_run_duration {};\n", duration(ms)));
        }
        if let Some(tz) = &j.time_zone {
            self.out
                .push_str(&format!("    time_zone {};\n", quote(tz)));
        }
        if let Some(d) = &j.start_date {
            self.out
                .push_str(&format!("    start_date {};\n", quote(d)));
        }
        if let Some(d) = &j.end_date {
            self.out.push_str(&format!("    end_date {};\n", quote(d)));
        }
        if let Some(n) = j.max_runs {
            self.out.push_str(&format!("    max_runs {n};\n"));
        }
        if let Some(n) = j.max_failures {
            self.out.push_str(&format!("    max_failures {n};\n"));
        }
        if !j.enabled {
            // Oracle creates jobs disabled (enabled => FALSE) until DBMS_SCHEDULER.ENABLE.
            self.out.push_str("    enabled false;\n");
        }
        if let Some(c) = &j.comment {
            self.out.push_str(&format!("    comment {};\n", quote(c)));
        }
        self.out.push_str("}\n");
    }
}

fn step_body(s: &Step) -> String {
    let mut body = match &s.target {
        Target::Program(p) => format!("program {}", write_name(p)),
        Target::Chain(c) => format!("chain {}", write_name(c)),
        Target::Event {
            event,
            payload_where,
        } => match payload_where {
            Some(w) => format!("event {} where {w}", write_name(event)),
            None => format!("event {}", write_name(event)),
        },
    };
    let a = &s.attrs;
    let attrs: Vec<&str> = [
        (a.skip, "skip"),
        (a.pause, "pause"),
        (a.pause_before, "pause_before"),
        (a.restart_on_recovery, "restart_on_recovery"),
        (a.restart_on_failure, "restart_on_failure"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    if !attrs.is_empty() {
        body.push_str(&format!(" with {}", attrs.join(", ")));
    }
    body
}

/// `rule NAME when CONDITION then ACTION [comment '...'];` — condition and action verbatim.
/// A line break follows a text that holds a comment marker, so it cannot swallow `then`.
fn rule_text(r: &Rule) -> String {
    let sep = |t: &str| {
        if t.contains("--") || t.contains('#') {
            "\n    "
        } else {
            " "
        }
    };
    let name = r
        .name
        .as_deref()
        .map(|n| format!("{} ", write_name(n)))
        .unwrap_or_default();
    let mut text = format!(
        "rule {name}when {}{}then {}",
        r.condition,
        sep(&r.condition),
        r.action
    );
    if let Some(c) = &r.comment {
        text.push_str(&format!("{}comment {}", sep(&r.action), quote(c)));
    } else if sep(&r.action) != " " {
        text.push_str("\n    ");
    }
    text.push(';');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_no_decimals() {
        assert_eq!(duration(5_400_000), "1h30m");
        assert_eq!(duration(1500), "1s500ms");
        assert_eq!(duration(0), "0s");
    }
}
