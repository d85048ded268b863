//! Tessera reference issuer.
