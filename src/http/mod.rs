//! The HTTP interface (SPEC section 8): `partner-ledger serve`. One process serves one ledger;
//! requests signed with access keys (SDK-HMAC-SHA256) reach it through two doors that only
//! translate: the JSON-lines door (`POST /v1/commands`) and the Huawei BSS door (the partner
//! API's own paths and fields). The partner console (`/console/`) serves people in a browser
//! over the same queries and commands. See `docs/http.md` and `docs/console.md`.

pub mod auth;
mod bss;
mod commands;
pub mod console;
pub mod engine;
mod idle;
pub mod keys;
pub mod metrics;
pub mod replica;
pub mod server;
pub mod sign;

pub use auth::{Keyring, Principal};
pub use engine::{Applied, Engine, Opener};
pub use replica::ReplicaStatus;
pub use server::{Limits, Replica, ServeError, ServeOptions, Server};
