//! Drawing, from `&AppState` only: no I/O, no state changes. Every frame ends with a scrub of
//! the buffer, so no escape or control character can reach the terminal whatever a string held
//! (outside text is also sanitised where it enters, in the worker).

pub mod detail;
pub mod dialogs;
pub mod layout;
pub mod panes;
pub mod status;
pub mod theme;

use ratatui::Frame;
use ratatui::buffer::Buffer;

use crate::app::state::{AppState, Pane};
use theme::Theme;

pub fn draw(f: &mut Frame, s: &AppState) {
    let t = Theme { mono: s.monochrome };
    let area = f.area();
    let a = layout::areas(area, s.focus == Pane::Failures);
    status::header(f, a.header, s, &t);
    if s.detail.is_some() {
        detail::draw(f, a.body, s, &t);
    } else {
        panes::webhooks(f, a.webhooks, s, &t);
        if !a.failures.is_empty() {
            panes::failures(f, a.failures, s, &t);
        }
        if !a.queue.is_empty() {
            panes::queue(f, a.queue, s, &t);
        }
    }
    status::status(f, a.status, s, &t);
    status::message(f, a.message, s, &t);
    if s.input.is_some() {
        dialogs::filter_prompt(f, a.hints, s, &t);
    } else {
        status::hints(f, a.hints, s, &t);
    }
    if s.help {
        dialogs::help(f, a.body, s, &t);
    }
    dialogs::confirm(f, area, s, &t);
    scrub(f.buffer_mut());
}

/// Replace any cell holding an escape, control or bidi character with `�`.
pub fn scrub(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(crate::text::is_unsafe) {
            cell.set_symbol("\u{fffd}");
        }
    }
}
