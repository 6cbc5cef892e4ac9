//! A scripted in-process Kubernetes API server for HTTP-level tests (DESIGN.md test tier 3).
//!
//! A test queues the requests it expects, each with a canned answer, hands [`ScriptedApi::client`]
//! (a real `kube::Client` whose transport is this script instead of a socket) to the code under
//! test, and afterwards checks what was sent with [`ScriptedApi::requests`] and that every
//! expectation was met with [`ScriptedApi::verify`]. Every request, expected or not, is recorded
//! with its method, path, query, content type and body.
//!
//! Matching: a request takes the first queued expectation, in the order they were queued, whose
//! method, path and (optional) query check match it and that has uses left. So requests to different
//! paths may arrive in any order, while several expectations for the same path answer in turn (a
//! 409 and then a 200 for the same PUT). A request that matches nothing gets a 500 `Status` and is
//! reported by [`ScriptedApi::verify`].
//!
//! ```text
//! let api = ScriptedApi::new();
//! api.expect(Method::GET, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l")
//!     .reply(Reply::not_found("leases", "l"));
//! api.expect(Method::POST, "/apis/coordination.k8s.io/v1/namespaces/ns/leases")
//!     .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
//! run_code_under_test(api.client()).await;
//! api.verify();
//! assert_eq!(api.requests()[1].json()["spec"]["holderIdentity"], "me");
//! ```
//!
//! For code that takes a URL instead of a client, [`ScriptedApi::serve`] answers the same script
//! over real HTTP on loopback.
//!
//! The client does not retry on its own (kube's retry layer belongs to clients built from a
//! `Config`), so each request the code makes shows up exactly once. Waiting for background tasks
//! is done with [`ScriptedApi::wait_for_requests`], which works under tokio's paused time.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One request as the scripted server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string without `?`, if there was one.
    pub query: Option<String>,
    /// The `Content-Type` header (tells a merge patch from a strategic merge or apply patch).
    pub content_type: Option<String>,
    /// The body bytes (empty for GET).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The body parsed as JSON. Panics when it is not JSON: a test helper that fails loudly.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "body of {} {} is not JSON ({err}): {}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The query's `key=value` pairs, percent-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.as_deref().map(parse_query).unwrap_or_default()
    }

    /// The decoded value of the first query parameter named `key`.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

impl fmt::Display for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(part), String::new()),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A canned answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json".to_owned(),
            body: body.to_string().into_bytes(),
        }
    }

    /// Any bytes with any content type (a malformed body, a protobuf answer, an HTML error page).
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    /// A `metav1.Status` failure the way the API server writes it, with `reason` (`NotFound`,
    /// `Conflict`, `TooManyRequests`, `ServiceUnavailable`, ...) and `message`.
    pub fn status(status: u16, reason: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": status,
            }),
        )
    }

    /// A finite watch stream: one JSON object per line, `{"type": "ADDED", "object": ...}`, as a
    /// `?watch=true` GET returns them; the stream ends after the last one (a watcher then starts
    /// a new watch, which a later expectation can hold open with [`ExpectBuilder::delay`]).
    /// Types: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`.
    pub fn watch<'a>(events: impl IntoIterator<Item = (&'a str, Value)>) -> Reply {
        let mut body = Vec::new();
        for (event_type, object) in events {
            body.extend_from_slice(
                json!({"type": event_type, "object": object})
                    .to_string()
                    .as_bytes(),
            );
            body.push(b'\n');
        }
        Reply::raw(200, "application/json", body)
    }

    /// The API server's 404 for a missing object: `resource` is the plural (`leases`).
    pub fn not_found(resource: &str, name: &str) -> Reply {
        Reply::status(404, "NotFound", &format!("{resource} \"{name}\" not found"))
    }

    /// The API server's 409 for a write with a stale resourceVersion.
    pub fn conflict(resource: &str, name: &str) -> Reply {
        Reply::status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again"
            ),
        )
    }

    /// The API server's 409 for a create of an object that exists.
    pub fn already_exists(resource: &str, name: &str) -> Reply {
        Reply::status(
            409,
            "AlreadyExists",
            &format!("{resource} \"{name}\" already exists"),
        )
    }
}

impl Reply {
    fn into_response<B: From<Vec<u8>>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Ok(value) = header::HeaderValue::from_str(&self.content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    }
}

