//! Verification: replays the whole journal through the pure core and checks the hash chain, the
//! replayed effects, every bound, the per-asset zero sum, and every stored row against the replay.

use crate::amount::Amount;
use crate::domain::{self, Context, Head, RequestEntry, State, Undo};
use crate::journal::{Asset, ChainHash, chain_hash, hex};
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Transactions replayed.
    pub transactions: u64,
    /// Accounts checked.
    pub accounts: usize,
    /// Parties checked.
    pub parties: usize,
    /// The verified head.
    pub head: Head,
}

/// Verification failed: the first mismatch found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The store could not be read.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// Stored history or state disagrees with the replay.
    #[error("verification failed: {0}")]
    Mismatch(String),
}

fn mismatch<T>(message: String) -> Result<T, VerifyError> {
    Err(VerifyError::Mismatch(message))
}

/// Replays the journal of `store` and compares everything it derives with what is stored.
///
/// # Errors
/// [`VerifyError::Mismatch`] naming the first difference, or [`VerifyError::Storage`].
pub fn verify_store(store: &Store) -> Result<VerifyReport, VerifyError> {
    let mut state = State::new();
    let mut undo = Undo::default();
    let mut postings_expected = Vec::new();
    // Postings so far per account: the next one's ordinal in the posting index.
    let mut ordinals: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut adjust_expected = Vec::new();
    let mut history_expected: BTreeMap<(String, u64), crate::domain::records::Record> = BTreeMap::new();
    store.for_each_transaction(|seq, stored_hash, body, transaction| -> Result<(), VerifyError> {
        let head = state.head();
        if seq != head.seq + 1 || transaction.seq != seq {
            return mismatch(format!("journal seq {seq} (record says {}) follows seq {}: a gap or a reorder", transaction.seq, head.seq));
        }
        if transaction.prev_hash != head.hash {
            return mismatch(format!("seq {seq}: previous hash {} does not chain to {}", hex(&transaction.prev_hash), hex(&head.hash)));
        }
        let hash: ChainHash = chain_hash(body);
        if hash != stored_hash {
            // A lean record's previous hash is the stored hash before it: a forged one shows here.
            return mismatch(format!(
                "seq {seq}: record hash {} does not match its content and previous hash {} ({})",
                hex(&stored_hash),
                hex(&transaction.prev_hash),
                hex(&hash)
            ));
        }
        if transaction.at < head.at {
            return mismatch(format!("seq {seq}: time {} goes back before {}", transaction.at, head.at));
        }
        if state.request(&transaction.request).is_some() {
            return mismatch(format!("seq {seq}: request id {} was already committed", transaction.request));
        }
        let context = Context {
            actor: &transaction.actor,
            at: transaction.at,
            seq,
            request: &transaction.request,
            id_reused: false,
            part: 0,
            grouped: false,
        };
        let effects = domain::run(&mut state, &context, &transaction.command, &mut undo)
            .or_else(|rejection| mismatch(format!("seq {seq}: replaying {} fails: {rejection}", transaction.command.op())))?;
        if effects != transaction.effects {
            return mismatch(format!("seq {seq}: replayed effects of {} differ from the journal's", transaction.command.op()));
        }
        let entry = RequestEntry { seq, fingerprint: transaction.fingerprint };
        state.commit(&transaction.request, entry, Head { seq, hash, at: transaction.at }, &mut undo);
        undo.clear();
        let afters = state.balances_after(&transaction);
        for (index, (posting, after)) in transaction.effects.postings.iter().zip(afters).enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let account = posting.account.to_string();
            let ordinal = ordinals.entry(account.clone()).or_insert(0);
            *ordinal += 1;
            postings_expected.push(((account, seq, index), (posting.amount, after, *ordinal)));
        }
        for record in &transaction.effects.adjust_records {
            adjust_expected.push((seq, transaction.at, record.clone()));
        }
        // Within one transaction the last write of a key is what the history keeps.
        for record in &transaction.effects.records {
            history_expected.insert((record.key(), seq), record.clone());
        }
        Ok(())
    })?;
    check_invariants(&state)?;
    let checkpoint = check_stored_state(store, &state)?;
    let history_expected: Vec<_> = history_expected.into_iter().filter(|((_, seq), _)| *seq <= checkpoint).collect();
    compare_rows("record history", &history_expected, &store.record_history()?)?;
    let (index_stored, index_expected) = store.record_index_rows()?;
    compare_rows("record index", &index_expected, &index_stored)?;
    // The history tables are indexes of the journal, written up to their own watermark.
    let indexed = store.history_seq()?;
    postings_expected.retain(|((_, seq, _), _)| *seq <= indexed);
    postings_expected.sort_by(|a, b| a.0.cmp(&b.0));
    adjust_expected.retain(|(seq, _, _)| *seq <= indexed);
    compare_rows("posting index", &postings_expected, &store.all_postings()?)?;
    compare_rows("adjust records", &adjust_expected, &store.adjust_records(0..=u64::MAX)?)?;
    Ok(VerifyReport {
        transactions: state.head().seq,
        accounts: state.balances().count(),
        parties: state.parties().count(),
        head: state.head(),
    })
}

