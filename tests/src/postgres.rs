//! A fresh PostgreSQL database per test (issue 14): when `TESSERA_TEST_POSTGRES_URL` names
//! a server (`scripts/postgres.sh start` prints one; `scripts/test-all.sh` starts it), each
//! [`fresh_database`] creates an empty database `tessera_t_<random>` there and answers its
//! URL; without the variable it answers `None` and the issuer stays on SQLite.
//!
//! The database lives as long as its [`TestDatabase`]: dropping it drops the database
//! (`WITH (FORCE)`, so an issuer's pooled connections do not hold it). A run that is killed
//! leaves its databases behind; `scripts/postgres.sh start` drops every `tessera_t_*` of
//! the private server, and on a server of your own they are found by that prefix.
//!
//! Included by the harness (so also by the issuer's own tests through `#[path]`): it names
//! only crates both have.

use ring::rand::{SecureRandom, SystemRandom};

/// The environment variable naming the PostgreSQL server for the tests, as a URL
/// `postgres://user@host:port/database`. Its role must be allowed to create databases.
pub const POSTGRES_URL_VAR: &str = "TESSERA_TEST_POSTGRES_URL";

/// Prefix of every database a test creates.
pub const TEST_DATABASE_PREFIX: &str = "tessera_t_";

/// A database created for one test on the server of [`POSTGRES_URL_VAR`], dropped with
/// this guard.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Its URL: the server's, naming this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name, `tessera_t_` and 16 hex digits.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a test's runtime (which cannot block on another future) or
        // outside any: a thread of its own with its own runtime works in both.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let client = connect(&server).await?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("test database {} not dropped: {e}", self.name),
            Err(_) => eprintln!(
                "test database {} not dropped: the thread panicked",
                self.name
            ),
        }
    }
}

/// A new empty database on the server of [`POSTGRES_URL_VAR`], or `None` when the variable
/// is unset or empty. Panics when the server cannot be reached or refuses: a test asked for
/// PostgreSQL must not pass on SQLite.
pub async fn fresh_database() -> Option<TestDatabase> {
    let server = std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(
        create_database(&server)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: {e}")),
    )
}

/// A new empty database `tessera_t_<random>` on the PostgreSQL server at `server` (a URL
/// whose role may create databases), dropped with the guard.
pub async fn create_database(server: &str) -> Result<TestDatabase, String> {
    let mut random = [0u8; 8];
    SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| "no random numbers".to_owned())?;
    let name = format!("{TEST_DATABASE_PREFIX}{}", hex::encode(random));
    let url = database_url(server, &name)?;
    let client = connect(server).await?;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| format!("CREATE DATABASE {name}: {e} (the role needs CREATEDB)"))?;
    Ok(TestDatabase {
        server: server.to_owned(),
        name,
        url,
    })
}

/// `server` (a `postgres://` or `postgresql://` URL) naming the database `name` instead of
/// its own; its query parameters stay.
pub fn database_url(server: &str, name: &str) -> Result<String, String> {
    let Some(scheme_end) = server.find("://").map(|i| i + 3) else {
        return Err("not a URL: postgres://user@host:port/database expected".to_owned());
    };
    let rest = &server[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after_path = rest[authority_end..]
        .find('?')
        .map_or("", |q| &rest[authority_end + q..]);
    Ok(format!(
        "{}{}/{name}{after_path}",
        &server[..scheme_end],
        &rest[..authority_end]
    ))
}

/// A client of `url` without TLS (loopback tests; the workspace has no TLS crate for
/// PostgreSQL), its connection driven by a task of the current runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}
