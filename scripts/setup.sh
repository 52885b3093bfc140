#!/usr/bin/env bash
# setup.sh - installs the Debian packages the build and the tests need (idempotent).
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libyaml-dev
      libjansson-dev libwebsockets-dev libcmocka-dev openssl ca-certificates curl)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(etcd-server unzip python3 python3-yaml nodejs clang libclang-rt-14-dev valgrind)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
