//! Arbitrary bytes as a request line: decoding never panics, and whatever decodes runs against
//! one ledger per process without panicking and answers with `ok: true` or an error `code`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_ledger::{Ledger, Response, decode_line};
use std::sync::LazyLock;

/// Registers a small cast with money, so fuzzed commands reach the business rules instead of
/// stopping at `access_denied` for an unregistered actor.
const CAST: &[&str] = &[
    r#"{"op":"register_partner","id":"cast-1","actor":"platform","partner":"D1","kind":"distributor"}"#,
    r#"{"op":"register_partner","id":"cast-2","actor":"platform","partner":"R1","kind":"reseller","parent":"D1"}"#,
    r#"{"op":"register_partner","id":"cast-3","actor":"platform","partner":"P1","kind":"solution_provider"}"#,
    r#"{"op":"register_customer","id":"cast-4","actor":"partner:D1","customer":"C1","partner":"D1"}"#,
    r#"{"op":"register_customer","id":"cast-5","actor":"partner:P1","customer":"C2","partner":"P1","association":"referral"}"#,
    r#"{"op":"register_customer","id":"cast-6","actor":"platform","customer":"C3"}"#,
    r#"{"op":"recharge","id":"cast-7","actor":"platform","party":"partner:D1","amount":"1000000"}"#,
    r#"{"op":"recharge","id":"cast-8","actor":"platform","party":"partner:P1","amount":"1000000"}"#,
];

/// One ledger for the whole run, so later inputs meet the parties and balances earlier ones made.
/// Its directory is removed right after opening: the open file lives on until the process exits,
/// so no run leaves files behind (statics are never dropped). `/dev/shm` keeps the per-commit
/// sync in memory when it exists.
static LEDGER: LazyLock<Ledger> = LazyLock::new(|| {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("temporary directory");
    let ledger = Ledger::open(dir.path().join("fuzz.redb")).expect("open the fuzz ledger");
    for line in CAST {
        let response = ledger.execute_line(line);
        assert!(response.is_ok(), "cast: {}", response.to_line());
    }
    drop(dir);
    ledger
});

fuzz_target!(|data: &[u8]| {
    // Valid UTF-8 goes through unchanged; anything else reaches the decoder with U+FFFD in place
    // of the bad bytes, which is what a caller reading lines lossily would pass.
    let line = String::from_utf8_lossy(data);
    let decoded = decode_line(&line);
    assert_eq!(decoded, decode_line(&line), "decoding is deterministic");
    match decoded {
        Ok(_) => check_response(&LEDGER.execute_line(&line)),
        Err(error) => {
            let response = Response::Failed { id: error.id, rejection: error.rejection };
            check_response(&response);
        }
    }
});

/// Every response is `ok: true`, or `ok: false` with a non-empty error `code`, and its line is
/// valid JSON.
fn check_response(response: &Response) {
    let json = response.to_json();
    match json["ok"].as_bool() {
        Some(true) => assert!(response.is_ok(), "ok without success: {json}"),
        Some(false) => {
            let code = json["error"]["code"].as_str().unwrap_or_default();
            assert!(!code.is_empty(), "a failure without an error code: {json}");
            assert!(response.rejection().is_some(), "a failure without a rejection: {json}");
        }
        None => panic!("a response without a boolean ok: {json}"),
    }
    let reparsed: serde_json::Value = serde_json::from_str(&response.to_line()).expect("a response line is JSON");
    assert_eq!(reparsed, json, "a response line reads back as its JSON");
}
