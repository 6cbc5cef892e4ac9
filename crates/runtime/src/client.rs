//! A `kube::Client` from the two flags every Swell controller takes: `--kubeconfig` and `--context`.
//!
//! The binary parses the flags (clap lives only there) into [`ClientOptions`]; this module turns them
//! into a [`kube::Config`] and then a [`kube::Client`]:
//!
//! - a kubeconfig path given: that file, with the given context or its `current-context`;
//! - no path but a context: the usual kubeconfig (`KUBECONFIG`, else `~/.kube/config`) with that
//!   context (an in-cluster config has no contexts, so a context without a kubeconfig is an error);
//! - neither: kube's inference, the usual kubeconfig first, then the in-cluster service account.
//!
//! The resulting client retries 429/503/504 answers on its own (kube's default).

use std::path::PathBuf;

use kube::config::{InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};

/// What went wrong while building the client. None of these is helped by retrying: they are
/// configuration problems that the operator has to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig named by `--kubeconfig` could not be read or parsed.
    #[error("failed to read kubeconfig {path}: {source}")]
    ReadKubeconfig {
        /// The path that was given.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: KubeconfigError,
    },
    /// The kubeconfig was read, but the chosen context, cluster or user in it is unusable.
    #[error("failed to load {what}: {source}")]
    LoadKubeconfig {
        /// Which kubeconfig and context, for the message.
        what: String,
        /// Why the context is unusable.
        #[source]
        source: KubeconfigError,
    },
    /// Neither a kubeconfig nor the in-cluster service account was found.
    #[error(
        "failed to find cluster credentials: no usable kubeconfig (--kubeconfig, KUBECONFIG or \
         ~/.kube/config) and not running in a pod with a service account: {0}"
    )]
    Infer(#[source] InferConfigError),
    /// The configuration was found but the HTTP client could not be built from it (bad TLS data).
    #[error("failed to build the kubernetes client: {0}")]
    BuildClient(#[source] kube::Error),
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where to find the cluster: the parsed `--kubeconfig` and `--context` flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// An explicit kubeconfig file; `None` means the usual kubeconfig or the in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig to use instead of its `current-context`.
    pub context: Option<String>,
}

/// Resolves the options to a client configuration (see the module docs for the order).
pub async fn config(options: &ClientOptions) -> Result<kube::Config> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let context_label = match &options.context {
        Some(context) => format!("context {context:?}"),
        None => "its current context".to_owned(),
    };
    match (&options.kubeconfig, &options.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|source| Error::ReadKubeconfig {
                path: path.clone(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(|source| Error::LoadKubeconfig {
                    what: format!("kubeconfig {} with {context_label}", path.display()),
                    source,
                })
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&kube_options)
            .await
            .map_err(|source| Error::LoadKubeconfig {
                what: format!("the default kubeconfig (KUBECONFIG or ~/.kube/config) with {context_label}"),
                source,
            }),
        (None, None) => kube::Config::infer().await.map_err(Error::Infer),
    }
}

/// Builds a client from the options. Needs a tokio runtime (the client spawns its connection pool).
pub async fn client(options: &ClientOptions) -> Result<kube::Client> {
    let config = config(options).await?;
    kube::Client::try_from(config).map_err(Error::BuildClient)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: alpha
clusters:
  - name: alpha
    cluster:
      server: https://alpha.example.invalid:6443
  - name: beta
    cluster:
      server: http://127.0.0.1:18080
contexts:
  - name: alpha
    context:
      cluster: alpha
      user: alice
  - name: beta
    context:
      cluster: beta
      user: alice
      namespace: team-b
users:
  - name: alice
    user:
      token: not-a-real-token
"#;

    /// A kubeconfig file of this test alone (the test name keeps parallel tests apart).
    fn kubeconfig_file(test: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("swell-runtime-client-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn an_explicit_kubeconfig_uses_its_current_context() {
        let options = ClientOptions {
            kubeconfig: Some(kubeconfig_file("current", KUBECONFIG)),
            context: None,
        };
        let config = config(&options).await.unwrap();
        assert_eq!(
            config.cluster_url.to_string(),
            "https://alpha.example.invalid:6443/"
        );
        assert_eq!(config.default_namespace, "default");
    }

    #[tokio::test]
    async fn a_context_flag_overrides_the_current_context() {
        let options = ClientOptions {
            kubeconfig: Some(kubeconfig_file("context", KUBECONFIG)),
            context: Some("beta".into()),
        };
        let config = config(&options).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:18080/");
        assert_eq!(config.default_namespace, "team-b");
    }

    #[tokio::test]
    async fn an_unknown_context_is_an_error_that_names_it() {
        let options = ClientOptions {
            kubeconfig: Some(kubeconfig_file("unknown", KUBECONFIG)),
            context: Some("gamma".into()),
        };
        let err = config(&options).await.unwrap_err();
        assert!(matches!(err, Error::LoadKubeconfig { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("failed to load kubeconfig "), "{message}");
        assert!(message.contains("context \"gamma\""), "{message}");
    }

    #[tokio::test]
    async fn a_missing_kubeconfig_file_is_an_error_that_names_the_path() {
        let path = std::env::temp_dir().join("swell-runtime-client-does-not-exist/kubeconfig");
        let options = ClientOptions {
            kubeconfig: Some(path.clone()),
            context: None,
        };
        let err = config(&options).await.unwrap_err();
        assert!(matches!(err, Error::ReadKubeconfig { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }

    #[tokio::test]
    async fn a_malformed_kubeconfig_is_a_read_error() {
        let options = ClientOptions {
            kubeconfig: Some(kubeconfig_file("malformed", "clusters: [this is: not: yaml")),
            context: None,
        };
        let err = config(&options).await.unwrap_err();
        assert!(matches!(err, Error::ReadKubeconfig { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_client_is_built_from_a_kubeconfig_with_its_default_namespace() {
        let options = ClientOptions {
            kubeconfig: Some(kubeconfig_file("client", KUBECONFIG)),
            context: Some("beta".into()),
        };
        let client = client(&options).await.unwrap();
        assert_eq!(client.default_namespace(), "team-b");
    }
}
