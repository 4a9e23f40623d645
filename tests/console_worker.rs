//! The console's worker against the simulated org on 127.0.0.1: commands in, events out, and
//! what reaches the screen from outside text.

mod common;
mod console;

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use redrive::app::{Action, AppState, Command, Keymap};
use redrive::config::Config;
use redrive::genesys::{Client, ClientOptions};
use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use redrive::store::{EntryState, Filter, NewEntry, Selection, Store, StoreOptions};
use redrive::text::is_unsafe;
use redrive::worker::service::{self, GenesysStatus, Service, ServiceConfig, WorkerEvent};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

/// The next event `pick` accepts (others are dropped), within the test's time bound.
async fn wait_for<T>(
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    mut pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = events.recv().await.expect("the worker is running");
            if let WorkerEvent::Error(m) = &e {
                eprintln!("worker error: {m}");
            }
            if let Some(t) = pick(&e) {
                return t;
            }
        }
    })
    .await
    .expect("the worker answered in time")
}

async fn with_sim(
    targets: Vec<TargetBehaviour>,
    failures: usize,
) -> (SimHandle, tempfile::TempDir, Config, Arc<Client>) {
    let sim = SimHandle::start(SimConfig {
        org: OrgSpec {
            seed: 3,
            webhooks: targets.len(),
            failures,
            successes: failures,
            burst: failures / 2,
            spread_ms: 3_600_000,
        },
        targets,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults(dir.path().join("c.db"));
    config.genesys = sim.genesys_config();
    config.retry.base = Duration::from_millis(50);
    config.retry.cap = Duration::from_millis(200);
    let client = Arc::new(Client::new(ClientOptions::from_config(&config.genesys).unwrap()).unwrap());
    (sim, dir, config, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_poll_page_and_a_bulk_retry_drained_to_the_end() {
    let (sim, _dir, config, client) = with_sim(vec![TargetBehaviour::Healthy; 3], 30).await;
    let mut svc = Service::start(ServiceConfig {
        config,
        genesys: Some(client),
        status: GenesysStatus::Demo,
        read_only: false,
    })
    .unwrap();
    let cmd = svc.commands.clone();
    cmd.send(service::Command::SyncWebhooks).await.unwrap();
    wait_for(&mut svc.events, |e| matches!(e, WorkerEvent::Changed).then_some(())).await;
    cmd.send(service::Command::Refresh).await.unwrap();
    let hooks = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::Overview { webhooks, .. } => Some(webhooks.len()),
        _ => None,
    })
    .await;
    assert_eq!(hooks, 3);

    cmd.send(service::Command::Poll).await.unwrap();
    let summary = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::PollDone { summary, .. } => Some(summary.clone()),
        WorkerEvent::PollFailed { error, .. } => panic!("poll failed: {error}"),
        _ => None,
    })
    .await;
    assert!(summary.starts_with("30 failures found, 30 new"), "{summary}");

    cmd.send(service::Command::Page { seq: 7, filter: Filter::default(), offset: 0, limit: 10, total: None })
        .await
        .unwrap();
    let (rows, total) = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::Page { seq: 7, rows, total, .. } => Some((rows.clone(), *total)),
        _ => None,
    })
    .await;
    assert_eq!(total, 30);
    assert_eq!(rows.len(), 10);
    assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(
        rows.iter().all(|r| r.state == EntryState::Pending && r.next_attempt_at.is_none()),
        "held for the operator"
    );

    cmd.send(service::Command::Retry { selection: Selection::Filter(Filter::default()), force: false })
        .await
        .unwrap();
    let total = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::JobStarted { total, .. } => Some(*total),
        _ => None,
    })
    .await;
    let done = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::JobDone { progress, cancelled: false } => Some(progress.clone()),
        _ => None,
    })
    .await;
    assert_eq!(done.total, total);
    assert_eq!(done.delivered, total, "{done:?}");
    assert!(total >= 25, "only entries without a payload are skipped: {total}");
    svc.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_job_holds_what_was_not_attempted() {
    let (sim, dir, config, client) =
        with_sim(vec![TargetBehaviour::DownFor { for_: Duration::from_secs(3600) }], 0).await;
    let db = dir.path().join("c.db");
    {
        let mut store = Store::open(&db, StoreOptions::default()).unwrap();
        // The webhook is the org's data action, replayed through Genesys (the simulated API
        // executes it against a target that is down).
        let slug = sim.org().webhooks[0].action.id.clone();
        let now = redrive::time::now_ms();
        let hooks = vec![redrive::worker::poll::webhook_of(&sim.org().webhooks[0].action)];
        store.upsert_webhooks(&hooks, now).unwrap();
        let batch: Vec<NewEntry> = (0..40)
            .map(|i| {
                let mut e = common::due(&format!("c-{i}"), &slug, i, now);
                e.next_attempt_at = None;
                e
            })
            .collect();
        store.insert_batch(&batch, now).unwrap();
    }
    let mut svc = Service::start(ServiceConfig {
        config,
        genesys: Some(client),
        status: GenesysStatus::Demo,
        read_only: false,
    })
    .unwrap();
    let cmd = svc.commands.clone();
    cmd.send(service::Command::Retry { selection: Selection::Filter(Filter::default()), force: false })
        .await
        .unwrap();
    wait_for(&mut svc.events, |e| matches!(e, WorkerEvent::Breaker { .. }).then_some(())).await;
    // The job stalls behind the open breaker. What it did before the stall still reaches the
    // screen, and the rate falls to zero instead of keeping its last value (reports run on a
    // clock, not on outcomes).
    let reported = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::JobProgress(p) if p.done() > 0 => Some(p.done()),
        _ => None,
    })
    .await;
    assert!(reported > 0);
    wait_for(&mut svc.events, |e| {
        matches!(e, WorkerEvent::Engine { rate, .. } if *rate == 0.0).then_some(())
    })
    .await;
    cmd.send(service::Command::CancelJob).await.unwrap();
    let p = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::JobDone { progress, cancelled: true } => Some(progress.clone()),
        _ => None,
    })
    .await;
    assert!(p.done() < 40, "the breaker kept most entries back: {p:?}");
    svc.shutdown().await;
    // Every entry was either attempted (it was in flight or done when the job was cancelled)
    // or is held for the operator again; none is left queued without having been tried.
    let store = Store::open(&db, StoreOptions::default()).unwrap();
    let all = store.list(&Filter::default(), redrive::store::Order::NewestFirst, None, 100).unwrap();
    assert_eq!(all.len(), 40);
    let held = all.iter().filter(|e| e.state == EntryState::Pending && e.next_attempt_at.is_none()).count();
    for e in &all {
        let is_held = e.state == EntryState::Pending && e.next_attempt_at.is_none();
        assert!(is_held || e.attempts >= 1, "entry {} is queued but was never tried: {e:?}", e.id);
    }
    assert!(held >= 10, "the entries behind the open breaker are held: {held}");
    assert_eq!(store.audit_log(10).unwrap().iter().filter(|a| a.action == "cancel").count(), 1);
    sim.stop().await;
}

