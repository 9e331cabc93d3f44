//! Record encodings. Every stored value starts with a version byte; fixed-width records use
//! little-endian integers, variable ones postcard. Golden-byte tests pin each encoding.

use crate::amount::Amount;
use crate::domain::records::Record;
use crate::domain::{Effects, Head, Transaction};
use crate::journal::ChainHash;
use crate::time::Timestamp;

/// The version byte of every record written by this build.
pub const RECORD_VERSION: u8 = 1;

/// A record that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("corrupt {what} record: {reason}")]
pub struct DecodeError {
    /// Which kind of record.
    pub what: &'static str,
    /// What was wrong.
    pub reason: String,
}

fn corrupt(what: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError { what, reason: reason.into() }
}

/// Splits off and checks the version byte (1), and checks the fixed length when given.
fn body<'a>(what: &'static str, bytes: &'a [u8], length: Option<usize>) -> Result<&'a [u8], DecodeError> {
    versioned_body(what, RECORD_VERSION, bytes, length)
}

/// Splits off and checks the version byte against `expected`, and checks the fixed length when
/// given.
fn versioned_body<'a>(what: &'static str, expected: u8, bytes: &'a [u8], length: Option<usize>) -> Result<&'a [u8], DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt(what, "empty"))?;
    if version != expected {
        return Err(corrupt(what, format!("unknown version {version}")));
    }
    if length.is_some_and(|length| rest.len() != length) {
        return Err(corrupt(what, format!("length {} where {} was expected", rest.len(), length.unwrap_or(0))));
    }
    Ok(rest)
}

fn i128_at(bytes: &[u8], at: usize) -> i128 {
    let mut buffer = [0u8; 16];
    buffer.copy_from_slice(&bytes[at..at + 16]);
    i128::from_le_bytes(buffer)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut buffer = [0u8; 8];
    buffer.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buffer)
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    let mut buffer = [0u8; 8];
    buffer.copy_from_slice(&bytes[at..at + 8]);
    i64::from_le_bytes(buffer)
}

/// The version byte of a lean journal record (format 4; see [`encode_journal_lean`]).
pub const JOURNAL_LEAN_VERSION: u8 = 2;

/// A transaction's body, `postcard(Transaction)` (what the chain hash covers), and where its
/// parts start in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBody {
    /// The body: `[seq, at, request, actor, command][fingerprint: 32][postings, records]
    /// [adjust records, outcome][previous hash: 32]`.
    pub bytes: Vec<u8>,
    /// Where the seq, which starts the body, ends.
    pub seq_end: usize,
    /// The offset of the 32-byte fingerprint; the postings follow it.
    pub fingerprint_at: usize,
    /// The offset of the records written, where the postings end.
    pub records_at: usize,
    /// The offset of the adjust records.
    pub adjust_at: usize,
}

/// Encodes the body of a journal transaction (what the chain hash covers), noting where its
/// parts start. postcard writes a struct as its fields one after another, so encoding the
/// fields in order gives the struct's bytes.
pub fn encode_transaction(transaction: &Transaction) -> EncodedBody {
    let Transaction { seq, at, request, actor, command, fingerprint, effects, prev_hash } = transaction;
    let Effects { postings, records, adjust_records, outcome } = effects;
    let bytes = extend(seq, Vec::with_capacity(256));
    let seq_end = bytes.len();
    let mut bytes = extend(&(at, request, actor, command), bytes);
    let fingerprint_at = bytes.len();
    bytes.extend_from_slice(fingerprint);
    let bytes = extend(postings, bytes);
    let records_at = bytes.len();
    let bytes = extend(records, bytes);
    let adjust_at = bytes.len();
    let mut bytes = extend(&(adjust_records, outcome), bytes);
    bytes.extend_from_slice(prev_hash);
    EncodedBody { bytes, seq_end, fingerprint_at, records_at, adjust_at }
}

/// Appends postcard of `value` to `bytes`.
fn extend<T: serde::Serialize + ?Sized>(value: &T, bytes: Vec<u8>) -> Vec<u8> {
    postcard::to_extend(value, bytes).expect("postcard encodes to a Vec")
}

