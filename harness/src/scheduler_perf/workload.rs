//! Workload files in the shape of upstream scheduler_perf's `performance-config.yaml`: a list of
//! test cases, each a `workloadTemplate` (a list of ops whose counts may name `$params`) and
//! `workloads` (size tiers that set the params, with labels and a throughput `threshold`).
//!
//! Templates are inline objects instead of upstream's `*TemplatePath` files, so one YAML file
//! holds a whole test case and can be embedded in the binary. Every field is checked when the
//! file is loaded, for every tier, and an error names the file and the field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

/// A workload file that cannot be used, with the file and the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct WorkloadError {
    /// The file (its name for an embedded file, its path otherwise).
    pub file: String,
    /// The field, as `SchedulingBasic.workloadTemplate[2].countParam`.
    pub field: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// One test case (upstream `testCase`): ops and the size tiers to run them at.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    /// `SchedulingBasic`, …
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Labels of the test case, added to every tier's.
    pub labels: Vec<String>,
    /// The ops, with counts still as written (a number or a `$param`).
    pub template: Vec<RawOp>,
    /// The size tiers.
    pub workloads: Vec<Tier>,
    default_pod_template: Option<Value>,
}

/// One size tier of a test case (upstream `workload`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    /// `5000Nodes_10000Pods`, …
    pub name: String,
    /// `performance`, `integration-test`, `short`, …
    pub labels: Vec<String>,
    /// Values of the `$params` the ops name.
    pub params: BTreeMap<String, u64>,
    /// The least acceptable average SchedulingThroughput (pods/s); none: not checked.
    pub threshold: Option<f64>,
}

/// An op as written: its index, opcode and fields (checked, counts unresolved).
#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    index: usize,
    opcode: String,
    fields: Map<String, Value>,
}

/// How `churn` treats the objects it creates (upstream `churnMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChurnMode {
    /// Create one object of each template every interval, `number` times (0: until the end).
    Create,
    /// Keep `number` objects of each template, deleting and recreating one every interval.
    Recreate,
}

/// The Node objects a `createNodes` op makes (upstream's node template and
/// `labelNodePrepareStrategy` in one).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTemplate {
    /// Node names are `<namePrefix><op>-<i>`.
    pub name_prefix: String,
    /// Labels of every node (`kubernetes.io/hostname` is added).
    pub labels: BTreeMap<String, String>,
    /// `status.capacity` (and `allocatable`): upstream's node-default.yaml unless given.
    pub capacity: BTreeMap<String, String>,
    /// Values of `topology.kubernetes.io/zone`, given to the nodes round robin.
    pub zones: Vec<String>,
    /// `spec.taints`.
    pub taints: Vec<Value>,
}

/// An op with its counts resolved for one tier.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Create `count` nodes, Ready.
    CreateNodes {
        /// How many.
        count: usize,
        /// What they look like.
        template: NodeTemplate,
    },
    /// Create namespaces `<prefix>-0` … `<prefix>-<count-1>`.
    CreateNamespaces {
        /// Name prefix.
        prefix: String,
        /// How many.
        count: usize,
        /// Their labels.
        labels: BTreeMap<String, String>,
    },
    /// Create one object of any kind (a PriorityClass, a Service, …).
    CreateAny {
        /// The object, with `apiVersion`, `kind` and `metadata.name`.
        object: Value,
    },
    /// Create `count` pods from `template` in `namespace`.
    CreatePods {
        /// How many.
        count: usize,
        /// The pod.
        template: Value,
        /// Where (upstream default: `namespace-<op index>`).
        namespace: String,
        /// Whether this op's pods are measured.
        collect_metrics: bool,
        /// Go on without waiting for the pods to be scheduled.
        skip_wait: bool,
    },
    /// Create (and delete) objects in the background until the workload ends.
    Churn {
        /// How.
        mode: ChurnMode,
        /// See [`ChurnMode`].
        number: usize,
        /// Between two rounds.
        interval: Duration,
        /// One object is made of each per round.
        templates: Vec<Value>,
        /// Namespace of namespaced objects.
        namespace: String,
    },
    /// Wait until every pod created so far (in `namespaces`, or all) is scheduled.
    Barrier {
        /// Only these namespaces; empty: all.
        namespaces: Vec<String>,
    },
    /// Delete the pods of `namespace`, `per_second` at a time (0: all at once).
    DeletePods {
        /// Which namespace.
        namespace: String,
        /// Rate; 0 is as fast as possible.
        per_second: f64,
        /// Go on without waiting for the deletes to finish.
        skip_wait: bool,
    },
    /// Wait.
    Sleep {
        /// How long.
        duration: Duration,
    },
}

