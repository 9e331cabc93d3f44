//! Fault-injecting redb storage backends for the reliability tests — a simulated disk whose writes
//! stay volatile until synced, with injected write/sync failures and power loss — and the
//! deterministic workload those tests drive through the ledger.
#![allow(dead_code)]

use partner_ledger::{Ledger, Store, SystemClock};
use redb::StorageBackend;
use serde_json::{Value, json};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

// ---------------------------------------------------------------------------------------------
// The simulated disk
// ---------------------------------------------------------------------------------------------

/// A storage operation that a fault can hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `StorageBackend::write`.
    Write,
    /// `StorageBackend::sync_data`.
    Sync,
}

/// What happens at the armed operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// That operation fails with an `io::Error` and has no effect; later operations work.
    Fail,
    /// The power goes out just before that operation: it and every later operation fail, and
    /// only what was synced (plus, at [`Disk::after_power_loss`], a chosen part of the unsynced
    /// writes) survives.
    PowerLoss,
}

#[derive(Clone, Debug)]
enum Unsynced {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct DiskState {
    /// What reads see: every write that succeeded, synced or not (the OS page cache).
    volatile: Vec<u8>,
    /// What survives a power loss: the image as of the last successful sync.
    durable: Vec<u8>,
    /// Writes and length changes since the last successful sync, in order.
    unsynced: Vec<Unsynced>,
    /// The armed fault: (operation, n, fault) — the nth such operation after arming.
    armed: Option<(Operation, u64, Fault)>,
    /// Operations of each kind since arming: writes, syncs.
    seen: [u64; 2],
    /// Total operations of each kind, armed or not: writes, syncs.
    total: [u64; 2],
    /// Faults injected so far.
    injected: u64,
    /// The power is out: every operation fails.
    dead: bool,
    /// How long each sync takes, as a real disk's would: callers meanwhile queue up.
    sync_time: std::time::Duration,
}

/// A simulated disk, shared between the backend redb owns and the test that steers it.
#[derive(Clone, Debug, Default)]
pub struct Disk(Arc<Mutex<DiskState>>);

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected fault: {what}"))
}

fn write_at(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let offset = usize::try_from(offset).expect("offset fits in memory");
    if image.len() < offset + data.len() {
        image.resize(offset + data.len(), 0);
    }
    image[offset..offset + data.len()].copy_from_slice(data);
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Disk {
        Disk::default()
    }

    /// A disk holding `image`, all of it durable (a file after a restart).
    pub fn from_image(image: Vec<u8>) -> Disk {
        Disk(Arc::new(Mutex::new(DiskState { volatile: image.clone(), durable: image, ..DiskState::default() })))
    }

    fn state(&self) -> MutexGuard<'_, DiskState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A backend over this disk, for `Database::builder().create_with_backend`.
    pub fn backend(&self) -> DiskBackend {
        DiskBackend { disk: self.clone() }
    }

    /// Arms `fault` at the `n`th (1-based) `operation` from now.
    pub fn arm(&self, operation: Operation, n: u64, fault: Fault) {
        let mut state = self.state();
        state.armed = Some((operation, n, fault));
        state.seen = [0, 0];
    }

    /// Makes every sync take `time` (held outside the disk's lock).
    pub fn set_sync_time(&self, time: std::time::Duration) {
        self.state().sync_time = time;
    }

    /// Disarms any fault.
    pub fn disarm(&self) {
        self.state().armed = None;
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.state().injected
    }

    /// Writes and syncs so far (all of them, armed or not).
    pub fn operations(&self) -> (u64, u64) {
        let state = self.state();
        (state.total[0], state.total[1])
    }

    /// Whether the power is out.
    pub fn is_dead(&self) -> bool {
        self.state().dead
    }

    /// Cuts the power now: every later operation of the old backend fails.
    pub fn cut_power(&self) {
        self.state().dead = true;
    }

    /// The image a restarted process finds when the machine stayed up: every successful write,
    /// synced or not (the page cache reaches the disk eventually).
    pub fn after_process_crash(&self) -> Disk {
        let mut state = self.state();
        state.dead = true;
        Disk::from_image(state.volatile.clone())
    }

    /// The image found after a power loss: what was synced, plus those unsynced writes for which
    /// `keep(index)` is true (a write reaches the platter or not, in any order the disk likes).
    pub fn after_power_loss(&self, mut keep: impl FnMut(usize) -> bool) -> Disk {
        let mut state = self.state();
        state.dead = true;
        let mut image = state.durable.clone();
        for (index, unsynced) in state.unsynced.iter().enumerate() {
            if !keep(index) {
                continue;
            }
            match unsynced {
                Unsynced::Write(offset, data) => write_at(&mut image, *offset, data),
                Unsynced::SetLen(len) => image.resize(usize::try_from(*len).expect("length fits"), 0),
            }
        }
        Disk::from_image(image)
    }

    /// Unsynced writes waiting in the "page cache".
    pub fn unsynced(&self) -> usize {
        self.state().unsynced.len()
    }

    /// Counts `operation` and decides whether the armed fault hits it.
    fn check(&self, state: &mut DiskState, operation: Operation) -> io::Result<()> {
        if state.dead {
            return Err(injected("the power is out"));
        }
        let kind = operation as usize;
        state.total[kind] += 1;
        state.seen[kind] += 1;
        if let Some((armed, n, fault)) = state.armed
            && armed == operation
            && state.seen[kind] == n
        {
            state.armed = None;
            state.injected += 1;
            if fault == Fault::PowerLoss {
                state.dead = true;
            }
            return Err(injected(&format!("{operation:?} #{n} ({fault:?})")));
        }
        Ok(())
    }
}

