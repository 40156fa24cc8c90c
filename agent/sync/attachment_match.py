"""How a file attachment whose answer was lost is found on the server: by its parent, title,
file name, type and visibility, attached while one of our attempts could have landed, by the
technician (uploads act for them), of the same size, and holding the same bytes.

Autotask stamps an attachment with `attachDate` (it has no `createDateTime`), and refuses
`fileSize` in a query's filter (FACTS.md): the size and the attaching resource are compared on
the records the query returns instead. Lists carry no `data`: a candidate's bytes are read with
the attachment itself (one call each, in the rare case of a lost answer) and compared with the
sealed copy (`same_bytes`). Another user's file, or the technician's own from another
computer, may well have the same name and size: without its bytes a record is never adopted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from agent.queue.operation import Operation

ATTACHMENTS = "TicketAttachments"
STAMP = "attachDate"
SIZE = "fileSize"
ATTACHED_BY = "attachedByResourceID"
FILTERED = ("parentID", "title", "fullPath", "attachmentType", "publish")


def identity(op: Operation) -> dict[str, Any]:
    return {name: op.fields[name] for name in FILTERED if op.fields.get(name) not in (None, "")}


def same_size(op: Operation, record: Mapping[str, Any]) -> bool:
    """Whether `record` holds as many bytes as the file `op` sent (unknown sizes never match)."""
    mine, theirs = op.fields.get(SIZE), record.get(SIZE)
    if not isinstance(mine, int | float) or not isinstance(theirs, int | float):
        return False
    return int(mine) == int(theirs)


def attached_by(record: Mapping[str, Any], resource_id: int | None) -> bool:
    """Whether `record` was attached by the resource `resource_id` (unknown never matches)."""
    theirs = record.get(ATTACHED_BY)
    if resource_id is None or not isinstance(theirs, int | float):
        return False
    return int(theirs) == resource_id


def same_bytes(data: bytes, record: Mapping[str, Any]) -> bool:
    """Whether the attachment `record` (read by its id, with its `data`) holds `data`."""
    encoded = record.get("data")
    if not isinstance(encoded, str) or not encoded:
        return False
    try:
        theirs = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return theirs == data