/// Every bound holds and each asset sums to zero.
fn check_invariants(state: &State) -> Result<(), VerifyError> {
    let mut sums: BTreeMap<Asset, i128> = BTreeMap::new();
    for (account, balance) in state.balances() {
        if !state.within_bound(account) {
            return mismatch(format!("{account} holds {balance}, outside its bound"));
        }
        *sums.entry(account.asset()).or_default() += balance.minor();
    }
    match sums.into_iter().find(|(_, sum)| *sum != 0) {
        Some((asset, sum)) => mismatch(format!("{} balances sum to {}, not zero", asset.name(), Amount::from_minor(sum))),
        None => Ok(()),
    }
}

/// Compares the stored state (state tables plus the journal tail applied on top) with the replay;
/// returns the seq the state tables were checkpointed at.
fn check_stored_state(store: &Store, replayed: &State) -> Result<u64, VerifyError> {
    let (mut stored, tail) = store.recover()?;
    store.fetch(&mut stored, vec![domain::Miss::Everything])?;
    let checkpoint = tail.first_seq().map_or(stored.head().seq, |first| first - 1);
    if stored.head() != replayed.head() {
        let (stored, replayed) = (stored.head(), replayed.head());
        return mismatch(format!(
            "stored head seq {}:{} differs from the replayed head seq {}:{}",
            stored.seq,
            hex(&stored.hash),
            replayed.seq,
            hex(&replayed.hash)
        ));
    }
    for (account, balance) in replayed.balances() {
        let stored_balance = stored.balance_entry(account);
        if stored_balance != Some(*balance) {
            let shown = stored_balance.map_or("nothing".to_owned(), |balance| balance.to_string());
            return mismatch(format!("balance of {account}: stored {shown}, replay gives {balance}"));
        }
    }
    if let Some((account, balance)) = stored.balances().find(|(account, _)| replayed.balance_entry(account).is_none()) {
        return mismatch(format!("balance of {account}: stored {balance}, but no transaction posted to it"));
    }
    let mut replayed_records = replayed.records();
    let mut stored_records = stored.records();
    replayed_records.sort_by_cached_key(crate::domain::records::Record::key);
    stored_records.sort_by_cached_key(crate::domain::records::Record::key);
    for (index, record) in replayed_records.iter().enumerate() {
        if stored_records.get(index) != Some(record) {
            return mismatch(format!("record {} differs from the replay", record.key()));
        }
    }
    if let Some(extra) = stored_records.get(replayed_records.len()) {
        return mismatch(format!("record {} is stored but no transaction wrote it", extra.key()));
    }
    for (id, entry) in replayed.requests() {
        if stored.request(id) != Some(entry) {
            return mismatch(format!("request entry {id} differs from the replay"));
        }
    }
    if stored.requests().count() != replayed.requests().count() {
        return mismatch("stored request ids that no transaction committed".to_owned());
    }
    Ok(checkpoint)
}

fn compare_rows<T: PartialEq + std::fmt::Debug>(what: &str, expected: &[T], stored: &[T]) -> Result<(), VerifyError> {
    if let Some(index) = (0..expected.len().max(stored.len())).find(|&index| expected.get(index) != stored.get(index)) {
        let show = |row: Option<&T>| row.map_or_else(|| "nothing".to_owned(), |row| format!("{row:?}"));
        return mismatch(format!("{what} row {index}: stored {}, replay gives {}", show(stored.get(index)), show(expected.get(index))));
    }
    Ok(())
}
