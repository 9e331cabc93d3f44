//! The in-memory state the rules read, with an undo log so a failed command, atomic group or
//! commit leaves it exactly as it was.
//!
//! A state is either *complete* (everything is in memory: a new ledger, a replay, `verify`) or a
//! *cache* over the checkpointed tables of a store. A cache answers what it holds; a read of
//! anything it does not hold answers as if absent and records a [`Miss`]. The shell then fetches
//! what was missed ([`State::load_fetched_record`] and its siblings), takes back whatever the
//! read led to and runs the request again. The rules stay pure and never wait on a disk; a
//! decision is only kept once it was made without a miss.

use super::records::{Bill, Combined, Coupon, Discount, Invoice, Order, Quota, Record, Withdrawal};
use super::requests::{Found, Requests};
use super::{Effects, PartyRecord};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection};
use crate::id::{Id, Party};
use crate::journal::{self, Account, ChainHash, GENESIS_HASH};
use crate::time::Timestamp;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hasher for the in-memory maps (the multiply-rotate of rustc's
/// FxHash). Keys are ledger ids, not attacker-chosen in bulk; SipHash's flood resistance is not
/// worth its cost on every posting.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("chunk of 8")));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The last committed transaction: its `seq`, chain hash and time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// Last `seq` (0 for an empty journal).
    pub seq: u64,
    /// Its chain hash.
    pub hash: ChainHash,
    /// Its time.
    pub at: Timestamp,
}

/// A committed request id: where it was committed and the digest of its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestEntry {
    /// The transaction's `seq`.
    pub seq: u64,
    /// Digest of the request content.
    pub fingerprint: [u8; 32],
}

/// Secondary indexes over records, for listings "oldest first" and per-owner lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Index {
    /// (partner, 0, customer): customers associated with a partner.
    PartnerCustomers,
    /// (partner, seq, quota).
    Quotas,
    /// (customer, seq, coupon).
    Coupons,
    /// (customer, seq, order).
    Orders,
    /// (customer or payer, seq, bill).
    Bills,
    /// (party, seq, withdrawal).
    Withdrawals,
    /// (partner, 0, operator): operators acting for a partner.
    Operators,
    /// (partner, or the platform for customers without one, 0, external id).
    ExternalIds,
}

impl Index {
    /// Its stored code (the variants' order: never reorder them).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

/// An index entry: (index, owner, order, id).
pub(crate) type IndexEntry = (Index, Party, u64, Id);

/// The key of a record, typed: what a cache miss names and a fetch fills.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RecordKey {
    /// A party's record.
    Party(Party),
    /// A quota.
    Quota(Id),
    /// A coupon.
    Coupon(Id),
    /// An order.
    Order(Id),
    /// A combined order.
    Combined(Id),
    /// A bill.
    Bill(Id),
    /// A withdrawal.
    Withdrawal(Id),
    /// An invoice.
    Invoice(Id),
    /// A business discount.
    Discount(Id),
}

impl std::fmt::Display for RecordKey {
    /// The stored key, as [`Record::key`] writes it.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordKey::Party(party) => write!(formatter, "{party}"),
            RecordKey::Quota(id) => write!(formatter, "quota:{id}"),
            RecordKey::Coupon(id) => write!(formatter, "coupon:{id}"),
            RecordKey::Order(id) => write!(formatter, "order:{id}"),
            RecordKey::Combined(id) => write!(formatter, "combined:{id}"),
            RecordKey::Bill(id) => write!(formatter, "bill:{id}"),
            RecordKey::Withdrawal(id) => write!(formatter, "withdrawal:{id}"),
            RecordKey::Invoice(id) => write!(formatter, "invoice:{id}"),
            RecordKey::Discount(id) => write!(formatter, "discount:{id}"),
        }
    }
}

