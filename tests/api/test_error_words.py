"""A queue row waiting on a retryable failure reads in plain words, per failure category."""

from __future__ import annotations

import pytest

from agent.api import views
from agent.clock import FakeClock
from agent.queue import MemoryBackend
from agent.queue.operation import NewOperation
from agent.resilience.bulkhead import Kind
from agent.resilience.classify import ACTIONS, Action, Category
from agent.resilience.errors import USAGE_UNKNOWN_MESSAGE, refusal
from agent.store.models import OpKind, OpState

RAW = "HTTP 500: upload refused for this integration (bytes in window: 10000412)"
RETRIED = [c for c, a in ACTIONS.items() if a is not Action.PARK_NEEDS_ATTENTION]


def released(category: str, error: str = RAW) -> views.QueueItem:
    box = MemoryBackend(FakeClock())
    box.enqueue(
        NewOperation(
            OpKind.CREATE,
            "TicketAttachments",
            fields={"title": "photo.jpg", "parentId": 42},
            base={},
            temp_id="a1",
        )
    )
    [op] = box.claim("worker", 300.0)
    again = box.release(op.id, retry_at=60.0, error=error, category=category)
    assert again.state is OpState.PENDING
    return views.queue_item(again)


@pytest.mark.parametrize("category", RETRIED, ids=str)
def test_every_retried_category_reads_in_words_not_the_raw_error(category: Category) -> None:
    item = released(category.value)
    assert item.last_error == views.ERROR_WORDS[category.value]
    assert RAW not in (item.last_error or "")


def test_an_attachment_quota_wait_says_attachments_wait_and_other_work_goes_on() -> None:
    words = released("throttled_attachments").last_error
    assert words is not None
    assert "attachment" in words.lower() and "other changes go on" in words
    # Not the hourly-request wording: that limit holds back everything.
    assert words != views.ERROR_WORDS["throttled_quota"]


def test_a_wait_for_a_reading_that_answers_does_not_say_the_hour_is_used() -> None:
    refused = refusal(
        Category.THROTTLED_QUOTA,
        5.0,
        FakeClock().now(),
        "Tickets",
        Kind.WRITE,
        None,
        message=USAGE_UNKNOWN_MESSAGE,
    )
    words = released("throttled_quota", error=str(refused)).last_error
    assert words == USAGE_UNKNOWN_MESSAGE
    assert words != views.ERROR_WORDS["throttled_quota"]
