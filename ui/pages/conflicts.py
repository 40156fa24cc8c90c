"""Conflicts: every field changed both on this laptop and in Autotask, grouped by record, and the
way into the resolution dialog (one record, or all of them at once)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.conflict_dialog import ConflictDialog
from ui.dialogs.conflict_values import ConflictContext, load_context, record_title
from ui.models.labels import field_label
from ui.models.look import dot_icon, local_text
from ui.pages.common import PAGE_QSS, EmptyState, PageHeader, show_error
from ui.service import AgentService

COLUMNS = ["Record / field", "Yours (this laptop)", "Autotask now", "Found"]
CONFLICTS_ROLE = Qt.ItemDataRole.UserRole + 1


class ConflictsPage(QWidget):
    page_id = "conflicts"
    countChanged = Signal(int)
    showInAudit = Signal(str, str)  # entity type, entity id: the window switches to Audit
    dialogOpened = Signal(object)  # the ConflictDialog, once shown (tests and the shell use it)

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setStyleSheet(PAGE_QSS)
        self.conflicts: list[Any] = []
        self.context = ConflictContext()
        self.dialog: ConflictDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        header = PageHeader(
            "Conflicts",
            "Fields you changed that were also changed in Autotask. Choose which value to keep; "
            "the other one stays in the audit trail.",
        )
        self.resolve_button = QPushButton("Resolve…", objectName="primary")
        self.resolve_all_button = QPushButton("Resolve all…")
        header.add_action(self.resolve_all_button)
        header.add_action(self.resolve_button)
        outer.addWidget(header)
        self.banner = QWidget()
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(12, 8, 12, 8)
        self.banner.setStyleSheet("background: #dcfce7; border-radius: 6px;")
        self.banner_text = QLabel()
        self.banner_text.setStyleSheet("color: #166534;")
        self.banner_audit = QPushButton("Show in audit")
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(self.banner_audit)
        self.banner.setVisible(False)
        outer.addWidget(self.banner)
        self.message = QLabel(objectName="fieldError")
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self.stack = QStackedWidget()
        self.tree = self._build_tree()
        self.empty = EmptyState(
            "No conflicts",
            "When a field you changed is also changed in Autotask before your change arrives, "
            "it appears here so you can choose which value to keep.",
        )
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.empty)
        outer.addWidget(self.stack, 1)
        self.resolve_button.clicked.connect(self.resolve_selected)
        self.resolve_all_button.clicked.connect(lambda: self.open_dialog(self.conflicts))
        self.banner_audit.clicked.connect(self._banner_audit)
        service.conflictsChanged.connect(self.refresh)
        self.showInAudit.connect(self._go_to_audit)
        self._last_resolved: tuple[str, str] | None = None
        self._update_buttons()

    def _build_tree(self) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setColumnCount(len(COLUMNS))
        tree.setHeaderLabels(COLUMNS)
        tree.setRootIsDecorated(True)
        tree.setAlternatingRowColors(True)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tree.setUniformRowHeights(True)
        head = tree.header()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 220), (2, 220), (3, 140)):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            head.resizeSection(col, width)
        head.setStretchLastSection(False)
        tree.itemSelectionChanged.connect(self._update_buttons)
        tree.itemDoubleClicked.connect(lambda *_: self.resolve_selected())
        return tree

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        async def fetch() -> tuple[list[Any], ConflictContext]:
            conflicts = await self.service.agent.conflicts()
            return conflicts, await load_context(self.service, conflicts)

        self.service.run(fetch(), lambda got: self._loaded(*got))

    def _loaded(self, conflicts: list[Any], context: ConflictContext) -> None:
        self.conflicts, self.context = conflicts, context
        self.tree.clear()
        records: dict[tuple[str, int], list[Any]] = {}
        for c in conflicts:
            records.setdefault((c.entity_type, c.entity_id), []).append(c)
        for group in records.values():
            first = group[0]
            fields = len(group)
            parent = QTreeWidgetItem(
                [record_title(first), f"{fields} field{'s' if fields != 1 else ''}", "", ""]
            )
            parent.setIcon(0, dot_icon("conflict"))
            parent.setData(0, CONFLICTS_ROLE, group)
            font = parent.font(0)
            font.setBold(True)
            parent.setFont(0, font)
            for c in group:
                deleted, changed = c.kind == "deleted", c.kind == "changed"
                if deleted:
                    texts = ["Deleted in Autotask", "(your changes)", "(deleted)"]
                elif changed:
                    fields = ", ".join(field_label(f) for f in (c.theirs or {}))
                    texts = ["Changed in Autotask", "(deleted here)", f"(changed: {fields})"]
                else:
                    texts = [
                        field_label(c.field),
                        context.label(c.entity_type, c.field, c.mine),
                        context.label(c.entity_type, c.field, c.theirs),
                    ]
                child = QTreeWidgetItem([*texts, local_text(c.detected_at)])
                child.setData(0, CONFLICTS_ROLE, group)
                if c.problem:  # its values were changed on disk: said, with the way out
                    child.setText(1, "(cannot be read)")
                    child.setText(2, "(cannot be read)")
                    for col in (0, 1, 2):
                        child.setToolTip(
                            col, f'{c.problem}\nChoose "Keep Autotask\'s" to end this conflict.'
                        )
                    parent.addChild(child)
                    continue
                child.setToolTip(1, "The value changed on this laptop")
                child.setToolTip(
                    2,
                    f"The value in Autotask, changed by {context.who(c.entity_type, c.entity_id)}",
                )
                parent.addChild(child)
            self.tree.addTopLevelItem(parent)
            parent.setExpanded(True)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.stack.setCurrentWidget(self.tree if conflicts else self.empty)
        self.countChanged.emit(len(conflicts))
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.resolve_button.setEnabled(bool(self.selected_group()))
        self.resolve_all_button.setEnabled(bool(self.conflicts))

    def selected_group(self) -> list[Any]:
        item = self.tree.currentItem()
        group = item.data(0, CONFLICTS_ROLE) if item is not None else None
        return list(group) if group else []

    # -- resolving -------------------------------------------------------------------------
    def resolve_selected(self) -> None:
        group = self.selected_group()
        if group:
            self.open_dialog(group)

    def open_dialog(self, conflicts: list[Any]) -> ConflictDialog | None:
        if not conflicts:
            return None
        dialog = ConflictDialog(self.service, conflicts, self.context, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        first = conflicts[0]
        dialog.resolved.connect(
            lambda n: self._resolved(n, first.entity_type, str(first.entity_id))
        )
        dialog.showInAudit.connect(self.showInAudit)
        dialog.finished.connect(lambda _: self._closed(dialog))
        self.dialog = dialog
        dialog.open()  # window-modal without a nested event loop: the agent keeps syncing
        self.dialogOpened.emit(dialog)
        return dialog

    def _closed(self, dialog: ConflictDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _resolved(self, count: int, entity_type: str, entity_id: str) -> None:
        show_error(self.message, None)
        if count:
            self._last_resolved = (entity_type, entity_id)
            self.banner_text.setText(
                f"Resolved {count} conflict{'s' if count != 1 else ''}. The values you did not "
                "keep are in the audit trail."
            )
            self.banner.setVisible(True)
        self.refresh()

    def _go_to_audit(self, entity_type: str, entity_id: str) -> None:
        """Switch the main window to Audit, filtered to the record (when the window can)."""
        window: Any = self.window()
        audit = getattr(window, "pages", {}).get("audit")
        if audit is not None and hasattr(audit, "show_entity"):
            audit.show_entity(entity_type, entity_id)
        if hasattr(window, "show_page"):
            window.show_page("audit")

    def _banner_audit(self) -> None:
        if self._last_resolved is not None:
            self.showInAudit.emit(*self._last_resolved)
