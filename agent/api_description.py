"""The Datto|Autotask PSA REST API description (the vendor's Swagger file, byte for byte, gzip
compressed in `data/swagger-v1.json.gz`), read once per process by the client's checks and by the
simulator's catalogue alike."""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any


@functools.cache
def document() -> dict[str, Any]:
    """The Swagger document, parsed."""
    packed = resources.files("agent").joinpath("data/swagger-v1.json.gz").read_bytes()
    parsed: dict[str, Any] = json.loads(gzip.decompress(packed))
    return parsed
