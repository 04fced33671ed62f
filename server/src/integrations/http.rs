//! The outbound HTTPS client: hyper's legacy client over rustls (ring, the
//! webpki roots, HTTP/1.1), JSON in and out, with a deadline on every call.
//!
//! Errors never carry the URL: WeCom and WeChat take secrets and access tokens
//! in the query string, and these errors are logged.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Legacy;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The longest a call may take, connecting and reading the answer included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// WeCom and WeChat answers are small JSON objects.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the URL is not valid")]
    Url,
    #[error("unreachable: {0}")]
    Transport(String),
    #[error("no answer in time")]
    Timeout,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("the answer is not the expected JSON: {0}")]
    Json(String),
}

#[derive(Clone)]
pub struct Client {
    inner: Legacy<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    pub fn new() -> Result<Client, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS setup: {e}"))?
            // Plain http too, for the tests' fake server and private gateways
            // (RADAR_WECOM_API and friends); the defaults are https.
            .https_or_http()
            .enable_http1()
            .build();
        let mut builder = Legacy::builder(TokioExecutor::new());
        builder.pool_idle_timeout(Duration::from_secs(30));
        Ok(Client {
            inner: builder.build(https),
        })
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, Failure> {
        let req = hyper::Request::get(url)
            .body(Full::new(Bytes::new()))
            .map_err(|_| Failure::Url)?;
        self.call(req).await
    }

    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let bytes = serde_json::to_vec(body).map_err(|e| Failure::Json(e.to_string()))?;
        let req = hyper::Request::post(url)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|_| Failure::Url)?;
        self.call(req).await
    }

    /// POSTs `body` to any http(s) `url` with `headers` and returns the
    /// answer's status. Redirects are not followed (the client never does) and
    /// the answer's body is not read: only its status matters, and a huge or
    /// endless body must not hold the caller.
    pub async fn post_status(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<u16, Failure> {
        let mut req = hyper::Request::post(url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req.body(Full::new(body)).map_err(|_| Failure::Url)?;
        let res = tokio::time::timeout(timeout, self.inner.request(req))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|e| Failure::Transport(transport_reason(&e)))?;
        Ok(res.status().as_u16())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<T, Failure> {
        let exchange = async {
            let res = self
                .inner
                .request(req)
                .await
                .map_err(|e| Failure::Transport(e.to_string()))?;
            let status = res.status();
            if !status.is_success() {
                return Err(Failure::Status(status.as_u16()));
            }
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| Failure::Transport(e.to_string()))?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| Failure::Json(e.to_string()))
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| Failure::Timeout)?
    }
}

/// A legacy-client error without the URL: the deepest cause's text (e.g.
/// "Connection refused"), which is what an operator needs.
fn transport_reason(e: &hyper_util::client::legacy::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if e.is_connect() && !text.contains("connect") {
        format!("connect: {text}")
    } else {
        text
    }
}

/// Percent-encodes a query value (everything but `A–Z a–z 0–9 _ . - ~`).
pub fn enc(s: &str) -> String {
    crate::service::article::pct(s)
}
