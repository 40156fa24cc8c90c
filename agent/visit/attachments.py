"""Attaching a photo or a file to a ticket offline, and what each attached file has become.

Capture checks the file first (a name, some bytes, at most the API's limit per file: a file the
API would refuse is refused here, with the offer to make a JPEG or PNG photo smaller), writes its
bytes sealed into the profile folder (`agent.visit.attachment_files`), and then, in one durable
transaction, records the file, queues its create at `Priority.LOW` (below every edit, so an
upload never goes before a status change) and appends the audit event. A full disk at either
step raises the store's error and leaves nothing behind: no file without its operation, no
operation without its file.
"""

from __future__ import annotations

import base64
import enum
import os
import stat
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.api.types import UploadProgress
from agent.api.validation import EditRejected, Problem
from agent.api.words import size_text
from agent.autotask.attachments import FILE_ATTACHMENT, MAX_ATTACHMENT_BYTES
from agent.queue.operation import NewOperation, Operation, entity_key
from agent.security.permissions import binary_flags
from agent.store.models import AttachmentFile, CreateAttempt, OpKind, OpState, Priority
from agent.sync import localview
from agent.sync.capture import TICKETS, Capture, Captured
from agent.visit import attachment_files as files

ATTACHMENTS = "TicketAttachments"
PUBLISH_ALL = 1  # "All Autotask users": the API's publish picklist is 1, 2 and 4
# The lengths of the attachment's `fullPath` (the file's name) and `title` fields in Autotask:
# a longer value is refused at sync ("exceeds its maximum length"), so it is refused here.
MAX_NAME = 255
MAX_TITLE = 255
# The first bytes of the photos the window can make smaller.
READ_CHUNK = 1 << 20
# Bidirectional controls turn the text after them around: "invoice\u202etxt.exe" shows as
# "invoiceexe.txt". They are taken out of names and titles (other control characters, a line
# break or a tab, become spaces).
BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
PHOTO_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}


class UploadState(enum.StrEnum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    SENT = "sent"
    NEEDS_ATTENTION = "needs attention"
    DISCARDED = "discarded"


class AttachmentTooLarge(EditRejected):
    """A file over the API's limit per attachment; `photo` names a JPEG or PNG ("jpeg", "png")
    that can be made smaller to fit, else None."""

    def __init__(self, name: str, size: int, photo: str | None) -> None:
        hint = (
            " Make the photo smaller to attach it."
            if photo
            else " Split it, or attach it in Autotask's web page."
        )
        limit = MAX_ATTACHMENT_BYTES
        super().__init__(
            [
                Problem(
                    "file",
                    f"{name} is {size_text(size)} ({size:,} bytes); Autotask takes attachments "
                    f"of at most {size_text(limit)} ({limit:,} bytes) through its API.{hint}",
                )
            ]
        )
        self.name, self.size, self.photo = name, size, photo
        self.limit = MAX_ATTACHMENT_BYTES


@dataclass(frozen=True)
class AttachmentView:
    """One file attached on this computer, as the window and the command line show it."""

    id: int
    ticket_id: int
    name: str
    title: str
    size: int
    state: UploadState
    op_id: int | None
    server_id: int | None
    captured_at: float
    detail: str | None = None  # why it waits or needs attention
    progress: UploadProgress | None = None  # while its bytes are leaving


def photo_kind(data: bytes) -> str | None:
    return next((kind for magic, kind in PHOTO_MAGIC.items() if data.startswith(magic)), None)


def shown_plainly(text: str) -> str:
    """`text` without bidirectional controls, its other control characters made spaces."""
    text = text.translate(BIDI_CONTROLS)
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text).strip()


def check_file(name: str, data: bytes) -> str:
    """The file's name as it is sent (its base name); refuses what the API would refuse."""
    base = shown_plainly(os.path.basename(name.replace("\\", "/")))
    if not base:
        raise EditRejected([Problem("file", "the file needs a name")])
    if len(base) > MAX_NAME:
        raise EditRejected(
            [
                Problem(
                    "file",
                    f"the file's name is {len(base)} characters long; Autotask takes at most "
                    f"{MAX_NAME}: rename the file",
                )
            ]
        )
    if not data:
        raise EditRejected([Problem("file", f"{base} is empty")])
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(base, len(data), photo_kind(data))
    return base


def check_title(title: str | None, name: str) -> str:
    """The attachment's title as it is sent (the file's name when none is given)."""
    title = shown_plainly(title or "") or name
    if len(title) > MAX_TITLE:
        raise EditRejected(
            [
                Problem(
                    "title",
                    f"is {len(title)} characters long; Autotask takes titles of at most "
                    f"{MAX_TITLE}",
                )
            ]
        )
    return title


def _not_a_file(source: Path) -> EditRejected:
    return EditRejected(
        [
            Problem(
                "file",
                f"{source} is not a regular file (a folder, a device or a pipe): only files "
                "can be attached",
            )
        ]
    )


