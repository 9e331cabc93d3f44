//! docs/protocol.md is executable: its requests, replayed in order on a fresh ledger, give exactly
//! its responses, and every command and query of SPEC.md has a section. Set PROTOCOL_DOC_WRITE=1
//! to rewrite the responses after an intended change.
mod common;
use common::{COMMANDS, QUERIES};
use partner_ledger::{Clock, Ledger, Timestamp};
use serde_json::Value;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::parse("2026-11-25T00:00:00Z").expect("valid time")
    }
}

/// The text of the fenced block with info string `info` starting after line `from`, and the
/// index of its first and last content lines.
fn block(lines: &[&str], from: usize, info: &str) -> Option<(usize, usize)> {
    let open = (from..lines.len()).find(|&index| lines[index].trim() == format!("```{info}"))?;
    let close = (open + 1..lines.len()).find(|&index| lines[index].trim() == "```")?;
    Some((open + 1, close))
}

#[test]
fn protocol_doc_requests_give_its_responses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = Ledger::open_with_clock(dir.path().join("doc.redb"), Box::new(FixedClock)).expect("open");
    let write = std::env::var_os("PROTOCOL_DOC_WRITE").is_some();
    let mut rewritten: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
    let (mut at, mut pairs) = (0, 0);
    while let Some((request_start, request_end)) = block(&lines, at, "json request") {
        let (response_start, response_end) = block(&lines, request_end, "json response").expect("each request has a response block");
        let request = lines[request_start..request_end].join("\n");
        let actual = ledger.execute_line(&request).to_line();
        if write {
            for line in &mut rewritten[response_start..response_end] {
                line.clear();
            }
            rewritten[response_start] = actual;
        } else {
            let documented: Value = serde_json::from_str(&lines[response_start..response_end].join("\n")).expect("response block is JSON");
            let actual: Value = serde_json::from_str(&actual).expect("a response line is JSON");
            assert_eq!(actual, documented, "docs/protocol.md line {}: {request}", request_start + 1);
        }
        pairs += 1;
        at = response_end + 1;
    }
    if write {
        // Multi-line response blocks collapse to the one line the ledger prints.
        std::fs::write(path, rewritten.join("\n").replace("\n\n```", "\n```") + "\n").expect("rewrite docs/protocol.md");
    }
    assert!(pairs >= COMMANDS.len() + QUERIES.len(), "only {pairs} examples");
    for operation in COMMANDS.iter().chain(&QUERIES) {
        assert!(text.contains(&format!("\n## {operation}\n")), "docs/protocol.md has no section for {operation}");
    }
    assert!(ledger.verify().is_ok());
}
