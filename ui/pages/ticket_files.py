"""The Files tab of a ticket's page: photos and files attached offline (a file picker, a file
dropped on the ticket's page, a pasted screenshot), each with how far its upload is: queued,
uploading, sent.

A photo over the API's limit per file is offered to be made smaller. That is done here with
Qt's `QImage` (already the window's toolkit, so no new dependency such as Pillow; the agent
itself never changes a file it was given): the picture is scaled down in steps, a JPEG saved
at quality 85, until it fits.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import UploadProgress
from agent.autotask.attachments import MAX_ATTACHMENT_BYTES
from agent.visit.attachments import AttachmentTooLarge, AttachmentView, UploadState
from ui import wording
from ui.pages.common import show_error
from ui.pages.forms import ScrollingTab

if TYPE_CHECKING:
    from ui.pages.ticket import TicketPanel

FILE_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_WORDS = {
    UploadState.QUEUED: "queued",
    UploadState.UPLOADING: "uploading…",
    UploadState.SENT: "sent",
    UploadState.NEEDS_ATTENTION: "needs attention",
    UploadState.DISCARDED: "discarded",
}


def file_text(view: AttachmentView) -> str:
    size = wording.size_words(view.size)
    if view.state is UploadState.UPLOADING and view.progress is not None:
        return (
            f"{view.title} ({view.name}, {size}) — uploading: {wording.upload_words(view.progress)}"
        )
    text = f"{view.title} ({view.name}, {size}) — {STATE_WORDS[view.state]}"
    if view.detail and view.state is not UploadState.SENT:
        text += f": {view.detail}"
    return text


def downscaled(data: bytes, kind: str, limit: int = MAX_ATTACHMENT_BYTES) -> bytes | None:
    """The photo made small enough to attach (same format), or None when it cannot be read."""
    image = QImage.fromData(data)
    if image.isNull():
        return None
    fmt = "JPG" if kind == "jpeg" else "PNG"
    scale = min(0.9, math.sqrt(limit / max(len(data), 1)))
    for _ in range(12):
        smaller = image.scaled(
            max(1, int(image.width() * scale)),
            max(1, int(image.height() * scale)),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        out = image_bytes(smaller, fmt)
        if len(out) <= limit:
            return out
        scale *= 0.8
    return None


def image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, fmt, 85 if fmt == "JPG" else -1)
    buffer.close()
    return bytes(array.data())


class FilesTab(ScrollingTab):
    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.ticket_id: int | None = None
        self.views: list[AttachmentView] = []
        self._refusals: list[str] = []  # of the files attached together last
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.list = QListWidget()
        self.list.setAccessibleName("Attached files")
        self.list.setWordWrap(True)  # a long title and its upload's words wrap, never scroll
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The upload under way, as a bar under the list (its words are on the file's line).
        self.upload_row = QWidget()
        upload = QHBoxLayout(self.upload_row)
        upload.setContentsMargins(0, 0, 0, 0)
        self.upload_label = QLabel(objectName="muted")
        self.upload_bar = QProgressBar()
        self.upload_bar.setRange(0, 100)
        self.upload_bar.setFormat("%p %")
        self.upload_bar.setAccessibleName("Upload progress")
        upload.addWidget(self.upload_label)
        upload.addWidget(self.upload_bar, 1)
        self.upload_row.setVisible(False)
        self.list.setMinimumHeight(120)  # a few files, however short the page
        self.empty = QLabel(
            "No files attached here. Attach a file, drop one on this page or paste a "
            "screenshot (Ctrl+V).",
            objectName="muted",
        )
        self.empty.setWordWrap(True)
        self.error = QLabel(objectName="fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        row = QHBoxLayout()
        self.attach_button = QPushButton("Attach file…")
        self.attach_button.clicked.connect(self._pick)
        self.paste_button = QPushButton("Paste screenshot")
        self.paste_button.clicked.connect(self.paste)
        row.addWidget(self.attach_button)
        row.addWidget(self.paste_button)
        row.addStretch(1)
        box.addWidget(self.list, 1)
        box.addWidget(self.upload_row)
        box.addWidget(self.empty)
        box.addWidget(self.error)
        box.addLayout(row)
        self.paste_shortcut = QShortcut(QKeySequence.StandardKey.Paste, self)
        self.paste_shortcut.activated.connect(self.paste)
        panel.service.queueChanged.connect(self.refresh)
        panel.service.uploadProgress.connect(self.upload_moved)

    # -- showing -------------------------------------------------------------------------
    def show_ticket(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        self.refresh()

    def refresh(self) -> None:
        ticket_id = self.ticket_id
        if ticket_id is None:
            return
        service = self.panel.service
        service.run(service.agent.attachments(ticket_id), lambda got: self._show(ticket_id, got))

    def _show(self, ticket_id: int, views: list[AttachmentView]) -> None:
        if ticket_id != self.ticket_id:
            return
        self.views = views
        self.list.clear()
        for view in views:
            item = QListWidgetItem(file_text(view))
            item.setData(FILE_ROLE, view.id)
            self.list.addItem(item)
        self.empty.setVisible(not views)
        self.panel.tabs.setTabText(self.panel.tabs.indexOf(self), f"Files ({len(views)})")
        self._show_upload()

    def _show_upload(self) -> None:
        """The bar follows the first file of this ticket whose bytes are leaving."""
        progress = next((v.progress for v in self.views if v.progress is not None), None)
        self.upload_row.setVisible(progress is not None)
        if progress is not None:
            self.upload_label.setText(f"Uploading {progress.name}")
            self.upload_bar.setValue(progress.percent)
            self.upload_bar.setToolTip(wording.upload_words(progress))

    def upload_moved(self, progress: UploadProgress | None) -> None:
        """A file of this ticket uploads: its line follows, without reading the store again
        (its end brings a queue change, and with it the file's new state)."""
        if progress is None or progress.ticket_id != self.ticket_id or progress.ended:
            return
        for row, view in enumerate(self.views):
            if view.op_id == progress.op_id:
                view = dataclasses.replace(view, state=UploadState.UPLOADING, progress=progress)
                self.views[row] = view
                item = self.list.item(row)
                if item is not None:
                    item.setText(file_text(view))
                self._show_upload()
                return

    # -- attaching -----------------------------------------------------------------------
    def _pick(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files to the ticket")
        if paths:
            self.attach_paths(paths)

    def attach_paths(self, paths: list[str]) -> None:
        """Attach each file; every one refused is said (a line each), not only the last."""
        self._refusals = []
        show_error(self.error, None)
        for path in paths:
            self._attach_path(path)

    def attach_path(self, path: str) -> None:
        self.attach_paths([path])

    def _attach_path(self, path: str) -> None:
        if self.ticket_id is None:
            return
        service = self.panel.service
        service.run(
            service.agent.attach_file(self.ticket_id, path),
            lambda _: self._attached(),
            lambda exc: self._refused(exc, path),
        )

    def attach_data(self, name: str, data: bytes) -> None:
        self._refusals = []
        show_error(self.error, None)
        self._attach_data(name, data)

    def _attach_data(self, name: str, data: bytes) -> None:
        if self.ticket_id is None:
            return
        service = self.panel.service
        service.run(
            service.agent.attach_data(self.ticket_id, name, data),
            lambda _: self._attached(),
            lambda exc: self._refuse(str(exc)),
        )

    def _refuse(self, message: str) -> None:
        self._refusals.append(message)
        show_error(self.error, "\n".join(self._refusals))

    def paste(self) -> None:
        """Attach the clipboard's image as a PNG (a screenshot), else its files."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and self.take(mime):
            return
        show_error(self.error, "The clipboard holds no picture or file to attach.")

    def take(self, mime: QMimeData) -> bool:
        """Attach what `mime` carries (dropped or pasted); False when it carries nothing."""
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            self.attach_paths(files)
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.attach_data("screenshot.png", image_bytes(image))
                return True
        return False

    def _attached(self) -> None:
        self.captured.emit()
        self.refresh()

    def _refused(self, exc: BaseException, path: str) -> None:
        if not isinstance(exc, AttachmentTooLarge) or exc.photo is None:
            self._refuse(str(exc))
            return
        asked = QMessageBox.question(
            self,
            "Photo too large",
            f"{exc.problems[0].message}\n\nAttach a smaller copy of the photo?",
        )
        if asked != QMessageBox.StandardButton.Yes:
            self._refuse(str(exc))
            return
        self.attach_smaller(path, exc.name, exc.photo)

    def attach_smaller(self, path: str, name: str, kind: str) -> None:
        with open(path, "rb") as source:
            smaller = downscaled(source.read(), kind)
        if smaller is None:
            self._refuse(f"{name} could not be made small enough to attach.")
            return
        self._attach_data(name, smaller)
