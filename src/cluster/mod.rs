//! Replication (SPEC section 9): several `serve` processes keep one book on NATS JetStream.
//!
//! - The book's **stream** is the journal of record: one message per durable commit, carrying its
//!   journal records. Each node's redb file is its local copy and checkpoint.
//! - One node **leads**, holding a lease in a KV bucket with a TTL. Only the leader decides
//!   commands. It publishes each commit with `Nats-Expected-Last-Sequence` (the fence: a deposed
//!   leader's write is refused) and `Nats-Msg-Id` (a resend is a duplicate), and commits locally
//!   only once the stream acknowledged it ([`Publisher`], called by the ledger thread).
//! - The others **follow**: they apply the stream's commits as recorded, checking the hash chain
//!   ([`crate::Ledger::apply_replicated`]), serve queries, and compete for the lease when it
//!   lapses, after applying the whole stream.
//! - The access keys live in a replicated KV bucket of the book, watched by every node.
//!
//! See `docs/replication.md` for the design, the failure behaviour and the figures measured.

use crate::http::engine::Engine;
use crate::http::{Keyring, ReplicaStatus};
use crate::ledger::{Commit, ReplicaError, Replicator};
use crate::store::keys::AccessKey;
use crate::{ErrorCode, Rejection};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, kv, stream};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The oldest NATS server with what replication needs (sync before acknowledging, a sound
/// expected-last-sequence check), as `(major, minor)`.
pub const SERVER_VERSION_MIN: (u64, u64) = (2, 12);
/// Replicas of the book's stream and buckets: one server may die without losing anything.
pub const REPLICAS: usize = 3;
/// Journal bytes per commit, at most: one stream message each, under NATS's 1 MiB default
/// payload limit with room for the headers.
pub const COMMIT_BYTES_MAX: usize = 512 * 1024;
/// How long the stream remembers a `Nats-Msg-Id`, so a resent commit is a duplicate.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a follower waits for the stream's next message before it asks whether the stream
/// moved on without it (a consumer whose server died may wait for ever otherwise).
const FOLLOW_WATCHDOG: Duration = Duration::from_secs(1);
/// The lease's key in the lease bucket.
const LEASE_KEY: &str = "leader";
/// Headers of a commit message besides the NATS ones.
const FIRST_SEQ: &str = "Ledger-First-Seq";
const LAST_SEQ: &str = "Ledger-Last-Seq";
const HEAD: &str = "Ledger-Head";

/// Replication could not start or a book could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The book's name cannot name a stream.
    #[error("--book must be 1 to 64 letters, digits, '-' or '_', not {0:?}")]
    Book(String),
    /// No server could be reached.
    #[error("cannot reach NATS at {urls}: {reason}")]
    Connect {
        /// The servers tried.
        urls: String,
        /// Why none answered.
        reason: String,
    },
    /// The server is too old to replicate safely.
    #[error(
        "NATS server {0} is older than 2.12: it cannot sync before acknowledging, and its expected-sequence check is not safe under races; run nats-server 2.12 or later"
    )]
    Version(String),
    /// JetStream refused or failed a request.
    #[error("JetStream: {0}")]
    JetStream(String),
}

fn jetstream_error(error: impl std::fmt::Display) -> ClusterError {
    ClusterError::JetStream(error.to_string())
}

/// The names of a book's stream and buckets.
#[derive(Clone, Debug)]
pub struct Names {
    /// The book.
    pub book: String,
    /// Its journal stream.
    pub stream: String,
    /// The stream's one subject.
    pub subject: String,
    /// The lease bucket.
    pub lease: String,
    /// The access-key bucket.
    pub keys: String,
}

impl Names {
    /// The names for `book`.
    ///
    /// # Errors
    /// [`ClusterError::Book`] when the name is empty, too long, or holds other characters.
    pub fn of(book: &str) -> Result<Names, ClusterError> {
        let valid = (1..=64).contains(&book.len()) && book.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid {
            return Err(ClusterError::Book(book.to_owned()));
        }
        Ok(Names {
            book: book.to_owned(),
            stream: format!("LEDGER_{book}"),
            subject: format!("ledger.{book}.journal"),
            lease: format!("ledger_{book}_lease"),
            keys: format!("ledger_{book}_keys"),
        })
    }
}

