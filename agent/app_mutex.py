"""A named mutex on Windows that says "Field Sync is running", held for the life of the process.

The installer and the uninstaller name it in their `AppMutex` setting
(packaging/windows/fieldsync.iss): while any process holds it they ask the user to quit Field
Sync first, instead of failing on the executable, the bundled libraries, the database and the log
that a running copy keeps open. Every process of the program holds it (the window, the headless
agent and the command line); it is created in the user's session namespace, as the install is per
user. Elsewhere nothing is held: macOS and Linux let files in use be replaced or deleted.

The handle is never closed by hand: Windows closes it when the process ends, however it ends.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

# The installer script repeats this name (AppMutex); a test checks that both agree.
APP_MUTEX = "FieldSyncForAutotask.Running"

_held: list[int] = []


def hold(kernel32: Any = None) -> bool:
    """Create (or open) the named mutex once per process and keep its handle; True when held.

    `kernel32` is the Windows API (given by tests); by default it is loaded only on Windows,
    and on other systems this does nothing and returns False."""
    if _held:
        return True
    if kernel32 is None:
        kernel32 = _kernel32()
        if kernel32 is None:
            return False
    # Not owned: its existence is the signal, and any number of processes may hold it at once.
    handle = kernel32.CreateMutexW(None, False, APP_MUTEX)
    if not handle:
        log.warning("the installer's running-program marker could not be created")
        return False
    _held.append(int(handle))
    return True


def _kernel32() -> Any:
    """The Windows API with `CreateMutexW` typed; None on other systems."""
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateMutexW.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.LPCWSTR]
        kernel32.CreateMutexW.restype = wintypes.HANDLE
        return kernel32
    else:  # each branch is checked on its own platform only
        return None