/// The adjust records and outcome the rules write for a transfer (`allocate`, `recover`): one
/// record naming the partner whose cash posting the transfer holds (the first posting of an
/// allocation, the second of a recovery), the counterparty, the amount and the memo; the
/// outcome names the request. `None` for every other command. A lean record leaves out what
/// this gives, when it is what the transaction holds.
pub fn derived_effects(
    request: &crate::id::Id,
    command: &crate::domain::Command,
    postings: &[crate::journal::Posting],
) -> Option<(Vec<crate::domain::AdjustRecord>, crate::domain::Outcome)> {
    use crate::domain::{AdjustOperation, Command};
    let (operation, target, amount, memo, partner_posting) = match command {
        Command::Allocate { to, amount, memo, .. } => (AdjustOperation::Allocate, to, amount, memo, postings.first()?),
        Command::Recover { from, amount, memo, .. } => (AdjustOperation::Recover, from, amount, memo, postings.get(1)?),
        _ => return None,
    };
    let partner = match (&partner_posting.account.owner, &partner_posting.account.kind) {
        (crate::id::Party::Partner(partner), crate::journal::AccountKind::Cash) => partner.clone(),
        _ => return None,
    };
    let record = crate::domain::AdjustRecord { operation, partner, target: target.clone(), amount: *amount, memo: memo.clone() };
    Some((vec![record], crate::domain::Outcome::Transfer(request.clone())))
}

/// How a transaction is stored lean (see [`encode_journal_lean`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeanForm {
    /// Where the fingerprint starts in the body.
    pub fingerprint_at: usize,
    /// The request gave `at`.
    pub at_given: bool,
    /// Where the adjust records start in the body, when they and the outcome are what
    /// [`derived_effects`] gives: then neither is stored.
    pub derived_at: Option<usize>,
    /// Where the postings end in the body, when they are what
    /// [`crate::domain::transfer_postings`] gives: then they are not stored (format 7).
    pub postings_end: Option<usize>,
    /// Where the seq ends in the body (it starts it), when it is left out because it is the
    /// key the record is stored under (format 7).
    pub seq_end: Option<usize>,
}

impl LeanForm {
    /// The lean form of a transaction this build encoded as `body`, whose request did or did not
    /// give `at`.
    pub fn of(transaction: &Transaction, body: &EncodedBody, at_given: bool) -> LeanForm {
        let effects = &transaction.effects;
        let derived = derived_effects(&transaction.request, &transaction.command, &effects.postings)
            .is_some_and(|(records, outcome)| records == effects.adjust_records && outcome == effects.outcome);
        let postings_derived =
            crate::domain::transfer_postings(&transaction.actor, &transaction.command).is_some_and(|postings| postings == effects.postings);
        LeanForm {
            fingerprint_at: body.fingerprint_at,
            at_given,
            derived_at: derived.then_some(body.adjust_at),
            postings_end: postings_derived.then_some(body.records_at),
            seq_end: Some(body.seq_end),
        }
    }
}

/// The at-given bit of a lean record's flags.
const FLAG_AT_GIVEN: u8 = 1;
/// The bit of a lean record's flags saying its adjust records and outcome are derived.
const FLAG_DERIVED: u8 = 2;
/// The bit of a lean record's flags saying its postings are derived (format 7).
const FLAG_POSTINGS: u8 = 4;
/// The bit of a lean record's flags saying its seq is the key it is stored under (format 7).
const FLAG_SEQ_KEYED: u8 = 8;

/// Encodes the body of a journal transaction (what the chain hash covers).
pub fn encode_transaction_body(transaction: &Transaction) -> Vec<u8> {
    encode_transaction(transaction).bytes
}

/// A full journal record (format 3, and what the replication stream carries):
/// `[1][hash: 32][postcard body]`.
pub fn encode_journal(hash: &ChainHash, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + 32 + body.len());
    bytes.push(RECORD_VERSION);
    bytes.extend_from_slice(hash);
    bytes.extend_from_slice(body);
    bytes
}

