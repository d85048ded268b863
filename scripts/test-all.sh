#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust tests, the Python
# protocol-vector check (an independent implementation of docs/PROTOCOL.md), and the
# language bindings' own tests against the real compiled library.
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

step "bindings: build tessera-ffi, regenerate Kotlin, Python and Swift"
bindings/generate.sh
# Swift is committed (it cannot be regenerated where there is no Swift toolchain to
# check it); say so when the committed sources no longer match the library.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
  ! git diff --quiet -- bindings/swift/Sources; then
  echo "warning: bindings/swift/Sources changed on regeneration: commit them" >&2
fi

step "bindings: Python tests (pytest, real issuer subprocess)"
cargo build --locked -p tessera-issuer
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bindings/python/requirements-test.txt
"$venv/bin/python" -m pytest bindings/python/tests -q

# ---- Kotlin step (owned by the Kotlin package) ------------------------------------
# Kotlin bindings (bindings/kotlin/README.md). Needs Maven and a JDK 17+ on PATH (the
# script stops with a clear message when they are missing; it installs nothing).
step "Kotlin: bindings tests on the JVM (real library through JNA, real issuer)"
bindings/kotlin/test.sh

step "Android demo: presentation logic on the JVM (the app itself needs Android Studio)"
mvn -B --no-transfer-progress -f android-demo/presentation/pom.xml test
