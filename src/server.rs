//! HTTP serving: the accept loop with a cap on open connections, a time limit on request heads,
//! idle keep-alive and stalled-connection timeouts, and graceful shutdown. `axum::serve` has
//! none of these limits, so slow or idle clients could hold every file descriptor.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;
use tracing::{debug, warn};

#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's head once its first byte has arrived.
    pub header_timeout: Duration,
    /// An idle connection (no request under way) is closed after this. Clients should let
    /// pooled connections idle for less.
    pub keep_alive: Duration,
    /// A connection on which no byte moves either way for this long is dropped (a stalled
    /// upload, a client that stopped reading).
    pub stall_timeout: Duration,
    /// On shutdown, how long requests in progress may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in progress
/// finish for up to `shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stopping, stop) = watch::channel(false);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: back off briefly
                // rather than spin on the error.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (router, limits, stop) = (router.clone(), limits.clone(), stop.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, router, &limits, stop).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection holds a slot: all slots back means all connections closed.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        warn!("requests still in progress at shutdown were cut off");
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: &ServerLimits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // The client's address, for limits per client (sign-in attempts).
            request.extensions_mut().insert(ConnectInfo(peer));
            let (router, activity) = (router.clone(), activity.clone());
            async move { Ok::<_, Infallible>(respond(router, request, &activity).await) }
        })
    };
    // hyper's own header timeout also runs while a kept-alive connection waits for its next
    // request, which would cap keep-alive at the header timeout: heads are timed here instead.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let idle_since = activity.last();
        let head_deadline = activity.head_started().map(|t| t + limits.header_timeout);
        let deadline = if closing || activity.busy() {
            idle_since + limits.stall_timeout
        } else {
            idle_since + limits.keep_alive
        };
        let deadline = head_deadline.map_or(deadline, |head| head.min(deadline));
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.head_started().is_some_and(|t| t + limits.header_timeout <= Instant::now()) {
                    debug!("request head not received in time; dropped");
                    return;
                }
                if activity.last() > idle_since {
                    continue;
                }
                if closing || activity.busy() {
                    debug!("connection stalled; dropped");
                    return;
                }
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = stop.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Runs one request. A request body the handler did not read to the end (a 401 before an upload
/// was read, say) is read and dropped afterwards, up to `MAX_DRAIN_BYTES`, so the connection can
/// carry the next request; past that the response says `Connection: close`, since unread bytes
/// cannot be told apart from the next request and a client reusing the connection would see it
/// break.
async fn respond(
    router: Router,
    request: Request<Incoming>,
    activity: &Activity,
) -> Response<Body> {
    activity.requests.fetch_add(1, Ordering::Relaxed);
    let unread = Arc::new(Mutex::new(None));
    let request = request.map(|body| {
        Body::new(Tracked {
            inner: Some(body),
            unread: unread.clone(),
        })
    });
    let mut response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let left = unread.lock().ok().and_then(|mut slot| slot.take());
    if let Some(body) = left {
        if !drain(body).await {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    activity.requests.fetch_sub(1, Ordering::Relaxed);
    activity.touch();
    response
}

/// Unread request body read and dropped after the response is ready, at most this much.
const MAX_DRAIN_BYTES: usize = 1024 * 1024;

/// Reads a body to its end; false when it is longer than `MAX_DRAIN_BYTES` or broken.
async fn drain(mut body: Incoming) -> bool {
    let mut read = 0;
    loop {
        match body.frame().await {
            None => return true,
            Some(Ok(frame)) => {
                read += frame.data_ref().map_or(0, |d| d.len());
                if read > MAX_DRAIN_BYTES {
                    return false;
                }
            }
            Some(Err(_)) => return false,
        }
    }
}

/// A request body that, dropped before its end, hands what is left back to `respond`.
struct Tracked {
    inner: Option<Incoming>,
    unread: Arc<Mutex<Option<Incoming>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take() {
            if !body.is_end_stream() {
                if let Ok(mut slot) = self.unread.lock() {
                    *slot = Some(body);
                }
            }
        }
    }
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|body| body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |body| body.size_hint())
    }
}

/// When bytes last moved on a connection, when the head of a request not yet handled began to
/// arrive, and how many of its requests are being handled. Times are milliseconds since `start`
/// (plus one for `head_started`, where 0 means none).
struct Activity {
    start: Instant,
    last_millis: AtomicU64,
    head_started: AtomicU64,
    requests: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            requests: AtomicUsize::new(0),
        }
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_millis.store(self.now_millis(), Ordering::Relaxed);
    }

    /// Bytes arrived: between requests, they begin a new request's head.
    fn received(&self) {
        self.touch();
        if !self.busy() {
            let since = self.now_millis().saturating_add(1);
            let _ =
                self.head_started
                    .compare_exchange(0, since, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn head_started(&self) -> Option<Instant> {
        match self.head_started.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.start + Duration::from_millis(since - 1)),
        }
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_millis.load(Ordering::Relaxed))
    }

    fn busy(&self) -> bool {
        self.requests.load(Ordering::Relaxed) > 0
    }
}

/// A socket that records its activity.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
