//! The redb shell: every table in one place, loading the in-memory state at open, and writing a
//! batch of transactions in one durable write transaction.

pub mod keys;
pub mod records;

use crate::amount::Amount;
use crate::domain::records::Record;
use crate::domain::{AdjustRecord, Every, Head, Miss, PartyRecord, RecordKey, State, Transaction};
use crate::id::Id;
use crate::id::Party;
use crate::journal::{Account, AccountKind, ChainHash};
use crate::time::Timestamp;
use records::DecodeError;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::path::Path;

/// seq → journal record.
pub const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
/// redb's page cache. Its default, 1 GiB, filled with the whole file during the integrity
/// check at opening and with every page the random reads of a large book touch, while the
/// operating system's page cache holds the file anyway. `apply` of nothing on the
/// 1,000,000-customer bench file peaks at 47 MiB with 32 MiB, 629 MiB with 1 GiB
/// (`docs/performance.md`).
const CACHE_BYTES: usize = 32 << 20;

/// checkpoint seq → the request ids committed since the previous checkpoint with their seqs (a
/// request run): appended once per checkpoint, loaded as 64-bit hashes by the first command.
pub const REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("request_runs");
/// record key (`partner:P1`, `order:O1`, …) → current record.
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// (record key, seq) → the record as written by that transaction (for `as_of`).
pub const RECORD_HISTORY: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("record_history");
/// (index code, owner, order, id) → the key of the record the entry is for: the secondary indexes
/// of the records as of the checkpoint (customers of a partner, orders of a customer, …), so a
/// cache can read one owner's entries without loading every record.
pub const RECORD_INDEX: TableDefinition<(u8, &str, u64, &str), &str> = TableDefinition::new("record_index");
/// account key ([`records::account_key`]) → current balance.
pub const BALANCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("balances");
/// The balances before format 7: account text (`customer:C1:cash`) → balance.
const BALANCES_FORMAT_6: TableDefinition<&str, &[u8]> = TableDefinition::new("balances");
/// (account key, the first posting's seq) → a block of up to 128 of the account's consecutive
/// postings ([`records::encode_posting_block`]): the posting index (format 5; account keys
/// since format 7).
pub const POSTINGS: TableDefinition<(&[u8], u64), &[u8]> = TableDefinition::new("posting_blocks");
/// The posting index of formats 5 and 6: (account text, first seq) → block.
const POSTINGS_FORMAT_6: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("posting_blocks");
/// The posting index before format 5: (account, seq, posting index) → one posting.
const POSTINGS_FORMAT_4: TableDefinition<(&str, u64, u32), &[u8]> = TableDefinition::new("postings");
/// The last seq an adjust run covers → the seqs of the transactions with adjust records up to it
/// since the previous run ([`records::encode_adjust_run`]); the records are read from the
/// journal (format 6).
pub const ADJUST_RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("adjust_runs");
/// The adjust records before format 6: (seq, index) → the record with its time.
const ADJUST_RECORDS_FORMAT_5: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("adjust_records");
/// The most seqs one adjust run holds.
const ADJUST_RUN_SEQS: usize = 16_384;
/// name → value: `format`, `head` (the durable journal head), `checkpoint` (the head the state
/// tables are written up to), `history` (the head the history tables are written up to).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The on-disk format this build writes and reads.
///
/// - Format 7 leaves out of a lean journal record its seq (the key) and a transfer's postings
///   when its command gives them ([`records::encode_journal_lean`], flag bits 3 and 2), keys
///   balances and posting blocks by the account's encoding ([`records::account_key`]) instead
///   of its text, stores balances as varints ([`records::encode_balance`]) and posting blocks
///   without times ([`records::encode_posting_block`]).
/// - Format 6 keeps the adjust records in the journal only: `adjust_runs` lists the seqs that
///   hold them ([`records::encode_adjust_run`]).
/// - Format 5 keeps the posting index as blocks of up to 128 consecutive postings of an account
///   ([`records::encode_posting_block`]) instead of an entry per posting.
/// - Format 4 stores journal records lean ([`records::encode_journal_lean`]: no fingerprint and
///   no previous hash, both had again on reading) and request runs without fingerprints
///   ([`records::encode_request_run`]: the journal record at an id's seq holds it). Each value's
///   version byte tells the forms apart, so older records are read as they are, and
///   [`Store::compact`] rewrites whole journal records lean.
/// - Format 3 added each posting's ordinal within its account, and the `record_index` table.
///
/// A file of format 2 to 6 is migrated on opening: its history tables (posting index, adjust
/// records) are indexes of the journal, so they are dropped with their watermark and rebuilt
/// from the journal by the first query that reads history; its balances are rewritten under
/// account keys as varints; a format-2 file also gets `record_index`, built from its records,
/// all in the opening transaction. Its journal records are read as they are (each says what it
/// leaves out). Format 1 is refused.
pub const FORMAT_VERSION: u8 = 7;

/// The format whose files opening migrates by rebuilding their history and record index (see
/// [`FORMAT_VERSION`]).
const FORMAT_MIGRATED: u8 = 2;

/// The formats whose files opening migrates by rebuilding their history and rekeying their
/// balances only.
const FORMATS_REINDEXED: [u8; 4] = [3, 4, 5, 6];

