//! The reducer, action by action: the state each leaves and the commands each returns.

mod console;

use console::*;
use crossterm::event::KeyCode;
use redrive::app::state::{MESSAGE_MS, Marks, PollState};
use redrive::app::{Action, AppState, Command, Key, Pane};
use redrive::store::{EntryState, Filter, Selection};
use redrive::worker::engine::Progress;
use redrive::worker::service::{self, GenesysStatus, WorkerEvent};

fn worker(cmds: &[Command]) -> Vec<&service::Command> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Worker(w) => Some(w),
            _ => None,
        })
        .collect()
}

fn page_of(cmds: &[Command]) -> Option<(u64, Filter, u64, usize)> {
    worker(cmds).into_iter().find_map(|c| match c {
        service::Command::Page { seq, filter, offset, limit, .. } => {
            Some((*seq, filter.clone(), *offset, *limit))
        }
        _ => None,
    })
}

fn s80() -> AppState {
    loaded(80, 24)
}

#[test]
fn start_asks_for_the_overview_a_counted_page_and_the_org_webhooks() {
    let mut s = sized(state(GenesysStatus::Demo), 80, 24);
    let cmds = s.start();
    let w = worker(&cmds);
    assert!(matches!(w[0], service::Command::Page { offset: 0, total: None, .. }));
    assert_eq!(w[1], &service::Command::Refresh);
    assert_eq!(w[2], &service::Command::SyncWebhooks);
    // Offline: no webhook sync.
    let mut s = sized(state(GenesysStatus::Unavailable("no credentials".into())), 80, 24);
    assert!(!worker(&s.start()).contains(&&service::Command::SyncWebhooks));
}

#[test]
fn panes_cycle_and_focus_by_number() {
    let mut s = s80();
    assert_eq!(s.focus, Pane::Queue);
    assert!(s.update(Action::NextPane).is_empty());
    assert_eq!(s.focus, Pane::Webhooks);
    let cmds = s.update(Action::NextPane);
    assert_eq!(s.focus, Pane::Failures);
    assert!(matches!(worker(&cmds)[0], service::Command::Failures { webhook } if webhook == "action-1"));
    s.update(Action::PrevPane);
    assert_eq!(s.focus, Pane::Webhooks);
    s.update(Action::FocusQueue);
    assert_eq!(s.focus, Pane::Queue);
    s.update(Action::FocusWebhooks);
    assert_eq!(s.focus, Pane::Webhooks);
    s.update(Action::FocusFailures);
    assert_eq!(s.focus, Pane::Failures);
}

#[test]
fn moving_in_the_queue_fetches_only_rows_that_are_not_loaded() {
    let mut s = s80();
    let rows = s.queue_rows() as u64;
    assert_eq!(s.queue.total, Some(393));
    assert!(s.update(Action::Down).is_empty());
    assert_eq!(s.queue.selected, 1);
    assert!(s.update(Action::Up).is_empty());
    assert!(s.update(Action::Up).is_empty(), "stays at the top");
    assert_eq!(s.queue.selected, 0);
    assert!(s.update(Action::PageDown).is_empty(), "the next screen is loaded ahead");
    assert_eq!(s.queue.selected, rows);
    s.update(Action::PageUp);
    assert_eq!(s.queue.selected, 0);
    let cmds = s.update(Action::Bottom);
    assert_eq!(s.queue.selected, 392);
    let (_, _, offset, limit) = page_of(&cmds).expect("the end is fetched");
    assert!(offset <= 392 - rows && offset + limit as u64 >= 393, "{offset} {limit}");
    assert!(s.queue.loading);
    assert!(s.update(Action::Top).is_empty(), "the top is still loaded");
    assert_eq!(s.queue.selected, 0);
    assert!(!s.queue.loading, "the page for the end is no longer wanted");
}

#[test]
fn a_stale_page_is_ignored() {
    let mut s = s80();
    let (seq, ..) = page_of(&s.update(Action::Bottom)).unwrap();
    s.update(Action::Top);
    s.update(WorkerEvent::Page { seq, offset: 360, rows: rows(33, 360), total: 393 }.into());
    assert_eq!(s.queue.offset, 0, "the answer to a question no longer asked changes nothing");
    let (seq2, ..) = page_of(&s.update(Action::Bottom)).unwrap();
    assert!(seq2 > seq);
    s.update(WorkerEvent::Page { seq: seq2, offset: 360, rows: rows(33, 360), total: 393 }.into());
    assert!(!s.queue.loading);
    assert_eq!(s.queue.offset, 360);
}

