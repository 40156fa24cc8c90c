"""Where the administrator's policy is read from, and how the sources combine.

Sources, the first that sets a key winning:

1. the channel of the platform's management tools: on Windows the registry key
   `HKLM\\SOFTWARE\\Policies\\FieldSync` (Group Policy, Intune), on macOS the managed
   preferences `/Library/Managed Preferences/com.fieldsync.FieldSync.plist` (an MDM profile),
   held to the same ownership check as the system file below;
2. the policy file in the system location: `%ProgramData%\\FieldSync\\policy.json` (where the
   Windows installer's `/POLICY` puts the file it is given), `/Library/Application
   Support/FieldSync/policy.json`, `/etc/field-sync/policy.json`; refused when anyone but an
   administrator owns or may change it or its folder (agent/config/policy_guard.py);
3. the policy file beside the frozen program (`policy.json` in the folder of the executable),
   copied there by an administrator by hand; the installer never writes it.

Each source is checked whole; one that cannot be read or holds a bad value stops the start with
a message naming it (a policy half applied could leave encryption or a limit the administrator
set unenforced).
"""

from __future__ import annotations

import importlib
import json
import os
import plistlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.config import policy_guard
from agent.config.policy import KEYS, Policy, PolicyError, PolicySecrets, parse

POLICY_FILE = "policy.json"
BUNDLE_ID = "com.fieldsync.FieldSync"
REGISTRY_KEY = r"SOFTWARE\Policies\FieldSync"
MANAGED_PLIST = Path("/Library/Managed Preferences") / f"{BUNDLE_ID}.plist"
MAX_POLICY_BYTES = 1_000_000


class RegistryReader(Protocol):
    """Reads the values of one key under HKEY_LOCAL_MACHINE: name -> value (str or int), or
    None when the key does not exist."""

    def __call__(self, path: str) -> Mapping[str, Any] | None: ...


def winreg_reader(path: str) -> Mapping[str, Any] | None:
    """The real registry, through `winreg` (Windows only; elsewhere: no key)."""
    try:
        winreg: Any = importlib.import_module("winreg")
    except ImportError:
        return None
    try:
        handle = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path, 0, winreg.KEY_READ)
    except OSError:  # no such key
        return None
    values: dict[str, Any] = {}
    with handle:
        index = 0
        while True:
            try:
                name, value, kind = winreg.EnumValue(handle, index)
            except OSError:  # no more values
                break
            index += 1
            if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ, winreg.REG_DWORD, winreg.REG_QWORD):
                values[name] = value
            else:
                values[name] = _Unsupported(kind)
    return values


@dataclass(frozen=True)
class _Unsupported:
    """A registry value of a type a policy never uses (binary, multi-string)."""

    kind: int

    def __repr__(self) -> str:
        return f"a registry value of type {self.kind} (use REG_SZ or REG_DWORD)"


def _frozen_folder() -> Path | None:
    """The folder of the installed program (a frozen build); None when run from source."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return None


def system_policy_file(platform: str = sys.platform, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if platform.startswith("win"):
        base = env.get("ProgramData") or env.get("PROGRAMDATA") or r"C:\ProgramData"
        return Path(base) / "FieldSync" / POLICY_FILE
    if platform == "darwin":
        return Path("/Library/Application Support/FieldSync") / POLICY_FILE
    return Path("/etc/field-sync") / POLICY_FILE


@dataclass(frozen=True)
class PolicySources:
    """Where to look; the default is this computer's (`for_this_computer`)."""

    files: Sequence[Path] = ()  # first wins
    registry: RegistryReader | None = None
    managed_plist: Path | None = None
    # Files only administrators may be able to change (the system policy file, the managed
    # preferences): `guard` lists what lets anyone else.
    guarded: frozenset[Path] = frozenset()
    guard: Callable[[Path], Sequence[str]] | None = None

    @classmethod
    def for_this_computer(cls, platform: str = sys.platform) -> PolicySources:
        beside = _frozen_folder()
        system = system_policy_file(platform)
        files = [system]
        if beside is not None:
            files.append(beside / POLICY_FILE)
        plist = MANAGED_PLIST if platform == "darwin" else None
        return cls(
            files=tuple(files),
            registry=winreg_reader if platform.startswith("win") else None,
            managed_plist=plist,
            guarded=frozenset({system} if plist is None else {system, plist}),
            guard=lambda path: policy_guard.problems(path, platform),
        )

    @classmethod
    def none(cls) -> PolicySources:
        return cls()


# Where `load` looks when not told: tests point it elsewhere.
default_sources: Callable[[], PolicySources] = PolicySources.for_this_computer


