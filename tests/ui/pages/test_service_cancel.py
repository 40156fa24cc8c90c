"""A facade call cancelled before it started (the window closing) leaves no coroutine behind that
was never awaited: nothing of it ran, and nothing is reported."""

from __future__ import annotations

import gc
import inspect
import warnings

from tests.ui.pages.conftest import Desk


def test_a_call_cancelled_before_it_starts_is_closed_not_left_unawaited(desk: Desk) -> None:
    coro = desk.agent.queue_page(limit=1)
    task = desk.service.run(coro)
    task.cancel()  # before the loop ran it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        desk.idle()
        assert task.cancelled()
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        del coro, task
        gc.collect()
    assert desk.service._busy == 0  # the wrapper never counted it busy
