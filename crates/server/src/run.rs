//! Running the server: the tokio runtime, the listener (HTTPS with rustls when given a
//! certificate), request ids, structured request logs without secrets, timeouts, and a
//! graceful stop on SIGTERM or SIGINT that finishes every request in flight.
//!
//! Durability needs nothing here: a write is answered only after the ledger has committed
//! and fsynced it, so a request acknowledged is kept even if the process is killed next.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, Request};
use axum::Router;
use grant_ledger_projections::Ledger;
use grant_ledger_store::EventStore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::routes::{router, AppState};

/// How long a request (other than the event stream) may take before it is answered 408:
/// long enough for a spend import of a full 16 MiB body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a stop waits for requests in flight (event streams are cut at once).
const DRAIN: Duration = Duration::from_secs(30);

/// The PEM files of a server certificate and its key.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub tls: Option<Tls>,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("cannot use the TLS certificate and key: {0}")]
    Tls(String),
    #[error("the server stopped: {0}")]
    Io(String),
    /// The ledger could not be followed (its store's wake-up could not start).
    #[error("{0}")]
    Ledger(String),
}

/// Serves `ledger` until SIGTERM or SIGINT. `on_listening` is called with the URL once
/// connections are accepted; what it returns is kept until the server stops.
pub fn serve<S, T>(
    ledger: Arc<Ledger<S>>,
    config: ServeConfig,
    on_listening: impl FnOnce(&str) -> T,
) -> Result<(), ServeError>
where
    S: EventStore + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let _ = tracing_subscriber_init();
    // Another server on the same database commits too: follow it, so that event streams
    // here see its events (a no-op on an embedded store). Outside the runtime, since a
    // store may block while it starts following.
    ledger
        .follow_store()
        .map_err(|e| ServeError::Ledger(e.to_string()))?;
    // The last reference is dropped here, after the runtime, never on one of its threads:
    // a store may block when it closes (the PostgreSQL driver's clients do).
    let last = Arc::clone(&ledger);
    let served = runtime.block_on(async move {
        let (tx, head) = tokio::sync::watch::channel(ledger.head_position());
        ledger.on_commit(move |position| {
            let _ = tx.send(position);
        });
        // What another process committed between opening and following is caught now,
        // off the async threads: a store may block (the PostgreSQL driver even runs a
        // runtime of its own, which cannot start inside this one).
        let catching = Arc::clone(&ledger);
        let _ = tokio::task::spawn_blocking(move || catching.catch_up_now()).await;
        let (stop_streams, stopping) = tokio::sync::watch::channel(false);
        let app = with_layers(router(AppState {
            ledger: Arc::clone(&ledger),
            head,
            stopping,
        }));
        // The web pages mark their session cookie Secure when served over TLS.
        let app = match config.tls {
            Some(_) => app.layer(axum::Extension(crate::web::SecureCookies)),
            None => app,
        };
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|e| ServeError::Listen {
                addr: config.listen,
                reason: e.to_string(),
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Io(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServeError::Io(e.to_string()))?;
        let handle = axum_server::Handle::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: finishing the requests in flight");
            let _ = stop_streams.send(true);
            stopping.graceful_shutdown(Some(DRAIN));
        });
        let served = match &config.tls {
            Some(tls) => {
                let rustls = rustls_config(tls).await?;
                let _kept = on_listening(&format!("https://{addr}"));
                axum_server::from_tcp_rustls(listener, rustls)
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
            }
            None => {
                let _kept = on_listening(&format!("http://{addr}"));
                axum_server::from_tcp(listener)
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
            }
        };
        served.map_err(|e| ServeError::Io(e.to_string()))
    });
    drop(runtime);
    drop(last);
    served
}

/// Request ids (made here, or kept from the client's `x-request-id`), request logs, and
/// the request timeout. The log line has the method, path, status, latency and request id:
/// no header, so never a token.
fn with_layers(app: Router) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    app.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id = %id,
                        )
                    })
                    // One line per request, with its status and latency, at the default level.
                    .on_request(())
                    .on_response(
                        tower_http::trace::DefaultOnResponse::new()
                            .level(tracing::Level::INFO)
                            .latency_unit(tower_http::LatencyUnit::Micros),
                    )
                    .on_failure(
                        tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN),
                    ),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            )),
    )
}

/// Logs as JSON lines on stderr, at the level `GRANT_LEDGER_LOG` says (default info).
fn tracing_subscriber_init() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRANT_LEDGER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init()
}

async fn rustls_config(tls: &Tls) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| ServeError::Tls(e.to_string()))
}

async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
