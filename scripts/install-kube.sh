#!/usr/bin/env bash
# Builds kube-apiserver and kubectl v1.20.2 from Debian's `kubernetes` source package
# and installs etcd from Debian. Idempotent: the build is cached per version under
# ${IRONLB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ironlb}, so only the first run pays.
# Prints the directory holding the binaries on its last line.
set -euo pipefail

KUBE_DEB_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
KUBE_VERSION="v1.20.2"
CACHE_ROOT="${IRONLB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ironlb}"
BIN_DIR="$CACHE_ROOT/kube-$KUBE_VERSION/bin"

log() { echo "[install-kube] $*" >&2; }
die() { echo "[install-kube] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get is needed)"

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

apt_install etcd-server ca-certificates openssl

if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kubectl" ]; then
  echo "$BIN_DIR"
  exit 0
fi

# deb-src stanza for bookworm (+security, where the deb12u1 upload lives), copied from debian.sources.
SRC_LIST=/etc/apt/sources.list.d/ironlb-debsrc.sources
if [ ! -f "$SRC_LIST" ]; then
  main_src=/etc/apt/sources.list.d/debian.sources
  [ -f "$main_src" ] || die "no $main_src to copy deb-src URIs from"
  log "adding deb-src stanza $SRC_LIST"
  awk 'BEGIN{RS=""; ORS="\n\n"} /Types:[ \t]*deb/ { gsub(/Types:[ \t]*deb[^\n]*/, "Types: deb-src"); print }' "$main_src" > "$SRC_LIST"
  apt_updated=0
fi
if [ $apt_updated = 0 ]; then
  log "apt-get update"
  apt-get update -qq >&2 || die "apt-get update failed"
  apt_updated=1
fi
apt_install golang-go rsync jq golang-github-modern-go-reflect2-dev dpkg-dev make

WORK="$CACHE_ROOT/kube-$KUBE_VERSION/build"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
log "apt-get source --download-only kubernetes=$KUBE_DEB_VERSION"
apt-get source --download-only "kubernetes=$KUBE_DEB_VERSION" >&2 || die "apt-get source failed"
orig=$(ls kubernetes_*.orig.tar.* 2>/dev/null | head -n1)
[ -n "$orig" ] || die "no orig tarball downloaded"
mkdir src
tar -xf "$orig" -C src --strip-components=1
cd src
[ -d vendor/github.com/modern-go/reflect2 ] || die "vendor/github.com/modern-go/reflect2 missing in orig tarball"
reflect_src=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -d "$reflect_src" ] || die "$reflect_src missing (golang-github-modern-go-reflect2-dev)"
# reflect2 as vendored segfaults under Go 1.19; 1.0.2 from Debian works.
rm -rf vendor/github.com/modern-go/reflect2
cp -r "$reflect_src" vendor/github.com/modern-go/reflect2
rm -rf vendor/github.com/modern-go/reflect2/.git* vendor/github.com/modern-go/reflect2/go.mod 2>/dev/null || true

scratch="$WORK/scratch"
mkdir -p "$scratch/home" "$scratch/gopath" "$scratch/gocache"
log "building kube-apiserver and kubectl (several minutes on 2 cores)"
if ! HOME="$scratch/home" GOPATH="$scratch/gopath" GOCACHE="$scratch/gocache" CGO_ENABLED=0 \
   GOFLAGS=-mod=vendor KUBE_GIT_VERSION="$KUBE_VERSION" KUBE_GIT_TREE_STATE=clean \
   make WHAT="cmd/kube-apiserver cmd/kubectl" > "$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  die "build failed (log: $WORK/build.log)"
fi
out=_output/local/bin/linux/amd64
[ -x "$out/kube-apiserver" ] || { tail -n 40 "$WORK/build.log" >&2; die "kube-apiserver not produced"; }
mkdir -p "$BIN_DIR.tmp"
cp "$out/kube-apiserver" "$out/kubectl" "$BIN_DIR.tmp/"
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
cd /
rm -rf "$WORK"
log "installed into $BIN_DIR"
echo "$BIN_DIR"
