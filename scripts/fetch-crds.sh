#!/usr/bin/env bash
# The published CustomResourceDefinitions of the kinds dist/ renders or may render, for the
# cluster test tier: each project's own CRD manifests, taken from its released Go module (the Go
# module proxy is the one source of theirs this machine reaches) into .cluster-build/crds
# (ignored). Nothing of theirs is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=.cluster-build/crds
# module@version  path-in-module ...
CRDS=(
  "github.com/argoproj/argo-cd/v3@v3.6.2 manifests/crds/application-crd.yaml manifests/crds/applicationset-crd.yaml manifests/crds/appproject-crd.yaml"
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/cert-manager.io_certificates.yaml deploy/crds/cert-manager.io_clusterissuers.yaml deploy/crds/cert-manager.io_issuers.yaml"
  "github.com/external-secrets/external-secrets@v1.3.2 config/crds/bases/external-secrets.io_externalsecrets.yaml config/crds/bases/external-secrets.io_secretstores.yaml config/crds/bases/external-secrets.io_clustersecretstores.yaml"
  "github.com/bitnami-labs/sealed-secrets@v0.40.0 helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
)
want=$(printf '%s\n' "${CRDS[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$OUT/stamp" 2>/dev/null || true)" = "$want" ]; then
  echo "CRDs: cached in $OUT"
  exit 0
fi
mkdir -p "$OUT"
# Argo CD's module asks for Go 1.27; the go command fetches that toolchain from the proxy.
export GOTOOLCHAIN=go1.27.3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && go mod init crds >/dev/null 2>&1)
for entry in "${CRDS[@]}"; do
  read -r mv files <<<"$entry"
  dir=$(cd "$tmp" && go mod download -json "$mv" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "CRDs: could not download $mv" >&2; exit 1; }
  for f in $files; do cp "$dir/$f" "$OUT/$(basename "$f")"; chmod u+w "$OUT/$(basename "$f")"; done
done
echo "$want" > "$OUT/stamp"
echo "CRDs: $(ls "$OUT" | grep -c yaml) CustomResourceDefinitions in $OUT"