/// The redb `StorageBackend` over a [`Disk`].
#[derive(Debug)]
pub struct DiskBackend {
    disk: Disk,
}

impl StorageBackend for DiskBackend {
    fn len(&self) -> Result<u64, io::Error> {
        let state = self.disk.state();
        if state.dead {
            return Err(injected("the power is out"));
        }
        Ok(state.volatile.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let state = self.disk.state();
        if state.dead {
            return Err(injected("the power is out"));
        }
        let start = usize::try_from(offset).map_err(|_| io::Error::other("offset out of range"))?;
        let end = start.checked_add(out.len()).filter(|end| *end <= state.volatile.len());
        let end = end.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(&state.volatile[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut state = self.disk.state();
        if state.dead {
            return Err(injected("the power is out"));
        }
        state.volatile.resize(usize::try_from(len).map_err(|_| io::Error::other("length out of range"))?, 0);
        state.unsynced.push(Unsynced::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let time = self.disk.state().sync_time;
        if !time.is_zero() {
            std::thread::sleep(time);
        }
        let mut state = self.disk.state();
        self.disk.check(&mut state, Operation::Sync)?;
        let unsynced = std::mem::take(&mut state.unsynced);
        for operation in unsynced {
            match operation {
                Unsynced::Write(offset, data) => write_at(&mut state.durable, offset, &data),
                Unsynced::SetLen(len) => state.durable.resize(usize::try_from(len).expect("length fits"), 0),
            }
        }
        debug_assert_eq!(state.durable, state.volatile);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut state = self.disk.state();
        self.disk.check(&mut state, Operation::Write)?;
        let end = usize::try_from(offset).ok().and_then(|start| start.checked_add(data.len()));
        if end.is_none_or(|end| end > state.volatile.len()) {
            return Err(io::Error::other("write past the end"));
        }
        write_at(&mut state.volatile, offset, data);
        state.unsynced.push(Unsynced::Write(offset, data.to_vec()));
        Ok(())
    }
}

/// Opens a ledger on `disk` (creating the database when the disk is empty).
///
/// # Errors
/// A description of what failed: redb's open or the ledger's.
pub fn open_ledger(disk: &Disk) -> Result<Ledger, String> {
    let database = redb::Database::builder().create_with_backend(disk.backend()).map_err(|error| format!("redb: {error}"))?;
    let store = Store::from_database(database).map_err(|error| format!("store: {error}"))?;
    Ledger::from_store(store, Box::new(SystemClock)).map_err(|error| format!("ledger: {error}"))
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (PCG-style LCG), so every run sees the same workload.
#[derive(Clone, Debug)]
pub struct Seeded(pub u64);

impl Seeded {
    /// The next value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }

    /// An amount between 1.00 and `max` units, with cents.
    pub fn amount(&mut self, max: u64) -> String {
        let fen = 100 + self.below(max * 100);
        format!("{}.{:02}", fen / 100, fen % 100)
    }
}

/// The partners of the workload: (id, kind, parent).
pub const PARTNERS: [(&str, &str, Option<&str>); 5] = [
    ("D1", "distributor", None),
    ("D2", "distributor", None),
    ("R1", "reseller", Some("D1")),
    ("R2", "reseller", Some("D2")),
    ("S1", "solution_provider", None),
];

/// The customer ids of a workload with `customers` customers.
pub fn customer_ids(customers: usize) -> Vec<String> {
    (0..customers).map(|index| format!("C{index:04}")).collect()
}

/// Every party of the workload, as written in commands, the platform first.
pub fn parties(customers: usize) -> Vec<String> {
    let mut parties = vec!["platform".to_owned()];
    parties.extend(PARTNERS.iter().map(|(id, _, _)| format!("partner:{id}")));
    parties.extend(customer_ids(customers).iter().map(|id| format!("customer:{id}")));
    parties
}

/// The owner of customer number `index`, and whether it is a referral customer (every fifth).
fn owner(index: usize) -> (&'static str, bool) {
    (PARTNERS[index % PARTNERS.len()].0, index % 5 == 4)
}

struct Script {
    lines: Vec<String>,
}

impl Script {
    /// Adds a command with a unique id and a fixed time, one second after the previous line's.
    fn push(&mut self, actor: &str, mut command: Value) {
        let index = self.lines.len();
        let at = partner_ledger::Timestamp::from_millis(1_767_225_600_000 + i64::try_from(index).expect("small") * 1000);
        command["id"] = json!(format!("w{index:05}"));
        command["actor"] = json!(actor);
        command["at"] = json!(at.to_string());
        self.lines.push(command.to_string());
    }
}

/// A deterministic workload of exactly `lines` JSON lines over `customers` customers: partners,
/// customers, recharges, allocations, recoveries, credit, orders, payments and usage. Every line
/// has a unique request id and a fixed `at`, strictly increasing, so a line that was not committed
/// where it stands can never commit when it is sent again later (it would go back in time).
/// Some lines fail as they should (recoveries and payments beyond the funds).
pub fn workload(customers: usize, lines: usize) -> Vec<String> {
    let mut script = Script { lines: Vec::with_capacity(lines) };
    let mut seed = Seeded(0x5eed);
    for (partner, kind, parent) in PARTNERS {
        let mut command = json!({"op": "register_partner", "partner": partner, "kind": kind});
        if let Some(parent) = parent {
            command["parent"] = json!(parent);
        }
        script.push("platform", command);
    }
    for partner in ["D1", "D2", "S1"] {
        script.push("platform", json!({"op": "recharge", "party": format!("partner:{partner}"), "amount": "500000"}));
    }
    for (distributor, reseller) in [("D1", "R1"), ("D2", "R2")] {
        script.push(&format!("partner:{distributor}"), json!({"op": "allocate", "to": format!("partner:{reseller}"), "amount": "100000"}));
    }
    let customers_ids = customer_ids(customers);
    for (index, customer) in customers_ids.iter().enumerate() {
        let (partner, referral) = owner(index);
        let association = if referral { "referral" } else { "resale" };
        let command = json!({"op": "register_customer", "customer": customer, "partner": partner, "association": association});
        script.push(&format!("partner:{partner}"), command);
        let party = format!("customer:{customer}");
        if referral {
            script.push("platform", json!({"op": "recharge", "party": party, "amount": seed.amount(500)}));
            script.push("platform", json!({"op": "set_credit_limit", "party": party, "limit": "300"}));
        } else {
            script
                .push(&format!("partner:{partner}"), json!({"op": "allocate", "to": party, "amount": seed.amount(800), "memo": "budget"}));
        }
    }
    let mut orders = 0;
    while script.lines.len() < lines {
        let index = usize::try_from(seed.below(customers as u64)).expect("small");
        let (partner, referral) = owner(index);
        let customer = &customers_ids[index];
        let party = format!("customer:{customer}");
        match seed.below(10) {
            0 | 1 if !referral => {
                script.push(&format!("partner:{partner}"), json!({"op": "allocate", "to": party, "amount": seed.amount(300)}));
            }
            0 | 1 => script.push("platform", json!({"op": "recharge", "party": party, "amount": seed.amount(300)})),
            2 if !referral => {
                // Often beyond what the customer holds: insufficient_funds, a failure that must replay as one.
                script.push(
                    &format!("partner:{partner}"),
                    json!({"op": "recover", "from": party, "amount": seed.amount(200), "memo": "unused"}),
                );
            }
            2..=5 => {
                orders += 1;
                let order = format!("O{orders:05}");
                let command = json!({"op": "place_order", "order": order, "customer": customer, "amount": seed.amount(150), "kind": "new", "service": "ecs"});
                script.push(&party, command);
                if script.lines.len() < lines {
                    script.push(&party, json!({"op": "pay_order", "order": order}));
                }
            }
            _ => {
                let amount = format!("{}.{:08}", seed.below(40), seed.below(100_000_000));
                let amount = if amount.starts_with("0.00") { "0.01".to_owned() } else { amount };
                script.push("platform", json!({"op": "consume", "customer": customer, "amount": amount, "service": "obs"}));
            }
        }
    }
    script.lines.truncate(lines);
    script.lines
}

/// Query lines reading the balance of every party of a workload with `customers` customers.
pub fn balance_queries(customers: usize) -> Vec<String> {
    parties(customers).iter().map(|party| json!({"op": "balance", "actor": "platform", "party": party}).to_string()).collect()
}

/// Query lines whose answers come from the redb tables rather than memory: statements of a few
/// accounts and the adjust records.
pub fn history_queries(customers: usize) -> Vec<String> {
    let mut queries = Vec::new();
    for party in parties(customers).iter().skip(1).take(8) {
        queries.push(json!({"op": "statement", "actor": "platform", "party": party, "limit": 100}).to_string());
    }
    queries.push(json!({"op": "adjust_records", "actor": "platform", "limit": 100}).to_string());
    queries
}
