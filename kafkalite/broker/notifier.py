"""Wakes parked long-poll fetches when a partition they wait on receives data.

Owned by the broker; produce calls ``notify`` after an append, fetch calls ``wait`` with the
partitions it reads. No polling: a waiter sleeps on one future until data or its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

PartitionKey = tuple[str, int]


class AppendNotifier:
    def __init__(self) -> None:
        self._waiters: dict[PartitionKey, set[asyncio.Future[None]]] = {}

    async def wait(self, keys: Iterable[PartitionKey], timeout_s: float) -> bool:
        """Sleep until one of ``keys`` gets an append or the timeout; True if woken by data."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        keys = list(keys)
        for key in keys:
            self._waiters.setdefault(key, set()).add(fut)
        timer = loop.call_later(timeout_s, _settle, fut, False)
        try:
            return bool(await fut)
        finally:
            timer.cancel()
            for key in keys:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(fut)
                    if not waiters:
                        del self._waiters[key]

    def notify(self, key: PartitionKey) -> None:
        for fut in self._waiters.pop(key, ()):
            _settle(fut, True)

    def wake_all(self) -> None:
        """Release every waiter (used at shutdown so parked fetches answer at once)."""
        waiters, self._waiters = self._waiters, {}
        for futs in waiters.values():
            for fut in futs:
                _settle(fut, False)


def _settle(fut: asyncio.Future[None], woken: bool) -> None:
    if not fut.done():
        fut.set_result(woken)  # type: ignore[arg-type]
