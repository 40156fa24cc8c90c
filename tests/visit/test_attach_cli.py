"""`edit attach` and `ticket files` on the command line against the demo tenant, counted on its
own records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from tests.visit.test_timer_cli import demo_ticket, one_line, run


def tenant_files(data: Path) -> dict[int, dict]:
    saved = json.loads((data / "profiles" / "demo" / "demo-tenant.json").read_text())
    return {int(k): v for k, v in saved["records"].get("TicketAttachments", {}).items()}


@pytest.mark.socket
def test_a_file_attached_from_the_command_line_is_uploaded_once_by_sync(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    ticket = demo_ticket(data)
    photo = tmp_path / "panel.jpg"
    content = b"\xff\xd8\xff\xe0" + os.urandom(50_000)
    photo.write_bytes(content)
    before = set(tenant_files(data))
    code, out, err = run(
        capsys, data, "edit", "attach", str(ticket), str(photo), "--title", "Panel"
    )
    assert code == 0 and "queued as operation" in out, err
    code, out, _ = run(capsys, data, "ticket", "files", str(ticket))
    assert code == 0 and "Panel (panel.jpg" in out and out.rstrip().endswith("queued")
    assert run(capsys, data, "sync")[0] == 0
    new = [r for i, r in tenant_files(data).items() if i not in before]
    assert len(new) == 1 and new[0]["title"] == "Panel" and new[0]["parentID"] == ticket
    (listed,) = json.loads(run(capsys, data, "ticket", "files", str(ticket), "--json")[1])
    assert listed["state"] == "sent" and listed["server_id"] in tenant_files(data)
    assert run(capsys, data, "sync")[0] == 0
    assert len(tenant_files(data)) == len(before) + 1

    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(MAX_ATTACHMENT_BYTES))
    assert "at most" in one_line(run(capsys, data, "edit", "attach", str(ticket), str(big)))
    missing = one_line(run(capsys, data, "edit", "attach", str(ticket), str(tmp_path / "no")))
    assert "cannot be read" in missing
    small = tmp_path / "small.txt"
    small.write_bytes(b"a few bytes")
    titled = run(capsys, data, "edit", "attach", str(ticket), str(small), "--title", "t" * 300)
    assert "title" in one_line(titled) and "at most 255" in one_line(titled)


def log_text(data: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in data.rglob("*.log*") if p.is_file())


@pytest.mark.socket
def test_a_refused_file_is_named_on_screen_never_in_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    ticket = demo_ticket(data)
    big = tmp_path / "plus1.bin"
    big.write_bytes(os.urandom(MAX_ATTACHMENT_BYTES + 1))
    titled = tmp_path / "titled.txt"
    titled.write_bytes(b"a few bytes")
    assert "plus1.bin" in one_line(run(capsys, data, "edit", "attach", str(ticket), str(big)))
    refused = run(capsys, data, "edit", "attach", str(ticket), str(titled), "--title", "T" * 300)
    assert "title" in one_line(refused)
    logged = log_text(data)
    assert "command refused" in logged  # the refusals are logged, without what was refused
    assert "plus1.bin" not in logged and "titled.txt" not in logged and "T" * 255 not in logged
