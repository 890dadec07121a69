//! Parser: pest pairs → [`crate::lang::ast`]. (Being written.)

use super::ast::File;
use super::diagnostic::Diagnostic;
use super::span::FileId;

/// Parse one file. On error, every syntax/value error found is returned (never a partial AST).
pub fn parse_file(_file: FileId, _text: &str) -> Result<File, Vec<Diagnostic>> {
    Ok(File::default())
}

/// Parse a standalone rule condition (rule redefinition at run time, scenario `define_rule`).
pub fn parse_condition(_file: FileId, _text: &str) -> Result<super::ast::Cond, Vec<Diagnostic>> {
    Err(Vec::new())
}

/// Parse a standalone rule action.
pub fn parse_action(_file: FileId, _text: &str) -> Result<super::ast::Action, Vec<Diagnostic>> {
    Err(Vec::new())
}
