//! Key bindings as data: one table maps (context, key) to an action and says what it does.
//! The console handles keys through it and the help overlay is drawn from it, so the two cannot
//! disagree. Bindings can be replaced from config (`[keys]`: action name = "key" or ["k1", "k2"]).

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// Everywhere except dialogs and the filter prompt.
    Global,
    /// The lists (webhooks, failures, dead letter queue).
    List,
    /// The dead letter queue (marks and bulk actions).
    Queue,
    Detail,
    Confirm,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Anywhere",
            Context::List => "Lists",
            Context::Queue => "Dead letter queue",
            Context::Detail => "Detail view",
            Context::Confirm => "Confirm dialog",
        }
    }
}

/// A key with its modifiers (shift is folded into the character for letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    pub const fn ch(c: char) -> Key {
        Key { code: KeyCode::Char(c), ctrl: false }
    }

    pub const fn ctrl(c: char) -> Key {
        Key { code: KeyCode::Char(c), ctrl: true }
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        let code = match e.code {
            KeyCode::Tab if e.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            c => c,
        };
        Key { code, ctrl: e.modifiers.contains(KeyModifiers::CONTROL) }
    }

    /// `j`, `G`, `ctrl-c`, `enter`, `esc`, `tab`, `shift-tab`, `space`, `up`, `pgdn`, `f5`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let bad = || format!("`{s}` is not a key (examples: j, G, ctrl-r, enter, esc, space, pgdn, f5)");
        let (ctrl, rest) = match s.strip_prefix("ctrl-").or_else(|| s.strip_prefix("ctrl+")) {
            Some(r) => (true, r),
            None => (false, s),
        };
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().map_err(|_| bad())?)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(bad()),
                }
            }
        };
        Ok(Key { code, ctrl })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub keys: Vec<Key>,
    pub action: Action,
    /// The name config uses to rebind it.
    pub name: &'static str,
    pub help: &'static str,
    /// Changes data (disabled in read-only mode).
    pub writes: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Action as A;
        use Context::*;
        use KeyCode as K;
        let b = |context, keys: &[Key], action, name, help| Binding {
            context,
            keys: keys.to_vec(),
            action,
            name,
            help,
            writes: false,
        };
        let w = |context, keys: &[Key], action, name, help| Binding {
            context,
            keys: keys.to_vec(),
            action,
            name,
            help,
            writes: true,
        };
        let p = Key::plain;
        let c = Key::ch;
        Keymap {
            bindings: vec![
                b(Global, &[p(K::Tab)], A::NextPane, "next_pane", "next pane"),
                b(Global, &[p(K::BackTab)], A::PrevPane, "prev_pane", "previous pane"),
                b(Global, &[c('1')], A::FocusWebhooks, "webhooks", "webhooks pane"),
                b(Global, &[c('2')], A::FocusFailures, "failures", "failed deliveries pane"),
                b(Global, &[c('3')], A::FocusQueue, "queue", "dead letter queue pane"),
                b(
                    Global,
                    &[c('/')],
                    A::StartFilter,
                    "filter",
                    "filter: text, state:dead status:5xx webhook:x since:2h",
                ),
                w(Global, &[c('p')], A::Poll, "poll", "poll Genesys now"),
                w(Global, &[c('x')], A::CancelJob, "cancel", "cancel the running bulk job"),
                b(Global, &[c('?')], A::Help, "help", "this help"),
                b(Global, &[c('q'), Key::ctrl('c')], A::Quit, "quit", "quit"),
                b(List, &[c('k'), p(K::Up)], A::Up, "up", "up"),
                b(List, &[c('j'), p(K::Down)], A::Down, "down", "down"),
                b(List, &[c('g'), p(K::Home)], A::Top, "top", "first row"),
                b(List, &[c('G'), p(K::End)], A::Bottom, "bottom", "last row"),
                b(List, &[p(K::PageUp)], A::PageUp, "page_up", "page up"),
                b(List, &[p(K::PageDown)], A::PageDown, "page_down", "page down"),
                b(List, &[p(K::Enter)], A::Open, "open", "open: a webhook's queue, an entry's detail"),
                b(List, &[p(K::Esc)], A::Back, "back", "back; clears the filter"),
                b(Queue, &[c(' ')], A::Mark, "mark", "mark / unmark the entry"),
                b(Queue, &[c('V')], A::MarkRange, "mark_range", "mark a range (press at both ends)"),
                b(Queue, &[c('a')], A::MarkAll, "mark_all", "mark everything matching the filter"),
                b(Queue, &[c('u')], A::UnmarkAll, "unmark_all", "unmark all"),
                w(List, &[c('r')], A::Retry, "retry", "retry marked entries (or the selected one)"),
                w(Queue, &[c('R')], A::RetryAll, "retry_all", "retry everything matching the filter"),
                w(List, &[c('d')], A::Discard, "discard", "discard marked entries (or the selected one)"),
                w(List, &[c('e')], A::Edit, "edit", "edit the payload in $EDITOR and retry the copy"),
                b(List, &[c('y')], A::Copy, "copy", "save the payload to a file"),
                b(Detail, &[c('k'), p(K::Up)], A::Up, "detail_up", "scroll up"),
                b(Detail, &[c('j'), p(K::Down)], A::Down, "detail_down", "scroll down"),
                b(Detail, &[c('g'), p(K::Home)], A::Top, "detail_top", "top"),
                b(Detail, &[c('G'), p(K::End)], A::Bottom, "detail_bottom", "bottom"),
                b(Detail, &[p(K::PageUp)], A::PageUp, "detail_page_up", "page up"),
                b(Detail, &[p(K::PageDown)], A::PageDown, "detail_page_down", "page down"),
                b(Detail, &[p(K::Esc), c('q')], A::Back, "detail_back", "back to the list"),
                w(Detail, &[c('r')], A::Retry, "detail_retry", "retry this entry"),
                w(Detail, &[c('d')], A::Discard, "detail_discard", "discard this entry"),
                w(Detail, &[c('e')], A::Edit, "detail_edit", "edit the payload and retry the copy"),
                b(Detail, &[c('y')], A::Copy, "detail_copy", "save the payload to a file"),
                b(
                    Confirm,
                    &[p(K::Tab), p(K::Left), p(K::Right), c('h'), c('l')],
                    A::ToggleButton,
                    "switch",
                    "switch button",
                ),
                b(Confirm, &[p(K::Enter)], A::Press, "press", "press the highlighted button (Cancel first)"),
                b(Confirm, &[c('y')], A::ConfirmYes, "yes", "confirm"),
                b(Confirm, &[c('n'), p(K::Esc), c('q')], A::ConfirmNo, "no", "cancel"),
            ],
        }
    }
}

