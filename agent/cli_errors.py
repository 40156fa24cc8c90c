"""What the command line says when a command fails: always one line on stderr and exit status 2.

Errors written for people (the store's, settings', credentials', the queue's, conflicts',
validation's, Autotask's) print their own message. An SQLite failure that reached here untyped
is named by its result code (disk full, read-only, cannot open). Anything else is a defect: its
traceback goes to the log file (or, when there is none, to a private file of its own in the
temporary folder) and the line says where that is.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from agent.cli_args import stderr_line

log = logging.getLogger("agent.cli")
EXIT_ERROR = 2


def _people_errors() -> tuple[type[BaseException], ...]:
    """The error classes whose message is meant for people (imported only once one happened)."""
    from agent.api.validation import EditRejected
    from agent.autotask.errors import AutotaskError
    from agent.credentials import CredentialError
    from agent.paths import InvalidProfileName
    from agent.queue.errors import QueueError
    from agent.resilience.errors import PipelineError
    from agent.security.errors import SecurityError
    from agent.settings import SettingsError
    from agent.store.errors import StoreError
    from agent.store.migrations import MigrationError
    from agent.sync.conflicts import ConflictError

    return (
        StoreError,
        MigrationError,
        SecurityError,
        CredentialError,
        SettingsError,
        InvalidProfileName,
        EditRejected,
        ConflictError,
        QueueError,
        AutotaskError,
        PipelineError,
    )


def _sqlite_cause(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind `exc` (peewee wraps it), if any."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, sqlite3.Error):
            return item
        todo.extend([item.__cause__, item.__context__, *item.args[:1]])
    return None


def _sqlite_message(error: sqlite3.Error, database: Path | None) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    where = str(database) if database else "the database"
    primary = code & 0xFF  # extended result codes carry the primary one in the low byte
    if primary == sqlite3.SQLITE_FULL:
        return (
            f"The disk holding {where} is full. Nothing was changed; free some space and try "
            "again. Nothing already saved was lost."
        )
    if primary == sqlite3.SQLITE_READONLY:
        return (
            f"The database {where} cannot be written: the file or its folder is read-only. "
            "Nothing was changed; make it writable (or use --data-dir) and try again."
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return f"The database {where} cannot be opened ({error}). Nothing was changed."
    if primary == sqlite3.SQLITE_IOERR:
        return f"The disk holding {where} reported an input/output error ({error})."
    return None


def _os_message(exc: OSError, database: Path | None) -> str:
    """A file the command needed could not be used (a folder that is not there, no space...)."""
    if exc.errno == errno.ENOSPC:
        where = exc.filename or (database.parent if database else None)
        holding = f" holding {where}" if where else ""
        return f"The disk{holding} is full ({exc.strerror}); free some space and try again."
    if exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror}"
    return f"{exc.strerror} ({errno.errorcode.get(exc.errno or 0, 'OSError')})"


def report(
    exc: BaseException, *, database: Path | None, open_log: Callable[[], None] = lambda: None
) -> int:
    """Say what went wrong in one line on stderr (the traceback of a defect to the log, which
    `open_log` opens first when the failure came before the command opened it)."""
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return report(exc.exceptions[0], database=database, open_log=open_log)
    if isinstance(exc, _people_errors()):
        from agent.api.validation import log_words

        log.info("command refused: %s", log_words(exc))
        stderr_line(f"error: {exc}")
        return EXIT_ERROR
    cause = _sqlite_cause(exc)
    message = _sqlite_message(cause, database) if cause is not None else None
    if message is not None:
        log.info("%s", message, exc_info=exc)
        stderr_line(f"error: {message}")
        return EXIT_ERROR
    if isinstance(exc, OSError) and exc.strerror:
        log.info("command failed: %s", exc, exc_info=exc)
        stderr_line(f"error: {_os_message(exc, database)}")
        return EXIT_ERROR
    open_log()
    from agent import logs

    written = logs.current_log_file()
    if written is not None:
        log.error("unexpected failure", exc_info=exc)
    else:  # no log file (its folder cannot be written): the traceback goes to a file of its own
        written = _spill(exc)
    detail = f"{type(exc).__name__}: {exc}"
    if len(detail) > 300:
        detail = detail[:300] + "..."
    where = f"the details are in {written}" if written else "no details could be written"
    stderr_line(f"error: an unexpected failure ({detail}); {where}")
    return EXIT_ERROR


def _spill(exc: BaseException) -> Path | None:
    """Write the traceback to a new private file in the temporary folder (None if impossible)."""
    from agent.logs import redact

    text = redact("".join(traceback.format_exception(exc)))  # as the log file would have it
    try:
        fd, name = tempfile.mkstemp(prefix="field-sync-error-", suffix=".txt")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
    except OSError:
        return None
    return Path(name)
