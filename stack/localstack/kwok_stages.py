"""kwok's lifecycle stages for the stack: the "fast" set its module ships, plus one rule.

Pods annotated `localstack.eventsub.io/run-until-exit` (test pods whose containers a test runs
as real processes) do not complete on their own when a Job owns them: they stay Running until
the test annotates `localstack.eventsub.io/exit-code`, so a Job completes when its process does.
"""

from __future__ import annotations

from pathlib import Path

import yaml

RUN_UNTIL_EXIT = "localstack.eventsub.io/run-until-exit"
EXIT_CODE = "localstack.eventsub.io/exit-code"

_EXIT_STAGE = {
    "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage",
    "metadata": {"name": "pod-exit-when-told"},
    "spec": {
        "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
        "selector": {"matchExpressions": [
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.phase", "operator": "In", "values": ["Running"]},
            {"key": f'.metadata.annotations["{EXIT_CODE}"]', "operator": "In", "values": ["0"]},
        ]},
        "next": {"statusTemplate": (
            "{{ $now := Now }}\n"
            "containerStatuses:\n"
            "{{ range .spec.containers }}\n"
            "- name: {{ .name | Quote }}\n"
            "  image: {{ .image | Quote }}\n"
            "  ready: false\n"
            "  started: false\n"
            "  restartCount: 0\n"
            "  state:\n"
            "    terminated:\n"
            "      exitCode: 0\n"
            "      reason: Completed\n"
            "      startedAt: {{ $now | Quote }}\n"
            "      finishedAt: {{ $now | Quote }}\n"
            "{{ end }}\n"
            "phase: Succeeded\n")},
    },
}


def write_stages(upstream: Path, target: Path) -> Path:
    documents = [d for d in yaml.safe_load_all(upstream.read_text()) if d]
    for stage in documents:
        if stage["metadata"]["name"] == "pod-complete":
            stage["spec"]["selector"]["matchExpressions"].append(
                {"key": f'.metadata.annotations["{RUN_UNTIL_EXIT}"]', "operator": "DoesNotExist"})
    documents.append(_EXIT_STAGE)
    target.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return target
