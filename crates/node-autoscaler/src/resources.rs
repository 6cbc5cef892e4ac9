//! Resource vectors: what a pod requests and what a node offers.
//!
//! Integers only (cpu in millicores, everything else in its base unit), so that fitting is exact and
//! cheap: the scheduling simulation compares these millions of times per plan. Extended resources
//! (`nvidia.com/gpu`, hugepages, ...) ride in a small sorted list that is empty for most pods.

use std::fmt;

use serde::{Deserialize, Serialize};
use swell_core::quantity::Quantity;

/// The resource names the scheduler knows by heart.
pub const CPU: &str = "cpu";
/// Memory in bytes.
pub const MEMORY: &str = "memory";
/// Local ephemeral storage in bytes.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// The number of pods a node accepts.
pub const PODS: &str = "pods";

/// A bundle of resource amounts. `pods` is the pod-count dimension: a pod requests 1, a node offers
/// its `allocatable.pods`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resources {
    /// Millicores.
    pub cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ephemeral_storage: i64,
    /// Pod slots.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pods: i64,
    /// Extended resources by name, sorted by name, no zero entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extended: Vec<(String, i64)>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The first resource that does not fit, as the scheduler names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shortage {
    /// Not enough cpu.
    Cpu,
    /// Not enough memory.
    Memory,
    /// Not enough ephemeral storage.
    EphemeralStorage,
    /// The node's pod count is full.
    Pods,
    /// Not enough of an extended resource.
    Extended(String),
}

impl fmt::Display for Shortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The scheduler's NodeResourcesFit messages.
        match self {
            Shortage::Cpu => f.write_str("Insufficient cpu"),
            Shortage::Memory => f.write_str("Insufficient memory"),
            Shortage::EphemeralStorage => f.write_str("Insufficient ephemeral-storage"),
            Shortage::Pods => f.write_str("Too many pods"),
            Shortage::Extended(name) => write!(f, "Insufficient {name}"),
        }
    }
}

impl Resources {
    /// cpu (millicores) and memory (bytes), nothing else.
    pub fn cpu_mem(cpu: i64, memory: i64) -> Resources {
        Resources {
            cpu,
            memory,
            ..Resources::default()
        }
    }

    /// Builder: sets the pod slots.
    pub fn with_pods(mut self, pods: i64) -> Resources {
        self.pods = pods;
        self
    }

    /// Builder: sets an extended resource.
    pub fn with_extended(mut self, name: &str, amount: i64) -> Resources {
        self.set(name, amount);
        self
    }

    /// Builder: sets ephemeral storage.
    pub fn with_ephemeral_storage(mut self, bytes: i64) -> Resources {
        self.ephemeral_storage = bytes;
        self
    }