const NASTY: &str = "\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}\u{1b}[2J\u{1b}\u{9b}31m\u{202e}evil\u{0}";

fn assert_clean(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| redrive::ui::draw(f, s)).unwrap();
    let buf = t.backend().buffer().clone();
    for (i, cell) in buf.content.iter().enumerate() {
        assert!(!cell.symbol().chars().any(is_unsafe), "cell {i} holds {:?}", cell.symbol());
    }
    t.backend().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_outside_never_reach_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let now = redrive::time::now_ms();
    {
        let mut store = Store::open(&db, StoreOptions::default()).unwrap();
        let hooks =
            vec![redrive::store::Webhook::named("evil-hook", &format!("name {NASTY}"), "genesys", now)];
        store.upsert_webhooks(&hooks, now).unwrap();
        let mut e = common::entry("nasty", "evil-hook", Some(503), now);
        e.payload = format!("{{\"note\":\"{}\"}}", NASTY.escape_default()).into_bytes();
        e.payload.extend_from_slice(NASTY.as_bytes());
        e.error = Some(format!("target said {NASTY}"));
        store.insert_batch(&[e], now).unwrap();
    }
    let mut svc = Service::start(ServiceConfig {
        config: Config::defaults(db),
        genesys: None,
        status: GenesysStatus::Unavailable("no credentials".into()),
        read_only: true,
    })
    .unwrap();
    let mut s =
        AppState::new(GenesysStatus::Unavailable("none".into()), Some("test".into()), Keymap::default());
    s.update(Action::Resize { width: 120, height: 40 });
    let mut pending = s.start();
    // Answer everything the screen asks until it is quiet, then open the entry.
    let mut opened = false;
    for _ in 0..20 {
        for c in pending.drain(..) {
            if let Command::Worker(c) = c {
                svc.commands.send(c).await.unwrap();
            }
        }
        let ev = tokio::time::timeout(WAIT, svc.events.recv()).await.unwrap().unwrap();
        let is_detail = matches!(ev, WorkerEvent::Detail(_));
        pending.extend(s.update(ev.into()));
        if is_detail {
            break;
        }
        if !opened && s.queue.total == Some(1) && s.loaded {
            opened = true;
            pending.extend(s.update(Action::Open));
        }
    }
    let detail = s.detail.as_ref().and_then(|d| d.data.as_ref()).expect("the detail arrived");
    assert!(detail.payload.contains('\u{fffd}'), "the payload keeps a visible mark where escapes were");
    let screen = assert_clean(&s);
    assert!(screen.contains("evil"), "the text around the escapes is still shown");
    s.update(Action::Back);
    let screen = assert_clean(&s);
    assert!(screen.contains("target said"), "{screen}");
    svc.shutdown().await;
}

