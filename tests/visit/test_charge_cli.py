"""`edit charge` and `ticket context|charges` on the command line, against the demo tenant,
counted on the demo tenant's own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.visit.test_timer_cli import one_line, run
from tests.visit.test_visit_cli import tenant_records


@pytest.mark.socket
def test_parts_and_context_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(capsys, data, "sync")[0] == 0
    code, out, err = run(capsys, data, "today", "--days", "14", "--json")
    ticket = json.loads(out)[0]["tickets"][0]["id"]
    before = {
        i for i, r in tenant_records(data, "TicketCharges").items() if r["ticketID"] == ticket
    }
    products = tenant_records(data, "Products")
    product = min(products)

    code, out, err = run(capsys, data, "ticket", "context", str(ticket))
    assert code == 0, err
    assert "contacts (" in out and "devices (" in out and "serial SN" in out
    code, out, err = run(capsys, data, "ticket", "context", str(ticket), "--json")
    assert code == 0 and json.loads(out)["contacts"], err

    code, out, err = run(
        capsys, data, "edit", "charge", str(ticket), "--product", str(product), "--quantity", "2"
    )
    assert code == 0 and "queued as operation" in out, err
    code, out, err = run(
        capsys,
        data,
        "edit",
        "charge",
        str(ticket),
        "--name",
        "Wall plug",
        "--quantity",
        "4",
        "--unit-price",
        "0.5",
        "--no-billable",
    )
    assert code == 0, err
    key = out.strip().rsplit("(", 1)[1].rstrip(")")
    assert key.startswith("~")
    code, out, err = run(capsys, data, "edit", "charge", "--edit", key, "--quantity", "6")
    assert code == 0 and "queued" in out, err
    code, out, _ = run(capsys, data, "ticket", "charges", str(ticket))
    assert "6 x Wall plug at 0.50 (not billable) [waiting to be sent]" in out

    assert "quantity" in one_line(run(capsys, data, "edit", "charge", str(ticket), "--name", "X"))
    assert "unitQuantity" in one_line(
        run(capsys, data, "edit", "charge", str(ticket), "--name", "X", "--quantity", "0")
    )
    assert "productID" in one_line(
        run(capsys, data, "edit", "charge", str(ticket), "--product", "999999", "--quantity", "1")
    )

    assert run(capsys, data, "sync")[0] == 0
    new = {
        i: r
        for i, r in tenant_records(data, "TicketCharges").items()
        if r["ticketID"] == ticket and i not in before
    }
    assert sorted((r["name"], r["unitQuantity"]) for r in new.values()) == sorted(
        [(products[product]["name"], 2.0), ("Wall plug", 6.0)]
    )
    plug = next(i for i, r in new.items() if r["name"] == "Wall plug")
    code, out, err = run(capsys, data, "edit", "charge", "--delete", str(plug))
    assert code == 0, err
    assert run(capsys, data, "sync")[0] == 0
    assert plug not in tenant_records(data, "TicketCharges")
