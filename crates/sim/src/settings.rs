//! The scenario's [`Settings`] (flag names, all optional) resolved into what the decision cores take:
//! the node autoscaler's [`Config`] and the pod autoscaler's [`ControllerConfig`], with the loops'
//! periods. Defaults are the live controllers' flag defaults.

use jiff::SignedDuration;
use swell_node_autoscaler::Config;
use swell_node_autoscaler::scaleup::expander::ExpanderChain;
use swell_pod_autoscaler::ControllerConfig;

use crate::scenario::Settings;

/// Settings ready for the engine.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The node autoscaler's configuration.
    pub node: Config,
    /// The pod autoscaler's configuration.
    pub hpa: ControllerConfig,
    /// `--scan-interval`, seconds.
    pub scan_interval: i64,
    /// `--horizontal-pod-autoscaler-sync-period`, seconds.
    pub hpa_sync_period: i64,
    /// `--initial-node-group-backoff-duration`, seconds.
    pub initial_backoff: i64,
    /// `--max-node-group-backoff-duration`, seconds.
    pub max_backoff: i64,
}

/// A refused setting: its flag name (without `--`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError(pub &'static str, pub String);

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--{}: {}", self.0, self.1)
    }
}

impl Resolved {
    /// Applies the settings over the flags' defaults, refusing impossible values.
    pub fn new(s: &Settings) -> Result<Resolved, SettingError> {
        let mut node = Config::default();
        let mut hpa = ControllerConfig::default();
        let positive = |name: &'static str, d: Option<crate::scenario::Dur>, default: i64| {
            let v = d.map_or(default, |d| d.secs());
            if v <= 0 {
                Err(SettingError(name, "must be above zero".into()))
            } else {
                Ok(v)
            }
        };
        let scan_interval = positive("scan-interval", s.scan_interval, 10)?;
        let hpa_sync_period = positive(
            "horizontal-pod-autoscaler-sync-period",
            s.horizontal_pod_autoscaler_sync_period,
            15,
        )?;
        let initial_backoff = positive(
            "initial-node-group-backoff-duration",
            s.initial_node_group_backoff_duration,
            300,
        )?;
        let max_backoff = positive(
            "max-node-group-backoff-duration",
            s.max_node_group_backoff_duration,
            1800,
        )?;
        if max_backoff < initial_backoff {
            return Err(SettingError(
                "max-node-group-backoff-duration",
                "is below --initial-node-group-backoff-duration".into(),
            ));
        }
        if let Some(e) = &s.expander {
            let chain = ExpanderChain::parse(e).map_err(|err| SettingError("expander", err.to_string()))?;
            if chain.uses_priority() {
                return Err(SettingError(
                    "expander",
                    "the priority expander needs a priorities ConfigMap, which scenarios do not carry".into(),
                ));
            }
            node.scale_up.expander = chain;
        }
        let dur = |d: Option<crate::scenario::Dur>, into: &mut SignedDuration| {
            if let Some(d) = d {
                *into = d.0;
            }
        };
        let sd = &mut node.scale_down;
        if let Some(v) = s.scale_down_enabled {
            sd.enabled = v;
        }
        dur(s.scale_down_unneeded_time, &mut sd.unneeded_time);
        dur(s.scale_down_delay_after_add, &mut sd.delay_after_add);
        dur(s.scale_down_delay_after_delete, &mut sd.delay_after_delete);
        dur(s.scale_down_delay_after_failure, &mut sd.delay_after_failure);
        if let Some(t) = s.scale_down_utilization_threshold {
            if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
                return Err(SettingError(
                    "scale-down-utilization-threshold",
                    format!("{t} is not in [0, 1]"),
                ));
            }
            sd.utilization_threshold = t;
        }
        if let Some(n) = s.max_scale_down_parallelism {
            if n == 0 {
                return Err(SettingError(
                    "max-scale-down-parallelism",
                    "must be above zero".into(),
                ));
            }
            sd.max_scale_down_parallelism = n;
        }
        if let Some(n) = s.max_drain_parallelism {
            if n == 0 {
                return Err(SettingError("max-drain-parallelism", "must be above zero".into()));
            }
            sd.max_drain_parallelism = n;
        }
        if let Some(n) = s.max_nodes_total {
            node.limits.max_nodes_total = n;
        }
        dur(
            s.new_pod_scale_up_delay,
            &mut node.scale_up.new_pod_scale_up_delay,
        );
        if let Some(b) = s.balance_similar_node_groups {
            node.scale_up.balance_similar_node_groups = b;
        }
        if let Some(t) = s.horizontal_pod_autoscaler_tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(SettingError(
                    "horizontal-pod-autoscaler-tolerance",
                    format!("{t} is not a number >= 0"),
                ));
            }
            hpa.tolerance = t;
        }
        dur(
            s.horizontal_pod_autoscaler_downscale_stabilization,
            &mut hpa.downscale_stabilization,
        );
        dur(
            s.horizontal_pod_autoscaler_cpu_initialization_period,
            &mut hpa.cpu_initialization_period,
        );
        dur(
            s.horizontal_pod_autoscaler_initial_readiness_delay,
            &mut hpa.initial_readiness_delay,
        );
        Ok(Resolved {
            node,
            hpa,
            scan_interval,
            hpa_sync_period,
            initial_backoff,
            max_backoff,
        })
    }
}