/// A lean journal record (format 4): `[2][hash: 32][flags: u8][body without its fingerprint and
/// its previous hash]`. Both are left out because both can be had again: the previous hash is the
/// previous record's hash, and the fingerprint is the digest of the actor, the command and `at`
/// when the request gave it (flag bit 0). With flag bit 1 the adjust records and outcome are left
/// out too, and [`derived_effects`] gives them back; with flag bit 2 the postings, which
/// [`crate::domain::transfer_postings`] gives back; with flag bit 3 the seq, which is the key
/// the record is stored under. The chain hash is unchanged: it still covers
/// the whole body, which [`JournalRecord::body`] puts back together. 63 bytes fewer per record,
/// and for a transfer its adjust record and outcome (about 20 bytes) and its two postings (about
/// 30 bytes) besides.
///
/// # Panics
/// When `form` does not fit `bytes` (not a body from [`encode_transaction`]).
pub fn encode_journal_lean(hash: &ChainHash, bytes: &[u8], form: LeanForm) -> Vec<u8> {
    let effects = form.postings_end.unwrap_or(form.fingerprint_at + 32)..form.derived_at.unwrap_or(bytes.len() - 32);
    let mut record = Vec::with_capacity(1 + 32 + 1 + bytes.len() - 64);
    record.push(JOURNAL_LEAN_VERSION);
    record.extend_from_slice(hash);
    let flag = |set: bool, bit: u8| if set { bit } else { 0 };
    record.push(
        flag(form.at_given, FLAG_AT_GIVEN)
            | flag(form.derived_at.is_some(), FLAG_DERIVED)
            | flag(form.postings_end.is_some(), FLAG_POSTINGS)
            | flag(form.seq_end.is_some(), FLAG_SEQ_KEYED),
    );
    record.extend_from_slice(&bytes[form.seq_end.unwrap_or(0)..form.fingerprint_at]);
    record.extend_from_slice(&bytes[effects]);
    record
}

/// Whether `transaction` (encoded as `body`) can be stored lean: its body is the canonical
/// encoding and its fingerprint is the digest of its actor, command and either `at` or no `at`.
/// A record from elsewhere (the replication stream, an older file) that fails either test is
/// stored as it came.
pub fn lean_form(transaction: &Transaction, body: &[u8]) -> Option<LeanForm> {
    let encoded = encode_transaction(transaction);
    if encoded.bytes != body {
        return None;
    }
    let fingerprint = |at| crate::domain::fingerprint(&transaction.actor, at, &transaction.command);
    let at_given = if fingerprint(None) == transaction.fingerprint {
        false
    } else if fingerprint(Some(transaction.at)) == transaction.fingerprint {
        true
    } else {
        return None;
    };
    Some(LeanForm::of(transaction, &encoded, at_given))
}

/// A decoded journal record.
#[derive(Clone, Debug)]
pub struct JournalRecord<'a> {
    /// The stored chain hash.
    pub hash: ChainHash,
    /// The transaction.
    pub transaction: Transaction,
    form: Form<'a>,
}

#[derive(Clone, Debug)]
enum Form<'a> {
    /// Stored whole (version 1).
    Full(&'a [u8]),
    /// Stored lean (version 2): the body's bytes before the fingerprint (without the seq when
    /// `seq`), and the effects as stored (without the postings when `postings`, without the
    /// adjust records and outcome when `derived`).
    Lean { seq: bool, head: &'a [u8], effects: &'a [u8], postings: bool, derived: bool },
}

impl<'a> JournalRecord<'a> {
    /// The transaction's body (what the chain hash covers), as stored or put back together.
    pub fn body(&self) -> std::borrow::Cow<'a, [u8]> {
        match self.form {
            Form::Full(body) => std::borrow::Cow::Borrowed(body),
            Form::Lean { seq, head, effects, postings, derived } => {
                let mut body = Vec::with_capacity(head.len() + effects.len() + 128);
                if seq {
                    body = extend(&self.transaction.seq, body);
                }
                body.extend_from_slice(head);
                body.extend_from_slice(&self.transaction.fingerprint);
                if postings {
                    body = extend(&self.transaction.effects.postings, body);
                }
                body.extend_from_slice(effects);
                if derived {
                    let Effects { adjust_records, outcome, .. } = &self.transaction.effects;
                    body = extend(&(adjust_records, outcome), body);
                }
                body.extend_from_slice(&self.transaction.prev_hash);
                std::borrow::Cow::Owned(body)
            }
        }
    }

    /// Stored lean (format 4) rather than whole.
    pub fn is_lean(&self) -> bool {
        matches!(self.form, Form::Lean { .. })
    }
}

