"""A lost create is found whichever clock the server's records follow.

The server's front end (or a proxy) stamps its answers' `Date` header some hours off while the
records keep true `createDateTime` values. The agent measures the server's clock from that
header; a lost create must still be found (and adopted) rather than sent again, whether the
header lies always, only before the send (the skew stored with the attempt is a lie) or only now
and then. Counted on the simulator's own records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.values import format_time
from tests.e2e.conftest import options

HOUR = 3600.0
Message = dict[str, Any]


class LyingDate:
    """ASGI wrapper around the simulator: while `lies(path, method)` says so, an answer's
    `Date` header is `offset` seconds off the shared clock (the records are left as they are)."""

    def __init__(self, app: Any, clock: FakeClock, offset: float) -> None:
        self.app, self.clock, self.offset = app, clock, offset
        self.lies: Callable[[str, str], bool] = lambda path, method: False
        self.before_note: Callable[[], None] = lambda: None  # runs as a note's POST arrives

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and is_note(scope["path"]):
            self.before_note()
        if scope["type"] != "http" or not self.lies(scope["path"], scope["method"]):
            await self.app(scope, receive, send)
            return
        stamp = self.clock.now() + timedelta(seconds=self.offset)
        date = format_datetime(stamp, usegmt=True).encode()

        async def rewritten(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, rewritten)


def is_note(path: str) -> bool:
    return path.endswith("/Notes")


def always(wire: LyingDate) -> Callable[[str, str], bool]:
    return lambda path, method: True


def until_the_note_is_sent(wire: LyingDate) -> Callable[[str, str], bool]:
    """Lies up to the note's POST (the skew stored with the attempt), then tells the truth."""
    sent = [False]

    def lies(path: str, method: str) -> bool:
        lying = not sent[0]
        if method == "POST" and is_note(path):
            sent[0] = True
        return lying

    return lies


def every_other_answer(wire: LyingDate) -> Callable[[str, str], bool]:
    count = [0]

    def lies(path: str, method: str) -> bool:
        count[0] += 1
        return count[0] % 2 == 0

    return lies


async def _copies(
    tmp_path: Path,
    offset: float,
    mode: Callable[..., Any],
    texts: list[str],
    before_note: Callable[[Simulator, dict[str, Any]], None] = lambda sim, note: None,
) -> Any:
    clock = FakeClock()
    sim = Simulator(seed="lying-date", tickets=10, clock=clock)
    sim.limits.latency_enabled = False
    wire = LyingDate(sim.app, clock, offset)
    opts = dataclasses.replace(
        options(sim, clock, tmp_path), transport=httpx.ASGITransport(app=wire)
    )
    agent = await Agent.open(opts)
    try:
        report = await agent.sync_now()
        assert report is not None and report.error is None
        ticket = (await agent.my_tickets())[0].id
        lists = await agent.picklists("TicketNotes")
        wire.lies = mode(wire)
        note = {
            "ticketID": ticket,
            "title": "On site",
            "noteType": min(lists["noteType"]),
            "publish": min(lists["publish"]),
            "creatorResourceID": sim.technician_resource_id,
        }
        wire.before_note = lambda: before_note(sim, {**note, "description": texts[0]})
        clock.advance(30)
        await agent.sync_now()  # the server's clock measured from the (maybe lying) header
        op_ids = []
        for text in texts:
            result = await agent.add_note(
                ticket,
                text,
                title=note["title"],
                note_type=note["noteType"],
                publish=note["publish"],
            )
            op_ids.append(result.op_id)
        sim.faults.drop_response(route="*notes*", verb="POST", count=len(texts))
        await agent.sync_now()  # the notes land; their answers are lost
        engine = agent.engine
        assert engine is not None
        for _ in range(8):
            clock.advance(120)
            engine.pull_schedule.reset()
            await agent.sync_now()
        records = [
            r for r in sim.dump()["TicketNotes"].values() if r.get("description") in set(texts)
        ]
        ops = [agent.store.read(lambda i=i: agent.outbox.get(i)) for i in op_ids]
        return records, ops
    finally:
        await agent.close()


OFFSETS = [pytest.param(360.0, id="+6min"), pytest.param(2 * HOUR, id="+2h")]
OFFSETS += [pytest.param(-2 * HOUR, id="-2h")]
MODES = [always, until_the_note_is_sent, every_other_answer]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offset", OFFSETS)
async def test_a_lost_note_is_found_when_the_date_header_lies(
    tmp_path: Path, offset: float, mode: Callable[..., Any]
) -> None:
    records, ops = await _copies(tmp_path, offset, mode, ["Fan replaced, dust removed"])
    assert len(records) == 1
    assert [o.target_id for o in ops] == [records[0]["id"]]


@pytest.mark.parametrize("offset", OFFSETS)
async def test_identical_notes_typed_twice_stay_two_when_the_date_header_lies(
    tmp_path: Path, offset: float
) -> None:
    """Both answers are lost: each note adopts its own record, none is sent a third time."""
    records, ops = await _copies(tmp_path, offset, always, ["Same words", "Same words"])
    assert len(records) == 2
    assert sorted(o.target_id for o in ops) == sorted(r["id"] for r in records)


async def test_a_record_between_the_windows_is_not_adopted(tmp_path: Path) -> None:
    """The skew stored with the send is a lie (two hours behind); the header tells the truth
    afterwards. An identical note the server dates an hour before our send (typed elsewhere
    just then, never seen by the agent) lies between the two windows: it is not ours."""
    elsewhere: list[int] = []

    def typed_elsewhere(sim: Simulator, note: dict[str, Any]) -> None:
        if not elsewhere:
            hour_ago = format_time(sim.clock.now() - timedelta(hours=1))
            record = {**note, "createDateTime": hour_ago, "lastActivityDate": hour_ago}
            elsewhere.append(sim.tenant.insert("TicketNotes", record))

    text = "Checked the breaker panel"
    records, ops = await _copies(
        tmp_path, -2 * HOUR, until_the_note_is_sent, [text], before_note=typed_elsewhere
    )
    ours = [r["id"] for r in records if r["id"] not in elsewhere]
    assert elsewhere and len(ours) == 1
    assert [o.target_id for o in ops] == ours
