//! The in-memory state the rules read, with an undo log so a failed command, atomic group or
//! commit leaves it exactly as it was.

use super::{Effects, PartyRecord};
use crate::amount::Amount;
use crate::error::{ErrorCode, Rejection};
use crate::id::{Id, Party};
use crate::journal::{self, Account, ChainHash, GENESIS_HASH};
use crate::time::Timestamp;
use std::collections::HashMap;

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

/// Everything the rules read: parties, balances, committed request ids and the journal head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    parties: HashMap<Party, PartyRecord>,
    balances: HashMap<Account, Amount>,
    requests: HashMap<Id, RequestEntry>,
    head: Head,
}

enum UndoEntry {
    Party(Party, Option<PartyRecord>),
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

impl State {
    /// An empty ledger's state.
    pub fn new() -> State {
        State { head: Head { seq: 0, hash: GENESIS_HASH, at: Timestamp::from_millis(0) }, ..State::default() }
    }

    /// A registered partner's or customer's record.
    pub fn party(&self, party: &Party) -> Option<&PartyRecord> {
        self.parties.get(party)
    }

    /// All registered parties.
    pub fn parties(&self) -> impl Iterator<Item = (&Party, &PartyRecord)> {
        self.parties.iter()
    }

    /// An account's balance (zero when never posted).
    pub fn balance(&self, account: &Account) -> Amount {
        self.balances.get(account).copied().unwrap_or_default()
    }

    /// An account's balance, `None` when never posted.
    pub fn balance_entry(&self, account: &Account) -> Option<Amount> {
        self.balances.get(account).copied()
    }

    /// All balances ever posted.
    pub fn balances(&self) -> impl Iterator<Item = (&Account, &Amount)> {
        self.balances.iter()
    }

    /// Cash minus held.
    pub fn available(&self, party: &Party) -> Amount {
        let held = self.party(party).map(|record| record.held).unwrap_or_default();
        Amount::from_minor(self.balance(&Account::cash(party)).minor() - held.minor())
    }

    /// A committed request id.
    pub fn request(&self, id: &Id) -> Option<&RequestEntry> {
        self.requests.get(id)
    }

    /// All committed request ids.
    pub fn requests(&self) -> impl Iterator<Item = (&Id, &RequestEntry)> {
        self.requests.iter()
    }

    /// The journal head.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The credit limit of an account's owner (zero for the platform).
    pub fn credit_limit(&self, owner: &Party) -> Amount {
        self.party(owner).map(|record| record.credit_limit).unwrap_or_default()
    }

    /// Loads a party record without undo (opening a store).
    pub(crate) fn load_party(&mut self, party: Party, record: PartyRecord) {
        self.parties.insert(party, record);
    }

    /// Loads a balance without undo (opening a store).
    pub(crate) fn load_balance(&mut self, account: Account, balance: Amount) {
        self.balances.insert(account, balance);
    }

    /// Loads a request id without undo (opening a store).
    pub(crate) fn load_request(&mut self, id: Id, entry: RequestEntry) {
        self.requests.insert(id, entry);
    }

    /// Sets the head without undo (opening a store).
    pub(crate) fn load_head(&mut self, head: Head) {
        self.head = head;
    }

    /// Applies `effects`: party records, then postings, then checks every touched bound and the
    /// per-asset zero sum. On a broken rule nothing stays changed.
    ///
    /// # Errors
    /// A rejection when the postings break a double-entry rule or a bound; the domain rules refuse
    /// such commands with a specific code before, so this guards against bugs.
    pub fn apply(&mut self, effects: &Effects, undo: &mut Undo) -> Result<(), Rejection> {
        journal::check_balanced(&effects.postings).map_err(|error| Rejection::new(ErrorCode::InsufficientFunds, error.to_string()))?;
        let mark = undo.mark();
        for (party, record) in &effects.parties {
            let previous = self.parties.insert(party.clone(), record.clone());
            undo.entries.push(UndoEntry::Party(party.clone(), previous));
        }
        for posting in &effects.postings {
            let previous = self.balances.get(&posting.account).copied();
            let Ok(balance) = previous.unwrap_or_default().checked_add(posting.amount) else {
                self.rollback(undo, mark);
                return Err(Rejection::new(ErrorCode::InvalidAmount, format!("balance of {} would overflow", posting.account)));
            };
            self.balances.insert(posting.account.clone(), balance);
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
                Some(UndoEntry::Party(party, previous)) => restore(&mut self.parties, party, previous),
                Some(UndoEntry::Balance(account, previous)) => restore(&mut self.balances, account, previous),
                Some(UndoEntry::Request(id, previous)) => restore(&mut self.requests, id, previous),
                Some(UndoEntry::Head(head)) => self.head = head,
                None => break,
            }
        }
    }
}

fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, previous: Option<V>) {
    match previous {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}
