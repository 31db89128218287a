#!/usr/bin/env bash
# Safety net for CI: removes network namespaces left by an aborted test run. Only names made by
# scripts/lib/netns.ts (il<pid><hex>-<host>) are touched; tests remove their own on success.
# Processes still running inside such a namespace (kube-proxy, pod servers, speakers of a killed
# run) are stopped first, by the pids `ip netns pids` lists for it: deleting a namespace's name
# does not stop them, and their iptables rules would live on with them.
set -u
ours=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^il[0-9]{1,3}[0-9a-f]{4}-[a-z0-9]+$')
for ns in $ours; do
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  if [ -n "${pids// /}" ]; then
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null && echo "[netns-cleanup] stopped pids $pids in $ns"
  fi
done
for ns in $ours; do
  ip netns del "$ns" 2>/dev/null && echo "[netns-cleanup] removed $ns"
done
exit 0
