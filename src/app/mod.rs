//! The console's state: actions, the pure reducer, and the key table. No I/O, no drawing.

pub mod action;
pub mod keymap;
pub mod state;

pub use action::{Action, Command};
pub use keymap::{Context, Key, Keymap};
pub use state::{AppState, Pane};
