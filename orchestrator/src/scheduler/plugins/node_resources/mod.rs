//! NodeResourcesFit and NodeResourcesBalancedAllocation, and the resource allocation scorer
//! they share.

pub mod balanced_allocation;
pub mod fit;
pub mod scorer;
