//! Tessera gate verifier.
