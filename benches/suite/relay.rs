//! Relay intake: calls accepted per second in `ack` mode (each committed to the inbox with an
//! fsync, group commits) against the same server with storage turned off, driven by the same
//! load generator in the same run (goal: ratio >= 0.5), with p50/p99 latency; and the rate at
//! which calls reach the store itself (the acknowledged rate, plus the time the mover needs to
//! catch up after the round).
//!
//! Part of the suite: `cargo bench -- --only relay [--relay-calls N --relay-clients C]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redrive::config::{Config, RelayMode, ReplayMode, WebhookConfig};
use redrive::relay::Relay;
use redrive::relay::intake::{self, CommitStats};
use redrive::store::{Store, StoreOptions};
use tokio::sync::watch;

use super::common::{self, Row};

struct Server {
    base: String,
    stop: watch::Sender<bool>,
    commits: Arc<CommitStats>,
}

async fn server(dir: &std::path::Path, name: &str, store: bool) -> Server {
    let mut config = Config::defaults(dir.join(format!("{name}.db")));
    config.webhooks.insert(
        "orders".into(),
        WebhookConfig {
            mode: Some(ReplayMode::Direct),
            url: Some("http://127.0.0.1:9/unused".into()),
            relay: Some(RelayMode::Ack),
            ..Default::default()
        },
    );
    let (intake, commits) = if store {
        let s = Store::open(&config.db, StoreOptions::default()).unwrap();
        let (intake, commits, _threads) =
            intake::start(&config.db, s, &config.relay, Duration::from_secs(5)).unwrap();
        (Some(intake), commits)
    } else {
        (None, Arc::new(CommitStats::default()))
    };
    let relay = Relay::new(&config, intake, commits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = watch::channel(false);
    tokio::spawn(relay.serve(listener, rx, Duration::from_secs(5)));
    Server { base, stop, commits }
}

/// `n` calls from `c` keep-alive clients; calls per second and every latency.
async fn load(base: &str, n: usize, c: usize) -> (f64, Vec<Duration>) {
    let http = redrive::genesys::client::http_client(Duration::from_secs(30));
    let url = format!("{base}/hooks/orders");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"conversationId":"c-{i}","event":"order.updated","items":[1,2,3]}}"#))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202);
                let _ = r.bytes().await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (n as f64 / start.elapsed().as_secs_f64(), all)
}

pub async fn run() -> Vec<Row> {
    let n = common::arg("--relay-calls", 20_000) as usize;
    let c = common::arg("--relay-clients", 32) as usize;
    let dir = tempfile::tempdir().unwrap();
    let stored = server(dir.path(), "stored", true).await;
    let bare = server(dir.path(), "bare", false).await;
    println!("relay benchmark: {n} calls from {c} keep-alive clients per round, 3 rounds alternating\n");
    let (mut s_rates, mut b_rates, mut s_lat, mut b_lat) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut e2e_rates, mut cores) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (r, l) = load(&bare.base, n, c).await;
        b_rates.push(r);
        b_lat.extend(l);
        let (cpu0, t0) = (cpu(), Instant::now());
        let (r, l) = load(&stored.base, n, c).await;
        cores.push((cpu() - cpu0) / t0.elapsed().as_secs_f64());
        // Until the mover has carried the round's calls from the inbox into the store.
        stored.commits.caught_up().await;
        e2e_rates.push(n as f64 / t0.elapsed().as_secs_f64());
        s_rates.push(r);
        s_lat.extend(l);
    }
    let med = common::median;
    let (s, b, e2e, cores) = (med(&mut s_rates), med(&mut b_rates), med(&mut e2e_rates), med(&mut cores));
    let commits = stored.commits.commits.load(std::sync::atomic::Ordering::Relaxed).max(1);
    let entries = stored.commits.entries.load(std::sync::atomic::Ordering::Relaxed);
    let ms = |v: &mut Vec<Duration>, p| common::pct(v, p).as_secs_f64() * 1e3;
    let (s50, s99, b50, b99) =
        (ms(&mut s_lat, 50.0), ms(&mut s_lat, 99.0), ms(&mut b_lat, 50.0), ms(&mut b_lat, 99.0));
    println!("{:<44} {:>12} {:>12}", "figure", "ack + fsync", "no storage");
    println!("{:<44} {:>12.0} {:>12.0}", "calls accepted per second (median of 3)", s, b);
    println!("{:<44} {:>12.2} {:>12.2}", "latency p50 (ms)", s50, b50);
    println!("{:<44} {:>12.2} {:>12.2}", "latency p99 (ms)", s99, b99);
    let micros = stored.commits.micros_sum.load(std::sync::atomic::Ordering::Relaxed);
    println!("{:<44} {:>12.0}", "calls in the store per second (median of 3)", e2e);
    println!("{:<44} {:>12.2}", "CPU cores busy while taking calls", cores);
    println!("{:<44} {:>12.1}", "calls per inbox commit", entries as f64 / commits as f64);
    println!(
        "{:<44} {:>12.3}",
        "mean inbox commit (ms, inserts + fsync)",
        micros as f64 / commits as f64 / 1e3
    );
    let _ = stored.stop.send(true);
    let _ = bare.stop.send(true);
    vec![
        Row::new("relay ack, calls/s (fsynced group commits)", format!("{s:.0}"), format!("{b:.0} no store"))
            .ratio(s / b, ">= 0.5"),
        Row::new("relay ack, latency p99", format!("{s99:.2} ms"), format!("{b99:.2} ms no store")),
        Row::new(
            "relay, calls/s into the store (inbox + move)",
            format!("{e2e:.0}"),
            format!("{b:.0} no store"),
        )
        .ratio(e2e / b, "-"),
    ]
}

fn cpu() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}
