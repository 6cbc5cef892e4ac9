//! The scale subresource of whatever kind an HPA's `scaleTargetRef` names.
//!
//! The kind is resolved to its resource through discovery (`GET /apis/{group}/{version}`, or
//! `/api/v1` for the core group), as upstream resolves it through its RESTMapper, and cached: kinds
//! do not move. The scale is read with `GET .../{resource}/{name}/scale` and written with a `PUT` of
//! the Scale read, carrying its `resourceVersion`; a 409 conflict (someone changed the target in
//! between) re-reads the scale and tries again, a bounded number of times.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use k8s_openapi::api::autoscaling::{v1::Scale, v2::CrossVersionObjectReference};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};

use super::{Error, Result};

/// How many times a scale write is tried when it keeps conflicting.
pub const SCALE_WRITE_ATTEMPTS: usize = 3;

/// `(apiVersion, kind)`.
type KindKey = (String, String);

/// Reads and writes scale subresources.
pub struct ScaleClient {
    client: Client,
    // One cell per kind: concurrent reconciles of the same kind share one discovery request; a
    // failed lookup leaves the cell empty, so the kind is looked up again later.
    resources: Mutex<HashMap<KindKey, Arc<tokio::sync::OnceCell<ApiResource>>>>,
}

impl std::fmt::Debug for ScaleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaleClient").finish_non_exhaustive()
    }
}

/// `Kind/name` of a reference, for errors and logs.
pub fn describe(r: &CrossVersionObjectReference) -> String {
    format!("{}/{}", r.kind, r.name)
}

impl ScaleClient {
    /// A scale client over `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            resources: Mutex::new(HashMap::new()),
        }
    }

    /// The resource of the referenced kind, from discovery (cached once found).
    pub async fn resolve(&self, r: &CrossVersionObjectReference) -> Result<ApiResource> {
        let api_version = r.api_version.clone().unwrap_or_default();
        let cell = self
            .resources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((api_version.clone(), r.kind.clone()))
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", api_version.as_str()),
            };
            if version.is_empty() {
                return Err(Error::UnknownKind(format!(
                    "no apiVersion set for kind {}",
                    r.kind
                )));
            }
            let gvk = GroupVersionKind::gvk(group, version, &r.kind);
            kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map(|(ar, _)| ar)
                .map_err(|e| {
                    Error::UnknownKind(format!(
                        "no matches for kind \"{}\" in version \"{api_version}\": {e}",
                        r.kind
                    ))
                })
        })
        .await
        .cloned()
    }

    fn api(&self, namespace: &str, ar: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, ar)
    }

    /// Reads the scale of the target.
    pub async fn get(&self, namespace: &str, r: &CrossVersionObjectReference) -> Result<Scale> {
        let ar = self.resolve(r).await?;
        self.api(namespace, &ar)
            .get_scale(&r.name)
            .await
            .map_err(|source| Error::GetScale {
                reference: describe(r),
                source,
            })
    }

    /// Sets `spec.replicas` of the target to `replicas`, starting from `scale` (as read); on a
    /// conflict the scale is read again and the write retried, up to [`SCALE_WRITE_ATTEMPTS`] writes.
    pub async fn update(
        &self,
        namespace: &str,
        r: &CrossVersionObjectReference,
        mut scale: Scale,
        replicas: i32,
    ) -> Result<Scale> {
        let ar = self.resolve(r).await?;
        let api = self.api(namespace, &ar);
        let mut attempt = 1;
        loop {
            scale.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
            match api.replace_scale(&r.name, &PostParams::default(), &scale).await {
                Ok(written) => return Ok(written),
                Err(kube::Error::Api(status)) if status.is_conflict() && attempt < SCALE_WRITE_ATTEMPTS => {
                    tracing::debug!(target_ref = %describe(r), attempt, "scale write conflicted; reading it again");
                    attempt += 1;
                    scale = api.get_scale(&r.name).await.map_err(|source| Error::GetScale {
                        reference: describe(r),
                        source,
                    })?;
                }
                Err(source) => {
                    return Err(Error::UpdateScale {
                        reference: describe(r),
                        source,
                    });
                }
            }
        }
    }
}
