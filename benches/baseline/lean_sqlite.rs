//! The lean SQLite allocation service: the way one would write it in an afternoon. rusqlite with
//! bundled SQLite, WAL, `synchronous=FULL`, prepared statements, `BEGIN IMMEDIATE`, the commit
//! size the caller gives (1,000 in the bench). Per allocation, and nothing more:
//! - a request-id uniqueness check (`SELECT` on the journal's `UNIQUE` request column; a replay
//!   answers `duplicate`);
//! - the partner's balance update, guarded by the table's `CHECK (cash >= 0)` (a violation
//!   answers `insufficient_funds`; no row: `access_denied`);
//! - the customer's balance update (no row: `not_found`, and the debit is put back);
//! - one journal row.
//!
//! No ownership or association check, no postings (so no per-account history), no hash chain,
//! no content digest, no arrears. It runs behind the same JSON-lines shell as the richer
//! service (`sqlite::Service`).

use super::sqlite::{Allocate, AllocateRequest, Outcome, connect, reconnect, vacuum};
use super::workload::{PARTNER_FUNDS_FEN, PARTNERS};
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};
use std::path::Path;

const SCHEMA: &str = "
    CREATE TABLE balances(account TEXT PRIMARY KEY, cash INTEGER NOT NULL CHECK (cash >= 0)) WITHOUT ROWID;
    CREATE TABLE journal(seq INTEGER PRIMARY KEY, request TEXT NOT NULL UNIQUE, at INTEGER NOT NULL,
        actor TEXT NOT NULL, target TEXT NOT NULL, amount INTEGER NOT NULL);
";

/// Rows per transaction while registering customers (setup, not measured).
const SETUP_ROWS_PER_COMMIT: u32 = 250_000;

/// A lean SQLite database: balances and a journal.
pub struct LeanSqlite {
    pub(crate) connection: Connection,
    pub(crate) seq: i64,
}

impl LeanSqlite {
    /// Creates the database: every partner funded, every customer with a zero balance.
    pub fn create(path: &Path, customers: u32) -> rusqlite::Result<LeanSqlite> {
        let mut connection = connect(path)?;
        connection.execute_batch(SCHEMA)?;
        let parties = (0..PARTNERS)
            .map(|partner| (format!("partner:P{partner}"), PARTNER_FUNDS_FEN))
            .chain((0..customers).map(|customer| (format!("customer:C{customer}"), 0)));
        let mut parties = parties.peekable();
        while parties.peek().is_some() {
            let txn = connection.transaction()?;
            {
                let mut insert = txn.prepare("INSERT INTO balances(account, cash) VALUES (?1, ?2)")?;
                for (account, cash) in parties.by_ref().take(SETUP_ROWS_PER_COMMIT as usize) {
                    insert.execute(params![account, cash])?;
                }
            }
            txn.commit()?;
        }
        Ok(LeanSqlite { connection, seq: 0 })
    }

    /// Opens a database made by `create`.
    pub fn open(path: &Path) -> rusqlite::Result<LeanSqlite> {
        let (connection, seq) = reconnect(path)?;
        Ok(LeanSqlite { connection, seq })
    }

    /// Checkpoints the WAL into the main file and rebuilds it (VACUUM): the compacted size.
    pub fn compact(&self) -> rusqlite::Result<()> {
        vacuum(&self.connection)
    }

    /// A party's cash (`partner:P1`, `customer:C5`), as a one-shot query reads it.
    pub fn cash(&self, party: &str) -> rusqlite::Result<Option<i64>> {
        self.connection.query_row("SELECT cash FROM balances WHERE account = ?1", [party], |row| row.get(0)).optional()
    }
}

impl super::sqlite::Database for LeanSqlite {
    fn parts(&mut self) -> (&mut Connection, &mut i64) {
        (&mut self.connection, &mut self.seq)
    }

    fn statements<'c>(connection: &'c Connection) -> rusqlite::Result<Box<dyn Allocate + 'c>> {
        Ok(Box::new(LeanStatements::prepare(connection)?))
    }
}

/// The four statements of a lean allocation, fetched from rusqlite's cache once per commit.
pub struct LeanStatements<'c> {
    replayed: CachedStatement<'c>,
    debit: CachedStatement<'c>,
    credit: CachedStatement<'c>,
    journal: CachedStatement<'c>,
    partner_party: String,
    customer_party: String,
}

impl<'c> LeanStatements<'c> {
    pub fn prepare(connection: &'c Connection) -> rusqlite::Result<LeanStatements<'c>> {
        Ok(LeanStatements {
            replayed: connection.prepare_cached("SELECT seq FROM journal WHERE request = ?1")?,
            debit: connection.prepare_cached("UPDATE balances SET cash = cash - ?2 WHERE account = ?1")?,
            credit: connection.prepare_cached("UPDATE balances SET cash = cash + ?2 WHERE account = ?1")?,
            journal: connection
                .prepare_cached("INSERT INTO journal(seq, request, at, actor, target, amount) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            partner_party: String::new(),
            customer_party: String::new(),
        })
    }
}

impl Allocate for LeanStatements<'_> {
    fn allocate(&mut self, request: &AllocateRequest<'_>, at: i64, seq: &mut i64) -> rusqlite::Result<Outcome> {
        if let Some(original) = self.replayed.query_row([request.id], |row| row.get(0)).optional()? {
            return Ok(Outcome::Duplicate(original));
        }
        self.partner_party.clear();
        self.partner_party.push_str("partner:");
        self.partner_party.push_str(request.partner);
        self.customer_party.clear();
        self.customer_party.push_str("customer:");
        self.customer_party.push_str(request.customer);
        match self.debit.execute(params![self.partner_party, request.amount_fen]) {
            Ok(0) => return Ok(Outcome::Failed("access_denied")),
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(error, _)) if error.code == rusqlite::ErrorCode::ConstraintViolation => {
                return Ok(Outcome::Failed("insufficient_funds"));
            }
            Err(error) => return Err(error),
        }
        if self.credit.execute(params![self.customer_party, request.amount_fen])? == 0 {
            self.credit.execute(params![self.partner_party, request.amount_fen])?;
            return Ok(Outcome::Failed("not_found"));
        }
        *seq += 1;
        self.journal.execute(params![*seq, request.id, at, self.partner_party, self.customer_party, request.amount_fen])?;
        Ok(Outcome::Committed(*seq))
    }
}
