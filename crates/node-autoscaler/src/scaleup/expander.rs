//! The expander chain: which node group a scale-up grows when several could host the pending pods.
//!
//! This is Cluster Autoscaler's `--expander` (`expander/factory/chain.go` and the filters under
//! `expander/`). The estimator hands over one [`ExpansionOption`] per node group that could help; an
//! [`ExpanderChain`] parsed from the flag's comma list runs its filters in order, each keeping only the
//! options it rates best. As soon as one option is left it wins; whatever ties remain after the last
//! filter go to a final random pick. [`choose`] returns the winner together with every [`Step`], so that
//! the explanation can say which expander narrowed the field to what, and by which numbers.
//!
//! ```text
//! options --least-waste--> [a, b] --priority--> [b] => b
//! options --most-pods----> [a, b, c] --least-nodes--> [a, c] --(random, seeded)--> c
//! ```
//!
//! Randomness is a seeded splitmix64, so the same options and the same seed always choose the same
//! group. The priority expander reads a [`PriorityConfig`] parsed from the `priorities` key of CA's
//! `cluster-autoscaler-priority-expander` ConfigMap; watching the ConfigMap is the controller's job.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::Serialize;

use crate::resources::Resources;

/// The name of Cluster Autoscaler's priority-expander ConfigMap (in the autoscaler's namespace).
pub const PRIORITY_CONFIGMAP_NAME: &str = "cluster-autoscaler-priority-expander";
/// The ConfigMap key that holds the priorities YAML.
pub const PRIORITY_CONFIGMAP_KEY: &str = "priorities";

/// What can go wrong when configuring expanders.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `--expander` list has no names.
    #[error("expander list is empty")]
    EmptyChain,
    /// A name that is not an expander.
    #[error(
        "unknown expander {0:?}: expected one of random, most-pods, least-waste, least-nodes, price, priority"
    )]
    UnknownExpander(String),
    /// CA's `grpc` expander: it calls out to a server, which a pure decision core cannot do.
    #[error("expander \"grpc\" is not supported: it needs an external server")]
    GrpcUnsupported,
    /// The same expander twice, which CA rejects too.
    #[error("expander {0} is specified more than once")]
    Duplicate(Strategy),
    /// An expander after `random`, which always leaves a single option: it could never act.
    #[error("expander {0} comes after random, which always leaves one option, so it would never be used")]
    AfterRandom(Strategy),
    /// The priorities value is empty.
    #[error("priority configuration is empty")]
    EmptyPriorities,
    /// The priorities value is not a YAML map from integers to lists of strings.
    #[error("failed to parse priorities: {0}")]
    PrioritiesYaml(#[source] serde_yaml_ng::Error),
    /// A pattern that does not compile.
    #[error("invalid regex {regex:?} for priority {priority}: {source}")]
    InvalidRegex {
        /// The priority the pattern is listed under.
        priority: i64,
        /// The pattern as written.
        regex: String,
        /// Why it does not compile.
        #[source]
        source: regex::Error,
    },
}

/// Results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One way to scale up: grow `group` by `node_count` nodes, which would schedule `pod_count` pods.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpansionOption {
    /// The node group id.
    pub group: String,
    /// How many nodes the estimator says the group needs.
    pub node_count: usize,
    /// How many pending pods those nodes would take.
    pub pod_count: usize,
    /// Capacity of one template node (least-waste divides by it, as CA does, not by allocatable).
    pub node_capacity: Resources,
    /// Allocatable of one template node.
    pub node_allocatable: Resources,
    /// Sum of the requests of the pods the option would schedule. CA's least-waste sums container
    /// requests only; callers that fold init containers and overhead in get a slightly different score.
    pub requested: Resources,
    /// Price of one node for an hour, when known.
    pub price_per_hour: Option<f64>,
}

/// One expander, named as in CA's `--expander` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// `random`: one option at random (seeded). Always leaves exactly one, so nothing may follow it.
    Random,
    /// `most-pods`: the options that schedule the most pods.
    MostPods,
    /// `least-waste`: the options that leave the least idle cpu and memory (see [`waste_score`]).
    LeastWaste,
    /// `least-nodes`: the options that add the fewest nodes. Options adding no node are dropped.
    LeastNodes,
    /// `price`: the options that cost least per hour, `price_per_hour x node_count`.
    ///
    /// CA's price expander works on GCE/GKE only and also scores how far a node is from a preferred
    /// size. Here it is provider-neutral and ranks by cost alone; options without a price are worse
    /// than any priced one, and when none has a price every option is kept.
    Price,
    /// `priority`: the options whose group id matches the highest priority of a [`PriorityConfig`].
    Priority,
}

