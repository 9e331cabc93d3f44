//! The `Ledger` handle: opens the store, keeps the in-memory state, decides commands through the
//! pure core and commits them durably, alone or in batches.

use crate::domain::{self, Context, Head, RequestEntry, State, Transaction, Undo};
use crate::error::{ErrorCode, Rejection};
use crate::id::{Id, Party};
use crate::journal::chain_hash;
use crate::protocol::{self, Body, Request, Response};
use crate::store::{Pending, Store, StoreError, Unchecked, records};
use crate::time::{Clock, SystemClock};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Commands per durable commit in [`Ledger::execute_batch`], at most.
pub const BATCH_COMMANDS_MAX: usize = 100_000;
/// Durable transactions between two checkpoints of the derived tables, at most.
pub const CHECKPOINT_TRANSACTIONS: usize = 65_536;
/// Records, balances and index entries the state caches before it checkpoints and empties
/// itself (by default; see [`Ledger::set_cache_entries_max`]).
pub const CACHE_ENTRIES_MAX: usize = 300_000;
/// Fetch rounds for one request before its state loads everything (a request that keeps finding
/// new things missing; none does in practice).
const FETCH_ROUNDS_MAX: usize = 64;

/// Where a replicated ledger sends each durable commit before committing it locally (SPEC
/// section 9): the stream of its book, which is the journal of record.
pub trait Replicator: Send {
    /// Whether this node may decide commands now; the rejection (`not_leader`) when it may not.
    ///
    /// # Errors
    /// The rejection every command gets meanwhile.
    fn accepting(&self) -> Result<(), Rejection>;

    /// Publishes one commit and blocks until its outcome is known: the stream sequence number
    /// that holds it, or a rejection when it certainly was not written (then nothing of it is
    /// applied). An unknown outcome is never returned: it is resolved first.
    ///
    /// # Errors
    /// `not_leader` when the stream refused it (another node leads), or another rejection when
    /// the commit cannot be written at all.
    fn publish(&mut self, commit: &Commit<'_>) -> Result<u64, Rejection>;
}

/// One durable commit as a [`Replicator`] publishes it.
#[derive(Debug)]
pub struct Commit<'a> {
    /// Its journal records ([`crate::records::encode_commit`]).
    pub payload: &'a [u8],
    /// Its first and last journal `seq`.
    pub first_seq: u64,
    /// Its last journal `seq`.
    pub last_seq: u64,
    /// The chain hash of its last record.
    pub head: crate::ChainHash,
    /// The stream sequence number this ledger has applied up to: the commit must follow it.
    pub expected: u64,
}

/// Applying a commit of the stream failed ([`Ledger::apply_replicated`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The local store failed: nothing of the commit was applied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The commit does not continue this ledger's journal, or its records do not apply: the
    /// local file and the stream disagree, and the node must not go on with this file.
    #[error("the stream does not continue the local journal: {0}")]
    Diverged(String),
    /// The ledger is closed or could not be reopened: try again later.
    #[error("{0}")]
    Unavailable(&'static str),
}

/// An open ledger. `Send + Sync`: share it between threads behind an `Arc`.
///
/// Commands from concurrent [`Ledger::execute`] calls share durable commits (group commit): one
/// caller commits everything queued and hands over to the next, and every caller returns only
/// once its own command is durable.
pub struct Ledger {
    inner: Mutex<Inner>,
    queue: Mutex<Queue>,
    clock: Box<dyn Clock>,
}

struct Inner {
    store: Store,
    state: State,
    undo: Undo,
    /// Durable in the journal, not yet in the derived tables.
    unchecked: Unchecked,
    /// The cache's size that makes it checkpoint and empty itself.
    cache_entries_max: usize,
    /// Where commits go before they are committed locally, when replicated.
    replicator: Option<Box<dyn Replicator>>,
    /// The replication stream's sequence number the journal is at (0 when not replicated).
    stream_seq: u64,
    /// Encoded journal bytes per durable commit, at most (a stream message has a size limit).
    commit_bytes_max: usize,
    /// What the durable commits took since opening.
    commits: CommitStats,
}

/// The durable commits a ledger made since it was opened ([`Ledger::commit_stats`]): how many
/// commands share a commit, and how much of the time the journal write and its sync take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Durable commits written (failed ones included).
    pub commits: u64,
    /// Commands they carried.
    pub commands: u64,
    /// Wall time spent in them (replication aside): writing the journal and syncing it.
    pub committing: Duration,
}

impl CommitStats {
    /// What happened between `earlier` and `self`.
    #[must_use]
    pub fn since(&self, earlier: &CommitStats) -> CommitStats {
        CommitStats {
            commits: self.commits.saturating_sub(earlier.commits),
            commands: self.commands.saturating_sub(earlier.commands),
            committing: self.committing.saturating_sub(earlier.committing),
        }
    }
}

