use super::*;
use clap::Parser;

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: BenchArgs,
}

#[test]
fn defaults_and_smoke_plans() {
    let full = Plan::from_args(&T::parse_from(["t"]).a).expect("plan");
    assert_eq!(full.sockets, vec![1000, 10000]);
    assert_eq!(full.read.concurrency, 64);
    assert_eq!(full.sizes.socket_pairs, 10000);
    assert_eq!(full.scenarios.len(), 5);
    let smoke =
        Plan::from_args(&T::parse_from(["t", "--smoke", "--scenarios", "push,rest-read"]).a)
            .expect("plan");
    assert_eq!(smoke.sockets, vec![50]);
    assert_eq!(smoke.scenarios, vec![Scenario::RestRead, Scenario::Push]);
    assert!(smoke.read.duration <= Duration::from_secs(2));
}

#[test]
fn nonsense_is_refused() {
    assert!(Plan::from_args(&T::parse_from(["t", "--concurrency", "0"]).a).is_err());
    assert!(Plan::from_args(&T::parse_from(["t", "--sockets", "0"]).a).is_err());
    assert!(T::try_parse_from(["t", "--scenarios", "nope"]).is_err());
}