impl Strategy {
    /// Every expander, in CA's flag-help order.
    pub const ALL: [Strategy; 6] = [
        Strategy::Random,
        Strategy::MostPods,
        Strategy::LeastWaste,
        Strategy::LeastNodes,
        Strategy::Price,
        Strategy::Priority,
    ];

    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::MostPods => "most-pods",
            Strategy::LeastWaste => "least-waste",
            Strategy::LeastNodes => "least-nodes",
            Strategy::Price => "price",
            Strategy::Priority => "priority",
        }
    }

    /// Parses the flag spelling (exactly, as CA does: no trimming, no case folding).
    pub fn parse(name: &str) -> Result<Strategy> {
        if name == "grpc" {
            return Err(Error::GrpcUnsupported);
        }
        Strategy::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| Error::UnknownExpander(name.to_string()))
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Strategy> {
        Strategy::parse(s)
    }
}

/// The expanders of `--expander`, in order. The default is CA's, `least-waste`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ExpanderChain {
    strategies: Vec<Strategy>,
}

impl ExpanderChain {
    /// Parses CA's comma list (`"priority,least-waste"`), with CA's rules: no unknown name, no
    /// name twice, nothing after `random`.
    pub fn parse(list: &str) -> Result<ExpanderChain> {
        if list.is_empty() {
            return Err(Error::EmptyChain);
        }
        let strategies = list.split(',').map(Strategy::parse).collect::<Result<Vec<_>>>()?;
        ExpanderChain::new(strategies)
    }

    /// A chain of the given expanders, checked with the same rules as [`ExpanderChain::parse`].
    pub fn new(strategies: Vec<Strategy>) -> Result<ExpanderChain> {
        if strategies.is_empty() {
            return Err(Error::EmptyChain);
        }
        for (i, s) in strategies.iter().enumerate() {
            if strategies[..i].contains(s) {
                return Err(Error::Duplicate(*s));
            }
            if i > 0 && strategies[i - 1] == Strategy::Random {
                return Err(Error::AfterRandom(*s));
            }
        }
        Ok(ExpanderChain { strategies })
    }

    /// The expanders, in the order they run.
    pub fn strategies(&self) -> &[Strategy] {
        &self.strategies
    }

    /// Whether the chain needs a [`PriorityConfig`].
    pub fn uses_priority(&self) -> bool {
        self.strategies.contains(&Strategy::Priority)
    }
}

impl Default for ExpanderChain {
    fn default() -> ExpanderChain {
        ExpanderChain {
            strategies: vec![Strategy::LeastWaste],
        }
    }
}

impl fmt::Display for ExpanderChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.strategies.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

/// The priority expander's configuration: for each priority, patterns over node-group ids.
///
/// A group's priority is the highest one with a pattern that matches its id anywhere (CA uses Go's
/// `FindStringIndex`, so patterns are not anchored: `t2\.large` matches `my-asg.t2.large`; write
/// `^...$` to match whole ids).
#[derive(Clone, Debug)]
pub struct PriorityConfig {
    /// Highest priority first.
    tiers: Vec<(i64, Vec<Regex>)>,
}

impl PriorityConfig {
    /// Parses the value of the ConfigMap's `priorities` key:
    ///
    /// ```yaml
    /// 10:
    ///   - .*t2\.large.*
    /// 50:
    ///   - .*m4\.4xlarge.*
    /// ```
    ///
    /// An empty value is an error, as in CA. A priority listed twice is a YAML error here, where CA
    /// silently keeps one of the lists.
    pub fn parse(yaml: &str) -> Result<PriorityConfig> {
        if yaml.trim().is_empty() {
            return Err(Error::EmptyPriorities);
        }
        // Through a mapping first: deserializing a mapping rejects a key given twice, where a
        // BTreeMap would keep the last list without a word. `10:` with nothing under it is accepted
        // by CA (an empty list), hence the Option.
        let mapping: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(yaml).map_err(Error::PrioritiesYaml)?;
        let raw: BTreeMap<i64, Option<Vec<String>>> =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(mapping))
                .map_err(Error::PrioritiesYaml)?;
        let mut tiers = Vec::with_capacity(raw.len());
        for (priority, patterns) in raw.into_iter().rev() {
            let mut compiled = Vec::new();
            for regex in patterns.unwrap_or_default() {
                match Regex::new(&regex) {
                    Ok(re) => compiled.push(re),
                    Err(source) => {
                        return Err(Error::InvalidRegex {
                            priority,
                            regex,
                            source,
                        });
                    }
                }
            }
            tiers.push((priority, compiled));
        }
        Ok(PriorityConfig { tiers })
    }

    /// The highest priority whose patterns match `group`, if any does.
    pub fn priority_of(&self, group: &str) -> Option<i64> {
        self.tiers
            .iter()
            .find(|(_, res)| res.iter().any(|re| re.is_match(group)))
            .map(|(p, _)| *p)
    }

    /// The priorities and their patterns as written, highest first.
    pub fn tiers(&self) -> Vec<(i64, Vec<&str>)> {
        self.tiers
            .iter()
            .map(|(p, res)| (*p, res.iter().map(Regex::as_str).collect()))
            .collect()
    }
}

