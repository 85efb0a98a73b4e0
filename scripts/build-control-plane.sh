#!/usr/bin/env bash
# Builds the Kubernetes control plane the cluster test tier runs, from the Go module proxy:
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes (build/cluster/go.mod
# pins the release and its staging modules), and etcd from go.etcd.io/etcd/server/v3
# (build/etcd). The binaries are cached in .cluster-build/bin (ignored), keyed by the go.mod and
# go.sum they were built from: a second run with nothing changed returns at once.
# No source of theirs enters this repository; Go keeps the modules in its own cache.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=.cluster-build/bin
STAMP=.cluster-build/stamp
mkdir -p "$OUT"

want=$(cat build/cluster/go.mod build/cluster/go.sum build/etcd/go.mod build/etcd/go.sum build/etcd/main.go | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
bins=(kube-apiserver kube-controller-manager kubectl etcd)
all_there=1
for b in "${bins[@]}"; do [ -x "$OUT/$b" ] || all_there=0; done
if [ "$all_there" = 1 ] && [ "$want" = "$have" ]; then
  echo "control plane: cached in $OUT"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "control plane: the go command is missing; install Go 1.26 or newer" >&2
  exit 1
fi

start=$(date +%s)
echo "control plane: building kube-apiserver, kube-controller-manager, kubectl and etcd (first run: about 15-25 minutes on 2 cores)"
# -trimpath and no symbol tables: smaller binaries.
(cd build/cluster && go build -trimpath -ldflags "-s -w" -o "../../$OUT/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl)
(cd build/etcd && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "../../$OUT/etcd" .)
echo "$want" > "$STAMP"
echo "control plane: built in $(( $(date +%s) - start )) s"