impl RecordKey {
    /// The key of `record`.
    pub(crate) fn of(record: &Record) -> RecordKey {
        match record {
            Record::Party(key, _) => RecordKey::Party(key.clone()),
            Record::Quota(id, _) => RecordKey::Quota(id.clone()),
            Record::Coupon(id, _) => RecordKey::Coupon(id.clone()),
            Record::Order(id, _) => RecordKey::Order(id.clone()),
            Record::Combined(id, _) => RecordKey::Combined(id.clone()),
            Record::Bill(id, _) => RecordKey::Bill(id.clone()),
            Record::Withdrawal(id, _) => RecordKey::Withdrawal(id.clone()),
            Record::Invoice(id, _) => RecordKey::Invoice(id.clone()),
            Record::Discount(id, _) => RecordKey::Discount(id.clone()),
        }
    }

    /// Reads a stored key (`partner:P1`, `order:O1`, …).
    pub(crate) fn parse(text: &str) -> Option<RecordKey> {
        if let Ok(party) = Party::parse(text) {
            return Some(RecordKey::Party(party));
        }
        let (kind, id) = text.split_once(':')?;
        // A bill of an atomic group is `<request>:<index>`, longer than a request id may be.
        let id = Id::stored(id)?;
        Some(match kind {
            "quota" => RecordKey::Quota(id),
            "coupon" => RecordKey::Coupon(id),
            "order" => RecordKey::Order(id),
            "combined" => RecordKey::Combined(id),
            "bill" => RecordKey::Bill(id),
            "withdrawal" => RecordKey::Withdrawal(id),
            "invoice" => RecordKey::Invoice(id),
            "discount" => RecordKey::Discount(id),
            _ => return None,
        })
    }
}

/// What a cache did not hold when the rules asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Miss {
    /// A record (it may not exist).
    Record(RecordKey),
    /// An account's balance (it may never have been posted).
    Balance(Account),
    /// The entries of an index under one owner.
    Range(Index, Party),
    /// The committed request ids.
    Requests,
    /// The journal record at this `seq`: a request id held hashed may be the one it committed.
    Request(u64),
    /// Every record of one kind, read by its stored keys' prefix.
    Every(Every),
    /// Everything: a read over all records or balances.
    Everything,
}

/// A kind of record a cache can be filled with whole: a read over all of them (the platform's
/// listings, the coupon expiry sweep) fetches those records, not the whole store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Every {
    /// Partners' party records.
    Partners,
    /// Customers' party records.
    Customers,
    /// Quotas.
    Quotas,
    /// Coupons.
    Coupons,
    /// Orders.
    Orders,
}

impl Every {
    /// The prefix of their stored keys (see [`RecordKey`]'s `Display`).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Every::Partners => "partner:",
            Every::Customers => "customer:",
            Every::Quotas => "quota:",
            Every::Coupons => "coupon:",
            Every::Orders => "order:",
        }
    }
}

/// Everything the rules read: parties and records, balances, committed request ids and the head.
#[derive(Clone, Debug, Default)]
pub struct State {
    parties: HashMap<Party, PartyRecord>,
    quotas: HashMap<Id, Quota>,
    coupons: HashMap<Id, Coupon>,
    orders: HashMap<Id, Order>,
    combined: HashMap<Id, Combined>,
    bills: HashMap<Id, Bill>,
    withdrawals: HashMap<Id, Withdrawal>,
    invoices: HashMap<Id, Invoice>,
    discounts: HashMap<Id, Discount>,
    index: BTreeSet<IndexEntry>,
    balances: HashMap<Account, Amount>,
    requests: Requests,
    head: Head,
    /// A cache over a store, not everything.
    lazy: bool,
    /// Records a cache knows to be absent.
    absent: HashSet<RecordKey, BuildHasherDefault<FxHasher>>,
    /// Accounts a cache knows were never posted.
    unposted: HashSet<Account, BuildHasherDefault<FxHasher>>,
    /// The index ranges a cache holds whole.
    ranges: HashSet<(Index, Party), BuildHasherDefault<FxHasher>>,
    /// Whether a cache holds every committed request id.
    requests_loaded: bool,
    /// The kinds of record a cache holds every one of.
    whole: HashSet<Every, BuildHasherDefault<FxHasher>>,
    /// What reads missed since the last [`State::take_misses`].
    misses: RefCell<Vec<Miss>>,
}

