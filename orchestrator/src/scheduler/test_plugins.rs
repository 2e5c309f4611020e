//! Configurable fake plugins for the runtime's and the algorithm's tests. A factory's `args`
//! say which extension points the fake implements and what it answers there, so a profile in a
//! test reads as a table:
//!
//! ```json
//! { "preFilter": {"code": "Skip"} | {"nodes": ["n1"]} | {"code": "Unschedulable", "reason": "…"},
//!   "filter": {"n1": "reason"}            // rejects n1 (Unschedulable) with the reason
//!   "filterCode": "UnschedulableAndUnresolvable",
//!   "filterMaxPods": 1,                   // rejects nodes with that many pods ("Too many pods")
//!   "preScore": "Skip",
//!   "score": {"n1": 10}, "normalize": true, // normalize: score * 100 / max
//!   "reserve": "Unschedulable", "permit": "Wait" | "Unschedulable", "bind": "Skip" | "Error" }
//! ```

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use super::framework::*;

/// A fake plugin.
pub(crate) struct Fake {
    name: &'static str,
    args: Value,
    /// What happened, in order (`reserve`, `unreserve`, `bind n1`, …).
    pub log: Mutex<Vec<String>>,
}

fn code(s: &str) -> Code {
    match s {
        "Unschedulable" => Code::Unschedulable,
        "UnschedulableAndUnresolvable" => Code::UnschedulableAndUnresolvable,
        "Skip" => Code::Skip,
        "Wait" => Code::Wait,
        "Error" => Code::Error,
        "Pending" => Code::Pending,
        _ => Code::Success,
    }
}

fn status(c: Code, reason: &str) -> Status {
    match c {
        Code::Success => Status::success(),
        Code::Skip => Status::skip(),
        c => Status::new(c, reason.to_string()),
    }
}

macro_rules! fakes {
    ($($f:ident => $name:literal),*) => {
        $(
            /// A fake's factory.
            pub(crate) fn $f(args: &Value, _h: &Handle) -> Result<Arc<dyn Plugin>, String> {
                Ok(Arc::new(Fake { name: $name, args: args.clone(), log: Mutex::default() }))
            }
        )*
        /// The fakes by name, as a registry.
        pub(crate) fn registry() -> Vec<(&'static str, PluginFactory)> {
            let mut r = super::plugins::registry();
            $( r.push(($name, $f as PluginFactory)); )*
            r
        }
    };
}

fakes!(fake_a => "FakeA", fake_b => "FakeB", fake_c => "FakeC", fake_d => "FakeD");

impl Plugin for Fake {
    fn name(&self) -> &'static str {
        self.name
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilter> {
        self.args.get("preFilter").map(|_| self as &dyn PreFilter)
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        self.args.get("filter").map(|_| self as &dyn Filter)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        self.args.get("preScore").map(|_| self as &dyn PreScore)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        self.args.get("score").map(|_| self as &dyn Score)
    }
    fn as_reserve(&self) -> Option<&dyn Reserve> {
        self.args.get("reserve").map(|_| self as &dyn Reserve)
    }
    fn as_permit(&self) -> Option<&dyn Permit> {
        self.args.get("permit").map(|_| self as &dyn Permit)
    }
    fn as_bind(&self) -> Option<&dyn Bind> {
        self.args.get("bind").map(|_| self as &dyn Bind)
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilter> {
        self.args.get("postFilter").map(|_| self as &dyn PostFilter)
    }
}

impl PreFilter for Fake {
    fn pre_filter(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let a = &self.args["preFilter"];
        if let Some(nodes) = a.get("nodes").and_then(Value::as_array) {
            let names = nodes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            return (
                Some(PreFilterResult {
                    node_names: Some(names),
                }),
                Status::success(),
            );
        }
        let c = code(a.get("code").and_then(Value::as_str).unwrap_or(""));
        let reason = a.get("reason").and_then(Value::as_str).unwrap_or("");
        (None, status(c, reason))
    }
}

impl Filter for Fake {
    fn filter(&self, _state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(max) = self.args["filterMaxPods"].as_u64()
            && node.pods.len() as u64 >= max
        {
            return Status::unschedulable("Too many pods");
        }
        match self.args["filter"].get(&node.name).and_then(Value::as_str) {
            Some(reason) => {
                let c = self.args["filterCode"]
                    .as_str()
                    .map(code)
                    .unwrap_or(Code::Unschedulable);
                Status::new(c, reason.to_string())
            }
            None => Status::success(),
        }
    }
}

impl PreScore for Fake {
    fn pre_score(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snapshot: &Snapshot,
    ) -> Status {
        status(
            code(self.args["preScore"].as_str().unwrap_or("")),
            "pre-score",
        )
    }
}

impl Score for Fake {
    fn score(&self, _state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let s = self.args["score"]
            .get(&node.name)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        (s, Status::success())
    }
    fn has_normalize(&self) -> bool {
        self.args["normalize"].as_bool() == Some(true)
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
        if max > 0 {
            for s in scores {
                s.score = s.score * MAX_NODE_SCORE / max;
            }
        }
        Status::success()
    }
}

impl Reserve for Fake {
    fn reserve(&self, _state: &mut CycleState, _pod: &PodInfo, node: &str) -> Status {
        self.log.lock().push(format!("reserve {node}"));
        status(
            code(self.args["reserve"].as_str().unwrap_or("")),
            "reserve failed",
        )
    }
    fn unreserve(&self, _state: &mut CycleState, _pod: &PodInfo, node: &str) {
        self.log.lock().push(format!("unreserve {node}"));
    }
}

impl Permit for Fake {
    fn permit(&self, _state: &mut CycleState, _pod: &PodInfo, _node: &str) -> (Status, Duration) {
        let c = code(self.args["permit"].as_str().unwrap_or(""));
        (status(c, "permit"), Duration::from_millis(10))
    }
}

impl Bind for Fake {
    fn bind(&self, _state: &CycleState, _pod: &PodInfo, node: &str) -> Status {
        self.log.lock().push(format!("bind {node}"));
        status(
            code(self.args["bind"].as_str().unwrap_or("")),
            "bind failed",
        )
    }
}

impl PostFilter for Fake {
    fn post_filter(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _snapshot: &Snapshot,
        statuses: &NodeToStatus,
        _runner: &dyn FilterRunner,
    ) -> (Option<PostFilterResult>, Status) {
        let msg = format!("preemption: {} nodes seen", statuses.len());
        (None, Status::unschedulable(msg))
    }
}
