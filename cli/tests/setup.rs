//! Setting up an event by hand with the `tessera` binary against a real `tessera issuer
//! serve` (issue 13 item 6): `issuer event create`, `order create`, `token create | list |
//! revoke` with typed flags, errors that name the flag; and the wallet taking its options
//! after the subcommand and from the environment, remembering its vault, saying why a
//! sync brought no tickets, and `qr --watch` rotating (and counting down to a strict
//! just-in-time window first).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{tessera_with, text};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// `tessera issuer serve --dev` on a free port, killed when dropped.
struct Served {
    child: Child,
    url: String,
    admin: String,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["issuer", "serve", "--dev", "--port", "0", "--data-dir"])
            .arg(dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let second = lines.next().unwrap().unwrap();
        let url = first.rsplit(' ').next().unwrap().to_owned();
        let admin = second.strip_prefix("admin token: ").unwrap().to_owned();
        // Keep reading: a closed pipe would end the issuer at its next line of output.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url,
            admin,
            _dir: dir,
        }
    }

    /// The newest dev-outbox message to `to`, read over plain HTTP as curl would.
    fn last_message_to(&self, to: &str) -> String {
        let host = self.url.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(host).unwrap();
        write!(
            s,
            "GET /v1/dev/outbox HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Connection: close\r\n\r\n",
            self.admin
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let body = &reply[reply.find("\r\n\r\n").unwrap() + 4..];
        let all: Vec<Value> = serde_json::from_str(body).unwrap();
        let m = all.iter().rev().find(|m| m["to"] == to).unwrap();
        m["body"].as_str().unwrap().to_owned()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A usage or issuer error: exit code 2, one line on stderr.
fn refused(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The first 32-hex-digit word of a line containing `marker`.
fn ticket_on_line(out: &str, marker: &str) -> String {
    out.lines()
        .filter(|l| l.contains(marker))
        .flat_map(str::split_whitespace)
        .find(|w| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no ticket id on a line with {marker:?}:\n{out}"))
        .to_owned()
}

/// The steps of the frames `wallet qr` printed ("T1 · step N · …").
fn steps(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.split(" · step ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn an_event_order_and_staff_tokens_are_set_up_with_typed_flags() {
    let issuer = Served::start();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, format!("{}\n", issuer.admin)).unwrap();
    let url = issuer.url.as_str();
    let admin_env = [
        ("TESSERA_ISSUER", url),
        ("TESSERA_TOKEN", issuer.admin.as_str()),
    ];

    // The event: flags for every policy field, the token from a file, the answer as JSON.
    let out = ok(&tessera_with(
        &[
            "issuer",
            "event",
            "create",
            "--issuer",
            url,
            "--token-file",
            token_file.to_str().unwrap(),
            "--id",
            "7",
            "--name",
            "Friday Gig",
            "--opens-at",
            "2027-01-15T08:00:00Z",
            "--duration",
            "4h",
            "--format",
            "s1",
            "--period",
            "5",
            "--strict-jit",
            "--requires",
            "email,phone",
            "--personalised",
            "--change-block",
            "--reentry",
            "--transferable",
            "--totp-algorithm",
            "sha256",
            "--totp-digits",
            "7",
            "--json",
        ],
        &[],
    ));
    let p: Value = serde_json::from_str(&out).unwrap();
    let want = serde_json::json!({
        "event_id": 7, "name": "Friday Gig", "reveal_opens_at": 1_800_000_000_i64,
        "valid_until": 1_800_014_400_i64, "period_secs": 5, "format": "S1",
        "totp_algorithm": "Sha256", "totp_digits": 7, "strict_jit": true,
        "requires": ["Email", "Phone"], "personalised": true, "change_block": true,
        "reentry": true, "transferable": true,
    });
    assert_eq!(p, want);
    // The defaults, in words, with the URL and token from the environment.
    let out = ok(&tessera_with(
        &["issuer", "event", "create", "--id", "8", "--name", "Plain"],
        &admin_env,
    ));
    assert!(out.contains("event 8 saved: Plain"), "{out}");
    assert!(out.contains("C1, rotates every 15 s"), "{out}");
    assert!(out.contains("policy   none"), "{out}");

    // Errors name the flag, before anything is sent.
    for (args, flag) in [
        (
            &["--id", "9", "--name", "X", "--period", "3"][..],
            "--period",
        ),
        (&["--id", "9", "--name", "X", "--format", "T3"], "--format"),
        (
            &["--id", "9", "--name", "X", "--opens-in", "soon"],
            "--opens-in",
        ),
        (&["--id", "9"], "--name"),
        (
            &["--id", "9", "--name", "X", "--valid-until", "1000"],
            "--valid-until",
        ),
    ] {
        let mut all = vec!["issuer", "event", "create"];
        all.extend_from_slice(args);
        let err = refused(&tessera_with(&all, &admin_env));
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let err = refused(&tessera_with(
        &["issuer", "event", "create", "--id", "9", "--name", "X"],
        &[("TESSERA_ISSUER", url)],
    ));
    assert!(err.contains("no token"), "{err}");

    // An order: a personalised event needs a holder; the issuer's refusal is shown.
    let err = refused(&tessera_with(
        &[
            "issuer",
            "order",
            "create",
            "--event",
            "7",
            "--email",
            "a@example.org",
        ],
        &admin_env,
    ));
    assert!(
        err.contains("/v1/admin/orders: HTTP 400 bad_request"),
        "{err}"
    );
    let out = ok(&tessera_with(
        &[
            "issuer",
            "order",
            "create",
            "--event",
            "7",
            "--email",
            "a@example.org",
            "--holder",
            "Ada",
            "--seat",
            "A1",
            "--seat",
            "A2",
        ],
        &admin_env,
    ));
    assert!(out.contains("order: 2 ticket(s) of event 7"), "{out}");
    ticket_on_line(&out, "A1");
    ticket_on_line(&out, "A2");
    let out = ok(&tessera_with(
        &[
            "issuer",
            "order",
            "create",
            "--event",
            "8",
            "--email",
            "b@example.org",
            "--tickets",
            "3",
            "--json",
        ],
        &admin_env,
    ));
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["tickets"].as_array().unwrap().len(), 3, "{out}");

    // A gate token, written to a private file; it fetches its event's bundle.
    let gate_file = dir.path().join("gate.token");
    let out = ok(&tessera_with(
        &[
            "issuer",
            "token",
            "create",
            "--role",
            "gate",
            "--event",
            "7",
            "--gate-id",
            "north-1",
            "--out",
            gate_file.to_str().unwrap(),
        ],
        &admin_env,
    ));
    assert!(
        !out.contains(&read_token(&gate_file)),
        "the token is in the file only"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&gate_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("id "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_owned();
    assert!(out.contains("gate · event 7 · gate north-1"), "{out}");
    let bundle = |file: &Path| {
        tessera_with(
            &[
                "gate",
                "bundle",
                "--issuer",
                url,
                "--token-file",
                file.to_str().unwrap(),
                "--event",
                "7",
                "--out",
                dir.path().join("bundle.json").to_str().unwrap(),
                "--full",
            ],
            &[],
        )
    };
    ok(&bundle(&gate_file));
    // Gate scopes are checked here, before the issuer is asked.
    let err = refused(&tessera_with(
        &[
            "issuer", "token", "create", "--role", "gate", "--event", "7",
        ],
        &admin_env,
    ));
    assert!(err.contains("--gate-id"), "{err}");
    let err = refused(&tessera_with(
        &[
            "issuer",
            "token",
            "create",
            "--role",
            "box_office",
            "--gate-id",
            "x",
        ],
        &admin_env,
    ));
    assert!(err.contains("--gate-id is for --role gate only"), "{err}");
    let out = ok(&tessera_with(
        &[
            "issuer",
            "token",
            "create",
            "--role",
            "box-office",
            "--event",
            "8",
            "--json",
        ],
        &admin_env,
    ));
    let b: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&b["role"], &b["event_id"]),
        (&"box_office".into(), &8.into())
    );
    assert_eq!(b["token"].as_str().unwrap().len(), 64);

    // Listed (never the token), revoked, refused from then on.
    let out = ok(&tessera_with(
        &["issuer", "token", "list", "--json"],
        &admin_env,
    ));
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 2, "{out}");
    let gate = list.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(gate["gate_id"], "north-1");
    assert_eq!(gate["revoked_ms"], Value::Null);
    assert!(!out.contains(&read_token(&gate_file)));
    let out = ok(&tessera_with(
        &["issuer", "token", "revoke", &id],
        &admin_env,
    ));
    assert!(out.contains(&format!("token {id} revoked")), "{out}");
    let err = refused(&bundle(&gate_file));
    assert!(err.contains("401 unauthorized"), "{err}");
    let out = ok(&tessera_with(&["issuer", "token", "list"], &admin_env));
    let line = out.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(line.contains("revoked 20"), "{line}");
    let err = refused(&tessera_with(
        &["issuer", "token", "revoke", "../x"],
        &admin_env,
    ));
    assert!(err.contains("letters and digits"), "{err}");
}

fn read_token(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

#[test]
fn the_wallet_takes_its_options_anywhere_remembers_its_vault_and_watches_its_code() {
    let issuer = Served::start();
    let dir = tempfile::tempdir().unwrap();
    let url = issuer.url.as_str();
    let admin_env = [
        ("TESSERA_ISSUER", url),
        ("TESSERA_TOKEN", issuer.admin.as_str()),
    ];
    ok(&tessera_with(
        &[
            "issuer",
            "event",
            "create",
            "--id",
            "7",
            "--name",
            "Gig",
            "--period",
            "5",
            "--requires",
            "email",
            "--opens-in",
            "0s",
        ],
        &admin_env,
    ));
    let out = ok(&tessera_with(
        &[
            "issuer",
            "order",
            "create",
            "--event",
            "7",
            "--email",
            "ada@example.org",
            "--seat",
            "A1",
        ],
        &admin_env,
    ));
    let t1 = ticket_on_line(&out, "A1");

    let db: PathBuf = dir.path().join("ada.db");
    let key = format!("dev-file:{}", dir.path().join("ada.key").display());
    // Every option after the subcommand.
    ok(&tessera_with(
        &[
            "wallet",
            "enroll",
            "--db",
            db.to_str().unwrap(),
            "--vault",
            &key,
            "--issuer",
            url,
        ],
        &[],
    ));
    let note = std::fs::read_to_string(dir.path().join("ada.db.vault")).unwrap();
    assert!(note.contains(&key), "{note}");
    // From here on: the environment, and no --vault at all.
    let env = [
        ("TESSERA_DB", db.to_str().unwrap()),
        ("TESSERA_ISSUER", url),
    ];
    let o = tessera_with(&["wallet", "sync"], &env);
    let out = ok(&o);
    assert!(out.contains("synced: 0 ticket(s)"), "{out}");
    assert!(
        out.contains("this device has not confirmed an email address"),
        "{out}"
    );
    assert!(
        text(&o).contains("UNPROTECTED"),
        "the remembered fake vault still warns"
    );
    ok(&tessera_with(
        &["wallet", "verify-email", "ada@example.org"],
        &env,
    ));
    let link = issuer.last_message_to("ada@example.org");
    let link = link
        .split_whitespace()
        .find(|w| w.starts_with("tessera://"))
        .unwrap();
    ok(&tessera_with(
        &["wallet", "verify-email", "ada@example.org", "--token", link],
        &env,
    ));
    let out = ok(&tessera_with(&["wallet", "sync"], &env));
    assert!(out.contains("synced: 1 ticket(s)"), "{out}");
    assert!(!out.contains("no tickets"), "{out}");
    // Another vault than the remembered one: refused, naming the one to pass.
    let err = refused(&tessera_with(
        &["wallet", "list", "--vault", "keyring"],
        &env,
    ));
    assert!(err.contains(&format!("opened with --vault {key}")), "{err}");
    // No wallet file at all: said how to give one.
    let err = refused(&tessera_with(&["wallet", "list"], &[]));
    assert!(
        err.contains("--db PATH") && err.contains("TESSERA_DB"),
        "{err}"
    );

    // Two rotating codes, one per 5-second step, drawn whole in a large terminal.
    let big = [env[0], env[1], ("COLUMNS", "200"), ("LINES", "100")];
    let out = ok(&tessera_with(
        &["wallet", "qr", &t1, "--watch", "--frames", "2"],
        &big,
    ));
    let s = steps(&out);
    assert_eq!(s.len(), 2, "{out}");
    assert_eq!(s[1], s[0] + 1, "{out}");
    assert!(
        out.contains('▀') || out.contains('▄'),
        "the code is drawn:\n{out}"
    );

    // A strict just-in-time event opening in a few seconds: --watch counts down, syncs the
    // release secret when the window opens, then draws.
    ok(&tessera_with(
        &[
            "issuer",
            "event",
            "create",
            "--id",
            "8",
            "--name",
            "Strict",
            "--period",
            "5",
            "--format",
            "s1",
            "--strict-jit",
            "--opens-in",
            "8s",
        ],
        &admin_env,
    ));
    let out = ok(&tessera_with(
        &[
            "issuer",
            "order",
            "create",
            "--event",
            "8",
            "--email",
            "ada@example.org",
            "--seat",
            "B1",
        ],
        &admin_env,
    ));
    let s1 = ticket_on_line(&out, "B1");
    ok(&tessera_with(&["wallet", "sync"], &env));
    let started = std::time::Instant::now();
    let png = dir.path().join("s1.png");
    let out = ok(&tessera_with(
        &[
            "wallet",
            "qr",
            &s1,
            "--watch",
            "--frames",
            "1",
            "--png",
            png.to_str().unwrap(),
        ],
        &big,
    ));
    assert!(out.contains("ticket locked: its code appears at"), "{out}");
    assert!(out.contains("locked   the code appears in"), "{out}");
    assert_eq!(steps(&out).len(), 1, "{out}");
    assert!(out.contains("S1 · step"), "{out}");
    assert!(std::fs::metadata(&png).unwrap().len() > 0);
    assert!(started.elapsed().as_secs() < 30, "{out}");
    // Without --watch a locked or released ticket is unchanged: one code.
    let out = ok(&tessera_with(&["wallet", "qr", &s1], &big));
    assert_eq!(steps(&out).len(), 1, "{out}");
}
