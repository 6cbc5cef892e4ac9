//! An index of labelled items by `(key, value)`, so that a label selector is matched against the
//! few items that carry one of its required values instead of every item of a namespace.
//!
//! A cycle matches every HPA's selector against its namespace's pods and PodMetrics; with fifty HPAs
//! of two pods each in a namespace that is fifty full scans of a hundred items. The index is built
//! once per namespace per cycle; [`LabelIndex::candidates`] narrows a selector to the items carrying
//! the value(s) of its first `=`, `==` or `in` requirement (every item when it has none), and the
//! caller still checks each candidate with `Selector::matches`, so results are exactly a full scan's.

use std::collections::{BTreeMap, HashMap};

use swell_core::selector::{Operator, Selector};

/// Item positions by label `(key, value)`.
#[derive(Clone, Debug, Default)]
pub struct LabelIndex {
    by_pair: HashMap<(String, String), Vec<usize>>,
    len: usize,
}

impl LabelIndex {
    /// Indexes items by their labels, in order (positions are the iteration order).
    pub fn new<'a>(labels: impl IntoIterator<Item = Option<&'a BTreeMap<String, String>>>) -> Self {
        let mut by_pair: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut len = 0;
        for (i, l) in labels.into_iter().enumerate() {
            len = i + 1;
            for (k, v) in l.into_iter().flatten() {
                by_pair.entry((k.clone(), v.clone())).or_default().push(i);
            }
        }
        Self { by_pair, len }
    }

    /// Positions of the items that may match `selector`, ascending; check each with
    /// `Selector::matches`.
    pub fn candidates(&self, selector: &Selector) -> Vec<usize> {
        let narrowing = selector.requirements().iter().find(|r| {
            matches!(
                r.operator(),
                Operator::Equals | Operator::DoubleEquals | Operator::In
            )
        });
        let Some(r) = narrowing else {
            return (0..self.len).collect();
        };
        let mut out: Vec<usize> = r
            .values()
            .iter()
            .filter_map(|v| self.by_pair.get(&(r.key().to_string(), v.clone())))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn candidates_are_a_superset_of_the_matches_and_a_full_scan_without_an_equality() {
        let items = [
            labels(&[("app", "web"), ("tier", "front")]),
            labels(&[("app", "api")]),
            labels(&[("app", "web")]),
            labels(&[]),
        ];
        let index = LabelIndex::new(items.iter().map(Some));
        for (sel, want) in [
            ("app=web", vec![0, 2]),
            ("app in (api,web)", vec![0, 1, 2]),
            ("app=web,tier=front", vec![0, 2]),
            ("app=db", vec![]),
            ("tier!=back", vec![0, 1, 2, 3]),
            ("", vec![0, 1, 2, 3]),
        ] {
            let s = Selector::parse(sel).unwrap();
            let got = index.candidates(&s);
            assert_eq!(got, want, "{sel}");
            let matching: Vec<usize> = (0..items.len()).filter(|i| s.matches(&items[*i])).collect();
            assert!(
                matching.iter().all(|m| got.contains(m)),
                "{sel}: {matching:?} not in {got:?}"
            );
        }
    }
}
