"""The window's event loop: ready callbacks in order and in slices that give Qt its turn,
delayed callbacks on Qt timers that go away when cancelled, and asyncio's usual tools on top."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from tests.ui.conftest import Loop
from ui.loop import EventLoop, new_event_loop


def scheduler(loop: Loop) -> Any:
    return loop.loop._timer


def stepping(loop: Loop) -> Any:
    """The scheduler, driven by hand pass by pass as if the loop were running."""
    sched = scheduler(loop)
    sched._running = lambda: True
    return sched


def test_ready_callbacks_run_in_the_order_they_were_scheduled(qloop: Loop) -> None:
    seen: list[int] = []

    async def body() -> None:
        for n in range(50):
            asyncio.get_running_loop().call_soon(seen.append, n)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    qloop.run(body())
    assert seen == list(range(50))


def test_a_pass_runs_only_what_was_ready_when_it_began(qloop: Loop) -> None:
    loop = qloop.loop
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        loop.call_soon(seen.append, "scheduled by first")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    sched = stepping(qloop)
    sched._run_ready()
    assert seen == ["first", "second"]
    sched._run_ready()
    assert seen == ["first", "second", "scheduled by first"]


def test_a_slice_ends_when_its_time_is_up_and_the_rest_waits(qloop: Loop) -> None:
    loop = qloop.loop
    sched = stepping(qloop)
    sched.slice_s = 0.0  # every pass ends after its first callback
    seen: list[int] = []
    for n in range(3):
        loop.call_soon(seen.append, n)
    sched._run_ready()
    assert seen == [0]
    sched._run_ready()
    assert seen == [0, 1]


def test_callbacks_wait_for_the_loop_when_qt_runs_without_it(qloop: Loop, qapp: Any) -> None:
    seen: list[str] = []
    qloop.loop.call_soon(seen.append, "scheduled")
    qapp.processEvents()  # Qt's own event processing, the asyncio loop not running
    assert seen == []

    async def body() -> None:
        await asyncio.sleep(0)

    qloop.run(body())
    assert seen == ["scheduled"]


def test_qt_gets_its_turn_between_slices(qapp: Any) -> None:
    """A long queue of callbacks does not hold the GUI thread: a Qt timer started by the first
    callback fires before the queue is through (it would fire after it if one pass ran all)."""
    loop = EventLoop(qapp, slice_s=0.0)
    asyncio.set_event_loop(loop)
    order: list[str] = []
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: order.append("qt"))
    try:

        async def body() -> None:
            running = asyncio.get_running_loop()
            running.call_soon(timer.start, 0)
            for n in range(200):
                running.call_soon(order.append, f"cb{n}")
            done = asyncio.Event()
            running.call_soon(done.set)
            await done.wait()

        loop.run_until_complete(body())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert "qt" in order and order.index("qt") < order.index("cb199")


def test_a_modal_loop_opened_by_a_callback_keeps_the_queue_moving(qloop: Loop) -> None:
    seen: list[str] = []

    def modal() -> None:  # as QMessageBox.exec() in an error callback
        nested = QEventLoop()
        qloop.loop.call_soon(lambda: (seen.append("inside the modal loop"), nested.quit()))
        QTimer.singleShot(5000, nested.quit)  # a guard, so a failure cannot hang the run
        nested.exec()
        seen.append("modal closed")

    async def body() -> None:
        asyncio.get_running_loop().call_soon(modal)
        for _ in range(3):
            await asyncio.sleep(0)

    qloop.run(body())
    assert seen == ["inside the modal loop", "modal closed"]


def test_a_modal_loop_opened_inside_a_task_lets_the_other_tasks_run(qloop: Loop) -> None:
    """As a question asked from a facade call's error callback ("Photo too large: attach a
    smaller copy?"), which runs inside the call's task: while the dialog is open the other
    tasks (the sync, the status) go on, and none of them is lost for good."""
    seen: list[str] = []

    async def other() -> None:
        await asyncio.sleep(0)
        seen.append("another task ran during the modal")
        await asyncio.sleep(0.001)
        seen.append("and after it")

    async def asking() -> None:
        started = asyncio.ensure_future(other())
        await asyncio.sleep(0)
        nested = QEventLoop()  # as QMessageBox.exec()
        QTimer.singleShot(20, nested.quit)
        QTimer.singleShot(5000, nested.quit)  # a guard, so a failure cannot hang the run
        nested.exec()
        seen.append("modal closed")
        assert asyncio.current_task() is not None  # this task is itself again
        await asyncio.wait_for(started, 5)

    errors: list[str] = []
    qloop.loop.set_exception_handler(lambda _loop, context: errors.append(context["message"]))
    qloop.run(asking())
    assert errors == []
    assert seen == ["another task ran during the modal", "and after it", "modal closed"]


def test_delayed_callbacks_fire_and_cancelled_ones_release_their_timer(qloop: Loop) -> None:
    fired: list[str] = []

    async def body() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, fired.append, "soon")
        late = loop.call_later(30, fired.append, "late")
        assert len(scheduler(qloop)._delayed) == 2
        late.cancel()
        assert len(scheduler(qloop)._delayed) == 1
        await asyncio.sleep(0.05)

    qloop.run(body())
    assert fired == ["soon"]
    assert scheduler(qloop)._delayed == {}
    assert scheduler(qloop)._timer_of == {}


def test_timeouts_cancel_and_finished_waits_leave_no_timers(qloop: Loop) -> None:
    async def body() -> str:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        for _ in range(100):  # request timeouts that never fire, as while syncing
            async with asyncio.timeout(30):
                await asyncio.sleep(0)
        return await asyncio.wait_for(asyncio.sleep(0, "done"), timeout=30)

    assert qloop.run(body()) == "done"
    assert scheduler(qloop)._delayed == {}


def test_call_at_in_the_past_runs_at_once_and_returns_a_timer_handle(qloop: Loop) -> None:
    seen: list[str] = []

    async def body() -> None:
        loop = asyncio.get_running_loop()
        handle = loop.call_at(loop.time() - 1, seen.append, "past")
        assert isinstance(handle, asyncio.TimerHandle)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    qloop.run(body())
    assert seen == ["past"]


def test_callbacks_from_other_threads_arrive(qloop: Loop) -> None:
    async def body() -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        worker = threading.Thread(
            target=lambda: loop.call_soon_threadsafe(future.set_result, "from a thread")
        )
        worker.start()
        try:
            return await future
        finally:
            worker.join()

    assert qloop.run(body()) == "from a thread"


def test_a_failing_callback_is_reported_and_the_others_still_run(qloop: Loop) -> None:
    loop = qloop.loop
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(str(context["exception"])))
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    async def body() -> None:
        loop.call_soon(boom)
        loop.call_soon(seen.append, "after")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    qloop.run(body())
    assert reported == ["boom"] and seen == ["after"]


def test_coroutines_are_refused_as_callbacks(qloop: Loop) -> None:
    async def coro() -> None:
        pass

    with pytest.raises(TypeError):
        qloop.loop.call_soon(coro)
    with pytest.raises(TypeError):
        qloop.loop.call_later(1, "not callable")


def test_closing_drops_what_was_still_scheduled(qapp: Any) -> None:
    loop = new_event_loop(qapp)
    seen: list[str] = []
    loop.call_soon(seen.append, "never")
    loop.call_later(5, seen.append, "never either")
    loop.close()
    assert seen == []
    assert not loop._timer.ready and loop._timer._delayed == {}
