//! Controllers inside the control plane. Each is a task that watches the store and acts through
//! [`crate::api::Objects`], so its writes get the same admission and validation as a client's.
//! (Skeleton: namespace and quota controllers come with the admission helper.)
