"""The system policy file is refused when anyone but an administrator owns it or may change it
(or its folder): on POSIX through real ownership and modes, on Windows through a reader standing
in for the file's owner SID and access-control list."""

from __future__ import annotations

import os
import plistlib
import stat as stat_module
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.config import policy_guard, sources
from agent.config.policy import PolicyError
from agent.config.policy_guard import Ace, WindowsSecurity
from agent.config.sources import PolicySources, load
from tests.config.helpers import write_policy

USER = 1000
posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX ownership and modes")
as_root = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0, reason="chown to another user needs root"
)


def guarded(
    path: Path, platform: str = "linux", reader: policy_guard.WindowsSecurityReader | None = None
) -> PolicySources:
    return PolicySources(
        files=(path,),
        guarded=frozenset({path}),
        guard=lambda p: policy_guard.problems(p, platform, reader),
    )


@pytest.fixture
def system_file(tmp_path: Path) -> Path:
    folder = tmp_path / "field-sync"
    path = write_policy(folder / "policy.json", {"sync_interval_s": 120})
    folder.chmod(0o755)
    path.chmod(0o644)
    return path


@as_root
def test_a_file_root_owns_and_alone_may_write_is_read(system_file: Path) -> None:
    os.chown(system_file, 0, 0)
    os.chown(system_file.parent, 0, 0)
    policy, _ = load(guarded(system_file))
    assert policy.values["sync_interval_s"] == 120


@as_root
@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda p: os.chown(p, USER, USER), f"the file is owned by user id {USER}, not root"),
        (lambda p: os.chown(p.parent, USER, 0), f"its folder is owned by user id {USER}"),
        (lambda p: p.chmod(0o664), "the file may be written by its group or by others"),
        (lambda p: p.chmod(0o646), "the file may be written by its group or by others"),
        (lambda p: p.parent.chmod(0o777), "its folder may be written by its group or by others"),
    ],
)
def test_a_file_a_user_could_have_planted_or_changed_is_refused_naming_it(
    system_file: Path,
    change: Callable[[Path], None],
    said: str,
) -> None:
    os.chown(system_file, 0, 0)
    os.chown(system_file.parent, 0, 0)
    change(system_file)
    with pytest.raises(PolicyError) as caught:
        load(guarded(system_file))
    assert caught.value.origin == str(system_file)
    assert str(system_file) in str(caught.value)
    assert said in caught.value.problems[0]
    assert caught.value.problems[0].startswith("only administrators may be able to change it")
    assert "chown root" in caught.value.problems[1]


@posix
def test_a_file_of_an_ordinary_user_is_refused(system_file: Path) -> None:
    if os.geteuid() == 0:
        os.chown(system_file, USER, USER)
    with pytest.raises(PolicyError, match="the file is owned by user id"):
        load(guarded(system_file))


@posix
def test_only_the_guarded_file_is_held_to_it(system_file: Path, tmp_path: Path) -> None:
    beside = write_policy(tmp_path / "beside" / "policy.json", {"quota_share": 0.5})
    if os.geteuid() == 0:
        os.chown(beside, USER, USER)
    chosen = PolicySources(
        files=(beside,),
        guarded=frozenset({system_file}),
        guard=lambda p: policy_guard.problems(p, "linux"),
    )
    assert load(chosen)[0].values["quota_share"] == 0.5


def test_this_computers_system_file_is_guarded_and_the_beside_one_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sources.sys, "frozen", True, raising=False)
    monkeypatch.setattr(sources.sys, "executable", str(tmp_path / "FieldSync" / "FieldSync.exe"))
    for platform in ("win32", "darwin", "linux"):
        chosen = PolicySources.for_this_computer(platform)
        plist = {sources.MANAGED_PLIST} if platform == "darwin" else set()
        assert chosen.guarded == {chosen.files[0], *plist} and chosen.guard is not None
        assert chosen.files[0] == sources.system_policy_file(platform)
        assert chosen.managed_plist == (sources.MANAGED_PLIST if plist else None)


