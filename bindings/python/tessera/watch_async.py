"""``Wallet.watch`` as an asynchronous iterator: ``async for update in watch_async(...)``.

The library calls a listener on its own thread; this hands each call to the running
event loop and yields it there. Leaving the loop (``break``, an exception, the task being
cancelled) stops the watch in the library and releases the listener.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Union

from .tessera_core import Frame, RevealState
from .tessera_ffi import FrameListener, Wallet

TicketUpdate = Union[RevealState, Frame]
"""What ``watch_async`` yields: the ticket's state (now and at every change), or the
frame to show (at every step boundary while the ticket is ready)."""


async def watch_async(wallet: Wallet, ticket_id: str) -> AsyncIterator[TicketUpdate]:
    """Watches ``ticket_id``: yields its state first, then each change and, while it is
    ready, one ``Frame`` per step. Raises ``WalletError`` for a bad ticket id.

    Updates are queued without limit (a couple per step at most) and never dropped, so a
    slow consumer sees every one; the library's thread is never blocked.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[TicketUpdate] = asyncio.Queue()

    def hand_over(update: TicketUpdate) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, update)
        except RuntimeError:
            pass  # the loop is closed: nobody is iterating any more

    class _Listener(FrameListener):
        def on_state(self, state: RevealState) -> None:
            hand_over(state)

        def on_frame(self, frame: Frame) -> None:
            hand_over(frame)

    handle = wallet.watch(ticket_id, _Listener())
    try:
        while True:
            yield await queue.get()
    finally:
        handle.stop()
