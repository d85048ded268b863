#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust tests, the Python
# protocol-vector check (an independent implementation of docs/PROTOCOL.md), and the
# language bindings' own tests against the real compiled library.
# Installs what it needs itself (Python packages go into target/py-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every step prints the space left where target/ lives: a full disk shows before it fails.
step() {
  printf '\n== %s  [%s free]\n' "$*" "$(df -h --output=avail . 2>/dev/null | tail -n 1 | tr -d ' ')"
}

# A PostgreSQL server given by the caller is used by the PostgreSQL step alone (below): every
# other step runs the issuer on SQLite, as it always has.
postgres_url_given=${TESSERA_TEST_POSTGRES_URL:-}
unset TESSERA_TEST_POSTGRES_URL

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# docs/DESIGN.md §2: ring is the only crypto provider (no aws-lc-rs, OpenSSL or native-tls).
step "design rule: ring is the only crypto provider"
if grep -E '^name = "(aws-lc-rs|aws-lc-sys|openssl|openssl-sys|native-tls)"' Cargo.lock; then
  echo "Cargo.lock contains a crate DESIGN.md rules out" >&2
  exit 1
fi

step "cargo test (Rust)"
# The keyring test is compiled in here too (a crate enables os-keyring); without the
# private Secret Service below it can only take its "unavailable" branch, so the
# requirement applies to the dedicated step alone.
env -u TESSERA_REQUIRE_OS_KEYRING cargo test --workspace --locked

step "cargo test: the OS keyring vault (feature os-keyring) against a real credential store"
cargo clippy -p tessera-core --features os-keyring --lib --tests --locked -- -D warnings
# The round trip needs a running credential store. On Linux one is started for this step
# alone: a private D-Bus session with gnome-keyring's Secret Service, its keyring files in
# a temporary directory (Debian: `apt-get install dbus gnome-keyring`; .ci/run does). The
# test prints which branch ran; with TESSERA_REQUIRE_OS_KEYRING=1 (CI sets it) anything
# but the round trip fails the step.
keyring_log=$(mktemp)
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  keyring_dir=$(mktemp -d)
  mkdir -m 700 "$keyring_dir/run"
  dbus-run-session -- sh -c '
    printf tessera-ci |
      XDG_DATA_HOME="$1/data" XDG_RUNTIME_DIR="$1/run" gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
      cargo test -p tessera-core --features os-keyring --locked --lib keyring -- --nocapture
  ' sh "$keyring_dir" 2>&1 | grep -v 'Failed to set fd limit' | tee "$keyring_log"
  rm -rf "$keyring_dir"
else
  echo "no dbus-run-session or gnome-keyring-daemon here: testing without a Secret Service"
  cargo test -p tessera-core --features os-keyring --locked --lib keyring -- --nocapture 2>&1 | tee "$keyring_log"
fi
keyring_branch=$(grep -o 'os-keyring branch: .*' "$keyring_log" || true)
rm -f "$keyring_log"
echo "which branch ran: ${keyring_branch:-none (did the test run?)}"
if [ -n "${TESSERA_REQUIRE_OS_KEYRING:-}" ] && [[ "$keyring_branch" != *"round trip"* ]]; then
  echo "TESSERA_REQUIRE_OS_KEYRING is set: the keyring round trip must run" >&2
  exit 1
fi

step "gate fuzz target: corpus replay on stable Rust, bounded fuzzing where cargo-fuzz is installed"
# The fuzz target's body (gate/fuzz/src/payload.rs) runs on stable in
# gate/tests/fuzz_corpus.rs (also part of the workspace tests above): the seed corpus
# gate/fuzz/seeds/payload, any local corpus/artifacts, the protocol vectors, mutations and
# a bounded run of random inputs; nothing may panic or be admitted.
cargo test -p tessera-gate --locked --test fuzz_corpus -- --nocapture
# The fuzz crate (not a workspace member: its own lock file) must still compile; libFuzzer
# needs a C++ compiler.
if command -v c++ >/dev/null 2>&1; then
  cargo check --quiet --manifest-path gate/fuzz/Cargo.toml
