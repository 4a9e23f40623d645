//! Durable intake: requests are committed to the relay's [`Inbox`] by one thread in group
//! commits (every request waiting when a commit starts goes into it, one fsync for all), and
//! each caller is answered only once its commit is on disk. A bounded queue in front gives
//! back-pressure, and so does a bound on the calls on disk that the mover has not carried into
//! the store yet. The mover, a second thread, carries what the inbox holds into the store in
//! large batches, on CPU time nothing else wants.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::inbox::Inbox;
use crate::store::{NewEntry, Store};

/// A request to store, and where to say how it went.
pub struct Item {
    pub entry: NewEntry,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Why a request could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the disk is behind (503, try again).
    Full,
    /// The inbox holds as many calls as it may that the mover has not carried into the store
    /// yet (503, try again).
    Behind,
    /// The writer has stopped (shutting down).
    Closed,
}

/// Commit figures for `/metrics`.
#[derive(Default)]
pub struct CommitStats {
    /// Inbox commits, the calls they held, and the time they took.
    pub commits: AtomicU64,
    pub entries: AtomicU64,
    pub micros_sum: AtomicU64,
    pub micros_max: AtomicU64,
    /// Calls moved from the inbox into the store, and how many were left after the last move.
    pub moved: AtomicU64,
    pub backlog: AtomicU64,
    /// Notified after each move (for whoever waits until the store has caught up).
    pub moved_signal: tokio::sync::Notify,
}

impl CommitStats {
    /// Calls committed to the inbox since the start and not moved into the store yet (calls an
    /// earlier run left there are not counted).
    pub fn unmoved(&self) -> u64 {
        self.entries.load(Ordering::Relaxed).saturating_sub(self.moved.load(Ordering::Relaxed))
    }

    /// Wait until every call committed to the inbox so far has been moved into the store.
    pub async fn caught_up(&self) {
        loop {
            let signal = self.moved_signal.notified();
            tokio::pin!(signal);
            signal.as_mut().enable();
            if self.moved.load(Ordering::Relaxed) >= self.entries.load(Ordering::Relaxed) {
                return;
            }
            signal.await;
        }
    }
}

#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Item>,
    capacity: usize,
    stats: Arc<CommitStats>,
    inbox_limit: u64,
}

impl Intake {
    /// A queue of `capacity` and its receiving end (for [`run_writer`], or a test that holds
    /// it to fill the queue); calls are refused while `stats` counts `inbox_limit` calls
    /// committed and not moved.
    pub fn new(capacity: usize, inbox_limit: u64, stats: Arc<CommitStats>) -> (Intake, mpsc::Receiver<Item>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Intake { tx, capacity, stats, inbox_limit }, rx)
    }

    /// Queue `entry`; the answer comes once it is on disk.
    pub fn submit(&self, entry: NewEntry) -> Result<oneshot::Receiver<Result<(), String>>, Refused> {
        if self.stats.unmoved() >= self.inbox_limit {
            return Err(Refused::Behind);
        }
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

/// A nudge from the writer to the mover: something was committed. Coalesced (a full channel
/// already holds a nudge); the mover ends once the writer has ended and the inbox is empty.
pub type Nudge = std_mpsc::SyncSender<()>;

/// A nudge channel for [`run_writer`] and [`run_mover`].
pub fn nudge() -> (Nudge, std_mpsc::Receiver<()>) {
    std_mpsc::sync_channel(1)
}

/// The writer and mover threads of a running intake.
pub struct Threads {
    writer: std::thread::JoinHandle<()>,
    mover: std::thread::JoinHandle<(Inbox, Store)>,
    stats: Arc<CommitStats>,
}

impl Threads {
    /// Wait until both have ended (once every [`Intake`] handle is gone, the writer commits
    /// what is queued), then empty the inbox into the store on the calling thread, at its own
    /// priority rather than the mover's idle one, so a stop does not wait for an idle core.
    pub fn join(self) {
        let _ = self.writer.join();
        if let Ok((mut inbox, mut store)) = self.mover.join() {
            while !move_all(&mut inbox, &mut store, &self.stats, MOVE_BATCH) {
                // Keep trying, with a pause, until the store takes them.
                std::thread::sleep(MOVE_IDLE);
            }
        }
    }
}

/// Start the intake of the store at `db`: its inbox, the writer and the mover (which writes to
/// `store`, made durable here: a call leaves the inbox only once the store's copy is on disk),
/// with the queue and inbox bounds of `limits`.
pub fn start(
    db: &std::path::Path,
    mut store: Store,
    limits: &crate::config::RelayConfig,
    busy: Duration,
) -> Result<(Intake, Arc<CommitStats>, Threads), crate::store::StoreError> {
    store.make_durable()?;
    let path = Inbox::path_for(db);
    let (w_inbox, m_inbox) = (Inbox::open(&path, busy)?, Inbox::open(&path, busy)?);
    let stats = Arc::new(CommitStats::default());
    let (intake, rx) = Intake::new(limits.queue, limits.inbox_limit, stats.clone());
    let (tx, nudges) = nudge();
    let s = stats.clone();
    let writer = std::thread::Builder::new()
        .name("redrive-intake".into())
        .spawn(move || run_writer(w_inbox, rx, s, tx))
        .expect("spawning a thread");
    let s = stats.clone();
    let mover = std::thread::Builder::new()
        .name("redrive-mover".into())
        .spawn(move || run_mover(m_inbox, store, nudges, s, MOVE_BATCH, MOVE_IDLE))
        .expect("spawning a thread");
    Ok((intake, stats.clone(), Threads { writer, mover, stats }))
}

/// The writer: runs until every [`Intake`] is dropped and the queue is empty (so a shutdown
/// flushes what was accepted), nudging the mover after each commit.
pub fn run_writer(mut inbox: Inbox, mut rx: mpsc::Receiver<Item>, stats: Arc<CommitStats>, mover: Nudge) {
    const MAX_BATCH: usize = 512;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(i) => batch.push(i),
                Err(_) => break,
            }
        }
        let (entries, replies): (Vec<NewEntry>, Vec<_>) =
            batch.into_iter().map(|i| (i.entry, i.reply)).unzip();
        let t = Instant::now();
        let result = inbox.append(&entries);
        let micros = t.elapsed().as_micros() as u64;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.micros_sum.fetch_add(micros, Ordering::Relaxed);
        stats.micros_max.fetch_max(micros, Ordering::Relaxed);
        let answer = match result {
            Ok(()) => {
                stats.entries.fetch_add(entries.len() as u64, Ordering::Relaxed);
                let _ = mover.try_send(());
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "relay commit failed");
                Err(e.to_string())
            }
        };
        for reply in replies {
            let _ = reply.send(answer.clone());
        }
    }
}