def read_file(path: Path) -> tuple[Policy, PolicySecrets]:
    """One policy file (JSON, or a plist when it is one), checked whole."""
    origin = str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(origin, [f"the file cannot be read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(origin, ["the file is larger than a policy can be (1 MB)"])
    if data.lstrip().startswith((b"<?xml", b"bplist")):
        return _from_plist(data, origin)
    twice: list[str] = []
    try:
        raw = json.loads(
            data.decode("utf-8-sig"),
            parse_constant=_no_constant,
            object_pairs_hook=lambda pairs: _once(pairs, twice),
        )
    except UnicodeDecodeError:
        raise PolicyError(origin, ["the file is not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(
            origin, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from None
    except ValueError as exc:
        raise PolicyError(origin, [str(exc)]) from None
    except RecursionError:
        raise PolicyError(origin, [TOO_DEEP]) from None
    if twice:
        raise PolicyError(origin, [_given_twice(key) for key in twice])
    if not isinstance(raw, dict):
        raise PolicyError(origin, ['a policy is a JSON object: { "key": value, ... }'])
    try:
        return parse(raw, origin)
    except RecursionError:  # a value nested nearly as deep as the reader could follow
        raise PolicyError(origin, [TOO_DEEP]) from None


TOO_DEEP = "the file is nested too deeply to be a policy (a policy is a flat set of keys)"


def _given_twice(key: str) -> str:
    return f"the key {key!r} is given more than once (give each key once)"


def _once(pairs: list[tuple[str, Any]], twice: list[str]) -> dict[str, Any]:
    """A JSON object's keys and values; a key given again is noted in `twice` (the last would
    otherwise win without a word)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and key not in twice:
            twice.append(key)
        out[key] = value
    return out


class _OnceDict(dict[Any, Any]):
    """A property list's dictionary that refuses a key given twice."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self:
            raise ValueError(_given_twice(str(key)))
        super().__setitem__(key, value)


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not a value a policy can hold")


def _from_plist(data: bytes, origin: str) -> tuple[Policy, PolicySecrets]:
    try:
        raw = plistlib.loads(data, dict_type=_OnceDict)
    except RecursionError:
        raise PolicyError(origin, [TOO_DEEP]) from None
    except ValueError as exc:
        if str(exc).startswith("the key "):
            raise PolicyError(origin, [str(exc)]) from None
        raise PolicyError(origin, [f"not a readable property list ({exc})"]) from None
    except (plistlib.InvalidFileException, OverflowError) as exc:
        raise PolicyError(origin, [f"not a readable property list ({exc})"]) from None
    if not isinstance(raw, dict):
        raise PolicyError(origin, ["a managed preferences file holds a dictionary of keys"])
    # MDM tools add keys of their own to what they deliver; only ours are read.
    ours = {k: v for k, v in raw.items() if not str(k).startswith(("Payload", "PayloadUUID"))}
    try:
        return parse(ours, origin)
    except RecursionError:
        raise PolicyError(origin, [TOO_DEEP]) from None


def read_registry(reader: RegistryReader) -> tuple[Policy, PolicySecrets] | None:
    values = reader(REGISTRY_KEY)
    if values is None:
        return None
    # Windows matches value names without regard to case; the unnamed default value is no key.
    named = {(k.lower() if k.lower() in KEYS else k): v for k, v in values.items() if k}
    return parse(named, f"HKLM\\{REGISTRY_KEY}", text_numbers=True)


def load(sources: PolicySources | None = None) -> tuple[Policy, PolicySecrets]:
    """The policy of this computer: every source read and checked, then combined."""
    sources = sources if sources is not None else default_sources()
    found: list[tuple[Policy, PolicySecrets]] = []
    if sources.registry is not None:
        from_registry = read_registry(sources.registry)
        if from_registry is not None:
            found.append(from_registry)
    if sources.managed_plist is not None and _present(sources.managed_plist):
        _refuse_unless_trusted(sources, sources.managed_plist)
        found.append(read_file(sources.managed_plist))
    for path in sources.files:
        if _present(path):
            _refuse_unless_trusted(sources, path)
            found.append(read_file(path))
    policy, secrets = Policy(), PolicySecrets()
    for higher in reversed(found):  # from the lowest source up: the higher one wins each key
        policy, secrets = higher[0].merged_over(policy), higher[1].merged_over(secrets)
    return policy, secrets


def _present(path: Path) -> bool:
    """Whether there is a policy at `path`: False only when nothing is there. A link to a file
    that is missing (or a folder link to a folder that is), or a path that cannot be examined,
    is a policy that cannot be read: whoever removed the file it leads to must not withdraw the
    policy by it."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        dangling = [p for p in Path(os.path.abspath(path)).parents if _dangling(p)]
        if not dangling:
            return False
        why = f"{dangling[0]} is a link to a folder that does not exist"
        raise PolicyError(str(path), [f"the file cannot be read ({why})"]) from None
    except OSError as exc:
        raise PolicyError(str(path), [f"the file cannot be read ({exc.strerror or exc})"]) from None
    try:
        os.stat(path)
    except OSError as exc:
        why = (
            f"it is a link to {os.path.realpath(path)}, which does not exist"
            if isinstance(exc, FileNotFoundError)
            else exc.strerror or str(exc)
        )
        raise PolicyError(str(path), [f"the file cannot be read ({why})"]) from None
    return True


def _dangling(path: Path) -> bool:
    return os.path.islink(path) and not os.path.exists(path)


def _refuse_unless_trusted(sources: PolicySources, path: Path) -> None:
    """Stop when `path` is one only administrators may change, yet someone else may."""
    if sources.guard is None or path not in sources.guarded:
        return
    problems = list(sources.guard(path))
    if problems:
        *faults, fix = problems
        said = f"only administrators may be able to change it, but {'; '.join(faults)}"
        raise PolicyError(str(path), [said, f"to trust it, {fix}"])


def load_policy(sources: PolicySources | None = None) -> Policy:
    """The policy without its secrets (for what only reads: a check, the window)."""
    return load(sources)[0]