/// A [`ScriptedApi`] served over HTTP on loopback; dropping it stops the server.
#[derive(Debug)]
pub struct Served {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `object` with `metadata.resourceVersion` set: what the API server adds to a written object
/// before echoing it back. Handy in [`ExpectBuilder::reply_with`].
pub fn with_resource_version(mut object: Value, resource_version: &str) -> Value {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"]["resourceVersion"] = json!(resource_version);
    object
}

type Responder = Box<dyn FnMut(&RecordedRequest) -> Reply + Send>;
type QueryCheck = Box<dyn Fn(Option<&str>) -> bool + Send>;

enum PathMatch {
    Exact(String),
    Prefix(String),
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Exact(p) => p == path,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

impl fmt::Display for PathMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathMatch::Exact(p) => f.write_str(p),
            PathMatch::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

struct Expectation {
    method: Method,
    path: PathMatch,
    query: Option<(String, QueryCheck)>,
    responder: Responder,
    /// `None`: any number of times, zero included.
    remaining: Option<usize>,
    /// How long the answer is held back (a slow or hung API server).
    delay: Option<std::time::Duration>,
    label: String,
}

impl Expectation {
    fn matches(&self, req: &RecordedRequest) -> bool {
        self.remaining != Some(0)
            && self.method == req.method
            && self.path.matches(&req.path)
            && self
                .query
                .as_ref()
                .is_none_or(|(_, check)| check(req.query.as_deref()))
    }
}

#[derive(Default)]
struct State {
    expectations: Vec<Expectation>,
    requests: Vec<RecordedRequest>,
    unexpected: Vec<RecordedRequest>,
}

/// The scripted API server. Clones share one script and one record.
#[derive(Clone, Default)]
pub struct ScriptedApi {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl fmt::Debug for ScriptedApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ScriptedApi")
            .field("expectations", &state.expectations.len())
            .field("requests", &state.requests.len())
            .field("unexpected", &state.unexpected.len())
            .finish()
    }
}

impl ScriptedApi {
    /// An empty script: every request is unexpected until something is queued.
    pub fn new() -> Self {
        ScriptedApi::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a responder poisons the lock; the record is still what the test wants to
        // see when it reports the failure.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A `kube::Client` (default namespace `default`) whose requests this script answers.
    /// Needs a tokio runtime.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(req).await) }
        });
        kube::Client::new(service, "default")
    }

    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes().to_vec(),
            Err(err) => format!("<failed to read the request body: {err}>").into_bytes(),
        };
        let reply = self.respond(parts, body).await;
        reply.into_response()
    }

    /// Records one request, waits out the expectation's delay, and returns its answer.
    async fn respond(&self, parts: http::request::Parts, body: Vec<u8>) -> Reply {
        let recorded = RecordedRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
        };
        let (reply, delay) = self.answer(recorded);
        self.arrived.notify_waiters();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        reply
    }

    /// Serves the script over real HTTP on `127.0.0.1` (a free port), for code that takes a URL
    /// rather than a `kube::Client` (metrics APIs reached directly, other HTTP clients). The server
    /// stops when the returned [`Served`] is dropped.
    ///
    /// A `kube::Client` built from `kube::Config::new(served.url())` works against it too; unlike
    /// [`ScriptedApi::client`], such a client retries 429, 503 and 504 answers by itself.
    pub async fn serve(&self) -> std::io::Result<Served> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let api = self.clone();
        let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let api = api.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = match body.collect().await {
                    Ok(collected) => collected.to_bytes().to_vec(),
                    Err(err) => format!("<failed to read the request body: {err}>").into_bytes(),
                };
                let reply = api.respond(parts, body).await;
                reply.into_response::<axum::body::Body>()
            }
        });
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(error = %err, "scripted api server failed");
            }
        });
        Ok(Served { addr, task })
    }

    /// Records the request and picks its answer (and its delay): the first matching expectation's,
    /// or a 500.
    fn answer(&self, recorded: RecordedRequest) -> (Reply, Option<std::time::Duration>) {
        let mut state = self.lock();
        state.requests.push(recorded.clone());
        let found = state.expectations.iter_mut().find(|e| e.matches(&recorded));
        match found {
            Some(expectation) => {
                if let Some(n) = expectation.remaining.as_mut() {
                    *n -= 1;
                }
                ((expectation.responder)(&recorded), expectation.delay)
            }
            None => {
                let message = format!("scripted api: unexpected request {recorded}");
                state.unexpected.push(recorded);
                (Reply::status(500, "InternalError", &message), None)
            }
        }
    }

    /// Starts an expectation for `method` on exactly `path`; finish it with a `reply*` method.
    pub fn expect(&self, method: Method, path: &str) -> ExpectBuilder<'_> {
        self.expect_path(method, PathMatch::Exact(path.to_owned()))
    }

    /// Starts an expectation for `method` on any path that starts with `prefix`.
    pub fn expect_prefix(&self, method: Method, prefix: &str) -> ExpectBuilder<'_> {
        self.expect_path(method, PathMatch::Prefix(prefix.to_owned()))
    }

    fn expect_path(&self, method: Method, path: PathMatch) -> ExpectBuilder<'_> {
        ExpectBuilder {
            api: self,
            method,
            path,
            query: None,
            times: Some(1),
            delay: None,
        }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The requests received so far with this method and exact path.
    pub fn requests_to(&self, method: &Method, path: &str) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == *method && r.path == path)
            .cloned()
            .collect()
    }

    /// The requests that matched no expectation.
    pub fn unexpected(&self) -> Vec<RecordedRequest> {
        self.lock().unexpected.clone()
    }

    /// Panics, listing them, if a request matched nothing or an expectation with a fixed count
    /// was not used up.
    pub fn verify(&self) {
        let state = self.lock();
        let mut problems = Vec::new();
        for request in &state.unexpected {
            problems.push(format!("unexpected request: {request}"));
        }
        for expectation in &state.expectations {
            if let Some(n) = expectation.remaining.filter(|n| *n > 0) {
                problems.push(format!("expected {n} more: {}", expectation.label));
            }
        }
        if !problems.is_empty() {
            let received: Vec<String> = state.requests.iter().map(ToString::to_string).collect();
            panic!(
                "scripted api: {}\nreceived, in order:\n  {}",
                problems.join("\n"),
                received.join("\n  ")
            );
        }
    }

    /// Waits until at least `n` requests have arrived in total. Under tokio's paused time this lets
    /// the clock run forward while background tasks sleep, so it never waits on the wall clock.
    pub async fn wait_for_requests(&self, n: usize) {
        self.wait_until(|requests| requests.len() >= n).await;
    }

    /// Waits until the requests received so far satisfy `done` (checked on every arrival), e.g.
    /// until the first PUT to a scale subresource. Same paused-time behaviour as
    /// [`ScriptedApi::wait_for_requests`]; wrap it in a timeout if the request may never come.
    /// `done` runs under the script's lock: it must not call back into this `ScriptedApi`.
    pub async fn wait_until(&self, done: impl Fn(&[RecordedRequest]) -> bool) {
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            // Register before checking, so a request arriving in between is not missed.
            notified.as_mut().enable();
            if done(&self.lock().requests) {
                return;
            }
            notified.await;
        }
    }
}