impl PartialEq for State {
    /// The same ledger content (the cache bookkeeping aside).
    fn eq(&self, other: &State) -> bool {
        self.parties == other.parties
            && self.quotas == other.quotas
            && self.coupons == other.coupons
            && self.orders == other.orders
            && self.combined == other.combined
            && self.bills == other.bills
            && self.withdrawals == other.withdrawals
            && self.invoices == other.invoices
            && self.discounts == other.discounts
            && self.index == other.index
            && self.balances == other.balances
            && self.requests == other.requests
            && self.head == other.head
    }
}

impl Eq for State {}

/// One change to take back. A record and its previous value are boxed: unboxed they made every
/// entry 608 bytes, the balance and request entries that every command pushes included.
enum UndoEntry {
    Record(Box<(Record, Option<Record>)>),
    Balance(Account, Option<Amount>),
    Request(Id, Option<RequestEntry>),
    Head(Head),
}

/// How to take back changes made to a [`State`], newest last.
#[derive(Default)]
pub struct Undo {
    entries: Vec<UndoEntry>,
}

impl Undo {
    /// A position to roll back to.
    pub fn mark(&self) -> usize {
        self.entries.len()
    }

    /// Forgets everything (after a durable commit).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

pub(crate) fn index_entries(record: &Record) -> Vec<IndexEntry> {
    match record {
        Record::Party(Party::Customer(customer), party) => {
            let partner = party.association().map(|association| Party::Partner(association.partner.clone()));
            let mut entries: Vec<IndexEntry> =
                partner.iter().map(|partner| (Index::PartnerCustomers, partner.clone(), 0, customer.clone())).collect();
            if let super::Role::Customer { external_id: Some(external_id), .. } = &party.role {
                entries.push((Index::ExternalIds, partner.unwrap_or(Party::Platform), 0, external_id.clone()));
            }
            entries
        }
        Record::Party(Party::Operator(operator), party) => party
            .operator()
            .map(|(partner, _)| (Index::Operators, Party::Partner(partner.clone()), 0, operator.clone()))
            .into_iter()
            .collect(),
        Record::Party(..) | Record::Combined(..) | Record::Invoice(..) | Record::Discount(..) => Vec::new(),
        Record::Quota(id, quota) => vec![(Index::Quotas, Party::Partner(quota.owner.clone()), quota.seq, id.clone())],
        Record::Coupon(id, coupon) => vec![(Index::Coupons, Party::Customer(coupon.customer.clone()), coupon.seq, id.clone())],
        Record::Order(id, order) => vec![(Index::Orders, Party::Customer(order.customer.clone()), order.seq, id.clone())],
        Record::Withdrawal(id, withdrawal) => vec![(Index::Withdrawals, withdrawal.party.clone(), withdrawal.seq, id.clone())],
        Record::Bill(id, bill) => {
            let mut entries = vec![(Index::Bills, bill.payer.clone(), bill.seq, id.clone())];
            if let Some(customer) = &bill.customer {
                let customer = Party::Customer(customer.clone());
                if customer != bill.payer {
                    entries.push((Index::Bills, customer, bill.seq, id.clone()));
                }
            }
            entries
        }
    }
}

/// Inserts or removes `value` under `key`, returning what was there.
fn put<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: Option<V>) -> Option<V> {
    match value {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    }
}

impl State {
    /// An empty ledger's state.
    pub fn new() -> State {
        State { head: Head { seq: 0, hash: GENESIS_HASH, at: Timestamp::from_millis(0) }, ..State::default() }
    }

    /// An empty cache over a store whose checkpoint is at `head`.
    pub(crate) fn cache(head: Head) -> State {
        State { head, lazy: true, ..State::default() }
    }

    /// What reads missed since the last call, each once.
    pub(crate) fn take_misses(&self) -> Vec<Miss> {
        let mut misses = std::mem::take(&mut *self.misses.borrow_mut());
        let mut seen = HashSet::with_capacity_and_hasher(misses.len(), BuildHasherDefault::<FxHasher>::default());
        misses.retain(|miss| seen.insert(miss.clone()));
        misses
    }