/// The chain hash a journal record stores, without decoding the rest.
///
/// # Errors
/// [`DecodeError`] for an unknown version or a record shorter than its hash.
pub fn journal_hash(bytes: &[u8]) -> Result<ChainHash, DecodeError> {
    match bytes {
        [RECORD_VERSION | JOURNAL_LEAN_VERSION, hash @ ..] if hash.len() >= 32 => Ok(hash[..32].try_into().expect("32 bytes")),
        [RECORD_VERSION | JOURNAL_LEAN_VERSION, ..] => Err(corrupt("journal", "shorter than its hash")),
        [version, ..] => Err(corrupt("journal", format!("unknown version {version}"))),
        [] => Err(corrupt("journal", "empty")),
    }
}

/// Decodes the journal record stored under `key`, whole or lean. `prev` is the previous
/// record's hash (32 zero bytes before the first): a lean record does not store it, nor (since
/// format 7) its seq, which is `key`. A whole record, or a lean one of formats 4 to 6, keeps the
/// seq and previous hash it stores, which `verify` checks against the key and `prev`.
///
/// # Errors
/// [`DecodeError`] for a wrong version, a short record or an undecodable body.
pub fn decode_journal<'a>(key: u64, bytes: &'a [u8], prev: &ChainHash) -> Result<JournalRecord<'a>, DecodeError> {
    let hash = journal_hash(bytes)?;
    let rest = &bytes[33..];
    if bytes[0] == RECORD_VERSION {
        let transaction = exact(postcard::take_from_bytes(rest), "journal")?;
        return Ok(JournalRecord { hash, transaction, form: Form::Full(rest) });
    }
    let lean = decode_lean(key, rest)?;
    let (seq, at, request, actor, command) = lean.head;
    let fingerprint = crate::domain::fingerprint(&actor, lean.at_given.then_some(at), &command);
    let transaction = Transaction { seq, at, request, actor, command, fingerprint, effects: lean.effects, prev_hash: *prev };
    let form = Form::Lean {
        seq: lean.seq_keyed,
        head: lean.head_bytes,
        effects: lean.effects_bytes,
        postings: lean.postings,
        derived: lean.derived,
    };
    Ok(JournalRecord { hash, transaction, form })
}

/// What a journal record says of its transaction without its chain: seq, time, request id and
/// effects. Cheaper than [`decode_journal`] for a lean record: its fingerprint is not computed.
///
/// # Errors
/// As [`decode_journal`].
pub fn decode_journal_effects(key: u64, bytes: &[u8]) -> Result<(u64, Timestamp, crate::id::Id, Effects), DecodeError> {
    journal_hash(bytes)?;
    let rest = &bytes[33..];
    if bytes[0] == RECORD_VERSION {
        let transaction: Transaction = exact(postcard::take_from_bytes(rest), "journal")?;
        return Ok((transaction.seq, transaction.at, transaction.request, transaction.effects));
    }
    let lean = decode_lean(key, rest)?;
    let (seq, at, request, _, _) = lean.head;
    Ok((seq, at, request, lean.effects))
}

/// The fields of a transaction's body before its fingerprint.
type LeanHead = (u64, Timestamp, crate::id::Id, crate::id::Party, crate::domain::Command);

/// A lean journal record after its hash, decoded.
struct Lean<'a> {
    seq_keyed: bool,
    at_given: bool,
    postings: bool,
    derived: bool,
    head: LeanHead,
    head_bytes: &'a [u8],
    effects: Effects,
    effects_bytes: &'a [u8],
}

