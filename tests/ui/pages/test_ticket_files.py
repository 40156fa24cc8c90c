"""The ticket's Files tab: a pasted screenshot and a dropped file are attached offline and show
queued, then sent after the sync; a photo too large is made smaller with the technician's yes."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.pages.ticket_files import downscaled, image_bytes


def texts(page) -> list[str]:
    files = page.panel.files
    return [files.list.item(i).text() for i in range(files.list.count())]


def server_files(desk: Desk) -> list[dict]:
    return list(desk.sim.dump().get("TicketAttachments", {}).values())


def test_paste_and_drop_attach_files_shown_queued_then_sent(
    synced: Desk, qtbot: QtBot, tmp_path: Path
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    synced.run(synced.agent.set_work_offline(True))
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("orange"))
    QGuiApplication.clipboard().setImage(picture)
    page.panel.files.paste()
    synced.settle(lambda: len(texts(page)) == 1)
    assert "screenshot.png" in texts(page)[0] and texts(page)[0].endswith("queued")

    dropped = tmp_path / "wiring.pdf"
    dropped.write_bytes(b"%PDF-1.4 " + os.urandom(2000))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.panel.dropEvent(event)
    synced.settle(lambda: len(texts(page)) == 2)
    assert any("wiring.pdf" in t for t in texts(page))
    assert page.panel.tabs.currentWidget() is page.panel.files
    assert not server_files(synced)

    synced.run(synced.agent.set_work_offline(False))
    synced.run(synced.agent.sync_now())
    engine = synced.agent.engine
    assert engine is not None and engine.pusher.uploads is not None
    synced.run(engine.pusher.uploads.drain())
    page.panel.files.refresh()
    synced.settle(lambda: all(t.endswith("sent") for t in texts(page)))
    stored = server_files(synced)
    assert sorted(r["fullPath"] for r in stored) == ["screenshot.png", "wiring.pdf"]


def test_a_photo_too_large_is_made_smaller_when_the_technician_agrees(
    synced: Desk, qtbot: QtBot, tmp_path: Path, monkeypatch
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    rng = os.urandom(2600 * 2000 * 4)
    noise = QImage(rng, 2600, 2000, QImage.Format.Format_RGB32).copy()
    big = image_bytes(noise, "PNG")
    assert len(big) > MAX_ATTACHMENT_BYTES
    photo = tmp_path / "panel.png"
    photo.write_bytes(big)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.panel.files.attach_path(str(photo))
    synced.settle(lambda: len(texts(page)) == 1, timeout=60)
    (view,) = synced.run(synced.agent.attachments(ticket))
    assert view.name == "panel.png" and view.size <= MAX_ATTACHMENT_BYTES
    assert QImage.fromData(downscaled(big, "png") or b"").width() < 2600


def test_a_refused_file_is_shown_and_nothing_naming_it_is_logged(
    synced: Desk, qtbot: QtBot, tmp_path: Path, monkeypatch, caplog
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    photo = tmp_path / "huge_photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(MAX_ATTACHMENT_BYTES))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    caplog.set_level(logging.DEBUG)
    files = page.panel.files
    files.attach_path(str(photo))
    synced.settle(lambda: not files.error.isHidden())
    assert "huge_photo.jpg" in files.error.text()
    synced.settle(lambda: not synced.service._tasks)
    gc.collect()  # an exception nobody retrieved is logged when its task goes
    synced.run(asyncio.sleep(0.05))
    logged = [
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    ]
    assert not [m for m in logged if "huge_photo" in m or "never retrieved" in m], logged


def test_every_refusal_of_files_dropped_together_is_shown(
    synced: Desk, qtbot: QtBot, tmp_path: Path
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    mime = QMimeData()
    urls = []
    for name in ("first-empty.txt", "kept.txt", "second-empty.txt"):
        path = tmp_path / name
        path.write_bytes(b"kept" if name == "kept.txt" else b"")
        urls.append(QUrl.fromLocalFile(str(path)))
    mime.setUrls(urls)
    files = page.panel.files
    assert files.take(mime)
    synced.settle(lambda: len(texts(page)) == 1 and not synced.service._tasks)
    shown = files.error.text()
    assert "first-empty.txt" in shown and "second-empty.txt" in shown, shown
