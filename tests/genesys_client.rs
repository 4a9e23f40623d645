//! The client's rules for 429, 5xx and 501, against a small server on 127.0.0.1 that answers
//! exactly what each case needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use redrive::config::Secret;
use redrive::genesys::{Client, ClientOptions, GenesysError};
use serde_json::{Value, json};

#[derive(Default)]
struct Counts {
    once: AtomicU32,
    not_impl: AtomicU32,
    down: AtomicU32,
}

async fn server() -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            post(|| async { axum::Json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600})) }),
        )
        .route(
            "/api/v2/long",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert("retry-after", "500".parse().unwrap());
                h.insert("inin-correlation-id", "corr-429".parse().unwrap());
                (StatusCode::TOO_MANY_REQUESTS, h, axum::Json(json!({"message": "Rate limit exceeded", "code": "too.many.requests.retry.after", "status": 429})))
            }),
        )
        .route(
            "/api/v2/once",
            get({
                let c = c.clone();
                move || async move {
                    if c.once.fetch_add(1, Ordering::SeqCst) == 0 {
                        (StatusCode::TOO_MANY_REQUESTS, axum::Json(json!({"status": 429})))
                    } else {
                        (StatusCode::OK, axum::Json(json!({"ok": true})))
                    }
                }
            }),
        )
        .route(
            "/api/v2/notimpl",
            get({
                let c = c.clone();
                move || async move {
                    c.not_impl.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::NOT_IMPLEMENTED, axum::Json(json!({"message": "nope", "status": 501})))
                }
            }),
        )
        .route(
            "/api/v2/down",
            get({
                let c = c.clone();
                move || async move {
                    c.down.fetch_add(1, Ordering::SeqCst);
                    let mut h = HeaderMap::new();
                    h.insert("inin-correlation-id", "corr-503".parse().unwrap());
                    (StatusCode::SERVICE_UNAVAILABLE, h, axum::Json(json!({"message": "try later", "code": "service.unavailable", "status": 503})))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, counts)
}

fn client(base: &str) -> Client {
    Client::new(ClientOptions {
        api_base: base.into(),
        login_base: base.into(),
        client_id: "id".into(),
        client_secret: Secret::new("s"),
        rate_limit_per_minute: 300,
        max_retries: 3,
        retry_base: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
        max_download: 1 << 20,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_above_180_s_fails_with_a_clear_message() {
    let (base, _) = server().await;
    let err = client(&base).call::<Value>(reqwest::Method::GET, "/api/v2/long", None).await.unwrap_err();
    assert!(matches!(err, GenesysError::RateLimited { secs: 500, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("rate limited for 500 s") && msg.contains("corr-429"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_without_retry_after_waits_three_seconds() {
    let (base, counts) = server().await;
    let c = client(&base);
    let started = Instant::now();
    let v: Value = c.call(reqwest::Method::GET, "/api/v2/once", None).await.unwrap();
    assert_eq!(v["ok"], true);
    assert!(started.elapsed() >= Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(counts.once.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().rate_limited, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_a_bounded_number_of_times_but_not_501() {
    let (base, counts) = server().await;
    let c = client(&base);
    let err = c.call::<Value>(reqwest::Method::GET, "/api/v2/down", None).await.unwrap_err();
    assert_eq!(counts.down.load(Ordering::SeqCst), 4, "one call and three retries");
    assert_eq!(err.status(), Some(503));
    let msg = err.to_string();
    assert!(
        msg.contains("try later") && msg.contains("service.unavailable") && msg.contains("corr-503"),
        "{msg}"
    );
    assert_eq!(
        err.body().unwrap().context_id.as_deref(),
        Some("corr-503"),
        "the correlation id stands in for contextId"
    );

    let err = c.call::<Value>(reqwest::Method::GET, "/api/v2/notimpl", None).await.unwrap_err();
    assert_eq!(counts.not_impl.load(Ordering::SeqCst), 1, "501 is not retried");
    assert_eq!(err.status(), Some(501));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_refused_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&base).call::<Value>(reqwest::Method::GET, "/api/v2/x", None).await.unwrap_err();
    assert!(err.to_string().contains("could not connect"), "{err}");
}
