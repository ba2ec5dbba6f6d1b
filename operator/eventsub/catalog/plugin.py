"""kubectl-eventsub, the kubectl plugin: `kubectl eventsub catalog [-n NS | -A] [-o FORMAT]`.

It reads the KafkaConnections, EventTopics and EventSubscriptions itself, with the user's
kubeconfig and context, builds the same snapshot the operator serves and prints it as a table or
as the AsyncAPI document; it needs no access to the operator. Lag comes from the subscriptions'
status; message rates, which only the operator samples, are not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from eventsub.api.resources import EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.catalog import table
from eventsub.catalog.asyncapi import document, to_json, to_yaml
from eventsub.core.catalog_snapshot import Catalog, build, cluster_ids
from eventsub.kube.errors import KubeError, NotFound
from eventsub.kube.kubeconfig import user_client
from eventsub.kube.listing import list_objects

OUTPUTS = ("table", "asyncapi-json", "asyncapi-yaml")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kubectl eventsub", description="eventsub from the command line.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    catalog = commands.add_parser(
        "catalog", help="the events with their owner, producers, consumers and lag",
        description="The events with their owner, producers, consumers, lag and lifecycle, or "
                    "their AsyncAPI 3.0 document, read from the cluster's resources.")
    scope = catalog.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="the namespace (default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true",
                       help="every namespace")
    catalog.add_argument("-o", "--output", choices=OUTPUTS, default="table",
                         help="table (default), asyncapi-json or asyncapi-yaml")
    catalog.add_argument("--context", help="the kubeconfig context to use")
    catalog.add_argument("--kubeconfig", help="the kubeconfig file to use")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        text = asyncio.run(_catalog(args))
    except KubeError as error:
        print(f"error: {_explained(error)}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


async def _catalog(args: argparse.Namespace) -> str:
    user = user_client(args.kubeconfig, args.context)
    namespace = None if args.all_namespaces else (args.namespace or user.namespace)
    listings = await asyncio.gather(*(list_objects(kind.plural, namespace, user.api) for kind in (
        KAFKA_CONNECTION, EVENT_TOPIC, EVENT_SUBSCRIPTION)))
    connections, topics, subscriptions = ([(_key(body), body) for body in listing.items]
                                          for listing in listings)
    catalog = build(topics, subscriptions, cluster_ids(connections), None, connections)
    return render(catalog, namespace, args.output)


def render(catalog: Catalog, namespace: str | None, output: str) -> str:
    if output == "table":
        return table.render(catalog, namespace)
    doc = document(catalog, namespace)
    if output == "asyncapi-json":
        return to_json(doc).decode() + "\n"
    return to_yaml(doc).decode()


def _key(body: dict[str, object]) -> str:
    meta = body["metadata"]
    assert isinstance(meta, dict)
    return f"{meta['namespace']}/{meta['name']}"


def _explained(error: KubeError) -> str:
    if isinstance(error, NotFound):
        return f"{error.message} (are the eventsub CRDs installed on this cluster?)"
    return error.message


if __name__ == "__main__":
    sys.exit(main())
