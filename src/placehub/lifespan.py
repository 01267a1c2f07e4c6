"""Work that runs while the app serves (MQTT bridges, alert timers, caches): each concern wraps
the app's lifespan with its own start and stop, started before and stopped after what was
registered earlier."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

Hook = Callable[[Any], Awaitable[None] | None]


async def _run(hook: Hook | None, app: Any) -> None:
    if hook is not None:
        result = hook(app)
        if inspect.isawaitable(result):
            await result


def while_serving(app: FastAPI, start: Hook | None = None, stop: Hook | None = None) -> None:
    """Call ``start(app)`` when the app starts and ``stop(app)`` when it stops, even after an
    error; either may be a coroutine function."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        await _run(start, app_)
        try:
            async with inner(app_) as state:
                yield state
        finally:
            await _run(stop, app_)

    app.router.lifespan_context = lifespan
