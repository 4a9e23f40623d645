//! Whole-screen snapshots of the console, one per meaningful state, at 80×24 and 160×48.
//! Review every change to these files as a screenshot of the product.

mod console;

use console::*;
use redrive::app::{Action, AppState, Key};
use redrive::retry::limiter::BreakerState;
use redrive::store::EntryState;
use redrive::worker::engine::Progress;
use redrive::worker::service::{Detail, GenesysStatus, WorkerEvent};

fn keys(s: &mut AppState, ks: &str) {
    for c in ks.chars() {
        let cmds = s.key(Key::ch(c));
        answer(s, cmds, 393);
    }
}

fn detail() -> Detail {
    let r = row(998, 1, EntryState::Dead, 503);
    Detail {
        row: r,
        source_id: "8d0c5c57-instance".into(),
        content_type: Some("application/json".into()),
        payload_size: 142,
        payload_note: None,
        payload: redrive::text::pretty_payload(
            br#"{"orderId":"A-1001","status":"shipped","customer":{"id":"C-7","tier":"gold"},"lines":[1,2]}"#,
        ),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Idempotency-Key".into(), "998".into()),
            ("webhook-id".into(), "998".into()),
            ("X-Redrive-Attempt".into(), "4".into()),
            ("Authorization".into(), "***".into()),
        ],
        attempts: (1..=3)
            .map(|i| redrive::store::Attempt {
                attempt: i,
                started_at: NOW - 600_000 + i as i64 * 60_000,
                duration_ms: 120 + i as u64,
                status_code: Some(503),
                class: redrive::store::AttemptClass::Retryable,
                error: Some("HTTP 503".into()),
                response_snippet: Some("{\"error\":\"maintenance\"}".into()),
            })
            .collect(),
        execution_data: Some("{\n  \"flowId\": \"f-1\"\n}".into()),
    }
}

fn both(name: &str, build: impl Fn(u16, u16) -> AppState) {
    for (w, h) in [(80, 24), (160, 48)] {
        let s = build(w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&s));
    }
}

#[test]
fn first_run_with_an_empty_store() {
    both("empty", |w, h| {
        let mut s = sized(
            state(GenesysStatus::Unavailable(
                "no credentials (set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET)".into(),
            )),
            w,
            h,
        );
        let cmds = s.start();
        for c in cmds {
            if let redrive::app::Command::Worker(redrive::worker::service::Command::Page { seq, .. }) = c {
                s.update(WorkerEvent::Page { seq, offset: 0, rows: vec![], total: 0 }.into());
            }
        }
        s.update(WorkerEvent::Overview { webhooks: vec![], totals: Default::default() }.into());
        s
    });
}

#[test]
fn demo_loaded_queue_focused() {
    both("loaded", loaded);
}

#[test]
fn webhooks_focused() {
    both("webhooks_focused", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "1j");
        s.update(WorkerEvent::Breaker { target: "action-3".into(), state: BreakerState::Open }.into());
        s
    });
}

#[test]
fn failures_focused() {
    both("failures_focused", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "2jj");
        s
    });
}

#[test]
fn detail_view() {
    both("detail", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "jj");
        s.update(Action::Open);
        s.detail.as_mut().unwrap().id = 998;
        s.update(WorkerEvent::Detail(Box::new(detail())).into());
        s
    });
}

#[test]
fn filter_prompt_and_filter_applied() {
    both("filter_prompt", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "/state:dead status:5xx");
        s
    });
    both("filter_applied", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "/state:dead status:5xx");
        let cmds = s.key(Key::plain(crossterm::event::KeyCode::Enter));
        answer(&mut s, cmds, 393);
        s
    });
}

#[test]
fn marks() {
    both("marks", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "  j V jjV");
        s
    });
}

#[test]
fn confirm_dialog() {
    both("confirm", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "ar");
        s
    });
}

