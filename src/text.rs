//! Untrusted text (payloads, response bodies, names from the API) made safe to print.
//!
//! ratatui and a plain terminal both pass escape sequences straight through, so every string
//! that comes from outside goes through [`sanitize`] once, at the boundary where it is shown.

use std::borrow::Cow;

/// True for characters that must never reach a terminal: C0 controls (except none), DEL, C1
/// controls (0x80–0x9f, including the 8-bit CSI 0x9b), and the Unicode bidi overrides and
/// isolates that can reorder what an operator reads.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}'
        )
}

/// One line of untrusted text, safe to draw: tabs and newlines become spaces, every other
/// control or bidi character becomes `�` so that its presence stays visible.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => ' ',
                c if is_unsafe(c) => '\u{fffd}',
                c => c,
            })
            .collect(),
    )
}

/// Multi-line untrusted text (a pretty-printed payload): like [`sanitize`] but keeps `\n`,
/// and expands tabs to four spaces.
pub fn sanitize_multiline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            '\r' => {}
            c if is_unsafe(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A payload for reading: pretty-printed when it is JSON, lossy UTF-8 otherwise, sanitised.
pub fn pretty_payload(p: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(p) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(p).into_owned(),
    };
    sanitize_multiline(&text)
}

/// Cut `s` to at most `max` characters, ending with `…` when it was cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_c1_and_bidi() {
        let evil = "a\x1b]52;c;ZXZpbA==\x07b\x1b[2Jc\x1bd\u{9b}31me\u{202e}f\u{2066}g\x7f";
        let clean = sanitize(evil);
        assert!(!clean.chars().any(is_unsafe), "{clean:?}");
        assert!(!clean.contains('\x1b'));
        assert!(clean.starts_with('a') && clean.contains('g'));
        let multi = sanitize_multiline("x\n\x1b[31my\tz");
        assert_eq!(multi, "x\n\u{fffd}[31my    z");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize("plain ✓ text"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncate_marks_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
