//! Durable intake: requests are committed to the store by one thread in group commits (every
//! request waiting when a commit starts goes into it, one fsync for all), and each caller is
//! answered only once its commit is on disk. A bounded queue in front gives back-pressure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::store::{EntryId, NewEntry, Store};
use crate::time::now_ms;

/// A request to store, and where to say how it went.
pub struct Item {
    pub entry: NewEntry,
    pub reply: oneshot::Sender<Result<EntryId, String>>,
}

/// Why a request could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the disk is behind (503, try again).
    Full,
    /// The writer has stopped (shutting down).
    Closed,
}

/// Commit figures for `/metrics`.
#[derive(Default)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub entries: AtomicU64,
    pub micros_sum: AtomicU64,
    pub micros_max: AtomicU64,
}

#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Item>,
    capacity: usize,
}

impl Intake {
    /// A queue of `capacity` and its receiving end (for [`run_writer`], or a test that holds
    /// it to fill the queue).
    pub fn new(capacity: usize) -> (Intake, mpsc::Receiver<Item>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Intake { tx, capacity }, rx)
    }

    /// Queue `entry`; the answer comes once it is on disk.
    pub fn submit(&self, entry: NewEntry) -> Result<oneshot::Receiver<Result<EntryId, String>>, Refused> {
        let (reply, rx) = oneshot::channel();
        self.tx.try_send(Item { entry, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Refused::Full,
            mpsc::error::TrySendError::Closed(_) => Refused::Closed,
        })?;
        Ok(rx)
    }

    /// Requests waiting for the disk.
    pub fn depth(&self) -> usize {
        self.capacity - self.tx.capacity()
    }
}

/// The writer: runs until every [`Intake`] is dropped and the queue is empty (so a shutdown
/// flushes what was accepted). The store should be durable (`synchronous = FULL`).
pub fn run_writer(mut store: Store, mut rx: mpsc::Receiver<Item>, stats: Arc<CommitStats>) {
    const MAX_BATCH: usize = 512;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(i) => batch.push(i),
                Err(_) => break,
            }
        }
        let entries: Vec<NewEntry> = batch.iter().map(|i| i.entry.clone()).collect();
        let t = Instant::now();
        let result = store.insert_batch(&entries, now_ms());
        let micros = t.elapsed().as_micros() as u64;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.micros_sum.fetch_add(micros, Ordering::Relaxed);
        stats.micros_max.fetch_max(micros, Ordering::Relaxed);
        match result {
            Ok(report) => {
                stats.entries.fetch_add(report.inserted.len() as u64, Ordering::Relaxed);
                // Source ids are unique per request, so every entry was inserted, in order.
                let mut ids = report.inserted.into_iter();
                for item in batch {
                    let r = ids.next().ok_or_else(|| "the store reported a duplicate request id".to_string());
                    let _ = item.reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "relay commit failed");
                for item in batch {
                    let _ = item.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> NewEntry {
        NewEntry {
            source_id: format!("relay:{i}"),
            webhook_id: "w".into(),
            source_kind: "relay".into(),
            payload: b"{}".to_vec(),
            content_type: None,
            status_code: None,
            error: None,
            failed_at: 1,
            payload_unavailable: None,
            next_attempt_at: Some(1),
            execution_data: None,
        }
    }

    #[test]
    fn a_full_queue_refuses_instead_of_growing() {
        let (intake, rx) = Intake::new(2);
        let _a = intake.submit(entry(1)).unwrap();
        let _b = intake.submit(entry(2)).unwrap();
        assert_eq!(intake.depth(), 2);
        assert_eq!(intake.submit(entry(3)).err(), Some(Refused::Full));
        drop(rx);
        assert_eq!(intake.submit(entry(4)).err(), Some(Refused::Closed));
    }

    #[test]
    fn every_queued_request_is_committed_and_answered_before_the_writer_ends() {
        let (intake, rx) = Intake::new(100);
        let replies: Vec<_> = (0..50).map(|i| intake.submit(entry(i)).unwrap()).collect();
        drop(intake);
        let stats = Arc::new(CommitStats::default());
        run_writer(Store::open_in_memory(Default::default()).unwrap(), rx, stats.clone());
        let ids: Vec<EntryId> = replies.into_iter().map(|r| r.blocking_recv().unwrap().unwrap()).collect();
        assert_eq!(ids.len(), 50);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(stats.entries.load(Ordering::Relaxed), 50);
        assert!(stats.commits.load(Ordering::Relaxed) < 50, "grouped");
    }
}
