#!/usr/bin/env bash
# Installs the Debian packages Weft needs (libatomic_ops, Boost.Context, openssl for a test; Go for the
# benchmark comparison when asked with --with-go). Safe to run again: it installs only what
# is missing. Needs root (or sudo) when something is missing.
set -euo pipefail
packages=(libatomic-ops-dev libboost-context-dev openssl)  # openssl: the WeftDistributed TLS test makes its certificates
if [[ "${1:-}" == "--with-go" ]]; then packages+=(golang-go); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
