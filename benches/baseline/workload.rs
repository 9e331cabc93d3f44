//! The allocation workload every system runs: `partners` distributors, each recharged
//! generously, `customers` resale customers spread over them (customer `C<j>` belongs to
//! `P<j % partners>`), then allocations from a customer's own partner to pseudo-random customers.

use std::fmt::Write as _;

/// Partners in every workload: enough that allocations do not all land on one partner row.
pub const PARTNERS: u32 = 100;

/// What each partner is recharged with during setup, in fen (10^9 units: far more than any run spends).
pub const PARTNER_FUNDS_FEN: i64 = 100_000_000_000;

/// Customers are registered in batches of this many commands (one durable commit each).
pub const SETUP_BATCH: usize = 20_000;

/// A small deterministic generator, so every system and every run sees the same commands.
#[derive(Clone, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One allocation, decoded: partner `P<partner>` gives `amount_fen` to customer `C<customer>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub id: String,
    pub partner: u32,
    pub customer: u32,
    pub amount_fen: i64,
}

impl Allocation {
    /// The request as the JSON line the ledger and the SQLite service read.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(112);
        let _ = write!(
            line,
            r#"{{"op":"allocate","id":"{}","actor":"partner:P{}","to":"customer:C{}","amount":"{}"}}"#,
            self.id,
            self.partner,
            self.customer,
            amount_text(self.amount_fen)
        );
        line
    }
}

/// `1234` → `"12.34"`.
pub fn amount_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// An endless stream of allocations with ids `<prefix><n>`, customers drawn uniformly.
#[derive(Clone, Debug)]
pub struct Allocations {
    random: XorShift,
    customers: u32,
    prefix: String,
    next: u64,
}

impl Allocations {
    pub fn new(prefix: &str, customers: u32, seed: u64) -> Allocations {
        assert!(customers > 0, "the workload needs customers");
        Allocations { random: XorShift(seed | 1), customers, prefix: prefix.to_owned(), next: 0 }
    }

    /// The next `count` allocations.
    pub fn take_vec(&mut self, count: usize) -> Vec<Allocation> {
        (0..count).map(|_| self.next_allocation()).collect()
    }

    pub fn next_allocation(&mut self) -> Allocation {
        let customer = u32::try_from(self.random.next() % u64::from(self.customers)).expect("below a u32");
        let amount_fen = i64::try_from(self.random.next() % 9_900 + 100).expect("small");
        let id = format!("{}{}", self.prefix, self.next);
        self.next += 1;
        Allocation { id, partner: customer % PARTNERS, customer, amount_fen }
    }
}

/// The setup as JSON lines, in commit-sized chunks: partners registered as distributors and
/// recharged, then customers registered as resale customers of their partner.
pub fn setup_lines(customers: u32) -> impl Iterator<Item = Vec<String>> {
    let partners = (0..PARTNERS).flat_map(|partner| {
        [
            format!(
                r#"{{"op":"register_partner","id":"setup-p{partner}","actor":"platform","partner":"P{partner}","kind":"distributor"}}"#
            ),
            format!(
                r#"{{"op":"recharge","id":"setup-r{partner}","actor":"platform","party":"partner:P{partner}","amount":"{}"}}"#,
                amount_text(PARTNER_FUNDS_FEN)
            ),
        ]
    });
    let customers = (0..customers).map(|customer| {
        let partner = customer % PARTNERS;
        format!(r#"{{"op":"register_customer","id":"setup-c{customer}","actor":"partner:P{partner}","customer":"C{customer}","partner":"P{partner}"}}"#)
    });
    let mut lines = partners.chain(customers).peekable();
    std::iter::from_fn(move || {
        let chunk: Vec<String> = lines.by_ref().take(SETUP_BATCH).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// Nearest-rank percentile of `sorted` (ascending), `fraction` in 0..=1.
pub fn percentile<T: Copy>(sorted: &[T], fraction: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Runs the setup through the ledger's JSON-lines batch API; every command must succeed.
pub fn setup_ledger(ledger: &partner_ledger::Ledger, customers: u32) -> Result<(), String> {
    for chunk in setup_lines(customers) {
        let responses = ledger.execute_lines(&chunk);
        if let Some((line, response)) = chunk.iter().zip(&responses).find(|(_, response)| !response.is_ok()) {
            return Err(format!("setup failed on {line}: {}", response.to_line()));
        }
    }
    Ok(())
}

/// Allocations decoded as the ledger's typed requests (the decoding is not what is measured).
pub fn decode(allocations: &[Allocation]) -> Vec<partner_ledger::Request> {
    allocations.iter().map(|allocation| partner_ledger::decode_line(&allocation.to_line()).expect("the workload's lines decode")).collect()
}

/// How many of `responses` were refused, and the first refusal.
pub fn refusals(responses: &[partner_ledger::Response]) -> (usize, Option<String>) {
    let refused = responses.iter().filter(|response| !response.is_ok());
    let first = refused.clone().next().map(partner_ledger::Response::to_line);
    (refused.count(), first)
}
