"""Leaving a ticket whose fields were typed in but not saved (another ticket chosen in the list,
opened from Today or the tray): the typing is never thrown away unasked. The technician saves
it (captured on this laptop, so offline too), discards it, or stays on the ticket."""

from __future__ import annotations

from enum import Enum

from PySide6.QtWidgets import QMessageBox, QWidget


class Leave(Enum):
    SAVE = "save"
    DISCARD = "discard"
    STAY = "stay"


def ask_leave(parent: QWidget, ticket: str, fields: list[str]) -> Leave:
    """Save, Discard or Cancel (stay); Save is the default, Escape stays."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Unsaved changes",
        f"You changed {', '.join(fields)} on ticket {ticket} and did not save.",
        parent=parent,
    )
    box.setInformativeText("Save the changes before opening another ticket?")
    save = box.addButton("Save changes", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard changes", QMessageBox.ButtonRole.DestructiveRole)
    stay = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(save)
    box.setEscapeButton(stay)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    if clicked is save:
        return Leave.SAVE
    if clicked is discard:
        return Leave.DISCARD
    return Leave.STAY
