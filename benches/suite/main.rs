//! Every speed claim redrive makes, measured beside its limit in the same run, as one table.
//! Each benchmark builds its own data (batch inserts, the simulator on 127.0.0.1); nothing is
//! fetched. Sizes are small enough for a 2-core machine by default; `--full` runs the large
//! ones (1,000,000 entries for the store and the console, 120 s through Genesys).
//!
//!     cargo bench                          # everything, default sizes (a few minutes)
//!     cargo bench -- --full                # the sizes README's table comes from
//!     cargo bench -- --only replay,console # some of them
//!
//! Size flags: --store-entries N, --console-entries N, --replay-entries N, --concurrency C,
//! --rounds R, --genesys-seconds S, --failures N, --relay-calls N, --relay-clients C.

mod common;
mod console;
mod ingest;
mod relay;
mod replay;
mod store;

use std::time::Instant;

// The console first: its peak-RSS figure is only its own while the process has not yet held
// the larger heaps of the others.
const ALL: [&str; 5] = ["console", "replay", "ingest", "relay", "store"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--full");
    let only: Vec<String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| ALL.iter().map(|s| s.to_string()).collect());
    for o in &only {
        assert!(ALL.contains(&o.as_str()), "--only takes some of {}, not {o:?}", ALL.join(","));
    }
    println!(
        "redrive benchmark suite: {} sizes, {} cores\n",
        if full { "full" } else { "default" },
        std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0)
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    for name in ALL.iter().filter(|n| only.iter().any(|o| o == *n)) {
        println!("== {name}");
        let t = Instant::now();
        rows.extend(match *name {
            "replay" => replay::run(full).await,
            "ingest" => ingest::run().await,
            "relay" => relay::run().await,
            "console" => console::run(full).await,
            "store" => tokio::task::spawn_blocking(move || store::run(full)).await.unwrap(),
            _ => unreachable!(),
        });
        println!("({name}: {:.0} s)\n", t.elapsed().as_secs_f64());
    }
    println!("== summary ({:.0} s in all)", started.elapsed().as_secs_f64());
    common::print_rows(&rows);
}