/// What one expander did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The expander.
    pub strategy: Strategy,
    /// The group ids it kept, in the order of the options.
    pub kept: Vec<String>,
    /// The final random pick among the ties the chain left (not an expander of the chain).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fallback: bool,
    /// The number the expander ranked each option it saw by (waste, pods, nodes, cost, priority);
    /// empty for random. Options without a number (unpriced, unmatched) are left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<(String, f64)>,
    /// Why the step kept what it kept, when that is not plain ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The outcome of [`choose`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    /// Index of the chosen option; `None` when there was none or the chain dropped every option.
    pub best: Option<usize>,
    /// What each expander did, in order.
    pub steps: Vec<Step>,
}

/// CA's least-waste score of an option: the idle fraction of cpu plus the idle fraction of memory
/// over the capacity of all the nodes added, `(cap_cpu*n - req_cpu)/(cap_cpu*n) + (cap_mem*n -
/// req_mem)/(cap_mem*n)`, computed in the same integer-then-float order as `waste.go` so that ties
/// are the same. `None` when there is no capacity to divide by (no node, or a zero cpu or memory
/// capacity); CA would get NaN or an infinity there.
pub fn waste_score(option: &ExpansionOption) -> Option<f64> {
    let n = i64::try_from(option.node_count).ok()?;
    let avail_cpu = option.node_capacity.cpu.checked_mul(n)?;
    let avail_mem = option.node_capacity.memory.checked_mul(n)?;
    if avail_cpu <= 0 || avail_mem <= 0 {
        return None;
    }
    let wasted_cpu = avail_cpu.saturating_sub(option.requested.cpu) as f64 / avail_cpu as f64;
    let wasted_mem = avail_mem.saturating_sub(option.requested.memory) as f64 / avail_mem as f64;
    Some(wasted_cpu + wasted_mem)
}

/// Runs the chain over `options` and picks one.
///
/// Each expander keeps the options it rates best among those the previous one kept; when exactly one
/// is left it is chosen, when several are left after the last expander one of them is picked at
/// random. `priority` is the configuration of the priority expander; a chain with `priority` and no
/// configuration keeps nothing (CA cannot load its ConfigMap then and does not scale up). An expander
/// that keeps nothing ends the chain with no choice, as in CA. `seed` drives every random pick.
pub fn choose(
    chain: &ExpanderChain,
    options: &[ExpansionOption],
    priority: Option<&PriorityConfig>,
    seed: u64,
) -> Choice {
    let mut rng = SplitMix64(seed);
    let mut steps = Vec::new();
    let mut kept: Vec<usize> = (0..options.len()).collect();
    if kept.is_empty() {
        return Choice { best: None, steps };
    }
    for &strategy in &chain.strategies {
        let outcome = match strategy {
            Strategy::Random => pick_random(&kept, &mut rng),
            Strategy::MostPods => most_pods(options, &kept),
            Strategy::LeastWaste => least_waste(options, &kept),
            Strategy::LeastNodes => least_nodes(options, &kept),
            Strategy::Price => cheapest(options, &kept),
            Strategy::Priority => highest_priority(options, &kept, priority),
        };
        kept = outcome.kept;
        steps.push(Step {
            strategy,
            kept: ids(options, &kept),
            fallback: false,
            scores: outcome.scores,
            note: outcome.note,
        });
        match kept.len() {
            0 => return Choice { best: None, steps },
            1 => {
                return Choice {
                    best: Some(kept[0]),
                    steps,
                };
            }
            _ => {}
        }
    }
    let fallback = pick_random(&kept, &mut rng);
    let best = fallback.kept.first().copied();
    steps.push(Step {
        strategy: Strategy::Random,
        kept: ids(options, &fallback.kept),
        fallback: true,
        scores: Vec::new(),
        note: Some(format!("random pick among {} tied options", kept.len())),
    });
    Choice { best, steps }
}

/// What a filter kept, with its numbers.
struct Outcome {
    kept: Vec<usize>,
    scores: Vec<(String, f64)>,
    note: Option<String>,
}

fn ids(options: &[ExpansionOption], kept: &[usize]) -> Vec<String> {
    kept.iter().map(|&i| options[i].group.clone()).collect()
}