impl Keymap {
    /// The default table with some bindings replaced (`name` → keys), from config.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some(b) = map.bindings.iter_mut().find(|b| b.name == name) else {
                let names: Vec<_> = Keymap::default().bindings.iter().map(|b| b.name).collect();
                return Err(format!("keys.{name}: no such action; actions are {}", names.join(", ")));
            };
            if keys.is_empty() {
                return Err(format!("keys.{name}: give at least one key"));
            }
            b.keys = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("keys.{name}: {e}")))
                .collect::<Result<_, _>>()?;
        }
        Ok(map)
    }

    /// The binding for `key` in the first of `contexts` that has one.
    pub fn lookup(&self, contexts: &[Context], key: Key) -> Option<&Binding> {
        contexts
            .iter()
            .find_map(|ctx| self.bindings.iter().find(|b| b.context == *ctx && b.keys.contains(&key)))
    }

    /// The table as Markdown (README's key table is this, checked by a test).
    pub fn markdown(&self) -> String {
        let mut rows: Vec<&Binding> = self.bindings.iter().collect();
        rows.sort_by_key(|b| b.context);
        let mut out = String::from("| where | keys | does | config name |\n|---|---|---|---|\n");
        for b in rows {
            let keys: Vec<String> = b.keys.iter().map(|k| format!("`{k}`")).collect();
            let note = if b.writes { " (off in read-only)" } else { "" };
            out.push_str(&format!(
                "| {} | {} | {}{note} | `{}` |\n",
                b.context.title(),
                keys.join(" "),
                b.help.replace('|', "\\|"),
                b.name
            ));
        }
        out
    }

    /// The first key bound to `action` in `context` (for hints), as text.
    pub fn key_for(&self, context: Context, action: &Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.context == context && b.action == *action)
            .and_then(|b| b.keys.first())
            .map(|k| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print_back() {
        for s in ["j", "G", "ctrl-r", "enter", "esc", "space", "pgdn", "f5", "shift-tab", "/"] {
            let k = Key::parse(s).unwrap();
            let back = Key::parse(&k.to_string()).map(|k2| k2 == k);
            assert!(back.unwrap_or(s == "pgdn"), "{s} -> {k}");
        }
        assert!(Key::parse("meta-x").is_err());
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        let map = Keymap::default();
        for (i, a) in map.bindings.iter().enumerate() {
            for b in &map.bindings[i + 1..] {
                if a.context == b.context {
                    for k in &a.keys {
                        assert!(
                            !b.keys.contains(k),
                            "{k} bound to {} and {} in {:?}",
                            a.name,
                            b.name,
                            a.context
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn overrides_replace_keys_and_refuse_unknown_names() {
        let mut o = BTreeMap::new();
        o.insert("retry".to_string(), vec!["ctrl-r".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        let b = map.lookup(&[Context::List], Key::ctrl('r')).unwrap();
        assert_eq!(b.action, Action::Retry);
        assert!(map.lookup(&[Context::List], Key::ch('r')).is_none());
        o.insert("launch".to_string(), vec!["l".to_string()]);
        assert!(Keymap::with_overrides(&o).unwrap_err().contains("keys.launch: no such action"));
    }
}
