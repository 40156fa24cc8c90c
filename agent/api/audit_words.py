"""An audit event in the words the window shows: its record ("Ticket T20240101.0001") and a one-
line summary with picklist labels, people's names and ticket numbers, as the Queue says them.

Made here, beside the trail, so that searching the trail matches what the technician reads
(a status's label, a ticket's number), not the stored ids.
"""

from __future__ import annotations

from typing import Any

from agent.api.words import Words, entity_label, field_label

KIND_WORDS = {"update": "Change", "create": "Create", "delete": "Delete"}
CHOICE_WORDS = {"mine": "yours", "theirs": "Autotask's", "value": "a value you typed"}
DETAIL_LABELS = {"reason": "Why", "message": "Message", "category": "Problem"}
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
    if action in ("failed", "parked"):
        said = detail.get("message") or detail.get("reason") or detail.get("category")
        return _cut(str(said or ""))
    what = KIND_WORDS.get(str(detail.get("kind")), "")
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
