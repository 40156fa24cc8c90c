"""The Redis backend's hot path: queueing onto idle entities with one script call.

Operations travel as flat script arguments (`redis_lua.FAST_WIDTH` each), not as one JSON
document, so neither side parses JSON: Python writes each operation's fields and base once, and
Lua indexes its arguments directly. The call goes over a connection the backend keeps for it,
packed in one step by hiredis: the client's general command path (pool checkout, socket poll,
retry and metrics bookkeeping) costs more than the round trip itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import hiredis
import redis

from agent.queue import coalesce
from agent.queue.fingerprint import canonical_bytes
from agent.queue.operation import KIND_TEXT, NewOperation
from agent.queue.redis_lua import FAST_ENQUEUE_MANY, FAST_ENQUEUE_ONE
from agent.store.models import Priority

T = TypeVar("T")
_PRIORITY = {p: str(int(p)) for p in Priority}


def eligible(news: Sequence[NewOperation], fps: Sequence[str]) -> bool:
    """Whether the script can decide for all of `news`: each is direct (`coalesce.is_direct`;
    the script checks capacity itself), no two interact, and nothing absent would be confused
    with an empty text (an absent value travels as '')."""
    for new in news:
        if new.temp_id == "" or not coalesce.is_direct(new, None):
            return False
    return len(news) == 1 or coalesce.independent(news, fps)


def fast_args(
    prefix: str, capacity: int | None, news: Sequence[NewOperation], fps: Sequence[str], now: float
) -> list[Any]:
    """The fast enqueue's arguments for `news` (see `redis_lua`); the stored hash is
    `redis_rows.to_pairs` of the operation `coalesce.pending_operation` describes. (Integers go
    as they are: hiredis writes them in decimal, as `str` would.)"""
    args: list[Any] = [prefix, -1 if capacity is None else capacity, repr(now), len(news)]
    add = args.extend
    for new, fp in zip(news, fps, strict=True):
        target, temp, parent, deadline = new.target_id, new.temp_id, new.parent_id, new.deadline_at
        add(
            (
                fp,
                new.entity_type,
                f"~{temp}" if target is None else target,
                KIND_TEXT[new.kind],
                _PRIORITY[new.priority],
                "" if deadline is None else repr(float(deadline)),
                "1" if new.technician else "0",
                canonical_bytes(new.fields),
                canonical_bytes(new.base),
                "" if target is None else target,
                temp or "",
                "" if parent is None else parent,
            )
        )
    return args


class FastEnqueue:
    """The fast enqueue over a connection of its own.

    Called with the arguments and `meanwhile`, work to do while Redis runs the script (building
    the operations to return); gives the first id, or None when the rules must decide (nothing
    was written then), and what `meanwhile` returned."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self.one = client.register_script(FAST_ENQUEUE_ONE)
        self.many = client.register_script(FAST_ENQUEUE_MANY)
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = os.getpid()

    def __call__(self, args: list[Any], meanwhile: Callable[[], T]) -> tuple[int | None, T]:
        script = self.one if args[3] == 1 else self.many
        if not self._lock.acquire(blocking=False):  # another thread has the connection
            first, made = script(args=args), meanwhile()
        else:
            try:
                sent = self._send(script, args)
                try:
                    made = meanwhile()
                finally:  # the reply is read whatever happened, so the connection stays in step
                    first = self._receive(script, args) if sent else script(args=args)
            finally:
                self._lock.release()
        return (None if first == -1 else int(first)), made

    def _send(self, script: Any, args: list[Any]) -> bool:
        if self._conn is None or self._pid != os.getpid():  # none yet, or a forked child's
            self._conn, self._pid = _checkout(self.r.connection_pool), os.getpid()
        try:
            self._conn.send_packed_command(
                [hiredis.pack_command(("EVALSHA", script.sha, 0, *args))]
            )
        except (redis.ConnectionError, redis.TimeoutError):
            return False  # disconnected already; the client's retries take over
        return True

    def _receive(self, script: Any, args: list[Any]) -> Any:
        try:
            return self._conn.read_response()
        except redis.exceptions.NoScriptError:
            pass  # not loaded on this server (yet): the client loads it and runs it
        except (redis.ConnectionError, redis.TimeoutError):
            # Disconnected already; through the client's retries. Should the lost reply have
            # been a success, the rerun finds the operations live and the rules return them.
            pass
        return script(args=args)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self.r.connection_pool.release(self._conn)
            self._conn = None


def _checkout(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name
        return pool.get_connection("EVALSHA")
