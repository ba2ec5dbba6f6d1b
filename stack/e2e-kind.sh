#!/usr/bin/env bash
# make e2e-kind: the chart and the demo's scenario on a kind cluster, for machines with Docker.
#
# Builds the operator image, creates a kind cluster with a one-node Kafka in it, installs the
# chart (cluster-wide), then runs the demo's scenario (topics, a subscription that scales, a
# replay) against that cluster with the operator running in it and the consumer pods running
# the operator image's `python -m eventsub.consumer`. The cluster is deleted afterwards unless
# EVENTSUB_KIND_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "error: make e2e-kind needs '$tool' on PATH"; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "error: the Docker engine is not running"; exit 1; }

# shellcheck source=versions.env
source stack/versions.env
CLUSTER=${EVENTSUB_KIND_CLUSTER:-eventsub-e2e}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' operator/eventsub/__init__.py)
IMAGE=eventsub-operator:${VERSION}
KAFKA_IMAGE=${EVENTSUB_KIND_KAFKA_IMAGE:-apache/kafka:${KAFKA_VERSION}}
export KUBECONFIG=${EVENTSUB_KIND_KUBECONFIG:-$PWD/.run/kind/kubeconfig}
mkdir -p "$(dirname "$KUBECONFIG")"

cleanup() {
  if [ "${EVENTSUB_KIND_KEEP:-0}" = 1 ]; then
    echo "kept kind cluster $CLUSTER (KUBECONFIG=$KUBECONFIG); delete it with: kind delete cluster --name $CLUSTER"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "==> docker build -t $IMAGE"
docker build -t "$IMAGE" .
if ! kind get clusters | grep -qx "$CLUSTER"; then
  echo "==> kind create cluster --name $CLUSTER"
  kind create cluster --name "$CLUSTER" --config stack/kind/cluster.yaml --wait 120s
fi
kind load docker-image "$IMAGE" --name "$CLUSTER"

echo "==> Kafka ($KAFKA_IMAGE) in namespace kafka"
sed "s|KAFKA_IMAGE|$KAFKA_IMAGE|" stack/kind/kafka.yaml | kubectl apply -f -
kubectl -n kafka rollout status deployment/kafka --timeout=180s

echo "==> helm install eventsub (image $IMAGE)"
helm upgrade --install eventsub helm/eventsub-operator --namespace eventsub-system --create-namespace \
  --set image.repository=eventsub-operator --set image.tag="$VERSION" --set image.pullPolicy=Never \
  --wait --timeout 180s
kubectl -n eventsub-system get pods

echo "==> the scenario, against the operator in the cluster"
EVENTSUB_DEMO_KAFKA=kafka.kafka.svc:9092 EVENTSUB_DEMO_KAFKA_HERE=127.0.0.1:30092 \
  EVENTSUB_DEMO_OPERATOR=installed EVENTSUB_DEMO_IMAGE="$IMAGE" EVENTSUB_DEMO_EXIT=1 \
  PYTHONPATH=stack .venv/bin/python stack/demo.py
echo "==> e2e-kind passed"
