"""Garbage collection for a program that runs all day with one heap shared by Qt and the agent.

Two rules:

- Cyclic garbage is collected on the GUI thread only (`GuiThreadCollector`). Python runs a
  collection on whichever thread happens to allocate; when that is one of the agent's worker
  threads and the garbage holds a Qt object, the object is destroyed on the wrong thread, Qt
  cannot stop its timers, and a later timer event reaches freed memory: a crash, seen in about
  half of the runs of the window's test suite before this rule. So automatic collection is off
  while the window runs, and a GUI-thread timer collects each generation when Python's own
  thresholds say it is due (what pyqtgraph's `GarbageCollector` does).
- A full collection walks every tracked object while holding the GIL: with the window, the agent
  and the libraries loaded that is ~100,000 objects and 50-150 ms with the window frozen. Nearly
  all of them are made at startup and live until exit, so once the window is up they are moved
  out of the collector's sight (`gc.freeze`): later collections walk only what was made since.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500


def freeze_startup_objects() -> int:
    """Exclude everything alive now from later collections; returns how many objects that is.
    Called once, when the window and the agent are up."""
    gc.freeze()
    return gc.get_freeze_count()


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects, on this (the GUI) thread, each generation
    whose count passed Python's threshold. `stop` turns automatic collection back on."""

    def __init__(self, interval_ms: int = CHECK_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        self.collections = [0, 0, 0]
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.check()
        if self.was_enabled:
            gc.enable()

    def check(self) -> int:
        """Collect what is due, as the interpreter would have; returns the objects freed."""
        counts = gc.get_count()
        generation = -1
        for g in range(3):
            if counts[g] > self.thresholds[g]:
                generation = g
            else:
                break
        if generation < 0:
            return 0
        self.collections[generation] += 1
        return gc.collect(generation)


__all__ = ["GuiThreadCollector", "freeze_startup_objects"]
