//! The store's operations: dedupe, every state transition, leases, pagination, filters.

mod common;

use std::time::Duration;

use common::{entry, mem};
use redrive::store::*;

const T0: i64 = 1_800_000_000_000;
const LEASE: Duration = Duration::from_secs(30);

fn attempt(class: AttemptClass, status: Option<u16>) -> Attempt {
    Attempt {
        attempt: 0,
        started_at: T0,
        duration_ms: 12,
        status_code: status,
        class,
        error: status.filter(|s| *s >= 300).map(|s| format!("status {s}")),
        response_snippet: Some("x".repeat(5000)),
    }
}

#[test]
fn inserting_twice_is_a_reported_no_op() {
    let mut s = mem();
    let r = s.insert_batch(&[entry("a", "w", Some(503), T0), entry("b", "w", Some(500), T0)], T0).unwrap();
    assert_eq!(r.inserted.len(), 2);
    let r = s.insert_batch(&[entry("b", "w", Some(500), T0), entry("c", "w", None, T0)], T0).unwrap();
    assert_eq!(r.inserted.len(), 1);
    assert_eq!(r.duplicates, vec!["b".to_string()]);
    assert_eq!(s.count(&Filter::default()).unwrap(), 3);
    // The duplicate did not change the stored entry.
    let b = s
        .list(&Filter { search: Some("\"b\"".into()), ..Default::default() }, Order::NewestFirst, None, 10)
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].created_at, T0);
}

#[test]
fn oversized_payload_is_truncated_flagged_and_not_claimed() {
    let mut s = Store::open_in_memory(StoreOptions { payload_cap: 10, ..Default::default() }).unwrap();
    let mut e = entry("big", "w", Some(500), T0);
    e.payload = vec![b'x'; 25];
    let id = s.insert_batch(&[e], T0).unwrap().inserted[0];
    let got = s.get(id).unwrap();
    assert!(got.payload_truncated);
    assert_eq!(got.payload_size, 25);
    assert!(got.payload_unavailable.as_deref().unwrap().contains("25 bytes"));
    assert_eq!(s.payload(id).unwrap().len(), 10);
    assert!(s.claim_due("w1", T0 + 1, LEASE, 10, &ClaimFilter::default()).unwrap().is_empty());
}

#[test]
fn delivered_after_a_retry() {
    let mut s = mem();
    let id = s.insert_batch(&[entry("a", "w", Some(503), T0)], T0).unwrap().inserted[0];
    // Not due before its time.
    assert!(s.claim_due("w1", T0 - 1, LEASE, 10, &ClaimFilter::default()).unwrap().is_empty());
    let claimed = s.claim_due("w1", T0, LEASE, 10, &ClaimFilter::default()).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, EntryState::InFlight);
    assert_eq!(claimed[0].lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed[0].lease_until, Some(T0 + 30_000));
    // Claimed entries are not claimed again.
    assert!(s.claim_due("w2", T0, LEASE, 10, &ClaimFilter::default()).unwrap().is_empty());

    let retry_at = T0 + 5_000;
    let out = Outcome {
        id,
        attempt: attempt(AttemptClass::Retryable, Some(503)),
        disposition: Disposition::RetryAt(retry_at),
    };
    assert_eq!(s.record_outcomes("w1", &[out], T0 + 100).unwrap(), vec![true]);
    let e = s.get(id).unwrap();
    assert_eq!(
        (e.state, e.attempts, e.round_attempts, e.next_attempt_at),
        (EntryState::Pending, 1, 1, Some(retry_at))
    );
    assert_eq!(e.last_status, Some(503));
    assert_eq!(e.lease_owner, None);

    s.claim_due("w1", retry_at, LEASE, 10, &ClaimFilter::default()).unwrap();
    let out = Outcome {
        id,
        attempt: attempt(AttemptClass::Success, Some(200)),
        disposition: Disposition::Delivered,
    };
    assert_eq!(s.record_outcomes("w1", &[out], retry_at + 1).unwrap(), vec![true]);
    let e = s.get(id).unwrap();
    assert_eq!((e.state, e.attempts, e.next_attempt_at), (EntryState::Delivered, 2, None));
    let attempts = s.attempts(id).unwrap();
    assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(attempts[0].class, AttemptClass::Retryable);
    assert_eq!(attempts[0].response_snippet.as_ref().unwrap().len(), SNIPPET_MAX, "snippet bounded");
}

