"""Building blocks every page shares: chips, headers, empty states, field errors, confirmations."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.models.look import ACCENT, ERROR, MUTED, chip_style
from ui.pages.elide import WordElideDelegate

PAGE_QSS = f"""
QLabel#pageTitle {{ font-size: 20px; font-weight: 600; }}
QLabel#pageSubtitle {{ color: {MUTED}; }}
QLabel#sectionTitle {{ font-size: 13px; font-weight: 600; }}
QLabel#fieldError {{ color: {ERROR}; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#emptyTitle {{ font-size: 15px; font-weight: 600; color: #374151; }}
QLabel#emptyText {{ color: {MUTED}; }}
QFrame#card {{ background: palette(base); border: 1px solid #e5e7eb; border-radius: 8px; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: none; border-radius: 5px;
    padding: 6px 14px; font-weight: 600; }}
QPushButton#primary:disabled {{ background: #93c5fd; }}
QPushButton#danger {{ color: {ERROR}; }}
QPushButton#danger:disabled {{ color: #9ca3af; }}
QTableView, QTreeView {{ selection-background-color: #dbeafe; selection-color: #111827; }}
"""


def chip(text: str, tone: str = "muted", parent: QWidget | None = None) -> QLabel:
    """A small rounded label (a "chip") coloured by tone."""
    label = QLabel(text, parent)
    label.setStyleSheet(chip_style(tone))
    label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return label


class PageHeader(QWidget):
    """A page's title line: title, one sentence under it, room for actions on the right."""

    def __init__(self, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 4)
        words = QVBoxLayout()
        words.setSpacing(2)
        self.title = QLabel(title, objectName="pageTitle")
        self.subtitle = QLabel(subtitle, objectName="pageSubtitle")
        self.subtitle.setWordWrap(True)
        words.addWidget(self.title)
        words.addWidget(self.subtitle)
        row.addLayout(words, 1)
        self.actions = QHBoxLayout()
        self.actions.setSpacing(8)
        row.addLayout(self.actions)

    def add_action(self, widget: QWidget) -> None:
        self.actions.addWidget(widget, 0, Qt.AlignmentFlag.AlignBottom)


class EmptyState(QWidget):
    """What a page shows instead of an empty table: what it means and what to do."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.addStretch(1)
        self.title = QLabel(title, objectName="emptyTitle")
        self.text = QLabel(text, objectName="emptyText")
        self.text.setWordWrap(True)
        for label in (self.title, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(label)
        box.addStretch(2)

    def set_words(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.text.setText(text)


def field_error(parent: QWidget | None = None) -> QLabel:
    """A red line under a form field; hidden while it has nothing to say."""
    label = QLabel(parent, objectName="fieldError")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def form_footer(
    box: QVBoxLayout, secondary: str, primary: str
) -> tuple[QLabel, QLabel, QPushButton, QPushButton]:
    """Below a form in `box`: a line for an error of no one field, then a note beside the
    `secondary` and `primary` buttons. Returns the error line, the note and the two buttons."""
    general_error = field_error()
    box.addWidget(general_error)
    buttons = QHBoxLayout()
    note = QLabel(objectName="muted")
    note.setWordWrap(True)
    buttons.addWidget(note, 1)
    second = QPushButton(secondary)
    first = QPushButton(primary, objectName="primary")
    buttons.addWidget(second)
    buttons.addWidget(first)
    box.addLayout(buttons)
    return general_error, note, second, first


def name_clear_button(box: QLineEdit) -> None:
    """The little "clear" button Qt puts in a search box (setClearButtonEnabled) has no name for
    a screen reader of its own: name it after its box."""
    name = box.accessibleName() or "The text"
    for button in box.findChildren(QToolButton):
        if not button.accessibleName():
            button.setAccessibleName(f"Clear {name[:1].lower()}{name[1:]}")


def show_error(label: QLabel, message: str | None) -> None:
    label.setText(message or "")
    label.setVisible(bool(message))


def ask(parent: QWidget, title: str, question: str, yes_text: str) -> bool:
    """A yes/no confirmation whose yes button says what it does (never a bare "OK")."""
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is yes


def list_table(
    model: QAbstractItemModel,
    *,
    stretch: int,
    widths: dict[int, int],
    row_height: int = 28,
    many: bool = False,
) -> QTableView:
    """A read-only table of whole-row selection, as every list page shows: no grid, alternating
    rows, uniform row height (so the view need not measure 100,000 rows), column `stretch`
    taking the spare width and the others sized by `widths`; `many` allows selecting many."""
    table = QTableView()
    table.setModel(model)
    table.horizontalHeader().setAccessibleName("Column headings")  # read out, not its values
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection
        if many
        else QAbstractItemView.SelectionMode.SingleSelection
    )
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(row_height)
    head = table.horizontalHeader()
    head.setHighlightSections(False)
    head.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    for col, width in widths.items():
        head.resizeSection(col, width)
    # The main column's long texts are cut after a whole word (the tooltip has them whole).
    table.setItemDelegateForColumn(stretch, WordElideDelegate(table))
    return table
