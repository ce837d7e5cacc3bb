//! Downloads a client's document URL, and posts to a client's endpoint (webhooks), without
//! becoming an SSRF proxy.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use url::{Host, Url};

use docket_domain::values::base_file_name;

#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Loopback, private and link-local targets are allowed only when true.
    pub allow_private: bool,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// Whole request, including the body.
    pub timeout: Duration,
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_bytes: 100 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            max_redirects: 5,
        }
    }
}

#[derive(Debug)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// From Content-Disposition, else the last non-empty path segment of the final URL.
    pub file_name: Option<String>,
}

// Clone so the copy carried through reqwest's error chain can be handed back as is.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("only http and https URLs can be downloaded, not {0}:")]
    UnsupportedScheme(String),
    #[error("refusing to download from {0}: private and loopback addresses are not allowed")]
    Forbidden(IpAddr),
    #[error("the file is larger than the {0}-byte limit")]
    TooLarge(u64),
    #[error("the download timed out")]
    TimedOut,
    #[error("the server redirected more than {0} times")]
    TooManyRedirects(usize),
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("could not download the file: {0}")]
    Network(String),
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> anyhow::Result<Self> {
        let (allow_private, max_redirects) = (policy.allow_private, policy.max_redirects);
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` includes the original URL, hence `>`.
            if attempt.previous().len() > max_redirects {
                return attempt.error(FetchError::TooManyRedirects(max_redirects));
            }
            match check_target(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
            .redirect(redirect)
            .connect_timeout(Duration::from_secs(10))
            .timeout(policy.timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self { client, policy })
    }

    pub async fn fetch(&self, url: &Url) -> Result<Fetched, FetchError> {
        // reqwest skips the resolver for IP literals, so check those here.
        check_target(url, self.policy.allow_private)?;
        tokio::time::timeout(self.policy.timeout, self.fetch_checked(url))
            .await
            .unwrap_or(Err(FetchError::TimedOut))
    }

    async fn fetch_checked(&self, url: &Url) -> Result<Fetched, FetchError> {
        let max = self.policy.max_bytes;
        let mut resp = self.client.get(url.clone()).send().await.map_err(map_err)?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
        let content_type = header(CONTENT_TYPE).map(str::to_owned);
        let file_name = header(CONTENT_DISPOSITION)
            .and_then(disposition_file_name)
            .or_else(|| url_file_name(resp.url()));

        // Content-Length may be absent (chunked) or a lie: count while reading.
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map_err)? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            bytes,
            content_type,
            file_name,
        })
    }
}

/// Posts to the endpoints clients configure, under the same rules as downloads (no private
/// targets unless allowed) and following no redirects: a 3xx is an answer like any other.
#[derive(Clone)]
pub struct EndpointClient {
    client: reqwest::Client,
    allow_private: bool,
}

/// An endpoint's answer: its status and the start of its body.
pub struct EndpointAnswer {
    pub status: u16,
    pub body_start: String,
}

impl EndpointClient {
    /// Bytes of an answer's body read, at most.
    const BODY_BYTES: usize = 16 * 1024;

    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(EndpointClient {
            client,
            allow_private,
        })
    }

    /// POSTs `body` with `headers`, waiting at most `timeout` for the whole answer.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<EndpointAnswer, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::Network(format!("bad URL: {e}")))?;
        check_target(&url, self.allow_private)?;
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let exchange = async {
            let mut response = request.send().await.map_err(map_err)?;
            let status = response.status().as_u16();
            let mut bytes = Vec::new();
            while bytes.len() < Self::BODY_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    // The status is the answer; a body cut short still says something.
                    Ok(None) | Err(_) => break,
                }
            }
            bytes.truncate(Self::BODY_BYTES);
            Ok(EndpointAnswer {
                status,
                body_start: String::from_utf8_lossy(&bytes).into_owned(),
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(FetchError::TimedOut))
    }
}

/// Scheme and literal-IP check, for the first URL and every redirect target.
fn check_target(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::UnsupportedScheme(url.scheme().to_owned()));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()), // checked by GuardedResolver
        None => return Err(FetchError::Network("the URL has no host".into())),
    };
    if allow_private || is_public_ip(ip) {
        Ok(())
    } else {
        Err(FetchError::Forbidden(ip))
    }
}

/// Checks addresses at resolution time, so the checked address is the one connected to.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_public(name.as_str().to_owned(), self.allow_private))
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

async fn resolve_public(host: String, allow_private: bool) -> Result<Addrs, BoxError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    // Any non-public answer is refused: the connector might pick it.
    if let Some(bad) = addrs
        .iter()
        .find(|a| !allow_private && !is_public_ip(a.ip()))
    {
        return Err(Box::new(FetchError::Forbidden(bad.ip())));
    }
    Ok(Box::new(addrs.into_iter()))
}

/// Hands back our own error if the resolver or redirect policy raised it.
fn map_err(err: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&err);
    let mut root = err.to_string();
    while let Some(e) = source {
        if let Some(ours) = e.downcast_ref::<FetchError>() {
            return ours.clone();
        }
        root = e.to_string();
        source = e.source();
    }
    if err.is_timeout() {
        return FetchError::TimedOut;
    }
    tracing::debug!(error = ?err, "download failed");
    // The innermost cause ("Connection refused", "failed to lookup address") reads best.
    FetchError::Network(root)
}

/// True for addresses a server on the public internet could have: false for loopback, private
/// (10/8, 172.16/12, 192.168/16), link-local (169.254/16 incl. cloud metadata, fe80::/10), CGNAT
/// 100.64/10, unspecified, broadcast, multicast, documentation/benchmark ranges, 0/8, IPv6 ULA
/// fc00::/7, and IPv4-mapped/-compatible IPv6 of any of those.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    let ip = u32::from(ip);
    !BLOCKED.iter().any(|&(net, len)| {
        let mask = u32::MAX << (32 - len);
        ip & mask == u32::from_be_bytes(net)
    })
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let in_net = |net: u128, len: u32| bits & (u128::MAX << (128 - len)) == net;
    let low_v4 = Ipv4Addr::from(bits as u32);
    if in_net(0xffff << 32, 96) || in_net(0, 96) || in_net(0x64_ff9b << 96, 96) {
        // IPv4-mapped, IPv4-compatible (incl. :: and ::1), NAT64: judge the embedded IPv4.
        return is_public_v4(low_v4);
    }
    if in_net(0x2002 << 112, 16) {
        // 6to4 embeds the IPv4 address in bits 16..48.
        return is_public_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    // Only 2000::/3 is global unicast; this excludes ULA, link-local, multicast, etc.
    in_net(0x2000 << 112, 3)
        && !in_net(0x2001 << 112, 23) // IETF protocol assignments, Teredo, benchmarking
        && !in_net(0x2001_0db8 << 96, 32) // documentation
        && !in_net(0x3fff << 112, 20) // documentation
}

/// `filename*` (RFC 5987) wins over `filename`.
fn disposition_file_name(value: &str) -> Option<String> {
    let mut plain = None;
    for param in value.split(';').skip(1) {
        let Some((key, val)) = param.split_once('=') else {
            continue;
        };
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                // charset'language'percent-encoded-name
                let mut parts = val.splitn(3, '\'');
                let (charset, encoded) = (parts.next().unwrap_or_default(), parts.nth(1));
                let bytes = percent_decode(encoded.unwrap_or_default());
                let decoded = if charset.eq_ignore_ascii_case("utf-8") {
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    bytes.iter().map(|&b| char::from(b)).collect() // ISO-8859-1
                };
                if let Some(name) = base_file_name(&decoded) {
                    return Some(name);
                }
            }
            "filename" => {
                let unquoted = val.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                plain = base_file_name(&unquoted.unwrap_or(val).replace("\\\"", "\""));
            }
            _ => {}
        }
    }
    plain
}

fn url_file_name(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    base_file_name(&String::from_utf8_lossy(&percent_decode(segment)))
}

fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes};
    use axum::http::{header, StatusCode};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use axum::Router;
    use futures_util::stream;
    use std::convert::Infallible;

    const CAP: u64 = 1024;

    async fn serve() -> SocketAddr {
        let app = Router::new()
            .route(
                "/files/hello%20world.txt",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "hello") }),
            )
            .route(
                "/download",
                get(|| async {
                    let cd = "attachment; filename=\"report.pdf\"";
                    (
                        [
                            (header::CONTENT_TYPE, "application/pdf"),
                            (header::CONTENT_DISPOSITION, cd),
                        ],
                        "%PDF",
                    )
                }),
            )
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .route(
                "/redirect",
                get(|| async { Redirect::to("/files/hello%20world.txt") }),
            )
            .route(
                "/redirect-ftp",
                get(|| async { Redirect::to("ftp://127.0.0.1/x") }),
            )
            .route("/loop", get(|| async { Redirect::to("/loop") }))
            .route(
                // Endless chunked body: only an early stop can end this with TooLarge.
                "/chunked",
                get(|| async {
                    let chunks =
                        stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from(vec![b'x'; 100])));
                    Body::from_stream(chunks)
                }),
            )
            .route(
                // Declares a huge length then stalls: only the Content-Length check avoids a timeout.
                "/declared-large",
                get(|| async {
                    let body = Body::from_stream(stream::pending::<Result<Bytes, Infallible>>());
                    ([(header::CONTENT_LENGTH, "10000000")], body).into_response()
                }),
            )
            .route(
                "/stall",
                get(|| async { Body::from_stream(stream::pending::<Result<Bytes, Infallible>>()) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn fetcher(allow_private: bool) -> Fetcher {
        Fetcher::new(FetchPolicy {
            allow_private,
            max_bytes: CAP,
            timeout: Duration::from_secs(5),
            max_redirects: 2,
        })
        .unwrap()
    }

    async fn get_url(f: &Fetcher, url: &str) -> Result<Fetched, FetchError> {
        f.fetch(&Url::parse(url).unwrap()).await
    }

    #[tokio::test]
    async fn fetches_with_file_name_from_header_or_url() {
        let addr = serve().await;
        let f = fetcher(true);

        let got = get_url(&f, &format!("http://{addr}/files/hello%20world.txt"))
            .await
            .unwrap();
        assert_eq!(got.bytes, b"hello");
        assert_eq!(got.content_type.as_deref(), Some("text/plain"));
        assert_eq!(got.file_name.as_deref(), Some("hello world.txt"));

        let got = get_url(&f, &format!("http://{addr}/download"))
            .await
            .unwrap();
        assert_eq!(got.bytes, b"%PDF");
        assert_eq!(got.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(got.file_name.as_deref(), Some("report.pdf"));

        // Name comes from the final URL after the redirect.
        let got = get_url(&f, &format!("http://{addr}/redirect"))
            .await
            .unwrap();
        assert_eq!(got.file_name.as_deref(), Some("hello world.txt"));
    }

    #[tokio::test]
    async fn refuses_loopback_literal_and_hostname() {
        let addr = serve().await;
        let f = fetcher(false);
        let err = get_url(&f, &format!("http://{addr}/download"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Forbidden(ip) if ip.is_loopback()),
            "{err:?}"
        );

        // Goes through GuardedResolver, as reqwest resolves names itself.
        let url = format!("http://localhost:{}/download", addr.port());
        let err = get_url(&f, &url).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Forbidden(ip) if ip.is_loopback()),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn redirects_are_rechecked_and_capped() {
        let addr = serve().await;
        let f = fetcher(true);
        let err = get_url(&f, &format!("http://{addr}/redirect-ftp"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::UnsupportedScheme(ref s) if s == "ftp"),
            "{err:?}"
        );
        let err = get_url(&f, &format!("http://{addr}/loop"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TooManyRedirects(2)), "{err:?}");

        // A public page redirecting to a private literal (checked without any traffic).
        for target in [
            "http://169.254.169.254/latest",
            "http://[::ffff:127.0.0.1]/",
            "http://10.0.0.1/",
        ] {
            let err = check_target(&Url::parse(target).unwrap(), false).unwrap_err();
            assert!(matches!(err, FetchError::Forbidden(_)), "{target}: {err:?}");
        }
        assert!(check_target(&Url::parse("https://8.8.8.8/x").unwrap(), false).is_ok());
    }

    #[tokio::test]
    async fn refuses_other_schemes() {
        let err = get_url(&fetcher(true), "ftp://127.0.0.1/file")
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::UnsupportedScheme(ref s) if s == "ftp"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn status_too_large_and_timeout() {
        let addr = serve().await;
        let f = fetcher(true);
        let err = get_url(&f, &format!("http://{addr}/missing"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Status(404)), "{err:?}");
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let err = get_url(&f, &format!("http://{closed_addr}/"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Network(_)), "{err:?}");
        let err = get_url(&f, &format!("http://{addr}/chunked"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge(CAP)), "{err:?}");
        let err = get_url(&f, &format!("http://{addr}/declared-large"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge(CAP)), "{err:?}");

        let quick = Fetcher::new(FetchPolicy {
            allow_private: true,
            timeout: Duration::from_millis(300),
            ..FetchPolicy::default()
        })
        .unwrap();
        let err = get_url(&quick, &format!("http://{addr}/stall"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TimedOut), "{err:?}");
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            FetchError::Status(404).to_string(),
            "the server answered HTTP 404"
        );
        assert_eq!(
            FetchError::TooLarge(104857600).to_string(),
            "the file is larger than the 104857600-byte limit"
        );
        assert_eq!(
            FetchError::Forbidden(Ipv4Addr::LOCALHOST.into()).to_string(),
            "refusing to download from 127.0.0.1: private and loopback addresses are not allowed"
        );
    }

    #[test]
    fn public_ip_table() {
        let cases = [
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("2001:4860:4860::8888", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("::1", false),
            ("::", false),
            ("fe80::1", false),
            ("fc00::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:8.8.8.8", true),
            ("::127.0.0.1", false),
            ("64:ff9b::a00:1", false),
            ("2002:7f00:1::", false),
            ("2001:db8::1", false),
            ("ff02::1", false),
        ];
        for (ip, public) in cases {
            assert_eq!(is_public_ip(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn content_disposition_names() {
        let cases = [
            ("attachment; filename=\"a b.pdf\"", Some("a b.pdf")),
            ("attachment; filename=plain.txt", Some("plain.txt")),
            (
                "attachment; filename=\"x.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
                Some("résumé.pdf"),
            ),
            ("attachment; filename=\"../../etc/passwd\"", Some("passwd")),
            ("attachment; filename=\"..\"", None),
            ("attachment; filename*=%", None),
            ("inline", None),
        ];
        for (value, want) in cases {
            assert_eq!(disposition_file_name(value).as_deref(), want, "{value}");
        }
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
    }
}
