"""Port selection: free ports by default, or fixed ones from the environment."""

from __future__ import annotations

import os
import socket

from localstack.errors import StackError

# Every port the stack listens on; EVENTSUB_PORT_<NAME> pins one (e.g. EVENTSUB_PORT_KAFKA=9092).
PORT_NAMES = (
    "etcd", "etcd_peer", "apiserver", "controller_manager", "scheduler", "kwok",
    "kafka", "kafka_sasl", "kafka_ssl", "kafka_mtls", "kafka_sasl_ssl", "kafka_controller",
    "registry", "registry_management",
    "kubelet", "kubelet_healthz",
)


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a component started on demand."""
    return _free_port()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def choose_ports() -> dict[str, int]:
    ports: dict[str, int] = {}
    for name in PORT_NAMES:
        pinned = os.environ.get(f"EVENTSUB_PORT_{name.upper()}")
        if pinned:
            port = int(pinned)
            if not is_free(port):
                raise StackError(
                    f"port {port} for {name} on 127.0.0.1 is already in use: free it, or unset "
                    f"EVENTSUB_PORT_{name.upper()} to let the stack choose a free port"
                )
        else:
            port = _free_port()
            while port in ports.values():
                port = _free_port()
        ports[name] = port
    return ports
