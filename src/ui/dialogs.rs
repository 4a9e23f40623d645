//! What floats over the lists: the confirm dialog, the help overlay and the filter prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::keymap::Context;
use crate::app::state::AppState;
use crate::store::QUERY_KEYS;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))]).flex(Flex::Center).areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))]).flex(Flex::Center).areas(r);
    r
}

pub fn confirm(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(c) = &s.confirm else { return };
    let w = 64.min(area.width.saturating_sub(2));
    let h = (c.lines.len() as u16 + 6).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let button = |label: &str, on: bool| {
        let text = format!("[ {label} ]");
        if on { Span::styled(text, t.selected().add_modifier(Modifier::BOLD)) } else { Span::raw(text) }
    };
    let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::raw(l.as_str())).collect();
    lines.push(Line::raw(""));
    lines.push(
        Line::from(vec![
            button("Cancel", !c.yes_selected),
            Span::raw("   "),
            button(&c.yes_label, c.yes_selected),
        ])
        .centered(),
    );
    let blk = Block::bordered()
        .border_style(t.warn())
        .title(format!(" {} ", c.title))
        .title_bottom(" tab switch · enter press · y yes · n/esc no ");
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(blk), r);
}

pub fn help(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let r = centered(area, 78, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let mut lines = Vec::new();
    let mut last: Option<Context> = None;
    let mut bindings: Vec<_> = s.keymap.bindings.iter().collect();
    bindings.sort_by_key(|b| b.context);
    for b in bindings {
        if last != Some(b.context) {
            if last.is_some() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(b.context.title(), t.header()));
            last = Some(b.context);
        }
        let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
        let note = if b.writes && s.read_only.is_some() { "  (disabled: read-only)" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<16}", keys.join(" ")), t.ok()),
            Span::raw(b.help),
            Span::styled(note, t.dim()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(format!("Filter examples: {QUERY_KEYS}; other words search text"), t.dim()));
    let inner = r.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner) as u16;
    let scroll = s.help_scroll.min(max_scroll);
    let more = if max_scroll > 0 { " j/k scroll ·" } else { "" };
    let blk = Block::bordered()
        .border_style(t.border(true))
        .title(" Keys ")
        .title_bottom(format!("{more} any other key closes "));
    f.render_widget(Paragraph::new(lines).block(blk).scroll((scroll, 0)), r);
}

pub fn filter_prompt(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(text) = &s.input else { return };
    let line = Line::from(vec![
        Span::styled("/", t.header()),
        Span::raw(crate::text::sanitize(text).into_owned()),
        Span::styled("█", t.dim()),
        Span::styled("   enter apply · esc cancel · ctrl-u clear", t.dim()),
    ]);
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(line), area);
}
