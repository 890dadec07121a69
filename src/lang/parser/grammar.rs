//! The pest parser generated from grammar/chain.pest (kept in its own module so the generated
//! `Rule` enum does not clash with the AST's names).

#![allow(missing_docs)]

use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/chain.pest"]
pub struct ChainParser;
