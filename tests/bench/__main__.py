"""Run every benchmark module (or those named on the command line) and list what they wrote.

Each file a module writes carries the command that made it and the machine's load average
during that module's run (`tests.bench.runinfo`), added here when the module did not say so.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import keyring

import tests.bench as package
from agent.credentials import InProcessKeyring
from tests.bench.runinfo import LoadSampler, stamp

OUT = Path("build/bench")


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    # Profiles here are real ones, encrypted at rest: their data key lives in a keyring of this
    # process (the machine running them may have none).
    keyring.set_keyring(InProcessKeyring())
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("bench_")]
    chosen = [n for n in sorted(names) if not argv or any(a in n for a in argv)]
    if not chosen:
        print("no benchmark modules yet")
        return 0
    failed = 0
    for name in chosen:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"== {name}", flush=True)
        started = time.time()
        try:
            with LoadSampler() as load:
                module.main(OUT)
        except Exception as exc:  # report and go on: one broken benchmark must not hide the rest
            failed += 1
            print(f"!! {name} failed: {exc!r}", file=sys.stderr)
            continue
        _stamp_files(name.removeprefix("bench_"), started, load)
        print(f"   {name}: {load.seconds:.0f} s", flush=True)
    for path in sorted(OUT.glob("*.json")):
        print(f"wrote {path}")
    return 1 if failed else 0


def _stamp_files(module: str, since: float, load: LoadSampler) -> None:
    """Add the command and load average to each JSON file the module wrote that lacks them."""
    for path in OUT.glob("*.json"):
        if path.stat().st_mtime < since:
            continue
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(data, dict) and "command" not in data:
            path.write_text(json.dumps(stamp(data, module, load), indent=2))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
