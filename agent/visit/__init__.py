"""What a technician's visit adds to tickets, notes and time entries: the stopwatch."""

from agent.visit.timer import Stopwatch, TimerRefused
from agent.visit.timer_draft import LONG_RUN_S, TimerDraft, TimerState, TimerView, duration_text

__all__ = [
    "LONG_RUN_S",
    "Stopwatch",
    "TimerDraft",
    "TimerRefused",
    "TimerState",
    "TimerView",
    "duration_text",
]