impl Op {
    /// The opcode, as written in files.
    pub fn opcode(&self) -> &'static str {
        match self {
            Op::CreateNodes { .. } => "createNodes",
            Op::CreateNamespaces { .. } => "createNamespaces",
            Op::CreateAny { .. } => "createAny",
            Op::CreatePods { .. } => "createPods",
            Op::Churn { .. } => "churn",
            Op::Barrier { .. } => "barrier",
            Op::DeletePods { .. } => "deletePods",
            Op::Sleep { .. } => "sleep",
        }
    }
}

/// The fields each opcode accepts (besides `opcode`).
const FIELDS: &[(&str, &[&str])] = &[
    ("createNodes", &["count", "countParam", "nodeTemplate"]),
    (
        "createNamespaces",
        &["prefix", "count", "countParam", "labels"],
    ),
    ("createAny", &["object"]),
    (
        "createPods",
        &[
            "count",
            "countParam",
            "podTemplate",
            "namespace",
            "collectMetrics",
            "skipWaitToCompletion",
        ],
    ),
    (
        "churn",
        &[
            "mode",
            "number",
            "intervalMilliseconds",
            "templates",
            "namespace",
        ],
    ),
    ("barrier", &["namespaces"]),
    (
        "deletePods",
        &["namespace", "deletePodsPerSecond", "skipWaitToCompletion"],
    ),
    ("sleep", &["duration"]),
];

const NODE_TEMPLATE_FIELDS: &[&str] = &["namePrefix", "labels", "capacity", "zones", "taints"];

/// Parse a workload file (`file` names it in errors) and check every tier of every test case.
pub fn parse(file: &str, yaml: &str) -> Result<Vec<TestCase>, WorkloadError> {
    let err = |field: &str, message: String| WorkloadError {
        file: file.to_owned(),
        field: field.to_owned(),
        message,
    };
    let doc: Value = serde_saphyr::from_str(yaml)
        .map_err(|e| err("(document)", format!("not valid YAML: {e}")))?;
    let Value::Array(cases) = doc else {
        return Err(err(
            "(document)",
            "must be a list of test cases (`- name: …`), as upstream's performance-config.yaml"
                .into(),
        ));
    };
    let mut out: Vec<TestCase> = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        let case = parse_case(file, &format!("[{i}]"), case)?;
        if out.iter().any(|c| c.name == case.name) {
            return Err(err(
                &case.name,
                "a second test case of this name; names must be unique".into(),
            ));
        }
        out.push(case);
    }
    Ok(out)
}

