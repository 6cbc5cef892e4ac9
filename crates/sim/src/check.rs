//! Invariants, checked as the run goes with code of their own (not the engine's bookkeeping nor the
//! decision cores' predicates), so that a bug in either shows up as a violation:
//!
//! - every HPA's replicas within `minReplicas..maxReplicas`, every group's target within `min..max`
//!   and its live instances at most `max`;
//! - at every bind: the node is Ready and not cordoned, the pod's nodeSelector matches, each
//!   NoSchedule/NoExecute taint is tolerated, and the requests fit beside the pods already there;
//!   at every step: no node holds more than its allocatable;
//! - at every eviction: the PDB over the pod allows one more disruption, counted from the pods;
//! - at every node deletion: no pod is left on it but terminating ones, and no pod that refuses
//!   eviction (`safe-to-evict: "false"`) was on it.

use crate::engine::{App, Group, NodeState, SimNode, SimPod};

/// The violations found so far.
#[derive(Debug, Default)]
pub struct Checker {
    /// Every violation, with its time.
    pub violations: Vec<String>,
    /// Evictions a PDB did not allow.
    pub pdb_violations: u64,
}

impl Checker {
    fn fail(&mut self, now: i64, what: String) {
        if self.violations.len() < 1000 {
            self.violations.push(format!("t={now}s: {what}"));
        }
    }

    pub(crate) fn step(
        &mut self,
        now: i64,
        apps: &[App],
        groups: &[Group],
        nodes: &[SimNode],
        pods: &[SimPod],
    ) {
        for a in apps {
            if let Some((min, max)) = a.hpa_bounds
                && !(min..=max).contains(&a.desired)
            {
                self.fail(
                    now,
                    format!("{} has {} replicas, outside {min}..{max}", a.name, a.desired),
                );
            }
        }
        for g in groups {
            let live = nodes
                .iter()
                .filter(|n| n.state != NodeState::Gone && groups[n.group].spec.name == g.spec.name)
                .count();
            if g.target < g.spec.min || g.target > g.spec.max || live > g.spec.max {
                self.fail(
                    now,
                    format!(
                        "group {} has target {} and {live} instances, outside {}..{}",
                        g.spec.name, g.target, g.spec.min, g.spec.max
                    ),
                );
            }
        }
        let mut used = vec![(0i64, 0i64, 0i64); nodes.len()];
        for p in pods.iter().filter(|p| !p.gone) {
            if let Some(n) = p.node {
                let r = &apps[p.app].template.requests;
                used[n].0 += r.cpu;
                used[n].1 += r.memory;
                used[n].2 += 1;
            }
        }
        for (n, (cpu, mem, count)) in nodes.iter().zip(used) {
            let al = &n.model.allocatable;
            if n.state == NodeState::Gone && count > 0 {
                self.fail(
                    now,
                    format!("pods are still bound to deleted node {}", n.model.name),
                );
            }
            if cpu > al.cpu || mem > al.memory || count > al.pods {
                self.fail(
                    now,
                    format!("node {} holds more than its allocatable", n.model.name),
                );
            }
        }
    }

    pub(crate) fn bind(
        &mut self,
        now: i64,
        p: usize,
        n: usize,
        nodes: &[SimNode],
        pods: &[SimPod],
        apps: &[App],
    ) {
        let node = &nodes[n];
        let pod = &apps[pods[p].app].template;
        let name = &pods[p].name;
        if node.state != NodeState::Ready || node.model.unschedulable || node.draining {
            self.fail(
                now,
                format!(
                    "{name} bound to {} which is not Ready or is cordoned",
                    node.model.name
                ),
            );
        }
        for (k, v) in &pod.scheduling.node_selector {
            if node.model.labels.get(k) != Some(v) {
                self.fail(
                    now,
                    format!("{name} bound to {} whose labels miss {k}={v}", node.model.name),
                );
            }
        }
        for t in &node.model.taints {
            if t.effect == swell_node_autoscaler::model::TaintEffect::PreferNoSchedule {
                continue;
            }
            let tolerated = pod.scheduling.tolerations.iter().any(|tol| {
                (tol.key.is_empty() || tol.key == t.key)
                    && tol.effect.is_none_or(|e| e == t.effect)
                    && (tol.operator == swell_node_autoscaler::model::TolerationOperator::Exists
                        || tol.value == t.value)
            });
            if !tolerated {
                self.fail(
                    now,
                    format!("{name} bound to {} despite taint {}", node.model.name, t.key),
                );
            }
        }
        let (mut cpu, mut mem, mut count) = (pod.requests.cpu, pod.requests.memory, 1i64);
        for &q in &node.pods {
            let r = &apps[pods[q].app].template.requests;
            cpu += r.cpu;
            mem += r.memory;
            count += 1;
        }
        let al = &node.model.allocatable;
        if cpu > al.cpu || mem > al.memory || count > al.pods {
            self.fail(
                now,
                format!(
                    "{name} bound to {} where its requests do not fit",
                    node.model.name
                ),
            );
        }
    }