#[test]
fn dead_then_operator_retry_then_discard() {
    let mut s = mem();
    let id = s.insert_batch(&[entry("a", "w", Some(404), T0)], T0).unwrap().inserted[0];
    s.claim_due("w1", T0, LEASE, 1, &ClaimFilter::default()).unwrap();
    let out =
        Outcome { id, attempt: attempt(AttemptClass::Permanent, Some(404)), disposition: Disposition::Dead };
    s.record_outcomes("w1", &[out], T0).unwrap();
    assert_eq!(s.get(id).unwrap().state, EntryState::Dead);

    let r = s.retry_now(&Selection::Ids(vec![id]), false, "alice", T0 + 10).unwrap();
    assert_eq!((r.matched, r.changed, r.ids.clone()), (1, 1, vec![id]));
    let e = s.get(id).unwrap();
    assert_eq!(
        (e.state, e.next_attempt_at, e.round_attempts, e.attempts),
        (EntryState::Pending, Some(T0 + 10), 0, 1)
    );

    let r = s.discard(&Selection::Ids(vec![id]), "bob", T0 + 20).unwrap();
    assert_eq!(r.changed, 1);
    assert_eq!(s.get(id).unwrap().state, EntryState::Discarded);
    // A discarded entry can be brought back by an operator.
    assert_eq!(s.retry_now(&Selection::Ids(vec![id]), false, "alice", T0 + 30).unwrap().changed, 1);

    let log = s.audit_log(10).unwrap();
    let actions: Vec<_> = log.iter().map(|a| (a.action.as_str(), a.operator.as_str(), a.count)).collect();
    assert_eq!(actions, vec![("retry", "alice", 1), ("discard", "bob", 1), ("retry", "alice", 1)]);
    assert_eq!(log[1].ids.as_deref(), Some(&*format!("[{id}]")));
}

#[test]
fn delivered_needs_force_and_in_flight_is_skipped() {
    let mut s = mem();
    let ids = s
        .insert_batch(&[entry("a", "w", Some(500), T0), entry("b", "w", Some(500), T0)], T0)
        .unwrap()
        .inserted;
    let claimed = s.claim_due("w1", T0, LEASE, 2, &ClaimFilter::default()).unwrap();
    assert_eq!(claimed.len(), 2);
    let out = Outcome {
        id: ids[0],
        attempt: attempt(AttemptClass::Success, Some(200)),
        disposition: Disposition::Delivered,
    };
    s.record_outcomes("w1", &[out], T0).unwrap();

    let all = Selection::Filter(Filter::default());
    let plan = s.plan_retry(&all, false).unwrap();
    assert_eq!((plan.matched, plan.changed), (2, 0));
    assert_eq!(plan.skipped.get("already delivered (use --force)"), Some(&1));
    assert_eq!(plan.skipped.get("in flight (a worker holds it)"), Some(&1));
    let forced = s.retry_now(&all, true, "op", T0).unwrap();
    assert_eq!(forced.changed, 1);
    assert_eq!(s.get(ids[0]).unwrap().state, EntryState::Pending);
    assert_eq!(s.get(ids[1]).unwrap().state, EntryState::InFlight);
    assert_eq!(s.audit_log(1).unwrap()[0].action, "retry_force");

    let d = s.plan_discard(&Selection::Ids(vec![ids[1], 999])).unwrap();
    assert_eq!(d.changed, 0);
    assert_eq!(d.skipped.get("no such id"), Some(&1));
    // A dry run changes nothing and writes no audit row.
    assert_eq!(s.audit_log(10).unwrap().len(), 1);
}

#[test]
fn payload_unavailable_can_be_discarded_not_retried() {
    let mut s = mem();
    let mut e = entry("a", "w", Some(500), T0);
    e.payload_unavailable = Some("execution data disabled".into());
    let id = s.insert_batch(&[e], T0).unwrap().inserted[0];
    assert!(s.claim_due("w", T0, LEASE, 5, &ClaimFilter::default()).unwrap().is_empty());
    let r = s.retry_now(&Selection::Ids(vec![id]), true, "op", T0).unwrap();
    assert_eq!(r.changed, 0);
    assert_eq!(r.skipped.get("payload unavailable (cannot be replayed)"), Some(&1));
    assert_eq!(s.discard(&Selection::Ids(vec![id]), "op", T0).unwrap().changed, 1);
}

