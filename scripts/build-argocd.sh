#!/usr/bin/env bash
# Builds Argo CD from the Go module proxy: its single binary `argocd` (github.com/argoproj/argo-cd/v3/cmd),
# pinned by build/argocd/go.mod. The binary dispatches on the name it is run as (argv[0], or
# ARGOCD_BINARY_NAME), so argocd-application-controller and argocd-repo-server are symlinks to it.
# Everything is cached in .argocd-build/bin (ignored), keyed by the go.mod and go.sum it was built
# from: a second run with nothing changed returns at once.
# No source of theirs enters this repository; Go keeps the modules in its own cache.
set -euo pipefail
cd "$(dirname "$0")/.."

# Argo CD 3.6 needs Go 1.27; the go command fetches this toolchain from the module proxy.
export GOTOOLCHAIN="${ARGOCD_GOTOOLCHAIN:-go1.27.3}"

OUT=.argocd-build/bin
STAMP=.argocd-build/stamp
mkdir -p "$OUT"

want=$(cat build/argocd/go.mod build/argocd/go.sum | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
names=(argocd-application-controller argocd-repo-server argocd-applicationset-controller argocd-server)
all_there=1
[ -x "$OUT/argocd" ] || all_there=0
for n in "${names[@]}"; do [ -L "$OUT/$n" ] || all_there=0; done
[ -x "$OUT/git-verify-wrapper.sh" ] || all_there=0
if [ "$all_there" = 1 ] && [ "$want" = "$have" ]; then
  echo "argocd: cached in $OUT"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "argocd: the go command is missing; install Go 1.26 or newer (it fetches $GOTOOLCHAIN)" >&2
  exit 1
fi

start=$(date +%s)
ver=$(grep -m1 'argoproj/argo-cd/v3 v' build/argocd/go.mod | awk '{print $NF}')
kubectl=$(grep -m1 'k8s.io/client-go =>' build/argocd/go.mod | awk '{print $NF}')
echo "argocd: building argocd $ver with $GOTOOLCHAIN (first run: about 10-20 minutes on 2 cores)"
# As Argo CD's own Makefile does: static (no cgo), the version stamped into common.version;
# -trimpath and no symbol tables: smaller binaries.
pkg=github.com/argoproj/argo-cd/v3/common
(cd build/argocd && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X $pkg.version=${ver#v} -X $pkg.kubectlVersion=$kubectl" \
  -o "../../$OUT/argocd" github.com/argoproj/argo-cd/v3/cmd)
for n in "${names[@]}"; do ln -sfn argocd "$OUT/$n"; done
# The repo server runs this helper of Argo CD's on every manifest request (its images put it on
# PATH): taken from the same module, never committed here.
dir=$(cd build/argocd && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
install -m 0755 "$dir/hack/git-verify-wrapper.sh" "$OUT/git-verify-wrapper.sh"
echo "$want" > "$STAMP"
echo "argocd: built in $(( $(date +%s) - start )) s"
