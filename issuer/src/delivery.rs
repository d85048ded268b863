//! Production mode: where emails and SMS go when the dev outbox is off.
//!
//! [`Delivery`] routes each message by channel (email to SMTP, SMS to a webhook);
//! [`DeliveryOptions`] is what both issuer binaries (`tessera-issuer` and
//! `tessera issuer serve`) take on their command line, turned into an [`IssuerConfig`].
//! Without `--dev` both real channels must be configured: an issuer that silently kept
//! codes readable over HTTP, or silently dropped them, would be worse than one that does
//! not start.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::outbox::{Channel, MessageSender, SendError};
use crate::server::IssuerConfig;
use crate::sms_webhook::SmsWebhook;
use crate::smtp::SmtpSender;

/// Environment variable holding the SMTP password (when `--smtp-password-file` is not given).
pub const SMTP_PASSWORD_ENV: &str = "TESSERA_SMTP_PASSWORD";
/// Environment variable holding the SMS webhook's bearer token (when
/// `--sms-webhook-token-file` is not given).
pub const SMS_WEBHOOK_TOKEN_ENV: &str = "TESSERA_SMS_WEBHOOK_TOKEN";

/// What an issuer says when it is given no way to deliver messages. Names every way out,
/// because it is what an operator who upgraded sees first.
pub const NO_DELIVERY: &str = "no way to deliver emails and SMS: pass --dev to keep them in \
     the dev outbox (readable over HTTP at GET /v1/dev/outbox: for development only), or \
     both --smtp-url URL (with --mail-from ADDR) and --sms-webhook URL";

/// Why the delivery configuration is unusable. The text names the flag or variable at
/// fault and never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Sends emails through one sender and SMS through another.
pub struct Delivery {
    email: Arc<dyn MessageSender>,
    sms: Arc<dyn MessageSender>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Delivery")
    }
}

impl Delivery {
    /// Emails go to `email` (e.g. an [`SmtpSender`]), SMS to `sms` (e.g. an [`SmsWebhook`]).
    pub fn new(email: Arc<dyn MessageSender>, sms: Arc<dyn MessageSender>) -> Self {
        Self { email, sms }
    }
}

impl MessageSender for Delivery {
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError> {
        match channel {
            Channel::Email => self.email.send(channel, to, body),
            Channel::Sms => self.sms.send(channel, to, body),
        }
    }
}

/// How the issuer binaries deliver messages, as given on their command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// `--dev`: keep every message in the dev outbox (`GET /v1/dev/outbox`).
    pub dev: bool,
    /// `--smtp-url`: `smtps://[user@]host[:port]` or `smtp://[user@]host[:port]`
    /// (see [`SmtpSender::new`]).
    pub smtp_url: Option<String>,
    /// `--mail-from`: the From address of every email (`Name <addr>` or `addr`).
    pub mail_from: Option<String>,
    /// `--smtp-password-file`: a file holding the SMTP password (else [`SMTP_PASSWORD_ENV`]).
    pub smtp_password_file: Option<PathBuf>,
    /// `--sms-webhook`: the HTTPS URL SMS are posted to (see [`SmsWebhook::new`]).
    pub sms_webhook: Option<String>,
    /// `--sms-webhook-token-file`: a file holding the webhook's bearer token (else
    /// [`SMS_WEBHOOK_TOKEN_ENV`]).
    pub sms_webhook_token_file: Option<PathBuf>,
}

impl DeliveryOptions {
    /// Sets `config`'s dev outbox and sender from these options, reading secrets from
    /// their files or the environment.
    pub fn apply(&self, config: &mut IssuerConfig) -> Result<(), DeliveryError> {
        self.apply_with_env(config, &|name| std::env::var(name).ok())
    }

    fn apply_with_env(
        &self,
        config: &mut IssuerConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), DeliveryError> {
        let production_flags = self.smtp_url.is_some()
            || self.mail_from.is_some()
            || self.smtp_password_file.is_some()
            || self.sms_webhook.is_some()
            || self.sms_webhook_token_file.is_some();
        if self.dev {
            // Half a production set-up next to the dev outbox would leave it unclear
            // where a given code went.
            if production_flags {
                return Err(DeliveryError(
                    "--dev keeps every message in the dev outbox: it cannot be combined with \
                     --smtp-url, --mail-from, --sms-webhook or their secret files"
                        .into(),
                ));
            }
            config.dev_outbox = true;
            config.sender = None;
            return Ok(());
        }
        let (Some(smtp_url), Some(webhook)) = (&self.smtp_url, &self.sms_webhook) else {
            return Err(DeliveryError(NO_DELIVERY.into()));
        };
        let Some(mail_from) = &self.mail_from else {
            return Err(DeliveryError(
                "--smtp-url needs --mail-from ADDR (the From address of every email)".into(),
            ));
        };
        let password = read_secret(
            self.smtp_password_file.as_deref(),
            SMTP_PASSWORD_ENV,
            "--smtp-password-file",
            env,
        )?;
        let token = read_secret(
            self.sms_webhook_token_file.as_deref(),
            SMS_WEBHOOK_TOKEN_ENV,
            "--sms-webhook-token-file",
            env,
        )?;
        let email = SmtpSender::new(smtp_url, mail_from, password)?;
        let sms = SmsWebhook::new(webhook, token)?;
        config.dev_outbox = false;
        config.sender = Some(Arc::new(Delivery::new(Arc::new(email), Arc::new(sms))));
        Ok(())
    }
}

