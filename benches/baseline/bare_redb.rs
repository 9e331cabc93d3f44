//! The floor: the bare redb transfer pattern with no ledger around it. Per transfer, 2 balance
//! reads, 2 balance writes and 1 journal append; one redb write transaction per batch, committed
//! with `Durability::Immediate`. Keys are the ledger's account names (`partner:P7:cash`), values
//! an `i64` of fen; a journal row is 40 bytes (the last 16 bytes of the request id, partner, customer, amount, time). No
//! hash chain, no idempotency, no posting index, no records: what is left is redb's own cost.

use super::workload::{Allocation, PARTNER_FUNDS_FEN, PARTNERS};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use std::fmt::Write as _;
use std::path::Path;

const BALANCES: TableDefinition<&str, i64> = TableDefinition::new("balances");
const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
/// One row per durable commit of `commit_one`.
const COMMITS: TableDefinition<u64, u64> = TableDefinition::new("commits");

pub struct BareRedb {
    db: Database,
    seq: u64,
    partner_key: String,
    customer_key: String,
}

impl BareRedb {
    /// Creates the file with every partner's and every customer's cash row (customers at zero),
    /// so the balance tree is as large as the customer base.
    pub fn create(path: &Path, customers: u32) -> Result<BareRedb, redb::Error> {
        let db = Database::create(path)?;
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut balances = txn.open_table(BALANCES)?;
            for partner in 0..PARTNERS {
                balances.insert(format!("partner:P{partner}:cash").as_str(), PARTNER_FUNDS_FEN)?;
            }
            for customer in 0..customers {
                balances.insert(format!("customer:C{customer}:cash").as_str(), 0)?;
            }
            txn.open_table(JOURNAL)?;
            txn.open_table(COMMITS)?;
        }
        txn.commit()?;
        Ok(BareRedb { db, seq: 0, partner_key: String::new(), customer_key: String::new() })
    }

    /// Opens a file made by `create` (after compaction, say).
    pub fn open(path: &Path) -> Result<BareRedb, redb::Error> {
        let db = Database::open(path)?;
        let seq = {
            let txn = redb::ReadableDatabase::begin_read(&db)?;
            let journal = txn.open_table(JOURNAL)?;
            journal.last()?.map_or(0, |(key, _)| key.value())
        };
        Ok(BareRedb { db, seq, partner_key: String::new(), customer_key: String::new() })
    }

    /// Compacts a closed redb file (redb moves pages down and truncates the free tail).
    pub fn compact(path: &Path) -> Result<(), redb::Error> {
        let mut db = Database::open(path)?;
        db.compact()?;
        Ok(())
    }

    /// All of `batch` in one durable write transaction. A transfer the partner cannot cover is
    /// skipped (the workload never produces one).
    pub fn transfer_batch(&mut self, batch: &[Allocation]) -> Result<(), redb::Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut balances = txn.open_table(BALANCES)?;
            let mut journal = txn.open_table(JOURNAL)?;
            let at = now_millis();
            for allocation in batch {
                self.partner_key.clear();
                self.customer_key.clear();
                let _ = write!(self.partner_key, "partner:P{}:cash", allocation.partner);
                let _ = write!(self.customer_key, "customer:C{}:cash", allocation.customer);
                let from = balances.get(self.partner_key.as_str())?.map_or(0, |value| value.value());
                let to = balances.get(self.customer_key.as_str())?.map_or(0, |value| value.value());
                if from < allocation.amount_fen {
                    continue;
                }
                balances.insert(self.partner_key.as_str(), from - allocation.amount_fen)?;
                balances.insert(self.customer_key.as_str(), to + allocation.amount_fen)?;
                self.seq += 1;
                journal.insert(self.seq, journal_row(allocation, at).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// One durable commit of one small insert: the least a durable command can cost in redb.
    pub fn commit_one(&mut self) -> Result<(), redb::Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut commits = txn.open_table(COMMITS)?;
            self.seq += 1;
            commits.insert(self.seq, now_millis().unsigned_abs())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The database, for threads that commit side by side.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// `commit_one` on a shared database (for the multi-threaded runs): `key` must be unique.
pub fn commit_one_shared(db: &Database, key: u64) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut commits = txn.open_table(COMMITS)?;
        commits.insert(key, now_millis().unsigned_abs())?;
    }
    txn.commit()?;
    Ok(())
}

fn journal_row(allocation: &Allocation, at: i64) -> [u8; 40] {
    let mut row = [0u8; 40];
    let id = allocation.id.as_bytes();
    let take = id.len().min(16);
    row[..take].copy_from_slice(&id[id.len() - take..]);
    row[16..20].copy_from_slice(&allocation.partner.to_le_bytes());
    row[20..24].copy_from_slice(&allocation.customer.to_le_bytes());
    row[24..32].copy_from_slice(&allocation.amount_fen.to_le_bytes());
    row[32..40].copy_from_slice(&at.to_le_bytes());
    row
}

pub fn now_millis() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
