//! The settlement mix: per unit, a partner funds one of its resale customers, issues it a
//! voucher, and the customer places a combined order of 3, pays it with the voucher then cash,
//! unsubscribes one order with a partial refund, and is charged for usage — 6 commands:
//!
//! allocate 100.00 → issue_coupon 5.00 → place_combined_order (20.00 + 30.00 + 10.00) →
//! pay_order with the coupon → unsubscribe the third order, refund 4.00 → consume 1.2345.
//!
//! `SqliteSettlement` is the same work hand-written for SQLite (settings and allocation as in
//! `sqlite.rs`): every command checks its request id, its parties, state and funds with prepared
//! statements, then writes its rows (quota, coupon, combined order, orders, bills, balances),
//! one journal row, one requests row and one posting row per account touched. It models what the
//! mix uses, not the whole SPEC: no credit, no services on coupons, no record history, no hash chain.

use super::bare_redb::now_millis;
use super::sqlite::{AllocateRequest, JournalRow, Outcome, SqliteLedger, Statements};
use super::workload::{PARTNERS, XorShift};
use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};
use std::path::Path;

/// Commands per settlement unit.
pub const UNIT_COMMANDS: usize = 6;
const ALLOCATE_FEN: i64 = 10_000;
const COUPON_FEN: i64 = 500;
const ORDER_FEN: [i64; 3] = [2_000, 3_000, 1_000];
const REFUND_FEN: i64 = 400;
/// `consume` of 1.2345: 1.23 is deducted, 0.0045 erased.
const USAGE_TEXT: &str = "1.2345";
const USAGE_FEN: i64 = 123;
const QUOTA_FEN: i64 = 100_000_000_000;
const VALID_FROM: &str = "2020-01-01T00:00:00Z";
const VALID_UNTIL: &str = "2099-01-01T00:00:00Z";
const VALID_FROM_MILLIS: i64 = 1_577_836_800_000;
const VALID_UNTIL_MILLIS: i64 = 4_070_908_800_000;
const PAY_DEADLINE_MILLIS: i64 = 7 * 24 * 3_600_000;

/// One settlement unit: `unit` numbers its ids, `customer` is the paying customer.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub unit: u64,
    pub customer: u32,
}

impl Unit {
    pub fn partner(&self) -> u32 {
        self.customer % PARTNERS
    }

