"""The conflict-resolution dialog: for each field both sides changed, the value before, yours and
Autotask's side by side (labelled so which is which cannot be mistaken), a choice per field or for
all of them, and after applying, where the value not kept can be found again (the audit trail)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from agent.api.validation import EditRejected
from ui.dialogs.conflict_values import TEXT_FIELDS, ConflictContext, record_title
from ui.dialogs.diff import highlight, plain, removed
from ui.dialogs.fit import keep_on_screen
from ui.models.labels import entity_label, field_label
from ui.models.look import TONES, local_text
from ui.pages.common import PAGE_QSS, chip, field_error, show_error
from ui.pages.forms import fill_combo
from ui.service import AgentService

RECREATABLE = {"TimeEntries", "TicketNotes"}
BEFORE, MINE, THEIRS = "base", "mine", "theirs"


class FieldChoice(QFrame):
    """One conflicting field: three columns and the technician's choice."""

    chosen = Signal()

    def __init__(self, conflict: Any, context: ConflictContext) -> None:
        super().__init__(objectName="card")
        self.conflict = conflict
        self.context = context
        self.deleted = conflict.kind == "deleted"
        # Deleted on this laptop, changed in Autotask since: keep theirs or delete anyway.
        self.changed = conflict.kind == "changed"
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 12, 14, 12)
        box.setSpacing(8)
        title = (
            f"{entity_label(conflict.entity_type)} deleted in Autotask"
            if self.deleted
            else f"{entity_label(conflict.entity_type)} deleted here, changed in Autotask"
            if self.changed
            else field_label(conflict.field)
        )
        head = QHBoxLayout()
        head.addWidget(QLabel(title, objectName="sectionTitle"))
        head.addStretch(1)
        box.addLayout(head)
        if self.deleted:
            box.addWidget(self._deleted_words())
        elif self.changed:
            box.addWidget(self._changed_words())
        box.addLayout(self._columns())
        box.addLayout(self._choices())
        self.editor = self._merge_editor()
        if self.editor is not None:
            box.addWidget(self.editor)
        self.error = field_error()
        box.addWidget(self.error)

    # -- the three columns -----------------------------------------------------------------
    def _deleted_words(self) -> QLabel:
        c = self.conflict
        who = self.context.who(c.entity_type, c.entity_id)
        what = entity_label(c.entity_type).lower()
        words = QLabel(
            f"You changed this {what} on this laptop, but {who} deleted it in Autotask "
            f"before your change arrived. Accept the deletion, or "
            + (
                "create it again with your values."
                if c.entity_type in RECREATABLE
                else "keep it deleted (a deleted ticket cannot be recreated from Field Sync)."
            )
        )
        words.setWordWrap(True)
        return words

    def _changed_words(self) -> QLabel:
        c = self.conflict
        who = self.context.who(c.entity_type, c.entity_id)
        what = entity_label(c.entity_type).lower()
        words = QLabel(
            f"You deleted this {what} on this laptop, but {who} changed it in Autotask since "
            "you last saw it. Keep Autotask's version, or delete it anyway."
        )
        words.setWordWrap(True)
        return words

    def _columns(self) -> QGridLayout:
        c, ctx = self.conflict, self.context
        who = ctx.who(c.entity_type, c.entity_id)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        theirs_title = (
            f"Autotask now (deleted by {who})"
            if self.deleted
            else f"Autotask now (changed by {who})"
        )
        columns = [
            (BEFORE, "Before (when you edited)", c.base_read_at, "muted"),
            (MINE, "Yours (this laptop)", c.mine_at, "mine"),
            (THEIRS, theirs_title, c.theirs_read_at, "theirs"),
        ]
        base_text = self._text(c.base)
        self.cells: dict[str, QLabel] = {}
        for col, (key, heading, at, tone) in enumerate(columns):
            fg, bg = TONES[tone]
            label = QLabel(heading)
            label.setStyleSheet(f"font-weight: 600; color: {fg};")
            when = QLabel(f"as of {local_text(at)}" if at else "", objectName="muted")
            value = QLabel()
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            value.setMinimumWidth(200)
            border = "#d1d5db" if key == BEFORE else fg
            value.setStyleSheet(
                f"QLabel {{ background: {'#f9fafb' if key == BEFORE else bg};"
                f" border: 1px solid {border}; border-radius: 6px; padding: 8px; color: #111827; }}"
            )
            raw = {BEFORE: c.base, MINE: c.mine, THEIRS: c.theirs}[key]
            if (self.deleted and key == THEIRS) or (self.changed and key == MINE):
                value.setText("<i>Deleted</i>")
            elif key == BEFORE:
                value.setText(plain(base_text))
            else:
                mark = "#bfdbfe" if key == MINE else "#e9d5ff"
                text = self._text(raw)
                if c.field in TEXT_FIELDS or raw == c.base:
                    value.setText(highlight(base_text, text, mark))
                else:
                    value.setText(f'<span style="background:{mark};">{plain(text)}</span>')
                gone = removed(base_text, text) if c.field in TEXT_FIELDS else []
                if gone:
                    value.setToolTip("Removed: " + " · ".join(gone[:10]))
            grid.addWidget(label, 0, col)
            grid.addWidget(when, 1, col)
            grid.addWidget(value, 2, col)
            grid.setColumnStretch(col, 1)
            self.cells[key] = value
        return grid

    def _text(self, value: Any) -> str:
        c = self.conflict
        if (self.deleted or self.changed) and isinstance(value, dict):
            return self.context.label(c.entity_type, c.field, value) if value else "(nothing)"
        return self.context.label(c.entity_type, c.field, value)

    # -- the choice ------------------------------------------------------------------------
    def _choices(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(18)
        c = self.conflict
        self.group = QButtonGroup(self)
        if self.deleted:
            recreate = c.entity_type in RECREATABLE
            self.keep_mine = QRadioButton("Create it again with your values")
            self.keep_mine.setEnabled(recreate)
            self.keep_theirs = QRadioButton("Accept the deletion")
            self.merge = None
        elif self.changed:
            self.keep_mine = QRadioButton("Delete it anyway")
            self.keep_theirs = QRadioButton("Keep Autotask's version")
            self.merge = None
        else:
            self.keep_mine = QRadioButton("Keep yours")
            self.keep_theirs = QRadioButton("Keep Autotask's")
            self.merge = QRadioButton("Edit a merged value")
        for button in (self.keep_mine, self.keep_theirs, self.merge):
            if button is not None:
                self.group.addButton(button)
                row.addWidget(button)
                button.toggled.connect(self._toggled)
        row.addStretch(1)
        return row

    def _merge_editor(self) -> QWidget | None:
        if self.merge is None:
            return None
        c = self.conflict
        options = self.context.options(c.entity_type, c.field)
        editor: QWidget
        if options is not None:
            combo = QComboBox()
            fill_combo(combo, options, c.mine)
            editor = combo
        else:
            text = QPlainTextEdit()
            text.setPlainText("" if c.mine is None else str(c.mine))
            text.setFixedHeight(80 if c.field in TEXT_FIELDS else 36)
            editor = text
        editor.setVisible(False)
        return editor

    def _toggled(self) -> None:
        if self.editor is not None and self.merge is not None:
            self.editor.setVisible(self.merge.isChecked())
        self.chosen.emit()

    def choose(self, choice: str) -> None:
        if choice == "mine" and self.keep_mine.isEnabled():
            self.keep_mine.setChecked(True)
        elif choice == "theirs":
            self.keep_theirs.setChecked(True)

    def choice(self) -> tuple[str, Any] | None:
        """("mine" | "theirs" | "value", value) or None while nothing is chosen."""
        if self.keep_mine.isChecked():
            return "mine", None
        if self.keep_theirs.isChecked():
            return "theirs", None
        if self.merge is not None and self.merge.isChecked():
            return "value", self.merged_value()
        return None

    def merged_value(self) -> Any:
        editor = self.editor
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        return None

    def set_error(self, message: str | None) -> None:
        show_error(self.error, message)


class ConflictDialog(QDialog):
    """Resolve the given conflicts (usually those of one record); emits `showInAudit`."""

    resolved = Signal(int)  # how many were resolved
    showInAudit = Signal(str, str)  # entity type, entity id

    def __init__(
        self,
        service: AgentService,
        conflicts: list[Any],
        context: ConflictContext,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.conflicts = conflicts
        self.setStyleSheet(PAGE_QSS)
        records = {(c.entity_type, c.entity_id) for c in conflicts}
        first = conflicts[0]
        self.setWindowTitle("Resolve conflicts")
        keep_on_screen(self, QSize(980, 640))  # or as much of it as the screen has
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        heading = record_title(first) if len(records) == 1 else f"{len(records)} records"
        outer.addWidget(QLabel(heading, objectName="pageTitle"))
        self.pages = QStackedWidget()
        self.pages.addWidget(self._choosing_page(conflicts, context))
        self.pages.addWidget(self._done_page())
        outer.addWidget(self.pages, 1)

    def _choosing_page(self, conflicts: list[Any], context: ConflictContext) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        intro = QLabel(
            "You changed these fields on this laptop, and they were also changed in Autotask "
            "before your change arrived. For each one, choose the value to keep. Nothing is lost: "
            "the value you do not keep stays in the audit trail."
        )
        intro.setWordWrap(True)
        intro.setObjectName("pageSubtitle")
        box.addWidget(intro)
        legend = QHBoxLayout()
        legend.addWidget(chip("Yours: changed on this laptop", "mine"))
        legend.addWidget(chip("Autotask's: changed on the server", "theirs"))
        legend.addStretch(1)
        legend.addWidget(QLabel("For every field:"))
        self.all_mine = QPushButton("Keep all yours")
        self.all_theirs = QPushButton("Keep all Autotask's")
        legend.addWidget(self.all_mine)
        legend.addWidget(self.all_theirs)
        box.addLayout(legend)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        cards = QVBoxLayout(body)
        cards.setContentsMargins(0, 4, 8, 4)
        cards.setSpacing(10)
        self.fields = [FieldChoice(c, context) for c in conflicts]
        for card in self.fields:
            cards.addWidget(card)
            card.chosen.connect(self._update_buttons)
        cards.addStretch(1)
        scroll.setWidget(body)
        box.addWidget(scroll, 1)
        self.message = field_error()
        box.addWidget(self.message)
        buttons = QHBoxLayout()
        self.progress_note = QLabel(objectName="muted")
        buttons.addWidget(self.progress_note, 1)
        self.cancel = QPushButton("Decide later")
        self.apply = QPushButton("Apply choices", objectName="primary")
        self.apply.setDefault(True)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.apply)
        box.addLayout(buttons)
        self.all_mine.clicked.connect(lambda: self.apply_to_all("mine"))
        self.all_theirs.clicked.connect(lambda: self.apply_to_all("theirs"))
        self.cancel.clicked.connect(self.reject)
        self.apply.clicked.connect(self.submit)
        self._update_buttons()
        return page

    def _done_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.addStretch(1)
        self.done_title = QLabel("Resolved", objectName="pageTitle")
        self.done_text = QLabel(objectName="pageSubtitle")
        self.done_text.setWordWrap(True)
        for label in (self.done_title, self.done_text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(label)
        row = QHBoxLayout()
        row.addStretch(1)
        self.audit_button = QPushButton("Show in audit")
        self.close_button = QPushButton("Close", objectName="primary")
        row.addWidget(self.audit_button)
        row.addWidget(self.close_button)
        row.addStretch(1)
        box.addLayout(row)
        box.addStretch(2)
        self.audit_button.clicked.connect(self._show_in_audit)
        self.close_button.clicked.connect(self.accept)
        return page

    # -- choosing --------------------------------------------------------------------------
    def apply_to_all(self, choice: str) -> None:
        for card in self.fields:
            card.choose(choice)

    def _update_buttons(self) -> None:
        missing = sum(1 for card in self.fields if card.choice() is None)
        self.apply.setEnabled(missing == 0)
        self.progress_note.setText(
            f"Choose a value for {missing} more field{'s' if missing != 1 else ''}."
            if missing
            else "Ready: your choices are sent to Autotask at the next sync."
        )

    def submit(self) -> None:
        choices = [(card, card.choice()) for card in self.fields]
        if any(choice is None for _, choice in choices):
            return
        self.apply.setEnabled(False)
        show_error(self.message, None)
        agent = self.service.agent
        kinds = {choice[0] for _, choice in choices if choice is not None}
        if len(kinds) == 1 and kinds <= {"mine", "theirs"}:
            kind = kinds.pop()
            ids = [card.conflict.id for card in self.fields]
            self.service.run(
                agent.resolve_all(kind, ids),  # type: ignore[arg-type]
                lambda infos: self._done(len(infos)),
                self._failed(None),
            )
            return
        self.service.run(self._one_by_one(choices), self._done, self._one_failed)

    async def _one_by_one(self, choices: list[tuple[FieldChoice, Any]]) -> int:
        agent = self.service.agent
        done = 0
        for card, (kind, value) in choices:
            if card.conflict.status != "open":
                continue
            self._current = card
            await agent.resolve_conflict(card.conflict.id, kind, value)
            done += 1
        return done

    def _one_failed(self, exc: BaseException) -> None:
        self._failed(getattr(self, "_current", None))(exc)

    def _failed(self, card: FieldChoice | None) -> Any:
        def report(exc: BaseException) -> None:
            self.apply.setEnabled(True)
            message = (
                "; ".join(p.message for p in exc.problems)
                if isinstance(exc, EditRejected)
                else str(exc)
            )
            if card is not None:
                card.set_error(f"Not applied: {message}")
            show_error(self.message, f"Some choices were not applied: {message}")
            self.resolved.emit(0)

        return report

    def _done(self, count: int) -> None:
        self.done_title.setText(f"Resolved {count} conflict{'s' if count != 1 else ''}")
        self.done_text.setText(
            "Your choices are sent to Autotask at the next sync. The values you did not keep "
            "are not lost: they stay in the audit trail with both versions."
        )
        self.pages.setCurrentIndex(1)
        self.close_button.setFocus()
        self.resolved.emit(count)

    def _show_in_audit(self) -> None:
        first = self.conflicts[0]
        self.showInAudit.emit(first.entity_type, str(first.entity_id))
        self.accept()