/// Calls the mover carries into the store per store commit.
const MOVE_BATCH: usize = 1000;

/// How often the mover looks at the inbox when nothing nudges it (calls an earlier run left),
/// and how long a stop waits before trying again a store that did not take its calls.
const MOVE_IDLE: Duration = Duration::from_secs(1);

/// How often the mover makes a pass while calls keep coming: a pass costs two commits with an
/// fsync each, so a pass after every group commit (a few calls each) costs more than the calls.
pub const MOVE_EVERY: Duration = Duration::from_millis(50);

/// The mover: carries calls from the inbox into the store, `batch` per store commit, whenever
/// nudged (at most once every [`MOVE_EVERY`], and every `idle` otherwise, to pick up what an
/// earlier run left). A store that cannot be written (locked by a long bulk operation, say)
/// only delays the move: the calls wait in the inbox, on disk. When the writer has ended it
/// hands the inbox and the store back, for [`Threads::join`] to empty the one into the other.
///
/// The mover runs only on CPU time nothing else in the machine wants (Linux's `SCHED_IDLE`):
/// answering callers comes first (they time out), and the calls it has not moved yet are
/// already on disk. It catches up whenever the relay leaves a core idle; under a load that
/// keeps both busy it falls behind, and the intake's `inbox_limit` then turns callers away
/// (503, Retry-After) until it has caught up. (At nice 10 it still took a share of the CPU
/// while callers waited: measured side by side, 8% fewer calls acknowledged per second.)
pub fn run_mover(
    mut inbox: Inbox,
    mut store: Store,
    nudges: std_mpsc::Receiver<()>,
    stats: Arc<CommitStats>,
    batch: usize,
    idle: Duration,
) -> (Inbox, Store) {
    lower_priority();
    let mut last_pass: Option<Instant> = None;
    loop {
        if let Err(std_mpsc::RecvTimeoutError::Disconnected) = nudges.recv_timeout(idle) {
            return (inbox, store);
        }
        if let Some(last) = last_pass {
            std::thread::sleep((last + MOVE_EVERY).saturating_duration_since(Instant::now()));
        }
        last_pass = Some(Instant::now());
        move_all(&mut inbox, &mut store, &stats, batch);
    }
}

