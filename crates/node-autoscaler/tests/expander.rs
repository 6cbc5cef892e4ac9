//! The expander chain against Cluster Autoscaler 1.36's expanders (`expander/{random,mostpods,waste,
//! leastnodes,priority}`, `expander/factory/{chain.go,expander_factory.go}`). Each case states the
//! upstream fact it checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::scaleup::expander::{
    Choice, Error, ExpanderChain, ExpansionOption, PriorityConfig, Strategy, choose, waste_score,
};

const GI: i64 = 1 << 30;

/// An option of `nodes` nodes of 1000m / 1Gi each that schedules `pods` pods requesting nothing.
fn opt(group: &str, nodes: usize, pods: usize) -> ExpansionOption {
    ExpansionOption {
        group: group.to_string(),
        node_count: nodes,
        pod_count: pods,
        node_capacity: Resources::cpu_mem(1000, GI),
        node_allocatable: Resources::cpu_mem(1000, GI),
        requested: Resources::default(),
        price_per_hour: None,
    }
}

trait With {
    fn cap(self, cpu: i64, mem: i64) -> Self;
    fn alloc(self, cpu: i64, mem: i64) -> Self;
    fn req(self, cpu: i64, mem: i64) -> Self;
    fn price(self, p: f64) -> Self;
}

impl With for ExpansionOption {
    fn cap(mut self, cpu: i64, mem: i64) -> Self {
        self.node_capacity = Resources::cpu_mem(cpu, mem);
        self
    }
    fn alloc(mut self, cpu: i64, mem: i64) -> Self {
        self.node_allocatable = Resources::cpu_mem(cpu, mem);
        self
    }
    fn req(mut self, cpu: i64, mem: i64) -> Self {
        self.requested = Resources::cpu_mem(cpu, mem);
        self
    }
    fn price(mut self, p: f64) -> Self {
        self.price_per_hour = Some(p);
        self
    }
}

fn chosen(options: &[ExpansionOption], choice: &Choice) -> Option<String> {
    choice.best.map(|i| options[i].group.clone())
}

