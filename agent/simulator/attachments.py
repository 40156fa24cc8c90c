"""Attachments: base64 files under their parent, the API's size limits, and `AttachmentInfo`.

A file travels base64-encoded in `data`. The API takes at most `MAX_FILE_BYTES` per file and
`WINDOW_BYTES` per integration in `WINDOW_SECONDS`; the create that would pass the window's
budget is refused, and so is every attachment create of that integration for the next
`WINDOW_SECONDS` (all scaled by the simulator's time scale). Every stored attachment also
appears, without its data, in `AttachmentInfo` under the same id.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections import deque
from typing import TYPE_CHECKING

from agent.clock import Clock

if TYPE_CHECKING:
    from agent.simulator.tenant import Actor, Record, Tenant

MAX_FILE_BYTES = 6 * 1024 * 1024
WINDOW_BYTES = 10_000_000
WINDOW_SECONDS = 300.0
FILE_ATTACHMENT = "FILE_ATTACHMENT"
ATTACHMENT_TYPES = (FILE_ATTACHMENT, "URL", "FOLDER_LINK")
# `parentType` of AttachmentInfo for each attachment route (chosen; see the API notes).
PARENT_TYPES = {
    "CompanyAttachments": 1,
    "OpportunityAttachments": 2,
    "TicketAttachments": 4,
    "ProjectAttachments": 5,
    "TaskAttachments": 6,
}
TOO_LARGE = "The attachment exceeds the maximum size of {limit} bytes allowed through the API."
QUOTA = (
    "The attachment upload limit of {limit} bytes in {minutes} minutes has been exceeded for "
    "this integration; attachments are refused until the period ends."
)


def decoded_size(data: str) -> int:
    """The size of base64 `data` once decoded; ValueError when it is not base64."""
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("data is not valid base64") from exc


def attachment_rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
    """The rule of `TicketAttachments` (a create only: attachments are never updated)."""
    problems = [
        f"The field {name} is required for an Attachment."
        for name in ("attachmentType", "title", "fullPath", "publish")
        if rec.get(name) in (None, "")
    ]
    kind = rec.get("attachmentType")
    if kind is not None and kind not in ATTACHMENT_TYPES:
        problems.append(f"The value {kind} is not a valid attachmentType.")
    parent = rec.get("parentID")
    if parent is None or tenant.get("Tickets", parent) is None:
        problems.append(f"The ticket {parent} does not exist.")
    if kind == FILE_ATTACHMENT:
        data = rec.get("data")
        if not data:
            problems.append("The field data is required for a file attachment.")
        else:
            try:
                size = decoded_size(data)
            except ValueError:
                problems.append("The field data must be base64-encoded.")
            else:
                if size > MAX_FILE_BYTES:
                    problems.append(TOO_LARGE.format(limit=MAX_FILE_BYTES))
                rec["fileSize"] = float(size)
    if not problems:
        guessed = mimetypes.guess_type(str(rec.get("fullPath") or ""))[0]
        rec["contentType"] = guessed or "application/octet-stream"
        rec["parentType"] = PARENT_TYPES["TicketAttachments"]
        rec["isTaskAttachment"] = False
    return problems


def mirror(tenant: Tenant, route: str, stored: Record) -> None:
    """Show a new attachment in `AttachmentInfo` (same id, no data)."""
    info = {k: v for k, v in stored.items() if k != "data" and k != "isTaskAttachment"}
    info["parentType"] = PARENT_TYPES.get(route)
    tenant.insert("AttachmentInfo", info, stored["id"])


class AttachmentBudget:
    """Bytes of attachments each integration stored in the window, and its refusal period."""

    def __init__(self, clock: Clock, time_scale: float) -> None:
        self.clock = clock
        self.time_scale = time_scale
        self.sent: dict[str, deque[tuple[float, int]]] = {}
        self.refused_until: dict[str, float] = {}

    @property
    def window(self) -> float:
        return WINDOW_SECONDS * self.time_scale

    def refusal(self, code: str, size: int) -> float | None:
        """None when `size` more bytes may be stored now; else seconds until they may."""
        now = self.clock.monotonic()
        until = self.refused_until.get(code, 0.0)
        if now < until:
            return until - now
        sent = self.sent.setdefault(code, deque())
        while sent and sent[0][0] <= now - self.window:
            sent.popleft()
        if sum(n for _, n in sent) + size > WINDOW_BYTES:
            self.refused_until[code] = now + self.window
            return self.window
        return None

    def record(self, code: str, size: int) -> None:
        self.sent.setdefault(code, deque()).append((self.clock.monotonic(), size))
