#!/usr/bin/env bash
# Builds the Go binaries of the local stack from Go modules, cached outside the repository and
# keyed by version: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (from
# k8s.io/kubernetes through a wrapper module), etcd, kwok and helm; on request also the kubelet
# of the same module (the stack's real node, `make node`) and KEDA (its operator and metrics
# adapter, through a wrapper module, with its CRDs), which only `make bench-keda` needs.
#
# Usage: stack/build-go.sh [component ...]   (default: etcd kwok helm k8s; `kubelet` and `keda`
# on request). Prints what it builds and how long it took.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${EVENTSUB_CACHE:-$HOME/.cache/eventsub}"

command -v go >/dev/null 2>&1 || { echo "error: 'go' not found on PATH: install Go ${GO_MIN} or newer" >&2; exit 1; }

start_all=$SECONDS
log() { printf '[build %4ds] %s\n' "$((SECONDS - start_all))" "$*"; }

# Builds the packages into bindir inside a fresh wrapper module. $1 bindir, $2 module@version to
# require, $3 ldflags, then the packages. Extra go.mod edits are made by the caller through
# a hook function named in WRAP_HOOK.
build_in_wrapper() {
  local bindir=$1 require=$2 ldflags=$3; shift 3
  local work; work="$(mktemp -d)"
  ( cd "$work"
    go mod init eventsub.local/stackbuild >/dev/null 2>&1
    go mod edit -require="$require"
    if [[ -n "${WRAP_HOOK:-}" ]]; then "$WRAP_HOOK"; fi
    # A tools.go keeps every package in the build list so `go mod tidy` resolves them.
    { echo "//go:build tools"; echo "package tools"; echo "import ("
      for p in "$@"; do echo "  _ \"$p\""; done; echo ")"; } > tools.go
    go mod tidy >/dev/null
    mkdir -p "$bindir.partial"
    for p in "$@"; do
      local t0=$SECONDS
      log "go build $p"
      # A heartbeat, so a long cold compile is visibly alive.
      ( while sleep 60; do log "  still building $(basename "$p") ($((SECONDS - t0))s)"; done ) &
      local heartbeat=$!
      CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bindir.partial/" "$p" || { kill "$heartbeat"; exit 1; }
      kill "$heartbeat" 2>/dev/null || true
      log "built $(basename "$p") in $((SECONDS - t0))s"
    done )
  rm -rf "$work" "$bindir"; mv "$bindir.partial" "$bindir"
}

k8s_replaces() {
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with ./staging replaces; point each
  # one at its published version instead, derived from the real go.mod so the list never drifts.
  local gomod minor
  gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  minor="v0.${K8S_VERSION#v1.}"
  grep -E '=> \./staging/' "$gomod" | awk '{print $1}' | sort -u | while read -r mod; do
    go mod edit -replace="$mod=$mod@$minor"
  done
  local godebug; godebug="$(grep -E '^godebug ' "$gomod" || true)"
  if [[ -n "$godebug" ]]; then echo "$godebug" >> go.mod; fi
}

