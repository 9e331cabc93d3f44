//! The same double-entry allocation in SQLite, as a competent service would write it: rusqlite
//! with bundled SQLite, WAL, `synchronous=FULL` (every commit fsyncs the WAL), the same 1 GiB
//! page cache redb has by default, prepared statements fetched once per commit, `BEGIN IMMEDIATE`.
//!
//! Per allocation, inside the batch's transaction:
//! - idempotency: the request id is looked up in `requests` (a replay answers `duplicate`);
//! - the acting partner's balance row (absent: `access_denied`) and the customer's row (absent:
//!   `not_found`; another partner's: `not_your_customer`; not resale: `not_resale_customer`);
//! - `insufficient_funds` unless `cash - held >= amount`;
//! - the customer's debt is repaid first, then cash: both balance rows are updated;
//! - one `journal` row (which doubles as the adjust record), one `requests` row and one posting
//!   row per account touched (`postings`, keyed `(account, seq, index)` with the balance after).
//!
//! What it does not do that the ledger does: no hash chain, no fingerprint of the request
//! content (a reused id counts as a replay), no in-memory state.
//!
//! `Service` adds the JSON-lines shell: each line is parsed with serde_json into a typed request,
//! run as above, and answered with one JSON result line in the ledger's format, written once the
//! commit is durable.

use super::bare_redb::now_millis;
use super::workload::{Allocation, PARTNER_FUNDS_FEN, PARTNERS};
use rusqlite::{CachedStatement, Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

const SCHEMA: &str = "
    CREATE TABLE partners(id TEXT PRIMARY KEY, kind TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE customers(id TEXT PRIMARY KEY, partner TEXT, association TEXT) WITHOUT ROWID;
    CREATE TABLE balances(party TEXT PRIMARY KEY, cash INTEGER NOT NULL, held INTEGER NOT NULL,
        arrears INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE requests(id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE journal(seq INTEGER PRIMARY KEY, request TEXT NOT NULL, at INTEGER NOT NULL,
        actor TEXT NOT NULL, op TEXT NOT NULL, partner TEXT NOT NULL, target TEXT NOT NULL,
        amount INTEGER NOT NULL, memo TEXT);
    CREATE TABLE postings(account TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        amount INTEGER NOT NULL, balance_after INTEGER NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY(account, seq, idx)) WITHOUT ROWID;
";

/// How one command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Committed(i64),
    Duplicate(i64),
    Failed(&'static str),
}

pub struct SqliteLedger {
    pub(crate) connection: Connection,
    pub(crate) seq: i64,
}

/// Opens a connection with the baseline's settings.
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-1048576;")?;
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    assert_eq!(mode, "wal", "SQLite refused WAL mode");
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

/// Opens an existing database of either service, with the last seq of its `journal`.
pub fn reconnect(path: &Path) -> rusqlite::Result<(Connection, i64)> {
    let connection = connect(path)?;
    let seq = connection.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |row| row.get(0))?;
    Ok((connection, seq))
}

/// Checkpoints the WAL into the main file and rebuilds it (VACUUM), leaving an empty WAL.
pub fn vacuum(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
}

impl SqliteLedger {
    /// Creates the database: every partner funded, every customer registered with a zero balance.
    pub fn create(path: &Path, customers: u32) -> rusqlite::Result<SqliteLedger> {
        let mut connection = connect(path)?;
        connection.execute_batch(SCHEMA)?;
        let txn = connection.transaction()?;
        {
            let mut partner = txn.prepare("INSERT INTO partners(id, kind) VALUES (?1, 'distributor')")?;
            let mut customer = txn.prepare("INSERT INTO customers(id, partner, association) VALUES (?1, ?2, 'resale')")?;
            let mut balance = txn.prepare("INSERT INTO balances(party, cash, held, arrears) VALUES (?1, ?2, 0, 0)")?;
            for index in 0..PARTNERS {
                partner.execute([format!("P{index}")])?;
                balance.execute(params![format!("partner:P{index}"), PARTNER_FUNDS_FEN])?;
            }
            for index in 0..customers {
                customer.execute(params![format!("C{index}"), format!("P{}", index % PARTNERS)])?;
                balance.execute(params![format!("customer:C{index}"), 0])?;
            }
        }
        txn.commit()?;
        Ok(SqliteLedger { connection, seq: 0 })
    }

    /// Opens a database made by `create`.
    pub fn open(path: &Path) -> rusqlite::Result<SqliteLedger> {
        let (connection, seq) = reconnect(path)?;
        Ok(SqliteLedger { connection, seq })
    }

    /// Checkpoints the WAL into the main file and rebuilds it (VACUUM): the compacted size.
    pub fn compact(&self) -> rusqlite::Result<()> {
        vacuum(&self.connection)
    }

    fn begin(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.connection.transaction_with_behavior(TransactionBehavior::Immediate)
    }

    /// Pre-decoded allocations in one durable transaction.
    pub fn allocate_batch(&mut self, batch: &[Allocation]) -> rusqlite::Result<Vec<Outcome>> {
        let mut seq = self.seq;
        let txn = self.begin()?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut statements = Statements::prepare(&txn)?;
            let mut actor = String::new();
            let mut customer = String::new();
            for allocation in batch {
                actor.clear();
                customer.clear();
                use std::fmt::Write as _;
                let _ = write!(actor, "P{}", allocation.partner);
                let _ = write!(customer, "C{}", allocation.customer);
                let request = AllocateRequest {
                    id: &allocation.id,
                    partner: &actor,
                    customer: &customer,
                    amount_fen: allocation.amount_fen,
                    memo: None,
                };
                outcomes.push(statements.allocate(&request, now_millis(), &mut seq)?);
            }
        }
        txn.commit()?;
        self.seq = seq;
        Ok(outcomes)
    }
}

/// A decoded allocation: `partner` and `customer` are bare ids.
pub struct AllocateRequest<'a> {
    pub id: &'a str,
    pub partner: &'a str,
    pub customer: &'a str,
    pub amount_fen: i64,
    pub memo: Option<&'a str>,
}

/// The statements of the allocation, fetched from rusqlite's statement cache once per commit.
pub struct Statements<'c> {
    request: CachedStatement<'c>,
    customer: CachedStatement<'c>,
    balance: CachedStatement<'c>,
    set_balance: CachedStatement<'c>,
    journal: CachedStatement<'c>,
    remember: CachedStatement<'c>,
    posting: CachedStatement<'c>,
    partner_party: String,
    customer_party: String,
}

