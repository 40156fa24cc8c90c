"""`today`, `ticket checklist`, `edit checklist` and `edit servicecall` on the command line,
against the demo tenant, counted on the demo tenant's own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.visit.test_timer_cli import one_line, run


def tenant_records(data: Path, route: str) -> dict[int, dict]:
    saved = json.loads((data / "profiles" / "demo" / "demo-tenant.json").read_text())
    return {int(k): v for k, v in saved["records"][route].items()}


@pytest.mark.socket
def test_today_and_a_visits_edits_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(capsys, data, "sync")[0] == 0
    code, out, err = run(capsys, data, "today", "--days", "14", "--json")
    assert code == 0, err
    entries = json.loads(out)
    calls = [e for e in entries if e["kind"] == "service_call"]
    assert calls and all(e["tickets"] for e in calls)
    code, out, _ = run(capsys, data, "today", "--days", "14")
    assert code == 0 and f"service call #{calls[0]['id']}" in out
    assert "days" in one_line(run(capsys, data, "today", "--days", "30"))

    call = calls[0]
    code, out, err = run(capsys, data, "edit", "servicecall", str(call["id"]), "--complete")
    assert code == 0 and "queued as operation" in out, err
    code, out, _ = run(capsys, data, "today", "--days", "14")
    assert "complete, waiting to be sent" in out

    ticket = call["tickets"][0]["id"]
    items = {
        i: r
        for i, r in tenant_records(data, "TicketChecklistItems").items()
        if r["ticketID"] == ticket
    }
    item = min(i for i, r in items.items() if not r["isCompleted"])
    code, out, _ = run(capsys, data, "ticket", "checklist", str(ticket))
    assert code == 0 and f"[ ] #{item} {items[item]['itemName']}" in out
    code, out, err = run(capsys, data, "edit", "checklist", str(ticket), str(item), "--done")
    assert code == 0 and "queued as operation" in out, err
    code, out, _ = run(capsys, data, "ticket", "checklist", str(ticket), "--json")
    listed = {line["id"]: line for line in json.loads(out)}
    assert listed[item]["done"] and listed[item]["pending"]
    refused = one_line(run(capsys, data, "edit", "checklist", str(ticket + 1), str(item), "--done"))
    assert "checklist item" in refused

    assert run(capsys, data, "sync")[0] == 0
    assert tenant_records(data, "ServiceCalls")[call["id"]]["isComplete"] == 1
    assert tenant_records(data, "TicketChecklistItems")[item]["isCompleted"] is True
    code, out, _ = run(capsys, data, "edit", "checklist", str(ticket), str(item), "--done")
    assert code == 0 and "nothing changed" in out
