//! (being built)

pub use super::super::not_built as new;
