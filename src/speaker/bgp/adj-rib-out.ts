// Adj-RIB-Out (RFC 4271 §3.2): the routes one peer has from this speaker, keyed by structured
// prefixes, and the UPDATEs that bring it to the routes it should have. Pure: no I/O, no time.
import { buildUpdates, type Prefix } from '../../protocol/bgp';
import { attributeKey, familyExported, hasNextHop, pathAttributes, type ExportPolicy, type Route } from './export-policy';

/** A prefix as a Map key: family, address and length, compared by value (never parsed back from text). */
export type PrefixKey = bigint;

export function prefixKey(p: Prefix): PrefixKey {
  return (((p.addr << 8n) | BigInt(p.length)) << 1n) | (p.family === 6 ? 1n : 0n);
}

interface Advertised {
  readonly prefix: Prefix;
  /** attributeKey() of what the peer was sent. */
  readonly attributes: string;
}

export interface SyncResult {
  /** Encoded UPDATEs, in sending order: withdrawals first, then announcements grouped by attributes. */
  readonly updates: Buffer[];
  /** Desired routes without a next hop of their family: not announced. */
  readonly unannounceable: readonly Prefix[];
}

export class AdjRibOut {
  private readonly advertised = new Map<PrefixKey, Advertised>();

  /** Prefixes the peer currently has from us. */
  get size(): number {
    return this.advertised.size;
  }

  /** A new connection: the peer has nothing from us. */
  clear(): void {
    this.advertised.clear();
  }

  /** ROUTE-REFRESH (RFC 2918): the peer asks for one family again, so we act as if it had none of it. */
  forgetFamily(family: 4 | 6): void {
    for (const [key, a] of this.advertised) if (a.prefix.family === family) this.advertised.delete(key);
  }

  /** The UPDATEs from what the peer has to `desired`, recorded as sent. */
  sync(desired: readonly Route[], policy: ExportPolicy): SyncResult {
    const wanted = new Map<PrefixKey, Route>();
    for (const r of desired) wanted.set(prefixKey(r.prefix), r);
    const withdraw: Prefix[] = [];
    for (const [key, a] of this.advertised) {
      if (wanted.has(key)) continue;
      withdraw.push(a.prefix);
      this.advertised.delete(key);
    }
    const groups = new Map<string, Route[]>();
    for (const [key, r] of wanted) {
      if (!familyExported(r.prefix, policy)) continue;
      const attributes = attributeKey(r, policy.internal);
      if (this.advertised.get(key)?.attributes === attributes) continue;
      let group = groups.get(attributes);
      if (!group) groups.set(attributes, (group = []));
      group.push(r);
    }
    const updates = withdraw.length > 0 ? buildUpdates({ announce: [], withdraw, attrs: [], ctx: policy.codec }) : [];
    const unannounceable: Prefix[] = [];
    const ipv6NextHop = policy.nextHop6 === undefined ? undefined : { family: 6 as const, global: policy.nextHop6 };
    for (const [attributes, routes] of groups) {
      const announce = routes.filter((r) => hasNextHop(r.prefix, policy)).map((r) => r.prefix);
      unannounceable.push(...routes.filter((r) => !hasNextHop(r.prefix, policy)).map((r) => r.prefix));
      if (announce.length === 0) continue;
      updates.push(...buildUpdates({ announce, withdraw: [], attrs: pathAttributes(routes[0], policy), ipv6NextHop, ctx: policy.codec }));
      for (const prefix of announce) this.advertised.set(prefixKey(prefix), { prefix, attributes });
    }
    return { updates, unannounceable };
  }
}
