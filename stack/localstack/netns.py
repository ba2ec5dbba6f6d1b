"""An address of the stack's own that is not loopback, for an APIService's endpoint.

The API server refuses loopback addresses in Endpoints, and the local stack has no pod network.
So the stack makes a network namespace with a veth pair: the host end carries an address from
a /30 it chooses in 198.18.0.0/15 (set aside for benchmarks and tests, RFC 2544), clear of every
network the host already routes; the other end lives in the namespace, which gives the link its
carrier. A process bound to the host end is reachable at that address by the API server and by
nothing outside the machine. Deleting the namespace deletes the pair. Needs root (CAP_NET_ADMIN).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from localstack.errors import StackError

BENCHMARK_NET = ipaddress.IPv4Network("198.18.0.0/15")


@dataclass(frozen=True)
class Link:
    namespace: str  # the network namespace's name
    host_interface: str
    host_address: str  # where a process in the host namespace listens

    @classmethod
    def for_run_dir(cls, run_dir: Path, subnet: ipaddress.IPv4Network) -> Link:
        tag = _tag(run_dir)
        return cls(f"eventsub-{tag}", f"esub{tag}", str(next(subnet.hosts())))


def _tag(run_dir: Path) -> str:
    # One namespace per run directory, so two stacks on one machine do not share it; interface
    # names are limited to 15 characters.
    return hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]


def choose_subnet(run_dir: Path, taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """A /30 in 198.18.0.0/15 that overlaps none of taken, starting at a place derived from the
    run directory so two stacks usually pick different ones."""
    subnets = list(BENCHMARK_NET.subnets(new_prefix=30))
    start = int(_tag(run_dir), 16) % len(subnets)
    for i in range(len(subnets)):
        candidate = subnets[(start + i) % len(subnets)]
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise StackError("no free /30 in 198.18.0.0/15 for the stack's network namespace")


def _ip(*args: str, namespace: str | None = None) -> str:
    argv = ["ip", *(["-n", namespace] if namespace else []), *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError as error:
        raise StackError("'ip' not found on PATH: install iproute2") from error
    if done.returncode != 0:
        raise StackError(f"{' '.join(argv)}: {done.stderr.strip()} (the network namespace needs root)")
    return done.stdout


def _routed_networks() -> list[ipaddress.IPv4Network]:
    networks = []
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            networks.append(ipaddress.IPv4Network(dst, strict=False))
    for interface in json.loads(_ip("-j", "-4", "addr") or "[]"):
        for addr in interface.get("addr_info", []):
            networks.append(ipaddress.IPv4Network(f"{addr['local']}/{addr['prefixlen']}",
                                                  strict=False))
    return networks


def create(run_dir: Path) -> Link:
    """Makes the namespace and its veth pair (after removing one left from an earlier run)."""
    remove(run_dir)
    subnet = choose_subnet(run_dir, _routed_networks())
    link = Link.for_run_dir(run_dir, subnet)
    hosts = list(subnet.hosts())
    peer = f"{link.host_interface}p"
    _ip("netns", "add", link.namespace)
    try:
        _ip("link", "add", link.host_interface, "type", "veth", "peer", "name", peer,
            "netns", link.namespace)
        _ip("addr", "add", f"{hosts[0]}/{subnet.prefixlen}", "dev", link.host_interface)
        _ip("link", "set", link.host_interface, "up")
        _ip("addr", "add", f"{hosts[1]}/{subnet.prefixlen}", "dev", peer, namespace=link.namespace)
        _ip("link", "set", peer, "up", namespace=link.namespace)
    except StackError:
        remove(run_dir)
        raise
    return link


def remove(run_dir: Path) -> None:
    """Deletes the run directory's namespace (and with it the veth pair), if there is one."""
    tag = _tag(run_dir)
    # The pair first: a namespace's interfaces go only when the kernel gets round to destroying
    # it, after `ip netns delete` returns, and a new pair of the same name would collide.
    if Path(f"/sys/class/net/esub{tag}").exists():
        _ip("link", "delete", f"esub{tag}")
    if (Path("/run/netns") / f"eventsub-{tag}").exists():  # where `ip netns add` mounts it
        _ip("netns", "delete", f"eventsub-{tag}")
