"""The schema registry: Apicurio Registry (a Quarkus application) speaking the Confluent API.

It needs Java 21 or newer, while Kafka runs on the default Java (17): the JDK is found among the
installed ones by the version it reports, not by a fixed path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from localstack.errors import StackError

MIN_JAVA = 21
JVM_DIRS = (Path("/usr/lib/jvm"),)
CONFLUENT_API = "/apis/ccompat/v7"


def java_major(java: Path) -> int | None:
    """The major version `java -version` reports, or None if it does not run."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def _candidates(dirs: Iterable[Path]) -> list[Path]:
    home = os.environ.get("EVENTSUB_REGISTRY_JAVA_HOME") or os.environ.get("JAVA_HOME")
    found = [Path(home) / "bin" / "java"] if home else []
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path).resolve())
    for root in dirs:
        if root.is_dir():
            found += sorted(root.glob("*/bin/java"), reverse=True)
    return [j for j in dict.fromkeys(found) if j.is_file()]


def find_java(dirs: Iterable[Path] = JVM_DIRS) -> Path:
    """The newest Java runtime of at least MIN_JAVA among the installed JDKs."""
    versions = {java: java_major(java) for java in _candidates(dirs)}
    usable = [(v, j) for j, v in versions.items() if v is not None and v >= MIN_JAVA]
    if not usable:
        seen = ", ".join(f"{j.parent.parent.name} ({v})" for j, v in versions.items()) or "none"
        raise StackError(
            f"the schema registry (Apicurio Registry) needs Java {MIN_JAVA} or newer; installed "
            f"JDKs: {seen}. Install one (e.g. Temurin 21 or 25) under /usr/lib/jvm, or set "
            "EVENTSUB_REGISTRY_JAVA_HOME")
    return max(usable)[1]


def argv(java: Path, app: Path, port: int, management_port: int) -> list[str]:
    return [
        str(java), "-Xmx256m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
        "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={port}",
        "-Dquarkus.management.host=127.0.0.1", f"-Dquarkus.management.port={management_port}",
        # Apicurio's own default is NONE; BACKWARD is what Confluent's registry does.
        "-Dapicurio.rules.global.compatibility=BACKWARD",
        "-jar", str(app / "quarkus-run.jar"),
    ]


def is_ready(management_port: int) -> bool:
    url = f"http://127.0.0.1:{management_port}/health/ready"
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(json.loads(response.read()).get("status") == "UP")
