//! Poll ingest: failures polled from the simulated org into the store (queries with window
//! bisection, execution-data jobs, downloads, parsing, inserts), against a batched insert of
//! the same rows into a fresh store, measured in the same run. Goal: ratio >= 0.3 (the API
//! round trips are part of the job).
//!
//! Part of the suite: `cargo bench -- --only ingest [--failures N]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redrive::genesys::{Client, ClientOptions};
use redrive::sim::{OrgSpec, SimConfig, SimHandle};
use redrive::store::{Filter, NewEntry, Store, StoreOptions};
use redrive::time::now_ms;
use redrive::worker::poll::{PollOptions, poll};

use super::common::{self, Row};

pub async fn run() -> Vec<Row> {
    let n = common::arg("--failures", 100_000) as usize;
    let t = Instant::now();
    let sim = SimHandle::start(SimConfig {
        org: OrgSpec {
            seed: 2,
            webhooks: 8,
            failures: n,
            successes: n / 10,
            burst: n / 10,
            spread_ms: 6 * 3_600_000,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    println!("ingest benchmark: {n} failures (org made in {:.1} s)\n", t.elapsed().as_secs_f64());
    let mut gc = sim.genesys_config();
    // The simulated org has no rate limit here: this measures redrive's own work.
    gc.rate_limit_per_minute = 1_000_000;
    let client = Arc::new(Client::new(ClientOptions::from_config(&gc).unwrap()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("poll.db"), StoreOptions::default()).unwrap();
    let start = Instant::now();
    let opts = PollOptions { job_wait: Duration::from_secs(600), ..Default::default() };
    let s = poll(&client, &mut store, &opts, now_ms(), |_| {}).await.unwrap();
    let poll_t = start.elapsed();
    assert_eq!(s.new, n, "{s:?}");

    // The reference: the same rows, inserted in batches of the same size into a fresh store.
    let records = store.list_records(&Filter::default(), None, n + 1).unwrap();
    let rows: Vec<NewEntry> = records
        .into_iter()
        .map(|r| NewEntry {
            source_id: r.entry.source_id,
            webhook_id: r.entry.webhook_id,
            source_kind: r.entry.source_kind,
            payload: r.payload,
            content_type: r.entry.content_type,
            status_code: r.entry.status_code,
            error: r.entry.error,
            failed_at: r.entry.failed_at,
            payload_unavailable: r.entry.payload_unavailable,
            next_attempt_at: r.entry.next_attempt_at,
            execution_data: r.execution_data,
        })
        .collect();
    let mut fresh = Store::open(dir.path().join("insert.db"), StoreOptions::default()).unwrap();
    let start = Instant::now();
    for chunk in rows.chunks(500) {
        fresh.insert_batch(chunk, now_ms()).unwrap();
    }
    let insert_t = start.elapsed();
    let (poll_rate, insert_rate) = (n as f64 / poll_t.as_secs_f64(), n as f64 / insert_t.as_secs_f64());
    println!("{:<34} {:>14} {:>16} {:>8} {:>8}", "figure", "measured", "reference", "ratio", "goal");
    let ratio = poll_rate / insert_rate;
    println!(
        "{:<34} {:>14.0} {:>16} {:>8.3} {:>8} {}",
        "poll ingest (failures/s)",
        poll_rate,
        format!("{insert_rate:.0} insert"),
        ratio,
        ">= 0.3",
        if ratio >= 0.3 { "met" } else { "NOT MET" }
    );
    println!(
        "\n(poll: {:.1} s, {} API calls, {} queries, {} window splits, {} downloads; insert: {:.1} s)",
        poll_t.as_secs_f64(),
        s.api_calls,
        s.queries,
        s.window_splits,
        s.downloads,
        insert_t.as_secs_f64()
    );
    sim.stop().await;
    vec![
        Row::new(
            format!("poll ingest of {n} failures (failures/s)"),
            format!("{poll_rate:.0}"),
            format!("{insert_rate:.0} insert"),
        )
        .ratio(ratio, ">= 0.3"),
    ]
}
