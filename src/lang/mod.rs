//! The rule-file language: text → typed AST, with diagnostics.
//!
//! `grammar/chain.pest` is the grammar; [`parser`] turns pest pairs into the [`ast`] and turns
//! pest errors into person-readable [`diagnostic::Diagnostic`]s. Nothing here resolves names:
//! that is the catalog's job.

pub mod ast;
pub mod diagnostic;
pub mod duration;
pub mod logic;
pub mod parser;
pub mod span;
pub mod sql;

pub use diagnostic::{Diagnostic, Severity};
pub use span::{FileId, SourceMap, Span};