fn decode_lean(key: u64, rest: &[u8]) -> Result<Lean<'_>, DecodeError> {
    // Errors name the version: a whole record whose version byte was damaged into 2 fails here.
    let lean = |reason: String| corrupt("journal", format!("version {JOURNAL_LEAN_VERSION} record: {reason}"));
    let (&flags, data) = rest.split_first().ok_or_else(|| lean("no flags".to_owned()))?;
    if flags & !(FLAG_AT_GIVEN | FLAG_DERIVED | FLAG_POSTINGS | FLAG_SEQ_KEYED) != 0 {
        return Err(lean(format!("flags {flags:#04x}")));
    }
    let (at_given, derived, postings_derived) = (flags & FLAG_AT_GIVEN != 0, flags & FLAG_DERIVED != 0, flags & FLAG_POSTINGS != 0);
    let seq_keyed = flags & FLAG_SEQ_KEYED != 0;
    let (head, effects_bytes): (LeanHead, &[u8]) = if seq_keyed {
        let ((at, request, actor, command), effects_bytes) = postcard::take_from_bytes(data).map_err(|error| lean(error.to_string()))?;
        ((key, at, request, actor, command), effects_bytes)
    } else {
        postcard::take_from_bytes(data).map_err(|error| lean(error.to_string()))?
    };
    let head_bytes = &data[..data.len() - effects_bytes.len()];
    let (postings, rest) = if postings_derived {
        let postings = crate::domain::transfer_postings(&head.3, &head.4)
            .ok_or_else(|| lean(format!("seq {}: {} has no derived postings", head.0, head.4.op())))?;
        (postings, effects_bytes)
    } else {
        postcard::take_from_bytes::<Vec<crate::journal::Posting>>(effects_bytes).map_err(|error| lean(error.to_string()))?
    };
    let effects = if derived {
        let records: Vec<Record> = exact(postcard::take_from_bytes(rest), "journal").map_err(|error| lean(error.reason))?;
        let (adjust_records, outcome) = derived_effects(&head.2, &head.4, &postings)
            .ok_or_else(|| lean(format!("seq {}: {} has no derived effects", head.0, head.4.op())))?;
        Effects { postings, records, adjust_records, outcome }
    } else {
        let (records, adjust_records, outcome) = exact(postcard::take_from_bytes(rest), "journal").map_err(|error| lean(error.reason))?;
        Effects { postings, records, adjust_records, outcome }
    };
    Ok(Lean { seq_keyed, at_given, postings: postings_derived, derived, head, head_bytes, effects, effects_bytes })
}

/// A commit as the replication stream carries it (section 9): its journal records, each as
/// `[u32 LE length][journal record]`, in `seq` order.
pub fn encode_commit<'a>(records: impl IntoIterator<Item = (&'a ChainHash, &'a [u8])>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (hash, body) in records {
        let record = encode_journal(hash, body);
        let length = u32::try_from(record.len()).expect("a journal record is under 4 GiB");
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(&record);
    }
    bytes
}

/// Decodes a commit of the replication stream into its records: stored hash, body bytes and
/// transaction each.
///
/// # Errors
/// [`DecodeError`] for a cut-off commit or an undecodable record.
pub fn decode_commit(mut bytes: &[u8]) -> Result<Vec<(ChainHash, Vec<u8>, Transaction)>, DecodeError> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let Some((length, rest)) = bytes.split_first_chunk::<4>() else { return Err(corrupt("commit", "a cut-off length")) };
        let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| corrupt("commit", "a length over the address space"))?;
        if rest.len() < length {
            return Err(corrupt("commit", "a cut-off record"));
        }
        let (record, rest) = rest.split_at(length);
        if record.first() != Some(&RECORD_VERSION) {
            return Err(corrupt("commit", "a record not stored whole"));
        }
        // A whole record holds its seq: the key given is not read.
        let decoded = decode_journal(0, record, &crate::journal::GENESIS_HASH)?;
        let body = decoded.body().into_owned();
        records.push((decoded.hash, body, decoded.transaction));
        bytes = rest;
    }
    Ok(records)
}

/// The key of an account's rows in `balances` and `posting_blocks` (format 7): the account's
/// postcard encoding, the same bytes as in a journal record's postings — 10 bytes for
/// `customer:C123456:allocated`, whose text takes 26. Keys of one owner share a prefix.
pub fn account_key(account: &crate::journal::Account) -> Vec<u8> {
    extend(account, Vec::with_capacity(16))
}

/// The bytes every account key of `owner` starts with (an account key is its owner's encoding,
/// then its kind's).
pub fn account_key_prefix(owner: &crate::id::Party) -> Vec<u8> {
    extend(owner, Vec::with_capacity(16))
}

/// The account an account key names.
///
/// # Errors
/// [`DecodeError`] when the bytes are not an account's encoding.
pub fn decode_account_key(bytes: &[u8]) -> Result<crate::journal::Account, DecodeError> {
    exact(postcard::take_from_bytes(bytes), "account key")
}

/// The version byte of a balance stored as a varint (format 7).
pub const BALANCE_VARINT_VERSION: u8 = 2;

