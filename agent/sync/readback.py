"""The three-way merge against a record as the client's screening let it through.

The screening leaves out a field of the server's record that cannot be read (a wrong type, an id
beyond 64 bits, a value nested too deeply) and keeps the rest (`unreadable_fields`). Such a
field is no null, and it never holds back the edits of the record's other fields, which merge
as usual. For a pending edit of that very field:

- the technician's value is sent (it replaces a value that is not one of the field's type, so
  it could not be shown as "theirs" in a conflict either, and a conflict resolved with "mine"
  would meet the same unreadable value again);
- unless the field's policy keeps the server's value (server-owned or server-wins fields), or
  the edit puts back the value it started from (nothing to send).

Either way the decision's reason says the server's value could not be read, and the screening
has counted the fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.autotask.screening import unreadable_fields
from agent.sync.merge import Decision, FieldDecision, MergeResult, same
from agent.sync.policy import FieldPolicy, policy_for
from agent.sync.visit_merge import merge_for

UNREADABLE = "the server's value cannot be read"


def merge_with_server(
    entity_type: str, base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> MergeResult:
    """`three_way_merge`, with the fields the screening left out of `theirs` decided as above."""
    unreadable = {f.casefold() for f in unreadable_fields(theirs)}
    result = merge_for(entity_type)(base, mine, theirs)
    if not unreadable:
        return result
    return MergeResult(
        tuple(
            _unreadable(entity_type, d) if d.field.casefold() in unreadable else d
            for d in result.decisions
        )
    )


def _unreadable(entity_type: str, d: FieldDecision) -> FieldDecision:
    policy = policy_for(entity_type, d.field)
    if same(d.mine, d.base):
        decision, why = Decision.KEEP_THEIRS, "my value is the one I started from"
    elif policy in (FieldPolicy.SERVER_OWNED, FieldPolicy.THEIRS_WINS):
        decision, why = Decision.KEEP_THEIRS, "policy: the server's value stands"
    else:
        decision, why = Decision.SEND_MINE, "my value replaces it"
    return FieldDecision(d.field, decision, f"{UNREADABLE}; {why}", d.base, d.mine, None)
