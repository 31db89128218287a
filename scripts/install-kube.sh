#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and kube-proxy v1.20.2 from Debian's `kubernetes` source package
# and installs etcd and iptables (kube-proxy's iptables mode) from Debian. Idempotent: the build is
# cached per version under ${IRONLB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ironlb}, so only the
# first run pays, and only for what is missing: a cache made before kube-proxy was added gets
# kube-proxy built and moved in beside the binaries it already has, which are never rebuilt,
# deleted or replaced (other test runs may be using them). Each binary is copied in under a
# temporary name and renamed into place, so a reader never sees half a file; concurrent runs
# serialise on a lock file in the cache. Prints the directory holding the binaries on its last line.
set -euo pipefail

KUBE_DEB_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
KUBE_VERSION="v1.20.2"
CACHE_ROOT="${IRONLB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ironlb}"
VERSION_DIR="$CACHE_ROOT/kube-$KUBE_VERSION"
BIN_DIR="$VERSION_DIR/bin"
TARGETS=(kube-apiserver kubectl kube-proxy)

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

# iptables (Debian's nft variant) and conntrack: what kube-proxy's iptables mode calls at run time.
apt_install etcd-server ca-certificates openssl iptables conntrack

missing_targets() {
  local t
  for t in "${TARGETS[@]}"; do [ -x "$BIN_DIR/$t" ] || echo "$t"; done
}

if [ -z "$(missing_targets)" ]; then
  echo "$BIN_DIR"
  exit 0
fi

# One build at a time per cache; whoever waited re-checks what is still missing.
mkdir -p "$VERSION_DIR"
exec 9>"$VERSION_DIR/.install.lock"
flock 9
mapfile -t MISSING < <(missing_targets)
if [ ${#MISSING[@]} -eq 0 ]; then
  echo "$BIN_DIR"
  exit 0
fi
log "to build: ${MISSING[*]} (already cached: $(cd "$BIN_DIR" 2>/dev/null && ls 2>/dev/null | tr '\n' ' '))"

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

# A scratch directory of this run's own: nothing another run uses is touched.
WORK=$(mktemp -d "$VERSION_DIR/build.XXXXXX")
trap 'cd /; rm -rf "$WORK"' EXIT
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
what=$(printf 'cmd/%s ' "${MISSING[@]}")
log "building ${MISSING[*]} (kube-apiserver ~8 min, kube-proxy ~5 min on 2 idle cores)"
t0=$(date +%s)
if ! HOME="$scratch/home" GOPATH="$scratch/gopath" GOCACHE="$scratch/gocache" CGO_ENABLED=0 \
   GOFLAGS=-mod=vendor KUBE_GIT_VERSION="$KUBE_VERSION" KUBE_GIT_TREE_STATE=clean \
   make WHAT="${what% }" > "$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  cp "$WORK/build.log" "$VERSION_DIR/build-failed.log" 2>/dev/null || true
  die "build failed (log: $VERSION_DIR/build-failed.log)"
fi
out=_output/local/bin/linux/amd64
for t in "${MISSING[@]}"; do
  [ -x "$out/$t" ] || { tail -n 40 "$WORK/build.log" >&2; die "$t not produced"; }
done
mkdir -p "$BIN_DIR"
for t in "${MISSING[@]}"; do
  # Same filesystem: the rename is atomic, and only a missing binary is ever moved in.
  cp "$out/$t" "$BIN_DIR/.$t.tmp.$$"
  mv -f "$BIN_DIR/.$t.tmp.$$" "$BIN_DIR/$t"
done
log "installed ${MISSING[*]} into $BIN_DIR in $(( $(date +%s) - t0 )) s"
echo "$BIN_DIR"