#[test]
fn the_last_line_of_defence_scrubs_raw_text_put_straight_into_the_state() {
    let mut s = console::loaded(100, 30);
    s.webhooks[0].name = format!("raw {NASTY}");
    s.queue.rows[0].error = format!("raw {NASTY}");
    s.update(WorkerEvent::Error(format!("raw {NASTY}")).into());
    s.update(Action::StartFilter);
    for c in NASTY.chars() {
        s.update(Action::Input(c));
    }
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_genesys_leaves_the_queue_usable_and_says_why() {
    // A port nothing listens on: bind, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    {
        let mut store = Store::open(&db, StoreOptions::default()).unwrap();
        store.insert_batch(&[common::entry("u1", "w", Some(503), 1)], 1).unwrap();
    }
    let mut config = Config::defaults(db);
    config.genesys.client_id = Some("id".into());
    config.genesys.client_secret = Some(redrive::config::Secret::new("s3cr3t-value"));
    config.genesys.api_base = Some(format!("http://127.0.0.1:{port}"));
    config.genesys.login_base = Some(format!("http://127.0.0.1:{port}"));
    config.genesys.rate_limit_per_minute = 300;
    let mut opts = ClientOptions::from_config(&config.genesys).unwrap();
    opts.timeout = Duration::from_secs(2);
    let client = Arc::new(Client::new(opts).unwrap());
    let status = GenesysStatus::Connected { region: "us_east_1".into() };
    let mut svc = Service::start(ServiceConfig {
        config,
        genesys: Some(client),
        status: status.clone(),
        read_only: false,
    })
    .unwrap();
    let mut s = AppState::new(status, None, Keymap::default());
    s.update(Action::Resize { width: 100, height: 30 });
    for c in s.start() {
        if let Command::Worker(c) = c {
            svc.commands.send(c).await.unwrap();
        }
    }
    let health = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::GenesysHealth(h) => Some(h.clone()),
        WorkerEvent::Page { .. } | WorkerEvent::Overview { .. } => {
            s.update(e.clone().into());
            None
        }
        _ => None,
    })
    .await;
    let why = health.expect("the webhook listing failed");
    assert!(!why.contains("s3cr3t-value"), "{why}");
    s.update(WorkerEvent::GenesysHealth(Some(why)).into());
    assert_eq!(s.queue.total, Some(1), "the queue is browsable");
    let screen = assert_clean(&s);
    assert!(screen.contains("unreachable"), "{screen}");
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_and_edit_a_payload_then_queue_the_edited_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let id = {
        let mut store = Store::open(&db, StoreOptions::default()).unwrap();
        let mut e = common::entry("e1", "w", Some(503), 1);
        e.next_attempt_at = None;
        store.insert_batch(&[e], 1).unwrap().inserted[0]
    };
    let mut svc = Service::start(ServiceConfig {
        config: Config::defaults(db.clone()),
        genesys: None,
        status: GenesysStatus::Unavailable("none".into()),
        read_only: false,
    })
    .unwrap();
    svc.commands.send(service::Command::SavePayload { id }).await.unwrap();
    let msg = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::Info(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    let path = msg.rsplit(' ').next().unwrap().to_string();
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"order\":\"e1\"}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "payloads are private"
        );
    }
    let _ = std::fs::remove_file(&path);

    svc.commands.send(service::Command::PrepareEdit { id }).await.unwrap();
    let path = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::EditReady { id: i, path } if *i == id => Some(path.clone()),
        _ => None,
    })
    .await;
    std::fs::write(&path, b"{\"order\":\"e1\",\"fixed\":true}").unwrap();
    svc.commands.send(service::Command::RetryEdited { id, path: path.clone() }).await.unwrap();
    let msg = wait_for(&mut svc.events, |e| match e {
        WorkerEvent::Info(m) if m.contains("edited copy") => Some(m.clone()),
        _ => None,
    })
    .await;
    assert!(msg.starts_with(&format!("edited copy of #{id} queued as #")), "{msg}");
    assert!(!path.exists(), "the temporary file is removed");
    svc.shutdown().await;
    let store = Store::open(&db, StoreOptions::default()).unwrap();
    let all = store.list(&Filter::default(), redrive::store::Order::OldestFirst, None, 10).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.payload(all[0].id).unwrap(), b"{\"order\":\"e1\"}", "the original is kept");
    assert_eq!(store.payload(all[1].id).unwrap(), b"{\"order\":\"e1\",\"fixed\":true}");
}
