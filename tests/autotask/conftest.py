"""Fixtures for the Autotask client tests: a scripted API behind httpx.MockTransport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent.autotask import AutotaskClient
from tests.autotask.mock_api import MockApi, make_client


@pytest.fixture
def api() -> MockApi:
    return MockApi()


@pytest.fixture
async def client(api: MockApi) -> AsyncIterator[AutotaskClient]:
    http, autotask = make_client(api)
    async with http:
        yield autotask