    fn missed_record(&self, key: impl FnOnce() -> RecordKey) {
        if self.lazy {
            let key = key();
            if !self.absent.contains(&key) {
                self.misses.borrow_mut().push(Miss::Record(key));
            }
        }
    }

    fn missed_range(&self, index: Index, owner: &Party) {
        if self.lazy && !self.ranges.contains(&(index, owner.clone())) {
            self.misses.borrow_mut().push(Miss::Range(index, owner.clone()));
        }
    }

    fn missed_every(&self, kind: Every) {
        if self.lazy && !self.whole.contains(&kind) {
            self.misses.borrow_mut().push(Miss::Every(kind));
        }
    }

    fn missed_everything(&self) {
        if self.lazy {
            self.misses.borrow_mut().push(Miss::Everything);
        }
    }

    /// Whether the cache holds `key`, present or known absent.
    pub(crate) fn holds(&self, key: &RecordKey) -> bool {
        let present = match key {
            RecordKey::Party(party) => self.parties.contains_key(party),
            RecordKey::Quota(id) => self.quotas.contains_key(id),
            RecordKey::Coupon(id) => self.coupons.contains_key(id),
            RecordKey::Order(id) => self.orders.contains_key(id),
            RecordKey::Combined(id) => self.combined.contains_key(id),
            RecordKey::Bill(id) => self.bills.contains_key(id),
            RecordKey::Withdrawal(id) => self.withdrawals.contains_key(id),
            RecordKey::Invoice(id) => self.invoices.contains_key(id),
            RecordKey::Discount(id) => self.discounts.contains_key(id),
        };
        present || !self.lazy || self.absent.contains(key)
    }

    /// Whether the cache holds `account`'s balance, posted or known never posted.
    pub(crate) fn holds_balance(&self, account: &Account) -> bool {
        !self.lazy || self.balances.contains_key(account) || self.unposted.contains(account)
    }

    /// Fills a missed record as fetched from the store (`None`: it does not exist). What the
    /// cache already holds is newer and stays.
    pub(crate) fn load_fetched_record(&mut self, key: RecordKey, record: Option<Record>) {
        if self.holds(&key) {
            return;
        }
        match record {
            Some(record) => {
                debug_assert_eq!(RecordKey::of(&record), key);
                self.write(record);
            }
            None => {
                self.absent.insert(key);
            }
        }
    }

    /// Fills a missed balance as fetched from the store (`None`: never posted).
    pub(crate) fn load_fetched_balance(&mut self, account: Account, balance: Option<Amount>) {
        if self.holds_balance(&account) {
            return;
        }
        match balance {
            Some(balance) => drop(self.balances.insert(account, balance)),
            None => drop(self.unposted.insert(account)),
        }
    }

    /// Fills a missed index range with the store's entries `(order, id, record)`. Entries of
    /// records the cache holds are skipped: its own entries for them are the newer ones.
    pub(crate) fn load_range(&mut self, index: Index, owner: Party, entries: Vec<(u64, Id, RecordKey)>) {
        if !self.lazy || self.ranges.contains(&(index, owner.clone())) {
            return;
        }
        for (order, id, record) in entries {
            if !self.holds(&record) {
                self.index.insert((index, owner.clone(), order, id));
            }
        }
        self.ranges.insert((index, owner));
    }

    /// Fills every stored record of `kind`; records the cache holds are newer and stay.
    pub(crate) fn load_every(&mut self, kind: Every, records: Vec<Record>) {
        for record in records {
            self.load_fetched_record(RecordKey::of(&record), Some(record));
        }
        self.whole.insert(kind);
    }

    /// Fills the committed request ids; ids the cache holds are newer and stay.
    pub(crate) fn load_requests(&mut self, entries: impl IntoIterator<Item = (Id, RequestEntry)>) {
        for (id, entry) in entries {
            self.requests.load_exact(id, entry);
        }
        self.requests_loaded = true;
    }

