//! The console at scale: a store of N entries, the real worker answering the real reducer, frames
//! drawn to a 200×50 `TestBackend`. Measures the time from start to the first frame with rows,
//! frame times while scrolling (including the page queries a frame waits for), filter-apply
//! latency, and peak RSS. Prints a table; it is not a test.
//!
//! Part of the suite: `cargo bench -- --only console [--full | --console-entries N]`.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use redrive::app::{Action, AppState, Command, Key, Keymap};
use redrive::config::Config;
use redrive::worker::service::{GenesysStatus, Service, ServiceConfig};

use super::common::{self, Row, pct};

const W: u16 = 200;
const H: u16 = 50;

pub async fn run(full: bool) -> Vec<Row> {
    let n = common::arg("--console-entries", if full { 1_000_000 } else { 100_000 }) as usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("console.db");
    let now = redrive::time::now_ms();
    let fill = common::fill(&path, n, now);
    println!(
        "console benchmark: {n} entries (filled in {:.1} s), screen {W}×{H}, worker read-only\n",
        fill.as_secs_f64()
    );
    reset_peak_rss();

    {
        let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
        // Start: open the store, ask for the first page, draw it.
        let t0 = Instant::now();
        let mut svc = Service::start(ServiceConfig {
            config: Config::defaults(path.clone()),
            genesys: None,
            status: GenesysStatus::Unavailable("benchmark".into()),
            read_only: true,
        })
        .unwrap();
        let mut s = AppState::new(
            GenesysStatus::Unavailable("benchmark".into()),
            Some("benchmark".into()),
            Keymap::default(),
        );
        s.update(Action::Tick(now));
        let mut cmds = s.update(Action::Resize { width: W, height: H });
        cmds.extend(s.start());
        settle(&mut s, &mut svc, cmds, |s| s.queue.rows.is_empty() || s.queue.loading).await;
        term.draw(|f| redrive::ui::draw(f, &s)).unwrap();
        let first_frame = t0.elapsed();
        settle(&mut s, &mut svc, vec![], |s| !s.loaded).await;
        term.draw(|f| redrive::ui::draw(f, &s)).unwrap();
        let overview = t0.elapsed();

        // Scrolling: a seeded mix of j, k, PgDn, PgUp, G and g, each drawn once its rows are in.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut frames = Vec::new();
        let mut fetched = 0;
        for _ in 0..1_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let key = match rng % 100 {
                0..55 => Key::ch('j'),
                55..70 => Key::ch('k'),
                70..88 => Key::plain(KeyCode::PageDown),
                88..96 => Key::plain(KeyCode::PageUp),
                96..98 => Key::ch('G'),
                _ => Key::ch('g'),
            };
            let t = Instant::now();
            let cmds = s.key(key);
            if !cmds.is_empty() {
                fetched += 1;
            }
            settle(&mut s, &mut svc, cmds, |s| s.queue.loading).await;
            term.draw(|f| redrive::ui::draw(f, &s)).unwrap();
            frames.push(t.elapsed());
        }

        // Filters: typed, applied, counted and the first page drawn.
        let structured = [
            "state:dead",
            "status:5xx",
            "webhook:action-07",
            "since:2h",
            "state:pending webhook:action-03 status:503",
            "",
        ];
        let mut applied = Vec::new();
        for _ in 0..5 {
            for q in structured {
                applied.push(apply(&mut s, &mut svc, &mut term, q).await);
            }
        }
        let mut search = Vec::new();
        for _ in 0..3 {
            search.push(apply(&mut s, &mut svc, &mut term, "conversationId c-4242").await);
            apply(&mut s, &mut svc, &mut term, "").await;
        }
        let rss = peak_rss_mb();
        svc.shutdown().await;

        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (p50, p99, max) =
            (ms(pct(&mut frames, 50.0)), ms(pct(&mut frames, 99.0)), ms(*frames.iter().max().unwrap()));
        let (f50, f95) = (ms(pct(&mut applied, 50.0)), ms(pct(&mut applied, 95.0)));
        let search = ms(pct(&mut search, 50.0));
        println!("{:<50} {:>12} {:>12}", "figure", "measured", "goal");
        println!("{:<50} {:>9.1} ms {:>12}", "start to first frame with rows", ms(first_frame), "< 300 ms");
        println!("{:<50} {:>9.1} ms {:>12}", "start to webhook summaries drawn", ms(overview), "");
        println!("{:<50} {:>9.2} ms {:>12}", "frame while scrolling, p50", p50, "");
        println!("{:<50} {:>9.2} ms {:>12}", "frame while scrolling, p99", p99, "< 8 ms");
        println!("{:<50} {:>9.2} ms {:>12}", "frame while scrolling, max", max, "");
        println!(
            "{:<50} {:>12}",
            "frames that waited for a page query",
            format!("{fetched} of {}", frames.len())
        );
        println!("{:<50} {:>9.1} ms {:>12}", "filter applied (state/status/webhook/since), p50", f50, "");
        println!(
            "{:<50} {:>9.1} ms {:>12}",
            "filter applied (state/status/webhook/since), p95", f95, "< 100 ms"
        );
        println!("{:<50} {:>9.1} ms {:>12}", "text search (full scan), median of 3", search, "");
        println!("{:<50} {:>9.1} MB {:>12}", "peak RSS after the fill", rss, "< 150 MB");
        vec![
            Row::new(
                format!("console {n}: start to first frame"),
                format!("{:.1} ms", ms(first_frame)),
                "300 ms",
            )
            .below(ms(first_frame), 300.0, "< 300 ms"),
            Row::new(format!("console {n}: frame while scrolling, p99"), format!("{p99:.2} ms"), "8 ms")
                .below(p99, 8.0, "< 8 ms"),
            Row::new(format!("console {n}: filter applied, p95"), format!("{f95:.1} ms"), "100 ms")
                .below(f95, 100.0, "< 100 ms"),
            Row::new(format!("console {n}: text search (full scan)"), format!("{search:.0} ms"), "-"),
            Row::new(format!("console {n}: peak RSS"), format!("{rss:.1} MB"), "150 MB")
                .below(rss, 150.0, "< 150 MB"),
        ]
    }
}

/// Send `cmds` and feed the worker's answers to the reducer while `waiting` holds.
async fn settle(
    s: &mut AppState,
    svc: &mut Service,
    cmds: Vec<Command>,
    waiting: impl Fn(&AppState) -> bool,
) {
    let mut pending = cmds;
    loop {
        for c in pending.drain(..) {
            if let Command::Worker(c) = c {
                svc.commands.send(c).await.unwrap();
            }
        }
        if !waiting(s) {
            return;
        }
        let ev = tokio::time::timeout(Duration::from_secs(60), svc.events.recv())
            .await
            .expect("worker answers")
            .unwrap();
        pending.extend(s.update(ev.into()));
    }
}

async fn apply(s: &mut AppState, svc: &mut Service, term: &mut Terminal<TestBackend>, q: &str) -> Duration {
    let t = Instant::now();
    s.update(Action::StartFilter);
    s.input = Some(q.to_string());
    let cmds = s.key(Key::plain(KeyCode::Enter));
    settle(s, svc, cmds, |s| s.queue.loading || s.queue.total.is_none()).await;
    term.draw(|f| redrive::ui::draw(f, s)).unwrap();
    t.elapsed()
}

/// Forget the fill's peak, so the figure is the console's (Linux: `clear_refs` 5), after
/// handing the heap the fill freed back to the system.
fn reset_peak_rss() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
