"""The attendee journey from Python against a real issuer: enroll, verify email through
the dev outbox, sync; locked before the window; a watch that receives the frames at the
step boundaries once it opens; the gate verifier admits a frame and rejects its replay.

Real time: the window opens a few seconds after the test starts and codes rotate every
5 s (the shortest period), so the test takes about 15 s.
"""

import asyncio
import threading
import time

import pytest

import tessera
from harness import FakeKeyVault, enroll_and_verify_email, now_ms, open_wallet

EMAIL = "alice@example.com"
PHONE = "+33612345678"
OPENS_IN_S = 3
PERIOD = 5


class Recorder(tessera.FrameListener):
    """A FrameListener that records what it gets and when (wall ms), and throws once on
    its first frame to show that a throwing listener does not end the watch."""

    def __init__(self):
        self.frames = []  # (received_ms, Frame)
        self.states = []
        self.cond = threading.Condition()
        self.thrown = False

    def on_frame(self, frame):
        with self.cond:
            self.frames.append((now_ms(), frame))
            self.cond.notify_all()
        if not self.thrown:
            self.thrown = True
            raise RuntimeError("a listener bug")

    def on_state(self, state):
        with self.cond:
            self.states.append(state)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout):
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), (self.states, self.frames)


def test_journey_locked_then_frames_on_step_boundaries_and_the_gate(issuer, tmp_path, logger):
    event = issuer.event(101, OPENS_IN_S, period_secs=PERIOD, requires=["Email"])
    (ticket_id,) = issuer.order(101, EMAIL, phone=PHONE, seats=["B-12"])

    vault = FakeKeyVault()
    wallet = open_wallet(tmp_path, issuer, vault=vault, logger=logger)
    assert vault.calls == ["wrap"], "a new wallet wraps its key with the Python vault"
    assert wallet.tickets() == []

    async def enroll_verify_sync():
        enrollment = await wallet.enroll("python")
        assert enrollment.device_id == wallet.device_public_key_hex()
        status = await wallet.request_email(EMAIL)
        assert status.pending_expires_at_ms is not None
        token = issuer.last_message(EMAIL).split("token=", 1)[1][:64]
        status = await wallet.confirm_email(token)
        assert tessera.Verification.EMAIL in status.verified
        return await wallet.sync()

    report = asyncio.run(enroll_verify_sync())
    assert (report.tickets, report.events, report.moved) == (1, 1, 0)
    assert tessera.Verification.EMAIL in report.verified

    (summary,) = wallet.tickets()
    assert summary.ticket_id == ticket_id
    assert summary.seat == "B-12"
    assert summary.event.period_secs == PERIOD
    assert summary.event.format == tessera.CodeFormat.T1
    assert summary.event.requires == [tessera.Verification.EMAIL]
    assert summary.state == tessera.RevealState.LOCKED(opens_at=event["reveal_opens_at"])

    # Before the window: no barcode, a typed error with the opening time.
    with pytest.raises(tessera.WalletError.Locked) as locked:
        wallet.frame(ticket_id)
    assert locked.value.opens_at == event["reveal_opens_at"]
    assert str(event["reveal_opens_at"]) in str(locked.value)

    recorder = Recorder()
    handle = wallet.watch(ticket_id, recorder)
    assert handle.is_active()
    recorder.wait_for(lambda: len(recorder.states) >= 1, 2)
    assert recorder.states[0].is_LOCKED()

    # The window opens: the watch wakes on its own (no call from us), reports Ready and
    # delivers a frame; then one frame per step boundary.
    recorder.wait_for(lambda: len(recorder.frames) >= 3, OPENS_IN_S + 2 * PERIOD + 3)
    assert recorder.states[-1].is_READY()
    assert recorder.thrown, "the listener threw on the first frame and the watch went on"
    opened_ms = event["reveal_opens_at"] * 1000
    steps = [f.step for _, f in recorder.frames]
    assert steps == list(range(steps[0], steps[0] + len(steps))), "one frame per step"
    assert recorder.frames[0][0] >= opened_ms - 50, "no frame before the window opened"
    for received_ms, frame in recorder.frames[1:]:
        assert frame.ends_at_ms - frame.starts_at_ms == PERIOD * 1000
        # Delivered at the boundary: not before it, and promptly after it.
        assert frame.starts_at_ms - 50 <= received_ms <= frame.starts_at_ms + 1000, (
            received_ms,
            frame.starts_at_ms,
        )

    # frame() now works and agrees with the watch; the QR helpers render it.
    frame = wallet.frame(ticket_id)
    assert frame.ticket_id == ticket_id
    assert frame.step == recorder.frames[-1][1].step
    assert frame.payload == recorder.frames[-1][1].payload
    assert len(frame.qr_modules) == frame.qr_size ** 2
    assert set(frame.qr_modules) <= {0, 1}
    assert frame.qr_svg(4).startswith("<svg")
    assert frame.qr_png(4)[:8] == b"\x89PNG\r\n\x1a\n"

    # The gate, from Python: admits the live frame once, rejects the replay.
    bundle = issuer.gate_bundle(101)
    gate = tessera.GateVerifier(bundle, "north-1", str(tmp_path / "north-1.db"))
    assert gate.event_id() == 101
    assert gate.bundle_seq() >= 1
    admitted = gate.verify(frame.payload, now_ms())
    assert admitted.verdict == tessera.Verdict.ADMIT(ticket_id=ticket_id, seat="B-12", holder_name=None)
    assert admitted.ticket_id == ticket_id and admitted.step == frame.step
    replay = gate.verify(frame.payload, now_ms())
    assert replay.verdict == tessera.Verdict.REJECT(reason=tessera.RejectReason.REPLAY)
    assert replay.verdict.reason.code() == "replay"
    assert "already scanned" in replay.verdict.reason.door_text()
    assert gate.verify("not a code", now_ms()).verdict.reason == tessera.RejectReason.MALFORMED

    # A second gate learns the admission from the first one's export.
    export = gate.export_scans()
    assert len(export.strip().splitlines()) == 3
    south = tessera.GateVerifier(bundle, "south-1", str(tmp_path / "south-1.db"))
    merged = south.merge(export)
    assert merged.imported == 3 and merged.duplicate_admissions == []

    # Stop: no frame is delivered after it, even across a step boundary. stop() returns
    # before the boundary (else a frame for the next step could be legitimate), then we
    # wait past the boundary for longer than a frame may be late (1 s above).
    boundary_ms = recorder.frames[-1][1].ends_at_ms
    handle.stop()
    stopped_ms = now_ms()
    assert not handle.is_active()
    assert stopped_ms < boundary_ms - 100, "stop() returned too close to the boundary"
    count = len(recorder.frames)
    time.sleep(max(0, (boundary_ms - now_ms()) / 1000) + 2.0)
    assert len(recorder.frames) == count, "a frame arrived after stop()"
    assert all(received <= stopped_ms for received, _ in recorder.frames)
    assert all(f.step < boundary_ms // (PERIOD * 1000) for _, f in recorder.frames)

    # The next live code of the same ticket at the other gate: already admitted.
    later = wallet.frame(ticket_id)
    assert later.step > frame.step
    again = south.verify(later.payload, now_ms())
    assert again.verdict == tessera.Verdict.REJECT(reason=tessera.RejectReason.ALREADY_ADMITTED)

    # Nothing personal or secret went to the app's logger.
    text = " ".join(message for _, message in logger.lines)
    assert logger.lines, "the library logged its steps"
    for private in (EMAIL, PHONE, token_like(issuer.last_message(EMAIL)), frame.payload):
        assert private not in text


def token_like(body):
    return body.split("token=", 1)[1][:64]


def test_a_reopened_wallet_unwraps_its_key_through_the_python_vault(issuer, tmp_path):
    vault = FakeKeyVault()
    first = open_wallet(tmp_path, issuer, name="again", vault=vault)
    wallet_id = first.wallet_id()
    del first
    second = open_wallet(tmp_path, issuer, name="again", vault=vault)
    assert second.wallet_id() == wallet_id
    assert vault.calls == ["wrap", "unwrap"]

    # Another vault cannot open it: KeyNotFound from Python becomes KeyMissing.
    with pytest.raises(tessera.WalletError.KeyMissing):
        open_wallet(tmp_path, issuer, name="again", vault=FakeKeyVault())


def test_email_verification_is_required_before_reveal(issuer, tmp_path):
    issuer.event(102, -60, requires=["Email", "Phone"])
    (ticket_id,) = issuer.order(102, "bob@example.com", phone="+33698765432")
    wallet = open_wallet(tmp_path, issuer)

    async def journey():
        await enroll_and_verify_email(wallet, issuer, "bob@example.com")
        await wallet.sync()

    asyncio.run(journey())
    with pytest.raises(tessera.WalletError.NeedsVerification) as e:
        wallet.frame(ticket_id)
    assert e.value.missing == [tessera.Verification.PHONE]

    async def phone():
        await wallet.request_phone("+33698765432")
        body = issuer.last_message("+33698765432")
        code = next(w for w in body.replace(".", " ").split() if w.isdigit() and len(w) == 6)
        status = await wallet.confirm_phone(code)
        assert tessera.Verification.PHONE in status.verified

    asyncio.run(phone())
    # The issuer withheld the ticket's secrets while the phone was unproven (docs/API.md
    # "Tickets whose secrets are withheld"): verified now, the next sync brings them.
    assert wallet.reveal_state(ticket_id).is_NEEDS_SYNC()
    asyncio.run(wallet.sync())
    assert wallet.reveal_state(ticket_id).is_READY()
    assert wallet.frame(ticket_id).payload
