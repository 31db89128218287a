#!/usr/bin/env bash
# Safety net for CI: removes the network namespaces an aborted test run left behind, and nobody
# else's. usage:
#   netns-cleanup.sh REGISTRY   the namespaces listed in REGISTRY (one per line): scripts/lib/netns.ts
#                               appends every namespace it makes to $IRONLB_NETNS_REGISTRY
#   netns-cleanup.sh --all      every namespace named like ours (il<pid><hex>-<host>) on this machine:
#                               only when no other run, lab or test:repeat uses the machine
# (Before the registry, CI's cleanup took every il* namespace: a CI run's exit killed the speakers
# of a lab another checkout had running on the same machine.)
# Processes still running inside such a namespace (kube-proxy, pod servers, speakers of a killed
# run) are stopped first, by the pids `ip netns pids` lists for it: deleting a namespace's name
# does not stop them, and their iptables rules would live on with them.
set -u
pattern='^il[0-9]{1,3}[0-9a-f]{4}-[a-z0-9]+$'
case "${1:-}" in
  --all) candidates=$(ip netns list 2>/dev/null | awk '{print $1}') ;;
  '') echo "usage: $0 REGISTRY | --all" >&2; exit 2 ;;
  *) candidates=$(sort -u "$1" 2>/dev/null) ;;
esac
existing=" $(ip netns list 2>/dev/null | awk '{print $1}' | tr '\n' ' ') "
ours=""
for ns in $candidates; do
  if [[ "$ns" =~ $pattern ]] && [[ "$existing" == *" $ns "* ]]; then ours="$ours $ns"; fi
done
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
