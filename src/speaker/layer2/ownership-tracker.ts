// Layer 2 elections kept between passes, so that a watch event costs what it changed (issue 18):
// a Service or EndpointSlice event re-elects that one Service; a change that can move any Service
// (Nodes, members, config, interfaces) re-elects all of them, with the candidate order per
// address cached (ElectionOrders). The result is always what desiredOwnership would compute from
// scratch on the same inputs (property-tested). Pure: the Layer2Speaker feeds it and applies it.
import type * as k8s from '@kubernetes/client-node';
import { serviceKey } from '../../controller/service-request';
import { ElectionOrders } from '../election/order-cache';
import { beginPass, electService, ownedBy, type OwnershipInput, type ServiceElection } from './desired';
import type { OwnedAddress } from './responder';

export interface TrackerInput extends Omit<OwnershipInput, 'services'> {
  /** Every Service (used when everything is re-elected). */
  services: () => readonly k8s.V1Service[];
  /** One Service by namespace/name; undefined when it is gone. */
  service: (key: string) => k8s.V1Service | undefined;
}

/** What one update re-elected, and the Services that no longer take part. */
export interface TrackerChange {
  elected: ServiceElection[];
  removed: string[];
}

interface Tracked {
  election: ServiceElection;
  owned: OwnedAddress[];
}

export class OwnershipTracker {
  private readonly byService = new Map<string, Tracked>();
  /** Per address `self` answers for: how many Services elect it there. */
  private readonly ownedCount = new Map<string, { count: number; address: OwnedAddress }>();
  private readonly orders = new ElectionOrders();

  /**
   * Re-elects the Services named in `touched` (namespace/name), or every Service for 'all'.
   * Anything other than a Service's own object or endpoints (nodes, members, config, lbClass, the
   * usable interfaces) must come with 'all'.
   */
  update(input: TrackerInput, touched: ReadonlySet<string> | 'all'): TrackerChange {
    const pass = beginPass(input, this.orders);
    const elected: ServiceElection[] = [];
    const removed: string[] = [];
    const seen = new Set<string>();
    const elect = (key: string, svc: k8s.V1Service | undefined): void => {
      const e = svc && electService(pass, svc);
      if (!e) {
        if (this.forget(key)) removed.push(key);
        return;
      }
      seen.add(e.service);
      this.forget(e.service);
      const owned = ownedBy(pass, e);
      this.byService.set(e.service, { election: e, owned });
      for (const o of owned) {
        const c = this.ownedCount.get(o.address);
        if (c) c.count++;
        else this.ownedCount.set(o.address, { count: 1, address: o });
      }
      elected.push(e);
    };
    if (touched === 'all') {
      // From a clean slate: a config change may give an address other interfaces.
      const before = [...this.byService.keys()];
      this.byService.clear();
      this.ownedCount.clear();
      for (const svc of input.services()) elect(serviceKey(svc), svc);
      for (const key of before) if (!seen.has(key)) removed.push(key);
      const hashed = new Set<string>();
      for (const { election } of this.byService.values()) hashed.add(election.ips[0]);
      this.orders.retain(hashed, new Set(input.nodes.keys()));
    } else {
      for (const key of touched) elect(key, input.service(key));
    }
    return { elected, removed };
  }

  /** What `self` answers for. */
  owned(): Map<string, OwnedAddress> {
    const m = new Map<string, OwnedAddress>();
    for (const [ip, { address }] of this.ownedCount) m.set(ip, address);
    return m;
  }

  /** Every current election, keyed by Service. */
  elections(): ReadonlyMap<string, ServiceElection> {
    const m = new Map<string, ServiceElection>();
    for (const [key, t] of this.byService) m.set(key, t.election);
    return m;
  }

  /** Drops a Service's election; true when it had one. */
  private forget(key: string): boolean {
    const t = this.byService.get(key);
    if (!t) return false;
    this.byService.delete(key);
    for (const o of t.owned) {
      const c = this.ownedCount.get(o.address);
      if (c && --c.count === 0) this.ownedCount.delete(o.address);
    }
    return true;
  }
}
