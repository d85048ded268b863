//! Talking to the issuer: the API's data types, device-signed requests, and seeds
//! sealed in transit to a per-sync ephemeral key.

pub mod api;
pub mod apply;
pub mod client;
pub mod error;
pub mod request;
pub mod session;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
pub mod transport;