/// A storage failure: nothing of the failing write was committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// redb failed (I/O, corruption it detected, lock held by another process, …).
    #[error("storage failed: {0}")]
    Redb(#[from] redb::Error),
    /// A stored record could not be decoded.
    #[error(transparent)]
    Corrupt(#[from] DecodeError),
    /// The file was written by another format version.
    #[error("unsupported ledger format version {0} (this build reads version {FORMAT_VERSION})")]
    Format(u8),
}

macro_rules! redb_errors {
    ($($error:ty),+) => {
        $(impl From<$error> for StoreError {
            fn from(error: $error) -> StoreError {
                StoreError::Redb(error.into())
            }
        })+
    };
}
redb_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// A transaction decided in memory and waiting for its durable commit.
#[derive(Clone, Debug)]
pub struct Pending {
    /// The transaction.
    pub transaction: Transaction,
    /// Its encoded body (covered by the hash).
    pub body: Vec<u8>,
    /// Its chain hash.
    pub hash: ChainHash,
    /// How it is stored: lean ([`records::encode_journal_lean`]), or whole when `None`.
    pub lean: Option<records::LeanForm>,
}

impl Pending {
    /// A transaction this ledger decided; `at_given` tells whether the request gave its `at`.
    pub fn decided(transaction: Transaction, at_given: bool) -> Pending {
        let body = records::encode_transaction(&transaction);
        let hash = crate::journal::chain_hash(&body.bytes);
        let lean = Some(records::LeanForm::of(&transaction, &body, at_given));
        Pending { transaction, hash, lean, body: body.bytes }
    }

    /// The journal record it is stored as.
    fn record(&self) -> Vec<u8> {
        match self.lean {
            Some(form) => records::encode_journal_lean(&self.hash, &self.body, form),
            None => records::encode_journal(&self.hash, &self.body),
        }
    }
}

/// What the next [`Store::checkpoint`] writes for transactions already durable in the journal:
/// their request ids, the accounts they touched and the records they wrote — not the
/// transactions themselves, which the journal holds. Between two checkpoints memory grows by
/// about a request id per transaction, not by whole transactions with their bodies.
#[derive(Debug, Default)]
pub struct Unchecked {
    transactions: usize,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    requests: Vec<(Id, crate::domain::RequestEntry)>,
    accounts: std::collections::HashSet<Account>,
    /// (record key, seq) → the record as that transaction wrote it.
    history: BTreeMap<(String, u64), Vec<u8>>,
}

impl Unchecked {
    /// Adds a transaction whose journal record is durable.
    pub fn add(&mut self, transaction: &Transaction) {
        debug_assert!(self.last_seq.is_none_or(|last| last < transaction.seq));
        self.transactions += 1;
        self.first_seq.get_or_insert(transaction.seq);
        self.last_seq = Some(transaction.seq);
        let entry = crate::domain::RequestEntry { seq: transaction.seq, fingerprint: transaction.fingerprint };
        self.requests.push((transaction.request.clone(), entry));
        for posting in &transaction.effects.postings {
            if !self.accounts.contains(&posting.account) {
                self.accounts.insert(posting.account.clone());
            }
        }
        for record in &transaction.effects.records {
            // Within one transaction the last write of a key is what the history keeps.
            self.history.insert((record.key(), transaction.seq), records::encode_record(record));
        }
    }

    /// Transactions added since the last checkpoint.
    pub fn len(&self) -> usize {
        self.transactions
    }

    /// The seq of the first transaction added, if any.
    pub fn first_seq(&self) -> Option<u64> {
        self.first_seq
    }

    /// Whether nothing waits for a checkpoint.
    pub fn is_empty(&self) -> bool {
        self.transactions == 0
    }
}

/// The redb file of a ledger.
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Store")
    }
}

/// The stored key of an index entry; `owner` holds the owner's text.
fn index_key<'a>(entry: &'a crate::domain::IndexEntry, owner: &'a mut String) -> (u8, &'a str, u64, &'a str) {
    *owner = entry.1.to_string();
    (entry.0.code(), owner.as_str(), entry.2, entry.3.as_str())
}

/// Builds `record_index` from every stored record: the migration from format 2.
fn build_record_index(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let records = txn.open_table(RECORDS)?;
    let mut index = txn.open_table(RECORD_INDEX)?;
    let mut owner = String::new();
    for entry in records.iter()? {
        let (key, value) = entry?;
        for index_entry in crate::domain::index_entries(&records::decode_record(value.value())?) {
            index.insert(index_key(&index_entry, &mut owner), key.value())?;
        }
    }
    Ok(())
}

/// Creates an empty file readable and writable by its owner only: a ledger file holds the
/// access keys' secrets.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|error| StoreError::Redb(redb::StorageError::Io(error).into()))
}

