//! The three lists: webhooks, failed deliveries, and the dead letter queue (virtualised: only
//! the rows on screen are built).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, HighlightSpacing, Paragraph, Row as TRow, Table, TableState};

use super::theme::Theme;
use crate::app::state::{AppState, Marks, Pane, thousands};
use crate::retry::limiter::BreakerState;
use crate::store::{EntryState, WebhookSummary};
use crate::time::{Millis, format_ms, humanize};
use crate::worker::service::Row;

fn block<'a>(s: &AppState, t: &Theme, pane: Pane, extra: String) -> Block<'a> {
    let n = match pane {
        Pane::Webhooks => 1,
        Pane::Failures => 2,
        Pane::Queue => 3,
    };
    let focused = s.focus == pane && s.detail.is_none();
    Block::bordered().border_style(t.border(focused)).title(Line::from(vec![
        Span::styled(format!(" {n} {} ", pane.title()), t.border(focused)),
        Span::raw(extra),
    ]))
}

/// A list with the selected row marked `▶` (and reversed when the list has the focus).
fn list_table<'a>(
    rows: impl IntoIterator<Item = TRow<'a>>,
    widths: impl IntoIterator<Item = Constraint>,
    header: TRow<'a>,
    blk: Block<'a>,
    focused: bool,
    t: &Theme,
) -> Table<'a> {
    Table::new(rows, widths)
        .header(header)
        .block(blk)
        .row_highlight_style(if focused { t.selected() } else { ratatui::style::Style::new() })
        .highlight_symbol(if focused { "▶" } else { " " })
        .highlight_spacing(HighlightSpacing::Always)
}

/// `▁▂▃▅▇` from counts, scaled to the largest.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values.iter().map(|&v| if v == 0 { ' ' } else { BARS[((v * 7).div_ceil(max.max(1))) as usize] }).collect()
}

fn host(url: Option<&str>) -> String {
    let Some(u) = url else { return "—".into() };
    let rest = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
    rest.split(['/', '?', '#']).next().unwrap_or(rest).to_string()
}

fn health(s: &AppState, t: &Theme, w: &WebhookSummary) -> Span<'static> {
    if w.paused {
        return Span::styled("paused", t.error());
    }
    let h = host(w.url.as_deref());
    match s.breakers.get(&w.id).or_else(|| s.breakers.get(&h)) {
        Some(BreakerState::Open) => Span::styled("breaker open", t.error()),
        Some(BreakerState::HalfOpen) => Span::styled("probing", t.warn()),
        _ => Span::styled("ok", t.ok()),
    }
}

fn count(w: &WebhookSummary, st: EntryState) -> String {
    thousands(w.by_state.get(&st).copied().unwrap_or(0))
}

pub fn webhooks(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let blk = block(s, t, Pane::Webhooks, format!("{} ", s.webhooks.len()));
    if s.webhooks.is_empty() {
        let msg = if s.loaded {
            "No webhooks yet. Press p to poll Genesys, or import entries (redrive import FILE)."
        } else {
            "Loading…"
        };
        f.render_widget(Paragraph::new(msg).style(t.dim()).block(blk), area);
        return;
    }
    // Columns by width: everything from 140, no method from 100, the essentials below.
    let level = match area.width {
        140.. => 2,
        100.. => 1,
        _ => 0,
    };
    let header: Vec<&str> = match level {
        2 => vec!["Name", "Method", "Host", "Pending", "Dead", "Delivered", "Last", "Failures 24h", "State"],
        1 => vec!["Name", "Host", "Pending", "Dead", "Delivered", "Last", "Failures 24h", "State"],
        _ => vec!["Name", "Pending", "Dead", "Last", "24h", "State"],
    };
    let header = TRow::new(header).style(t.header());
    let rows = s.webhooks.iter().map(|w| {
        let last = w.last_status.map(|c| c.to_string()).unwrap_or_else(|| "—".into());
        let spark = sparkline(&w.histogram);
        let spark = if level > 0 { spark } else { spark.chars().skip(12).collect() };
        let mut cells: Vec<Cell> = vec![Cell::from(w.name.clone())];
        if level == 2 {
            cells.push(Cell::from(w.method.clone().unwrap_or_else(|| "—".into())));
        }
        if level >= 1 {
            cells.push(Cell::from(host(w.url.as_deref())));
        }
        cells.push(Cell::from(count(w, EntryState::Pending)));
        cells.push(Cell::from(count(w, EntryState::Dead)).style(t.state(EntryState::Dead)));
        if level >= 1 {
            cells.push(Cell::from(count(w, EntryState::Delivered)).style(t.state(EntryState::Delivered)));
        }
        cells.push(Cell::from(last).style(t.status(w.last_status)));
        cells.push(Cell::from(spark).style(t.warn()));
        cells.push(Cell::from(health(s, t, w)));
        TRow::new(cells)
    });
    let mut widths: Vec<Constraint> = vec![Constraint::Fill(3)];
    if level == 2 {
        widths.push(Constraint::Length(6));
    }
    if level >= 1 {
        widths.push(Constraint::Fill(2));
    }
    widths.extend([Constraint::Length(7), Constraint::Length(6)]);
    if level >= 1 {
        widths.push(Constraint::Length(9));
    }
    widths.extend([
        Constraint::Length(4),
        Constraint::Length(if level > 0 { 24 } else { 12 }),
        Constraint::Length(12),
    ]);
    let table = list_table(rows, widths, header, blk, s.focus == Pane::Webhooks && s.detail.is_none(), t);
    let mut state = TableState::default().with_selected(Some(s.webhook_sel));
    f.render_stateful_widget(table, area, &mut state);
}