k8s_ldflags() {
  # /version reports the real version (the kubelet registers it as the Node's kubeletVersion).
  local major=${K8S_VERSION#v}; major=${major%%.*}
  local minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  echo "-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=${major} -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
}

build_k8s() {
  local bindir="$cache/k8s-${K8S_VERSION}/bin"
  if [[ -x "$bindir/kube-apiserver" && -x "$bindir/kubectl" ]]; then log "kubernetes ${K8S_VERSION}: cached"; return; fi
  log "kubernetes ${K8S_VERSION}: cold build (tens of minutes on 2 cores; later runs reuse it)"
  WRAP_HOOK=k8s_replaces build_in_wrapper "$bindir" "k8s.io/kubernetes@${K8S_VERSION}" "$(k8s_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

build_kubelet() {
  # Its own directory, so the kwok-only stack never waits for it.
  local bindir="$cache/kubelet-${K8S_VERSION}/bin"
  if [[ -x "$bindir/kubelet" ]]; then log "kubelet ${K8S_VERSION}: cached"; return; fi
  log "kubelet ${K8S_VERSION}: cold build (minutes; later runs reuse it)"
  WRAP_HOOK=k8s_replaces build_in_wrapper "$bindir" "k8s.io/kubernetes@${K8S_VERSION}" "$(k8s_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet
}

build_etcd() {
  local bindir="$cache/etcd-${ETCD_VERSION}/bin"
  if [[ -x "$bindir/etcd" ]]; then log "etcd ${ETCD_VERSION}: cached"; return; fi
  WRAP_HOOK= build_in_wrapper "$bindir" "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "-s -w" go.etcd.io/etcd/server/v3
  mv "$bindir/server" "$bindir/etcd"
}

build_kwok() {
  local dir="$cache/kwok-${KWOK_VERSION}"
  if [[ -x "$dir/bin/kwok" && -s "$dir/stages.yaml" ]]; then log "kwok ${KWOK_VERSION}: cached"; return; fi
  log "go install sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  mkdir -p "$dir/bin"
  CGO_ENABLED=0 GOBIN="$dir/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  # kwok runs no lifecycle without Stage documents: take the "fast" set its module ships (nodes
  # become Ready with a lease heartbeat, pods Running, Job pods Succeeded) as one config file.
  local src; src="$(go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage"
  local f; : > "$dir/stages.yaml.partial"
  for f in "$src"/node/fast/*.yaml "$src"/node/heartbeat-with-lease/*.yaml "$src"/pod/fast/*.yaml; do
    [[ "$(basename "$f")" == kustomization.yaml ]] && continue
    { echo "---"; cat "$f"; } >> "$dir/stages.yaml.partial"
  done
  mv "$dir/stages.yaml.partial" "$dir/stages.yaml"
}

build_helm() {
  local bindir="$cache/helm-${HELM_VERSION}/bin"
  if [[ -x "$bindir/helm" ]]; then log "helm ${HELM_VERSION}: cached"; return; fi
  log "go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
  mkdir -p "$bindir"
  CGO_ENABLED=0 GOBIN="$bindir" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
}

keda_directives() {
  # A replace or exclude directive applies only in the main module, so KEDA's own (a fork of a
  # transitive dependency, versions kept out of the graph) must be carried into the wrapper;
  # taken from its real go.mod, one line each, so the list never drifts.
  local gomod; gomod="$(go mod download -json "github.com/kedacore/keda/v2@${KEDA_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  grep -E '^(replace|exclude) ' "$gomod" >> go.mod || true
  if grep -qE '^(replace|exclude) *\(' "$gomod"; then echo "error: KEDA's go.mod has a directive block; carry it over by hand" >&2; exit 1; fi
}

build_keda() {
  local dir="$cache/keda-${KEDA_VERSION}"
  if [[ -x "$dir/bin/keda" && -x "$dir/bin/keda-adapter" && -d "$dir/crds" ]]; then log "keda ${KEDA_VERSION}: cached"; return; fi
  log "keda ${KEDA_VERSION}: cold build (tens of minutes on 2 cores; later runs reuse it)"
  local ld="-s -w -X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION}"
  WRAP_HOOK=keda_directives build_in_wrapper "$dir/bin" "github.com/kedacore/keda/v2@${KEDA_VERSION}" "$ld" \
    github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
  mv "$dir/bin/operator" "$dir/bin/keda"; mv "$dir/bin/adapter" "$dir/bin/keda-adapter"
  # The generated CRD YAML ships in the module zip (config/crd/bases).
  local src; src="$(go mod download -json "github.com/kedacore/keda/v2@${KEDA_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/config/crd/bases"
  rm -rf "$dir/crds.partial"; mkdir -p "$dir/crds.partial"; cp "$src"/*.yaml "$dir/crds.partial/"
  chmod -R u+w "$dir/crds.partial"; rm -rf "$dir/crds"; mv "$dir/crds.partial" "$dir/crds"
}

components=("$@"); [[ ${#components[@]} -gt 0 ]] || components=(etcd kwok helm k8s)
for c in "${components[@]}"; do "build_$c"; done
log "done"
