"""What a technician's visit adds to tickets, notes and time entries: the stopwatch, the day's
schedule (service calls and appointments) and the tickets' checklists."""

from agent.visit import schedule
from agent.visit.schedule import ChecklistLine, VisitEntry, VisitTicket
from agent.visit.timer import Stopwatch, TimerRefused
from agent.visit.timer_draft import LONG_RUN_S, TimerDraft, TimerState, TimerView, duration_text
from agent.visit.visit_edits import VisitCapture

__all__ = [
    "LONG_RUN_S",
    "ChecklistLine",
    "Stopwatch",
    "TimerDraft",
    "TimerRefused",
    "TimerState",
    "TimerView",
    "VisitCapture",
    "VisitEntry",
    "VisitTicket",
    "duration_text",
    "schedule",
]
