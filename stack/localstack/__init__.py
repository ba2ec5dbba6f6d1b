"""The local stack: a real Kafka broker and a real Kubernetes control plane on 127.0.0.1.

Started and stopped by the project itself (no Docker): etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok as a fake kubelet with one Node, and a
single-node KRaft Kafka broker. Binaries and jars come from the caches filled by
``stack/build-go.sh`` and ``stack/build-kafka.sh``.
"""

from localstack.errors import StackError
from localstack.stack import LocalStack, StackInfo

__all__ = ["LocalStack", "StackError", "StackInfo"]