fn parse_case(file: &str, at: &str, case: Value) -> Result<TestCase, WorkloadError> {
    let err = |field: String, message: String| WorkloadError {
        file: file.to_owned(),
        field,
        message,
    };
    let Value::Object(mut map) = case else {
        return Err(err(at.into(), "a test case must be a mapping".into()));
    };
    let name = match map.remove("name") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => {
            return Err(err(
                format!("{at}.name"),
                "missing (a non-empty string)".into(),
            ));
        }
    };
    let labels = string_list(map.remove("labels")).map_err(|m| err(format!("{name}.labels"), m))?;
    let default_pod_template = map.remove("defaultPodTemplate");
    if let Some(t) = &default_pod_template
        && !t.is_object()
    {
        return Err(err(
            format!("{name}.defaultPodTemplate"),
            "must be a Pod object".into(),
        ));
    }
    let Some(Value::Array(ops)) = map.remove("workloadTemplate") else {
        return Err(err(
            format!("{name}.workloadTemplate"),
            "missing (a list of ops)".into(),
        ));
    };
    let Some(Value::Array(tiers)) = map.remove("workloads") else {
        return Err(err(
            format!("{name}.workloads"),
            "missing (a list of size tiers)".into(),
        ));
    };
    if let Some(unknown) = map.keys().next() {
        return Err(err(
            format!("{name}.{unknown}"),
            "unknown field; a test case has name, labels, defaultPodTemplate, workloadTemplate, \
             workloads"
                .into(),
        ));
    }
    let mut template = Vec::new();
    for (index, op) in ops.into_iter().enumerate() {
        let field = format!("{name}.workloadTemplate[{index}]");
        let Value::Object(mut fields) = op else {
            return Err(err(field, "an op must be a mapping".into()));
        };
        let opcode = match fields.remove("opcode") {
            Some(Value::String(s)) => s,
            _ => return Err(err(format!("{field}.opcode"), "missing".into())),
        };
        let Some((_, allowed)) = FIELDS.iter().find(|(o, _)| *o == opcode) else {
            let known: Vec<&str> = FIELDS.iter().map(|(o, _)| *o).collect();
            return Err(err(
                format!("{field}.opcode"),
                format!("unknown opcode {opcode:?}; known: {}", known.join(", ")),
            ));
        };
        if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(err(
                format!("{field}.{unknown}"),
                format!(
                    "unknown field for {opcode}; it takes {}",
                    allowed.join(", ")
                ),
            ));
        }
        template.push(RawOp {
            index,
            opcode,
            fields,
        });
    }
    let mut workloads = Vec::new();
    for (i, tier) in tiers.into_iter().enumerate() {
        workloads.push(parse_tier(file, &format!("{name}.workloads[{i}]"), tier)?);
    }
    let case = TestCase {
        name,
        file: file.to_owned(),
        labels,
        template,
        workloads,
        default_pod_template,
    };
    // Every tier must resolve: a missing param is an error now, not an hour into a run.
    for tier in &case.workloads {
        case.resolve(tier, &BTreeMap::new())?;
    }
    Ok(case)
}

fn parse_tier(file: &str, at: &str, tier: Value) -> Result<Tier, WorkloadError> {
    let err = |field: String, message: String| WorkloadError {
        file: file.to_owned(),
        field,
        message,
    };
    let Value::Object(mut map) = tier else {
        return Err(err(at.into(), "a workload must be a mapping".into()));
    };
    let name = match map.remove("name") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => {
            return Err(err(
                format!("{at}.name"),
                "missing (a non-empty string)".into(),
            ));
        }
    };
    let labels = string_list(map.remove("labels")).map_err(|m| err(format!("{at}.labels"), m))?;
    let mut params = BTreeMap::new();
    match map.remove("params") {
        None => {}
        Some(Value::Object(p)) => {
            for (k, v) in p {
                let Some(n) = v.as_u64() else {
                    return Err(err(
                        format!("{at}.params.{k}"),
                        format!("must be a whole number ≥ 0, not {v}"),
                    ));
                };
                params.insert(k, n);
            }
        }
        Some(_) => return Err(err(format!("{at}.params"), "must be a mapping".into())),
    }
    let threshold = match map.remove("threshold") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(t) if t > 0.0 => Some(t),
            _ => {
                return Err(err(
                    format!("{at}.threshold"),
                    format!("must be a positive number of pods/s, not {v}"),
                ));
            }
        },
    };
    if let Some(unknown) = map.keys().next() {
        return Err(err(
            format!("{at}.{unknown}"),
            "unknown field; a workload has name, labels, params, threshold".into(),
        ));
    }
    Ok(Tier {
        name,
        labels,
        params,
        threshold,
    })
}

fn string_list(v: Option<Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                other => Err(format!("must be a list of strings; {other} is not one")),
            })
            .collect(),
        Some(other) => Err(format!("must be a list of strings, not {other}")),
    }
}

