"""Times `Wallet.frame()` called from Python, for docs/PERFORMANCE.md ("Bindings").

The same steps as the Rust side (`cargo bench -p tessera-ffi --bench frame_ffi`): a
real issuer (subprocess), 200 T1 and 200 S1 tickets synced into one wallet, then per
format:
- cached: the same step again (the frame was drawn by an earlier call);
- drawn: every call draws (the wallet is locked and unlocked, untimed, before it);
- cached, Python ClockSource: as cached, with a clock written in Python, so each call
  also pays the clock callbacks (how an app handing in its own clock runs).
Each call is timed alone with perf_counter_ns; p50 and p90 are printed.

Run after `bindings/generate.sh --release` (times the release library):
    python3 bindings/python/bench/frame_timing.py
"""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

import tessera  # noqa: E402
from harness import FakeClock, Issuer, enroll_and_verify_email, now_ms  # noqa: E402

TICKETS = 200
CACHED_CALLS = 5000
DRAWN_ROUNDS = 10


def pct(samples, q):
    s = sorted(samples)
    return s[(len(s) - 1) * q // 100]


def report(what, samples_ns):
    print(
        f"{what}: {len(samples_ns)} calls, p50 {pct(samples_ns, 50) / 1000:.1f} µs, "
        f"p90 {pct(samples_ns, 90) / 1000:.1f} µs"
    )


def timed(call):
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        issuer = Issuer(tmp / "issuer")
        try:
            run(issuer, tmp)
        finally:
            issuer.stop()


def run(issuer, tmp):
    ids = {}
    seats = [f"Seat {i}" for i in range(TICKETS)]
    for event, fmt in ((1, "T1"), (2, "S1")):
        issuer.event(event, -60, period_secs=15, format=fmt)
        ids[fmt] = issuer.order(event, "bench@example.com", seats=seats)
        ids[fmt + "-clock"] = issuer.order(event, "clock@example.com")
    vault = tessera.memory_key_vault()
    wallet = tessera.Wallet.open(str(tmp / "bench.db"), issuer.url, vault)
    # A second wallet (own account) reading a clock written in Python.
    clocked = tessera.Wallet.open(
        str(tmp / "clocked.db"), issuer.url, vault, clock=FakeClock(now_ms())
    )
    for w, email in ((wallet, "bench@example.com"), (clocked, "clock@example.com")):
        asyncio.run(enroll_and_verify_email(w, issuer, email))
        asyncio.run(w.sync())

    for fmt in ("T1", "S1"):
        name = fmt.lower()
        first = ids[fmt][0]
        wallet.frame(first)
        report(f"Python Wallet.frame, {name}, cached",
               [timed(lambda: wallet.frame(first)) for _ in range(CACHED_CALLS)])
        drawn = []
        for _ in range(DRAWN_ROUNDS):
            for t in ids[fmt]:
                wallet.lock()
                wallet.unlock()
                drawn.append(timed(lambda: wallet.frame(t)))
        report(f"Python Wallet.frame, {name}, drawn", drawn)
        (own,) = ids[fmt + "-clock"]
        clocked.frame(own)
        report(f"Python Wallet.frame, {name}, cached, Python ClockSource",
               [timed(lambda: clocked.frame(own)) for _ in range(CACHED_CALLS)])


if __name__ == "__main__":
    main()
