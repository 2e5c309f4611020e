//! The scheduler's configuration: [`SchedulerConfig`] in the control plane's config, holding a
//! `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`) parsed from YAML or JSON and
//! defaulted as upstream's `apis/config/v1` does: one `default-scheduler` profile when none is
//! given, and each profile's plugins merged over the default `multiPoint` list
//! (`mergePlugins`), so a profile only says what it changes.

use serde::Deserialize;
use serde_json::Value;

use super::framework::DEFAULT_SCHEDULER_NAME;
use super::framework::runtime::Point;
use super::plugins::DEFAULT_PLUGINS;

/// The `apiVersion` accepted.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
/// The `kind` accepted.
pub const KIND: &str = "KubeSchedulerConfiguration";

/// Whether and how the control plane runs its scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Run the scheduler (default true). Off, pods stay unbound unless something else binds them.
    pub enabled: bool,
    /// Profiles and node sampling.
    pub configuration: KubeSchedulerConfiguration,
    /// Seed of the tie-breaking between equally scored nodes (determinism: one seed per run).
    pub seed: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            configuration: KubeSchedulerConfiguration::default(),
            seed: 0,
        }
    }
}

/// Upstream's `KubeSchedulerConfiguration` (v1), the fields kubeproof acts on. Fields that only
/// concern a separate scheduler process (leader election, client connection, profiling) are
/// accepted and ignored; unknown fields are errors.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeSchedulerConfiguration {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    /// Percentage of nodes to find feasible before scoring; 0 or unset: adaptive (upstream).
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Initial backoff of unschedulable pods, seconds (default 1).
    #[serde(default)]
    pub pod_initial_backoff_seconds: Option<i64>,
    /// Maximum backoff, seconds (default 10).
    #[serde(default)]
    pub pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// Extenders are not supported: a non-empty list is an error.
    #[serde(default)]
    pub extenders: Vec<Value>,
    #[serde(default)]
    pub parallelism: Option<i32>,
    #[serde(default)]
    pub leader_election: Option<Value>,
    #[serde(default)]
    pub client_connection: Option<Value>,
    #[serde(default)]
    pub enable_profiling: Option<bool>,
    #[serde(default)]
    pub enable_contention_profiling: Option<bool>,
    #[serde(default)]
    pub delay_cache_until_active: Option<bool>,
}

/// One profile (upstream `KubeSchedulerProfile`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub scheduler_name: String,
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pub plugins: Plugins,
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

/// The plugins per extension point (upstream `Plugins`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugins {
    #[serde(default)]
    pub pre_enqueue: PluginSet,
    #[serde(default)]
    pub queue_sort: PluginSet,
    #[serde(default)]
    pub pre_filter: PluginSet,
    #[serde(default)]
    pub filter: PluginSet,
    #[serde(default)]
    pub post_filter: PluginSet,
    #[serde(default)]
    pub pre_score: PluginSet,
    #[serde(default)]
    pub score: PluginSet,
    #[serde(default)]
    pub reserve: PluginSet,
    #[serde(default)]
    pub permit: PluginSet,
    #[serde(default)]
    pub pre_bind: PluginSet,
    #[serde(default)]
    pub bind: PluginSet,
    #[serde(default)]
    pub post_bind: PluginSet,
    #[serde(default)]
    pub multi_point: PluginSet,
}

impl Plugins {
    /// The set configured at `point`.
    pub fn get(&self, point: Point) -> &PluginSet {
        match point {
            Point::PreEnqueue => &self.pre_enqueue,
            Point::QueueSort => &self.queue_sort,
            Point::PreFilter => &self.pre_filter,
            Point::Filter => &self.filter,
            Point::PostFilter => &self.post_filter,
            Point::PreScore => &self.pre_score,
            Point::Score => &self.score,
            Point::Reserve => &self.reserve,
            Point::Permit => &self.permit,
            Point::PreBind => &self.pre_bind,
            Point::Bind => &self.bind,
            Point::PostBind => &self.post_bind,
        }
    }

    fn get_mut(&mut self, point: Point) -> &mut PluginSet {
        match point {
            Point::PreEnqueue => &mut self.pre_enqueue,
            Point::QueueSort => &mut self.queue_sort,
            Point::PreFilter => &mut self.pre_filter,
            Point::Filter => &mut self.filter,
            Point::PostFilter => &mut self.post_filter,
            Point::PreScore => &mut self.pre_score,
            Point::Score => &mut self.score,
            Point::Reserve => &mut self.reserve,
            Point::Permit => &mut self.permit,
            Point::PreBind => &mut self.pre_bind,
            Point::Bind => &mut self.bind,
            Point::PostBind => &mut self.post_bind,
        }
    }
}

/// Enabled and disabled plugins of one point (upstream `PluginSet`); `*` disables all.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSet {
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// A plugin named in a set, with its score weight.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginRef {
    pub name: String,
    #[serde(default)]
    pub weight: Option<i32>,
}

