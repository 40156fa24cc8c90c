"""Whether only administrators can change the system policy file.

The system location's policy binds every user of the computer, so a file there (or a folder
holding it) that a standard user owns or may write is refused: that user could have planted it,
or could change it. POSIX: the file and its folder are owned by root and neither group nor others
may write them, and every folder above is owned by root and written by no one else (unless
sticky, as /tmp: there only a name's owner may remove or rename it). A link is followed: the
folder of each link on the way and the folder chain of the file it leads to are held to the
same rules (whoever may remove the file a link leads to may withdraw the policy).
Windows: the owner of each is SYSTEM, Administrators or TrustedInstaller, and no access-control
entry lets anyone else write, delete, or change its permissions or owner (read
through the Windows security API with ctypes; `WindowsSecurityReader` stands in for it in tests).

`problems` names what is wrong, then (last) how an administrator puts it right; an empty list
means the file may be trusted.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# SYSTEM, Administrators, TrustedInstaller.
TRUSTED_SIDS = frozenset(
    {
        "S-1-5-18",
        "S-1-5-32-544",
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
    }
)
# Rights that change a file or folder, its content or its permissions: write or append data (add
# a file or a subfolder), delete a child, delete, change the permissions or the owner, and the
# generic write and all.
WRITE_RIGHTS = 0x2 | 0x4 | 0x40 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x4000_0000 | 0x1000_0000
INHERIT_ONLY = 0x08
FIX_WINDOWS = (
    'as an administrator: icacls "{folder}" /setowner *S-1-5-32-544 /T, then '
    'icacls "{folder}" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F '
    "*S-1-5-32-545:(OI)(CI)RX /T"
)


@dataclass(frozen=True)
class Ace:
    """One access-control entry: allowed (or denied) `mask` for `sid`."""

    allowed: bool
    mask: int
    sid: str
    inherit_only: bool = False


@dataclass(frozen=True)
class WindowsSecurity:
    """A file's owner and DACL; `aces` is None for a missing DACL (everyone has full control)."""

    owner: str
    aces: tuple[Ace, ...] | None


WindowsSecurityReader = Callable[[str], WindowsSecurity]


def problems(
    path: Path, platform: str = sys.platform, read_security: WindowsSecurityReader | None = None
) -> list[str]:
    """What lets a non-administrator change `path` or its folder; [] when nothing does."""
    targets = [("the file", path), ("its folder", path.parent)]
    if platform.startswith("win") and sys.platform == "win32":
        real = Path(os.path.realpath(path))
        if real.parent != Path(os.path.realpath(path.parent)):
            targets.append((f"the folder {real.parent} of the file it links to", real.parent))
    if platform.startswith("win"):
        reader = read_security or _windows_security
        found = []
        for what, target in targets:
            try:
                security = reader(str(target))
            except OSError as exc:
                found.append(f"the permissions of {what} cannot be read ({exc})")
                continue
            found += [f"{what} {p}" for p in _windows_problems(security)]
        if found:
            found.append(FIX_WINDOWS.format(folder=path.parent))
        return found
    found = []
    for what, target, sticky_ok in _posix_chain(path):
        try:
            info = os.stat(target)
        except OSError as exc:
            found.append(f"{what} cannot be examined ({exc.strerror or exc})")
            continue
        if info.st_uid != 0:
            found.append(f"{what} is owned by user id {info.st_uid}, not root")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (
            sticky_ok and info.st_mode & stat.S_ISVTX
        ):
            found.append(f"{what} may be written by its group or by others")
    if found:
        real = Path(os.path.realpath(path))
        named = f"{path.parent} {path}" if real == path else f"{path.parent} {real.parent} {real}"
        found.append(f"as root: chown root {named}; chmod go-w {named}")
    return found


def _posix_chain(path: Path) -> list[tuple[str, Path, bool]]:
    """What must be root's for `path` to be trusted: (what, path, whether a sticky folder
    written by others is enough). The file (through its links), the folder of the path and of
    each link it goes through, and every folder above those."""
    chain: list[tuple[str, Path, bool]] = [
        ("the file", path, False),
        ("its folder", path.parent, False),
    ]
    named = {path.parent}
    hop = Path(os.path.abspath(path))
    hops = [hop]
    for _ in range(40):  # as the system's own limit of links followed
        if not os.path.islink(hop):
            break
        hop = Path(os.path.abspath(hop.parent / os.readlink(hop)))
        hops.append(hop)
        folder = Path(os.path.realpath(hop.parent))
        if folder not in named and folder != Path(os.path.realpath(path.parent)):
            named.add(folder)
            chain.append((f"the folder {folder} of the file it links to", folder, False))
    for each in hops:
        for folder in (each.parent, Path(os.path.realpath(each.parent))):
            for above in folder.parents:
                if above not in named:
                    named.add(above)
                    chain.append((f"the folder {above} above it", above, True))
    return chain


