//! Request guards: bearer-token auth on mutating requests, a per-client rate limit, and the
//! HTTP status counter for /metrics.
//!
//! Why these three and no more: the service binds to loopback by default and is meant to sit
//! behind the operator's own proxy for anything fancier; what it must do itself is refuse
//! unauthenticated changes, keep one noisy client from starving the engine, and be observable.

use super::error::ApiError;
use super::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Token bucket per client address: `rate` requests per second, bursts up to `2 × rate`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            rate: per_second as f64,
            burst: (per_second as f64 * 2.0).max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `ip`; `Err(seconds to wait)` when the bucket is empty.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), f64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 10_000 {
            // Forget idle clients rather than grow without bound.
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs() < 60);
        }
        let (tokens, last) = buckets.entry(ip).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.rate)
        }
    }
}

/// Constant-time comparison (the token must not leak through timing).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_mutation(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Auth on mutating requests.
pub async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !is_mutation(req.method()) {
        return next.run(req).await;
    }
    if !state.mutations {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "this service was started with --read-only: changes are refused",
        )
        .into_response();
    }
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        match given {
            None => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "this request changes state and needs 'Authorization: Bearer <token>'",
                )
                .into_response()
            }
            Some(g) if !same(g.as_bytes(), token.as_bytes()) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the bearer token is not valid",
                )
                .into_response()
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// Rate limit API requests per client address.
pub async fn rate_limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(limiter) = &state.limiter {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if req.uri().path().starts_with("/api/") {
            if let Err(wait) = limiter.check(ip, Instant::now()) {
                let mut resp = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests from {ip}; retry in {wait:.2} s"),
                )
                .into_response();
                let secs = wait.ceil().max(1.0) as u64;
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return resp;
            }
        }
    }
    next.run(req).await
}

/// Count responses by status for /metrics.
pub async fn count(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    state.metrics.observe_http(resp.status().as_u16());
    resp
}

/// Refuse a body whose declared `Content-Length` exceeds the limit before reading any of it.
///
/// `DefaultBodyLimit` alone only notices once the limit has been read, and then the server closes
/// the connection with the rest of the body unread: the client sees a reset instead of the 413.
/// Answering from the header lets a client that sent `Expect: 100-continue` (or one that reads
/// while it writes) get the JSON error without transferring the body at all. Chunked bodies
/// without a length are still capped by `DefaultBodyLimit`.
pub async fn declared_size(max_body_bytes: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > max_body_bytes as u64 => {
            let mut resp = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the request body is {n} bytes; the service accepts at most {max_body_bytes}"
                ),
            )
            .into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        _ => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let l = RateLimiter::new(5);
        let ip = IpAddr::from([127, 0, 0, 1]);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(l.check(ip, t0).is_ok());
        }
        assert!(l.check(ip, t0).is_err());
        assert!(
            l.check(IpAddr::from([127, 0, 0, 2]), t0).is_ok(),
            "per client"
        );
        assert!(
            l.check(ip, t0 + Duration::from_millis(250)).is_ok(),
            "refilled"
        );
    }

    #[test]
    fn token_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
