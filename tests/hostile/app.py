"""A hostile Autotask for tests: the simulator behind an ASGI app that spoils chosen answers.

Every request goes to the simulator (`agent.simulator`), so a normal exchange works as ever; while
a `Mode` is set, the answers it aims at are spoiled on the way back:

- record modes add bad records to (or spoil one record of) each query answer of the chosen
  entities: an id beyond 64 bits, a negative id, a change marker in the year 9999, wrong types
  (text or null or an object where an id belongs, a list where a record belongs);
- `HUGE_ITEM_ID` answers every create and update with an `itemId` beyond 64 bits;
- `PICKLIST_TEXT` adds values that are text, not numbers, to every picklist field's values;
  `PICKLIST_NUMBER` adds a value whose label is a number; `PICKLIST_LONE_SURROGATE` adds one
  whose label holds a lone surrogate (sent as the JSON escape `\\ud800`);
- `BAD_FIELD` sets `bad_fields` on the records of `targets` in each query answer of the entities;
- poison modes add one record to the pull's ticket answers (those naming `only_if`) that the
  client's JSON reader could not read before: a 5000-digit number, a field nested 200 levels;
- `LYING_DATE` dates the pull's ticket answers `date_ahead` ahead of the simulator's clock and
  sets their change markers `marker_ahead` ahead (None: the year 9999);
- answer modes spoil the pull's own queries (those of `answer_entity`, tickets unless told,
  whose filter names `only_if`): JSON nested 100,000 levels, an answer cut in half, one beyond
  the client's size cap, or the right answer dripped a few bytes at a time;
- zone modes spoil the ZoneInformation answer: a foreign zone URL, or the answer dripped.

`seen` records the host, path and whether credentials came with each request, so a test can tell
that nothing reached a foreign host. The drip uses tiny real sleeps: the client's deadline, not
the drip's end, is what a test waits for.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from email.utils import format_datetime as http_date
from typing import Any
from urllib.parse import unquote_plus

from agent.autotask.wire import format_datetime
from agent.simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Mode(enum.StrEnum):
    FOREIGN_ZONE = "foreign_zone"
    SLOW_ZONE = "slow_zone"
    HUGE_ID = "huge_id"
    NEGATIVE_ID = "negative_id"
    FAR_FUTURE = "far_future"
    WRONG_TYPES = "wrong_types"
    HUGE_ITEM_ID = "huge_item_id"
    PICKLIST_TEXT = "picklist_text"
    DEEP_NESTING = "deep_nesting"
    TRUNCATED = "truncated"
    HUGE_BODY = "huge_body"
    SLOW_DRIP = "slow_drip"
    PICKLIST_NUMBER = "picklist_number"
    BAD_FIELD = "bad_field"
    HUGE_NUMBER = "huge_number"
    DEEP_RECORD = "deep_record"
    LYING_DATE = "lying_date"
    PICKLIST_LONE_SURROGATE = "picklist_lone_surrogate"


ZONE_MODES = frozenset({Mode.FOREIGN_ZONE, Mode.SLOW_ZONE})
RECORD_MODES = frozenset(
    {Mode.HUGE_ID, Mode.NEGATIVE_ID, Mode.FAR_FUTURE, Mode.WRONG_TYPES, Mode.BAD_FIELD}
)
ANSWER_MODES = frozenset(
    {
        Mode.DEEP_NESTING,
        Mode.TRUNCATED,
        Mode.HUGE_BODY,
        Mode.SLOW_DRIP,
        Mode.HUGE_NUMBER,
        Mode.DEEP_RECORD,
        Mode.LYING_DATE,
    }
)
POISON_ID = 424242

FOREIGN_HOST = "evil.example.net"
FOREIGN_ZONE_URL = f"http://{FOREIGN_HOST}/ATServicesRest/"
HUGE_ID = 2**64 + 7
NEGATIVE_ID = -7
LONE_LABEL = "Lone \ud800 label"
FAR_FUTURE = "9999-12-31T23:59:59.999Z"
DEEP = 100_000
HUGE_BYTES = 33 * 1024 * 1024  # past the client's 32 MiB cap
# The change marker of each entity (as Autotask names them).
MARKERS = {
    "tickets": "lastTrackedModificationDateTime",
    "ticketnotes": "lastActivityDate",
    "timeentries": "lastModifiedDateTime",
    "companies": "lastTrackedModifiedDateTime",
    "contacts": "lastModifiedDate",
}


@dataclass(frozen=True)
class Seen:
    host: str
    path: str
    credentials: bool


@dataclass
class HostileApp:
    """`mode` None passes everything through. `entities` (lower-case routes, None for every
    one) are the query answers the record modes spoil."""

    sim: Simulator
    mode: Mode | None = None
    entities: frozenset[str] | None = frozenset({"tickets"})
    only_if: str = "assignedResourceID"  # the answer modes spoil queries naming this field
    answer_entity: str = "tickets"  # ... of this entity (lower-case route)
    drip_bytes: int = 4
    drip_interval: float = 0.002
    bad_fields: dict[str, Any] = field(default_factory=dict)
    targets: frozenset[int] = frozenset()
    date_ahead: timedelta = timedelta(hours=23.5)
    marker_ahead: timedelta | None = None
    deep_levels: int = 200  # DEEP_RECORD's nesting (past any JSON reader's depth: 3000)
    spoiled: int = 0  # answers spoiled (or dripped) so far
    drips_ended: int = 0  # dripped answers whose last byte was sent
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.sim.app(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.seen.append(Seen(headers.get("host", ""), scope["path"], "secret" in headers))
        replay = _replay(body)
        target = self._target(scope, body)
        if target is None:
            await self.sim.app(scope, replay, send)
            return
        status, out_headers, answer = await _capture(self.sim.app, scope, replay)
        if status == 200:
            if self.mode is Mode.LYING_DATE:
                out_headers = self._lying_date(out_headers)
            spoiled = self._spoil(target, scope["path"], answer)
            self.spoiled += spoiled != answer or self.mode in (Mode.SLOW_DRIP, Mode.SLOW_ZONE)
            answer = spoiled
        await self._answer(send, status, out_headers, answer)

    def foreign_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.host.split(":")[0] == FOREIGN_HOST]

    # -- what is aimed at ---------------------------------------------------------------------
    def _target(self, scope: Scope, body: bytes) -> str | None:
        if self.mode is None:
            return None
        parts = [p for p in scope["path"].lower().split("/") if p]
        if parts[-1:] == ["zoneinformation"]:
            return "zone" if self.mode in ZONE_MODES else None
        if self.mode in (Mode.PICKLIST_TEXT, Mode.PICKLIST_NUMBER, Mode.PICKLIST_LONE_SURROGATE):
            return "fields" if parts[-2:] == ["entityinformation", "fields"] else None
        if self.mode is Mode.HUGE_ITEM_ID:
            writes = scope["method"] in ("POST", "PUT", "PATCH") and "query" not in parts
            return "write" if writes else None
        if len(parts) < 2 or parts[-1] != "query":
            return None
        entity = parts[-2]
        if self.mode in RECORD_MODES:
            wanted = self.entities is None or entity in self.entities
            return "records" if wanted else None
        if self.mode in ANSWER_MODES:
            search = unquote_plus(scope.get("query_string", b"").decode()) + body.decode()
            wanted = self.only_if in search and entity == self.answer_entity
            return "answer" if wanted else None
        return None

    # -- how it is spoiled --------------------------------------------------------------------
    def _spoil(self, target: str, path: str, answer: bytes) -> bytes:
        if target == "zone":
            if self.mode is Mode.FOREIGN_ZONE:
                payload = json.loads(answer)
                payload["url"] = FOREIGN_ZONE_URL
                return json.dumps(payload).encode()
            return answer
        if target == "fields":
            payload = json.loads(answer)
            for f in payload.get("fields", []):
                if f.get("isPickList") and self.mode is Mode.PICKLIST_LONE_SURROGATE:
                    f["picklistValues"] = [
                        *f.get("picklistValues", []),
                        {"value": "78", "label": LONE_LABEL, "isActive": True},
                    ]
                elif f.get("isPickList") and self.mode is Mode.PICKLIST_NUMBER:
                    f["picklistValues"] = [
                        *f.get("picklistValues", []),
                        {"value": "77", "label": 12345, "isActive": True},
                    ]
                elif f.get("isPickList"):
                    f["picklistValues"] = [
                        *f.get("picklistValues", []),
                        {"value": "not-a-number", "label": "Bogus", "isActive": True},
                        {"value": "12abc", "label": "Bogus too", "isActive": True},
                    ]
            return json.dumps(payload).encode()
        if target == "write":
            payload = json.loads(answer)
            payload["itemId"] = HUGE_ID
            return json.dumps(payload).encode()
        if target == "records":
            payload = json.loads(answer)
            entity = [p for p in path.lower().split("/") if p][-2]
            payload["items"] = self._bad_records(entity, payload.get("items") or [])
            return json.dumps(payload).encode()
        if self.mode is Mode.DEEP_NESTING:
            return b'{"items":' + b"[" * DEEP + b"]" * DEEP + b"}"
        if self.mode in (Mode.HUGE_NUMBER, Mode.DEEP_RECORD):
            return self._poisoned(answer)
        if self.mode is Mode.LYING_DATE:
            payload = json.loads(answer)
            ahead = self.marker_ahead
            mark = FAR_FUTURE if ahead is None else format_datetime(self.sim.clock.now() + ahead)
            for item in payload.get("items") or []:
                item["lastTrackedModificationDateTime"] = mark
            return json.dumps(payload).encode()
        if self.mode is Mode.TRUNCATED:
            return answer[: len(answer) // 2]
        if self.mode is Mode.HUGE_BODY:
            return b'{"padding":"' + b"x" * HUGE_BYTES + b'",' + answer[1:]
        return answer  # SLOW_DRIP: the right answer, slowly

    def _poisoned(self, answer: bytes) -> bytes:
        """The answer with one more record that Python's JSON reader alone cannot read."""
        payload = json.loads(answer)
        extra = {"id": POISON_ID, "title": "Poison"}
        if self.mode is Mode.HUGE_NUMBER:
            poison = b', "estimatedHours": ' + b"9" * 5000
        else:
            levels = self.deep_levels
            poison = b', "userDefinedFields": ' + b"[" * levels + b"1" + b"]" * levels
        record = json.dumps(extra).encode()[:-1] + poison + b"}"
        items = json.dumps(payload.get("items") or []).encode()[1:-1]
        rest = json.dumps({k: v for k, v in payload.items() if k != "items"}).encode()[1:]
        return b'{"items": [' + items + (b", " if items else b"") + record + b"], " + rest

    def _lying_date(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        fake = http_date(self.sim.clock.now().astimezone(UTC) + self.date_ahead, usegmt=True)
        kept = [(k, v) for k, v in headers if k.lower() != b"date"]
        return [*kept, (b"date", fake.encode())]

    def _bad_records(self, entity: str, items: list[Any]) -> list[Any]:
        if self.mode is Mode.BAD_FIELD:
            return [{**i, **self.bad_fields} if i.get("id") in self.targets else i for i in items]
        if not items:
            return items
        first = items[0]
        if self.mode is Mode.HUGE_ID:
            return [*items, {**first, "id": HUGE_ID}]
        if self.mode is Mode.NEGATIVE_ID:
            return [{**first, "id": NEGATIVE_ID}, *items]
        if self.mode is Mode.FAR_FUTURE:
            marker = MARKERS.get(entity)
            return [{**first, marker: FAR_FUTURE}, *items[1:]] if marker else items
        bad: list[Any] = [
            {**first, "id": str(first["id"])},  # text where a number belongs
            ["a", "list", "where", "a", "record", "belongs"],
            {**first, "id": None},  # null where it is required
            {**first, "id": {"value": first["id"]}},
        ]
        for parent in ("ticketID", "companyID"):
            if parent in first:
                bad.append({**first, parent: -1})
        return [*items, *bad]

    async def _answer(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], answer: bytes
    ) -> None:
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        kept.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": kept})
        if self.mode not in (Mode.SLOW_DRIP, Mode.SLOW_ZONE):
            await send({"type": "http.response.body", "body": answer})
            return
        for start in range(0, len(answer), self.drip_bytes):
            await asyncio.sleep(self.drip_interval)
            chunk = answer[start : start + self.drip_bytes]
            more = start + self.drip_bytes < len(answer)
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
        self.drips_ended += 1


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    return receive


async def _capture(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], scope: Scope, receive: Receive
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status, headers, chunks = 500, [], []

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)