# macOS managed preferences: a plist an MDM profile delivers into a folder only root may change.
# Its owner and mode are stood in for (the test need not run as root, nor on macOS).
def plist_at(tmp_path: Path) -> Path:
    folder = tmp_path / "Managed Preferences"
    folder.mkdir()
    path = folder / "com.fieldsync.FieldSync.plist"
    path.write_bytes(plistlib.dumps({"quota_share": 0.3, "encryption_required": True}))
    return path


def pretend(
    monkeypatch: pytest.MonkeyPatch, owners: dict[Path, int], modes: dict[Path, int]
) -> None:
    """`os.stat` of the given paths reports these owners and permission bits, and the folders
    above them are root's, written by no one else (as on a computer's system folders)."""
    real = os.stat
    listed = {*owners, *modes}
    above = {folder for path in listed for folder in path.parents} - listed

    def stat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        found = real(target, *args, **kwargs)
        path = Path(target)
        if path in above:
            fields = list(found)
            fields[4] = 0
            fields[0] = found.st_mode & ~(stat_module.S_IWGRP | stat_module.S_IWOTH)
            return os.stat_result(fields)
        if path not in owners and path not in modes:
            return found
        fields = list(found)
        fields[4] = owners.get(path, fields[4])  # st_uid
        if path in modes:
            fields[0] = stat_module.S_IFMT(found.st_mode) | modes[path]
        return os.stat_result(fields)

    monkeypatch.setattr(policy_guard.os, "stat", stat)


def managed(path: Path) -> PolicySources:
    return PolicySources(
        managed_plist=path,
        guarded=frozenset({path}),
        guard=lambda p: policy_guard.problems(p, "darwin"),
    )


@posix
def test_a_managed_plist_root_owns_and_alone_may_write_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = plist_at(tmp_path)
    pretend(monkeypatch, {path: 0, path.parent: 0}, {path: 0o644, path.parent: 0o755})
    policy, _ = load(managed(path))
    assert policy.values == {"quota_share": 0.3, "encryption_required": True}


@posix
@pytest.mark.parametrize(
    ("owner", "mode", "said"),
    [
        ({"file": USER}, {}, f"the file is owned by user id {USER}, not root"),
        ({"folder": USER}, {}, f"its folder is owned by user id {USER}, not root"),
        ({}, {"file": 0o664}, "the file may be written by its group or by others"),
        ({}, {"folder": 0o777}, "its folder may be written by its group or by others"),
    ],
)
def test_a_managed_plist_a_user_could_change_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    owner: dict[str, int],
    mode: dict[str, int],
    said: str,
) -> None:
    path = plist_at(tmp_path)
    at = {"file": path, "folder": path.parent}
    owners = {path: 0, path.parent: 0} | {at[k]: v for k, v in owner.items()}
    modes = {path: 0o644, path.parent: 0o755} | {at[k]: v for k, v in mode.items()}
    pretend(monkeypatch, owners, modes)
    with pytest.raises(PolicyError) as caught:
        load(managed(path))
    assert caught.value.origin == str(path)
    assert caught.value.problems[0].startswith("only administrators may be able to change it")
    assert said in caught.value.problems[0]
    assert caught.value.problems[1].startswith("to trust it, as root: chown root")


@posix
def test_a_refused_managed_plist_stops_the_load_before_the_system_file_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = plist_at(tmp_path)
    system = write_policy(tmp_path / "FieldSync" / "policy.json", {"sync_interval_s": 120})
    pretend(monkeypatch, {path: USER, path.parent: 0, system: 0, system.parent: 0}, {})
    chosen = PolicySources(
        files=(system,),
        managed_plist=path,
        guarded=frozenset({path, system}),
        guard=lambda p: policy_guard.problems(p, "darwin"),
    )
    with pytest.raises(PolicyError) as caught:
        load(chosen)
    assert caught.value.origin == str(path)


# Windows: SIDs and rights as GetNamedSecurityInfoW reports them.
SYSTEM, ADMINS, USERS, CREATOR_OWNER = "S-1-5-18", "S-1-5-32-544", "S-1-5-32-545", "S-1-3-0"
ALICE = "S-1-5-21-1004336348-1177238915-682003330-1001"
FULL, READ_EXECUTE, ADD_FILE = 0x1F01FF, 0x1200A9, 0x2
LOCKED = (
    Ace(True, FULL, SYSTEM),
    Ace(True, FULL, ADMINS),
    Ace(True, READ_EXECUTE, USERS),
    Ace(True, FULL, CREATOR_OWNER, inherit_only=True),
)
WIN_FILE = Path(r"C:\ProgramData\FieldSync\policy.json")


