"""How a file attachment whose answer was lost is found on the server: by its parent, title,
file name, type and visibility, attached while one of our attempts could have landed, and of
the same size.

Autotask stamps an attachment with `attachDate` (it has no `createDateTime`), and refuses
`fileSize` in a query's filter (FACTS.md): the size is compared on the records the query
returns instead. The file's bytes are not compared: lists carry no `data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.queue.operation import Operation

ATTACHMENTS = "TicketAttachments"
STAMP = "attachDate"
SIZE = "fileSize"
FILTERED = ("parentID", "title", "fullPath", "attachmentType", "publish")


def identity(op: Operation) -> dict[str, Any]:
    return {name: op.fields[name] for name in FILTERED if op.fields.get(name) not in (None, "")}


def same_size(op: Operation, record: Mapping[str, Any]) -> bool:
    """Whether `record` holds as many bytes as the file `op` sent (unknown sizes never match)."""
    mine, theirs = op.fields.get(SIZE), record.get(SIZE)
    if not isinstance(mine, int | float) or not isinstance(theirs, int | float):
        return False
    return int(mine) == int(theirs)