impl std::ops::AddAssign for CommitStats {
    fn add_assign(&mut self, more: CommitStats) {
        self.commits += more.commits;
        self.commands += more.commands;
        self.committing += more.committing;
    }
}

/// Requests waiting for a group commit, and whether some caller is committing.
#[derive(Default)]
struct Queue {
    waiting: Vec<(Request, Arc<Slot>)>,
    leading: bool,
    /// How many requests the last group commit carried.
    last_group: usize,
}

enum Turn {
    Wait,
    Lead,
    Done(Response),
}

/// Where a waiting caller learns its response, or that it is its turn to commit for everyone.
struct Slot {
    turn: Mutex<Turn>,
    ready: Condvar,
}

impl Slot {
    fn set(&self, turn: Turn) {
        *self.turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = turn;
        self.ready.notify_one();
    }
}

/// Opening a ledger failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the ledger: {0}")]
pub struct OpenError(#[from] pub StoreError);

impl std::fmt::Debug for Ledger {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Ledger").finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens (or creates) the ledger file at `path`, using the system clock.
    ///
    /// # Errors
    /// [`OpenError`] when the file cannot be opened or read (e.g. another process holds it).
    pub fn open(path: impl AsRef<Path>) -> Result<Ledger, OpenError> {
        Self::open_with_clock(path, Box::new(SystemClock))
    }

    /// Opens (or creates) the ledger at `path` with an injected clock.
    ///
    /// # Errors
    /// As [`Ledger::open`].
    pub fn open_with_clock(path: impl AsRef<Path>, clock: Box<dyn Clock>) -> Result<Ledger, OpenError> {
        Self::from_store(Store::open(path.as_ref())?, clock)
    }

    /// Opens (or creates) the ledger at `path`, first checking every page's checksum: a damaged
    /// file is refused with an error instead of being read. Costs a read of the whole file.
    ///
    /// # Errors
    /// As [`Ledger::open`], and when the file is damaged.
    pub fn open_checked(path: impl AsRef<Path>, clock: Box<dyn Clock>) -> Result<Ledger, OpenError> {
        Self::from_store(Store::open_with(path.as_ref(), true)?, clock)
    }

    /// Opens a ledger on a prepared [`Store`] (e.g. one over a custom redb storage backend).
    ///
    /// # Errors
    /// As [`Ledger::open`].
    pub fn from_store(store: Store, clock: Box<dyn Clock>) -> Result<Ledger, OpenError> {
        let (state, unchecked) = store.recover()?;
        let stream_seq = store.stream_seq()?;
        let inner = Inner {
            store,
            state,
            undo: Undo::default(),
            unchecked,
            cache_entries_max: CACHE_ENTRIES_MAX,
            replicator: None,
            stream_seq,
            commit_bytes_max: usize::MAX,
            commits: CommitStats::default(),
        };
        Ok(Ledger { inner: Mutex::new(inner), queue: Mutex::new(Queue::default()), clock })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock can only come from a bug; the state it guards is rolled
        // back before any early return, so continuing with it is sound.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The durable commits made since opening (for measuring group commits).
    pub fn commit_stats(&self) -> CommitStats {
        self.lock().commits
    }

    /// The journal head: last `seq`, its chain hash and time.
    pub fn head(&self) -> Head {
        self.lock().state.head()
    }

    /// Replicates this ledger (SPEC section 9): from now on every durable commit is published
    /// through `replicator`, and committed locally only once the stream acknowledged it; a
    /// commit holds at most `commit_bytes_max` bytes of journal records (one command beyond).
    pub fn set_replicator(&self, replicator: Box<dyn Replicator>, commit_bytes_max: usize) {
        let mut inner = self.lock();
        inner.replicator = Some(replicator);
        inner.commit_bytes_max = commit_bytes_max;
    }

    /// The replication stream's sequence number this ledger's journal is at (0 when it never
    /// was replicated).
    pub fn stream_seq(&self) -> u64 {
        self.lock().stream_seq
    }

    /// Applies one commit of the replication stream, at `stream_seq`, without deciding anything
    /// again: checks that it continues the journal (seq and hash chain), applies the recorded
    /// effects and commits it locally. A commit this ledger already holds (its own, as leader)
    /// is checked against the journal and skipped. Returns the head after it.
    ///
    /// # Errors
    /// [`ReplicaError`]: nothing of the commit was applied.
    pub fn apply_replicated(&self, payload: &[u8], stream_seq: u64) -> Result<Head, ReplicaError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if stream_seq <= inner.stream_seq {
            return Ok(inner.state.head());
        }
        let records = records::decode_commit(payload).map_err(|error| ReplicaError::Diverged(error.to_string()))?;
        let mut pending = Vec::with_capacity(records.len());
        let result = inner.replay_commit(records, &mut pending);
        if let Err(error) = result.and_then(|()| inner.store.commit_replicated(&pending, Some(stream_seq)).map_err(ReplicaError::from)) {
            inner.state.rollback(&mut inner.undo, 0);
            return Err(error);
        }
        inner.undo.clear();
        for committed in &pending {
            inner.unchecked.add(&committed.transaction);
        }
        inner.stream_seq = stream_seq;
        if inner.unchecked.len() >= CHECKPOINT_TRANSACTIONS {
            let _ = inner.checkpoint();
        }
        inner.trim_cache();
        Ok(inner.state.head())
    }

    /// Runs one request: a command is committed durably before this returns. Concurrent calls
    /// share durable commits.
    pub fn execute(&self, request: &Request) -> Response {
        let slot = Arc::new(Slot { turn: Mutex::new(Turn::Wait), ready: Condvar::new() });
        let lead = {
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.waiting.push((request.clone(), Arc::clone(&slot)));
            !std::mem::replace(&mut queue.leading, true)
        };
        if !lead {
            let mut turn = slot.turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            loop {
                match std::mem::replace(&mut *turn, Turn::Wait) {
                    Turn::Wait => turn = slot.ready.wait(turn).unwrap_or_else(std::sync::PoisonError::into_inner),
                    Turn::Lead => break,
                    Turn::Done(response) => return response,
                }
            }
        }
        self.lead(&slot)
    }

    /// Commits everything queued (including `own`, and what queues while it is being decided:
    /// a bigger group for the same commit; yielding once when that is still smaller than the
    /// last group, so callers it answered can queue again), answers the others, then hands the
    /// turn to the first caller that queued meanwhile.
    fn lead(&self, own: &Arc<Slot>) -> Response {
        let mut slots: Vec<Arc<Slot>> = Vec::new();
        let mut yielded = false;
        let responses = self.execute_batches(|| {
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Callers the last commit answered may still be on their way back: smaller than
            // the last group, this one lets them run once before it is sealed.
            if queue.waiting.is_empty() && !yielded && slots.len() < queue.last_group {
                yielded = true;
                drop(queue);
                std::thread::yield_now();
                queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            let batch = std::mem::take(&mut queue.waiting);
            drop(queue);
            let (requests, queued): (Vec<Request>, Vec<Arc<Slot>>) = batch.into_iter().unzip();
            slots.extend(queued);
            requests
        });
        let mut mine = None;
        for (slot, response) in slots.iter().zip(responses) {
            if Arc::ptr_eq(slot, own) { mine = Some(response) } else { slot.set(Turn::Done(response)) }
        }
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.last_group = slots.len();
        match queue.waiting.first() {
            Some((_, next)) => next.set(Turn::Lead),
            None => queue.leading = false,
        }
        mine.unwrap_or_else(|| storage_failure(None, "the request was lost from its group commit"))
    }

    /// Writes the state tables (balances, request ids, records) up to the journal head. Happens by itself every [`CHECKPOINT_TRANSACTIONS`], before
    /// queries that read history, before `verify`, and when the ledger is dropped; a crash before
    /// it loses nothing (the journal is replayed on open).
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.lock().checkpoint()
    }

    /// Decodes and runs one JSON line.
    pub fn execute_line(&self, line: &str) -> Response {
        match protocol::decode_line(line) {
            Ok(request) => self.execute(&request),
            Err(error) => Response::Failed { id: error.id, rejection: error.rejection },
        }
    }

    /// Runs requests in order; the commands share durable commits (a query first commits what
    /// precedes it, so it sees it). Responses come back in order once durable. If the store fails,
    /// every response of the failed commit is a `storage` error and nothing of it is applied.
    pub fn execute_batch(&self, requests: &[Request]) -> Vec<Response> {
        let mut given = Some(requests);
        self.execute_batches(|| given.take().unwrap_or_default())
    }

    /// As [`Ledger::execute_batch`] for the requests `next` gives, called again after each
    /// (decided, not yet committed) until it gives none: requests that arrive while a group is
    /// being decided join its commit.
    fn execute_batches<R: std::borrow::Borrow<[Request]>>(&self, mut next: impl FnMut() -> R) -> Vec<Response> {
        let mut inner = self.lock();
        let mut responses = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut first_uncommitted = 0;
        let mut pending_bytes = 0;
        loop {
            let requests = next();
            if requests.borrow().is_empty() {
                break;
            }
            responses.reserve(requests.borrow().len());
            for request in requests.borrow() {
                if matches!(request.body, Body::Query(_)) || pending.len() >= BATCH_COMMANDS_MAX || pending_bytes >= inner.commit_bytes_max
                {
                    inner.flush(&mut pending, &mut responses[first_uncommitted..]);
                    first_uncommitted = responses.len();
                    pending_bytes = 0;
                }
                let queued = pending.len();
                let response = inner.process(request, &mut pending, self.clock.as_ref());
                pending_bytes += pending[queued..].iter().map(|pending| pending.body.len() + 37).sum::<usize>();
                responses.push(response);
            }
        }
        inner.flush(&mut pending, &mut responses[first_uncommitted..]);
        inner.trim_cache();
        responses
    }

    /// Sets how many records, balances and index entries the state caches before it writes a
    /// checkpoint and empties itself (at least 0: then it empties after every batch, which
    /// tests use to make every read go to the store).
    pub fn set_cache_entries_max(&self, entries: usize) {
        self.lock().cache_entries_max = entries;
    }

    /// Decodes and runs lines as one batch (see [`Ledger::execute_batch`]).
    pub fn execute_lines<S: AsRef<str>>(&self, lines: &[S]) -> Vec<Response> {
        let mut decoded = Vec::with_capacity(lines.len());
        let mut failures = HashMap::new();
        for (index, line) in lines.iter().enumerate() {
            match protocol::decode_line(line.as_ref()) {
                Ok(request) => decoded.push(request),
                Err(error) => {
                    failures.insert(index, Response::Failed { id: error.id, rejection: error.rejection });
                }
            }
        }
        let mut executed = self.execute_batch(&decoded).into_iter();
        (0..lines.len()).map(|index| failures.remove(&index).or_else(|| executed.next()).expect("one response per line")).collect()
    }

    /// Writes a checkpoint, brings the history tables up to date, then compacts the file (frees
    /// the pages copy-on-write left behind). Safe at any time; commands wait while it runs.
    ///
    /// # Errors
    /// [`StoreError`] when a write or the compaction fails.
    pub fn compact(&self) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        inner.checkpoint()?;
        inner.store.catch_up_history()?;
        inner.store.compact()
    }

    /// Calls `visit` with every committed transaction in `seq` order (for exports and audits).
    ///
    /// # Errors
    /// [`StoreError`] when the journal cannot be read, or the first error `visit` returns.
    pub fn for_each_transaction<E: From<StoreError>>(&self, mut visit: impl FnMut(&Transaction) -> Result<(), E>) -> Result<(), E> {
        let inner = self.lock();
        inner.store.for_each_transaction(|_, _, _, transaction| visit(&transaction))
    }

    /// The registration of a party or operator, when registered.
    pub fn party(&self, party: &Party) -> Option<domain::PartyRecord> {
        self.lock().read(|state| state.party(party).cloned()).ok().flatten()
    }

    /// Every access key of the HTTP interface (kept apart from the journal).
    ///
    /// # Errors
    /// [`StoreError`] when the keys cannot be read.
    pub fn access_keys(&self) -> Result<Vec<crate::AccessKey>, StoreError> {
        self.lock().store.access_keys()
    }

    /// Writes an access key (a new one, or one being revoked), durably.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn put_access_key(&self, key: &crate::AccessKey) -> Result<(), StoreError> {
        self.lock().store.put_access_key(key)
    }

    /// The journal record at `seq` as stored: its chain hash and body bytes (to compare a
    /// replica's journal with its book's stream, record by record).
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn journal_record(&self, seq: u64) -> Result<Option<(crate::ChainHash, Vec<u8>)>, StoreError> {
        self.lock().store.journal_record(seq)
    }

    /// Replays the whole journal and checks it against the stored state (see [`crate::verify`]).
    ///
    /// # Errors
    /// [`crate::VerifyError`] naming the first mismatch.
    pub fn verify(&self) -> Result<crate::VerifyReport, crate::VerifyError> {
        let mut inner = self.lock();
        inner.checkpoint()?;
        inner.store.catch_up_history()?;
        crate::audit::verify_store(&inner.store)
    }
}