def reader(file: WindowsSecurity, folder: WindowsSecurity) -> policy_guard.WindowsSecurityReader:
    def read(path: str) -> WindowsSecurity:
        if path == str(WIN_FILE):
            return file
        assert path == str(WIN_FILE.parent), path
        return folder

    return read


def windows_problems(file: WindowsSecurity, folder: WindowsSecurity) -> list[str]:
    return policy_guard.problems(WIN_FILE, "win32", reader(file, folder))


def test_windows_a_file_and_folder_only_administrators_change_are_trusted() -> None:
    locked = WindowsSecurity(ADMINS, LOCKED)
    assert windows_problems(locked, WindowsSecurity(SYSTEM, LOCKED)) == []


@pytest.mark.parametrize(
    ("file", "folder", "said"),
    [
        (
            WindowsSecurity(ALICE, LOCKED),
            WindowsSecurity(ADMINS, LOCKED),
            f"the file is owned by {ALICE}",
        ),
        (
            WindowsSecurity(ADMINS, LOCKED),
            WindowsSecurity(ALICE, LOCKED),
            f"its folder is owned by {ALICE}",
        ),
        (
            WindowsSecurity(ADMINS, LOCKED),
            # ProgramData's own grant, inherited by a folder made in it: users may add files.
            WindowsSecurity(ADMINS, (*LOCKED, Ace(True, ADD_FILE | 0x4, USERS))),
            f"its folder may be changed by {USERS}",
        ),
        (
            WindowsSecurity(ADMINS, (*LOCKED, Ace(True, 0x40000000, ALICE))),
            WindowsSecurity(ADMINS, LOCKED),
            f"the file may be changed by {ALICE}",
        ),
        (
            WindowsSecurity(ADMINS, None),
            WindowsSecurity(ADMINS, LOCKED),
            "the file has no access control list",
        ),
    ],
)
def test_windows_what_a_user_owns_or_may_change_is_named(
    file: WindowsSecurity, folder: WindowsSecurity, said: str
) -> None:
    found = windows_problems(file, folder)
    assert said in found[0], found
    assert len(found) == 2 and "icacls" in found[-1] and "/setowner *S-1-5-32-544" in found[-1]


def test_windows_a_denied_or_inherit_only_grant_is_no_way_in() -> None:
    aces = (*LOCKED, Ace(False, FULL, USERS), Ace(True, FULL, ALICE, inherit_only=True))
    assert windows_problems(WindowsSecurity(ADMINS, aces), WindowsSecurity(ADMINS, LOCKED)) == []


def test_windows_permissions_that_cannot_be_read_refuse_the_file() -> None:
    def unreadable(path: str) -> WindowsSecurity:
        raise OSError(5, "Access is denied")

    found = policy_guard.problems(WIN_FILE, "win32", unreadable)
    assert found[0].startswith("the permissions of the file cannot be read")


def test_windows_the_refusal_stops_the_load_naming_the_file(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "policy.json", {"sync_interval_s": 120})
    owned = WindowsSecurity(ALICE, LOCKED)
    chosen = guarded(path, "win32", lambda _p: owned)
    with pytest.raises(PolicyError) as caught:
        load(chosen)
    assert caught.value.origin == str(path)
    assert f"is owned by {ALICE}, not an administrator" in caught.value.problems[0]
    assert caught.value.problems[1].startswith("to trust it, as an administrator: icacls")


# A link at the system location: whoever may remove or replace the file it leads to (or a folder
# on its way) may withdraw or change the policy, so the whole chain is held to the rules.
NOBODY = 65534


def linked_policy(tmp_path: Path) -> tuple[Path, Path]:
    """`<tmp>/etc/field-sync/policy.json` -> `<tmp>/x/p.json` (sync_interval_s 120)."""
    base = Path(os.path.realpath(tmp_path))
    target = write_policy(base / "x" / "p.json", {"sync_interval_s": 120})
    link = base / "etc" / "field-sync" / "policy.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    return link, target