/// Encodes a balance: `[2][postcard i128]`, a zigzag varint of the minor units — 2 to 4 bytes
/// after the version for everyday amounts, at most 19. Formats 6 and before stored
/// `[1][i128 little-endian]` (17 bytes), which [`decode_balance`] still reads; opening such a
/// file rewrites its balances in this form.
pub fn encode_balance(balance: Amount) -> Vec<u8> {
    extend(&balance.minor(), vec![BALANCE_VARINT_VERSION])
}

/// Decodes a balance, in either form.
///
/// # Errors
/// [`DecodeError`] for a wrong version or length.
pub fn decode_balance(bytes: &[u8]) -> Result<Amount, DecodeError> {
    match bytes.split_first() {
        Some((&BALANCE_VARINT_VERSION, varint)) => exact(postcard::take_from_bytes::<i128>(varint), "balance")
            .map(Amount::from_minor)
            .map_err(|error| corrupt("balance", format!("version {BALANCE_VARINT_VERSION}: {}", error.reason))),
        _ => body("balance", bytes, Some(16)).map(|rest| Amount::from_minor(i128_at(rest, 0))),
    }
}

/// The most postings one posting block holds: a statement page decodes at most two blocks
/// beyond its own lines.
pub const POSTING_BLOCK_ENTRIES: usize = 128;

/// One posting as the posting index holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedPosting {
    /// The transaction that posted it.
    pub seq: u64,
    /// Its place among the transaction's postings.
    pub index: u32,
    /// The amount posted.
    pub amount: Amount,
    /// The account's balance right after it.
    pub after: Amount,
    /// Its place among the account's postings, from 1: the number of postings between two
    /// entries is the difference of their ordinals, so a statement knows its total without
    /// reading every entry.
    pub ordinal: u64,
}

/// The version byte of a posting block (format 7: without times; see [`encode_posting_block`]).
pub const POSTING_BLOCK_VERSION: u8 = 2;

/// A block of one account's consecutive postings, stored under (account key, the first
/// posting's seq): `[2][postcard (first ordinal, balance before the first, the first's posting
/// index and amount, [(seq minus the previous seq, posting index, amount)] of the others)]`, all
/// varints (the first posting's seq is the key's). The balance after each posting and its
/// ordinal follow from the header; a posting costs 3 to 8 bytes instead of an entry of its own
/// (the account name in its key, about 58 bytes). A posting's time is its journal record's,
/// which a statement reads for its line anyway: formats 5 and 6 stored it here too (version 1),
/// and opening rebuilds their blocks.
///
/// # Panics
/// When `entries` is empty (a block always holds a posting).
pub fn encode_posting_block(entries: &[IndexedPosting]) -> Vec<u8> {
    let first = entries.first().expect("a posting block holds a posting");
    let before = first.after.minor() - first.amount.minor();
    let mut seq = first.seq;
    let rows: Vec<(u64, u32, i128)> = entries[1..]
        .iter()
        .map(|entry| {
            let row = (entry.seq - seq, entry.index, entry.amount.minor());
            seq = entry.seq;
            row
        })
        .collect();
    extend(&(first.ordinal, before, first.index, first.amount.minor(), rows), vec![POSTING_BLOCK_VERSION])
}

/// A posting block's postcard: first ordinal, balance before, the first posting's index and
/// amount, and per further posting (seq step, posting index, amount).
type BlockBody = (u64, i128, u32, i128, Vec<(u64, u32, i128)>);

/// A posting block after its version byte.
fn posting_block_body(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    versioned_body("posting block", POSTING_BLOCK_VERSION, bytes, None)
}

/// The first posting's ordinal in a posting block, read without its postings.
///
/// # Errors
/// [`DecodeError`] for a wrong version or a short block.
pub fn posting_block_first_ordinal(bytes: &[u8]) -> Result<u64, DecodeError> {
    let rest = posting_block_body(bytes)?;
    postcard::take_from_bytes::<u64>(rest).map(|(ordinal, _)| ordinal).map_err(|error| corrupt("posting block", error.to_string()))
}

