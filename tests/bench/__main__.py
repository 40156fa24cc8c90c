"""Run every benchmark module (or those named on the command line) and list what they wrote."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import keyring

import tests.bench as package
from agent.credentials import InProcessKeyring

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
        try:
            module.main(OUT)
        except Exception as exc:  # report and go on: one broken benchmark must not hide the rest
            failed += 1
            print(f"!! {name} failed: {exc!r}", file=sys.stderr)
    for path in sorted(OUT.glob("*.json")):
        print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