def all_roots(*paths: Path) -> tuple[dict[Path, int], dict[Path, int]]:
    """Owners and modes making `paths` and every folder above them root's, written by no one
    else: folders 0755, files 0644."""
    owners: dict[Path, int] = {}
    modes: dict[Path, int] = {}
    for path in paths:
        for each in (path, *path.parents):
            owners[each] = 0
            modes[each] = 0o755 if each.is_dir() else 0o644
    return owners, modes


@posix
def test_a_link_to_a_file_whose_folder_root_owns_alone_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    link, target = linked_policy(tmp_path)
    owners, modes = all_roots(link, target)
    pretend(monkeypatch, owners, modes)
    assert policy_guard.problems(link, "linux") == []
    assert load(guarded(link))[0].values["sync_interval_s"] == 120


@posix
@pytest.mark.parametrize(
    ("where", "owner", "mode", "said"),
    [
        ("x", NOBODY, 0o755, f"of the file it links to is owned by user id {NOBODY}"),
        ("x", 0, 0o777, "of the file it links to may be written by its group or by others"),
        ("above", NOBODY, 0o755, f"above it is owned by user id {NOBODY}"),
        ("above", 0, 0o777, "above it may be written by its group or by others"),
    ],
)
def test_a_link_to_a_file_a_user_could_remove_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    where: str,
    owner: int,
    mode: int,
    said: str,
) -> None:
    link, target = linked_policy(tmp_path)
    owners, modes = all_roots(link, target)
    changed = target.parent if where == "x" else target.parent.parent
    owners[changed], modes[changed] = owner, mode
    pretend(monkeypatch, owners, modes)
    with pytest.raises(PolicyError) as caught:
        load(guarded(link))
    assert caught.value.origin == str(link)
    assert str(changed) in caught.value.problems[0] and said in caught.value.problems[0]
    assert caught.value.problems[1].startswith("to trust it, as root: chown root")
    assert str(target.parent) in caught.value.problems[1]


@posix
def test_a_sticky_folder_above_is_enough(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    link, target = linked_policy(tmp_path)
    owners, modes = all_roots(link, target)
    modes[target.parent.parent] = 0o1777  # as /tmp: only a name's owner may remove it
    pretend(monkeypatch, owners, modes)
    assert policy_guard.problems(link, "linux") == []


@posix
@pytest.mark.parametrize("guard", [True, False])
def test_a_link_whose_file_was_removed_cannot_be_read_and_is_no_missing_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, guard: bool
) -> None:
    link, target = linked_policy(tmp_path)
    owners, modes = all_roots(link, target)
    pretend(monkeypatch, owners, modes)
    chosen = guarded(link) if guard else PolicySources(files=(link,))
    assert load(chosen)[0].values["sync_interval_s"] == 120
    target.unlink()  # by whoever may write its folder
    with pytest.raises(PolicyError) as caught:
        load(chosen)
    assert caught.value.origin == str(link)
    assert caught.value.problems == [
        f"the file cannot be read (it is a link to {target}, which does not exist)"
    ]
    assert "cannot be used" in str(caught.value)


@posix
def test_a_folder_link_to_a_removed_folder_cannot_be_read(tmp_path: Path) -> None:
    base = Path(os.path.realpath(tmp_path))
    (base / "gone").mkdir()
    (base / "etc").mkdir()
    (base / "etc" / "field-sync").symlink_to(base / "gone")
    (base / "gone").rmdir()
    path = base / "etc" / "field-sync" / "policy.json"
    with pytest.raises(PolicyError, match="cannot be read") as caught:
        load(PolicySources(files=(path,)))
    assert "is a link to a folder that does not exist" in caught.value.problems[0]
    assert load(PolicySources(files=(base / "etc" / "policy.json",))) == load(PolicySources())


@posix
def test_a_policy_path_that_cannot_be_examined_cannot_be_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_policy(tmp_path / "policy.json", {"sync_interval_s": 120})

    def refused(_path: Any) -> os.stat_result:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sources.os, "lstat", refused)
    with pytest.raises(PolicyError, match=r"cannot be read \(Permission denied\)"):
        load(PolicySources(files=(path,)))
