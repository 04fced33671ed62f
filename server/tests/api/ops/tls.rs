//! PostgreSQL over TLS, against a private cluster with `ssl=on` whose
//! pg_hba.conf has only `hostssl` lines: plain TCP connections are refused.
//! Certificates come from the `openssl` command line: a CA, a server
//! certificate it signs (for 127.0.0.1 and localhost), and a stranger CA.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::security::outage::PgCluster;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn new_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// Writes `ca.pem`, `stranger.pem`, `server.crt` and `server.key` into the
/// cluster's directory and lets only `hostssl` connections in.
fn tls_files(pg: &PgCluster) {
    let dir = pg.dir();
    new_ca(dir, "ca");
    new_ca(dir, "stranger");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    pg.give(&dir.join("server.key"));
    pg.give(&dir.join("server.crt"));
    std::fs::write(
        pg.data().join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    )
    .expect("pg_hba.conf");
}

fn tls_cluster() -> (PgCluster, PathBuf) {
    let pg = PgCluster::create_with(|pg| {
        tls_files(pg);
        format!(
            "-c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
            pg.dir().display()
        )
    });
    let dir = pg.dir().to_path_buf();
    (pg, dir)
}

fn url(pg: &PgCluster, query: &str) -> String {
    format!(
        "postgres://postgres@127.0.0.1:{}/postgres{query}",
        pg.port()
    )
}

/// Whether the connection that runs the query is encrypted.
async fn encrypted(db: &radar::Db) -> bool {
    let on: i64 = sqlx::query_scalar(
        "SELECT CAST(CAST(ssl AS INTEGER) AS BIGINT) FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .fetch_one(&db.pool)
    .await
    .expect("pg_stat_ssl");
    on == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_only() {
    let (pg, dir) = tls_cluster();
    let ca = dir.join("ca.pem");
    let stranger = dir.join("stranger.pem");

    // Encrypted, verified or not; the default (`prefer`) now encrypts too.
    for query in [
        "?sslmode=require".to_owned(),
        format!("?sslmode=verify-ca&sslrootcert={}", ca.display()),
        format!("?sslmode=verify-full&sslrootcert={}", ca.display()),
        String::new(),
    ] {
        let db = radar::Db::connect(&url(&pg, &query), 2)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(encrypted(&db).await, "{query}");
        db.pool.close().await;
    }

    // A certificate from a CA we were not told to trust.
    let e = radar::Db::connect(
        &url(
            &pg,
            &format!("?sslmode=verify-full&sslrootcert={}", stranger.display()),
        ),
        2,
    )
    .await
    .expect_err("a stranger's certificate");
    assert!(
        e.contains("certificate") && e.contains("sslrootcert"),
        "{e}"
    );

    // The whole server over TLS: migrations, requests, and the event listener.
    let tls_url = url(&pg, "?sslmode=require");
    let app = spawn_with(Backend::Postgres, |c| c.database_url = tls_url.clone()).await;
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    assert_eq!(app.st.bus.listener_connected(), Some(true));
    let (u, _k) = app.pair().await;
    let r = app.get(crate::wsutil::S_CONTACT, &u, "").await;
    assert_eq!(code(&r), 200, "{r}");
    drop(app);

    // `prefer` (no sslmode) negotiates TLS for the command line too.
    let out = Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["migrate"])
        .env("DATABASE_URL", url(&pg, ""))
        .output()
        .expect("radar migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // In clear text the server refuses, and `radar serve` says why and what
    // to do, in one line, and exits.
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("DATABASE_URL", url(&pg, "?sslmode=disable"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("radar serve should have given up")
        .expect("radar serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: cannot connect to"), "{err}");
    assert!(err.contains("no pg_hba.conf entry"), "{err}");
    assert!(err.contains("sslmode=require"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("radar listening"), "{stdout}");
}
