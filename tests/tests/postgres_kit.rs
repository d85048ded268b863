//! The test kit's PostgreSQL databases (issue 14): each `fresh_database` is a new, empty,
//! reachable database of its own, dropped with its guard; the harness makes one per issuer
//! and keeps it across a restart. Against a real server when `TESSERA_TEST_POSTGRES_URL` is
//! set (`scripts/test-all.sh` starts one); without it, only the URL rewriting is checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_tests::{
    Harness, POSTGRES_URL_VAR, TEST_DATABASE_PREFIX, database_url, fresh_database,
};

#[test]
fn a_url_names_the_new_database_and_keeps_the_rest() {
    for (server, want) in [
        (
            "postgres://tessera@127.0.0.1:5433/tessera",
            "postgres://tessera@127.0.0.1:5433/tessera_t_x",
        ),
        (
            "postgres://u:p@db.example:5432",
            "postgres://u:p@db.example:5432/tessera_t_x",
        ),
        (
            "postgresql://u@h/postgres?connect_timeout=5&application_name=t",
            "postgresql://u@h/tessera_t_x?connect_timeout=5&application_name=t",
        ),
        (
            "postgres://u@h?sslmode=disable",
            "postgres://u@h/tessera_t_x?sslmode=disable",
        ),
        ("postgres://u@h/", "postgres://u@h/tessera_t_x"),
    ] {
        assert_eq!(
            database_url(server, "tessera_t_x").unwrap(),
            want,
            "{server}"
        );
    }
    assert!(database_url("host=127.0.0.1 user=tessera", "tessera_t_x").is_err());
}

/// The test server's URL; `None` (the tests say so) without one, a failure without one
/// when `TESSERA_REQUIRE_POSTGRES` is set (the README test command sets it).
fn server() -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var("TESSERA_REQUIRE_POSTGRES")
                .unwrap_or_default()
                .is_empty(),
            "TESSERA_REQUIRE_POSTGRES is set but {POSTGRES_URL_VAR} is not"
        );
        eprintln!("SKIPPED: {POSTGRES_URL_VAR} is not set; no PostgreSQL server to test against");
    }
    url
}

/// A client of `url` whose connection runs on the test's runtime.
async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    tokio::spawn(conn);
    client
}

async fn exists(server: &tokio_postgres::Client, name: &str) -> bool {
    server
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn fresh_databases_are_empty_separate_and_dropped() {
    let Some(server_url) = server() else {
        assert!(fresh_database().await.is_none());
        eprintln!("{POSTGRES_URL_VAR} is not set: no PostgreSQL server to test against");
        return;
    };
    let server = client(&server_url).await;
    let (a, b) = (
        fresh_database().await.unwrap(),
        fresh_database().await.unwrap(),
    );
    assert_ne!(a.name(), b.name());
    for db in [&a, &b] {
        assert!(db.name().starts_with(TEST_DATABASE_PREFIX), "{}", db.name());
        assert!(exists(&server, db.name()).await);
    }

    // Each URL reaches its own database, empty at first; what one holds the other does not.
    let ca = client(a.url()).await;
    let current: String = ca
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(current, a.name());
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
    let empty: i64 = ca.query_one(tables, &[]).await.unwrap().get(0);
    assert_eq!(empty, 0);
    ca.batch_execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let cb = client(b.url()).await;
    let in_b: i64 = cb.query_one(tables, &[]).await.unwrap().get(0);
    assert_eq!(in_b, 0);

    // Dropped with its guard, even with a connection still open on it (as an issuer's pool).
    let name = a.name().to_owned();
    drop(a);
    assert!(!exists(&server, &name).await);
    assert!(ca.query_one("SELECT 1", &[]).await.is_err());
    assert!(exists(&server, b.name()).await);
}

#[tokio::test]
async fn the_harness_gives_each_issuer_its_database_and_keeps_it_across_a_restart() {
    let mut h = Harness::start().await;
    let other = Harness::start().await;
    let Some(server_url) = server() else {
        assert_eq!(h.database_url(), None);
        return;
    };
    let url = h.database_url().unwrap().to_owned();
    assert_ne!(Some(url.as_str()), other.database_url());
    h.restart().await;
    assert_eq!(h.database_url(), Some(url.as_str()));
    let server = client(&server_url).await;
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert!(exists(&server, &name).await);
    drop(h);
    assert!(!exists(&server, &name).await);
}