    /// The unit's 6 commands as JSON lines for the ledger.
    pub fn lines(&self) -> [String; UNIT_COMMANDS] {
        let (u, c, p) = (self.unit, self.customer, self.partner());
        [
            format!(r#"{{"op":"allocate","id":"s{u}-1","actor":"partner:P{p}","to":"customer:C{c}","amount":"100"}}"#),
            format!(
                r#"{{"op":"issue_coupon","id":"s{u}-2","actor":"partner:P{p}","coupon":"K{u}","quota":"Q{p}","customer":"C{c}","face_value":"5"}}"#
            ),
            format!(
                r#"{{"op":"place_combined_order","id":"s{u}-3","actor":"customer:C{c}","combined":"G{u}","customer":"C{c}","orders":[{{"order":"O{u}a","amount":"20","kind":"new","service":"ecs"}},{{"order":"O{u}b","amount":"30","kind":"renew","service":"obs"}},{{"order":"O{u}c","amount":"10","kind":"new","service":"evs"}}]}}"#
            ),
            format!(r#"{{"op":"pay_order","id":"s{u}-4","actor":"customer:C{c}","order":"G{u}","coupons":["K{u}"]}}"#),
            format!(r#"{{"op":"unsubscribe","id":"s{u}-5","actor":"customer:C{c}","order":"O{u}c","refund":"4"}}"#),
            format!(r#"{{"op":"consume","id":"s{u}-6","actor":"platform","customer":"C{c}","amount":"{USAGE_TEXT}","service":"ecs"}}"#),
        ]
    }
}

/// Units numbered from `first`, customers drawn uniformly.
pub fn units(first: u64, count: usize, customers: u32, random: &mut XorShift) -> Vec<Unit> {
    (0..count as u64)
        .map(|offset| Unit { unit: first + offset, customer: u32::try_from(random.next() % u64::from(customers)).expect("u32") })
        .collect()
}

/// The ledger's extra setup for the mix: one voucher quota per partner.
pub fn quota_lines() -> Vec<String> {
    (0..PARTNERS)
        .map(|p| {
            format!(
                r#"{{"op":"issue_quota","id":"setup-q{p}","actor":"platform","quota":"Q{p}","partner":"P{p}","kind":"voucher","amount":"{}","valid_from":"{VALID_FROM}","valid_until":"{VALID_UNTIL}"}}"#,
                super::workload::amount_text(QUOTA_FEN)
            )
        })
        .collect()
}

const SCHEMA: &str = "
    CREATE TABLE quotas(id TEXT PRIMARY KEY, partner TEXT NOT NULL, kind TEXT NOT NULL, balance INTEGER NOT NULL,
        valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL, status TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE coupons(id TEXT PRIMARY KEY, customer TEXT NOT NULL, quota TEXT NOT NULL, issuer TEXT NOT NULL,
        face_value INTEGER NOT NULL, remaining INTEGER NOT NULL, valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL,
        status TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE combined(id TEXT PRIMARY KEY, customer TEXT NOT NULL, status TEXT NOT NULL, pay_deadline INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE orders(id TEXT PRIMARY KEY, customer TEXT NOT NULL, combined TEXT, position INTEGER NOT NULL,
        kind TEXT NOT NULL, service TEXT, amount INTEGER NOT NULL, status TEXT NOT NULL, payer TEXT,
        paid_coupon INTEGER NOT NULL, paid_cash INTEGER NOT NULL, refunded INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX orders_by_combined ON orders(combined, position);
    CREATE TABLE bills(id TEXT PRIMARY KEY, party TEXT NOT NULL, bill_type TEXT NOT NULL, at INTEGER NOT NULL,
        order_id TEXT, amount INTEGER NOT NULL, coupon_amount INTEGER NOT NULL, cash_amount INTEGER NOT NULL,
        debt_amount INTEGER NOT NULL, erase_amount INTEGER NOT NULL, invoiceable INTEGER NOT NULL,
        invoiced INTEGER NOT NULL) WITHOUT ROWID;
";

/// A decoded settlement unit for SQLite: ids pre-formatted, as a decoder would hand them over.
pub struct DecodedUnit {
    ids: [String; UNIT_COMMANDS],
    partner: String,
    partner_party: String,
    customer: String,
    customer_party: String,
    coupon: String,
    quota: String,
    combined: String,
    orders: [String; 3],
}

impl DecodedUnit {
    pub fn new(unit: &Unit) -> DecodedUnit {
        let (u, c, p) = (unit.unit, unit.customer, unit.partner());
        DecodedUnit {
            ids: std::array::from_fn(|index| format!("s{u}-{}", index + 1)),
            partner: format!("P{p}"),
            partner_party: format!("partner:P{p}"),
            customer: format!("C{c}"),
            customer_party: format!("customer:C{c}"),
            coupon: format!("K{u}"),
            quota: format!("Q{p}"),
            combined: format!("G{u}"),
            orders: [format!("O{u}a"), format!("O{u}b"), format!("O{u}c")],
        }
    }
}

pub struct SqliteSettlement {
    pub ledger: SqliteLedger,
}

struct MixStatements<'c> {
    quota: CachedStatement<'c>,
    set_quota: CachedStatement<'c>,
    coupon_exists: CachedStatement<'c>,
    coupon: CachedStatement<'c>,
    insert_coupon: CachedStatement<'c>,
    set_coupon: CachedStatement<'c>,
    customer: CachedStatement<'c>,
    combined_exists: CachedStatement<'c>,
    order_exists: CachedStatement<'c>,
    insert_combined: CachedStatement<'c>,
    insert_order: CachedStatement<'c>,
    combined: CachedStatement<'c>,
    combined_orders: CachedStatement<'c>,
    set_combined: CachedStatement<'c>,
    pay: CachedStatement<'c>,
    order: CachedStatement<'c>,
    refund: CachedStatement<'c>,
    bill_invoiced: CachedStatement<'c>,
    insert_bill: CachedStatement<'c>,
}

impl<'c> MixStatements<'c> {
    fn prepare(connection: &'c Connection) -> rusqlite::Result<MixStatements<'c>> {
        Ok(MixStatements {
            quota: connection.prepare_cached("SELECT partner, balance, valid_from, valid_until, status FROM quotas WHERE id = ?1")?,
            set_quota: connection.prepare_cached("UPDATE quotas SET balance = ?2 WHERE id = ?1")?,
            coupon_exists: connection.prepare_cached("SELECT 1 FROM coupons WHERE id = ?1")?,
            coupon: connection.prepare_cached("SELECT customer, remaining, valid_from, valid_until, status FROM coupons WHERE id = ?1")?,
            insert_coupon: connection.prepare_cached(
                "INSERT INTO coupons(id, customer, quota, issuer, face_value, remaining, valid_from, valid_until, status) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, 'usable')",
            )?,
            set_coupon: connection.prepare_cached("UPDATE coupons SET remaining = ?2, status = ?3 WHERE id = ?1")?,
            customer: connection.prepare_cached("SELECT partner, association FROM customers WHERE id = ?1")?,
            combined_exists: connection.prepare_cached("SELECT 1 FROM combined WHERE id = ?1")?,
            order_exists: connection.prepare_cached("SELECT 1 FROM orders WHERE id = ?1")?,
            insert_combined: connection.prepare_cached("INSERT INTO combined(id, customer, status, pay_deadline) VALUES (?1, ?2, 'pending_payment', ?3)")?,
            insert_order: connection.prepare_cached(
                "INSERT INTO orders(id, customer, combined, position, kind, service, amount, status, payer, paid_coupon, paid_cash, refunded, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending_payment', NULL, 0, 0, 0, ?8)",
            )?,
            combined: connection.prepare_cached("SELECT customer, status, pay_deadline FROM combined WHERE id = ?1")?,
            combined_orders: connection.prepare_cached("SELECT id, amount FROM orders WHERE combined = ?1 ORDER BY position")?,
            set_combined: connection.prepare_cached("UPDATE combined SET status = ?2 WHERE id = ?1")?,
            pay: connection.prepare_cached("UPDATE orders SET status = 'paid', payer = ?2, paid_coupon = ?3, paid_cash = ?4 WHERE id = ?1")?,
            order: connection.prepare_cached("SELECT customer, status, paid_cash, refunded FROM orders WHERE id = ?1")?,
            refund: connection.prepare_cached("UPDATE orders SET status = 'unsubscribed', refunded = ?2 WHERE id = ?1")?,
            bill_invoiced: connection.prepare_cached("SELECT invoiced FROM bills WHERE id = ?1")?,
            insert_bill: connection.prepare_cached(
                "INSERT INTO bills(id, party, bill_type, at, order_id, amount, coupon_amount, cash_amount, debt_amount, erase_amount, invoiceable, invoiced) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)",
            )?,
        })
    }
}

impl SqliteSettlement {
    /// Adds the mix's tables and one voucher quota per partner to a database made by
    /// `SqliteLedger::create`, and the platform's accounts.
    pub fn create(path: &Path, customers: u32) -> rusqlite::Result<SqliteSettlement> {
        let ledger = SqliteLedger::create(path, customers)?;
        ledger.connection.execute_batch(SCHEMA)?;
        for party in ["platform:revenue", "platform:coupon_redeemed", "platform:coupon_issuance"] {
            ledger.connection.execute("INSERT INTO balances(party, cash, held, arrears) VALUES (?1, 0, 0, 0)", [party])?;
        }
        for p in 0..PARTNERS {
            ledger.connection.execute(
                "INSERT INTO quotas(id, partner, kind, balance, valid_from, valid_until, status) VALUES (?1, ?2, 'voucher', ?3, ?4, ?5, 'normal')",
                params![format!("Q{p}"), format!("P{p}"), QUOTA_FEN, VALID_FROM_MILLIS, VALID_UNTIL_MILLIS],
            )?;
        }
        Ok(SqliteSettlement { ledger })
    }

    /// Runs `units` (6 commands each) in one durable transaction; returns the refused commands' codes.
    pub fn run_batch(&mut self, units: &[DecodedUnit]) -> rusqlite::Result<Vec<&'static str>> {
        let mut seq = self.ledger.seq;
        let txn = self.ledger.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut refused = Vec::new();
        {
            let mut base = Statements::prepare(&txn)?;
            let mut mix = MixStatements::prepare(&txn)?;
            let at = now_millis();
            for unit in units {
                let request = AllocateRequest {
                    id: &unit.ids[0],
                    partner: &unit.partner,
                    customer: &unit.customer,
                    amount_fen: ALLOCATE_FEN,
                    memo: None,
                };
                let outcomes = [
                    base.allocate(&request, at, &mut seq)?,
                    issue_coupon(&mut base, &mut mix, unit, at, &mut seq)?,
                    place_combined(&mut base, &mut mix, unit, at, &mut seq)?,
                    pay(&mut base, &mut mix, unit, at, &mut seq)?,
                    unsubscribe(&mut base, &mut mix, unit, at, &mut seq)?,
                    consume(&mut base, &mut mix, unit, at, &mut seq)?,
                ];
                refused.extend(outcomes.iter().filter_map(|outcome| match outcome {
                    Outcome::Failed(code) => Some(*code),
                    _ => None,
                }));
            }
        }
        txn.commit()?;
        self.ledger.seq = seq;
        Ok(refused)
    }
}

/// The customer's owner and association, or why the partner may not act for it.
fn resale_customer_of(mix: &mut MixStatements<'_>, customer: &str, partner: &str) -> rusqlite::Result<Result<(), &'static str>> {
    let row =
        mix.customer.query_row([customer], |row| Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?))).optional()?;
    Ok(match row {
        None => Err("not_found"),
        Some((owner, _)) if owner.as_deref() != Some(partner) => Err("not_your_customer"),
        Some((_, association)) if association.as_deref() != Some("resale") => Err("not_resale_customer"),
        Some(_) => Ok(()),
    })
}

fn issue_coupon(
    base: &mut Statements<'_>,
    mix: &mut MixStatements<'_>,
    unit: &DecodedUnit,
    at: i64,
    seq: &mut i64,
) -> rusqlite::Result<Outcome> {
    let id = &unit.ids[1];
    if let Some(original) = base.replayed(id)? {
        return Ok(Outcome::Duplicate(original));
    }
    if base.balance(&unit.partner_party)?.is_none() {
        return Ok(Outcome::Failed("access_denied"));
    }
    let quota = mix
        .quota
        .query_row([&unit.quota], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?, row.get::<_, String>(4)?))
        })
        .optional()?;
    let Some((owner, balance, valid_from, valid_until, status)) = quota else { return Ok(Outcome::Failed("not_found")) };
    if owner != unit.partner {
        return Ok(Outcome::Failed("access_denied"));
    }
    if let Err(code) = resale_customer_of(mix, &unit.customer, &unit.partner)? {
        return Ok(Outcome::Failed(code));
    }
    if mix.coupon_exists.query_row([&unit.coupon], |_| Ok(())).optional()?.is_some() {
        return Ok(Outcome::Failed("already_exists"));
    }
    if status != "normal" || at < valid_from || at >= valid_until {
        return Ok(Outcome::Failed("quota_not_valid"));
    }
    if balance < COUPON_FEN {
        return Ok(Outcome::Failed("quota_insufficient"));
    }
    *seq += 1;
    mix.set_quota.execute(params![unit.quota, balance - COUPON_FEN])?;
    mix.insert_coupon.execute(params![unit.coupon, unit.customer, unit.quota, unit.partner, COUPON_FEN, valid_from, valid_until])?;
    base.posting(&format!("{}:quota:{}", unit.partner_party, unit.quota), *seq, 0, -COUPON_FEN, balance - COUPON_FEN, at)?;
    base.posting(&format!("{}:coupon:{}", unit.customer_party, unit.coupon), *seq, 1, COUPON_FEN, COUPON_FEN, at)?;
    base.record(&JournalRow {
        seq: *seq,
        id,
        at,
        actor: &unit.partner_party,
        op: "issue_coupon",
        partner: &unit.partner,
        target: &unit.customer_party,
        amount: COUPON_FEN,
        memo: None,
    })?;
    Ok(Outcome::Committed(*seq))
}

fn place_combined(
    base: &mut Statements<'_>,
    mix: &mut MixStatements<'_>,
    unit: &DecodedUnit,
    at: i64,
    seq: &mut i64,
) -> rusqlite::Result<Outcome> {
    let id = &unit.ids[2];
    if let Some(original) = base.replayed(id)? {
        return Ok(Outcome::Duplicate(original));
    }
    if mix.customer.query_row([&unit.customer], |_| Ok(())).optional()?.is_none() {
        return Ok(Outcome::Failed("access_denied"));
    }
    if mix.combined_exists.query_row([&unit.combined], |_| Ok(())).optional()?.is_some() {
        return Ok(Outcome::Failed("already_exists"));
    }
    for order in &unit.orders {
        if mix.order_exists.query_row([order], |_| Ok(())).optional()?.is_some() {
            return Ok(Outcome::Failed("already_exists"));
        }
    }
    *seq += 1;
    mix.insert_combined.execute(params![unit.combined, unit.customer, at + PAY_DEADLINE_MILLIS])?;
    for (position, ((order, amount), (kind, service))) in
        unit.orders.iter().zip(ORDER_FEN).zip([("new", "ecs"), ("renew", "obs"), ("new", "evs")]).enumerate()
    {
        mix.insert_order.execute(params![order, unit.customer, unit.combined, position as i64, kind, service, amount, at])?;
    }
    base.record(&JournalRow {
        seq: *seq,
        id,
        at,
        actor: &unit.customer_party,
        op: "place_combined_order",
        partner: "",
        target: &unit.customer_party,
        amount: ORDER_FEN.iter().sum::<i64>(),
        memo: None,
    })?;
    Ok(Outcome::Committed(*seq))
}

fn pay(base: &mut Statements<'_>, mix: &mut MixStatements<'_>, unit: &DecodedUnit, at: i64, seq: &mut i64) -> rusqlite::Result<Outcome> {
    let id = &unit.ids[3];
    if let Some(original) = base.replayed(id)? {
        return Ok(Outcome::Duplicate(original));
    }
    let combined = mix
        .combined
        .query_row([&unit.combined], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))
        .optional()?;
    let Some((customer, status, deadline)) = combined else { return Ok(Outcome::Failed("not_found")) };
    if customer != unit.customer {
        return Ok(Outcome::Failed("access_denied"));
    }
    let coupon = mix
        .coupon
        .query_row([&unit.coupon], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?, row.get::<_, String>(4)?))
        })
        .optional()?;
    let Some((holder, mut coupon_left, valid_from, valid_until, coupon_status)) = coupon else { return Ok(Outcome::Failed("not_found")) };
    if status != "pending_payment" {
        return Ok(Outcome::Failed("order_state"));
    }
    if at > deadline {
        return Ok(Outcome::Failed("order_expired"));
    }
    if holder != unit.customer || coupon_status != "usable" || at < valid_from || at >= valid_until {
        return Ok(Outcome::Failed("coupon_not_usable"));
    }
    let orders: Vec<(String, i64)> =
        mix.combined_orders.query_map([&unit.combined], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let Some((cash, held, arrears)) = base.balance(&unit.customer_party)? else { return Ok(Outcome::Failed("not_found")) };
    let mut cash_left = cash - held;
    let mut draws = Vec::with_capacity(orders.len());
    for (_, amount) in &orders {
        let from_coupon = coupon_left.min(*amount);
        coupon_left -= from_coupon;
        let from_cash = amount - from_coupon;
        if from_cash > cash_left {
            return Ok(Outcome::Failed("insufficient_funds"));
        }
        cash_left -= from_cash;
        draws.push((from_coupon, from_cash));
    }
    *seq += 1;
    let (coupon_total, cash_total): (i64, i64) = draws.iter().fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    mix.set_coupon.execute(params![unit.coupon, coupon_left, if coupon_left == 0 { "used" } else { "usable" }])?;
    let cash_after = cash - cash_total;
    base.set_balance(&unit.customer_party, cash_after, arrears)?;
    let revenue = add_to_platform(base, "platform:revenue", cash_total)?;
    let redeemed = add_to_platform(base, "platform:coupon_redeemed", coupon_total)?;
    for ((order, amount), (from_coupon, from_cash)) in orders.iter().zip(&draws) {
        mix.pay.execute(params![order, unit.customer_party, from_coupon, from_cash])?;
        mix.insert_bill.execute(params![order, unit.customer_party, "new", at, order, amount, from_coupon, from_cash, 0, 0, from_cash])?;
    }
    mix.set_combined.execute(params![unit.combined, "paid"])?;
    base.posting(&format!("{}:coupon:{}", unit.customer_party, unit.coupon), *seq, 0, -coupon_total, coupon_left, at)?;
    base.posting("platform:coupon_redeemed", *seq, 1, coupon_total, redeemed, at)?;
    base.posting(&format!("{}:cash", unit.customer_party), *seq, 2, -cash_total, cash_after, at)?;
    base.posting("platform:revenue", *seq, 3, cash_total, revenue, at)?;
    base.record(&JournalRow {
        seq: *seq,
        id,
        at,
        actor: &unit.customer_party,
        op: "pay_order",
        partner: "",
        target: &unit.combined,
        amount: cash_total + coupon_total,
        memo: None,
    })?;
    Ok(Outcome::Committed(*seq))
}

