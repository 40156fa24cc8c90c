"""Attachment uploads: the body Autotask expects, and its limit per file checked before sending.

The API accepts smaller files than the web UI (FACTS: 6-7 MB per file, 10,000,000 bytes per
five minutes per integration); a file over `MAX_ATTACHMENT_BYTES` is refused here with a clear
error instead of being base64-encoded and sent only to be refused.
"""

from __future__ import annotations

import base64

from agent.autotask.errors import AttachmentTooLargeError
from agent.autotask.wire import JsonObject

MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024
FILE_ATTACHMENT = "FILE_ATTACHMENT"


def attachment_body(file_name: str, data: bytes, *, title: str | None, publish: int) -> JsonObject:
    """The create body of a file attachment (`fullPath` is the file's name)."""
    if not file_name.strip():
        raise ValueError("an attachment needs a file name")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLargeError(
            f"{file_name} is {len(data):,} bytes; Autotask takes attachments of at most "
            f"{MAX_ATTACHMENT_BYTES:,} bytes through its API",
            limit=MAX_ATTACHMENT_BYTES,
            method="POST",
            endpoint="Tickets/{parentId}/Attachments",
            is_write=True,
            may_have_reached_server=False,
        )
    return {
        "attachmentType": FILE_ATTACHMENT,
        "fullPath": file_name,
        "title": title or file_name,
        "publish": publish,
        "data": base64.b64encode(data).decode("ascii"),
    }
