//! (being built)

pub use super::not_built as new;
