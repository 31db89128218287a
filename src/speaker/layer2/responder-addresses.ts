// The responder engine's address table, the pure part (no sockets, no clock): what one owned or
// watched address is, which interfaces it may use, and what the packet sockets must be told about
// a set of them (their kernel filters, their IPv6 multicast groups, the ifindexes each address is
// answered on). The engine (responder-engine.ts) keeps the table and applies these to its sockets.
import { solicitedNodeMac } from '../../protocol/ndp';

export interface AddrState {
  /** Canonical text: the key of every table and schedule. */
  text: string;
  family: 4 | 6;
  bytes: Buffer;
  /** The interfaces it is limited to (its advertisement's), or null: every interface. */
  interfaces: string[] | null;
}

/** An address's interface list as the table keeps it: an absent or empty list means every interface (null). */
export function interfaceLimit(list: readonly string[] | undefined): string[] | null {
  return list && list.length > 0 ? [...list] : null;
}

/** May `a` be answered, probed or announced on the interface `name`? */
export function allowedOn(a: Pick<AddrState, 'interfaces'>, name: string): boolean {
  return a.interfaces === null || a.interfaces.includes(name);
}

/**
 * The interface indexes `a` is answered on (null: any), from the interfaces open now
 * (`ifindexOf` is undefined for one that is not): a limit naming only closed interfaces is an
 * empty set, answered nowhere, never "any".
 */
export function allowedIfindexes(a: AddrState, ifindexOf: (name: string) => number | undefined): Set<number> | null {
  if (!a.interfaces) return null;
  const allowed = new Set<number>();
  for (const name of a.interfaces) {
    const ifindex = ifindexOf(name);
    if (ifindex !== undefined) allowed.add(ifindex);
  }
  return allowed;
}

/** Every address of the tables, by family (what the sockets' kernel filters let through). */
export function addressesByFamily(...tables: ReadonlyMap<string, AddrState>[]): { v4: Uint8Array[]; v6: Uint8Array[] } {
  const v4: Uint8Array[] = [];
  const v6: Uint8Array[] = [];
  for (const m of tables) for (const a of m.values()) (a.family === 4 ? v4 : v6).push(a.bytes);
  return { v4, v6 };
}

/** The solicited-node multicast MACs interface `name` must receive for the IPv6 addresses it may answer, keyed by their hex. */
export function solicitedNodeGroups(addrs: Iterable<AddrState>, name: string): Map<string, Buffer> {
  const want = new Map<string, Buffer>();
  for (const a of addrs) {
    if (a.family !== 6 || !allowedOn(a, name)) continue;
    const mac = solicitedNodeMac(a.bytes);
    want.set(mac.toString('hex'), mac);
  }
  return want;
}