/// Keeps the options with the lowest score, ties by exact equality (CA compares float64 with `==`).
/// `None` scores rank after every number.
fn keep_lowest(
    options: &[ExpansionOption],
    kept: &[usize],
    score: impl Fn(&ExpansionOption) -> Option<f64>,
) -> (Vec<usize>, Vec<(String, f64)>) {
    let mut best: Option<Option<f64>> = None;
    let mut out = Vec::new();
    let mut scores = Vec::new();
    for &i in kept {
        let s = score(&options[i]);
        if let Some(v) = s {
            scores.push((options[i].group.clone(), v));
        }
        let better = match (best, s) {
            (None, _) => true,
            (Some(None), Some(_)) => true,
            (Some(Some(b)), Some(v)) => v < b,
            (Some(_), None) => false,
        };
        if better {
            best = Some(s);
            out.clear();
            out.push(i);
        } else if best == Some(s) {
            out.push(i);
        }
    }
    (out, scores)
}

fn least_waste(options: &[ExpansionOption], kept: &[usize]) -> Outcome {
    let (kept, scores) = keep_lowest(options, kept, waste_score);
    Outcome {
        kept,
        scores,
        note: None,
    }
}

fn most_pods(options: &[ExpansionOption], kept: &[usize]) -> Outcome {
    // CA starts the maximum at 0 and keeps options equal to it, so options scheduling no pod survive
    // when no option schedules any.
    let mut max = 0;
    let mut out = Vec::new();
    for &i in kept {
        let pods = options[i].pod_count;
        if pods == max {
            out.push(i);
        } else if pods > max {
            max = pods;
            out.clear();
            out.push(i);
        }
    }
    let scores = kept
        .iter()
        .map(|&i| (options[i].group.clone(), options[i].pod_count as f64))
        .collect();
    Outcome {
        kept: out,
        scores,
        note: None,
    }
}

fn least_nodes(options: &[ExpansionOption], kept: &[usize]) -> Outcome {
    // CA skips options that add no node ("don't think this is possible, but just in case").
    let with_nodes: Vec<usize> = kept
        .iter()
        .copied()
        .filter(|&i| options[i].node_count > 0)
        .collect();
    let dropped = kept.len() - with_nodes.len();
    let (out, scores) = keep_lowest(options, &with_nodes, |o| Some(o.node_count as f64));
    let note = (dropped > 0).then(|| format!("{dropped} option(s) adding no node dropped"));
    Outcome {
        kept: out,
        scores,
        note,
    }
}

fn cheapest(options: &[ExpansionOption], kept: &[usize]) -> Outcome {
    let cost = |o: &ExpansionOption| {
        o.price_per_hour
            .filter(|p| p.is_finite())
            .map(|p| p * o.node_count as f64)
    };
    let priced = kept.iter().any(|&i| cost(&options[i]).is_some());
    let (out, scores) = keep_lowest(options, kept, cost);
    let note = (!priced).then(|| "no option has a price; none filtered out".to_string());
    Outcome {
        kept: out,
        scores,
        note,
    }
}

fn highest_priority(options: &[ExpansionOption], kept: &[usize], config: Option<&PriorityConfig>) -> Outcome {
    let Some(config) = config else {
        return Outcome {
            kept: Vec::new(),
            scores: Vec::new(),
            note: Some("no priority configuration; no option kept".to_string()),
        };
    };
    // CA starts the running maximum at -1, so a priority below -1 can never win: a group matching
    // only such a priority is neither kept nor reported as unmatched.
    let mut max = -1;
    let mut out = Vec::new();
    let mut scores = Vec::new();
    let mut unmatched = Vec::new();
    for &i in kept {
        let group = &options[i].group;
        match config.priority_of(group) {
            None => unmatched.push(group.as_str()),
            Some(p) => {
                scores.push((group.clone(), p as f64));
                if p > max {
                    max = p;
                    out.clear();
                    out.push(i);
                } else if p == max {
                    out.push(i);
                }
            }
        }
    }
    if out.is_empty() {
        // CA: "no priorities info found for any of the expansion options. No options filtered."
        return Outcome {
            kept: kept.to_vec(),
            scores,
            note: Some("no option matched a priority; none filtered out".to_string()),
        };
    }
    let note = (!unmatched.is_empty()).then(|| {
        format!(
            "not in the priority configuration, not used: {}",
            unmatched.join(", ")
        )
    });
    Outcome {
        kept: out,
        scores,
        note,
    }
}

fn pick_random(kept: &[usize], rng: &mut SplitMix64) -> Outcome {
    let kept = if kept.is_empty() {
        Vec::new()
    } else {
        vec![kept[rng.below(kept.len())]]
    };
    Outcome {
        kept,
        scores: Vec::new(),
        note: None,
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to pick among a few options;
/// the decision core must not depend on a random source it does not control.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift so that it has no modulo bias worth noting.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}
