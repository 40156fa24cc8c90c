"""The words the shell shows for states, modes and times, kept in one place so they agree."""

from __future__ import annotations

import time

from agent.api.types import AgentStatus, SyncState, UploadProgress
from agent.api.words import size_text

STATE_TITLES: dict[SyncState, str] = {
    SyncState.SYNCED: "Up to date",
    SyncState.SYNCING: "Syncing",
    SyncState.OFFLINE: "Offline",
    SyncState.PAUSED: "Paused",
    SyncState.ATTENTION: "Needs attention",
    SyncState.ERROR: "Not syncing",
}

MODES: dict[str, str] = {
    "normal": "Normal pace",
    "conserve": "Saving requests",
    "critical": "Urgent changes only",
    "offline": "Offline",
}


def ago(then: float | None, now: float | None = None) -> str:
    """'just now', '2 min ago', '3 h ago', 'yesterday', '4 days ago' or 'never'."""
    if then is None:
        return "never"
    seconds = max(0.0, (time.time() if now is None else now) - then)
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{hours} h ago"
    days = round(seconds / 86400)
    return "yesterday" if days == 1 else f"{days} days ago"


def last_synced(status: AgentStatus | None, now: float | None = None) -> str:
    if (
        status is not None
        and status.last_sync_at is None
        and not status.first_sync_done
        and status.signed_in
        and status.state is SyncState.SYNCING
    ):
        return "First download in progress"
    if status is None or status.last_sync_at is None:
        return "Not synced yet"
    return f"Last synced {ago(status.last_sync_at, now)}"


def connection(status: AgentStatus) -> str:
    if not status.signed_in:
        return "Not signed in"
    if status.paused:
        return "Paused"
    if status.work_offline:
        return "Working offline"
    return "Connected" if status.online else "No connection"


def mode(status: AgentStatus) -> str:
    return MODES.get(status.mode, status.mode.capitalize())


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def sending(done: int, total: int) -> str:
    """Where a sync is: "Sending 12 of 241"."""
    return f"Sending {min(done + 1, total)} of {total}"


def tooltip(status: AgentStatus | None, now: float | None = None) -> str:
    """The tray tooltip: state, pending changes, conflicts and the last good sync."""
    if status is None:
        return "Field Sync: starting…"
    demo = " (demo tenant)" if status.demo else ""
    lines = [f"Field Sync: {STATE_TITLES[status.state]}{demo}"]
    if status.sending is not None:
        lines.append(sending(*status.sending))
    lines.append(f"{plural(status.pending, 'change')} waiting")
    if status.conflicts:
        lines.append(plural(status.conflicts, "conflict"))
    if status.needs_attention:
        lines.append(f"{plural(status.needs_attention, 'change')} need attention")
    lines.append(last_synced(status, now))
    return "\n".join(lines)


def size_words(size: int) -> str:
    """A file's size: `2.4 MB`, `850 KB`, `312 bytes` (as everywhere: `size_text`)."""
    return size_text(size)


def upload_words(progress: UploadProgress) -> str:
    """How far an upload is: `1.2 MB of 2.4 MB sent (50 %)`; all of it handed over, the
    answer is awaited."""
    if progress.total and progress.sent >= progress.total:
        return f"{size_words(progress.size)} sent; waiting for Autotask to confirm"
    sent = size_words(progress.file_bytes_sent) if progress.sent else "0"
    return f"{sent} of {size_words(progress.size)} sent ({percent(progress)})"


def percent(progress: UploadProgress) -> str:
    """`47 %`, never broken across lines (a no-break space)."""
    return f"{progress.percent}\u00a0%"


def cut(text: str, limit: int = 90) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters with "…"
    (the full text goes in the tooltip)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:→") + "…"


def can_send(status: AgentStatus | None) -> bool:
    """Whether a change could be sent now (signed in, online, not paused or working offline)."""
    return bool(
        status is not None
        and status.signed_in
        and status.online
        and not status.work_offline
        and not status.paused
    )
