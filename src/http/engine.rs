//! The one thread that owns the [`Ledger`]: it takes every queued request, runs them as one
//! batch (one durable commit) and answers each caller. After a storage failure it reopens the
//! ledger, which recovers from the journal, because redb refuses every later write until then.

use super::metrics::Metrics;
use crate::domain::Head;
use crate::error::ErrorCode;
use crate::ledger::{Ledger, OpenError, ReplicaError};
use crate::protocol::{Request, Response};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// Opens the ledger, at start and again after a storage failure.
pub type Opener = Box<dyn Fn() -> Result<Ledger, OpenError> + Send>;

/// Requests per batch, at most: callers queued beyond it wait for the next commit.
const BATCH_REQUESTS_MAX: usize = 10_000;
/// The longest a batch waits for more requests (only when the previous batch held more than it
/// holds yet: a lone caller never waits).
const LINGER: Duration = Duration::from_micros(300);

enum Job {
    /// Requests to run in one batch.
    Run { requests: Vec<Request>, reply: oneshot::Sender<Vec<Response>> },
    /// A commit of the replication stream to apply, at its stream sequence number.
    Apply { payload: Vec<u8>, stream_seq: u64, reply: oneshot::Sender<Result<Head, ReplicaError>> },
}

/// How far the ledger is: its journal head and the replication stream's sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The journal head.
    pub head: Head,
    /// The stream sequence number the journal is at (0 when not replicated).
    pub stream_seq: u64,
}

