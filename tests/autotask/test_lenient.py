"""Reading a query answer record by record when one record is too deep for any JSON reader."""

from __future__ import annotations

import json

from agent.autotask.convert import RequestContext, decode_json
from agent.autotask.lenient import UnreadableRecord


def test_the_other_records_are_read_exactly_around_one_too_deep() -> None:
    good = [
        {"id": 1, "title": 'brackets ] [ } { and "quotes", commas, \\ slashes'},
        {"id": 2, "nested": {"a": [1, 2, {"b": "]"}]}, "empty": [], "e": {}},
        {"id": 3, "title": "ünïcödé ✓", "n": -1.5e3, "t": True, "z": None},
    ]
    deep = b'{"id": 4, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    parts = [json.dumps(g).encode() for g in good]
    body = (
        b'{ "items" : [' + parts[0] + b", " + deep + b",\n" + parts[1] + b"," + parts[2] + b"],"
        b' "pageDetails": {"count": 4, "nextPageUrl": null}}'
    )
    ctx = RequestContext.for_call("GET", "Tickets")
    answer = decode_json(body, ctx)
    items = answer["items"]
    assert [i for i in items if not isinstance(i, UnreadableRecord)] == good
    assert isinstance(items[1], UnreadableRecord) and items[1] == {}
    assert answer["pageDetails"] == {"count": 4, "nextPageUrl": None}


def test_an_answer_cut_short_is_still_refused() -> None:
    import pytest

    from agent.autotask.errors import ProtocolError

    body = b'{"items": [{"id": 1}, {"id": 2, "x": ' + b"[" * 5000
    with pytest.raises(ProtocolError):
        decode_json(body, RequestContext.for_call("GET", "Tickets"))