/// One journal row (it doubles as the adjust record of allocations).
pub struct JournalRow<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: i64,
    pub actor: &'a str,
    pub op: &'a str,
    pub partner: &'a str,
    pub target: &'a str,
    pub amount: i64,
    pub memo: Option<&'a str>,
}

/// A party's balance row: (cash, held, arrears).
pub type BalanceRow = (i64, i64, i64);

impl<'c> Statements<'c> {
    pub fn prepare(connection: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            request: connection.prepare_cached("SELECT seq FROM requests WHERE id = ?1")?,
            customer: connection.prepare_cached("SELECT partner, association FROM customers WHERE id = ?1")?,
            balance: connection.prepare_cached("SELECT cash, held, arrears FROM balances WHERE party = ?1")?,
            set_balance: connection.prepare_cached("UPDATE balances SET cash = ?2, arrears = ?3 WHERE party = ?1")?,
            journal: connection.prepare_cached(
                "INSERT INTO journal(seq, request, at, actor, op, partner, target, amount, memo) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?,
            remember: connection.prepare_cached("INSERT INTO requests(id, seq) VALUES (?1, ?2)")?,
            posting: connection.prepare_cached("INSERT INTO postings(account, seq, idx, amount, balance_after, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            partner_party: String::new(),
            customer_party: String::new(),
        })
    }

    /// The seq of an already committed request id.
    pub fn replayed(&mut self, id: &str) -> rusqlite::Result<Option<i64>> {
        self.request.query_row([id], |row| row.get(0)).optional()
    }

    pub fn balance(&mut self, party: &str) -> rusqlite::Result<Option<BalanceRow>> {
        self.balance.query_row([party], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).optional()
    }

    pub fn set_balance(&mut self, party: &str, cash: i64, arrears: i64) -> rusqlite::Result<()> {
        self.set_balance.execute(params![party, cash, arrears])?;
        Ok(())
    }

    /// A journal row and the request id's row.
    pub fn record(&mut self, row: &JournalRow<'_>) -> rusqlite::Result<()> {
        self.journal.execute(params![row.seq, row.id, row.at, row.actor, row.op, row.partner, row.target, row.amount, row.memo])?;
        self.remember.execute(params![row.id, row.seq])?;
        Ok(())
    }

    pub fn posting(&mut self, account: &str, seq: i64, index: i64, amount: i64, balance_after: i64, at: i64) -> rusqlite::Result<()> {
        self.posting.execute(params![account, seq, index, amount, balance_after, at])?;
        Ok(())
    }

