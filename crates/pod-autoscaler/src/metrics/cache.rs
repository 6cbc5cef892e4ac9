//! One sync cycle's view of the resource metrics: each namespace's PodMetrics are listed once and
//! shared by every HPA of that namespace, filtered by each HPA's selector on this side.
//!
//! Upstream lists PodMetrics once per HPA with the HPA's selector; for a namespace with fifty HPAs
//! that is fifty requests per cycle where one does. Filtering needs the pod labels metrics-server
//! copies onto each PodMetrics; when a namespace's list carries no labels at all (an adapter that
//! does not copy them), the cache falls back to upstream's per-selector request for that namespace.
//! Custom and external metrics pass through (their values depend on per-HPA parameters).

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use swell_core::selector::Selector;
use tokio::sync::{Mutex, OnceCell};

use super::{Error, MetricsApi, MetricsSource, Result, Sample, index::LabelIndex, types::PodMetrics};
use crate::input::PodSample;

/// A namespace's PodMetrics, their label index, and whether any carries labels at all.
type NamespaceList = Arc<(Vec<PodMetrics>, LabelIndex, bool)>;
type Shared = Arc<OnceCell<std::result::Result<NamespaceList, Arc<Error>>>>;

/// A [`MetricsSource`] for one sync cycle over another source. Make a new one each cycle.
pub struct CycleCache<'a, S> {
    source: &'a S,
    namespaces: Mutex<HashMap<String, Shared>>,
}

impl<S> std::fmt::Debug for CycleCache<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleCache").finish_non_exhaustive()
    }
}

impl<'a, S: MetricsSource> CycleCache<'a, S> {
    /// An empty cache over `source`.
    pub fn new(source: &'a S) -> Self {
        Self {
            source,
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    async fn namespace_list(&self, namespace: &str) -> std::result::Result<NamespaceList, Arc<Error>> {
        let cell = {
            let mut map = self.namespaces.lock().await;
            map.entry(namespace.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            match self.source.pod_metrics(namespace, &Selector::everything()).await {
                Ok(items) => {
                    let index = LabelIndex::new(items.iter().map(|m| Some(&m.metadata.labels)));
                    let labelled = items.iter().any(|m| !m.metadata.labels.is_empty());
                    Ok(Arc::new((items, index, labelled)))
                }
                // An empty namespace is not an error for the namespace, only for an HPA that
                // finds nothing in it; that is decided per selector below.
                Err(Error::Empty { .. }) => Ok(Arc::new((Vec::new(), LabelIndex::default(), false))),
                Err(e) => Err(Arc::new(e)),
            }
        })
        .await
        .clone()
    }
}

impl<S: MetricsSource> MetricsSource for CycleCache<'_, S> {
    async fn pod_metrics(&self, namespace: &str, selector: &Selector) -> Result<Vec<PodMetrics>> {
        let list = self.namespace_list(namespace).await.map_err(Error::Shared)?;
        let (all, index, labelled) = &*list;
        if !all.is_empty() && !labelled {
            return self.source.pod_metrics(namespace, selector).await;
        }
        let matching: Vec<PodMetrics> = index
            .candidates(selector)
            .into_iter()
            .map(|i| &all[i])
            .filter(|m| selector.matches(&m.metadata.labels))
            .cloned()
            .collect();
        if matching.is_empty() {
            return Err(Error::Empty {
                api: MetricsApi::Resource,
            });
        }
        Ok(matching)
    }

    async fn pods_metric(
        &self,
        namespace: &str,
        selector: &Selector,
        metric: &str,
        metric_selector: &Selector,
    ) -> Result<Vec<PodSample>> {
        self.source
            .pods_metric(namespace, selector, metric, metric_selector)
            .await
    }

    async fn object_metric(
        &self,
        namespace: &str,
        object: &CrossVersionObjectReference,
        metric: &str,
        metric_selector: &Selector,
    ) -> Result<Sample> {
        self.source
            .object_metric(namespace, object, metric, metric_selector)
            .await
    }

    async fn external_metric(
        &self,
        namespace: &str,
        metric: &str,
        selector: &Selector,
    ) -> Result<Vec<Sample>> {
        self.source.external_metric(namespace, metric, selector).await
    }
}
