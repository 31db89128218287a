// Router tables in one normalised shape: parsers of `birdc show route all` and `gobgp ... -j`.
import type { Rib, RibPath } from './routers';

/** Parses `birdc show route all` (BIRD 2.0) into prefix → BGP paths. */
export function parseBird(text: string): Rib {
  const rib: Rib = new Map();
  let prefix = '';
  let cur: RibPath | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+\/\d+)\s+unicast\s/.exec(line);
    if (head) prefix = head[1];
    if (head || /^\s+unicast \[/.test(line)) {
      cur = { nextHop: '', communities: [], largeCommunities: [], asPath: [] };
      if (!rib.has(prefix)) rib.set(prefix, []);
      rib.get(prefix)?.push(cur);
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+BGP\.(\w+):\s*(.*)$/.exec(line);
    if (!attr) continue;
    const [, name, value] = attr;
    if (name === 'next_hop') cur.nextHop = value.split(/\s+/)[0];
    if (name === 'local_pref') cur.localPref = Number(value);
    if (name === 'as_path') cur.asPath = value.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
    if (name === 'community') cur.communities = [...value.matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
    if (name === 'large_community') cur.largeCommunities = [...value.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}:${m[3]}`);
  }
  for (const [k, paths] of rib) {
    const bgp = paths.filter((p) => p.nextHop !== '');
    if (bgp.length === 0) rib.delete(k);
    else rib.set(k, bgp);
  }
  return rib;
}

interface GobgpAttr {
  type: number;
  nexthop?: string;
  communities?: number[];
  value?: unknown;
  as_paths?: Array<{ asns: number[] }>;
  value_local_pref?: number;
}

export function parseGobgp(text: string): Rib {
  const rib: Rib = new Map();
  const data = JSON.parse(text || '{}') as Record<string, Array<{ attrs: GobgpAttr[] }>>;
  for (const [prefix, paths] of Object.entries(data)) {
    rib.set(
      prefix,
      paths.map((p) => {
        const path: RibPath = { nextHop: '', communities: [], largeCommunities: [], asPath: [] };
        for (const a of p.attrs) {
          if (a.type === 3 && a.nexthop) path.nextHop = a.nexthop;
          if (a.type === 14 && a.nexthop) path.nextHop = a.nexthop;
          if (a.type === 2) path.asPath = (a.as_paths ?? []).flatMap((s) => s.asns);
          if (a.type === 5) path.localPref = a.value as number;
          if (a.type === 8) path.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`);
          if (a.type === 32) {
            path.largeCommunities = ((a.value as Array<{ ASN?: number; asn?: number; LocalData1?: number; local_data1?: number; LocalData2?: number; local_data2?: number }>) ?? []).map(
              (c) => `${c.ASN ?? c.asn}:${c.LocalData1 ?? c.local_data1}:${c.LocalData2 ?? c.local_data2}`,
            );
          }
        }
        return path;
      }),
    );
  }
  return rib;
}