/// Decodes a posting block stored under `first_seq`.
///
/// # Errors
/// [`DecodeError`] for a wrong version, an undecodable block, postings out of order, or a
/// balance out of range.
pub fn decode_posting_block(first_seq: u64, bytes: &[u8]) -> Result<Vec<IndexedPosting>, DecodeError> {
    let (first_ordinal, before, first_index, first_amount, rows): BlockBody =
        exact(postcard::take_from_bytes(posting_block_body(bytes)?), "posting block")?;
    let bad = |reason: String| corrupt("posting block", reason);
    let (mut seq, mut after) = (first_seq, before);
    let mut entries = Vec::with_capacity(rows.len() + 1);
    for (position, (seq_step, index, amount)) in std::iter::once((0, first_index, first_amount)).chain(rows).enumerate() {
        seq = seq.checked_add(seq_step).ok_or_else(|| bad(format!("seq overflows after {seq}")))?;
        if let Some(last) = entries.last().map(|last: &IndexedPosting| (last.seq, last.index))
            && (seq, index) <= last
        {
            return Err(bad(format!("posting {seq}/{index} does not follow {}/{}", last.0, last.1)));
        }
        after = after.checked_add(amount).ok_or_else(|| bad(format!("balance overflows at seq {seq}")))?;
        let ordinal = u64::try_from(position)
            .ok()
            .and_then(|position| first_ordinal.checked_add(position))
            .ok_or_else(|| bad("ordinal overflows".to_owned()))?;
        entries.push(IndexedPosting { seq, index, amount: Amount::from_minor(amount), after: Amount::from_minor(after), ordinal });
    }
    Ok(entries)
}

/// The version byte of a lean request run (format 4; see [`encode_request_run`]).
pub const REQUEST_RUN_LEAN_VERSION: u8 = 2;

/// A request run: the request ids one checkpoint wrote with their `seq`s, in `seq` order,
/// `[2][postcard [(id, seq minus the previous seq)]]`. Format 3's runs (`[1][postcard [(id,
/// seq, fingerprint: 32)]]`) also kept each id's fingerprint; the journal record at its `seq`
/// holds it (about 32 bytes fewer per id).
pub fn encode_request_run(entries: &[(&crate::id::Id, u64)]) -> Vec<u8> {
    let rows: Vec<(&str, u64)> = entries.iter().map(|(id, _)| id.as_str()).zip(steps(entries.iter().map(|(_, seq)| *seq))).collect();
    let mut bytes = vec![REQUEST_RUN_LEAN_VERSION];
    bytes.extend(postcard::to_stdvec(&rows).expect("postcard encodes to a Vec"));
    bytes
}

/// Calls `visit` with each (id, seq, fingerprint) of a request run, the ids borrowed from
/// `bytes`; the fingerprint only from format 3's runs.
///
/// # Errors
/// [`DecodeError`] for a wrong version, an undecodable body, or what `visit` refuses (an empty
/// id).
pub fn visit_request_run(bytes: &[u8], mut visit: impl FnMut(&str, u64, Option<[u8; 32]>) -> Option<()>) -> Result<(), DecodeError> {
    let refused = |seq| corrupt("request run", format!("empty id at seq {seq}"));
    match bytes.first() {
        Some(&REQUEST_RUN_LEAN_VERSION) => {
            // Errors name the version: a format-3 run whose version byte was damaged into 2 fails here.
            let lean = |reason: String| corrupt("request run", format!("version {REQUEST_RUN_LEAN_VERSION} run: {reason}"));
            let rows: Vec<(&str, u64)> =
                exact(postcard::take_from_bytes(&bytes[1..]), "request run").map_err(|error| lean(error.reason))?;
            let mut seq = 0u64;
            for (id, delta) in rows {
                seq = seq.checked_add(delta).ok_or_else(|| lean(format!("seq {seq} plus {delta} overflows")))?;
                visit(id, seq, None).ok_or_else(|| refused(seq))?;
            }
        }
        _ => {
            let rows: Vec<(&str, u64, [u8; 32])> = decode_postcard("request run", bytes)?;
            for (id, seq, fingerprint) in rows {
                visit(id, seq, Some(fingerprint)).ok_or_else(|| refused(seq))?;
            }
        }
    }
    Ok(())
}

/// One id of a request run: (id, seq, fingerprint when the run holds it).
pub type RequestRow = (crate::id::Id, u64, Option<[u8; 32]>);

