//! What a step's standard output means: control lines (`::progress`, `::status`,
//! `::error-code`, `::set`) and the bounded tail of everything else (rule-language.md, "Outcome
//! of an external program"; docs/variables.md).

use crate::store::records::OUTPUT_LIMIT;

/// One line of standard output, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `::progress SOFAR/TOTAL [message]`
    Progress {
        sofar: u64,
        total: u64,
        message: Option<String>,
    },
    /// `::status message`
    Status(String),
    /// `::error-code N` (N > 0)
    ErrorCode(i64),
    /// `::set NAME=VALUE`: set job variable NAME (upper-cased) when the step ends.
    Set { name: String, value: String },
    /// A `::set` line that cannot be applied, with the reason (noted in the step's errors).
    BadSet(String),
    /// Anything else (also malformed control lines: they are kept as output).
    Output,
}

pub fn classify(line: &str) -> Line {
    let t = line.trim_end_matches(['\r', '\n']);
    let t = t.trim_start();
    if let Some(rest) = t.strip_prefix("::progress") {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            let rest = rest.trim();
            let (frac, message) = match rest.split_once(char::is_whitespace) {
                Some((f, m)) => (f, Some(m.trim().to_string()).filter(|m| !m.is_empty())),
                None => (rest, None),
            };
            if let Some((a, b)) = frac.split_once('/') {
                if let (Ok(sofar), Ok(total)) = (a.parse::<u64>(), b.parse::<u64>()) {
                    return Line::Progress {
                        sofar,
                        total,
                        message,
                    };
                }
            }
        }
        return Line::Output;
    }
    if let Some(rest) = t.strip_prefix("::status") {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return Line::Status(rest.trim().to_string());
        }
        return Line::Output;
    }
    if let Some(rest) = t.strip_prefix("::set") {
        if rest.starts_with(char::is_whitespace) {
            return set_line(rest.trim_start());
        }
        return Line::Output;
    }
    if let Some(rest) = t.strip_prefix("::error-code") {
        if let Ok(n) = rest.trim().parse::<i64>() {
            if n > 0 && rest.starts_with(char::is_whitespace) {
                return Line::ErrorCode(n);
            }
        }
    }
    Line::Output
}

/// At most this many different variables set by one attempt (a parameter set is capped the
/// same way: `runtime::limits`); further names are refused.
pub const MAX_VARIABLES_PER_ATTEMPT: usize = 256;

/// Record `name = value` among an attempt's variables: a name set again keeps its place and
/// takes the new value (the last one wins); a new name beyond the cap is refused (`Err`: why).
pub fn push_variable(
    vars: &mut Vec<(String, String)>,
    name: String,
    value: String,
) -> Result<(), String> {
    if let Some(slot) = vars.iter_mut().find(|(n, _)| *n == name) {
        slot.1 = value;
        return Ok(());
    }
    if vars.len() >= MAX_VARIABLES_PER_ATTEMPT {
        return Err(format!(
            "::set {name}=…: one attempt sets at most {MAX_VARIABLES_PER_ATTEMPT} different variables"
        ));
    }
    vars.push((name, value));
    Ok(())
}

/// `NAME=VALUE` of a `::set` line: the value is everything after the first `=` (it may be
/// empty, which reads as NULL in conditions); the name follows the parameter-name rule.
fn set_line(text: &str) -> Line {
    let Some((name, value)) = text.split_once('=') else {
        return Line::BadSet(format!(
            "::set {text}: expected ::set NAME=VALUE (no '=' found)"
        ));
    };
    let name = name.trim().to_ascii_uppercase();
    if !crate::core::types::valid_variable_name(&name) {
        return Line::BadSet(format!(
            "::set {name}=…: '{name}' is not a variable name (a letter or _, then letters, \
             digits, _, $ or #; at most 128 characters)"
        ));
    }
    if value.contains('\0') {
        return Line::BadSet(format!(
            "::set {name}=…: the value contains a NUL character"
        ));
    }
    Line::Set {
        name,
        value: value.to_string(),
    }
}

/// The last `OUTPUT_LIMIT` bytes written to it.
#[derive(Debug, Default, Clone)]
pub struct TailBuffer {
    buf: Vec<u8>,
}

