//! The node-group declaration: which groups the kwok provider manages and what their nodes look like.
//!
//! The declaration is YAML, read from a file or from a key of a ConfigMap at start-up:
//!
//! ```yaml
//! nodeGroups:
//!   small:                      # the group's name: a DNS-1123 label of at most 57 characters
//!     minSize: 0
//!     maxSize: 10
//!     pricePerHour: 0.096       # optional; feeds the price expander
//!     template:
//!       cpu: "4"                # quantities as Kubernetes writes them; strings or integers
//!       memory: 16Gi
//!       pods: 110
//!       ephemeralStorage: 100Gi # optional
//!       extendedResources:      # optional
//!         nvidia.com/gpu: 1
//!       labels:                 # optional
//!         type: kwok
//!       taints:                 # optional
//!         - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
//! ```
//!
//! ```text
//! file or ConfigMap key --load_file / load_config_map--> text --parse--> Declaration
//! ```
//!
//! Parsing is strict, because a typo in a node group must stop the controller rather than silently
//! give a group without its GPU or its taint: unknown fields are refused, names and label keys are
//! validated as the API validates them, quantities are parsed exactly by the workspace's quantity
//! parser (floats are refused: `0.1` as a YAML float is not the decimal the user wrote), `minSize`
//! must not exceed `maxSize`, and a group may be declared only once. Every error names the group and
//! the field through its YAML path (`nodeGroups.small.template.cpu`) and the line and column.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use swell_core::quantity::Quantity;
use swell_core::validation::{is_dns1123_label, is_qualified_name, is_valid_label_value};
use swell_node_autoscaler::model::{LABEL_HOSTNAME, TaintEffect};
use swell_node_autoscaler::resources;

use crate::nodes::GROUP_LABEL;

/// The ConfigMap key the declaration is read from unless another is given.
pub const DEFAULT_KEY: &str = "node-groups.yaml";

/// The longest group name: node names are `<group>-<5 characters>` and must fit the 63 characters of
/// the `kubernetes.io/hostname` label value.
pub const MAX_GROUP_NAME_LENGTH: usize = 57;

/// Why the declaration could not be loaded. None of these is retryable: the declaration has to change
/// (or the ConfigMap be created), and the controller must not start without it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("failed to read the node-group declaration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The ConfigMap does not exist.
    #[error("failed to load the node-group declaration: configmap {namespace}/{name} not found")]
    ConfigMapNotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The ConfigMap has no such key.
    #[error(
        "failed to load the node-group declaration: configmap {namespace}/{name} has no key {key:?} \
         (keys: {keys:?})"
    )]
    ConfigMapKeyMissing {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The key looked for.
        key: String,
        /// The keys it has.
        keys: Vec<String>,
    },
    /// The ConfigMap could not be read.
    #[error("failed to get configmap {namespace}/{name} with the node-group declaration: {source}")]
    GetConfigMap {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What the API said.
        #[source]
        source: Box<kube::Error>,
    },
    /// The text is not a valid declaration (syntax, unknown field, bad value). The message carries the
    /// YAML path (`nodeGroups.<group>.<field>`) and the line and column.
    #[error("failed to parse the node-group declaration {origin}: {source}")]
    Parse {
        /// Where the text came from (a file path, `configmap ns/name key k`).
        origin: String,
        /// What is wrong, and where.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// The declaration declares no group.
    #[error("failed to parse the node-group declaration {origin}: nodeGroups: declares no node group")]
    Empty {
        /// Where the text came from.
        origin: String,
    },
}

/// Results of loading a declaration.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the declaration lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A YAML file.
    File(PathBuf),
    /// A key of a ConfigMap.
    ConfigMap {
        /// The ConfigMap's namespace.
        namespace: String,
        /// The ConfigMap's name.
        name: String,
        /// The key holding the YAML ([`DEFAULT_KEY`] by convention).
        key: String,
    },
}

impl Source {
    /// Loads the declaration from this source (`client` is used only for a ConfigMap).
    pub async fn load(&self, client: &kube::Client) -> Result<Declaration> {
        match self {
            Source::File(path) => load_file(path),
            Source::ConfigMap { namespace, name, key } => load_config_map(client, namespace, name, key).await,
        }
    }
}

/// Reads and parses a declaration file.
pub fn load_file(path: &Path) -> Result<Declaration> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Reads the declaration from `key` of the ConfigMap `namespace/name` (one GET) and parses it.
pub async fn load_config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Declaration> {
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), namespace);
    let cm = api.get(name).await.map_err(|err| match err {
        kube::Error::Api(status) if status.is_not_found() => Error::ConfigMapNotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        err => Error::GetConfigMap {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source: Box::new(err),
        },
    })?;
    let data = cm.data.unwrap_or_default();
    let Some(text) = data.get(key) else {
        return Err(Error::ConfigMapKeyMissing {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            key: key.to_owned(),
            keys: data.into_keys().collect(),
        });
    };
    parse(text, &format!("configmap {namespace}/{name} key {key}"))
}