else
  echo "no C++ compiler: the fuzz crate itself was not compiled (its body was, above)"
fi
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  mkdir -p gate/fuzz/corpus/payload
  (cd gate && cargo +nightly fuzz run payload fuzz/corpus/payload fuzz/seeds/payload -- \
    -max_total_time="${TESSERA_FUZZ_SECONDS:-60}")
else
  echo "cargo-fuzz or the nightly toolchain is not installed: corpus replayed on stable only"
  echo "(to fuzz: rustup toolchain install nightly && cargo install cargo-fuzz)"
fi

step "design rule: the gate and the issuer do not build core's HTTP client"
# Core's client (reqwest, tokio) is its default feature `sync-client`; the gate and the
# issuer opt out (docs/DECISIONS.md 40). The gate has no reqwest, rustls or tokio at all;
# the issuer keeps its own reqwest (SMS webhook) but not core's client. Core without the
# feature must stay warning-free too.
if cargo tree -p tessera-gate -e normal --prefix none --locked | grep -E '^(reqwest|rustls|tokio|hyper-util) '; then
  echo "tessera-gate depends on an HTTP client crate (above)" >&2
  exit 1
fi
for crate in tessera-gate tessera-issuer; do
  if cargo tree -p "$crate" -e features -i tessera-core --locked | grep 'tessera-core feature "sync-client"'; then
    echo "$crate builds tessera-core with sync-client: use default-features = false" >&2
    exit 1
  fi
done
cargo clippy -p tessera-core --no-default-features --lib --tests --locked -- -D warnings

step "Python: independent protocol-vector check"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/vectors/requirements.txt
"$venv/bin/python" -m pytest tests/vectors -q

step "QR decode test: the project's PNGs read by zxing-cpp and zbar (docs/QR.md, Decode sizes)"
# zbar is Debian's libzbar0 (pyzbar loads it with ctypes); zxing-cpp, Pillow and numpy come
# from PyPI into their own venv. The full measurement is tests/qr_decode/decode_sizes.py.
# (No `grep -q` below: under pipefail it can fail while the library is there.)
if ! ldconfig -p | grep 'libzbar\.so\.0' >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libzbar0
  else
    echo "zbar is missing: apt-get install libzbar0" >&2
    exit 1
  fi
fi
qr_venv=target/qr-venv
if [ ! -x "$qr_venv/bin/python" ]; then
  python3 -m venv "$qr_venv"
fi
"$qr_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/qr_decode/requirements.txt
"$qr_venv/bin/python" -m pytest tests/qr_decode -q

step "issuer production mode: emails through a real SMTP server (aiosmtpd), SMS through a webhook"
# The workspace run above skips the SMTP test (no sink); here it must run.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r issuer/tests/requirements-smtp.txt
TESSERA_SMTP_PYTHON="$PWD/$venv/bin/python" TESSERA_REQUIRE_SMTP_SINK=1 \
  cargo test -p tessera-issuer --locked --test production

step "issuer on PostgreSQL: the issuer's tests and the end-to-end tests against a real server"
# The shared harness (tests/src/harness.rs) gives each issuer a fresh database on the server
# of TESSERA_TEST_POSTGRES_URL (tests/src/postgres.rs). Given one, that server is used;
# otherwise scripts/postgres.sh installs Debian's postgresql (as root) and starts a private
# one (its own cluster under target/pg, 127.0.0.1 only), stopped when this script ends,
# failed or not.
if [ -n "$postgres_url_given" ]; then
  TESSERA_TEST_POSTGRES_URL=$postgres_url_given
  echo "PostgreSQL: the server given in TESSERA_TEST_POSTGRES_URL"
else
  trap 'scripts/postgres.sh stop' EXIT
  TESSERA_TEST_POSTGRES_URL=$(scripts/postgres.sh start)
  echo "PostgreSQL: a private server, $TESSERA_TEST_POSTGRES_URL"