struct Case {
    name: &'static str,
    chain: &'static str,
    priorities: Option<&'static str>,
    options: Vec<ExpansionOption>,
    /// The chosen group, the same for every seed.
    want: Option<&'static str>,
    /// What each expander of the chain kept (the final random pick excluded), when it matters.
    want_kept: Option<Vec<Vec<&'static str>>>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "least-waste picks the option that leaves the least idle cpu and memory",
            chain: "least-waste",
            priorities: None,
            options: vec![
                opt("a", 1, 1).req(500, GI / 2),
                opt("b", 1, 1).req(900, GI / 10 * 9),
                opt("c", 1, 1).req(100, GI / 10),
            ],
            want: Some("b"),
            want_kept: Some(vec![vec!["b"]]),
        },
        Case {
            name: "least-waste divides by node capacity, not allocatable (waste.go resourcesForNode)",
            chain: "least-waste",
            priorities: None,
            options: vec![
                // By allocatable "a" would waste nothing; by capacity it wastes half its cpu.
                opt("a", 1, 1).cap(2000, GI).alloc(1000, GI).req(1000, GI),
                opt("b", 1, 1).cap(1000, GI).alloc(1000, GI).req(600, GI),
            ],
            want: Some("b"),
            want_kept: None,
        },
        Case {
            name: "least-waste counts the capacity of every node added",
            chain: "least-waste",
            priorities: None,
            options: vec![
                // 3 x 1000m for 2400m wastes 0.2; one 4000m node for 2400m wastes 0.4.
                opt("three-small", 3, 3).cap(1000, GI).req(2400, 3 * GI),
                opt("one-big", 1, 3).cap(4000, 3 * GI).req(2400, 3 * GI),
            ],
            want: Some("three-small"),
            want_kept: None,
        },
        Case {
            name: "least-waste adds the cpu and memory fractions rather than taking the larger",
            chain: "least-waste",
            priorities: None,
            options: vec![
                // a: 0.5 + 0.0 = 0.5; b: 0.3 + 0.3 = 0.6 (b's larger fraction is the smaller one).
                opt("a", 1, 1).req(500, GI),
                opt("b", 1, 1).req(700, GI / 10 * 7),
            ],
            want: Some("a"),
            want_kept: None,
        },
        Case {
            name: "least-waste keeps exact ties and hands them to the next expander",
            chain: "least-waste,least-nodes",
            priorities: None,
            options: vec![
                opt("two-nodes", 2, 2).req(1000, GI),
                opt("one-node", 1, 2).cap(2000, 2 * GI).req(1000, GI),
                opt("wasteful", 1, 2).cap(4000, 4 * GI).req(1000, GI),
            ],
            want: Some("one-node"),
            want_kept: Some(vec![vec!["two-nodes", "one-node"], vec!["one-node"]]),
        },
        Case {
            name: "least-waste ranks an option with no capacity after every other",
            chain: "least-waste",
            priorities: None,
            options: vec![
                opt("empty-template", 1, 1).cap(0, 0).req(100, 100),
                opt("b", 1, 1).req(100, 100),
            ],
            want: Some("b"),
            want_kept: None,
        },
        Case {
            name: "most-pods picks the option that schedules the most pods",
            chain: "most-pods",
            priorities: None,
            options: vec![opt("a", 1, 3), opt("b", 5, 10), opt("c", 1, 9)],
            want: Some("b"),
            want_kept: Some(vec![vec!["b"]]),
        },
        Case {
            name: "most-pods passes a tie on to the next expander",
            chain: "most-pods,least-nodes",
            priorities: None,
            options: vec![opt("a", 4, 10), opt("b", 2, 10), opt("c", 1, 9)],
            want: Some("b"),
            want_kept: Some(vec![vec!["a", "b"], vec!["b"]]),
        },
        Case {
            name: "most-pods keeps options scheduling no pod when none schedules any (max starts at 0)",
            chain: "most-pods,least-nodes",
            priorities: None,
            options: vec![opt("a", 2, 0), opt("b", 1, 0)],
            want: Some("b"),
            want_kept: Some(vec![vec!["a", "b"], vec!["b"]]),
        },
        Case {
            name: "least-nodes picks the option that adds the fewest nodes",
            chain: "least-nodes",
            priorities: None,
            options: vec![opt("a", 3, 10), opt("b", 2, 5), opt("c", 7, 20)],
            want: Some("b"),
            want_kept: None,
        },
        Case {
            name: "least-nodes drops an option that adds no node",
            chain: "least-nodes",
            priorities: None,
            options: vec![opt("zero", 0, 1), opt("b", 3, 1)],
            want: Some("b"),
            want_kept: Some(vec![vec!["b"]]),
        },
        Case {
            name: "least-nodes chooses nothing when no option adds a node",
            chain: "least-nodes",
            priorities: None,
            options: vec![opt("a", 0, 1), opt("b", 0, 1)],
            want: None,
            want_kept: Some(vec![vec![]]),
        },
        Case {
            name: "price ranks by price per hour times node count",
            chain: "price",
            priorities: None,
            options: vec![
                opt("cheap-per-node", 10, 10).price(0.1),
                opt("cheap-in-total", 2, 10).price(0.3),
            ],
            want: Some("cheap-in-total"),
            want_kept: None,
        },
        Case {
            name: "price ranks an option without a price after every priced one",
            chain: "price",
            priorities: None,
            options: vec![opt("unpriced", 1, 1), opt("priced", 5, 1).price(9.0)],
            want: Some("priced"),
            want_kept: None,
        },
        Case {
            name: "price keeps every option when none has a price",
            chain: "price,most-pods",
            priorities: None,
            options: vec![opt("a", 1, 1), opt("b", 1, 2)],
            want: Some("b"),
            want_kept: Some(vec![vec!["a", "b"], vec!["b"]]),
        },
        Case {
            name: "priority picks the group matching the highest priority",
            chain: "priority",
            priorities: Some(
                "5:\n  - .*t2\\.micro.*\n10:\n  - .*t2\\.large.*\n  - .*t3\\.large.*\n50:\n  - .*m4\\.4xlarge.*\n",
            ),
            options: vec![opt("my-asg.t2.large", 1, 1), opt("my-asg.m4.4xlarge", 1, 1)],
            want: Some("my-asg.m4.4xlarge"),
            want_kept: None,
        },
        Case {
            name: "priority drops a group that matches no pattern when another group matches",
            chain: "priority,most-pods",
            priorities: Some("1:\n  - ^low$\n"),
            options: vec![opt("unlisted", 1, 100), opt("low", 1, 1)],
            want: Some("low"),
            want_kept: Some(vec![vec!["low"]]),
        },
        Case {
            name: "priority patterns match anywhere in the id (FindStringIndex, not anchored)",
            chain: "priority",
            priorities: Some("10:\n  - t2\\.large\n"),
            options: vec![opt("my-asg.t2.large", 1, 1), opt("my-asg.m5.large", 1, 1)],
            want: Some("my-asg.t2.large"),
            want_kept: None,
        },
        Case {
            name: "priority patterns anchored with a caret do not match in the middle of an id",
            chain: "priority,least-nodes",
            priorities: Some("10:\n  - ^t2\n"),
            options: vec![opt("my-asg.t2.large", 1, 1), opt("t2-pool", 2, 1)],
            want: Some("t2-pool"),
            want_kept: Some(vec![vec!["t2-pool"]]),
        },
        Case {
            name: "priority filters nothing out when no group matches any pattern",
            chain: "priority,most-pods",
            priorities: Some("10:\n  - .*t\\.large.*\n"),
            options: vec![opt("my-asg.t2.large", 1, 1), opt("my-asg.t3.large", 1, 2)],
            want: Some("my-asg.t3.large"),
            want_kept: Some(vec![
                vec!["my-asg.t2.large", "my-asg.t3.large"],
                vec!["my-asg.t3.large"],
            ]),
        },
        Case {
            name: "priority without a configuration keeps nothing, so nothing scales up",
            chain: "priority,least-waste",
            priorities: None,
            options: vec![opt("a", 1, 1), opt("b", 1, 1)],
            want: None,
            want_kept: Some(vec![vec![]]),
        },
        Case {
            name: "priority keeps every group tied at the highest priority for the next expander",
            chain: "priority,least-nodes",
            priorities: Some("10:\n  - .*t2\\.large.*\n  - .*t3\\.large.*\n5:\n  - .*micro.*\n"),
            options: vec![
                opt("t2.large", 3, 1),
                opt("t3.large", 2, 1),
                opt("t2.micro", 1, 1),
            ],
            want: Some("t3.large"),
            want_kept: Some(vec![vec!["t2.large", "t3.large"], vec!["t3.large"]]),
        },
        Case {
            name: "priority gives a group matching two priorities the higher one",
            chain: "priority",
            priorities: Some("5:\n  - .*\n10:\n  - .t2\\.large.*\n"),
            options: vec![opt("my.t2.large", 1, 1), opt("my.t2.micro", 1, 1)],
            want: Some("my.t2.large"),
            want_kept: None,
        },
        Case {
            name: "priority minus one still wins over unmatched groups (CA's running maximum starts at -1)",
            chain: "priority",
            priorities: Some("-1:\n  - ^a$\n"),
            options: vec![opt("a", 1, 1), opt("b", 1, 1)],
            want: Some("a"),
            want_kept: None,
        },
        Case {
            name: "priority below minus one never wins, so a group matching only it is not kept alone",
            chain: "priority,most-pods",
            priorities: Some("-5:\n  - ^a$\n"),
            options: vec![opt("a", 1, 1), opt("b", 1, 2)],
            want: Some("b"),
            want_kept: Some(vec![vec!["a", "b"], vec!["b"]]),
        },
        Case {
            name: "a chain passes ties through three expanders",
            chain: "priority,most-pods,least-waste",
            priorities: Some("10:\n  - ^pool-\n"),
            options: vec![
                opt("pool-a", 1, 4).req(500, GI / 2),
                opt("pool-b", 1, 4).req(900, GI / 10 * 9),
                opt("pool-c", 1, 3).req(1000, GI),
                opt("other", 1, 9).req(1000, GI),
            ],
            want: Some("pool-b"),
            want_kept: Some(vec![
                vec!["pool-a", "pool-b", "pool-c"],
                vec!["pool-a", "pool-b"],
                vec!["pool-b"],
            ]),
        },
        Case {
            name: "a chain stops at the first expander that leaves one option",
            chain: "most-pods,least-nodes",
            priorities: None,
            options: vec![opt("a", 9, 10), opt("b", 1, 5)],
            want: Some("a"),
            want_kept: Some(vec![vec!["a"]]),
        },
        Case {
            name: "no option means no choice and no step",
            chain: "least-waste",
            priorities: None,
            options: vec![],
            want: None,
            want_kept: Some(vec![]),
        },
        Case {
            name: "a single option goes through the filters and is chosen",
            chain: "least-waste,most-pods",
            priorities: None,
            options: vec![opt("only", 1, 1)],
            want: Some("only"),
            want_kept: Some(vec![vec!["only"]]),
        },
    ]
}

