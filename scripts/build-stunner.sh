#!/usr/bin/env bash
# Builds STUNner's own programs, which the differential test tier (npm run test:differential)
# runs beside ours, from the Go module proxy:
#   build/stunner                   github.com/l7mp/stunner v1.2.1: stunnerd, turncat, icetester
#   build/stunner-auth-service      github.com/l7mp/stunner-auth-service v1.1.0 (the ICE auth service)
#   build/stunner-gateway-operator  github.com/l7mp/stunner-gateway-operator v1.2.1
# Each directory holds a small go.mod of ours that pins the release and repeats its replace lines.
# The binaries go to .stunner-build/bin (ignored), each group cached by a stamp of the go.mod and
# go.sum it was built from and the Go toolchain: a second run with nothing changed returns at once.
# It also asks whether the proxy serves STUNner's v2 line (github.com/l7mp/stunner/v2).
# No source of theirs enters this repository; Go keeps the modules in its own cache.
#
# A group that fails to build is reported with the exact command and its error, and the run goes
# on. The exit status is 1 only when stunnerd or turncat is missing at the end: the tier needs them.
set -uo pipefail
cd "$(dirname "$0")/.."

# STUNner's newer modules declare Go versions above the one on some machines; one toolchain for all.
export GOTOOLCHAIN=go1.27.3
# -trimpath and no symbol tables: smaller binaries; CGO off: no C toolchain needed for these.
export CGO_ENABLED=0
export GOFLAGS=-buildvcs=false

ROOT=.stunner-build
OUT=$ROOT/bin
mkdir -p "$OUT" "$ROOT/stamps" "$ROOT/logs"
STATUS=$ROOT/status
: > "$STATUS.new"

if ! command -v go >/dev/null 2>&1; then
  echo "stunner build: the go command is missing; install Go 1.26 or newer" >&2
  exit 1
fi

failed=()
rebuilt=0

# build_group <name> <dir> <binaries (space-separated)> <packages...>
build_group() {
  local name=$1 dir=$2 bins=$3
  shift 3
  local files=("$dir/go.mod")
  [ -f "$dir/go.sum" ] && files+=("$dir/go.sum")
  [ -f "$dir/tools.go" ] && files+=("$dir/tools.go")
  local want
  want=$( (cat "${files[@]}"; echo "$GOTOOLCHAIN") | sha256sum | cut -d' ' -f1)
  local have
  have=$(cat "$ROOT/stamps/$name" 2>/dev/null || true)
  local all_there=1 b
  for b in $bins; do [ -x "$OUT/$b" ] || all_there=0; done
  if [ "$all_there" = 1 ] && [ "$want" = "$have" ]; then
    echo "stunner build: $name cached ($bins)"
    echo "$name ok cached $bins" >> "$STATUS.new"
    return 0
  fi
  rebuilt=1
  # Without a committed go.sum (a module the proxy does not serve yet) go may write one: -mod=mod.
  local modflag=()
  [ -f "$dir/go.sum" ] || modflag=(-mod=mod)
  local cmd=(go build "${modflag[@]}" -trimpath -ldflags "-s -w" -o "../../$OUT/" "$@")
  local start
  start=$(date +%s)
  echo "stunner build: building $name ($bins) in $dir"
  local log=$ROOT/logs/$name.log
  if (cd "$dir" && timeout 1800 "${cmd[@]}") > "$log" 2>&1; then
    local took=$(( $(date +%s) - start ))
    echo "$want" > "$ROOT/stamps/$name"
    echo "stunner build: $name built in $took s"
    echo "$name ok ${took}s $bins" >> "$STATUS.new"
  else
    local took=$(( $(date +%s) - start ))
    rm -f "$ROOT/stamps/$name"
    failed+=("$name")
    {
      echo "stunner build: FAILED: $name after $took s"
      echo "  command: (cd $dir && GOTOOLCHAIN=$GOTOOLCHAIN CGO_ENABLED=0$(printf ' %q' "${cmd[@]}"))"
      echo "  error (last 15 lines of $log):"
      tail -n 15 "$log" | sed 's/^/    /'
    } >&2
    echo "$name FAILED ${took}s $(grep -m1 -E '403|error|cannot|not available' "$log" | tr -s ' ' | cut -c1-300)" >> "$STATUS.new"
  fi
}

build_group stunner-v1 build/stunner "stunnerd turncat icetester" \
  github.com/l7mp/stunner/cmd/stunnerd github.com/l7mp/stunner/cmd/turncat github.com/l7mp/stunner/cmd/icetester
build_group stunner-auth-service build/stunner-auth-service "stunner-auth-service" \
  github.com/l7mp/stunner-auth-service
build_group stunner-gateway-operator build/stunner-gateway-operator "stunner-gateway-operator" \
  github.com/l7mp/stunner-gateway-operator

# STUNner's v2 line: built only when the proxy serves it (then it needs a build/stunner-v2 go.mod).
if [ "$rebuilt" = 1 ] || ! grep -q '^stunner-v2 ' "$STATUS" 2>/dev/null; then
  if v2=$(cd build/stunner && timeout 120 go list -m -versions github.com/l7mp/stunner/v2 2>&1); then
    echo "stunner build: github.com/l7mp/stunner/v2 is served: $v2 (not built yet: add build/stunner-v2)"
    echo "stunner-v2 served $v2" >> "$STATUS.new"
  else
    echo "stunner build: not built: stunner-v2" >&2
    echo "  command: go list -m -versions github.com/l7mp/stunner/v2" >&2
    echo "$v2" | sed 's/^/    /' >&2
    echo "stunner-v2 FAILED $(echo "$v2" | head -n1 | cut -c1-300)" >> "$STATUS.new"
  fi
else
  grep '^stunner-v2 ' "$STATUS" >> "$STATUS.new"
fi
mv "$STATUS.new" "$STATUS"

if [ ${#failed[@]} -gt 0 ]; then
  echo "stunner build: failed to build: ${failed[*]} (details above; summary in $STATUS)" >&2
fi
for b in stunnerd turncat; do
  if [ ! -x "$OUT/$b" ]; then
    echo "stunner build: $b is missing; the differential tier cannot run" >&2
    exit 1
  fi
done
exit 0