/// The request id a response echoes.
fn response_id(response: &Response) -> Option<String> {
    match response {
        Response::Committed { id, .. } => Some(id.to_string()),
        Response::Answer { id, .. } => id.as_ref().map(Id::to_string),
        Response::Failed { id, .. } => id.clone(),
    }
}

/// A failed fsync leaves the outcome unknown: the batch may or may not be on disk. Nothing of it
/// is applied in memory, and resending with the same id is safe (a committed request answers as
/// a duplicate).
fn storage_failure(id: Option<String>, message: &str) -> Response {
    let message = format!("the store failed; not acknowledged, resend with the same id after reopening the ledger: {message}");
    Response::Failed { id, rejection: Rejection::new(ErrorCode::Storage, message) }
}

impl Inner {
    /// Runs `request` on the state; when the decision read something the state's cache did not
    /// hold, takes the decision back, fetches what was missing and decides again.
    fn process(&mut self, request: &Request, pending: &mut Vec<Pending>, clock: &dyn Clock) -> Response {
        for _ in 0..FETCH_ROUNDS_MAX {
            let (mark, queued) = (self.undo.mark(), pending.len());
            let response = self.decide(request, pending, clock);
            let misses = self.state.take_misses();
            if misses.is_empty() {
                return response;
            }
            pending.truncate(queued);
            self.state.rollback(&mut self.undo, mark);
            if let Err(error) = self.store.fetch(&mut self.state, misses) {
                return storage_failure(request.id.as_ref().map(Id::to_string), &error.to_string());
            }
        }
        let misses = vec![domain::Miss::Everything];
        if let Err(error) = self.store.fetch(&mut self.state, misses) {
            return storage_failure(request.id.as_ref().map(Id::to_string), &error.to_string());
        }
        let response = self.decide(request, pending, clock);
        debug_assert!(self.state.take_misses().is_empty(), "a state holding everything never misses");
        response
    }

