"""The architecture's layer rules ([tool.importlinter] in pyproject.toml) hold, and they bite.

Each probe copies operator/eventsub to a throw-away source root, adds one import that a contract
forbids, and runs lint-imports (the repo's own contracts) with PYTHONPATH pointing at the copy: the
contract must break and name the added import. The copy comes first on PYTHONPATH, ahead of the
editable install's path entry, so the copy is what gets analysed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
SOURCE_ROOT = REPO / "operator"
# The console script installed beside this interpreter (the venv's, under `make`).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contract_names() -> dict[str, str]:
    config = tomllib.loads(PYPROJECT.read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


@dataclass(frozen=True)
class Lint:
    passed: bool
    output: str


def _lint(source_root: Path, cwd: Path, contract: str | None = None) -> Lint:
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    if contract is not None:
        args += ["--contract", contract]
    # Wide columns: rich would otherwise wrap a long import chain across lines.
    env = {**os.environ, "PYTHONPATH": str(source_root), "COLUMNS": "500", "NO_COLOR": "1"}
    result = subprocess.run([*args, str(PYPROJECT)], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120)
    return Lint(passed=result.returncode == 0, output=result.stdout + result.stderr)


@dataclass(frozen=True)
class Probe:
    contract: str
    path: str  # relative to operator/eventsub; created if missing, else the line is appended
    line: str
    link: str  # how lint-imports names the illegal import

    def __str__(self) -> str:
        return f"{self.contract}:{self.path}"


PROBES = [
    Probe("core", "core/layer_probe.py", "import eventsub.kafka.admin",
          "eventsub.core.layer_probe -> eventsub.kafka.admin"),
    Probe("core", "core/layer_probe.py", "import kubernetes.client",
          "eventsub.core.layer_probe -> kubernetes"),
    Probe("core", "core/layer_probe.py", "from aiohttp import web",
          "eventsub.core.layer_probe -> aiohttp"),
    # Packages still being created are named by wildcard (see pyproject.toml): these prove the
    # rule applies as soon as they exist.
    Probe("core", "core/layer_probe.py", "import eventsub.runtime",
          "eventsub.core.layer_probe -> eventsub.runtime"),
    Probe("core", "core/layer_probe.py", "import eventsub.catalog",
          "eventsub.core.layer_probe -> eventsub.catalog"),
    Probe("core", "core/layer_probe.py", "import eventsub.registry",
          "eventsub.core.layer_probe -> eventsub.registry"),
    Probe("api", "api/layer_probe.py", "import eventsub.core",
          "eventsub.api.layer_probe -> eventsub.core"),
    Probe("adapters", "kube/layer_probe.py", "import eventsub.handlers",
          "eventsub.kube.layer_probe -> eventsub.handlers"),
    Probe("adapters", "kafka/layer_probe.py", "import eventsub.reconcilers",
          "eventsub.kafka.layer_probe -> eventsub.reconcilers"),
    Probe("adapters-independent", "kafka/layer_probe.py", "import eventsub.kube.client",
          "eventsub.kafka.layer_probe -> eventsub.kube.client"),
    Probe("adapters", "registry/layer_probe.py", "import eventsub.runtime.cache",
          "eventsub.registry.layer_probe -> eventsub.runtime.cache"),
    Probe("adapters-independent", "registry/layer_probe.py", "import eventsub.kube.secrets",
          "eventsub.registry.layer_probe -> eventsub.kube.secrets"),
    Probe("adapters-independent", "kube/layer_probe.py", "import eventsub.registry.client",
          "eventsub.kube.layer_probe -> eventsub.registry.client"),
    Probe("catalog", "catalog/layer_probe.py", "import eventsub.reconcilers.catalog",
          "eventsub.catalog.layer_probe -> eventsub.reconcilers.catalog"),
    Probe("catalog", "catalog/layer_probe.py", "import eventsub.kafka.admin",
          "eventsub.catalog.layer_probe -> eventsub.kafka.admin"),
    Probe("runtime", "runtime/layer_probe.py", "import eventsub.reconcilers.topics",
          "eventsub.runtime.layer_probe -> eventsub.reconcilers.topics"),
    Probe("reconcilers-independent", "reconcilers/connections.py",
          "import eventsub.reconcilers.replays",
          "eventsub.reconcilers.connections -> eventsub.reconcilers.replays"),
    Probe("reconcilers-independent", "reconcilers/schemas.py",
          "import eventsub.reconcilers.topics",
          "eventsub.reconcilers.schemas -> eventsub.reconcilers.topics"),
    Probe("kubernetes-client", "layer_probe.py", "from kubernetes import client",
          "eventsub.layer_probe -> kubernetes"),
    Probe("confluent-kafka", "layer_probe.py", "from confluent_kafka import Producer",
          "eventsub.layer_probe -> confluent_kafka"),
]


def _copy_source(tmp_path: Path) -> Path:
    root = tmp_path / "operator"
    shutil.copytree(SOURCE_ROOT / "eventsub", root / "eventsub",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _add_import(package: Path, relative: str, line: str) -> None:
    target = package / relative
    # A probe may live in a package that does not exist yet (runtime/, catalog/): create it.
    for directory in [target.parent, *target.parent.parents]:
        if directory == package.parent:
            break
        directory.mkdir(exist_ok=True)
        (directory / "__init__.py").touch()
    for module in line.split()[1:2]:  # an imported package that does not exist yet, likewise
        if module.startswith("eventsub."):
            missing = package.parent.joinpath(*module.split("."))
            if not missing.with_suffix(".py").exists() and not missing.exists():
                missing.mkdir(parents=True)
                (missing / "__init__.py").touch()
    existing = target.read_text() if target.exists() else ""
    target.write_text(f"{existing.rstrip()}\n{line}  # layer-rule probe\n".lstrip())


def test_every_contract_has_a_probe() -> None:
    assert set(_contract_names()) == {probe.contract for probe in PROBES}


@pytest.mark.parametrize("probe", PROBES, ids=str)
def test_a_forbidden_import_breaks_its_contract(probe: Probe, tmp_path: Path) -> None:
    root = _copy_source(tmp_path)
    before = _lint(root, tmp_path, probe.contract)
    assert probe.link not in before.output, before.output

    _add_import(root / "eventsub", probe.path, probe.line)
    after = _lint(root, tmp_path, probe.contract)

    assert not after.passed, after.output
    name = _contract_names()[probe.contract]
    assert f"{name} BROKEN" in after.output, after.output
    assert probe.link in after.output, after.output


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(SOURCE_ROOT, tmp_path)
    assert result.passed, result.output
