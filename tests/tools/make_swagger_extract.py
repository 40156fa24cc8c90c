"""Write `tests/swagger_extract.json`: the Swagger paths and definitions the simulator tests cover.

Source: the vendor's Swagger 2.0 file `../shared/autotask/swagger-v1.json` (Datto|Autotask PSA
Rest API, from the MIT-licensed repository KelvinTegelaar/AutotaskAPI). The extract lets the
suite validate simulator answers on a clone that has no `../shared` beside it.

Usage: python -m tests.tools.make_swagger_extract [SWAGGER] [OUT]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = ROOT.parent / "shared" / "autotask" / "swagger-v1.json"
DEFAULT_OUT = ROOT / "tests" / "swagger_extract.json"
ENTITIES = (
    "Tickets",
    "TicketNotes",
    "TimeEntries",
    "Companies",
    "Contacts",
    "Resources",
    "Roles",
    "ResourceRoles",
)
_TAIL = r"(|/query|/query/count|/\{id\}|/entityInformation(/fields|/userDefinedFields)?)"
_COVERED = re.compile(
    rf"^/V1\.0/({'|'.join(ENTITIES)}){_TAIL}$"
    rf"|^/V1\.0/Tickets/\{{parentId\}}/Notes(/\{{id\}})?$"
    rf"|^/V1\.0/Companies/\{{parentId\}}/Contacts(/\{{id\}})?$"
    rf"|^/V1\.0/(ZoneInformation|ThresholdInformation)$|^/VersionInformation$"
)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def extract(swagger: dict[str, Any]) -> dict[str, Any]:
    """The covered paths (header parameters dropped) and every definition they reach."""
    paths = {}
    for path, operations in swagger["paths"].items():
        if not _COVERED.match(path):
            continue
        trimmed = {}
        for verb, op in operations.items():
            params = [p for p in op.get("parameters", []) if p.get("in") != "header"]
            trimmed[verb] = {
                "operationId": op.get("operationId"),
                "parameters": params,
                "responses": {k: v for k, v in op.get("responses", {}).items() if k == "200"},
            }
        paths[path] = trimmed
    definitions = swagger["definitions"]
    wanted, queue = set(), list(_refs(paths))
    while queue:
        name = queue.pop()
        if name in wanted or name not in definitions:
            continue
        wanted.add(name)
        queue.extend(_refs(definitions[name]))
    return {
        "source": "swagger-v1.json (Datto|Autotask PSA Rest API), KelvinTegelaar/AutotaskAPI, MIT",
        "basePath": swagger.get("basePath"),
        "paths": dict(sorted(paths.items())),
        "definitions": {name: definitions[name] for name in sorted(wanted)},
    }


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    data = extract(json.loads(source.read_text(encoding="utf-8")))
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB, {len(data['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