    /// What `read` finds in the state, fetching what it misses first.
    fn read<T>(&mut self, read: impl Fn(&State) -> T) -> Result<T, StoreError> {
        for _ in 0..FETCH_ROUNDS_MAX {
            let found = read(&self.state);
            let misses = self.state.take_misses();
            if misses.is_empty() {
                return Ok(found);
            }
            self.store.fetch(&mut self.state, misses)?;
        }
        self.store.fetch(&mut self.state, vec![domain::Miss::Everything])?;
        Ok(read(&self.state))
    }

    /// Empties the cache once it holds more than its maximum, after a checkpoint, so it holds
    /// nothing that is not in the store.
    fn trim_cache(&mut self) {
        if self.state.cached() > self.cache_entries_max && self.checkpoint().is_ok() && self.undo.mark() == 0 {
            self.state.evict();
        }
    }

    /// Checks the records of a replicated commit and applies them on the state (recorded in
    /// the undo log), collecting those the journal does not hold yet in `pending`.
    fn replay_commit(
        &mut self,
        records: Vec<(crate::ChainHash, Vec<u8>, Transaction)>,
        pending: &mut Vec<Pending>,
    ) -> Result<(), ReplicaError> {
        for (hash, body, transaction) in records {
            let head = self.state.head();
            if chain_hash(&body) != hash {
                return Err(ReplicaError::Diverged(format!("seq {}: the hash does not match the record", transaction.seq)));
            }
            if transaction.seq <= head.seq {
                // Already in the journal (this node's own commit): it must be the same record.
                let held = self.store.transaction(transaction.seq)?;
                if held.as_ref().map(records::encode_transaction_body) != Some(body) {
                    return Err(ReplicaError::Diverged(format!("seq {}: the stream holds another record", transaction.seq)));
                }
                continue;
            }
            if transaction.seq != head.seq + 1 || transaction.prev_hash != head.hash {
                return Err(ReplicaError::Diverged(format!("seq {} does not continue seq {}", transaction.seq, head.seq)));
            }
            self.store.replay(&mut self.state, &mut self.undo, &transaction, hash).map_err(|error| match error {
                StoreError::Corrupt(decode) => ReplicaError::Diverged(decode.to_string()),
                other => ReplicaError::Store(other),
            })?;
            let lean = records::lean_form(&transaction, &body);
            pending.push(Pending { transaction, body, hash, lean });
        }
        Ok(())
    }

