//! A served ledger for the HTTP tests: an in-process `Server` on a free loopback port, a client
//! that signs like the Huawei SDK (SDK-HMAC-SHA256), and raw sockets for hostile traffic.
#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use partner_ledger::http::auth::format_sdk_date;
use partner_ledger::http::sign::{Signable, canonical_request, sign, string_to_sign};
use partner_ledger::http::{Limits, Opener, ServeOptions, Server};
use partner_ledger::{AccessKey, Clock, Ledger, Party, SystemClock, Timestamp};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A running server: its address, and what stops it.
pub struct Served {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    /// Starts serving the ledger `opener` opens.
    pub async fn start(opener: Opener, limits: Limits) -> Served {
        let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), tls: None, limits };
        let server = Server::bind(opener, options).await.expect("the server binds");
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Served { addr, stop: Some(stop), done: Some(done) }
    }

    /// Stops it gracefully and waits until the ledger is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.expect("the server task ends");
        }
    }
}

/// A key made for `actor` in an open ledger.
pub fn key_for(ledger: &Ledger, actor: &str) -> AccessKey {
    partner_ledger::http::keys::add(ledger, &Party::parse(actor).unwrap(), SystemClock.now()).expect("a key is made")
}

/// An answer: status, headers and body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.body.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

/// A request to sign and send.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// When it was signed (default: now).
    pub date: Option<Timestamp>,
}

impl Call {
    pub fn new(method: &'static str, path: &str) -> Call {
        Call { method, path: path.to_owned(), query: String::new(), body: Vec::new(), headers: Vec::new(), date: None }
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Call {
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn at(mut self, date: Timestamp) -> Call {
        self.date = Some(date);
        self
    }

    /// The headers of this call signed with `key` (and `secret`, which may differ from the key's
    /// to forge a signature), as the SDK sends them.
    pub fn signed_headers(&self, addr: SocketAddr, access: &str, secret: &str) -> Vec<(String, String)> {
        let date = format_sdk_date(self.date.unwrap_or_else(|| SystemClock.now()));
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Host".to_owned(), addr.to_string()),
            ("User-Agent".to_owned(), "partner-ledger-tests".to_owned()),
            ("X-Sdk-Date".to_owned(), date.clone()),
        ];
        headers.extend(self.headers.iter().cloned());
        let mut names: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
        names.sort();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let signable = Signable { method: self.method, path: &self.path, query: &self.query, headers: &pairs, body: &self.body };
        let canonical = canonical_request(&signable, &names).expect("canonical");
        let signature = sign(secret, &string_to_sign(&date, &canonical));
        headers.push((
            "Authorization".to_owned(),
            format!("SDK-HMAC-SHA256 Access={access}, SignedHeaders={}, Signature={signature}", names.join(";")),
        ));
        headers
    }
}

/// Sends a request with exactly these headers on a fresh connection.
pub async fn send_raw(addr: SocketAddr, call: &Call, headers: &[(String, String)]) -> Answer {
    send_on(TcpStream::connect(addr).await.expect("connect"), call, headers).await
}

/// Sends a request with exactly these headers on a connected stream; panics if the answer is cut off.
pub async fn send_on(stream: TcpStream, call: &Call, headers: &[(String, String)]) -> Answer {
    try_send_on(stream, call, headers).await.expect("a response")
}

/// Sends a request with exactly these headers on a connected stream; the error when the
/// connection ends without a whole answer.
pub async fn try_send_on(stream: TcpStream, call: &Call, headers: &[(String, String)]) -> Result<Answer, hyper::Error> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let uri = if call.query.is_empty() { call.path.clone() } else { format!("{}?{}", call.path, call.query) };
    let mut builder = hyper::Request::builder().method(call.method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = sender.send_request(builder.body(Full::new(Bytes::from(call.body.clone()))).unwrap()).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Signs with `key` and sends.
pub async fn send(addr: SocketAddr, key: &AccessKey, call: &Call) -> Answer {
    send_raw(addr, call, &call.signed_headers(addr, &key.access, &key.secret)).await
}

/// Runs JSON lines through `POST /v1/commands`.
pub async fn commands(addr: SocketAddr, key: &AccessKey, lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let body: Vec<String> = lines.iter().map(serde_json::Value::to_string).collect();
    let answer = send(addr, key, &Call::new("POST", "/v1/commands").body(body.join("\n"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.lines()
}
