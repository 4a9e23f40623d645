//! What can happen to the console: a key's meaning, a tick of the clock, a worker's answer.

use std::path::PathBuf;

use crate::store::EntryId;
use crate::time::Millis;
use crate::worker::service::{self, WorkerEvent};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    NextPane,
    PrevPane,
    FocusWebhooks,
    FocusFailures,
    FocusQueue,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Back,
    StartFilter,
    Mark,
    MarkRange,
    MarkAll,
    UnmarkAll,
    Retry,
    RetryAll,
    Discard,
    CancelJob,
    Edit,
    Poll,
    Copy,
    Help,
    Quit,
    ToggleButton,
    Press,
    ConfirmYes,
    ConfirmNo,
    /// Typing into the filter prompt.
    Input(char),
    InputBackspace,
    InputSubmit,
    InputCancel,
    Resize {
        width: u16,
        height: u16,
    },
    Tick(Millis),
    /// The operator's editor closed; `changed` says whether the file was saved differently.
    Edited {
        id: EntryId,
        path: PathBuf,
        changed: bool,
    },
    /// Anything the worker sends (boxed by value: events are owned data).
    Worker(WorkerEventBox),
}

/// [`WorkerEvent`] compared by identity-free equality, so `Action` stays `Eq` for tests.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerEventBox(pub WorkerEvent);

impl Eq for WorkerEventBox {}

impl From<WorkerEvent> for Action {
    fn from(e: WorkerEvent) -> Action {
        Action::Worker(WorkerEventBox(e))
    }
}

/// What the reducer asks for: work for the worker, or the operator's editor (which only the
/// terminal loop can run, since it must hand the terminal over).
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Worker(service::Command),
    Editor { id: EntryId, path: PathBuf },
}
