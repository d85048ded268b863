#!/usr/bin/env bash
# Fuzzes a real issuer with schemathesis, an API fuzzer we did not write, against the
# OpenAPI document the issuer serves (GET /v1/openapi.json, issuer/openapi.json).
#
# One `tessera-issuer --dev` on a free loopback port with a temporary data directory; the
# admin token creates event 7, an order for fuzz@example.org and a gate token (the names
# the document's examples use). Then four bounded runs: without credentials, with the
# admin token, with the gate token, and as a signed attendee device (a hook signs each
# request the way docs/API.md says, so the fuzzer gets past authentication to the
# bodies; in the first run a hook also sends well-formed unsigned headers with any
# timestamp). Each run must give no 5xx and no response outside the document: status,
# content type, headers and body schema; an undocumented method must answer 405. A 429
# `rate_limited` is documented, so the limits may answer it. Afterwards the issuer must
# still work: GET /v1/time, an admin call, and a real sync by a fresh device (enrolled,
# email confirmed, time proof verified, every sealed seed opened).
#
# Exits non-zero on any failure. TESSERA_SCHEMATHESIS_EXAMPLES sets the examples per
# operation and phase (default 100: the four runs take about 80 s on 2 cores, about 7 000
# requests, plus the build when the issuer is not built yet).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${TESSERA_SCHEMATHESIS_EXAMPLES:-100}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method

step() { printf '\n== %s\n' "$*"; }
start=$SECONDS

# The venv scripts/test-all.sh uses; cryptography comes pinned from the vectors' requirements.
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check \
  "schemathesis==$SCHEMATHESIS_VERSION" -r tests/vectors/requirements.txt
cargo build --locked -p tessera-issuer
echo "install and build: $((SECONDS - start)) s"