#[test]
fn expired_lease_returns_entry_to_pending_and_stale_worker_cannot_overwrite() {
    let mut s = mem();
    let id = s.insert_batch(&[entry("a", "w", Some(500), T0)], T0).unwrap().inserted[0];
    s.claim_due("dead-worker", T0, LEASE, 1, &ClaimFilter::default()).unwrap();
    assert_eq!(s.expire_leases(T0 + 29_999).unwrap(), 0, "lease still valid");
    assert_eq!(s.expire_leases(T0 + 30_001).unwrap(), 1);
    let e = s.get(id).unwrap();
    assert_eq!(
        (e.state, e.lease_owner.clone(), e.next_attempt_at),
        (EntryState::Pending, None, Some(T0 + 30_001))
    );

    // Another worker takes it; the first worker's late answer is kept as history only.
    s.claim_due("w2", T0 + 30_001, LEASE, 1, &ClaimFilter::default()).unwrap();
    let late = Outcome {
        id,
        attempt: attempt(AttemptClass::Success, Some(200)),
        disposition: Disposition::Delivered,
    };
    assert_eq!(s.record_outcomes("dead-worker", &[late], T0 + 30_002).unwrap(), vec![false]);
    let e = s.get(id).unwrap();
    assert_eq!(e.state, EntryState::InFlight);
    assert_eq!(e.lease_owner.as_deref(), Some("w2"));
    assert_eq!(s.attempts(id).unwrap().len(), 1);
    // w2's own answer settles the entry and is numbered after the late one.
    let own = Outcome {
        id,
        attempt: attempt(AttemptClass::Success, Some(200)),
        disposition: Disposition::Delivered,
    };
    assert_eq!(s.record_outcomes("w2", &[own], T0 + 30_003).unwrap(), vec![true]);
    let e = s.get(id).unwrap();
    assert_eq!((e.state, e.attempts), (EntryState::Delivered, 2));
    assert_eq!(s.attempts(id).unwrap().iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn release_and_renew_leases() {
    let mut s = mem();
    let ids = s.insert_batch(&[entry("a", "w", None, T0), entry("b", "w", None, T0)], T0).unwrap().inserted;
    s.claim_due("w1", T0, LEASE, 2, &ClaimFilter::default()).unwrap();
    assert_eq!(s.renew_leases("w1", &[ids[0]], T0 + 90_000).unwrap(), 1);
    assert_eq!(s.renew_leases("w2", &[ids[1]], T0 + 90_000).unwrap(), 0, "not w2's lease");
    assert_eq!(s.expire_leases(T0 + 60_000).unwrap(), 1, "only the unrenewed lease ran out");
    assert_eq!(s.get(ids[0]).unwrap().state, EntryState::InFlight);
    assert_eq!(s.release_leases("w1", T0 + 61_000).unwrap(), 1);
    let e = s.get(ids[0]).unwrap();
    assert_eq!((e.state, e.attempts, e.next_attempt_at), (EntryState::Pending, 0, Some(T0 + 61_000)));
}

#[test]
fn claim_skips_paused_and_excluded_webhooks_and_held_entries() {
    let mut s = mem();
    let mut held = entry("h", "a", None, T0);
    held.next_attempt_at = None;
    s.insert_batch(
        &[entry("1", "a", None, T0), entry("2", "b", None, T0), entry("3", "c", None, T0), held],
        T0,
    )
    .unwrap();
    let hook = |id: &str| Webhook {
        id: id.into(),
        name: format!("hook {id}"),
        source: "genesys".into(),
        method: Some("POST".into()),
        url: None,
        config: None,
        paused: false,
        paused_reason: None,
        updated_at: T0,
    };
    s.upsert_webhooks(&[hook("a"), hook("b"), hook("c")], T0).unwrap();
    assert!(s.set_webhook_paused("b", true, Some("410 Gone"), "worker-1", T0).unwrap());
    // A refresh from the source keeps the paused flag.
    s.upsert_webhooks(&[hook("b")], T0 + 1).unwrap();
    assert!(
        s.webhooks()
            .unwrap()
            .iter()
            .any(|w| w.id == "b" && w.paused && w.paused_reason.as_deref() == Some("410 Gone"))
    );
    let filter = ClaimFilter { exclude_webhooks: vec!["c".to_string()], ..Default::default() };
    let got = s.claim_due("w", T0, LEASE, 10, &filter).unwrap();
    assert_eq!(got.iter().map(|e| e.webhook_id.as_str()).collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(s.audit_log(1).unwrap()[0].action, "pause_webhook");
    assert!(!s.set_webhook_paused("nope", true, None, "op", T0).unwrap());
    s.release_leases("w", T0).unwrap();
    let only_c = ClaimFilter { only_webhook: Some("c".into()), ..Default::default() };
    assert_eq!(s.claim_due("w", T0, LEASE, 10, &only_c).unwrap().len(), 1);
    let only_ids = ClaimFilter { only_ids: Some(vec![1, 2]), ..Default::default() };
    let got = s.claim_due("w", T0, LEASE, 10, &only_ids).unwrap();
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1], "id 2 is paused");
    assert_eq!(s.hold_leased("w", &[1], "no route", T0).unwrap(), 1);
    let held = s.get(1).unwrap();
    assert_eq!(
        (held.state, held.next_attempt_at, held.last_error.as_deref(), held.attempts),
        (EntryState::Pending, None, Some("no route"), 0)
    );
}

#[test]
fn keyset_pages_neither_skip_nor_repeat_while_rows_arrive() {
    let mut s = mem();
    let batch: Vec<_> = (0..95).map(|i| entry(&format!("s{i}"), "w", Some(500), T0 + i)).collect();
    s.insert_batch(&batch, T0).unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    let mut extra = 0;
    loop {
        let page = s.list(&Filter::default(), Order::NewestFirst, after, 10).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|e| e.source_id.clone()));
        // New failures arrive between pages.
        let more: Vec<_> = (0..3).map(|j| entry(&format!("new{extra}-{j}"), "w", Some(500), T0)).collect();
        s.insert_batch(&more, T0).unwrap();
        extra += 1;
    }
    let expected: Vec<_> = (0..95).rev().map(|i| format!("s{i}")).collect();
    assert_eq!(seen, expected);

    // Oldest-first pages (export's order) are complete too.
    let mut ids = Vec::new();
    let mut after = None;
    while let Some(last) = {
        let page = s.list(&Filter::default(), Order::OldestFirst, after, 7).unwrap();
        ids.extend(page.iter().map(|e| e.id));
        page.last().map(|e| e.id)
    } {
        after = Some(last);
    }
    assert_eq!(ids.len() as u64, s.count(&Filter::default()).unwrap());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn filters_narrow_by_every_field() {
    let mut s = mem();
    let mut e1 = entry("1", "orders-prod", Some(503), T0);
    e1.payload = br#"{"customer":"ACME Corp"}"#.to_vec();
    let e2 = entry("2", "orders-prod", Some(500), T0 + 1000);
    let mut e3 = entry("3", "billing", Some(404), T0 + 2000);
    e3.error = Some("Not Found: 100% gone".into());
    let e4 = entry("4", "billing", None, T0 + 3000);
    s.insert_batch(&[e1, e2, e3, e4], T0).unwrap();
    s.upsert_webhooks(
        &[Webhook {
            id: "billing".into(),
            name: "Billing system (SAP)".into(),
            source: "genesys".into(),
            method: None,
            url: None,
            config: None,
            paused: false,
            paused_reason: None,
            updated_at: T0,
        }],
        T0,
    )
    .unwrap();
    let ids = |s: &Store, f: Filter| -> Vec<String> {
        let mut v: Vec<_> =
            s.list(&f, Order::OldestFirst, None, 100).unwrap().into_iter().map(|e| e.source_id).collect();
        v.sort();
        assert_eq!(v.len() as u64, s.count(&f).unwrap(), "count agrees with list for {f}");
        v
    };
    assert_eq!(ids(&s, Filter { status: Some(StatusMatch::Class(5)), ..Default::default() }), ["1", "2"]);
    assert_eq!(ids(&s, Filter { status: Some(StatusMatch::Code(404)), ..Default::default() }), ["3"]);
    assert_eq!(ids(&s, Filter { webhook: Some("orders-prod".into()), ..Default::default() }), ["1", "2"]);
    assert_eq!(
        ids(&s, Filter { webhook: Some("sap".into()), ..Default::default() }),
        ["3", "4"],
        "by name, any case"
    );
    assert_eq!(
        ids(&s, Filter { since: Some(T0 + 1000), until: Some(T0 + 3000), ..Default::default() }),
        ["2", "3"]
    );
    assert_eq!(
        ids(&s, Filter { search: Some("acme".into()), ..Default::default() }),
        ["1"],
        "payload, any case"
    );
    assert_eq!(
        ids(&s, Filter { search: Some("100%".into()), ..Default::default() }),
        ["3"],
        "wildcards are literal"
    );
    assert!(ids(&s, Filter { search: Some("10_%".into()), ..Default::default() }).is_empty());
    s.discard(&Selection::Ids(vec![1]), "op", T0).unwrap();
    let dead_or_discarded =
        Filter { states: vec![EntryState::Discarded, EntryState::Dead], ..Default::default() };
    assert_eq!(ids(&s, dead_or_discarded), ["1"]);
    // A bulk action by filter touches exactly what the filter lists.
    let r = s
        .discard(
            &Selection::Filter(Filter { webhook: Some("billing".into()), ..Default::default() }),
            "op",
            T0,
        )
        .unwrap();
    assert_eq!(r.changed, 2);
    assert_eq!(s.audit_log(1).unwrap()[0].filter.as_deref(), Some("webhook:billing"));
}