impl Store {
    /// Opens or creates the ledger file at `path`.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened (for example, another process holds it).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, false)
    }

    /// Opens or creates the ledger file at `path`; with `check_integrity`, redb verifies every
    /// page's checksum first, so a damaged file is refused rather than read.
    ///
    /// A new file is created under a temporary name and renamed once its tables exist, so an
    /// interrupted creation never leaves a file that cannot be opened.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened (held by another process, damaged, …).
    pub fn open_with(path: &Path, check_integrity: bool) -> Result<Store, StoreError> {
        if !path.exists() {
            let creating = path.with_extension("creating");
            // A leftover from an interrupted creation holds nothing acknowledged.
            let _ = std::fs::remove_file(&creating);
            create_private(&creating)?;
            drop(Self::from_database(Database::create(&creating)?)?);
            std::fs::rename(&creating, path).map_err(|error| StoreError::Redb(redb::StorageError::Io(error).into()))?;
        }
        Self::from_database(Self::builder(check_integrity).create(path)?)
    }

    /// The redb settings every ledger file is opened with: the page cache bounded (see
    /// `CACHE_BYTES`), and with `check_integrity` every page's checksum verified first.
    pub fn builder(check_integrity: bool) -> redb::Builder {
        let mut builder = Database::builder();
        builder.set_check_integrity_on_open(check_integrity).set_cache_size(CACHE_BYTES);
        builder
    }

    /// Opens a ledger on an already built redb database (used with custom storage backends).
    ///
    /// # Errors
    /// [`StoreError`] when the tables cannot be created or the format is unknown.
    pub fn from_database(db: Database) -> Result<Store, StoreError> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let format = txn.open_table(META)?.get("format")?.map(|value| value.value().to_vec());
            match format.as_deref() {
                None | Some([FORMAT_VERSION]) => {}
                Some([version]) if *version == FORMAT_MIGRATED || FORMATS_REINDEXED.contains(version) => {
                    txn.delete_table(POSTINGS_FORMAT_4)?;
                    txn.delete_table(POSTINGS_FORMAT_6)?;
                    txn.delete_table(ADJUST_RECORDS_FORMAT_5)?;
                    txn.delete_table(ADJUST_RECORDS)?;
                    txn.open_table(META)?.remove("history")?;
                    rekey_balances(&txn)?;
                }
                Some(other) => return Err(StoreError::Format(other.first().copied().unwrap_or(0))),
            }
            // Files written before session 6 kept a copy of the journal head, rewritten by
            // every commit; the journal's last record is the head.
            txn.open_table(META)?.remove("head")?;
            txn.open_table(JOURNAL)?;
            txn.open_table(REQUESTS)?;
            txn.open_table(RECORDS)?;
            txn.open_table(RECORD_HISTORY)?;
            txn.open_table(BALANCES)?;
            txn.open_table(RECORD_INDEX)?;
            txn.open_table(POSTINGS)?;
            txn.open_table(ADJUST_RECORDS)?;
            if format.as_deref() == Some(&[FORMAT_MIGRATED]) {
                build_record_index(&txn)?;
            }
            if format.as_deref() != Some(&[FORMAT_VERSION]) {
                txn.open_table(META)?.insert("format", [FORMAT_VERSION].as_slice())?;
            }
        }
        txn.commit()?;
        Ok(Store { db })
    }

    /// Compacts the file: rewrites the posting index and the balances in key order (see
    /// [`Store::repack`]), then frees pages left over by copy-on-write. Returns whether
    /// anything moved.
    ///
    /// # Errors
    /// [`StoreError`] when compaction fails (for example while a read transaction is open).
    pub fn compact(&mut self) -> Result<bool, StoreError> {
        self.repack()?;
        self.db.compact().map_err(|error| StoreError::Redb(error.into()))
    }

    /// Copies the posting index and the balances into new tables in key order and puts them in
    /// the old ones' place, in one write transaction. Both are written by inserts spread over
    /// every account, which leave their B-tree pages about half full; appended in key order,
    /// pages fill up. A failure or a crash leaves the old tables (the transaction commits whole
    /// or not at all).
    ///
    /// # Errors
    /// [`StoreError`] on a read or write failure.
    pub fn repack(&self) -> Result<(), StoreError> {
        const POSTINGS_REPACKED: TableDefinition<(&[u8], u64), &[u8]> = TableDefinition::new("posting_blocks_repacked");
        const BALANCES_REPACKED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("balances_repacked");
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let old = txn.open_table(POSTINGS)?;
            let mut new = txn.open_table(POSTINGS_REPACKED)?;
            for entry in old.iter()? {
                let (key, value) = entry?;
                new.insert(key.value(), value.value())?;
            }
            let old = txn.open_table(BALANCES)?;
            let mut new = txn.open_table(BALANCES_REPACKED)?;
            for entry in old.iter()? {
                let (key, value) = entry?;
                new.insert(key.value(), value.value())?;
            }
        }
        rewrite_lean(&txn)?;
        txn.delete_table(POSTINGS)?;
        txn.rename_table(POSTINGS_REPACKED, POSTINGS)?;
        txn.delete_table(BALANCES)?;
        txn.rename_table(BALANCES_REPACKED, BALANCES)?;
        txn.commit()?;
        Ok(())
    }

    /// The underlying database (for tests that inspect or tamper with tables).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Makes `batch` durable: appends its journal records and moves the head, in one write
    /// transaction with `Durability::Immediate`. Only append-ordered keys are written, so the cost
    /// does not grow with the number of accounts; derived tables follow in [`Store::checkpoint`].
    ///
    /// # Errors
    /// [`StoreError`]: then nothing of the batch is committed.
    pub fn commit_journal(&self, batch: &[Pending]) -> Result<(), StoreError> {
        self.commit_replicated(batch, None)
    }

    /// As [`Store::commit_journal`], also recording the replication stream's sequence number
    /// that holds the batch (section 9): where a restarted node resumes reading the stream.
    ///
    /// # Errors
    /// As [`Store::commit_journal`].
    pub fn commit_replicated(&self, batch: &[Pending], stream_seq: Option<u64>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut journal = txn.open_table(JOURNAL)?;
            for pending in batch {
                journal.insert(pending.transaction.seq, pending.record().as_slice())?;
            }
            // The head is the journal's last record: no second table per commit (a stored copy
            // of it cost a fifth of a bare commit's latency; docs/performance.md).
            if let Some(stream_seq) = stream_seq {
                txn.open_table(META)?.insert("stream_seq", stream_seq.to_le_bytes().as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The replication stream's sequence number of the last batch committed through
    /// [`Store::commit_replicated`] (0 when none was).
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable value.
    pub fn stream_seq(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(value) = txn.open_table(META)?.get("stream_seq")? else { return Ok(0) };
        let bytes: [u8; 8] =
            value.value().try_into().map_err(|_| DecodeError { what: "meta", reason: "stream_seq is not 8 bytes".to_owned() })?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Writes the derived state tables (request ids, record history, current records and
    /// balances) for `batch`, whose journal records are already durable, and
    /// records `state`'s head as the checkpoint, in one write transaction. Keys are written in
    /// sorted order, so each B-tree page is rewritten once per checkpoint, not once per command.
    ///
    /// # Errors
    /// [`StoreError`]: then the checkpoint stays where it was; the journal still holds everything.
    pub fn checkpoint(&self, unchecked: &Unchecked, state: &State) -> Result<(), StoreError> {
        debug_assert!(unchecked.last_seq.is_none_or(|last| last == state.head().seq));
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            if !unchecked.requests.is_empty() {
                let requests: Vec<(&Id, u64)> = unchecked.requests.iter().map(|(id, entry)| (id, entry.seq)).collect();
                txn.open_table(REQUESTS)?.insert(state.head().seq, records::encode_request_run(&requests).as_slice())?;
            }
            let mut table = txn.open_table(RECORD_HISTORY)?;
            let mut written: BTreeMap<&str, &[u8]> = BTreeMap::new();
            for ((key, seq), value) in &unchecked.history {
                table.insert((key.as_str(), *seq), value.as_slice())?;
                // In (key, seq) order, the last write of each record is its current value.
                written.insert(key.as_str(), value.as_slice());
            }
            // The last write of each record is its current value; its index entries replace those
            // of the value it replaces.
            let mut table = txn.open_table(RECORDS)?;
            let mut index = txn.open_table(RECORD_INDEX)?;
            let mut owner = String::new();
            for (key, value) in written {
                if let Some(old) = table.insert(key, value)? {
                    for entry in crate::domain::index_entries(&records::decode_record(old.value())?) {
                        index.remove(index_key(&entry, &mut owner))?;
                    }
                }
                for entry in crate::domain::index_entries(&records::decode_record(value)?) {
                    index.insert(index_key(&entry, &mut owner), key)?;
                }
            }
            let mut table = txn.open_table(BALANCES)?;
            let keys: BTreeMap<Vec<u8>, &Account> =
                unchecked.accounts.iter().map(|account| (records::account_key(account), account)).collect();
            for (key, account) in keys {
                table.insert(key.as_slice(), records::encode_balance(state.balance(account)).as_slice())?;
            }
            txn.open_table(META)?.insert("checkpoint", records::encode_head(&state.head()).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The seq up to which the history tables (posting index, adjust records) are written.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure.
    pub fn history_seq(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        match txn.open_table(META)?.get("history")? {
            Some(value) => Ok(records::decode_head(value.value())?.seq),
            None => Ok(0),
        }
    }

    /// Brings the history tables (posting index with balances after each posting, adjust
    /// records) up to the durable journal head, reading the journal after their watermark. They
    /// are indexes of the journal, built when a query needs them rather than on every commit.
    ///
    /// # Errors
    /// [`StoreError`] on a read or write failure, or an undecodable journal record.
    pub fn catch_up_history(&self) -> Result<(), StoreError> {
        let from = self.history_seq()? + 1;
        let txn = self.db.begin_write()?;
        {
            let journal = txn.open_table(JOURNAL)?;
            let mut postings = txn.open_table(POSTINGS)?;
            let mut adjust = txn.open_table(ADJUST_RECORDS)?;
            // Per account touched: the balance after its last indexed posting and that posting's
            // ordinal, the postings of its last block when that block has room (they are written
            // again with the new ones: the block grows instead of a new one starting), and the new
            // postings. Then one insert per block, in key order.
            let mut runs: std::collections::HashMap<Vec<u8>, PostingRun> = std::collections::HashMap::new();
            let mut adjusted = Vec::new();
            let mut last = None;
            let mut prev = prev_hash(&journal, from)?;
            for entry in journal.range(from..)? {
                let (key, value) = entry?;
                let records::JournalRecord { hash, transaction, .. } = records::decode_journal(key.value(), value.value(), &prev)?;
                prev = hash;
                for (index, posting) in transaction.effects.postings.iter().enumerate() {
                    let key = records::account_key(&posting.account);
                    let run = match runs.entry(key) {
                        std::collections::hash_map::Entry::Occupied(run) => run.into_mut(),
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            let run = PostingRun::after_last_block(&postings, slot.key())?;
                            slot.insert(run)
                        }
                    };
                    let after = run
                        .after
                        .checked_add(posting.amount)
                        .map_err(|_| DecodeError { what: "journal", reason: "balance overflow".to_owned() })?;
                    run.after = after;
                    run.ordinal += 1;
                    run.postings.push(records::IndexedPosting {
                        seq: transaction.seq,
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                        amount: posting.amount,
                        after,
                        ordinal: run.ordinal,
                    });
                }
                if !transaction.effects.adjust_records.is_empty() {
                    adjusted.push(transaction.seq);
                }
                last = Some(Head { seq: transaction.seq, hash, at: transaction.at });
            }
            let mut accounts: Vec<(Vec<u8>, PostingRun)> = runs.into_iter().collect();
            accounts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (account, run) in &accounts {
                for block in run.postings.chunks(records::POSTING_BLOCK_ENTRIES) {
                    postings.insert((account.as_slice(), block[0].seq), records::encode_posting_block(block).as_slice())?;
                }
            }
            for run in adjusted.chunks(ADJUST_RUN_SEQS) {
                adjust.insert(run[run.len() - 1], records::encode_adjust_run(run).as_slice())?;
            }
            if let Some(head) = last {
                txn.open_table(META)?.insert("history", records::encode_head(&head).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Reopens the state after a stop: a cache over the derived tables as of the last checkpoint,
    /// then every journal record after it applied on top (fetching what each one touches).
    /// Returns the state and those replayed transactions (still to be written by the next
    /// checkpoint). Nothing else is read: a cleanly closed ledger opens without loading anything.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure, an undecodable record, or a journal whose records do not
    /// continue the checkpoint (then the file needs `verify`).
    pub fn recover(&self) -> Result<(State, Unchecked), StoreError> {
        let txn = self.db.begin_read()?;
        let checkpoint = match txn.open_table(META)?.get("checkpoint")? {
            Some(value) => records::decode_head(value.value())?,
            None => State::new().head(),
        };
        let mut state = State::cache(checkpoint);
        let mut undo = crate::domain::Undo::default();
        let mut tail = Unchecked::default();
        let journal = txn.open_table(JOURNAL)?;
        for entry in journal.range(state.head().seq + 1..)? {
            let (key, value) = entry?;
            let head = state.head();
            let records::JournalRecord { hash, transaction, .. } = records::decode_journal(key.value(), value.value(), &head.hash)?;
            if key.value() != head.seq + 1 || transaction.seq != key.value() || transaction.prev_hash != head.hash {
                return Err(
                    DecodeError { what: "journal", reason: format!("seq {} does not continue seq {}", key.value(), head.seq) }.into()
                );
            }
            replay_into(&txn, &mut state, &mut undo, &transaction, hash)?;
            undo.clear();
            tail.add(&transaction);
        }
        // The head is the journal's last record, which must be at or after the checkpoint.
        let last = journal.last()?.map_or(0, |(key, _)| key.value());
        if last != state.head().seq {
            let reason = format!("the journal ends at seq {last}, the state tables are checkpointed at seq {}", state.head().seq);
            return Err(DecodeError { what: "journal", reason }.into());
        }
        Ok((state, tail))
    }

    /// Applies a committed transaction's recorded effects to `state` without deciding anything
    /// again (a replica following the stream, section 9), fetching what it touches first. The
    /// changes are recorded in `undo`, so the caller can take them back.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure, or when the effects do not apply (a broken bound: the
    /// stream and this state disagree).
    pub(crate) fn replay(
        &self,
        state: &mut State,
        undo: &mut crate::domain::Undo,
        transaction: &Transaction,
        hash: ChainHash,
    ) -> Result<(), StoreError> {
        replay_into(&self.db.begin_read()?, state, undo, transaction, hash)
    }

    /// Fills what a cache missed from the checkpointed tables.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub(crate) fn fetch(&self, state: &mut State, misses: Vec<Miss>) -> Result<(), StoreError> {
        if misses.is_empty() {
            return Ok(());
        }
        fetch_into(&self.db.begin_read()?, state, misses)
    }

    /// The journal record at `seq` as stored: its chain hash and its body's bytes.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn journal_record(&self, seq: u64) -> Result<Option<(ChainHash, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let journal = txn.open_table(JOURNAL)?;
        let Some(value) = journal.get(seq)? else { return Ok(None) };
        let record = records::decode_journal(seq, value.value(), &prev_hash(&journal, seq)?)?;
        Ok(Some((record.hash, record.body().into_owned())))
    }

    /// A committed transaction by `seq`.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn transaction(&self, seq: u64) -> Result<Option<Transaction>, StoreError> {
        let txn = self.db.begin_read()?;
        let journal = txn.open_table(JOURNAL)?;
        let Some(value) = journal.get(seq)? else { return Ok(None) };
        Ok(Some(records::decode_journal(seq, value.value(), &prev_hash(&journal, seq)?)?.transaction))
    }

    /// Calls `visit` with every journal record in `seq` order: (seq key, stored hash, body, transaction).
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record, or what `visit` returns.
    pub fn for_each_transaction<E: From<StoreError>>(
        &self,
        mut visit: impl FnMut(u64, ChainHash, &[u8], Transaction) -> Result<(), E>,
    ) -> Result<(), E> {
        let txn = self.db.begin_read().map_err(StoreError::from)?;
        let journal = txn.open_table(JOURNAL).map_err(StoreError::from)?;
        let mut prev = crate::journal::GENESIS_HASH;
        for entry in journal.iter().map_err(StoreError::from)? {
            let (key, value) = entry.map_err(StoreError::from)?;
            let record = records::decode_journal(key.value(), value.value(), &prev).map_err(StoreError::from)?;
            prev = record.hash;
            let body = record.body();
            visit(key.value(), record.hash, &body, record.transaction)?;
        }
        Ok(())
    }

    /// The last `seq` whose time is at or before `at` (0 when none): the journal's times never
    /// decrease, so a binary search over `seq` finds it.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure.
    pub fn last_seq_at(&self, at: Timestamp, head: u64) -> Result<u64, StoreError> {
        let (mut low, mut high) = (0u64, head);
        while low < high {
            let middle = low + (high - low).div_ceil(2);
            let transaction =
                self.transaction(middle)?.ok_or(DecodeError { what: "journal", reason: format!("seq {middle} is missing") })?;
            if transaction.at <= at { low = middle } else { high = middle - 1 }
        }
        Ok(low)
    }

    /// An account's balance right after transaction `seq`.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure.
    pub fn balance_at(&self, account: &Account, seq: u64) -> Result<Amount, StoreError> {
        let txn = self.db.begin_read()?;
        let postings = txn.open_table(POSTINGS)?;
        let key = records::account_key(account);
        let Some(entry) = postings.range((key.as_slice(), 0)..=(key.as_slice(), seq))?.next_back() else { return Ok(Amount::ZERO) };
        let (stored, value) = entry?;
        let block = records::decode_posting_block(stored.value().1, value.value())?;
        Ok(block.iter().take_while(|posting| posting.seq <= seq).last().map_or(Amount::ZERO, |posting| posting.after))
    }

    /// Visits every customer's party record of the `records` table (as of the last checkpoint),
    /// in key order, holding one at a time: for reads over every customer that must not load
    /// them all.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub(crate) fn for_each_customer(&self, mut visit: impl FnMut(&Id, &PartyRecord)) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        each_under(&table, Every::Customers.prefix(), |record| {
            if let Record::Party(Party::Customer(id), record) = &record {
                visit(id, record);
            }
            Ok(())
        })
    }

    /// A record of the `records` table (as of the last checkpoint), by its key.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub(crate) fn record(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let txn = self.db.begin_read()?;
        let key = key.to_string();
        txn.open_table(RECORDS)?.get(key.as_str())?.map(|value| decode_record_under(&key, value.value())).transpose()
    }

    /// A record as it was right after transaction `seq` (None: it did not exist then).
    ///
    /// # Errors
    /// [`StoreError`] on a read failure.
    pub fn record_at(&self, key: &str, seq: u64) -> Result<Option<Record>, StoreError> {
        let txn = self.db.begin_read()?;
        let history = txn.open_table(RECORD_HISTORY)?;
        let last = history.range((key, 0)..=(key, seq))?.next_back();
        match last {
            Some(entry) => Ok(Some(records::decode_record(entry?.1.value())?)),
            None => Ok(None),
        }
    }

    /// The adjust records of the transactions with `seq` in `seqs`, in `seq` order, each with its
    /// seq and time: the seqs listed by the adjust runs, read from the journal.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn adjust_records(&self, seqs: std::ops::RangeInclusive<u64>) -> Result<Vec<(u64, Timestamp, AdjustRecord)>, StoreError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(ADJUST_RECORDS)?;
        let journal = txn.open_table(JOURNAL)?;
        let mut records = Vec::new();
        // A run is keyed by its last seq: the first that can hold `seqs.start()` is the first
        // keyed at or after it.
        for entry in runs.range(*seqs.start()..)? {
            let listed = records::decode_adjust_run(entry?.1.value())?;
            if listed.first().is_some_and(|seq| seq > seqs.end()) {
                break;
            }
            for seq in listed.into_iter().filter(|seq| seqs.contains(seq)) {
                let value = journal
                    .get(seq)?
                    .ok_or_else(|| DecodeError { what: "adjust run", reason: format!("it names seq {seq}, which the journal lacks") })?;
                let (_, at, _, effects) = records::decode_journal_effects(seq, value.value())?;
                if effects.adjust_records.is_empty() {
                    return Err(
                        DecodeError { what: "adjust run", reason: format!("it names seq {seq}, which has no adjust record") }.into()
                    );
                }
                records.extend(effects.adjust_records.into_iter().map(|record| (seq, at, record)));
            }
        }
        Ok(records)
    }

    /// The posting-index entries of an account in `seq` order.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn account_postings(&self, account: &Account) -> Result<Vec<PostingLine>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(POSTINGS)?;
        let key = records::account_key(account);
        let mut lines = Vec::new();
        for entry in table.range((key.as_slice(), 0)..=(key.as_slice(), u64::MAX))? {
            let (stored, value) = entry?;
            let block = records::decode_posting_block(stored.value().1, value.value())?;
            lines.extend(block.iter().map(|posting| (posting.seq, posting.index, posting.amount, posting.after)));
        }
        Ok(lines)
    }

    /// One page of an account's postings with `seq` in `seqs`, in `seq` order, and how many
    /// postings that range holds: (total, [`PostingLine`]).
    /// The total comes from the ordinals of the range's first and last postings, and the page
    /// starts in the block whose first ordinal is the last at or before the page's (blocks are
    /// passed over by their headers), so the cost is a few blocks plus the page, whatever the
    /// account's length.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn account_postings_page(
        &self,
        account: &Account,
        seqs: std::ops::RangeInclusive<u64>,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<PostingLine>), StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(POSTINGS)?;
        let key = records::account_key(account);
        let (start, end) = (*seqs.start(), *seqs.end());
        let block_at = |entry: Option<Result<BlockEntry<'_>, redb::StorageError>>| {
            entry
                .map(|entry| -> Result<_, StoreError> {
                    let (stored, value) = entry?;
                    let first_seq = stored.value().1;
                    Ok((first_seq, records::decode_posting_block(first_seq, value.value())?))
                })
                .transpose()
        };
        // The range's first posting, with the seq its block is stored under: in the last block
        // starting at or before `start`, or else the first block after it.
        let before = block_at(table.range((key.as_slice(), 0)..=(key.as_slice(), start))?.next_back())?;
        let first = match before
            .and_then(|(block, postings)| postings.into_iter().find(|posting| posting.seq >= start).map(|posting| (block, posting)))
        {
            Some(found) => Some(found),
            None if start < u64::MAX => block_at(table.range((key.as_slice(), start + 1)..=(key.as_slice(), u64::MAX))?.next())?
                .and_then(|(block, postings)| postings.first().map(|posting| (block, *posting))),
            None => None,
        };
        let Some((mut from, first)) = first.filter(|(_, posting)| posting.seq <= end) else { return Ok((0, Vec::new())) };
        // Its last: in the last block starting at or before `end`.
        let last = block_at(table.range((key.as_slice(), 0)..=(key.as_slice(), end))?.next_back())?
            .and_then(|(_, postings)| postings.into_iter().take_while(|posting| posting.seq <= end).last())
            .ok_or_else(|| DecodeError { what: "posting block", reason: format!("{account} has no block at or before seq {end}") })?;
        let total = last.ordinal.checked_sub(first.ordinal).map(|gap| gap + 1).ok_or_else(|| DecodeError {
            what: "posting block",
            reason: format!("ordinals of {account} go down from {} to {}", first.ordinal, last.ordinal),
        })?;
        let mut lines = Vec::with_capacity(limit.min(usize::try_from(total).unwrap_or(usize::MAX)));
        let Some(wanted) =
            u64::try_from(offset).ok().and_then(|offset| first.ordinal.checked_add(offset)).filter(|wanted| *wanted <= last.ordinal)
        else {
            return Ok((total, lines));
        };
        // The block holding ordinal `wanted`: from the block holding the range's first posting,
        // the last whose first ordinal is at or before it.
        for entry in table.range((key.as_slice(), from + 1)..=(key.as_slice(), end))? {
            let (stored, value) = entry?;
            if records::posting_block_first_ordinal(value.value())? > wanted {
                break;
            }
            from = stored.value().1;
        }
        for entry in table.range((key.as_slice(), from)..=(key.as_slice(), end))? {
            let (stored, value) = entry?;
            for posting in records::decode_posting_block(stored.value().1, value.value())? {
                if lines.len() == limit || posting.seq > end {
                    return Ok((total, lines));
                }
                if posting.ordinal >= wanted {
                    lines.push((posting.seq, posting.index, posting.amount, posting.after));
                }
            }
        }
        Ok((total, lines))
    }

    /// Every record-history row, keyed as stored: for verification.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn record_history(&self) -> Result<Vec<HistoryRow>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORD_HISTORY)?;
        let mut rows = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (record_key, seq) = key.value();
            rows.push(((record_key.to_owned(), seq), records::decode_record(value.value())?));
        }
        Ok(rows)
    }

    /// Every record-index row, as stored, and the rows the stored records call for (each
    /// `((index code, owner, order, id), record key)`): for verification.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    #[allow(clippy::type_complexity)]
    pub fn record_index_rows(
        &self,
    ) -> Result<(Vec<((u8, String, u64, String), String)>, Vec<((u8, String, u64, String), String)>), StoreError> {
        let txn = self.db.begin_read()?;
        let mut stored = Vec::new();
        for entry in txn.open_table(RECORD_INDEX)?.iter()? {
            let (key, value) = entry?;
            let (code, owner, order, id) = key.value();
            stored.push(((code, owner.to_owned(), order, id.to_owned()), value.value().to_owned()));
        }
        let mut expected = Vec::new();
        for entry in txn.open_table(RECORDS)?.iter()? {
            let (key, value) = entry?;
            for (index, owner, order, id) in crate::domain::index_entries(&records::decode_record(value.value())?) {
                expected.push(((index.code(), owner.to_string(), order, id.to_string()), key.value().to_owned()));
            }
        }
        expected.sort();
        Ok((stored, expected))
    }

    /// Every posting-index entry, keyed by (account text, seq, posting index), in key order: for
    /// verification.
    ///
    /// # Errors
    /// [`StoreError`] on a read failure or an undecodable record.
    pub fn all_postings(&self) -> Result<Vec<IndexRow>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(POSTINGS)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (account, first_seq) = key.value();
            let account = records::decode_account_key(account)?.to_string();
            for posting in records::decode_posting_block(first_seq, value.value())? {
                all.push(((account.clone(), posting.seq, posting.index), (posting.amount, posting.after, posting.ordinal)));
            }
        }
        // Stored in the order of the account keys; verification compares in the order of the
        // accounts' text.
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }
}

