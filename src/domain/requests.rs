//! The committed request ids a [`State`](super::State) knows, in two forms.
//!
//! - **Exact**: the id with its entry (`seq`, fingerprint). Ids committed by this process, and
//!   every id of a state that loaded everything (replay, `verify`).
//! - **Hashed**: ids read from the store's request runs, held as a 64-bit hash of the id and the
//!   `seq` that committed it: 16 bytes instead of the id's text, its entry and their allocation
//!   (about 200 bytes). A hit is not yet an answer: the journal record at that `seq` holds the
//!   id and its fingerprint, and once fetched ([`Requests::confirm`]) it is held exactly. A hash
//!   shared by two ids keeps the later one by its text — exact when this process committed it,
//!   unconfirmed with its `seq` when read from a run (runs hold no fingerprints) — so a hash
//!   never stands for two ids.
//!
//! On the 1,000,000-customer bench file (1,000,200 committed ids) the exact form was most of
//! the heap of `apply` (valgrind massif: about 200 MB once loaded, 266 MB while its map grew);
//! the hashed form's map takes 35.6 MB (`docs/performance.md`).

use super::state::{FxHasher, HashMap, RequestEntry};
use crate::id::Id;
use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

/// What [`Requests::get`] knows of an id.
pub(crate) enum Found<'a> {
    /// Committed, with this entry.
    Committed(&'a RequestEntry),
    /// Maybe committed, by the transaction at this `seq`: its journal record decides.
    Unconfirmed(u64),
    /// Not among the ids held.
    Absent,
}

/// Committed request ids, exact or hashed (see the module documentation).
#[derive(Clone, Debug, Default)]
pub(crate) struct Requests {
    exact: HashMap<Id, RequestEntry>,
    /// Ids read from a request run whose hash another id holds: held by their text, unconfirmed
    /// (a run does not hold fingerprints; the journal record at the `seq` does).
    collided: HashMap<Id, u64>,
    hashed: std::collections::HashMap<u64, u64, BuildHasherDefault<FxHasher>>,
    /// The `seq`s of hashed ids whose journal record was fetched into `exact`.
    confirmed: HashSet<u64, BuildHasherDefault<FxHasher>>,
}

/// The 64-bit hash an id is held under: std's SipHash with its fixed keys. Ids are the
/// clients' own, so two may share a hash (by chance, about once in 30 million books of a
/// million ids; or on purpose): the later one is then held exactly, which costs memory, never
/// an answer.
fn hash_of(id: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(id.as_bytes());
    hasher.finish()
}

impl PartialEq for Requests {
    fn eq(&self, other: &Requests) -> bool {
        self.exact == other.exact && self.collided == other.collided && self.hashed == other.hashed
    }
}

impl Eq for Requests {}

