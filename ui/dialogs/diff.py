"""Word-level differences as HTML, so a changed word stands out in a conflict's columns.

difflib's `SequenceMatcher` on word tokens is enough here; `HtmlDiff` makes whole-line tables,
which is the wrong granularity for a field value.
"""

from __future__ import annotations

import difflib
import html
import re

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def highlight(base: str, changed: str, colour: str) -> str:
    """`changed` as HTML with the words not in `base` on a `colour` background."""
    a, b = tokens(base), tokens(changed)
    out: list[str] = []
    for op, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        piece = html.escape("".join(b[j1:j2]))
        if op in ("insert", "replace") and piece.strip():
            out.append(f'<span style="background:{colour};">{piece}</span>')
        else:
            out.append(piece)
    return _lines("".join(out))


def removed(base: str, changed: str) -> list[str]:
    """The words of `base` that `changed` dropped (for a tooltip)."""
    a, b = tokens(base), tokens(changed)
    gone: list[str] = []
    for op, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            text = "".join(a[i1:i2]).strip()
            if text:
                gone.append(text)
    return gone


def plain(text: str) -> str:
    return _lines(html.escape(text))


def _lines(markup: str) -> str:
    return markup.replace("\n", "<br>")