/// Parses a declaration. `origin` says where the text came from, for the error messages.
pub fn parse(text: &str, origin: &str) -> Result<Declaration> {
    let declaration: Declaration = serde_yaml_ng::from_str(text).map_err(|source| Error::Parse {
        origin: origin.to_owned(),
        source,
    })?;
    if declaration.node_groups.is_empty() {
        return Err(Error::Empty {
            origin: origin.to_owned(),
        });
    }
    Ok(declaration)
}

/// The declared node groups.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Declaration {
    /// The groups by name.
    #[serde(deserialize_with = "unique_groups")]
    pub node_groups: BTreeMap<GroupName, GroupSpec>,
}

impl Declaration {
    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&GroupSpec> {
        self.node_groups.get(name)
    }
}

/// A valid group name: a DNS-1123 label of at most [`MAX_GROUP_NAME_LENGTH`] characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

impl GroupName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = String;

    fn try_from(name: String) -> Result<GroupName, String> {
        let mut problems = is_dns1123_label(&name);
        if name.len() > MAX_GROUP_NAME_LENGTH && problems.is_empty() {
            problems.push(format!(
                "must be no more than {MAX_GROUP_NAME_LENGTH} characters, so that node names \
                 <group>-<5 characters> fit the hostname label"
            ));
        }
        if problems.is_empty() {
            Ok(GroupName(name))
        } else {
            Err(format!(
                "invalid node group name {name:?}: {}",
                problems.join("; ")
            ))
        }
    }
}

impl From<GroupName> for String {
    fn from(name: GroupName) -> String {
        name.0
    }
}

impl Borrow<str> for GroupName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The groups map, refusing a name declared twice (a plain map would keep the last silently).
fn unique_groups<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<GroupName, GroupSpec>, D::Error> {
    struct Groups;
    impl<'de> Visitor<'de> for Groups {
        type Value = BTreeMap<GroupName, GroupSpec>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from node group name to its declaration")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut groups = BTreeMap::new();
            while let Some(name) = map.next_key_seed(NewName(&groups))? {
                let spec = map.next_value::<GroupSpec>()?;
                groups.insert(name, spec);
            }
            Ok(groups)
        }
    }
    d.deserialize_map(Groups)
}

/// A group name as a map key, refused when invalid or already declared. Checked while the key
/// itself is read, so that the error points at the key's line.
struct NewName<'a>(&'a BTreeMap<GroupName, GroupSpec>);

impl<'de> de::DeserializeSeed<'de> for NewName<'_> {
    type Value = GroupName;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<GroupName, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NewName<'_> {
    type Value = GroupName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node group name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<GroupName, E> {
        let name = GroupName::try_from(v.to_owned()).map_err(E::custom)?;
        if self.0.contains_key(&name) {
            return Err(E::custom(format!("node group \"{name}\" is declared twice")));
        }
        Ok(name)
    }
}

/// One group: its bounds, its price and the template of its nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    /// The smallest size the autoscaler may shrink it to.
    pub min_size: usize,
    /// The largest size the autoscaler may grow it to.
    pub max_size: usize,
    /// The price of one node for an hour, if declared.
    pub price_per_hour: Option<f64>,
    /// What its nodes look like.
    pub template: Template,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawGroupSpec {
    min_size: usize,
    max_size: usize,
    #[serde(default)]
    price_per_hour: Option<f64>,
    template: Template,
}

impl TryFrom<RawGroupSpec> for GroupSpec {
    type Error = String;

    fn try_from(raw: RawGroupSpec) -> Result<GroupSpec, String> {
        if raw.min_size > raw.max_size {
            return Err(format!(
                "minSize {} is greater than maxSize {}",
                raw.min_size, raw.max_size
            ));
        }
        if let Some(price) = raw.price_per_hour
            && !(price.is_finite() && price >= 0.0)
        {
            return Err(format!(
                "pricePerHour: {price} is not a price (a finite number, zero or more)"
            ));
        }
        Ok(GroupSpec {
            min_size: raw.min_size,
            max_size: raw.max_size,
            price_per_hour: raw.price_per_hour,
            template: raw.template,
        })
    }
}

impl<'de> Deserialize<'de> for GroupSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupSpec, D::Error> {
        validated::<D, RawGroupSpec, GroupSpec>(d, GroupSpec::try_from)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
        validated::<D, RawTemplate, Template>(d, Template::try_from)
    }
}

/// Deserializes a mapping as `R` and checks it with `check`, so that a failed check is reported at
/// the mapping itself (its path and line), not at its parent as `#[serde(try_from)]` would report it.
fn validated<'de, D, R, T>(d: D, check: fn(R) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    R: Deserialize<'de>,
{
    struct Checked<R, T>(fn(R) -> Result<T, String>);
    impl<'de, R: Deserialize<'de>, T> Visitor<'de> for Checked<R, T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let raw = R::deserialize(de::value::MapAccessDeserializer::new(map))?;
            (self.0)(raw).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(Checked(check))
}

