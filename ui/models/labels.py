"""The words the window uses for Autotask's field names and the facade's state names."""

from __future__ import annotations

from agent.api.words import ENTITY_LABELS, FIELD_LABELS, entity_label, field_label

# The outbox's states as the technician reads them, with the tone of their marker.
STATE_WORDS: dict[str, tuple[str, str]] = {
    "pending": ("Waiting", "pending"),
    "leased": ("Sending", "info"),
    "done": ("Sent", "ok"),
    "parked": ("Needs attention", "error"),
    "conflict": ("Conflict", "conflict"),
    "cancelled": ("Discarded", "muted"),
}

PRIORITIES = ["critical", "high", "normal", "low", "background"]

__all__ = [
    "ENTITY_LABELS",
    "FIELD_LABELS",
    "PRIORITIES",
    "STATE_WORDS",
    "entity_label",
    "field_label",
]
