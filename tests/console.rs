//! The partner console's security over real HTTP against a served ledger: no page or form works
//! without a session; a form without its CSRF token, or with another session's, changes nothing;
//! names are escaped; the cookie and the pages carry their flags and headers; a wrong secret key
//! does not sign in; a thousand rapid failed sign-ins sign nobody in and do not hold up others.
//! Whatever must change nothing is checked against the journal head.
#[path = "common/http.rs"]
mod http;

use http::{Answer, Call, Served, commands, key_for, send, send_on, send_raw};
use partner_ledger::http::Limits;
use partner_ledger::{AccessKey, Ledger};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED: [&str; 5] = [
    r#"{"op":"register_partner","id":"s1","actor":"platform","partner":"D1","kind":"distributor"}"#,
    r#"{"op":"register_customer","id":"s2","actor":"partner:D1","customer":"C1","partner":"D1","name":"<script>alert(1)</script>"}"#,
    r#"{"op":"register_customer","id":"s3","actor":"partner:D1","customer":"C2","partner":"D1"}"#,
    r#"{"op":"recharge","id":"s4","actor":"platform","party":"partner:D1","amount":"100000"}"#,
    r#"{"op":"register_partner","id":"s5","actor":"platform","partner":"D2","kind":"distributor"}"#,
];

struct Book {
    _dir: tempfile::TempDir,
    path: PathBuf,
    d1: AccessKey,
    d2: AccessKey,
}

fn book() -> Book {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let ledger = Ledger::open(&path).unwrap();
    assert!(ledger.execute_lines(&SEED).iter().all(partner_ledger::Response::is_ok));
    let (d1, d2) = (key_for(&ledger, "partner:D1"), key_for(&ledger, "partner:D2"));
    drop(ledger);
    Book { _dir: dir, path, d1, d2 }
}

