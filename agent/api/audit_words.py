"""An audit event in the words the window shows: its record ("Ticket T20240101.0001") and a one-
line summary with picklist labels, people's names and ticket numbers, as the Queue says them.

Made here, beside the trail, so that searching the trail matches what the technician reads
(a status's label, a ticket's number), not the stored ids.
"""

from __future__ import annotations

from typing import Any

from agent.api.words import Words, entity_label, field_label, when_text

KIND_WORDS = {"update": "Change", "create": "Create", "delete": "Delete"}
CHOICE_WORDS = {"mine": "yours", "theirs": "Autotask's", "value": "a value you typed"}
DETAIL_LABELS = {"reason": "Why", "message": "Message", "category": "Problem"}
# Every key an event's detail may hold, as the details pane names it.
ROW_LABELS = {
    "kind": "Kind of change",
    "fields": "Changed",
    "base": "Before",
    "sent": "Sent",
    "mine": "Yours",
    "theirs": "In Autotask",
    "chosen": "Kept",
    "losing": "Not kept",
    "choice": "Choice",
    "field": "Field",
    "reason": "Why",
    "message": "Message",
    "category": "Problem",
    "action": "What happens next",
    "outcome_unknown": "Outcome unknown",
    "changed_by": "Changed by",
    "started": "Started",
    "stopped": "Stopped",
    "duration": "Time",
    "long": "More than 10 hours",
    "long_confirmed": "More than 10 hours, confirmed",
    "priority": "Priority in the queue",
    "when": "When checked",
    "why": "Why",
}
FIELD_VALUE_KEYS = frozenset({"mine", "theirs", "chosen", "losing"})  # values of `field`
LIMIT = 200


def _cut(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= LIMIT:
        return text
    head = text[: LIMIT - 1].rsplit(" ", 1)[0]
    return head + "…"


def record_text(entity_type: str | None, entity_id: str | None, words: Words) -> str:
    if entity_type is None:
        return ""
    if entity_type == "Tickets" and entity_id and entity_id.isdigit():
        return f"Ticket {words.ticket(int(entity_id))}"
    if entity_id and entity_id.startswith("~"):  # not created in Autotask yet: no id to read
        return f"New {entity_label(entity_type).lower()}"
    return f"{entity_label(entity_type)} {entity_id or ''}".strip()


def summary_text(action: str, entity_type: str | None, detail: dict[str, Any], words: Words) -> str:
    """The event in a sentence a person reads (no `kind='update'`, no picklist numbers)."""
    kind = entity_type or ""
    field = str(detail.get("field", ""))

    def value(name: str, v: Any) -> str:
        return words.value(kind, name, v)

    def fields(values: dict[str, Any]) -> str:
        return ", ".join(f"{field_label(k)} → {value(k, v)}" for k, v in values.items())

    if action == "conflict_resolved":
        choice = CHOICE_WORDS.get(str(detail.get("choice")), str(detail.get("choice", "")))
        text = f"{field_label(field)}: kept {choice}"
        if "chosen" in detail:
            text += (
                f" ({value(field, detail.get('chosen'))}); "
                f"not kept: {value(field, detail.get('losing'))}"
            )
        return _cut(text)
    if action == "conflict_detected":
        return _cut(
            f"{field_label(field)}: yours {value(field, detail.get('mine'))}, "
            f"in Autotask {value(field, detail.get('theirs'))}"
        )
    if action.startswith("timer_"):
        return _timer_text(action, detail)
    if action == "setting_changed":
        name = str(detail.get("setting", ""))
        return _cut(
            f"{name.replace('_', ' ').capitalize()}: {_plain(detail.get('before'))} → "
            f"{_plain(detail.get('after'))}"
        )
    if action in ("failed", "parked"):
        said = detail.get("message") or detail.get("reason") or detail.get("category")
        return _cut(str(said or ""))
    what = KIND_WORDS.get(str(detail.get("kind")), "")
    if action == "enqueued" and what:
        priority = detail.get("priority")
        return f"{what} waiting to be sent" + (f" ({priority} priority)" if priority else "")
    values = detail.get("sent") if "sent" in detail else detail.get("fields")
    if isinstance(values, dict) and values:
        return _cut(f"{what or 'Change'}: {fields(values)}")
    if what:
        return what
    parts = [
        f"{DETAIL_LABELS.get(k, k.replace('_', ' ').capitalize())}: {v}"
        for k, v in list(detail.items())[:3]
    ]
    return _cut("; ".join(parts))


def _timer_text(action: str, detail: dict[str, Any]) -> str:
    """The stopwatch's events: when it ran and for how long, in local time."""
    started = when_text(str(detail.get("started", "")), day=False)
    stopped = when_text(str(detail.get("stopped", "")), day=False)
    duration = str(detail.get("duration", ""))
    long = "; more than ten hours" if detail.get("long") or detail.get("long_confirmed") else ""
    if action == "timer_started":
        return f"Started at {started}"
    if action == "timer_stopped":
        return f"Stopped after {duration} (from {started} to {stopped}){long}"
    if action == "timer_logged":
        return f"Logged {duration} as a time entry (from {started} to {stopped}){long}"
    if action == "timer_discarded":
        return f"Discarded {duration} (from {started} to {stopped})"
    return _cut("; ".join(f"{k}: {v}" for k, v in detail.items()))


def detail_rows(
    entity_type: str | None, detail: dict[str, Any], words: Words
) -> list[tuple[str, str]]:
    """An event's detail as (label, text) rows a person reads: field names and values in words
    (picklist labels, people, ticket numbers, local times), a changed record one field a row."""
    kind = entity_type or ""
    field = str(detail.get("field", ""))
    rows: list[tuple[str, str]] = []
    for key, value in detail.items():
        label = ROW_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "kind":
            rows.append((label, KIND_WORDS.get(str(value), str(value))))
        elif key == "field":
            rows.append((label, field_label(str(value))))
        elif key == "choice":
            rows.append((label, CHOICE_WORDS.get(str(value), str(value))))
        elif key == "changed_by" and isinstance(value, int) and not isinstance(value, bool):
            rows.append((label, words.value(kind, "resourceID", value)))
        elif key in ("started", "stopped") and isinstance(value, str):
            rows.append((label, when_text(value, day=False)))
        elif isinstance(value, dict):
            if not value:
                rows.append((label, "(nothing)"))
            rows.extend(
                (f"{label}: {field_label(str(k))}", words.value(kind, str(k), v))
                for k, v in value.items()
            )
        elif isinstance(value, list):
            rows.append((label, ", ".join(field_label(str(v)) for v in value)))
        elif key in FIELD_VALUE_KEYS and field:
            rows.append((label, words.value(kind, field, value)))
        elif isinstance(value, bool):
            rows.append((label, "yes" if value else "no"))
        else:
            rows.append((label, words.value(kind, "", value)))
    return rows


def _plain(value: Any) -> str:
    """A setting's value as a person reads it (yes/no, not True/False; "none" for nothing)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None or value == "" else str(value)