/// Move every call the inbox holds into the store, `batch` per commit, and count them in
/// `stats`. False if the store could not take them (they stay in the inbox).
fn move_all(inbox: &mut Inbox, store: &mut Store, stats: &CommitStats, batch: usize) -> bool {
    let moved = loop {
        match inbox.move_into(store, batch) {
            Ok(0) => break true,
            Ok(n) => {
                stats.moved.fetch_add(n as u64, Ordering::Relaxed);
                stats.moved_signal.notify_waiters();
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay: moving calls into the store failed; they wait in the inbox");
                break false;
            }
        }
    };
    if let Ok(n) = inbox.backlog() {
        stats.backlog.store(n, Ordering::Relaxed);
    }
    moved
}

/// Put the calling thread in Linux's idle scheduling class: it runs when a core has nothing
/// else to run, and any other thread that wakes takes the core from it at once. A scheduling
/// policy belongs to one thread, so the rest of the process keeps its own.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler reads the parameter struct it is given and nothing else;
    // pid 0 is the calling thread.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            tracing::debug!("relay: could not lower the mover's priority");
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
        let (intake, rx) = Intake::new(2, 100, Arc::default());
        let _a = intake.submit(entry(1)).unwrap();
        let _b = intake.submit(entry(2)).unwrap();
        assert_eq!(intake.depth(), 2);
        assert_eq!(intake.submit(entry(3)).err(), Some(Refused::Full));
        drop(rx);
        assert_eq!(intake.submit(entry(4)).err(), Some(Refused::Closed));
    }

    #[test]
    fn calls_are_refused_while_the_mover_is_behind_by_the_inbox_limit() {
        let stats = Arc::new(CommitStats::default());
        let (intake, _rx) = Intake::new(100, 3, stats.clone());
        stats.entries.store(3, Ordering::Relaxed);
        stats.moved.store(1, Ordering::Relaxed);
        assert!(intake.submit(entry(1)).is_ok(), "2 unmoved of 3");
        stats.entries.store(4, Ordering::Relaxed);
        assert_eq!(intake.submit(entry(2)).err(), Some(Refused::Behind));
        stats.moved.store(2, Ordering::Relaxed);
        assert!(intake.submit(entry(3)).is_ok(), "taken again once the mover caught up");
    }

    /// The scheduling policies of this process's threads called `name` (field 41 of their
    /// `stat`: 0 normal, 5 idle) with their nice values (field 19).
    fn policy_of(name: &str) -> Vec<(i64, i64)> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
            .filter(|stat| stat.contains(&format!("({name})")))
            .map(|stat| {
                let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
                (fields[41 - 3].parse().unwrap(), fields[19 - 3].parse().unwrap())
            })
            .collect()
    }

    /// The intake of a new store at `db` with a queue of `queue`.
    fn started(db: &std::path::Path, queue: usize) -> (Intake, Arc<CommitStats>, Threads) {
        let limits = crate::config::RelayConfig { queue, ..Default::default() };
        start(db, Store::open(db, Default::default()).unwrap(), &limits, Duration::from_secs(1)).unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_mover_yields_the_cpu_to_the_callers() {
        let dir = tempfile::tempdir().unwrap();
        let (intake, stats, threads) = started(&dir.path().join("r.db"), 10);
        intake.submit(entry(1)).unwrap().blocking_recv().unwrap().unwrap();
        // Once it has moved a call, the mover has set its priority. (Waiting parks this thread:
        // a spinning one would take the core the idle-class mover waits for.)
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), stats.caught_up()).await })
            .expect("the mover moved the call");
        const IDLE: i64 = libc::SCHED_IDLE as i64;
        let mover = policy_of("redrive-mover");
        assert!(!mover.is_empty() && mover.iter().all(|p| p.0 == IDLE), "{mover:?}");
        let writer = policy_of("redrive-intake");
        assert!(!writer.is_empty() && writer.iter().all(|p| *p == (0, 0)), "{writer:?}");
        drop(intake);
        threads.join();
    }

    #[test]
    fn every_queued_request_is_committed_answered_and_moved_before_the_threads_end() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let (intake, stats, threads) = started(&db, 100);
        let replies: Vec<_> = (0..50).map(|i| intake.submit(entry(i)).unwrap()).collect();
        drop(intake);
        threads.join();
        for r in replies {
            r.blocking_recv().unwrap().unwrap();
        }
        assert_eq!(stats.entries.load(Ordering::Relaxed), 50);
        assert!(stats.commits.load(Ordering::Relaxed) < 50, "grouped");
        assert_eq!(stats.moved.load(Ordering::Relaxed), 50);
        assert_eq!(stats.backlog.load(Ordering::Relaxed), 0);
        let inbox = Inbox::open(&Inbox::path_for(&db), Duration::from_secs(1)).unwrap();
        assert_eq!(inbox.backlog().unwrap(), 0);
        let store = Store::open(&db, Default::default()).unwrap();
        assert_eq!(store.count(&crate::store::Filter::default()).unwrap(), 50);
    }
}
