"""The demo tenant's memory: the embedded simulator's records are saved beside the demo profile
when the agent closes and restored when it opens, so the demo server and the demo profile's cache
and queue always describe the same tenant across runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from agent.security.permissions import private_text_file

log = logging.getLogger(__name__)
FILE = "demo-tenant.json"


def restore(tenant: Any, folder: Path) -> bool:
    path = folder / FILE
    if not path.exists():
        return False
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        records = {
            route: {int(k): v for k, v in table.items()}
            for route, table in saved["records"].items()
        }
        next_ids = {route: int(v) for route, v in saved["next_ids"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("the saved demo tenant could not be read (%s); starting afresh", exc)
        return False
    for route, table in records.items():
        if route in tenant.records:
            tenant.records[route] = table
    tenant.next_ids.update(next_ids)
    return True


def save(tenant: Any, folder: Path) -> None:
    """Save the tenant; a folder that cannot take it (read-only, full) is logged, never raised:
    it runs as the demo closes, often while another error (the real one) is being reported."""
    data = {"records": tenant.dump(), "next_ids": dict(tenant.next_ids)}
    try:  # readable by the user only: it holds what was typed in the demo (notes, times)
        with private_text_file(folder / FILE) as fh:
            fh.write(json.dumps(data, separators=(",", ":")))
    except OSError as exc:
        log.warning("the demo tenant could not be saved in %s (%s)", folder, exc.strerror or exc)
