//! One entry in full: what failed, the payload, the headers a replay sends (secrets masked),
//! the attempts, and the raw execution data.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::state::AppState;
use crate::time::format_ms;
use crate::worker::service::Detail;

fn lines<'a>(s: &AppState, t: &Theme, d: &'a Detail) -> Vec<Line<'a>> {
    let r = &d.row;
    let kv = |k: &'static str, v: String| {
        Line::from(vec![Span::styled(format!("{k:<14}"), t.header()), Span::raw(v)])
    };
    let mut out = vec![
        kv("Webhook", format!("{} ({})", s.webhook_name(&r.webhook_id), r.webhook_id)),
        Line::from(vec![
            Span::styled(format!("{:<14}", "State"), t.header()),
            Span::styled(r.state.as_str(), t.state(r.state)),
            Span::raw(format!(
                "   attempts {}   status {}",
                r.attempts,
                r.status.map(|c| c.to_string()).unwrap_or_else(|| "—".into())
            )),
        ]),
        kv("Failed at", format_ms(r.failed_at)),
        kv("Source", format!("{} {}", r.source_kind, d.source_id)),
        kv("Error", if r.error.is_empty() { "—".into() } else { r.error.clone() }),
        kv(
            "Payload",
            format!(
                "{} bytes, {}{}",
                d.payload_size,
                d.content_type.as_deref().unwrap_or("no content type"),
                d.payload_note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default()
            ),
        ),
        Line::raw(""),
        Line::styled("── Payload ──", t.header()),
    ];
    out.extend(d.payload.lines().map(Line::raw));
    out.push(Line::raw(""));
    out.push(Line::styled("── Headers a replay sends ──", t.header()));
    for (k, v) in &d.headers {
        out.push(Line::from(vec![Span::styled(format!("{k}: "), t.dim()), Span::raw(v.as_str())]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled(format!("── Attempts ({}) ──", d.attempts.len()), t.header()));
    if d.attempts.is_empty() {
        out.push(Line::styled("none yet", t.dim()));
    }
    for a in &d.attempts {
        out.push(Line::from(vec![
            Span::raw(format!("#{:<3} {}  {:>5} ms  ", a.attempt, format_ms(a.started_at), a.duration_ms)),
            Span::styled(
                a.status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
                t.status(a.status_code),
            ),
            Span::raw(format!("  {}", a.class.as_str())),
            Span::styled(a.error.as_deref().map(|e| format!("  {e}")).unwrap_or_default(), t.dim()),
        ]));
        if let Some(snip) = &a.response_snippet
            && !snip.is_empty()
        {
            out.push(Line::styled(format!("      {snip}"), t.dim()));
        }
    }
    if let Some(x) = &d.execution_data {
        out.push(Line::raw(""));
        out.push(Line::styled("── Execution data (from Genesys) ──", t.header()));
        out.extend(x.lines().map(Line::raw));
    }
    out
}

/// Lines in the detail view before wrapping (for scroll limits).
pub fn line_count(d: &Detail) -> usize {
    12 + d.payload.lines().count()
        + d.headers.len()
        + d.attempts.len() * 2
        + d.execution_data.as_ref().map(|x| x.lines().count() + 2).unwrap_or(0)
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(v) = &s.detail else { return };
    let blk = Block::bordered()
        .border_style(t.border(true))
        .title(format!(" Entry #{} ", v.id))
        .title_bottom(" esc back · j/k scroll · r retry · e edit · y save payload ");
    match &v.data {
        None => f.render_widget(Paragraph::new("Loading…").style(t.dim()).block(blk), area),
        Some(d) => f.render_widget(
            Paragraph::new(lines(s, t, d)).block(blk).wrap(Wrap { trim: false }).scroll((v.scroll, 0)),
            area,
        ),
    }
}