#[test]
fn counts_and_stats() {
    let mut s = mem();
    s.insert_batch(
        &[entry("1", "a", Some(503), T0), entry("2", "a", Some(429), T0), entry("3", "b", None, T0)],
        T0,
    )
    .unwrap();
    s.discard(&Selection::Ids(vec![3]), "op", T0).unwrap();
    let counts = s.counts_by_state().unwrap();
    assert_eq!(counts.len(), 5);
    assert!(counts.contains(&(EntryState::Pending, 2)) && counts.contains(&(EntryState::Discarded, 1)));
    let st = s.stats().unwrap();
    assert_eq!(st.total, 3);
    assert_eq!(st.by_webhook["a"].total, 2);
    assert_eq!(st.by_webhook["b"].by_state[&EntryState::Discarded], 1);
    assert_eq!(st.by_status_class["5xx"], 1);
    assert_eq!(st.by_status_class["4xx"], 1);
    assert_eq!(st.by_status_class["none"], 1);
}

#[test]
fn prune_removes_only_old_finished_entries_in_batches() {
    let mut s = mem();
    let batch: Vec<_> = (0..25).map(|i| entry(&format!("{i}"), "w", Some(500), T0)).collect();
    s.insert_batch(&batch, T0).unwrap();
    // 10 discarded long ago, 5 discarded recently, 10 still pending.
    s.discard(&Selection::Ids((1..=10).collect()), "op", T0).unwrap();
    s.discard(&Selection::Ids((11..=15).collect()), "op", T0 + 100_000).unwrap();
    let cutoff = T0 + 50_000;
    assert_eq!(s.count_prunable(cutoff).unwrap(), 10);
    assert_eq!(s.prune(cutoff, 3, "op", T0 + 200_000).unwrap(), 10);
    assert_eq!(s.count(&Filter::default()).unwrap(), 15);
    assert_eq!(s.count(&Filter { states: vec![EntryState::Pending], ..Default::default() }).unwrap(), 10);
    assert_eq!(s.audit_log(1).unwrap()[0].action, "prune");
}

