//! Hostile input (SPEC 2, 6, 7; docs/decisions.md "Protocol"): oversized lines, deep nesting,
//! non-finite and huge numbers, control characters, invalid UTF-8, non-ASCII ids, blank lines,
//! CRLF, non-object JSON, duplicate keys, long and many fields, oversized atomic groups.
//!
//! Every line goes through the library (`Ledger::execute_line`, and `execute_lines` as one batch)
//! and through the binary (`partner-ledger apply --db FILE`, fed on standard input). Each
//! non-blank line must be answered with exactly one line, in order, carrying the expected error
//! (never a crash: exit 0, no panic on stderr); blank lines are skipped by `apply` (decisions).
//! Afterwards `verify` passes and every balance, statement and record equals what it was before.
mod common;
use common::{Fixture, ManualClock};
use partner_ledger::Ledger;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const MIB: usize = 1 << 20;

/// What a hostile line must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// An error line with this code.
    Code(&'static str),
    /// A successful query (a harmless line that proves the parsing, e.g. with CRLF).
    Query,
    /// Not UTF-8: `apply` answers `invalid_request`; the library (which takes `&str`) sees the
    /// lossy text and must refuse it with some error.
    NotUtf8,
    /// Blank: `apply` skips it without an answer; the library refuses it.
    Blank,
}
use Expect::{Blank, Code, NotUtf8, Query};

