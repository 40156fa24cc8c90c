"""The PySide6 desktop program: tray, main window and dialogs over the agent facade."""
