"""The diagnostics zip holds what support needs and never a secret or an authentication header."""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import logs
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.monitor import names
from agent.monitor.diagnostics import DiagnosticsParts, build_diagnostics, run_cli
from agent.monitor.registry import MetricsRegistry
from agent.monitor.series import SeriesStore
from agent.profile import Profile, open_profile
from agent.store.models import Alert, OpState, Priority
from tests.monitor.conftest import now
from tests.monitor.tables import add_conflict, add_op

SECRET = "Zq8-very-secret-value-91"
CODE = "INTEGRATION-CODE-4471-XK"
TICKET_TEXT = "Printer on fire, floor 3"


@pytest.fixture
def profile(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Profile]:
    p = open_profile(data_dir, "field")
    yield p
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_field_sync", False):
            logging.getLogger().removeHandler(handler)
            handler.close()
    p.close()


def read_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name).decode() for name in bundle.namelist()}


def test_no_file_in_the_bundle_holds_the_secret_or_the_integration_code(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile.credentials.save(ApiSecretBundle("tech@example.com", SECRET, CODE))
    # Forget what the log redaction learned: the bundle must find the secrets itself.
    monkeypatch.setattr(logs, "_secrets", set())
    log_file = profile.paths.log_file
    with log_file.open("a") as fh:  # lines written by an older version without redaction
        fh.write(f"request headers={{'ApiIntegrationCode': '{CODE}', 'Secret': '{SECRET}'}}\n")
        fh.write(f"Authorization: Bearer tok.en.value\nretrying with {SECRET} and {CODE}\n")
    log_file.with_name(log_file.name + ".1").write_text(f"old rotation: {SECRET}\n")
    profile.settings_repo.update(redis_url="rediss://fleet:hunter2pass@10.0.0.5:6379/0")
    add_op(profile.store, fields={"title": TICKET_TEXT})

    files = read_zip(run_cli(profile, tmp_path / "out"))

    assert {"logs/field.log", "logs/field.log.1", "settings.json", "queue.json"} <= set(files)
    for name, text in files.items():
        for leaked in (SECRET, CODE, "tok.en.value", "hunter2pass", TICKET_TEXT):
            assert leaked not in text, f"{leaked!r} found in {name}"
    assert "retrying with *** and ***" in files["logs/field.log"]
    assert "rediss://fleet@10.0.0.5:6379/0" in files["settings.json"]  # its password: keyring


def test_the_bundle_summarises_queue_conflicts_alerts_and_the_database(
    profile: Profile, tmp_path: Path, fake_clock: FakeClock
) -> None:
    store, t = profile.store, now(fake_clock)
    add_op(store, created_at=t - 600, priority=Priority.HIGH)
    add_op(store, created_at=t - 60, entity_type="TimeEntry")
    add_op(store, state=OpState.PARKED, error_category="validation")
    add_conflict(store)
    add_conflict(store, status="resolved", field="status")
    store.write(
        lambda: Alert.create(
            rule="queue_stuck",
            key="queue_stuck",
            severity="warning",
            message="waiting 62 min",
            first_seen=t,
            last_seen=t,
        )
    )
    series = SeriesStore(store, fake_clock)
    for i in range(12):
        series.append(now(fake_clock), {"queue_depth{state=pending}": float(i)})
        fake_clock.advance(10)
    registry = MetricsRegistry()
    names.API_LATENCY.on(registry).labels(endpoint="Tickets").observe(0.2)
    parts = DiagnosticsParts.from_profile(
        profile, clock=fake_clock, registry=registry, health={"status": "degraded"}
    )

    files = read_zip(build_diagnostics(parts, tmp_path / "diag.zip"))

    queue = json.loads(files["queue.json"])
    assert queue["by_state"] == {"pending": 2, "parked": 1}
    assert queue["by_priority"] == {"high": 1, "normal": 2}
    assert queue["by_entity"] == {"Ticket": 2, "TimeEntry": 1}
    assert queue["by_error_category"] == {"validation": 1}
    assert queue["oldest_waiting_age_s"] == pytest.approx(600 + 120)
    conflicts = json.loads(files["conflicts.json"])
    assert conflicts["by_status"] == {"open": 1, "resolved": 1}
    assert conflicts["open_by_field"] == {"Ticket.title": 1}
    assert json.loads(files["alerts.json"])[0]["message"] == "waiting 62 min"
    database = json.loads(files["database.json"])
    assert database["integrity_check"] == "ok" and database["schema_version"] >= 1
    assert json.loads(files["health.json"]) == {"status": "degraded"}
    versions = json.loads(files["versions.json"])
    assert {"agent", "python", "platform", "sqlite"} <= set(versions)
    csv_lines = files["metrics/series.csv"].splitlines()
    assert csv_lines[0] == "series,at,value" and len(csv_lines) == 1 + 2
    assert csv_lines[1].startswith("queue_depth{state=pending},")
    assert "api_latency_seconds" in files["metrics/registry.json"]
    assert "queue.json" in files["README.txt"]


def test_without_given_health_the_bundle_collects_it_from_the_database(
    profile: Profile, tmp_path: Path
) -> None:
    out = build_diagnostics(profile, tmp_path)
    assert out.parent == tmp_path and out.name.startswith("fieldsync-diagnostics-")
    health = json.loads(read_zip(out)["health.json"])
    assert health["database_ok"] is True and health["active_alerts"] == 0
