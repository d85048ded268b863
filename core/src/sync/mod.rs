//! Talking to the issuer: the API's data types, device-signed requests, and seeds
//! sealed in transit to a per-sync ephemeral key.
//!
//! Release objects (`release`: a strict event's release secret signed by the issuer, from
//! a static URL or a venue's QR code) are applied without the client.
//!
//! The wire types, request signing and checking, signed time and transport sealing are
//! always here: the issuer and the gate build on them. The HTTP client (`client`,
//! `session`: reqwest, tokio) needs the `sync-client` feature (on by default) and the
//! shared TLS configuration (`tls`: rustls, webpki roots) the `tls` feature.

pub mod api;
pub mod apply;
#[cfg(feature = "sync-client")]
pub mod client;
pub mod error;
pub mod release;
#[cfg(test)]
mod release_tests;
pub mod request;
#[cfg(feature = "sync-client")]
pub mod session;
pub mod signed_time;
#[cfg(test)]
mod small_order_tests;
#[cfg(test)]
mod testkit;
#[cfg(all(test, feature = "sync-client"))]
mod tests;
#[cfg(test)]
mod text_tests;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;
#[cfg(test)]
mod withheld_tests;
