//! The volume plugins: hooks the volumes issue fills.

pub mod binding;
pub mod limits;
pub mod restrictions;
pub mod zone;