/// Decodes a request run.
///
/// # Errors
/// [`DecodeError`] for a wrong version, an undecodable body or an invalid id.
pub fn decode_request_run(bytes: &[u8]) -> Result<Vec<RequestRow>, DecodeError> {
    let mut rows = Vec::new();
    let mut invalid = None;
    visit_request_run(bytes, |id, seq, fingerprint| {
        match crate::id::Id::new(id) {
            Ok(id) => rows.push((id, seq, fingerprint)),
            Err(error) => invalid = invalid.take().or(Some(error.to_string())),
        }
        Some(())
    })?;
    match invalid {
        Some(reason) => Err(corrupt("request run", reason)),
        None => Ok(rows),
    }
}

/// The journal head: `[version][seq u64][hash: 32][at i64]`.
pub fn encode_head(head: &Head) -> [u8; 49] {
    let mut bytes = [0u8; 49];
    bytes[0] = RECORD_VERSION;
    bytes[1..9].copy_from_slice(&head.seq.to_le_bytes());
    bytes[9..41].copy_from_slice(&head.hash);
    bytes[41..49].copy_from_slice(&head.at.millis().to_le_bytes());
    bytes
}

/// Decodes the head.
///
/// # Errors
/// [`DecodeError`] for a wrong version or length.
pub fn decode_head(bytes: &[u8]) -> Result<Head, DecodeError> {
    let rest = body("head", bytes, Some(48))?;
    Ok(Head { seq: u64_at(rest, 0), hash: rest[8..40].try_into().expect("length checked"), at: Timestamp::from_millis(i64_at(rest, 40)) })
}

fn encode_postcard<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = vec![RECORD_VERSION];
    bytes.extend(postcard::to_stdvec(value).expect("postcard encodes to a Vec"));
    bytes
}

fn decode_postcard<'a, T: serde::Deserialize<'a>>(what: &'static str, bytes: &'a [u8]) -> Result<T, DecodeError> {
    exact(postcard::take_from_bytes(body(what, bytes, None)?), what)
}

/// A postcard value that must use every byte: trailing bytes mean a corrupt record.
fn exact<T>(decoded: postcard::Result<(T, &[u8])>, what: &'static str) -> Result<T, DecodeError> {
    match decoded {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(corrupt(what, format!("{} bytes after the record", rest.len()))),
        Err(error) => Err(corrupt(what, error.to_string())),
    }
}

/// A record with its key (party, quota, coupon, order, combined order, bill, withdrawal):
/// `[version][postcard]`.
pub fn encode_record(record: &Record) -> Vec<u8> {
    encode_postcard(record)
}

/// Decodes a record.
///
/// # Errors
/// [`DecodeError`] for a wrong version or an undecodable body.
pub fn decode_record(bytes: &[u8]) -> Result<Record, DecodeError> {
    decode_postcard("record", bytes)
}

/// An adjust run: the seqs of the transactions with adjust records that one history catch-up
/// indexed, in order, `[1][postcard [seq minus the previous one's]]` (format 6; the records are
/// read from the journal). Before it, `adjust_records` held each record with its time.
pub fn encode_adjust_run(seqs: &[u64]) -> Vec<u8> {
    encode_postcard(&steps(seqs.iter().copied()).collect::<Vec<u64>>())
}

/// Each value minus the one before it (the first minus 0): how runs store their seqs.
fn steps(values: impl IntoIterator<Item = u64>) -> impl Iterator<Item = u64> {
    let mut previous = 0_u64;
    values.into_iter().map(move |value| {
        let step = value.wrapping_sub(previous);
        previous = value;
        step
    })
}

/// Decodes an adjust run.
///
/// # Errors
/// [`DecodeError`] for a wrong version, an undecodable body, or seqs that do not go up.
pub fn decode_adjust_run(bytes: &[u8]) -> Result<Vec<u64>, DecodeError> {
    let steps: Vec<u64> = decode_postcard("adjust run", bytes)?;
    let mut seq = 0_u64;
    let mut seqs = Vec::with_capacity(steps.len());
    for step in steps {
        if step == 0 {
            return Err(corrupt("adjust run", format!("seq {seq} repeated or before seq 1")));
        }
        seq = seq.checked_add(step).ok_or_else(|| corrupt("adjust run", format!("seq {seq} plus {step} overflows")))?;
        seqs.push(seq);
    }
    Ok(seqs)
}
