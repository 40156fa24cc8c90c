"""The alert engine: runs the rules, debounces their verdicts, keeps alerts in the Alert table.

An alert is identified by its key (the rule, plus e.g. the endpoint): while active, repeats
update it instead of adding rows. Active alerts are loaded at start, so after a restart an alert
that is still true stays the same alert and is not announced again. Subscribers get `AlertEvent`s
(raised / resolved) through plain callbacks, on the thread that evaluated.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from agent.clock import SYSTEM_CLOCK, Clock
from agent.monitor.rules import Condition, Context, Reading, Rule, SeriesSource, Verdict
from agent.store.connection import Store
from agent.store.models import Alert

log = logging.getLogger(__name__)

ACTIVE, RESOLVED = "active", "resolved"


@dataclass(frozen=True)
class AlertInfo:
    id: int
    rule: str
    key: str
    severity: str
    message: str
    state: str
    first_seen: float
    last_seen: float
    resolved_at: float | None
    data: Mapping[str, object] = field(default_factory=dict)


class AlertChange(enum.StrEnum):
    RAISED = "raised"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertEvent:
    change: AlertChange
    alert: AlertInfo


AlertListener = Callable[[AlertEvent], None]


def _info(row: Alert) -> AlertInfo:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    return AlertInfo(
        id=row.id,
        rule=row.rule,
        key=row.key,
        severity=row.severity,
        message=row.message,
        state=row.state,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        data=data,
    )


@dataclass
class _Streak:
    raises: int = 0
    clears: int = 0


class AlertEngine:
    """Evaluates rules after each sample (and on fed conditions) and publishes changes."""

    def __init__(
        self,
        store: Store,
        series: SeriesSource,
        rules: Sequence[Rule],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.series = series
        self.rules = {r.name: r for r in rules}
        self.clock = clock
        self._lock = threading.RLock()
        self._listeners: list[AlertListener] = []
        self._streaks: dict[str, _Streak] = {}
        self._conditions: dict[str, dict[str, Condition]] = {}
        self._sample: Mapping[str, float] = {}
        self._active: dict[str, AlertInfo] = {}
        self._load()

    def _load(self) -> None:
        rows = self.store.read(lambda: list(Alert.select().where(Alert.state == ACTIVE)))
        retired = [row.id for row in rows if row.rule not in self.rules]
        if retired:
            now = self._now()
            # A rule that no longer exists can never clear its alert: close it quietly.
            self.store.write(
                lambda: (
                    Alert.update(state=RESOLVED, resolved_at=now)
                    .where(Alert.id.in_(retired))
                    .execute()
                )
            )
        self._active = {row.key: _info(row) for row in rows if row.rule in self.rules}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def subscribe(self, listener: AlertListener) -> Callable[[], None]:
        """Call `listener` with every raised or resolved alert; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def active(self) -> list[AlertInfo]:
        with self._lock:
            return sorted(self._active.values(), key=lambda a: a.first_seen)

    def history(self, limit: int = 200) -> list[AlertInfo]:
        """The most recent alerts, active or resolved, newest first."""
        return self.store.read(
            lambda: [_info(r) for r in Alert.select().order_by(Alert.id.desc()).limit(limit)]
        )

    def on_sample(self, at: float, sample: Mapping[str, float]) -> None:
        """A `Sampler` listener: evaluate every rule against the new sample."""
        self.evaluate(sample)

    def set_condition(
        self, condition: str, active: bool, key: str = "", message: str = ""
    ) -> list[AlertEvent]:
        """Feed a health fact (e.g. `breaker_open` for key "Tickets") and evaluate at once."""
        with self._lock:
            entries = self._conditions.setdefault(condition, {})
            previous = entries.get(key)
            since = previous.since if previous and previous.active == active else self._now()
            entries[key] = Condition(active, since, message)
        rules = [r for r in self.rules.values() if getattr(r, "condition", None) == condition]
        return self._run(rules)

    def evaluate(self, sample: Mapping[str, float] | None = None) -> list[AlertEvent]:
        if sample is not None:
            self._sample = dict(sample)
        return self._run(list(self.rules.values()))

    def _run(self, rules: Sequence[Rule]) -> list[AlertEvent]:
        now = self._now()
        with self._lock:
            ctx = Context(now, self._sample, self.series, self._conditions)
            raised: list[tuple[Rule, Reading]] = []
            touched: list[tuple[str, Reading]] = []
            resolved: list[str] = []
            for rule in rules:
                try:
                    readings = rule.evaluate(ctx)
                except Exception:  # a broken rule must not silence the others
                    log.exception("alert rule %s failed", rule.name)
                    continue
                for reading in readings:
                    self._judge(rule, reading, raised, touched, resolved)
            events = self._persist(now, raised, touched, resolved)
        for event in events:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("alert listener failed")
        return events

    def _judge(
        self,
        rule: Rule,
        reading: Reading,
        raised: list[tuple[Rule, Reading]],
        touched: list[tuple[str, Reading]],
        resolved: list[str],
    ) -> None:
        streak = self._streaks.setdefault(reading.key, _Streak())
        active = reading.key in self._active
        if reading.verdict is Verdict.RAISE:
            streak.raises, streak.clears = streak.raises + 1, 0
            if active:
                touched.append((reading.key, reading))
            elif streak.raises >= rule.raise_after:
                raised.append((rule, reading))
        elif reading.verdict is Verdict.CLEAR:
            streak.raises, streak.clears = 0, streak.clears + 1
            if active and streak.clears >= rule.clear_after:
                resolved.append(reading.key)
        else:
            streak.raises = streak.clears = 0

    def _persist(
        self,
        now: float,
        raised: list[tuple[Rule, Reading]],
        touched: list[tuple[str, Reading]],
        resolved: list[str],
    ) -> list[AlertEvent]:
        if not (raised or touched or resolved):
            return []

        def write() -> list[AlertEvent]:
            events: list[AlertEvent] = []
            for rule, reading in raised:
                row = Alert.create(
                    rule=rule.name,
                    key=reading.key,
                    severity=str(rule.severity),
                    message=reading.message,
                    state=ACTIVE,
                    first_seen=now,
                    last_seen=now,
                    data=json.dumps(dict(reading.data)),
                )
                events.append(AlertEvent(AlertChange.RAISED, _info(row)))
            for key, reading in touched:
                Alert.update(
                    last_seen=now, message=reading.message, data=json.dumps(dict(reading.data))
                ).where((Alert.key == key) & (Alert.state == ACTIVE)).execute()
            for key in resolved:
                Alert.update(state=RESOLVED, resolved_at=now, last_seen=now).where(
                    (Alert.key == key) & (Alert.state == ACTIVE)
                ).execute()
            return events

        events = self.store.write(write)
        for key in resolved:
            info = self._active.pop(key)
            closed = dataclasses.replace(info, state=RESOLVED, resolved_at=now, last_seen=now)
            events.append(AlertEvent(AlertChange.RESOLVED, closed))
        for key, reading in touched:
            info = self._active[key]
            self._active[key] = dataclasses.replace(
                info, last_seen=now, message=reading.message, data=dict(reading.data)
            )
        for event in events:
            if event.change is AlertChange.RAISED:
                self._active[event.alert.key] = event.alert
        return events
