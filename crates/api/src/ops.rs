//! Operations endpoints beside the API, without a token: `/healthz` (the process answers),
//! `/readyz` (the database and file storage answer) and `/metrics` (Prometheus text: HTTP
//! latency, pipeline stage durations, pages recognised, and the job queue by organisation and
//! task status, read from the database at each scrape).

use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;
use docket_domain::TaskStatus;

pub const HEALTH_PATH: &str = "/healthz";
pub const READY_PATH: &str = "/readyz";
pub const METRICS_PATH: &str = "/metrics";

/// Histogram buckets in seconds: from a cached status read to a long OCR job.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
];

/// The process-wide Prometheus recorder, installed on first use: metrics are the process's,
/// however many servers it runs (tests run several).
pub(super) fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: no recorder");
                    None
                }
            }
        })
        .as_ref()
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await.err().map(|e| e.to_string());
    let storage = state.blobs.ping().await.err().map(|e| format!("{e:#}"));
    match (database, storage) {
        (None, None) => "ready".into_response(),
        (database, storage) => {
            let reasons = [("database", database), ("storage", storage)]
                .into_iter()
                .filter_map(|(what, e)| e.map(|e| format!("{what}: {e}")))
                .collect::<Vec<_>>()
                .join("; ");
            tracing::warn!(%reasons, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reasons}"),
            )
                .into_response()
        }
    }
}

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    match state.store.queue_depth().await {
        Ok(depths) => {
            text.push_str(
                "# HELP docket_queue_jobs Pending pipeline jobs by organisation, task status and \
                 whether a worker holds them.\n# TYPE docket_queue_jobs gauge\n",
            );
            for d in depths {
                let status = TaskStatus::from_code(d.task_status).map_or("unknown", |s| s.name());
                let _ = writeln!(
                    text,
                    "docket_queue_jobs{{org_id=\"{}\",task_status=\"{status}\",leased=\"{}\"}} {}",
                    d.org_id, d.leased, d.jobs
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "queue depth not read for /metrics");
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Records each request's latency by method, route (its template, not the ids in it) and
/// status code.
pub(super) async fn http_latency(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics::histogram!(
        "docket_http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}