/// An expectation being set up: a method and path, optionally a query check and a count, then an
/// answer (which queues it).
#[must_use = "an expectation is queued only by one of the reply methods"]
pub struct ExpectBuilder<'a> {
    api: &'a ScriptedApi,
    method: Method,
    path: PathMatch,
    query: Option<(String, QueryCheck)>,
    times: Option<usize>,
    delay: Option<std::time::Duration>,
}

impl fmt::Debug for ExpectBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExpectBuilder({} {})", self.method, self.path)
    }
}

impl ExpectBuilder<'_> {
    /// Matches only requests whose raw query (without `?`, `None` when absent) passes `check`.
    pub fn query(mut self, description: &str, check: impl Fn(Option<&str>) -> bool + Send + 'static) -> Self {
        self.query = Some((description.to_owned(), Box::new(check)));
        self
    }

    /// Matches only requests with query parameter `key` equal to `value` (after decoding).
    pub fn query_param(self, key: &str, value: &str) -> Self {
        let (key, value) = (key.to_owned(), value.to_owned());
        let description = format!("{key}={value}");
        self.query(&description, move |query| {
            query
                .map(parse_query)
                .unwrap_or_default()
                .iter()
                .any(|(k, v)| *k == key && *v == value)
        })
    }

    /// Expects exactly `n` matching requests (the default is one).
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Answers any number of matching requests, none included; [`ScriptedApi::verify`] does not
    /// require it to be used.
    pub fn any_number_of_times(mut self) -> Self {
        self.times = None;
        self
    }

    /// Holds the answer back for `delay` (on tokio's clock, so paused-time tests can model an API
    /// server that hangs without waiting for it). The request is recorded on arrival.
    pub fn delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Queues the expectation with a fixed answer.
    pub fn reply(self, reply: Reply) {
        self.reply_with(move |_| reply.clone());
    }

    /// Queues the expectation with a JSON answer.
    pub fn reply_json(self, status: u16, body: Value) {
        self.reply(Reply::json(status, body));
    }

    /// Queues the expectation with an answer computed from the request (echo a written object
    /// back with a new resourceVersion, count calls, ...).
    pub fn reply_with(self, responder: impl FnMut(&RecordedRequest) -> Reply + Send + 'static) {
        let mut label = format!("{} {}", self.method, self.path);
        if let Some((description, _)) = &self.query {
            label.push_str(&format!(" with query {description}"));
        }
        let expectation = Expectation {
            method: self.method,
            path: self.path,
            query: self.query,
            responder: Box::new(responder),
            remaining: self.times,
            delay: self.delay,
            label,
        };
        self.api.lock().expectations.push(expectation);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

    use super::*;

    const CM: &str = "/api/v1/namespaces/ns/configmaps/cm";

    fn config_map(rv: &str, value: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns", "resourceVersion": rv},
            "data": {"k": value},
        })
    }

    #[tokio::test]
    async fn a_client_request_gets_the_scripted_answer_and_is_recorded() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, CM).reply_json(200, config_map("7", "v"));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let cm = cms.get("cm").await.unwrap();
        assert_eq!(cm.metadata.resource_version.as_deref(), Some("7"));
        api.verify();
        let requests = api.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, Method::GET);
        assert_eq!(requests[0].path, CM);
        assert!(requests[0].body.is_empty());
    }

    #[tokio::test]
    async fn expectations_for_one_path_answer_in_turn() {
        let api = ScriptedApi::new();
        api.expect(Method::PUT, CM)
            .reply(Reply::conflict("configmaps", "cm"));
        api.expect(Method::PUT, CM)
            .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "9")));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let cm: ConfigMap = serde_json::from_value(config_map("8", "new")).unwrap();

        let err = cms.replace("cm", &PostParams::default(), &cm).await.unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"),
            "{err:?}"
        );
        let written = cms.replace("cm", &PostParams::default(), &cm).await.unwrap();
        assert_eq!(written.metadata.resource_version.as_deref(), Some("9"));
        assert_eq!(written.data.unwrap()["k"], "new");
        api.verify();
        let puts = api.requests_to(&Method::PUT, CM);
        assert_eq!(puts.len(), 2);
        assert_eq!(puts[1].json()["metadata"]["resourceVersion"], "8");
        assert_eq!(puts[1].content_type.as_deref(), Some("application/json"));
    }

    #[tokio::test]
    async fn query_checks_select_the_expectation_and_values_are_decoded() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, "/api/v1/namespaces/ns/configmaps")
            .query_param("labelSelector", "app=web,tier in (a,b)")
            .reply_json(
                200,
                json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": []}),
            );
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        cms.list(&ListParams::default().labels("app=web,tier in (a,b)"))
            .await
            .unwrap();
        // Another selector matches nothing and is answered with a 500.
        let err = cms
            .list(&ListParams::default().labels("app=db"))
            .await
            .unwrap_err();
        assert!(matches!(&err, kube::Error::Api(s) if s.code == 500), "{err:?}");
        assert_eq!(api.unexpected().len(), 1);
        assert_eq!(
            api.requests()[0].query_param("labelSelector").as_deref(),
            Some("app=web,tier in (a,b)")
        );
    }

    #[tokio::test]
    async fn the_patch_content_type_is_recorded() {
        let api = ScriptedApi::new();
        api.expect(Method::PATCH, CM)
            .reply_json(200, config_map("3", "p"));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        cms.patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "p"}})),
        )
        .await
        .unwrap();
        let patch = &api.requests()[0];
        assert_eq!(
            patch.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        assert_eq!(patch.json(), json!({"data": {"k": "p"}}));
    }

    #[tokio::test]
    #[should_panic(expected = "unexpected request: DELETE /api/v1/namespaces/ns/configmaps/cm")]
    async fn verify_fails_on_an_unexpected_request() {
        let api = ScriptedApi::new();
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let _ = cms.delete("cm", &Default::default()).await;
        api.verify();
    }

    #[tokio::test]
    #[should_panic(expected = "expected 1 more: GET /api/v1/namespaces/ns/configmaps/cm")]
    async fn verify_fails_on_an_unmet_expectation() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, CM)
            .times(2)
            .reply_json(200, config_map("1", "v"));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        cms.get("cm").await.unwrap();
        api.verify();
    }

    #[tokio::test]
    async fn any_number_of_times_answers_repeatedly_and_is_not_required() {
        let api = ScriptedApi::new();
        api.expect_prefix(Method::GET, "/api/v1/namespaces/")
            .any_number_of_times()
            .reply(Reply::not_found("configmaps", "x"));
        api.expect(Method::POST, "/never")
            .any_number_of_times()
            .reply_json(200, json!({}));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        for _ in 0..3 {
            assert!(cms.get_opt("cm").await.unwrap().is_none());
        }
        api.verify();
        assert_eq!(api.requests().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_requests_returns_once_a_background_task_has_called() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, CM)
            .times(2)
            .reply_json(200, config_map("1", "v"));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let start = tokio::time::Instant::now();
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                cms.get("cm").await.unwrap();
            }
        });
        api.wait_until(|requests| !requests.is_empty()).await;
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(30));
        api.wait_for_requests(2).await;
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(60));
        api.verify();
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_answer_arrives_after_the_delay_on_tokios_clock() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, CM)
            .delay(std::time::Duration::from_secs(90))
            .reply_json(200, config_map("1", "v"));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let start = tokio::time::Instant::now();
        cms.get("cm").await.unwrap();
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(90));
    }

    #[tokio::test]
    async fn the_script_served_over_http_answers_a_client_built_from_a_url() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, CM).reply_json(200, config_map("4", "v"));
        api.expect(Method::POST, "/api/v1/namespaces/ns/configmaps")
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "5")));
        let served = api.serve().await.unwrap();
        assert!(served.url().starts_with("http://127.0.0.1:"));
        let config = kube::Config::new(served.url().parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client, "ns");
        assert_eq!(
            cms.get("cm").await.unwrap().metadata.resource_version.as_deref(),
            Some("4")
        );
        let new: ConfigMap = serde_json::from_value(config_map("", "n")).unwrap();
        let created = cms.create(&PostParams::default(), &new).await.unwrap();
        assert_eq!(created.metadata.resource_version.as_deref(), Some("5"));
        api.verify();
        let post = &api.requests()[1];
        assert_eq!(post.content_type.as_deref(), Some("application/json"));
        assert_eq!(post.json()["data"]["k"], "n");

        let addr = served.addr();
        drop(served);
        tokio::task::yield_now().await;
        // The listener is gone once the server task is aborted.
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused, "the server still accepts connections after drop");
    }

    #[tokio::test]
    async fn a_scripted_watch_streams_its_events_in_order() {
        use futures::TryStreamExt;
        use kube::api::{WatchEvent, WatchParams};

        let api = ScriptedApi::new();
        api.expect(Method::GET, "/api/v1/namespaces/ns/configmaps")
            .query_param("watch", "true")
            .query_param("resourceVersion", "5")
            .reply(Reply::watch([
                ("ADDED", config_map("6", "a")),
                ("MODIFIED", config_map("7", "b")),
                ("DELETED", config_map("8", "b")),
            ]));
        let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
        let events: Vec<WatchEvent<ConfigMap>> = cms
            .watch(&WatchParams::default(), "5")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let kinds: Vec<(&str, Option<String>)> = events
            .iter()
            .map(|e| match e {
                WatchEvent::Added(cm) => ("ADDED", cm.metadata.resource_version.clone()),
                WatchEvent::Modified(cm) => ("MODIFIED", cm.metadata.resource_version.clone()),
                WatchEvent::Deleted(cm) => ("DELETED", cm.metadata.resource_version.clone()),
                _ => ("OTHER", None),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("ADDED", Some("6".into())),
                ("MODIFIED", Some("7".into())),
                ("DELETED", Some("8".into()))
            ]
        );
        api.verify();
    }

    #[test]
    fn percent_decoding_handles_escapes_plus_and_stray_percent_signs() {
        assert_eq!(percent_decode("a%3Db%2Cc+d"), "a=b,c d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%41"), "A");
    }
}
