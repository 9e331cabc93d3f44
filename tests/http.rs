//! `partner-ledger serve` from the outside: the JSON-lines door, health and metrics, signatures
//! and every kind of hostile traffic (each refused with nothing applied, the server serving on),
//! graceful shutdown, and recovery from a failed sync under concurrent load.
#[path = "common/backends.rs"]
mod backends;
#[path = "common/http.rs"]
mod http;

use http::{Call, Served, commands, key_for, send, send_raw};
use partner_ledger::http::Limits;
use partner_ledger::{AccessKey, Clock, Ledger, SystemClock};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SEED: [&str; 5] = [
    r#"{"op":"register_partner","id":"s1","actor":"platform","partner":"D1","kind":"distributor","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"register_customer","id":"s2","actor":"partner:D1","customer":"C1","partner":"D1","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"register_customer","id":"s3","actor":"partner:D1","customer":"C2","partner":"D1","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"recharge","id":"s4","actor":"platform","party":"partner:D1","amount":"100000","at":"2026-01-05T00:00:00Z"}"#,
    r#"{"op":"register_partner","id":"s5","actor":"platform","partner":"D2","kind":"distributor","at":"2026-01-05T00:00:00Z"}"#,
];

struct Book {
    _dir: tempfile::TempDir,
    path: PathBuf,
    d1: AccessKey,
    c1: AccessKey,
}

/// A seeded ledger file with keys for D1 and C1.
fn book() -> Book {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let ledger = Ledger::open(&path).unwrap();
    assert!(ledger.execute_lines(&SEED).iter().all(partner_ledger::Response::is_ok));
    let [d1, c1] = ["partner:D1", "customer:C1"].map(|actor| key_for(&ledger, actor));
    drop(ledger);
    Book { _dir: dir, path, d1, c1 }
}

fn opener(path: &Path) -> partner_ledger::http::Opener {
    let path = path.to_owned();
    Box::new(move || Ledger::open(&path))
}

async fn serve(book: &Book, limits: Limits) -> Served {
    Served::start(opener(&book.path), limits).await
}

/// After the server stopped: the journal verifies, and its head is `seq`.
fn verified_head(path: &Path) -> u64 {
    let ledger = Ledger::open(path).unwrap();
    ledger.verify().expect("the journal verifies").head.seq
}

fn allocate(customer: &str, amount: &str) -> Call {
    Call::new("POST", "/v2/accounts/partner-accounts/adjust-amount").body(json!({"customer_id": customer, "amount": amount}).to_string())
}

async fn allocated(addr: std::net::SocketAddr, key: &AccessKey, customer: &str) -> String {
    let answer = commands(addr, key, &[json!({"op": "balance", "party": format!("customer:{customer}")})]).await;
    answer[0]["result"]["allocated"].as_str().unwrap().to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn the_json_lines_door_runs_lines_in_order_as_the_keys_actor() {
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let lines = [
            json!({"op": "allocate", "id": "a1", "to": "customer:C1", "amount": "10"}),
            json!({"op": "allocate", "id": "a2", "actor": "partner:D1", "to": "customer:C1", "amount": "5"}),
            json!({"op": "allocate", "id": "a3", "actor": "partner:D2", "to": "customer:C1", "amount": "5"}),
            json!({"op": "allocate", "id": "a1", "to": "customer:C1", "amount": "10"}),
            json!({"op": "balance", "party": "customer:C1"}),
        ];
        let answers = commands(served.addr, &book.d1, &lines).await;
        assert_eq!(answers.len(), 5);
        assert_eq!((answers[0]["ok"].clone(), answers[1]["ok"].clone()), (json!(true), json!(true)));
        assert_eq!(answers[2]["error"]["code"], "access_denied", "a line naming another actor: {}", answers[2]);
        assert_eq!(answers[3]["duplicate"], true);
        assert_eq!(answers[4]["result"]["allocated"], "15.00");
        // Malformed lines are answered in place; the others still run.
        let body = "not json\n{\"op\":\"balance\",\"party\":\"customer:C1\"}\n{\"op\":\"allocate\",\"id\":\"a9\",\"to\":\"customer:C1\",\"amount\":\"1.005\"}\n";
        let answer = send(served.addr, &book.d1, &Call::new("POST", "/v1/commands").body(body)).await;
        let lines = answer.lines();
        assert_eq!(lines[0]["error"]["code"], "invalid_request");
        assert_eq!(lines[1]["result"]["allocated"], "15.00");
        assert_eq!(lines[2]["error"]["code"], "invalid_amount");
        // More than 1000 lines is refused whole.
        let many: Vec<String> = (0..1001).map(|index| json!({"op": "allocate", "id": format!("m{index}"), "to": "customer:C1", "amount": "1"}).to_string()).collect();
        let answer = send(served.addr, &book.d1, &Call::new("POST", "/v1/commands").body(many.join("\n"))).await;
        assert_eq!((answer.status, answer.json()["error_code"].clone()), (400, json!("CBC.0100")));
        assert_eq!(allocated(served.addr, &book.d1, "C1").await, "15.00");
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 7);
}

