// The election order per address, kept between passes (issue 18). hashOrder costs one sha256 per
// candidate node and a sort, for every Service, on every pass: ~1 ms per Service at 100 nodes.
// The order of a set of nodes for an address never changes, so it is computed once per address
// over every node seen so far, and a later node is put in place with a binary search (a few
// hashes). A pass then only filters the cached order by the candidates. Pure: no I/O, no clock.
import { hash } from 'node:crypto';

/** Node names are numbered once; an address's order is a list of these numbers. */
const MAX_NODES = 0xffff;

/** sha256("node#ip"), as hashOrder computes it (one-shot crypto.hash: half createHash's cost). */
function digest(node: string, ip: string): Buffer {
  return hash('sha256', `${node}#${ip}`, 'buffer');
}

/** Orders digests by bytes, comparing their first 48 bits as numbers before calling into Buffer.compare. */
interface Keyed {
  readonly i: number;
  readonly k: number;
  readonly h: Buffer;
}
const byDigest = (a: Keyed, b: Keyed): number => a.k - b.k || Buffer.compare(a.h, b.h);

interface Entry {
  /** Node numbers sorted by sha256("node#ip"), covering nodes 0..order.length-1. */
  order: Uint16Array;
}

export class ElectionOrders {
  /** Every node seen, by number; numbers are handed out in order of first sight. */
  private nodes: string[] = [];
  private numbers = new Map<string, number>();
  private readonly byIp = new Map<string, Entry>();

  /** How many addresses have a cached order (for tests and the bench). */
  get size(): number {
    return this.byIp.size;
  }

  /**
   * The candidates in election order: what hashOrder(candidates, ip) returns, for distinct
   * candidate names.
   */
  order(candidates: readonly string[], ip: string): string[] {
    this.learn(candidates);
    const entry = this.entryFor(ip);
    const wanted = new Uint8Array(this.nodes.length);
    for (const c of candidates) wanted[this.numbers.get(c) as number] = 1;
    const out: string[] = [];
    for (const n of entry.order) {
      if (wanted[n] === 1) {
        out.push(this.nodes[n]);
        if (out.length === candidates.length) break;
      }
    }
    return out;
  }

  /**
   * Forgets the addresses not in `keep`, and every node not in `liveNodes` once the forgotten
   * nodes outnumber the live ones (node churn would otherwise grow every order forever).
   */
  retain(keep: ReadonlySet<string>, liveNodes: ReadonlySet<string>): void {
    for (const ip of this.byIp.keys()) if (!keep.has(ip)) this.byIp.delete(ip);
    let stale = 0;
    for (const n of this.nodes) if (!liveNodes.has(n)) stale++;
    if (stale > liveNodes.size) this.reset();
  }

  private reset(): void {
    this.nodes = [];
    this.numbers = new Map();
    this.byIp.clear();
  }

  private learn(candidates: readonly string[]): void {
    let fresh = 0;
    for (const c of candidates) if (!this.numbers.has(c)) fresh++;
    if (fresh === 0) return;
    if (this.nodes.length + fresh > MAX_NODES) this.reset();
    for (const c of candidates) {
      if (this.numbers.has(c)) continue;
      this.numbers.set(c, this.nodes.length);
      this.nodes.push(c);
    }
  }

  private entryFor(ip: string): Entry {
    let entry = this.byIp.get(ip);
    if (!entry) {
      const keyed = this.nodes.map((n, i): Keyed => {
        const h = digest(n, ip);
        return { i, k: h.readUIntBE(0, 6), h };
      });
      keyed.sort(byDigest);
      entry = { order: Uint16Array.from(keyed, (k) => k.i) };
      this.byIp.set(ip, entry);
      return entry;
    }
    if (entry.order.length < this.nodes.length) entry.order = this.extend(entry.order, ip);
    return entry;
  }

  /** Puts the nodes numbered order.length.. into an existing order, each by binary search. */
  private extend(order: Uint16Array, ip: string): Uint16Array {
    const list = Array.from(order);
    for (let n = order.length; n < this.nodes.length; n++) {
      const h = digest(this.nodes[n], ip);
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (Buffer.compare(digest(this.nodes[list[mid]], ip), h) < 0) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, n);
    }
    return Uint16Array.from(list);
  }
}