/// A plugin's arguments (upstream `PluginConfig`); `args` is handed to its factory as JSON.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginConfig {
    pub name: String,
    #[serde(default)]
    pub args: Value,
}

/// Why a scheduler configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot parse the scheduler configuration: {0}")]
    Parse(String),
    #[error("invalid scheduler configuration: {0}")]
    Invalid(String),
}

impl KubeSchedulerConfiguration {
    /// Parse YAML (or JSON, which is YAML), then default and validate it.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let value: Value =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let mut config: Self =
            serde_json::from_value(value).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.default_and_validate()?;
        Ok(config)
    }

    /// The profiles after defaulting (upstream `SetDefaults_KubeSchedulerConfiguration`): one
    /// `default-scheduler` profile when none is given, every profile's plugins merged over the
    /// defaults.
    pub fn resolved_profiles(&self) -> Vec<Profile> {
        let mut profiles = self.profiles.clone();
        if profiles.is_empty() {
            profiles.push(Profile::default());
        }
        if profiles.len() == 1 && profiles[0].scheduler_name.is_empty() {
            profiles[0].scheduler_name = DEFAULT_SCHEDULER_NAME.to_string();
        }
        for p in &mut profiles {
            p.plugins = merge_plugins(&default_plugins(), &p.plugins);
        }
        profiles
    }

    /// Check what upstream's `ValidateKubeSchedulerConfiguration` checks that applies here.
    pub fn default_and_validate(&mut self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if !self.api_version.is_empty() && self.api_version != API_VERSION {
            return invalid(format!(
                "apiVersion {:?} is not supported (want {API_VERSION})",
                self.api_version
            ));
        }
        if !self.kind.is_empty() && self.kind != KIND {
            return invalid(format!("kind {:?} is not {KIND}", self.kind));
        }
        if !self.extenders.is_empty() {
            return invalid("extenders are not supported".to_string());
        }
        let check_pct = |v: Option<i32>, field: &str| match v {
            Some(p) if !(0..=100).contains(&p) => Err(ConfigError::Invalid(format!(
                "{field}: Invalid value: {p}: not in valid range [0-100]"
            ))),
            _ => Ok(()),
        };
        check_pct(self.percentage_of_nodes_to_score, "percentageOfNodesToScore")?;
        let profiles = self.resolved_profiles();
        let mut names = std::collections::HashSet::new();
        for (i, p) in profiles.iter().enumerate() {
            let field = format!("profiles[{i}]");
            if p.scheduler_name.is_empty() {
                return invalid(format!("{field}.schedulerName: Required value"));
            }
            if !names.insert(p.scheduler_name.clone()) {
                return invalid(format!(
                    "{field}.schedulerName: Duplicate value: {:?}",
                    p.scheduler_name
                ));
            }
            check_pct(
                p.percentage_of_nodes_to_score,
                &format!("{field}.percentageOfNodesToScore"),
            )?;
            let mut seen = std::collections::HashSet::new();
            for c in &p.plugin_config {
                if !seen.insert(c.name.clone()) {
                    return invalid(format!(
                        "{field}.pluginConfig: Duplicate value: {:?}",
                        c.name
                    ));
                }
            }
            for set in Point::ALL
                .iter()
                .map(|pt| p.plugins.get(*pt))
                .chain([&p.plugins.multi_point])
            {
                for r in set.enabled.iter().chain(&set.disabled) {
                    if r.name != "*" && !DEFAULT_PLUGINS.iter().any(|(n, _)| *n == r.name) {
                        return invalid(format!(
                            "{field}.plugins: plugin {:?} does not exist",
                            r.name
                        ));
                    }
                    if r.weight.is_some_and(|w| w < 0) {
                        return invalid(format!(
                            "{field}.plugins: weight of plugin {:?} must not be negative",
                            r.name
                        ));
                    }
                }
            }
        }
        // Upstream: one queue for all profiles, so every profile sorts the same way.
        let sorts: Vec<_> = profiles
            .iter()
            .map(|p| (p.plugins.queue_sort.clone(), p.plugins.multi_point.clone()))
            .collect();
        if sorts.windows(2).any(|w| w[0] != w[1])
            && profiles.iter().any(|p| !p.plugins.queue_sort.enabled.is_empty())
        {
            return invalid(
                "profiles: Invalid value: queueSort must be the same for all profiles".to_string(),
            );
        }
        Ok(())
    }
}

/// Upstream's default plugins (`getDefaultPlugins`): everything in `multiPoint`.
pub fn default_plugins() -> Plugins {
    Plugins {
        multi_point: PluginSet {
            enabled: DEFAULT_PLUGINS
                .iter()
                .map(|(name, weight)| PluginRef {
                    name: name.to_string(),
                    weight: (*weight != 0).then_some(*weight),
                })
                .collect(),
            disabled: Vec::new(),
        },
        ..Plugins::default()
    }
}

