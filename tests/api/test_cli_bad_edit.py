"""The reproduction through the real command line, against the demo tenant (the simulator the CLI
starts itself; its records are saved beside the profile between runs, which is what is counted):
a bad assignee after a good title is refused with one line and exit status 2, and the title
reaches the server; a refusal the cache could not foresee parks only the refused field, with
the server's reason in `queue list`. The command line's `main` runs in this process, as it would
in a child (`tests.core.cli_inproc`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.core.cli_inproc import cli


def tenant_file(data: Path) -> Path:
    return data / "profiles" / "demo" / "demo-tenant.json"


def tenant(data: Path) -> dict[str, Any]:
    return dict(json.loads(tenant_file(data).read_text())["records"])


def one_row(data: Path, sql: str) -> tuple[Any, ...]:
    """Straight from the profile's database file."""
    conn = sqlite3.connect(data / "profiles" / "demo" / "agent.sqlite3")
    try:
        return tuple(conn.execute(sql).fetchone())
    finally:
        conn.close()


@pytest.mark.socket
@pytest.mark.slow
def test_a_bad_assignee_is_refused_and_a_late_refusal_parks_only_its_field(
    tmp_path: Path,
) -> None:
    assert cli(tmp_path, "sync").code == 0
    tid = str(
        one_row(tmp_path, "SELECT min(entity_id) FROM cached_entity WHERE entity_type='Tickets'")[0]
    )
    assert "1" not in tenant(tmp_path)["Resources"]

    assert cli(tmp_path, "edit", "ticket", tid, "--title", "Fixed on site").code == 0
    refused = cli(tmp_path, "edit", "ticket", tid, "--assign", "1", "1")
    assert refused.code == 2
    assert refused.out == ""
    assert refused.err.splitlines() == [
        "error: assignedResourceID: resource 1 does not exist in Autotask or is inactive"
    ]
    assert one_row(tmp_path, "SELECT count(*), min(state) FROM outbox_op") == (1, "pending")

    assert cli(tmp_path, "sync").code == 0
    assert tenant(tmp_path)["Tickets"][tid]["title"] == "Fixed on site"

    # A valid assignee who leaves the company before the next sync: the server refuses it.
    records = tenant(tmp_path)
    before = records["Tickets"][tid]
    me = str(before["assignedResourceID"])
    other, role = next(
        (r["resourceID"], r["roleID"])
        for r in records["ResourceRoles"].values()
        if str(r["resourceID"]) != me and r["isActive"]
    )
    assert cli(tmp_path, "edit", "ticket", tid, "--assign", str(other), str(role)).code == 0
    assert cli(tmp_path, "edit", "ticket", tid, "--description", "Went anyway").code == 0
    saved = json.loads(tenant_file(tmp_path).read_text())
    saved["records"]["Resources"][str(other)]["isActive"] = False
    tenant_file(tmp_path).write_text(json.dumps(saved))

    cli(tmp_path, "sync")  # exit status 1 or 0: the sync ran, one field was refused

    after = tenant(tmp_path)["Tickets"][tid]
    assert after["description"] == "Went anyway"
    assert after["assignedResourceID"] == before["assignedResourceID"]
    parked = cli(tmp_path, "queue", "list", "--state", "parked").out
    assert "1 operation(s)" in parked
    assert "Assigned to → " in parked and "Description" not in parked
    assert (
        "[Autotask refused the change: assignedResourceID, assignedResourceRoleID: "
        f"The resource {other} does not exist or is inactive.]"
    ) in parked
    assert "Checking whether" not in parked
