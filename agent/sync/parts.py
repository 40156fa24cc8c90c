"""Each kind of record the pull reads is a part of its own: one whose answers cannot be read
(cut short, a server fault on that endpoint, its circuit open) costs only that part.

The failing part is reported in the round's `PullReport` and waits for its own backoff (a
`RetrySchedule` per part) while every other part is still read each round; once its backoff has
passed it is tried again, even when the step it belongs to is not otherwise due. A failure that
says the service as a whole is not there for anybody (the connection cannot be made, the
zone cannot be looked up or trusted, the sign-in is refused, the tenant's allowance is used up)
is no part's own: it ends the pull, which then waits for the engine's backoff as one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

from agent.autotask import errors as at
from agent.autotask.zones import ZONE_LOOKUP_ENDPOINT
from agent.clock import Clock
from agent.resilience.backoff import RetrySchedule
from agent.resilience.classify import Category
from agent.resilience.errors import PipelineError
from agent.store.errors import StoreError
from agent.store.models import OutboxOp
from agent.sync.index_rows import last_read, mark_read

if TYPE_CHECKING:
    from agent.sync.pull import Puller, PullReport

log = logging.getLogger(__name__)

# Failures of the service as a whole, never of one part (see the module's text).
_SERVICE_WIDE = frozenset(
    {Category.AUTHENTICATION, Category.THROTTLED_QUOTA, Category.THROTTLED_THREADS}
)


class PartsReport(Protocol):
    """What a part's outcome is written into (`agent.sync.pull.PullReport`)."""

    pulled: list[str]
    failed: dict[str, str]
    retry_at: float | None


def service_wide(exc: PipelineError) -> bool:
    """Whether `exc` says the service as a whole cannot be used now (no part's own fault)."""
    if exc.category in _SERVICE_WIDE:
        return True
    cause = exc.error
    if isinstance(cause, at.AuthenticationError | at.UntrustedZoneError):
        return True
    if isinstance(cause, at.AutotaskError) and cause.endpoint == ZONE_LOOKUP_ENDPOINT:
        return True  # no call gets anywhere without the zone
    if isinstance(cause, at.RequestTimeoutError):
        return cause.phase in ("connect", "pool")
    return isinstance(cause, at.NetworkError) and cause.phase == "connect"


class PullParts:
    """The backoff of each part of the pull, by name (an entity, e.g. "TicketNotes")."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._schedules: dict[str, RetrySchedule] = {}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def retry_due(self, name: str) -> bool:
        """`name` failed and its backoff has passed (so it is tried even off its step's turn)."""
        schedule = self._schedules.get(name)
        return (
            schedule is not None and schedule.last_error is not None and schedule.due(self._now())
        )

    def reset(self) -> None:
        """Try every part at the next chance (the network came back), keeping their counts."""
        for schedule in self._schedules.values():
            schedule.reset()

    async def run(
        self, name: str, report: PartsReport, pull: Callable[[], Awaitable[object]]
    ) -> bool:
        """Run the part `name` unless it waits for its backoff; True when it was read.

        A failure of the part is written into `report` and starts (or lengthens) its backoff;
        a failure of the whole service (`service_wide`) and the disk's refusal are raised.
        """
        schedule = self._schedules.setdefault(name, RetrySchedule())
        now = self._now()
        if not schedule.due(now):
            _note(report, name, schedule.last_error or "waiting to be tried again", schedule)
            return False
        refused_until: float | None = None
        try:
            await pull()
        except PipelineError as exc:
            if service_wide(exc):
                raise
            error = f"{exc.category}: {exc}"
            if not exc.attempted:  # shed or refused here: nothing reached the server
                refused_until = exc.retry_at.timestamp() if exc.retry_at else now
        except StoreError:  # a condition of this computer, not of the part
            raise
        except Exception as exc:  # a record this program cannot file, or the like
            log.exception("pull of %s failed", name)
            error = f"pull failed: {type(exc).__name__}: {exc}"
        else:
            schedule.succeed()
            report.pulled.append(name)
            return True
        failed_at = self._now()
        if refused_until is not None:
            schedule.postpone(failed_at, error, refused_until)
            log.info("pull of %s postponed: %s", name, error)
        else:
            schedule.fail(failed_at, error)
            log.warning(
                "pull of %s failed, tried again in %.0f s: %s",
                name,
                schedule.next_at - failed_at,
                error,
            )
        _note(report, name, error, schedule)
        return False


Part = Callable[[], Awaitable[None]]


class PartedStep:
    """A step run after `Puller.sync` (one of its `after` steps) whose reads are parts.

    It reads every part when it is due (never read, `REFRESH_S` passed, or a change of one of
    `WRITES` went out since the last read, so the server's own figures come back in the same
    round); otherwise only a part that failed and whose backoff has passed.
    """

    CURSOR: ClassVar[str]
    REFRESH_S: ClassVar[float]
    WRITES: ClassVar[tuple[str, ...]]

    def __init__(self, puller: Puller) -> None:
        self.puller = puller
        self.store, self.caller, self.clock = puller.store, puller.caller, puller.clock

    def parts(self, report: PullReport) -> dict[str, Part]:
        """Each read on its own, by name: one that fails costs only itself."""
        raise NotImplementedError

    def due(self) -> bool:
        def run() -> bool:
            last = last_read(self.CURSOR)
            if last is None or self.clock.now().timestamp() - last >= self.REFRESH_S:
                return True
            sent = OutboxOp.select(OutboxOp.id).where(
                OutboxOp.entity_type.in_(self.WRITES) & (OutboxOp.updated_at >= last)
            )
            return bool(sent.exists())

        return bool(self.store.read(run))

    async def __call__(self, report: PullReport) -> None:
        if self.due():
            await self.pull(report)
            return
        for name, part in self.parts(report).items():  # a failed part, once its backoff passed
            if self.puller.parts.retry_due(name):
                await self.puller.parts.run(name, report, part)

    async def pull(self, report: PullReport) -> None:
        for name, part in self.parts(report).items():
            await self.puller.parts.run(name, report, part)
        at = self.clock.now().timestamp()
        await self.store.awrite(lambda: mark_read(self.CURSOR, at))


def _note(report: PartsReport, name: str, error: str, schedule: RetrySchedule) -> None:
    report.failed[name] = error
    at_ = schedule.next_at
    report.retry_at = at_ if report.retry_at is None else min(report.retry_at, at_)