    /// The amount of a named resource.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.pods,
            _ => self
                .extended
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, v)| *v),
        }
    }

    /// Sets a named resource (cpu in millicores).
    pub fn set(&mut self, name: &str, amount: i64) {
        match name {
            CPU => self.cpu = amount,
            MEMORY => self.memory = amount,
            EPHEMERAL_STORAGE => self.ephemeral_storage = amount,
            PODS => self.pods = amount,
            _ => match self.extended.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) if amount == 0 => {
                    self.extended.remove(i);
                }
                Ok(i) => self.extended[i].1 = amount,
                Err(_) if amount == 0 => {}
                Err(i) => self.extended.insert(i, (name.to_string(), amount)),
            },
        }
    }

    /// Builds resources from a Kubernetes resource list (requests, allocatable, capacity). cpu is
    /// counted in millicores rounded up, as the scheduler does; other resources in whole units rounded
    /// up. Unknown names become extended resources.
    pub fn from_quantities<'a>(list: impl IntoIterator<Item = (&'a str, &'a Quantity)>) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list {
            let v = if name == CPU { q.milli_value() } else { q.value() };
            r.set(name, v);
        }
        r
    }

    /// Adds `other` in place (saturating: a broken object must not panic the planner).
    pub fn add(&mut self, other: &Resources) {
        self.cpu = self.cpu.saturating_add(other.cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, v) in &other.extended {
            let cur = self.get(name);
            self.set(name, cur.saturating_add(*v));
        }
    }

    /// Subtracts `other` in place.
    pub fn sub(&mut self, other: &Resources) {
        self.cpu = self.cpu.saturating_sub(other.cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, v) in &other.extended {
            let cur = self.get(name);
            self.set(name, cur.saturating_sub(*v));
        }
    }

    /// Adds `other` `n` times.
    pub fn add_times(&mut self, other: &Resources, n: i64) {
        self.cpu = self.cpu.saturating_add(other.cpu.saturating_mul(n));
        self.memory = self.memory.saturating_add(other.memory.saturating_mul(n));
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage.saturating_mul(n));
        self.pods = self.pods.saturating_add(other.pods.saturating_mul(n));
        for (name, v) in &other.extended {
            let cur = self.get(name);
            self.set(name, cur.saturating_add(v.saturating_mul(n)));
        }
    }

    /// Whether a request of `self` fits on a node offering `allocatable` of which `used` is taken;
    /// the first shortage otherwise, in the scheduler's order (pods, cpu, memory, storage, extended).
    ///
    /// Like the scheduler, a zero request never fails, even on an over-committed node.
    pub fn fits(&self, used: &Resources, allocatable: &Resources) -> Result<(), Shortage> {
        if self.pods > 0 && used.pods + self.pods > allocatable.pods {
            return Err(Shortage::Pods);
        }
        if self.cpu > 0 && used.cpu.saturating_add(self.cpu) > allocatable.cpu {
            return Err(Shortage::Cpu);
        }
        if self.memory > 0 && used.memory.saturating_add(self.memory) > allocatable.memory {
            return Err(Shortage::Memory);
        }
        if self.ephemeral_storage > 0
            && used.ephemeral_storage.saturating_add(self.ephemeral_storage) > allocatable.ephemeral_storage
        {
            return Err(Shortage::EphemeralStorage);
        }
        for (name, v) in &self.extended {
            if *v > 0 && used.get(name).saturating_add(*v) > allocatable.get(name) {
                return Err(Shortage::Extended(name.clone()));
            }
        }
        Ok(())
    }

    /// How many copies of request `self` fit into `allocatable - used` (at most `cap`).
    pub fn copies_that_fit(&self, used: &Resources, allocatable: &Resources, cap: i64) -> i64 {
        let mut n = cap;
        let mut limit = |req: i64, used: i64, alloc: i64| {
            if req > 0 {
                n = n.min(((alloc - used) / req).max(0));
            }
        };
        limit(self.pods, used.pods, allocatable.pods);
        limit(self.cpu, used.cpu, allocatable.cpu);
        limit(self.memory, used.memory, allocatable.memory);
        limit(
            self.ephemeral_storage,
            used.ephemeral_storage,
            allocatable.ephemeral_storage,
        );
        for (name, v) in &self.extended {
            limit(*v, used.get(name), allocatable.get(name));
        }
        n
    }

    /// Whether every dimension is zero.
    pub fn is_zero(&self) -> bool {
        self.cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.pods == 0
            && self.extended.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_fits_exactly_up_to_allocatable() {
        let alloc = Resources::cpu_mem(1000, 1000).with_pods(2);
        let used = Resources::cpu_mem(500, 0).with_pods(1);
        let req = Resources::cpu_mem(500, 1000).with_pods(1);
        assert_eq!(req.fits(&used, &alloc), Ok(()));
        let req = Resources::cpu_mem(501, 0).with_pods(1);
        assert_eq!(req.fits(&used, &alloc), Err(Shortage::Cpu));
    }

    #[test]
    fn the_pod_count_is_checked_before_cpu_like_the_scheduler() {
        let alloc = Resources::cpu_mem(1000, 1000).with_pods(1);
        let used = Resources::cpu_mem(1000, 0).with_pods(1);
        let req = Resources::cpu_mem(1, 0).with_pods(1);
        assert_eq!(req.fits(&used, &alloc), Err(Shortage::Pods));
        assert_eq!(Shortage::Pods.to_string(), "Too many pods");
    }

    #[test]
    fn an_extended_resource_the_node_lacks_is_insufficient() {
        let alloc = Resources::cpu_mem(1000, 1000).with_pods(10);
        let req = Resources::cpu_mem(1, 1)
            .with_pods(1)
            .with_extended("nvidia.com/gpu", 1);
        let err = req.fits(&Resources::default(), &alloc).unwrap_err();
        assert_eq!(err.to_string(), "Insufficient nvidia.com/gpu");
    }

    #[test]
    fn copies_that_fit_takes_the_tightest_dimension() {
        let alloc = Resources::cpu_mem(1000, 5000).with_pods(100);
        let req = Resources::cpu_mem(95, 190).with_pods(1);
        assert_eq!(req.copies_that_fit(&Resources::default(), &alloc, i64::MAX), 10);
        let used = Resources::cpu_mem(950, 1900).with_pods(10);
        let small = Resources::cpu_mem(50, 100).with_pods(1);
        assert_eq!(small.copies_that_fit(&used, &alloc, i64::MAX), 1);
    }

    #[test]
    fn setting_an_extended_resource_to_zero_removes_it() {
        let mut r = Resources::default().with_extended("b", 1).with_extended("a", 2);
        assert_eq!(r.extended, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
        r.set("a", 0);
        assert_eq!(r.extended, vec![("b".to_string(), 1)]);
        let mut s = r.clone();
        s.add(&r);
        assert_eq!(s.get("b"), 2);
        s.sub(&r);
        s.sub(&r);
        assert!(s.extended.is_empty());
    }
}