def _windows_problems(security: WindowsSecurity) -> list[str]:
    found = []
    if security.owner not in TRUSTED_SIDS:
        found.append(f"is owned by {security.owner}, not an administrator")
    if security.aces is None:
        found.append("has no access control list: everyone may change it")
        return found
    writers = sorted(
        {
            ace.sid
            for ace in security.aces
            if ace.allowed
            and not ace.inherit_only
            and ace.mask & WRITE_RIGHTS
            and ace.sid not in TRUSTED_SIDS
        }
    )
    if writers:
        found.append(f"may be changed by {', '.join(writers)}, not only administrators")
    return found


if sys.platform == "win32":  # each branch is checked on its own platform only
    import ctypes
    from ctypes import wintypes

    def _windows_security(path: str) -> WindowsSecurity:
        """The owner SID and DACL of `path`, through GetNamedSecurityInfoW."""

        advapi32: Any = ctypes.WinDLL("advapi32", use_last_error=True)
        kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)
        owner, dacl, descriptor = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        advapi32.GetNamedSecurityInfoW.restype = wintypes.DWORD
        # SE_FILE_OBJECT; OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
        error = advapi32.GetNamedSecurityInfoW(
            wintypes.LPCWSTR(path),
            1,
            0x1 | 0x4,
            ctypes.byref(owner),
            None,
            ctypes.byref(dacl),
            None,
            ctypes.byref(descriptor),
        )
        if error:
            raise OSError(error, ctypes.FormatError(error))
        try:
            aces = None if not dacl.value else tuple(_aces(advapi32, kernel32, dacl))
            return WindowsSecurity(_sid_text(advapi32, kernel32, owner.value), aces)
        finally:
            kernel32.LocalFree(descriptor)

    def _aces(advapi32: Any, kernel32: Any, dacl: Any) -> Sequence[Ace]:

        class AclHeader(ctypes.Structure):
            _fields_ = [
                ("revision", ctypes.c_ubyte),
                ("sbz1", ctypes.c_ubyte),
                ("size", ctypes.c_ushort),
                ("count", ctypes.c_ushort),
                ("sbz2", ctypes.c_ushort),
            ]

        class AceHead(ctypes.Structure):
            _fields_ = [
                ("type", ctypes.c_ubyte),
                ("flags", ctypes.c_ubyte),
                ("size", ctypes.c_ushort),
                ("mask", ctypes.c_uint32),
            ]

        count = AclHeader.from_address(int(dacl.value or 0)).count
        found = []
        for index in range(count):
            ace = ctypes.c_void_p()
            if not advapi32.GetAce(dacl, index, ctypes.byref(ace)):
                raise OSError(ctypes.get_last_error(), "an access-control entry cannot be read")
            address = int(ace.value or 0)
            head = AceHead.from_address(address)
            # ACCESS_ALLOWED (0), ACCESS_DENIED (1), and their callback forms (9, 10): the SID
            # follows the mask. Object ACEs do not occur on files; any other is refused as unknown.
            if head.type not in (0, 1, 9, 10):
                raise OSError(0, f"an access-control entry of type {head.type} is not understood")
            sid = _sid_text(advapi32, kernel32, address + ctypes.sizeof(AceHead))
            allowed = head.type in (0, 9)
            found.append(Ace(allowed, head.mask, sid, bool(head.flags & INHERIT_ONLY)))
        return found

    def _sid_text(advapi32: Any, kernel32: Any, sid: Any) -> str:

        text = ctypes.c_wchar_p()
        if not advapi32.ConvertSidToStringSidW(ctypes.c_void_p(sid), ctypes.byref(text)):
            raise OSError(ctypes.get_last_error(), "a SID cannot be read")
        try:
            return str(text.value)
        finally:
            kernel32.LocalFree(text)

else:

    def _windows_security(path: str) -> WindowsSecurity:
        raise OSError(f"the Windows security API exists only on Windows ({path})")
