"""Only the built-in demo tenant (started by `--demo`) is a demo: naming a profile "demo" (in any
case) gives no profile the demo's exemptions (data in clear, no policy, an unkeyed audit trail),
and the demo itself cannot be signed in to a real directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keyring
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.cli import main
from agent.clock import FakeClock
from agent.paths import InvalidProfileName
from agent.profile import open_profile
from agent.security.encryption import Protection
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.e2e.conftest import options
from tests.security.helpers import fill

RESERVED = ["demo", "Demo", "DEMO", "dEmO"]


@pytest.mark.parametrize("name", RESERVED)
def test_a_profile_named_demo_without_the_demo_tenant_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidProfileName, match="--demo") as caught:
        open_profile(tmp_path, name)
    assert "demo" in str(caught.value).lower()
    assert not (tmp_path / "profiles" / name).exists(), "nothing is created"


@pytest.mark.parametrize("name", RESERVED)
async def test_an_agent_on_a_profile_named_demo_is_refused_before_any_sign_in(
    tmp_path: Path, name: str
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="named-demo", tickets=3, clock=clock)
    sim.limits.latency_enabled = False
    real = dataclasses.replace(options(sim, clock, tmp_path), profile=name, credentials=None)
    with pytest.raises(InvalidProfileName, match="--demo"):
        await Agent.open(real)


def test_the_demo_flag_belongs_to_the_demo_profile_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="demo"):
        open_profile(tmp_path, "work", demo=True)


def test_a_profile_whose_name_merely_contains_demo_is_a_real_encrypted_profile(
    tmp_path: Path,
) -> None:
    p = open_profile(tmp_path, "demo-customer")
    try:
        fill(p)
        assert p.protection is Protection.ENCRYPTED
        assert p.audit_chain is not None, "its audit trail is keyed"
    finally:
        p.close()


def test_the_demo_tenants_profile_stays_the_demo(tmp_path: Path) -> None:
    p = open_profile(tmp_path, "demo", demo=True)
    try:
        assert p.protection is Protection.DEMO and p.audit_chain is None
    finally:
        p.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "demo", "status"],
        ["--profile", "DEMO", "status"],
        ["--profile", "Demo", "settings", "list"],
        ["--profile", "demo", "diagnostics", "--output", "{tmp}/x.zip"],
        ["--profile", "demo", "queue", "list"],
    ],
)
def test_the_command_line_refuses_the_demo_name_without_demo_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["--data-dir", str(tmp_path), *(a.format(tmp=tmp_path) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2 and "--demo" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.zip").exists()


def test_demo_with_another_profile_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:  # a usage error, as argparse reports them
        main(["--data-dir", str(tmp_path), "--demo", "--profile", "work", "status"])
    err = capsys.readouterr().err
    assert usage.value.code == 2 and "--profile" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "profiles" / "work").exists()


async def test_the_demo_tenant_cannot_be_signed_in_to_a_real_directory(tmp_path: Path) -> None:
    agent = await Agent.open_demo(tmp_path, dispatcher=False)
    try:
        assert agent.encryption.protection is Protection.DEMO
        result = await agent.sign_in(
            DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, "alex.field@example-msp.com"
        )
        assert not result.ok and "demo" in result.message.lower()
        service = agent.profile.vault.service
        assert keyring.get_password(service, "secret") is None, "nothing was saved"
        assert (await agent.status()).demo
    finally:
        await agent.close()


async def test_a_demo_agent_never_uses_credentials_from_the_keyring(tmp_path: Path) -> None:
    """A script asking for the demo profile without the demo tenant's own sign-in gets no
    connection, even where the keyring holds credentials for it."""
    p = open_profile(tmp_path, "demo", demo=True)
    service = p.vault.service
    p.close()
    for entry, value in (
        ("username", DEMO_USERNAME),
        ("secret", DEMO_SECRET),
        ("integration_code", DEMO_INTEGRATION_CODE),
    ):
        keyring.set_password(service, entry, value)
    agent = await Agent.open(
        AgentOptions(data_dir=tmp_path, profile="demo", demo=True, technician_resource_id=1)
    )
    try:
        assert agent.engine is None and agent.client is None
    finally:
        await agent.close()
