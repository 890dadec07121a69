//! The limits on job names and parameters now live in the pure core ([`crate::core::limits`]),
//! where the one start check both drivers use ([`crate::core::Core::check_start`]) applies
//! them; re-exported here for existing callers.

pub use crate::core::limits::*;
