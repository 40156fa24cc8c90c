"""Shared test fixtures: offscreen Qt, an in-memory keyring, Redis reachability, fake clocks."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A served simulator (the demo, `python -m agent.simulator`) answers at once in tests.
os.environ.setdefault("FIELD_SYNC_SIM_SERVICE_TIME", "0")

from agent.clock import FakeClock

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Redis tests skip locally without a server but fail in CI, where one must run."""
    if redis_reachable() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="Redis is not reachable at 127.0.0.1:6379 (CI fails instead)")
    for item in items:
        if "redis" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data directory; the environment override points the agent at it."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("FIELD_SYNC_DATA_DIR", str(d))
    return d


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[None]:
    """Every test gets an empty in-process keyring; no test touches the real OS keyring."""
    import keyring

    from tests.keyring_backend import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_policy_of_this_computer(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the policy of the machine it runs on; tests of the policy set their own."""
    from agent.config import sources

    monkeypatch.setattr(sources, "default_sources", sources.PolicySources.none)
