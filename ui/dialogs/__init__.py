"""Dialogs of the desktop program that belong to the pages (conflict resolution)."""
