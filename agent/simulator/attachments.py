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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.clock import Clock

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.simulator.tenant import Actor, Record, Tenant

    Rule = Callable[[Tenant, Record, Record | None, Actor], list[str]]

MAX_FILE_BYTES = 6 * 1024 * 1024
WINDOW_BYTES = 10_000_000
WINDOW_SECONDS = 300.0
FILE_ATTACHMENT = "FILE_ATTACHMENT"
ATTACHMENT_TYPES = (FILE_ATTACHMENT, "URL", "FOLDER_LINK")
PUBLISH_VALUES = (
    (1, "All Autotask Users"),
    (2, "Internal Project Team"),
    (4, "Internal & Co-managed"),
)


@dataclass(frozen=True, slots=True)
class Parent:
    """The record an attachment route hangs under: its entity, the field naming it, how
    messages call it, and `parentType` in AttachmentInfo (chosen; see the API notes)."""

    route: str
    field: str
    noun: str
    parent_type: int


PARENTS = {
    "CompanyAttachments": Parent("Companies", "parentID", "company", 1),
    "OpportunityAttachments": Parent("Opportunities", "opportunityID", "opportunity", 2),
    "TicketAttachments": Parent("Tickets", "parentID", "ticket", 4),
    "ProjectAttachments": Parent("Projects", "parentID", "project", 5),
    "TaskAttachments": Parent("Tasks", "parentID", "task", 6),
}
TOO_LARGE = "The attachment exceeds the maximum size of {limit} bytes allowed through the API."
QUOTA = (
    "The attachment upload limit of {limit} bytes in {minutes} minutes has been exceeded for "
    "this integration; attachments are refused until the period ends."
)
_WHITESPACE = str.maketrans("", "", " \t\r\n\f\v")


def clean_base64(data: str) -> str:
    """`data` without the white space .NET's Convert.FromBase64String skips (line breaks of
    MIME-style base64, as `base64.encodebytes` writes it)."""
    return data.translate(_WHITESPACE)


def decoded_size(data: str) -> int:
    """The size of base64 `data` once decoded (white space ignored); ValueError when it is not
    base64."""
    try:
        return len(base64.b64decode(clean_base64(data), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("data is not valid base64") from exc


def attachment_rule(route: str) -> Rule:
    """The rule of the attachments under one kind of parent (a create only: attachments are
    never updated)."""
    parent = PARENTS[route]

    def rule(tenant: Tenant, rec: Record, before: Record | None, actor: Actor) -> list[str]:
        problems = [
            f"The field {name} is required for an Attachment."
            for name in ("attachmentType", "title", "fullPath", "publish")
            if rec.get(name) in (None, "")
        ]
        kind = rec.get("attachmentType")
        if kind is not None and kind not in ATTACHMENT_TYPES:
            problems.append(f"The value {kind} is not a valid attachmentType.")
        publish = rec.get("publish")
        if publish is not None and publish not in tenant.picklist_values(route, "publish"):
            problems.append(f"The value {publish} is not a valid publish picklist value.")
        parent_id = rec.get(parent.field)
        if parent_id is None or tenant.get(parent.route, parent_id) is None:
            problems.append(f"The {parent.noun} {parent_id} does not exist.")
        if kind == FILE_ATTACHMENT:
            problems += _file(rec)
        if not problems:
            guessed = mimetypes.guess_type(str(rec.get("fullPath") or ""))[0]
            rec["contentType"] = guessed or "application/octet-stream"
            rec["parentID"] = parent_id
            rec["parentType"] = parent.parent_type
            rec["isTaskAttachment"] = route == "TaskAttachments"
        return problems

    return rule


def _file(rec: Record) -> list[str]:
    """Checks the file of a file attachment and sets its server-computed `fileSize`."""
    data = rec.get("data")
    if not data:
        return ["The field data is required for a file attachment."]
    try:
        size = decoded_size(data)
    except ValueError:
        return ["The field data must be base64-encoded."]
    if size > MAX_FILE_BYTES:
        return [TOO_LARGE.format(limit=MAX_FILE_BYTES)]
    rec["data"] = clean_base64(data)
    rec["fileSize"] = float(size)
    return []


def mirror(tenant: Tenant, route: str, stored: Record) -> None:
    """Show a new attachment in `AttachmentInfo` (same id, no data)."""
    info = {k: v for k, v in stored.items() if k != "data" and k != "isTaskAttachment"}
    info["parentType"] = PARENTS[route].parent_type
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