    fn decide(&mut self, request: &Request, pending: &mut Vec<Pending>, clock: &dyn Clock) -> Response {
        match &request.body {
            Body::Query(_) if request.min_seq.is_some_and(|min_seq| min_seq > self.state.head().seq) => {
                let message = format!("applied up to seq {}, not {}", self.state.head().seq, request.min_seq.unwrap_or_default());
                Response::Failed { id: request.id.as_ref().map(Id::to_string), rejection: Rejection::new(ErrorCode::NotApplied, message) }
            }
            Body::Query(query) => {
                // What the query reads from the store's tables must hold every commit first.
                let current = if query.reads_history() {
                    self.checkpoint().and_then(|()| self.store.catch_up_history())
                } else if query.reads_every_customer(&request.actor) {
                    self.checkpoint()
                } else {
                    Ok(())
                };
                if let Err(error) = current {
                    return storage_failure(request.id.as_ref().map(Id::to_string), &error.to_string());
                }
                crate::query::answer(&self.store, &self.state, request, query, request.at.unwrap_or_else(|| clock.now()))
            }
            Body::Command(command) => {
                let Some(id) = &request.id else {
                    let rejection = Rejection::new(ErrorCode::InvalidRequest, "field id is required");
                    return Response::Failed { id: None, rejection };
                };
                self.command(id, request, command, pending, clock)
            }
        }
    }

