"""The create ledger: when each create went out and which server record it owns.

Autotask has no idempotency keys, so a create whose answer was lost is looked up by its natural
key (`agent.sync.reconcile`). Three facts make that lookup safe, and this module keeps them in
the store (`CreateAttempt`), so they survive a restart whatever the outbox backend:

- when the first and the last attempt left, with the deadline each had: the lookup searches only
  records the server made while one of our attempts could still reach it, and "not found" is
  believed only once none can;
- the server's clock minus ours at that time (from its `Date` header), to shift that window;
- the server id each create owns, unique per entity type: an id that one create received or
  adopted can never be adopted by another, even an identical one.

Every function runs inside `store.write` (one transaction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.autotask.session import SendInfo
from agent.queue.operation import Operation
from agent.store.models import CreateAttempt

log = logging.getLogger(__name__)

# When a send had no deadline of its own: Autotask's server-side execution limit (about 5 min).
FALLBACK_DEADLINE = 300.0


@dataclass(frozen=True)
class Attempts:
    """A create's sends as the reconciler needs them (times on the agent's clock)."""

    first_sent_at: float
    last_sent_at: float
    in_flight_until: float
    skew: float | None
    skew_spread: float = 0.0  # how far the true skew may be from `skew` either way


def sent(op: Operation, now: float, info: SendInfo) -> None:
    """One attempt of `op` is about to leave, with `info.deadline` to live."""
    deadline = info.deadline if info.deadline is not None else FALLBACK_DEADLINE
    row = CreateAttempt.get_or_none(CreateAttempt.op_id == op.id)
    if row is None:
        CreateAttempt.create(
            op_id=op.id,
            entity_type=op.entity_type,
            first_sent_at=now,
            last_sent_at=now,
            in_flight_until=now + deadline,
            skew=info.skew,
            skew_spread=info.skew_spread,
        )
        return
    row.last_sent_at = now
    row.settled_at = None  # sent again after "not found": in flight once more
    row.in_flight_until = max(row.in_flight_until, now + deadline)
    if info.skew is not None:  # a window that covers every attempt's skew
        if row.skew is None:
            row.skew, row.skew_spread = info.skew, info.skew_spread
        else:
            low = min(row.skew - row.skew_spread, info.skew - info.skew_spread)
            high = max(row.skew + row.skew_spread, info.skew + info.skew_spread)
            row.skew, row.skew_spread = (low + high) / 2, (high - low) / 2
    row.save()


def of(op_id: int) -> Attempts | None:
    row = CreateAttempt.get_or_none(CreateAttempt.op_id == op_id)
    if row is None:
        return None
    return Attempts(
        row.first_sent_at, row.last_sent_at, row.in_flight_until, row.skew, row.skew_spread
    )


def owner_of(entity_type: str, server_id: int) -> int | None:
    """The create that owns `server_id`, if any."""
    row = CreateAttempt.get_or_none(
        (CreateAttempt.entity_type == entity_type) & (CreateAttempt.server_id == server_id)
    )
    return None if row is None else int(row.op_id)


def in_flight(entity_type: str, now: float, but: int) -> list[int]:
    """Creates of `entity_type` (other than `but`) not yet settled whose attempt may still be
    answered: a record found now may be theirs."""
    rows = CreateAttempt.select(CreateAttempt.op_id).where(
        (CreateAttempt.entity_type == entity_type)
        & CreateAttempt.server_id.is_null()
        & CreateAttempt.settled_at.is_null()
        & (CreateAttempt.in_flight_until > now)
        & (CreateAttempt.op_id != but)
    )
    return [int(r.op_id) for r in rows]


def own(op: Operation, server_id: int, now: float) -> None:
    """`op` created (or adopted) `server_id`. The server's own answer outranks an adoption: if
    another create held the id (which waiting for identical creates in flight prevents), the
    id moves and the fact is logged."""
    holder = CreateAttempt.get_or_none(
        (CreateAttempt.entity_type == op.entity_type) & (CreateAttempt.server_id == server_id)
    )
    if holder is not None and holder.op_id != op.id:
        log.error(
            "server record %s %s was held by operation %s; operation %s created it",
            op.entity_type,
            server_id,
            holder.op_id,
            op.id,
        )
        holder.server_id = None
        holder.save()
    updated = (
        CreateAttempt.update(server_id=server_id, settled_at=now)
        .where(CreateAttempt.op_id == op.id)
        .execute()
    )
    if not updated:
        CreateAttempt.create(
            op_id=op.id,
            entity_type=op.entity_type,
            first_sent_at=now,
            last_sent_at=now,
            in_flight_until=now,
            server_id=server_id,
            settled_at=now,
        )


def settled(op_id: int, now: float) -> None:
    """`op` is known not to have landed (its outcome is settled without a record)."""
    CreateAttempt.update(settled_at=now).where(CreateAttempt.op_id == op_id).execute()


def prune(cutoff: float) -> int:
    """Forget creates settled before `cutoff` (with the finished operations they belong to):
    a record made that long ago is older than any live create's first send, so no lookup can
    take it for a candidate any more."""
    return int(CreateAttempt.delete().where(CreateAttempt.settled_at < cutoff).execute())