#[test]
fn health_needs_no_signature_and_metrics_count_requests_by_route() {
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let health = send_raw(served.addr, &Call::new("GET", "/v1/health"), &[]).await;
        assert_eq!((health.status, health.json()["applied_seq"].clone()), (200, json!(5)));
        assert_eq!(send(served.addr, &book.d1, &allocate("C1", "3.00")).await.status, 200);
        assert_eq!(send(served.addr, &book.d1, &allocate("C1", "999999.00")).await.status, 400);
        assert_eq!(send_raw(served.addr, &allocate("C1", "3.00"), &[]).await.status, 401);
        let metrics = send_raw(served.addr, &Call::new("GET", "/v1/metrics"), &[]).await.body;
        for expected in [
            "partner_ledger_http_requests_total{path=\"/v2/accounts/partner-accounts/adjust-amount\",status=\"200\"} 1",
            "partner_ledger_http_requests_total{path=\"/v2/accounts/partner-accounts/adjust-amount\",status=\"400\"} 1",
            "partner_ledger_http_requests_total{path=\"/v2/accounts/partner-accounts/adjust-amount\",status=\"401\"} 1",
            "partner_ledger_commit_seconds_count 2",
            "partner_ledger_batch_requests_bucket{le=\"1\"} 2",
        ] {
            assert!(metrics.contains(expected), "{expected} missing from:\n{metrics}");
        }
        assert!(!metrics.contains(&book.d1.secret) && !metrics.contains(&book.d1.access));
        served.stop().await;
    });
}