fn age(now: Millis, at: Millis) -> String {
    if now == 0 { format_ms(at)[11..19].to_string() } else { format!("{} ago", humanize(now - at)) }
}

fn in_dlq(r: &Row) -> &'static str {
    match r.state {
        EntryState::Pending | EntryState::Dead | EntryState::InFlight => "yes",
        EntryState::Delivered => "delivered",
        EntryState::Discarded => "discarded",
    }
}

pub fn failures(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let name = s.failures_for.as_deref().map(|id| s.webhook_name(id).to_string()).unwrap_or_default();
    let blk = block(s, t, Pane::Failures, if name.is_empty() { String::new() } else { format!("{name} ") });
    if s.failures.is_empty() {
        let msg = if s.failures_for.is_none() {
            "Select a webhook."
        } else {
            "No failures stored for this webhook."
        };
        f.render_widget(Paragraph::new(msg).style(t.dim()).block(blk), area);
        return;
    }
    let header = TRow::new(vec!["When", "Status", "Error", "Payload", "In DLQ"]).style(t.header());
    let rows = s.failures.iter().map(|r| {
        TRow::new(vec![
            Cell::from(age(s.now, r.failed_at)),
            Cell::from(r.failure_status.map(|c| c.to_string()).unwrap_or_else(|| "—".into()))
                .style(t.status(r.failure_status)),
            Cell::from(r.error.clone()),
            Cell::from(if r.replayable { "yes" } else { "lost" }),
            Cell::from(in_dlq(r)).style(t.state(r.state)),
        ])
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(9),
    ];
    let focused = s.focus == Pane::Failures;
    let table = list_table(rows, widths, header, blk, focused, t);
    let mut state = TableState::default().with_selected(Some(s.failure_sel));
    f.render_stateful_widget(table, area, &mut state);
}

fn next_text(now: Millis, r: &Row) -> String {
    match (r.state, r.next_attempt_at) {
        (EntryState::Pending, None) => "held".into(),
        (EntryState::Pending, Some(t)) if now == 0 || t <= now => "now".into(),
        (EntryState::Pending, Some(t)) => format!("in {}", humanize(t - now)),
        (EntryState::InFlight, _) => "sending".into(),
        _ => "—".into(),
    }
}

pub fn queue(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let q = &s.queue;
    let total = q.total.map(thousands).unwrap_or_else(|| "…".into());
    let filter = if q.filter.is_empty() { String::new() } else { format!("[{}] ", q.filter_text) };
    let marks = match &s.marks {
        Marks::AllMatching => format!("· all {total} marked "),
        Marks::Ids(ids) if !ids.is_empty() => format!("· {} marked ", thousands(ids.len() as u64)),
        Marks::Ids(_) => String::new(),
    };
    let pos = if q.total.unwrap_or(0) > 0 {
        format!("{}/{total} ", thousands(q.selected + 1))
    } else {
        format!("{total} ")
    };
    let blk = block(s, t, Pane::Queue, format!("{pos}{filter}{marks}"));
    if q.total == Some(0) {
        let msg = if q.filter.is_empty() {
            "The queue is empty. Failed deliveries appear here after a poll (p)."
        } else {
            "Nothing matches the filter (esc clears it)."
        };
        f.render_widget(Paragraph::new(msg).style(t.dim()).block(blk), area);
        return;
    }
    let h = area.height.saturating_sub(3) as u64;
    let header =
        TRow::new(vec!["", "Id", "Webhook", "State", "Att", "Next", "Status", "Error"]).style(t.header());
    let end = (q.top + h).min(q.total.unwrap_or(0));
    let rows = (q.top..end).map(|i| match q.row(i) {
        Some(r) => TRow::new(vec![
            Cell::from(if s.is_marked(r.id) { "●" } else { " " }).style(t.mark()),
            Cell::from(r.id.to_string()),
            Cell::from(s.webhook_name(&r.webhook_id).to_string()),
            Cell::from(r.state.as_str()).style(t.state(r.state)),
            Cell::from(r.attempts.to_string()),
            Cell::from(next_text(s.now, r)),
            Cell::from(r.status.map(|c| c.to_string()).unwrap_or_else(|| "—".into()))
                .style(t.status(r.status)),
            Cell::from(r.last_error.clone().unwrap_or_else(|| r.error.clone())),
        ]),
        None => TRow::new(vec![Cell::from(""), Cell::from("…").style(t.dim())]),
    });
    let widths = [
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Fill(2),
    ];
    let focused = s.focus == Pane::Queue && s.detail.is_none();
    let table = list_table(rows, widths, header, blk, focused, t);
    let mut state = TableState::default().with_selected(Some((q.selected.saturating_sub(q.top)) as usize));
    f.render_stateful_widget(table, area, &mut state);
}
