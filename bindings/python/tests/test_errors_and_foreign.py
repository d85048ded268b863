"""Errors arrive as typed Python exceptions with readable messages; the foreign traits
written in Python (vault, presence prompt, clock, logger) drive the wallet."""

import asyncio
import json
import socket

import pytest

import tessera
from harness import FakeClock, FakeKeyVault, enroll_and_verify_email, now_ms, open_wallet


def test_bad_urls_and_ids_are_typed_errors(issuer, tmp_path):
    vault = FakeKeyVault()
    with pytest.raises(tessera.WalletError.InsecureUrl) as e:
        tessera.Wallet.open(str(tmp_path / "a.db"), "http://tickets.example.com", vault)
    assert "HTTPS required" in str(e.value)
    with pytest.raises(tessera.WalletError.InvalidUrl):
        tessera.Wallet.open(str(tmp_path / "a.db"), "not a url", vault)

    wallet = open_wallet(tmp_path, issuer)
    with pytest.raises(tessera.WalletError.Invalid) as e:
        wallet.frame("nope")
    assert "32 hex digits" in str(e.value)
    with pytest.raises(tessera.WalletError.NotFound) as e:
        wallet.ticket("ab" * 16)
    assert e.value.what == "ticket " + "ab" * 16
    # Every wallet error is a tessera.WalletError, itself an Exception.
    assert issubclass(tessera.WalletError.NotFound, tessera.WalletError)
    assert issubclass(tessera.WalletError, Exception)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_issuer_is_a_network_error_and_offline_reads_still_work(tmp_path):
    wallet = tessera.Wallet.open(
        str(tmp_path / "offline.db"), f"http://127.0.0.1:{free_port()}", FakeKeyVault()
    )
    with pytest.raises(tessera.WalletError.Network):
        asyncio.run(wallet.enroll("python"))
    assert wallet.tickets() == []


def test_issuer_refusals_are_typed(issuer, tmp_path):
    wallet = open_wallet(tmp_path, issuer)
    # Not enrolled yet: the issuer refuses the device.
    with pytest.raises(tessera.WalletError.Unauthorized):
        asyncio.run(wallet.request_email("carol@example.com"))

    async def wrong_token():
        await wallet.enroll("python")
        await wallet.request_email("carol@example.com")
        await wallet.confirm_email("00" * 32)

    with pytest.raises(tessera.WalletError.NotFound) as e:
        asyncio.run(wrong_token())
    assert str(e.value) == "not found: unknown email verification link"

    # Phone before email is confirmed: the issuer asks for verification first.
    with pytest.raises(tessera.WalletError.NeedsVerification) as e:
        asyncio.run(wallet.request_phone("+33600000000"))
    assert e.value.missing == [] and e.value.detail


def test_a_python_vault_that_fails_gives_vault_errors(issuer, tmp_path):
    class Broken(FakeKeyVault):
        def unwrap(self, wallet_id, wrapped):
            raise OSError("keystore is locked")

    broken = Broken()
    open_wallet(tmp_path, issuer, name="v", vault=broken)
    with pytest.raises(tessera.WalletError.VaultUnavailable) as e:
        open_wallet(tmp_path, issuer, name="v", vault=broken)
    assert "keystore is locked" in e.value.reason

    class Gone(FakeKeyVault):
        def wrap(self, wallet_id, kek):
            raise tessera.VaultError.Unavailable(reason="user cancelled")

    with pytest.raises(tessera.WalletError.VaultUnavailable) as e:
        open_wallet(tmp_path, issuer, name="w", vault=Gone())
    assert e.value.reason == "user cancelled"