    fn command(
        &mut self,
        id: &Id,
        request: &Request,
        command: &domain::Command,
        pending: &mut Vec<Pending>,
        clock: &dyn Clock,
    ) -> Response {
        if let Some(Err(rejection)) = self.replicator.as_ref().map(|replicator| replicator.accepting()) {
            return Response::Failed { id: Some(id.to_string()), rejection };
        }
        // Typed requests get the decoder's structural checks too.
        if let Err(rejection) = domain::validate(command) {
            return Response::Failed { id: Some(id.to_string()), rejection };
        }
        let fingerprint = domain::fingerprint(&request.actor, request.at, command);
        let mut id_reused = false;
        if let Some(entry) = self.state.request(id).copied() {
            if entry.fingerprint == fingerprint {
                return self.duplicate(id, entry.seq, pending);
            }
            id_reused = true;
        }
        let head = self.state.head();
        // Without `at`, the engine's clock; a clock behind the journal never fails a command.
        let at = request.at.unwrap_or_else(|| clock.now().max(head.at));
        let context = Context { actor: &request.actor, at, seq: head.seq + 1, request: id, id_reused, part: 0, grouped: false };
        let mark = self.undo.mark();
        let effects = match domain::run(&mut self.state, &context, command, &mut self.undo) {
            Ok(effects) => effects,
            Err(rejection) => return Response::Failed { id: Some(id.to_string()), rejection },
        };
        let transaction = Transaction {
            seq: head.seq + 1,
            at,
            request: id.clone(),
            actor: request.actor.clone(),
            command: command.clone(),
            fingerprint,
            effects,
            prev_hash: head.hash,
        };
        let decided = Pending::decided(transaction, request.at.is_some());
        let seq = decided.transaction.seq;
        self.state.commit(id, RequestEntry { seq, fingerprint }, Head { seq, hash: decided.hash, at }, &mut self.undo);
        debug_assert!(self.undo.mark() > mark);
        let response = Response::Committed { id: id.clone(), seq, duplicate: false, outcome: decided.transaction.effects.outcome.clone() };
        pending.push(decided);
        response
    }

    fn duplicate(&self, id: &Id, seq: u64, pending: &[Pending]) -> Response {
        let original = match pending.iter().find(|pending| pending.transaction.seq == seq) {
            Some(pending) => Ok(Some(pending.transaction.effects.outcome.clone())),
            None => self.store.transaction(seq).map(|transaction| transaction.map(|transaction| transaction.effects.outcome)),
        };
        match original {
            Ok(Some(outcome)) => Response::Committed { id: id.clone(), seq, duplicate: true, outcome },
            Ok(None) => storage_failure(Some(id.to_string()), &format!("journal entry {seq} is missing")),
            Err(error) => storage_failure(Some(id.to_string()), &error.to_string()),
        }
    }

    /// Commits `pending` durably. On failure, rolls the state back and turns every command
    /// response of the batch into a `storage` error.
    fn flush(&mut self, pending: &mut Vec<Pending>, responses: &mut [Response]) {
        if pending.is_empty() {
            return;
        }
        let mut stream_seq = None;
        if let Some(replicator) = self.replicator.as_mut() {
            let payload = records::encode_commit(pending.iter().map(|pending| (&pending.hash, pending.body.as_slice())));
            let (first, last) = (&pending[0], &pending[pending.len() - 1]);
            let commit = Commit {
                payload: &payload,
                first_seq: first.transaction.seq,
                last_seq: last.transaction.seq,
                head: last.hash,
                expected: self.stream_seq,
            };
            match replicator.publish(&commit) {
                Ok(published) => stream_seq = Some(published),
                Err(rejection) => {
                    self.state.rollback(&mut self.undo, 0);
                    for response in responses.iter_mut() {
                        *response = Response::Failed { id: response_id(response), rejection: rejection.clone() };
                    }
                    pending.clear();
                    return;
                }
            }
        }
        let started = Instant::now();
        let committed = self.store.commit_replicated(pending, stream_seq);
        self.commits.commits += 1;
        self.commits.commands += pending.len() as u64;
        self.commits.committing += started.elapsed();
        match committed {
            Ok(()) => {
                if let Some(published) = stream_seq {
                    self.stream_seq = published;
                }
                self.undo.clear();
                for committed in pending.iter() {
                    self.unchecked.add(&committed.transaction);
                }
                // A failed checkpoint loses nothing: the journal holds it, and it is retried.
                if self.unchecked.len() >= CHECKPOINT_TRANSACTIONS {
                    let _ = self.checkpoint();
                }
            }
            Err(error) => {
                self.state.rollback(&mut self.undo, 0);
                for response in responses.iter_mut() {
                    *response = storage_failure(response_id(response), &error.to_string());
                }
            }
        }
        pending.clear();
    }
}

impl Inner {
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        if self.unchecked.is_empty() {
            return Ok(());
        }
        self.store.checkpoint(&self.unchecked, &self.state)?;
        self.unchecked = Unchecked::default();
        Ok(())
    }
}

