"""Reading a query answer record by record, when the answer as a whole cannot be read.

A query answer is `{"items": [record, ...], "pageDetails": {...}}`. When one record in it is
nested deeper than any JSON reader should follow (`json` recurses; a record a few thousand levels
deep fails the whole answer), the other records are still good. This finds where each record of
the `items` array begins and ends with an iterative scan (no recursion, so any depth is fine),
reads each on its own, and puts an `UnreadableRecord` (which has no id, so the screening skips
and counts it) where one cannot be read. Written by hand: `json` has no streaming or
partial-document reader, and the streaming libraries (ijson) would be a dependency for this one
fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class UnreadableRecord(dict[str, Any]):
    """Stands in for a record of a query answer that could not be read on its own."""


def _spans(body: bytes, start: int) -> tuple[list[tuple[int, int]], int] | None:
    """The [begin, end) spans of the elements of the array opening at `start`, and the index
    just past its closing bracket; None when the array does not close."""
    spans: list[tuple[int, int]] = []
    depth, i, in_string, begin = 0, start, False, -1
    n = len(body)
    while i < n:
        c = body[i]
        if in_string:
            if c == 0x5C:  # backslash: skip the escaped byte
                i += 2
                continue
            if c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
            if depth == 1 and begin < 0:
                begin = i
        elif c in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth == 2 and begin < 0:
                begin = i
        elif c in (0x5D, 0x7D):  # ] }
            depth -= 1
            if depth == 0:
                if begin >= 0:
                    spans.append((begin, i))
                return spans, i + 1
        elif c == 0x2C and depth == 1:  # a comma between elements
            if begin >= 0:
                spans.append((begin, i))
            begin = -1
        elif depth == 1 and begin < 0 and c not in b" \t\r\n":
            begin = i
        i += 1
    return None


def _items_array(body: bytes) -> int | None:
    """Where the `items` array of the top-level object opens (its `[`), if it does."""
    depth, i, in_string, key_start = 0, 0, False, -1
    n = len(body)
    while i < n:
        c = body[i]
        if in_string:
            if c == 0x5C:
                i += 2
                continue
            if c == 0x22:
                in_string = False
                if depth == 1 and body[key_start + 1 : i].lower() == b"items":
                    j = i + 1
                    while j < n and body[j] in b" \t\r\n:":
                        j += 1
                    if j < n and body[j] == 0x5B:
                        return j
        elif c == 0x22:
            in_string, key_start = True, i
        elif c in (0x5B, 0x7B):
            depth += 1
        elif c in (0x5D, 0x7D):
            depth -= 1
        i += 1
    return None


def read_records_apart(body: bytes, read: Callable[[bytes], Any]) -> Any | None:
    """The answer with each record read on its own (`read` parses one piece and may raise);
    None when the answer is not a query answer whose `items` array can be told apart."""
    opening = _items_array(body)
    if opening is None:
        return None
    found = _spans(body, opening)
    if found is None:
        return None
    spans, closing = found
    try:
        envelope = read(body[:opening] + b"[]" + body[closing:])
    except (ValueError, RecursionError):
        return None
    if not isinstance(envelope, dict):
        return None
    items: list[Any] = []
    for begin, end in spans:
        try:
            items.append(read(body[begin:end]))
        except (ValueError, RecursionError):
            items.append(UnreadableRecord())
    key = next(k for k in envelope if str(k).lower() == "items")
    envelope[key] = items
    return envelope


__all__ = ["UnreadableRecord", "read_records_apart"]