def read_file(source: Path) -> bytes:
    """The bytes of the regular file at `source` (links followed). Anything else (a folder, a
    device such as /dev/zero, a named pipe) is refused before it is read, and never more than
    the limit and one byte are read: a file over the limit, or growing past it while it is
    read, is refused as too large."""
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            raise _not_a_file(source)
        # Not blocking: a pipe put in the file's place meanwhile must not hang the open.
        fd = os.open(source, binary_flags(os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _not_a_file(source)
            if info.st_size > MAX_ATTACHMENT_BYTES:  # refused before it is read whole
                raise AttachmentTooLarge(source.name, info.st_size, photo_kind(os.read(fd, 16)))
            chunks: list[bytes] = []
            total = 0
            while total <= MAX_ATTACHMENT_BYTES:
                chunk = os.read(fd, min(READ_CHUNK, MAX_ATTACHMENT_BYTES + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise EditRejected([Problem("file", f"{source} cannot be read: {exc.strerror}")]) from None
    data = b"".join(chunks)
    if len(data) > MAX_ATTACHMENT_BYTES:  # it grew while it was read
        raise AttachmentTooLarge(source.name, max(info.st_size, len(data)), photo_kind(data))
    return data


class AttachmentCapture(Capture):
    """Attach files to tickets (see the module's docstring); `folder` holds the sealed bytes."""

    def __init__(self, *args: Any, folder: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.folder = folder

    def attach_path(
        self, ticket_id: int, path: str | Path, *, title: str | None = None
    ) -> Captured:
        """`attach` with the bytes of the file at `path` (a file that cannot be read is refused)."""
        source = Path(path)
        return self.attach(ticket_id, source.name, read_file(source), title=title)

    def attach(
        self, ticket_id: int, file_name: str, data: bytes, *, title: str | None = None
    ) -> Captured:
        name = check_file(file_name, data)
        title = check_title(title, name)
        self.store.read(lambda: self._ticket(ticket_id))
        blob, key = files.seal(self.folder, data)  # before the transaction: it names the file
        try:
            return self.store.write(
                lambda: self._queue_file(ticket_id, name, title, len(data), blob, key),
                durable=True,
            )
        except BaseException:
            files.remove(self.folder, blob)
            raise

    def _ticket(self, ticket_id: int) -> None:
        current = localview.view(TICKETS, str(ticket_id))
        if current is None or not current.server or current.deleted_on_server:
            raise EditRejected([Problem("ticket", f"ticket {ticket_id} is not in your list")])

    def _queue_file(
        self, ticket_id: int, name: str, title: str, size: int, blob: str, key: bytes
    ) -> Captured:
        self._ticket(ticket_id)
        fields = {
            "parentID": ticket_id,
            "title": title,
            "fullPath": name,
            "attachmentType": FILE_ATTACHMENT,
            "publish": PUBLISH_ALL,
            "fileSize": size,  # set by the server: kept to find a lost create's record
            "file": blob,  # which sealed file: identical files are one operation
        }
        temp = uuid.uuid4().hex
        new = NewOperation(
            OpKind.CREATE,
            ATTACHMENTS,
            fields=fields,
            temp_id=temp,
            parent_id=ticket_id,
            priority=Priority.LOW,
        )
        captured = self._queue(
            new,
            entity_key(None, temp),
            fields,
            "edit_captured",
            {"kind": "create", "fields": {k: v for k, v in fields.items() if k != "file"}},
        )
        AttachmentFile.create(
            blob=blob,
            op_id=captured.op_id,
            ticket_id=ticket_id,
            size=size,
            sealed={"key": base64.b64encode(key).decode("ascii"), "name": name, "title": title},
            captured_at=self._now(),
        )
        return captured


def list_files(
    ticket_id: int | None,
    get: Callable[[int], Operation | None],
    uploading: Mapping[int, UploadProgress] | None = None,
) -> list[AttachmentView]:
    """The files attached on this computer (of one ticket, or all), newest first; `get` reads
    an operation of the outbox; `uploading`: the uploads under way, by operation id."""
    uploading = uploading or {}
    query = AttachmentFile.select().order_by(AttachmentFile.id.desc())
    if ticket_id is not None:
        query = query.where(AttachmentFile.ticket_id == ticket_id)
    out: list[AttachmentView] = []
    for row in query:
        op = get(int(row.op_id)) if row.op_id is not None else None
        state, detail = _state(row, op)
        progress = uploading.get(int(row.op_id)) if row.op_id is not None else None
        if progress is not None and op is not None and op.is_live:
            state, detail = UploadState.UPLOADING, None  # its lease may have run out meanwhile
        else:
            progress = None
        server_id = row.server_id
        if server_id is None and state is UploadState.SENT:  # a lost answer's, adopted
            owned = CreateAttempt.get_or_none(CreateAttempt.op_id == row.op_id)
            server_id = None if owned is None else owned.server_id
        out.append(
            AttachmentView(
                id=int(row.id),
                ticket_id=int(row.ticket_id),
                name=str(row.sealed.get("name", "")),
                title=str(row.sealed.get("title", "")),
                size=int(row.size),
                state=state,
                op_id=None if row.op_id is None else int(row.op_id),
                server_id=None if server_id is None else int(server_id),
                captured_at=float(row.captured_at),
                detail=detail,
                progress=progress,
            )
        )
    return out


def _state(row: AttachmentFile, op: Operation | None) -> tuple[UploadState, str | None]:
    if op is None or op.state is OpState.DONE:
        return UploadState.SENT, None
    if op.state is OpState.CANCELLED:
        return UploadState.DISCARDED, op.reason
    if op.state in (OpState.PARKED, OpState.CONFLICT):
        return UploadState.NEEDS_ATTENTION, op.last_error or op.reason
    if op.state is OpState.LEASED and row.state == UploadState.UPLOADING.value:
        return UploadState.UPLOADING, None
    return UploadState.QUEUED, op.last_error