#[test]
fn keeps_execution_data_and_a_key_value_cursor() {
    let mut s = mem();
    let mut e = entry("a", "w", Some(500), T0);
    e.execution_data = Some(b"{\"flow\":{}}".to_vec());
    let ids = s.insert_batch(&[e, entry("b", "w", None, T0)], T0).unwrap().inserted;
    assert_eq!(s.execution_data(ids[0]).unwrap().as_deref(), Some(&b"{\"flow\":{}}"[..]));
    assert_eq!(s.execution_data(ids[1]).unwrap(), None);
    assert_eq!(s.record(ids[0]).unwrap().execution_data.unwrap().len(), 11);
    let existing = s.existing_source_ids(&["a".into(), "zzz".into()]).unwrap();
    assert_eq!(existing.into_iter().collect::<Vec<_>>(), vec!["a".to_string()]);
    assert_eq!(s.kv_get("poll.cursor").unwrap(), None);
    s.kv_set("poll.cursor", "123", T0).unwrap();
    s.kv_set("poll.cursor", "456", T0).unwrap();
    assert_eq!(s.kv_get("poll.cursor").unwrap().as_deref(), Some("456"));
}

#[test]
fn pages_at_an_offset_read_the_same_rows_from_either_end() {
    let mut s = common::mem();
    let batch: Vec<_> =
        (0..100).map(|i| common::entry(&format!("o-{i}"), "w", Some(503), 1_000 + i)).collect();
    s.insert_batch(&batch, 5_000).unwrap();
    let f = redrive::store::Filter::default();
    let all: Vec<i64> =
        s.list(&f, redrive::store::Order::NewestFirst, None, 1000).unwrap().iter().map(|e| e.id).collect();
    for (offset, limit) in [(0u64, 10usize), (45, 10), (51, 10), (95, 10), (99, 5), (100, 5), (30, 70)] {
        let got: Vec<i64> = s.list_at(&f, offset, limit, 100).unwrap().iter().map(|e| e.id).collect();
        let want: Vec<i64> = all.iter().skip(offset as usize).take(limit).copied().collect();
        assert_eq!(got, want, "offset {offset} limit {limit}");
    }
}

