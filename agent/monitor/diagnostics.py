"""The diagnostics bundle: one zip a support engineer can read, with no secret in it.

It holds recent logs, metric series, health, alerts, settings, queue and conflict summaries
(counts only: no field values of tickets), the tally of records from Autotask that were skipped
(entity, field and fault: no values), the database's integrity result and versions. Every
file passes through one cleaning step on its way into the zip: the profile's own secret and
integration code are masked by value, then `agent.logs.redact` masks every known secret and the
values of authentication headers, so a log written before redaction existed is cleaned too.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import platform
import shutil
import sqlite3
import sys
import time
import zipfile
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from agent import __version__, logs
from agent.clock import SYSTEM_CLOCK, Clock
from agent.credentials import CredentialError, CredentialStore
from agent.monitor.registry import MetricsRegistry
from agent.monitor.series import ROLLUP, SeriesStore
from agent.profile import Profile
from agent.security.permissions import binary_flags
from agent.settings import Settings
from agent.store import screened
from agent.store.connection import Store
from agent.store.models import Alert, Conflict, OpState, OutboxOp, Priority

log = logging.getLogger(__name__)

MAX_LOG_BYTES = 10_000_000  # newest first, across the log file and its rotations
METRICS_HOURS = 24.0
ALERT_ROWS = 500


@dataclass
class DiagnosticsParts:
    """What a bundle is built from when there is no whole `Profile` at hand."""

    store: Store
    log_files: Sequence[Path] = ()
    settings: Settings | None = None
    credentials: CredentialStore | None = None
    health: Mapping[str, Any] | None = None
    registry: MetricsRegistry | None = None
    clock: Clock = SYSTEM_CLOCK
    profile_name: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, profile: Profile, **overrides: Any) -> DiagnosticsParts:
        base = profile.paths.log_file
        rotated = [base.with_name(f"{base.name}.{n}") for n in range(1, 6)]
        parts = cls(
            store=profile.store,
            log_files=[base, *rotated],
            settings=profile.settings,
            credentials=profile.credentials,
            profile_name=profile.paths.profile,
        )
        for name, value in overrides.items():
            setattr(parts, name, value)
        return parts


class _Cleaner:
    """Masks the profile's secrets by value, then everything `logs.redact` knows."""

    def __init__(self, credentials: CredentialStore | None) -> None:
        self.values: list[str] = []
        if credentials is not None:
            try:
                bundle = credentials.load()  # also registers both with the log redaction
            except CredentialError:
                return
            self.values = sorted(
                {v for v in (bundle.secret, bundle.integration_code) if v}, key=len, reverse=True
            )

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, logs.MASK)
        return logs.redact(text)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _tail(path: Path, limit: int) -> str:
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    if size > limit:  # drop the partial first line
        text = "[... earlier lines left out ...]\n" + text.split("\n", 1)[-1]
    return text


def _settings(settings: Settings | None) -> dict[str, Any]:
    if settings is None:
        return {}
    values = asdict(settings)
    url = values.get("redis_url")
    if url:
        values["redis_url"] = logs.mask_url_password(url)
    return values


def queue_summary(store: Store, now: float) -> dict[str, Any]:
    """Counts of outbox operations by state, priority, entity and error category."""

    def read() -> dict[str, Any]:
        rows = list(
            OutboxOp.select(
                OutboxOp.state,
                OutboxOp.priority,
                OutboxOp.entity_type,
                OutboxOp.kind,
                OutboxOp.error_category,
                OutboxOp.outcome_unknown,
                OutboxOp.attempts,
                OutboxOp.created_at,
            ).tuples()
        )
        waiting = [r[7] for r in rows if r[0] in (OpState.PENDING, OpState.LEASED)]
        return {
            "total": len(rows),
            "by_state": dict(Tally(r[0] for r in rows)),
            "by_priority": dict(Tally(Priority(r[1]).name.lower() for r in rows)),
            "by_entity": dict(Tally(r[2] for r in rows)),
            "by_kind": dict(Tally(r[3] for r in rows)),
            "by_error_category": dict(Tally(r[4] for r in rows if r[4])),
            "outcome_unknown": sum(1 for r in rows if r[5]),
            "max_attempts": max((r[6] for r in rows), default=0),
            "oldest_waiting_age_s": (now - min(waiting)) if waiting else None,
        }

    return store.read(read)


def conflict_summary(store: Store) -> dict[str, Any]:
    """Counts of conflicts by status, entity, kind, and field name (never their values)."""

    def read() -> dict[str, Any]:
        rows = list(
            Conflict.select(
                Conflict.status, Conflict.entity_type, Conflict.kind, Conflict.field
            ).tuples()
        )
        open_rows = [r for r in rows if r[0] == "open"]
        return {
            "total": len(rows),
            "by_status": dict(Tally(r[0] for r in rows)),
            "open_by_entity": dict(Tally(r[1] for r in open_rows)),
            "open_by_kind": dict(Tally(r[2] for r in open_rows)),
            "open_by_field": dict(Tally(f"{r[1]}.{r[3]}" for r in open_rows)),
        }

    return store.read(read)