/// A connection to one book: its stream and buckets.
#[derive(Clone, Debug)]
pub struct Book {
    /// The names.
    pub names: Names,
    jetstream: jetstream::Context,
    stream: stream::Stream,
    /// Its access keys.
    pub keys: Keys,
}

/// A book's access keys: a replicated KV bucket, one value per access key id.
#[derive(Clone, Debug)]
pub struct Keys {
    bucket: kv::Store,
}

/// Connects to the servers at `urls` (comma-separated) and checks their version.
///
/// # Errors
/// [`ClusterError`] when no server answers or the server is older than 2.12.
pub async fn connect(urls: &str) -> Result<async_nats::Client, ClusterError> {
    let connect_error = |reason: String| ClusterError::Connect { urls: urls.to_owned(), reason };
    let addresses: Vec<async_nats::ServerAddr> = urls
        .split(',')
        .map(|url| url.trim().parse::<async_nats::ServerAddr>().map_err(|error| connect_error(format!("{url}: {error}"))))
        .collect::<Result<_, _>>()?;
    let client = async_nats::ConnectOptions::new()
        .name("partner-ledger")
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(5)))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(addresses)
        .await
        .map_err(|error| connect_error(error.to_string()))?;
    // The first connection is made in the background: wait for it (bounded) to read the version.
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.connection_state() != async_nats::connection::State::Connected {
        if Instant::now() > deadline {
            return Err(connect_error("no server answered within 15 s".to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let version = client.server_info().version;
    if !supported(&version) {
        return Err(ClusterError::Version(version));
    }
    Ok(client)
}

/// Whether a server version (`2.15.1`, `2.12.0-beta.2`) is [`SERVER_VERSION_MIN`] or later.
fn supported(version: &str) -> bool {
    let mut parts = version.trim_start_matches('v').split(['.', '-']).map(|part| part.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= SERVER_VERSION_MIN,
        _ => false,
    }
}

impl Book {
    /// Opens the book at `urls`, creating its stream and buckets when missing: the stream with
    /// [`REPLICAS`] replicas on file storage, append-only (`deny_delete`, `deny_purge`), with
    /// direct gets and a [`DUPLICATE_WINDOW`]; the lease bucket with `lease_ttl` as its entries'
    /// age limit.
    ///
    /// # Errors
    /// [`ClusterError`] when the servers cannot be reached or refuse.
    pub async fn open(urls: &str, book: &str, lease_ttl: Duration) -> Result<(Book, kv::Store), ClusterError> {
        let names = Names::of(book)?;
        let jetstream = jetstream::new(connect(urls).await?);
        let config = stream::Config {
            name: names.stream.clone(),
            subjects: vec![names.subject.clone()],
            storage: stream::StorageType::File,
            num_replicas: REPLICAS,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            duplicate_window: DUPLICATE_WINDOW,
            max_message_size: i32::try_from(COMMIT_BYTES_MAX * 2).unwrap_or(i32::MAX),
            ..stream::Config::default()
        };
        let stream = retry_setup(|| jetstream.get_or_create_stream(config.clone())).await?;
        let lease = bucket(&jetstream, &names.lease, lease_ttl).await?;
        // Every node renews on its own TTL's schedule: one TTL for the book, or leases lapse
        // between renewals.
        let book_ttl = lease.status().await.map_err(jetstream_error)?.max_age();
        if book_ttl != lease_ttl {
            return Err(ClusterError::JetStream(format!(
                "book {book} was made with a lease TTL of {} ms, not {} ms: start every node with --lease-ttl-ms {}",
                book_ttl.as_millis(),
                lease_ttl.as_millis(),
                book_ttl.as_millis()
            )));
        }
        let keys = Keys { bucket: bucket(&jetstream, &names.keys, Duration::ZERO).await? };
        Ok((Book { names, jetstream, stream, keys }, lease))
    }

    /// Opens an existing book without creating anything (for `verify`).
    ///
    /// # Errors
    /// [`ClusterError`] when the servers cannot be reached or the book has no stream.
    pub async fn existing(urls: &str, book: &str) -> Result<Book, ClusterError> {
        let names = Names::of(book)?;
        let jetstream = jetstream::new(connect(urls).await?);
        let stream = jetstream
            .get_stream(&names.stream)
            .await
            .map_err(|error| ClusterError::JetStream(format!("stream {}: {error}", names.stream)))?;
        let keys = Keys { bucket: jetstream.get_key_value(&names.keys).await.map_err(jetstream_error)? };
        Ok(Book { names, jetstream, stream, keys })
    }

    /// The stream's last sequence number (0 when empty).
    ///
    /// # Errors
    /// [`ClusterError`] when the stream cannot be asked.
    pub async fn last_seq(&self) -> Result<u64, ClusterError> {
        let mut stream = self.stream.clone();
        Ok(stream.info().await.map_err(jetstream_error)?.state.last_sequence)
    }

    /// The commit at stream sequence `seq` (its payload), or `None` when there is none.
    ///
    /// # Errors
    /// [`ClusterError`] when the stream cannot be read.
    pub async fn commit(&self, seq: u64) -> Result<Option<(HeaderMap, Vec<u8>)>, ClusterError> {
        match self.stream.direct_get(seq).await {
            Ok(message) => Ok(Some((message.headers, message.payload.to_vec()))),
            Err(error) if error.kind() == stream::DirectGetErrorKind::NotFound => Ok(None),
            Err(error) => Err(jetstream_error(error)),
        }
    }
}

impl Keys {
    /// The key bucket of `book` at `urls`, created when missing (keys may be made before any
    /// node started).
    ///
    /// # Errors
    /// [`ClusterError`] when the servers cannot be reached or refuse.
    pub async fn open(urls: &str, book: &str) -> Result<Keys, ClusterError> {
        let names = Names::of(book)?;
        let jetstream = jetstream::new(connect(urls).await?);
        Ok(Keys { bucket: bucket(&jetstream, &names.keys, Duration::ZERO).await? })
    }

    /// Every access key of the book.
    ///
    /// # Errors
    /// [`ClusterError`] when the bucket cannot be read or holds an undecodable key.
    pub async fn access_keys(&self) -> Result<Vec<AccessKey>, ClusterError> {
        let mut names: Vec<String> = Vec::new();
        let mut listed = self.bucket.keys().await.map_err(jetstream_error)?;
        while let Some(name) = listed.next().await {
            names.push(name.map_err(jetstream_error)?);
        }
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            if let Some(value) = self.bucket.get(&name).await.map_err(jetstream_error)? {
                keys.push(decode_key(&value)?);
            }
        }
        keys.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.access.cmp(&b.access)));
        Ok(keys)
    }

    /// Writes an access key (a new one, or one being revoked).
    ///
    /// # Errors
    /// [`ClusterError`] when the bucket refuses it.
    pub async fn put_access_key(&self, key: &AccessKey) -> Result<(), ClusterError> {
        let value = serde_json::to_vec(key).map_err(jetstream_error)?;
        self.bucket.put(&key.access, value.into()).await.map_err(jetstream_error)?;
        Ok(())
    }
}

