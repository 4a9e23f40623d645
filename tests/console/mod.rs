//! A console state built the way the real one is: worker events fed through the reducer, with
//! the clock and ids fixed so screens are stable.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use redrive::app::{Action, AppState, Command, Keymap};
use redrive::store::{EntryState, Filter, WebhookSummary};
use redrive::worker::service::{self, GenesysStatus, Row, WorkerEvent};

/// 2026-12-04T10:00:00Z
pub const NOW: i64 = 1_796_378_400_000;

pub fn state(genesys: GenesysStatus) -> AppState {
    let mut s = AppState::new(genesys, None, Keymap::default());
    s.update(Action::Tick(NOW));
    s
}

pub fn sized(mut s: AppState, w: u16, h: u16) -> AppState {
    s.update(Action::Resize { width: w, height: h });
    s
}

pub fn webhook(
    i: usize,
    name: &str,
    pending: u64,
    dead: u64,
    delivered: u64,
    last: Option<u16>,
) -> WebhookSummary {
    let mut by_state = BTreeMap::new();
    by_state.insert(EntryState::Pending, pending);
    by_state.insert(EntryState::Dead, dead);
    by_state.insert(EntryState::Delivered, delivered);
    WebhookSummary {
        id: format!("action-{i}"),
        name: name.into(),
        method: Some("POST".into()),
        url: Some(format!("https://hooks{i}.example.com/genesys")),
        paused: false,
        paused_reason: None,
        by_state,
        last_status: last,
        last_error: Some("Request to backend service failed.".into()),
        last_failed_at: Some(NOW - 600_000),
        histogram: (0..24).map(|h| ((h * 7 + i * 3) % 11) as u64).collect(),
    }
}

pub fn row(id: i64, webhook: usize, state: EntryState, status: u16) -> Row {
    Row {
        id,
        webhook_id: format!("action-{webhook}"),
        state,
        attempts: if state == EntryState::Pending { 0 } else { 3 },
        next_attempt_at: if state == EntryState::Pending { None } else { Some(NOW + 30_000) },
        status: Some(status),
        failure_status: Some(status),
        error: format!("HTTP {status} from target: upstream unavailable"),
        last_error: (state != EntryState::Pending).then(|| {
            if state == EntryState::Delivered { String::new() } else { format!("HTTP {status} again") }
        }),
        failed_at: NOW - id * 61_000,
        replayable: id % 17 != 0,
        source_kind: "genesys".into(),
    }
}

pub fn overview() -> WorkerEvent {
    let webhooks = vec![
        webhook(1, "Orders API - order updated", 120, 4, 310, Some(503)),
        webhook(2, "CRM - upsert contact", 40, 0, 122, Some(500)),
        webhook(3, "Ticketing - create case", 212, 17, 0, Some(504)),
        webhook(4, "Loyalty - add points", 0, 0, 58, None),
    ];
    let mut totals = BTreeMap::new();
    totals.insert(EntryState::Pending, 372);
    totals.insert(EntryState::Dead, 21);
    totals.insert(EntryState::Delivered, 490);
    WorkerEvent::Overview { webhooks, totals }
}

pub fn rows(n: i64, offset: i64) -> Vec<Row> {
    let states = [EntryState::Pending, EntryState::Dead, EntryState::Pending, EntryState::Delivered];
    let codes = [503, 500, 429, 504, 502];
    (0..n)
        .map(|i| {
            let id = 1000 - offset - i;
            row(id, (i % 4) as usize + 1, states[(i % 4) as usize], codes[(i % 5) as usize])
        })
        .collect()
}

/// Feed the commands a state asked for with answers, as the worker would for a queue of
/// `total` entries.
pub fn answer(s: &mut AppState, cmds: Vec<Command>, total: u64) {
    let mut pending = cmds;
    for _ in 0..10 {
        let mut next = Vec::new();
        for c in pending {
            match c {
                Command::Worker(service::Command::Refresh) => next.extend(s.update(overview().into())),
                Command::Worker(service::Command::Page { seq, offset, limit, filter, .. }) => {
                    let total = if filter == Filter::default() { total } else { total / 3 };
                    let n = (limit as u64).min(total.saturating_sub(offset)) as i64;
                    let mut page = rows(n, offset as i64);
                    if let Some(st) = filter.states.first() {
                        page.iter_mut().for_each(|r| r.state = *st);
                    }
                    next.extend(s.update(WorkerEvent::Page { seq, offset, rows: page, total }.into()));
                }
                Command::Worker(service::Command::Failures { webhook }) => {
                    let rows = rows(12, 0)
                        .into_iter()
                        .map(|mut r| {
                            r.webhook_id = webhook.clone();
                            r
                        })
                        .collect();
                    next.extend(s.update(WorkerEvent::Failures { webhook, rows }.into()));
                }
                _ => {}
            }
        }
        if next.is_empty() {
            return;
        }
        pending = next;
    }
}

/// A console with the demo's data loaded.
pub fn loaded(w: u16, h: u16) -> AppState {
    let mut s = sized(state(GenesysStatus::Demo), w, h);
    let cmds = s.start();
    answer(&mut s, cmds, 393);
    s.update(WorkerEvent::Budget { remaining: 287, limit: 300 }.into());
    s.update(
        WorkerEvent::PollDone { at: NOW - 95_000, summary: "400 failures found, 400 new".into() }.into(),
    );
    s.update(WorkerEvent::Engine { rate: 0.0, attempts: 0 }.into());
    s.messages.clear();
    s
}

pub fn screen(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| redrive::ui::draw(f, s)).unwrap();
    t.backend().to_string()
}

pub fn buffer(s: &AppState) -> ratatui::buffer::Buffer {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| redrive::ui::draw(f, s)).unwrap();
    t.backend().buffer().clone()
}
