//! Tampering is caught: `head` prints SEQ:HASH and `verify --expect-head SEQ:HASH` fails (non-zero,
//! naming the mismatch) once that history is truncated or rewritten, and `verify` names every edit
//! made to the redb file behind the ledger's back (a balance, a journal record's body or hash, a
//! deleted journal record, a party or order record, a request entry, the posting index, an adjust
//! record, the stored head).
#[path = "common/backends.rs"]
mod backends;

use backends::workload;
use partner_ledger::records::{
    JOURNAL_LEAN_VERSION, account_key, decode_adjust_run, decode_balance, decode_head, decode_journal, decode_posting_block, decode_record,
    decode_request_run, encode_adjust_run, encode_balance, encode_head, encode_journal, encode_posting_block, encode_record,
    encode_request_run, encode_transaction_body, journal_hash,
};
use partner_ledger::tables::{ADJUST_RECORDS, BALANCES, JOURNAL, META, POSTINGS, RECORD_HISTORY, RECORDS, REQUESTS};
use partner_ledger::{Account, Amount, Id, Record, Timestamp};
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CUSTOMERS: usize = 8;
const LINES: usize = 90;

fn partner_ledger(arguments: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_partner-ledger")).args(arguments).output().expect("run partner-ledger");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{arguments:?}: {stderr}");
    output
}

fn path_text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Applies `lines` to `db` through the binary.
fn apply(db: &Path, lines: &[String]) {
    let input = db.with_extension("jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    let output = partner_ledger(&["apply", "--db", path_text(db), path_text(&input)]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = String::from_utf8_lossy(&output.stdout).lines().filter(|line| line.contains(r#""ok":true"#)).count();
    assert!(committed > lines.len() * 9 / 10, "the workload mostly commits");
}

fn head(db: &Path) -> String {
    let output = partner_ledger(&["head", "--db", path_text(db)]);
    assert!(output.status.success());
    let head = String::from_utf8(output.stdout).expect("UTF-8").trim().to_owned();
    let (seq, hash) = head.split_once(':').expect("SEQ:HASH");
    assert!(seq.parse::<u64>().is_ok() && hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()), "{head}");
    head
}

/// Runs verify; returns (passed, its output).
fn verify(db: &Path, extra: &[&str]) -> (bool, String) {
    let mut arguments = vec!["verify", "--db", path_text(db)];
    arguments.extend_from_slice(extra);
    let output = partner_ledger(&arguments);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_ne!(output.status.code(), Some(101), "{text}");
    let passed = output.status.success();
    assert_eq!(passed, text.starts_with("verify: ok"), "the exit status and the message agree: {text}");
    (passed, text)
}

fn verify_fails(db: &Path, extra: &[&str], naming: &[&str]) -> String {
    let (passed, text) = verify(db, extra);
    assert!(!passed, "verify {extra:?} should fail, but: {text}");
    assert!(text.starts_with("verify: FAILED"), "{text}");
    for name in naming {
        assert!(text.contains(name), "the failure should name {name:?}: {text}");
    }
    println!("{}: {}", db.file_name().map(|name| name.to_string_lossy()).unwrap_or_default(), text.trim());
    text
}

/// The damage is named, either by `verify` or, for damage the ledger meets while opening, by
/// the one-line refusal to open (exit 1, never a panic).
fn damage_named(db: &Path, naming: &[&str]) -> String {
    let (passed, text) = verify(db, &[]);
    assert!(!passed, "verify should fail, but: {text}");
    let refused = text.starts_with("partner-ledger: ") && text.trim_end().lines().count() == 1;
    assert!(text.starts_with("verify: FAILED") || refused, "{text}");
    for name in naming {
        assert!(text.contains(name), "the failure should name {name:?}: {text}");
    }
    println!("{}: {}", db.file_name().map(|name| name.to_string_lossy()).unwrap_or_default(), text.trim());
    text
}

/// A ledger of the whole workload, and a copy of it as it was after `cut` lines.
fn books(dir: &Path, cut: usize) -> (PathBuf, PathBuf) {
    let lines = workload(CUSTOMERS, LINES);
    let db = dir.join("books.redb");
    apply(&db, &lines[..cut]);
    let early = dir.join("books-early.redb");
    std::fs::copy(&db, &early).expect("copy");
    apply(&db, &lines[cut..]);
    (db, early)
}

