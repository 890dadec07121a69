//! chainsched: a rule-based chain engine in the style of Oracle DBMS_SCHEDULER chains.
//!
//! See docs/ARCHITECTURE.md. Dependency direction: `lang` → `catalog` → `core`;
//! `sim`, `runtime`, `store` drive the core; `views` read the store; `cli` uses everything.
// The OpenAPI document (`server::openapi`) is one `serde_json::json!` literal whose nesting
// exceeds the default macro recursion limit.
#![recursion_limit = "256"]

pub mod catalog;
pub mod cli;
pub mod core;
pub mod lang;
pub mod oracle;
pub mod runtime;
pub mod schedule;
pub mod server;
pub mod sim;
pub mod store;
pub mod views;
