//! Where each part of the screen goes, as pure functions of the terminal size, so the reducer
//! knows how many rows the dead letter queue shows (it fetches only those and a few screens
//! around them).

use ratatui::layout::{Constraint, Layout, Rect};

/// Wide enough to show the failed deliveries beside the queue.
pub const WIDE: u16 = 120;

pub struct Areas {
    pub header: Rect,
    pub webhooks: Rect,
    /// Empty when the failures pane is not shown.
    pub failures: Rect,
    /// Empty when the queue is not shown.
    pub queue: Rect,
    /// Webhooks and lists together (the detail view covers it).
    pub body: Rect,
    pub status: Rect,
    pub message: Rect,
    pub hints: Rect,
}

pub fn areas(area: Rect, failures_focused: bool) -> Areas {
    let [header, body, status, message, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let hooks_h = (body.height / 3).clamp(6, 10).min(body.height);
    let [webhooks, lists] = Layout::vertical([Constraint::Length(hooks_h), Constraint::Min(0)]).areas(body);
    let (failures, queue) = if area.width >= WIDE {
        let [f, q] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(lists);
        (f, q)
    } else if failures_focused {
        (lists, Rect::default())
    } else {
        (Rect::default(), lists)
    };
    Areas { header, webhooks, failures, queue, body, status, message, hints }
}

/// Rows of entries the queue pane shows at this size (borders and header row taken off).
pub fn queue_rows(width: u16, height: u16) -> usize {
    let a = areas(Rect::new(0, 0, width, height), false);
    a.queue.height.saturating_sub(3) as usize
}
