"""``async for`` over a ticket (``tessera.watch_async``): the state, the window opening and
one frame per step arrive in order on the event loop, and leaving the loop (``break``, a
cancelled task) stops the watch in the library."""

import asyncio
import time

import pytest

import tessera
from harness import enroll_and_verify_email, open_wallet


def stopped_lines(logger):
    return [m for _, m in logger.lines if m.startswith("watch ") and m.endswith(": stopped")]


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_async_for_gets_the_opening_and_frames_and_break_stops_the_watch(issuer, tmp_path, logger):
    event = issuer.event(401, 3, period_secs=5)
    (ticket_id,) = issuer.order(401, "async@example.com", seats=("A-4",))
    wallet = open_wallet(tmp_path, issuer, logger=logger)

    async def run():
        await enroll_and_verify_email(wallet, issuer, "async@example.com")
        await wallet.sync()
        updates = []
        async for update in tessera.watch_async(wallet, ticket_id):
            updates.append(update)
            if len(updates) == 4:
                break
        return updates

    updates = asyncio.run(asyncio.wait_for(run(), 20))
    assert updates[0] == tessera.RevealState.LOCKED(opens_at=event["reveal_opens_at"])
    assert updates[1].is_READY()
    first, second = updates[2], updates[3]
    assert isinstance(first, tessera.Frame) and isinstance(second, tessera.Frame)
    assert first.ticket_id == ticket_id
    assert second.step == first.step + 1, "one frame per step, in order"
    # break closed the generator: the library's watch stopped and released the listener.
    wait_until(lambda: len(stopped_lines(logger)) == 1, 3)


def test_cancelling_the_task_stops_the_watch_and_a_bad_id_raises(issuer, tmp_path, logger):
    issuer.event(402, -5, period_secs=5)
    (ticket_id,) = issuer.order(402, "cancel@example.com", seats=("C-1",))
    wallet = open_wallet(tmp_path, issuer, logger=logger)

    async def consume(seen):
        async for update in tessera.watch_async(wallet, ticket_id):
            seen.append(update)

    async def run():
        await enroll_and_verify_email(wallet, issuer, "cancel@example.com")
        await wallet.sync()
        seen = []
        task = asyncio.create_task(consume(seen))
        while len(seen) < 2:  # the state (ready) and the frame now
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    seen = asyncio.run(asyncio.wait_for(run(), 20))
    assert seen[0].is_READY() and isinstance(seen[1], tessera.Frame)
    wait_until(lambda: len(stopped_lines(logger)) == 1, 3)

    async def bad():
        async for _ in tessera.watch_async(wallet, "not-a-ticket"):
            pass

    with pytest.raises(tessera.WalletError):
        asyncio.run(bad())