#[test]
fn resize_changes_how_many_rows_are_shown_and_fetched() {
    let mut s = s80();
    let small = s.queue_rows();
    let cmds = s.update(Action::Resize { width: 160, height: 90 });
    assert!(s.queue_rows() > small);
    assert!(page_of(&cmds).is_some(), "a taller list needs more rows");
}

#[test]
fn enter_on_a_webhook_filters_the_queue_to_it() {
    let mut s = s80();
    s.update(Action::FocusWebhooks);
    s.update(Action::Down);
    let cmds = s.update(Action::Open);
    assert_eq!(s.focus, Pane::Queue);
    assert_eq!(s.queue.filter_text, "webhook:action-2");
    let (_, f, offset, _) = page_of(&cmds).unwrap();
    assert_eq!(f.webhook.as_deref(), Some("action-2"));
    assert_eq!(offset, 0);
    // esc clears the filter again.
    let cmds = s.update(Action::Back);
    assert!(s.queue.filter.is_empty());
    assert!(page_of(&cmds).is_some());
}

#[test]
fn enter_opens_detail_and_esc_goes_back() {
    let mut s = s80();
    s.update(Action::Down);
    let cmds = s.update(Action::Open);
    assert_eq!(worker(&cmds), vec![&service::Command::Detail { id: 999 }]);
    assert_eq!(s.detail.as_ref().unwrap().id, 999);
    s.update(Action::Down);
    assert_eq!(s.detail.as_ref().unwrap().scroll, 1, "j scrolls the detail");
    assert!(s.update(Action::Back).is_empty());
    assert!(s.detail.is_none());
}

#[test]
fn the_filter_prompt_edits_applies_and_refuses_bad_filters() {
    let mut s = s80();
    s.update(Action::StartFilter);
    assert_eq!(s.input.as_deref(), Some(""));
    for c in "state:deadx".chars() {
        s.update(Action::Input(c));
    }
    s.update(Action::InputBackspace);
    let cmds = s.update(Action::InputSubmit);
    assert!(s.input.is_none());
    let (_, f, ..) = page_of(&cmds).unwrap();
    assert_eq!(f.states, vec![EntryState::Dead]);
    assert_eq!(s.queue.total, None, "counted again");

    s.update(Action::StartFilter);
    assert_eq!(s.input.as_deref(), Some("state:dead"), "the prompt starts from the current filter");
    s.update(Action::Input('x'));
    let cmds = s.update(Action::InputSubmit);
    assert!(cmds.is_empty());
    assert_eq!(s.input.as_deref(), Some("state:deadx"), "a bad filter stays in the prompt");
    assert!(s.messages.back().unwrap().text.contains("unknown state"));
    s.update(Action::InputCancel);
    assert!(s.input.is_none());
    assert_eq!(s.queue.filter_text, "state:dead");
}

#[test]
fn typing_in_the_prompt_does_not_trigger_bindings() {
    let mut s = s80();
    s.key(Key::ch('/'));
    for c in "qrd".chars() {
        assert!(s.key(Key::ch(c)).is_empty());
    }
    assert!(!s.quit);
    assert_eq!(s.input.as_deref(), Some("qrd"));
    s.key(Key::plain(KeyCode::Esc));
    assert!(s.input.is_none());
}

#[test]
fn marks_single_range_all_and_none() {
    let mut s = s80();
    s.update(Action::Mark);
    assert_eq!(s.queue.selected, 1, "space moves down");
    s.update(Action::Mark);
    assert_eq!(s.marked_count(), 2);
    s.update(Action::Up);
    s.update(Action::Mark);
    assert_eq!(s.marked_count(), 1, "space again unmarks");
    s.update(Action::MarkRange);
    s.update(Action::Down);
    s.update(Action::Down);
    s.update(Action::MarkRange);
    assert_eq!(s.marked_count(), 4);
    s.update(Action::MarkAll);
    assert_eq!(s.marks, Marks::AllMatching);
    assert_eq!(s.marked_count(), 393);
    s.update(Action::UnmarkAll);
    assert_eq!(s.marked_count(), 0);
}