impl Drop for Ledger {
    /// Best effort: a checkpoint now saves replaying the journal tail at the next open.
    fn drop(&mut self) {
        let _ = self.lock().checkpoint();
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    fn ok(ledger: &Ledger, line: &str) {
        let response = ledger.execute_line(line);
        assert!(response.is_ok(), "{}", response.to_line());
    }

    /// Commit statistics count durable commits and the commands they carried: a batch is one
    /// commit, a query inside it ends one, a refused command and a query alone make none.
    #[test]
    fn commit_stats_count_each_durable_commit_and_its_commands() {
        use super::CommitStats;
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(dir.path().join("ledger.redb")).expect("open");
        assert_eq!(ledger.commit_stats(), CommitStats::default());
        ok(&ledger, r#"{"op":"register_partner","id":"p","actor":"platform","partner":"D1","kind":"distributor"}"#);
        let one = ledger.commit_stats();
        assert_eq!((one.commits, one.commands), (1, 1));
        let responses = ledger.execute_lines(&[
            r#"{"op":"recharge","id":"r1","actor":"platform","party":"partner:D1","amount":"100"}"#,
            r#"{"op":"recharge","id":"r2","actor":"platform","party":"partner:D1","amount":"-1"}"#,
            r#"{"op":"recharge","id":"r3","actor":"platform","party":"partner:D1","amount":"5"}"#,
            r#"{"op":"balance","actor":"platform","party":"partner:D1"}"#,
            r#"{"op":"recharge","id":"r4","actor":"platform","party":"partner:D1","amount":"7"}"#,
        ]);
        assert_eq!(responses.iter().map(crate::Response::is_ok).collect::<Vec<_>>(), [true, false, true, true, true]);
        let batch = ledger.commit_stats().since(&one);
        assert_eq!((batch.commits, batch.commands), (2, 3), "r1 and r3 before the query, r4 after it");
        assert!(batch.committing > std::time::Duration::ZERO);
        let before = ledger.commit_stats();
        assert!(ledger.execute_line(r#"{"op":"balance","actor":"platform","party":"partner:D1"}"#).is_ok());
        assert_eq!(ledger.commit_stats(), before, "a query alone commits nothing");
        let mut total = one;
        total += batch;
        assert_eq!(total, before);
    }

    /// A party record fetched from the store brings the party's balances with it (one fetch
    /// round where the rules go on from the party to its accounts).
    #[test]
    fn a_party_fetched_from_the_store_comes_with_its_balances() {
        use crate::journal::{Account, AccountKind};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.redb");
        {
            let ledger = Ledger::open(&path).expect("open");
            ok(&ledger, r#"{"op":"register_partner","id":"p","actor":"platform","partner":"D1","kind":"distributor"}"#);
            ok(&ledger, r#"{"op":"recharge","id":"r","actor":"platform","party":"partner:D1","amount":"100"}"#);
            ok(&ledger, r#"{"op":"register_customer","id":"c","actor":"platform","customer":"C1","partner":"D1"}"#);
            ok(&ledger, r#"{"op":"allocate","id":"a","actor":"partner:D1","to":"customer:C1","amount":"10"}"#);
        }
        let ledger = Ledger::open(&path).expect("reopen");
        let customer = crate::Party::Customer(crate::Id::new("C1").expect("id"));
        assert!(ledger.party(&customer).is_some());
        let inner = ledger.lock();
        // Read with its record: the allocated balance from the store, the others as never posted.
        for kind in [AccountKind::Cash, AccountKind::Credit, AccountKind::Arrears, AccountKind::Allocated] {
            assert!(inner.state.holds_balance(&Account { owner: customer.clone(), kind: kind.clone() }), "{kind:?}");
        }
        let allocated = inner.state.balance_entry(&Account { owner: customer.clone(), kind: AccountKind::Allocated });
        assert_eq!(allocated.map(|amount| amount.to_string()), Some("10.00".to_owned()));
        assert_eq!(inner.state.balance_entry(&Account { owner: customer, kind: AccountKind::Cash }), None);
        assert!(inner.state.take_misses().is_empty(), "nothing of the customer's was missed");
    }

    /// A reopened ledger reads what a request needs, not the whole book: a balance query on a
    /// ledger of 200 customers leaves a handful of entries in its cache, a command a few more,
    /// and both answer exactly as before the reopening.
    #[test]
    fn a_reopened_ledger_reads_only_what_its_requests_need() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.redb");
        let balance = r#"{"op":"balance","actor":"platform","party":"customer:C7"}"#;
        let before = {
            let ledger = Ledger::open(&path).expect("open");
            ok(&ledger, r#"{"op":"register_partner","id":"p","actor":"platform","partner":"D1","kind":"distributor"}"#);
            ok(&ledger, r#"{"op":"recharge","id":"r","actor":"platform","party":"partner:D1","amount":"100000"}"#);
            for customer in 0..200 {
                let register = format!(
                    r#"{{"op":"register_customer","id":"c{customer}","actor":"partner:D1","customer":"C{customer}","partner":"D1"}}"#
                );
                ok(&ledger, &register);
                ok(
                    &ledger,
                    &format!(r#"{{"op":"allocate","id":"a{customer}","actor":"partner:D1","to":"customer:C{customer}","amount":"10"}}"#),
                );
            }
            ledger.execute_line(balance).to_line()
        };
        let ledger = Ledger::open(&path).expect("reopen");
        assert_eq!(ledger.lock().state.cached(), 0, "opening a cleanly closed ledger loads nothing");
        assert_eq!(ledger.execute_line(balance).to_line(), before);
        let after_query = ledger.lock().state.cached();
        assert!((1..=12).contains(&after_query), "a balance query cached {after_query} entries");
        ok(&ledger, r#"{"op":"allocate","id":"a-more","actor":"partner:D1","to":"customer:C9","amount":"5"}"#);
        let after_command = ledger.lock().state.cached();
        assert!(after_command < after_query + 12, "an allocation cached {} more entries", after_command - after_query);
        assert!(ledger.verify().is_ok());
    }

    /// A reopened ledger holds committed request ids as hashes; a resent request is still a
    /// duplicate of the original (its journal record confirms the hash), an id reused for other
    /// content is still refused, and a new id still commits. The same after the cache was
    /// emptied, when the ids this process committed are hashed too.
    #[test]
    fn a_resent_request_is_a_duplicate_after_a_reopen_and_after_the_cache_empties() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.redb");
        let allocate = |id: &str, amount: &str| {
            format!(r#"{{"op":"allocate","id":"{id}","actor":"partner:D1","to":"customer:C1","amount":"{amount}"}}"#)
        };
        let first = {
            let ledger = Ledger::open(&path).expect("open");
            ok(&ledger, r#"{"op":"register_partner","id":"p","actor":"platform","partner":"D1","kind":"distributor"}"#);
            ok(&ledger, r#"{"op":"recharge","id":"r","actor":"platform","party":"partner:D1","amount":"100000"}"#);
            ok(&ledger, r#"{"op":"register_customer","id":"c","actor":"partner:D1","customer":"C1","partner":"D1"}"#);
            (0..50).map(|index| ledger.execute_line(&allocate(&format!("a{index}"), "1")).to_line()).collect::<Vec<_>>()
        };
        let duplicate = |line: &str| line.replace(r#""duplicate":false"#, r#""duplicate":true"#);
        for evicted in [false, true] {
            let ledger = Ledger::open(&path).expect("reopen");
            if evicted {
                ledger.set_cache_entries_max(0);
                ok(&ledger, &allocate("b0", "1"));
                ok(&ledger, &allocate("b1", "1"));
                assert_eq!(ledger.lock().state.requests_held_exactly(), 0, "every id is hashed after the cache emptied");
                let resent = ledger.execute_line(&allocate("b0", "1")).to_line();
                assert!(resent.contains(r#""duplicate":true"#), "{resent}");
            }
            assert_eq!(ledger.execute_line(&allocate("a7", "1")).to_line(), duplicate(&first[7]));
            let head = ledger.head();
            let reused = ledger.execute_line(&allocate("a8", "2"));
            assert!(!reused.is_ok(), "an id reused for other content: {}", reused.to_line());
            assert_eq!(ledger.head(), head, "a refused reuse commits nothing");
            assert_eq!(ledger.execute_line(&allocate("a49", "1")).to_line(), duplicate(&first[49]));
            ok(&ledger, &allocate(&format!("new-{evicted}"), "1"));
            assert!(ledger.verify().is_ok());
        }
    }

    /// A bill made inside an atomic group is named `<request>:<index>`, which may be longer than
    /// a request id may be (64). The record index holds such names; a reopened ledger reads them
    /// back (the model test found a 64-character request id whose bill could not be read).
    #[test]
    fn a_reopened_ledger_reads_derived_ids_longer_than_a_request_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.redb");
        let long = "x".repeat(crate::ID_LENGTH_MAX);
        let bills = r#"{"op":"bills","actor":"platform","party":"customer:C1"}"#;
        let before = {
            let ledger = Ledger::open(&path).expect("open");
            ok(&ledger, r#"{"op":"register_customer","id":"c","actor":"platform","customer":"C1"}"#);
            ok(&ledger, r#"{"op":"recharge","id":"r","actor":"platform","party":"customer:C1","amount":"10"}"#);
            ok(
                &ledger,
                &format!(
                    r#"{{"op":"atomic","id":"{long}","actor":"platform","commands":[{{"op":"consume","customer":"C1","amount":"0.01"}}]}}"#
                ),
            );
            ledger.execute_line(bills).to_line()
        };
        assert!(before.contains(&format!("{long}:0")), "{before}");
        let ledger = Ledger::open(&path).expect("reopen");
        assert_eq!(ledger.execute_line(bills).to_line(), before);
        assert!(ledger.verify().is_ok());
    }
}
