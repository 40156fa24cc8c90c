"""Resolving a conflict with any typed-in value: a typed refusal (the conflict stays open and
untouched) or an acceptance (the chosen value is queued) and in both cases neither the conflict
nor the losing value is lost."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.api.facade import Agent, AgentOptions
from agent.api.validation import EditRejected
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.profile import open_profile
from agent.queue import SQLiteBackend
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.store import audit
from agent.store.models import AuditEvent, Conflict, ConflictStatus, OpState, OutboxOp
from agent.sync.conflicts import ConflictDesk, ConflictError

values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), min_size=1, max_size=60),
    st.integers(0, 30),
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=50),
    st.text(min_size=3000, max_size=9000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["", "   ", "2026-02-01T10:00:00Z", "not a date", "1", "0"]),
)
FIELDS = ["title", "description", "status", "priority", "dueDateTime", "queueID", "nonsense"]


async def _first_sync(data_dir: Path) -> int:
    clock = FakeClock()
    sim = Simulator(seed="conflict-fuzz", tickets=20, clock=clock)
    sim.limits.latency_enabled = False

    async def online() -> bool:
        return True

    agent = await Agent.open(
        AgentOptions(
            data_dir=data_dir,
            directory_url="http://sim.test/ATServicesRest/",
            transport=httpx.ASGITransport(app=sim.app),
            clock=clock,
            credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            technician_resource_id=sim.technician_resource_id,
            probe=online,
            sample_metrics=False,
        )
    )
    try:
        await agent.sync_now()
        return (await agent.my_tickets())[0].id
    finally:
        await agent.close()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_any_typed_value_is_refused_cleanly_or_accepted_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    ticket = asyncio.run(_first_sync(tmp_path))
    profile = open_profile(tmp_path, "default")
    clock = FakeClock()
    outbox = SQLiteBackend(profile.store, clock)
    desk = ConflictDesk(profile.store, outbox, clock)

    def new_conflict(field: str) -> int:
        def run() -> int:
            op = OutboxOp.create(
                kind="update",
                entity_type="Tickets",
                target_id=ticket,
                fields={field: "mine"},
                base={field: "base"},
                state=OpState.CONFLICT,
                created_at=1.0,
                updated_at=1.0,
                fingerprint="c" * 64,
            )
            c = Conflict.create(
                op=op,
                entity_type="Tickets",
                entity_id=ticket,
                field=field,
                base="base",
                mine="mine",
                theirs="theirs",
                detected_at=1.0,
            )
            return int(c.id)

        return profile.store.write(run)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(FIELDS), values)
    def check(field: str, value: Any) -> None:
        cid = new_conflict(field)
        refused = False
        try:
            desk.resolve(cid, "value", value)
        except (EditRejected, ConflictError) as exc:
            refused = bool(str(exc))
            assert refused
        row = profile.store.read(lambda: Conflict.get_by_id(cid))
        assert (row.base, row.mine, row.theirs) == ("base", "mine", "theirs")
        if refused:
            assert row.status == ConflictStatus.OPEN and row.resolved_value is None
            return
        assert row.status == ConflictStatus.RESOLVED and _same(row.resolved_value, value)
        event = profile.store.read(
            lambda: (
                AuditEvent.select()
                .where(AuditEvent.action == "conflict_resolved")
                .order_by(AuditEvent.id.desc())
                .get()
            )
        )
        detail = audit.detail_of(event)
        assert detail["losing"] == "theirs" and detail["mine"] == "mine"
        op = outbox.get(row.op_id)
        assert op is not None and _same(op.fields[field], value)

    try:
        check()
    finally:
        profile.close()
