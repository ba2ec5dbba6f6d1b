"""The operator's log lines carry their time and level in both formats, as the operator's own
logging is configured (kopf.configure in a fresh interpreter, the record read from stderr)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

SCRIPT = """
import kopf, logging, sys
from eventsub.main import LOG_FORMATS
kopf.configure(log_format=LOG_FORMATS[sys.argv[1]])
logging.getLogger("eventsub.topic").info("pass over 3 EventTopic(s)")
"""


def logged(log_format: str) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT, log_format], capture_output=True,
                          text=True, timeout=60, check=True)
    lines = [line for line in done.stderr.splitlines() if "pass over" in line]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_plain_line_starts_with_its_time_and_names_its_logger_and_level() -> None:
    line = logged("plain")
    assert re.match(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] eventsub\.topic +\[INFO +\] "
                    r"pass over 3 EventTopic\(s\)$", line), line


def test_a_json_line_has_its_time_and_severity() -> None:
    record = json.loads(logged("json"))
    assert record["message"] == "pass over 3 EventTopic(s)" and record["severity"] == "info"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", record["timestamp"]), record