    /// Fills one committed request id read from a request run, held hashed (see
    /// [`Requests`]); call [`State::set_requests_loaded`] after the last. `None` for an empty
    /// id.
    pub(crate) fn load_hashed_request(&mut self, id: &str, seq: u64) -> Option<()> {
        self.requests.load_hashed(id, seq)
    }

    /// Every request run was loaded: an id not held was never committed.
    pub(crate) fn set_requests_loaded(&mut self) {
        self.requests_loaded = true;
    }

    /// The journal record at `seq`, fetched for a hashed request id: it committed `id`.
    pub(crate) fn confirm_request(&mut self, seq: u64, id: Id, entry: RequestEntry) {
        self.requests.confirm(seq, id, entry);
    }

    /// After every record and balance of the store was loaded: nothing can miss any more.
    pub(crate) fn set_complete(&mut self) {
        self.lazy = false;
        self.requests.drop_hashed();
        self.requests_loaded = true;
        self.absent.clear();
        self.unposted.clear();
        self.ranges.clear();
        self.whole.clear();
    }

    /// Records, balances and index entries held, a measure of the cache's size.
    pub(crate) fn cached(&self) -> usize {
        self.parties.len()
            + self.quotas.len()
            + self.coupons.len()
            + self.orders.len()
            + self.combined.len()
            + self.bills.len()
            + self.withdrawals.len()
            + self.invoices.len()
            + self.discounts.len()
            + self.balances.len()
            + self.index.len()
            + self.absent.len()
            + self.unposted.len()
    }

    /// Empties the cache, keeping the head and the request ids. Only when everything held is
    /// also in the store's checkpointed tables (nothing dirty, nothing to undo).
    pub(crate) fn evict(&mut self) {
        let mut requests = std::mem::take(&mut self.requests);
        requests.shrink();
        let requests_loaded = self.requests_loaded || !self.lazy;
        *self = State { head: self.head, lazy: true, requests, requests_loaded, ..State::default() };
    }

    /// A registered partner's or customer's record.
    pub fn party(&self, party: &Party) -> Option<&PartyRecord> {
        let found = self.parties.get(party);
        if found.is_none() {
            self.missed_record(|| RecordKey::Party(party.clone()));
        }
        found
    }

    /// All registered parties.
    pub fn parties(&self) -> impl Iterator<Item = (&Party, &PartyRecord)> {
        self.missed_everything();
        self.parties.iter()
    }

    /// All registered partners, in no particular order.
    pub fn partners(&self) -> impl Iterator<Item = (&Party, &PartyRecord)> {
        self.missed_every(Every::Partners);
        self.parties.iter().filter(|(party, _)| matches!(party, Party::Partner(_)))
    }

    /// All registered customers, in no particular order.
    pub fn customers(&self) -> impl Iterator<Item = (&Id, &PartyRecord)> {
        self.missed_every(Every::Customers);
        self.parties.iter().filter_map(|(party, record)| party.customer_id().map(|id| (id, record)))
    }

    /// Every quota, in no particular order.
    pub fn all_quotas(&self) -> impl Iterator<Item = (&Id, &Quota)> {
        self.missed_every(Every::Quotas);
        self.quotas.iter()
    }

