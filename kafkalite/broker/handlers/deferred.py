"""Turns a coordinator responder callback into an awaitable answer for the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Responder = Callable[[dict[str, Any]], None]


async def deferred(start: Callable[[Responder], None]) -> dict[str, Any]:
    """Call ``start`` with a responder and wait until the coordinator answers through it."""
    fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def respond(body: dict[str, Any]) -> None:
        if not fut.done():
            fut.set_result(body)

    start(respond)
    return await fut
