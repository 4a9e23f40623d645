//! The console's state and its reducer: `update(action) -> commands`, pure (no I/O, no clock:
//! time arrives as `Action::Tick`). Drawing reads this state and nothing else.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::action::{Action, Command, WorkerEventBox};
use super::keymap::{Context, Key, Keymap};
use crate::retry::limiter::BreakerState;
use crate::store::{EntryId, EntryState, Filter, Selection, WebhookSummary};
use crate::time::Millis;
use crate::worker::engine::Progress;
use crate::worker::service::{self, Detail, GenesysStatus, Row, WorkerEvent};

/// How long a message stays on the status line.
pub const MESSAGE_MS: Millis = 6_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Webhooks,
    Failures,
    Queue,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Webhooks, Pane::Failures, Pane::Queue];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Webhooks => "Webhooks",
            Pane::Failures => "Failed deliveries",
            Pane::Queue => "Dead letter queue",
        }
    }

    pub fn short_title(self) -> &'static str {
        match self {
            Pane::Webhooks => "Hooks",
            Pane::Failures => "Failed",
            Pane::Queue => "DLQ",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub level: Level,
    pub text: String,
    pub until: Millis,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PollState {
    #[default]
    Never,
    Running,
    Done {
        at: Millis,
        summary: String,
    },
    Failed {
        at: Millis,
        error: String,
    },
}

/// The marks in the dead letter queue: some ids, or everything the filter matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marks {
    Ids(BTreeSet<EntryId>),
    AllMatching,
}

impl Default for Marks {
    fn default() -> Self {
        Marks::Ids(BTreeSet::new())
    }
}

/// The dead letter queue as a window onto `total` rows: only `rows` (starting at `offset`)
/// are loaded, a few screens around what is visible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Queue {
    pub filter: Filter,
    /// The filter as typed.
    pub filter_text: String,
    pub total: Option<u64>,
    pub offset: u64,
    pub rows: Vec<Row>,
    pub selected: u64,
    pub top: u64,
    /// The sequence number of the page asked for last; older answers are dropped.
    pub seq: u64,
    pub loading: bool,
    pub range_anchor: Option<u64>,
}

