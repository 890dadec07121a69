//! Source locations. Every AST node carries a byte [`Span`] into the file it came
//! from; diagnostics turn spans into `file:line:column` plus a caret line.

use serde::{Deserialize, Serialize};

/// Index of a source file inside a [`SourceMap`].
pub type FileId = usize;

/// A half-open byte range `[start, end)` in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end }
    }
}

/// One loaded source file: its display path and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// All source files of a catalog, so spans can be rendered later.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            path: path.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }

    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    /// 1-based line and column (column counted in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file) else {
            return (1, 1);
        };
        let offset = offset.min(f.text.len());
        let mut line = 1;
        let mut line_start = 0;
        for (i, b) in f.text.as_bytes().iter().enumerate().take(offset) {
            if *b == b'\n' {
                line += 1;
                line_start = i + 1;
            }
        }
        let col = f
            .text
            .get(line_start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }

    /// The text of the (1-based) line containing `offset`, without its newline.
    pub fn line_text(&self, file: FileId, offset: usize) -> &str {
        let Some(f) = self.files.get(file) else {
            return "";
        };
        let offset = offset.min(f.text.len());
        let start = f.text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let end = f.text[offset..]
            .find('\n')
            .map(|i| offset + i)
            .unwrap_or(f.text.len());
        f.text[start..end].trim_end_matches('\r')
    }
}
