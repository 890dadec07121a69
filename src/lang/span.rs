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

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// One loaded source file: its display path and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    /// Byte offset at which each line starts (line 1 at index 0), so that turning a span
    /// into `line:column` is a binary search, not a scan from the top of the file.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Index (0-based) of the line containing `offset`.
    fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }
}

/// All source files of a catalog, so spans can be rendered later.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(path, text));
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
        let mut offset = offset.min(f.text.len());
        while !f.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = f.line_index(offset);
        let line_start = f.line_starts[index];
        let col = f.text[line_start..offset].chars().count() + 1;
        (index + 1, col)
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