/// A secret from `file` (one trailing line break dropped: editors add one) or, without a
/// file, from the environment variable `env_name` (unset or empty: none). Never from the
/// command line itself, where every user of the machine can read it.
fn read_secret(
    file: Option<&Path>,
    env_name: &str,
    flag: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Zeroizing<String>>, DeliveryError> {
    let Some(path) = file else {
        return Ok(env(env_name).filter(|v| !v.is_empty()).map(Zeroizing::new));
    };
    let mut text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| DeliveryError(format!("{flag} {}: {e}", path.display())))?,
    );
    let keep = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map_or(text.len(), str::len);
    text.truncate(keep);
    if text.is_empty() {
        return Err(DeliveryError(format!(
            "{flag} {}: the file is empty",
            path.display()
        )));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn production() -> DeliveryOptions {
        DeliveryOptions {
            smtp_url: Some("smtp://127.0.0.1:2525".into()),
            mail_from: Some("Tickets <tickets@example.org>".into()),
            sms_webhook: Some("http://127.0.0.1:9/sms".into()),
            ..DeliveryOptions::default()
        }
    }

    #[test]
    fn without_dev_both_channels_are_required_and_the_error_names_every_way_out() {
        let mut config = IssuerConfig::new("unused");
        for o in [
            DeliveryOptions::default(),
            DeliveryOptions {
                sms_webhook: None,
                ..production()
            },
            DeliveryOptions {
                smtp_url: None,
                ..production()
            },
        ] {
            let e = o.apply_with_env(&mut config, &no_env).unwrap_err();
            for flag in ["--dev", "--smtp-url", "--sms-webhook"] {
                assert!(e.0.contains(flag), "{e}");
            }
        }
        let e = DeliveryOptions {
            mail_from: None,
            ..production()
        }
        .apply_with_env(&mut config, &no_env)
        .unwrap_err();
        assert!(e.0.contains("--mail-from"), "{e}");
    }

    #[test]
    fn dev_is_the_outbox_and_excludes_real_senders() {
        let mut config = IssuerConfig::new("unused");
        config.dev_outbox = false;
        DeliveryOptions {
            dev: true,
            ..DeliveryOptions::default()
        }
        .apply_with_env(&mut config, &no_env)
        .unwrap();
        assert!(config.dev_outbox && config.sender.is_none());
        let e = DeliveryOptions {
            dev: true,
            ..production()
        }
        .apply_with_env(&mut config, &no_env)
        .unwrap_err();
        assert!(e.0.contains("--dev"), "{e}");
    }

    #[test]
    fn production_options_turn_the_outbox_off() {
        let mut config = IssuerConfig::new("unused");
        production().apply_with_env(&mut config, &no_env).unwrap();
        assert!(!config.dev_outbox && config.sender.is_some());
    }

    #[test]
    fn secrets_come_from_a_file_without_its_line_break_or_else_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        let env = |n: &str| (n == "X").then(|| "from-env".to_owned());
        std::fs::write(&f, "s3cret\r\n").unwrap();
        let got = read_secret(Some(&f), "X", "--f", &env).unwrap().unwrap();
        assert_eq!(got.as_str(), "s3cret");
        std::fs::write(&f, "two\nlines\n").unwrap();
        let got = read_secret(Some(&f), "X", "--f", &env).unwrap().unwrap();
        assert_eq!(got.as_str(), "two\nlines");
        let got = read_secret(None, "X", "--f", &env).unwrap().unwrap();
        assert_eq!(got.as_str(), "from-env");
        assert!(read_secret(None, "Y", "--f", &env).unwrap().is_none());
        std::fs::write(&f, "\n").unwrap();
        let e = read_secret(Some(&f), "X", "--f", &env).unwrap_err();
        assert!(e.0.contains("empty"), "{e}");
        let e = read_secret(Some(&dir.path().join("missing")), "X", "--f", &env).unwrap_err();
        assert!(e.0.starts_with("--f "), "{e}");
    }
}
