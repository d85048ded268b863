"""Release objects from Python against a real issuer (issue 14 item 3): a strict
just-in-time ticket synced before its window reads NEEDS_SYNC once it opens; the release
object the issuer publishes then (the text of the venue's QR code), given to
`Wallet.apply_release`, unlocks it without a sync, and the gate admits the frame.
`fetch_release` fetches the same object from the static URL. An edited or garbage text is
refused with a typed error and changes nothing.

Real time: the window opens a few seconds after the test starts.
"""

import asyncio
import time
import urllib.error
import urllib.request

import pytest

import tessera
from harness import enroll_and_verify_email, now_ms, open_wallet

EMAIL = "rita@example.com"
OPENS_IN_S = 3


def published(issuer, event_id):
    """GET /v1/events/{id}/release with no token, as a CDN or the venue's screen: (status,
    Cache-Control, body)."""
    try:
        with urllib.request.urlopen(f"{issuer.url}/v1/events/{event_id}/release", timeout=10) as r:
            return r.status, r.headers["Cache-Control"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Cache-Control"], e.read().decode()


def test_a_release_object_unlocks_a_strict_ticket_and_the_gate_admits(issuer, tmp_path):
    event = issuer.event(120, OPENS_IN_S, strict_jit=True, format="S1")
    (ticket_id,) = issuer.order(120, EMAIL, seats=["R-7"])
    wallet = open_wallet(tmp_path, issuer)

    async def enroll_and_sync():
        await enroll_and_verify_email(wallet, issuer, EMAIL)
        return await wallet.sync()

    assert asyncio.run(enroll_and_sync()).releases == 0
    assert wallet.reveal_state(ticket_id).is_LOCKED()
    # Before the window: nothing published, and the answer is that of an unknown event.
    status, cache, body = published(issuer, 120)
    assert (status, cache) == (404, "no-store")
    assert published(issuer, 9_999_999) == (status, cache, body)
    bundle = issuer.gate_bundle(120)

    time.sleep(max(0, event["reveal_opens_at"] - time.time()) + 0.2)
    # The window is open on the wallet's trusted time, but the secret is missing.
    assert wallet.reveal_state(ticket_id) == tessera.RevealState.NEEDS_SYNC()
    with pytest.raises(tessera.WalletError.NeedsSync):
        wallet.frame(ticket_id)

    status, cache, text = published(issuer, 120)
    assert (status, cache) == (200, "public, max-age=30")
    assert text.startswith("R1:")

    # Refused, changing nothing: an edited digit in the signature, garbage.
    edited = text[:-10] + ("1" if text[-10] != "1" else "2") + text[-9:]
    with pytest.raises(tessera.WalletError.BadSignature):
        wallet.apply_release(edited)
    with pytest.raises(tessera.WalletError.Invalid):
        wallet.apply_release("not a release object")
    assert wallet.reveal_state(ticket_id) == tessera.RevealState.NEEDS_SYNC()

    applied = wallet.apply_release(text)
    assert applied == tessera.ReleaseApplied(
        event_id=120,
        version=1,
        opens_at=event["reveal_opens_at"],
        updated=True,
        tickets=1,
    )
    assert wallet.reveal_state(ticket_id).is_READY()
    frame = wallet.frame(ticket_id)

    gate = tessera.GateVerifier(bundle, "door-120", str(tmp_path / "door-120.db"))
    admitted = gate.verify(frame.payload, now_ms())
    assert admitted.verdict == tessera.Verdict.ADMIT(ticket_id=ticket_id, seat="R-7", holder_name=None)

    # The same object from the static URL: already held, nothing changes.
    again = asyncio.run(wallet.fetch_release(120))
    assert again.updated is False and again.version == 1


def test_fetching_before_the_window_is_not_found_and_unlocks_nothing(issuer, tmp_path):
    issuer.event(121, 3600, strict_jit=True)
    (ticket_id,) = issuer.order(121, "sam@example.com")
    wallet = open_wallet(tmp_path, issuer)

    async def journey():
        await enroll_and_verify_email(wallet, issuer, "sam@example.com")
        await wallet.sync()
        with pytest.raises(tessera.WalletError.NotFound):
            await wallet.fetch_release(121)

    asyncio.run(journey())
    assert wallet.reveal_state(ticket_id).is_LOCKED()