struct Hostile {
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Hostile {
    Hostile { name: name.into(), bytes: bytes.into(), expect }
}

/// A recharge by the platform that would succeed with a valid amount: D2 has 10000.00.
fn recharge_with(id: &str, amount: &str) -> String {
    format!(r#"{{"op":"recharge","id":"{id}","actor":"platform","party":"partner:D2","amount":{amount}}}"#)
}

fn consume_with(id: &str, amount: &str) -> String {
    format!(r#"{{"op":"consume","id":"{id}","actor":"platform","customer":"C4","amount":{amount}}}"#)
}

/// Recharges of 1.00 each: a valid group member.
fn member() -> Value {
    json!({"op": "recharge", "party": "partner:D2", "amount": "1"})
}

fn atomic(id: &str, commands: Vec<Value>) -> String {
    json!({"op": "atomic", "id": id, "actor": "platform", "commands": commands}).to_string()
}

/// The hostile lines, except duplicate keys (see `duplicate_key_lines`).
fn hostile_lines() -> Vec<Hostile> {
    let mut lines = Vec::new();

    // ---- oversized lines (decisions: at most 1 MiB) ----
    let padding = " ".repeat(MIB);
    lines.push(case("valid recharge padded past 1 MiB", format!("{}{padding}", recharge_with("big-1", r#""1""#)), Code("invalid_request")));
    let memo = "x".repeat(MIB + 10);
    let long_memo = format!(r#"{{"op":"allocate","id":"big-2","actor":"partner:D1","to":"customer:C1","amount":"1","memo":"{memo}"}}"#);
    lines.push(case("allocate with a memo past 1 MiB", long_memo, Code("invalid_request")));
    lines.push(case("2 MiB of letters", "a".repeat(2 * MIB), Code("invalid_request")));
    let long_id = "I".repeat(MIB - 200);
    lines.push(case(
        "request id just under 1 MiB",
        format!(r#"{{"op":"recharge","id":"{long_id}","actor":"platform","party":"partner:D2","amount":"1"}}"#),
        Code("invalid_id"),
    ));
    let under = format!(
        r#"{{"op":"allocate","id":"big-3","actor":"partner:D1","to":"customer:C1","amount":"1","memo":"{}"}}"#,
        "m".repeat(MIB - 200)
    );
    lines.push(case("memo just under 1 MiB (over 256 characters)", under, Code("invalid_request")));

    // ---- deep nesting ----
    lines.push(case("10,000 [", "[".repeat(10_000), Code("invalid_request")));
    lines.push(case("10,000 balanced [ ]", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)), Code("invalid_request")));
    lines.push(case("10,000 nested objects", format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)), Code("invalid_request")));
    let nested_field =
        format!(r#"{{"op":"balance","actor":"platform","party":"platform","x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    lines.push(case("query with a 10,000-deep field", nested_field, Code("invalid_request")));
    let nested_amount = recharge_with("deep-1", &format!("{}\"1\"{}", "[".repeat(5_000), "]".repeat(5_000)));
    lines.push(case("amount nested 5,000 deep", nested_amount, Code("invalid_request")));
    let nested_group =
        format!(r#"{{"op":"atomic","id":"deep-2","actor":"platform","commands":[{}{}]}}"#, "[".repeat(3_000), "]".repeat(3_000));
    lines.push(case("atomic commands nested 3,000 deep", nested_group, Code("invalid_request")));

    // ---- non-finite, huge and signed numbers in amounts ----
    for (name, amount, code) in [
        ("amount NaN", "NaN", "invalid_request"),
        ("amount Infinity", "Infinity", "invalid_request"),
        ("amount -Infinity", "-Infinity", "invalid_request"),
        ("amount 1e999", "1e999", "invalid_request"),
        ("amount -1e999", "-1e999", "invalid_request"),
        ("amount 1e308 (a number)", "1e308", "invalid_amount"),
        ("amount huge integer", "123456789012345678901234567890123456789012345678901234567890", "invalid_amount"),
        ("amount -0", "-0", "invalid_amount"),
        ("amount 0", "0", "invalid_amount"),
        ("amount 100 (a number)", "100", "invalid_amount"),
        ("amount 1.5 (a number)", "1.5", "invalid_amount"),
        ("amount \"NaN\"", r#""NaN""#, "invalid_amount"),
        ("amount \"Infinity\"", r#""Infinity""#, "invalid_amount"),
        ("amount \"inf\"", r#""inf""#, "invalid_amount"),
        ("amount \"1e999\"", r#""1e999""#, "invalid_amount"),
        ("amount \"1E2\"", r#""1E2""#, "invalid_amount"),
        ("amount \"-0\"", r#""-0""#, "invalid_amount"),
        ("amount \"-1\"", r#""-1""#, "invalid_amount"),
        ("amount \"+1\"", r#""+1""#, "invalid_amount"),
        ("amount \"0.00\"", r#""0.00""#, "invalid_amount"),
        ("amount \"0.001\"", r#""0.001""#, "invalid_amount"),
        ("amount \"1000000000000\"", r#""1000000000000""#, "invalid_amount"),
        ("amount \"999999999999.999\"", r#""999999999999.999""#, "invalid_amount"),
        ("amount 1,000 nines", &format!("\"{}\"", "9".repeat(1_000)), "invalid_amount"),
        ("amount with 100,000 leading zeros and 3 decimals", &format!("\"{}1.001\"", "0".repeat(100_000)), "invalid_amount"),
        ("amount \"0x10\"", r#""0x10""#, "invalid_amount"),
        ("amount \" 1\"", r#"" 1""#, "invalid_amount"),
        ("amount \"1\\u0000\"", r#""1\u0000""#, "invalid_amount"),
        ("amount \"\"", r#""""#, "invalid_amount"),
        ("amount full-width \"１００\"", r#""１００""#, "invalid_amount"),
        ("amount Arabic-Indic \"١٠٠\"", r#""١٠٠""#, "invalid_amount"),
        ("amount true", "true", "invalid_amount"),
        ("amount object", r#"{"$gt":0}"#, "invalid_amount"),
        ("amount array", r#"["1"]"#, "invalid_amount"),
        ("amount null (absent)", "null", "invalid_request"),
    ] {
        lines.push(case(name, recharge_with("num", amount), Code(code)));
    }
    for (name, amount, code) in [
        ("usage NaN", "NaN", "invalid_request"),
        ("usage 1e999", "1e999", "invalid_request"),
        ("usage -0", "-0", "invalid_amount"),
        ("usage \"0.00999999\"", r#""0.00999999""#, "invalid_amount"),
        ("usage \"0.000000001\"", r#""0.000000001""#, "invalid_amount"),
        ("usage \"1.123456789\"", r#""1.123456789""#, "invalid_amount"),
        ("usage \"1e-8\"", r#""1e-8""#, "invalid_amount"),
        ("usage \"-0.5\"", r#""-0.5""#, "invalid_amount"),
        ("usage \"1000000000000\"", r#""1000000000000""#, "invalid_amount"),
    ] {
        lines.push(case(name, consume_with("use", amount), Code(code)));
    }
    let credit = |limit: &str| format!(r#"{{"op":"set_credit_limit","id":"lim","actor":"platform","party":"partner:D2","limit":{limit}}}"#);
    lines.push(case("credit limit \"-0\"", credit(r#""-0""#), Code("invalid_amount")));
    lines.push(case("credit limit NaN", credit("NaN"), Code("invalid_request")));
    lines.push(case("credit limit -1e999", credit("-1e999"), Code("invalid_request")));

    // ---- non-finite, huge and signed numbers in other fields ----
    let page = |field: &str, value: &str| format!(r#"{{"op":"statement","actor":"platform","party":"partner:D1","{field}":{value}}}"#);
    for (field, value) in [
        ("offset", "NaN"),
        ("offset", "1e999"),
        ("offset", "-1"),
        ("offset", "18446744073709551616"),
        ("offset", "123456789012345678901234567890"),
        ("offset", "1.5"),
        ("offset", "\"0\""),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "-0"),
        ("limit", "Infinity"),
        ("limit", "18446744073709551615"),
        ("limit", "1e2"),
        ("limit", "true"),
    ] {
        lines.push(case(format!("{field} {value}"), page(field, value), Code("invalid_request")));
    }
    let with_at = |at: &str| format!(r#"{{"op":"recharge","id":"at","actor":"platform","party":"partner:D2","amount":"1","at":{at}}}"#);
    for at in [
        "1e999",
        "NaN",
        "1767225600",
        r#""2026-01-01T00:00:00.0000000001Z""#,
        r#""2026-13-01T00:00:00Z""#,
        r#""2026-02-30T00:00:00Z""#,
        r#""2026-12-31T23:59:60Z""#,
        r#""0000-01-01T00:00:00Z""#,
        r#""1969-12-31T23:59:59Z""#,
        r#""+275760-09-13T00:00:00Z""#,
        r#""２０２６-01-01T00:00:00Z""#,
        r#""2026-01-01T00:00:00+99:99""#,
        r#""2026-01-01T00:00:00+-1:00""#,
        r#""2026-01-01T00:00:00Z\u0000""#,
        r#""2026-01-01""#,
        r#""""#,
    ] {
        lines.push(case(format!("at {at}"), with_at(at), Code("invalid_request")));
    }
    lines.push(case(
        "id 1e999",
        r#"{"op":"recharge","id":1e999,"actor":"platform","party":"partner:D2","amount":"1"}"#,
        Code("invalid_request"),
    ));
    lines.push(case("id -0", r#"{"op":"recharge","id":-0,"actor":"platform","party":"partner:D2","amount":"1"}"#, Code("invalid_request")));
    lines.push(case(
        "cycle 9999999999-01",
        r#"{"op":"bills","actor":"platform","party":"partner:D1","cycle":"9999999999-01"}"#,
        Code("invalid_request"),
    ));
    lines.push(case(
        "cycle with a full-width month",
        r#"{"op":"bills","actor":"platform","party":"partner:D1","cycle":"2026-０１"}"#,
        Code("invalid_request"),
    ));
    lines.push(case(
        "cycle 2026-1é",
        r#"{"op":"bills","actor":"platform","party":"partner:D1","cycle":"2026-1é"}"#,
        Code("invalid_request"),
    ));

    // ---- control characters and NUL ----
    lines.push(case("a lone NUL byte", b"\0".to_vec(), Code("invalid_request")));
    lines.push(case("NUL bytes around a request", format!("\0{}\0", recharge_with("nul-1", r#""1""#)), Code("invalid_request")));
    let mut raw_nul = recharge_with("nul-2", r#""1""#).into_bytes();
    let at = raw_nul.iter().position(|b| *b == b'D').expect("D2");
    raw_nul.insert(at, 0);
    lines.push(case("raw NUL inside a party string", raw_nul, Code("invalid_request")));
    lines.push(case("raw ESC inside a string", recharge_with("esc\u{1b}[2J", r#""1""#), Code("invalid_request")));
    lines.push(case(
        "raw BEL, BS, VT, DEL outside strings",
        format!("\u{7}\u{8}\u{b}\u{7f}{}", recharge_with("ctl", r#""1""#)),
        Code("invalid_request"),
    ));
    lines.push(case("a vertical tab alone", "\u{b}", Code("invalid_request")));
    lines.push(case(
        "escaped NUL in the party id",
        r#"{"op":"recharge","id":"ctl-1","actor":"platform","party":"partner:D2\u0000","amount":"1"}"#,
        Code("invalid_id"),
    ));
    lines.push(case(
        "escaped NUL in the request id",
        r#"{"op":"recharge","id":"ctl\u0000","actor":"platform","party":"partner:D2","amount":"1"}"#,
        Code("invalid_id"),
    ));
    lines.push(case(
        "escaped ESC in the actor",
        r#"{"op":"recharge","id":"ctl-2","actor":"platform\u001b","party":"partner:D2","amount":"1"}"#,
        Code("invalid_id"),
    ));
    lines.push(case(
        "escaped NUL in the op",
        r#"{"op":"recharge\u0000","id":"ctl-3","actor":"platform","party":"partner:D2","amount":"1"}"#,
        Code("invalid_request"),
    ));
    lines.push(case(
        "DEL in the customer id",
        "{\"op\":\"consume\",\"id\":\"ctl-4\",\"actor\":\"platform\",\"customer\":\"C4\u{7f}\",\"amount\":\"1\"}",
        Code("invalid_id"),
    ));
    lines.push(case(
        "escaped newline in an id",
        r#"{"op":"recharge","id":"ctl-5\n{\"op\":\"recharge\"}","actor":"platform","party":"partner:D2","amount":"1"}"#,
        Code("invalid_id"),
    ));
    lines.push(case(
        "control characters in a memo of an overspending allocation",
        r#"{"op":"allocate","id":"ctl-6","actor":"partner:D1","to":"customer:C1","amount":"99999","memo":"\u0000\u0007\u001b[31m\r\u2028\u2029"}"#,
        Code("insufficient_funds"),
    ));
    lines.push(case(
        "control characters in a reason of an unknown withdrawal",
        r#"{"op":"reject_withdrawal","id":"ctl-7","actor":"platform","withdrawal":"W404","reason":"\u0000\u0008"}"#,
        Code("not_found"),
    ));
    lines.push(case(
        "lone surrogate escape",
        r#"{"op":"recharge","id":"sur-1","actor":"platform","party":"partner:\ud800","amount":"1"}"#,
        Code("invalid_request"),
    ));
    lines.push(case("byte order mark before the object", format!("\u{feff}{}", recharge_with("bom", r#""1""#)), Code("invalid_request")));

    // ---- invalid UTF-8 ----
    lines.push(case("0xFF 0xFE", vec![0xff, 0xfe], NotUtf8));
    let mut inside = br#"{"op":"recharge","id":"utf-1","actor":"platform","party":"partner:D2"#.to_vec();
    inside.extend_from_slice(&[0xff]);
    inside.extend_from_slice(br#"","amount":"1"}"#);
    lines.push(case("0xFF inside a valid recharge's party", inside, NotUtf8));
    let mut overlong = br#"{"op":"recharge","id":"utf-2","actor":"platform","party":"partner:D2","amount":"1"#.to_vec();
    overlong.extend_from_slice(&[0xc0, 0xae]);
    overlong.extend_from_slice(br#""}"#);
    lines.push(case("overlong encoding of '.' in an amount", overlong, NotUtf8));
    let mut surrogate = br#"{"op":"recharge","id":"utf-3","actor":"platform","party":"partner:"#.to_vec();
    surrogate.extend_from_slice(&[0xed, 0xa0, 0x80]);
    surrogate.extend_from_slice(br#"","amount":"1"}"#);
    lines.push(case("UTF-8-encoded surrogate", surrogate, NotUtf8));
    let mut truncated = recharge_with("utf-4", r#""1""#).into_bytes();
    truncated.extend_from_slice(&[0xe4, 0xb8]);
    lines.push(case("truncated multi-byte sequence at the end", truncated, NotUtf8));
    lines.push(case(
        "Latin-1 é",
        b"{\"op\":\"recharge\",\"id\":\"caf\xe9\",\"actor\":\"platform\",\"party\":\"partner:D2\",\"amount\":\"1\"}".to_vec(),
        NotUtf8,
    ));

    // ---- non-ASCII ids: never normalised to a valid id ----
    for (name, party) in [
        ("Chinese partner id", "partner:分销商"),
        ("emoji partner id", "partner:😀"),
        ("emoji with ZWJ", "partner:👩\u{200d}💻"),
        ("combining acute on D2", "partner:D2\u{301}"),
        ("RTL mark before D2", "partner:\u{200f}D2"),
        ("LTR mark after D2", "partner:D2\u{200e}"),
        ("RTL override", "partner:\u{202e}2D"),
        ("zero-width space", "partner:D\u{200b}2"),
        ("full-width D2", "partner:Ｄ２"),
        ("full-width digit", "partner:D２"),
        ("Cyrillic homoglyph", "partner:Д2"),
        ("non-breaking space", "partner:D2\u{a0}"),
        ("full-width colon", "partner：D2"),
        ("ideographic space", "partner:\u{3000}D2"),
        ("32 two-byte letters (64 bytes)", &format!("partner:{}", "é".repeat(32))),
    ] {
        let line = json!({"op": "recharge", "id": "uni", "actor": "platform", "party": party, "amount": "1"}).to_string();
        lines.push(case(name, line, Code("invalid_id")));
    }
    for (name, line, code) in [
        (
            "Chinese request id",
            json!({"op": "recharge", "id": "请求-1", "actor": "platform", "party": "partner:D2", "amount": "1"}),
            "invalid_id",
        ),
        ("Chinese customer id", json!({"op": "register_customer", "id": "u1", "actor": "platform", "customer": "顾客"}), "invalid_id"),
        (
            "emoji customer in consume",
            json!({"op": "consume", "id": "u2", "actor": "platform", "customer": "🙂", "amount": "1"}),
            "invalid_id",
        ),
        (
            "full-width platform actor",
            json!({"op": "recharge", "id": "u3", "actor": "ｐｌａｔｆｏｒｍ", "party": "partner:D2", "amount": "1"}),
            "invalid_id",
        ),
        (
            "full-width op",
            json!({"op": "ｒｅｃｈａｒｇｅ", "id": "u4", "actor": "platform", "party": "partner:D2", "amount": "1"}),
            "invalid_request",
        ),
        (
            "RTL mark in the op",
            json!({"op": "recharge\u{200f}", "id": "u5", "actor": "platform", "party": "partner:D2", "amount": "1"}),
            "invalid_request",
        ),
        (
            "Chinese order id",
            json!({"op": "place_order", "id": "u6", "actor": "platform", "order": "订单", "customer": "C4", "amount": "1", "kind": "new"}),
            "invalid_id",
        ),
        (
            "combining mark in a quota id",
            json!({"op": "reclaim_quota", "id": "u7", "actor": "platform", "quota": "Q\u{301}"}),
            "invalid_id",
        ),
        (
            "emoji partner field",
            json!({"op": "register_partner", "id": "u8", "actor": "platform", "partner": "🦀", "kind": "distributor"}),
            "invalid_id",
        ),
        (
            "full-width digits in allocate to",
            json!({"op": "allocate", "id": "u9", "actor": "partner:D1", "to": "customer:Ｃ１", "amount": "1"}),
            "invalid_id",
        ),
        (
            "Chinese coupon id in pay_order",
            json!({"op": "pay_order", "id": "u10", "actor": "customer:C1", "order": "O1", "coupons": ["券"]}),
            "invalid_id",
        ),
        ("Chinese party in a query", json!({"op": "balance", "actor": "platform", "party": "customer:客户"}), "invalid_id"),
        ("Chinese query id", json!({"op": "balance", "id": "查询", "actor": "platform", "party": "platform"}), "invalid_id"),
        (
            "non-ASCII field name",
            json!({"op": "balance", "actor": "platform", "party": "platform", "ｐａｒｔｙ": "platform"}),
            "invalid_request",
        ),
        (
            "Chinese association",
            json!({"op": "associate", "id": "u11", "actor": "platform", "customer": "C4", "partner": "D1", "association": "代售"}),
            "invalid_request",
        ),
    ] {
        lines.push(case(name, line.to_string(), Code(code)));
    }

    // ---- blank lines (decisions: skipped by apply) ----
    for (name, bytes) in
        [("empty line", ""), ("spaces", "    "), ("tabs", "\t\t"), ("lone CR (CRLF blank line)", "\r"), ("spaces, tab and CRs", " \t \r\r")]
    {
        lines.push(case(name, bytes, Blank));
    }

    // ---- CRLF line endings: the CR is not part of the request ----
    lines.push(case(
        "CRLF command refused for scope",
        "{\"op\":\"recharge\",\"id\":\"crlf-1\",\"actor\":\"partner:D1\",\"party\":\"partner:D1\",\"amount\":\"1\"}\r",
        Code("access_denied"),
    ));
    lines.push(case(
        "CRLF command refused for funds",
        "{\"op\":\"allocate\",\"id\":\"crlf-2\",\"actor\":\"partner:D1\",\"to\":\"customer:C1\",\"amount\":\"99999\"}\r",
        Code("insufficient_funds"),
    ));
    lines.push(case("CRLF query", "{\"op\":\"balance\",\"id\":\"crlf-q\",\"actor\":\"platform\",\"party\":\"partner:D1\"}\r", Query));
    lines.push(case(
        "CR CR LF after a query",
        "{\"op\":\"balance\",\"id\":\"crlf-q2\",\"actor\":\"partner:D1\",\"party\":\"customer:C1\"}\r\r",
        Query,
    ));
    lines.push(case(
        "lone CR inside an object",
        "{\"op\":\"balance\",\r\"id\":\"cr-in\",\"actor\":\"platform\",\"party\":\"platform\"}",
        Query,
    ));
    lines.push(case(
        "CR inside a party string",
        "{\"op\":\"recharge\",\"id\":\"crlf-3\",\"actor\":\"platform\",\"party\":\"partner:D2\\r\",\"amount\":\"1\"}\r",
        Code("invalid_id"),
    ));
    lines.push(case("CRLF on a non-JSON line", "garbage\r", Code("invalid_request")));

    // ---- lines that are JSON but not an object ----
    for (name, text) in [
        ("array", r#"[{"op":"recharge","id":"arr","actor":"platform","party":"partner:D2","amount":"1"}]"#),
        ("empty array", "[]"),
        ("string", r#""{\"op\":\"recharge\"}""#),
        ("number", "42"),
        ("huge number", "1e999"),
        ("negative zero", "-0"),
        ("null", "null"),
        ("true", "true"),
        ("empty object", "{}"),
        ("two objects on one line", &format!("{}{}", recharge_with("two-1", r#""1""#), recharge_with("two-2", r#""1""#))),
        ("object then garbage", &format!("{} trailing", recharge_with("trail", r#""1""#))),
        ("unterminated object", r#"{"op":"recharge","id":"open","actor":"platform","party":"partner:D2","amount":"1""#),
        ("single quotes", "{'op':'recharge','id':'sq','actor':'platform','party':'partner:D2','amount':'1'}"),
        ("trailing comma", r#"{"op":"recharge","id":"tc","actor":"platform","party":"partner:D2","amount":"1",}"#),
        ("comment", r#"{"op":"recharge","id":"cm","actor":"platform","party":"partner:D2","amount":"1"} // hi"#),
    ] {
        lines.push(case(format!("JSON {name}"), text, Code("invalid_request")));
    }

    // ---- very long field names and many fields ----
    let long_name = "f".repeat(100_000);
    lines.push(case(
        "a 100,000-character field name",
        format!(r#"{{"op":"balance","actor":"platform","party":"platform","{long_name}":1}}"#),
        Code("invalid_request"),
    ));
    let long_valid_prefix = format!("party{}", "y".repeat(500_000));
    lines.push(case(
        "a 500,000-character field name starting with party",
        format!(r#"{{"op":"balance","actor":"platform","{long_valid_prefix}":"platform"}}"#),
        Code("invalid_request"),
    ));
    let mut many = serde_json::Map::new();
    for (key, value) in [("op", "recharge"), ("id", "many"), ("actor", "platform"), ("party", "partner:D2"), ("amount", "1")] {
        many.insert(key.to_owned(), json!(value));
    }
    for index in 0..100 {
        many.insert(format!("field{index}"), json!(index));
    }
    lines.push(case("a valid recharge with 100 extra fields", Value::Object(many).to_string(), Code("invalid_request")));
    let hundred: serde_json::Map<String, Value> = (0..100).map(|index| (format!("k{index}"), json!("v"))).collect();
    lines.push(case("an object of 100 unknown fields", Value::Object(hundred).to_string(), Code("invalid_request")));
    let mut wide = serde_json::Map::new();
    for key in ["op", "actor", "party"] {
        wide.insert(key.to_owned(), json!(if key == "op" { "balance" } else { "platform" }));
    }
    for index in 0..10_000 {
        wide.insert(format!("x{index}"), json!(index));
    }
    lines.push(case("a query with 10,000 unknown fields", Value::Object(wide).to_string(), Code("invalid_request")));

    // ---- atomic groups ----
    lines.push(case("atomic group of 101 commands", atomic("grp-101", vec![member(); 101]), Code("invalid_request")));
    lines.push(case("atomic group of 10,000 commands", atomic("grp-10k", vec![member(); 10_000]), Code("invalid_request")));
    lines.push(case("empty atomic group", atomic("grp-0", Vec::new()), Code("invalid_request")));
    let mut last_fails = vec![member(); 99];
    last_fails.push(json!({"op": "recharge", "party": "partner:NOBODY", "amount": "1"}));
    lines.push(case("atomic group of 100 whose last command fails", atomic("grp-100", last_fails), Code("not_found")));
    let mut middle_fails = vec![member(); 100];
    middle_fails[50] = json!({"op": "recharge", "party": "partner:D2", "amount": "NaN"});
    lines.push(case("atomic group of 100 with an invalid amount in the middle", atomic("grp-mid", middle_fails), Code("invalid_amount")));
    let mut nested = vec![member(); 2];
    nested.push(json!({"op": "atomic", "commands": [member()]}));
    lines.push(case("nested atomic group", atomic("grp-nest", nested), Code("invalid_request")));
    let mut with_actor = vec![member(); 3];
    with_actor[1]["actor"] = json!("partner:D2");
    lines.push(case("group member carrying its own actor", atomic("grp-actor", with_actor), Code("invalid_request")));
    let overspend: Vec<Value> = (0..100).map(|_| json!({"op": "allocate", "to": "customer:C1", "amount": "100"})).collect();
    let overspend = json!({"op": "atomic", "id": "grp-spend", "actor": "partner:D1", "commands": overspend}).to_string();
    lines.push(case("atomic group of 100 allocations overspending at the 91st", overspend, Code("insufficient_funds")));
    lines
}

/// Duplicate keys in one object: ambiguous requests (which `amount`? which `actor`?) that a
/// careful ledger refuses as `invalid_request` rather than silently picking one.
fn duplicate_key_lines() -> Vec<Hostile> {
    let mut lines = Vec::new();
    for (name, text) in [
        ("duplicate amount", r#"{"op":"recharge","id":"dup-1","actor":"platform","party":"partner:D2","amount":"1","amount":"2"}"#),
        (
            "duplicate actor (escalation to platform)",
            r#"{"op":"recharge","id":"dup-2","actor":"partner:D2","party":"partner:D2","amount":"1","actor":"platform"}"#,
        ),
        ("duplicate party", r#"{"op":"recharge","id":"dup-3","actor":"platform","party":"partner:D1","amount":"1","party":"partner:D2"}"#),
        ("duplicate op", r#"{"op":"balance","id":"dup-4","actor":"platform","party":"partner:D2","amount":"1","op":"recharge"}"#),
        ("duplicate id", r#"{"op":"recharge","id":"dup-5","actor":"platform","party":"partner:D2","amount":"1","id":"dup-6"}"#),
        ("duplicate to", r#"{"op":"allocate","id":"dup-7","actor":"partner:D1","to":"customer:C3","amount":"1","to":"customer:C1"}"#),
        (
            "duplicate key inside a group member",
            r#"{"op":"atomic","id":"dup-8","actor":"platform","commands":[{"op":"recharge","party":"partner:D2","amount":"1","amount":"5"}]}"#,
        ),
        ("duplicate query party", r#"{"op":"balance","actor":"partner:D1","party":"partner:D1","party":"partner:D2"}"#),
    ] {
        lines.push(case(name, text, Code("invalid_request")));
    }
    lines
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The id the answer must echo: the request's `id` when the line is a JSON object whose `id` is
/// a string (serde keeps the last of duplicate keys; those lines are checked separately).
fn echoed_id(bytes: &[u8]) -> Value {
    let Ok(text) = std::str::from_utf8(bytes) else { return Value::Null };
    if text.len() > MIB {
        return Value::Null;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => match map.get("id") {
            Some(Value::String(id)) => json!(id),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Checks one answer against its line's expectation.
fn check_answer(channel: &str, hostile: &Hostile, answer: &Value) -> Result<(), String> {
    let fail = |why: String| Err(format!("[{channel}] {}: {why}; answer: {}", hostile.name, shorten(&answer.to_string())));
    match hostile.expect {
        Query => {
            if answer["ok"] != true {
                return fail("expected a successful query".to_owned());
            }
            if answer.get("seq").is_some() {
                return fail("a query must not commit".to_owned());
            }
        }
        Code(code) => {
            if answer["ok"] != false || answer["error"]["code"] != code {
                return fail(format!("expected {code}"));
            }
        }
        NotUtf8 => {
            let expected = if channel.starts_with("binary") { Some("invalid_request") } else { None };
            if answer["ok"] != false || expected.is_some_and(|code| answer["error"]["code"] != code) {
                return fail(format!("expected an error ({expected:?})"));
            }
        }
        Blank => {
            if answer["ok"] != false {
                return fail("the library must refuse a blank line".to_owned());
            }
        }
    }
    if !matches!(hostile.expect, NotUtf8 | Blank) {
        let echoed = echoed_id(&hostile.bytes);
        if answer["id"] != echoed {
            return fail(format!("expected id {echoed}"));
        }
    }
    if answer["ok"] == false && (answer["error"]["cbc"].as_str().is_none() || answer["error"]["message"].as_str().is_none()) {
        return fail("an error carries code, cbc and message".to_owned());
    }
    Ok(())
}

fn shorten(text: &str) -> String {
    if text.len() <= 400 {
        return text.to_owned();
    }
    let mut end = 400;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// The library's view of a line (it takes `&str`).
fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Sends every line through `Ledger::execute_line`, then all of them through `execute_lines` as
/// one batch; returns the number of lines answered and the mismatches.
fn through_library(f: &Fixture, lines: &[Hostile]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut answered = 0;
    for hostile in lines {
        let answer = f.ledger.execute_line(&text_of(&hostile.bytes)).to_json();
        answered += 1;
        if let Err(why) = check_answer("library execute_line", hostile, &answer) {
            failures.push(why);
        }
    }
    let texts: Vec<String> = lines.iter().map(|hostile| text_of(&hostile.bytes)).collect();
    let answers = f.ledger.execute_lines(&texts);
    if answers.len() != lines.len() {
        failures.push(format!("[library execute_lines] {} answers for {} lines", answers.len(), lines.len()));
    }
    for (hostile, answer) in lines.iter().zip(&answers) {
        if let Err(why) = check_answer("library execute_lines", hostile, &answer.to_json()) {
            failures.push(why);
        }
    }
    (answered, failures)
}

/// A ledger file with the standard cast, and its snapshot.
fn cast_file(dir: &Path) -> (std::path::PathBuf, Value) {
    let f = Fixture::with_cast();
    let snapshot = f.snapshot();
    let source = f.path();
    let Fixture { ledger, dir: source_dir, .. } = f;
    drop(ledger);
    let path = dir.join("ledger.redb");
    std::fs::copy(&source, &path).expect("copy");
    drop(source_dir);
    (path, snapshot)
}

fn reopen(dir: tempfile::TempDir) -> Fixture {
    let clock = ManualClock::default();
    clock.set("2026-01-01T00:00:00Z");
    let ledger = Ledger::open_with_clock(dir.path().join("ledger.redb"), Box::new(clock.clone())).expect("reopen");
    Fixture { ledger, clock, dir }
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_partner-ledger"))
}

/// Feeds the lines (each followed by `\n`) to `apply --db` on standard input; returns the output
/// lines, after checking the exit code and stderr.
fn apply(db: &Path, lines: &[Hostile], extra: &[&str]) -> Vec<Vec<u8>> {
    let mut input = Vec::new();
    for hostile in lines {
        input.extend_from_slice(&hostile.bytes);
        input.push(b'\n');
    }
    let mut child = binary()
        .arg("apply")
        .arg("--db")
        .arg(db)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run partner-ledger apply");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        stdin.write_all(&input).expect("write input");
    });
    let output = child.wait_with_output().expect("wait for apply");
    writer.join().expect("writer");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "apply panicked: {stderr}");
    assert_eq!(output.status.code(), Some(0), "apply must exit 0 when commands fail; stderr: {stderr}");
    let mut out: Vec<Vec<u8>> = output.stdout.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    assert_eq!(out.pop(), Some(Vec::new()), "the output ends with a newline");
    out
}

/// Runs the lines through the binary on a copy of the cast, then checks the one-answer-per-line
/// contract, each answer, `verify`, and that nothing changed. Returns (answered, failures).
fn through_binary(lines: &[Hostile], extra: &[&str]) -> (usize, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, before) = cast_file(dir.path());
    let output = apply(&db, lines, extra);
    let channel = format!("binary {extra:?}");
    let expected: Vec<&Hostile> = lines.iter().filter(|hostile| !is_blank(&hostile.bytes)).collect();
    let mut failures = Vec::new();
    if output.len() != expected.len() {
        failures.push(format!("[{channel}] {} output lines for {} non-blank input lines", output.len(), expected.len()));
    }
    for (hostile, line) in expected.iter().zip(&output) {
        let answer = match serde_json::from_slice::<Value>(line) {
            Ok(answer) if answer.is_object() => answer,
            _ => {
                failures.push(format!(
                    "[{channel}] {}: the answer is not one JSON object: {}",
                    hostile.name,
                    shorten(&String::from_utf8_lossy(line))
                ));
                continue;
            }
        };
        if let Err(why) = check_answer(&channel, hostile, &answer) {
            failures.push(why);
        }
    }
    let verify = binary().arg("verify").arg("--db").arg(&db).output().expect("run verify");
    if !verify.status.success() {
        failures.push(format!("[{channel}] verify failed: {}", String::from_utf8_lossy(&verify.stdout)));
    }
    let f = reopen(dir);
    if f.snapshot() != before {
        failures.push(format!("[{channel}] the hostile lines changed the ledger"));
    }
    if let Err(error) = f.ledger.verify() {
        failures.push(format!("[{channel}] library verify failed: {error}"));
    }
    (output.len(), failures)
}

/// The library answers the same lines identically to `apply` (same decoding, same domain),
/// answer by answer: the binary's answers are in input order.
fn compare_channels(lines: &[Hostile]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, _) = cast_file(dir.path());
    let output = apply(&db, lines, &[]);
    let f = Fixture::with_cast();
    let mut failures = Vec::new();
    let non_blank: Vec<&Hostile> = lines.iter().filter(|hostile| !is_blank(&hostile.bytes)).collect();
    for (hostile, line) in non_blank.iter().zip(&output) {
        if std::str::from_utf8(&hostile.bytes).is_err() {
            continue;
        }
        let mine = f.ledger.execute_line(&text_of(&hostile.bytes)).to_json();
        let theirs: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        if mine != theirs {
            failures.push(format!("{}: library {} but binary {}", hostile.name, shorten(&mine.to_string()), shorten(&theirs.to_string())));
        }
    }
    failures
}

#[test]
fn hostile_lines_through_the_library() {
    let lines = hostile_lines();
    let f = Fixture::with_cast();
    let before = f.snapshot();
    let (answered, mut failures) = through_library(&f, &lines);
    assert_eq!(answered, lines.len());
    if f.snapshot() != before {
        failures.push("the hostile lines changed the ledger".to_owned());
    }
    if let Err(error) = f.ledger.verify() {
        failures.push(format!("verify failed: {error}"));
    }
    println!("hostile lines answered through the library: {answered} (each also in one execute_lines batch)");
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn hostile_lines_through_the_binary() {
    let lines = hostile_lines();
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for extra in [&[][..], &["--batch", "1"][..], &["--batch", "7"][..]] {
        let (answered, mut problems) = through_binary(&lines, extra);
        counts.push(answered);
        failures.append(&mut problems);
    }
    failures.extend(compare_channels(&lines));
    let blank = lines.iter().filter(|hostile| is_blank(&hostile.bytes)).count();
    println!(
        "hostile lines answered through `apply`: {} of {} lines ({blank} blank lines skipped), with --batch 1000/1/7: {counts:?}",
        lines.len() - blank,
        lines.len()
    );
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn duplicate_keys_are_refused_through_the_library() {
    let lines = duplicate_key_lines();
    let f = Fixture::with_cast();
    let before = f.snapshot();
    let mut failures = Vec::new();
    for hostile in &lines {
        let answer = f.ledger.execute_line(&text_of(&hostile.bytes)).to_json();
        if answer["ok"] != false || answer["error"]["code"] != "invalid_request" {
            failures.push(format!("{}: expected invalid_request, got {answer}", hostile.name));
        }
    }
    if f.snapshot() != before {
        failures.push("lines with duplicate keys changed the ledger".to_owned());
    }
    println!("duplicate-key lines answered through the library: {}", lines.len());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn duplicate_keys_are_refused_through_the_binary() {
    let lines = duplicate_key_lines();
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, before) = cast_file(dir.path());
    let output = apply(&db, &lines, &[]);
    assert_eq!(output.len(), lines.len(), "one answer per line");
    let mut failures = Vec::new();
    for (hostile, line) in lines.iter().zip(&output) {
        let answer: Value = serde_json::from_slice(line).expect("a JSON answer");
        if answer["ok"] != false || answer["error"]["code"] != "invalid_request" {
            failures.push(format!("{}: expected invalid_request, got {answer}", hostile.name));
        }
    }
    let f = reopen(dir);
    if f.snapshot() != before {
        failures.push("lines with duplicate keys changed the ledger".to_owned());
    }
    println!("duplicate-key lines answered through `apply`: {}", output.len());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
