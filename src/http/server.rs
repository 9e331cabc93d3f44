//! The HTTP server: accepting (plain or TLS), the limits, routing, and graceful shutdown. Every
//! answer is built here or by a door; no business rule lives here.

use super::auth::{AuthFailure, Keyring, Principal};
use super::engine::{Engine, Opener};
use super::idle::IdleIo;
use super::metrics::Metrics;
use super::replica::ReplicaStatus;
use super::sign::Signable;
use super::{bss, commands, console};
use crate::time::{Clock, SystemClock};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The limits that keep one client from starving the others. Each breach is answered with an
/// HTTP error or a closed connection, and the server keeps serving.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes (413 beyond).
    pub body_bytes: usize,
    /// Most headers in one request (431 beyond).
    pub headers: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    pub head_bytes: usize,
    /// Time to receive a request's head once the connection waits for one.
    pub head_timeout: Duration,
    /// Time to receive a request's body (408 beyond).
    pub body_timeout: Duration,
    /// Time a connection may stay silent in both directions before it is closed.
    pub idle_timeout: Duration,
    /// Time to finish a TLS handshake.
    pub handshake_timeout: Duration,
    /// Open connections, at most; one more is answered 503 and closed.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 1 << 20,
            headers: 64,
            head_bytes: 16 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            connections: 4096,
        }
    }
}

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The certificate chain and private key (PEM) to serve TLS with; plain HTTP without.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The limits.
    pub limits: Limits,
}

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The ledger could not be opened or its keys read.
    #[error(transparent)]
    Open(#[from] crate::OpenError),
    /// The keys could not be read.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// The address could not be bound, or a TLS file read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The certificate or key is not usable.
    #[error("TLS: {0}")]
    Tls(String),
}

/// What a node of a replicated book serves with.
#[derive(Debug)]
pub struct Replica {
    /// Its role, kept by the cluster module.
    pub status: Arc<ReplicaStatus>,
    /// The book's access keys at start.
    pub keys: Vec<crate::AccessKey>,
}

/// What every request handler shares.
pub(crate) struct App {
    pub(crate) engine: Engine,
    pub(crate) keys: Arc<Keyring>,
    /// A replicated node's role (SPEC section 9); `None` for a lone node, which always leads.
    pub(crate) replica: Option<Arc<ReplicaStatus>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: Limits,
    pub(crate) clock: Box<dyn Clock>,
    /// The console's sessions and sign-in throttle (in memory: a restart signs everyone out).
    pub(crate) sessions: console::session::Sessions,
    answers: AtomicU64,
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Arc<App>,
    ledger_thread: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Server").field("listener", &self.listener).finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the ledger through `opener` (used again to reopen it after a storage failure),
    /// loads its access keys and binds the address.
    ///
    /// # Errors
    /// [`ServeError`] when the ledger, the keys, the TLS files or the address fail.
    pub async fn bind(opener: Opener, options: ServeOptions) -> Result<Server, ServeError> {
        Self::bind_with(opener, options, None).await
    }

    /// As [`Server::bind`], for a node of a replicated book: its keys come from the book (not
    /// the ledger file), and its doors answer as `replica.status` says (SPEC section 9).
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn bind_replicated(opener: Opener, options: ServeOptions, replica: Replica) -> Result<Server, ServeError> {
        Self::bind_with(opener, options, Some(replica)).await
    }

    async fn bind_with(opener: Opener, options: ServeOptions, replica: Option<Replica>) -> Result<Server, ServeError> {
        let tls = options.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
        let ledger = opener()?;
        let (keys, replica) = match replica {
            Some(Replica { status, keys }) => (keys, Some(status)),
            None => (ledger.access_keys()?, None),
        };
        let keys = Arc::new(Keyring::new(keys));
        let metrics = Arc::new(Metrics::default());
        let (engine, ledger_thread) = Engine::start(ledger, opener, Arc::clone(&metrics));
        let listener = TcpListener::bind(options.listen).await?;
        let app = App {
            engine,
            keys,
            replica,
            metrics,
            limits: options.limits,
            clock: Box::new(SystemClock),
            sessions: console::session::Sessions::default(),
            answers: AtomicU64::new(0),
        };
        Ok(Server { listener, tls, app: Arc::new(app), ledger_thread })
    }

    /// The handle of the ledger thread (a replicated node applies the stream through it).
    pub fn engine(&self) -> Engine {
        self.app.engine.clone()
    }