#[test]
fn webhook_summaries_count_states_and_bucket_failures_by_hour() {
    let mut s = common::mem();
    let now = 48 * 3_600_000;
    let mut batch = vec![
        common::entry("a", "hook-a", Some(503), now - 30 * 60_000),
        common::entry("b", "hook-a", Some(500), now - 90 * 60_000),
        common::entry("c", "hook-a", Some(502), now - 25 * 3_600_000),
        common::entry("d", "hook-b", None, now - 60_000),
    ];
    batch[3].error = Some("timeout".into());
    s.insert_batch(&batch, now).unwrap();
    s.upsert_webhooks(&[redrive::store::Webhook::named("hook-a", "Orders", "genesys", now)], now).unwrap();
    let sums = s.webhook_summaries(redrive::store::Histogram::day(now)).unwrap();
    assert_eq!(sums.len(), 2);
    let a = &sums[0];
    assert_eq!((a.id.as_str(), a.name.as_str()), ("hook-a", "Orders"));
    assert_eq!(a.by_state.get(&EntryState::Pending), Some(&3));
    assert_eq!(a.histogram.len(), 24);
    assert_eq!(a.histogram[23], 1, "the last hour");
    assert_eq!(a.histogram[22], 1, "the hour before");
    assert_eq!(a.histogram.iter().sum::<u64>(), 2, "older than a day is not counted");
    assert_eq!(a.last_status, Some(502), "the newest stored entry (highest id)");
    let b = &sums[1];
    assert_eq!(b.name, "hook-b", "unknown webhooks are named by id");
    assert_eq!(b.last_error.as_deref(), Some("timeout"));
}

#[test]
fn hold_and_an_edited_copy_are_audited() {
    let mut s = common::mem();
    let ids = s
        .insert_batch(&[common::entry("h1", "w", Some(503), 1), common::entry("h2", "w", Some(503), 1)], 10)
        .unwrap()
        .inserted;
    assert_eq!(s.hold(&ids, "ann", 20).unwrap(), 2);
    assert!(s.get(ids[0]).unwrap().next_attempt_at.is_none());
    let copy = s.queue_edited_copy(ids[0], b"{\"fixed\":true}", "ann", 30).unwrap();
    let c = s.get(copy).unwrap();
    assert_eq!((c.state, c.next_attempt_at, c.source_kind.as_str()), (EntryState::Pending, Some(30), "edit"));
    assert_eq!(s.payload(copy).unwrap(), b"{\"fixed\":true}");
    assert_eq!(s.payload(ids[0]).unwrap(), b"{\"order\":\"h1\"}", "the original is kept");
    let log = s.audit_log(10).unwrap();
    assert!(log.iter().any(|a| a.action == "cancel" && a.count == 2 && a.operator == "ann"));
    assert!(log.iter().any(|a| a.action == "retry_edited"
        && a.detail.as_deref() == Some(&format!("edited copy queued as {copy}")[..])));
    assert!(s.queue_edited_copy(9999, b"{}", "ann", 40).is_err());
}
