//! The in-memory MVCC store. (Skeleton: the store helper fills this in.)

/// Tuning for [`MemoryStore`].
#[derive(Clone, Debug)]
pub struct MemoryStoreConfig {
    /// How many events the watch history keeps; older revisions get 410 Expired.
    pub history: usize,
}

/// The in-memory store.
#[derive(Debug)]
pub struct MemoryStore {
    _config: MemoryStoreConfig,
}