impl Queue {
    pub fn row(&self, index: u64) -> Option<&Row> {
        index.checked_sub(self.offset).and_then(|i| self.rows.get(i as usize))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailView {
    pub id: EntryId,
    pub data: Option<Box<Detail>>,
    pub scroll: u16,
}

/// A question before a bulk or destructive action. Cancel is highlighted first.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub yes_label: String,
    pub yes_selected: bool,
    pub on_yes: Vec<Command>,
    /// Marks are cleared once the action is confirmed.
    pub clears_marks: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub label: String,
    pub progress: Progress,
    /// When the job last moved (started, or an entry done): a job still for a while waits.
    pub moved_at: Millis,
}

impl Job {
    /// Nothing done for 1.5 s while entries remain (they wait for the API budget, an open
    /// breaker or a target's limit).
    pub fn stalled(&self, now: Millis) -> bool {
        self.progress.done() < self.progress.total && now - self.moved_at >= 1_500
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppState {
    pub now: Millis,
    pub width: u16,
    pub height: u16,
    pub keymap: Keymap,
    /// Colour off (`NO_COLOR`).
    pub monochrome: bool,
    /// Why nothing may be changed, when so.
    pub read_only: Option<String>,
    pub genesys: GenesysStatus,
    /// Why the last call to Genesys failed, until one works again.
    pub genesys_error: Option<String>,
    pub db_label: String,
    pub focus: Pane,
    pub webhooks: Vec<WebhookSummary>,
    pub webhook_sel: usize,
    pub totals: BTreeMap<EntryState, u64>,
    pub failures_for: Option<String>,
    pub failures: Vec<Row>,
    pub failure_sel: usize,
    pub queue: Queue,
    pub marks: Marks,
    pub detail: Option<DetailView>,
    pub confirm: Option<Confirm>,
    pub help: bool,
    pub help_scroll: u16,
    /// The filter prompt's text while it is open.
    pub input: Option<String>,
    pub poll: PollState,
    pub budget: Option<(usize, usize)>,
    pub engine_rate: f64,
    pub engine_attempts: u64,
    /// The engine died (a bug); the status bar says so until a restart.
    pub engine_stopped: bool,
    pub breakers: BTreeMap<String, BreakerState>,
    pub job: Option<Job>,
    pub messages: VecDeque<Message>,
    /// Waiting for the first overview.
    pub loaded: bool,
    pub ticks: u64,
    pub quit: bool,
}

impl AppState {
    pub fn new(genesys: GenesysStatus, read_only: Option<String>, keymap: Keymap) -> AppState {
        AppState {
            now: 0,
            width: 80,
            height: 24,
            keymap,
            monochrome: false,
            read_only,
            genesys,
            genesys_error: None,
            db_label: String::new(),
            focus: Pane::Queue,
            webhooks: Vec::new(),
            webhook_sel: 0,
            totals: BTreeMap::new(),
            failures_for: None,
            failures: Vec::new(),
            failure_sel: 0,
            queue: Queue::default(),
            marks: Marks::default(),
            detail: None,
            confirm: None,
            help: false,
            help_scroll: 0,
            input: None,
            poll: PollState::Never,
            budget: None,
            engine_rate: 0.0,
            engine_attempts: 0,
            engine_stopped: false,
            breakers: BTreeMap::new(),
            job: None,
            messages: VecDeque::new(),
            loaded: false,
            ticks: 0,
            quit: false,
        }
    }

    /// What the console asks for first.
    pub fn start(&mut self) -> Vec<Command> {
        // The queue first: the first frame needs its rows; the summaries take longer.
        let mut out = self.reload_queue(true);
        out.push(Command::Worker(service::Command::Refresh));
        if matches!(self.genesys, GenesysStatus::Connected { .. } | GenesysStatus::Demo) {
            out.push(Command::Worker(service::Command::SyncWebhooks));
        }
        out
    }

    /// Rows of the dead letter queue on screen.
    pub fn queue_rows(&self) -> usize {
        crate::ui::layout::queue_rows(self.width, self.height)
    }

    pub fn marked_count(&self) -> u64 {
        match &self.marks {
            Marks::Ids(ids) => ids.len() as u64,
            Marks::AllMatching => self.queue.total.unwrap_or(0),
        }
    }

    pub fn is_marked(&self, id: EntryId) -> bool {
        match &self.marks {
            Marks::Ids(ids) => ids.contains(&id),
            Marks::AllMatching => true,
        }
    }

    pub fn selected_webhook(&self) -> Option<&WebhookSummary> {
        self.webhooks.get(self.webhook_sel)
    }

    /// The name to show for a webhook id.
    pub fn webhook_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.webhooks.iter().find(|w| w.id == id).map(|w| w.name.as_str()).unwrap_or(id)
    }

    /// The entry the operator is pointing at, in the focused list or the detail view.
    pub fn current_entry(&self) -> Option<EntryId> {
        if let Some(d) = &self.detail {
            return Some(d.id);
        }
        match self.focus {
            Pane::Queue => self.queue.row(self.queue.selected).map(|r| r.id),
            Pane::Failures => self.failures.get(self.failure_sel).map(|r| r.id),
            Pane::Webhooks => None,
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.push_message(Level::Info, text.into());
    }

    fn error(&mut self, text: impl Into<String>) {
        self.push_message(Level::Error, text.into());
    }

    fn push_message(&mut self, level: Level, text: String) {
        self.messages.push_back(Message { level, text, until: self.now + MESSAGE_MS });
        while self.messages.len() > 3 {
            self.messages.pop_front();
        }
    }

    /// The key contexts in force, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        if self.confirm.is_some() {
            return vec![Context::Confirm];
        }
        if self.detail.is_some() {
            return vec![Context::Detail, Context::Global];
        }
        match self.focus {
            Pane::Queue => vec![Context::Queue, Context::List, Context::Global],
            _ => vec![Context::List, Context::Global],
        }
    }

