//! Talking to the issuer: the API's data types, device-signed requests, and seeds
//! sealed in transit to a per-sync ephemeral key.

pub mod api;
pub mod apply;
pub mod client;
pub mod error;
pub mod request;
pub mod session;
pub mod signed_time;
#[cfg(test)]
mod small_order_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
pub mod transport;
#[cfg(test)]
mod withheld_tests;
