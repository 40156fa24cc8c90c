"""Classification table: every failure maps to the right category and action."""

from __future__ import annotations

import httpx
import pytest

from agent.autotask import errors as at
from agent.resilience.classify import ACTIONS, MESSAGES, Action, Category, classify

REQ = httpx.Request("POST", "https://webservices1.autotask.net/ATServicesRest/V1.0/Tickets")


def status_error(status: int, body: object | None = None, headers: dict[str, str] | None = None):
    response = httpx.Response(status, json=body, headers=headers, request=REQ)
    return httpx.HTTPStatusError("failed", request=REQ, response=response)


@pytest.mark.parametrize(
    ("error", "category", "action"),
    [
        (at.WrongSecretError("no", status=401), Category.AUTHENTICATION, "pause_for_credentials"),
        (at.UnknownUserError("no", status=500), Category.AUTHENTICATION, "pause_for_credentials"),
        (at.InvalidIntegrationCodeError("x"), Category.AUTHENTICATION, "pause_for_credentials"),
        (at.PermissionDeniedError("no", status=403), Category.PERMISSION, "park_needs_attention"),
        (at.NotFoundError("gone", status=404), Category.NOT_FOUND, "park_needs_attention"),
        (at.ValidationError("bad", status=500), Category.VALIDATION, "park_needs_attention"),
        (at.RateLimitedError("q", status=429), Category.THROTTLED_QUOTA, "slow_down"),
        (at.ThreadLimitedError("t", status=429), Category.THROTTLED_THREADS, "slow_down"),
        (at.ServerError("down", status=503), Category.TRANSIENT_SERVER, "retry_with_backoff"),
        (at.NetworkError("reset"), Category.TRANSIENT_NETWORK, "retry_with_backoff"),
        (
            at.RequestTimeoutError("t", phase="connect"),
            Category.TRANSIENT_NETWORK,
            "retry_with_backoff",
        ),
        (at.ZoneMovedError("moved"), Category.TRANSIENT_NETWORK, "retry_with_backoff"),
        (at.ProtocolError("html", status=200), Category.PROTOCOL, "retry_with_backoff"),
        (at.ProtocolError("no", status=405), Category.PROTOCOL, "park_needs_attention"),
        (RuntimeError("boom"), Category.UNKNOWN, "park_needs_attention"),
    ],
)
def test_typed_errors_map_to_their_category_and_action(error, category, action):
    found = classify(error)
    assert found.category is category
    assert found.action == action


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (status_error(401), Category.AUTHENTICATION),
        (status_error(500, {"errors": ["IntegrationCode is invalid"]}), Category.AUTHENTICATION),
        (status_error(403), Category.PERMISSION),
        (status_error(404), Category.NOT_FOUND),
        (status_error(405, {"Message": "does not support http method 'PATCH'"}), Category.PROTOCOL),
        (status_error(429, {"errors": ["Thread Threshold Exceeded"]}), Category.THROTTLED_THREADS),
        (status_error(429), Category.THROTTLED_QUOTA),
        (status_error(500), Category.TRANSIENT_SERVER),
        (
            status_error(500, {"errors": ["An unexpected error has occurred"]}),
            Category.TRANSIENT_SERVER,
        ),
        (status_error(503), Category.TRANSIENT_SERVER),
        (httpx.ConnectError("refused", request=REQ), Category.TRANSIENT_NETWORK),
        (httpx.ReadTimeout("slow", request=REQ), Category.TRANSIENT_NETWORK),
    ],
)
def test_plain_httpx_failures_are_classified_by_status_message_and_type(error, category):
    assert classify(error).category is category


def test_a_500_carrying_a_business_rule_is_validation_and_never_retried():
    rule = (
        "When assigning a Resource, you must assign both a assignedResourceID and "
        "assignedResourceRoleID."
    )
    found = classify(status_error(500, {"errors": [rule]}), is_write=True)
    assert found.category is Category.VALIDATION
    assert found.action is Action.PARK_NEEDS_ATTENTION
    assert not found.retryable
    assert rule in found.message


def test_validation_message_carries_the_servers_text_from_typed_error():
    error = at.ValidationError("refused", status=500, messages=["Title is required."])
    assert "Title is required." in classify(error).message


def test_a_write_whose_answer_was_lost_is_reconciled_not_retried():
    lost = at.RequestTimeoutError(
        "read timed out", phase="read", is_write=True, may_have_reached_server=True
    )
    found = classify(lost)
    assert found.category is Category.TRANSIENT_NETWORK
    assert found.action is Action.RECONCILE
    assert not found.retryable


def test_a_bare_500_on_a_plain_httpx_write_is_reconciled():
    assert classify(status_error(500), is_write=True).action is Action.RECONCILE
    assert (
        classify(httpx.ReadTimeout("slow", request=REQ), is_write=True).action is Action.RECONCILE
    )
    # a connect failure never reached the server: plain retry is safe
    refused = httpx.ConnectError("refused", request=REQ)
    assert classify(refused, is_write=True).action is Action.RETRY_WITH_BACKOFF


def test_a_read_timeout_on_a_read_is_retried():
    error = at.RequestTimeoutError("slow", phase="read", is_write=False)
    assert classify(error).action is Action.RETRY_WITH_BACKOFF


def test_retry_after_is_taken_from_the_error_or_the_header():
    assert classify(at.RateLimitedError("q", retry_after=12.0)).retry_after == 12.0
    assert classify(status_error(429, headers={"Retry-After": "7"})).retry_after == 7.0
    assert classify(status_error(429)).retry_after == 60.0


def test_every_category_has_an_action_and_a_plain_message():
    for category in Category:
        assert category in ACTIONS
        assert MESSAGES[category]
        assert "Exception" not in MESSAGES[category]


def test_a_refused_impersonation_is_parked_with_its_own_message_never_retried():
    error = at.ImpersonationRefusedError(
        "Autotask does not allow changes to ticket notes in your name (TicketNotes)",
        entity="TicketNotes",
        status=500,
        is_write=True,
    )
    found = classify(error)
    assert found.category is Category.PERMISSION
    assert found.action is Action.PARK_NEEDS_ATTENTION and not found.retryable
    assert found.message == error.message
