// Typed form of the configuration: the ConfigMap (MetalLB v0.12 language plus ironlb's documented
// additions, src/config/parse.ts) or MetalLB's metallb.io objects (src/config/crd/translate.ts).
// Consumed by the allocator, controller and speakers. Fields only the objects can express are
// optional, so that ConfigMap configs keep their exact shape; read them through
// src/config/announcements.ts and src/config/service-allocation.ts, which fill in what a
// ConfigMap pool means.
import type { CIDR, IPRange } from '../ipam/address';

export type Protocol = 'layer2' | 'bgp';

export type Community =
  | { readonly kind: 'standard'; readonly value: number } // (high << 16) | low, an unsigned 32-bit number
  | { readonly kind: 'large'; readonly global: number; readonly local1: number; readonly local2: number };

export interface BgpAdvertisement {
  readonly aggregationLength: number; // default 32
  readonly aggregationLengthV6: number; // default 128
  readonly localPref?: number; // sent to iBGP peers only
  readonly communities: readonly Community[]; // aliases already resolved
  /** BGPAdvertisement: nodes that announce (next hops). Absent: the pool's nodeSelectors (ConfigMap). */
  readonly nodeSelectors?: readonly NodeSelector[];
  /** BGPAdvertisement: names of the BGPPeers to announce to (Peer.name). Absent or empty: every peer. */
  readonly peers?: readonly string[];
  /** BGPAdvertisement (MetalLB v0.16): Services it applies to. Absent or empty: every Service. */
  readonly serviceSelectors?: readonly LabelSelector[];
  /** The object it came from, e.g. `BGPAdvertisement metallb-system/local`; absent for the ConfigMap. */
  readonly source?: string;
}

/** One L2Advertisement selecting a pool. Several add up: nodes and interfaces are unioned. */
export interface L2Advertisement {
  /** Nodes that may be elected to announce; empty = every node. */
  readonly nodeSelectors: readonly NodeSelector[];
  /** Interfaces to answer on; empty = the default interface set. */
  readonly interfaces: readonly string[];
  /** Services it applies to (MetalLB v0.16); empty = every Service. */
  readonly serviceSelectors: readonly LabelSelector[];
  /** The object it came from, e.g. `L2Advertisement metallb-system/l2`; absent for the ConfigMap. */
  readonly source?: string;
}

/**
 * IPAddressPool spec.serviceAllocation: which Services may take addresses from the pool (automatic
 * and requested alike) and its order among the pools that match a Service.
 */
export interface ServiceAllocation {
  /** Lower first among matching pools; 0 (unset) comes after every non-zero priority. */
  readonly priority: number;
  /** Namespaces allowed by name; together with namespaceSelectors (either may match). */
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly LabelSelector[];
  /** Services allowed by their labels; empty = any Service in an allowed namespace. */
  readonly serviceSelectors: readonly LabelSelector[];
}

/** One `addresses:` entry as written, with its interval (a CIDR or `A-B` range). */
export interface PoolAddressEntry {
  readonly text: string;
  readonly range: IPRange;
  readonly cidrs: readonly CIDR[]; // the range summarized into CIDRs
}

export interface AddressPool {
  readonly name: string;
  readonly protocol: Protocol;
  readonly addresses: readonly PoolAddressEntry[];
  readonly autoAssign: boolean; // default true
  readonly avoidBuggyIPs: boolean; // default false
  readonly bgpAdvertisements: readonly BgpAdvertisement[]; // bgp pools: one default entry when omitted; layer2: empty
  /** ironlb addition: lower number is preferred when choosing a pool automatically; default 0, ties by name. */
  readonly priority: number;
  /** ironlb addition (layer2): interfaces that may answer ARP/NDP; empty = the default interface set. */
  readonly interfaces: readonly string[];
  /** ironlb addition: nodes allowed to announce this pool; empty = all nodes. */
  readonly nodeSelectors: readonly NodeSelector[];
  /**
   * metallb.io objects only: the L2Advertisements selecting the pool (empty: not announced over
   * layer 2). Absent for ConfigMap pools; `l2AdvertisementsOf` derives them from protocol,
   * interfaces and nodeSelectors. CR pools may be announced over layer 2 and BGP at once.
   */
  readonly l2Advertisements?: readonly L2Advertisement[];
  /** metallb.io objects only: the pool's tenancy restriction and priority. Absent: every Service may use it. */
  readonly serviceAllocation?: ServiceAllocation;
  /** ironlb addition (`cross-namespace-sharing`): false keeps a shared address inside one namespace; absent = true. */
  readonly crossNamespaceSharing?: boolean;
  /**
   * ironlb addition (`release-delay`): seconds a deleted Service's address stays reserved for a new
   * Service of the same namespace/name (others get it only when the pool has nothing else). Absent = 0.
   */
  readonly releaseDelaySeconds?: number;
  /**
   * ironlb addition (`datapath-check`): layer-2 announcements of this pool only from nodes whose
   * data path answers its health check (kube-proxy's /healthz, probed by every speaker); a node
   * failing it is passed over while another candidate exists. Absent = not gated by the pool
   * (a speaker's own --datapath-check still withdraws that node from every pool).
   */
  readonly dataPathCheck?: DataPathCheck;
}

/** The data-path checks a pool can require; the only one so far is kube-proxy's /healthz. */
export type DataPathCheck = 'kube-proxy';
export const DATA_PATH_CHECKS: readonly DataPathCheck[] = ['kube-proxy'];

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** Conditions inside one selector are ANDed; a list of selectors is ORed; an empty list matches all. */
export interface NodeSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** A Kubernetes label selector over any kind of object (Services, Namespaces, pools). */
export type LabelSelector = NodeSelector;

export interface Peer {
  readonly myASN: number;
  readonly peerASN: number;
  readonly peerAddress: string; // canonical text
  readonly sourceAddress?: string;
  readonly peerPort: number; // default 179
  readonly holdTimeSeconds: number; // default 90; 0 or >= 3
  readonly keepaliveTimeSeconds: number; // default hold / 3
  readonly routerID?: string;
  readonly nodeSelectors: readonly NodeSelector[];
  readonly password?: string;
  readonly bfdProfile?: string;
  readonly ebgpMultihop: boolean;
  /** BGPPeer name, which BgpAdvertisement.peers refers to; absent for ConfigMap peers. */
  readonly name?: string;
  /** BGPPeer dynamicASN internal: peerASN is myASN (the only value such a router may send). */
  readonly dynamicASN?: 'internal';
  /** BGPPeer enableGracefulRestart: send the graceful restart capability to this peer. */
  readonly gracefulRestart?: boolean;
}

export interface BfdProfile {
  readonly name: string;
  readonly receiveInterval?: number;
  readonly transmitInterval?: number;
  readonly detectMultiplier?: number;
  readonly echoInterval?: number;
  readonly echoMode?: boolean;
  readonly passiveMode?: boolean;
  readonly minimumTtl?: number;
}

export interface Config {
  readonly pools: readonly AddressPool[]; // sorted by (priority, name)
  readonly peers: readonly Peer[];
  readonly bgpCommunities: Readonly<Record<string, Community>>;
  readonly bfdProfiles: readonly BfdProfile[];
}

/** One problem found in a config: where (a path like `address-pools[0].addresses[1]`) and why. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly line?: number; // 1-based line in the `config` text, where known
}

export type ParseResult =
  | { readonly ok: true; readonly config: Config }
  | {
      readonly ok: false;
      readonly errors: readonly ConfigIssue[];
      /** Set when no configuration could be read at all (not YAML, or no config in it), so no rule was checked. */
      readonly syntax?: boolean;
    };
