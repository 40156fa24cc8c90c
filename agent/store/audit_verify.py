"""Checking the audit trail, and naming what is wrong with it.

The walk recomputes every event's hash in id order (under the audit key when the profile has one)
and follows the chain from the first kept event, which must start it: at the beginning, where
retention's last `PRUNED` checkpoint says it resumes, or, for a trail kept before it was keyed,
where the `KEYED` event that followed it says it began. Then the head is compared with the anchor
the keyring holds: the anchored event must be in the trail at the position the anchor gives. The
trail may run ahead of the anchor (the anchor is updated after commits, so a crash can leave it
behind by the last few events), never behind it.

What the report names (`ChainReport.kind`): an event `rewritten` (changed, or re-hashed without
the key), events `removed` between others, the trail `reordered`, `truncated-start` (its oldest
events removed beyond what retention recorded), `truncated-end` (its newest events removed: the
database itself had recorded them as anchored), `rolled-back` (the whole file is an older copy:
consistent in itself, but behind the anchor), values that are `unreadable`, `no-key` (a keyed
trail checked without its key), or `pruned-early`: a retention checkpoint that removed events
younger than the retention anchored beside the audit key allows (`agent.store.audit_retention`;
a period shortened by editing the database, which the program itself never prunes by).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.store.audit_chain import (
    GAP,
    GENESIS,
    KEYED,
    PRUNED,
    REANCHORED,
    Anchor,
    detail_json,
    digest,
    installed,
)
from agent.store.audit_retention import DAY, RetentionAnchor
from agent.store.audit_trail import UNOPENED, ListTrail, StoredTrail, Trail, detail_dict
from agent.store.models import AuditEvent

OK = "ok"
REWRITTEN = "rewritten"
REMOVED = "removed"
REORDERED = "reordered"
TRUNCATED_START = "truncated-start"
TRUNCATED_END = "truncated-end"
ROLLED_BACK = "rolled-back"
UNREADABLE = "unreadable"
NO_KEY = "no-key"
PRUNED_EARLY = "pruned-early"
KIND_WORDS = {
    REWRITTEN: "rewritten",
    REMOVED: "events removed",
    REORDERED: "reordered",
    TRUNCATED_START: "truncated at its start",
    TRUNCATED_END: "truncated at its end",
    ROLLED_BACK: "rolled back to an older copy",
    UNREADABLE: "values unreadable",
    NO_KEY: "keyed, without its key",
    PRUNED_EARLY: "pruned earlier than its retention allows",
}


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    kind: str = OK
    keyed: bool = False  # checked with the profile's audit key
    anchored: bool = False  # compared with the anchor the keyring holds
    unkeyed: int = 0  # events hashed without the key, each admitted by a keyed event after it
    ahead: int = 0  # events newer than the anchor (written since it was last updated)
    gaps: int = 0  # holes a salvage recorded (events it could not read)
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """One sentence for people: what was found, and how far the check reaches."""
        if not self.ok:
            where = f" (at event #{self.first_bad_id})" if self.first_bad_id is not None else ""
            return f"{KIND_WORDS.get(self.kind, self.kind)}: {self.problem}{where}"
        if not self.keyed:
            return f"{self.checked} event(s) verified; the trail is not keyed, so not anchored"
        if not self.anchored:
            return f"{self.checked} event(s) verified with the audit key; no anchor yet"
        newer = f" ({self.ahead} newer than the anchor)" if self.ahead else ""
        return f"{self.checked} event(s) verified with the audit key and its anchor{newer}"


def gap_resumes(event: AuditEvent) -> str | None:
    """The hash after which the chain resumes, when `event` records a gap (see `GAP`)."""
    if event.action != GAP:
        return None
    resumes = detail_dict(event).get("resumes_after")
    return resumes if isinstance(resumes, str) else None


class _Broken(Exception):
    def __init__(self, kind: str, event_id: int | None, problem: str) -> None:
        super().__init__(problem)
        self.kind, self.event_id, self.problem = kind, event_id, problem


_INSTALLED: Any = object()


def verify(
    events: Iterable[AuditEvent] | None = None,
    *,
    key: bytes | None = _INSTALLED,
    anchor: Anchor | None = _INSTALLED,
    retention: RetentionAnchor | None = _INSTALLED,
) -> ChainReport:
    """Check the trail (the open store's, on this thread's connection, unless `events` are given)
    with the installed audit key, anchor and anchored retention unless others are given; report
    the first problem."""
    keying = installed()
    if key is _INSTALLED:
        key = keying.key
    if anchor is _INSTALLED:
        anchor = keying.anchor() if keying.anchor is not None and key is not None else None
    if retention is _INSTALLED:
        retention = keying.retention() if keying.retention is not None else None
    trail: Trail = StoredTrail() if events is None else ListTrail(events)
    return _Walk(trail, key, anchor, retention).run()


class _Walk:
    def __init__(
        self,
        trail: Trail,
        key: bytes | None,
        anchor: Anchor | None,
        retention: RetentionAnchor | None = None,
    ) -> None:
        self.trail, self.key, self.anchor = trail, key, anchor
        self.retention = retention
        self.count = 0
        self.pruned = detail_dict(trail.last(PRUNED))
        self.marker = trail.first(KEYED)  # the first keyed event of a trail kept before
        self.run_length = 0  # unkeyed events since the last keyed one
        self.run_first: int | None = None
        self.run_at_start = False
        self.via_marker = False  # the trail starts where the first KEYED event says
        self.keyed_seen = False
        self.unkeyed = 0
        self.gaps = 0
        self.anchor_at: int | None = None  # the anchored event's place in the trail
        self.reanchored: dict[str, Any] = {}  # the last keyed REANCHORED event's detail

    def run(self) -> ChainReport:
        try:
            self._walk()
            ahead, notes = self._compare_anchor()
        except _Broken as broken:
            return ChainReport(
                False,
                self.count,
                broken.event_id,
                broken.problem,
                kind=broken.kind,
                keyed=self.key is not None,
                anchored=self.anchor is not None,
                unkeyed=self.unkeyed,
                gaps=self.gaps,
            )
        return ChainReport(
            True,
            self.count,
            keyed=self.key is not None,
            anchored=self.anchor is not None,
            unkeyed=self.unkeyed,
            ahead=ahead,
            gaps=self.gaps,
            notes=tuple(notes),
        )

    # -- the walk ---------------------------------------------------------------------------
    def _walk(self) -> None:
        prev: str | None = None
        resumes: str | None = None
        for ev in self.trail.events():
            self.count += 1
            if prev is None:
                self._check_start(ev)
            elif ev.prev_hash != prev and ev.prev_hash != resumes:
                if self.trail.holds(ev.prev_hash):
                    raise _Broken(REORDERED, ev.id, "the events around this one were reordered")
                raise _Broken(REMOVED, ev.id, "an event before this one was removed")
            self._check_hash(ev)
            if ev.action == PRUNED:
                self._check_prune(ev)
            if self.anchor is not None and ev.hash == self.anchor.head:
                self.anchor_at = self.count
            prev, resumes = ev.hash, gap_resumes(ev)
            self.gaps += ev.action == GAP
        if self.run_length and self.keyed_seen:
            raise _Broken(
                REWRITTEN,
                self.run_first,
                "the events from this one on were written or changed without the audit key",
            )
        self.unkeyed += self.run_length  # a trail not keyed yet

    def _check_start(self, ev: AuditEvent) -> None:
        starts = {GENESIS}
        if self.pruned.get("resumes_after"):
            starts.add(str(self.pruned["resumes_after"]))
        began = detail_dict(self.marker).get("starts_after")
        if ev.prev_hash in starts:
            return
        if began and ev.prev_hash == began:
            self.via_marker = True
            return
        if self.trail.holds(ev.prev_hash):
            raise _Broken(REORDERED, ev.id, "the events around this one were reordered")
        if self.key is not None or self.pruned or began:
            raise _Broken(
                TRUNCATED_START,
                ev.id,
                "the events before this one were removed (the trail's start is missing)",
            )

    def _check_hash(self, ev: AuditEvent) -> None:
        if ev.values is UNOPENED:
            raise _Broken(UNREADABLE, ev.id, "this event's values cannot be opened")
        values = None if ev.values is None else detail_json(ev.values)
        fields = (ev.prev_hash, ev.at, ev.action, ev.entity_type, ev.entity_id, ev.op_id)
        if self.key is not None and digest(*fields, ev.detail, values, key=self.key) == ev.hash:
            self._keyed(ev)
            return
        if digest(*fields, ev.detail, values) != ev.hash:
            if self.key is None and (self.marker is not None or self.trail.witness()):
                raise _Broken(
                    NO_KEY,
                    ev.id,
                    "the trail is keyed, and its key is not in the keyring: it cannot be checked",
                )
            raise _Broken(REWRITTEN, ev.id, "this event was changed after it was written")
        if not self.run_length:
            self.run_first, self.run_at_start = ev.id, self.count == 1
        self.run_length += 1

    def _check_prune(self, ev: AuditEvent) -> None:
        """A checkpoint may not have removed an event the anchored retention still kept."""
        retention = self.retention
        newest = detail_dict(ev).get("newest_removed_at")
        if retention is None or self.key is None or not isinstance(newest, int | float):
            return  # not anchored, or a checkpoint of a version that did not say
        if retention.pruned_early(ev.at, float(newest)):
            age = (ev.at - float(newest)) / DAY
            raise _Broken(
                PRUNED_EARLY,
                ev.id,
                f"retention removed events only {age:.0f} days old, though the audit trail is "
                f"kept {retention.floor} days (a shorter period than was set in Field Sync)",
            )

    def _keyed(self, ev: AuditEvent) -> None:
        if not self.keyed_seen and self.via_marker and ev.id != getattr(self.marker, "id", None):
            raise _Broken(
                TRUNCATED_START,
                self.run_first,
                "the events before this one were removed (the trail's start is missing)",
            )
        if self.run_length:
            admitted = ev.action == GAP
            if ev.action == KEYED:
                said = detail_dict(ev).get("unkeyed")
                admitted = isinstance(said, int) and (
                    said == self.run_length or (self.run_at_start and self.run_length < said)
                )
            if not admitted:
                raise _Broken(
                    REWRITTEN,
                    self.run_first,
                    "the events from this one on were written or changed without the audit key",
                )
            self.unkeyed += self.run_length
            self.run_length = 0
        self.keyed_seen = True
        if ev.action == REANCHORED:
            self.reanchored = detail_dict(ev)

    # -- the anchor -------------------------------------------------------------------------
    def _compare_anchor(self) -> tuple[int, list[str]]:
        notes: list[str] = []
        if self.unkeyed:
            notes.append(
                f"{self.unkeyed} event(s) written before the trail was keyed, or while the "
                "keyring was not available, are checked without the key"
            )
        if self.gaps:
            notes.append(f"{self.gaps} hole(s) recorded by a salvage of a damaged database")
        if self.key is None:
            notes.append("not keyed: this profile keeps no audit key, so the trail is not anchored")
            return 0, notes
        anchor = self.anchor
        removed = int(self.pruned.get("removed_total", 0) or 0)
        last = removed + self.count
        if anchor is None or anchor.count == 0:
            return last, notes
        reanchored = self.reanchored
        if reanchored.get("anchor_count") == anchor.count and (
            reanchored.get("anchor_head") == anchor.head
        ):  # a salvage replaced the trail the anchor was set for; the next update follows it
            notes.append("the anchor is set again after the salvage of a damaged database")
            return 0, notes
        if self.anchor_at is not None:
            place = removed + self.anchor_at
            if place == anchor.count:
                return last - place, notes
            if place < anchor.count:
                raise _Broken(
                    TRUNCATED_START,
                    None,
                    f"{anchor.count - place} event(s) before the anchored one were removed",
                )
            raise _Broken(
                REWRITTEN,
                None,
                f"{place - anchor.count} event(s) were added before the anchored one",
            )
        if last >= anchor.count:
            raise _Broken(REWRITTEN, None, "the event the anchor names is no longer in the trail")
        witness = self.trail.witness()
        if witness is not None and witness.count > last:
            raise _Broken(
                TRUNCATED_END,
                None,
                f"the newest {anchor.count - last} event(s) were removed (the trail ends before "
                "the event its anchor names)",
            )
        raise _Broken(
            ROLLED_BACK,
            None,
            f"the database is an older copy: it ends {anchor.count - last} event(s) before "
            "the event its anchor names",
        )
