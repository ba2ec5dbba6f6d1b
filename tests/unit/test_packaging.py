"""The image, the chart and the kind script agree with each other and with the operator."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from eventsub import __version__

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "eventsub-operator"


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def test_image_user_is_the_numeric_non_root_user_the_chart_runs_as() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    user = re.search(r"^USER (\d+):(\d+)$", _dockerfile(), re.MULTILINE)
    assert user is not None, "the image must name a numeric user (Pod Security restricted)"
    assert int(user.group(1)) == values["podSecurityContext"]["runAsUser"]
    assert int(user.group(2)) == values["podSecurityContext"]["runAsGroup"]


def test_image_runs_the_operator_and_exposes_the_charts_metrics_port() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert 'ENTRYPOINT ["python", "-m", "eventsub"]' in _dockerfile()
    assert f"EXPOSE {values['metrics']['port']}" in _dockerfile()


def test_chart_app_version_is_the_operators_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == __version__


def test_kind_script_parses() -> None:
    result = subprocess.run(["bash", "-n", str(REPO / "stack" / "e2e-kind.sh")], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