async fn serve(book: &Book) -> Served {
    let path = book.path.clone();
    Served::start(Box::new(move || Ledger::open(&path)), Limits::default()).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Runs `test` against a freshly seeded ledger served on loopback, then stops the server.
fn on_served<F, Fut>(test: F)
where
    F: FnOnce(Arc<Book>, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let book = Arc::new(book());
    runtime().block_on(async {
        let served = serve(&book).await;
        test(Arc::clone(&book), served.addr).await;
        served.stop().await;
    });
}

fn headers(addr: SocketAddr, cookie: Option<&str>) -> Vec<(String, String)> {
    let mut headers =
        vec![("Host".to_owned(), addr.to_string()), ("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    if let Some(cookie) = cookie {
        headers.push(("Cookie".to_owned(), cookie.to_owned()));
    }
    headers
}

fn form_body(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

async fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Answer {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut call = Call::new("GET", path);
    call.query = query.to_owned();
    send_raw(addr, &call, &headers(addr, cookie)).await
}

async fn post(addr: SocketAddr, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Answer {
    send_raw(addr, &Call::new("POST", path).body(form_body(fields)), &headers(addr, cookie)).await
}

/// Signs in with a key; the `Cookie` header value of the session.
async fn sign_in(addr: SocketAddr, key: &AccessKey) -> String {
    let answer = post(addr, "/console/signin", None, &[("access_key", &key.access), ("secret_key", &key.secret)]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let cookie = answer.headers["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The CSRF token of the first form of a page.
fn csrf_of(page: &Answer) -> String {
    let start = page.body.find(r#"name="csrf" value=""#).expect("a form with a CSRF token") + r#"name="csrf" value=""#.len();
    page.body[start..].split('"').next().unwrap().to_owned()
}

/// The journal head, from the health answer.
async fn head(addr: SocketAddr) -> u64 {
    send_raw(addr, &Call::new("GET", "/v1/health"), &[]).await.json()["applied_seq"].as_u64().unwrap()
}

const PAGES: [&str; 10] =
    ["overview", "customers", "customers/C1", "funds", "coupons", "payments", "dashboard", "withdrawals", "invoices", "operators"];

fn allocation<'a>(csrf: &'a str, request: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("request", request),
        ("form", "allocate"),
        ("back", "/console/funds"),
        ("customer", "C1"),
        ("amount", "10"),
        ("confirm", "yes"),
    ]
}

#[test]
fn no_page_or_form_works_without_a_session() {
    on_served(|book, addr| async move {
        let before = head(addr).await;
        for page in PAGES {
            let answer = get(addr, &format!("/console/{page}"), None).await;
            assert_eq!((answer.status, answer.headers["location"].to_str().unwrap()), (303, "/console/signin"), "{page}");
            let forged = get(addr, &format!("/console/{page}"), Some("pl_console=0123456789abcdef")).await;
            assert_eq!(forged.status, 303, "{page} with a made-up session");
        }
        for action in ["allocate", "recover", "issue_coupon", "pay_partner", "reject_payment", "request_withdrawal", "register_operator"] {
            let answer = post(addr, &format!("/console/actions/{action}"), None, &allocation("x", "r-nosession")).await;
            assert_eq!(answer.status, 401, "{action}");
            assert!(answer.body.contains("You are not signed in"));
        }
        // A signed-out session is gone for good.
        let cookie = sign_in(addr, &book.d1).await;
        let page = get(addr, "/console/funds", Some(&cookie)).await;
        assert_eq!(page.status, 200);
        let csrf = csrf_of(&page);
        assert_eq!(post(addr, "/console/signout", Some(&cookie), &[("csrf", &csrf)]).await.status, 303);
        assert_eq!(get(addr, "/console/funds", Some(&cookie)).await.status, 303);
        assert_eq!(post(addr, "/console/actions/allocate", Some(&cookie), &allocation(&csrf, "r-signedout")).await.status, 401);
        assert_eq!(head(addr).await, before, "nothing changed");
    });
}

#[test]
fn a_form_without_its_csrf_token_or_with_another_sessions_changes_nothing() {
    on_served(|book, addr| async move {
        let (mine, theirs) = (sign_in(addr, &book.d1).await, sign_in(addr, &book.d1).await);
        let my_csrf = csrf_of(&get(addr, "/console/funds", Some(&mine)).await);
        let their_csrf = csrf_of(&get(addr, "/console/funds", Some(&theirs)).await);
        assert_ne!(my_csrf, their_csrf);
        let before = head(addr).await;
        let mut without = allocation("", "r-csrf-1");
        without.retain(|(name, _)| *name != "csrf");
        for (fields, what) in [
            (without, "no token"),
            (allocation(&their_csrf, "r-csrf-2"), "another session's token"),
            (allocation("", "r-csrf-3"), "an empty token"),
        ] {
            let answer = post(addr, "/console/actions/allocate", Some(&mine), &fields).await;
            assert_eq!(answer.status, 403, "{what}: {}", answer.body);
            assert!(answer.body.contains("CSRF"), "{what}");
        }
        let signout = post(addr, "/console/signout", Some(&mine), &[("csrf", &their_csrf)]).await;
        assert_eq!(signout.status, 403, "sign-out needs the token too");
        assert_eq!(head(addr).await, before, "nothing changed");
        // With its own token, the same form allocates (once: sending it again is a duplicate).
        for _ in 0..2 {
            let answer = post(addr, "/console/actions/allocate", Some(&mine), &allocation(&my_csrf, "r-csrf-4")).await;
            assert_eq!((answer.status, answer.headers["location"].to_str().unwrap()), (303, "/console/funds"));
        }
        assert_eq!(head(addr).await, before + 1);
        let balance = commands(addr, &book.d1, &[json!({"op": "balance", "party": "customer:C1"})]).await;
        assert_eq!(balance[0]["result"]["allocated"], "10.00");
    });
}

#[test]
fn the_first_step_of_an_allocation_only_asks_for_confirmation_and_refusals_change_nothing() {
    on_served(|book, addr| async move {
        let cookie = sign_in(addr, &book.d1).await;
        let csrf = csrf_of(&get(addr, "/console/customers/C1", Some(&cookie)).await);
        let before = head(addr).await;
        let mut first = allocation(&csrf, "r-confirm-1");
        first.retain(|(name, _)| *name != "confirm");
        let confirm = post(addr, "/console/actions/allocate", Some(&cookie), &first).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.body.contains(r#"id="confirm-submit""#) && confirm.body.contains(r#"name="confirm" value="yes""#));
        assert_eq!(head(addr).await, before, "confirming changes nothing");
        // Over the available cash: the page again, the SPEC error at the amount, nothing changed.
        let mut fields = allocation(&csrf, "r-confirm-2");
        fields.retain(|(name, _)| *name != "amount");
        fields.push(("amount", "999999"));
        let refused = post(addr, "/console/actions/allocate", Some(&cookie), &fields).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains(r#"id="allocate-amount-error""#), "{}", refused.body);
        assert!(refused.body.contains("insufficient_funds") && refused.body.contains("CBC.99005003"));
        // D2's session may not act on D1's customer: the engine's refusal, shown.
        let other = sign_in(addr, &book.d2).await;
        let other_csrf = csrf_of(&get(addr, "/console/funds", Some(&other)).await);
        let denied = post(addr, "/console/actions/allocate", Some(&other), &allocation(&other_csrf, "r-confirm-3")).await;
        assert!(denied.body.contains("not_your_customer"), "{}", denied.body);
        assert_eq!(get(addr, "/console/customers/C1", Some(&other)).await.status, 403);
        assert_eq!(head(addr).await, before, "nothing changed");
    });
}

#[test]
fn a_customer_name_with_a_script_is_shown_escaped() {
    on_served(|book, addr| async move {
        let cookie = sign_in(addr, &book.d1).await;
        let page = get(addr, "/console/customers", Some(&cookie)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.body);
        assert!(!page.body.contains("<script"), "no script element anywhere");
        // A hostile path is escaped too (and is no page).
        let hostile = get(addr, "/console/customers/%3Cscript%3E", Some(&cookie)).await;
        assert!(!hostile.body.contains("<script"));
    });
}

#[test]
fn the_cookie_and_the_pages_carry_their_flags() {
    on_served(|book, addr| async move {
        let answer = post(addr, "/console/signin", None, &[("access_key", &book.d1.access), ("secret_key", &book.d1.secret)]).await;
        let cookie = answer.headers["set-cookie"].to_str().unwrap().to_owned();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(cookie.split("; ").any(|part| part == flag), "{flag} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag (it is set under TLS)");
        let session = cookie.split(';').next().unwrap();
        for page in ["/console/overview", "/console/signin", "/console/nowhere"] {
            let answer = get(addr, page, Some(session)).await;
            let header = |name: &str| answer.headers.get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(header("content-security-policy").starts_with("default-src 'self'"), "{page}");
            assert_eq!(header("x-frame-options"), "DENY");
            assert_eq!(header("referrer-policy"), "no-referrer");
            assert_eq!(header("cache-control"), "no-store");
            assert!(!answer.body.contains("<script"), "no JavaScript on {page}");
        }
        assert_eq!(get(addr, "/console/nowhere", Some(session)).await.status, 404);
    });
}

#[test]
fn a_wrong_secret_key_does_not_sign_in() {
    on_served(|book, addr| async move {
        let mut wrong = book.d1.secret.clone();
        wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
        for (access, secret) in
            [(book.d1.access.as_str(), wrong.as_str()), (book.d1.access.as_str(), ""), ("NOSUCHKEY", book.d1.secret.as_str())]
        {
            let answer = post(addr, "/console/signin", None, &[("access_key", access), ("secret_key", secret)]).await;
            assert_eq!(answer.status, 401);
            assert!(answer.headers.get("set-cookie").is_none());
            assert!(answer.body.contains("the access key or the secret key is wrong"));
        }
    });
}

/// A sign-in sent from another loopback address (Linux routes all of 127/8 to lo).
async fn sign_in_from(source: &str, addr: SocketAddr, key: &AccessKey, secret: &str) -> Answer {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let call = Call::new("POST", "/console/signin").body(form_body(&[("access_key", &key.access), ("secret_key", secret)]));
    send_on(stream, &call, &headers(addr, None)).await
}

#[test]
fn a_thousand_rapid_failed_sign_ins_neither_slow_others_nor_sign_anyone_in() {
    on_served(|book, addr| async move {
        let before = head(addr).await;
        let attackers: Vec<_> = (0..1000)
            .map(|attempt| {
                let key = book.d1.clone();
                tokio::spawn(async move {
                    let secret = format!("wrong-{attempt}");
                    post(addr, "/console/signin", None, &[("access_key", &key.access), ("secret_key", &secret)]).await
                })
            })
            .collect();
        // Meanwhile another client's signed requests are served, each promptly.
        let mut slowest = Duration::ZERO;
        for index in 0..20 {
            let started = Instant::now();
            let line = json!({"op": "allocate", "id": format!("other-{index}"), "to": "customer:C2", "amount": "1"});
            let answer = send(addr, &book.d1, &Call::new("POST", "/v1/commands").body(line.to_string())).await;
            assert_eq!(answer.status, 200);
            assert_eq!(answer.lines()[0]["ok"], true, "{}", answer.body);
            slowest = slowest.max(started.elapsed());
        }
        assert!(slowest < Duration::from_secs(5), "another client waited {slowest:?}");
        let mut refused = (0, 0);
        for attacker in attackers {
            let answer = attacker.await.unwrap();
            assert!(answer.headers.get("set-cookie").is_none(), "nobody is signed in");
            match answer.status {
                401 => refused.0 += 1,
                429 => refused.1 += 1,
                other => panic!("a failed sign-in answered {other}"),
            }
        }
        eprintln!(
            "1000 failed sign-ins: {} answered 401, {} throttled (429); the other client's slowest request took {slowest:?}",
            refused.0, refused.1
        );
        assert_eq!(refused.0 + refused.1, 1000);
        assert!(refused.1 > 900, "the address is throttled after a few failures: {refused:?}");
        assert_eq!(head(addr).await, before + 20, "only the other client's allocations were applied");
        // The throttled address is refused even with the right secret; another address is not.
        let throttled = sign_in_from("127.0.0.1", addr, &book.d1, &book.d1.secret).await;
        assert_eq!(throttled.status, 429);
        let elsewhere = sign_in_from("127.0.0.2", addr, &book.d1, &book.d1.secret).await;
        assert_eq!(elsewhere.status, 303, "{}", elsewhere.body);
    });
}

#[test]
fn under_tls_the_cookie_is_also_secure() {
    use http_body_util::{BodyExt, Full};
    use partner_ledger::http::{ServeOptions, Server};
    let book = book();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (book.path.with_file_name("cert.pem"), book.path.with_file_name("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    runtime().block_on(async {
        let path = book.path.clone();
        let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), tls: Some((cert, key)), limits: Limits::default() };
        let server = Server::bind(Box::new(move || Ledger::open(&path)), options).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("a TLS connection");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let body = form_body(&[("access_key", &book.d1.access), ("secret_key", &book.d1.secret)]);
        let request = hyper::Request::post("/console/signin")
            .header("host", "localhost")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(hyper::body::Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 303);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        let _ = response.into_body().collect().await;
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
            assert!(cookie.split("; ").any(|part| part == flag), "{flag} in {cookie}");
        }
        let _ = stop.send(());
        running.await.unwrap();
    });
}
