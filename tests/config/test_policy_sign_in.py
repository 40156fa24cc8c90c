"""Rolling out from a policy, end to end against the simulator on a real loopback socket: the
agent starts with the administrator's directory and sign-in, the technician gives only their
e-mail, and it syncs at the policy's pace; after a sign-out the e-mail is again all it takes."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator, serve
from tests.config.helpers import use_policy, write_policy
from tests.security.keyring_helpers import service


async def _online() -> bool:
    return True


def _simulator() -> Simulator:
    sim = Simulator(seed="policy", tickets=5, threshold=10_000_000)
    sim.limits.latency_enabled = False
    return sim


def _policy(tmp_path: Path, base: str, **more: object) -> Path:
    return write_policy(
        tmp_path / "etc" / "policy.json",
        {
            "directory": base + "/ATServicesRest/",
            "api_user": DEMO_USERNAME,
            "api_secret": DEMO_SECRET,
            "integration_code": DEMO_INTEGRATION_CODE,
            "sync_interval_s": 900,
            **more,
        },
    )


async def _open(data: Path) -> Agent:
    return await Agent.open(
        AgentOptions(data_dir=data, clock=FakeClock(), probe=_online, sample_metrics=False)
    )


async def test_the_technician_only_confirms_their_e_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = _simulator()
    data = tmp_path / "data"
    async with serve(sim) as base:
        use_policy(monkeypatch, [_policy(tmp_path, base)])
        agent = await _open(data)
        try:
            assert agent.engine is None  # who the technician is, only they can say
            assert agent.policy.credential_entries == {"username", "secret", "integration_code"}
            email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
            tested = await agent.test_sign_in("", "", "")
            assert tested.ok, tested.message
            result = await agent.sign_in("", "", "", email)
            assert result.ok, result.message
            assert agent.settings.technician_resource_id == sim.technician_resource_id
            assert agent.settings.sync_interval_s == 900
            report = await agent.sync_now()
            assert report is not None and report.error is None
            assert len(await agent.my_tickets()) > 0

            await agent.sign_out()
            assert keyring.get_password(service(data), "secret") is None
            again = await agent.sign_in("", "", "", email)  # the policy gives it back
            assert again.ok, again.message
            assert keyring.get_password(service(data), "secret") == DEMO_SECRET
        finally:
            await agent.close()


async def test_an_unknown_e_mail_is_said_and_nothing_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = _simulator()
    data = tmp_path / "data"
    async with serve(sim) as base:
        use_policy(monkeypatch, [_policy(tmp_path, base)])
        agent = await _open(data)
        try:
            result = await agent.sign_in("", "", "", "nobody@nowhere.example")
            assert not result.ok and "no active resource" in result.message
            assert agent.settings.technician_resource_id is None and agent.engine is None
        finally:
            await agent.close()


async def test_a_policy_that_gives_part_of_the_sign_in_takes_the_rest_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = _simulator()
    data = tmp_path / "data"
    async with serve(sim) as base:
        path = write_policy(
            tmp_path / "policy.json",
            {"directory": base + "/ATServicesRest/", "integration_code": DEMO_INTEGRATION_CODE},
        )
        use_policy(monkeypatch, [path])
        agent = await _open(data)
        try:
            email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
            wrong = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET + "-typo", "ignored", email)
            assert not wrong.ok and wrong.kind == "wrong_secret"
            result = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET, "ignored", email)
            assert result.ok, result.message
            kept = keyring.get_password(service(data), "integration_code")
            assert kept == DEMO_INTEGRATION_CODE
        finally:
            await agent.close()
