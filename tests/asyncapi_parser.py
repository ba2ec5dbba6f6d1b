"""The official AsyncAPI parser (@asyncapi/parser, with its Avro and Protobuf schema parsers),
installed by stack/asyncapi-parser.sh into the cache, run on a document."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def parser_dir() -> Path:
    """Installs the parser on first use (cached afterwards: a fresh machine needs no step)."""
    done = subprocess.run(["bash", str(REPO / "stack" / "asyncapi-parser.sh")], check=True,
                          capture_output=True, text=True, timeout=600)
    return Path(done.stdout.strip().splitlines()[-1])


def diagnostics(document: bytes) -> list[dict[str, Any]]:
    """Every diagnostic of the parser: severity (error, warning, info, hint), code, message, path."""
    done = subprocess.run(["node", str(parser_dir() / "validate.js")], input=document,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def errors(document: bytes) -> list[dict[str, Any]]:
    return [d for d in diagnostics(document) if d["severity"] == "error"]
