//! Detects a second writer of HPA status: the cluster's built-in HPA controller, when it is on,
//! writes the status of every HPA within its sync period (15s). A test that needs it off creates an
//! HPA that no Swell controller owns, waits a little longer than that, and fails with a clear message
//! when the status was written.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
};
use serde_json::json;

use crate::{Error, Result, api_error};

/// How long to watch for another writer: longer than kube-controller-manager's 15s sync period.
pub const WATCH_FOR: Duration = Duration::from_secs(20);

/// Fails when something else writes HPA status in `namespace` within [`WATCH_FOR`].
pub async fn assert_no_other_hpa_writer(client: &Client, namespace: &str) -> Result<()> {
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let probe: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "swell-e2e-writer-probe"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "swell-e2e-absent"},
                 "maxReplicas": 2,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                              "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    }))
    .map_err(|e| Error::Client(e.to_string()))?;
    api.create(&PostParams::default(), &probe)
        .await
        .map_err(api_error("create the writer probe HPA"))?;
    tokio::time::sleep(WATCH_FOR).await;
    let seen = api
        .get("swell-e2e-writer-probe")
        .await
        .map_err(api_error("read the writer probe HPA"))?;
    let _ = api
        .delete("swell-e2e-writer-probe", &DeleteParams::default())
        .await;
    let written = seen
        .status
        .as_ref()
        .is_some_and(|s| s.conditions.as_ref().is_some_and(|c| !c.is_empty()));
    if written {
        return Err(Error::SecondWriter(format!(
            "another controller wrote the status of HPA {namespace}/swell-e2e-writer-probe within {WATCH_FOR:?}: \
             the cluster's built-in HPA controller is on; turn it off (kube-controller-manager \
             --controllers=*,-horizontalpodautoscaling) to run this test"
        )));
    }
    Ok(())
}