    /// A key press: through the keymap (or into the filter prompt / help overlay).
    pub fn key(&mut self, key: Key) -> Vec<Command> {
        if self.input.is_some() && self.confirm.is_none() {
            use crossterm::event::KeyCode;
            let action = match key.code {
                KeyCode::Esc => Action::InputCancel,
                KeyCode::Enter => Action::InputSubmit,
                KeyCode::Backspace => Action::InputBackspace,
                KeyCode::Char('c') if key.ctrl => Action::InputCancel,
                KeyCode::Char('u') if key.ctrl => {
                    self.input = Some(String::new());
                    return vec![];
                }
                KeyCode::Char(c) if !key.ctrl => Action::Input(c),
                _ => return vec![],
            };
            return self.update(action);
        }
        if self.help {
            use crossterm::event::KeyCode;
            match key.code {
                KeyCode::Char('j') | KeyCode::Down | KeyCode::PageDown => {
                    self.help_scroll =
                        self.help_scroll.saturating_add(if key.code == KeyCode::PageDown { 10 } else { 1 });
                    return vec![];
                }
                KeyCode::Char('k') | KeyCode::Up | KeyCode::PageUp => {
                    self.help_scroll =
                        self.help_scroll.saturating_sub(if key.code == KeyCode::PageUp { 10 } else { 1 });
                    return vec![];
                }
                _ => {}
            }
            // Any other key closes help; quitting still works from it.
            self.help = false;
            self.help_scroll = 0;
            return match self.keymap.lookup(&[Context::Global], key) {
                Some(b) if b.action == Action::Quit => self.update(Action::Quit),
                _ => vec![],
            };
        }
        let Some(b) = self.keymap.lookup(&self.contexts(), key).cloned() else { return vec![] };
        if b.writes
            && let Some(why) = &self.read_only
        {
            let msg = format!("read-only: `{key}` is disabled ({why})");
            self.error(msg);
            return vec![];
        }
        self.update(b.action)
    }