/// Applies `transaction`'s recorded effects on `state` and moves its head: what the transaction
/// changes, and its accounts' owners (their bounds), are fetched first; whatever else applying
/// it reads is fetched and the apply run again.
fn replay_into(
    txn: &redb::ReadTransaction,
    state: &mut State,
    undo: &mut crate::domain::Undo,
    transaction: &Transaction,
    hash: ChainHash,
) -> Result<(), StoreError> {
    let effects = &transaction.effects;
    let mut misses: Vec<Miss> = effects.records.iter().map(|record| Miss::Record(RecordKey::of(record))).collect();
    for posting in &effects.postings {
        misses.push(Miss::Balance(posting.account.clone()));
        misses.push(Miss::Record(RecordKey::Party(posting.account.owner.clone())));
    }
    let mark = undo.mark();
    for _ in 0..8 {
        fetch_into(txn, state, misses)?;
        let applied = state.apply(effects, undo);
        misses = state.take_misses();
        if misses.is_empty() {
            applied.map_err(|rejection| DecodeError { what: "journal", reason: rejection.message })?;
            let entry = crate::domain::RequestEntry { seq: transaction.seq, fingerprint: transaction.fingerprint };
            state.commit(&transaction.request, entry, Head { seq: transaction.seq, hash, at: transaction.at }, undo);
            return Ok(());
        }
        if applied.is_ok() {
            state.rollback(undo, mark);
        }
    }
    Err(DecodeError { what: "journal", reason: format!("seq {} reads past what it touches", transaction.seq) }.into())
}

