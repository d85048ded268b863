#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust tests, and the Python
# protocol-vector check (an independent implementation of docs/PROTOCOL.md).
# Installs what it needs itself (Python packages go into target/py-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "design rule: ring is the only crypto provider"
if grep -E '^name = "(aws-lc-rs|aws-lc-sys|openssl|openssl-sys|native-tls)"' Cargo.lock; then
  echo "Cargo.lock contains a crate DESIGN.md rules out" >&2
  exit 1
fi

step "cargo test (Rust)"
cargo test --workspace --locked

step "cargo test: the OS keyring vault (feature os-keyring)"
cargo clippy -p tessera-core --features os-keyring --lib --locked -- -D warnings
cargo test -p tessera-core --features os-keyring --locked --lib keyring

step "Python: independent protocol-vector check"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/vectors/requirements.txt
"$venv/bin/python" -m pytest tests/vectors -q