/// The nodes of a group: their capacity (also their allocatable: fake nodes reserve nothing), labels
/// and taints.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// Resources by name (`cpu`, `memory`, `pods`, `ephemeral-storage`, extended resources).
    pub resources: BTreeMap<String, DeclaredQuantity>,
    /// Labels, besides the ones every node gets (see [`crate::nodes`]).
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<DeclaredTaint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTemplate {
    cpu: DeclaredQuantity,
    memory: DeclaredQuantity,
    pods: DeclaredQuantity,
    #[serde(default)]
    ephemeral_storage: Option<DeclaredQuantity>,
    #[serde(default)]
    extended_resources: BTreeMap<String, DeclaredQuantity>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    taints: Vec<DeclaredTaint>,
}

impl TryFrom<RawTemplate> for Template {
    type Error = String;

    fn try_from(raw: RawTemplate) -> Result<Template, String> {
        let mut resources = BTreeMap::new();
        for (name, q) in [
            (resources::CPU, raw.cpu),
            (resources::MEMORY, raw.memory),
            (resources::PODS, raw.pods),
        ] {
            if q.quantity.is_zero() {
                return Err(format!("{name}: must be greater than zero"));
            }
            resources.insert(name.to_owned(), q);
        }
        if let Some(q) = raw.ephemeral_storage {
            resources.insert(resources::EPHEMERAL_STORAGE.to_owned(), q);
        }
        for (name, q) in raw.extended_resources {
            let field = format!("extendedResources[{name}]");
            if [
                resources::CPU,
                resources::MEMORY,
                resources::PODS,
                resources::EPHEMERAL_STORAGE,
            ]
            .contains(&name.as_str())
            {
                return Err(format!("{field}: {name} has its own field"));
            }
            let problems = is_qualified_name(&name);
            if !problems.is_empty() {
                return Err(format!("{field}: invalid resource name: {}", problems.join("; ")));
            }
            resources.insert(name, q);
        }
        for (key, value) in &raw.labels {
            let field = format!("labels[{key}]");
            if key == GROUP_LABEL || key == LABEL_HOSTNAME {
                return Err(format!("{field}: set by the provider on every node"));
            }
            let problems = is_qualified_name(key);
            if !problems.is_empty() {
                return Err(format!("{field}: invalid label key: {}", problems.join("; ")));
            }
            let problems = is_valid_label_value(value);
            if !problems.is_empty() {
                return Err(format!(
                    "{field}: invalid label value {value:?}: {}",
                    problems.join("; ")
                ));
            }
        }
        for (i, taint) in raw.taints.iter().enumerate() {
            let field = format!("taints[{i}]");
            let problems = is_qualified_name(&taint.key);
            if !problems.is_empty() {
                return Err(format!("{field}.key: invalid taint key: {}", problems.join("; ")));
            }
            let problems = is_valid_label_value(&taint.value);
            if !problems.is_empty() {
                return Err(format!(
                    "{field}.value: invalid taint value {:?}: {}",
                    taint.value,
                    problems.join("; ")
                ));
            }
            if raw.taints[..i]
                .iter()
                .any(|t| t.key == taint.key && t.effect == taint.effect)
            {
                return Err(format!(
                    "{field}: taint {}:{} is declared twice",
                    taint.key,
                    taint.effect.as_str()
                ));
            }
        }
        Ok(Template {
            resources,
            labels: raw.labels,
            taints: raw.taints,
        })
    }
}

/// A node taint.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTaint {
    /// Key.
    pub key: String,
    /// Value (empty when not given).
    #[serde(default)]
    pub value: String,
    /// Effect: `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: TaintEffect,
}

/// A quantity as written (the Node object carries the user's spelling) and as parsed (exact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredQuantity {
    /// The text, e.g. `16Gi`.
    pub text: String,
    /// Its value.
    pub quantity: Quantity,
}

impl DeclaredQuantity {
    fn parse(text: String) -> Result<DeclaredQuantity, String> {
        let quantity = Quantity::parse(&text).map_err(|err| err.to_string())?;
        if quantity.sign() < 0 {
            return Err(format!("quantity {text:?} must not be negative"));
        }
        Ok(DeclaredQuantity { text, quantity })
    }
}

impl<'de> Deserialize<'de> for DeclaredQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DeclaredQuantity, D::Error> {
        struct Q;
        impl Visitor<'_> for Q {
            type Value = DeclaredQuantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"500m\", \"4\" or \"16Gi\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<DeclaredQuantity, E> {
                DeclaredQuantity::parse(v.to_owned()).map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DeclaredQuantity, E> {
                DeclaredQuantity::parse(v.to_string()).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DeclaredQuantity, E> {
                DeclaredQuantity::parse(v.to_string()).map_err(E::custom)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DeclaredQuantity, E> {
                Err(E::custom(format!(
                    "{v} is a YAML float; write the quantity as a string (\"{v}\") so that it is read exactly"
                )))
            }
        }
        d.deserialize_any(Q)
    }
}
