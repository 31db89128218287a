#!/usr/bin/env bash
# Safety net for CI: removes network namespaces left by an aborted test run. Only names made by
# test/helpers/netns.ts (il<pid><hex>-<host>) are touched; tests remove their own on success.
set -u
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^il[0-9]{1,3}[0-9a-f]{4}-[a-z0-9]+$'); do
  ip netns del "$ns" 2>/dev/null && echo "[netns-cleanup] removed $ns"
done
exit 0