    pub(crate) fn eviction(&mut self, now: i64, p: usize, pods: &[SimPod], apps: &[App]) {
        let a = pods[p].app;
        let app = &apps[a];
        if app.safe_to_evict == Some(false) {
            self.fail(
                now,
                format!(
                    "evicted {}, which is annotated safe-to-evict: \"false\"",
                    pods[p].name
                ),
            );
        }
        let Some(pdb) = &app.pdb else { return };
        // Healthy: Ready, not terminating, carrying the PDB's label (app=<name>) in its namespace.
        let healthy = pods
            .iter()
            .filter(|q| {
                let qa = &apps[q.app];
                qa.namespace == app.namespace && qa.template.labels.get("app") == Some(&app.name)
            })
            .filter(|q| q.is_ready(now))
            .count() as i32;
        let min_healthy = match (pdb.min_available, pdb.max_unavailable) {
            (Some(m), _) => m,
            (None, Some(u)) => app.desired - u,
            (None, None) => 0,
        };
        if healthy - 1 < min_healthy {
            self.pdb_violations += 1;
            self.fail(
                now,
                format!(
                    "evicting {} leaves {} healthy pod(s) of {}, below its PDB's {min_healthy}",
                    pods[p].name,
                    healthy - 1,
                    app.name
                ),
            );
        }
    }

    pub(crate) fn node_deleted(
        &mut self,
        now: i64,
        n: usize,
        nodes: &[SimNode],
        pods: &[SimPod],
        apps: &[App],
    ) {
        let node = &nodes[n];
        for p in pods.iter().filter(|p| !p.gone && p.node == Some(n)) {
            if !p.terminating {
                self.fail(
                    now,
                    format!("node {} deleted while {} runs on it", node.model.name, p.name),
                );
            }
            if apps[p.app].safe_to_evict == Some(false) {
                self.fail(
                    now,
                    format!(
                        "node {} deleted with {} that cannot be evicted",
                        node.model.name, p.name
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, NodeState, Options};
    use crate::scenario::Scenario;
    use crate::settings::Resolved;

    /// Two nodes of 1 cpu; web (500m, PDB minAvailable 2) has two pods, on the first node.
    fn engine() -> Engine {
        let text = "\
name: t
duration: 10m
nodeGroups:
  - {name: a, min: 0, max: 2, initial: 2, cpu: \"1\", memory: 4Gi, pricePerHour: 0.1}
workloads:
  - {name: web, replicas: 2, cpu: 500m, memory: 128Mi, pdb: {minAvailable: 2}}
  - {name: db, replicas: 1, cpu: 500m, memory: 128Mi, safeToEvict: false}
";
        let s = Scenario::parse(text, "t.yaml").unwrap();
        Engine::new(&s, Resolved::new(&s.settings).unwrap(), Options::default(), None).unwrap()
    }

    fn step(e: &mut Engine) {
        e.checker.step(e.now, &e.apps, &e.groups, &e.nodes, &e.pods);
    }

    #[test]
    fn the_starting_cluster_holds_every_invariant() {
        let mut e = engine();
        step(&mut e);
        assert_eq!(e.checker.violations, Vec::<String>::new());
        assert_eq!(e.pods.iter().filter(|p| p.node == Some(0)).count(), 2);
    }

    #[test]
    fn a_bind_beyond_the_nodes_allocatable_is_caught() {
        let mut e = engine();
        // db sits on node 1; binding a web pod there too overcommits nothing (500m + 500m = 1 cpu),
        // a third pod does.
        let db = e.pods.iter().position(|p| e.apps[p.app].name == "db").unwrap();
        assert_eq!(e.pods[db].node, Some(1));
        e.checker.bind(0, 0, 1, &e.nodes, &e.pods, &e.apps);
        assert!(e.checker.violations.is_empty(), "{:?}", e.checker.violations);
        e.nodes[1].pods.push(0);
        e.checker.bind(0, 1, 1, &e.nodes, &e.pods, &e.apps);
        assert!(
            e.checker.violations[0].contains("do not fit"),
            "{:?}",
            e.checker.violations
        );
    }

    #[test]
    fn a_bind_to_a_cordoned_node_is_caught() {
        let mut e = engine();
        e.nodes[1].model.unschedulable = true;
        e.checker.bind(0, 0, 1, &e.nodes, &e.pods, &e.apps);
        assert!(e.checker.violations[0].contains("cordoned"));
    }

    #[test]
    fn an_eviction_the_pdb_does_not_allow_is_counted() {
        let mut e = engine();
        let web = e.pods.iter().position(|p| e.apps[p.app].name == "web").unwrap();
        e.checker.eviction(0, web, &e.pods, &e.apps);
        assert_eq!(e.checker.pdb_violations, 1);
    }

    #[test]
    fn deleting_a_node_under_a_running_or_unevictable_pod_is_caught() {
        let mut e = engine();
        e.checker.node_deleted(0, 1, &e.nodes, &e.pods, &e.apps);
        assert_eq!(e.checker.violations.len(), 2, "{:?}", e.checker.violations);
        assert!(e.checker.violations[1].contains("cannot be evicted"));
    }

    #[test]
    fn a_group_outside_its_bounds_and_pods_on_a_deleted_node_are_caught() {
        let mut e = engine();
        e.groups[0].target = 3;
        e.nodes[1].state = NodeState::Gone;
        step(&mut e);
        let v = &e.checker.violations;
        assert!(v.iter().any(|m| m.contains("outside 0..2")), "{v:?}");
        assert!(v.iter().any(|m| m.contains("deleted node")), "{v:?}");
    }
}
