//! What the benchmarks share: arguments, the summary row, and the store fill.

use std::path::Path;
use std::time::{Duration, Instant};

use redrive::store::{NewEntry, Store, StoreOptions};

pub const WEBHOOKS: usize = 20;
const STATUSES: [u16; 6] = [500, 502, 503, 504, 429, 404];

/// Fill a new store at `path` with `n` entries through the library's batch insert: 20 webhooks,
/// six statuses, failures spread over the ten days before `now`, and a realistic mix of states
/// (60% delivered, 10% dead, 5% discarded, the rest pending). Returns how long the inserts took.
pub fn fill(path: &Path, n: usize, now: i64) -> Duration {
    let mut store = Store::open(path, StoreOptions::default()).unwrap();
    let start = Instant::now();
    let batch_size = 10_000;
    let mut i = 0;
    while i < n {
        let batch: Vec<NewEntry> = (i..(i + batch_size).min(n))
            .map(|k| {
                // Webhook and status drawn independently of each other and of the id (which
                // sets the state below), so combined filters match what they would in life.
                let h = splitmix64(k as u64);
                let status = STATUSES[(h >> 8) as usize % STATUSES.len()];
                NewEntry {
                    source_id: format!("{:08x}-flow-instance-{k}", k.wrapping_mul(2_654_435_761)),
                    webhook_id: format!("action-{:02}", h as usize % WEBHOOKS),
                    source_kind: "genesys".into(),
                    payload: format!(
                        r#"{{"conversationId":"c-{k}","customer":{{"id":{k},"tier":"gold"}},"event":"order.updated","items":[1,2,3]}}"#
                    )
                    .into_bytes(),
                    content_type: Some("application/json".into()),
                    status_code: Some(status),
                    error: Some(format!("Request to backend service failed. Response from web service: [{status}]")),
                    // Spread over the last 10 days, oldest first.
                    failed_at: now - 10 * 86_400_000 + (k as i64 * 10 * 86_400_000 / n as i64),
                    payload_unavailable: None,
                    next_attempt_at: Some(now),
                    execution_data: None,
                }
            })
            .collect();
        store.insert_batch(&batch, now).unwrap();
        i += batch_size;
    }
    let took = start.elapsed();
    drop(store);
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "UPDATE entries SET state = CASE WHEN id % 20 < 12 THEN 'delivered' WHEN id % 20 < 14 THEN 'dead' \
         WHEN id % 20 = 14 THEN 'discarded' ELSE 'pending' END; ANALYZE;",
    )
    .unwrap();
    took
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The number after `name` on the command line (`-- --entries 1000`), or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.replace('_', "").parse().unwrap_or_else(|_| panic!("{name} takes a whole number, not {v:?}"))
        })
        .unwrap_or(default)
}

/// One line of the suite's summary: a figure beside its reference from the same run.
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub reference: String,
    pub ratio: Option<f64>,
    pub goal: String,
    /// `None`: no goal for this figure.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(figure: impl Into<String>, measured: impl Into<String>, reference: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            measured: measured.into(),
            reference: reference.into(),
            ratio: None,
            goal: "-".into(),
            met: None,
        }
    }

    /// A ratio and its goal (`>= 0.5`, `< 0.01`), checked.
    pub fn ratio(mut self, ratio: f64, goal: &str) -> Row {
        self.ratio = Some(ratio);
        self.met = match goal.split_once(' ') {
            Some((">=", v)) => Some(ratio >= v.parse::<f64>().unwrap()),
            Some(("<", v)) => Some(ratio < v.parse::<f64>().unwrap()),
            _ => None,
        };
        self.goal = goal.into();
        self
    }

    /// A goal on the measured value itself (`< 300 ms`): `value` against `limit`.
    pub fn below(mut self, value: f64, limit: f64, goal: &str) -> Row {
        self.ratio = Some(value / limit);
        self.goal = goal.into();
        self.met = Some(value < limit);
        self
    }
}

pub fn print_rows(rows: &[Row]) {
    println!(
        "{:<52} {:>16} {:>18} {:>7} {:>10}  verdict",
        "figure", "measured", "reference", "ratio", "goal"
    );
    for r in rows {
        let ratio = r.ratio.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
        let verdict = match r.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "",
        };
        println!(
            "{:<52} {:>16} {:>18} {:>7} {:>10}  {verdict}",
            r.figure, r.measured, r.reference, ratio, r.goal
        );
    }
}

/// The `p`th percentile of `v` (sorted here).
pub fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p / 100.0).round() as usize]
}

/// The median of `v` (sorted here): the figure of several alternating rounds.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
