#!/usr/bin/env bash
# Lints the Dockerfile (and checks .dockerignore) without a Docker engine.
# With hadolint on PATH it runs hadolint; Debian has no hadolint package, so otherwise it runs
# ironlb's own structural lint (test/unit/manifests/dockerfile.test.ts): multi-stage build, a
# non-root USER, pinned base image tags, no ADD of URLs, .dockerignore present.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v hadolint >/dev/null 2>&1; then
  echo "[lint-dockerfile] hadolint $(hadolint --version 2>/dev/null | head -n1)" >&2
  hadolint Dockerfile
fi
echo "[lint-dockerfile] structural lint (jest: test/unit/manifests/dockerfile.test.ts)" >&2
exec npx jest test/unit/manifests/dockerfile.test.ts --selectProjects unit