fn decode_key(value: &[u8]) -> Result<AccessKey, ClusterError> {
    serde_json::from_slice(value).map_err(|error| ClusterError::JetStream(format!("an undecodable access key: {error}")))
}

/// A bucket of the book, created when missing (R3, file storage, one value per key).
async fn bucket(jetstream: &jetstream::Context, name: &str, max_age: Duration) -> Result<kv::Store, ClusterError> {
    if let Ok(store) = jetstream.get_key_value(name).await {
        return Ok(store);
    }
    let config = kv::Config {
        bucket: name.to_owned(),
        history: 1,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: REPLICAS,
        ..kv::Config::default()
    };
    retry_setup(|| async {
        match jetstream.create_key_value(config.clone()).await {
            Ok(store) => Ok(store),
            // Another node made it meanwhile.
            Err(error) => jetstream.get_key_value(name).await.map_err(|_| error),
        }
    })
    .await
}

/// Runs a setup request until it succeeds, for up to 30 s: a new cluster elects its meta leader
/// first, and a stream's leader after that.
async fn retry_setup<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    mut request: impl FnMut() -> F,
) -> Result<T, ClusterError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() > deadline => return Err(jetstream_error(error)),
            Err(error) => {
                tracing::debug!(%error, "JetStream is not ready yet");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// The leader's publisher: the ledger thread calls it inside each durable commit.
pub struct Publisher {
    runtime: tokio::runtime::Handle,
    jetstream: jetstream::Context,
    stream: stream::Stream,
    names: Names,
    status: Arc<ReplicaStatus>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Publisher").field("book", &self.names.book).finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher for `book`; `runtime` runs its requests (the ledger thread blocks on them).
    pub fn new(runtime: tokio::runtime::Handle, book: &Book, status: Arc<ReplicaStatus>) -> Publisher {
        Publisher { runtime, jetstream: book.jetstream.clone(), stream: book.stream.clone(), names: book.names.clone(), status }
    }

    fn not_leader(&self) -> Rejection {
        Rejection::new(ErrorCode::NotLeader, self.status.leader())
    }

    /// Publishes until the outcome is known. A timeout, a lost connection or an election leaves
    /// it unknown: the same message is sent again (same id, same fence) until the stream
    /// answers; a duplicate answer means it was written.
    async fn publish_known(&self, commit: &Commit<'_>) -> Result<u64, Rejection> {
        let id = format!("{}-{}-{}", self.names.book, commit.first_seq, &crate::journal::hex(&commit.head)[..32]);
        let mut pause = Duration::from_millis(20);
        let mut resent = false;
        loop {
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
            headers.insert(async_nats::header::NATS_EXPECTED_LAST_SEQUENCE, commit.expected.to_string().as_str());
            headers.insert(FIRST_SEQ, commit.first_seq.to_string().as_str());
            headers.insert(LAST_SEQ, commit.last_seq.to_string().as_str());
            headers.insert(HEAD, crate::journal::hex(&commit.head).as_str());
            let message = jetstream::message::PublishMessage::build().payload(commit.payload.to_vec().into()).headers(headers);
            let outcome = match self.jetstream.send_publish(self.names.subject.clone(), message).await {
                Ok(acknowledgement) => acknowledgement.await,
                Err(error) => Err(error),
            };
            use jetstream::context::PublishErrorKind as Kind;
            match outcome {
                Ok(ack) => return Ok(ack.sequence),
                Err(error) if matches!(error.kind(), Kind::WrongLastSequence) || refused_in_flight(&error) => {
                    // After a resend, the first attempt may be what moved the stream on.
                    if resent && self.landed(commit.expected + 1, &id).await? {
                        return Ok(commit.expected + 1);
                    }
                    tracing::warn!(expected = commit.expected, %error, "the stream refused the commit: another node leads; stepping down");
                    self.status.step_down();
                    // The lease keeper learns the new leader's address from its lease.
                    self.status.set_leader("");
                    return Err(self.not_leader());
                }
                Err(error) if matches!(error.kind(), Kind::MaxPayloadExceeded) => {
                    return Err(Rejection::new(ErrorCode::Storage, format!("the commit is too large for the stream: {error}")));
                }
                Err(error) if self.status.closing() => {
                    // Nothing of it is committed here; a client that resends its request to the
                    // next leader gets the stream's answer (applied once, or a first time).
                    tracing::warn!(%error, first_seq = commit.first_seq, "stopping with a commit whose outcome is unknown");
                    return Err(Rejection::new(ErrorCode::Storage, "the node stopped before the stream answered; resend with the same id"));
                }
                Err(error) => {
                    tracing::warn!(%error, first_seq = commit.first_seq, "the commit's outcome is unknown; sending it again");
                    resent = true;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Whether the message at stream sequence `seq` is the one with id `id`; asked again until the
    /// stream answers.
    async fn landed(&self, seq: u64, id: &str) -> Result<bool, Rejection> {
        let mut pause = Duration::from_millis(20);
        loop {
            match self.stream.direct_get(seq).await {
                Ok(message) => {
                    return Ok(message.headers.get(async_nats::header::NATS_MESSAGE_ID).is_some_and(|value| value.as_str() == id));
                }
                Err(error) if error.kind() == stream::DirectGetErrorKind::NotFound => return Ok(false),
                Err(error) => {
                    tracing::warn!(%error, seq, "cannot read the stream to learn a commit's outcome; asking again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// Newer servers may refuse an expected-sequence publish with 10164 while another check is in
/// flight: another writer is racing, which the fence treats as a refusal.
fn refused_in_flight(error: &jetstream::context::PublishError) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .is_some_and(|error| error.error_code() == jetstream::ErrorCode(10164))
}

impl Replicator for Publisher {
    fn accepting(&self) -> Result<(), Rejection> {
        if self.status.leads() { Ok(()) } else { Err(self.not_leader()) }
    }

    fn publish(&mut self, commit: &Commit<'_>) -> Result<u64, Rejection> {
        // A lease that lapsed while the commit was decided (a paused process): not published.
        self.accepting()?;
        self.runtime.block_on(self.publish_known(commit))
    }
}

/// The running parts of a node: the stream follower, the lease keeper and the key watcher.
#[derive(Debug)]
pub struct Node {
    /// This node's name (in logs and in its lease).
    pub name: String,
    /// This node's HTTP address, which followers name in `X-Leader`.
    pub address: String,
    /// The lease's TTL.
    pub lease_ttl: Duration,
}

impl Node {
    /// Starts following the stream, keeping (or competing for) the lease and watching the keys.
    /// The tasks run until aborted: abort them on a clean stop (they hold the ledger thread's
    /// handle, which must go for the ledger to close), then [`release`] the lease.
    pub fn start(
        self: &Arc<Node>,
        book: &Book,
        lease: kv::Store,
        engine: &Engine,
        status: &Arc<ReplicaStatus>,
        keyring: Arc<Keyring>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(follow(book.clone(), engine.clone(), Arc::clone(status))),
            tokio::spawn(keep_lease(Arc::clone(self), book.clone(), lease, engine.clone(), Arc::clone(status))),
            tokio::spawn(watch_keys(book.keys.bucket.clone(), keyring)),
        ]
    }
}

/// Applies the stream's commits in order, from the one after the local journal's, while the node
/// does not lead (a leader's journal is the stream's: it wrote it). A commit that comes back to a
/// node that leads meanwhile is already applied and skipped.
async fn follow(book: Book, engine: Engine, status: Arc<ReplicaStatus>) {
    loop {
        if status.claims_lead() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let from = engine.applied().stream_seq + 1;
        let config = consumer::pull::OrderedConfig {
            filter_subject: book.names.subject.clone(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: from },
            ..consumer::pull::OrderedConfig::default()
        };
        let messages = match book.stream.create_consumer(config).await {
            Ok(consumer) => consumer.messages().await,
            Err(error) => {
                tracing::debug!(%error, "cannot follow the stream yet");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                tracing::debug!(%error, "cannot follow the stream yet");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        loop {
            let message = match tokio::time::timeout(FOLLOW_WATCHDOG, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "following the stream failed; following again");
                    break;
                }
                Ok(None) => break,
                Err(_) if status.claims_lead() => break,
                // Quiet: an idle book, or a consumer that lost its server without noticing.
                Err(_) => match book.last_seq().await {
                    Ok(last) if last <= engine.applied().stream_seq => continue,
                    _ => {
                        tracing::info!("the stream moved on without this node; following again");
                        break;
                    }
                },
            };
            if status.claims_lead() {
                break;
            }
            let Ok(info) = message.info() else { continue };
            let seq = info.stream_sequence;
            let applied = engine.applied().stream_seq;
            if seq <= applied {
                continue;
            }
            if seq != applied + 1 {
                break;
            }
            match engine.apply(message.payload.to_vec(), seq).await {
                Ok(head) => tracing::debug!(stream_seq = seq, seq = head.seq, "applied a commit of the stream"),
                Err(ReplicaError::Diverged(reason)) => {
                    // The local file is not a copy of this book: serving from it would be wrong.
                    tracing::error!(stream_seq = seq, %reason, "the local journal and the book's stream disagree; stopping");
                    std::process::exit(70);
                }
                Err(error) => {
                    tracing::warn!(stream_seq = seq, %error, "applying a commit failed; trying again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lease's value: the node's name and HTTP address.
#[derive(serde::Serialize, serde::Deserialize)]
struct Lease {
    node: String,
    address: String,
}

/// Keeps the lease while leading (renewing it every third of its TTL), and competes for it
/// while following (when it is free, after applying the whole stream).
async fn keep_lease(node: Arc<Node>, book: Book, lease: kv::Store, engine: Engine, status: Arc<ReplicaStatus>) {
    let value: bytes::Bytes =
        serde_json::to_vec(&Lease { node: node.name.clone(), address: node.address.clone() }).unwrap_or_default().into();
    // The lease counts from before the request that took or renewed it, less a margin for clocks.
    let held_for = node.lease_ttl.mul_f64(0.75);
    let mut revision: Option<u64> = None;
    loop {
        match revision {
            Some(held) if status.claims_lead() => {
                tokio::time::sleep(node.lease_ttl / 3).await;
                let asked = Instant::now();
                match lease.update(LEASE_KEY, value.clone(), held).await {
                    Ok(renewed) => {
                        revision = Some(renewed);
                        status.renew(asked + held_for);
                    }
                    Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                        tracing::warn!(node = %node.name, "the lease was taken by another node; stepping down");
                        status.step_down();
                        revision = None;
                    }
                    Err(error) => {
                        // Not renewed: the lease lapses by itself unless a later renewal lands.
                        tracing::warn!(%error, "renewing the lease failed");
                        if !status.leads() {
                            status.step_down();
                            revision = None;
                        }
                    }
                }
            }
            Some(held) => {
                // Stepped down while holding the lease (fenced): give it up so that a node that
                // applied the whole stream can take it.
                let _ = lease.delete_expect_revision(LEASE_KEY, Some(held)).await;
                revision = None;
            }
            None => {
                tokio::time::sleep(node.lease_ttl / 4).await;
                match lease.entry(LEASE_KEY).await {
                    Ok(Some(entry)) if entry.operation == kv::Operation::Put => {
                        if let Ok(holder) = serde_json::from_slice::<Lease>(&entry.value) {
                            status.set_leader(&holder.address);
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::debug!(%error, "cannot read the lease");
                        continue;
                    }
                }
                // The lease is free: apply the whole stream first, then take it.
                if !caught_up(&book, &engine, node.lease_ttl).await {
                    continue;
                }
                let asked = Instant::now();
                let Ok(taken) = lease.create(LEASE_KEY, value.clone()).await else { continue };
                // A deposed leader's last commit may have landed meanwhile: apply it too.
                if !caught_up(&book, &engine, node.lease_ttl).await {
                    let _ = lease.delete_expect_revision(LEASE_KEY, Some(taken)).await;
                    continue;
                }
                revision = Some(taken);
                status.lead(asked + held_for, &node.address);
                tracing::info!(node = %node.name, stream_seq = engine.applied().stream_seq, head = engine.head(), "leading");
            }
        }
    }
}

/// Waits (up to `patience`) until the local journal holds the whole stream.
async fn caught_up(book: &Book, engine: &Engine, patience: Duration) -> bool {
    let Ok(last) = book.last_seq().await else { return false };
    let deadline = Instant::now() + patience;
    while engine.applied().stream_seq < last {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Gives the lease up (on a clean stop) so that another node takes over at once.
///
/// # Errors
/// [`ClusterError`] when the bucket cannot be reached (the lease then lapses by itself).
pub async fn release(lease: &kv::Store, status: &ReplicaStatus, node: &str) -> Result<(), ClusterError> {
    let led = status.claims_lead();
    status.close();
    if !led {
        return Ok(());
    }
    let entry = lease.entry(LEASE_KEY).await.map_err(jetstream_error)?;
    // Only this node's own lease: another may have taken it since.
    if let Some(entry) = entry.filter(|entry| serde_json::from_slice::<Lease>(&entry.value).is_ok_and(|holder| holder.node == node)) {
        lease.delete_expect_revision(LEASE_KEY, Some(entry.revision)).await.map_err(jetstream_error)?;
    }
    Ok(())
}

/// Adds every key written to the book's key bucket to the keyring, as it is written.
async fn watch_keys(keys: kv::Store, keyring: Arc<Keyring>) {
    loop {
        let mut watch = match keys.watch_all().await {
            Ok(watch) => watch,
            Err(error) => {
                tracing::debug!(%error, "cannot watch the keys yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        while let Some(entry) = watch.next().await {
            match entry {
                Ok(entry) if entry.operation == kv::Operation::Put => match decode_key(&entry.value) {
                    Ok(key) => keyring.put(key),
                    Err(error) => tracing::warn!(%error, "an undecodable access key in the book"),
                },
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "watching the keys failed; watching again");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What [`check_journal`] found: how much of the stream the local journal matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamCheck {
    /// Stream messages compared (the local journal's whole history).
    pub messages: u64,
    /// Journal records compared.
    pub records: u64,
    /// The stream's last sequence number: messages after [`StreamCheck::messages`] are not
    /// applied locally yet.
    pub stream_last: u64,
}

/// Checks the local journal against the book's stream, record by record: every record the
/// journal holds must be the stream's, in the same order, and nothing else.
///
/// # Errors
/// What differs first, or why the stream or the file could not be read.
pub async fn check_journal(book: &Book, ledger: &crate::Ledger) -> Result<StreamCheck, String> {
    let applied = ledger.stream_seq();
    let mut records = 0;
    let mut next_seq = 1;
    for stream_seq in 1..=applied {
        let (_, payload) = book
            .commit(stream_seq)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("stream message {stream_seq} is missing"))?;
        let commit = crate::records::decode_commit(&payload).map_err(|error| format!("stream message {stream_seq}: {error}"))?;
        for (hash, body, transaction) in commit {
            if transaction.seq != next_seq {
                return Err(format!("stream message {stream_seq} holds seq {}, expected seq {next_seq}", transaction.seq));
            }
            match ledger.journal_record(transaction.seq).map_err(|error| error.to_string())? {
                Some((local_hash, local_body)) if local_hash == hash && local_body == body => {}
                Some(_) => return Err(format!("seq {} differs from stream message {stream_seq}", transaction.seq)),
                None => return Err(format!("seq {} of stream message {stream_seq} is not in the local journal", transaction.seq)),
            }
            next_seq += 1;
            records += 1;
        }
    }
    let head = ledger.head().seq;
    if next_seq != head + 1 {
        return Err(format!("the local journal goes on to seq {head}, the stream's first {applied} messages end at seq {}", next_seq - 1));
    }
    Ok(StreamCheck { messages: applied, records, stream_last: book.last_seq().await.map_err(|error| error.to_string())? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_older_than_2_12_are_refused() {
        for version in ["2.12.0", "2.15.1", "v2.12.1", "2.13.0-beta.2", "3.0.0"] {
            assert!(supported(version), "{version}");
        }
        for version in ["2.9.10", "2.11.9", "1.99.0", "", "two.twelve", "2"] {
            assert!(!supported(version), "{version}");
        }
    }

    #[test]
    fn a_book_name_must_name_a_stream() {
        let names = Names::of("book-1_A").unwrap();
        assert_eq!((names.stream.as_str(), names.subject.as_str()), ("LEDGER_book-1_A", "ledger.book-1_A.journal"));
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(65)] {
            assert!(matches!(Names::of(bad), Err(ClusterError::Book(_))), "{bad:?}");
        }
    }
}