impl TestCase {
    /// The tier named `name`.
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.workloads.iter().find(|t| t.name == name)
    }

    /// The tier a bare test-case name runs: the first labelled `performance` (upstream's CI
    /// tier, the one the issue's goals are about), else the last.
    pub fn default_tier(&self) -> &Tier {
        self.workloads
            .iter()
            .find(|t| t.labels.iter().any(|l| l == "performance"))
            .or_else(|| self.workloads.last())
            .expect("a parsed test case has at least one tier")
    }

    /// The ops of `tier`, with `overrides` replacing its params (the CLI's `--nodes`/`--pods`).
    pub fn resolve(
        &self,
        tier: &Tier,
        overrides: &BTreeMap<String, u64>,
    ) -> Result<Vec<Op>, WorkloadError> {
        let mut params = tier.params.clone();
        for (k, v) in overrides {
            params.insert(k.clone(), *v);
        }
        self.template
            .iter()
            .map(|raw| self.resolve_op(tier, raw, &params))
            .collect()
    }

    fn resolve_op(
        &self,
        tier: &Tier,
        raw: &RawOp,
        params: &BTreeMap<String, u64>,
    ) -> Result<Op, WorkloadError> {
        let at = format!("{}.workloadTemplate[{}]", self.name, raw.index);
        let err = |field: &str, message: String| WorkloadError {
            file: self.file.clone(),
            field: format!("{at}.{field}"),
            message,
        };
        let f = &raw.fields;
        let default_ns = format!("namespace-{}", raw.index);
        let count = |required: bool| -> Result<usize, WorkloadError> {
            match (f.get("count"), f.get("countParam")) {
                (Some(_), Some(_)) => Err(err(
                    "countParam",
                    "give count or countParam, not both".into(),
                )),
                (Some(v), None) => v
                    .as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| err("count", format!("must be a whole number, not {v}"))),
                (None, Some(Value::String(p))) => {
                    let Some(key) = p.strip_prefix('$') else {
                        return Err(err(
                            "countParam",
                            format!("must name a param as `$name`, not {p:?}"),
                        ));
                    };
                    params.get(key).map(|n| *n as usize).ok_or_else(|| {
                        err(
                            "countParam",
                            format!(
                                "param ${key} is not set by workload {} (it sets: {})",
                                tier.name,
                                params.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        )
                    })
                }
                (None, Some(v)) => Err(err("countParam", format!("must be a string, not {v}"))),
                (None, None) if required => {
                    Err(err("count", "missing: give count or countParam".into()))
                }
                (None, None) => Ok(1),
            }
        };
        let bool_field = |name: &str| -> Result<bool, WorkloadError> {
            match f.get(name) {
                None => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(v) => Err(err(name, format!("must be true or false, not {v}"))),
            }
        };
        let string_field = |name: &str| -> Result<Option<String>, WorkloadError> {
            match f.get(name) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(v) => Err(err(name, format!("must be a non-empty string, not {v}"))),
            }
        };
        let op = match raw.opcode.as_str() {
            "createNodes" => Op::CreateNodes {
                count: count(true)?,
                template: node_template(f.get("nodeTemplate"))
                    .map_err(|(field, m)| err(&format!("nodeTemplate{field}"), m))?,
            },
            "createNamespaces" => Op::CreateNamespaces {
                prefix: string_field("prefix")?
                    .ok_or_else(|| err("prefix", "missing (namespaces are <prefix>-<i>)".into()))?,
                count: count(true)?,
                labels: string_map(f.get("labels")).map_err(|m| err("labels", m))?,
            },
            "createAny" => {
                let object = f.get("object").cloned().unwrap_or(Value::Null);
                let named = object.pointer("/metadata/name").and_then(Value::as_str);
                if object.get("apiVersion").and_then(Value::as_str).is_none()
                    || object.get("kind").and_then(Value::as_str).is_none()
                    || named.is_none()
                {
                    return Err(err(
                        "object",
                        "must be an object with apiVersion, kind and metadata.name".into(),
                    ));
                }
                Op::CreateAny {
                    object: quantities_as_strings(object),
                }
            }
            "createPods" => {
                let template = f
                    .get("podTemplate")
                    .or(self.default_pod_template.as_ref())
                    .cloned()
                    .ok_or_else(|| {
                        err(
                            "podTemplate",
                            "missing, and the test case has no defaultPodTemplate".into(),
                        )
                    })?;
                if template.get("spec").and_then(Value::as_object).is_none() {
                    return Err(err("podTemplate", "must be a Pod with a spec".into()));
                }
                Op::CreatePods {
                    count: count(true)?,
                    template: quantities_as_strings(template),
                    namespace: string_field("namespace")?.unwrap_or(default_ns),
                    collect_metrics: bool_field("collectMetrics")?,
                    skip_wait: bool_field("skipWaitToCompletion")?,
                }
            }
            "churn" => {
                let mode = match f.get("mode").and_then(Value::as_str) {
                    Some("create") => ChurnMode::Create,
                    Some("recreate") => ChurnMode::Recreate,
                    other => {
                        return Err(err(
                            "mode",
                            format!("must be create or recreate, not {other:?}"),
                        ));
                    }
                };
                let number = match f.get("number") {
                    None => 0,
                    Some(v) => v
                        .as_u64()
                        .ok_or_else(|| err("number", format!("must be a whole number, not {v}")))?
                        as usize,
                };
                if mode == ChurnMode::Recreate && number == 0 {
                    return Err(err(
                        "number",
                        "recreate churn needs number ≥ 1 (objects kept of each template)".into(),
                    ));
                }
                let interval = match f.get("intervalMilliseconds") {
                    None => Duration::from_millis(500),
                    Some(v) => match v.as_u64() {
                        Some(ms) if ms > 0 => Duration::from_millis(ms),
                        _ => {
                            return Err(err(
                                "intervalMilliseconds",
                                format!("must be a positive whole number, not {v}"),
                            ));
                        }
                    },
                };
                let templates = match f.get("templates") {
                    Some(Value::Array(t)) if !t.is_empty() => t.clone(),
                    _ => {
                        return Err(err(
                            "templates",
                            "missing (a non-empty list of objects)".into(),
                        ));
                    }
                };
                for (i, t) in templates.iter().enumerate() {
                    if !matches!(
                        t.get("kind").and_then(Value::as_str),
                        Some("Pod" | "Node" | "Service")
                    ) {
                        return Err(err(
                            &format!("templates[{i}].kind"),
                            "churn makes Pods, Nodes and Services".into(),
                        ));
                    }
                }
                Op::Churn {
                    mode,
                    number,
                    interval,
                    templates: templates.into_iter().map(quantities_as_strings).collect(),
                    namespace: string_field("namespace")?.unwrap_or(default_ns),
                }
            }
            "barrier" => Op::Barrier {
                namespaces: string_list(f.get("namespaces").cloned())
                    .map_err(|m| err("namespaces", m))?,
            },
            "deletePods" => Op::DeletePods {
                namespace: string_field("namespace")?
                    .ok_or_else(|| err("namespace", "missing".into()))?,
                per_second: match f.get("deletePodsPerSecond") {
                    None => 0.0,
                    Some(v) => v.as_f64().filter(|r| *r >= 0.0).ok_or_else(|| {
                        err(
                            "deletePodsPerSecond",
                            format!("must be a number ≥ 0, not {v}"),
                        )
                    })?,
                },
                skip_wait: bool_field("skipWaitToCompletion")?,
            },
            "sleep" => Op::Sleep {
                duration: match f.get("duration") {
                    Some(Value::String(s)) => parse_duration(s).map_err(|m| err("duration", m))?,
                    other => {
                        return Err(err(
                            "duration",
                            format!("must be a duration like 500ms, 2s or 1m, not {other:?}"),
                        ));
                    }
                },
            },
            _ => unreachable!("opcodes are checked when the file is parsed"),
        };
        Ok(op)
    }
}

