//! The header (panes), the status bar (Genesys, poll, API budget, worker, bulk job) and the
//! message and hint lines.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};

use super::theme::Theme;
use crate::app::Action;
use crate::app::keymap::Context;
use crate::app::state::{AppState, Level, Pane, PollState, thousands};
use crate::store::EntryState;
use crate::time::humanize;
use crate::worker::service::GenesysStatus;

const SPINNER: [char; 4] = ['⠋', '⠙', '⠸', '⠴'];

pub fn header(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let mut spans = vec![Span::styled(" redrive ", t.selected())];
    for (i, p) in Pane::ALL.iter().enumerate() {
        let st = if s.focus == *p && s.detail.is_none() { t.border(true) } else { t.dim() };
        let title = if area.width >= 120 { p.title() } else { p.short_title() };
        spans.push(Span::styled(format!("  {} {title}", i + 1), st));
    }
    let c = |st: EntryState| s.totals.get(&st).copied().unwrap_or(0);
    spans.push(Span::raw("   "));
    spans.push(Span::styled(
        format!("pending {} ", thousands(c(EntryState::Pending))),
        t.state(EntryState::Pending),
    ));
    spans.push(Span::styled(format!("dead {} ", thousands(c(EntryState::Dead))), t.state(EntryState::Dead)));
    spans.push(Span::styled(
        format!("delivered {}", thousands(c(EntryState::Delivered))),
        t.state(EntryState::Delivered),
    ));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn spinner(s: &AppState) -> char {
    SPINNER[(s.ticks % SPINNER.len() as u64) as usize]
}

pub fn status(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let mut spans = Vec::new();
    match &s.genesys {
        GenesysStatus::Demo => spans.push(Span::styled("DEMO — simulated org", t.warn())),
        GenesysStatus::Connected { region } => spans.push(Span::raw(format!("Genesys {region}"))),
        GenesysStatus::Unavailable(why) => {
            spans.push(Span::styled(format!("Genesys unavailable: {why}"), t.error()));
        }
    }
    if let Some(e) = &s.genesys_error {
        spans.push(Span::styled(
            format!(" unreachable ({e}): polling and Genesys replay wait for it"),
            t.error(),
        ));
    }
    if let Some(why) = &s.read_only {
        spans.push(Span::styled(format!(" │ READ-ONLY: {why}"), t.error()));
    }
    // The poll's summary is the one part that can be long: it shows when the rest leaves room
    // for it (the budget, the worker and open breakers always show), else just the time.
    let poll: Vec<Span> = match &s.poll {
        PollState::Never => vec![],
        PollState::Running => vec![Span::raw(format!(" │ polling {}", spinner(s)))],
        PollState::Done { at, summary } => {
            let ago = humanize(s.now - at);
            vec![
                Span::raw(format!(" │ polled {ago} ago: {summary}")),
                Span::raw(format!(" │ polled {ago} ago")),
            ]
        }
        PollState::Failed { at, .. } => {
            vec![Span::styled(format!(" │ poll failed {} ago", humanize(s.now - at)), t.error())]
        }
    };
    let poll_at = spans.len();
    if let Some((left, limit)) = s.budget {
        spans.push(Span::raw(format!(" │ API {left}/{limit} per min")));
    }
    if s.read_only.is_some() {
        spans.push(Span::raw(" │ worker off"));
    } else if s.engine_stopped {
        spans.push(Span::styled(" │ worker stopped", t.error()));
    } else if s.engine_rate >= 0.5 {
        spans.push(Span::raw(format!(" │ worker {:.0}/s", s.engine_rate)));
    } else {
        spans.push(Span::raw(" │ worker idle"));
    }
    let open = s.breakers.values().filter(|b| **b != crate::retry::limiter::BreakerState::Closed).count();
    if open > 0 {
        spans.push(Span::styled(format!(" │ {open} breaker open"), t.error()));
    }
    if s.queue.loading {
        spans.push(Span::raw(format!(" {}", spinner(s))));
    }
    let room = (area.width as usize).saturating_sub(spans.iter().map(Span::width).sum());
    if let Some(p) = poll.into_iter().find(|p| p.width() <= room) {
        spans.insert(poll_at, p);
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(t.dim().patch(ratatui::style::Style::new())),
        area,
    );
}

pub fn message(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    if let Some(j) = &s.job {
        let p = &j.progress;
        let done = p.done();
        let ratio = if p.total == 0 { 0.0 } else { (done as f64 / p.total as f64).clamp(0.0, 1.0) };
        // A job that has stopped moving (the rest waits for the API budget, an open breaker or
        // a target's limit) says so instead of showing a rate and an ETA from before it stopped.
        let stalled = j.stalled(s.now);
        let pace = if stalled && s.budget.is_some_and(|(left, _)| left == 0) {
            "waiting for the API budget".to_string()
        } else if stalled {
            "waiting".to_string()
        } else {
            let eta =
                p.eta_secs.map(|e| format!(" ETA {}", humanize((e * 1000.0) as i64))).unwrap_or_default();
            format!("{:.0}/s{eta}", p.rate)
        };
        let label = format!(
            "{} · {}/{} · ok {} · again {} · dead {} · {pace} · x cancels",
            j.label,
            thousands(done),
            thousands(p.total),
            thousands(p.delivered),
            thousands(p.rescheduled),
            thousands(p.dead),
        );
        let [g] = Layout::horizontal([Constraint::Fill(1)]).areas(area);
        f.render_widget(Gauge::default().gauge_style(t.ok()).ratio(ratio).label(label), g);
        return;
    }
    if let Some(m) = s.messages.back() {
        let st = if m.level == Level::Error { t.error() } else { t.ok() };
        f.render_widget(Paragraph::new(Line::styled(m.text.clone(), st)), area);
    }
}

pub fn hints(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let ctx = s.contexts();
    let key = |a: Action| ctx.iter().find_map(|c| s.keymap.key_for(*c, &a)).unwrap_or_default();
    let items: Vec<(String, &str)> = if s.confirm.is_some() {
        vec![]
    } else if s.detail.is_some() {
        vec![
            (key(Action::Back), "back"),
            (key(Action::Retry), "retry"),
            (key(Action::Edit), "edit"),
            (key(Action::Help), "help"),
        ]
    } else if ctx.contains(&Context::Queue) {
        vec![
            (key(Action::Open), "open"),
            (key(Action::StartFilter), "filter"),
            (key(Action::Mark), "mark"),
            (key(Action::MarkAll), "mark all"),
            (key(Action::Retry), "retry"),
            (key(Action::Discard), "discard"),
            (key(Action::Poll), "poll"),
            (key(Action::Help), "help"),
            (key(Action::Quit), "quit"),
        ]
    } else {
        vec![
            (key(Action::Open), "open"),
            (key(Action::NextPane), "pane"),
            (key(Action::Poll), "poll"),
            (key(Action::Help), "help"),
            (key(Action::Quit), "quit"),
        ]
    };
    // As many hints as fit, always ending with help and quit.
    let items: Vec<_> = items.into_iter().filter(|(k, _)| !k.is_empty()).collect();
    let width =
        |it: &[(String, &str)]| it.iter().map(|(k, w)| k.chars().count() + w.len() + 4).sum::<usize>();
    let (mut head, tail): (Vec<_>, Vec<_>) =
        items.into_iter().partition(|(_, w)| *w != "help" && *w != "quit");
    while !head.is_empty() && width(&head) + width(&tail) > area.width as usize {
        head.pop();
    }
    let mut spans = Vec::new();
    for (k, what) in head.into_iter().chain(tail) {
        spans.push(Span::styled(format!(" {k} "), t.selected()));
        spans.push(Span::styled(format!(" {what} "), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
