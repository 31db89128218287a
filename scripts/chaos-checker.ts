// The independent checker of `npm run chaos:controller`: it knows MetalLB's sharing rules as a
// table and nothing of src/ipam or src/controller. It looks at every Service version it is
// shown (a watch, and a full list after each kill) and records:
// - duplicates: one address on two Services that may not share it;
// - unexplained moves: a Service (same uid) whose address changed, or went away, although its
//   request (requested IPs, pool, sharing key, type) did not change.
import { isIP } from 'node:net';
import type * as k8s from '@kubernetes/client-node';

export interface Seen {
  key: string;
  uid: string;
  ips: string[];
  request: string;
  sharingKey: string;
  local: boolean;
  selector: string;
  ports: string[];
}

function parsable(ips: string): string {
  return ips.split(',').every((ip) => isIP(ip.trim()) !== 0) ? ips : '';
}

export function seen(svc: k8s.V1Service): Seen {
  const a = svc.metadata?.annotations ?? {};
  const pick = (name: string): string => a[`ironlb.io/${name}`] ?? a[`metallb.io/${name}`] ?? a[`metallb.universe.tf/${name}`] ?? '';
  const selector = Object.entries(svc.spec?.selector ?? {})
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    key: `${svc.metadata?.namespace}/${svc.metadata?.name}`,
    uid: svc.metadata?.uid ?? '',
    ips: (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''),
    // An unparsable loadBalancerIPs is no request to move: the Service keeps its address.
    request: JSON.stringify([svc.spec?.type, svc.spec?.loadBalancerIP ?? '', parsable(pick('loadBalancerIPs')), pick('address-pool'), pick('allow-shared-ip')]),
    sharingKey: pick('allow-shared-ip'),
    local: svc.spec?.externalTrafficPolicy === 'Local',
    selector,
    ports: (svc.spec?.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`),
  };
}

/** MetalLB's rule, plus ironlb's: Local Services share only within one namespace. */
export function mayShare(a: Seen, b: Seen): boolean {
  if (a.sharingKey === '' || a.sharingKey !== b.sharingKey || a.local !== b.local) return false;
  if (a.local && (a.selector !== b.selector || a.key.split('/')[0] !== b.key.split('/')[0])) return false;
  return !a.ports.some((p) => b.ports.includes(p));
}

export class Checker {
  private readonly current = new Map<string, Seen>();
  /** Per uid: the address it was first seen with and the request it had then. */
  private readonly first = new Map<string, { ips: string; request: string }>();
  /** Per uid: the newest resourceVersion seen; the watch and the lists are two streams, older versions are skipped. */
  private readonly newest = new Map<string, bigint>();
  /** Uids seen deleted: a list read before the deletion must not bring them back. */
  private readonly deleted = new Set<string>();
  readonly duplicates = new Set<string>();
  readonly moves = new Set<string>();
  observations = 0;

  see(svc: k8s.V1Service): void {
    const s = seen(svc);
    const rv = BigInt(svc.metadata?.resourceVersion ?? '0');
    if (this.deleted.has(s.uid) || rv < (this.newest.get(s.uid) ?? 0n)) return;
    this.newest.set(s.uid, rv);
    this.observations++;
    this.current.set(s.key, s);
    const ips = s.ips.join(',');
    const was = this.first.get(s.uid);
    if (!was || was.request !== s.request) {
      // A new Service, or its own request changed: whatever it shows from now on is its new start.
      if (ips !== '' || (was && was.request !== s.request)) this.first.set(s.uid, { ips, request: s.request });
    } else if (was.ips === '') {
      this.first.set(s.uid, { ips, request: s.request });
    } else if (ips !== was.ips) {
      this.moves.add(`${s.key} (${s.uid.slice(0, 8)}): ${was.ips} -> ${ips || 'nothing'}`);
    }
    this.checkAddresses(s.ips);
  }

  gone(svc: k8s.V1Service): void {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    this.deleted.add(svc.metadata?.uid ?? '');
    if (this.current.get(key)?.uid === svc.metadata?.uid) this.current.delete(key);
  }

  /** A full list: every Service in it, and nothing else exists. */
  snapshot(services: readonly k8s.V1Service[]): void {
    const keys = new Set(services.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`));
    for (const k of [...this.current.keys()]) if (!keys.has(k)) this.current.delete(k);
    for (const svc of services) this.see(svc);
    this.checkAddresses([...new Set([...this.current.values()].flatMap((s) => s.ips))]);
  }

  /** Services of type LoadBalancer without an address. */
  pending(): string[] {
    return [...this.current.values()].filter((s) => s.ips.length === 0 && s.request.startsWith('["LoadBalancer"')).map((s) => s.key);
  }

  hasAddress(key: string): boolean {
    return (this.current.get(key)?.ips.length ?? 0) > 0;
  }

  served(): number {
    return [...this.current.values()].filter((s) => s.ips.length > 0).length;
  }

  private checkAddresses(ips: readonly string[]): void {
    for (const ip of ips) {
      const on = [...this.current.values()].filter((s) => s.ips.includes(ip));
      for (let i = 0; i < on.length; i++) {
        for (let j = i + 1; j < on.length; j++) {
          if (!mayShare(on[i], on[j])) this.duplicates.add(`${ip}: ${on[i].key} and ${on[j].key}`);
        }
      }
    }
  }
}
