//! Security and abuse resistance (contract §6): each attack an outside tester
//! tried, written as the attack, on SQLite and PostgreSQL. One test binary with
//! a module per area, so it links once.

#[path = "../common/mod.rs"]
mod common;
mod creds;
mod hostile;
mod http;
mod limits;
mod outage;
mod scope;
#[path = "../wsutil/mod.rs"]
mod wsutil;
