"""The core must run without Qt: importing every module under `agent` loads no PySide6/qasync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, pkgutil, sys
import agent
names = [m.name for m in pkgutil.walk_packages(agent.__path__, 'agent.')
         if not m.name.endswith('__main__')]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6'))
print(len(names), ','.join(leaked))
"""


def test_importing_every_agent_module_loads_no_qt() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) >= 10, "the walk should find the agent's modules"
    assert out[1:] == [], f"agent/ imported Qt modules: {out[1:]}"


def test_no_agent_source_imports_qt_by_name() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "agent").rglob("*.py")
        if any(
            line.lstrip().startswith(
                ("import PySide6", "from PySide6", "import qasync", "from qasync")
            )
            for line in p.read_text().splitlines()
        )
    ]
    assert offenders == []
