//! No acknowledged call is lost: the real `redrive relay` takes calls from a load generator on
//! 127.0.0.1 and is killed with SIGKILL several times; every call that got a 2xx must be in the
//! store afterwards (after one more start, which moves what the inbox held into the store, and
//! a graceful stop).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redrive::relay::inbox::Inbox;
use redrive::store::{Filter, Order, Store, StoreOptions};

const ROUNDS: usize = 4;
const CLIENTS: usize = 8;
/// Acknowledged calls a round waits for before the kill.
const ACKS_BEFORE_KILL: usize = 150;

fn start_relay(config: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redrive"))
        .args(["--config", config.to_str().unwrap(), "relay", "--no-worker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading what else it prints (a closed pipe would end it with SIGPIPE).
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(addr.starts_with("http://127.0.0.1:"), "{line}");
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_call_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = {:?}\nlog_file = {:?}\n[relay]\nlisten = \"127.0.0.1:0\"\n\
             [webhooks.orders]\nmode = \"direct\"\nurl = \"http://127.0.0.1:9/unused\"\nrelay = \"ack\"\n",
            db.display().to_string(),
            dir.path().join("relay.log").display().to_string()
        ),
    )
    .unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut sent_total = 0;
    for round in 0..ROUNDS {
        let (mut child, base) = start_relay(&config);
        let done = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let enough = Arc::new(tokio::sync::Notify::new());
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (base, acked, done, acks, sent, enough) =
                (base.clone(), acked.clone(), done.clone(), acks.clone(), sent.clone(), enough.clone());
            clients.push(tokio::spawn(async move {
                let http = redrive::genesys::client::http_client(Duration::from_secs(10));
                for i in 0.. {
                    if done.load(Ordering::Relaxed) {
                        return;
                    }
                    let id = format!("r{round}-c{c}-{i}");
                    sent.fetch_add(1, Ordering::Relaxed);
                    let resp = http
                        .post(format!("{base}/hooks/orders"))
                        .header("content-type", "application/json")
                        .body(format!("{{\"call\":\"{id}\"}}"))
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status().is_success() => {
                            acked.lock().unwrap().push(id);
                            if acks.fetch_add(1, Ordering::Relaxed) + 1 == ACKS_BEFORE_KILL {
                                enough.notify_one();
                            }
                        }
                        Ok(r) => panic!("unexpected answer {}", r.status()),
                        Err(_) => return, // the relay was killed
                    }
                }
            }));
        }
        // Kill once this round has enough acknowledged calls (a condition, not a sleep).
        tokio::time::timeout(Duration::from_secs(60), enough.notified())
            .await
            .expect("the relay acknowledged calls");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        done.store(true, Ordering::Relaxed);
        for c in clients {
            tokio::time::timeout(Duration::from_secs(20), c).await.expect("clients end").unwrap();
        }
        sent_total += sent.load(Ordering::Relaxed);
    }
    // Calls acknowledged but not yet moved from the inbox into the store when the relay died:
    // a restart moves them, and a graceful stop (SIGTERM) only returns once it has.
    let waiting = Inbox::open(&Inbox::path_for(&db), Duration::from_secs(5)).unwrap().backlog().unwrap();
    let (mut child, _) = start_relay(&config);
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status =
        tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(move || child.wait()))
            .await
            .expect("the relay stops on SIGTERM")
            .unwrap()
            .unwrap();
    assert!(status.success(), "{status}");
    let store = Store::open(&db, StoreOptions::default()).unwrap();
    let stored: HashSet<String> = store
        .list(&Filter::default(), Order::OldestFirst, None, 1_000_000)
        .unwrap()
        .iter()
        .map(|e| {
            let p: serde_json::Value = serde_json::from_slice(&store.payload(e.id).unwrap()).unwrap();
            p["call"].as_str().unwrap().to_string()
        })
        .collect();
    let acked = acked.lock().unwrap();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    eprintln!(
        "{ROUNDS} kills: {sent_total} calls sent, {} acknowledged ({waiting} of them still in the inbox after the last kill), \
         {} stored ({} stored without an answer reaching the client)",
        acked.len(),
        stored.len(),
        stored.len() - (acked.len() - lost.len())
    );
    assert!(acked.len() >= ROUNDS * ACKS_BEFORE_KILL);
    assert!(lost.is_empty(), "{} acknowledged calls lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
}
