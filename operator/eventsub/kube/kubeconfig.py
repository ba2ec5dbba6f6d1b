"""A client for the user's kubeconfig and context, as kubectl picks them (--kubeconfig, else
KUBECONFIG, else ~/.kube/config; --context, else the current context); for the kubectl plugin,
which runs as the user, outside the cluster."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from eventsub.kube.errors import KubeError


@dataclass(frozen=True)
class UserClient:
    api: client.ApiClient
    namespace: str  # the context's namespace, "default" when it names none


def user_client(kubeconfig: str | None, context: str | None) -> UserClient:
    """KubeError when the kubeconfig cannot be read or has no such context."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path)
        chosen = next((c for c in contexts if c["name"] == context), None) if context else current
        if chosen is None:
            raise KubeError(f"context {context!r} not found in the kubeconfig {path}")
        api = config.new_client_from_config(config_file=path, context=chosen["name"],
                                            persist_config=False)
    except (ConfigException, OSError) as error:
        raise KubeError(f"kubeconfig {path}: {error}") from None
    return UserClient(api, (chosen.get("context") or {}).get("namespace") or "default")