fn string_map(v: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                other => Err(format!("{k}: must be a string, not {other}")),
            })
            .collect(),
        Some(other) => Err(format!("must be a mapping of strings, not {other}")),
    }
}

/// Upstream's node-default.yaml: 4 CPUs, 32 Gi, 110 pods.
fn default_capacity() -> BTreeMap<String, String> {
    [("cpu", "4"), ("memory", "32Gi"), ("pods", "110")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn node_template(v: Option<&Value>) -> Result<NodeTemplate, (String, String)> {
    let mut t = NodeTemplate {
        name_prefix: "scheduler-perf-".to_owned(),
        labels: BTreeMap::new(),
        capacity: default_capacity(),
        zones: Vec::new(),
        taints: Vec::new(),
    };
    let Some(v) = v else { return Ok(t) };
    let Value::Object(m) = v else {
        return Err((String::new(), "must be a mapping".into()));
    };
    if let Some(unknown) = m
        .keys()
        .find(|k| !NODE_TEMPLATE_FIELDS.contains(&k.as_str()))
    {
        return Err((
            format!(".{unknown}"),
            format!(
                "unknown field; a node template has {}",
                NODE_TEMPLATE_FIELDS.join(", ")
            ),
        ));
    }
    if let Some(p) = m.get("namePrefix") {
        t.name_prefix = p
            .as_str()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| (".namePrefix".to_owned(), "must be a string".to_owned()))?
            .to_owned();
    }
    t.labels = string_map(m.get("labels")).map_err(|e| (".labels".to_owned(), e))?;
    if m.contains_key("capacity") {
        t.capacity = string_map(m.get("capacity")).map_err(|e| (".capacity".to_owned(), e))?;
    }
    t.zones = string_list(m.get("zones").cloned()).map_err(|e| (".zones".to_owned(), e))?;
    match m.get("taints") {
        None => {}
        Some(Value::Array(taints)) => t.taints = taints.clone(),
        Some(_) => return Err((".taints".into(), "must be a list of taints".into())),
    }
    Ok(t)
}

/// YAML reads `cpu: 4` as a number, the API wants quantities as strings: stringify numbers
/// under the keys that hold quantities.
fn quantities_as_strings(mut v: Value) -> Value {
    fn walk(v: &mut Value, in_quantities: bool) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    let q = matches!(
                        k.as_str(),
                        "requests" | "limits" | "capacity" | "allocatable" | "overhead"
                    );
                    walk(child, q);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, false)),
            Value::Number(n) if in_quantities => *v = Value::String(n.to_string()),
            _ => {}
        }
    }
    walk(&mut v, false);
    v
}

