"""python -m localstack up [--node]|down|status — the commands behind `make up`, `make node` and
`make down`."""

from __future__ import annotations

import sys
import time

from localstack import keda
from localstack.errors import StackError
from localstack.stack import LocalStack, StackInfo


def _usage(info: StackInfo) -> str:
    return "\n".join([
        f"  kubeconfig:       {info.kubeconfig}",
        f"  kafka bootstrap:  {info.kafka_bootstrap}  (PLAINTEXT)",
        f"  kafka SASL:       {info.kafka_sasl_bootstrap}  (SASL_PLAINTEXT; PLAIN, SCRAM-SHA-256/512;"
        f" user {info.sasl_username}, password in {info.run_dir}/state.json)",
        f"  kafka TLS:        {info.kafka_ssl_bootstrap}  (SSL; CA {info.kafka_ca})",
        f"  kafka mTLS:       {info.kafka_mtls_bootstrap}  (SSL, client certificate required:"
        f" {info.kafka_client_certificate}, key {info.kafka_client_key})",
        f"  kafka SASL_SSL:   {info.kafka_sasl_ssl_bootstrap}  (SASL_SSL; the SASL users, the TLS CA)",
        f"  schema registry:  {info.registry_url}  (Apicurio Registry, Confluent-compatible API;"
        f" health http://127.0.0.1:{info.registry_management_port}/health/ready)",
        f"  logs:             {info.run_dir}/logs/",
        *([f"  real node:        Node 127.0.0.1 (kubelet + containerd), images"
           f" {', '.join(info.node_images.values())}; pods opt in with a toleration of"
           f" eventsub.io/node=real:NoSchedule and nodeSelector eventsub.io/node: real"]
          if info.node_running else []),
        "",
        f"  export KUBECONFIG={info.kubeconfig} PATH={info.bin_dir}:$PATH; kubectl get nodes",
    ])


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    stack = LocalStack()
    if command == "up":
        t0 = time.monotonic()
        info, started = stack.up(with_node="--node" in argv[2:])
        verb = "started" if started else "already running (reused)"
        print(f"local stack {verb} in {time.monotonic() - t0:.1f}s:\n{_usage(info)}")
    elif command == "down":
        stopped = stack.down()
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing running")
    elif command == "keda":
        # KEDA is started on demand (its benchmark does); this starts it on the running stack
        # by hand, until `make down` (or `python -m localstack keda-down`).
        info = stack.running()
        if info is None:
            raise StackError("the stack is not running: 'make up' first")
        kinfo = keda.start(stack.dir, info.kubeconfig, info.bin_dir)
        print(f"KEDA running: adapter at {kinfo.address}:{kinfo.ports['adapter']}, pids {kinfo.pids}")
    elif command == "keda-down":
        info = stack.running()
        stopped = keda.stop(stack.dir, *((info.kubeconfig, info.bin_dir) if info else ()))
        print(f"stopped: {', '.join(stopped)}" if stopped else "KEDA was not running")
    elif command == "status":
        running = stack.running()
        print(f"running:\n{_usage(running)}" if running else "not running")
        return 0 if running else 1
    else:
        print(f"usage: python -m localstack up [--node]|down|status|keda|keda-down "
              f"(not {command!r})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
