//! `tessera-issuer --data-dir DIR [--database URL] [--port N] [--bind ADDR] [--enroll-per-address N] [--release-lead-mins N]
//! (--dev | --smtp-url URL --mail-from ADDR --sms-webhook URL)`: runs the reference issuer
//! until Ctrl-C and prints its URL and admin token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use tessera_issuer::{DATABASE_ENV, DeliveryOptions, Issuer, IssuerConfig};

const USAGE: &str =
    "usage: tessera-issuer [--data-dir DIR] [--database URL] [--port N] [--bind ADDR] [--enroll-per-address N]
                      (--dev | --smtp-url URL --mail-from ADDR --sms-webhook URL)
  --data-dir DIR  database and keys (default ./tessera-issuer-data)
  --database URL  keep the data in PostgreSQL instead: postgres://user@host:port/db
                  (else the environment variable TESSERA_DATABASE_URL, which keeps a
                  password out of the process list; unset: SQLite in the data dir)
  --port N        TCP port (default 0: any free port)
  --bind ADDR     IP address to listen on (default 127.0.0.1)
  --enroll-per-address N
                  new devices per minute from one source address (default 20)
  --release-lead-mins N
                  minutes before a strict event's window its gate bundles carry the
                  release secret (default 120)
  --dev           dev mode: emails and SMS stay in the dev outbox, readable by the admin
                  at GET /v1/dev/outbox (never in production)
  --smtp-url URL  emails through SMTP: smtps://[user@]host[:port], or
                  smtp://[user@]host[:port] (STARTTLS required except to loopback)
  --mail-from ADDR
                  the From address of every email
  --smtp-password-file FILE
                  the SMTP password (else the environment variable TESSERA_SMTP_PASSWORD)
  --sms-webhook URL
                  SMS POSTed as JSON {\"to\", \"body\"} to this https:// URL
  --sms-webhook-token-file FILE
                  bearer token for the webhook (else TESSERA_SMS_WEBHOOK_TOKEN)";

fn parse_args() -> Result<IssuerConfig, String> {
    let mut config = IssuerConfig::new("tessera-issuer-data");
    let mut delivery = DeliveryOptions::default();
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data-dir" => config.data_dir = value()?.into(),
            "--database" => config.database = Some(value()?),
            "--port" => port = value()?.parse().map_err(|_| "bad --port".to_owned())?,
            "--bind" => ip = value()?.parse().map_err(|_| "bad --bind".to_owned())?,
            "--enroll-per-address" => {
                config.limits.enroll_per_address.max = value()?
                    .parse()
                    .map_err(|_| "bad --enroll-per-address".to_owned())?;
            }
            "--release-lead-mins" => {
                let mins: u64 = value()?
                    .parse()
                    .map_err(|_| "bad --release-lead-mins".to_owned())?;
                config.release_secret_lead =
                    std::time::Duration::from_secs(mins.saturating_mul(60));
            }
            "--dev" => delivery.dev = true,
            "--smtp-url" => delivery.smtp_url = Some(value()?),
            "--mail-from" => delivery.mail_from = Some(value()?),
            "--smtp-password-file" => delivery.smtp_password_file = Some(value()?.into()),
            "--sms-webhook" => delivery.sms_webhook = Some(value()?),
            "--sms-webhook-token-file" => {
                delivery.sms_webhook_token_file = Some(value()?.into());
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    config.bind = SocketAddr::new(ip, port);
    if config.database.is_none() {
        config.database = std::env::var(DATABASE_ENV).ok().filter(|u| !u.is_empty());
    }
    delivery.apply(&mut config).map_err(|e| e.to_string())?;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let issuer = match Issuer::start(config).await {
        Ok(i) => i,
        Err(e) => {
            eprintln!("tessera-issuer: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The admin token goes to stdout on purpose: it is how the operator learns it.
    println!("tessera-issuer listening on {}", issuer.url());
    println!("admin token: {}", issuer.admin_token());
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("tessera-issuer: cannot wait for Ctrl-C; stopping");
    }
    issuer.shutdown().await;
    ExitCode::SUCCESS
}
