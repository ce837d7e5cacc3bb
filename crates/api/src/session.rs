//! Browser sessions: a random token in a cookie (HttpOnly, SameSite=Strict, Secure behind
//! https), its hash in the database, so any API process can serve any request. Requests that
//! change something with a session must come from docket's own pages (the browser's
//! `Sec-Fetch-Site`, else `Origin`): a cross-site form cannot act for a signed-in person.
//! Sign-in failures are limited per address and per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};

use super::error::{ApiError, ApiResult};
use super::AppState;
use docket_domain::credentials;
use docket_domain::people::User;
use docket_domain::Timestamp;

const COOKIE: &str = "docket_session";
/// Behind https the cookie takes the `__Host-` prefix: only this host, path `/`, Secure.
const SECURE_COOKIE: &str = "__Host-docket_session";

/// How long a session lasts (docket's choice: a working day and then some).
pub const SESSION_SECONDS: i64 = 12 * 3600;

fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The session token the request carries, if any.
pub fn token(headers: &HeaderMap, state: &AppState) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether an unsafe request comes from docket's own pages.
pub fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match value("sec-fetch-site") {
        Some(site) => site == "same-origin",
        None => value("origin").is_some_and(|origin| {
            origin.trim_end_matches('/') == state.config.public_url.trim_end_matches('/')
        }),
    }
}

/// The person a request's session belongs to; a request that would change something from
/// another site is refused (403) rather than treated as signed out.
pub async fn signed_in(parts: &Parts, state: &AppState) -> ApiResult<Option<User>> {
    let Some(token) = token(&parts.headers, state) else {
        return Ok(None);
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(&parts.headers, state) {
        return Err(ApiError::Forbidden(
            "a signed-in request that changes something must come from docket's own pages".into(),
        ));
    }
    Ok(state.store.session_user(&token).await?)
}

/// Starts a session for the user; returns the `Set-Cookie` value.
pub async fn start(state: &AppState, user: &User) -> ApiResult<HeaderValue> {
    let token = credentials::new_secret();
    let expires = Timestamp::now().plus_seconds(SESSION_SECONDS);
    state.store.create_session(user.id, &token, expires).await?;
    cookie(state, &token, SESSION_SECONDS)
}

/// Ends the request's session, if any; returns the `Set-Cookie` value that clears it.
pub async fn end(state: &AppState, headers: &HeaderMap) -> ApiResult<HeaderValue> {
    if let Some(token) = token(headers, state) {
        state.store.end_session(&token).await?;
    }
    cookie(state, "", 0)
}

fn cookie(state: &AppState, token: &str, max_age: i64) -> ApiResult<HeaderValue> {
    let secure = if secure(state) { "; Secure" } else { "" };
    let value = format!(
        "{}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&value).map_err(|e| ApiError::Internal(e.into()))
}

/// The client's address, where the server recorded it (it does for every TCP connection).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientAddr(addr.map(|ConnectInfo(a)| a.ip())))
    }
}

/// Failed sign-ins remembered per address and per client, in this process: past
/// `MAX_FAILURES` within `WINDOW` further attempts are refused until the window passes.
#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const MAX_FAILURES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most; the oldest half is forgotten past it (an attacker rotating addresses
/// cannot grow memory without bound).
const MAX_KEYS: usize = 100_000;

impl SignInLimiter {
    fn keys(email: &str, client: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("email:{}", email.trim().to_lowercase())];
        keys.extend(client.map(|ip| format!("ip:{ip}")));
        keys
    }

    /// Refuses (429) an attempt for an address or client with too many recent failures.
    pub fn check(&self, email: &str, client: Option<IpAddr>) -> ApiResult<()> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = Self::keys(email, client).iter().any(|k| {
            failures
                .get(k)
                .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < WINDOW)
        });
        if blocked {
            return Err(ApiError::TooManyRequests(
                "too many failed sign-ins; try again in 15 minutes".into(),
            ));
        }
        Ok(())
    }

    pub fn failed(&self, email: &str, client: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            let mut ages: Vec<Instant> = failures.values().map(|(_, t)| *t).collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            failures.retain(|_, (_, t)| *t > cut);
        }
        for key in Self::keys(email, client) {
            let entry = failures.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    pub fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("email:{}", email.trim().to_lowercase()));
    }
}