#[test]
fn expect_head_passes_on_the_same_or_a_longer_history_and_fails_on_a_truncated_or_rewritten_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, early) = books(dir.path(), 50);
    let (head_now, head_early) = (head(&db), head(&early));
    assert_ne!(head_now, head_early);
    // The right head passes, and so does an earlier one: appending is not rewriting.
    let (passed, text) = verify(&db, &["--expect-head", &head_now]);
    assert!(passed && text.contains("is the head"), "{text}");
    let (passed, text) = verify(&db, &["--expect-head", &head_early]);
    assert!(passed && text.contains("appended since"), "{text}");
    // Truncated: the file restored from the early copy is consistent on its own, but it lost
    // the history that the kept head names.
    assert!(verify(&early, &[]).0, "the early copy is a consistent ledger");
    verify_fails(&early, &["--expect-head", &head_now], &["truncated", &head_now, "ends at seq"]);
    // Rewritten: the same workload with one early amount changed, built afresh. A consistent
    // ledger, every hash chaining, yet not the history the heads name.
    let mut lines = workload(CUSTOMERS, LINES);
    let changed = lines.iter().position(|line| line.contains(r#""op":"recharge""#)).expect("a recharge");
    lines[changed] = lines[changed].replace(r#""amount":"500000""#, r#""amount":"500001""#);
    assert!(lines[changed].contains("500001"));
    let forged = dir.path().join("forged.redb");
    apply(&forged, &lines);
    assert!(verify(&forged, &[]).0, "the forged ledger is consistent on its own");
    let seq_early = head_early.split(':').next().expect("seq");
    verify_fails(&forged, &["--expect-head", &head_now], &["rewritten", &head_now]);
    verify_fails(&forged, &["--expect-head", &head_early], &["rewritten", &format!("seq {seq_early} has hash")]);
    // A bad digest is refused by the argument parser, with a usage error (exit 2).
    for bad in ["12", "x:00", "3:abc", &format!("3:{}", "g".repeat(64))] {
        let output = partner_ledger(&["verify", "--db", path_text(&db), "--expect-head", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("SEQ:HASH"), "{bad}");
    }
}

/// A copy of `base` edited in one redb write transaction, as someone with the file could.
fn tampered(base: &Path, name: &str, edit: impl FnOnce(&WriteTransaction)) -> PathBuf {
    let copy = base.with_file_name(format!("{name}.redb"));
    std::fs::copy(base, &copy).expect("copy");
    let database = Database::open(&copy).expect("open with redb");
    let txn = database.begin_write().expect("write");
    edit(&txn);
    txn.commit().expect("commit");
    copy
}

/// The journal record of `seq`, decoded: (stored hash, transaction).
fn journal_record(txn: &WriteTransaction, seq: u64) -> ([u8; 32], partner_ledger::Transaction) {
    let journal = txn.open_table(JOURNAL).expect("journal");
    let value = journal.get(seq).expect("read").expect("seq exists");
    let prev = journal_hash(journal.get(seq - 1).expect("read").expect("the seq before exists").value()).expect("a hash");
    let record = decode_journal(seq, value.value(), &prev).expect("decode");
    (record.hash, record.transaction)
}

/// The first entry of a table of runs (request runs, adjust runs): its key and bytes.
fn first_run(txn: &WriteTransaction, table: TableDefinition<u64, &[u8]>) -> (u64, Vec<u8>) {
    let runs = txn.open_table(table).expect("runs");
    let (key, value) = runs.first().expect("read").expect("a run");
    (key.value(), value.value().to_vec())
}

/// Writes `bytes` under `key` in a table of runs.
fn put(txn: &WriteTransaction, table: TableDefinition<u64, &[u8]>, key: u64, bytes: &[u8]) {
    txn.open_table(table).expect("runs").insert(key, bytes).expect("write");
}

/// The journal head's seq: its last record's.
fn last_seq(txn: &WriteTransaction) -> u64 {
    let journal = txn.open_table(JOURNAL).expect("journal");
    let last = journal.last().expect("read").expect("a record");
    last.0.value()
}

#[test]
fn verify_names_each_edit_made_behind_the_ledgers_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (base, _) = books(dir.path(), 10);
    assert!(verify(&base, &[]).0);

    let file = tampered(&base, "balance", |txn| {
        let mut balances = txn.open_table(BALANCES).expect("balances");
        let key = account_key(&Account::parse("customer:C0000:allocated").expect("an account"));
        let balance =
            decode_balance(balances.get(key.as_slice()).expect("read").expect("C0000 has allocated funds").value()).expect("decode");
        balances.insert(key.as_slice(), encode_balance(Amount::from_minor(balance.minor() + 1)).as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["balance of customer:C0000:allocated"]);

    let file = tampered(&base, "extra-balance", |txn| {
        txn.open_table(BALANCES)
            .expect("balances")
            .insert(
                account_key(&Account::parse("customer:C0001:credit").expect("an account")).as_slice(),
                encode_balance(Amount::from_minor(-5)).as_slice(),
            )
            .expect("write");
    });
    verify_fails(&file, &[], &["customer:C0001:credit"]);

    // The body of seq 3 changes (one millisecond later), its stored hash does not.
    let file = tampered(&base, "journal-body", |txn| {
        let (hash, mut transaction) = journal_record(txn, 3);
        transaction.at = Timestamp::from_millis(transaction.at.millis() + 1);
        let body = encode_transaction_body(&transaction);
        txn.open_table(JOURNAL).expect("journal").insert(3, encode_journal(&hash, &body).as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["seq 3", "hash", "does not match its content"]);

    // The forger recomputes the hash of seq 3, and keeps its body consistent with a replay (seq 3
    // registers a partner, whose registration time is the transaction's): now seq 4 no longer
    // chains to it.
    let file = tampered(&base, "journal-rehashed", |txn| {
        let (_, mut transaction) = journal_record(txn, 3);
        let later = Timestamp::from_millis(transaction.at.millis() + 1);
        for record in &mut transaction.effects.records {
            if let Record::Party(_, party) = record {
                assert_eq!(party.registered_at, transaction.at, "seq 3 registers a party");
                party.registered_at = later;
            }
        }
        transaction.at = later;
        let body = encode_transaction_body(&transaction);
        let hash: [u8; 32] = Sha256::digest(&body).into();
        txn.open_table(JOURNAL).expect("journal").insert(3, encode_journal(&hash, &body).as_slice()).expect("write");
    });
    // Seq 4 is stored lean: its previous hash is seq 3's stored hash, so its own stored hash no
    // longer matches its content chained to it.
    verify_fails(&file, &[], &["seq 4", "does not match its content", "previous hash"]);

    // A lean record (this build writes them) changes: its at-given flag flips, so the fingerprint
    // its body is read with, and hence its hash, differ.
    let file = tampered(&base, "journal-lean-flag", |txn| {
        let mut journal = txn.open_table(JOURNAL).expect("journal");
        let mut bytes = journal.get(5).expect("read").expect("seq 5").value().to_vec();
        assert_eq!(bytes[0], JOURNAL_LEAN_VERSION, "this build stores records lean");
        bytes[33] ^= 1;
        journal.insert(5, bytes.as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["seq 5", "does not match its content"]);

    // A lean record does not store its seq (format 7): copied over the next one, it reads as
    // that seq, whose body (its seq included) no longer hashes to the stored hash.
    let file = tampered(&base, "journal-moved", |txn| {
        let mut journal = txn.open_table(JOURNAL).expect("journal");
        let bytes = journal.get(5).expect("read").expect("seq 5").value().to_vec();
        assert_eq!(bytes[33] & 8, 8, "this build leaves the seq out");
        journal.insert(6, bytes.as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["seq 6", "does not match its content"]);

    let file = tampered(&base, "journal-deleted", |txn| {
        txn.open_table(JOURNAL).expect("journal").remove(3).expect("delete");
    });
    verify_fails(&file, &[], &["seq 4", "follows seq 2", "gap"]);

    let file = tampered(&base, "journal-last-deleted", |txn| {
        let last = last_seq(txn);
        txn.open_table(JOURNAL).expect("journal").remove(last).expect("delete");
    });
    // The state tables were checkpointed up to the deleted record: the file is refused.
    damage_named(&file, &["journal ends at seq", "checkpointed at seq"]);

    let file = tampered(&base, "checkpoint", |txn| {
        let mut meta = txn.open_table(META).expect("meta");
        let mut head = decode_head(meta.get("checkpoint").expect("read").expect("checkpoint").value()).expect("decode");
        head.hash[0] ^= 1;
        meta.insert("checkpoint", encode_head(&head).as_slice()).expect("write");
    });
    damage_named(&file, &["head"]);

    // A paid order becomes unpaid-looking: its amount changes.
    let file = tampered(&base, "order", |txn| {
        let mut records = txn.open_table(RECORDS).expect("records");
        let mut record = decode_record(records.get("order:O00001").expect("read").expect("order O00001").value()).expect("decode");
        let Record::Order(_, order) = &mut record else { panic!("order:O00001 is an order") };
        order.amount = Amount::from_minor(order.amount.minor() + 100);
        records.insert("order:O00001", encode_record(&record).as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["record order:O00001"]);

    let file = tampered(&base, "record-deleted", |txn| {
        txn.open_table(RECORDS).expect("records").remove("customer:C0002").expect("delete");
    });
    verify_fails(&file, &[], &["customer:C0002"]);

    let file = tampered(&base, "request", |txn| {
        let (key, bytes) = first_run(txn, REQUESTS);
        let mut entries = decode_request_run(&bytes).expect("decode");
        let (_, seq, _) = entries.iter_mut().find(|(id, _, _)| id.as_str() == "w00003").expect("w00003 in the first run");
        *seq += 1;
        let borrowed: Vec<(&Id, u64)> = entries.iter().map(|(id, seq, _)| (id, *seq)).collect();
        put(txn, REQUESTS, key, &encode_request_run(&borrowed));
    });
    // Two ids of the runs now name one seq.
    verify_fails(&file, &[], &["request run", "w00003", "w00004", "seq 5"]);

    // An id moved to a seq another id's run does not name: the journal record there holds
    // another id.
    let file = tampered(&base, "request-moved", |txn| {
        let (key, bytes) = first_run(txn, REQUESTS);
        let mut entries = decode_request_run(&bytes).expect("decode");
        let at = entries.iter().position(|(id, _, _)| id.as_str() == "w00003").expect("w00003 in the first run");
        let (_, seq, _) = entries.remove(at + 1);
        entries[at].1 = seq;
        let borrowed: Vec<(&Id, u64)> = entries.iter().map(|(id, seq, _)| (id, *seq)).collect();
        put(txn, REQUESTS, key, &encode_request_run(&borrowed));
    });
    verify_fails(&file, &[], &["request run", "w00003", "the journal holds"]);

    // One posting's amount in a block changes: its balance after, and every later one's, no
    // longer match the replay.
    let file = tampered(&base, "posting", |txn| {
        let mut postings = txn.open_table(POSTINGS).expect("posting blocks");
        let allocated = account_key(&Account::parse("customer:C0000:allocated").expect("an account"));
        let ((account, first_seq), bytes) = {
            let mut range = postings.range((allocated.as_slice(), 0u64)..).expect("range");
            let (key, value) = range.next().expect("a block of C0000").expect("read");
            let (account, first_seq) = key.value();
            ((account.to_vec(), first_seq), value.value().to_vec())
        };
        assert_eq!(account, allocated);
        let mut block = decode_posting_block(first_seq, &bytes).expect("decode");
        block[0].amount = Amount::from_minor(block[0].amount.minor() + 1);
        block[0].after = Amount::from_minor(block[0].after.minor() + 1);
        postings.insert((account.as_slice(), first_seq), encode_posting_block(&block).as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["posting index"]);

    // An adjust run loses a seq: that transaction's adjust record is no longer listed.
    let file = tampered(&base, "adjust", |txn| {
        let (key, bytes) = first_run(txn, ADJUST_RECORDS);
        let mut seqs = decode_adjust_run(&bytes).expect("decode");
        seqs.remove(seqs.len() / 2);
        put(txn, ADJUST_RECORDS, key, &encode_adjust_run(&seqs));
    });
    verify_fails(&file, &[], &["adjust records"]);

    // An adjust run names a transaction without adjust records (seq 1 registers a partner).
    let file = tampered(&base, "adjust-extra", |txn| {
        let (key, bytes) = first_run(txn, ADJUST_RECORDS);
        let mut seqs = decode_adjust_run(&bytes).expect("decode");
        assert!(seqs[0] > 1);
        seqs.insert(0, 1);
        put(txn, ADJUST_RECORDS, key, &encode_adjust_run(&seqs));
    });
    verify_fails(&file, &[], &["adjust run", "seq 1", "no adjust record"]);
}

/// `record_history` answers `balance` with `as_of` (quotas, coupons) and order history; verify
/// should compare it with the replay like every other stored row.
#[test]
fn verify_names_an_edit_of_the_record_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (base, _) = books(dir.path(), 10);
    let file = tampered(&base, "history", |txn| {
        let mut history = txn.open_table(RECORD_HISTORY).expect("record history");
        let (key, bytes) = {
            let mut range = history.range(("order:O00001", 0u64)..).expect("range");
            let (key, value) = range.next().expect("a history row").expect("read");
            ((key.value().0.to_owned(), key.value().1), value.value().to_vec())
        };
        let mut record = decode_record(&bytes).expect("decode");
        let Record::Order(_, order) = &mut record else { panic!("an order") };
        order.amount = Amount::from_minor(order.amount.minor() + 100);
        history.insert((key.0.as_str(), key.1), encode_record(&record).as_slice()).expect("write");
    });
    verify_fails(&file, &[], &["order:O00001"]);
}
