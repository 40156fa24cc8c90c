"""Reconciliation: before new work is sent, settle what a crash or a lost answer left uncertain.

Expired leases come back (flagged outcome-unknown when the write may have reached the server).
Updates and deletes are safe to repeat through the merge (an update the server already has
merges as "already equal"; a repeated delete answers 404): they keep their flag until their
next attempt reads the server, so nothing typed meanwhile is merged into a write that may have
landed. A create is not: Autotask has no idempotency keys, so an outcome-unknown create is looked
up by its natural key and, when found, the server's id is adopted instead of creating it again.
The create ledger (`attempts`) keeps that lookup honest:

- it searches records the server made between our first send and the last send plus its
  deadline, so a note queued for days is still found. That span is shifted by each clock the
  records' `createDateTime` may follow: the server's as measured (from its `Date` header) when
  the create was sent and as measured now, and our own, since a `Date` header can lie (a front
  end or proxy with a wrong clock) while the records keep true times. The search is the union
  of those windows, never the span between them;
- a candidate known before the first send (cached earlier, or older than it) is not ours, and a
  server id another create owns (received or adopted) is never adopted again; while an identical
  create is still in flight, adoption waits (what we would adopt may be its record);
- a file attachment is adopted only from a record the technician attached that holds the very
  bytes of the sealed copy (`holds_file` reads each candidate with its data): a file of the same
  name and size from someone else, or from the technician's other computer, is not it, and the
  file is sent again rather than lost;
- "not found" is believed only once no attempt can still land: the last send plus the deadline
  it had, plus `margin_seconds`: the server's own execution limit (about five minutes, FACTS.md),
  since a slow server may still apply a write that long after the client gave up, and a record
  just created can be invisible for a moment. A lost create is resent minutes late rather than
  twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.autotask.queries import FilterItem, and_, eq, gte, lte, or_
from agent.autotask.wire import WireTypeError, parse_datetime
from agent.clock import Clock
from agent.queue.operation import Operation, OpQuery
from agent.queue.outbox import Outbox
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import AuditEvent, CachedEntity, OpKind, OpState
from agent.sync import attachment_match, attempts, outcomes
from agent.sync.attempts import Attempts

log = logging.getLogger(__name__)
# Autotask ends a request on its side after about five minutes: no write lands later than that.
SERVER_EXECUTION_LIMIT_S = 300.0
# How far the server's clock may be from ours beyond the measured skew (the Date header has
# whole seconds, and clocks drift between measurements); without a measurement, half an hour.
SKEW_SLACK = timedelta(minutes=2)
UNMEASURED_SKEW_SLACK = timedelta(minutes=30)


# Creates looked up by what they sent when their answer was lost.
FOUND_BY_FIELDS = frozenset({"TimeEntries", "TicketNotes", "TicketCharges"})
# When the server made a record: `createDateTime`, or the field an entity has instead.
CREATED_FIELDS = {
    "TicketCharges": "createDate",
    attachment_match.ATTACHMENTS: attachment_match.STAMP,
}
# Sent, but kept by the server in its own form (a charge's purchase time): not matched on.
NOT_MATCHED = {"TicketCharges": frozenset({"datePurchased"})}


def created_field(entity_type: str) -> str:
    return CREATED_FIELDS.get(entity_type, "createDateTime")


def identity(op: Operation, technician_resource_id: int | None) -> dict[str, Any] | None:
    """The fields that find a create's record on the server without knowing its id: every
    value the create sent (two entries that differ in one field only, a role or the note's
    visibility, must never be taken for each other), less what the server derives from the
    others (a time entry's hours, given its start and end), what it keeps in its own form (a
    charge's purchase time) and empty text (which the server may keep as null). A note's or
    a charge's creator is the technician."""
    if op.entity_type == attachment_match.ATTACHMENTS:
        return attachment_match.identity(op)
    if op.entity_type not in FOUND_BY_FIELDS:
        return None
    skipped = NOT_MATCHED.get(op.entity_type, frozenset())
    key = {
        name: value
        for name, value in op.fields.items()
        if isinstance(value, str | int | float) and value != "" and name not in skipped
    }
    if op.entity_type == "TimeEntries" and key.get("startDateTime") and key.get("endDateTime"):
        key.pop("hoursWorked", None)
    if op.entity_type in ("TicketNotes", "TicketCharges") and technician_resource_id is not None:
        key["creatorResourceID"] = technician_resource_id
    return key


Window = tuple[datetime, datetime]


def natural_key(
    op: Operation, technician_resource_id: int | None, windows: list[Window]
) -> list[FilterItem] | None:
    """The filter for a create's record: its identity, made on the server within one of
    `windows`."""
    key = identity(op, technician_resource_id)
    if key is None:
        return None
    items: list[FilterItem] = [eq(name, value) for name, value in key.items()]
    made = created_field(op.entity_type)
    spans: list[FilterItem] = [
        and_(gte(made, _iso(start)), lte(made, _iso(end))) for start, end in windows
    ]
    items.append(spans[0] if len(spans) == 1 else or_(*spans))
    return items


def merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """`spans` sorted, the overlapping ones joined."""
    out: list[tuple[float, float]] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _created(record: Mapping[str, Any], entity_type: str) -> datetime | None:
    made = created_field(entity_type)
    try:
        return parse_datetime(record.get(made), made)
    except WireTypeError:
        return None


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


Lookup = Callable[[str, list[FilterItem]], Awaitable[list[dict[str, Any]]]]


def uncertain_ops(outbox: Outbox, states: frozenset[OpState]) -> list[Operation]:
    """The operations in `states` whose last attempt may have landed (paged through)."""
    out: list[Operation] = []
    after: int | None = None
    while True:
        page = outbox.list_ops(
            OpQuery(states=states, outcome_unknown=True, after_id=after, limit=1_000)
        )
        out += page.items
        if page.next_after_id is None:
            return out
        after = page.next_after_id


class Reconciler:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        lookup: Lookup,
        technician_resource_id: int | None,
        margin_seconds: float = SERVER_EXECUTION_LIMIT_S,
        current_skew: Callable[[], tuple[float, float] | None] | None = None,
    ) -> None:
        self.store, self.outbox, self.clock = store, outbox, clock
        self.lookup = lookup
        self.technician_resource_id = technician_resource_id
        self.margin_seconds = margin_seconds
        # The server's clock minus ours now, and how far it may be off (the client's latest
        # measurement): the server's clock may have stepped since a create was sent.
        self.current_skew = current_skew
        # Whether this process still waits for the answer to an attempt of the operation (an
        # upload outlasting its lease): its answer, not a lookup, settles it.
        self.busy: Callable[[int], bool] = lambda op_id: False
        # Whether the server's attachment (by id) holds the bytes of the file the operation
        # uploads; without it no attachment is ever adopted.
        self.holds_file: Callable[[Operation, int], Awaitable[bool]] | None = None
        # Attachments found not to hold an operation's file (attachments never change).
        self._other_files: dict[int, set[int]] = {}
        # A lost upload's record was adopted since this was last reset: its sealed copy can go.
        self.adopted_files = False

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def uncertain(self) -> list[Operation]:
        """The pending creates whose last attempt may have landed. An update or a delete in
        that state is settled by its own next attempt, which reads the server first; its flag
        stays until then, so an edit made meanwhile is never merged into a write that may
        already be on the server (`agent.queue.coalesce`)."""
        pending = uncertain_ops(self.outbox, frozenset({OpState.PENDING}))
        return [op for op in pending if op.kind is OpKind.CREATE]

    async def run(self, *, held_by: str | None = None) -> int:
        """Recover leases (with `held_by`, that owner's too: a restart's leftovers), then settle
        every outcome-unknown operation; returns how many were settled."""
        await self.store.awrite(lambda: self.outbox.recover_expired_leases(held_by=held_by))
        settled = 0
        for op in await self.store.aread(self.uncertain):
            if await self.settle(op):
                settled += 1
        return settled

    async def settle(self, op: Operation) -> bool:
        if self.busy(op.id):
            return False
        if op.kind is not OpKind.CREATE:
            return False  # its next attempt reads the server first (see `uncertain`)
        now = self._now()
        sends = await self.store.aread(lambda: self._attempts(op))
        key = natural_key(op, self.technician_resource_id, self.windows(sends))
        if key is None:
            return False
        used = self._skews(sends)
        matches = await self.lookup(op.endpoint, [and_(*key)])
        if not matches and self._skews(sends) != used:
            # The lookup's own answer showed the server's clock elsewhere than the windows
            # assumed (it stepped since our last measurement): look again with every one.
            key = natural_key(op, self.technician_resource_id, self.windows(sends)) or key
            matches = await self.lookup(op.endpoint, [and_(*key)])
        if op.entity_type == attachment_match.ATTACHMENTS:
            matches = await self._holding_the_file(op, sends, matches)
        settled = bool(await self.store.awrite(lambda: self._decide(op, sends, matches, now)))
        if settled:
            self._other_files.pop(op.id, None)
            if matches and op.entity_type == attachment_match.ATTACHMENTS:
                self.adopted_files = True
        return settled

    async def _holding_the_file(
        self, op: Operation, sends: Attempts, matches: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The candidates whose bytes are the file `op` uploads, read one by one (a lost answer
        is rare); none when they cannot be compared."""
        candidates = await self.store.aread(lambda: self._candidates(op, sends, matches))
        others = self._other_files.setdefault(op.id, set())
        out: list[dict[str, Any]] = []
        for server_id, record in sorted(candidates.items()):
            if server_id in others or self.holds_file is None:
                continue
            if await self.holds_file(op, server_id):
                out.append(dict(record))
            else:
                others.add(server_id)
        return out

    def windows(self, sends: Attempts) -> list[Window]:
        """When, on the clock the server's records carry, one of the attempts can have made
        the record: the attempts' span shifted by each skew that clock can have (disjoint)."""
        start, end = sends.first_sent_at, sends.in_flight_until + self.margin_seconds
        spans = merged([(start + low, end + high) for low, high in self._skews(sends)])
        return [(_at(low), _at(high)) for low, high in spans]

    def _skews(self, sends: Attempts) -> list[tuple[float, float]]:
        """The ranges of record-clock-minus-ours skews an attempt can have met, slack
        included: the one measured as it was sent; the one measured now (the server's clock may
        have stepped after that measurement, or the header lied then and not now); and none,
        our own clock (records keep true times behind a `Date` header that lies, and a skew
        measured from a lie is stored with the attempt)."""
        slack = SKEW_SLACK.total_seconds()
        if sends.skew is None:
            unmeasured = UNMEASURED_SKEW_SLACK.total_seconds()
            ranges = [(-unmeasured, unmeasured)]
        else:
            spread = sends.skew_spread + slack
            ranges = [(-slack, slack), (sends.skew - spread, sends.skew + spread)]
        now = self.current_skew() if self.current_skew is not None else None
        if now is not None:
            measured, spread = now
            ranges.append((measured - spread - slack, measured + spread + slack))
        return ranges

    def _decide(
        self, op: Operation, sends: Attempts, matches: list[dict[str, Any]], now: float
    ) -> bool:
        """Adopt, wait or give up, in one transaction with the ownership it checks."""
        candidates = self._candidates(op, sends, matches)
        if candidates:
            waiting = self._identical_in_flight(op, now)
            if waiting is not None:
                self._wait(op, waiting, "an identical create is still in flight")
                return False
            server_id = min(candidates)
            self._adopt(op, server_id, candidates[server_id], now)
            return True
        horizon = sends.in_flight_until + self.margin_seconds
        if now < horizon:
            self._wait(op, horizon, "waiting to confirm whether the create landed")
            return False
        attempts.settled(op.id, now)
        self._clear_flag(op, now, "not on the server")
        return True

    def _candidates(
        self, op: Operation, sends: Attempts, matches: list[dict[str, Any]]
    ) -> dict[int, Mapping[str, Any]]:
        """The matches that can be this create's: not owned by another, not known before."""
        windows = self.windows(sends)
        out: dict[int, Mapping[str, Any]] = {}
        for match in matches:
            server_id = int(match["id"])
            owner = attempts.owner_of(op.entity_type, server_id)
            if owner is not None and owner != op.id:
                continue
            known = CachedEntity.get_or_none(
                (CachedEntity.entity_type == op.entity_type) & (CachedEntity.entity_id == server_id)
            )
            if owner is None and known is not None and known.fetched_at < sends.first_sent_at:
                continue
            if op.entity_type == attachment_match.ATTACHMENTS and not (
                attachment_match.same_size(op, match)
                and attachment_match.attached_by(match, self.technician_resource_id)
            ):
                continue
            created = _created(match, op.entity_type)
            if created is not None and not any(low <= created <= high for low, high in windows):
                continue
            out[server_id] = match
        return out

    def _identical_in_flight(self, op: Operation, now: float) -> float | None:
        """Until when another create with this identity may still be answered (None: none)."""
        mine = identity(op, self.technician_resource_id)
        until: float | None = None
        for other_id in attempts.in_flight(op.entity_type, now, but=op.id):
            other = self.outbox.get(other_id)
            if other is None or not other.is_live:
                continue
            if identity(other, self.technician_resource_id) == mine:
                sends = attempts.of(other_id)
                if sends is not None:
                    until = max(until or 0.0, sends.in_flight_until)
        return until

    def _adopt(self, op: Operation, server_id: int, record: Mapping[str, Any], now: float) -> None:
        outcomes.succeeded(
            self.outbox,
            op,
            now=now,
            server_id=server_id,
            server_values=record,
            sent={},
            reason="the lost create had landed; its id was adopted",
        )
        audit.append(
            "reconciled",
            at=now,
            entity_type=op.entity_type,
            entity_id=server_id,
            op_id=op.id,
            detail={"outcome": "landed", "adopted_id": server_id},
        )

    def _wait(self, op: Operation, until: float, why: str) -> None:
        self.outbox.release(op.id, until, why, "reconcile", outcome_unknown=True)

    def _attempts(self, op: Operation) -> Attempts:
        """The create ledger's record of `op`'s sends; for a send it has no record of (written
        by an older version), the audit's "sent" events with the longest deadline."""
        recorded = attempts.of(op.id)
        if recorded is not None:
            return recorded
        sent = (
            AuditEvent.select(AuditEvent.at)
            .where((AuditEvent.op_id == op.id) & (AuditEvent.action == "sent"))
            .order_by(AuditEvent.id)
        )
        times = [float(e.at) for e in sent] or [op.updated_at]
        last = max(times)
        return Attempts(min(times), last, last + attempts.FALLBACK_DEADLINE, None)

    def _clear_flag(self, op: Operation, now: float, outcome: str) -> None:
        self.outbox.release(op.id, now, op.last_error, op.error_category, outcome_unknown=False)
        audit.append(
            "reconciled",
            at=now,
            entity_type=op.entity_type,
            entity_id=op.entity_key,
            op_id=op.id,
            detail={"outcome": outcome},
        )