/// A handle to the ledger thread. Cheap to clone; the thread stops (and closes the ledger
/// cleanly) once every handle is dropped.
#[derive(Clone)]
pub struct Engine {
    jobs: mpsc::Sender<Job>,
    applied: Arc<watch::Sender<Applied>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Engine").field("head", &self.head()).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the ledger thread on an opened ledger. Returns the handle and the thread, which
    /// ends once every handle is gone and the ledger is closed.
    pub fn start(ledger: Ledger, opener: Opener, metrics: Arc<Metrics>) -> (Engine, std::thread::JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel();
        let applied = Arc::new(watch::Sender::new(Applied { head: ledger.head(), stream_seq: ledger.stream_seq() }));
        let thread_applied = Arc::clone(&applied);
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || run(ledger, opener, &queue, &thread_applied, &metrics))
            .expect("the ledger thread starts");
        (Engine { jobs, applied }, thread)
    }

    /// Runs requests in order, sharing a durable commit with every other caller queued now;
    /// answers once they are durable.
    pub async fn execute(&self, requests: Vec<Request>) -> Vec<Response> {
        let count = requests.len();
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job::Run { requests, reply }).is_ok()
            && let Ok(responses) = answer.await
        {
            return responses;
        }
        (0..count).map(|_| stopped()).collect()
    }

    /// Runs one request.
    pub async fn execute_one(&self, request: Request) -> Response {
        self.execute(vec![request]).await.pop().unwrap_or_else(stopped)
    }

    /// Applies one commit of the replication stream (see [`Ledger::apply_replicated`]).
    ///
    /// # Errors
    /// [`ReplicaError`]; a stopped ledger thread is a store error.
    pub async fn apply(&self, payload: Vec<u8>, stream_seq: u64) -> Result<Head, ReplicaError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ReplicaError::Unavailable("the ledger is shutting down");
        self.jobs.send(Job::Apply { payload, stream_seq, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The last committed seq, as of the last batch.
    pub fn head(&self) -> u64 {
        self.applied.borrow().head.seq
    }

    /// How far the ledger is, as of the last batch.
    pub fn applied(&self) -> Applied {
        *self.applied.borrow()
    }

    /// Waits until the journal holds `seq`, for at most `patience`; whether it does.
    pub async fn reached(&self, seq: u64, patience: Duration) -> bool {
        let mut changes = self.applied.subscribe();
        tokio::time::timeout(patience, changes.wait_for(|applied| applied.head.seq >= seq)).await.is_ok_and(|waited| waited.is_ok())
    }
}

fn stopped() -> Response {
    Response::Failed { id: None, rejection: crate::Rejection::new(ErrorCode::Storage, "the ledger is shutting down") }
}

fn run(ledger: Ledger, opener: Opener, queue: &mpsc::Receiver<Job>, applied: &watch::Sender<Applied>, metrics: &Metrics) {
    let mut ledger = Some(ledger);
    // Requests of the previous batch: under concurrent load, the next batch waits briefly for
    // as many, so that a few quick requests do not take a whole durable commit to themselves.
    let mut previous = 1;
    // A job taken from the queue while gathering a batch that cannot join it.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let (requests, reply) = match first {
            Job::Run { requests, reply } => (requests, reply),
            Job::Apply { payload, stream_seq, reply } => {
                let result = match reopened(&mut ledger, &opener) {
                    Some(open) => open.apply_replicated(&payload, stream_seq),
                    None => Err(ReplicaError::Unavailable("the ledger could not be reopened")),
                };
                if let Some(open) = &ledger {
                    applied.send_replace(Applied { head: open.head(), stream_seq: open.stream_seq() });
                }
                if matches!(result, Err(ReplicaError::Store(_))) {
                    tracing::error!("applying a replicated commit failed; reopening the ledger");
                    ledger = None;
                }
                let _ = reply.send(result);
                continue;
            }
        };
        let mut jobs = vec![(requests, reply)];
        let mut count = jobs[0].0.len();
        let linger_until = Instant::now() + LINGER;
        while count < BATCH_REQUESTS_MAX {
            let next = if count < previous {
                queue.recv_timeout(linger_until.saturating_duration_since(Instant::now())).ok()
            } else {
                queue.try_recv().ok()
            };
            match next {
                Some(Job::Run { requests, reply }) => {
                    count += requests.len();
                    jobs.push((requests, reply));
                }
                Some(apply) => {
                    carried = Some(apply);
                    break;
                }
                None => break,
            }
        }
        previous = count;
        let mut requests = Vec::with_capacity(count);
        let replies: Vec<(usize, oneshot::Sender<Vec<Response>>)> = jobs
            .into_iter()
            .map(|(job_requests, reply)| {
                let answers = job_requests.len();
                requests.extend(job_requests);
                (answers, reply)
            })
            .collect();
        let responses = match reopened(&mut ledger, &opener) {
            Some(open) => {
                let started = Instant::now();
                let responses = open.execute_batch(&requests);
                metrics.batch(started.elapsed(), requests.len());
                applied.send_replace(Applied { head: open.head(), stream_seq: open.stream_seq() });
                if responses.iter().any(|response| response.rejection().is_some_and(|rejection| rejection.code == ErrorCode::Storage)) {
                    tracing::error!("a commit failed; reopening the ledger");
                    metrics.reopen();
                    ledger = None;
                }
                responses
            }
            None => requests
                .iter()
                .map(|request| Response::Failed {
                    id: request.id.as_ref().map(|id| id.as_str().to_owned()),
                    rejection: crate::Rejection::new(ErrorCode::Storage, "the ledger could not be reopened"),
                })
                .collect(),
        };
        let mut responses = responses.into_iter();
        for (answers, reply) in replies {
            let _ = reply.send(responses.by_ref().take(answers).collect());
        }
    }
    if let Some(open) = ledger
        && let Err(error) = open.checkpoint()
    {
        tracing::error!(%error, "the closing checkpoint failed (the journal holds everything)");
    }
}

/// The open ledger, reopening it after a failure (with a short pause between attempts).
fn reopened<'l>(ledger: &'l mut Option<Ledger>, opener: &Opener) -> Option<&'l Ledger> {
    if ledger.is_none() {
        for attempt in 0..3 {
            match opener() {
                Ok(open) => {
                    tracing::info!(seq = open.head().seq, "the ledger was reopened");
                    *ledger = Some(open);
                    break;
                }
                Err(error) => {
                    tracing::error!(%error, attempt, "reopening the ledger failed");
                    std::thread::sleep(Duration::from_millis(50 << attempt));
                }
            }
        }
    }
    ledger.as_ref()
}