fn unsubscribe(
    base: &mut Statements<'_>,
    mix: &mut MixStatements<'_>,
    unit: &DecodedUnit,
    at: i64,
    seq: &mut i64,
) -> rusqlite::Result<Outcome> {
    let id = &unit.ids[4];
    let order_id = &unit.orders[2];
    if let Some(original) = base.replayed(id)? {
        return Ok(Outcome::Duplicate(original));
    }
    let order = mix
        .order
        .query_row([order_id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?)))
        .optional()?;
    let Some((customer, status, paid_cash, refunded)) = order else { return Ok(Outcome::Failed("not_found")) };
    if customer != unit.customer {
        return Ok(Outcome::Failed("access_denied"));
    }
    if status != "paid" {
        return Ok(Outcome::Failed("order_state"));
    }
    if mix.bill_invoiced.query_row([order_id], |row| row.get::<_, i64>(0)).optional()?.unwrap_or(0) != 0 {
        return Ok(Outcome::Failed("already_invoiced"));
    }
    if REFUND_FEN > paid_cash - refunded {
        return Ok(Outcome::Failed("refund_exceeds_paid"));
    }
    let Some(row) = base.balance(&unit.customer_party)? else { return Ok(Outcome::Failed("not_found")) };
    *seq += 1;
    mix.refund.execute(params![order_id, refunded + REFUND_FEN])?;
    let next = base.credit_customer(&unit.customer_party, row, REFUND_FEN, *seq, 0, at)?;
    let revenue = add_to_platform(base, "platform:revenue", -REFUND_FEN)?;
    base.posting("platform:revenue", *seq, next, -REFUND_FEN, revenue, at)?;
    let bill = format!("{order_id}:refund");
    mix.insert_bill.execute(params![bill, unit.customer_party, "refund", at, order_id, -REFUND_FEN, 0, -REFUND_FEN, 0, 0, -REFUND_FEN])?;
    base.record(&JournalRow {
        seq: *seq,
        id,
        at,
        actor: &unit.customer_party,
        op: "unsubscribe",
        partner: "",
        target: order_id,
        amount: REFUND_FEN,
        memo: None,
    })?;
    Ok(Outcome::Committed(*seq))
}

