"""The official AsyncAPI parser (@asyncapi/parser, with its Avro and Protobuf schema parsers),
installed by stack/asyncapi-parser.sh into the cache, run on documents."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
Diagnostic = dict[str, Any]  # severity (error, warning, info, hint), code, message, path


@functools.cache
def parser_dir() -> Path:
    """Installs the parser on first use (cached afterwards: a fresh machine needs no step)."""
    done = subprocess.run(["bash", str(REPO / "stack" / "asyncapi-parser.sh")], check=True,
                          capture_output=True, text=True, timeout=600)
    return Path(done.stdout.strip().splitlines()[-1])


def diagnostics(*documents: bytes) -> list[list[Diagnostic]]:
    """Every diagnostic of each document (JSON or YAML text), from one parser process."""
    done = subprocess.run(["node", str(parser_dir() / "validate.js")],
                          input=json.dumps([d.decode() for d in documents]).encode(),
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    found: list[list[Diagnostic]] = json.loads(done.stdout)
    return found


def errors(*documents: bytes) -> list[list[Diagnostic]]:
    """The errors of each document: [[]] * len(documents) when they are all valid."""
    return [[d for d in found if d["severity"] == "error"] for found in diagnostics(*documents)]