impl TailBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= OUTPUT_LIMIT {
            self.buf.clear();
            self.buf
                .extend_from_slice(&bytes[bytes.len() - OUTPUT_LIMIT..]);
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > 2 * OUTPUT_LIMIT {
            let cut = self.buf.len() - OUTPUT_LIMIT;
            self.buf.drain(..cut);
        }
    }

    /// The kept text (lossy UTF-8), at most `OUTPUT_LIMIT` bytes.
    pub fn text(&self) -> String {
        let start = self.buf.len().saturating_sub(OUTPUT_LIMIT);
        crate::store::records::bounded_tail(&String::from_utf8_lossy(&self.buf[start..]))
    }
}

/// Splits a byte stream into lines, never holding more than `OUTPUT_LIMIT` bytes of one line
/// (a longer line is handed out in pieces).
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feed bytes; complete lines (with their `\n`) are passed to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.pending.extend_from_slice(&bytes[..=pos]);
            out(&self.pending);
            self.pending.clear();
            bytes = &bytes[pos + 1..];
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= OUTPUT_LIMIT {
            out(&self.pending);
            self.pending.clear();
        }
    }

    /// The unterminated last line, if any.
    pub fn finish(&mut self, out: &mut impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            out(&self.pending);
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_lines_are_recognised() {
        assert_eq!(
            classify("::progress 3/10 loading files\n"),
            Line::Progress {
                sofar: 3,
                total: 10,
                message: Some("loading files".into())
            }
        );
        assert_eq!(
            classify("::progress 3/10"),
            Line::Progress {
                sofar: 3,
                total: 10,
                message: None
            }
        );
        assert_eq!(
            classify("::status half way"),
            Line::Status("half way".into())
        );
        assert_eq!(classify("::error-code 20100\n"), Line::ErrorCode(20100));
    }

    #[test]
    fn set_lines_name_a_variable_and_keep_the_value_as_written() {
        assert_eq!(
            classify("::set region=EU west = 1\n"),
            Line::Set {
                name: "REGION".into(),
                value: "EU west = 1".into()
            }
        );
        assert_eq!(
            classify("::set EMPTY=\r\n"),
            Line::Set {
                name: "EMPTY".into(),
                value: String::new()
            }
        );
        assert!(matches!(classify("::set 9X=1"), Line::BadSet(_)));
        assert!(matches!(classify("::set A B=1"), Line::BadSet(_)));
        assert!(matches!(classify("::set NOVALUE"), Line::BadSet(_)));
        assert!(matches!(classify("::set A=x\0y"), Line::BadSet(_)));
        assert_eq!(classify("::settle A=1"), Line::Output);
    }

    #[test]
    fn an_attempt_sets_a_bounded_number_of_variables_the_last_value_winning() {
        let mut vars = Vec::new();
        push_variable(&mut vars, "A".into(), "1".into()).unwrap();
        push_variable(&mut vars, "B".into(), "2".into()).unwrap();
        push_variable(&mut vars, "A".into(), "3".into()).unwrap();
        assert_eq!(vars, [("A".into(), "3".into()), ("B".into(), "2".into())]);
        for i in 2..MAX_VARIABLES_PER_ATTEMPT {
            push_variable(&mut vars, format!("V{i}"), String::new()).unwrap();
        }
        let err = push_variable(&mut vars, "ONE_MORE".into(), String::new()).unwrap_err();
        assert!(err.contains("at most 256"), "{err}");
        push_variable(&mut vars, "A".into(), "4".into()).unwrap();
    }

    #[test]
    fn malformed_control_lines_are_output() {
        assert_eq!(classify("::progress x/10"), Line::Output);
        assert_eq!(classify("::error-code -3"), Line::Output);
        assert_eq!(classify("::error-code 0"), Line::Output);
        assert_eq!(classify("::error-codes 5"), Line::Output);
        assert_eq!(classify("hello ::status"), Line::Output);
    }

    #[test]
    fn the_tail_keeps_the_last_64k() {
        let mut t = TailBuffer::default();
        for i in 0..20_000 {
            t.push(format!("line {i}\n").as_bytes());
        }
        let text = t.text();
        assert!(text.len() <= OUTPUT_LIMIT);
        assert!(text.ends_with("line 19999\n"));
    }

    #[test]
    fn long_lines_are_split() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.feed(&vec![b'x'; OUTPUT_LIMIT + 10], &mut |l| lines.push(l.len()));
        s.feed(b"ab\ncd", &mut |l| lines.push(l.len()));
        s.finish(&mut |l| lines.push(l.len()));
        assert_eq!(lines, vec![OUTPUT_LIMIT + 10, 3, 2]);
    }
}
