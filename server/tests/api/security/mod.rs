//! Security and abuse resistance (contract §6): each attack an outside tester
//! tried, written as the attack, on SQLite and PostgreSQL, a module per area.

mod creds;
mod hostile;
mod http;
mod limits;
mod logs;
pub(crate) mod outage;
mod scope;
mod signin;
