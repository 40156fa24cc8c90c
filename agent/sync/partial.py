"""When Autotask refuses part of an update: send the fields that are fine, park only the refused.

Autotask checks the whole merged record and refuses a PATCH as a whole (a 400, or a 500 carrying
business-rule messages); it has no field-level error structure a program can rely on. The refused
field is found this way:

1. By name. A message that names a field we sent marks that field refused (the server words many
   rules so: "The value 99 is not a valid status picklist value.", "The value of title exceeds
   its maximum length of 255.", "Invalid value for field dueDateTime: ..."). The other fields
   are sent again without it. Names are matched as whole words, ignoring case.
2. By bisection when no message names a field we sent ("The resource 7 does not exist or is
   inactive."): the fields are split in two halves, each half is sent alone; an accepted half has
   reached the server, a refused half is split again, until one group is refused on its own.
   When the first half is accepted the second holds the cause, so it is split at once rather
   than sent whole (one call less per level); a single group is always sent before it is
   parked, so (within the budget) nothing is parked that the server did not refuse on its own.
3. Within reason: at most `MAX_EXTRA_CALLS` further PATCHes per operation (an update carries at
   most nine ticket fields, so this finds a couple of refused groups among them); whatever is
   still undecided when the budget is spent is parked together, with the server's message.

Fields that must travel together form one group and are never split: a ticket's
assignedResourceID with assignedResourceRoleID (the server refuses one without the other), a time
entry's resourceID with roleID, and its startDateTime, endDateTime and hoursWorked (the hours
follow the times).

Each accepted part is its own PATCH, so the change marker moves more than once (all by us). A
failure that is not a refusal (network, quota, a lost answer) stops the splitting: what was
accepted stays accepted, what was not tried goes back to the queue with the refused part.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.queue.operation import Operation
from agent.queue.outbox import Outbox
from agent.resilience.classify import Category
from agent.resilience.pipeline import PipelineError
from agent.store import audit
from agent.sync import outcomes
from agent.sync.merge import FieldDecision

MAX_EXTRA_CALLS = 8
TOGETHER: dict[str, tuple[tuple[str, ...], ...]] = {
    "Tickets": (("assignedResourceID", "assignedResourceRoleID"),),
    "TimeEntries": (("resourceID", "roleID"), ("startDateTime", "endDateTime", "hoursWorked")),
}
Group = tuple[str, ...]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Split:
    """How an update refused as a whole was sent in parts."""

    sent: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # field -> the server's message
    unsent: dict[str, Any] = field(default_factory=dict)  # not tried: `error` stopped it
    error: PipelineError | None = None
    calls: int = 0


def is_refusal(exc: PipelineError) -> bool:
    """The server answered and refused the write for a reason it explained."""
    return exc.category is Category.VALIDATION


def messages_of(exc: PipelineError) -> list[str]:
    found = getattr(exc.error, "messages", None)
    if isinstance(found, list) and found:
        return list(dict.fromkeys(str(m) for m in found))
    return [str(exc.error if exc.error is not None else exc)]


def groups_of(entity_type: str, fields: Mapping[str, Any]) -> list[Group]:
    """The fields in their send-together groups, in the order they were given."""
    out: list[Group] = []
    placed: set[str] = set()
    for name in fields:
        if name in placed:
            continue
        group = next((g for g in TOGETHER.get(entity_type, ()) if name in g), (name,))
        members = tuple(f for f in group if f in fields)
        placed.update(members)
        out.append(members)
    return out


def _names(message: str, group: Group) -> bool:
    return any(re.search(rf"\b{re.escape(f)}\b", message, re.IGNORECASE) for f in group)


def _refuse(split: Split, groups: list[Group], messages: list[str]) -> None:
    for group in groups:
        own = [m for m in messages if _names(m, group)] or messages
        for name in group:
            split.refused[name] = "; ".join(own)


async def send_in_parts(
    entity_type: str,
    fields: Mapping[str, Any],
    send: Send,
    refusal: PipelineError,
    *,
    budget: int = MAX_EXTRA_CALLS,
) -> Split:
    """`fields` were refused together with `refusal`: send what the server accepts, part by part,
    and say which fields it refuses and why."""
    split = Split()
    todo: list[tuple[list[Group], list[str]]] = [
        (groups_of(entity_type, fields), messages_of(refusal))
    ]
    while todo:
        groups, messages = todo.pop(0)
        if len(groups) == 1:
            _refuse(split, groups, messages)
            continue
        named = [g for g in groups if any(_names(m, g) for m in messages)]
        bisecting = not named or len(named) == len(groups)
        if not bisecting:
            _refuse(split, named, messages)
            parts = [[g for g in groups if g not in named]]
        else:
            half = len(groups) // 2
            parts = [groups[:half], groups[half:]]
        first_went = False
        for part in parts:
            values = {f: fields[f] for g in part for f in g}
            if split.error is not None:
                split.unsent.update(values)
            elif bisecting and first_went and len(part) > 1:
                todo.append((part, messages))  # the first half went: the cause is in this one
            elif split.calls >= budget:
                _refuse(split, part, messages)
            else:
                split.calls += 1
                try:
                    await send(values)
                except PipelineError as exc:
                    if is_refusal(exc):
                        todo.append((part, messages_of(exc)))
                    else:
                        split.error = exc
                        split.unsent.update(values)
                else:
                    split.sent.update(values)
                    first_went = part is parts[0]
    return split


def reason_for(refused: Mapping[str, str]) -> str:
    """One line per distinct message, naming the fields it refused."""
    by_message: dict[str, list[str]] = {}
    for name, message in refused.items():
        by_message.setdefault(message, []).append(name)
    return "; ".join(f"{', '.join(names)}: {message}" for message, names in by_message.items())


def settle(
    outbox: Outbox,
    op: Operation,
    split: Split,
    *,
    theirs: Mapping[str, Any],
    conflicts: tuple[FieldDecision, ...],
    now: float,
    read_at: float,
) -> bool:
    """In one store write: what was accepted goes into the cache (its pending values drop), the
    operation keeps only the refused, untried and conflicting fields, and is parked (a conflict
    waits for the technician; refused fields need attention) unless `split.error` means it goes
    back to the queue, which the caller then records. True when every field went (each part
    was accepted on its own): the operation is done."""
    if not (split.refused or split.unsent or conflicts):
        outcomes.succeeded(
            outbox,
            op,
            now=now,
            server_id=None,
            server_values=theirs,
            sent=split.sent,
            reason="sent in parts after the whole was refused",
        )
        return True
    key = op.entity_key
    outcomes.sent_part(
        op, theirs, split.sent, now, "part of the change; the rest was refused or not sent yet"
    )
    keep = set(split.refused) | set(split.unsent) | {c.field for c in conflicts}
    fields = {f: v for f, v in op.fields.items() if f in keep}
    base = {f: op.base.get(f) for f in fields}
    refused = reason_for(split.refused)
    if split.refused:
        audit.append(
            "failed",
            at=now,
            entity_type=op.entity_type,
            entity_id=key,
            op_id=op.id,
            detail={
                "category": Category.VALIDATION.value,
                "action": "park_needs_attention",
                "message": refused,
                "refused": sorted(split.refused),
                "outcome_unknown": False,
            },
        )
    outbox.rewrite(op.id, fields=fields, base=base)
    if conflicts:
        outcomes.flag_conflicts(op, conflicts, now=now, theirs_read_at=read_at, theirs=theirs)
        reason = "conflict: " + ", ".join(c.field for c in conflicts)
        if refused:
            reason += f"; refused by Autotask: {refused}"
        # A part lost on the way (split.error) may have landed: the flag stays for it.
        outbox.park(
            op.id, reason, conflict=True, outcome_unknown=False if split.error is None else None
        )
    elif split.error is None:
        outbox.park(
            op.id,
            refused,
            error=refused,
            category=Category.VALIDATION.value,
            outcome_unknown=False,
        )
    return False
