// A second LAN for a lab: bridge br1 in the lab's switch namespace and an `eth1` in each given
// host, as a node with two NICs on two networks has (an L2Advertisement's `interfaces` picks
// between them). The lab's destroy() removes it with the namespaces.
import type { Host, Lab } from './netns';

export interface SecondLink {
  readonly host: Host;
  readonly ifname: 'eth1';
  readonly mac: string;
  readonly ipv4: string;
}

/** `members`: each host and its eth1 address with prefix (e.g. 203.0.113.11/24). */
export async function addSecondLan(lab: Lab, members: ReadonlyArray<{ readonly host: Host; readonly ipv4: string }>): Promise<SecondLink[]> {
  await lab.ip(lab.switchNs, ['link', 'add', 'br1', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0']);
  await lab.ip(lab.switchNs, ['link', 'set', 'br1', 'up']);
  const links: SecondLink[] = [];
  for (const [i, { host, ipv4 }] of members.entries()) {
    const port = `q${i}${host.name}`.slice(0, 15);
    await lab.ip(lab.switchNs, ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', host.ns]);
    await lab.ip(lab.switchNs, ['link', 'set', port, 'master', 'br1', 'up']);
    // As on eth0 (l2-lab.ts): the kernel answers ARP only for the interface's own address, so
    // that a Service address is answered by ironlb alone.
    await lab.sysctl(host, { 'net.ipv4.conf.eth1.arp_ignore': '1', 'net.ipv4.conf.eth1.arp_announce': '2' });
    await lab.ip(host.ns, ['addr', 'add', ipv4, 'dev', 'eth1']);
    await lab.ip(host.ns, ['link', 'set', 'eth1', 'up']);
    const link = JSON.parse((await lab.ip(host.ns, ['-j', 'link', 'show', 'eth1'])).stdout)[0] as { address: string };
    links.push({ host, ifname: 'eth1', mac: link.address.toLowerCase(), ipv4: ipv4.split('/')[0] });
  }
  return links;
}
