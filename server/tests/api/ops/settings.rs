//! Every setting is a flag of `radar serve` with its environment variable, and
//! the README's table of settings says what `radar serve --help` says.

use std::collections::BTreeSet;
use std::process::Command;

fn help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["serve", "--help"])
        .env(
            "RADAR_STATE_KEY",
            "a-secret-state-key-that-must-not-show-0123",
        )
        .env("RADAR_METRICS_TOKEN", "a-secret-metrics-token")
        .env("DATABASE_URL", "postgres://user:db-password@127.0.0.1/db")
        .output()
        .expect("radar serve --help");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The rows of the README's settings table: variable → default cell.
fn readme_table() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("| variable | default | meaning |")
        .expect("the settings table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// The `[env: NAME]` annotations of `--help`.
fn help_envs(help: &str) -> BTreeSet<String> {
    help.match_indices("[env: ")
        .map(|(i, m)| {
            help[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn serve_help_and_the_readme_table_list_the_same_settings() {
    let help = help();
    let in_help = help_envs(&help);
    let table = readme_table();
    let in_readme: BTreeSet<String> = table.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(in_help, in_readme, "radar serve --help vs README:\n{help}");
    let code: BTreeSet<String> = radar::config::SETTINGS
        .iter()
        .map(|s| s.env.to_owned())
        .chain(["DATABASE_URL".to_owned()])
        .collect();
    assert_eq!(code, in_help);
    // Defaults: the README's default cell is the one --help prints.
    for s in radar::config::SETTINGS {
        let (_, cell) = table.iter().find(|(k, _)| k == s.env).expect("row");
        if let Some(d) = s.default {
            assert_eq!(cell, &format!("`{d}`"), "{}", s.env);
            assert!(help.contains(&format!("[default: {d}]")), "{}", s.env);
        }
        assert!(
            help.contains(&format!("--{} <VALUE>", s.flag)),
            "{}",
            s.flag
        );
    }
    // Secrets stay out of --help.
    for secret in [
        "a-secret-state-key",
        "a-secret-metrics-token",
        "db-password",
    ] {
        assert!(!help.contains(secret), "{secret} in --help");
    }
}

/// A flag wins over its variable, a blank variable counts as unset, and a
/// bad value is refused with its name.
#[test]
fn settings_come_from_flags_then_environment_then_defaults() {
    use clap::Parser;
    let cli = radar::cli::Cli::try_parse_from([
        "radar",
        "serve",
        "--write-burst",
        "7",
        "--public-url",
        "https://radar.example.com/",
    ])
    .expect("parse");
    let radar::cli::Cmd::Serve { settings } = cli.cmd else {
        panic!("not serve")
    };
    let c = radar::Config::from_settings(&settings).expect("config");
    assert_eq!(c.write_burst, 7);
    assert_eq!(c.public_url, "https://radar.example.com");
    assert_eq!(c.article_share, None);

    let mut s = radar::config::Settings::default();
    s.set("RADAR_ADDR", "  ");
    s.set("RADAR_WRITE_RATE", "");
    let c = radar::Config::from_settings(&s).expect("blank = default");
    assert_eq!(c.addr.to_string(), radar::config::DEFAULT_ADDR);
    assert_eq!(c.write_rate, 10.0);

    let mut s = radar::config::Settings::default();
    assert!(
        radar::Config::from_settings(&s)
            .expect("default")
            .contact_cache
    );
    s.set("RADAR_CONTACT_CACHE", "off");
    assert!(!radar::Config::from_settings(&s).expect("off").contact_cache);
    s.set("RADAR_CONTACT_CACHE", "maybe\0");
    let e = radar::Config::from_settings(&s).expect_err("neither on nor off");
    assert!(e.contains("RADAR_CONTACT_CACHE"), "{e}");

    let mut s = radar::config::Settings::default();
    s.set("RADAR_ARTICLE_API_URL", "https://api.example.com");
    let e = radar::Config::from_settings(&s).expect_err("one of three");
    assert!(e.contains("RADAR_ARTICLE_AUTH_URL"), "{e}");
    s.set("RADAR_ARTICLE_AUTH_URL", "https://share.example.com/");
    s.set("RADAR_ARTICLE_COMPONENT_APPID", "wx_component");
    let c = radar::Config::from_settings(&s).expect("all three");
    assert_eq!(
        c.article_share,
        Some(radar::config::ArticleShare {
            api_url: "https://api.example.com".into(),
            authorization_url: "https://share.example.com".into(),
            component_appid: "wx_component".into(),
        })
    );

    for (k, v) in [
        ("RADAR_LOG_FORMAT", "xml"),
        ("RADAR_WS_PING_SECS", "0"),
        ("RADAR_TZ", "Mars/Olympus"),
    ] {
        let mut s = radar::config::Settings::default();
        s.set(k, v);
        let e = radar::Config::from_settings(&s).expect_err(k);
        assert!(e.contains(k), "{e}");
    }
}
