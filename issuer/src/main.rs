//! `tessera-issuer --data-dir DIR [--port N] [--bind ADDR] [--enroll-per-address N]`: runs
//! the reference issuer until Ctrl-C and prints its URL and admin token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use tessera_issuer::{Issuer, IssuerConfig};

const USAGE: &str =
    "usage: tessera-issuer [--data-dir DIR] [--port N] [--bind ADDR] [--enroll-per-address N]
  --data-dir DIR  database and keys (default ./tessera-issuer-data)
  --port N        TCP port (default 0: any free port)
  --bind ADDR     IP address to listen on (default 127.0.0.1)
  --enroll-per-address N
                  new devices per minute from one source address (default 20)";

fn parse_args() -> Result<IssuerConfig, String> {
    let mut config = IssuerConfig::new("tessera-issuer-data");
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data-dir" => config.data_dir = value()?.into(),
            "--port" => port = value()?.parse().map_err(|_| "bad --port".to_owned())?,
            "--bind" => ip = value()?.parse().map_err(|_| "bad --bind".to_owned())?,
            "--enroll-per-address" => {
                config.limits.enroll_per_address.max = value()?
                    .parse()
                    .map_err(|_| "bad --enroll-per-address".to_owned())?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    config.bind = SocketAddr::new(ip, port);
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
