"""How long the audit trail is kept, as recorded outside the database beside its anchor.

The `audit_retention_days` setting lives in the database, where anyone who can edit the file
could shorten it and let retention prune events they want gone. So the period in force is
anchored in the profile's keyring entries (`agent.security.audit_anchor` keeps it) whenever it
is set through the program (and, on the first start that has none, the period used until then):
retention prunes by the anchored period, whatever the table says.

`floor` is the shortest period ever anchored for the trail. Each retention checkpoint (`PRUNED`)
records the time of the newest event it removed; `audit verify` reports a checkpoint that
removed an event younger than the floor allows as pruned early. A period shortened through the
program lowers the floor first, so ordinary retention always verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

DAY = 86400.0
# The checkpoint's time and the newest removed event's are both on the pruning computer's clock.
PRUNE_SLACK_S = 1.0


@dataclass(frozen=True)
class RetentionAnchor:
    """The audit retention in force (`days`) and the shortest ever anchored (`floor`)."""

    days: int
    floor: int

    def changed(self, days: int) -> RetentionAnchor:
        """The anchor once the period is set to `days`."""
        return RetentionAnchor(days, min(self.floor, days))

    def pruned_early(self, pruned_at: float, newest_removed_at: float) -> bool:
        """Whether a pruning at `pruned_at` removed an event (the newest at `newest_removed_at`)
        that even the shortest period anchored kept."""
        return newest_removed_at > pruned_at - self.floor * DAY + PRUNE_SLACK_S

    def text(self) -> str:
        return json.dumps({"v": 1, "days": self.days, "floor": self.floor})

    @classmethod
    def parse(cls, text: str | None) -> RetentionAnchor | None:
        """The anchor an entry holds; None for no entry or one that is not an anchor."""
        if not text:
            return None
        try:
            data = json.loads(text)
            days, floor = data["days"], data["floor"]
        except (ValueError, TypeError, KeyError):
            return None
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (days, floor))
        return cls(days, floor) if whole and 0 < floor <= days else None


def first(days: int) -> RetentionAnchor:
    return RetentionAnchor(days, days)
