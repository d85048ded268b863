//! Talking to the issuer: the API's data types, device-signed requests, and seeds
//! sealed in transit to a per-sync ephemeral key.

pub mod api;
pub mod request;
pub mod transport;
