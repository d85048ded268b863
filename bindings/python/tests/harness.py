"""Harness for the Python tests: a real reference issuer started as a subprocess, an admin client for it
(urllib), and the two fakes docs/DESIGN.md §9 allows, named as such: a key vault and a clock.

The issuer binary is ``target/debug/tessera-issuer`` (built here if missing, or given by
``TESSERA_ISSUER_BIN``); the package needs ``bindings/generate.sh`` to have run.
"""

import hashlib
import hmac
import json
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import tessera

WORKSPACE = Path(__file__).resolve().parents[3]


def issuer_binary() -> Path:
    given = os.environ.get("TESSERA_ISSUER_BIN")
    if given:
        return Path(given)
    exe = WORKSPACE / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "tessera-issuer"
    if not exe.exists():
        subprocess.run(
            ["cargo", "build", "--locked", "-p", "tessera-issuer"], cwd=WORKSPACE, check=True
        )
    return exe


class Issuer:
    """A running reference issuer and what the admin API offers the tests."""

    def __init__(self, data_dir: Path):
        self.proc = subprocess.Popen(
            [str(issuer_binary()), "--dev", "--data-dir", str(data_dir), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True
        ).start()
        self.url = self.admin_token = None
        deadline = time.monotonic() + 30
        while self.url is None or self.admin_token is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the issuer did not start: " + self.proc.stderr.read())
            try:
                line = lines.get(timeout=left).strip()
            except queue.Empty:
                continue
            if line.startswith("tessera-issuer listening on "):
                self.url = line.rsplit(" ", 1)[1]
            elif line.startswith("admin token: "):
                self.admin_token = line.rsplit(" ", 1)[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # graceful: the issuer waits for Ctrl-C
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # --- admin API (urllib, as a box office or a test script would) ---

    def request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.admin_token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        return text

    def post(self, path, body, token=None):
        return json.loads(self.request("POST", path, body, token))

    def event(self, event_id, opens_in_s, period_secs=5, **options):
        """Creates an event whose window opens in `opens_in_s` seconds (issuer clock =
        system clock) and lasts two hours."""
        now = int(time.time())
        policy = {
            "event_id": event_id,
            "name": f"Event {event_id}",
            "reveal_opens_at": now + opens_in_s,
            "valid_until": now + opens_in_s + 7200,
            "period_secs": period_secs,
            "format": "T1",
            "totp_algorithm": "Sha1",
            "totp_digits": 8,
            "strict_jit": False,
            "requires": [],
            "personalised": False,
            "change_block": False,
            "reentry": False,
            "transferable": False,
        }
        policy.update(options)
        return self.post("/v1/admin/events", policy)

    def order(self, event_id, email, phone=None, holder_name=None, seats=("",)):
        body = {
            "event_id": event_id,
            "email": email,
            "phone": phone,
            "holder_name": holder_name,
            "seats": list(seats),
        }
        return self.post("/v1/admin/orders", body)["tickets"]

    def last_message(self, to):
        messages = json.loads(self.request("GET", "/v1/dev/outbox"))
        for m in reversed(messages):
            if m["to"] == to:
                return m["body"]
        raise AssertionError(f"no message to {to}")

    def gate_bundle(self, event_id):
        # A gate token names its event and gate id (a token reaches that event only).
        scope = {"role": "gate", "event_id": event_id, "gate_id": f"python-gate-{event_id}"}
        token = self.post("/v1/admin/tokens", scope)["token"]
        return self.request("GET", f"/v1/gate/events/{event_id}/bundle", token=token)


class FakeKeyVault(tessera.KeyVault):
    """FAKE key vault written in Python: the wrapping key lives in this object only.

    Stands in for Android Keystore / the Secure Enclave. Wraps with a SHA-256 keystream
    and an HMAC tag (stdlib only); a blob from another vault is `KeyNotFound`.
    """

    def __init__(self):
        self._key = secrets.token_bytes(32)
        self.calls = []

    def _stream(self, nonce, n):
        out = b""
        counter = 0
        while len(out) < n:
            out += hashlib.sha256(self._key + nonce + counter.to_bytes(4, "big")).digest()
            counter += 1
        return out[:n]

    def _tag(self, wallet_id, nonce, body):
        return hmac.new(self._key, wallet_id.encode() + nonce + body, hashlib.sha256).digest()

    def wrap(self, wallet_id, kek):
        self.calls.append("wrap")
        nonce = secrets.token_bytes(16)
        body = bytes(a ^ b for a, b in zip(kek, self._stream(nonce, len(kek))))
        return nonce + body + self._tag(wallet_id, nonce, body)

    def unwrap(self, wallet_id, wrapped):
        self.calls.append("unwrap")
        nonce, body, tag = wrapped[:16], wrapped[16:-32], wrapped[-32:]
        if not hmac.compare_digest(tag, self._tag(wallet_id, nonce, body)):
            raise tessera.VaultError.KeyNotFound()
        return bytes(a ^ b for a, b in zip(body, self._stream(nonce, len(body))))

    def delete(self, wallet_id):
        self.calls.append("delete")


class FakeClock(tessera.ClockSource):
    """FAKE clock moved by hand: `advance` is time passing (both clocks), `set_wall` is
    the user changing the phone's time, `reboot` restarts the elapsed-realtime clock."""

    def __init__(self, wall_ms):
        self.wall_ms = wall_ms
        self.elapsed_ms = 1_000_000
        self.boot = 1
        self._lock = threading.Lock()

    def advance(self, ms):
        with self._lock:
            self.wall_ms += ms
            self.elapsed_ms += ms

    def set_wall(self, wall_ms):
        with self._lock:
            self.wall_ms = wall_ms

    def reboot(self):
        with self._lock:
            self.elapsed_ms = 0
            self.boot += 1

    def wall_clock_ms(self):
        with self._lock:
            return self.wall_ms

    def elapsed_realtime_ms(self):
        with self._lock:
            return self.elapsed_ms

    def boot_id(self):
        with self._lock:
            return f"fake-boot-{self.boot}"


class RecordingLogger(tessera.Logger):
    """Keeps every log line, to check that none carries personal data or secrets."""

    def __init__(self):
        self.lines = []

    def log(self, level, message):
        self.lines.append((level, message))


def open_wallet(tmp_path, issuer, name="wallet", vault=None, **kwargs):
    return tessera.Wallet.open(
        str(tmp_path / f"{name}.db"), issuer.url, vault or FakeKeyVault(), **kwargs
    )


async def enroll_and_verify_email(wallet, issuer, email):
    await wallet.enroll("python")
    await wallet.request_email(email)
    body = issuer.last_message(email)
    token = body.split("token=", 1)[1][:64]
    return await wallet.confirm_email(token)


def now_ms():
    return int(time.time() * 1000)

