"""The merge of a checklist item's state: done or not, and when it was last done.

A checklist item's `isCompleted` has two values, so a plain three-way merge of it could never
see the two sides disagree: both "changed" it only by setting the one other value. The item's
state is its value *and* its completion stamp (`completedDateTime`), which the server sets each
time someone ticks it. The base of a captured change carries both, so:

    theirs == mine                                -> ALREADY_EQUAL  (the dispatcher did it too)
    theirs == base and the stamp has not moved    -> SEND_MINE      (nobody touched the item)
    theirs == base but the stamp moved            -> CONFLICT       (unticked and ticked again,
                                                                      say, since I unticked it)

A base without the stamp (a change the technician already decided in a conflict) merges as
plain fields. Each item is its own record, so a dispatcher ticking another item never meets
this merge at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agent.sync.merge import (
    Decision,
    FieldDecision,
    MergeResult,
    _get_ci,
    merge_field,
    same,
    three_way_merge,
)

CHECKLIST = "TicketChecklistItems"
DONE, STAMP = "isCompleted", "completedDateTime"
# Kept in an operation's base beside `isCompleted`, never sent.
STATE_FIELDS = (STAMP,)


def checklist_merge(
    base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> MergeResult:
    decisions = []
    for field, value in mine.items():
        their_value = _get_ci(theirs, field)
        if field != DONE or STAMP not in base or same(their_value, value):
            decisions.append(merge_field(CHECKLIST, field, base.get(field), value, their_value))
            continue
        moved = not same(_get_ci(theirs, STAMP), base.get(STAMP))
        if same(their_value, base.get(field)) and moved:
            decisions.append(
                FieldDecision(
                    field,
                    Decision.CONFLICT,
                    "the item was unticked or ticked again in Autotask since my change",
                    base.get(field),
                    value,
                    their_value,
                )
            )
        else:
            decisions.append(merge_field(CHECKLIST, field, base.get(field), value, their_value))
    return MergeResult(tuple(decisions))


EntityMerge = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], MergeResult]
ENTITY_MERGES: dict[str, EntityMerge] = {CHECKLIST: checklist_merge}


def merge_for(entity_type: str) -> EntityMerge:
    """The merge of one entity type: its own where it has one, else the field-by-field one."""
    special = ENTITY_MERGES.get(entity_type)
    if special is not None:
        return special
    return lambda base, mine, theirs: three_way_merge(entity_type, base, mine, theirs)
