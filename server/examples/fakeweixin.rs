//! The integration tests' fake WeCom and WeChat API as a process, for the
//! browser tests (`scripts/e2e.sh`): it prints its base URL, then serves until
//! it is killed. Its authorize page signs in one person, for WeCom and WeChat
//! alike: `fakeweixin [ID [NAME]]` (the WeCom user id and the WeChat openid).
//! Its corp, agent, app ids and secrets are the constants of the module.

#[path = "../tests/api/fakeweixin.rs"]
mod fakeweixin;

use std::io::Write;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let id = args.next().unwrap_or_else(|| "e2e-user".into());
    let name = args.next().unwrap_or_else(|| "扫码用户".into());
    let fake = fakeweixin::spawn_fake().await;
    fake.set_next_person(fakeweixin::Person {
        id,
        name,
        avatar: String::new(),
    });
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base);
    let _ = out.flush();
    std::future::pending::<()>().await
}