def _alerts(store: Store) -> list[dict[str, Any]]:
    fields = ("id", "rule", "key", "severity", "message", "state", "first_seen", "last_seen")
    return store.read(
        lambda: [
            {**{f: getattr(a, f) for f in fields}, "resolved_at": a.resolved_at, "data": a.data}
            for a in Alert.select().order_by(Alert.id.desc()).limit(ALERT_ROWS)
        ]
    )


def _metrics_csv(store: Store, clock: Clock) -> str:
    series = SeriesStore(store, clock)
    now = series.now()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["series", "at", "value"])
    for key in series.series_keys():
        for p in series.series(key, now - METRICS_HOURS * 3600, now, resolution=ROLLUP):
            writer.writerow([key, f"{p.at:.0f}", repr(p.value)])
    return out.getvalue()


def _database(store: Store) -> dict[str, Any]:
    sizes = {}
    for suffix in ("", "-wal"):
        path = store.path.with_name(store.path.name + suffix)
        sizes[f"file{suffix or ''}_bytes"] = path.stat().st_size if path.exists() else 0
    return {
        "path": str(store.path),
        "integrity_check": store.integrity_check(),
        "schema_version": store.schema_version(),
        "durability": str(store.durability),
        "disk_free_bytes": shutil.disk_usage(store.path.parent).free,
        "recovery": store.recovery.message if store.recovery else None,
        **sizes,
    }


def _versions() -> dict[str, Any]:
    found: dict[str, Any] = {
        "agent": __version__,
        "python": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
    }
    for package in ("peewee", "httpx", "keyring", "prometheus-client", "psutil", "PySide6"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _collected_health(store: Store, database: Mapping[str, Any]) -> dict[str, Any]:
    active = store.read(lambda: Alert.select().where(Alert.state == "active").count())
    return {
        "database_ok": database["integrity_check"] == "ok",
        "disk_free_bytes": database["disk_free_bytes"],
        "active_alerts": active,
        "note": "collected from the database only; the running agent's health was not given",
    }


def build_diagnostics(source: Profile | DiagnosticsParts, out_path: Path) -> Path:
    """Write the bundle to `out_path` (a folder gets a time-stamped file name); returns its path."""
    parts = (
        source if isinstance(source, DiagnosticsParts) else DiagnosticsParts.from_profile(source)
    )
    now = parts.clock.now().timestamp()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    if out_path.is_dir():
        out_path = out_path / f"fieldsync-diagnostics-{stamp}.zip"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    clean = _Cleaner(parts.credentials)
    database = _database(parts.store)
    files: dict[str, str] = {
        "versions.json": _json(_versions()),
        "database.json": _json(database),
        "health.json": _json(
            dict(parts.health) if parts.health else _collected_health(parts.store, database)
        ),
        "alerts.json": _json(_alerts(parts.store)),
        "settings.json": _json(_settings(parts.settings)),
        "queue.json": _json(queue_summary(parts.store, now)),
        "conflicts.json": _json(conflict_summary(parts.store)),
        "server_records.json": _json(parts.store.read(screened.summary).to_dict()),
        "metrics/series.csv": _metrics_csv(parts.store, parts.clock),
    }
    if parts.registry is not None:
        files["metrics/registry.json"] = _json(_registry(parts.registry))
    for name, value in parts.extra.items():
        files[f"extra/{name}.json"] = _json(value)
    budget = MAX_LOG_BYTES
    for path in parts.log_files:
        if budget <= 0 or not path.is_file():
            continue
        text = _tail(path, budget)
        files[f"logs/{path.name}"] = text
        budget -= len(text)
    files["README.txt"] = _readme(parts.profile_name, stamp, sorted(files))
    partial = out_path.with_name(out_path.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created readable by the user only: the bundle holds logs and the database's health.
    fd = os.open(partial, binary_flags(os.O_CREAT | os.O_EXCL | os.O_WRONLY), 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in files.items():
            bundle.writestr(name, clean(text))
    partial.replace(out_path)
    log.info("diagnostics written to %s", out_path)
    return out_path


def _registry(registry: MetricsRegistry) -> list[dict[str, Any]]:
    out = []
    for family in registry.snapshot():
        values = {",".join(k) or "-": v for k, v in family.values.items()}
        summaries = {",".join(k) or "-": asdict(q) for k, q in family.summaries.items()}
        out.append(
            {
                "name": family.name,
                "kind": str(family.kind),
                "values": values,
                "summaries": summaries,
            }
        )
    return out


def _readme(profile: str, stamp: str, names: list[str]) -> str:
    listing = "\n".join(f"  {n}" for n in [*names, "README.txt"])
    return (
        f"Field Sync for Autotask {__version__} diagnostics, profile '{profile}', {stamp}\n\n"
        "Secrets, integration codes and authentication headers are masked as ***.\n"
        "Queue, conflict and server record files hold counts only, never ticket contents.\n"
        "Times are UTC seconds since the epoch.\n\nFiles:\n" + listing + "\n"
    )


def run_cli(profile: Profile, out_path: Path) -> Path:
    """What `autotask-agent diagnostics OUT` calls: build the bundle from the open profile."""
    return build_diagnostics(profile, Path(out_path))
