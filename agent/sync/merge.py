"""The pure, field-by-field three-way merge that decides what a push may send.

Autotask has no ETags and PATCH is last-write-wins, so before each write the engine reads the
server's current values and compares, per field, base (what the server had when the technician
edited), mine (the pending value) and theirs (what the server has now):

    theirs == base, mine != base   -> SEND_MINE      the server did not move: send my value
    theirs == mine                 -> ALREADY_EQUAL  both agree: nothing to send for this field
    theirs != base, mine == base   -> KEEP_THEIRS    only the server changed it (nothing pending)
    theirs != base != mine != theirs -> CONFLICT     both changed it differently: ask (per policy)

Fields the technician did not touch never enter the merge, so server changes to other fields are
kept. The policy table (`policy.py`) may turn a conflict into SEND_MINE (append-only notes) or
KEEP_THEIRS (read-only server fields); the reason says so.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.sync.policy import FieldPolicy, compared_before_delete, policy_for


class Decision(enum.StrEnum):
    SEND_MINE = "send_mine"
    ALREADY_EQUAL = "already_equal"
    KEEP_THEIRS = "keep_theirs"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class FieldDecision:
    field: str
    decision: Decision
    reason: str
    base: Any
    mine: Any
    theirs: Any


@dataclass(frozen=True)
class MergeResult:
    decisions: tuple[FieldDecision, ...]

    @property
    def to_send(self) -> dict[str, Any]:
        return {d.field: d.mine for d in self.decisions if d.decision is Decision.SEND_MINE}

    @property
    def conflicts(self) -> tuple[FieldDecision, ...]:
        return tuple(d for d in self.decisions if d.decision is Decision.CONFLICT)

    @property
    def settled(self) -> tuple[FieldDecision, ...]:
        """Fields that need nothing more: equal on both sides, or only theirs changed."""
        return tuple(
            d
            for d in self.decisions
            if d.decision in (Decision.ALREADY_EQUAL, Decision.KEEP_THEIRS)
        )


def normalise(value: Any) -> Any:
    """Compare values as the server means them: ids as ints, times as instants, text trimmed of
    the trailing whitespace Autotask drops, empty text as null."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.rstrip()
        if text == "":
            return None
        if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return text
            return parsed.timestamp() if parsed.tzinfo else parsed.isoformat()
        if text.lstrip("-").isdigit() and len(text) < 19:
            return int(text)
        return text
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items())}
    return value


def same(a: Any, b: Any) -> bool:
    return bool(normalise(a) == normalise(b))


def merge_field(entity_type: str, field: str, base: Any, mine: Any, theirs: Any) -> FieldDecision:
    policy = policy_for(entity_type, field)
    if same(theirs, mine):
        return FieldDecision(
            field, Decision.ALREADY_EQUAL, "server already has my value", base, mine, theirs
        )
    if same(theirs, base):
        if policy is FieldPolicy.SERVER_OWNED:
            return FieldDecision(
                field, Decision.KEEP_THEIRS, "the server owns this field", base, mine, theirs
            )
        return FieldDecision(
            field, Decision.SEND_MINE, "server unchanged since my edit", base, mine, theirs
        )
    if same(mine, base):
        return FieldDecision(
            field, Decision.KEEP_THEIRS, "only the server changed it", base, mine, theirs
        )
    if policy is FieldPolicy.MINE_WINS:
        return FieldDecision(
            field,
            Decision.SEND_MINE,
            "both changed; policy: my value wins for this field",
            base,
            mine,
            theirs,
        )
    if policy in (FieldPolicy.THEIRS_WINS, FieldPolicy.SERVER_OWNED):
        return FieldDecision(
            field,
            Decision.KEEP_THEIRS,
            "both changed; policy: the server's value wins for this field",
            base,
            mine,
            theirs,
        )
    return FieldDecision(
        field, Decision.CONFLICT, "both changed it to different values", base, mine, theirs
    )


def three_way_merge(
    entity_type: str,
    base: Mapping[str, Any],
    mine: Mapping[str, Any],
    theirs: Mapping[str, Any],
) -> MergeResult:
    """Decide each field in `mine` (the changed fields only) against `base` and `theirs`."""
    return MergeResult(
        tuple(
            merge_field(entity_type, field, base.get(field), value, _get_ci(theirs, field))
            for field, value in mine.items()
        )
    )


def _get_ci(data: Mapping[str, Any], field: str) -> Any:
    """The server matches property names without regard to case; so does the merge."""
    if field in data:
        return data[field]
    lowered = field.lower()
    for key, value in data.items():
        if key.lower() == lowered:
            return value
    return None


def changed_since(
    entity_type: str, base: Mapping[str, Any], theirs: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields of `base` (what a delete was made against) that the server's record `theirs`
    now holds differently, with the server's values. A field the server no longer shows (or
    one it works out itself) is no change."""
    present = {k.lower() for k in theirs}
    return {
        field: _get_ci(theirs, field)
        for field, value in base.items()
        if field.lower() in present
        and compared_before_delete(entity_type, field)
        and not same(value, _get_ci(theirs, field))
    }
