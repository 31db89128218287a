#!/usr/bin/env bash
# One-time machine setup for developing and testing ironlb (root, Debian bookworm):
# Debian tools for the network tests, npm packages, the native addon, and the test API server
# with kube-proxy (iptables mode; built once from the same Kubernetes source, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }

DEB_PACKAGES=(iproute2 iputils-ping arping ndisc6 curl socat tcpdump procps bird2 frr gobgpd python3 make g++ gcc openssl etcd-server iptables conntrack faketime stress-ng)
if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The routers are started by the tests themselves, never as system services.
  for svc in bird frr gobgpd; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
else
  log "not root: skipping Debian packages (${DEB_PACKAGES[*]})"
fi

log "npm ci"
npm ci --no-audit --no-fund
log "building the native addon"
npm run --silent build:native >/dev/null
node -e "require('./native/build/Release/ironlb_native.node')" || { log "native addon did not build"; exit 1; }
log "building ironlb"
npm run --silent build
log "kube-apiserver, kubectl and kube-proxy for tests (built once, then cached)"
npm run --silent cluster -- install
log "done"
