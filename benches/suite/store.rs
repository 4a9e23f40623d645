//! Store figures at scale: fill a database through the library's batch insert, then time the
//! queries the CLI and console run. Prints a table; it is not a test.
//!
//! Part of the suite: `cargo bench -- --only store [--full | --store-entries N]`.

use std::time::{Duration, Instant};

use redrive::store::{EntryState, Filter, Order, StatusMatch, Store, StoreOptions};

use super::common::{self, Row, WEBHOOKS};

pub fn run(full: bool) -> Vec<Row> {
    let n = common::arg("--store-entries", if full { 1_000_000 } else { 100_000 }) as usize;
    let mut rows = Vec::new();
    let mut worst_page = (Duration::ZERO, "");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");

    let now = 1_764_000_000_000i64;
    let fill = common::fill(&path, n, now);
    let mut store = Store::open(&path, StoreOptions::default()).unwrap();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("store benchmark: {n} entries, {WEBHOOKS} webhooks, file {:.0} MB", size as f64 / 1e6);
    println!(
        "fill through insert_batch: {:.1} s ({:.0} entries/s)\n",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );

    let f = |states: &[EntryState],
             webhook: Option<&str>,
             status: Option<StatusMatch>,
             since: Option<i64>,
             search: Option<&str>| Filter {
        states: states.to_vec(),
        webhook: webhook.map(Into::into),
        status,
        since,
        until: None,
        search: search.map(Into::into),
    };
    let cases: Vec<(&str, Filter)> = vec![
        ("no filter", Filter::default()),
        ("state:pending", f(&[EntryState::Pending], None, None, None, None)),
        ("state:dead", f(&[EntryState::Dead], None, None, None, None)),
        ("webhook:action-07", f(&[], Some("action-07"), None, None, None)),
        ("status:5xx", f(&[], None, Some(StatusMatch::Class(5)), None, None)),
        ("status:404", f(&[], None, Some(StatusMatch::Code(404)), None, None)),
        ("since:2h", f(&[], None, None, Some(now - 7_200_000), None)),
        (
            "state:dead webhook:action-07 status:5xx",
            f(&[EntryState::Dead], Some("action-07"), Some(StatusMatch::Class(5)), None, None),
        ),
        ("search:c-500000 (full scan)", f(&[], None, None, None, Some("\"c-500000\""))),
    ];
    println!("{:<44} {:>10} {:>10} {:>8}", "first page of 50, filtered by", "p50 ms", "max ms", "goal");
    for (name, filter) in &cases {
        let reps = if filter.search.is_some() { 3 } else { 20 };
        let (p50, max) = time(reps, || {
            store.list(filter, Order::NewestFirst, None, 50).unwrap();
        });
        let goal = if filter.search.is_some() { "-" } else { "< 50" };
        println!("{name:<44} {:>10.2} {:>10.2} {goal:>8}", ms(p50), ms(max));
        if filter.search.is_none() && p50 > worst_page.0 {
            worst_page = (p50, name);
        }
    }
    rows.push(
        Row::new(
            format!("store {n}: first page, slowest filter ({})", worst_page.1),
            format!("{:.2} ms", ms(worst_page.0)),
            "50 ms",
        )
        .below(ms(worst_page.0), 50.0, "< 50 ms"),
    );
    println!();
    println!("{:<44} {:>10} {:>10} {:>8}", "count", "p50 ms", "max ms", "goal");
    let (p50, max) = time(10, || {
        store.counts_by_state().unwrap();
    });
    println!("{:<44} {:>10.2} {:>10.2} {:>8}", "count by state", ms(p50), ms(max), "< 200");
    rows.push(Row::new(format!("store {n}: count by state"), format!("{:.1} ms", ms(p50)), "200 ms").below(
        ms(p50),
        200.0,
        "< 200 ms",
    ));
    for (name, filter) in cases.iter().skip(1).take(6) {
        let (p50, max) = time(5, || {
            store.count(filter).unwrap();
        });
        println!("{:<44} {:>10.2} {:>10.2} {:>8}", format!("count {name}"), ms(p50), ms(max), "-");
    }
    let (p50, max) = time(3, || {
        store.stats().unwrap();
    });
    println!(
        "{:<44} {:>10.2} {:>10.2} {:>8}",
        "stats (by state, webhook, status class)",
        ms(p50),
        ms(max),
        "-"
    );

    // Bulk operations, once each (they change the store).
    println!();
    println!("{:<44} {:>10} {:>10}", "bulk operation", "ms", "entries");
    let dead = f(&[EntryState::Dead], None, None, None, None);
    let t = Instant::now();
    let r = store.retry_now(&redrive::store::Selection::Filter(dead), false, "bench", now).unwrap();
    let took = t.elapsed();
    println!("{:<44} {:>10.0} {:>10}", "retry now: every dead entry (one transaction)", ms(took), r.changed);
    rows.push(Row::new(
        format!("store {n}: retry now of {} entries", r.changed),
        format!("{:.0} ms", ms(took)),
        "-",
    ));
    // Age half a million delivered entries, then prune them in batches.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "UPDATE entries SET updated_at = ?1 WHERE id IN \
             (SELECT id FROM entries WHERE state = 'delivered' LIMIT ?2)",
            rusqlite::params![now - 40 * 86_400_000i64, (n / 2) as i64],
        )
        .unwrap();
    }
    let t = Instant::now();
    let pruned = store.prune(now - 30 * 86_400_000, 5000, "bench", now).unwrap();
    let took = t.elapsed();
    println!("{:<44} {:>10.0} {:>10}", "prune delivered entries older than 30 days", ms(took), pruned);
    rows.push(Row::new(
        format!("store {n}: prune of {pruned} delivered"),
        format!("{:.0} ms", ms(took)),
        "-",
    ));
    drop(store);
    rows
}

fn time(reps: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f(); // warm the page cache and the statement cache
    let mut t: Vec<Duration> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    (t[t.len() / 2], *t.last().unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
