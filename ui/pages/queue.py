"""Queue: every operation waiting, sent, refused or discarded, loaded lazily page by page, with
per-item actions (retry now, priority, discard) and a CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agent.api import exports
from agent.api.types import QueueItem
from ui import wording
from ui.models.labels import PRIORITIES, STATE_WORDS, entity_label
from ui.models.look import chip_style, local_text
from ui.models.queue_model import (
    ADDED,
    ATTEMPTS,
    NEXT,
    PRIORITY,
    PROBLEM,
    STATE,
    WHAT,
    QueueModel,
    op_states,
    upload_state,
)
from ui.pages.columns import ColumnFitter
from ui.pages.common import PAGE_QSS, PageHeader, ask, chip, list_table, show_error
from ui.service import AgentService

# What the state filter offers, in the order a technician looks for things.
FILTERS: list[tuple[str, frozenset[str] | None]] = [
    ("Everything not yet sent", frozenset({"pending", "leased", "parked", "conflict"})),
    ("Waiting to be sent", frozenset({"pending", "leased"})),
    ("Needs attention", frozenset({"parked"})),
    ("Conflicts", frozenset({"conflict"})),
    ("Sent", frozenset({"done"})),
    ("Discarded", frozenset({"cancelled"})),
    ("All operations", None),
]
CSV_COLUMNS = exports.QUEUE_COLUMNS  # one set of columns for every export


class QueuePage(QWidget):
    page_id = "queue"
    countChanged = Signal(int)  # operations that need attention

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.facade = service.agent
        self.setStyleSheet(PAGE_QSS)
        self.model = QueueModel(service, self._now)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        header = PageHeader(
            "Queue",
            "Every change made on this laptop, in the order it is sent to Autotask.",
        )
        self.export_button = QPushButton("Export CSV…")
        header.add_action(self.export_button)
        outer.addWidget(header)
        row = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.setAccessibleName("Show operations")
        for label, _ in FILTERS:
            self.filter.addItem(label)
        self.count = QLabel(objectName="muted")
        self.stale = QPushButton("The queue changed: refresh")
        self.stale.setVisible(False)
        row.addWidget(QLabel("Show"))
        row.addWidget(self.filter)
        row.addWidget(self.count, 1)
        row.addWidget(self.stale)
        outer.addLayout(row)
        self.table = self._build_table()
        self.table.setAccessibleName("Operations")
        outer.addWidget(self.table, 1)
        outer.addWidget(self._build_details())
        self.export_button.clicked.connect(self._export_clicked)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        self.stale.clicked.connect(self.reload)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda message: show_error(self.message, message))
        self.model.modelReset.connect(self._selection_changed)
        service.queueChanged.connect(self._queue_changed)
        service.uploadProgress.connect(self._upload_moved)
        service.statusChanged.connect(self._status_changed)
        # Relative times ("in 4 min") age; repaint them only while the page is on screen.
        self.ticker = QTimer(self, interval=15_000)
        self.ticker.timeout.connect(self.model.refresh_times)
        self._refresh_soon = QTimer(self, singleShot=True, interval=400)
        self._refresh_soon.timeout.connect(self._auto_refresh)
        self._started = False
        self._keep: list[int] = []  # operation ids selected when a reload began

    def _build_table(self) -> QTableView:
        widths = {STATE: 150, PRIORITY: 80, ATTEMPTS: 70, NEXT: 130, PROBLEM: 240, ADDED: 140}
        table = list_table(self.model, stretch=WHAT, widths=widths, many=True)
        # On a narrow page the least telling columns give way first (the operation's pane
        # below the list shows them all).
        hide_order = (ATTEMPTS, ADDED, PRIORITY, PROBLEM, NEXT, STATE)
        self.columns = ColumnFitter(table, main=WHAT, widths=widths, hide_order=hide_order)
        table.selectionModel().selectionChanged.connect(self._selection_changed)
        return table

    def _build_details(self) -> QWidget:
        box = QWidget(objectName="card")
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 4, 0, 0)
        line = QHBoxLayout()
        self.state_chip = chip("", "muted")
        self.detail_title = QLabel(objectName="sectionTitle")
        self.detail_title.setWordWrap(True)
        line.addWidget(self.state_chip)
        line.addWidget(self.detail_title, 1)
        col.addLayout(line)
        self.detail_text = QLabel(objectName="muted")
        self.detail_text.setWordWrap(True)
        col.addWidget(self.detail_text)
        self.message = QLabel(objectName="fieldError")
        self.message.setVisible(False)
        col.addWidget(self.message)
        buttons = QHBoxLayout()
        self.done_note = QLabel(objectName="muted")
        buttons.addWidget(self.done_note, 1)
        self.retry_button = QPushButton("Retry now")
        self.raise_button = QPushButton("Raise priority")
        self.lower_button = QPushButton("Lower priority")
        self.discard_button = QPushButton("Discard…", objectName="danger")
        for b in (self.retry_button, self.raise_button, self.lower_button, self.discard_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        self.retry_button.clicked.connect(self.retry_selected)
        self.raise_button.clicked.connect(lambda: self.shift_priority(-1))
        self.lower_button.clicked.connect(lambda: self.shift_priority(+1))
        self.discard_button.clicked.connect(self.discard_selected)
        return box

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        self.reload()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.ticker.start()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.ticker.stop()

    def reload(self) -> None:
        # What is selected is selected again once the first page is back (`_loaded`).
        self._keep = [i.id for i in self.selected()] or self._keep
        self._started = True
        self._refresh_soon.stop()  # this reload supersedes any refresh already scheduled
        self.stale.setVisible(False)
        show_error(self.message, None)
        self.model.set_states(self.chosen_states())
        self.service.run(
            self.facade.queue_page(limit=1, states=op_states({"parked"})),
            lambda page: self.countChanged.emit(page.total),
        )

    def _now(self) -> float:
        return self.service.agent.clock.now().timestamp()

    def chosen_states(self) -> frozenset[str] | None:
        return FILTERS[max(self.filter.currentIndex(), 0)][1]

    def _filter_changed(self) -> None:
        self.model.set_states(self.chosen_states())

    def _upload_moved(self, progress: Any) -> None:
        """The selected file's upload moved on: its pane follows (the row follows by itself)."""
        items = self.selected()
        if len(items) == 1 and progress is not None and items[0].id == progress.op_id:
            self._selection_changed()

    def _status_changed(self, _status: Any) -> None:
        """Online or not decides "Retry now" and the "Next try" words."""
        self._selection_changed()
        self.model.refresh_times()

    def _queue_changed(self) -> None:
        # A refresh already scheduled is kept, not pushed back: during a sync the changes come
        # faster than the delay, and restarting it would hold the page still until the end.
        if self._started and not self._refresh_soon.isActive():
            self._refresh_soon.start()

    def _auto_refresh(self) -> None:
        """Reload in place while only the first page is loaded; deeper down, offer a button
        instead of yanking the rows away from under the technician's scroll position."""
        if self.model.rowCount() <= 200 or not self.isVisible():
            self.reload()
        else:
            self.stale.setVisible(True)

    def _loaded(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        label = self.filter.currentText().lower()
        if total == 0:
            self.count.setText(f"Nothing here ({label}).")
        elif shown < total:
            self.count.setText(f"{total:,} operations · {shown:,} loaded; scroll for more")
        else:
            self.count.setText(f"{total:,} operation{'s' if total != 1 else ''}")
        self._reselect()
        self._selection_changed()

    def _reselect(self) -> None:
        """Select again the operations selected before the reload, as far as they are loaded:
        the list reloads whenever the queue changes, and the technician's choice stays."""
        keep, self._keep = self._keep, []
        selection = QItemSelection()
        for op_id in keep:
            row = self.model.row_of(op_id)
            if row is not None:
                last = self.model.columnCount() - 1
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        if not selection.isEmpty():
            flags = QItemSelectionModel.SelectionFlag
            self.table.selectionModel().select(selection, flags.ClearAndSelect | flags.Rows)

    # -- selection and actions -------------------------------------------------------------
    def selected(self) -> list[QueueItem]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.item_at(r) for r in rows if r < self.model.rowCount()]

    def _selection_changed(self, *_: Any) -> None:
        items = self.selected()
        open_items = [i for i in items if i.state in ("pending", "leased", "parked")]
        sendable = wording.can_send(self.service.last_status)
        self.retry_button.setEnabled(
            sendable and any(i.state in ("pending", "parked") for i in items)
        )
        self.retry_button.setToolTip(
            ""
            if sendable
            else "Field Sync is offline or paused: changes are sent once it is back online."
        )
        self.raise_button.setEnabled(any(i.priority != PRIORITIES[0] for i in open_items))
        self.lower_button.setEnabled(any(i.priority != PRIORITIES[-1] for i in open_items))
        self.discard_button.setEnabled(
            any(i.state in ("pending", "parked", "conflict") for i in items)
        )
        if not items:
            self.state_chip.setVisible(False)
            self.detail_title.setText("Select an operation to see it in full.")
            self.detail_text.setText("")
            return
        first = items[0]
        words, tone = STATE_WORDS.get(first.state, (first.state, "muted"))
        if first.upload is not None:
            words, tone = upload_state(first.upload), "info"
        self.state_chip.setText(words)
        self.state_chip.setStyleSheet(chip_style(tone))
        self.state_chip.setVisible(True)
        if len(items) > 1:
            self.detail_title.setText(f"{len(items)} operations selected")
            self.detail_text.setText("The actions apply to each of them.")
            return
        self.detail_title.setText(first.description)
        facts = [
            f"{entity_label(first.entity_type)} · operation #{first.id}",
            f"priority {first.priority}",
            f"{first.attempts} attempt{'s' if first.attempts != 1 else ''}",
            f"added {local_text(first.created_at)}",
        ]
        text = " · ".join(facts)
        if first.upload is not None:
            text += f"\nUploading: {wording.upload_words(first.upload)}"
        elif first.last_error:
            text += f"\n{first.last_error}"
        self.detail_text.setText(text)

    def _act(self, calls: list[Any], done: str) -> None:
        async def all_of() -> None:
            for call in calls:
                await call

        self.service.run(all_of(), lambda _: self._acted(done), self._act_failed)

    def _acted(self, done: str) -> None:
        self.done_note.setText(done)
        self.reload()

    def _act_failed(self, exc: BaseException) -> None:
        show_error(self.message, f"That did not work: {exc}")

    def retry_selected(self) -> None:
        items = [i for i in self.selected() if i.state in ("pending", "parked")]
        if items:
            agent = self.service.agent
            self._act([agent.retry_now(i.id) for i in items], "Retrying as soon as online.")

    def shift_priority(self, step: int) -> None:
        agent = self.service.agent
        calls = []
        for i in self.selected():
            if i.state not in ("pending", "leased", "parked") or i.priority not in PRIORITIES:
                continue
            at = PRIORITIES.index(i.priority) + step
            if 0 <= at < len(PRIORITIES):
                calls.append(agent.set_priority(i.id, PRIORITIES[at]))
        if calls:
            self._act(calls, "Priority changed.")

    def discard_selected(self) -> None:
        items = [i for i in self.selected() if i.state in ("pending", "parked", "conflict")]
        if not items:
            return
        what = items[0].description if len(items) == 1 else f"{len(items)} operations"
        question = (
            f"Discard “{what}”?\n\nIt will not be sent to Autotask, and the value shown on "
            "this laptop goes back to Autotask's. The discarded change stays in the audit trail."
        )
        if not ask(self, "Discard change", question, "Discard"):
            return
        agent = self.service.agent
        reason = "discarded by the technician from the Queue page"
        self._act([agent.discard(i.id, reason) for i in items], "Discarded (see Audit).")

    # -- export ----------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the queue", str(Path.home() / "field-sync-queue.csv"), "CSV (*.csv)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write every operation of the current filter to `path` as CSV."""
        self.export_button.setEnabled(False)
        self.service.run(
            self._export(path),
            lambda n: self._exported(path, n),
            self._export_failed,
        )

    async def _export(self, path: Path) -> int:
        states = self.model.states
        result = await self.facade.export_queue(
            path, states=None if states is None else sorted(states)
        )
        return int(result) if isinstance(result, int) else -1

    def _exported(self, path: Path, count: int) -> None:
        self.export_button.setEnabled(True)
        rows = f"{count:,} operations " if count >= 0 else ""
        self.done_note.setText(f"Exported {rows}to {path.name}.")

    def _export_failed(self, exc: BaseException) -> None:
        self.export_button.setEnabled(True)
        show_error(self.message, f"The export failed: {exc}")