#[test]
fn forged_stale_unknown_revoked_and_foreign_requests_are_401_and_change_nothing() {
    let book = book();
    // A revoked key.
    let revoked = {
        let ledger = Ledger::open(&book.path).unwrap();
        let key = key_for(&ledger, "partner:D1");
        partner_ledger::http::keys::revoke(&ledger, &key.access, SystemClock.now()).unwrap();
        key
    };
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let call = allocate("C1", "7.00");
        let addr = served.addr;
        let stale = SystemClock.now().millis() - 16 * 60 * 1000;
        let future = SystemClock.now().millis() + 16 * 60 * 1000;
        let cases: Vec<(&str, Vec<(String, String)>)> = vec![
            ("unsigned", vec![("Content-Type".into(), "application/json".into())]),
            ("wrong secret", call.signed_headers(addr, &book.d1.access, "not-the-secret")),
            ("unknown key", call.signed_headers(addr, "UNKNOWNKEY0000000000", &book.d1.secret)),
            ("revoked key", call.signed_headers(addr, &revoked.access, &revoked.secret)),
            (
                "stale date",
                call.clone().at(partner_ledger::Timestamp::from_millis(stale)).signed_headers(addr, &book.d1.access, &book.d1.secret),
            ),
            (
                "future date",
                call.clone().at(partner_ledger::Timestamp::from_millis(future)).signed_headers(addr, &book.d1.access, &book.d1.secret),
            ),
            ("foreign domain", call.clone().header("X-Domain-Id", "D2").signed_headers(addr, &book.d1.access, &book.d1.secret)),
            ("garbage authorization", vec![("Authorization".into(), "SDK-HMAC-SHA256 nonsense".into()), ("X-Sdk-Date".into(), "x".into())]),
        ];
        for (case, headers) in cases {
            let answer = send_raw(addr, &call, &headers).await;
            assert_eq!(answer.status, 401, "{case}: {}", answer.body);
            assert_eq!(answer.json()["error_code"], "APIGW.0301", "{case}");
            assert!(!answer.body.contains(&book.d1.secret), "{case}: the answer leaks the secret");
        }
        // A signature over other bytes: the body was changed after signing.
        let mut headers = call.signed_headers(addr, &book.d1.access, &book.d1.secret);
        headers.retain(|(name, _)| name != "Content-Length");
        let tampered = allocate("C1", "7000.00");
        assert_eq!(send_raw(addr, &tampered, &headers).await.status, 401, "a tampered body");
        // The key's own domain is accepted, and the customer key cannot allocate (403).
        assert_eq!(send(addr, &book.d1, &call.clone().header("X-Domain-Id", "D1")).await.status, 200);
        let denied = send(addr, &book.c1, &allocate("C1", "7.01")).await;
        assert_eq!((denied.status, denied.json()["error_code"].clone()), (403, json!("CBC.0151")));
        assert_eq!(allocated(addr, &book.d1, "C1").await, "7.00");
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 6, "only the one valid allocation was applied");
}

#[test]
fn a_replayed_request_is_a_duplicate_and_is_never_applied_twice() {
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let call = allocate("C1", "12.34");
        let headers = call.signed_headers(served.addr, &book.d1.access, &book.d1.secret);
        let first = send_raw(served.addr, &call, &headers).await;
        let replay = send_raw(served.addr, &call, &headers).await;
        assert_eq!((first.status, replay.status), (200, 200));
        assert_eq!(first.json()["transfer_id"], replay.json()["transfer_id"], "the replay answers the original transfer");
        // The same operation under an explicit request id, twice, and a different one.
        let explicit = allocate("C1", "1.00").header("X-Client-Request-Id", "client-req-1");
        let once = send(served.addr, &book.d1, &explicit).await.json();
        let again = send(served.addr, &book.d1, &explicit).await.json();
        assert_eq!((once["transfer_id"].clone(), again["transfer_id"].clone()), (json!("client-req-1"), json!("client-req-1")));
        let reused = send(served.addr, &book.d1, &allocate("C1", "2.00").header("X-Client-Request-Id", "client-req-1")).await;
        assert_eq!((reused.status, reused.json()["error_msg"].as_str().unwrap().starts_with("id_reused")), (400, true));
        assert_eq!(allocated(served.addr, &book.d1, "C1").await, "13.34");
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 7);
}

