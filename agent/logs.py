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
import threading
from pathlib import Path

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
    """Creates each log file readable by the user only (0600 on POSIX)."""

    def _open(self):  # type: ignore[no-untyped-def]
        path = Path(self.baseFilename)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
            os.close(fd)
        return super()._open()


FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(log_file: Path, level: str = "INFO", *, console: bool = False) -> logging.Handler:
    """Send the agent's logs to `log_file` (5 files of 5 MB) and optionally to stderr."""
    log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_field_sync", False):
            root.removeHandler(handler)
            handler.close()
    handler = PrivateRotatingFileHandler(
        log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [handler]
    if console:
        handlers.append(logging.StreamHandler())
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(RedactingFilter())
        h._field_sync = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    return handler
