//! Colours and emphasis, with everything colour-free under `NO_COLOR` (emphasis stays).

use ratatui::style::{Color, Modifier, Style};

use crate::store::EntryState;

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub mono: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.mono { Style::new() } else { Style::new().fg(c) }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused { self.fg(Color::Cyan).add_modifier(Modifier::BOLD) } else { self.fg(Color::DarkGray) }
    }

    pub fn header(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn dim(&self) -> Style {
        if self.mono { Style::new() } else { Style::new().fg(Color::DarkGray) }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn mark(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    pub fn state(&self, s: EntryState) -> Style {
        match s {
            EntryState::Pending => self.fg(Color::Yellow),
            EntryState::InFlight => self.fg(Color::Cyan),
            EntryState::Delivered => self.fg(Color::Green),
            EntryState::Dead => self.fg(Color::Red),
            EntryState::Discarded => self.dim(),
        }
    }

    pub fn status(&self, code: Option<u16>) -> Style {
        match code {
            Some(200..=299) => self.ok(),
            Some(429) | Some(500..=599) => self.fg(Color::Red),
            Some(400..=499) => self.fg(Color::Magenta),
            _ => self.dim(),
        }
    }
}