/// Fills `misses` into `state` from the checkpointed tables of `txn`.
fn fetch_into(txn: &redb::ReadTransaction, state: &mut State, misses: Vec<Miss>) -> Result<(), StoreError> {
    if misses.contains(&Miss::Everything) {
        return fetch_everything(txn, state);
    }
    let (mut records, mut balances, mut index) = (None, None, None);
    for miss in misses {
        match miss {
            Miss::Record(key) if !state.holds(&key) => {
                let table = match &mut records {
                    Some(table) => table,
                    None => records.insert(txn.open_table(RECORDS)?),
                };
                let record = match table.get(key.to_string().as_str())? {
                    Some(value) => Some(decode_record_under(&key.to_string(), value.value())?),
                    None => None,
                };
                // A party's balances are read with its record: the rules that read a party go
                // on to its accounts, and would otherwise take a second fetch round for them.
                if let (RecordKey::Party(party @ (Party::Partner(_) | Party::Customer(_))), Some(_)) = (&key, &record) {
                    let table = match &mut balances {
                        Some(table) => table,
                        None => balances.insert(txn.open_table(BALANCES)?),
                    };
                    fetch_party_balances(table, state, party)?;
                }
                state.load_fetched_record(key, record);
            }
            Miss::Balance(account) if !state.holds_balance(&account) => {
                let table = match &mut balances {
                    Some(table) => table,
                    None => balances.insert(txn.open_table(BALANCES)?),
                };
                let balance = match table.get(records::account_key(&account).as_slice())? {
                    Some(value) => Some(records::decode_balance(value.value())?),
                    None => None,
                };
                state.load_fetched_balance(account, balance);
            }
            Miss::Range(kind, owner) => {
                let table = match &mut index {
                    Some(table) => table,
                    None => index.insert(txn.open_table(RECORD_INDEX)?),
                };
                let owner_text = owner.to_string();
                let mut entries = Vec::new();
                for entry in table.range((kind.code(), owner_text.as_str(), 0, "")..)? {
                    let (key, value) = entry?;
                    let (code, stored_owner, order, id) = key.value();
                    if code != kind.code() || stored_owner != owner_text {
                        break;
                    }
                    let corrupt = || DecodeError { what: "record index", reason: format!("entry {id:?} under {stored_owner:?}") };
                    let id = crate::id::Id::stored(id).ok_or_else(corrupt)?;
                    let record = RecordKey::parse(value.value()).ok_or_else(corrupt)?;
                    entries.push((order, id, record));
                }
                state.load_range(kind, owner, entries);
            }
            Miss::Requests => {
                // Hashed, 16 bytes an id: the journal confirms a hit (`Miss::Request`).
                for entry in txn.open_table(REQUESTS)?.iter()? {
                    records::visit_request_run(entry?.1.value(), |id, seq, _| state.load_hashed_request(id, seq))?;
                }
                state.set_requests_loaded();
            }
            Miss::Request(seq) => {
                let journal = txn.open_table(JOURNAL)?;
                let Some(value) = journal.get(seq)? else {
                    return Err(DecodeError { what: "request run", reason: format!("it names seq {seq}, which the journal lacks") }.into());
                };
                let transaction = records::decode_journal(seq, value.value(), &prev_hash(&journal, seq)?)?.transaction;
                let entry = crate::domain::RequestEntry { seq, fingerprint: transaction.fingerprint };
                state.confirm_request(seq, transaction.request, entry);
            }
            Miss::Every(kind) => {
                let table = match &mut records {
                    Some(table) => table,
                    None => records.insert(txn.open_table(RECORDS)?),
                };
                let mut found = Vec::new();
                each_under(table, kind.prefix(), |record| {
                    found.push(record);
                    Ok(())
                })?;
                state.load_every(kind, found);
            }
            Miss::Record(_) | Miss::Balance(_) | Miss::Everything => {}
        }
    }
    Ok(())
}

