"""Logging to a rotating file in the platform's log folder, with secrets and auth headers redacted.

The redaction filter sits on the handlers, so every record is cleaned whichever logger wrote it:
known secret values (registered when credentials are loaded) and the values of authentication
headers or fields by name, in the message, its arguments and any traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from agent.security.permissions import binary_flags

MASK = "***"
_SENSITIVE_NAMES = (
    r"secret|apiintegrationcode|integration_code|integrationcode|password|authorization"
)
_HEADER_RE = re.compile(
    rf"""(?P<key>["']?(?:{_SENSITIVE_NAMES})["']?\s*[:=]\s*)(?P<q>["']?)(?P<val>(?:Bearer\s+|Basic\s+)?[^"',&;\s}}\]]+)""",
    re.IGNORECASE,
)
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Make sure `value` is masked wherever it would appear in a log from now on."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return _HEADER_RE.sub(lambda m: f"{m.group('key')}{m.group('q')}{MASK}", text)


def mask_url_password(url: str) -> str:
    """`url` with the password of its user part (redis://user:secret@host) masked."""
    try:
        parts = urlsplit(url)
        if not parts.password:
            return url
    except ValueError:  # not a valid address: show none of what may be in it
        return MASK
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}{MASK}@{netloc}"))


class RedactingFilter(logging.Filter):
    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates each log file readable by the user only (0600 on POSIX). When the file cannot be
    written any more (disk full, folder made read-only), says so once on stderr in one line and
    sends warnings and errors there, instead of printing logging's traceback for every record."""

    _fallback: logging.Handler | None = None

    def _open(self):  # type: ignore[no-untyped-def]
        path = Path(self.baseFilename)
        if not path.exists():
            fd = os.open(path, binary_flags(os.O_CREAT | os.O_WRONLY | os.O_APPEND), 0o600)
            os.close(fd)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        fallback = self._fallback
        if fallback is None:
            super().emit(record)
        elif record.levelno >= logging.WARNING:
            fallback.handle(record)

    def close(self) -> None:
        try:
            super().close()
        except OSError as exc:  # the last buffered lines could not be written either
            if self._fallback is None:
                _warn(f"the log file {self.baseFilename} could not be closed ({exc.strerror})")

    def handleError(self, record: logging.LogRecord) -> None:
        if self._fallback is not None:
            return
        exc = sys.exc_info()[1]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
        _warn(
            f"the log file {self.baseFilename} cannot be written ({reason}); "
            "logging warnings and errors to stderr only"
        )
        fallback = logging.StreamHandler()
        fallback.setFormatter(self.formatter)
        self._fallback = fallback
        _state["log_file"] = None
        if record.levelno >= logging.WARNING:
            fallback.handle(record)


FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_state: dict[str, Path | None] = {"log_file": None}


def _warn(message: str) -> None:
    """One warning line on stderr, written directly: logging itself is what failed."""
    try:
        sys.stderr.write(f"warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # no usable stderr either (a closed pipe, a GUI process)
        pass


def configured() -> bool:
    """Whether `configure` ran in this process (the file may still have been unusable)."""
    return any(getattr(h, "_field_sync", False) for h in logging.getLogger().handlers)


def current_log_file() -> Path | None:
    """The file the agent is logging to, or None when it logs to stderr only (or not yet)."""
    return _state["log_file"]


def _file_handler(log_file: Path) -> logging.Handler | None:
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return PrivateRotatingFileHandler(
            log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8", errors="backslashreplace"
        )
    except OSError as exc:
        _warn(
            f"cannot write the log file {log_file} ({exc.strerror or type(exc).__name__}); "
            "logging warnings and errors to stderr only"
        )
        return None


def configure(log_file: Path, level: str = "INFO", *, console: bool = False) -> logging.Handler:
    """Send the agent's logs to `log_file` (5 files of 5 MB) and optionally to stderr.

    If the log folder or file cannot be written, the agent keeps working: one warning line on
    stderr, then warnings and errors go to stderr. Returns the file handler (or that stderr one).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_field_sync", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = _file_handler(log_file)
    _state["log_file"] = log_file if file_handler is not None else None
    handlers: list[logging.Handler] = []
    if file_handler is not None:
        handlers.append(file_handler)
    if console or file_handler is None:
        stream = logging.StreamHandler()
        stream.setLevel(logging.NOTSET if console else logging.WARNING)
        handlers.append(stream)
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(RedactingFilter())
        h._field_sync = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    return handlers[0]
