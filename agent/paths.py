"""Where the agent keeps its data and logs: platformdirs, overridden by `--data-dir` or the env.

Precedence: an explicit `--data-dir`, then `FIELD_SYNC_DATA_DIR`, then the platform's user data
directory. With an override, logs live in `<data-dir>/logs` so a portable folder holds everything.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from agent.store.errors import DatabaseReadOnlyError, DiskFullError, StoreError

APP_NAME = "FieldSync"
APP_AUTHOR = "FieldSync"
ENV_DATA_DIR = "FIELD_SYNC_DATA_DIR"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class InvalidProfileName(ValueError):
    pass


class DataDirError(StoreError):
    """The data folder cannot be used (not a folder, no permission, an impossible name)."""

    def __init__(self, folder: object, reason: str) -> None:
        super().__init__(
            f"The data folder {folder!r} cannot be used ({reason}). Choose another with "
            f"--data-dir or {ENV_DATA_DIR}."
        )


def folder_error(exc: OSError, folder: Path) -> StoreError:
    """What an OS error on one of the data folders means: a full disk and a read-only folder are
    said as such (nothing is damaged); anything else, that the folder cannot be used."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(folder, opening=True)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return DatabaseReadOnlyError(folder, where="the folder")
    return DataDirError(str(folder), exc.strerror or type(exc).__name__)


@dataclass(frozen=True)
class AgentPaths:
    data_dir: Path
    log_dir: Path
    profile: str

    @property
    def profile_dir(self) -> Path:
        return self.data_dir / "profiles" / self.profile

    @property
    def database(self) -> Path:
        return self.profile_dir / "agent.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.profile}.log"

    def ensure(self) -> AgentPaths:
        """Create the folders, readable by the user only (0700 on POSIX)."""
        for folder in (self.data_dir, self.profile_dir, self.log_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise folder_error(exc, folder) from None
        return self


def resolve(data_dir: str | os.PathLike[str] | None = None, profile: str = "default") -> AgentPaths:
    if not _PROFILE_RE.match(profile):
        raise InvalidProfileName(
            f"Profile names use letters, digits, '.', '_' and '-' (got {profile!r})."
        )
    override = data_dir or os.environ.get(ENV_DATA_DIR)
    if override:
        try:
            root = Path(override).expanduser().resolve()
        except (ValueError, OSError, RuntimeError) as exc:  # a NUL byte, a symlink loop
            raise DataDirError(str(override), str(exc)) from None
        return AgentPaths(data_dir=root, log_dir=root / "logs", profile=profile)
    return AgentPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
        profile=profile,
    )
