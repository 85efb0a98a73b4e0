#!/usr/bin/env bash
# `npm run test:all`: every tier. On a fresh machine the Go builds the last three tiers need
# (Kubernetes' control plane, Argo CD, STUNner: about 25 min of compiling) run in the background,
# at the lowest CPU priority, while `npm test` runs; `npm test` needs none of them, and its
# integration tier mostly waits on sockets and peers. Each build script is a no-op once built, so
# the tiers' own scripts only check the stamps afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-peers.sh || exit 1

mkdir -p tmp
log=tmp/go-builds.log
# setsid: the builds are one process group, so that a failed `npm test` stops all of them.
setsid nice -n 19 bash -c 'bash scripts/build-control-plane.sh && bash scripts/fetch-crds.sh &&
  bash scripts/build-argocd.sh && bash scripts/build-stunner.sh' >"$log" 2>&1 &
builds=$!
trap 'kill -- -"$builds" 2>/dev/null' EXIT

npm test || exit 1

echo "waiting for the Go builds (log: $log)"
wait "$builds"
built=$?
trap - EXIT
if [ "$built" -ne 0 ]; then
  tail -n 40 "$log" >&2
  echo "the Go builds failed (exit $built): see $log" >&2
  exit 1
fi

npm run test:cluster && npm run test:argocd && npm run test:differential