    pub fn update(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Tick(now) => {
                self.now = now;
                self.ticks += 1;
                self.messages.retain(|m| m.until > now);
                vec![]
            }
            Action::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.clamp_queue();
                self.fetch_if_needed()
            }
            Action::Worker(WorkerEventBox(e)) => self.on_event(e),
            Action::Quit => {
                self.quit = true;
                vec![]
            }
            Action::Help => {
                self.help = true;
                vec![]
            }
            Action::NextPane | Action::PrevPane => {
                let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = Pane::ALL.len();
                let j = if action == Action::NextPane { (i + 1) % n } else { (i + n - 1) % n };
                self.focus_pane(Pane::ALL[j])
            }
            Action::FocusWebhooks => self.focus_pane(Pane::Webhooks),
            Action::FocusFailures => self.focus_pane(Pane::Failures),
            Action::FocusQueue => self.focus_pane(Pane::Queue),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page() as i64)),
            Action::PageDown => self.move_by(self.page() as i64),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::StartFilter => {
                self.detail = None;
                self.focus = Pane::Queue;
                self.input = Some(self.queue.filter_text.clone());
                vec![]
            }
            Action::Input(c) => {
                if let Some(i) = &mut self.input {
                    i.push(c);
                }
                vec![]
            }
            Action::InputBackspace => {
                if let Some(i) = &mut self.input {
                    i.pop();
                }
                vec![]
            }
            Action::InputCancel => {
                self.input = None;
                vec![]
            }
            Action::InputSubmit => {
                let text = self.input.take().unwrap_or_default();
                match Filter::parse_query(&text, self.now) {
                    Ok(f) => self.set_filter(f, text.trim().to_string()),
                    Err(e) => {
                        self.error(format!("filter: {e}"));
                        self.input = Some(text);
                        vec![]
                    }
                }
            }
            Action::Mark => {
                let Some(id) = self.queue.row(self.queue.selected).map(|r| r.id) else { return vec![] };
                match &mut self.marks {
                    Marks::AllMatching => {
                        self.info("everything matching the filter is marked; `u` unmarks all");
                        return vec![];
                    }
                    Marks::Ids(ids) => {
                        if !ids.remove(&id) {
                            ids.insert(id);
                        }
                    }
                }
                self.move_by(1)
            }
            Action::MarkRange => {
                let sel = self.queue.selected;
                match self.queue.range_anchor.take() {
                    None => {
                        self.queue.range_anchor = Some(sel);
                        self.info("range starts here: move, then press V again");
                    }
                    Some(a) => {
                        let (lo, hi) = (a.min(sel), a.max(sel));
                        if let Marks::AllMatching = self.marks {
                            self.marks = Marks::default();
                        }
                        let ids: Vec<EntryId> =
                            (lo..=hi).filter_map(|i| self.queue.row(i).map(|r| r.id)).collect();
                        if let Marks::Ids(set) = &mut self.marks {
                            set.extend(ids.iter().copied());
                        }
                        self.info(format!("marked {} entries", ids.len()));
                    }
                }
                vec![]
            }
            Action::MarkAll => {
                self.marks = Marks::AllMatching;
                let n = self.queue.total.unwrap_or(0);
                self.info(format!("marked all {} entries matching {}", thousands(n), self.filter_label()));
                vec![]
            }
            Action::UnmarkAll => {
                self.marks = Marks::default();
                self.queue.range_anchor = None;
                vec![]
            }
            Action::Retry => self.ask_retry(false),
            Action::RetryAll => self.ask_retry(true),
            Action::Discard => self.ask_discard(),
            Action::CancelJob => {
                if self.job.is_none() {
                    self.info("no bulk job is running");
                    return vec![];
                }
                vec![Command::Worker(service::Command::CancelJob)]
            }
            Action::Poll => match &self.genesys {
                GenesysStatus::Unavailable(why) => {
                    let msg = format!("cannot poll: {why}");
                    self.error(msg);
                    vec![]
                }
                _ => {
                    self.poll = PollState::Running;
                    vec![Command::Worker(service::Command::Poll)]
                }
            },
            Action::Copy => match self.current_entry() {
                Some(id) => vec![Command::Worker(service::Command::SavePayload { id })],
                None => {
                    self.info("select an entry first");
                    vec![]
                }
            },
            Action::Edit => match self.current_entry() {
                Some(id) => vec![Command::Worker(service::Command::PrepareEdit { id })],
                None => {
                    self.info("select an entry first");
                    vec![]
                }
            },
            Action::Edited { id, path, changed } => {
                if !changed {
                    self.info(format!("payload of #{id} unchanged: nothing queued"));
                    let _ = path;
                    return vec![];
                }
                self.confirm = Some(Confirm {
                    title: format!("Retry the edited copy of #{id}?"),
                    lines: vec![
                        "The edited payload is stored as a new entry and retried now.".into(),
                        format!("#{id} itself is kept as it is; the audit log records the edit."),
                    ],
                    yes_label: "Retry copy".into(),
                    yes_selected: false,
                    on_yes: vec![Command::Worker(service::Command::RetryEdited { id, path })],
                    clears_marks: false,
                });
                vec![]
            }
            Action::ToggleButton => {
                if let Some(c) = &mut self.confirm {
                    c.yes_selected = !c.yes_selected;
                }
                vec![]
            }
            Action::Press => match self.confirm.as_ref().map(|c| c.yes_selected) {
                Some(true) => self.update(Action::ConfirmYes),
                Some(false) => self.update(Action::ConfirmNo),
                None => vec![],
            },
            Action::ConfirmYes => {
                let Some(c) = self.confirm.take() else { return vec![] };
                if c.clears_marks {
                    self.marks = Marks::default();
                }
                c.on_yes
            }
            Action::ConfirmNo => {
                self.confirm = None;
                vec![]
            }
        }
    }

    fn filter_label(&self) -> String {
        if self.queue.filter.is_empty() { "(no filter)".into() } else { self.queue.filter_text.clone() }
    }

    fn page(&self) -> usize {
        match (&self.detail, self.focus) {
            (Some(_), _) => (self.height as usize).saturating_sub(6).max(1),
            (None, Pane::Queue) => self.queue_rows().max(1),
            (None, _) => 5,
        }
    }

    fn focus_pane(&mut self, p: Pane) -> Vec<Command> {
        self.detail = None;
        self.focus = p;
        if p == Pane::Failures { self.load_failures() } else { vec![] }
    }

    fn load_failures(&mut self) -> Vec<Command> {
        match self.selected_webhook() {
            Some(w) => {
                let webhook = w.id.clone();
                if self.failures_for.as_deref() != Some(&webhook) {
                    self.failures.clear();
                    self.failure_sel = 0;
                }
                self.failures_for = Some(webhook.clone());
                vec![Command::Worker(service::Command::Failures { webhook })]
            }
            None => vec![],
        }
    }

    fn move_by(&mut self, delta: i64) -> Vec<Command> {
        if let Some(d) = &mut self.detail {
            d.scroll = (d.scroll as i64 + delta).clamp(0, u16::MAX as i64 / 2) as u16;
            if let Some(data) = &d.data {
                let lines = crate::ui::detail::line_count(data) as i64;
                d.scroll = d.scroll.min(lines.saturating_sub(1).max(0) as u16);
            }
            return vec![];
        }
        let step = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (cur as i64 + delta).clamp(0, len as i64 - 1) as usize
        };
        match self.focus {
            Pane::Webhooks => {
                let before = self.webhook_sel;
                self.webhook_sel = step(self.webhook_sel, self.webhooks.len());
                if before != self.webhook_sel && self.failures_for.is_some() {
                    return self.load_failures();
                }
                vec![]
            }
            Pane::Failures => {
                self.failure_sel = step(self.failure_sel, self.failures.len());
                vec![]
            }
            Pane::Queue => {
                let total = self.queue.total.unwrap_or(0);
                if total == 0 {
                    return vec![];
                }
                self.queue.selected = (self.queue.selected as i64 + delta).clamp(0, total as i64 - 1) as u64;
                self.clamp_queue();
                self.fetch_if_needed()
            }
        }
    }

    /// Keep the selection on screen and inside the list.
    fn clamp_queue(&mut self) {
        let total = self.queue.total.unwrap_or(0);
        let h = self.queue_rows().max(1) as u64;
        let q = &mut self.queue;
        q.selected = q.selected.min(total.saturating_sub(1));
        if q.selected < q.top {
            q.top = q.selected;
        }
        if q.selected >= q.top + h {
            q.top = q.selected + 1 - h;
        }
        q.top = q.top.min(total.saturating_sub(h));
    }

    /// Ask for the rows around what is visible when they are not loaded.
    fn fetch_if_needed(&mut self) -> Vec<Command> {
        let Some(total) = self.queue.total else { return vec![] };
        let h = self.queue_rows().max(1) as u64;
        let q = &self.queue;
        let want_end = (q.top + h).min(total);
        let loaded_end = q.offset + q.rows.len() as u64;
        if q.top >= q.offset && want_end <= loaded_end {
            // What is shown is loaded: a page still on its way for another window is not wanted.
            if self.queue.loading {
                self.queue.seq += 1;
                self.queue.loading = false;
            }
            return vec![];
        }
        self.page_command(Some(total))
    }

    fn page_command(&mut self, total: Option<u64>) -> Vec<Command> {
        let h = self.queue_rows().max(1) as u64;
        let q = &mut self.queue;
        q.seq += 1;
        q.loading = true;
        let offset = q.top.saturating_sub(h);
        vec![Command::Worker(service::Command::Page {
            seq: q.seq,
            filter: q.filter.clone(),
            offset,
            limit: (3 * h) as usize,
            total,
        })]
    }

    /// Count again and re-read the visible window (the data or the filter changed).
    fn reload_queue(&mut self, recount: bool) -> Vec<Command> {
        let total = if recount { None } else { self.queue.total };
        self.page_command(total)
    }

    fn set_filter(&mut self, filter: Filter, text: String) -> Vec<Command> {
        self.queue.filter = filter;
        self.queue.filter_text = text;
        self.queue.selected = 0;
        self.queue.top = 0;
        self.queue.offset = 0;
        self.queue.rows.clear();
        self.queue.total = None;
        self.queue.range_anchor = None;
        if self.marks == Marks::AllMatching {
            self.marks = Marks::default();
        }
        self.reload_queue(true)
    }

    fn open(&mut self) -> Vec<Command> {
        match self.focus {
            Pane::Webhooks => {
                let Some(w) = self.selected_webhook() else { return vec![] };
                let id = w.id.clone();
                let text = format!("webhook:{id}");
                self.focus = Pane::Queue;
                self.set_filter(Filter { webhook: Some(id), ..Default::default() }, text)
            }
            Pane::Failures | Pane::Queue => match self.current_entry() {
                Some(id) => {
                    self.detail = Some(DetailView { id, data: None, scroll: 0 });
                    vec![Command::Worker(service::Command::Detail { id })]
                }
                None => vec![],
            },
        }
    }

    fn back(&mut self) -> Vec<Command> {
        if self.detail.take().is_some() {
            return vec![];
        }
        if self.queue.range_anchor.take().is_some() {
            return vec![];
        }
        if self.focus == Pane::Queue && !self.queue.filter.is_empty() {
            return self.set_filter(Filter::default(), String::new());
        }
        vec![]
    }

    /// The selection a retry or discard applies to, with words for the dialog.
    fn target(&self, everything: bool) -> Option<(Selection, u64, String)> {
        if everything {
            let n = self.queue.total?;
            return Some((
                Selection::Filter(self.queue.filter.clone()),
                n,
                format!("filter: {}", self.filter_label()),
            ));
        }
        if self.detail.is_none() && self.focus == Pane::Queue {
            match &self.marks {
                Marks::AllMatching => {
                    let n = self.queue.total?;
                    return Some((
                        Selection::Filter(self.queue.filter.clone()),
                        n,
                        format!("all marked: every entry matching {}", self.filter_label()),
                    ));
                }
                Marks::Ids(ids) if !ids.is_empty() => {
                    return Some((
                        Selection::Ids(ids.iter().copied().collect()),
                        ids.len() as u64,
                        format!("{} marked entries", ids.len()),
                    ));
                }
                Marks::Ids(_) => {}
            }
        }
        let id = self.current_entry()?;
        Some((Selection::Ids(vec![id]), 1, format!("entry #{id}")))
    }

    fn ask_retry(&mut self, everything: bool) -> Vec<Command> {
        let Some((selection, n, what)) = self.target(everything) else {
            self.info("nothing selected to retry");
            return vec![];
        };
        if n == 0 {
            self.info("nothing matches the filter");
            return vec![];
        }
        self.confirm = Some(Confirm {
            title: format!("Retry {} {}?", thousands(n), plural(n, "entry", "entries")),
            lines: vec![
                what,
                "Each is queued now with a fresh retry budget and sent by the worker.".into(),
                "Delivered, in-flight and unrecoverable entries are skipped.".into(),
            ],
            yes_label: "Retry".into(),
            yes_selected: false,
            on_yes: vec![Command::Worker(service::Command::Retry { selection, force: false })],
            clears_marks: true,
        });
        vec![]
    }

    fn ask_discard(&mut self) -> Vec<Command> {
        let Some((selection, n, what)) = self.target(false) else {
            self.info("nothing selected to discard");
            return vec![];
        };
        self.confirm = Some(Confirm {
            title: format!("Discard {} {}?", thousands(n), plural(n, "entry", "entries")),
            lines: vec![
                what,
                "Discarded entries are kept with their history but never retried".into(),
                "unless an operator retries them again.".into(),
            ],
            yes_label: "Discard".into(),
            yes_selected: false,
            on_yes: vec![Command::Worker(service::Command::Discard { selection })],
            clears_marks: true,
        });
        vec![]
    }

    fn on_event(&mut self, e: WorkerEvent) -> Vec<Command> {
        match e {
            WorkerEvent::Overview { webhooks, totals } => {
                let selected = self.selected_webhook().map(|w| w.id.clone());
                self.webhooks = webhooks;
                self.totals = totals;
                self.loaded = true;
                if let Some(id) = selected {
                    self.webhook_sel = self.webhooks.iter().position(|w| w.id == id).unwrap_or(0);
                }
                self.webhook_sel = self.webhook_sel.min(self.webhooks.len().saturating_sub(1));
                if self.failures_for.is_none() && !self.webhooks.is_empty() {
                    return self.load_failures();
                }
                vec![]
            }
            WorkerEvent::Page { seq, offset, rows, total } => {
                if seq != self.queue.seq {
                    return vec![];
                }
                self.queue.loading = false;
                self.queue.total = Some(total);
                self.queue.offset = offset;
                self.queue.rows = rows;
                self.clamp_queue();
                self.fetch_if_needed()
            }
            WorkerEvent::Failures { webhook, rows } => {
                if self.failures_for.as_deref() == Some(&webhook) {
                    self.failures = rows;
                    self.failure_sel = self.failure_sel.min(self.failures.len().saturating_sub(1));
                }
                vec![]
            }
            WorkerEvent::Detail(d) => {
                if let Some(v) = &mut self.detail
                    && v.id == d.row.id
                {
                    v.data = Some(d);
                }
                vec![]
            }
            WorkerEvent::PollStarted => {
                self.poll = PollState::Running;
                vec![]
            }
            WorkerEvent::PollDone { at, summary } => {
                self.info(format!("poll: {summary}"));
                self.poll = PollState::Done { at, summary };
                vec![]
            }
            WorkerEvent::PollFailed { at, error } => {
                self.error(format!("poll failed: {error}"));
                self.poll = PollState::Failed { at, error };
                vec![]
            }
            WorkerEvent::JobStarted { total, label, skipped } => {
                if total == 0 {
                    self.info(format!("nothing to retry ({skipped} skipped)"));
                    self.job = None;
                    return vec![];
                }
                let progress = self.job.take().map(|j| j.progress).unwrap_or_default();
                self.job = Some(Job { label, progress: Progress { total, ..progress }, moved_at: self.now });
                vec![]
            }
            WorkerEvent::JobProgress(p) => {
                if let Some(j) = &mut self.job {
                    if p.done() != j.progress.done() {
                        j.moved_at = self.now;
                    }
                    j.progress = p;
                }
                vec![]
            }
            WorkerEvent::JobDone { progress, cancelled } => {
                self.job = None;
                let p = &progress;
                self.info(format!(
                    "{}: {} delivered, {} rescheduled, {} dead{}",
                    if cancelled { "job cancelled" } else { "job done" },
                    thousands(p.delivered),
                    thousands(p.rescheduled),
                    thousands(p.dead),
                    if p.held > 0 { format!(", {} held (no route)", p.held) } else { String::new() }
                ));
                vec![]
            }
            WorkerEvent::Breaker { target, state } => {
                if state == BreakerState::Closed {
                    self.breakers.remove(&target);
                } else {
                    self.breakers.insert(target, state);
                }
                vec![]
            }
            WorkerEvent::Engine { rate, attempts } => {
                self.engine_rate = rate;
                self.engine_attempts = attempts;
                vec![]
            }
            WorkerEvent::GenesysHealth(e) => {
                self.genesys_error = e;
                vec![]
            }
            WorkerEvent::EngineStopped(why) => {
                self.engine_stopped = true;
                self.engine_rate = 0.0;
                self.error(why);
                vec![]
            }
            WorkerEvent::Budget { remaining, limit } => {
                self.budget = Some((remaining, limit));
                vec![]
            }
            WorkerEvent::Changed => {
                let mut out = vec![Command::Worker(service::Command::Refresh)];
                out.extend(self.reload_queue(true));
                if let Some(w) = &self.failures_for {
                    out.push(Command::Worker(service::Command::Failures { webhook: w.clone() }));
                }
                if let Some(d) = &self.detail {
                    out.push(Command::Worker(service::Command::Detail { id: d.id }));
                }
                out
            }
            WorkerEvent::EditReady { id, path } => vec![Command::Editor { id, path }],
            WorkerEvent::Info(t) => {
                self.info(t);
                vec![]
            }
            WorkerEvent::Error(t) => {
                self.error(t);
                vec![]
            }
        }
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
