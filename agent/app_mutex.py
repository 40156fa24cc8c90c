"""Named mutexes on Windows that say "Field Sync is running", held for the life of the process.

The installer and the uninstaller name them in their `AppMutex` setting
(packaging/windows/fieldsync.iss): while any process holds one they ask the user to quit Field
Sync first, instead of failing on the executable, the bundled libraries, the database and the log
that a running copy keeps open. Every process of the program holds them (the window, the headless
agent and the command line). There are two: one in the user's session namespace, and one in the
global namespace (`Global\\...`), so an uninstall for all users also sees a copy another user runs
in their own session (fast user switching, a remote desktop). The global one lets everyone wait
on it (SYNCHRONIZE only), so a second user's copy opens it rather than being refused, and the
installer of any account can see it. Elsewhere nothing is held: macOS and Linux let files in use
be replaced or deleted.

The handles are never closed by hand: Windows closes them when the process ends, however it ends.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

# The installer script repeats these names (AppMutex); a test checks that they agree.
APP_MUTEX = "FieldSyncForAutotask.Running"
GLOBAL_APP_MUTEX = f"Global\\{APP_MUTEX}"
APP_MUTEXES = (APP_MUTEX, GLOBAL_APP_MUTEX)

SYNCHRONIZE = 0x0010_0000
# The global mutex's security: SYSTEM and administrators have full access, everyone else may
# open and wait on it (which is all the installer and another user's copy do).
GLOBAL_SDDL = "D:(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x00100000;;;WD)"

_held: list[int] = []


def hold(kernel32: Any = None, everyone: Any = None) -> bool:
    """Create (or open) both named mutexes once per process and keep their handles; True when
    at least one is held.

    `kernel32` is the Windows API and `everyone` the security attributes of the global mutex
    (given by tests); by default both are made only on Windows, and on other systems this does
    nothing and returns False."""
    if _held:
        return True
    if kernel32 is None:
        kernel32 = _kernel32()
        if kernel32 is None:
            return False
        everyone = _everyone_may_wait()
    for name, attributes in ((APP_MUTEX, None), (GLOBAL_APP_MUTEX, everyone)):
        # Not owned: its existence is the signal, and any number of processes may hold it.
        handle = kernel32.CreateMutexExW(attributes, name, 0, SYNCHRONIZE)
        if handle:
            _held.append(int(handle))
        else:
            log.warning("the installer's running-program marker %s could not be created", name)
    return bool(_held)


def _kernel32() -> Any:
    """The Windows API with `CreateMutexExW` typed; None on other systems."""
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateMutexExW.argtypes = [
            ctypes.c_void_p,
            wintypes.LPCWSTR,
            wintypes.DWORD,
            wintypes.DWORD,
        ]
        kernel32.CreateMutexExW.restype = wintypes.HANDLE
        return kernel32
    else:  # each branch is checked on its own platform only
        return None


def _everyone_may_wait() -> Any:
    """SECURITY_ATTRIBUTES from GLOBAL_SDDL (Windows only; None when it cannot be built, and the
    global mutex then gets the default security: the installer of this user still sees it)."""
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        class SecurityAttributes(ctypes.Structure):
            _fields_ = [
                ("nLength", wintypes.DWORD),
                ("lpSecurityDescriptor", ctypes.c_void_p),
                ("bInheritHandle", wintypes.BOOL),
            ]

        advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
        convert = advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW
        convert.argtypes = [
            wintypes.LPCWSTR,
            wintypes.DWORD,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_void_p,
        ]
        convert.restype = wintypes.BOOL
        descriptor = ctypes.c_void_p()
        if not convert(GLOBAL_SDDL, 1, ctypes.byref(descriptor), None):  # SDDL_REVISION_1
            return None
        # Kept for the life of the process, as the mutex is (the descriptor is never freed).
        attributes = SecurityAttributes(ctypes.sizeof(SecurityAttributes), descriptor, False)
        _keep.append(attributes)
        return ctypes.byref(attributes)
    else:  # each branch is checked on its own platform only
        return None


_keep: list[Any] = []