/// `500ms`, `2s`, `1.5s`, `1m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 500ms, 2s or 1m");
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const BASIC: &str = r#"
- name: SchedulingBasic
  defaultPodTemplate:
    apiVersion: v1
    kind: Pod
    metadata: { generateName: pod- }
    spec:
      containers:
      - name: pause
        image: registry.k8s.io/pause:3.10
        resources: { requests: { cpu: 100m, memory: 500Mi } }
  workloadTemplate:
  - opcode: createNodes
    countParam: $initNodes
    nodeTemplate:
      capacity: { cpu: 4, memory: 32Gi, pods: 110 }
      zones: [moon-a, moon-b]
  - opcode: createPods
    countParam: $initPods
  - opcode: createPods
    countParam: $measurePods
    collectMetrics: true
  workloads:
  - name: 5Nodes
    labels: [integration-test, short]
    params: { initNodes: 5, initPods: 5, measurePods: 10 }
  - name: 5000Nodes_10000Pods
    labels: [performance]
    threshold: 10000
    params: { initNodes: 5000, initPods: 1000, measurePods: 10000 }
"#;

    #[test]
    fn a_test_case_parses_and_resolves_its_params_per_tier() {
        let cases = parse("basic.yaml", BASIC).unwrap();
        let case = &cases[0];
        assert_eq!(case.name, "SchedulingBasic");
        assert_eq!(case.default_tier().name, "5000Nodes_10000Pods");
        assert_eq!(case.default_tier().threshold, Some(10000.0));
        let ops = case
            .resolve(case.tier("5Nodes").unwrap(), &BTreeMap::new())
            .unwrap();
        let Op::CreateNodes { count, template } = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(*count, 5);
        assert_eq!(
            template.capacity["cpu"], "4",
            "numbers become quantity strings"
        );
        assert_eq!(template.zones, ["moon-a", "moon-b"]);
        let Op::CreatePods {
            count,
            namespace,
            collect_metrics,
            template,
            ..
        } = &ops[2]
        else {
            panic!("{ops:?}")
        };
        assert_eq!(
            (*count, namespace.as_str(), *collect_metrics),
            (10, "namespace-2", true)
        );
        assert_eq!(template["metadata"]["generateName"], "pod-");
        let big = case
            .resolve(
                case.default_tier(),
                &BTreeMap::from([("measurePods".to_owned(), 7)]),
            )
            .unwrap();
        assert!(
            matches!(big[2], Op::CreatePods { count: 7, .. }),
            "overrides win"
        );
    }

    #[rstest]
    #[case::unknown_opcode(
        "- name: C\n  workloadTemplate:\n  - opcode: createPod\n  workloads: []\n",
        "x.yaml: C.workloadTemplate[0].opcode: unknown opcode \"createPod\""
    )]
    #[case::unknown_op_field(
        "- name: C\n  workloadTemplate:\n  - opcode: barrier\n    namespace: a\n  workloads: []\n",
        "x.yaml: C.workloadTemplate[0].namespace: unknown field for barrier"
    )]
    #[case::missing_param(
        "- name: C\n  workloadTemplate:\n  - opcode: createNodes\n    countParam: $initNodes\n  workloads:\n  - name: T\n    params: { nodes: 3 }\n",
        "x.yaml: C.workloadTemplate[0].countParam: param $initNodes is not set by workload T (it sets: nodes)"
    )]
    #[case::count_and_param(
        "- name: C\n  workloadTemplate:\n  - opcode: createNodes\n    count: 1\n    countParam: $n\n  workloads:\n  - name: T\n    params: { n: 3 }\n",
        "x.yaml: C.workloadTemplate[0].countParam: give count or countParam, not both"
    )]
    #[case::no_pod_template(
        "- name: C\n  workloadTemplate:\n  - opcode: createPods\n    count: 1\n  workloads:\n  - name: T\n",
        "x.yaml: C.workloadTemplate[0].podTemplate: missing, and the test case has no defaultPodTemplate"
    )]
    #[case::recreate_without_number(
        "- name: C\n  workloadTemplate:\n  - opcode: churn\n    mode: recreate\n    templates: [{kind: Node}]\n  workloads:\n  - name: T\n",
        "x.yaml: C.workloadTemplate[0].number: recreate churn needs number"
    )]
    #[case::bad_threshold(
        "- name: C\n  workloadTemplate: []\n  workloads:\n  - name: T\n    threshold: -3\n",
        "x.yaml: C.workloads[0].threshold: must be a positive number of pods/s"
    )]
    #[case::bad_node_template(
        "- name: C\n  workloadTemplate:\n  - opcode: createNodes\n    count: 1\n    nodeTemplate: { zone: [a] }\n  workloads:\n  - name: T\n",
        "x.yaml: C.workloadTemplate[0].nodeTemplate.zone: unknown field; a node template has"
    )]
    #[case::bad_sleep(
        "- name: C\n  workloadTemplate:\n  - opcode: sleep\n    duration: 3 weeks\n  workloads:\n  - name: T\n",
        "x.yaml: C.workloadTemplate[0].duration: \"3 weeks\" is not a duration"
    )]
    #[case::not_a_list("name: C\n", "x.yaml: (document): must be a list of test cases")]
    #[case::unknown_case_field(
        "- name: C\n  workloadTemplate: []\n  workloads: []\n  treshold: 3\n",
        "x.yaml: C.treshold: unknown field"
    )]
    fn errors_name_the_file_and_the_field(#[case] yaml: &str, #[case] starts: &str) {
        let err = parse("x.yaml", yaml)
            .expect_err("must be rejected")
            .to_string();
        assert!(err.starts_with(starts), "{err}");
    }

    #[rstest]
    #[case("500ms", 500)]
    #[case("2s", 2000)]
    #[case("1.5s", 1500)]
    #[case("1m", 60_000)]
    fn durations_parse(#[case] s: &str, #[case] ms: u64) {
        assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms));
    }

    #[test]
    fn duplicate_test_cases_are_rejected() {
        let twice = format!("{BASIC}{}", BASIC.trim_start_matches('\n'));
        let err = parse("basic.yaml", &twice).unwrap_err();
        assert_eq!(err.field, "SchedulingBasic");
    }
}