/// Upstream `mergePlugins`: each point's custom set over the default set.
fn merge_plugins(defaults: &Plugins, custom: &Plugins) -> Plugins {
    let mut out = Plugins {
        multi_point: merge_set(&defaults.multi_point, &custom.multi_point),
        ..Plugins::default()
    };
    for point in Point::ALL {
        *out.get_mut(point) = merge_set(defaults.get(point), custom.get(point));
    }
    out
}

/// Upstream `mergePluginSet`: defaults minus the disabled (all with `*`), a default that the
/// custom set re-enables replaced in place, then the other custom plugins.
fn merge_set(defaults: &PluginSet, custom: &PluginSet) -> PluginSet {
    let disabled: Vec<&str> = custom.disabled.iter().map(|p| p.name.as_str()).collect();
    let mut replaced = vec![false; custom.enabled.len()];
    let mut enabled = Vec::new();
    if !disabled.contains(&"*") {
        for d in &defaults.enabled {
            if disabled.contains(&d.name.as_str()) {
                continue;
            }
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    replaced[i] = true;
                    enabled.push(custom.enabled[i].clone());
                }
                None => enabled.push(d.clone()),
            }
        }
    }
    for (i, c) in custom.enabled.iter().enumerate() {
        if !replaced[i] {
            enabled.push(c.clone());
        }
    }
    PluginSet {
        enabled,
        disabled: custom
            .disabled
            .iter()
            .map(|p| PluginRef {
                name: p.name.clone(),
                weight: None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &PluginSet) -> Vec<&str> {
        set.enabled.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn no_profiles_means_one_default_scheduler_with_the_default_plugins() {
        let c = KubeSchedulerConfiguration::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )
        .unwrap();
        let p = c.resolved_profiles();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].scheduler_name, "default-scheduler");
        assert_eq!(p[0].plugins.multi_point.enabled.len(), DEFAULT_PLUGINS.len());
        let taint = &p[0].plugins.multi_point.enabled[4];
        assert_eq!((taint.name.as_str(), taint.weight), ("TaintToleration", Some(3)));
    }

    #[test]
    fn a_profile_disables_and_reweights_over_the_defaults() {
        let yaml = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  percentageOfNodesToScore: 100
  plugins:
    multiPoint:
      disabled:
      - name: ImageLocality
      enabled:
      - name: NodeResourcesFit
        weight: 5
    score:
      disabled:
      - name: "*"
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
"#;
        let c = KubeSchedulerConfiguration::parse(yaml).unwrap();
        assert_eq!(c.percentage_of_nodes_to_score, Some(30));
        let p = c.resolved_profiles();
        assert_eq!(p[1].scheduler_name, "bin-packer");
        assert_eq!(p[1].percentage_of_nodes_to_score, Some(100));
        let mp = names(&p[1].plugins.multi_point);
        assert!(!mp.contains(&"ImageLocality"));
        let fit = p[1]
            .plugins
            .multi_point
            .enabled
            .iter()
            .find(|r| r.name == "NodeResourcesFit")
            .unwrap();
        assert_eq!(fit.weight, Some(5));
        assert_eq!(
            mp.iter().position(|n| *n == "NodeResourcesFit"),
            DEFAULT_PLUGINS
                .iter()
                .position(|(n, _)| *n == "NodeResourcesFit"),
            "a re-configured default keeps its place"
        );
        assert_eq!(p[1].plugins.score.disabled[0].name, "*");
        assert_eq!(
            p[1].plugin_config[0].args["scoringStrategy"]["type"],
            "MostAllocated"
        );
    }

    #[test]
    fn unknown_fields_and_plugins_are_clear_errors() {
        let e = KubeSchedulerConfiguration::parse("profiles:\n- schedulerName: x\n  plugins:\n    filter:\n      enabled:\n      - name: NoSuchPlugin\n").unwrap_err();
        assert!(
            e.to_string().contains("plugin \"NoSuchPlugin\" does not exist"),
            "{e}"
        );
        let e = KubeSchedulerConfiguration::parse("profiles:\n- schedulerNam: x\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `schedulerNam`"), "{e}");
        let e = KubeSchedulerConfiguration::parse("percentageOfNodesToScore: 120\n").unwrap_err();
        assert!(e.to_string().contains("not in valid range [0-100]"), "{e}");
        let e = KubeSchedulerConfiguration::parse(
            "profiles:\n- schedulerName: a\n- schedulerName: a\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("Duplicate value"), "{e}");
        let e = KubeSchedulerConfiguration::parse("apiVersion: kubescheduler.config.k8s.io/v1beta3\n")
            .unwrap_err();
        assert!(e.to_string().contains("is not supported"), "{e}");
    }

    #[test]
    fn json_is_accepted_too() {
        let c = KubeSchedulerConfiguration::parse(
            r#"{"apiVersion":"kubescheduler.config.k8s.io/v1","kind":"KubeSchedulerConfiguration","profiles":[{"schedulerName":"json-one"}]}"#,
        )
        .unwrap();
        assert_eq!(c.resolved_profiles()[0].scheduler_name, "json-one");
    }
}