#[test]
fn expander_cases() {
    let mut failures = Vec::new();
    for case in cases() {
        let chain = ExpanderChain::parse(case.chain).unwrap();
        let config = case.priorities.map(|y| PriorityConfig::parse(y).unwrap());
        for seed in 0..16 {
            let choice = choose(&chain, &case.options, config.as_ref(), seed);
            let got = chosen(&case.options, &choice);
            if got.as_deref() != case.want {
                failures.push(format!(
                    "{} (seed {seed}): chose {got:?}, want {:?}",
                    case.name, case.want
                ));
                break;
            }
            if let Some(want_kept) = &case.want_kept {
                let kept: Vec<Vec<&str>> = choice
                    .steps
                    .iter()
                    .filter(|s| !s.fallback)
                    .map(|s| s.kept.iter().map(String::as_str).collect())
                    .collect();
                if &kept != want_kept {
                    failures.push(format!("{}: steps kept {kept:?}, want {want_kept:?}", case.name));
                    break;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn waste_score_is_cas_blended_fraction() {
    // 2 nodes x 1000m / 1Gi = 2000m / 2Gi; 1500m and 1Gi requested: 0.25 + 0.5.
    let o = opt("a", 2, 3).req(1500, GI);
    assert_eq!(waste_score(&o), Some(0.75));
    assert_eq!(waste_score(&opt("none", 0, 1)), None);
}

#[test]
fn random_is_stable_for_a_seed() {
    let options: Vec<_> = (0..5).map(|i| opt(&format!("g{i}"), 1, 1)).collect();
    let chain = ExpanderChain::parse("random").unwrap();
    for seed in [0, 1, 42, u64::MAX] {
        let first = choose(&chain, &options, None, seed);
        assert!(first.best.is_some());
        for _ in 0..5 {
            assert_eq!(choose(&chain, &options, None, seed), first);
        }
    }
}

#[test]
fn random_differs_across_seeds_and_reaches_every_option() {
    let options: Vec<_> = (0..4).map(|i| opt(&format!("g{i}"), 1, 1)).collect();
    let chain = ExpanderChain::parse("random").unwrap();
    let mut counts = [0usize; 4];
    for seed in 0..400 {
        counts[choose(&chain, &options, None, seed).best.unwrap()] += 1;
    }
    // Roughly uniform: each of the four is picked 100 times give or take.
    assert!(counts.iter().all(|&c| (50..=150).contains(&c)), "{counts:?}");
}

#[test]
fn the_final_random_pick_is_among_the_ties_only() {
    let options = vec![opt("a", 1, 5), opt("b", 1, 9), opt("c", 1, 9), opt("d", 1, 9)];
    let chain = ExpanderChain::parse("most-pods").unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let choice = choose(&chain, &options, None, seed);
        let last = choice.steps.last().unwrap();
        assert!(last.fallback);
        assert_eq!(last.strategy, Strategy::Random);
        seen.insert(chosen(&options, &choice).unwrap());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["b", "c", "d"]);
}

#[test]
fn steps_carry_the_numbers_and_serialize() {
    let options = vec![opt("a", 2, 3).req(1500, GI), opt("b", 1, 3).req(1000, GI)];
    let chain = ExpanderChain::parse("least-waste").unwrap();
    let choice = choose(&chain, &options, None, 7);
    assert_eq!(chosen(&options, &choice).as_deref(), Some("b"));
    assert_eq!(
        choice.steps[0].scores,
        vec![("a".to_string(), 0.75), ("b".to_string(), 0.0)]
    );
    let json = serde_json::to_value(&choice).unwrap();
    assert_eq!(json["best"], 1);
    assert_eq!(json["steps"][0]["strategy"], "least-waste");
    assert_eq!(json["steps"][0]["kept"][0], "b");
}

struct ChainCase {
    name: &'static str,
    flag: &'static str,
    want: Result<Vec<Strategy>, &'static str>,
}

#[test]
fn chain_parsing_cases() {
    use Strategy::*;
    let cases = [
        ChainCase {
            name: "a single expander parses",
            flag: "least-waste",
            want: Ok(vec![LeastWaste]),
        },
        ChainCase {
            name: "every CA expander name parses",
            flag: "priority,price,least-nodes,most-pods,least-waste,random",
            want: Ok(vec![Priority, Price, LeastNodes, MostPods, LeastWaste, Random]),
        },
        ChainCase {
            name: "an empty flag is an error",
            flag: "",
            want: Err("expander list is empty"),
        },
        ChainCase {
            name: "an unknown name is an error that names it",
            flag: "least-waste,cheapest",
            want: Err("unknown expander \"cheapest\""),
        },
        ChainCase {
            name: "names are not trimmed, as in CA",
            flag: "least-waste, random",
            want: Err("unknown expander \" random\""),
        },
        ChainCase {
            name: "a name given twice is an error",
            flag: "most-pods,least-waste,most-pods",
            want: Err("expander most-pods is specified more than once"),
        },
        ChainCase {
            name: "an expander after random is an error since random always leaves one option",
            flag: "random,least-waste",
            want: Err("expander least-waste comes after random"),
        },
        ChainCase {
            name: "random may end a chain",
            flag: "most-pods,random",
            want: Ok(vec![MostPods, Random]),
        },
        ChainCase {
            name: "grpc is refused with its own reason",
            flag: "grpc",
            want: Err("expander \"grpc\" is not supported"),
        },
    ];
    for case in cases {
        let got = ExpanderChain::parse(case.flag);
        match (&got, &case.want) {
            (Ok(chain), Ok(want)) => assert_eq!(chain.strategies(), want.as_slice(), "{}", case.name),
            (Err(err), Err(want)) => assert!(err.to_string().starts_with(want), "{}: got {err}", case.name),
            _ => panic!("{}: got {got:?}, want {:?}", case.name, case.want),
        }
    }
}

#[test]
fn the_default_chain_is_least_waste_and_round_trips() {
    assert_eq!(ExpanderChain::default().strategies(), [Strategy::LeastWaste]);
    let chain = ExpanderChain::parse("priority,least-waste").unwrap();
    assert_eq!(chain.to_string(), "priority,least-waste");
    assert!(chain.uses_priority());
    for s in Strategy::ALL {
        assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
}

struct PriorityCase {
    name: &'static str,
    yaml: &'static str,
    want: Result<Vec<(i64, Vec<&'static str>)>, &'static str>,
}

#[test]
fn priority_config_cases() {
    let cases = [
        PriorityCase {
            name: "the ConfigMap example parses, highest priority first",
            yaml: "10: \n  - .*t2\\.large.*\n  - .*t3\\.large.*\n50: \n  - .*m4\\.4xlarge.*\n",
            want: Ok(vec![
                (50, vec![".*m4\\.4xlarge.*"]),
                (10, vec![".*t2\\.large.*", ".*t3\\.large.*"]),
            ]),
        },
        PriorityCase {
            name: "quoted patterns with YAML escapes parse",
            yaml: "5:\n  - \".*t2\\\\.micro.*\"\n",
            want: Ok(vec![(5, vec![".*t2\\.micro.*"])]),
        },
        PriorityCase {
            name: "a priority with no patterns is accepted and matches nothing",
            yaml: "10:\n20:\n  - ^a$\n",
            want: Ok(vec![(20, vec!["^a$"]), (10, vec![])]),
        },
        PriorityCase {
            name: "an empty configuration is an error, as in CA",
            yaml: "",
            want: Err("priority configuration is empty"),
        },
        PriorityCase {
            name: "an invalid regex is an error naming the priority and the pattern",
            yaml: "10:\n  - ok\n20:\n  - \"(unclosed\"\n",
            want: Err("invalid regex \"(unclosed\" for priority 20"),
        },
        PriorityCase {
            name: "a priority that is not an integer is a YAML error",
            yaml: "high:\n  - .*\n",
            want: Err("failed to parse priorities"),
        },
        PriorityCase {
            name: "a list where a map is expected is a YAML error",
            yaml: "- .*\n- foo\n",
            want: Err("failed to parse priorities"),
        },
        PriorityCase {
            name: "patterns given as a single string instead of a list are a YAML error",
            yaml: "10: .*\n",
            want: Err("failed to parse priorities"),
        },
        PriorityCase {
            name: "a priority listed twice is an error rather than one list silently winning",
            yaml: "10:\n  - a\n10:\n  - b\n",
            want: Err("failed to parse priorities"),
        },
    ];
    for case in cases {
        let got = PriorityConfig::parse(case.yaml);
        match (&got, &case.want) {
            (Ok(config), Ok(want)) => assert_eq!(&config.tiers(), want, "{}", case.name),
            (Err(err), Err(want)) => assert!(err.to_string().starts_with(want), "{}: got {err}", case.name),
            _ => panic!("{}: got {got:?}, want {:?}", case.name, case.want),
        }
    }
}

#[test]
fn an_invalid_regex_error_keeps_its_parts() {
    let err = PriorityConfig::parse("7:\n  - \"[z-a]\"\n").unwrap_err();
    match err {
        Error::InvalidRegex { priority, regex, .. } => assert_eq!((priority, regex.as_str()), (7, "[z-a]")),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn priority_of_takes_the_highest_matching_priority() {
    let config = PriorityConfig::parse("1:\n  - .*\n10:\n  - spot\n").unwrap();
    assert_eq!(config.priority_of("asg-spot-a"), Some(10));
    assert_eq!(config.priority_of("asg-on-demand"), Some(1));
    let config = PriorityConfig::parse("10:\n  - spot\n").unwrap();
    assert_eq!(config.priority_of("asg-on-demand"), None);
}
