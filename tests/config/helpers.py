"""Writing policies where a test's `PolicySources` look for them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agent.config import sources

SECRET = "Adm1n-S3cret-for-the-team"
CODE = "TEAMCODE-7731"
REDIS_PASSWORD = "r3dis-Pa55word"

FULL: dict[str, Any] = {
    "directory": "https://directory.office.example/ATServicesRest/",
    "api_user": "fieldsync-api@office.example",
    "api_secret": SECRET,
    "integration_code": CODE,
    "quota_share": 0.25,
    "sync_interval_s": 300,
    "encryption_required": True,
    "redis_url": f"rediss://fleet:{REDIS_PASSWORD}@redis.office.example:6380/0",
}


def write_policy(path: Path, values: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(values), indent=2), encoding="utf-8")
    return path


def use_policy(
    monkeypatch: pytest.MonkeyPatch,
    files: list[Path],
    registry: sources.RegistryReader | None = None,
    plist: Path | None = None,
) -> sources.PolicySources:
    """Make `files` (and a registry, a managed plist) this computer's policy sources."""
    chosen = sources.PolicySources(files=tuple(files), registry=registry, managed_plist=plist)
    monkeypatch.setattr(sources, "default_sources", lambda: chosen)
    return chosen