tmp=$(mktemp -d)
issuer_pid=
cleanup() {
  if [ -n "$issuer_pid" ]; then
    kill "$issuer_pid" 2>/dev/null || true
    wait "$issuer_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The attendee device, written from the docs alone (not the Rust client under test).
cat >"$tmp/tessera_fuzz.py" <<'PY'
"""Device side of scripts/schemathesis.sh: an attendee device written from docs/API.md and
docs/PROTOCOL.md alone (Ed25519 request signatures, X25519 sealed seeds), so the check does
not reuse the Rust client it is checking.

As a schemathesis hooks module (SCHEMATHESIS_HOOKS=tessera_fuzz) it either signs every
attendee request with the device in $TESSERA_FUZZ_DEVICE, so the fuzzer gets past
authentication to the bodies, or (TESSERA_FUZZ_FORGE=<public key hex>) lets the fuzzer
send well-formed unsigned headers with any timestamp, to reach the freshness and
signature checks. As a script: `enroll URL ADMIN EMAIL` prints a device seed whose email is
confirmed; `check URL ADMIN EMAIL` enrolls a fresh device, confirms EMAIL and syncs,
checking the time proof and opening every sealed seed.
"""
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REQUEST_DOMAIN = b"tessera/v1/request\0"
TIME_DOMAIN = b"tessera/v2/time\0"
SEAL_SALT = b"tessera/v1/sync-seal"
SEAL_AAD_DOMAIN = b"tessera/v1/sync\0"


def raw_public(key) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_headers(key: Ed25519PrivateKey, method: str, path_and_query: str, body: bytes) -> dict:
    """The four headers of a device-signed request (core/src/sync/request.rs)."""
    ts = str(int(time.time() * 1000))
    nonce = secrets.token_hex(16)
    msg = b"\0".join(
        [REQUEST_DOMAIN + method.encode(), path_and_query.encode(), ts.encode(), nonce.encode()]
    ) + b"\0" + hashlib.sha256(body).digest()
    return {
        "x-tessera-device": raw_public(key).hex(),
        "x-tessera-timestamp": ts,
        "x-tessera-nonce": nonce,
        "x-tessera-signature": key.sign(msg).hex(),
    }


def call(url, method, path, body=None, bearer=None, device=None):
    """One request; returns (status, parsed JSON body)."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    if device:
        headers.update(sign_headers(device, method, path, data))
    req = urllib.request.Request(url + path, data=data if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def expect(what, got, status=200):
    if got[0] != status:
        sys.exit(f"{what}: HTTP {got[0]} {got[1]} (expected {status})")
    return got[1]


def enroll_confirmed(url, admin, email):
    """A new device, enrolled, with `email` confirmed through the dev outbox."""
    key = Ed25519PrivateKey.generate()
    expect("enroll", call(url, "POST", "/v1/devices", {"platform": "schemathesis"}, device=key))
    expect("email request", call(url, "POST", "/v1/attendee/email/request", {"email": email}, device=key))
    outbox = expect("outbox", call(url, "GET", "/v1/dev/outbox", bearer=admin))
    tokens = [re.search(r"token=([0-9a-f]{64})", m["body"]) for m in outbox if m["to"] == email]
    token = [t.group(1) for t in tokens if t][-1]
    expect("email confirm", call(url, "POST", "/v1/attendee/email/confirm", {"token": token}, device=key))
    return key


def open_sealed(key: bytes, column: str, row: bytes, version: int, sealed_hex: str) -> bytes:
    sealed = bytes.fromhex(sealed_hex)
    aad = SEAL_AAD_DOMAIN + column.encode() + b"\0" + row + b"\0" + version.to_bytes(4, "big")
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)


def check(url, admin, email):
    """A real sync after the fuzzing: signed time and every sealed seed must check out."""
    device = enroll_confirmed(url, admin, email)
    eph = X25519PrivateKey.generate()
    wallet_pub = raw_public(eph)
    nonce = secrets.token_bytes(32)
    r = expect("sync", call(url, "POST", "/v1/attendee/sync",
                            {"ephemeral_public_key": wallet_pub.hex(), "time_nonce": nonce.hex()}, device=device))
    keys = {k["key_id"]: bytes.fromhex(k["public_key"]) for k in r["issuer_keys"]}
    proof = r["time_proof"]
    Ed25519PublicKey.from_public_bytes(keys[proof["key_id"]]).verify(
        bytes.fromhex(proof["signature"]),
        TIME_DOMAIN + nonce + r["server_time_ms"].to_bytes(8, "big", signed=True) + proof["key_id"].to_bytes(4, "big"),
    )
    issuer_pub = bytes.fromhex(r["server_ephemeral_public_key"])
    shared = eph.exchange(X25519PublicKey.from_public_bytes(issuer_pub))
    key = HKDF(hashes.SHA256(), 32, SEAL_SALT, issuer_pub + wallet_pub).derive(shared)
    if len(r["tickets"]) != 1:
        sys.exit(f"sync: expected the account's 1 ticket, got {r['tickets']}")
    for t in r["tickets"]:
        row = bytes.fromhex(t["ticket_id"])
        seed = open_sealed(key, "ticket_seed", row, t["version"], t["sealed_ticket_seed"])
        if len(seed) < 16:
            sys.exit("sync: ticket seed too short")
        if t["sealed_event_seed"]:
            open_sealed(key, "event_seed", row, t["version"], t["sealed_event_seed"])
    for rel in r["releases"]:
        open_sealed(key, "release_secret", rel["event_id"].to_bytes(8, "big"), rel["version"], rel["sealed"])
    print(f"sync after fuzzing: {len(r['tickets'])} ticket, {len(r['releases'])} release secret(s) opened, "
          f"time proof verified under issuer key {proof['key_id']}")


# ---- schemathesis hooks --------------------------------------------------------------
try:
    import requests
    import schemathesis
except ImportError:  # run as a plain script without schemathesis: no hooks needed
    schemathesis = None

if schemathesis is not None and os.environ.get("TESSERA_FUZZ_FORGE"):
    from hypothesis import strategies as st

    # Well-formed but unsigned headers from an enrolled key: the fuzzer then reaches the
    # timestamp and signature checks instead of stopping at a malformed header.
    _KEY = os.environ["TESSERA_FUZZ_FORGE"]
    _NEAR = int(time.time() * 1000)

    def _forged(t):
        generated, ts, nonce, sig = t

        def put(headers):
            return {**(headers or {}), "x-tessera-device": _KEY, "x-tessera-timestamp": str(ts),
                    "x-tessera-nonce": nonce.hex(), "x-tessera-signature": sig.hex()}

        # schemathesis wraps generated values (with their provenance) in some versions.
        return generated.map_value(put) if hasattr(generated, "map_value") else put(generated)

    @schemathesis.hook
    def before_generate_headers(context, strategy):
        if not context.operation.path.startswith(("/v1/devices", "/v1/attendee/")):
            return strategy
        # Any i64, the edges of the type and of the 5-minute window, and times near now.
        edges = [-(2**63), -(2**63) + 1, -1, 0, 2**63 - 1, _NEAR - 300_001, _NEAR + 300_001]
        timestamps = (st.integers(-(2**63), 2**63 - 1) | st.sampled_from(edges)
                      | st.integers(_NEAR - 600_000, _NEAR + 600_000))
        forged = st.tuples(strategy, timestamps, st.binary(min_size=16, max_size=16),
                           st.binary(min_size=64, max_size=64)).map(_forged)
        return strategy | forged


if schemathesis is not None and os.environ.get("TESSERA_FUZZ_DEVICE"):
    _DEVICE = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["TESSERA_FUZZ_DEVICE"]))

    class _Signed(requests.auth.AuthBase):
        """Signs the request exactly as sent: final path-and-query and body bytes."""

        def __call__(self, r):
            body = r.body or b""
            if isinstance(body, str):
                body = body.encode()
            r.headers.update(sign_headers(_DEVICE, r.method, r.path_url, body))
            return r

    @schemathesis.hook
    def before_call(context, case, kwargs):
        if case.operation.path.startswith(("/v1/devices", "/v1/attendee/")):
            kwargs["auth"] = _Signed()


if __name__ == "__main__":
    cmd, url, admin, email = sys.argv[1:5]
    if cmd == "enroll":
        key = enroll_confirmed(url, admin, email)
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat
        print(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(), raw_public(key).hex())
    elif cmd == "check":
        check(url, admin, email)
    else:
        sys.exit(f"unknown command {cmd}")
PY

step "start tessera-issuer --dev"
"${CARGO_TARGET_DIR:-target}/debug/tessera-issuer" --dev --data-dir "$tmp/data" --port 0 \
  >"$tmp/issuer.out" 2>"$tmp/issuer.err" &
issuer_pid=$!
for _ in $(seq 1 100); do
  grep -q '^admin token: ' "$tmp/issuer.out" && break
  if ! kill -0 "$issuer_pid" 2>/dev/null; then
    cat "$tmp/issuer.err" >&2
    exit 1
  fi
  sleep 0.1
done
url=$(sed -n 's/^tessera-issuer listening on //p' "$tmp/issuer.out")
admin=$(sed -n 's/^admin token: //p' "$tmp/issuer.out")
[ -n "$url" ] && [ -n "$admin" ] || { echo "the issuer did not start" >&2; exit 1; }
echo "issuer at $url"

# A call with the admin token; fails on anything but 2xx.
api() {
  curl -sS --fail-with-body -X "$1" "$url$2" -H "Authorization: Bearer $admin" \
    -H 'content-type: application/json' ${3:+--data "$3"}
}
event() { # ID: an S1 strict just-in-time event, open since an hour, transferable
  local now
  now=$(date +%s)
  api POST /v1/admin/events "{\"event_id\": $1, \"name\": \"Fuzz $1\",
    \"reveal_opens_at\": $((now - 3600)), \"valid_until\": $((now + 86400)),
    \"period_secs\": 15, \"format\": \"S1\", \"totp_algorithm\": \"Sha1\", \"totp_digits\": 8,
    \"strict_jit\": true, \"requires\": [\"Email\"], \"personalised\": false,
    \"change_block\": false, \"reentry\": false, \"transferable\": true}" >/dev/null
}

step "fixtures: event 7, an order, a gate token, a signed-in device"
event 7
api POST /v1/admin/orders \
  '{"event_id": 7, "email": "fuzz@example.org", "phone": "+15550100", "holder_name": null, "seats": ["A1", "A2"]}'
echo
gate=$(api POST /v1/admin/tokens '{"role": "gate", "event_id": 7, "gate_id": "north-1"}' |
  "$py" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
device=$("$py" "$tmp/tessera_fuzz.py" enroll "$url" "$admin" fuzz@example.org)
device_key=${device% *}
device_public=${device#* }
echo "gate token minted; device $device_public enrolled, fuzz@example.org confirmed on it"

failed=()
fuzz_start=$SECONDS
fuzz() { # LABEL [schemathesis options…]
  local label=$1
  shift
  step "schemathesis ($label): $EXAMPLES examples per operation"
  if ! "$venv/bin/schemathesis" run "$url/v1/openapi.json" --checks "$CHECKS" \
    --max-examples "$EXAMPLES" --workers 2 --generation-database none --no-color \
    --warnings off "$@"; then
    failed+=("schemathesis ($label)")
  fi
}
# Attendee calls get well-formed but unsigned headers from the enrolled key half the
# time, with any timestamp (i64 edges included), to reach the freshness and signature
# checks behind the header parsing.
export PYTHONPATH="$tmp" SCHEMATHESIS_HOOKS=tessera_fuzz TESSERA_FUZZ_FORGE="$device_public"
fuzz "no credentials"
unset TESSERA_FUZZ_FORGE
# Attendee calls are refused with 401 whatever the bearer token; they get their own run.
fuzz "admin token" -H "Authorization: Bearer $admin" --exclude-path-regex '^/v1/(devices|attendee/)'
fuzz "gate token" -H "Authorization: Bearer $gate" --include-path-regex '^/v1/(admin|boxoffice|dev|gate)/'
export TESSERA_FUZZ_DEVICE="$device_key"
fuzz "signed device" --include-path-regex '^/v1/(devices|attendee/)'
unset PYTHONPATH SCHEMATHESIS_HOOKS TESSERA_FUZZ_DEVICE

echo "fuzzing: $((SECONDS - fuzz_start)) s"

step "the issuer still serves: GET /v1/time, an admin call, a real sync"
alive=true
if ! kill -0 "$issuer_pid" 2>/dev/null; then
  alive=false
  failed+=("the issuer process died")
fi
if grep -q 'panicked' "$tmp/issuer.err"; then
  grep -A3 'panicked' "$tmp/issuer.err" >&2
  failed+=("the issuer panicked")
fi
if $alive; then
  if curl -sS --fail-with-body "$url/v1/time" | grep -q '"server_time_ms"'; then
    echo "GET /v1/time: 200"
  else
    failed+=("GET /v1/time")
  fi
  if api GET /v1/admin/audit >/dev/null; then
    echo "GET /v1/admin/audit: 200"
  else
    failed+=("GET /v1/admin/audit")
  fi
  # A fresh event and account the fuzzer cannot have touched: one ticket, then a device
  # that signs in by email and syncs it.
  check_event=$((RANDOM * 32768 + RANDOM + 1000000))
  if event "$check_event" &&
    api POST /v1/admin/orders "{\"event_id\": $check_event, \"email\": \"check@example.org\", \"seats\": [\"C1\"]}" >/dev/null &&
    "$py" "$tmp/tessera_fuzz.py" check "$url" "$admin" check@example.org; then
    :
  else
    failed+=("a device sync after fuzzing")
  fi
fi

kill "$issuer_pid"
wait "$issuer_pid" 2>/dev/null || true
issuer_pid=
echo
echo "schemathesis step: $((SECONDS - start)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "schemathesis: no server error, every response as documented, the issuer still serves"