impl Requests {
    /// What is known of `id`.
    pub(crate) fn get(&self, id: &Id) -> Found<'_> {
        if let Some(entry) = self.exact.get(id) {
            return Found::Committed(entry);
        }
        if let Some(&seq) = self.collided.get(id) {
            return Found::Unconfirmed(seq);
        }
        match self.hashed.get(&hash_of(id.as_str())) {
            Some(&seq) if !self.confirmed.contains(&seq) => Found::Unconfirmed(seq),
            _ => Found::Absent,
        }
    }

    /// Records `id` exactly; returns the entry it replaces.
    pub(crate) fn insert(&mut self, id: Id, entry: RequestEntry) -> Option<RequestEntry> {
        self.exact.insert(id, entry)
    }

    /// Takes `id` back out of the exact form (an undone commit).
    pub(crate) fn remove(&mut self, id: &Id) -> Option<RequestEntry> {
        self.exact.remove(id)
    }

    /// Adds an id read from the store exactly, unless an entry for it is held (newer).
    pub(crate) fn load_exact(&mut self, id: Id, entry: RequestEntry) {
        self.exact.entry(id).or_insert(entry);
    }

    /// Adds an id read from the store hashed, unless it is held exactly (newer); an id whose
    /// hash is taken by another is held by its text, unconfirmed. `None` when such an id is
    /// empty (a damaged run).
    pub(crate) fn load_hashed(&mut self, id: &str, seq: u64) -> Option<()> {
        if !self.exact.contains_key(id) && !self.place(hash_of(id), seq) {
            self.collided.insert(Id::stored(id)?, seq);
        }
        Some(())
    }

    /// Holds `seq` under `hash`; false when the hash already stands for another `seq` (the
    /// caller then keeps its id exact).
    fn place(&mut self, hash: u64, seq: u64) -> bool {
        match self.hashed.entry(hash) {
            Entry::Vacant(slot) => {
                slot.insert(seq);
                true
            }
            Entry::Occupied(slot) => *slot.get() == seq,
        }
    }

    /// The journal record at `seq` (a hashed hit) committed `id` with `entry`: held exactly
    /// from now on.
    pub(crate) fn confirm(&mut self, seq: u64, id: Id, entry: RequestEntry) {
        self.confirmed.insert(seq);
        self.collided.remove(&id);
        self.exact.entry(id).or_insert(entry);
    }

    /// Forgets the hashed ids, once every id is held exactly (a state that loaded everything).
    pub(crate) fn drop_hashed(&mut self) {
        self.hashed = std::collections::HashMap::default();
        self.collided = HashMap::default();
        self.confirmed = HashSet::default();
    }

    /// Every id held exactly (all of them once a state loaded everything).
    pub(crate) fn exact(&self) -> impl Iterator<Item = (&Id, &RequestEntry)> {
        self.exact.iter()
    }

    /// Moves the exact ids to the hashed form, when all of them are in the store's request runs
    /// (after a checkpoint): the memory of a long-running process stays at 16 bytes an id.
    pub(crate) fn shrink(&mut self) {
        let exact = std::mem::take(&mut self.exact);
        self.confirmed.clear();
        for (id, entry) in exact {
            if !self.place(hash_of(id.as_str()), entry.seq) {
                self.exact.insert(id, entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> RequestEntry {
        RequestEntry { seq, fingerprint: [u8::try_from(seq).expect("small"); 32] }
    }

    fn id(text: &str) -> Id {
        Id::new(text).expect("valid id")
    }

    fn committed(requests: &Requests, text: &str) -> Option<RequestEntry> {
        match requests.get(&id(text)) {
            Found::Committed(entry) => Some(*entry),
            _ => None,
        }
    }

    #[test]
    fn a_hashed_id_is_unconfirmed_until_its_journal_record_is_fetched() {
        let mut requests = Requests::default();
        requests.load_hashed("r-1", 7).expect("non-empty");
        assert!(matches!(requests.get(&id("r-1")), Found::Unconfirmed(7)));
        assert!(matches!(requests.get(&id("r-2")), Found::Absent));
        requests.confirm(7, id("r-1"), entry(7));
        assert_eq!(committed(&requests, "r-1"), Some(entry(7)));
        assert!(requests.load_hashed("", 8).is_some(), "an empty id hashes like any other text");
    }

    #[test]
    fn a_hash_shared_by_two_ids_never_answers_for_the_other() {
        let mut requests = Requests::default();
        // "r-2" committed at seq 3 and happens to share its hash with "r-1".
        requests.hashed.insert(hash_of("r-1"), 3);
        assert!(matches!(requests.get(&id("r-1")), Found::Unconfirmed(3)));
        requests.confirm(3, id("r-2"), entry(3));
        assert!(matches!(requests.get(&id("r-1")), Found::Absent), "the record at seq 3 committed another id");
        assert_eq!(committed(&requests, "r-2"), Some(entry(3)));
        // Loading "r-1" from a run (seq 5) now keeps it by its text: its hash stands for seq 3.
        requests.load_hashed("r-1", 5).expect("non-empty");
        assert!(matches!(requests.get(&id("r-1")), Found::Unconfirmed(5)), "the journal record at seq 5 holds its fingerprint");
        requests.confirm(5, id("r-1"), entry(5));
        assert_eq!(committed(&requests, "r-1"), Some(entry(5)));
        // Shrinking keeps the colliding id exact, and the confirmed one is hashed again.
        requests.shrink();
        assert_eq!(committed(&requests, "r-1"), Some(entry(5)));
        assert!(matches!(requests.get(&id("r-2")), Found::Unconfirmed(3)), "r-2 is held under its own hash");
    }

    #[test]
    fn an_exact_entry_is_newer_than_a_run_and_shrinking_keeps_every_id_findable() {
        let mut requests = Requests::default();
        requests.insert(id("r-1"), entry(9));
        requests.load_hashed("r-1", 2).expect("non-empty");
        assert_eq!(committed(&requests, "r-1"), Some(entry(9)));
        requests.insert(id("r-3"), entry(4));
        requests.shrink();
        assert!(matches!(requests.get(&id("r-1")), Found::Unconfirmed(9)));
        assert!(matches!(requests.get(&id("r-3")), Found::Unconfirmed(4)));
        assert_eq!(requests.exact().count(), 0);
    }
}
