//! The console's loop: worker events, terminal input and a clock tick in, the reducer in the
//! middle, commands out to the worker, and a redraw once the queue of events is drained.
//! Input is any `Stream` of crossterm events and the terminal any ratatui backend, so tests
//! drive the real loop with scripted keys on a `TestBackend`.

use std::io;
use std::path::Path;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use crate::app::{Action, AppState, Command, Key};
use crate::time::now_ms;
use crate::worker::service::{self, WorkerEvent};

/// How often the clock ticks (spinners, message expiry, relative times).
pub const TICK: Duration = Duration::from_millis(250);

/// What the loop needs from the world besides the terminal: a way to run the operator's editor
/// (the real console hands the terminal over; tests answer directly).
pub trait Host<B: Backend> {
    /// Open `path` in an editor; `Ok(true)` when it was saved with changes.
    fn edit(&mut self, terminal: &mut Terminal<B>, path: &Path) -> io::Result<bool>;
    /// Input events (made again after the editor has had the terminal).
    fn input(&mut self) -> std::pin::Pin<Box<dyn Stream<Item = io::Result<TermEvent>> + Send>>;
    fn now(&mut self) -> crate::time::Millis {
        now_ms()
    }
}

/// Run until the operator quits or input ends.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    commands: &mpsc::Sender<service::Command>,
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    host: &mut impl Host<B>,
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    let size = terminal.size().map_err(Into::into)?;
    state.update(Action::Tick(host.now()));
    let mut pending = state.update(Action::Resize { width: size.width, height: size.height });
    pending.extend(state.start());
    let mut input = host.input();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        for c in pending.drain(..) {
            match c {
                Command::Worker(c) => send(commands, c).await,
                Command::Editor { id, path } => {
                    drop(input);
                    let changed = host.edit(terminal, &path);
                    input = host.input();
                    terminal.clear().map_err(Into::into)?;
                    match changed {
                        Ok(changed) => {
                            let more = state.update(Action::Edited { id, path, changed });
                            for c in more {
                                if let Command::Worker(c) = c {
                                    send(commands, c).await;
                                }
                            }
                        }
                        Err(e) => {
                            state.update(WorkerEvent::Error(format!("editor: {e}")).into());
                        }
                    }
                }
            }
        }
        if state.quit {
            return Ok(());
        }
        terminal.draw(|f| crate::ui::draw(f, state)).map_err(Into::into)?;
        tokio::select! {
            biased;
            ev = events.recv() => {
                let Some(ev) = ev else {
                    state.update(WorkerEvent::Error("the worker stopped".into()).into());
                    continue;
                };
                pending.extend(state.update(ev.into()));
                // Take everything already waiting before drawing again.
                for _ in 0..10_000 {
                    match events.try_recv() {
                        Ok(ev) => pending.extend(state.update(ev.into())),
                        Err(_) => break,
                    }
                }
            }
            inp = input.next() => match inp {
                None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    pending.extend(state.key(Key::from_event(&k)));
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    terminal.autoresize().map_err(Into::into)?;
                    pending.extend(state.update(Action::Resize { width, height }));
                }
                Some(Ok(_)) => {}
            },
            _ = tick.tick() => {
                pending.extend(state.update(Action::Tick(host.now())));
            }
        }
    }
}

/// Queries the screen can ask again are dropped when the worker is busy; changes wait.
async fn send(commands: &mpsc::Sender<service::Command>, c: service::Command) {
    use service::Command as C;
    match c {
        C::Refresh | C::Page { .. } | C::Failures { .. } | C::Detail { .. } => {
            let _ = commands.try_send(c);
        }
        c => {
            let _ = commands.send(c).await;
        }
    }
}
