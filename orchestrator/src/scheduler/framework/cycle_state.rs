//! Per-cycle state, as upstream's `framework.CycleState`: what PreFilter/PreScore compute once
//! for a pod (its requests, compiled affinity terms, topology counts) and Filter/Score read for
//! every node. Written through `&mut` before the node loop, read through `&` inside it, so no
//! lock is taken on the hot path.
//!
//! Preemption clones the state and adjusts it per candidate node through the PreFilter
//! extensions (`add_pod`/`remove_pod`), so every entry is cloneable.

use std::any::{Any, TypeId};

/// Data a plugin keeps in the cycle state. Implemented for every `Any + Clone + Send + Sync`.
pub trait StateData: Any + Send + Sync {
    /// A boxed copy (preemption's dry runs work on copies).
    fn clone_box(&self) -> Box<dyn StateData>;
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The state of one scheduling cycle, keyed by the data's type (each plugin defines its own
/// state type, so keys cannot collide). A handful of entries: a linear scan beats hashing.
#[derive(Default)]
pub struct CycleState {
    entries: Vec<(TypeId, Box<dyn StateData>)>,
    /// Plugins whose PreFilter returned Skip: their Filter is not run this cycle.
    pub skip_filter: Vec<&'static str>,
    /// Plugins whose PreScore returned Skip: their Score is not run this cycle.
    pub skip_score: Vec<&'static str>,
    /// Whether this cycle samples plugin durations for metrics (upstream samples 10%).
    pub record_plugin_metrics: bool,
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field("entries", &self.entries.len())
            .field("skip_filter", &self.skip_filter)
            .field("skip_score", &self.skip_score)
            .finish()
    }
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        Self {
            entries: self
                .entries
                .iter()
                .map(|(k, v)| (*k, (**v).clone_box()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
            record_plugin_metrics: self.record_plugin_metrics,
        }
    }
}

impl CycleState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store `data`, replacing an earlier value of the same type.
    pub fn write<T: StateData + Clone>(&mut self, data: T) {
        let key = TypeId::of::<T>();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = Box::new(data),
            None => self.entries.push((key, Box::new(data))),
        }
    }

    /// The value of type `T`, if a plugin wrote one this cycle.
    pub fn read<T: StateData>(&self) -> Option<&T> {
        let key = TypeId::of::<T>();
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any().downcast_ref())
    }

    /// The value of type `T` for changing it (PreFilter extensions in preemption).
    pub fn read_mut<T: StateData>(&mut self) -> Option<&mut T> {
        let key = TypeId::of::<T>();
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Requests(i64);
    #[derive(Clone, Debug, PartialEq)]
    struct Terms(Vec<String>);

    #[test]
    fn each_type_is_its_own_key_and_a_write_replaces() {
        let mut s = CycleState::new();
        s.write(Requests(1));
        s.write(Terms(vec!["a".into()]));
        s.write(Requests(2));
        assert_eq!(s.read::<Requests>(), Some(&Requests(2)));
        assert_eq!(s.read::<Terms>(), Some(&Terms(vec!["a".into()])));
    }

    #[test]
    fn a_clone_is_independent_of_the_original() {
        let mut s = CycleState::new();
        s.write(Requests(1));
        let mut copy = s.clone();
        copy.read_mut::<Requests>().unwrap().0 = 5;
        assert_eq!(s.read::<Requests>(), Some(&Requests(1)));
        assert_eq!(copy.read::<Requests>(), Some(&Requests(5)));
    }
}