    /// A quota.
    pub fn quota(&self, id: &Id) -> Option<&Quota> {
        let found = self.quotas.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Quota(id.clone()));
        }
        found
    }

    /// A coupon.
    pub fn coupon(&self, id: &Id) -> Option<&Coupon> {
        let found = self.coupons.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Coupon(id.clone()));
        }
        found
    }

    /// Every coupon, in no particular order.
    pub fn all_coupons(&self) -> impl Iterator<Item = (&Id, &Coupon)> {
        self.missed_every(Every::Coupons);
        self.coupons.iter()
    }

    /// An order.
    pub fn order(&self, id: &Id) -> Option<&Order> {
        let found = self.orders.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Order(id.clone()));
        }
        found
    }

    /// Every order, in no particular order.
    pub fn all_orders(&self) -> impl Iterator<Item = (&Id, &Order)> {
        self.missed_every(Every::Orders);
        self.orders.iter()
    }

    /// A combined order.
    pub fn combined(&self, id: &Id) -> Option<&Combined> {
        let found = self.combined.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Combined(id.clone()));
        }
        found
    }

    /// A bill.
    pub fn bill(&self, id: &Id) -> Option<&Bill> {
        let found = self.bills.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Bill(id.clone()));
        }
        found
    }

    /// A withdrawal.
    pub fn withdrawal(&self, id: &Id) -> Option<&Withdrawal> {
        let found = self.withdrawals.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Withdrawal(id.clone()));
        }
        found
    }

    /// An invoice.
    pub fn invoice(&self, id: &Id) -> Option<&Invoice> {
        let found = self.invoices.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Invoice(id.clone()));
        }
        found
    }

    /// A business discount.
    pub fn discount(&self, id: &Id) -> Option<&Discount> {
        let found = self.discounts.get(id);
        if found.is_none() {
            self.missed_record(|| RecordKey::Discount(id.clone()));
        }
        found
    }

    /// Whether a customer of `partner` (none: of no partner) already has `external_id`.
    pub(crate) fn external_id_taken(&self, partner: Option<&Id>, external_id: &Id) -> bool {
        let owner = partner.map_or(Party::Platform, |partner| Party::Partner(partner.clone()));
        self.missed_range(Index::ExternalIds, &owner);
        self.index.contains(&(Index::ExternalIds, owner, 0, external_id.clone()))
    }

    /// Every record, for comparing a replay with the store.
    pub fn records(&self) -> Vec<Record> {
        self.missed_everything();
        let mut records: Vec<Record> = Vec::new();
        records.extend(self.parties.iter().map(|(key, value)| Record::Party(key.clone(), value.clone())));
        records.extend(self.quotas.iter().map(|(key, value)| Record::Quota(key.clone(), value.clone())));
        records.extend(self.coupons.iter().map(|(key, value)| Record::Coupon(key.clone(), value.clone())));
        records.extend(self.orders.iter().map(|(key, value)| Record::Order(key.clone(), value.clone())));
        records.extend(self.combined.iter().map(|(key, value)| Record::Combined(key.clone(), value.clone())));
        records.extend(self.bills.iter().map(|(key, value)| Record::Bill(key.clone(), value.clone())));
        records.extend(self.withdrawals.iter().map(|(key, value)| Record::Withdrawal(key.clone(), value.clone())));
        records.extend(self.invoices.iter().map(|(key, value)| Record::Invoice(key.clone(), value.clone())));
        records.extend(self.discounts.iter().map(|(key, value)| Record::Discount(key.clone(), value.clone())));
        records
    }

    /// The ids listed under `owner` in `index`, oldest first.
    pub(crate) fn indexed<'s>(&'s self, index: Index, owner: &'s Party) -> impl Iterator<Item = &'s Id> + 's {
        self.missed_range(index, owner);
        let start = (index, owner.clone(), 0, Id::empty());
        self.index.range(start..).take_while(move |entry| entry.0 == index && entry.1 == *owner).map(|entry| &entry.3)
    }

    /// An account's balance (zero when never posted).
    pub fn balance(&self, account: &Account) -> Amount {
        self.balance_entry(account).unwrap_or_default()
    }

    /// The balance of each posting's account right after that posting, from the balances after
    /// the whole transaction (already applied to this state), walking the postings backwards.
    pub fn balances_after(&self, transaction: &super::Transaction) -> Vec<Amount> {
        let postings = &transaction.effects.postings;
        let mut running: HashMap<&Account, Amount> = HashMap::default();
        let mut after = vec![Amount::ZERO; postings.len()];
        for (index, posting) in postings.iter().enumerate().rev() {
            let balance = running.entry(&posting.account).or_insert_with(|| self.balance(&posting.account));
            after[index] = *balance;
            *balance = Amount::from_minor(balance.minor() - posting.amount.minor());
        }
        after
    }

    /// An account's balance, `None` when never posted.
    pub fn balance_entry(&self, account: &Account) -> Option<Amount> {
        let found = self.balances.get(account).copied();
        if found.is_none() && self.lazy && !self.unposted.contains(account) {
            self.misses.borrow_mut().push(Miss::Balance(account.clone()));
        }
        found
    }

    /// All balances ever posted.
    pub fn balances(&self) -> impl Iterator<Item = (&Account, &Amount)> {
        self.missed_everything();
        self.balances.iter()
    }

    /// Cash minus held.
    pub fn available(&self, party: &Party) -> Amount {
        let held = self.party(party).map(|record| record.held).unwrap_or_default();
        Amount::from_minor(self.balance(&Account::cash(party)).minor() - held.minor())
    }

    /// A committed request id.
    pub fn request(&self, id: &Id) -> Option<&RequestEntry> {
        match self.requests.get(id) {
            Found::Committed(entry) => Some(entry),
            Found::Unconfirmed(seq) => {
                self.misses.borrow_mut().push(Miss::Request(seq));
                None
            }
            Found::Absent => {
                if self.lazy && !self.requests_loaded {
                    self.misses.borrow_mut().push(Miss::Requests);
                }
                None
            }
        }
    }

    /// All committed request ids.
    pub fn requests(&self) -> impl Iterator<Item = (&Id, &RequestEntry)> {
        self.missed_everything();
        self.requests.exact()
    }

    /// How many committed request ids are held exactly (not hashed).
    #[cfg(test)]
    pub(crate) fn requests_held_exactly(&self) -> usize {
        self.requests.exact().count()
    }

    /// The journal head.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The credit limit of an account's owner (zero for the platform).
    pub fn credit_limit(&self, owner: &Party) -> Amount {
        self.party(owner).map(|record| record.credit_limit).unwrap_or_default()
    }

    /// Writes a record (insert or replace), keeping the indexes; returns the previous one.
    fn write(&mut self, record: Record) -> Option<Record> {
        let previous = match record.clone() {
            Record::Party(key, value) => self.parties.insert(key.clone(), value).map(|old| Record::Party(key, old)),
            Record::Quota(key, value) => self.quotas.insert(key.clone(), value).map(|old| Record::Quota(key, old)),
            Record::Coupon(key, value) => self.coupons.insert(key.clone(), value).map(|old| Record::Coupon(key, old)),
            Record::Order(key, value) => self.orders.insert(key.clone(), value).map(|old| Record::Order(key, old)),
            Record::Combined(key, value) => self.combined.insert(key.clone(), value).map(|old| Record::Combined(key, old)),
            Record::Bill(key, value) => self.bills.insert(key.clone(), value).map(|old| Record::Bill(key, old)),
            Record::Withdrawal(key, value) => self.withdrawals.insert(key.clone(), value).map(|old| Record::Withdrawal(key, old)),
            Record::Invoice(key, value) => self.invoices.insert(key.clone(), value).map(|old| Record::Invoice(key, old)),
            Record::Discount(key, value) => self.discounts.insert(key.clone(), value).map(|old| Record::Discount(key, old)),
        };
        self.reindex(previous.as_ref(), Some(&record));
        previous
    }

    /// Puts back `previous` in the slot of `written` (removing it when there was none).
    fn restore(&mut self, written: Record, previous: Option<Record>) {
        if let Some(previous) = previous {
            self.write(previous);
            return;
        }
        self.reindex(Some(&written), None);
        if self.lazy {
            self.absent.insert(RecordKey::of(&written));
        }
        match written {
            Record::Party(key, _) => drop(put(&mut self.parties, key, None)),
            Record::Quota(key, _) => drop(put(&mut self.quotas, key, None)),
            Record::Coupon(key, _) => drop(put(&mut self.coupons, key, None)),
            Record::Order(key, _) => drop(put(&mut self.orders, key, None)),
            Record::Combined(key, _) => drop(put(&mut self.combined, key, None)),
            Record::Bill(key, _) => drop(put(&mut self.bills, key, None)),
            Record::Withdrawal(key, _) => drop(put(&mut self.withdrawals, key, None)),
            Record::Invoice(key, _) => drop(put(&mut self.invoices, key, None)),
            Record::Discount(key, _) => drop(put(&mut self.discounts, key, None)),
        }
    }

    fn reindex(&mut self, old: Option<&Record>, new: Option<&Record>) {
        for entry in old.map(index_entries).unwrap_or_default() {
            self.index.remove(&entry);
        }
        for entry in new.map(index_entries).unwrap_or_default() {
            self.index.insert(entry);
        }
    }

    /// Applies `effects`: records, then postings, then checks every touched bound and the
    /// per-asset zero sum. On a broken rule nothing stays changed.
    ///
    /// # Errors
    /// A rejection when the postings break a double-entry rule or a bound; the domain rules refuse
    /// such commands with a specific code before, so this guards against bugs.
    pub fn apply(&mut self, effects: &Effects, undo: &mut Undo) -> Result<(), Rejection> {
        journal::check_balanced(&effects.postings).map_err(|error| Rejection::new(ErrorCode::InsufficientFunds, error.to_string()))?;
        // A cache must hold everything it changes (to keep its indexes and undo right): what it
        // does not hold is missed, and nothing is changed until it was fetched.
        if self.lazy {
            let mut misses = self.misses.borrow_mut();
            let count = misses.len();
            misses.extend(effects.records.iter().map(RecordKey::of).filter(|key| !self.holds(key)).map(Miss::Record));
            misses.extend(
                effects
                    .postings
                    .iter()
                    .filter(|posting| !self.holds_balance(&posting.account))
                    .map(|posting| Miss::Balance(posting.account.clone())),
            );
            if misses.len() > count {
                return Err(Rejection::new(ErrorCode::Storage, "the state fetches what the command changes first"));
            }
        }
        let mark = undo.mark();
        for record in &effects.records {
            let previous = self.write(record.clone());
            if self.lazy {
                self.absent.remove(&RecordKey::of(record));
            }
            undo.entries.push(UndoEntry::Record(Box::new((record.clone(), previous))));
        }
        for posting in &effects.postings {
            let previous = self.balance_entry(&posting.account);
            let Ok(balance) = previous.unwrap_or_default().checked_add(posting.amount) else {
                self.rollback(undo, mark);
                return Err(Rejection::new(ErrorCode::InvalidAmount, format!("balance of {} would overflow", posting.account)));
            };
            self.balances.insert(posting.account.clone(), balance);
            if self.lazy {
                self.unposted.remove(&posting.account);
            }
            undo.entries.push(UndoEntry::Balance(posting.account.clone(), previous));
        }
        if let Some(posting) = effects.postings.iter().find(|posting| !self.within_bound(&posting.account)) {
            let message = format!("posting to {} would break its bound", posting.account);
            self.rollback(undo, mark);
            return Err(Rejection::new(ErrorCode::InsufficientFunds, message));
        }
        Ok(())
    }

    /// Whether an account's balance respects its bound now.
    pub fn within_bound(&self, account: &Account) -> bool {
        account.within_bound(self.balance(account), self.credit_limit(&account.owner))
    }

    /// Records a committed request and moves the head.
    pub fn commit(&mut self, request: &Id, entry: RequestEntry, head: Head, undo: &mut Undo) {
        let previous = self.requests.insert(request.clone(), entry);
        undo.entries.push(UndoEntry::Request(request.clone(), previous));
        undo.entries.push(UndoEntry::Head(self.head));
        self.head = head;
    }

    /// Takes back every change recorded after `mark`.
    pub fn rollback(&mut self, undo: &mut Undo, mark: usize) {
        while undo.entries.len() > mark {
            match undo.entries.pop() {
                Some(UndoEntry::Record(change)) => {
                    let (written, previous) = *change;
                    self.restore(written, previous);
                }
                Some(UndoEntry::Balance(account, previous)) => {
                    if self.lazy && previous.is_none() {
                        self.unposted.insert(account.clone());
                    }
                    put(&mut self.balances, account, previous);
                }
                Some(UndoEntry::Request(id, previous)) => drop(match previous {
                    Some(entry) => self.requests.insert(id, entry),
                    None => self.requests.remove(&id),
                }),
                Some(UndoEntry::Head(head)) => self.head = head,
                None => break,
            }
        }
    }
}