#[test]
fn retry_asks_first_with_cancel_highlighted() {
    let mut s = s80();
    s.update(Action::Mark);
    s.update(Action::Mark);
    assert!(s.update(Action::Retry).is_empty(), "nothing happens before the confirmation");
    let c = s.confirm.as_ref().unwrap();
    assert_eq!(c.title, "Retry 2 entries?");
    assert!(!c.yes_selected);
    // enter on the default button cancels.
    assert!(s.key(Key::plain(KeyCode::Enter)).is_empty());
    assert!(s.confirm.is_none());
    assert_eq!(s.marked_count(), 2, "cancel keeps the marks");

    s.update(Action::Retry);
    s.update(Action::ToggleButton);
    let cmds = s.update(Action::Press);
    assert_eq!(
        worker(&cmds),
        vec![&service::Command::Retry { selection: Selection::Ids(vec![999, 1000]), force: false }]
    );
    assert_eq!(s.marked_count(), 0);
}

#[test]
fn retry_without_marks_takes_the_selected_entry() {
    let mut s = s80();
    s.update(Action::Down);
    s.update(Action::Retry);
    assert_eq!(s.confirm.as_ref().unwrap().title, "Retry 1 entry?");
    let cmds = s.update(Action::ConfirmYes);
    assert_eq!(
        worker(&cmds),
        vec![&service::Command::Retry { selection: Selection::Ids(vec![999]), force: false }]
    );
}

#[test]
fn retry_all_applies_to_the_filter_with_its_exact_count() {
    let mut s = s80();
    s.update(Action::RetryAll);
    let c = s.confirm.as_ref().unwrap();
    assert_eq!(c.title, "Retry 393 entries?");
    assert!(c.lines[0].contains("(no filter)"));
    let cmds = s.update(Action::ConfirmYes);
    assert_eq!(
        worker(&cmds),
        vec![&service::Command::Retry { selection: Selection::Filter(Filter::default()), force: false }]
    );
    // Marking all and retrying means the same.
    s.update(Action::MarkAll);
    s.update(Action::Retry);
    let cmds = s.update(Action::ConfirmYes);
    assert!(matches!(worker(&cmds)[0], service::Command::Retry { selection: Selection::Filter(_), .. }));
}

#[test]
fn discard_asks_and_n_cancels() {
    let mut s = s80();
    s.update(Action::Discard);
    assert_eq!(s.confirm.as_ref().unwrap().title, "Discard 1 entry?");
    assert!(s.key(Key::ch('n')).is_empty());
    assert!(s.confirm.is_none());
    s.update(Action::Discard);
    let cmds = s.key(Key::ch('y'));
    assert_eq!(worker(&cmds), vec![&service::Command::Discard { selection: Selection::Ids(vec![1000]) }]);
}

#[test]
fn bulk_job_progress_and_cancel() {
    let mut s = s80();
    assert!(s.update(Action::CancelJob).is_empty(), "no job: nothing to cancel");
    s.update(WorkerEvent::JobStarted { total: 10, label: "retry 10".into(), skipped: 0 }.into());
    assert_eq!(s.job.as_ref().unwrap().progress.total, 10);
    s.update(WorkerEvent::JobProgress(Progress { total: 10, delivered: 4, ..Default::default() }).into());
    assert_eq!(s.job.as_ref().unwrap().progress.delivered, 4);
    assert_eq!(worker(&s.update(Action::CancelJob)), vec![&service::Command::CancelJob]);
    s.update(
        WorkerEvent::JobDone {
            progress: Progress { total: 10, delivered: 4, ..Default::default() },
            cancelled: true,
        }
        .into(),
    );
    assert!(s.job.is_none());
    assert!(s.messages.back().unwrap().text.starts_with("job cancelled: 4 delivered"));
}

