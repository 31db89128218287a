#!/usr/bin/env bash
# Captures the real frames the frame fuzzer (test/fuzz/frames.ts) starts from: what Linux, arping
# and ndisc6 put on the wire for ARP and NDP (resolution, replies, NUD probes, DAD, gratuitous
# ARP, unsolicited NA, router solicitations), between two namespaces on a veth pair. Writes
# test/fuzz/seeds.txt (one frame per line: hex, then tcpdump's summary). Root, under the lock:
#   flock /tmp/ironlb-netns.lock bash test/fuzz/capture-seeds.sh
set -euo pipefail
cd "$(dirname "$0")"
a="ilfz$$a"
b="ilfz$$b"
pcap="$(mktemp /tmp/ilfz-XXXXXX.pcap)"
dump_pid=""
cleanup() {
  [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -f "$pcap"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add eth0 type veth peer name eth0 netns "$b"
ip netns exec "$a" sysctl -qw net.ipv4.neigh.eth0.delay_first_probe_time=1 net.ipv6.neigh.eth0.delay_first_probe_time=1
ip -n "$a" link set eth0 address 02:00:00:00:00:10
ip -n "$b" link set eth0 address 02:00:00:00:00:11
ip -n "$b" link set eth0 up # tcpdump needs the link up; a's comes up after, so its DAD is captured
ip netns exec "$b" tcpdump -q -U -w "$pcap" -i eth0 'arp or icmp6' 2>/dev/null &
dump_pid=$!
sleep 1
ip -n "$a" link set eth0 up
ip -n "$a" addr add 198.51.100.10/24 dev eth0
ip -n "$b" addr add 198.51.100.11/24 dev eth0
ip -n "$a" addr add 2001:db8:100::10/64 dev eth0
ip -n "$b" addr add 2001:db8:100::11/64 dev eth0
sleep 2 # DAD for both addresses and the link-local ones
ip netns exec "$a" ping -c 1 -W 1 198.51.100.11 >/dev/null
ip netns exec "$a" ping -6 -c 1 -W 1 2001:db8:100::11 >/dev/null
ip netns exec "$a" arping -c 1 -i eth0 198.51.100.11 >/dev/null || true
ip netns exec "$a" arping -c 1 -U -i eth0 -S 198.51.100.10 198.51.100.10 >/dev/null 2>&1 || true
ip netns exec "$a" ndisc6 -1 -r 1 -w 300 2001:db8:100::11 eth0 >/dev/null || true
ip netns exec "$a" ndisc6 -1 -n -r 1 -w 300 2001:db8:100::11 eth0 >/dev/null 2>&1 || true
# NUD: stale entries are re-confirmed with unicast probes (ARP to the MAC, NS to the address).
ip -n "$a" neigh change 198.51.100.11 dev eth0 nud stale
ip -n "$a" -6 neigh change 2001:db8:100::11 dev eth0 nud stale
ip netns exec "$a" ping -c 1 -W 1 198.51.100.11 >/dev/null
ip netns exec "$a" ping -6 -c 1 -W 1 2001:db8:100::11 >/dev/null
sleep 3
# Unsolicited NA and gratuitous ARP from the kernel: an address added with ndisc_notify / arp_notify.
ip netns exec "$b" sysctl -qw net.ipv6.conf.eth0.ndisc_notify=1 net.ipv4.conf.eth0.arp_notify=1
ip -n "$b" link set eth0 down
ip -n "$b" link set eth0 up
sleep 2
kill "$dump_pid" 2>/dev/null || true
wait "$dump_pid" 2>/dev/null || true
dump_pid=""
{
  echo "# Real frames captured by capture-seeds.sh (tcpdump -xx on a veth pair between two namespaces):"
  echo "# Linux 6.x, arping (Habets) and ndisc6. One frame per line: hex, then tcpdump's summary."
  tcpdump -r "$pcap" -nn -xx 2>/dev/null | awk '
    /^[0-9]/ { if (hex != "") print hex "  # " sum; hex = ""; sum = $0; sub(/^[0-9:.]+ /, "", sum); next }
    /^\t0x/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9a-f]{4}$/) hex = hex $i; else if ($i ~ /^[0-9a-f]{2}$/) hex = hex $i }
    END { if (hex != "") print hex "  # " sum }'
} >seeds.txt
echo "captured $(grep -vc '^#' seeds.txt) frames into $(pwd)/seeds.txt"
