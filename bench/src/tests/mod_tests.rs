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
    // The default run is every scenario.
    for s in Scenario::value_variants() {
        assert!(
            full.scenarios.contains(s),
            "{s:?} missing from the default run"
        );
    }
    assert_eq!(full.scaling.ns, vec![1000, 10000, 50000]);
    let scaling = Plan::from_args(
        &T::parse_from(["t", "--scenarios", "scaling", "--scale-n", "500,100,500"]).a,
    )
    .expect("plan");
    assert_eq!(scaling.scaling.ns, vec![100, 500]);
    let smoke =
        Plan::from_args(&T::parse_from(["t", "--smoke", "--scenarios", "push,rest-read"]).a)
            .expect("plan");
    assert_eq!(smoke.sockets, vec![50]);
    assert_eq!(smoke.scaling.ns, vec![100, 300]);
    assert_eq!(smoke.scenarios, vec![Scenario::RestRead, Scenario::Push]);
    assert!(smoke.read.duration <= Duration::from_secs(2));
}

#[test]
fn nonsense_is_refused() {
    assert!(Plan::from_args(&T::parse_from(["t", "--concurrency", "0"]).a).is_err());
    assert!(Plan::from_args(&T::parse_from(["t", "--sockets", "0"]).a).is_err());
    assert!(T::try_parse_from(["t", "--scenarios", "nope"]).is_err());
}

#[test]
fn radar_is_the_flag_or_the_one_next_to_this_program() {
    let given = Plan::from_args(&T::parse_from(["t", "--radar", "/opt/x/radar"]).a).expect("plan");
    assert_eq!(given.radar, std::path::PathBuf::from("/opt/x/radar"));
    if std::env::var_os("RADAR_BIN").is_none() {
        let default = Plan::from_args(&T::parse_from(["t"]).a).expect("plan");
        let me = std::env::current_exe().expect("exe");
        assert_eq!(default.radar.parent(), me.parent());
        assert_eq!(
            default.radar.file_name().and_then(|n| n.to_str()),
            Some(format!("radar{}", std::env::consts::EXE_SUFFIX).as_str())
        );
    }
}