class Presence(tessera.PresenceGate):
    """A presence prompt written in Python: answers from a script."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.reasons = []

    def confirm(self, reason):
        self.reasons.append(reason)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_presence_lock_and_unlock(issuer, tmp_path):
    issuer.event(201, -60, requires=["Presence"], format="S1")
    (ticket_id,) = issuer.order(201, "dan@example.com")
    presence = Presence(False, RuntimeError("prompt crashed"), True, True)
    wallet = open_wallet(tmp_path, issuer, presence=presence)

    async def journey():
        await enroll_and_verify_email(wallet, issuer, "dan@example.com")
        await wallet.sync()

    asyncio.run(journey())
    with pytest.raises(tessera.WalletError.NeedsVerification) as e:
        wallet.frame(ticket_id)
    assert e.value.missing == [tessera.Verification.PRESENCE]

    with pytest.raises(tessera.WalletError.PresenceDenied):
        wallet.confirm_presence(ticket_id)  # the user said no
    with pytest.raises(tessera.WalletError.PresenceDenied):
        wallet.confirm_presence(ticket_id)  # the prompt threw: counts as no
    wallet.confirm_presence(ticket_id)
    assert presence.reasons[0] == "Show your ticket for Event 201"

    frame = wallet.frame(ticket_id)
    assert frame.format == tessera.CodeFormat.S1
    assert frame.payload.startswith("S1")

    wallet.lock()
    # Locking forgets the presence confirmation too, and the key: both are needed again.
    with pytest.raises(tessera.WalletError.NeedsVerification):
        wallet.frame(ticket_id)
    wallet.confirm_presence(ticket_id)
    with pytest.raises(tessera.WalletError.WalletLocked) as e:
        wallet.frame(ticket_id)
    assert str(e.value) == "wallet is locked"
    wallet.unlock()
    assert wallet.frame(ticket_id).payload.startswith("S1")


def test_a_python_clock_source_and_trusted_time(issuer, tmp_path):
    """Setting the phone's clock forward does not open the window; real (elapsed) time
    passing does. The clock is a FAKE written in Python."""
    event = issuer.event(301, 3600)
    (ticket_id,) = issuer.order(301, "erin@example.com")
    clock = FakeClock(now_ms())
    wallet = open_wallet(tmp_path, issuer, clock=clock)

    async def journey():
        await enroll_and_verify_email(wallet, issuer, "erin@example.com")
        await wallet.sync()

    asyncio.run(journey())
    status = wallet.time_status()
    assert status.anchored and not status.clock_manipulated

    clock.set_wall(clock.wall_clock_ms() + 2 * 3600 * 1000)  # the user moves the clock
    with pytest.raises(tessera.WalletError.Locked) as e:
        wallet.frame(ticket_id)
    assert e.value.opens_at == event["reveal_opens_at"]
    assert wallet.time_status().clock_manipulated

    clock.set_wall(now_ms())
    clock.advance(3601 * 1000)  # an hour really passes (elapsed-realtime clock)
    assert wallet.reveal_state(ticket_id).is_READY()
    assert wallet.frame(ticket_id).payload

    # After a reboot the anchor no longer holds: the highest time already proven says the
    # window is open, but nothing proves which step is now, so no code until the issuer's
    # signed clock comes back (a wall clock set ahead could otherwise pre-draw codes).
    clock.reboot()
    clock.set_wall(clock.wall_clock_ms() + 3600 * 1000)
    assert not wallet.time_status().anchored
    assert wallet.reveal_state(ticket_id).is_NEEDS_SYNC()
    with pytest.raises(tessera.WalletError.NeedsSync):
        wallet.frame(ticket_id)
    # The issuer's signed clock never saw the hour the FAKE clock skipped: a signed time
    # replaces what was proven, even downward, so the window is locked again.
    asyncio.run(wallet.refresh_time())
    assert wallet.time_status().anchored and wallet.time_status().clock_manipulated
    assert wallet.reveal_state(ticket_id).is_LOCKED()


def test_a_clock_that_throws_falls_back_without_opening_early(issuer, tmp_path):
    """The elapsed-realtime clock throws on every reading; the wall clock works and is
    moved past the window (hand-set, and as if an hour passed): still locked, since
    nothing proves that time went by since the issuer's signed clock."""

    class Broken(FakeClock):
        def elapsed_realtime_ms(self):
            raise RuntimeError("no clock")

    event = issuer.event(302, 3600)
    (ticket_id,) = issuer.order(302, "frank@example.com")
    clock = Broken(now_ms())
    wallet = open_wallet(tmp_path, issuer, clock=clock)
    asyncio.run(enroll_and_verify_email(wallet, issuer, "frank@example.com"))
    asyncio.run(wallet.sync())
    (summary,) = wallet.tickets()
    assert summary.state.is_LOCKED()

    opens_ms = event["reveal_opens_at"] * 1000
    for move in ("set_wall", "advance"):
        if move == "set_wall":
            clock.set_wall(opens_ms + 2 * 3600 * 1000)  # the user sets the clock ahead
        else:
            clock.set_wall(now_ms())
            clock.advance(2 * 3600 * 1000)  # the elapsed clock still throws
        assert clock.wall_clock_ms() > opens_ms
        assert wallet.reveal_state(ticket_id).is_LOCKED(), move
        with pytest.raises(tessera.WalletError.Locked) as e:
            wallet.frame(ticket_id)
        assert e.value.opens_at == event["reveal_opens_at"]
        (summary,) = wallet.tickets()
        assert summary.state == tessera.RevealState.LOCKED(opens_at=event["reveal_opens_at"])
        assert wallet.time_status().clock_manipulated, move


def test_gate_errors_are_typed(issuer, tmp_path):
    with pytest.raises(tessera.GateError.UntrustedBundle, match="not signed") as e:
        tessera.GateVerifier("{not json", "north-1", str(tmp_path / "g.db"))
    assert isinstance(e.value.why, tessera.BundleDistrust.UNSIGNED)
    # A genuine bundle altered after signing (window stretched) is refused before use.
    issuer.event(303, -10)
    served = json.loads(issuer.gate_bundle(303))
    payload = served["payload"]
    served["payload"] = payload.replace('"valid_until":', '"valid_until":9', 1)
    with pytest.raises(tessera.GateError.UntrustedBundle, match="signature"):
        tessera.GateVerifier(json.dumps(served), "north-1", str(tmp_path / "a.db"))
    served["payload"] = payload
    with pytest.raises(tessera.GateError.UntrustedBundle) as e:
        tessera.GateVerifier.with_issuer_key(
            json.dumps(served), "11" * 32, "north-1", str(tmp_path / "b.db")
        )
    assert e.value.why == tessera.BundleDistrust.KEY_NOT_PINNED(key_id=1)
    with pytest.raises(tessera.GateError):
        tessera.GateVerifier("{}", "", str(tmp_path / "g.db"))


def test_the_memory_vault_is_usable_from_python(issuer, tmp_path):
    vault = tessera.memory_key_vault()
    a = open_wallet(tmp_path, issuer, name="mem", vault=vault)
    b = open_wallet(tmp_path, issuer, name="mem", vault=vault)
    assert a.wallet_id() == b.wallet_id()
    assert tessera.tessera_version() == "0.1.0"