    /// Money arriving at a customer: debt first (`arrears` is negative), then cash; posts both.
    pub fn credit_customer(
        &mut self,
        party: &str,
        row: BalanceRow,
        amount: i64,
        seq: i64,
        first_index: i64,
        at: i64,
    ) -> rusqlite::Result<i64> {
        let (cash, _, arrears) = row;
        let repaid = amount.min(-arrears).max(0);
        let (cash_after, arrears_after) = (cash + amount - repaid, arrears + repaid);
        self.set_balance(party, cash_after, arrears_after)?;
        let mut index = first_index;
        if repaid > 0 {
            self.posting(&format!("{party}:arrears"), seq, index, repaid, arrears_after, at)?;
            index += 1;
        }
        if amount > repaid {
            self.posting(&format!("{party}:cash"), seq, index, amount - repaid, cash_after, at)?;
            index += 1;
        }
        Ok(index)
    }

    /// One allocation with every check, in the caller's transaction.
    pub fn allocate(&mut self, request: &AllocateRequest<'_>, at: i64, seq: &mut i64) -> rusqlite::Result<Outcome> {
        if let Some(original) = self.replayed(request.id)? {
            return Ok(Outcome::Duplicate(original));
        }
        let mut partner_party = std::mem::take(&mut self.partner_party);
        let mut customer_party = std::mem::take(&mut self.customer_party);
        partner_party.clear();
        customer_party.clear();
        partner_party.push_str("partner:");
        partner_party.push_str(request.partner);
        customer_party.push_str("customer:");
        customer_party.push_str(request.customer);
        let outcome = self.allocate_checked(request, &partner_party, &customer_party, at, seq);
        self.partner_party = partner_party;
        self.customer_party = customer_party;
        outcome
    }

    fn allocate_checked(
        &mut self,
        request: &AllocateRequest<'_>,
        partner_party: &str,
        customer_party: &str,
        at: i64,
        seq: &mut i64,
    ) -> rusqlite::Result<Outcome> {
        let Some(partner_row) = self.balance(partner_party)? else { return Ok(Outcome::Failed("access_denied")) };
        let customer = self
            .customer
            .query_row([request.customer], |row| Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?)))
            .optional()?;
        let Some((owner, association)) = customer else { return Ok(Outcome::Failed("not_found")) };
        if owner.as_deref() != Some(request.partner) {
            return Ok(Outcome::Failed("not_your_customer"));
        }
        if association.as_deref() != Some("resale") {
            return Ok(Outcome::Failed("not_resale_customer"));
        }
        let (cash, held, partner_arrears) = partner_row;
        if cash - held < request.amount_fen {
            return Ok(Outcome::Failed("insufficient_funds"));
        }
        let Some(customer_row) = self.balance(customer_party)? else { return Ok(Outcome::Failed("not_found")) };
        *seq += 1;
        let this = *seq;
        self.set_balance(partner_party, cash - request.amount_fen, partner_arrears)?;
        self.posting(&format!("{partner_party}:cash"), this, 0, -request.amount_fen, cash - request.amount_fen, at)?;
        self.credit_customer(customer_party, customer_row, request.amount_fen, this, 1, at)?;
        let row = JournalRow {
            seq: this,
            id: request.id,
            at,
            actor: partner_party,
            op: "allocate",
            partner: request.partner,
            target: customer_party,
            amount: request.amount_fen,
            memo: request.memo,
        };
        self.record(&row)?;
        Ok(Outcome::Committed(this))
    }
}

impl Allocate for Statements<'_> {
    fn allocate(&mut self, request: &AllocateRequest<'_>, at: i64, seq: &mut i64) -> rusqlite::Result<Outcome> {
        // The inherent method (inherent methods win over trait methods).
        Statements::allocate(self, request, at, seq)
    }
}

/// One allocation with its checks, in the caller's transaction: what a service runs per line.
pub trait Allocate {
    fn allocate(&mut self, request: &AllocateRequest<'_>, at: i64, seq: &mut i64) -> rusqlite::Result<Outcome>;
}

/// A SQLite database behind the JSON-lines shell: the rich one here, the lean one of
/// `lean_sqlite.rs`.
pub trait Database {
    /// The connection and the last journal seq.
    fn parts(&mut self) -> (&mut Connection, &mut i64);
    /// Its allocation statements, prepared (from the cache) once per commit.
    fn statements<'c>(connection: &'c Connection) -> rusqlite::Result<Box<dyn Allocate + 'c>>;
}

impl Database for SqliteLedger {
    fn parts(&mut self) -> (&mut Connection, &mut i64) {
        (&mut self.connection, &mut self.seq)
    }

    fn statements<'c>(connection: &'c Connection) -> rusqlite::Result<Box<dyn Allocate + 'c>> {
        Ok(Box::new(Statements::prepare(connection)?))
    }
}

