#!/usr/bin/env bash
# Installs the real peers the tests talk to, when they are missing, from Debian's packages:
# coturn's test clients, Chromium, openssl, iproute2 (network namespaces), gcc and libc headers
# (the UDP module check, the fast path's C tests), clang with its libFuzzer runtime (the fast
# path's fuzzing), OpenSSL's headers (libssl-dev: bench/native's turn-blast links libcrypto),
# Janus (the JanusDemo's media server), Redis and git (Argo CD's cache and
# repository), and for the runtime image's tests a registry on loopback (docker-registry), skopeo
# to copy to and from it, and crun to run the image's filesystem as the pod would. Uses sudo when
# not root.
# `npm run test:all` runs this, then `npm test`.
set -euo pipefail

# command or file that proves a package is there -> Debian package
declare -A PEERS=(
  [turnutils_uclient]=coturn
  [chromium]=chromium
  [openssl]=openssl
  [ip]=iproute2
  [gcc]=gcc
  [/usr/include/stdio.h]=libc6-dev
  [clang]=clang
  [/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a]=libclang-rt-14-dev
  [/usr/include/openssl/hmac.h]=libssl-dev
  [/etc/ssl/certs/ca-certificates.crt]=ca-certificates
  [janus]=janus
  [redis-server]=redis-server
  [git]=git
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [crun]=crun
)

missing=()
for probe in "${!PEERS[@]}"; do
  if [[ $probe == /* ]]; then [[ -e $probe ]] && continue
  else command -v "$probe" >/dev/null 2>&1 && continue; fi
  missing+=("${PEERS[$probe]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test peers: all present"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test peers missing (${missing[*]}) and this is not a Debian-like system: install them by hand" >&2
  exit 1
fi
echo "test peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