#[test]
fn oversized_malformed_and_mistyped_bodies_are_refused_with_nothing_applied() {
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let addr = served.addr;
        let huge = Call::new("POST", "/v1/commands").body(vec![b' '; (1 << 20) + 1]);
        let answer = send(addr, &book.d1, &huge).await;
        assert_eq!(answer.status, 413, "{}", answer.body);
        let bodies = [
            ("{not json", "invalid_request"),
            ("[1,2]", "invalid_request"),
            (r#"{"customer_id": 5, "amount": 1}"#, "invalid_request"),
            (r#"{"customer_id": "C1", "amount": "ten"}"#, "invalid_amount"),
            (r#"{"customer_id": "C1", "amount": 1.005}"#, "invalid_amount"),
            (r#"{"customer_id": "C1", "amount": 1E+2}"#, "invalid_amount"),
            (r#"{"customer_id": "C1", "amount": -5}"#, "invalid_amount"),
            (r#"{"customer_id": "C 1", "amount": 5}"#, "invalid_id"),
            (r#"{"amount": 5}"#, "invalid_request"),
            (r#"{"customer_id": "C9", "amount": 5}"#, "not_found"),
        ];
        for (body, code) in bodies {
            let answer = send(addr, &book.d1, &Call::new("POST", "/v2/accounts/partner-accounts/adjust-amount").body(body)).await;
            assert_eq!(answer.status, 400, "{body}: {}", answer.body);
            assert!(answer.json()["error_msg"].as_str().unwrap().starts_with(code), "{body}: {}", answer.body);
        }
        let not_utf8 = send(addr, &book.d1, &Call::new("POST", "/v1/commands").body(vec![0xff, 0xfe, b'\n'])).await;
        assert_eq!(not_utf8.status, 400);
        let unserved = send(addr, &book.d1, &Call::new("GET", "/v2/promotions/benefits/stored-value-cards")).await;
        assert_eq!((unserved.status, unserved.json()["error_code"].clone()), (404, json!("CBC.0100")));
        // Exactly representable amounts with fewer decimals are fine.
        let ok = send(
            addr,
            &book.d1,
            &Call::new("POST", "/v2/accounts/partner-accounts/adjust-amount").body(r#"{"customer_id": "C1", "amount": 100.5}"#),
        )
        .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(allocated(addr, &book.d1, "C1").await, "100.50");
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 6);
}

/// Writes raw bytes on a new connection and reads what comes back until the server closes or
/// `wait` passes.
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn too_many_or_too_large_headers_and_broken_http_are_refused() {
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let many: String = (0..100).map(|index| format!("X-Filler-{index}: a\r\n")).collect();
        let answer =
            raw_exchange(served.addr, format!("GET /v1/health HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(), Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "100 headers: {answer:?}");
        let large = format!("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Large: {}\r\n\r\n", "a".repeat(20_000));
        let answer = raw_exchange(served.addr, large.as_bytes(), Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "a 20 kB header: {answer:?}");
        let answer = raw_exchange(served.addr, b"BLAH\x00\x01 / HTTP/9\r\n\r\n", Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 400") || answer.is_empty(), "garbage: {answer:?}");
        // Still serving.
        assert_eq!(send(served.addr, &book.d1, &allocate("C1", "1.00")).await.status, 200);
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 6);
}

#[test]
fn slow_clients_are_cut_off_and_the_server_keeps_serving() {
    let book = book();
    let limits = Limits {
        head_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    runtime().block_on(async {
        let served = serve(&book, limits).await;
        let addr = served.addr;
        // A head that trickles in never completes: the connection is closed.
        let mut trickle = TcpStream::connect(addr).await.unwrap();
        trickle.write_all(b"GET /v1/health HTTP/1.1\r\n").await.unwrap();
        let started = std::time::Instant::now();
        let mut closed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if trickle.write_all(b"X-Slow: 1\r\n").await.is_err() {
                closed = true;
                break;
            }
            let mut probe = [0_u8; 256];
            if let Ok(Ok(read)) = tokio::time::timeout(Duration::from_millis(1), trickle.read(&mut probe)).await {
                closed = read == 0 || String::from_utf8_lossy(&probe[..read]).starts_with("HTTP/1.1 408");
                if closed {
                    break;
                }
            }
        }
        assert!(closed, "a trickling head was not cut off within {:?}", started.elapsed());
        // A body that never arrives: 408.
        let call = allocate("C1", "4.00");
        let mut head = format!("POST {} HTTP/1.1\r\nContent-Length: 100\r\n", call.path);
        for (name, value) in call.signed_headers(addr, &book.d1.access, &book.d1.secret) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n{\"customer_id\"");
        let answer = raw_exchange(addr, head.as_bytes(), Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "a body that stalls: {answer:?}");
        // An idle connection is closed after the idle timeout.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut buffer = [0_u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buffer)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "an idle connection stayed open: {read:?}");
        assert_eq!(send(addr, &book.d1, &allocate("C1", "1.00")).await.status, 200);
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 6);
}

fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(0)
}

/// Sends `call` until it is served (200) rather than refused at the cap (503), for up to 10 s;
/// whether it was. The call names its request id, so a repeat is never applied twice.
async fn served_within(addr: std::net::SocketAddr, key: &AccessKey, call: Call) -> bool {
    for _ in 0..100 {
        match send(addr, key, &call).await.status {
            200 => return true,
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("unexpected status {other}"),
        }
    }
    false
}

#[test]
fn a_thousand_idle_connections_do_not_stop_the_server_and_the_cap_answers_503() {
    assert!(open_files_limit() >= 2200, "this test holds 2,000 sockets: raise `ulimit -n` (now {})", open_files_limit());
    let book = book();
    runtime().block_on(async {
        let served = serve(&book, Limits { connections: 1000, ..Limits::default() }).await;
        let mut idle = Vec::with_capacity(1000);
        for _ in 0..1000 {
            idle.push(TcpStream::connect(served.addr).await.unwrap());
        }
        // At the cap, one more connection is told the server is full (once the server has taken
        // all 1,000: until then a probe may still be served).
        let mut refused = false;
        for _ in 0..100 {
            let probe = send_raw(served.addr, &Call::new("GET", "/v1/health"), &[]).await;
            if probe.status == 503 {
                assert_eq!(probe.json()["error_code"], "CBC.0999");
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(refused, "the connection past the cap was never refused");
        // One idle connection leaves: a request is served in its place (once the server has seen
        // it close), and with every idle one gone, again.
        drop(idle.pop());
        assert!(served_within(served.addr, &book.d1, allocate("C1", "2.00").header("X-Client-Request-Id", "cap-1")).await);
        drop(idle);
        assert!(served_within(served.addr, &book.d1, allocate("C1", "3.00").header("X-Client-Request-Id", "cap-2")).await);
        let metrics = send_raw(served.addr, &Call::new("GET", "/v1/metrics"), &[]).await.body;
        assert!(!metrics.contains("partner_ledger_refused_connections_total 0"), "{metrics}");
        served.stop().await;
    });
    assert_eq!(verified_head(&book.path), 7);
}

#[test]
fn shutdown_finishes_in_flight_requests_and_closes_the_ledger() {
    let book = book();
    let answers = runtime().block_on(async {
        let served = serve(&book, Limits::default()).await;
        let addr = served.addr;
        let key = book.d1.clone();
        assert_eq!(send(addr, &key, &allocate("C2", "0.50")).await.status, 200, "serving before the shutdown");
        let in_flight: Vec<_> = (0..32)
            .map(|index| {
                let key = key.clone();
                tokio::spawn(async move {
                    // 0: the connection was refused, or reset before the server accepted it (it
                    // stopped accepting); such a request must not have been applied (checked below).
                    let Ok(stream) = TcpStream::connect(addr).await else { return 0 };
                    let call = allocate("C2", &format!("{}.00", index + 1));
                    http::try_send_on(stream, &call, &call.signed_headers(addr, &key.access, &key.secret))
                        .await
                        .map_or(0, |answer| answer.status)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5)).await;
        served.stop().await;
        let mut statuses = Vec::new();
        for task in in_flight {
            statuses.push(task.await.expect("the client task ends"));
        }
        statuses
    });
    // Every request was answered 200 or never taken: none was applied without its answer.
    let applied = answers.iter().filter(|status| **status == 200).count();
    assert!(answers.iter().all(|status| *status == 200 || *status == 0), "{answers:?}");
    assert_eq!(verified_head(&book.path), 5 + 1 + applied as u64);
}

#[test]
fn a_failed_sync_under_load_reopens_the_ledger_and_applies_nothing_twice() {
    let disk = backends::Disk::new();
    let (d1, platform) = {
        let ledger = backends::open_ledger(&disk).unwrap();
        assert!(ledger.execute_lines(&SEED).iter().all(partner_ledger::Response::is_ok));
        (key_for(&ledger, "partner:D1"), key_for(&ledger, "platform"))
    };
    let clients = 8;
    let per_client = 25;
    let (statuses, retried) = runtime().block_on(async {
        let opened = disk.clone();
        let reopen = move || {
            let database = redb::Database::builder().create_with_backend(opened.backend()).map_err(partner_ledger::StoreError::from)?;
            Ledger::from_store(partner_ledger::Store::from_database(database)?, Box::new(SystemClock))
        };
        let served = Served::start(Box::new(reopen), Limits::default()).await;
        let addr = served.addr;
        // The 5th sync from now fails; once it has, another one a few syncs later, three times in all.
        disk.arm(backends::Operation::Sync, 5, backends::Fault::Fail);
        let rearm = {
            let disk = disk.clone();
            tokio::spawn(async move {
                for injected in 1..3 {
                    while disk.injected() < injected {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    disk.arm(backends::Operation::Sync, 4, backends::Fault::Fail);
                }
            })
        };
        let tasks: Vec<_> = (0..clients)
            .map(|client| {
                let key = d1.clone();
                tokio::spawn(async move {
                    let mut retried = 0;
                    let mut statuses = Vec::new();
                    for index in 0..per_client {
                        let id = format!("load-{client}-{index}");
                        loop {
                            let call = allocate("C1", "1.00").header("X-Client-Request-Id", &id);
                            let answer = send(addr, &key, &call).await;
                            if answer.status == 500 {
                                assert_eq!(answer.json()["error_code"], "CBC.0999", "{}", answer.body);
                                retried += 1;
                                continue;
                            }
                            statuses.push(answer.status);
                            break;
                        }
                    }
                    (statuses, retried)
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut retried = 0;
        for task in tasks {
            let (statuses, count) = task.await.unwrap();
            all.extend(statuses);
            retried += count;
        }
        rearm.await.unwrap();
        let answer = commands(addr, &platform, &[json!({"op": "balance", "party": "customer:C1"})]).await;
        assert_eq!(answer[0]["result"]["allocated"], format!("{}.00", clients * per_client), "each request applied exactly once");
        served.stop().await;
        (all, retried)
    });
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert!(retried >= 1, "no injected failure reached a client");
    assert_eq!(disk.injected(), 3, "three syncs failed");
    let ledger = backends::open_ledger(&disk).unwrap();
    let report = ledger.verify().expect("the journal verifies after the failures");
    assert_eq!(report.head.seq, 5 + (clients * per_client) as u64);
    eprintln!(
        "recovery: {} allocations, {retried} answers were `storage` and retried, {} faults injected",
        clients * per_client,
        disk.injected()
    );
}

#[test]
fn a_new_ledger_file_is_private_and_keys_stay_out_of_the_journal() {
    let book = book();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&book.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a new ledger file is readable by its owner only");
    }
    let ledger = Ledger::open(&book.path).unwrap();
    let keys = ledger.access_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!format!("{keys:?}").contains(&book.d1.secret), "Debug redacts secrets");
    let mut journal = String::new();
    ledger
        .for_each_transaction(|transaction| -> Result<(), partner_ledger::StoreError> {
            journal.push_str(&format!("{transaction:?}"));
            Ok(())
        })
        .unwrap();
    assert!(journal.contains("D1") && !journal.contains(&book.d1.secret) && !journal.contains(&book.d1.access));
    assert_eq!(ledger.verify().unwrap().transactions, 5, "keys are not transactions");
}