/// A record-history row as verification compares it: ((record key, seq), record).
pub type HistoryRow = ((String, u64), Record);

/// A posting-index row as verification compares it: ((account text, seq, posting index),
/// (amount, balance after, ordinal)).
pub type IndexRow = ((String, u64, u32), (Amount, Amount, u64));

/// One posting of an account's statement as the posting index gives it: (seq, posting index,
/// amount, balance after). Its time is its journal record's.
pub type PostingLine = (u64, u32, Amount, Amount);

/// A posting block as a range of the posting index yields it.
type BlockEntry<'a> = (redb::AccessGuard<'a, (&'static [u8], u64)>, redb::AccessGuard<'a, &'static [u8]>);

/// An account's postings a history catch-up writes.
struct PostingRun {
    /// The balance after the last posting so far.
    after: Amount,
    /// The last posting's ordinal so far.
    ordinal: u64,
    /// The postings of the account's last block when it has room, then the new ones.
    postings: Vec<records::IndexedPosting>,
}

impl PostingRun {
    /// Where the account's posting index ends: its last block's last posting.
    fn after_last_block(
        postings: &impl ReadableTable<(&'static [u8], u64), &'static [u8]>,
        account: &[u8],
    ) -> Result<PostingRun, StoreError> {
        let Some(entry) = postings.range((account, 0)..=(account, u64::MAX))?.next_back() else {
            return Ok(PostingRun { after: Amount::ZERO, ordinal: 0, postings: Vec::new() });
        };
        let (key, value) = entry?;
        let block = records::decode_posting_block(key.value().1, value.value())?;
        let last = *block.last().expect("a decoded block holds a posting");
        let postings = if block.len() < records::POSTING_BLOCK_ENTRIES { block } else { Vec::new() };
        Ok(PostingRun { after: last.after, ordinal: last.ordinal, postings })
    }
}

/// Rewrites the balances of a file written before format 7, keyed by the account's text and
/// valued in 17 bytes, under account keys ([`records::account_key`]) as varints: in the opening
/// transaction, so a failure leaves the file as it was. Rows are inserted a sorted chunk at a
/// time, so memory stays bounded however many balances the file holds.
fn rekey_balances(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    const BALANCES_REKEYED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("balances_rekeyed");
    const CHUNK: usize = 1 << 18;
    {
        let old = txn.open_table(BALANCES_FORMAT_6)?;
        let mut new = txn.open_table(BALANCES_REKEYED)?;
        let mut rows = Vec::with_capacity(CHUNK);
        let mut entries = old.iter()?.peekable();
        while let Some(entry) = entries.next() {
            let (key, value) = entry?;
            let account = Account::parse(key.value())
                .ok_or_else(|| DecodeError { what: "balance key", reason: format!("{:?} is not an account", key.value()) })?;
            rows.push((records::account_key(&account), records::encode_balance(records::decode_balance(value.value())?)));
            if rows.len() == CHUNK || entries.peek().is_none() {
                rows.sort_unstable();
                for (key, value) in rows.drain(..) {
                    new.insert(key.as_slice(), value.as_slice())?;
                }
            }
        }
    }
    txn.delete_table(BALANCES_FORMAT_6)?;
    txn.rename_table(BALANCES_REKEYED, BALANCES)?;
    Ok(())
}

/// Rewrites the journal's whole records (written before format 4) lean, a few thousand at a
/// time. A record is left whole when it does not chain to the record before it or has no lean
/// form ([`records::lean_form`]): rewriting must not hide what `verify` would find.
fn rewrite_lean(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut journal = txn.open_table(JOURNAL)?;
    // Whole records come from format-3 files, whose first record is whole until a compaction
    // rewrites it; after that a whole record is one this build cannot store lean. So a lean
    // first record means there is nothing to rewrite, and compaction skips the scan.
    if journal.first()?.is_none_or(|(_, value)| value.value().first() == Some(&records::JOURNAL_LEAN_VERSION)) {
        return Ok(());
    }
    let (mut next, mut prev) = (1, crate::journal::GENESIS_HASH);
    loop {
        let mut lean = Vec::new();
        let mut read = 0;
        for entry in journal.range(next..)?.take(4096) {
            let (key, value) = entry?;
            let (seq, bytes) = (key.value(), value.value());
            let hash = records::journal_hash(bytes)?;
            if bytes[0] == records::RECORD_VERSION {
                let record = records::decode_journal(seq, bytes, &prev)?;
                let body = record.body();
                let form = records::lean_form(&record.transaction, &body);
                if let Some(form) = form.filter(|_| record.transaction.prev_hash == prev && record.transaction.seq == seq) {
                    lean.push((seq, records::encode_journal_lean(&hash, &body, form)));
                }
            }
            (next, prev, read) = (seq + 1, hash, read + 1);
        }
        if read == 0 {
            return Ok(());
        }
        for (seq, bytes) in lean {
            journal.insert(seq, bytes.as_slice())?;
        }
    }
}

/// The hash of the journal record before `seq` (32 zero bytes before the first): what a lean
/// record at `seq` chains to.
fn prev_hash(journal: &impl ReadableTable<u64, &'static [u8]>, seq: u64) -> Result<ChainHash, StoreError> {
    if seq <= 1 {
        return Ok(crate::journal::GENESIS_HASH);
    }
    match journal.get(seq - 1)? {
        Some(value) => Ok(records::journal_hash(value.value())?),
        None => Err(DecodeError { what: "journal", reason: format!("seq {} is missing", seq - 1) }.into()),
    }
}

/// Loads every balance `party` has in the store, and marks its cash, credit, arrears and
/// allocated accounts that have none as never posted (what the cache holds is newer and stays).
fn fetch_party_balances(table: &redb::ReadOnlyTable<&[u8], &[u8]>, state: &mut State, party: &Party) -> Result<(), StoreError> {
    let prefix = records::account_key_prefix(party);
    for entry in table.range(prefix.as_slice()..)? {
        let (key, value) = entry?;
        if !key.value().starts_with(&prefix) {
            break;
        }
        // The owner's encoding starts with its length: only its own keys share the prefix.
        let account = records::decode_account_key(key.value())?;
        let balance = records::decode_balance(value.value())?;
        state.load_fetched_balance(account, Some(balance));
    }
    for kind in [AccountKind::Cash, AccountKind::Credit, AccountKind::Arrears, AccountKind::Allocated] {
        state.load_fetched_balance(Account { owner: party.clone(), kind }, None);
    }
    Ok(())
}

/// Loads every checkpointed record, balance and request id a cache does not hold; then nothing
/// can miss until the cache is emptied again.
fn fetch_everything(txn: &redb::ReadTransaction, state: &mut State) -> Result<(), StoreError> {
    for entry in txn.open_table(RECORDS)?.iter()? {
        let (key, value) = entry?;
        let record = decode_record_under(key.value(), value.value())?;
        state.load_fetched_record(RecordKey::of(&record), Some(record));
    }
    for entry in txn.open_table(BALANCES)?.iter()? {
        let (key, value) = entry?;
        let account = records::decode_account_key(key.value())?;
        state.load_fetched_balance(account, Some(records::decode_balance(value.value())?));
    }
    // Format 3's runs hold each id's fingerprint; format 4's leave it to the journal record at
    // the id's seq, read here in one pass from the first such seq.
    let mut requests = Vec::new();
    let mut from_journal = BTreeMap::new();
    for entry in txn.open_table(REQUESTS)?.iter()? {
        for (id, seq, fingerprint) in records::decode_request_run(entry?.1.value())? {
            match fingerprint {
                Some(fingerprint) => requests.push((id, crate::domain::RequestEntry { seq, fingerprint })),
                None => {
                    if let Some(other) = from_journal.insert(seq, id) {
                        let reason = format!("two ids name seq {seq}: {other} and {}", from_journal[&seq]);
                        return Err(DecodeError { what: "request run", reason }.into());
                    }
                }
            }
        }
    }
    if let (Some(&first), Some(&last)) = (from_journal.keys().next(), from_journal.keys().next_back()) {
        let journal = txn.open_table(JOURNAL)?;
        let mut prev = prev_hash(&journal, first)?;
        for entry in journal.range(first..=last)? {
            let (key, value) = entry?;
            let record = records::decode_journal(key.value(), value.value(), &prev)?;
            prev = record.hash;
            if let Some(id) = from_journal.remove(&key.value()) {
                if record.transaction.request != id {
                    let reason = format!("it names {id} at seq {}, where the journal holds {}", key.value(), record.transaction.request);
                    return Err(DecodeError { what: "request run", reason }.into());
                }
                requests.push((id, crate::domain::RequestEntry { seq: key.value(), fingerprint: record.transaction.fingerprint }));
            }
        }
    }
    if let Some((seq, id)) = from_journal.pop_first() {
        return Err(DecodeError { what: "request run", reason: format!("it names {id} at seq {seq}, which the journal lacks") }.into());
    }
    state.load_requests(requests);
    state.set_complete();
    Ok(())
}

/// Visits the records stored under keys that start with `prefix`, in key order, one at a time.
fn each_under(
    table: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
    prefix: &str,
    mut visit: impl FnMut(Record) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for entry in table.range(prefix..)? {
        let (key, value) = entry?;
        if !key.value().starts_with(prefix) {
            break;
        }
        visit(decode_record_under(key.value(), value.value())?)?;
    }
    Ok(())
}

/// Decodes a stored record and checks it is stored under its own key.
fn decode_record_under(key: &str, bytes: &[u8]) -> Result<Record, StoreError> {
    let record = records::decode_record(bytes)?;
    if record.key() != key {
        return Err(DecodeError { what: "record", reason: format!("record under {key:?} is {:?}", record.key()) }.into());
    }
    Ok(record)
}