/// The JSON-lines service: lines in, result lines out, `serve_batch` lines per durable commit.
pub struct Service<D: Database = SqliteLedger> {
    pub ledger: D,
    buffer: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    #[serde(borrow)]
    to: Cow<'a, str>,
    #[serde(borrow)]
    amount: Cow<'a, str>,
    #[serde(borrow, default)]
    partner: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    memo: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Committed<'a> {
    id: &'a str,
    ok: bool,
    seq: i64,
    duplicate: bool,
    result: Transfer<'a>,
}

#[derive(Serialize)]
struct Transfer<'a> {
    transfer: &'a str,
}

#[derive(Serialize)]
struct Failed<'a> {
    id: Option<&'a str>,
    ok: bool,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl<D: Database> Service<D> {
    pub fn new(ledger: D) -> Service<D> {
        Service { ledger, buffer: Vec::with_capacity(1 << 20) }
    }

    /// Runs `lines` in one durable commit and writes one result line per input line to `output`
    /// once it is durable.
    pub fn serve_batch<S: AsRef<str>>(&mut self, lines: &[S], output: &mut impl Write) -> std::io::Result<()> {
        self.buffer.clear();
        let (connection, last_seq) = self.ledger.parts();
        let mut seq = *last_seq;
        let txn = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(std::io::Error::other)?;
        {
            let mut statements = D::statements(&txn).map_err(std::io::Error::other)?;
            for line in lines {
                serve_line(statements.as_mut(), line.as_ref(), now_millis(), &mut seq, &mut self.buffer)?;
            }
        }
        txn.commit().map_err(std::io::Error::other)?;
        *last_seq = seq;
        output.write_all(&self.buffer)
    }
}

fn serve_line(statements: &mut dyn Allocate, line: &str, at: i64, seq: &mut i64, output: &mut Vec<u8>) -> std::io::Result<()> {
    let failed = |output: &mut Vec<u8>, id: Option<&str>, code: &str, message: &str| -> std::io::Result<()> {
        serde_json::to_writer(&mut *output, &Failed { id, ok: false, error: ErrorBody { code, message } })?;
        output.push(b'\n');
        Ok(())
    };
    let request: Line<'_> = match serde_json::from_str(line) {
        Ok(request) => request,
        Err(error) => return failed(output, None, "invalid_request", &error.to_string()),
    };
    let id = request.id.as_deref();
    if request.op != "allocate" {
        return failed(output, id, "invalid_request", "this service only allocates");
    }
    let Some(id) = id.filter(|id| valid_id(id, true)) else { return failed(output, id, "invalid_id", "bad request id") };
    let Some(amount_fen) = parse_fen(&request.amount) else { return failed(output, Some(id), "invalid_amount", "bad amount") };
    let Some(actor) = request.actor.strip_prefix("partner:").filter(|actor| valid_id(actor, false)) else {
        return failed(output, Some(id), "access_denied", "only partners allocate");
    };
    let Some(customer) = request.to.strip_prefix("customer:").filter(|customer| valid_id(customer, false)) else {
        return failed(output, Some(id), "invalid_request", "to must be a customer");
    };
    if request.partner.as_deref().is_some_and(|partner| partner != actor) {
        return failed(output, Some(id), "invalid_request", "acting for a reseller is not modelled");
    }
    let decoded = AllocateRequest { id, partner: actor, customer, amount_fen, memo: request.memo.as_deref() };
    match statements.allocate(&decoded, at, seq).map_err(std::io::Error::other)? {
        outcome @ (Outcome::Committed(seq) | Outcome::Duplicate(seq)) => {
            let duplicate = matches!(outcome, Outcome::Duplicate(_));
            serde_json::to_writer(&mut *output, &Committed { id, ok: true, seq, duplicate, result: Transfer { transfer: id } })?;
            output.push(b'\n');
            Ok(())
        }
        Outcome::Failed(code) => failed(output, Some(id), code, "refused"),
    }
}

/// The protocol's id rule: 1 to 64 characters from `A-Z a-z 0-9 _ . : -` (no `:` in party ids).
fn valid_id(text: &str, colon_allowed: bool) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') || (colon_allowed && b == b':'))
}

/// A positive amount with at most 2 decimals, below 10^12, in fen; anything else is `None`.
pub fn parse_fen(text: &str) -> Option<i64> {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty()
        || units.len() > 12
        || fraction.len() > 2
        || !digits(units)
        || !digits(fraction)
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { fraction.parse::<i64>().ok()? * if fraction.len() == 1 { 10 } else { 1 } };
    let fen = units.checked_mul(100)?.checked_add(fraction)?;
    (fen > 0 && fen < 100_000_000_000_000).then_some(fen)
}