    /// The keys the server accepts (a replicated node adds the book's keys as they change).
    pub fn keyring(&self) -> Arc<Keyring> {
        Arc::clone(&self.app.keys)
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish
    /// (up to 30 s), and closes the ledger cleanly.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Server { listener, tls, app, ledger_thread } = self;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let open = Arc::new(Semaphore::new(app.limits.connections));
        // Connections over the cap are told so; past this many more, they are simply dropped.
        let refusals = Arc::new(Semaphore::new(256));
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                app.metrics.refused_connection();
                if let Ok(refusal) = Arc::clone(&refusals).try_acquire_owned() {
                    let app = Arc::clone(&app);
                    tokio::spawn(async move {
                        refuse(app, stream).await;
                        drop(refusal);
                    });
                }
                continue;
            };
            tracing::debug!(%peer, "connection");
            let app = Arc::clone(&app);
            let io = IdleIo::new(stream, app.limits.idle_timeout);
            match &tls {
                None => {
                    let connection = builder(&app.limits).serve_connection(TokioIo::new(io), service(Arc::clone(&app), false, peer));
                    let watched = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = watched.await {
                            tracing::debug!(%error, "connection ended");
                        }
                        drop(permit);
                    });
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        match tokio::time::timeout(app.limits.handshake_timeout, acceptor.accept(io)).await {
                            Ok(Ok(stream)) => {
                                let connection =
                                    builder(&app.limits).serve_connection(TokioIo::new(stream), service(Arc::clone(&app), true, peer));
                                if let Err(error) = watcher.watch(connection).await {
                                    tracing::debug!(%error, "connection ended");
                                }
                            }
                            Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                        drop(permit);
                    });
                }
            }
        }
        drop(listener);
        tracing::info!("shutting down: finishing in-flight requests");
        if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await.is_err() {
            tracing::warn!("some connections did not finish within 30 s");
        }
        // The ledger thread ends (with a closing checkpoint) once the last handle is gone.
        drop(app);
        let _ = tokio::task::spawn_blocking(move || ledger_thread.join()).await;
        tracing::info!("stopped");
    }
}

fn builder(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(limits.head_bytes.max(8192))
        .max_headers(limits.headers)
        .keep_alive(true);
    builder
}

fn service(
    app: Arc<App>,
    tls: bool,
    peer: SocketAddr,
) -> impl hyper::service::Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = std::convert::Infallible, Future: Send> + Clone
{
    hyper::service::service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok(handle(&app, request, tls, peer).await) }
    })
}

/// Answers one request on a connection over the cap with 503, then closes it.
async fn refuse(app: Arc<App>, stream: tokio::net::TcpStream) {
    let mut builder = builder(&app.limits);
    builder.keep_alive(false);
    let service = hyper::service::service_fn(move |_request: Request<Incoming>| {
        let app = Arc::clone(&app);
        async move {
            Ok::<_, std::convert::Infallible>(app.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CBC.0999",
                "overloaded: too many open connections",
                "refused",
            ))
        }
    });
    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
}

fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|error| ServeError::Tls(format!("{}: {error}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| ServeError::Tls(format!("{}: {error}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| ServeError::Tls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| ServeError::Tls(error.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A request after its body was read and its signature checked.
pub(crate) struct Authed {
    pub(crate) principal: Principal,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

impl App {
    /// A JSON answer.
    pub(crate) fn json(&self, status: StatusCode, body: Vec<u8>, route: &'static str) -> Response<Full<Bytes>> {
        self.metrics.request(route, status.as_u16());
        let number = self.answers.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(id) = HeaderValue::from_str(&format!("{:016x}{number:016x}", std::process::id())) {
            response.headers_mut().insert("x-request-id", id);
        }
        response
    }

    /// An error answer in the BSS shape: `{"error_code": …, "error_msg": …}`.
    pub(crate) fn error(&self, status: StatusCode, code: &str, message: &str, route: &'static str) -> Response<Full<Bytes>> {
        let body = serde_json::json!({"error_code": code, "error_msg": message});
        self.json(status, body.to_string().into_bytes(), route)
    }
}

async fn handle(app: &Arc<App>, request: Request<Incoming>, tls: bool, peer: SocketAddr) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    match (&parts.method, path.as_str()) {
        (&Method::GET, "/v1/health") => {
            let applied = app.engine.applied();
            let role = if app.replica.as_ref().is_none_or(|replica| replica.leads()) { "leader" } else { "follower" };
            let body = serde_json::json!({
                "status": "ok",
                "role": role,
                "applied_seq": applied.head.seq,
                "head": crate::journal::hex(&applied.head.hash),
                "stream_seq": applied.stream_seq,
                "tls": tls,
            });
            return app.json(StatusCode::OK, body.to_string().into_bytes(), "/v1/health");
        }
        (&Method::GET, "/v1/metrics") => {
            app.metrics.request("/v1/metrics", 200);
            let mut response = Response::new(Full::new(Bytes::from(app.metrics.render())));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
            return response;
        }
        _ => {}
    }
    // Found once: the metrics count the request under it, and the BSS door serves it.
    let endpoint = bss::route_of(&parts.method, &path);
    let route = route_label(&parts.method, &path, endpoint);
    let body = match tokio::time::timeout(app.limits.body_timeout, Limited::new(body, app.limits.body_bytes).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            let message = format!("request_too_large: the body is over {} bytes", app.limits.body_bytes);
            return app.error(StatusCode::PAYLOAD_TOO_LARGE, "CBC.0100", &message, route);
        }
        Ok(Err(_)) => return app.error(StatusCode::BAD_REQUEST, "CBC.0100", "invalid_request: the body could not be read", route),
        Err(_) => return app.error(StatusCode::REQUEST_TIMEOUT, "CBC.0100", "request_timeout: the body did not arrive in time", route),
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    // The console signs people in with a session cookie instead of signing each request.
    if console::serves(&path) {
        let request = console::Incoming {
            method: &parts.method,
            path: &path,
            query: &query,
            headers: &parts.headers,
            body: &body,
            tls,
            peer: peer.ip(),
        };
        return console::handle(app, request).await;
    }
    let principal = {
        let mut headers = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            match value.to_str() {
                Ok(value) => headers.push((name.as_str(), value)),
                Err(_) => return unauthorized(app, &AuthFailure("a header value is not visible ASCII"), route),
            }
        }
        let signable = Signable { method: parts.method.as_str(), path: &path, query: &query, headers: &headers, body: &body };
        match app.keys.authenticate(&signable, app.clock.now()) {
            Ok(principal) => principal,
            Err(failure) => return unauthorized(app, &failure, route),
        }
    };
    let authed = Authed { principal, method: parts.method, path, query, headers: parts.headers, body };
    let mut response = if authed.method == Method::POST && authed.path == "/v1/commands" {
        commands::handle(app, authed).await
    } else {
        bss::handle(app, authed, endpoint, route).await
    };
    // A node that does not lead names the leader (SPEC section 9).
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && let Some(replica) = &app.replica
        && let Ok(leader) = HeaderValue::from_str(&replica.leader())
    {
        response.headers_mut().insert("x-leader", leader);
    }
    response
}

/// The longest a query with `min_seq` waits for the node to apply that far (SPEC section 9).
pub(crate) const MIN_SEQ_PATIENCE: Duration = Duration::from_secs(5);

/// Waits until the node's journal holds `min_seq` (for at most [`MIN_SEQ_PATIENCE`]).
///
/// # Errors
/// `not_applied` when it does not in time.
pub(crate) async fn wait_for(app: &App, min_seq: u64) -> Result<(), crate::Rejection> {
    if app.engine.reached(min_seq, MIN_SEQ_PATIENCE).await {
        return Ok(());
    }
    let message = format!("this node has applied up to seq {}, not {min_seq}, after {} s", app.engine.head(), MIN_SEQ_PATIENCE.as_secs());
    Err(crate::Rejection::new(crate::ErrorCode::NotApplied, message))
}

fn unauthorized(app: &App, failure: &AuthFailure, route: &'static str) -> Response<Full<Bytes>> {
    tracing::info!(reason = %failure, route, "refused an unauthenticated request");
    app.error(StatusCode::UNAUTHORIZED, "APIGW.0301", &format!("unauthorized: {failure}"), route)
}

/// The route a path is counted under in the metrics: its endpoint's template, or `other`.
fn route_label(method: &Method, path: &str, endpoint: Option<&'static bss::Endpoint>) -> &'static str {
    if *method == Method::POST && path == "/v1/commands" {
        return "/v1/commands";
    }
    if console::serves(path) {
        return console::ROUTE;
    }
    endpoint.map_or("other", |endpoint| endpoint.path)
}