#[test]
fn edit_goes_through_the_editor_and_a_confirmation() {
    let mut s = s80();
    assert_eq!(worker(&s.update(Action::Edit)), vec![&service::Command::PrepareEdit { id: 1000 }]);
    let path = std::path::PathBuf::from("/tmp/x.json");
    let cmds = s.update(WorkerEvent::EditReady { id: 1000, path: path.clone() }.into());
    assert_eq!(cmds, vec![Command::Editor { id: 1000, path: path.clone() }]);
    assert!(s.update(Action::Edited { id: 1000, path: path.clone(), changed: false }).is_empty());
    assert!(s.confirm.is_none(), "an unchanged payload queues nothing");
    s.update(Action::Edited { id: 1000, path: path.clone(), changed: true });
    let cmds = s.update(Action::ConfirmYes);
    assert_eq!(worker(&cmds), vec![&service::Command::RetryEdited { id: 1000, path }]);
}

#[test]
fn poll_needs_genesys() {
    let mut s = s80();
    assert_eq!(worker(&s.update(Action::Poll)), vec![&service::Command::Poll]);
    assert_eq!(s.poll, PollState::Running);
    s.update(WorkerEvent::PollDone { at: NOW, summary: "3 new".into() }.into());
    assert!(matches!(s.poll, PollState::Done { .. }));
    s.genesys = GenesysStatus::Unavailable("no credentials".into());
    assert!(s.update(Action::Poll).is_empty());
    assert!(s.messages.back().unwrap().text.contains("cannot poll: no credentials"));
}

#[test]
fn copy_saves_the_selected_payload() {
    let mut s = s80();
    assert_eq!(worker(&s.update(Action::Copy)), vec![&service::Command::SavePayload { id: 1000 }]);
    s.update(Action::FocusWebhooks);
    assert!(s.update(Action::Copy).is_empty(), "no entry selected on the webhooks pane");
}

#[test]
fn help_opens_scrolls_and_any_key_closes_it() {
    let mut s = s80();
    s.key(Key::ch('?'));
    assert!(s.help);
    s.key(Key::ch('j'));
    assert!(s.help);
    assert_eq!(s.help_scroll, 1);
    assert!(s.key(Key::ch('r')).is_empty(), "a key that closes help does nothing else");
    assert!(!s.help);
    assert!(s.confirm.is_none());
}

#[test]
fn quit_from_anywhere_but_the_prompt() {
    let mut s = s80();
    s.key(Key::ctrl('c'));
    assert!(s.quit);
    let mut s = s80();
    s.update(Action::Quit);
    assert!(s.quit);
}

#[test]
fn read_only_disables_every_key_that_changes_data() {
    let mut s = s80();
    s.read_only = Some("started with --read-only".into());
    for k in ['r', 'R', 'd', 'e', 'p', 'x'] {
        assert!(s.key(Key::ch(k)).is_empty(), "{k}");
        assert!(s.confirm.is_none(), "{k}");
        assert!(s.messages.back().unwrap().text.starts_with("read-only"), "{k}");
    }
    // Reading still works.
    assert!(!worker(&s.key(Key::plain(KeyCode::Enter))).is_empty());
}

#[test]
fn messages_expire_with_the_clock() {
    let mut s = s80();
    s.update(WorkerEvent::Info("hello".into()).into());
    s.update(Action::Tick(NOW + MESSAGE_MS - 1));
    assert_eq!(s.messages.len(), 1);
    s.update(Action::Tick(NOW + MESSAGE_MS + 1));
    assert!(s.messages.is_empty());
}

#[test]
fn a_change_in_the_store_refreshes_what_is_shown() {
    let mut s = s80();
    s.update(Action::FocusFailures);
    s.update(Action::FocusQueue);
    s.update(Action::Open);
    let cmds = s.update(WorkerEvent::Changed.into());
    let w = worker(&cmds);
    assert_eq!(w[0], &service::Command::Refresh);
    assert!(w.iter().any(|c| matches!(c, service::Command::Page { total: None, .. })));
    assert!(w.iter().any(|c| matches!(c, service::Command::Failures { .. })));
    assert!(w.iter().any(|c| matches!(c, service::Command::Detail { id: 1000 })));
}

#[test]
fn errors_become_messages_not_crashes() {
    let mut s = s80();
    s.update(WorkerEvent::Error("database is locked".into()).into());
    assert_eq!(s.messages.back().unwrap().level, redrive::app::state::Level::Error);
    assert!(!s.quit);
}