fi
export TESSERA_TEST_POSTGRES_URL
# Here the two-instance test (issuer/tests/two_instances.rs) must run, not say it skipped.
TESSERA_REQUIRE_POSTGRES=1 cargo test -p tessera-issuer --locked
TESSERA_REQUIRE_POSTGRES=1 cargo test -p tessera-tests --locked
if [ -z "$postgres_url_given" ]; then
  scripts/postgres.sh stop
  trap - EXIT
fi
unset TESSERA_TEST_POSTGRES_URL

step "bindings: build tessera-ffi, regenerate Kotlin, Python and Swift"
bindings/generate.sh
# Swift is committed (it cannot be regenerated where there is no Swift toolchain to
# check it): committed sources that no longer match the library fail the run, since a
# SwiftPM user would get them (issue 11 item 7).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
  ! git diff --quiet -- bindings/swift/Sources; then
  git diff --stat -- bindings/swift/Sources >&2
  echo "bindings/swift/Sources changed on regeneration: commit them (bindings/generate.sh)" >&2
  exit 1
fi

step "bindings: Python tests (the wheel installed into a fresh venv, pytest, real issuer subprocess)"
# `pip wheel bindings/python` builds the platform wheel tessera-wallet with the package's
# own backend (bindings/python/backend/tessera_build.py: the release-smaller library,
# bindings generated from it, py.typed). The tests run against that wheel installed into
# a new venv, never the source tree: pyproject's in-tree `pythonpath` is turned off, and
# the run checks that `tessera` and every module under it came from the venv.
cargo build --locked -p tessera-issuer
wheel_dir=target/python-wheel
rm -rf "$wheel_dir"
"$venv/bin/python" -m pip wheel -v --no-deps --disable-pip-version-check -w "$wheel_dir" bindings/python 2>&1 |
  grep -v -e '^Looking in links' -e '^  Stored in directory'
wheel=$(ls "$wheel_dir"/tessera_wallet-*.whl)
echo "wheel: $wheel ($(wc -c < "$wheel") bytes)"
wheel_venv=target/py-wheel-venv
python3 -m venv --clear "$wheel_venv"
"$wheel_venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" \
  -r bindings/python/requirements-test.txt
"$wheel_venv/bin/python" -c '
import pathlib, sys, sysconfig
import pytest
import tessera  # before pytest adds any path: the installed package
site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve()
def from_venv(module):
    return pathlib.Path(module.__file__).resolve().is_relative_to(site)
if not from_venv(tessera):
    sys.exit(f"tessera was imported from {tessera.__file__}, not from {site}")
print("testing the installed package:", tessera.__file__)
code = pytest.main(sys.argv[1:])
wrong = [m.__file__ for n, m in list(sys.modules.items())
         if n.split(".")[0] == "tessera" and getattr(m, "__file__", None) and not from_venv(m)]
if wrong:
    sys.exit(f"modules of tessera loaded from outside the venv: {wrong}")
sys.exit(code)
' -o pythonpath= bindings/python/tests -q

# ---- Kotlin step (owned by the Kotlin package) ------------------------------------
# Kotlin bindings (bindings/kotlin/README.md). Needs Maven and a JDK 17+ on PATH (the
# script stops with a clear message when they are missing; it installs nothing).
step "Kotlin: bindings tests on the JVM (real library through JNA, real issuer)"
bindings/kotlin/test.sh

step "Android demo: presentation logic on the JVM (the app itself needs Android Studio)"
mvn -B --no-transfer-progress -f android-demo/presentation/pom.xml test

# ---- API fuzzing (issuer/openapi.json) ----------------------------------------------
step "issuer API fuzzing: schemathesis against a real issuer and issuer/openapi.json"
# No credentials, admin token, gate token, signed device; any 5xx or answer the document
# does not describe fails, and the issuer must still serve a sync afterwards.
scripts/schemathesis.sh

# ---- Phone CPUs ---------------------------------------------------------------------
step "phone CPUs: core, gate and tessera-ffi tests on arm64 (qemu-user) and 32-bit x86"
# Installs Debian's cross compilers, qemu-user-static and the 32-bit libraries (as root)
# and the two rustup targets itself; builds go to target/<triple>.
scripts/cross-arch.sh
