"""The three-way merge against a record as the client's screening let it through.

The screening leaves out a field of the server's record that cannot be read (a wrong type, an id
beyond 64 bits, a value nested too deeply) and keeps the rest. Such a field is no null: the
server has a value there, only not one this program can read. So a pending edit of that very
field is never sent over it blindly and never settled as equal: it is a conflict, for the
technician to decide (the field's policy still applies: a field whose policy lets my value win
is sent, one the server owns is kept). Edits of every other field merge as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.autotask.screening import unreadable_fields
from agent.sync.merge import Decision, FieldDecision, MergeResult, three_way_merge

UNREADABLE_REASON = "the server's value cannot be read"


class _Unreadable:
    """Equal to no value, so the merge sees a server value that is neither base nor mine."""

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__


def merge_with_server(
    entity_type: str, base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> MergeResult:
    unreadable = {f.casefold() for f in unreadable_fields(theirs)}
    touched = [f for f in mine if f.casefold() in unreadable]
    if not touched:
        return three_way_merge(entity_type, base, mine, theirs)
    marker = _Unreadable()
    shown = {k: v for k, v in theirs.items() if k.casefold() not in unreadable}
    shown.update({f: marker for f in touched})
    result = three_way_merge(entity_type, base, mine, shown)
    return MergeResult(tuple(_unmarked(d, marker) for d in result.decisions))


def _unmarked(d: FieldDecision, marker: _Unreadable) -> FieldDecision:
    if d.theirs is not marker:
        return d
    reason = (
        UNREADABLE_REASON
        if d.decision is Decision.CONFLICT
        else f"{d.reason} ({UNREADABLE_REASON})"
    )
    return FieldDecision(d.field, d.decision, reason, d.base, d.mine, None)
