//! The service layer: every rule and every SQL statement of the product. REST
//! handlers, sockets, server functions and the CLI are thin adapters over it.

pub mod admin;
pub mod article;
pub mod chat;
pub mod crm;
pub mod display;
pub mod media;
pub mod notify;
pub mod outbox;
pub mod signin;
pub mod signup;
pub mod webhook;

use rand::RngCore;

/// SQL condition over a relation aliased `r`: its rep and its customer belong
/// to the same company. A customer without a company (a row from before
/// migration 0007) matches no rep, so such a relation is never usable, and
/// neither is a cross-company one left over from before the scope rules.
pub const SAME_COMPANY: &str =
    "EXISTS (SELECT 1 FROM customer sc JOIN sales_user su ON su.company_id = sc.company_id
     WHERE sc.id = r.customer_id AND su.id = r.user_id)";

/// A new 32-lowercase-hex token, as the original issued them.
pub fn new_token() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    app::sign::hex(&b)
}