#[test]
fn bulk_job_in_progress() {
    both("job", |w, h| {
        let mut s = loaded(w, h);
        s.update(WorkerEvent::JobStarted { total: 372, label: "retry 372".into(), skipped: 0 }.into());
        s.update(
            WorkerEvent::JobProgress(Progress {
                total: 372,
                attempts: 150,
                delivered: 131,
                rescheduled: 17,
                dead: 2,
                held: 0,
                rate: 48.0,
                eta_secs: Some(4.6),
            })
            .into(),
        );
        s.update(WorkerEvent::Engine { rate: 48.0, attempts: 150 }.into());
        s
    });
}

#[test]
fn a_stalled_job_says_it_waits_instead_of_an_eta() {
    let mut s = loaded(160, 48);
    s.update(WorkerEvent::JobStarted { total: 372, label: "retry 372".into(), skipped: 0 }.into());
    let progress = Progress {
        total: 372,
        attempts: 250,
        delivered: 250,
        rate: 90.0,
        eta_secs: Some(1.4),
        ..Default::default()
    };
    s.update(WorkerEvent::JobProgress(progress).into());
    s.update(Action::Tick(NOW + 1_000));
    assert!(screen(&s).contains("ETA 1s"), "{}", screen(&s));
    // Nothing done for 1.5 s, with the API budget used up.
    s.update(WorkerEvent::Budget { remaining: 0, limit: 300 }.into());
    s.update(Action::Tick(NOW + 1_600));
    let text = screen(&s);
    assert!(text.contains("dead 0 · waiting for the API budget · x cancels"), "{text}");
    assert!(!text.contains("ETA") && !text.contains("90/s"), "no rate or ETA from before: {text}");
    s.update(WorkerEvent::Budget { remaining: 120, limit: 300 }.into());
    let text = screen(&s);
    assert!(text.contains("dead 0 · waiting · x cancels") && !text.contains("API budget"), "{text}");
    // It moves again: an ETA again.
    let progress = Progress {
        total: 372,
        attempts: 260,
        delivered: 260,
        rate: 80.0,
        eta_secs: Some(1.4),
        ..Default::default()
    };
    s.update(WorkerEvent::JobProgress(progress).into());
    assert!(screen(&s).contains("80/s ETA 1s"), "{}", screen(&s));
}

#[test]
fn an_engine_that_died_is_shown_as_stopped_not_idle() {
    let mut s = loaded(160, 48);
    assert!(screen(&s).contains("worker idle"));
    s.update(WorkerEvent::EngineStopped("the retry engine stopped on an internal error".into()).into());
    let text = screen(&s);
    assert!(text.contains("worker stopped") && !text.contains("worker idle"), "{text}");
    assert!(text.contains("the retry engine stopped on an internal error"), "{text}");
}

#[test]
fn help_overlay() {
    both("help", |w, h| {
        let mut s = loaded(w, h);
        keys(&mut s, "?");
        s
    });
}

#[test]
fn an_error_message() {
    both("error", |w, h| {
        let mut s = loaded(w, h);
        s.update(
            WorkerEvent::PollFailed { at: NOW - 4_000, error: "Genesys answered 401 Unauthorized".into() }
                .into(),
        );
        s
    });
}

#[test]
fn read_only_mode() {
    both("read_only", |w, h| {
        let mut s = loaded(w, h);
        s.read_only = Some("started with --read-only".into());
        keys(&mut s, "r");
        s
    });
}

#[test]
fn no_color_draws_without_colour() {
    use ratatui::style::Color;
    let mut s = loaded(120, 30);
    s.update(WorkerEvent::Breaker { target: "action-3".into(), state: BreakerState::Open }.into());
    s.update(WorkerEvent::Error("poll failed".into()).into());
    let coloured = buffer(&s).content.iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).count();
    assert!(coloured > 0, "colour is used normally");
    s.monochrome = true;
    let buf = buffer(&s);
    let coloured: Vec<_> =
        buf.content.iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).collect();
    assert!(coloured.is_empty(), "NO_COLOR: {} cells coloured", coloured.len());
}

#[test]
fn readme_key_table_is_the_keymap() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = redrive::app::Keymap::default().markdown();
    assert!(readme.contains(&table), "README's key table is out of date; it should be:\n{table}");
}
