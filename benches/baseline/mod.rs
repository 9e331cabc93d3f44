//! The workload and the in-run baselines, shared by `benches/ledger.rs` (criterion) and
//! `partner-ledger bench` (`src/cli/bench.rs`), which include this folder with `#[path]`, so both
//! measure exactly the same code. Each includer uses a part of it.
#![allow(dead_code)]

pub mod bare_redb;
pub mod lean_sqlite;
pub mod settlement;
pub mod sqlite;
pub mod workload;
