"""Finding the refused fields of an update: by the name in the server's message, else by sending
halves; groups that must travel together are never split; the number of extra calls is bounded;
a failure that is not a refusal stops the splitting and keeps what was not tried."""

from __future__ import annotations

from typing import Any

from agent.autotask.errors import ServerError, ValidationError
from agent.resilience.bulkhead import Kind
from agent.resilience.classify import classify
from agent.resilience.pipeline import PipelineError
from agent.sync.partial import groups_of, reason_for, send_in_parts


def failure(error: Exception) -> PipelineError:
    return PipelineError(
        classify(error, is_write=True),
        retry_at=None,
        error=error,
        endpoint="Tickets",
        kind=Kind.WRITE,
        op_id="1",
        attempted=True,
    )


def refusal(*messages: str, status: int = 500) -> PipelineError:
    return failure(ValidationError("; ".join(messages), messages=list(messages), status=status))


class Server:
    """Refuses any PATCH carrying a bad field, with that field's message; records what landed."""

    def __init__(self, bad: dict[str, str], broken_after: int | None = None) -> None:
        self.bad = bad
        self.landed: dict[str, Any] = {}
        self.calls: list[list[str]] = []
        self.broken_after = broken_after

    async def send(self, fields: dict[str, Any]) -> None:
        self.calls.append(sorted(fields))
        if self.broken_after is not None and len(self.calls) > self.broken_after:
            raise failure(ServerError("bad gateway", status=502, is_write=True))
        found = [message for name, message in self.bad.items() if name in fields]
        if found:
            raise refusal(*found)
        self.landed.update(fields)


FIELDS = {
    "title": "T",
    "description": "D",
    "priority": 1,
    "status": 8,
    "assignedResourceID": 7,
    "assignedResourceRoleID": 9,
    "queueID": 5,
    "dueDateTime": "2026-02-01T00:00:00Z",
}


def test_an_assignee_travels_as_one_group() -> None:
    assert groups_of("Tickets", FIELDS) == [
        ("title",),
        ("description",),
        ("priority",),
        ("status",),
        ("assignedResourceID", "assignedResourceRoleID"),
        ("queueID",),
        ("dueDateTime",),
    ]
    assert groups_of("TimeEntries", {"hoursWorked": 1, "roleID": 2, "summaryNotes": "x"}) == [
        ("hoursWorked",),
        ("roleID",),
        ("summaryNotes",),
    ]


async def test_a_field_named_by_the_server_is_set_aside_in_one_more_call() -> None:
    message = "The value 99 is not a valid status picklist value."
    server = Server({"status": message})
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal(message, status=400))
    assert split.refused == {"status": message}
    assert server.landed == {k: v for k, v in FIELDS.items() if k != "status"}
    assert split.sent == server.landed and split.calls == 1 and split.error is None


async def test_an_unnamed_refusal_is_found_by_halves_and_the_group_stays_whole() -> None:
    message = "The resource 7 does not exist or is inactive."
    server = Server({"assignedResourceID": message})
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal(message))
    assert split.refused == {"assignedResourceID": message, "assignedResourceRoleID": message}
    assert set(server.landed) == set(FIELDS) - {"assignedResourceID", "assignedResourceRoleID"}
    assert all(
        ("assignedResourceID" in call) == ("assignedResourceRoleID" in call)
        for call in server.calls
    )
    assert split.calls <= 5  # first half, then halving the second without sending it whole
    assert reason_for(split.refused) == f"assignedResourceID, assignedResourceRoleID: {message}"


async def test_two_refused_fields_are_both_found_each_with_its_own_message() -> None:
    bad = {"queueID": "The queue is closed.", "description": "Description is locked."}
    server = Server(bad)
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal(*bad.values()))
    assert split.refused == bad
    assert set(server.landed) == set(FIELDS) - set(bad)


async def test_the_extra_calls_are_bounded_and_the_rest_is_parked_together() -> None:
    message = "This ticket is locked."  # every field refused: the record itself is the problem
    server = Server({name: message for name in FIELDS})
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal(message), budget=3)
    assert len(server.calls) == 3 and split.calls == 3
    assert split.refused == {name: message for name in FIELDS} and not split.sent


async def test_a_failure_that_is_not_a_refusal_keeps_what_was_not_tried() -> None:
    message = "The resource 7 does not exist or is inactive."
    server = Server({"assignedResourceID": message}, broken_after=1)
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal(message))
    assert split.error is not None and split.error.category.value == "transient_server"
    assert set(split.sent) | set(split.unsent) | set(split.refused) == set(FIELDS)
    assert split.sent == server.landed
    assert not set(split.sent) & set(split.unsent)


async def test_parts_accepted_one_by_one_all_count_as_sent() -> None:
    """The whole was refused, yet each half is accepted (the server changed in between, or a
    rule about the combination): everything went, nothing is left to park."""
    server = Server({})
    split = await send_in_parts("Tickets", FIELDS, server.send, refusal("Try another way."))
    assert split.sent == FIELDS and not split.refused and split.error is None
    assert server.landed == FIELDS