fn consume(
    base: &mut Statements<'_>,
    mix: &mut MixStatements<'_>,
    unit: &DecodedUnit,
    at: i64,
    seq: &mut i64,
) -> rusqlite::Result<Outcome> {
    let id = &unit.ids[5];
    if let Some(original) = base.replayed(id)? {
        return Ok(Outcome::Duplicate(original));
    }
    if mix.customer.query_row([&unit.customer], |_| Ok(())).optional()?.is_none() {
        return Ok(Outcome::Failed("not_found"));
    }
    let Some((cash, held, arrears)) = base.balance(&unit.customer_party)? else { return Ok(Outcome::Failed("not_found")) };
    *seq += 1;
    let from_cash = USAGE_FEN.min((cash - held).max(0));
    let debt = USAGE_FEN - from_cash;
    base.set_balance(&unit.customer_party, cash - from_cash, arrears - debt)?;
    let revenue = add_to_platform(base, "platform:revenue", USAGE_FEN)?;
    let mut index = 0;
    if from_cash > 0 {
        base.posting(&format!("{}:cash", unit.customer_party), *seq, index, -from_cash, cash - from_cash, at)?;
        index += 1;
    }
    if debt > 0 {
        base.posting(&format!("{}:arrears", unit.customer_party), *seq, index, -debt, arrears - debt, at)?;
        index += 1;
    }
    base.posting("platform:revenue", *seq, index, USAGE_FEN, revenue, at)?;
    mix.insert_bill.execute(params![id, unit.customer_party, "usage", at, None::<String>, USAGE_FEN, 0, from_cash, debt, 45, USAGE_FEN])?;
    base.record(&JournalRow {
        seq: *seq,
        id,
        at,
        actor: "platform",
        op: "consume",
        partner: "",
        target: &unit.customer_party,
        amount: USAGE_FEN,
        memo: None,
    })?;
    Ok(Outcome::Committed(*seq))
}

/// Adds `amount` to a platform account's balance; returns the balance after.
fn add_to_platform(base: &mut Statements<'_>, party: &str, amount: i64) -> rusqlite::Result<i64> {
    let (cash, held, arrears) = base.balance(party)?.unwrap_or((0, 0, 0));
    debug_assert_eq!(held, 0);
    base.set_balance(party, cash + amount, arrears)?;
    Ok(cash + amount)
}
