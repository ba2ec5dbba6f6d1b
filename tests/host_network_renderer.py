"""A helm post-renderer: the chart's Deployments with hostNetwork, for the real node of the
local stack, which has no pod network. Reads the rendered manifests on stdin, writes them out."""

from __future__ import annotations

import sys

import yaml


def main() -> None:
    documents = [doc for doc in yaml.safe_load_all(sys.stdin) if doc]
    for doc in documents:
        if doc.get("kind") == "Deployment":
            doc["spec"]["template"]["spec"]["hostNetwork"] = True
    yaml.safe_dump_all(documents, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
