"""The virtual clock the scheduler tests run on: timers fire in order, at their virtual time,
without the wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests._virtual import virtual_time


@virtual_time
async def test_the_clock_jumps_to_each_timer_in_order() -> None:
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float]] = []
    start = time.perf_counter()

    async def after(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        fired.append((name, loop.time()))

    await asyncio.gather(after("late", 3600.0), after("early", 60.0))
    assert fired == [("early", 60.0), ("late", 3600.0)]
    assert time.perf_counter() - start < 5.0  # an hour of timers, not an hour of waiting


@virtual_time
async def test_a_timeout_fires_at_its_virtual_deadline() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(2.5):
            await asyncio.sleep(10)
    assert loop.time() - start == 2.5
