"""Form rows that show a field's pending state and its validation message inline, and combo helpers.

Each editable field is a `FormField`: a label that turns italic with a "pending" chip while the
value waits to be sent, the editor, and a red line under it for what the agent refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.pages.common import chip, field_error, show_error

COMBO_CHARS = 8  # a choice list is at least this many characters wide, and grows with the form


class FormField:
    """One labelled editor with a pending chip and an inline error."""

    def __init__(self, label: str, editor: QWidget, *, names: tuple[str, ...] = ()) -> None:
        self.names = names  # the wire fields whose problems land on this row
        self.label_box = QWidget()  # the chip under the label: the label column stays narrow
        row = QVBoxLayout(self.label_box)
        row.setContentsMargins(0, 4, 0, 0)
        row.setSpacing(3)
        self.label = QLabel(label)
        self.chip = chip("pending", "pending")
        self.chip.setVisible(False)
        row.addWidget(self.label)
        row.addWidget(self.chip, 0, Qt.AlignmentFlag.AlignLeft)
        self.editor = editor
        for combo in [editor, *editor.findChildren(QComboBox)]:
            if isinstance(combo, QComboBox):  # a long name elides rather than widening the form
                combo.setSizeAdjustPolicy(
                    QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
                )
                combo.setMinimumContentsLength(COMBO_CHARS)
        self.field_box = QWidget()
        col = QVBoxLayout(self.field_box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(editor)
        self.error = field_error()
        col.addWidget(self.error)

    def set_pending(self, pending: bool, tooltip: str = "") -> None:
        font = self.label.font()
        font.setItalic(pending)
        self.label.setFont(font)
        self.chip.setVisible(pending)
        self.chip.setToolTip(tooltip)
        self.label.setToolTip(tooltip if pending else "")

    def set_error(self, message: str | None) -> None:
        show_error(self.error, message)
        self.editor.setProperty("invalid", bool(message))
        self.editor.setStyleSheet("border: 1px solid #b91c1c;" if message else "")


class ScrollingTab(QScrollArea):
    """A tab of the ticket's page that scrolls rather than squeezes when the page is short (a
    laptop at 150 %): its `body` is never made smaller than its layout's minimum, so a form's
    labels and fields keep their height and never overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        self.setWidget(self.body)


class Form(QWidget):
    """A two-column grid of `FormField`s; labels on the left, aligned to the editor's top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(16)
        self.grid.setVerticalSpacing(6)
        self.grid.setColumnStretch(1, 1)
        self.fields: list[FormField] = []

    def add(self, field: FormField) -> FormField:
        row = len(self.fields)
        self.grid.addWidget(field.label_box, row, 0, Qt.AlignmentFlag.AlignTop)
        self.grid.addWidget(field.field_box, row, 1)
        self.fields.append(field)
        return field

    def show_problems(self, problems: list[Any]) -> list[str]:
        """Put each problem next to its field; return the messages no field claimed."""
        for f in self.fields:
            f.set_error(None)
        unclaimed: list[str] = []
        for p in problems:
            owner = next((f for f in self.fields if p.field in f.names), None)
            if owner is None:
                unclaimed.append(f"{p.field}: {p.message}")
                continue
            text = owner.error.text()
            message = _sentence(owner.label.text(), p.message)
            owner.set_error(f"{text}\n{message}" if text else message)
        return unclaimed

    def clear_problems(self) -> None:
        for f in self.fields:
            f.set_error(None)


def _sentence(label: str, message: str) -> str:
    """ "is required" reads as "Title is required"; a full sentence stays as it is."""
    first = message.split(" ", 1)[0]
    if first in ("is", "must", "an", "a", "cannot") or message[:1].isdigit():
        return f"{label} {message}"
    return message[:1].upper() + message[1:]


def fill_combo(
    combo: QComboBox, options: Mapping[int, str], current: Any, *, none_text: str | None = None
) -> None:
    """Fill a combo with `value -> label` (sorted by label), selecting `current`."""
    combo.blockSignals(True)
    combo.clear()
    if none_text is not None:
        combo.addItem(none_text, None)
    for value, label in sorted(options.items(), key=lambda kv: kv[1].lower()):
        combo.addItem(label, value)
    if current is not None and combo.findData(current) < 0:
        combo.addItem(f"{current} (not in this tenant's list)", current)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)


def combo_value(combo: QComboBox) -> Any:
    return combo.currentData()


def select_value(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def qdatetime(seconds: float) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(seconds))
